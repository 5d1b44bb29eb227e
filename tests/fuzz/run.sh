#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS NAME...: run each libFuzzer harness
# build-fuzz/fuzz-NAME for SECONDS seconds (make fuzz / make fuzz-smoke).
#
# The working corpus is build-fuzz/corpus/NAME (not committed), seeded from
# the committed tests/fuzz/corpus/NAME; crashes land in build-fuzz/ as
# crash-NAME-*, the log in build-fuzz/NAME.log.  With FUZZ_MERGE=1 the new
# inputs that add coverage are merged (minimised) into the committed seed
# corpus afterwards.  Prints one line per harness (runs, coverage, corpus)
# and exits 1 if any harness found a crash, leak, timeout or OOM.
set -u
cd "$(dirname "$0")/../.."
secs=${1:?seconds}; shift
dir=build-fuzz
fail=0
for name in "$@"; do
	bin=$dir/fuzz-$name
	seeds=tests/fuzz/corpus/$name
	work=$dir/corpus/$name
	mkdir -p "$work" "$seeds"
	case $name in
		npy|csv) maxlen=4096;;
		npz) maxlen=131072;;
		*) maxlen=65536;;
	esac
	dict=()
	[ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
	log=$dir/$name.log
	nice "$bin" -max_total_time="$secs" -max_len=$maxlen -timeout=10 \
		-rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
		-artifact_prefix="$dir/crash-$name-" "${dict[@]}" "$work" "$seeds" >"$log" 2>&1
	rc=$?
	runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
	nwork=$(find "$work" -type f | wc -l)
	if [ "$rc" -ne 0 ]; then
		fail=1
		echo "fuzz $name: FAILED (exit $rc) after ${runs:-?} runs; see $log"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant failed|.*fuzz target exited|artifact_prefix|Test unit written)' "$log" | head -n 8
	else
		echo "fuzz $name: ok, ${runs:-?} runs in ${secs}s, ${cov:-cov: ?}, corpus $nwork inputs"
	fi
	if [ "${FUZZ_MERGE:-0}" = 1 ] && [ "$rc" -eq 0 ]; then
		nice "$bin" -merge=1 -max_len=$maxlen -timeout=10 -rss_limit_mb=2048 \
			-malloc_limit_mb=1024 "$seeds" "$work" >>"$log" 2>&1 ||
			echo "fuzz $name: merge failed; see $log"
		echo "fuzz $name: seed corpus now $(find "$seeds" -type f | wc -l) files, $(du -sk "$seeds" | cut -f1) KiB"
	fi
done
exit $fail
