#!/usr/bin/env bats
# README.md: the command blocks marked "<!-- readme-test: NAME -->" run as
# written from the top of a checkout after `make demo`: here a scratch
# directory with bin/ (the built filters), pipelines/, and tpugen tiny data
# where make demo writes the small dataset, so that the blocks run quickly.

load helper

setup() {
	# (no space in it: collection.sh does not yet quote --data and --out
	# inside its chains)
	T="$BATS_TEST_TMPDIR/top"
	mkdir -p "$T"
	ln -s "$BIN" "$T/bin"
	ln -s "$ROOT/pipelines" "$T/pipelines"
	tpugen --out "$T/data/tpugen-small" --scale tiny --seed 3 >/dev/null 2>&1
}

# the indented block after the marker line, its indent removed
block() {
	awk -v m="<!-- readme-test: $1 -->" '
		$0 == m { on = 1; next }
		on && /^(    |\t)/ { sub(/^(    |\t)/, ""); print; seen = 1; next }
		on && seen { exit }
		on && /^$/ { next }
		on { exit }' "$ROOT/README.md"
}

@test "README: the marked blocks are there" {
	[ -n "$(block chain)" ]
	[ -n "$(block predict)" ]
}

@test "README: the typical chain runs as written after make demo" {
	need_py numpy
	block chain > "$T/chain.sh"
	grep -q 'rank-eval' "$T/chain.sh"
	cd "$T"
	# a clean PATH: bin/ is found because the block puts it there
	run env -u TPU_BIN PATH=/usr/bin:/bin bash -euo pipefail chain.sh
	assert_success
	assert_output --partial "overall score"
	[ -s "$T/out/chain/pred.mp" ]
}

@test "README: predict.sh runs as written on a run directory as make demo leaves it" {
	collection.sh --data "$T/data/tpugen-small" --out "$T/out/demo" --tag seed1 \
		--set 'TRAIN_OPTS=--epochs 1 --hidden 16 --layers 1 --configs-per-graph 16' \
		layout:xla:random >/dev/null 2>&1
	block predict > "$T/predict.sh"
	cd "$T"
	run --separate-stderr env -u TPU_BIN PATH=/usr/bin:/bin bash -euo pipefail predict.sh
	assert_success
	n=$(ls "$T"/data/tpugen-small/npz/layout/xla/random/test/*.npz | wc -l)
	[ "${#lines[@]}" -eq "$n" ]
	[[ ${lines[0]} == layout:xla:random:*$'\t'* ]]
}
