#!/usr/bin/env bats
# encode-base7: packing checked against numpy, --decode an exact inverse,
# --dedup and --drop-constant against numpy's np.unique on the packed rows
# (kept rows, runtimes, the dup_index covering every original index exactly
# once), tile pass-through, bad input.

load helper

setup() {
	T="$BATS_TEST_TMPDIR"
	MK="$ROOT/tests/tools/mkstream.py"
	OR="$ROOT/tests/tools/reduce_oracle.py"
}

@test "encode-base7 --help and --version" {
	run encode-base7 --help
	assert_success
	assert_output --partial "usage: encode-base7"
	assert_output --partial "--drop-constant"
	run encode-base7 --version
	assert_success
	assert_output --regexp '^encode-base7 [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "encode-base7 man page matches --help" {
	check_man_matches_help encode-base7
}

@test "encode-base7: usage errors exit 2" {
	run encode-base7 --decode --dedup
	assert_failure 2
	assert_output --partial "--decode does not go with --dedup or --drop-constant"
	run encode-base7 --dedup --keep max
	assert_failure 2
	assert_output --partial "--keep: want min, first or mean"
	run encode-base7 --keep first
	assert_failure 2
	assert_output --partial "--keep and --force go with --dedup"
	run encode-base7 --force
	assert_failure 2
	run encode-base7 --nope
	assert_failure 2
	assert_output --partial "usage: encode-base7"
	run encode-base7 a b
	assert_failure 2
	assert_output --partial "at most one input stream"
}

@test "encode-base7: codes match numpy; tile chunks untouched" {
	need_py numpy msgpack
	"$PY" "$MK" mixed --graphs 4 --nc 11 --configs 40 --chunk 9 --seed 1 > "$T/in.mp"
	encode-base7 "$T/in.mp" > "$T/enc.mp"
	run "$PY" "$OR" encode "$T/in.mp" "$T/enc.mp"
	assert_success
	assert_output --partial "ok layout:xla:random:g0 40 configs packed"
	assert_output --partial "ok tile:xla:t1 40 configs packed"
}

@test "encode-base7: --decode is an exact inverse (random and real-shaped configs)" {
	need_py numpy msgpack
	"$PY" "$MK" mixed --graphs 3 --nodes 300 --nc 120 --configs 200 --chunk 64 --seed 2 > "$T/in.mp"
	encode-base7 "$T/in.mp" | encode-base7 --decode > "$T/back.mp"
	run "$PY" "$OR" same "$T/in.mp" "$T/back.mp"
	assert_success
	# packing an already packed stream, decoding a plain one: no change
	encode-base7 "$T/in.mp" > "$T/e1.mp"
	encode-base7 "$T/e1.mp" > "$T/e2.mp"
	run "$PY" "$OR" same "$T/e1.mp" "$T/e2.mp"
	assert_success
	encode-base7 -d "$T/in.mp" > "$T/d.mp"
	run "$PY" "$OR" same "$T/in.mp" "$T/d.mp"
	assert_success
}

@test "encode-base7: config bytes shrink exactly 6x" {
	need_py numpy msgpack
	"$PY" "$MK" layout --graphs 1 --nc 50 --configs 100 --seed 3 > "$T/in.mp"
	encode-base7 "$T/in.mp" > "$T/enc.mp"
	run "$PY" -c '
import sys
sys.path.insert(0, "'"$ROOT"'/tests/tools")
import mkstream
a = sum(r["node_config_feat"].nbytes for r in mkstream.read_stream(open(sys.argv[1], "rb")) if r["t"] == "configs")
b = sum(r["node_config_code"].nbytes for r in mkstream.read_stream(open(sys.argv[2], "rb")) if r["t"] == "configs")
print(a, b, a / b)' "$T/in.mp" "$T/enc.mp"
	assert_success
	assert_output "360000 60000 6.0"
}

