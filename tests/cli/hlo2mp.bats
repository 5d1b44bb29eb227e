#!/usr/bin/env bats
# hlo2mp: real XLA tuning protobufs -> tpugraphs-mp records.
# Oracle: `protoc --decode_raw` parsed by tests/tools/pbraw.py; hand-checked
# features from the decode_raw dumps quoted in the comments.

load helper

LAYOUT="$FIX/hlo/module_tuning_data_layout.pb"
TILE="$FIX/hlo/op_tuning_data.pb"
TOOLS="$ROOT/tests/tools"
# The team's shared data: ../shared beside the repository (as in CI, where
# the repository is a fresh clone with shared/ next to it), or TPU_SHARED.
SHARED="${TPU_SHARED:-$ROOT/../shared}"
REAL_PB="$SHARED/data/hlo/module_tuning_data_layout.pb"
REAL_NPZ="$SHARED/data/real/npz/layout/xla/default/valid/unet_3d.4x4.bf16.npz"

# Skip (with the reason) when a shared file is missing; under CI a failure.
need_shared() {
	local f
	for f in "$@"; do
		if [ ! -f "$f" ]; then
			if [ "${CI:-}" = true ]; then
				echo "shared file $f missing under CI (set TPU_SHARED)" >&2
				return 1
			fi
			skip "shared file $f not found (set TPU_SHARED)"
		fi
	done
}

setup() {
	T="$BATS_TEST_TMPDIR"
	need_py msgpack numpy
}

# mpq STREAM EXPR: evaluate a Python expression over the stream.  In scope:
# G (graph records, in order), C[id] (that graph's configs chunks), F(rec,
# key) (a tensor as numpy), cat(id, key) (a configs key over all chunks),
# R (all records).
mpq() {
	"$PY" - "$1" "$2" "$TOOLS" <<'EOF'
import sys
sys.path.insert(0, sys.argv[3])
import msgpack, numpy as np
from hlo_check import tensor as F_
R = list(msgpack.Unpacker(open(sys.argv[1], 'rb'), raw=False))
G = [r for r in R if r['t'] == 'graph']
C = {}
for r in R:
    if r['t'] == 'configs':
        C.setdefault(r['id'], []).append(r)
def F(rec, key):
    return F_(rec[key])
def cat(gid, key):
    return np.concatenate([F(c, key) for c in C[gid]])
print(eval(sys.argv[2]))
EOF
}

mk() { "$PY" "$TOOLS/mkhlo.py" "$1" >"$T/$1.pb"; }

@test "hlo2mp: --help prints usage and exits 0; --version" {
	run hlo2mp --help
	assert_success
	assert_line --index 0 --partial "usage: hlo2mp"
	assert_output --partial "--pad"
	run hlo2mp -V
	assert_success
	assert_output --regexp '^hlo2mp [0-9]+\.[0-9]+'
}

@test "hlo2mp: man page matches --help" {
	run check_man_matches_help hlo2mp
	assert_success
}

@test "hlo2mp: usage errors exit 2" {
	run hlo2mp --bogus "$LAYOUT"
	assert_failure 2
	assert_output --partial "usage: hlo2mp"
	run hlo2mp --pad 1 "$LAYOUT"
	assert_failure 2
	assert_output --partial "--pad: bad value '1'"
	run hlo2mp --split training "$LAYOUT"
	assert_failure 2
	assert_output --partial "--split: 'training' is not train, valid or test"
	run hlo2mp --collection xla "$LAYOUT"
	assert_failure 2
	run hlo2mp - - <"$LAYOUT"
	assert_failure 2
	assert_output --partial "more than once"
}

@test "hlo2mp: a missing file is an I/O error (3)" {
	run hlo2mp "$T/nope.pb"
	assert_failure 3
	assert_output --partial "nope.pb: No such file"
}

