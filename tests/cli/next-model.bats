#!/usr/bin/env bats
# pipelines/next-model.sh: the queue of a budgeted all.sh run.  No training
# here: the command each job runs is a stub that records its arguments.

load helper

setup() {
	T="$BATS_TEST_TMPDIR"
	# the stub: its arguments, one line per job, in $T/ran; exit code from
	# $T/exit when that exists
	printf '#!/bin/sh\necho "$*" >> "%s/ran"\n[ -f "%s/exit" ] && exit "$(cat "%s/exit")"\nexit 0\n' \
		"$T" "$T" "$T" > "$T/cmd"
	chmod +x "$T/cmd"
	printf '%s\t%s\t%s\t%s\t%s\n' \
		tile:xla seed1 1 "" plan \
		layout:xla:random seed1 1 "" plan \
		tile:xla seed2 2 "" more \
		layout:xla:random seed2 2 "" more \
		tile:xla seed3 3 "" more \
		layout:xla:random seed3 3 "" more > "$T/q"
}

# one job: next-model.sh with the stub as its command
job() { next-model.sh --queue "$T/q" --claims "$T/claims" "$@" -- "$T/cmd" --out x; }

@test "next-model.sh: --help, usage errors (2), a missing queue (3), a bad one (1)" {
	run next-model.sh --help
	assert_success
	assert_output --partial "usage: next-model.sh"
	run next-model.sh --claims "$T/c" -- true
	assert_failure 2
	assert_output --partial "--queue FILE is required"
	run next-model.sh --queue "$T/q" -- true
	assert_failure 2
	run next-model.sh --queue "$T/q" --claims "$T/c"
	assert_failure 2
	assert_output --partial "no COMMAND after --"
	run next-model.sh --queue "$T/q" --claims "$T/c" --by size -- true
	assert_failure 2
	assert_output --partial "--by: 'size' is not order or time"
	run next-model.sh --queue "$T/nope" --claims "$T/c" -- true
	assert_failure 3
	printf 'tile:xla\tseed1\t1\t\tlater\n' > "$T/bad"
	run next-model.sh --queue "$T/bad" --claims "$T/c" -- true
	assert_failure 1
	assert_output --partial "line 1: not COLLECTION TAG SEED ARCH plan|more"
	printf 'tile:xla\tseed1\n' > "$T/bad"
	run next-model.sh --queue "$T/bad" --claims "$T/c" -- true
	assert_failure 1
	# four columns: planned
	printf 'tile:xla\tseed1\t1\t\n' > "$T/four"
	run next-model.sh --queue "$T/four" --claims "$T/c4" -- true
	assert_success
	assert_output --partial "tile:xla: seed1"
}

@test "next-model.sh: the planned models first, then the others in the file's order (--by order); the command gets the model's options" {
	for i in 1 2 3 4 5 6; do job --by order --job "$i" 2>>"$T/log"; done
	run cat "$T/ran"
	assert_line --index 0 "--out x --tag seed1 --seed 1 --arch  tile:xla"
	assert_line --index 1 "--out x --tag seed1 --seed 1 --arch  layout:xla:random"
	assert_line --index 2 "--out x --tag seed2 --seed 2 --arch  tile:xla"
	assert_line --index 3 "--out x --tag seed2 --seed 2 --arch  layout:xla:random"
	assert_line --index 5 "--out x --tag seed3 --seed 3 --arch  layout:xla:random"
	run cat "$T/log"
	assert_line "next-model.sh: job 1: tile:xla: seed1"
	# each claim holds its start, exit code and seconds
	[ "$(cat "$T/claims/tile_xla/seed2/rc")" = 0 ]
	grep -qE '^[0-9]+\.[0-9]$' "$T/claims/tile_xla/seed2/seconds"
	grep -qE '^[0-9]{10}$' "$T/claims/tile_xla/seed2/start"
	# nothing left: said, exit 0, no command run
	run job
	assert_success
	assert_output --partial "nothing left in the queue"
	[ "$(wc -l < "$T/ran")" -eq 6 ]
}

