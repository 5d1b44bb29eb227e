#!/usr/bin/env bash
# bench.sh: what `make bench` runs: every stage's benchmark script under
# bench/, each writing its table to docs/bench/NAME.md (see docs/benchmarks.md).
set -uo pipefail
cd "$(dirname "$0")/.."
failed=0
for b in bench/*.sh; do
	case $b in bench/collect.sh|bench/lib.sh) continue ;; esac
	echo "== $b" >&2
	if ! bash "$b"; then
		echo "bench: $b failed" >&2
		failed=$((failed + 1))
	fi
done
bash bench/collect.sh
[ "$failed" -eq 0 ]
