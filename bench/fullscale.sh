#!/usr/bin/env bash
# fullscale.sh: pipelines/all.sh on a whole dataset (a tpugen --scale full
# tree, or the real download) with a time budget, every filter profiled:
# the wall time and the peak RSS of every stage per collection, the
# machine's memory in use at its highest (sampled every 5 s: the jobs that
# run at the same time together), the sizes of the ingested streams, the
# plan and the scores.
# usage: bench/fullscale.sh DATA WORKDIR [all.sh options...]
#   DATA      the dataset root (npz/)
#   WORKDIR   all.sh --out goes to WORKDIR/out; the report to
#             WORKDIR/report.txt (and stdout)
#   all.sh options: e.g. --budget 1h --collections ... (--profile and
#             --no-plots are given here); a run of a subset of the
#             collections can be resumed with --resume-failed
set -euo pipefail
PROG=fullscale.sh
cd "$(dirname "$0")/.."
ROOT=$PWD
[ $# -ge 2 ] || { echo "usage: bench/fullscale.sh DATA WORKDIR [all.sh options...]" >&2; exit 2; }
DATA=$1 W=$2
shift 2
[ -d "$DATA/npz" ] || { echo "$PROG: no dataset at $DATA" >&2; exit 2; }
mkdir -p "$W"
W=$(cd "$W" && pwd) DATA=$(cd "$DATA" && pwd)
make -s all >/dev/null
R=$W/report.txt
{
	echo "# bench/fullscale.sh on $(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "# data: $DATA ($(du -sh "$DATA/npz" | cut -f1), $(find "$DATA/npz" -name '*.npz' | wc -l) npz files)"
	echo "# pipelines/all.sh --data DATA --out WORKDIR/out --profile --no-plots $*"
} > "$R"
# the memory in use (MemTotal - MemAvailable), its highest, every 5 s
( peak=0
  while :; do
	used=$(awk '/MemTotal/ { t = $2 } /MemAvailable/ { a = $2 } END { print t - a }' /proc/meminfo)
	[ "$used" -gt "$peak" ] && { peak=$used; echo "$peak" > "$W/mem-peak-kb"; }
	sleep 5
  done ) &
sampler=$!
trap 'kill "$sampler" 2>/dev/null || true' EXIT
T0=$(date +%s)
set +e
"$ROOT/pipelines/all.sh" --data "$DATA" --out "$W/out" --profile --no-plots "$@" 2> "$W/run.err"
rc=$?
set -e
T1=$(date +%s)
{
	echo "all.sh: exit $rc in $(( T1 - T0 )) s; the machine's memory in use at its highest: $(awk '{ printf "%.1f GB", $1 / 1048576 }' "$W/mem-peak-kb" 2>/dev/null)"
	echo
	echo "## The plan (OUT/plan.txt)"
	cat "$W/out/plan.txt" 2>/dev/null || true
	echo
	echo "## The ingested streams (per collection: train, valid, test)"
	for d in "$W"/out/*/ingest/data; do
		[ -d "$d" ] || continue
		printf '  %-20s' "$(basename "$(dirname "$(dirname "$d")")")"
		for s in train valid test; do
			[ -f "$d/$s.mp" ] && printf ' %s %6s' "$s" "$(du -h "$d/$s.mp" | cut -f1)"
		done
		echo
	done
	echo
	echo "## Every filter (OUT/profile.txt)"
	cat "$W/out/profile.txt" 2>/dev/null || echo "(no profile: the run did not finish)"
	echo
	echo "## The models (what each trained: OUT/SLUG/TAG/train-log.jsonl, last line)"
	for f in "$W"/out/*/*/train-log.jsonl; do
		[ -f "$f" ] || continue
		printf '  %s: ' "${f#"$W/out/"}"
		/usr/bin/python3 -c 'import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
r = rs[-1]
print("%d rounds, step %s (epoch %s), best %s at round %s; %.0f s of rounds, %.0f of them training" % (
    r["round"], r["step"], r["epoch"], r["best"], r["best_round"],
    sum(x["seconds"] for x in rs), sum(x["train_seconds"] for x in rs)))' "$f" 2>/dev/null || echo
	done
	echo
	cat "$W/out/scores-valid.txt" 2>/dev/null || true
} >> "$R"
cat "$R"
exit "$rc"
