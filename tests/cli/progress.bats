#!/usr/bin/env bats
# Progress on a terminal (issue 17, lib/progress.h): npz2mp and sage-predict
# draw one status line on stderr, rewritten with \r, only when stderr is a
# terminal; `script` (util-linux) gives the command a pseudo-terminal.  The
# data stream is the same bytes with or without it, and stderr to a file
# gets nothing extra.

load helper

setup_file() {
	local D="$BATS_FILE_TMPDIR"
	command -v script >/dev/null || return 0
	tpugen --out "$D/tg" --scale tiny --collections tile:xla >/dev/null
	npz2mp -q "$D/tg/npz/tile/xla/train" > "$D/train.mp"
	npz2mp -q "$D/tg/npz/tile/xla/valid" > "$D/valid.mp"
	sage-train --hidden 8 --layers 2 --op-dim 4 --cfg-dim 2 --se-dim 4 \
		--configs-per-graph 16 --threads 1 -q --epochs 1 --out "$D/model.mp" "$D/train.mp"
}

setup() {
	D="$BATS_FILE_TMPDIR"
	T="$BATS_TEST_TMPDIR"
	if ! command -v script >/dev/null; then
		if [ "${CI:-}" = true ]; then
			echo "script (util-linux) missing under CI" >&2
			return 1
		fi
		skip "script (util-linux) not installed: no pseudo-terminal to test with"
	fi
}

# CMD with a pseudo-terminal as stderr (and stdin); what the terminal got in
# $T/tty, as it came (the pty writes \n as \r\n), and a \n of script's
# own: its "Script started" and "Script done" lines are cut
on_tty() {
	script -qec "$1" "$T/tty.raw" >/dev/null </dev/null
	local rc=$?
	sed '1d;$d' "$T/tty.raw" > "$T/tty"
	return $rc
}

@test "npz2mp: a status line on a terminal, the same stream as without one" {
	run on_tty "TPU_PROGRESS_DELAY=0 npz2mp '$FIX/npz/npz' > '$T/tty.mp'"
	assert_success
	grep -q $'\rnpz2mp: 0/9 files  0 B read  [0-9]* s' "$T/tty"
	grep -q $'\rnpz2mp: 8/9 files  [0-9.]* kB read  [0-9]* s  ETA [0-9]* s' "$T/tty"
	# the per-file lines still come, each after the status line was blanked
	grep -q $'\r *\rnpz2mp: \\[9/9\\] tile:xla:u8opcode: ' "$T/tty"
	# the last thing on the terminal is the last per-file line
	tail -n 2 "$T/tty" | head -n 1 | grep -q $'\r *\rnpz2mp: \\[9/9\\] .* configs\r$'
	npz2mp "$FIX/npz/npz" > "$T/plain.mp" 2>/dev/null
	cmp "$T/tty.mp" "$T/plain.mp"
}

@test "npz2mp -q: no status line on a terminal either" {
	run on_tty "TPU_PROGRESS_DELAY=0 npz2mp -q '$FIX/npz/npz' > '$T/tty.mp'"
	assert_success
	[ -z "$(cat "$T/tty")" ]
}

@test "npz2mp: no status line before TPU_PROGRESS_DELAY (default 1.5 s)" {
	run on_tty "npz2mp '$FIX/npz/npz' > '$T/tty.mp'"
	assert_success
	! grep -q 'files  ' "$T/tty"
	run on_tty "TPU_PROGRESS_DELAY=3600 npz2mp '$FIX/npz/npz' > '$T/tty.mp'"
	! grep -q 'files  ' "$T/tty"
	[ "$(grep -c '^npz2mp: \[' "$T/tty")" = 9 ]
}

@test "npz2mp: stderr to a file gets nothing extra" {
	TPU_PROGRESS_DELAY=0 npz2mp "$FIX/npz/npz" > "$T/a.mp" 2> "$T/err"
	! grep -q $'\r' "$T/err"
	! grep -q 'files  ' "$T/err"
	[ "$(wc -l < "$T/err")" = 9 ]
	[ "$(grep -c '^npz2mp: \[[1-9]/9\] ' "$T/err")" = 9 ]
}

@test "npz2mp: an error on a terminal blanks the status line first" {
	mkdir -p "$T/npz/tile/xla/train"
	cp "$FIX/npz/npz/tile/xla/train/stored.npz" "$T/npz/tile/xla/train/a.npz"
	head -c 300 "$FIX/npz/npz/tile/xla/train/stored.npz" > "$T/npz/tile/xla/train/b.npz"
	run on_tty "TPU_PROGRESS_DELAY=0 npz2mp '$T/npz' > '$T/tty.mp'"
	assert_failure 1
	grep -q $'\r *\rnpz2mp: .*b.npz' "$T/tty"
}

@test "sage-predict: a status line on a terminal, the same preds as without one" {
	run on_tty "TPU_PROGRESS_DELAY=0 sage-predict --model '$D/model.mp' '$D/valid.mp' > '$T/tty.mp'"
	assert_success
	# drawn at the first record (later ones within PROGRESS_EVERY are skipped)
	grep -q $'^\rsage-predict: 0 graphs  0 configs scored  0 s' "$T/tty"
	# blanked at the end: the terminal ends with spaces and a \r
	tail -n 1 "$T/tty" | grep -q $'\r  *\r$'
	sage-predict --model "$D/model.mp" "$D/valid.mp" > "$T/plain.mp" 2> "$T/err"
	cmp "$T/tty.mp" "$T/plain.mp"
	[ ! -s "$T/err" ]
}

@test "sage-predict: stderr to a file gets nothing extra" {
	TPU_PROGRESS_DELAY=0 sage-predict --model "$D/model.mp" "$D/valid.mp" > "$T/a.mp" 2> "$T/err"
	[ ! -s "$T/err" ]
	run on_tty "sage-predict --model '$D/model.mp' '$D/valid.mp' > '$T/tty.mp'"
	assert_success
	[ -z "$(cat "$T/tty")" ]   # and on a terminal nothing within the default delay
}

@test "the man pages and docs/pipelines.md document the status line and TPU_PROGRESS_DELAY" {
	for f in npz2mp sage-predict; do
		grep -q '^\.B TPU_PROGRESS_DELAY$' "$ROOT/docs/man/$f.1"
		grep -q 'status line' "$ROOT/docs/man/$f.1"
	done
	grep -q 'TPU_PROGRESS_DELAY' "$ROOT/docs/pipelines.md"
}