@test "hlo2mp: layout program matches the decode_raw oracle in every node, edge, run" {
	hlo2mp -q "$LAYOUT" >"$T/l.mp"
	run "$PY" "$TOOLS/hlo_check.py" "$LAYOUT" "$T/l.mp"
	assert_success
	assert_output "ok 1 modules"
	# the counts, spelled out: 3163 instructions, 5112 edges, 122 runs of
	# which 10 with error, 62 configurable nodes, run 0 the default
	run mpq "$T/l.mp" "(G[0]['id'], G[0]['collection'], G[0]['split'], G[0]['n_nodes'], G[0]['n_edges'], G[0]['n_runs'], G[0]['n_runs_error'], G[0]['n_configs'], len(F(G[0], 'node_config_ids')), G[0]['default_index'])"
	assert_output "('layout:xla:random:module_tuning_data_layout', 'layout:xla:random', 'valid', 3163, 5112, 122, 10, 112, 62, 0)"
}

@test "hlo2mp: unet_3d equals Google's own featurization of it (the real npz)" {
	need_shared "$REAL_PB" "$REAL_NPZ"
	hlo2mp -q "$REAL_PB" >"$T/u.mp"
	# node_feat, node_opcode, edge_index, node_config_ids, node_splits equal;
	# each of the 112 good runs' node_config_feat is an npz row with its
	# runtime (5 runtimes occur more than once there)
	run "$PY" "$TOOLS/hlo_npz_check.py" "$T/u.mp" "$REAL_NPZ"
	assert_success
	assert_output "ok 112 configs (5 runtimes repeated in the npz)"
	# the configurable nodes are convolutions and reshapes, as in the npz
	run mpq "$T/u.mp" "sorted(set(F(G[0], 'node_opcode')[F(G[0], 'node_config_ids')].tolist()))"
	assert_output "[26, 75]"
	# the check fails on a stream with one configurable node moved, or one
	# layout value changed
	"$PY" - "$T/u.mp" "$T/bad1.mp" "$T/bad2.mp" <<'EOF'
import sys, msgpack, numpy as np
def rewrite(out, key, change):
    recs = list(msgpack.Unpacker(open(sys.argv[1], 'rb'), raw=False))
    for r in recs:
        if key in r:
            t = r[key]
            a = np.frombuffer(t['data'], {'i32': '<i4', 'f32': '<f4'}[t['dtype']]).copy()
            change(a)
            t['data'] = a.tobytes()
            break
    open(out, 'wb').write(b''.join(msgpack.packb(r, use_bin_type=True) for r in recs))
def node(a): a[3] += 1
def feat(a): a[5] = 7 if a[5] != 7 else 6
rewrite(sys.argv[2], 'node_config_ids', node)
rewrite(sys.argv[3], 'node_config_feat', feat)
EOF
	run "$PY" "$TOOLS/hlo_npz_check.py" "$T/bad1.mp" "$REAL_NPZ"
	assert_failure 1
	assert_output --partial "node_config_ids: 1 values differ, first at (3,)"
	run "$PY" "$TOOLS/hlo_npz_check.py" "$T/bad2.mp" "$REAL_NPZ"
	assert_failure 1
	assert_output --partial "config 0: node_config_feat equals none of the npz rows"
}

@test "hlo2mp: tile kernels match the decode_raw oracle; normalizer = default runtime" {
	hlo2mp -q "$TILE" >"$T/t.mp"
	run "$PY" "$TOOLS/hlo_check.py" "$TILE" "$T/t.mp"
	assert_success
	assert_output "ok 15 modules"
	run mpq "$T/t.mp" "(len(G), sum(g['n_runs'] for g in G), sum(g['n_configs'] for g in G), sum(g['n_runs_error'] for g in G), G[0]['id'])"
	assert_output "(15, 754, 752, 2, 'tile:xla:op_tuning_data:fusion.232')"
	# decode_raw, first run of fusion.232:
	#   3 { 1 { 1 { 2: "\002\032\004\002" } } 4 { 3: 114377 4: 57188 5: 57188 } 5: 1 }
	# output_bounds 2 26 4 2 (sum 34, product 416); kernel and input bounds
	# empty (sum 0, product 0); compute_time_ns 57188; the default run.
	run mpq "$T/t.mp" "(cat(G[0]['id'], 'config_feat')[0].tolist(), int(cat(G[0]['id'], 'config_runtime')[0]), set(cat(G[0]['id'], 'config_runtime_normalizers').tolist()))"
	assert_output "([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 26.0, 4.0, 2.0, 0.0, 0.0, 34.0, 416.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], 57188, {57188})"
}

