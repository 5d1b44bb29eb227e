#!/usr/bin/env bats
# The edges a user touches (issue 17): named outputs (--csv, --out, --log,
# --ranks ...) accept '-' and never replace a link, device or fifo; sage-train
# checks its outputs before it trains; a reader that goes away (| head) ends
# a filter quietly; empty input says so; a binary stream is not written to a
# terminal without -f / --force-tty.

load helper

Q=(--hidden 8 --layers 2 --op-dim 4 --cfg-dim 2 --se-dim 4 --configs-per-graph 16
   --threads 1 --epochs 2 -q)

setup_file() {
	local D="$BATS_FILE_TMPDIR"
	tpugen --out "$D/tg" --scale tiny --collections layout:xla:random,tile:xla >/dev/null
	npz2mp -q "$D/tg/npz/tile/xla/train" > "$D/t.mp"
	npz2mp -q "$D/tg/npz/layout/xla/random/train" > "$D/l.mp"
	encode-base7 "$D/l.mp" > "$D/l7.mp"
	sage-train "${Q[@]}" --out "$D/m.mp" "$D/t.mp" 2>/dev/null
	sage-predict --model "$D/m.mp" "$D/t.mp" > "$D/pred.mp"
}

setup() {
	D="$BATS_FILE_TMPDIR"
	T="$BATS_TEST_TMPDIR"
}

# LINK -> fifo, a reader on the fifo into $T/got; after the command under
# test, unblock_reader lets the reader finish whatever the command did (an
# O_RDWR open of a fifo never blocks and counts as a writer).
fifo_link() {
	mkfifo "$T/fifo"
	ln -s fifo "$T/link"
	cat "$T/fifo" > "$T/got" &
	READER=$!
}
unblock_reader() {
	local fd
	exec {fd}<>"$T/fifo"
	exec {fd}>&-
	wait "$READER"
}

# ---- named outputs ----

@test "rank-ensemble --csv LINK-to-fifo writes through the fifo, the link stays" {
	fifo_link
	run rank-ensemble --csv "$T/link" "$D/pred.mp"
	unblock_reader
	assert_success
	[ -L "$T/link" ]
	[ -p "$T/fifo" ]
	[ "$(head -n 1 "$T/got")" = "ID,TopConfigs" ]
	[ "$(wc -l < "$T/got")" -eq 4 ]   # the header and the 3 tile graphs
}

@test "rank-ensemble --csv and -o LINK-to-/dev/null: the link stays, /dev/null too" {
	ln -s /dev/null "$T/null"
	run rank-ensemble --csv "$T/null" -o "$T/null" "$D/pred.mp"
	assert_success
	[ -L "$T/null" ]
	[ "$(readlink "$T/null")" = /dev/null ]
	[ -c /dev/null ]
	[ -z "$(ls "$T" | grep tmp)" ]
}

@test "rank-ensemble --csv /dev/stdout writes to stdout; /dev/stdout is still a link" {
	rank-ensemble --csv /dev/stdout "$D/pred.mp" > "$T/out.csv"
	[ -L /dev/stdout ]
	[ "$(head -n 1 "$T/out.csv")" = "ID,TopConfigs" ]
	[ "$(wc -l < "$T/out.csv")" -eq 4 ]
}

@test "rank-ensemble --csv -: the CSV on stdout; two outputs on stdout is a usage error" {
	rank-ensemble --csv "$T/file.csv" "$D/pred.mp"
	run --separate-stderr rank-ensemble --csv - "$D/pred.mp"
	assert_success
	[ "$output" = "$(cat "$T/file.csv")" ]
	run rank-ensemble --csv - -o - "$D/pred.mp"
	assert_failure 2
	assert_output --partial "can go to stdout"
}

