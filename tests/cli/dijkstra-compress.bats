#!/usr/bin/env bats
# dijkstra-compress: kept nodes, edges and path lengths checked against a
# networkx-based oracle (multi-source Dijkstra on the data flow graph and its
# reverse) on random DAGs, .npz files and tpugen graphs; the drawn example of
# docs/dijkstra-compress.md; distance preservation; bad input.

load helper

setup() {
	T="$BATS_TEST_TMPDIR"
	MK="$ROOT/tests/tools/mkstream.py"
	OR="$ROOT/tests/tools/reduce_oracle.py"
}

@test "dijkstra-compress --help and --version" {
	run dijkstra-compress --help
	assert_success
	assert_output --partial "usage: dijkstra-compress"
	assert_output --partial "--weight"
	run dijkstra-compress --version
	assert_success
	assert_output --regexp '^dijkstra-compress [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "dijkstra-compress man page matches --help" {
	check_man_matches_help dijkstra-compress
}

@test "dijkstra-compress: usage errors exit 2" {
	run dijkstra-compress --weight flops
	assert_failure 2
	assert_output --partial "--weight: want unit or bytes"
	run dijkstra-compress -x
	assert_failure 2
	assert_output --partial "usage: dijkstra-compress"
	run dijkstra-compress a b
	assert_failure 2
	assert_output --partial "at most one input stream"
}

@test "dijkstra-compress: the drawn example of docs/dijkstra-compress.md" {
	need_py numpy msgpack
	"$PY" -c '
import sys, numpy as np
sys.path.insert(0, "'"$ROOT"'/tests/tools")
import mkstream
n = 9
nf = np.zeros((n, 140), np.float32); nf[8, 0] = 1
op = np.array([63, 63, 24, 26, 2, 37, 60, 34, 100], np.int32)
e = np.array([[3,0],[3,1],[4,3],[4,2],[5,4],[6,5],[7,6],[7,1],[8,7],[8,4]], np.int32)
g = {"t": "graph", "id": "layout:xla:random:example", "n_nodes": n, "n_edges": len(e),
     "node_feat": nf, "node_opcode": op, "edge_index": e,
     "node_config_ids": np.array([3, 7], np.int32)}
mkstream.write_stream(sys.stdout.buffer, [g])' > "$T/ex.mp"
	dijkstra-compress "$T/ex.mp" > "$T/out.mp"
	run "$PY" -c '
import sys
sys.path.insert(0, "'"$ROOT"'/tests/tools")
import mkstream
g = [r for r in mkstream.read_stream(open(sys.argv[1], "rb")) if r["t"] == "graph"][0]
print("orig", g["orig_node_id"].tolist())
print("config", g["node_config_ids"].tolist())
print("edges", g["edge_index"].tolist())
print("len", g["edge_feat"][:, 0].tolist())' "$T/out.mp"
	assert_success
	assert_line "orig [0, 1, 3, 4, 7, 8]"
	assert_line "config [2, 4]"
	assert_line "edges [[2, 0], [2, 1], [3, 2], [4, 1], [5, 4], [5, 3], [4, 3]]"
	assert_line "len [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 3.0]"
}

@test "dijkstra-compress: matches the networkx oracle, unit and bytes weights" {
	need_py numpy msgpack networkx
	for seed in 1 2 3 4; do
		"$PY" "$MK" layout --graphs 2 --nodes 120 --nc 7 --configs 4 --chunk 3 --seed $seed > "$T/in.mp"
		for w in unit bytes; do
			dijkstra-compress -w $w "$T/in.mp" > "$T/out.mp"
			run "$PY" "$OR" dijkstra "$T/in.mp" "$T/out.mp" $w
			assert_success
		done
	done
}

@test "dijkstra-compress: a larger graph keeps every configurable node's distances" {
	need_py numpy msgpack networkx
	"$PY" "$MK" layout --graphs 1 --nodes 2000 --nc 60 --configs 10 --seed 11 > "$T/in.mp"
	dijkstra-compress < "$T/in.mp" > "$T/out.mp"
	run "$PY" "$OR" dijkstra "$T/in.mp" "$T/out.mp" unit
	assert_success
	assert_output --regexp 'nodes 2000 -> [0-9]+ edges [0-9]+ -> [0-9]+ \([1-9][0-9]* bypass\)'
}

