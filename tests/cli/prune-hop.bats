#!/usr/bin/env bats
# prune-hop: k-hop node sets checked against networkx (ego_graph on the data
# flow graph, its reverse, or undirected) on random DAGs, numpy-written .npz
# files and tpugen graphs; renumbering, remapping and bad input.

load helper

setup() {
	T="$BATS_TEST_TMPDIR"
	MK="$ROOT/tests/tools/mkstream.py"
	OR="$ROOT/tests/tools/reduce_oracle.py"
}

@test "prune-hop --help and --version" {
	run prune-hop --help
	assert_success
	assert_output --partial "usage: prune-hop"
	assert_output --partial "--direction"
	run prune-hop --version
	assert_success
	assert_output --regexp '^prune-hop [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "prune-hop man page matches --help" {
	check_man_matches_help prune-hop
}

@test "prune-hop: usage errors exit 2" {
	run prune-hop -k -1
	assert_failure 2
	assert_output --partial "--hops: bad value '-1'"
	run prune-hop -k x
	assert_failure 2
	assert_output --partial "--hops: bad value 'x'"
	run prune-hop --direction up
	assert_failure 2
	assert_output --partial "--direction: want in, out or both"
	run prune-hop --bogus
	assert_failure 2
	assert_output --partial "usage: prune-hop"
	run prune-hop a b
	assert_failure 2
	assert_output --partial "at most one input stream"
}

@test "prune-hop: node sets match networkx for k 0..3 and every direction" {
	need_py numpy msgpack networkx
	for seed in 1 2 3; do
		"$PY" "$MK" layout --graphs 2 --nodes 80 --nc 6 --configs 5 --chunk 2 --seed $seed > "$T/in.mp"
		for k in 0 1 2 3; do
			for d in in out both; do
				prune-hop -k $k -d $d "$T/in.mp" > "$T/out.mp"
				run "$PY" "$OR" prune "$T/in.mp" "$T/out.mp" $k $d
				assert_success
			done
		done
	done
}

@test "prune-hop: a larger graph, default k=1 both ways" {
	need_py numpy msgpack networkx
	"$PY" "$MK" layout --graphs 1 --nodes 1500 --nc 40 --configs 30 --chunk 8 --seed 9 > "$T/in.mp"
	prune-hop < "$T/in.mp" > "$T/out.mp"
	run "$PY" "$OR" prune "$T/in.mp" "$T/out.mp" 1 both
	assert_success
	assert_output --regexp 'nodes 1500 -> [0-9]+ edges'
}

@test "prune-hop: tile graphs and their configs pass through unchanged" {
	need_py numpy msgpack networkx
	"$PY" "$MK" mixed --graphs 4 --seed 4 > "$T/in.mp"
	prune-hop -k 2 "$T/in.mp" > "$T/out.mp"
	run "$PY" "$OR" prune "$T/in.mp" "$T/out.mp" 2 both
	assert_success
	assert_output --partial "ok tile:xla:t1 tile passed through"
	assert_output --partial "ok tile:xla:t3 tile passed through"
}

@test "prune-hop: stdin, '-' and a file give the same stream" {
	need_py numpy msgpack
	"$PY" "$MK" layout --seed 5 > "$T/in.mp"
	prune-hop -k 2 "$T/in.mp" > "$T/a.mp"
	prune-hop -k 2 < "$T/in.mp" > "$T/b.mp"
	prune-hop -k 2 - < "$T/in.mp" > "$T/c.mp"
	run "$PY" "$OR" same "$T/a.mp" "$T/b.mp"
	assert_success
	run "$PY" "$OR" same "$T/a.mp" "$T/c.mp"
	assert_success
}