@test "hlo2mp: the oracle check fails on a stream that differs by one runtime" {
	hlo2mp -q "$TILE" >"$T/t.mp"
	"$PY" - "$T/t.mp" "$T/bad.mp" <<'EOF'
import sys, msgpack, numpy as np
recs = list(msgpack.Unpacker(open(sys.argv[1], 'rb'), raw=False))
for r in recs:
    if r['t'] == 'configs':
        a = np.frombuffer(r['config_runtime']['data'], '<i8').copy()
        a[0] += 1
        r['config_runtime']['data'] = a.tobytes()
        break
open(sys.argv[2], 'wb').write(b''.join(msgpack.packb(r, use_bin_type=True) for r in recs))
EOF
	run "$PY" "$TOOLS/hlo_check.py" "$TILE" "$T/bad.mp"
	assert_failure 1
	assert_output --partial "fusion.232: runtimes differ"
}

@test "hlo2mp: hand-checked features of a 3-D convolution" {
	hlo2mp -q "$LAYOUT" >"$T/l.mp"
	# decode_raw of convolution.1043 (node 660):
	#   3 { 2: 16  3: "\002``` "  5 { 1: "\004\003\002\001\000" } }   bf16[2,96,96,96,32]
	#   15 { 1 { 1: 3 2: 1 3: 1 4: 1 5: 1 6: 1 } x3 }     window 3x3x3, pad 1/1
	#   16 { 3: 3 4: 4 6: "\000\001\002" 8: 4 10: 4 11: "\001\002\003" 12: ... }
	#   50: 1  58: 1
	run mpq "$T/l.mp" "(G[0]['id'] and F(G[0], 'node_opcode')[660], {i: float(v) for i, v in enumerate(F(G[0], 'node_feat')[660]) if v})"
	assert_output "(26, {15: 1.0, 21: 2.0, 22: 96.0, 23: 96.0, 24: 96.0, 25: 32.0, 27: 322.0, 28: 56623104.0, 37: 3.0, 38: 3.0, 39: 3.0, 43: 9.0, 44: 27.0, 45: 1.0, 46: 1.0, 47: 1.0, 51: 3.0, 52: 1.0, 53: 1.0, 54: 1.0, 55: 1.0, 59: 3.0, 60: 1.0, 61: 1.0, 62: 1.0, 63: 1.0, 67: 3.0, 68: 1.0, 69: 1.0, 70: 1.0, 71: 1.0, 75: 3.0, 76: 1.0, 77: 1.0, 78: 1.0, 79: 1.0, 83: 3.0, 84: 1.0, 92: 3.0, 94: 4.0, 95: 1.0, 96: 2.0, 97: 3.0, 99: 3.0, 100: 4.0, 102: 1.0, 103: 2.0, 106: 4.0, 107: 1.0, 108: 1.0, 112: 1.0, 116: 1.0, 120: 1.0, 124: 1.0, 128: 1.0, 132: 1.0, 134: 4.0, 135: 3.0, 136: 2.0, 137: 1.0})"
}