@test "rank-ensemble --csv LINK-to-a-file rewrites the file, the link stays" {
	echo old > "$T/real.csv"
	ln -s real.csv "$T/link.csv"
	run rank-ensemble --csv "$T/link.csv" "$D/pred.mp"
	assert_success
	[ -L "$T/link.csv" ]
	[ "$(head -n 1 "$T/real.csv")" = "ID,TopConfigs" ]
	[ "$(wc -l < "$T/real.csv")" -eq 4 ]
}

@test "rank-ensemble: an output in a missing directory fails (3) before reading" {
	run rank-ensemble --csv "$T/no/such.csv" "$D/pred.mp"
	assert_failure 3
	assert_output "rank-ensemble: $T/no/such.csv: cannot create a file there: No such file or directory"
}

@test "sage-train --out LINK-to-fifo writes the model through; --log - goes to stdout" {
	fifo_link
	run --separate-stderr sage-train "${Q[@]}" --out "$T/link" --log - "$D/t.mp"
	unblock_reader
	assert_success
	[ -L "$T/link" ]
	[ -p "$T/fifo" ]
	[ "$(printf '%s\n' "$output" | grep -c '"round"')" -eq 2 ]   # one line per epoch
	run sage-predict --model "$T/got" "$D/t.mp"
	assert_success
}

@test "sage-train --out -: the model on stdout, the log in its file" {
	sage-train "${Q[@]}" --out - --log "$T/log" "$D/t.mp" > "$T/m.mp"
	[ "$(wc -l < "$T/log")" -eq 2 ]
	run sage-predict --model "$T/m.mp" "$D/t.mp"
	assert_success
	run sage-train "${Q[@]}" --out - --log - "$D/t.mp"
	assert_failure 2
	run sage-train "${Q[@]}" --out "$T/m2" --checkpoint - "$D/t.mp"
	assert_failure 2
	assert_output --partial "--checkpoint needs a file name"
}

@test "sage-train: a model, checkpoint or log it cannot write fails (3) before training" {
	run --separate-stderr sage-train "${Q[@]}" --out /nonexistent/dir/m.mp "$D/t.mp"
	assert_failure 3
	[ "$stderr" = "sage-train: /nonexistent/dir/m.mp: cannot create a file there: No such file or directory" ]
	run sage-train "${Q[@]}" --out "$T/m" --checkpoint "$T/no/ck" "$D/t.mp"
	assert_failure 3
	assert_output "sage-train: $T/no/ck: cannot create a file there: No such file or directory"
	run sage-train "${Q[@]}" --out "$T/m" --log "$D/t.mp/log" "$D/t.mp"
	assert_failure 3
	assert_output "sage-train: $D/t.mp/log: cannot create a file there: Not a directory"
	run sage-train "${Q[@]}" --out "$T" "$D/t.mp"
	assert_failure 3
	assert_output "sage-train: $T: is a directory"
	# before reading: a training stream that would fail (1) is not reached
	run sage-train "${Q[@]}" --out "$T/no/m" /nonexistent.mp
	assert_failure 3
	assert_output --partial "$T/no/m: cannot create"
	[ ! -e "$T/m" ]
}

@test "rank-eval --ranks - and --ranks LINK-to-fifo" {
	rank-eval --truth "$D/t.mp" --ranks "$T/r.tsv" "$D/pred.mp" > "$T/table"
	run --separate-stderr rank-eval --truth "$D/t.mp" --ranks - "$D/pred.mp"
	assert_success
	[ "$output" = "$(cat "$T/r.tsv" "$T/table")" ]
	fifo_link
	run rank-eval --truth "$D/t.mp" --ranks "$T/link" "$D/pred.mp"
	unblock_reader
	assert_success
	[ -L "$T/link" ]
	cmp "$T/got" "$T/r.tsv"
}

# ---- a reader that goes away ----

@test "npz2mp DIR | head: quiet, exit 141 (as if killed by SIGPIPE), not a write error" {
	runp "npz2mp -q '$D/tg/npz/layout/xla/random/train' 2>'$T/err' | head -c 10 >/dev/null"
	assert_failure 141
	[ ! -s "$T/err" ] || { cat "$T/err"; return 1; }
}

