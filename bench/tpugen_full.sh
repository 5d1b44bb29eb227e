#!/usr/bin/env bash
# tpugen --scale full, the whole of it: wall time, CPU time, peak RSS, disk
# and file count; with OLD_BIN, the same for another build of tpugen, and
# whether the two trees are the same bytes (sha256 of every file).
# usage: bench/tpugen_full.sh [WORKDIR [OLD_BIN]]
#   WORKDIR  scratch directory (default: a new temporary one); it needs
#            about 6 GB per tree
#   OLD_BIN  another tpugen binary (e.g. a worktree's bin/tpugen at an
#            older commit), run after this checkout's
# Environment: SEED=1, THREADS (default: tpugen's, every core), SCALE=full
# (another scale checks the script in seconds), DEFLATE (this checkout's
# --deflate: isal or zlib; default tpugen's, isal when built with ISA-L;
# zlib to compare bytes with a build before --deflate, which has only zlib).
# Writes nothing outside WORKDIR; the report goes to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-$(mktemp -d)}
OLD=${2:-}
SEED=${SEED:-1}
SCALE=${SCALE:-full}
THREADS=${THREADS:-}
DEFLATE=${DEFLATE:-}
mkdir -p "$W"
make -s all >/dev/null
echo "# tpugen --scale $SCALE: $(date -u +%Y-%m-%d) on $(nproc) cores, $(uname -m)"
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "# bench/tpugen_full.sh $*"

full() { # name binary [options...]: one whole full-scale run
	local name=$1 bin=$2
	shift 2
	rm -rf "${W:?}/$name"
	/usr/bin/time -f '%e %U %S %M' -o "$W/$name.time" "$bin" --out "$W/$name" --scale "$SCALE" \
		--seed "$SEED" ${THREADS:+--threads "$THREADS"} "$@"
	read -r secs user sys kb < "$W/$name.time"
	printf '%-6s %7.1f s wall  %7.1f s CPU  %5d MB RSS  %6s  %5d npz files (%d in truth/)\n' \
		"$name" "$secs" "$(awk -v a="$user" -v b="$sys" 'BEGIN { print a + b }')" $((kb / 1024)) \
		"$(du -sh "$W/$name" | cut -f1)" "$(find "$W/$name/npz" -name '*.npz' | wc -l)" \
		"$(find "$W/$name/truth" -name '*.npz' | wc -l)"
}
sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }

echo "# this checkout's tpugen: --deflate ${DEFLATE:-(its default)}"
full new bin/tpugen ${DEFLATE:+--deflate "$DEFLATE"}
if [ -n "$OLD" ]; then
	full old "$OLD"
	if cmp -s <(sums "$W/new") <(sums "$W/old"); then
		echo "new and old: the same bytes ($(sums "$W/new" | wc -l) files)"
	else
		echo "new and old: the trees differ:"
		diff <(sums "$W/new") <(sums "$W/old") | head -20
	fi
fi
