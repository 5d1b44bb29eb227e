#!/usr/bin/env bats
# pipelines/ with spaces and quotes in every path (the checkout itself, --data,
# --out, --conf, --record), --set's whitelist, and collection.sh's training
# progress lines.  tpugen tiny data.

load helper

setup_file() {
	# a directory name with a space, a single and a double quote
	export X="$BATS_FILE_TMPDIR/a b'c\"d"
	mkdir -p "$X/inst"
	tpugen --out "$X/da ta" --scale tiny --seed 3 >/dev/null 2>&1
	# the checkout's location too: its scripts beside a bin/ (lib.sh finds
	# ../bin, unless TPU_BIN says otherwise)
	cp -r "$ROOT/pipelines" "$X/inst/pipelines"
	ln -s "$BIN" "$X/inst/bin"
}

setup() { T="$BATS_TEST_TMPDIR"; }

QUICK='TRAIN_OPTS=--epochs 3 --hidden 16 --layers 1 --configs-per-graph 16'

@test "paths: collection.sh end to end with spaces and quotes in --data, --out, --conf, --record and its own location" {
	cp "$ROOT/pipelines/conf/layout_xla_random.conf" "$X/my \"conf'.conf"
	run "$X/inst/pipelines/collection.sh" --data "$X/da ta" --out "$X/o ut" --conf "$X/my \"conf'.conf" \
		--record "$X/re 'c" --set "$QUICK" layout:xla:random
	assert_success
	assert_output --partial "layout:xla:random: eval valid: done"
	for f in data/train.mp data/valid.mp data/test.mp model.mp train-log.jsonl pred-valid.mp pred-test.mp eval-valid.json eval-valid.txt; do
		[ -s "$X/o ut/layout_xla_random/main/$f" ] || { echo "missing $f"; return 1; }
	done
	[ -s "$X/re 'c/layout_xla_random/prune-hop-train.mp" ]
	# the recorded commands replay from there
	run bash -c 'replay.sh "$1/re '"'"'c/layout_xla_random" prune-hop-valid | cmp - "$1/re '"'"'c/layout_xla_random/prune-hop-valid.mp"' _ "$X"
	assert_success
	run bash -c 'replay.sh "$1/re '"'"'c/layout_xla_random" npz2mp-test | cmp - "$1/re '"'"'c/layout_xla_random/npz2mp-test.mp"' _ "$X"
	assert_success
	# --model with the same kind of path
	cp "$X/o ut/layout_xla_random/main/model.mp" "$X/mo 'del\".mp"
	run "$X/inst/pipelines/collection.sh" --data "$X/da ta" --out "$X/o ut" --tag "pre d" \
		--model "$X/mo 'del\".mp" layout:xla:random
	assert_success
	[ -s "$X/o ut/layout_xla_random/pre d/pred-test.mp" ]
}

@test "paths: all.sh --budget none on two collections, two seeds, --record, with spaces and quotes in every path" {
	run "$X/inst/pipelines/all.sh" --budget none --data "$X/da ta" --out "$X/all o'ut" --record "$X/all \"rec" \
		--collections tile:xla,layout:xla:random --seeds 1,2 --fit on --jobs 2 --no-plots --set "$QUICK"
	assert_success
	assert_output --partial "overall score"
	[ -s "$X/all o'ut/submission.csv" ]
	[ -s "$X/all o'ut/scores-valid.json" ]
	[ -s "$X/all o'ut/tile_xla/ens-weights.json" ]
	[ -s "$X/all \"rec/tile_xla/encode-base7-train.mp" ]
	# the training's progress comes through parallel's --tag
	assert_output --partial "tile:xla 2	collection.sh: tile:xla (seed2): train epoch 3/3  loss"
}

@test "collection.sh --set: only the conf variables, assigned as they are, never run" {
	cd "$T"
	run collection.sh --data "$X/da ta" --out "$T/o" --set 'X;touch injected;Y=1' tile:xla
	assert_failure 2
	assert_output --partial "collection.sh: --set: 'X;touch injected;Y' is not a conf variable (one of NPZ_TRAIN_OPTS"
	[ ! -e "$T/injected" ]
	run collection.sh --data "$X/da ta" --out "$T/o" --set 'PATH=/nowhere' tile:xla
	assert_failure 2
	assert_output --partial "'PATH' is not a conf variable"
	run collection.sh --data "$X/da ta" --out "$T/o" --set 'TRAIN_OPTS' tile:xla
	assert_failure 2
	assert_output --partial "is not KEY=VALUE"
	# a value with shell syntax in it is words of options, never run: npz2mp refuses them
	run collection.sh --data "$X/da ta" --out "$T/o" --ingest-only --set 'NPZ_EVAL_OPTS=$(touch injected2)' tile:xla
	assert_failure
	[ ! -e "$T/injected2" ]
	[ ! -e "$T/o/tile_xla/main/data/valid.mp" ]
}

@test "collection.sh: progress lines of the training, with its ETA, on stderr only" {
	# every round when they are PROGRESS_EVERY=0 s apart
	PROGRESS_EVERY=0 run --separate-stderr collection.sh --data "$X/da ta" --out "$T/o" --set "$QUICK" \
		--tag t1 tile:xla
	assert_success
	n=$(wc -l < "$T/o/tile_xla/t1/train-log.jsonl")
	[ "$n" -eq 3 ]
	p=$(printf '%s\n' "$stderr" | grep -c '^collection.sh: tile:xla (t1): train epoch [0-9]*/3  loss [0-9.e+-]*  valid top-5 score .*  [0-9.]* s  ETA [0-9]* s$')
	[ "$p" -eq "$n" ]
	[[ $output != *"train epoch"* ]]
	# by default the first, the last, and one every 10 s between: 40 short
	# epochs show fewer lines than rounds, the first and the last among them
	run --separate-stderr collection.sh --data "$X/da ta" --out "$T/o" --tag t2 \
		--set 'TRAIN_OPTS=--epochs 40 --valid-every 1 --hidden 8 --layers 1 --configs-per-graph 8' tile:xla
	assert_success
	[ "$(wc -l < "$T/o/tile_xla/t2/train-log.jsonl")" -eq 40 ]
	lines=$(printf '%s\n' "$stderr" | grep 'train epoch')
	printf '%s\n' "$lines"
	p=$(printf '%s\n' "$lines" | wc -l)
	[ "$p" -ge 2 ] && [ "$p" -lt 40 ]
	[[ $(printf '%s\n' "$lines" | head -1) == *"train epoch 1/40 "* ]]
	[[ $(printf '%s\n' "$lines" | tail -1) == *"train epoch 40/40 "*"ETA 0 s" ]]
}
