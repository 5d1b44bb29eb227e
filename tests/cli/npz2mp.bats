#!/usr/bin/env bats
# npz2mp: .npz files written by numpy itself, checked bit for bit with numpy
# and python3-msgpack; committed fixtures for runs without numpy; bad input.

load helper

setup() { T="$BATS_TEST_TMPDIR"; }

@test "npz2mp --help and --version" {
	run npz2mp --help
	assert_success
	assert_output --partial "usage: npz2mp"
	assert_output --partial "--max-configs"
	run npz2mp --version
	assert_success
	assert_output --regexp '^npz2mp [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "npz2mp man page matches --help" {
	check_man_matches_help npz2mp
}

@test "npz2mp: usage errors exit 2" {
	run npz2mp
	assert_failure 2
	assert_output --partial "no input paths"
	run npz2mp --chunk 0 "$FIX/npz"
	assert_failure 2
	assert_output --partial "--chunk: bad value '0'"
	run npz2mp --bogus "$FIX/npz"
	assert_failure 2
	assert_output --partial "usage:"
	run npz2mp --split nope "$FIX/npz"
	assert_failure 2
	mkdir -p "$T/flat" && cp "$FIX/npz/npz/tile/xla/train/stored.npz" "$T/flat/x.npz"
	run npz2mp "$T/flat/x.npz"
	assert_failure 2
	assert_output --partial "give --collection and --split"
}

@test "npz2mp: missing file is an I/O error (3), empty directory is bad data (1)" {
	run npz2mp "$T/nope.npz"
	assert_failure 3
	assert_output --partial "nope.npz: No such file or directory"
	mkdir -p "$T/empty"
	run npz2mp "$T/empty"
	assert_failure 1
	assert_output --partial "no .npz files in this directory"
}

@test "npz2mp: committed fixtures (every dtype, stored, deflate, ZIP64 records, data descriptors) decode exactly" {
	need_py numpy msgpack
	npz2mp -q "$FIX/npz" > "$T/all.mp"
	run "$PY" "$ROOT/tests/tools/checkstream.py" "$T/all.mp" $(find "$FIX/npz" -name '*.npz' | sort)
	assert_success
	assert_output "ok 9 graphs, 55 configs"
}

@test "npz2mp: graph ids, collections and splits come from the path" {
	need_py msgpack
	npz2mp -q "$FIX/npz" > "$T/all.mp"
	run "$PY" -c '
import msgpack, sys
for r in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False):
    if r["t"] == "graph": print(r["id"], r["collection"], r["split"], r["n_configs"])
' "$T/all.mp"
	assert_success
	assert_line "layout:nlp:default:deflate layout:nlp:default valid 5"
	assert_line "layout:xla:default:dtypes layout:xla:default train 5"
	assert_line "tile:xla:noruntime tile:xla test 7"
	assert_line "tile:xla:u8opcode tile:xla valid 7"
	run npz2mp -q --collection layout:nlp:random --split test "$FIX/npz/npz/layout/xla/random/train/stored.npz"
	assert_success
}

@test "npz2mp: savez and savez_compressed, opcode u8/i32, edges i32/i64, chunking" {
	need_py numpy msgpack
	"$PY" "$ROOT/tests/tools/mknpz.py" "$T/a" --configs 1500 --nodes 40
	"$PY" "$ROOT/tests/tools/mknpz.py" "$T/b" --configs 1300 --compressed --opcode-dtype uint8 --edge-dtype int32 --seed 1
	npz2mp -q --chunk 512 "$T/a" > "$T/a.mp"
	run "$PY" "$ROOT/tests/tools/checkstream.py" "$T/a.mp" $(find "$T/a" -name '*.npz' | sort)
	assert_success
	assert_output "ok 4 graphs, 6000 configs"
	npz2mp -q --chunk 1 "$T/b" > "$T/b.mp"
	run "$PY" "$ROOT/tests/tools/checkstream.py" "$T/b.mp" $(find "$T/b" -name '*.npz' | sort)
	assert_success
	assert_output "ok 4 graphs, 5200 configs"
}

@test "npz2mp: a file with 1e5 configs, sampled and whole" {
	need_py numpy msgpack
	"$PY" "$ROOT/tests/tools/mknpz.py" "$T/big" --configs 100000 --nodes 12 --files 1 --kind layout --compressed
	f=$(find "$T/big" -name '*.npz')
	npz2mp -q "$f" > "$T/big.mp"
	run "$PY" "$ROOT/tests/tools/checkstream.py" "$T/big.mp" "$f"
	assert_success
	assert_output "ok 1 graphs, 100000 configs"
	npz2mp -q --max-configs 1000 --seed 5 --chunk 300 "$f" > "$T/s1.mp"
	run "$PY" "$ROOT/tests/tools/checkstream.py" "$T/s1.mp" "$f"
	assert_success
	assert_output "ok 1 graphs, 1000 configs"
	# same seed, same sample; another seed, another sample
	npz2mp -q --max-configs 1000 --seed 5 --chunk 300 "$f" | cmp - "$T/s1.mp"
	! npz2mp -q --max-configs 1000 --seed 6 --chunk 300 "$f" | cmp -s - "$T/s1.mp"
}