@test "encode-base7: --dedup keeps the min runtime; dup_index covers every index once" {
	need_py numpy msgpack
	for seed in 4 5; do
		"$PY" "$MK" mixed --graphs 3 --nc 6 --configs 80 --chunk 13 --seed $seed > "$T/in.mp"
		for keep in min first mean; do
			encode-base7 --dedup --keep $keep "$T/in.mp" > "$T/out.mp"
			run "$PY" "$OR" dedup "$T/in.mp" "$T/out.mp" $keep
			assert_success
			assert_output --regexp "ok layout:xla:random:g0 configs 80 -> [0-9]+ "
		done
	done
	# default --keep is min
	encode-base7 -u "$T/in.mp" > "$T/out.mp"
	run "$PY" "$OR" dedup "$T/in.mp" "$T/out.mp" min
	assert_success
}

@test "encode-base7: --drop-constant, alone and with --dedup" {
	need_py numpy msgpack
	"$PY" "$MK" layout --graphs 3 --nc 20 --configs 50 --chunk 16 --seed 6 > "$T/in.mp"
	encode-base7 --drop-constant "$T/in.mp" > "$T/c.mp"
	run "$PY" "$OR" dedup "$T/in.mp" "$T/c.mp" none const
	assert_success
	assert_line --regexp "configurable nodes 20 -> 1[0-9]$"
	encode-base7 -u -c "$T/in.mp" > "$T/uc.mp"
	run "$PY" "$OR" dedup "$T/in.mp" "$T/uc.mp" min const
	assert_success
}

@test "encode-base7: one config per graph: nothing is dropped as constant" {
	need_py numpy msgpack
	"$PY" "$MK" layout --graphs 1 --nc 5 --configs 1 --seed 7 > "$T/in.mp"
	encode-base7 -c -u "$T/in.mp" > "$T/out.mp"
	run "$PY" "$OR" dedup "$T/in.mp" "$T/out.mp" min const
	assert_success
	assert_output --partial "configs 1 -> 1 configurable nodes 5 -> 5"
}

@test "encode-base7: a second --dedup after decoding keeps the full mapping" {
	need_py numpy msgpack
	"$PY" "$MK" layout --graphs 2 --nc 4 --configs 60 --chunk 10 --seed 8 > "$T/in.mp"
	encode-base7 -u -c "$T/in.mp" | encode-base7 -u > "$T/twice.mp"
	encode-base7 -u -c "$T/in.mp" > "$T/once.mp"
	run "$PY" "$OR" same "$T/once.mp" "$T/twice.mp"
	assert_success
	encode-base7 -u -c "$T/in.mp" | encode-base7 -d | encode-base7 -u > "$T/again.mp"
	run "$PY" "$OR" same "$T/once.mp" "$T/again.mp"
	assert_success
}

@test "encode-base7: --dedup refuses configs without runtimes unless --force" {
	need_py numpy msgpack
	"$PY" "$MK" layout --graphs 2 --nc 4 --configs 30 --seed 9 --no-runtime > "$T/test.mp"
	run encode-base7 --dedup "$T/test.mp"
	assert_failure 1
	assert_output --regexp "encode-base7: .*configs without config_runtime \(a test split\?\).*--force"
	encode-base7 --dedup --force "$T/test.mp" > "$T/out.mp"
	run "$PY" "$OR" dedup "$T/test.mp" "$T/out.mp" first
	assert_success
	# plain packing of a test split is fine
	run encode-base7 "$T/test.mp"
	assert_success
}

@test "encode-base7: numpy-written .npz files through npz2mp, then the next stages" {
	need_py numpy msgpack
	"$PY" "$MK" mixed --graphs 3 --nc 9 --configs 70 --seed 10 --out "$T/data"
	npz2mp -q --chunk 16 "$T/data" > "$T/in.mp"
	encode-base7 -u "$T/in.mp" > "$T/out.mp"
	run "$PY" "$OR" dedup "$T/in.mp" "$T/out.mp" min
	assert_success
	runp "encode-base7 '$T/in.mp' | encode-base7 -d | mp-dump -t configs > '$T/dump.jsonl'"
	assert_success
	run grep -c node_config_feat "$T/dump.jsonl"
	assert_output 10
	runp "prune-hop '$T/out.mp' | dijkstra-compress | encode-base7 -d | mp-dump > /dev/null"
	assert_success
}

