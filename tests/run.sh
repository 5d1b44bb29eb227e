#!/usr/bin/env bash
# Run every suite (C unit tests, then the bats suites) and print one summary
# line "N passed, N failed" (", N skipped" when some skipped).  Exit 1 on any
# failure.  SUITES=unit|cli|all (default all); BATS_FILES to narrow the cli run.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BINDIR=${BINDIR:-bin}
SUITES=${SUITES:-all}
case $BINDIR in /*) export TPU_BIN="$BINDIR" ;; *) export TPU_BIN="$PWD/$BINDIR" ;; esac
pass=0 fail=0 skip=0

if [ "$SUITES" = all ] || [ "$SUITES" = unit ]; then
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		out=$("$t" 2>&1); rc=$?
		line=$(printf '%s\n' "$out" | grep -E '^[A-Za-z0-9_]+: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
		if [ -z "$line" ]; then
			printf '%s\n' "$out"
			echo "unit $(basename "$t"): no summary line (exit $rc)"
			fail=$((fail + 1)); continue
		fi
		p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/')
		f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/')
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
		[ "$f" -ne 0 ] && printf '%s\n' "$out"
		echo "unit $line"
		pass=$((pass + p)); fail=$((fail + f))
	done
fi

if [ "$SUITES" = all ] || [ "$SUITES" = cli ]; then
	files=${BATS_FILES:-$(ls tests/cli/*.bats 2>/dev/null)}
	if [ -n "$files" ]; then
		jobs=()
		if command -v parallel >/dev/null 2>&1; then jobs=(--jobs "${BATS_JOBS:-2}"); fi
		tap=$(mktemp)
		# shellcheck disable=SC2086
		bats --tap "${jobs[@]}" $files >"$tap" 2>&1
		cat "$tap"
		s=$(grep -cE '^ok [0-9]+ .*# ?skip' "$tap")
		p=$(grep -cE '^ok [0-9]+' "$tap")
		f=$(grep -cE '^not ok [0-9]+' "$tap")
		p=$((p - s))
		# bats itself failing (syntax error in a file) without a "not ok"
		if ! grep -qE '^1\.\.[0-9]+' "$tap"; then f=$((f + 1)); fi
		rm -f "$tap"
		echo "cli: $p passed, $f failed, $s skipped"
		pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	fi
fi

if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