@test "npz2mp: test split without runtimes has no runtime tensors" {
	need_py msgpack
	npz2mp -q "$FIX/npz/npz/tile/xla/test/noruntime.npz" > "$T/t.mp"
	run "$PY" -c '
import msgpack, sys
rs = [r for r in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False) if r["t"] == "configs"]
print(sorted(rs[0].keys()))' "$T/t.mp"
	assert_output "['config_feat', 'config_index', 'count', 'id', 'offset', 't']"
}

# A tile file in DIR/npz/tile/xla/SPLIT/NAME.npz with the given runtimes
# and normalizers (python lists, or None to leave the member out).
mk_tile() {
	"$PY" - "$@" <<'PYEOF'
import sys, os, numpy as np
path, rt, nz = sys.argv[1], eval(sys.argv[2]), eval(sys.argv[3])
os.makedirs(os.path.dirname(path), exist_ok=True)
rng = np.random.default_rng(3)
d = dict(node_feat=rng.standard_normal((3, 140)).astype(np.float32),
         node_opcode=np.array([63, 26, 2], np.uint8), edge_index=np.array([[1, 0], [2, 1]], np.int64),
         config_feat=rng.integers(0, 9, (4, 24)).astype(np.float32))
if rt is not None: d["config_runtime"] = np.array(rt, np.int64)
if nz is not None: d["config_runtime_normalizers"] = np.array(nz, np.int64)
np.savez_compressed(path, **d)
PYEOF
}

@test "npz2mp: a test file with every runtime 0 and normalizers 1 is read as hidden" {
	need_py numpy msgpack
	mk_tile "$T/npz/tile/xla/test/z.npz" "[0,0,0,0]" "[1,1,1,1]"
	run --separate-stderr bash -c "npz2mp $T/npz/tile/xla/test/z.npz > $T/z.mp"
	assert_success
	[[ "$stderr" == *"tile:xla:z: 3 nodes, 2 edges, 4 of 4 configs (runtimes hidden)"* ]]
	run "$PY" -c '
import msgpack, sys
rs = list(msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False))
g = [r for r in rs if r["t"] == "graph"][0]
print(g["runtimes_hidden"], [sorted(r) for r in rs if r["t"] == "configs"])' "$T/z.mp"
	assert_output "True [['config_feat', 'config_index', 'count', 'id', 'offset', 't']]"
	# hidden survives the stages that pass keys through
	run bash -o pipefail -c "prune-hop < $T/z.mp | dijkstra-compress | encode-base7 | mp-cat - | mp-dump | grep -c '\"runtimes_hidden\": true'"
	assert_output 1
}

@test "npz2mp: a train or valid file with zero or missing runtimes is bad data, naming file and member" {
	need_py numpy
	mk_tile "$T/npz/tile/xla/train/z.npz" "[0,0,0,0]" "[1,1,1,1]"
	mk_tile "$T/npz/tile/xla/valid/m.npz" None None
	mk_tile "$T/npz/tile/xla/train/n.npz" "[5,6,7,8]" None
	mk_tile "$T/npz/tile/xla/test/p.npz" "[5,0,7,8]" "[1,1,1,1]"
	run --separate-stderr npz2mp -q "$T/npz/tile/xla/train/z.npz"
	assert_failure 1
	assert_equal "$stderr" "npz2mp: $T/npz/tile/xla/train/z.npz: config_runtime: every value is 0 (hidden runtimes, as in a test file); a train or valid file needs measured runtimes"
	[ -z "$output" ]
	run --separate-stderr npz2mp -q "$T/npz/tile/xla/valid/m.npz"
	assert_failure 1
	assert_equal "$stderr" "npz2mp: $T/npz/tile/xla/valid/m.npz: config_runtime: missing member (a valid file needs measured runtimes)"
	run --separate-stderr npz2mp -q "$T/npz/tile/xla/train/n.npz"
	assert_failure 1
	[[ "$stderr" == *"n.npz: config_runtime_normalizers: missing member"* ]]
	# some zeros: not hidden, not measured: bad data, in a test file too
	run --separate-stderr npz2mp -q "$T/npz/tile/xla/test/p.npz"
	assert_failure 1
	[[ "$stderr" == *"p.npz: config_runtime: value 0 at config 1 is not positive"* ]]
	# --split test reads the zero-runtime train file as hidden
	npz2mp -q --split test "$T/npz/tile/xla/train/z.npz" | mp-dump | grep -q '"runtimes_hidden": true'
}