@test "prune-hop: orig_node_id composes over two runs and traces back to the input" {
	need_py numpy msgpack
	"$PY" "$MK" layout --nodes 120 --seed 6 > "$T/in.mp"
	prune-hop -k 3 "$T/in.mp" | prune-hop -k 1 -d in > "$T/out.mp"
	run "$PY" -c '
import sys, numpy as np
sys.path.insert(0, "'"$ROOT"'/tests/tools")
import mkstream
a = [r for r in mkstream.read_stream(open(sys.argv[1], "rb")) if r["t"] == "graph"]
b = [r for r in mkstream.read_stream(open(sys.argv[2], "rb")) if r["t"] == "graph"]
for g, h in zip(a, b):
    o = h["orig_node_id"]
    assert h["node_feat"].tobytes() == g["node_feat"][o].tobytes()
    assert (o[h["node_config_ids"]] == g["node_config_ids"]).all()
    assert len(o) < len(g["node_feat"])
print("ok", len(a))' "$T/in.mp" "$T/out.mp"
	assert_success
	assert_output "ok 2"
}

@test "prune-hop: numpy-written .npz files through npz2mp" {
	need_py numpy msgpack networkx
	"$PY" "$MK" mixed --graphs 3 --nodes 90 --seed 7 --out "$T/data"
	npz2mp -q "$T/data" > "$T/in.mp"
	prune-hop -k 2 -d out "$T/in.mp" > "$T/out.mp"
	run "$PY" "$OR" prune "$T/in.mp" "$T/out.mp" 2 out
	assert_success
	assert_output --partial "ok layout:xla:random:g0"
	assert_output --partial "ok tile:xla:t1 tile passed through"
}

@test "prune-hop: tpugen graphs" {
	need_py numpy msgpack networkx
	command -v tpugen >/dev/null || skip "tpugen not built"
	tpugen --out "$T/gen" --scale tiny >/dev/null 2>&1
	npz2mp -q "$T/gen/npz/layout" > "$T/in.mp"
	prune-hop -k 2 "$T/in.mp" > "$T/out.mp"
	run "$PY" "$OR" prune "$T/in.mp" "$T/out.mp" 2 both
	assert_success
	assert_output --partial "ok layout:"
}

@test "prune-hop: the output is a valid stream for mp-dump and the next stage" {
	need_py numpy msgpack
	"$PY" "$MK" mixed --graphs 2 --seed 8 > "$T/in.mp"
	runp "prune-hop '$T/in.mp' | prune-hop -k 0 | mp-dump > '$T/dump.jsonl'"
	assert_success
	run grep -c '"t": "graph"' "$T/dump.jsonl"
	assert_output 2
	run grep -o '"name": "prune-hop"' "$T/dump.jsonl"
	assert_equal "${#lines[@]}" 2
}

@test "prune-hop: truncated input, no end record, empty input exit 1" {
	need_py numpy msgpack
	"$PY" "$MK" layout --seed 9 > "$T/in.mp"
	head -c 3000 "$T/in.mp" > "$T/cut.mp"
	run prune-hop "$T/cut.mp"
	assert_failure 1
	assert_output --partial "truncated stream"
	"$PY" "$MK" layout --seed 9 --no-end > "$T/noend.mp"
	run prune-hop "$T/noend.mp"
	assert_failure 1
	assert_output --partial "no end record"
	run prune-hop < /dev/null
	assert_failure 1
	assert_output "prune-hop: stdin: empty input (no header record)"
}

@test "prune-hop: config id out of range, edge out of range, empty graph exit 1" {
	need_py numpy msgpack
	"$PY" "$MK" layout --seed 10 --corrupt config-id-range > "$T/a.mp"
	run prune-hop "$T/a.mp"
	assert_failure 1
	assert_output --regexp "prune-hop: .*layout:xla:random:g0.*node_config_ids\[7\] = 60 out of range \(60 nodes\)"
	"$PY" "$MK" layout --seed 10 --corrupt edge-range > "$T/b.mp"
	run prune-hop "$T/b.mp"
	assert_failure 1
	assert_output --partial "edge_index row 0: node id 1000000 out of range"
	"$PY" "$MK" layout --seed 10 --corrupt empty-graph > "$T/c.mp"
	run prune-hop "$T/c.mp"
	assert_failure 1
	assert_output --partial "empty graph (no nodes)"
}
