#!/usr/bin/env bats
# The fuzz harnesses of tests/fuzz as regression tests: each is built with
# the project's compiler as a plain program (tests/fuzz/replay.c supplies
# main) against $BUILD/libtpu.a — with ASan/UBSan under `make test-asan` —
# and replays its whole committed corpus, tests/fuzz/corpus/NAME, which
# holds the seeds and every input that once crashed a reader (regress-*).

load helper

setup_file() {
	export RB="$BATS_FILE_TMPDIR/replay"
	bash "$ROOT/tests/fuzz/build-replay.sh" "$ROOT/${BUILD:-build}" "$RB" >&2
}

replay() {
	local name=$1 dir="$ROOT/tests/fuzz/corpus/$1" n
	n=$(find "$dir" -maxdepth 1 -type f | wc -l)
	[ "$n" -gt 0 ] || { echo "no corpus in $dir"; return 1; }
	run --separate-stderr "$RB/replay-$name" "$dir"
	[ "$status" -eq 0 ] || { echo "replay-$name: exit $status: $(printf '%s' "$stderr" | tail -c 3000)"; return 1; }
	assert_output "replay-$name: $n inputs"
}

@test "fuzz-replay: every harness has a corpus and a replay program" {
	for src in "$ROOT"/tests/fuzz/fuzz_*.c; do
		name=$(basename "$src" .c); name=${name#fuzz_}
		[ -x "$RB/replay-$name" ] || { echo "replay-$name not built"; return 1; }
		[ -d "$ROOT/tests/fuzz/corpus/$name" ] || { echo "no corpus for $name"; return 1; }
	done
}

@test "fuzz-replay: npz (zip + .npy reader)" { replay npz; }
@test "fuzz-replay: npy (.npy header parser)" { replay npy; }
@test "fuzz-replay: record (rec_unpack, every record type)" { replay record; }
@test "fuzz-replay: stream (sr_read over a file)" { replay stream; }
@test "fuzz-replay: csv (Kaggle submission reader)" { replay csv; }
@test "fuzz-replay: hlo (HLO tuning protobuf reader)" { replay hlo; }

@test "fuzz-replay: regression inputs exist for the bugs fixed (docs/robustness.md)" {
	for f in npy/regress-shape-strtoll-overread npz/regress-open-leak-key \
		 npz/regress-npy-header-short-memcpy-1 stream/regress-huge-array-header \
		 stream/regress-deep-nesting stream/regress-get-i-float-overflow \
		 stream/regress-array-then-c1 stream/regress-empty-string-memcpy-null \
		 stream/regress-empty-string-memchr-null \
		 record/regress-huge-array-header record/regress-array-then-c1 \
		 record/regress-huge-nested-maps; do
		[ -s "$ROOT/tests/fuzz/corpus/$f" ] || { echo "missing $f"; return 1; }
	done
}

@test "fuzz-replay: a missing input is an error (3), a broken invariant aborts" {
	run "$RB/replay-npy" "$BATS_TEST_TMPDIR/nope"
	assert_failure 3
	assert_output --partial "nope: No such file or directory"
	run "$RB/replay-npy"
	assert_failure 2
	mkdir -p "$BATS_TEST_TMPDIR/empty"
	run "$RB/replay-npy" "$BATS_TEST_TMPDIR/empty"
	assert_success
	assert_output "replay-npy: 0 inputs"
	# a failed FUZZ_CHECK aborts: the status is non-zero, the check named
	REPLAY_SELFTEST=1 run "$RB/replay-npy" "$BATS_TEST_TMPDIR/empty"
	[ "$status" -ne 0 ]
	assert_output --partial "invariant failed"
}
