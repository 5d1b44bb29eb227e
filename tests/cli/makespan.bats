#!/usr/bin/env bats
# bench/makespan.sh: the makespan on N hosts from a GNU parallel joblog,
# against schedules worked out by hand.

load helper

MS="$ROOT/bench/makespan.sh"

setup() {
	T="$BATS_TEST_TMPDIR"
	# five jobs of 5, 4, 3, 2 and 1 s, in that order; job 3 failed once
	# (ssh's 255) and succeeded in a --resume-failed rerun
	printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n' > "$T/joblog"
	local r
	for r in "1 5 0 a" "2 4 0 b" "3 0.5 255 c" "4 2 0 d" "5 1 0 e" "3 3 0 c"; do
		# shellcheck disable=SC2086
		set -- $r
		printf '%s\tnode%s\t0\t%s\t0\t0\t%s\t0\tcollection.sh --tag seed1 %s\n' "$1" "$1" "$2" "$3" "$4" >> "$T/joblog"
	done
}

@test "makespan.sh: jobs in Seq order, each to the first slot that frees up" {
	run "$MS" -n "1 2 3 8" "$T/joblog"
	assert_success
	assert_line "5 jobs, 15 s in all; the longest 5 s (a)"
	# 1 host: the sum; 2: a | b c -> 5 | 7, d to the first (7), e -> 8;
	# 3: a | b | c, d after c (5), e after b (5); 8: the longest job
	assert_line --regexp '^1 +1 +15 +5 +15  e$'
	assert_line --regexp '^2 +1 +8 +5 +8  e$'
	assert_line --regexp '^3 +1 +5 +5 +5  a$'
	assert_line --regexp '^8 +1 +5 +5 +2  a$'
	# 2 slots per host: 2 hosts are 4 slots
	run "$MS" -s 2 -n "2" "$T/joblog"
	assert_line --regexp '^2 +2 +5 +5 +4  a$'
}

@test "makespan.sh: a job that never succeeded is left out with a warning; usage errors" {
	head -n 4 "$T/joblog" > "$T/failed"   # job 3 only failed
	run "$MS" -n 1 "$T/failed"
	assert_success
	assert_output --partial "job 3 (c) never succeeded: left out"
	assert_line "2 jobs, 9 s in all; the longest 5 s (a)"
	run "$MS"
	assert_failure 2
	run "$MS" -s 0 "$T/joblog"
	assert_failure 2
	run "$MS" "$T/nope"
	assert_failure 3
}

@test "makespan.sh: a budgeted all.sh run's jobs (next-model.sh) are named by their job number" {
	printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n' > "$T/budget"
	local j
	for j in "1 7" "2 4" "3 2"; do
		# shellcheck disable=SC2086
		set -- $j
		printf '%s\t:\t0\t%s\t0\t0\t0\t0\t/x/next-model.sh --queue q --job %s --until 9 -- /x/collection.sh --data d --profile\n' \
			"$1" "$2" "$1" >> "$T/budget"
	done
	run "$MS" -n "1 2" "$T/budget"
	assert_success
	assert_line "3 jobs, 13 s in all; the longest 7 s (job 1)"
	assert_line --regexp '^1 +1 +13 +7 +13  job 3$'
	assert_line --regexp '^2 +1 +7 +7 +6  job 1$'
	refute_output --partial -- "--profile"
}

@test "makespan.sh: the jobs start in Seq order, though the joblog lists them as they ended" {
	# job 1 (9 s) ended last, so its line is the last: parallel started it
	# first, on 2 hosts 1 | 2 3 -> 9 (in the lines' order: 2 | 3, 1 after 2 -> 11)
	printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n' > "$T/ended"
	local r
	for r in "2 2 b" "3 3 c" "1 9 a"; do
		# shellcheck disable=SC2086
		set -- $r
		printf '%s\t:\t0\t%s\t0\t0\t0\t0\tcollection.sh --tag seed1 %s\n' "$1" "$2" "$3" >> "$T/ended"
	done
	run "$MS" -n "1 2" "$T/ended"
	assert_success
	assert_line --regexp '^1 +1 +14 +9 +14  c$'
	assert_line --regexp '^2 +1 +9 +9 +7  a$'
}