@test "hlo2mp: hand-checked features of a slice, a sort and a parameter" {
	hlo2mp -q "$LAYOUT" >"$T/l.mp"
	# slice.2 (node 651): pred[1] {0}; 17 { 2: 1 3: 1 }: start 0, limit 1, stride 1.
	# Products of empty sequences are 1 (window 44..84, dynamic slice 124,
	# padding 128 132); the start product is 0 (one start, 0).
	run mpq "$T/l.mp" "{i: float(v) for i, v in enumerate(F(G[0], 'node_feat')[651]) if v}"
	assert_output "{3: 1.0, 21: 1.0, 27: 1.0, 28: 1.0, 44: 1.0, 52: 1.0, 60: 1.0, 68: 1.0, 76: 1.0, 84: 1.0, 113: 1.0, 115: 1.0, 116: 1.0, 117: 1.0, 119: 1.0, 120: 1.0, 124: 1.0, 128: 1.0, 132: 1.0}"
	# sort (node 1223): 3 { 2: 13  4 {..} 4 {..} 4 {..} }  a 3-tuple; 60: 1 stable
	run mpq "$T/l.mp" "(F(G[0], 'node_opcode')[1223], {i: float(v) for i, v in enumerate(F(G[0], 'node_feat')[1223]) if v})"
	assert_output "(93, {18: 1.0, 28: 1.0, 29: 3.0, 44: 1.0, 52: 1.0, 60: 1.0, 68: 1.0, 76: 1.0, 84: 1.0, 112: 1.0, 116: 1.0, 120: 1.0, 124: 1.0, 128: 1.0, 132: 1.0, 133: 1.0})"
	# y.1521 (node 1): 2: "parameter" 3 { 2: 11 5: "" } 9: 1 -> f32 scalar, parameter 1
	run mpq "$T/l.mp" "(F(G[0], 'node_opcode')[1], F(G[0], 'node_feat')[1][[13, 28, 30]].tolist())"
	assert_output "(63, [1.0, 1.0, 1.0])"
}

@test "hlo2mp: --pad -1 marks minor_to_major slots past the rank, nothing else" {
	hlo2mp -q "$LAYOUT" >"$T/p0.mp"
	hlo2mp -q --pad -1 "$LAYOUT" >"$T/p1.mp"
	# convolution.1043 is rank 5 (minor_to_major 4 3 2 1 0): slot 138 stays
	# the real dimension 0, slot 139 becomes -1; slice.2 is rank 1 ({0}).
	run mpq "$T/p1.mp" "(F(G[0], 'node_feat')[660][134:].tolist(), F(G[0], 'node_feat')[651][134:].tolist(), G[0]['pad'])"
	assert_output "([4.0, 3.0, 2.0, 1.0, 0.0, -1.0], [0.0, -1.0, -1.0, -1.0, -1.0, -1.0], -1)"
	"$PY" - "$T/p0.mp" "$T/p1.mp" "$TOOLS" <<'EOF'
import sys
sys.path.insert(0, sys.argv[3])
from hlo_check import read_stream, tensor
a, b = read_stream(sys.argv[1])[0]['g'], read_stream(sys.argv[2])[0]['g']
fa, fb = tensor(a['node_feat']), tensor(b['node_feat'])
assert (fa[:, :134] == fb[:, :134]).all()
diff = fa[:, 134:] != fb[:, 134:]
assert (fa[:, 134:][diff] == 0).all() and (fb[:, 134:][diff] == -1).all()
assert diff.sum() > 0
EOF
}

@test "hlo2mp: stdin and a file give the same records" {
	hlo2mp -q "$TILE" >"$T/f.mp"
	hlo2mp -q <"$TILE" >"$T/s.mp"
	run mpq "$T/s.mp" "(G[0]['id'], G[0]['source'])"
	assert_output "('tile:xla:stdin:fusion.232', 'stdin')"
	"$PY" - "$T/f.mp" "$T/s.mp" <<'EOF'
import sys, msgpack
a = list(msgpack.Unpacker(open(sys.argv[1], 'rb'), raw=False))
b = list(msgpack.Unpacker(open(sys.argv[2], 'rb'), raw=False))
assert len(a) == len(b)
for x, y in zip(a[1:], b[1:]):
    for r in (x, y):
        r.pop('source', None)
        if 'id' in r:
            r['id'] = r['id'].replace('op_tuning_data', 'stdin')
    assert x == y, (x.get('t'), x.get('id'))
EOF
}