@test "the stream reader refuses runtimes in the configs of a hidden graph" {
	need_py numpy
	mk_tile "$T/npz/tile/xla/train/a.npz" "[5,6,7,8]" "[9,9,9,9]"
	need_py msgpack
	npz2mp -q "$T/npz/tile/xla/train/a.npz" > "$T/a.mp"
	"$PY" -c '
import msgpack, sys
out = open(sys.argv[2], "wb")
for r in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False):
    if r["t"] == "graph":
        r["split"], r["runtimes_hidden"] = "test", True
    out.write(msgpack.packb(r, use_bin_type=True))' "$T/a.mp" "$T/b.mp"
	run --separate-stderr prune-hop "$T/b.mp"
	assert_failure 1
	[[ "$stderr" == *"has runtimes_hidden, but its configs carry runtimes"* ]]
}

@test "npz2mp: every bad file of the corpus: exit 1, the message, no end record" {
	while IFS='|' read -r name code msg; do
		case $name in '#'*|'') continue;; esac
		coll=tile:xla
		case $name in layout_*) coll=layout:xla:random;; esac
		f="$FIX/bad/npz/$name"
		run --separate-stderr npz2mp -q --collection "$coll" --split train "$f"
		[ "$status" -eq "$code" ] || { echo "$name: exit $status, want $code: $stderr"; return 1; }
		[[ "$stderr" == *"npz2mp: $f: $msg"* ]] || { echo "$name: message '$stderr' lacks '$msg'"; return 1; }
		# whatever was written before the error is a stream without an end
		if [ -n "$output" ]; then
			printf '%s' "$output" | grep -qa '\bend\b' && { echo "$name: end record written"; return 1; }
		fi
	done < "$FIX/bad/npz/EXPECTED"
}

@test "npz2mp: a bad file after good ones stops the stream without end" {
	need_py msgpack
	mkdir -p "$T/d/npz/tile/xla/train"
	cp "$FIX/npz/npz/tile/xla/train/stored.npz" "$T/d/npz/tile/xla/train/a.npz"
	cp "$FIX/bad/npz/nan.npz" "$T/d/npz/tile/xla/train/b.npz"
	run --separate-stderr npz2mp -q "$T/d"
	assert_failure 1
	npz2mp -q "$T/d" > "$T/o.mp" 2>/dev/null || true
	run "$PY" -c '
import msgpack, sys
try:
    ts = [r["t"] for r in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False)]
except Exception:
    ts = []
print("end" in ts)' "$T/o.mp"
	assert_output "False"
}

@test "npz2mp: output is read back by the stream reader; a cut stream is refused" {
	[ -x "$BIN/mp-dump" ] || skip "mp-dump not built"
	npz2mp -q "$FIX/npz" > "$T/all.mp"
	run mp-dump --count "$T/all.mp"
	assert_success
	head -c 3000 "$T/all.mp" > "$T/cut.mp"
	run mp-dump "$T/cut.mp"
	assert_failure 1
	assert_output --partial "truncated stream"
	size=$(stat -c %s "$T/all.mp")
	head -c $((size - 40)) "$T/all.mp" > "$T/noend.mp"
	run mp-dump "$T/noend.mp"
	assert_failure 1
	assert_output --partial "truncated stream"
}

@test "npz2mp: a dead reader ends it quietly with 141 (as SIGPIPE would), never a success" {
	need_py numpy
	"$PY" "$ROOT/tests/tools/mknpz.py" "$T/a" --configs 20000 --nodes 40 --files 1 --kind layout
	run --separate-stderr bash -c 'set -o pipefail; npz2mp -q "$1" | head -c 100 > /dev/null' _ "$T/a"
	assert_failure 141
	[ -z "$stderr" ]
}