@test "next-model.sh --by time: the next model goes to the collection whose models took the fewest seconds, a running one counted up to now" {
	# the planned models: tile took 20 s, layout 300 s
	mkdir -p "$T/claims/tile_xla/seed1" "$T/claims/layout_xla_random/seed1"
	echo 20.0 > "$T/claims/tile_xla/seed1/seconds"
	echo 300.0 > "$T/claims/layout_xla_random/seed1/seconds"
	job --by time 2>/dev/null
	job --by time 2>/dev/null
	run cat "$T/ran"
	assert_line --index 0 --partial "--tag seed2 --seed 2 --arch  tile:xla"
	assert_line --index 1 --partial "--tag seed3 --seed 3 --arch  tile:xla"
	# layout's seed1 took 10 s, but its seed2 has run for 100 s and counts
	: > "$T/ran"
	rm -rf "$T/claims"
	mkdir -p "$T/claims/tile_xla/seed1" "$T/claims/layout_xla_random/seed1" "$T/claims/layout_xla_random/seed2"
	echo 50.0 > "$T/claims/tile_xla/seed1/seconds"
	echo 10.0 > "$T/claims/layout_xla_random/seed1/seconds"
	echo $(( $(date +%s) - 100 )) > "$T/claims/layout_xla_random/seed2/start"
	job --by time 2>/dev/null
	run cat "$T/ran"
	assert_output --partial "--tag seed2 --seed 2 --arch  tile:xla"
	# a tie goes to the collection the file names first
	: > "$T/ran"
	rm -rf "$T/claims"
	mkdir -p "$T/claims/tile_xla/seed1" "$T/claims/layout_xla_random/seed1"
	echo 10.0 > "$T/claims/tile_xla/seed1/seconds"
	echo 10.0 > "$T/claims/layout_xla_random/seed1/seconds"
	job --by time 2>/dev/null
	run cat "$T/ran"
	assert_output --partial "tile:xla"
	# the same claims in order mode (the default): layout's seed2 is not
	# next, tile's is
	rm -rf "$T/claims/tile_xla/seed2"
	: > "$T/ran"
	echo 500.0 > "$T/claims/tile_xla/seed1/seconds"
	job 2>/dev/null
	run cat "$T/ran"
	assert_output --partial "--tag seed2 --seed 2 --arch  tile:xla"
	# --claims with a trailing slash reads the same claims: layout (20 s)
	# before tile (300 s)
	rm -rf "$T/claims"
	: > "$T/ran"
	mkdir -p "$T/claims/tile_xla/seed1" "$T/claims/layout_xla_random/seed1"
	echo 300.0 > "$T/claims/tile_xla/seed1/seconds"
	echo 20.0 > "$T/claims/layout_xla_random/seed1/seconds"
	next-model.sh --queue "$T/q" --claims "$T/claims/" --by time -- "$T/cmd" --out x 2>/dev/null
	run cat "$T/ran"
	assert_output --partial "--tag seed2 --seed 2 --arch  layout:xla:random"
}

@test "next-model.sh: jobs started at once take every model exactly once; --until; the command's exit code is the job's" {
	for i in 1 2 3 4 5 6 7 8; do job --job "$i" 2>/dev/null & done
	wait
	# 6 models, 8 jobs: each model once, two jobs found nothing
	[ "$(wc -l < "$T/ran")" -eq 6 ]
	[ "$(sort "$T/ran" | uniq | wc -l)" -eq 6 ]
	[ "$(ls "$T"/claims/*/*/rc | wc -l)" -eq 6 ]
	# --until: past it, a job takes nothing, at once; before it, as usual
	rm -rf "$T/claims"; : > "$T/ran"
	run job --job 9 --until "$(( $(date +%s) - 1 ))"
	assert_success
	assert_output --partial "job 9: no model: too little time is left to train one"
	[ ! -s "$T/ran" ] && [ ! -e "$T/claims" ]
	run job --until "$(( $(date +%s) + 60 ))"
	assert_success
	[ "$(wc -l < "$T/ran")" -eq 1 ]
	run job --until soon
	assert_failure 2
	# a failing command: the job fails with its code, the claim records it
	rm -rf "$T/claims"
	echo 3 > "$T/exit"
	run job
	assert_failure 3
	[ "$(cat "$T/claims/tile_xla/seed1/rc")" = 3 ]
}