@test "hlo2mp: several files, chunks, --collection and --split" {
	hlo2mp -q --chunk 7 --split test --collection layout:xla:default "$LAYOUT" >"$T/c.mp"
	run "$PY" "$TOOLS/hlo_check.py" "$LAYOUT" "$T/c.mp"
	assert_success
	run mpq "$T/c.mp" "(G[0]['id'], G[0]['split'], [c['offset'] for c in C[G[0]['id']]][:3], len(C[G[0]['id']]), R[-1]['configs'])"
	assert_output "('layout:xla:default:module_tuning_data_layout', 'test', [0, 7, 14], 16, 112)"
	hlo2mp -q "$TILE" "$LAYOUT" >"$T/both.mp"
	run mpq "$T/both.mp" "([r['t'] for r in R].count('header'), len(G), R[-1]['graphs'], G[-1]['collection'])"
	assert_output "(1, 16, 16, 'layout:xla:random')"
	run hlo2mp -q --collection tile:xla "$LAYOUT"
	assert_failure 1
	assert_output --partial "layout runs do not fit collection tile:xla"
}

@test "hlo2mp: truncated protobufs exit 1 with the byte offset, and no end record" {
	for n in 1 100 300000 638069; do
		head -c "$n" "$LAYOUT" >"$T/trunc.pb"
		run hlo2mp -q "$T/trunc.pb"
		assert_failure 1
		assert_output --regexp "trunc.pb: .*(runs past the end|truncated|not a TuningData)"
	done
	head -c 638069 "$LAYOUT" >"$T/trunc.pb"
	run hlo2mp -q "$T/trunc.pb"
	# the last field, config_index_to_node, starts at byte 637944: tag,
	# length byte, 124 bytes of packed ids; one byte is missing
	assert_output --partial "field 4: length 124 at byte 637944 runs past the end of its message (byte 638069)"
	hlo2mp -q "$T/trunc.pb" >"$T/out.mp" 2>/dev/null || true
	run mpq "$T/out.mp" "'end' in [r['t'] for r in R]"
	assert_output "False"
}

@test "hlo2mp: corrupt bytes, an empty file and other message types exit 1" {
	: >"$T/empty.pb"
	run hlo2mp "$T/empty.pb"
	assert_failure 1
	assert_output --partial "empty.pb: empty file"
	printf 'this is not a protobuf\n' >"$T/text.pb"
	run hlo2mp "$T/text.pb"
	assert_failure 1
	assert_output --partial "text.pb:"
	# a byte of the layout file's first tag turned into wire type 7
	"$PY" -c "import sys; b = bytearray(open(sys.argv[1], 'rb').read()); b[0] = 0x0f; open(sys.argv[2], 'wb').write(b)" "$LAYOUT" "$T/wt.pb"
	run hlo2mp "$T/wt.pb"
	assert_failure 1
	assert_output --partial "wt.pb: invalid wire type 7 at byte 0"
	# a real protobuf of another type: a FileDescriptorSet made by protoc
	printf 'syntax = "proto3";\nmessage A { int64 x = 1; string y = 2; }\n' >"$T/a.proto"
	protoc --proto_path="$T" --descriptor_set_out="$T/fds.pb" "$T/a.proto"
	run hlo2mp "$T/fds.pb"
	assert_failure 1
	assert_output --partial "fds.pb: not a TuningData or ModuleTuningData message (wrong message type"
	mk bare-module
	run hlo2mp "$T/bare-module.pb"
	assert_failure 1
	assert_output --partial "bare HloModuleProto"
}