@test "npz2mp: Fortran-order arrays (savez, savez_compressed) decode as numpy reads them, in memory and gathered" {
	need_py numpy msgpack
	"$PY" "$ROOT/tests/tools/mknpz.py" "$T/s" --configs 700 --nodes 40 --fortran
	"$PY" "$ROOT/tests/tools/mknpz.py" "$T/z" --configs 700 --nodes 40 --fortran --compressed --edge-dtype int32 --seed 3
	# the files hold what the test is about
	run "$PY" -c '
import sys, zipfile
n = 0
for f in sys.argv[1:]:
    z = zipfile.ZipFile(f)
    n += sum(b"True" in z.read(k)[:128] for k in ("edge_index.npy", "node_feat.npy"))
    n += sum(b"True" in z.read(k)[:128] for k in ("node_config_feat.npy", "config_feat.npy") if k in z.namelist())
print(n)' $(find "$T/s" "$T/z" -name '*.npz')
	assert_output 24
	for d in s z; do
		files=$(find "$T/$d" -name '*.npz' | sort)
		npz2mp -q --chunk 300 "$T/$d" > "$T/$d.mp"
		run "$PY" "$ROOT/tests/tools/checkstream.py" "$T/$d.mp" $files
		assert_success
		assert_output "ok 4 graphs, 2800 configs"
		# in-memory limit 0: STORED gathered from the .npz, DEFLATE through a temp file
		mkdir -p "$T/tmp"
		NPZ_FORTRAN_INMEM=0 TMPDIR="$T/tmp" npz2mp -q --chunk 300 "$T/$d" > "$T/$d.0.mp"
		cmp "$T/$d.mp" "$T/$d.0.mp"
		[ -z "$(ls -A "$T/tmp")" ]  # the temp file was unlinked
		NPZ_FORTRAN_INMEM=0 npz2mp -q --max-configs 77 --seed 2 --chunk 10 "$T/$d" > "$T/$d.s.mp"
		run "$PY" "$ROOT/tests/tools/checkstream.py" "$T/$d.s.mp" $files
		assert_success
		assert_output "ok 4 graphs, 308 configs"
	done
	NPZ_FORTRAN_INMEM=0 TMPDIR="$T/nonexistent" run npz2mp -q "$T/z"
	assert_failure 3
	assert_output --partial "node_config_feat: temporary file in $T/nonexistent: No such file or directory"
}

@test "npz2mp: the published layout files (Fortran edge_index) read, edges as numpy has them" {
	need_py numpy msgpack
	R="$ROOT/../../shared/data/real/npz"
	[ -d "$R" ] || R=/work/shared/data/real/npz
	[ -d "$R/layout/xla/default/train" ] || skip "no real data in $R"
	for f in "$R/layout/xla/default/train/unet3d.npz" "$R/layout/xla/random/train/openai_v0_rnn_optimized.npz" \
		 "$R/layout/xla/random/valid/unet_3d.4x4.bf16.npz"; do
		npz2mp -q "$f" > "$T/r.mp"
		run "$PY" "$ROOT/tests/tools/checkstream.py" "$T/r.mp" "$f"
		assert_success
		assert_output --regexp '^ok 1 graphs, [0-9]+ configs$'
	done
}

@test "npz2mp: a STORED member read from the mapped file still has its CRC checked" {
	need_py numpy
	mkdir -p "$T/npz/layout/xla/random/train"
	f="$T/npz/layout/xla/random/train/s.npz"
	"$PY" - "$f" <<'PYEOF'
import sys, zipfile, struct, numpy as np
rng = np.random.default_rng(5)
n, nc, c = 6, 3, 3000
np.savez(sys.argv[1], node_feat=rng.standard_normal((n, 140)).astype(np.float32),
         node_opcode=np.array([63, 26, 34, 75, 2, 2], np.uint8),
         edge_index=np.asfortranarray(np.array([[1, 0], [2, 1], [3, 2], [4, 3], [5, 4]], np.int64)),
         node_config_ids=np.array([1, 2, 3], np.int64),
         node_config_feat=rng.integers(-1, 6, (c, nc, 18)).astype(np.float32),
         config_runtime=rng.integers(100, 10000, c).astype(np.int64))
PYEOF
	npz2mp -q "$f" > "$T/good.mp"
	# flip one value deep inside node_config_feat (a valid value: only the CRC can tell)
	"$PY" - "$f" <<'PYEOF'
import sys, zipfile, struct
z = zipfile.ZipFile(sys.argv[1]); i = z.getinfo("node_config_feat.npy"); z.close()
b = bytearray(open(sys.argv[1], "rb").read())
n, e = struct.unpack("<HH", b[i.header_offset + 26:i.header_offset + 30])
at = i.header_offset + 30 + n + e + i.file_size - 4 * 1000
v = struct.unpack("<f", b[at:at + 4])[0]
b[at:at + 4] = struct.pack("<f", 0.0 if v != 0.0 else 1.0)
open(sys.argv[1], "wb").write(b)
PYEOF
	run --separate-stderr npz2mp -q "$f"
	assert_failure 1
	[[ "$stderr" == *"s.npz: node_config_feat: CRC-32 mismatch"* ]]
}