@test "encode-base7: tpugen graphs round trip and dedup" {
	need_py numpy msgpack
	command -v tpugen >/dev/null || skip "tpugen not built"
	tpugen --out "$T/gen" --scale tiny >/dev/null 2>&1
	npz2mp -q "$T"/gen/npz/layout/*/*/{train,valid} > "$T/in.mp"   # test: runtimes hidden
	encode-base7 "$T/in.mp" | encode-base7 -d > "$T/back.mp"
	run "$PY" "$OR" same "$T/in.mp" "$T/back.mp"
	assert_success
	encode-base7 -u "$T/in.mp" > "$T/out.mp"
	run "$PY" "$OR" dedup "$T/in.mp" "$T/out.mp" min
	assert_success
}

@test "encode-base7: values outside -1..5, fractions and NaN exit 1" {
	need_py numpy msgpack
	for c in value-range value-frac value-nan; do
		"$PY" "$MK" layout --seed 11 --corrupt $c > "$T/bad.mp"
		run encode-base7 "$T/bad.mp"
		assert_failure 1
		assert_output --regexp "encode-base7: .*layout:xla:random:g0.*node_config_feat\[0\]\[0\]\[3\] = (6|0.5|nan) \(config_index 0\) is not a layout value"
	done
}

@test "encode-base7: a code of 7^6 or more exits 1 on --decode" {
	need_py numpy msgpack
	"$PY" "$MK" layout --seed 12 > "$T/in.mp"
	encode-base7 "$T/in.mp" > "$T/enc.mp"
	"$PY" -c '
import sys
sys.path.insert(0, "'"$ROOT"'/tests/tools")
import mkstream
recs = mkstream.read_stream(open(sys.argv[1], "rb"))
c = next(r for r in recs if r["t"] == "configs")
c["node_config_code"][1, 2, 0] = 117649
mkstream.write_stream(sys.stdout.buffer, recs[:-1])' "$T/enc.mp" > "$T/bad.mp"
	run encode-base7 -d "$T/bad.mp"
	assert_failure 1
	assert_output --partial "node_config_code[1][2][0] = 117649 is not a base-7 code"
	run encode-base7 -u "$T/bad.mp"
	assert_failure 1
	assert_output --partial "is not a base-7 code"
}

@test "encode-base7: stdin and file agree; truncated, no end, empty input exit 1" {
	need_py numpy msgpack
	"$PY" "$MK" layout --seed 13 > "$T/in.mp"
	encode-base7 -u "$T/in.mp" > "$T/a.mp"
	encode-base7 -u < "$T/in.mp" > "$T/b.mp"
	run "$PY" "$OR" same "$T/a.mp" "$T/b.mp"
	assert_success
	head -c 20000 "$T/in.mp" > "$T/cut.mp"
	run encode-base7 -u "$T/cut.mp"
	assert_failure 1
	assert_output --partial "truncated stream"
	"$PY" "$MK" layout --seed 13 --no-end > "$T/noend.mp"
	run encode-base7 "$T/noend.mp"
	assert_failure 1
	assert_output --partial "no end record"
	run encode-base7 < /dev/null
	assert_failure 1
	assert_output "encode-base7: stdin: empty input (no header record)"
}

@test "encode-base7: config id out of range, empty graph, chunk before graph exit 1" {
	need_py numpy msgpack
	"$PY" "$MK" layout --seed 14 --corrupt config-id-range > "$T/a.mp"
	run encode-base7 "$T/a.mp"
	assert_failure 1
	assert_output --partial "node_config_ids[7] = 60 out of range (60 nodes)"
	"$PY" "$MK" layout --seed 14 --corrupt empty-graph > "$T/b.mp"
	run encode-base7 -u "$T/b.mp"
	assert_failure 1
	assert_output --partial "empty graph (no nodes)"
	"$PY" -c '
import sys, numpy as np
sys.path.insert(0, "'"$ROOT"'/tests/tools")
import mkstream
recs = mkstream.random_layout(np.random.default_rng(1), "g", 30, 4, 3, 2)
mkstream.write_stream(sys.stdout.buffer, recs[1:] + recs[:1])' > "$T/c.mp"
	run encode-base7 "$T/c.mp"
	assert_failure 1
	assert_output --partial "before its graph record"
}