@test "hlo2mp: broken graphs exit 1 naming the computation and instruction" {
	mk missing-operand
	run hlo2mp "$T/missing-operand.pb"
	assert_failure 1
	assert_output --partial "computation entry, instruction add (id 12): operand id 99 is not an instruction of its computation (missing operand)"
	mk cycle
	run hlo2mp "$T/cycle.pb"
	assert_failure 1
	assert_output --partial "operands form a cycle"
	mk bad-call
	run hlo2mp "$T/bad-call.pb"
	assert_failure 1
	assert_output --partial "calls computation id 77, which does not exist"
	mk dup-id
	run hlo2mp "$T/dup-id.pb"
	assert_failure 1
	assert_output --partial "instruction p1 (id 10): id shared"
	mk bad-config-node
	run hlo2mp "$T/bad-config-node.pb"
	assert_failure 1
	assert_output --partial "bad-config-node.pb: config_index_to_node[0] = 55: not a node index (the module has 3 instructions)"
	mk dup-config-node
	run hlo2mp "$T/dup-config-node.pb"
	assert_failure 1
	assert_output --partial "dup-config-node.pb: config_index_to_node[1] = 2: that node is already listed"
	mk bad-root
	run hlo2mp "$T/bad-root.pb"
	assert_failure 1
	assert_output --partial "computation entry: root_id 42 is not one of its instructions"
}

@test "hlo2mp: broken runs exit 1" {
	mk mixed-runs
	run hlo2mp "$T/mixed-runs.pb"
	assert_failure 1
	assert_output --partial "run 2: a tile config among layout runs"
	mk tile-no-default
	run hlo2mp "$T/tile-no-default.pb"
	assert_failure 1
	assert_output --partial "no kept run is marked is_default"
	mk layout-nodes
	run hlo2mp "$T/layout-nodes.pb"
	assert_failure 1
	assert_output --partial "run 2: layout config has more nodes than the 1 of config_index_to_node"
}

@test "hlo2mp: operands first, callees first, stable on file order" {
	mk reordered   # add, p1, p0 in the file; config_index_to_node [0]: the add
	hlo2mp -q "$T/reordered.pb" >"$T/r.mp"
	run mpq "$T/r.mp" "(F(G[0], 'node_opcode').tolist(), F(G[0], 'edge_index').tolist(), F(G[0], 'node_config_ids').tolist(), F(G[0], 'node_feat')[:, 30].tolist(), F(G[0], 'node_feat')[:, 0].tolist())"
	assert_output "([63, 63, 2], [[2, 0], [2, 1]], [2], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0])"
	# entry (p0 p1 add, calls sub) listed before sub: the add, file position
	# 2, is node 4; neither name splits, so node_splits is [0, n]
	mk callee-after
	hlo2mp -q "$T/callee-after.pb" >"$T/c.mp"
	run mpq "$T/c.mp" "(F(G[0], 'node_opcode').tolist(), F(G[0], 'edge_index').tolist(), F(G[0], 'node_splits').tolist(), F(G[0], 'node_config_ids').tolist())"
	assert_output "([63, 60, 63, 63, 2], [[1, 0], [4, 1], [4, 2], [4, 3]], [0, 5], [4])"
}

@test "hlo2mp: node_splits end the computations named *cluster*, *while*, *cond*" {
	# while_body, reducer, cluster_3, branch_cond (2 nodes each), then entry
	# (3): splits after 2, 6, 8, not after the reducer (4), and the total 11
	mk splits
	hlo2mp -q "$T/splits.pb" >"$T/s.mp"
	run mpq "$T/s.mp" "(F(G[0], 'node_splits').tolist(), F(G[0], 'node_config_ids').tolist(), F(G[0], 'node_opcode')[10])"
	assert_output "([0, 2, 6, 8, 11], [10], 2)"
	# the entry named cluster_entry ends a split itself: the total once
	mk splits-last
	hlo2mp -q "$T/splits-last.pb" >"$T/s.mp"
	run mpq "$T/s.mp" "F(G[0], 'node_splits').tolist()"
	assert_output "[0, 2, 6, 8, 11]"
}