@test "prune-hop, mp-cat, encode-base7 | head: quiet, exit 141" {
	for c in "prune-hop -k 100 $D/l.mp" "mp-cat $D/l.mp" "encode-base7 -d $D/l7.mp"; do
		$c | wc -c > "$T/n"
		[ "$(cat "$T/n")" -gt 131072 ] || { echo "$c: $(cat "$T/n") bytes fit a pipe"; return 1; }
		runp "$c 2>'$T/err' | head -c 10 >/dev/null"
		[ "$status" -eq 141 ] || { echo "$c: exit $status"; cat "$T/err"; return 1; }
		[ ! -s "$T/err" ] || { echo "$c:"; cat "$T/err"; return 1; }
	done
}

# ---- empty input ----

@test "empty input is 'empty input' (1), not a truncated stream" {
	for f in prune-hop mp-cat encode-base7 dijkstra-compress; do
		run --separate-stderr "$f" < /dev/null
		[ "$status" -eq 1 ] || { echo "$f: exit $status"; return 1; }
		[ "$stderr" = "$f: stdin: empty input (no header record)" ] ||
			{ echo "$f: $stderr"; return 1; }
		[ -z "$output" ]
	done
	: > "$T/empty.mp"
	run sage-predict --model "$D/m.mp" "$T/empty.mp"
	assert_failure 1
	assert_output "sage-predict: $T/empty.mp: empty input (no header record)"
}

# ---- a terminal ----

# run CMD with its stdout on a pseudo-terminal (util-linux script)
on_tty() {
	command -v script >/dev/null || skip "script (util-linux) not installed"
	run script -qec "$1" /dev/null
}

@test "a binary stream is not written to a terminal (2) unless -f / --force-tty" {
	for c in "npz2mp /nonexistent" "prune-hop /nonexistent" "dijkstra-compress /nonexistent" \
		 "hlo2mp /nonexistent.pb" "mp-cat /nonexistent" "encode-base7 /nonexistent" \
		 "rank-ensemble /nonexistent" "rank-ensemble -o - --csv $T/x.csv /nonexistent"; do
		on_tty "$c"
		[ "$status" -eq 2 ] || { echo "$c: exit $status: $output"; return 1; }
		f=${c%% *}
		[[ "$output" == "$f: refusing to write a binary stream to a terminal (use "* ]] ||
			{ echo "$c: $output"; return 1; }
	done
	on_tty "sage-train --out - $D/t.mp"
	assert_failure 2
	assert_output --partial "sage-train: refusing to write a binary stream to a terminal (use --force-tty"
}

@test "-f / --force-tty write the stream to a terminal; a file or pipe needs neither" {
	for c in "prune-hop -f $D/t.mp" "mp-cat --force $D/t.mp" "encode-base7 --force-tty $D/t.mp" \
		 "npz2mp -q -f $D/tg/npz/tile/xla/train" "rank-ensemble --force-tty $D/pred.mp"; do
		on_tty "$c"
		[ "$status" -eq 0 ] || { echo "$c: exit $status"; return 1; }
	done
	on_tty "sage-train ${Q[*]} --force-tty --out - $D/t.mp"
	assert_success
	on_tty "prune-hop $D/t.mp > $T/p.mp"
	assert_success
	run mp-dump --count "$T/p.mp"
	assert_success
}

@test "sage-predict: no pred stream to a terminal unless --force" {
	sage-train "${Q[@]}" -q --out "$T/m.mp" "$D/t.mp"
	on_tty "sage-predict --model $T/m.mp $D/t.mp"
	assert_failure 2
	assert_output --partial "sage-predict: refusing to write a binary stream to a terminal (use --force"
	on_tty "sage-predict --force --model $T/m.mp $D/t.mp"
	assert_success
}