@test "dijkstra-compress: a second run composes edge_feat lengths" {
	need_py numpy msgpack networkx
	"$PY" "$MK" layout --graphs 2 --nodes 150 --nc 5 --seed 12 > "$T/in.mp"
	prune-hop -k 4 "$T/in.mp" | dijkstra-compress > "$T/once.mp"
	dijkstra-compress "$T/once.mp" > "$T/twice.mp"
	run "$PY" "$OR" dijkstra "$T/once.mp" "$T/twice.mp" unit
	assert_success
}

@test "dijkstra-compress: an edge_feat that is not (m, 1) is refused" {
	need_py numpy msgpack
	"$PY" -c '
import sys, numpy as np
sys.path.insert(0, "'"$ROOT"'/tests/tools")
import mkstream
recs = mkstream.random_layout(np.random.default_rng(1), "g", 30, 4, 3, 2)
recs[0]["edge_feat"] = np.ones((len(recs[0]["edge_index"]), 2), np.float32)
mkstream.write_stream(sys.stdout.buffer, recs)' > "$T/ef.mp"
	run dijkstra-compress "$T/ef.mp"
	assert_failure 1
	assert_output --regexp "dijkstra-compress: .*layout:xla:random:g.*edge_feat is \([0-9]+, 2\)"
}

@test "dijkstra-compress: tile graphs pass through; stdin and file agree" {
	need_py numpy msgpack networkx
	"$PY" "$MK" mixed --graphs 4 --seed 13 > "$T/in.mp"
	dijkstra-compress "$T/in.mp" > "$T/a.mp"
	dijkstra-compress < "$T/in.mp" > "$T/b.mp"
	run "$PY" "$OR" same "$T/a.mp" "$T/b.mp"
	assert_success
	run "$PY" "$OR" dijkstra "$T/in.mp" "$T/a.mp" unit
	assert_success
	assert_output --partial "ok tile:xla:t1 tile passed through"
}

@test "dijkstra-compress: numpy-written .npz files through npz2mp, then mp-dump" {
	need_py numpy msgpack networkx
	"$PY" "$MK" mixed --graphs 3 --nodes 100 --seed 14 --out "$T/data"
	npz2mp -q "$T/data" > "$T/in.mp"
	dijkstra-compress -w bytes "$T/in.mp" > "$T/out.mp"
	run "$PY" "$OR" dijkstra "$T/in.mp" "$T/out.mp" bytes
	assert_success
	runp "encode-base7 '$T/out.mp' | mp-dump -t graph > '$T/dump.jsonl'"
	assert_success
	run grep -c '"edge_feat"' "$T/dump.jsonl"
	assert_output 2
}

@test "dijkstra-compress: tpugen graphs" {
	need_py numpy msgpack networkx
	command -v tpugen >/dev/null || skip "tpugen not built"
	tpugen --out "$T/gen" --scale tiny >/dev/null 2>&1
	npz2mp -q "$T/gen/npz/layout" > "$T/in.mp"
	dijkstra-compress "$T/in.mp" > "$T/out.mp"
	run "$PY" "$OR" dijkstra "$T/in.mp" "$T/out.mp" unit
	assert_success
	assert_output --partial "ok layout:"
}

@test "dijkstra-compress: truncated input, no end record, empty input exit 1" {
	need_py numpy msgpack
	"$PY" "$MK" layout --seed 15 > "$T/in.mp"
	head -c 5000 "$T/in.mp" > "$T/cut.mp"
	run dijkstra-compress "$T/cut.mp"
	assert_failure 1
	assert_output --partial "truncated stream"
	"$PY" "$MK" layout --seed 15 --no-end > "$T/noend.mp"
	run dijkstra-compress "$T/noend.mp"
	assert_failure 1
	assert_output --partial "no end record"
	run dijkstra-compress < /dev/null
	assert_failure 1
	assert_output "dijkstra-compress: stdin: empty input (no header record)"
}

@test "dijkstra-compress: config id out of range, empty graph exit 1" {
	need_py numpy msgpack
	"$PY" "$MK" layout --seed 16 --corrupt config-id-range > "$T/a.mp"
	run dijkstra-compress "$T/a.mp"
	assert_failure 1
	assert_output --partial "node_config_ids[7] = 60 out of range (60 nodes)"
	"$PY" "$MK" layout --seed 16 --corrupt empty-graph > "$T/b.mp"
	run dijkstra-compress "$T/b.mp"
	assert_failure 1
	assert_output --partial "empty graph (no nodes)"
}
