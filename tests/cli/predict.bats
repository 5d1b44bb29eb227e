#!/usr/bin/env bats
# predict.sh (tpurank-predict): rank the configs of new graphs with a model
# that collection.sh trained, through the same reduction, on tpugen tiny data.

load helper


setup_file() {
	export D="$BATS_FILE_TMPDIR/data" O="$BATS_FILE_TMPDIR/out"
	tpugen --out "$D" --scale tiny --seed 3 >/dev/null 2>&1
	collection.sh --data "$D" --out "$O" --set "$QUICK" layout:xla:random >/dev/null 2>&1
	collection.sh --data "$D" --out "$O" --set "$QUICK" tile:xla >/dev/null 2>&1
}

setup() { T="$BATS_TEST_TMPDIR"; }

# the order of a pred stream by hand: per graph, configs by score, ties by
# config index, as "ID<TAB>I1 I2 ..."
order() {
	PYTHONPATH="$ROOT/tests/tools" "$PY" - "$1" <<'EOF'
import sys
from rank_data import read_stream, arr
for r in read_stream(sys.argv[1]):
    if r['t'] == 'pred':
        idx, s = arr(r['config_index']), arr(r['score'])
        o = sorted(range(len(idx)), key=lambda i: (float(s[i]), int(idx[i])))
        print(r['id'] + '\t' + ' '.join(str(int(idx[i])) for i in o))
EOF
}

@test "predict.sh: --help, usage errors (2), unreadable (3) and bad (1) files" {
	run predict.sh --help
	assert_success
	assert_output --partial "usage: tpurank-predict [options] MODEL_DIR FILE.npz..."
	assert_output --partial "--csv"
	run predict.sh
	assert_failure 2
	assert_output --partial "usage: tpurank-predict"
	run predict.sh --bogus "$O/tile_xla/main" x.npz
	assert_failure 2
	assert_output --partial "tpurank-predict: unknown option --bogus"
	run predict.sh "$T" "$D/npz/tile/xla/test"
	assert_failure 2
	assert_output --partial "tpurank-predict: $T: no model.mp"
	run predict.sh --threads 0 "$O/tile_xla/main" "$D/npz/tile/xla/test"
	assert_failure 2
	run predict.sh "$O/tile_xla/main" "$T/none.npz"
	assert_failure 3
	assert_output --partial "tpurank-predict: $T/none.npz: cannot read it"
	echo "not a zip" > "$T/bad.npz"
	run predict.sh "$O/tile_xla/main" "$T/bad.npz"
	assert_failure 1
	assert_output --partial "tpurank-predict: the prediction failed (exit 1)"
}

@test "predict.sh: a layout graph ranked as sage-predict ranks it by hand after the conf's reduction" {
	need_py numpy msgpack
	f=$(ls "$D"/npz/layout/xla/random/valid/*.npz | head -n 1)
	cp "$f" "$T/my graph.npz"
	# by hand: the chain collection.sh runs on valid and test (conf file)
	. "$ROOT/pipelines/conf/layout_xla_random.conf"
	[ "$REDUCE" = prune ]
	# shellcheck disable=SC2086
	npz2mp -q --collection layout:xla:random --split test "$T/my graph.npz" | prune-hop $PRUNE_OPTS |
		encode-base7 $ENCODE_EVAL_OPTS | sage-predict --model "$O/layout_xla_random/main/model.mp" > "$T/pred.mp"
	order "$T/pred.mp" > "$T/want"
	[ "$(wc -l < "$T/want")" -eq 1 ]
	grep -q '^layout:xla:random:my graph	' "$T/want"
	run --separate-stderr predict.sh "$O/layout_xla_random/main" "$T/my graph.npz"
	assert_success
	[ "$output" = "$(cat "$T/want")" ]
	# without data/ in the run directory, the reduction comes from the conf file
	mkdir "$T/run"
	cp "$O/layout_xla_random/main/model.mp" "$T/run/"
	run predict.sh -v --collection layout:xla:random "$T/run" "$T/my graph.npz"
	assert_success
	assert_output --partial "reduction from $ROOT/pipelines/conf/layout_xla_random.conf"
	assert_output --partial "$(cat "$T/want")"
}

@test "predict.sh --csv: the Kaggle form, tile rows the top 5; --top K; several files" {
	need_py numpy msgpack
	run --separate-stderr predict.sh --csv "$O/tile_xla/main" "$D/npz/tile/xla/test"
	assert_success
	[ "${lines[0]}" = "ID,TopConfigs" ]
	n=$(ls "$D"/npz/tile/xla/test/*.npz | wc -l)
	[ "${#lines[@]}" -eq $((n + 1)) ]
	# the same order as collection.sh's own test predictions
	order "$O/tile_xla/main/pred-test.mp" |
		awk -F '\t' '{ split($2, a, " "); printf "%s,%s;%s;%s;%s;%s\n", $1, a[1], a[2], a[3], a[4], a[5] }' > "$T/want"
	[ "$(printf '%s\n' "${lines[@]:1}")" = "$(cat "$T/want")" ]
	run --separate-stderr predict.sh --top 2 "$O/tile_xla/main" "$D/npz/tile/xla/test"
	assert_success
	[ "$(printf '%s\n' "$output" | awk -F '\t' '{ print split($2, a, " ") }' | sort -u)" = 2 ]
	# a layout model refuses tile graphs
	run predict.sh "$O/layout_xla_random/main" "$D/npz/tile/xla/test"
	assert_failure 1
}

@test "predict.sh: a real layout graph (the Kaggle test file of ../shared/data/real) with a model trained on the real sample" {
	need_py numpy msgpack
	REAL="$ROOT/../shared/data/real"
	if [ ! -d "$REAL/npz" ]; then
		[ "${CI:-}" = true ] && { echo "no real files at $REAL under CI" >&2; return 1; }
		skip "no real TpuGraphs files at $REAL"
	fi
	collection.sh --data "$REAL" --out "$T/o" --set "$QUICK" layout:xla:default >/dev/null 2>&1
	f=$(ls "$REAL"/npz/layout/xla/default/test/*.npz)
	run --separate-stderr predict.sh "$T/o/layout_xla_default/main" "$f"
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	# collection.sh predicted the same file as its test split
	[ "$output" = "$(order "$T/o/layout_xla_default/main/pred-test.mp")" ]
	# every one of its 1000 configs once
	[ "$(printf '%s\n' "$output" | cut -f2 | tr ' ' '\n' | sort -n | uniq | wc -l)" -eq 1000 ]
}