@test "hlo2mp: packed or unpacked ids, unknown fields and groups decode alike" {
	mk ok
	hlo2mp -q "$T/ok.pb" >"$T/ok.mp"
	for c in unpacked unknown-fields; do
		mk "$c"
		hlo2mp -q "$T/$c.pb" >"$T/$c.mp"
		"$PY" - "$T/ok.mp" "$T/$c.mp" <<'EOF'
import sys, msgpack
a = list(msgpack.Unpacker(open(sys.argv[1], 'rb'), raw=False))
b = list(msgpack.Unpacker(open(sys.argv[2], 'rb'), raw=False))
for x, y in zip(a[1:], b[1:]):
    for r in (x, y):
        r.pop('source', None); r.pop('id', None)
    assert x == y, x['t']
EOF
	done
	run mpq "$T/ok.mp" "(cat(G[0]['id'], 'node_config_feat').tolist(), cat(G[0]['id'], 'config_runtime').tolist(), G[0]['default_index'])"
	assert_output "([[[1.0, 0.0, -1.0, -1.0, -1.0, -1.0, 0.0, 1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0]], [[0.0, 1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0]]], [2000, 1500], 1)"
}

@test "hlo2mp: runs without a runtime are dropped and counted; unknown opcodes warn" {
	mk no-runtime
	run hlo2mp "$T/no-runtime.pb"
	assert_success
	assert_output --partial "2 of 3 runs kept (0 with error, 1 without runtime)"
	hlo2mp -q "$T/no-runtime.pb" >"$T/n.mp"
	run mpq "$T/n.mp" "(G[0]['n_runs'], G[0]['n_runs_no_runtime'], G[0]['n_configs'])"
	assert_output "(3, 1, 2)"
	mk unknown-opcode
	run hlo2mp -q "$T/unknown-opcode.pb"
	assert_success
	hlo2mp -q "$T/unknown-opcode.pb" 2>"$T/err" >"$T/u.mp"
	run cat "$T/err"
	assert_output --partial "1 instruction with an opcode not in the table (first: 'frobnicate') get opcode id 0"
	run mpq "$T/u.mp" "F(G[0], 'node_opcode').tolist()"
	assert_output "[63, 63, 0]"
	mk tile
	hlo2mp -q "$T/tile.pb" >"$T/t.mp"
	run mpq "$T/t.mp" "(G[0]['collection'], 'node_config_ids' in G[0], 'node_splits' in G[0], cat(G[0]['id'], 'config_runtime_normalizers').tolist(), cat(G[0]['id'], 'config_feat')[1].tolist())"
	assert_output "('tile:xla', False, False, [1000, 1000, 1000], [8.0, 1.0, 0.0, 0.0, 0.0, 0.0, 9.0, 8.0, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 3.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])"
}

@test "hlo2mp: the stream goes on through prune-hop and encode-base7" {
	runp "hlo2mp -q '$LAYOUT' | prune-hop | encode-base7 >'$T/e.mp'"
	assert_success
	run mpq "$T/e.mp" "(R[-1]['t'], G[0]['id'], F(C[G[0]['id']][0], 'node_config_code').shape[1:], [h['name'] for h in R[0]['history']])"
	assert_output "('end', 'layout:xla:random:module_tuning_data_layout', (62, 3), ['hlo2mp', 'prune-hop', 'encode-base7'])"
	runp "hlo2mp -q '$TILE' | prune-hop | encode-base7 >'$T/t.mp'"
	assert_success
	run mpq "$T/t.mp" "(R[-1]['t'], len(G), R[-1]['configs'])"
	assert_output "('end', 15, 752)"
}
