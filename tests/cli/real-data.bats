#!/usr/bin/env bats
# The real TpuGraphs files in ../shared/data/real (ten files as Google
# published them: Fortran-order edge_index, test files with every runtime 0)
# through every reader and the whole chain, and pipelines/all.sh on them as a
# dataset root.  They are too few to learn from: these tests hold the format
# and the plumbing, not the scores.

load helper

REAL="$ROOT/../shared/data/real"

setup() {
	T="$BATS_TEST_TMPDIR"
	if [ ! -d "$REAL/npz" ]; then
		# CI runs a clone with shared/ beside it: missing there is a failure
		[ "${CI:-}" = true ] && { echo "no real files at $REAL under CI" >&2; return 1; }
		skip "no real TpuGraphs files at $REAL"
	fi
}

# a small model of each kind, trained on the real train files (one graph),
# prepared as the chains below and the conf files prepare theirs (prune-hop
# -k 1: sage-predict refuses a stream prepared otherwise)
train_model() {  # KIND OUT
	local src
	case $1 in
	tile) src="$REAL/npz/tile/xla/train" ;;
	layout) src="$REAL/npz/layout/xla/default/train" ;;
	esac
	npz2mp -q "$src" | prune-hop | encode-base7 |
		sage-train --quiet --epochs 2 --hidden 16 --layers 2 --out "$2"
}

@test "real: every file reads through npz2mp, value for value against numpy" {
	need_py numpy msgpack
	run --separate-stderr bash -c "npz2mp '$REAL/npz' > '$T/all.mp'"
	assert_success
	[ "$(printf '%s\n' "$stderr" | grep -c '(runtimes hidden)')" -eq 4 ]
	# every graph, every config row, runtimes_hidden exactly on the test files
	run "$PY" "$ROOT/tests/tools/npz_vs_mp.py" "$T/all.mp" --expect-graphs 10
	assert_success
	assert_output "ok: 10 graphs"
	# the four test files say so, and nothing else does
	run bash -o pipefail -c "mp-dump -t graph '$T/all.mp' | grep '\"runtimes_hidden\": true' | grep -c '\"split\": \"test\"'"
	assert_output 4
}

@test "real: Fortran-order edge_index arrives in C order (numpy's values)" {
	need_py numpy msgpack
	f="$REAL/npz/layout/xla/default/train/unet3d.npz"
	"$PY" -c 'import numpy as np, sys; from numpy.lib import format as F
z = np.load(sys.argv[1]); assert z["edge_index"].flags.f_contiguous and not z["edge_index"].flags.c_contiguous' "$f"
	npz2mp -q "$f" > "$T/u.mp"
	run "$PY" -c '
import msgpack, numpy as np, sys
g = next(r for r in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False) if r["t"] == "graph")
e = np.frombuffer(g["edge_index"]["data"], "<i4").reshape(g["edge_index"]["shape"])
print(np.array_equal(e, np.load(sys.argv[2])["edge_index"]), e.shape)' "$T/u.mp" "$f"
	assert_output "True (4730, 2)"
}

