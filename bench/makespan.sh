#!/usr/bin/env bash
# makespan.sh: the wall time of an all.sh run on 1, 2, 4, 8 ... hosts,
# computed from the measured times of its jobs (a GNU parallel joblog).
# usage: bench/makespan.sh [-s SLOTS] [-n "1 2 4 8"] JOBLOG...
#
# Each host runs SLOTS jobs at a time (default 1); the jobs are handed out
# as GNU parallel hands them out: in the order of their Seq numbers (the
# joblog's lines are in the order the jobs ended), each to the first slot
# that frees up.  A job's time is the joblog's JobRuntime; a job
# that failed counts with the time of its last successful run in a later
# JOBLOG (--resume-failed), or is left out with a warning.  The times are
# those of the host that ran each job: hosts of another speed scale them.
# A job of a budgeted all.sh run (next-model.sh) is named "job N": it
# picks its models as it runs (OUT/claims, OUT/plan.txt say which).
# Prints, per host count: the makespan, the lower bounds (the longest job;
# the total over the slots) and the job that ends last.
set -euo pipefail
SLOTS=1
HOSTS="1 2 4 8"
while [ $# -gt 0 ]; do
	case $1 in
	-s) SLOTS=$2; shift 2 ;;
	-n) HOSTS=$2; shift 2 ;;
	-h|--help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) echo "makespan.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || { echo "usage: makespan.sh [-s SLOTS] [-n \"1 2 4 8\"] JOBLOG..." >&2; exit 2; }
case $SLOTS in ''|*[!0-9]*|0) echo "makespan.sh: -s: '$SLOTS' is not a positive number" >&2; exit 2 ;; esac
for f in "$@"; do [ -r "$f" ] || { echo "makespan.sh: cannot read $f" >&2; exit 3; }; done
awk -F'\t' -v slots="$SLOTS" -v hosts="$HOSTS" '
	FNR == 1 { next }   # the header
	{
		seq = $1 + 0; t = $4 + 0; ok = ($7 + 0 == 0 && $8 + 0 == 0)
		n = split($9, w, " "); name = w[n]; gsub("\047", "", name)
		# a budgeted all.sh job (next-model.sh --job N -- collection.sh ...)
		# picks its models as it runs: its command names no collection
		if (match($9, /next-model\.sh .*--job [0-9]+/)) {
			name = substr($9, RSTART, RLENGTH); sub(/.*--job /, "job ", name)
		}
		if (!(seq in have)) { order[++nj] = seq; have[seq] = 1 }
		label[seq] = name
		if (ok) { dur[seq] = t; good[seq] = 1 }
	}
	END {
		# by Seq: the order parallel started them in (a joblog line is
		# written when its job ends)
		for (i = 2; i <= nj; i++)
			for (p = i; p > 1 && order[p - 1] > order[p]; p--) { x = order[p]; order[p] = order[p - 1]; order[p - 1] = x }
		for (i = 1; i <= nj; i++) {
			s = order[i]
			if (!good[s]) { printf "makespan.sh: job %d (%s) never succeeded: left out\n", s, label[s] > "/dev/stderr"; continue }
			j[++m] = s; total += dur[s]; if (dur[s] > longest) { longest = dur[s]; lj = label[s] }
		}
		printf "%d jobs, %.0f s in all; the longest %.0f s (%s)\n", m, total, longest, lj
		printf "%-6s %-6s %12s %12s %12s  %s\n", "hosts", "slots", "makespan s", "longest s", "total/slots", "ends last"
		nh = split(hosts, H, " ")
		for (h = 1; h <= nh; h++) {
			k = H[h] * slots
			for (q = 1; q <= k; q++) free[q] = 0
			end = 0; last = ""
			for (i = 1; i <= m; i++) {
				b = 1
				for (q = 2; q <= k; q++) if (free[q] < free[b]) b = q
				free[b] += dur[j[i]]
				if (free[b] > end) { end = free[b]; last = label[j[i]] }
			}
			lb = total / k
			printf "%-6d %-6d %12.0f %12.0f %12.0f  %s\n", H[h], slots, end, longest, lb, last
		}
	}' "$@"
