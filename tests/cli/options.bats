#!/usr/bin/env bats
# docs/options.md, the table of common options, against the programs:
# getopt's own messages name the program as ours do, every program listed
# for an option prints that spelling in --help, and the common options
# behave alike wherever they are.

load helper

PROGS="dijkstra-compress encode-base7 hlo2mp mp-cat mp-dump npz2mp prune-hop
rank-ensemble rank-eval sage-predict sage-train tpugen"
DOC="$ROOT/docs/options.md"

# The rows of the common-options table: "SHORT<TAB>LONG<TAB>PROGRAMS<TAB>LONG-ONLY"
# (the table between <!-- options-table --> and the next blank line).
table_rows() {
	sed -n '/<!-- options-table -->/,/^$/p' "$DOC" | grep '^| *`' |
	awk -F'|' '{ for (i = 2; i <= 6; i++) { gsub(/[` ]/, "", $i) } ;
		print $2 "\t" $3 "\t" $5 "\t" $6 }'
}

@test "options: getopt's messages name the program, not its path" {
	local p
	for p in $PROGS; do
		run "$BIN/$p" --bogus-option
		assert_failure 2
		[[ "$output" == "$p: "* ]] || { echo "$p: $output"; return 1; }
		refute_output --partial "$BIN"
		run "$BIN/$p" -Z
		assert_failure 2
		[[ "$output" == "$p: "* ]] || { echo "$p: $output"; return 1; }
	done
}

# One usage idiom (lib/err.h, usage_*): --help prints the synopsis and the
# help on stdout, nothing on stderr; a usage error prints nothing on stdout
# and, on stderr, "NAME: what is wrong" and then the synopsis, the first
# line of --help, and exits 2.  A bad option value (--threads x, a bad
# --seed, ...) is a usage error like any other.
@test "options: one usage idiom: --help on stdout; a usage error is the message, then the synopsis, on stderr, exit 2" {
	local p synopsis
	for p in $PROGS; do
		run --separate-stderr "$BIN/$p" --help
		assert_success
		[ -z "$stderr" ] || { echo "$p --help wrote to stderr: $stderr"; return 1; }
		synopsis=${lines[0]}
		[[ "$synopsis" == "usage: $p "* ]] || { echo "$p: first line '$synopsis'"; return 1; }
		for bad in --bogus-option "--threads x" "--seed -"; do
			# shellcheck disable=SC2086
			run --separate-stderr "$BIN/$p" $bad
			[ "$status" -eq 2 ] || { echo "$p $bad: exit $status"; return 1; }
			[ -z "$output" ] || { echo "$p $bad: stdout '$output'"; return 1; }
			[[ "${stderr_lines[0]}" == "$p: "* ]] ||
				{ echo "$p $bad: first stderr line '${stderr_lines[0]}'"; return 1; }
			[[ "$stderr" == *"$synopsis"* ]] ||
				{ echo "$p $bad: no synopsis on stderr: $stderr"; return 1; }
		done
	done
}

@test "options: docs/options.md's table lists every program's spelling in --help" {
	local short long progs lonly p n=0
	[ -f "$DOC" ]
	while IFS=$'\t' read -r short long progs lonly; do
		long=${long%%[A-Z]*}	# "--threadsN" -> "--threads"
		n=$((n + 1))
		[ "$progs" = all ] && progs=$(echo $PROGS | tr ' ' ,)
		for p in ${progs//,/ }; do
			[ "$p" = - ] && continue
			"$BIN/$p" --help | grep -qE -- "^ +$short, $long( |,|$)" ||
				{ echo "$p --help lacks '$short, $long'"; return 1; }
		done
		for p in ${lonly//,/ }; do
			[ "$p" = - ] && continue
			"$BIN/$p" --help | grep -qE -- "^ +$long( |,|$)" ||
				{ echo "$p --help lacks '$long' (long only)"; return 1; }
		done
	done < <(table_rows)
	[ "$n" -ge 8 ] || { echo "only $n rows parsed"; return 1; }
}

@test "options: -h/--help and -V/--version behave alike everywhere" {
	local p
	for p in $PROGS; do
		for o in -h --help; do
			run --separate-stderr "$BIN/$p" $o
			assert_success
			[[ "$output" == *"usage: $p"* ]] || { echo "$p $o: no usage line"; return 1; }
		done
		for o in -V --version; do
			run --separate-stderr "$BIN/$p" $o
			assert_success
			assert_output "$p 0.1.0"
		done
	done
}

# the programs whose --help lists LONG, as "-S, LONG" or "LONG"
having() { local p; for p in $PROGS; do "$BIN/$p" --help | grep -qE -- "^ +(-[a-zA-Z], )?$1( |,|$)" && echo "$p"; done; }

@test "options: --threads and --seed take a number, a bad one is exit 2 with the program's name" {
	local p o
	for o in --threads --seed; do
		for p in $(having $o); do
			run "$BIN/$p" $o x
			assert_failure 2
			assert_output --partial "$p: $o: bad value 'x'"
			run "$BIN/$p" $o -1
			assert_failure 2
			assert_output --partial "$p: $o: bad value '-1'"
		done
	done
	[ "$(having --threads | wc -l)" -ge 3 ]
	[ "$(having --seed | wc -l)" -ge 3 ]
}

@test "options: -q/--quiet takes no value" {
	local p
	for p in $(having --quiet); do
		run "$BIN/$p" --quiet=1
		assert_failure 2
		[[ "$output" == "$p: "* ]] || { echo "$p: $output"; return 1; }
	done
}

@test "options: tpugen --threads, with --jobs and -j kept; -s is --seed, -S kept" {
	tpugen --out "$BATS_TEST_TMPDIR/a" --scale tiny --collections tile:xla --limit 2 -t 1 -s 3
	tpugen --out "$BATS_TEST_TMPDIR/b" --scale tiny --collections tile:xla --limit 2 --jobs 2 -S 3
	tpugen --out "$BATS_TEST_TMPDIR/c" --scale tiny --collections tile:xla --limit 2 -j 1 --seed 3
	diff -r "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	diff -r "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/c"
	run tpugen --out "$BATS_TEST_TMPDIR/d" --jobs 0
	assert_failure 2
	assert_output --partial "tpugen: --threads: bad value '0'"
	run tpugen --out "$BATS_TEST_TMPDIR/d" -s small
	assert_failure 2
	assert_output --partial "tpugen: --seed: bad value 'small'"
}

@test "options: sage-train's --valid has no short -v (docs/options.md)" {
	run sage-train --out "$BATS_TEST_TMPDIR/m" -v /dev/null
	assert_failure 2
	assert_output --partial "sage-train: "
}

@test "options: rank-ensemble --out is --output" {
	rank-ensemble --help | grep -qE -- '-o, --out, --output FILE'
}