@test "real: the chain npz2mp | prune-hop | encode-base7 | sage-predict | rank-ensemble on every test file" {
	need_py msgpack
	train_model tile "$T/tile.mp"
	train_model layout "$T/layout.mp"
	for d in tile/xla layout/xla/random layout/xla/default layout/nlp/random; do
		kind=${d%%/*}
		rm -f "$T/sub.csv"
		run --separate-stderr bash -o pipefail -c "npz2mp -q '$REAL/npz/$d/test' | tee '$T/truth.mp' |
			prune-hop | encode-base7 | sage-predict --model '$T/$kind.mp' | rank-ensemble --csv '$T/sub.csv' -"
		[ "$status" -eq 0 ] || { echo "$d: exit $status: $stderr"; return 1; }
		run "$PY" "$ROOT/tests/tools/check_submission.py" "$T/truth.mp" "$T/sub.csv"
		[ "$status" -eq 0 ] || { echo "$d: $output"; return 1; }
		assert_output "ok 1 rows"
	done
}

@test "real: sage-train refuses to train on a test file, rank-eval to score one" {
	train_model tile "$T/tile.mp"
	f="$REAL/npz/tile/xla/test"
	npz2mp -q "$f" > "$T/test.mp"
	sage-predict --model "$T/tile.mp" < "$T/test.mp" > "$T/pred.mp"
	run --separate-stderr sage-train --quiet --out "$T/m.mp" "$T/test.mp"
	assert_failure 1
	[[ "$stderr" == *"its runtimes are hidden (a test split): nothing to train or validate on" ]]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	[ ! -e "$T/m.mp" ]
	# nor validate on one
	npz2mp -q "$REAL/npz/tile/xla/train" > "$T/train.mp"
	run --separate-stderr sage-train --quiet --valid "$T/test.mp" --out "$T/m.mp" "$T/train.mp"
	assert_failure 1
	[[ "$stderr" == *"nothing to train or validate on" ]]
	run --separate-stderr rank-eval --truth "$T/test.mp" "$T/pred.mp"
	assert_failure 1
	[[ "$stderr" == *"its runtimes are hidden (a test split): nothing to score against" ]]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
}

@test "real: sage-train says when the training split is too small to learn from" {
	run --separate-stderr bash -o pipefail -c "npz2mp -q '$REAL/npz/tile/xla/train' |
		sage-train --quiet --epochs 1 --out '$T/m.mp'"
	assert_success
	[[ "$stderr" == *"the training split has 2 configs to rank (in 1 graphs), fewer than 128: too small to learn from"* ]]
	# unet3d (1,159 configs) is not too small
	run --separate-stderr bash -o pipefail -c "npz2mp -q '$REAL/npz/layout/xla/default/train' |
		sage-train --quiet --epochs 1 --hidden 16 --out '$T/m.mp'"
	assert_success
	[[ "$stderr" != *"too small"* ]]
}

@test "real: all.sh on three collections writes a submission with one row per test graph" {
	need_py msgpack
	run --separate-stderr all.sh --budget none --data "$REAL" --out "$T/out" --no-plots \
		--collections tile:xla,layout:xla:random,layout:xla:default
	[ "$status" -eq 0 ] || { echo "$stderr" | tail -n 30; return 1; }
	# the one-graph splits are called what they are; the real
	# openai_v0_rnn file holds one config measured 20 times: nothing to rank
	[[ "$stderr" == *"tile:xla"*"too small to learn from"* ]]
	[[ "$stderr" == *"layout:xla:random 1"?"sage-train: warning: no training graph has two or more configs to rank: nothing to learn"* ]]
	mp-dump -t training "$T/out/layout_xla_random/seed1/model.mp" | grep -q '"untrained": true'
	npz2mp -q "$REAL/npz/tile/xla/test" "$REAL/npz/layout/xla/random/test" \
		"$REAL/npz/layout/xla/default/test" > "$T/test.mp"
	run "$PY" "$ROOT/tests/tools/check_submission.py" "$T/test.mp" "$T/out/submission.csv"
	assert_success
	assert_output "ok 3 rows"
	# valid is scored for each collection
	for c in tile:xla layout:xla:random layout:xla:default; do
		grep -q "^$c " "$T/out/scores-valid.txt" || { cat "$T/out/scores-valid.txt"; return 1; }
	done
}

@test "real: a collection with test files but no train files is refused by name, or predicted with a named model" {
	need_py msgpack
	run --separate-stderr all.sh --data "$REAL" --out "$T/out" --no-plots --collections tile:xla,layout:nlp:random
	assert_failure 1
	assert_equal "$stderr" "all.sh: layout:nlp:random: test files but no train files in $REAL/npz/layout/nlp/random/train: leave it out of --collections, or predict it with collection.sh --model FILE"
	[ ! -e "$T/out/submission.csv" ]
	[ ! -e "$T/out/tile_xla" ]   # refused before any job ran
	run --separate-stderr collection.sh --data "$REAL" --out "$T/out" layout:nlp:random
	assert_failure 1
	[[ "$stderr" == *"layout:nlp:random: test files but no train files in"*"(name a model with --model FILE)" ]]
	# with a model the user names: predicted, nothing trained
	train_model layout "$T/layout.mp"
	run --separate-stderr collection.sh --data "$REAL" --out "$T/out" --model "$T/layout.mp" layout:nlp:random
	assert_success
	[[ "$stderr" == *"predicting with $T/layout.mp"* ]]
	[[ "$stderr" != *"train: start"* ]]
	npz2mp -q "$REAL/npz/layout/nlp/random/test" > "$T/truth.mp"
	rank-ensemble --csv "$T/sub.csv" "$T/out/layout_nlp_random/main/pred-test.mp"
	run "$PY" "$ROOT/tests/tools/check_submission.py" "$T/truth.mp" "$T/sub.csv"
	assert_output "ok 1 rows"
}

@test "real: split_configs.py splits unet3d's configs 70/10/20, disjoint, and the pipeline trains and scores the held-out part" {
	need_py numpy
	f="$REAL/npz/layout/xla/default/train/unet3d.npz"
	run "$PY" "$ROOT/tests/tools/split_configs.py" "$f" "$T/r/npz/layout/xla/random" --seed 1
	assert_success
	# every config in exactly one part; each part the same graph and dtypes
	run "$PY" - "$f" "$T/r/npz/layout/xla/random" <<'PY'
import sys, numpy as np
src, out = np.load(sys.argv[1]), sys.argv[2]
parts = {s: np.load("%s/%s/unet3d.npz" % (out, s)) for s in ("train", "valid", "test")}
rows = []
for s, p in parts.items():
    for k in ("node_feat", "node_opcode", "edge_index", "node_config_ids"):
        assert np.array_equal(p[k], src[k]) and p[k].dtype == src[k].dtype, (s, k)
    assert p["node_config_feat"].dtype == src["node_config_feat"].dtype
    for c in range(len(p["config_runtime"])):
        rows.append((p["node_config_feat"][c].tobytes(), int(p["config_runtime"][c])))
want = sorted((src["node_config_feat"][c].tobytes(), int(src["config_runtime"][c]))
              for c in range(len(src["config_runtime"])))
assert sorted(rows) == want, "the parts are not a partition of the configs"
print(" ".join(str(len(parts[s]["config_runtime"])) for s in ("train", "valid", "test")))
PY
	assert_success
	assert_output "811 116 232"
	# the held-out part keeps its runtimes: a truth rank-eval scores against
	npz2mp -q "$T/r/npz/layout/xla/random/test" > "$T/test-truth.mp"
	collection.sh --data "$T/r" --out "$T/o" --set 'TRAIN_OPTS=--steps 20 --hidden 16 --layers 2' \
		layout:xla:random 2> "$T/log"
	run rank-eval --truth "$T/test-truth.mp" "$T/o/layout_xla_random/main/pred-test.mp"
	assert_success
	assert_output --regexp "layout:xla:random +1 +232 "
}
