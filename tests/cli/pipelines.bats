#!/usr/bin/env bats
# pipelines/: collection.sh, all.sh, replay.sh, plot.sh, make install, on
# tpugen tiny data.

load helper

setup_file() { tiny_data_setup_file; }

setup() { T="$BATS_TEST_TMPDIR"; }

@test "collection.sh and all.sh: --help, usage errors (2)" {
	run collection.sh --help
	assert_success
	assert_output --partial "usage: collection.sh"
	run collection.sh
	assert_failure 2
	run collection.sh layout:xla:nope
	assert_failure 2
	assert_output --partial "unknown collection"
	run collection.sh --seed x tile:xla
	assert_failure 2
	run all.sh --help
	assert_success
	assert_output --partial "--sshloginfile"
	# the defaults the generalization benchmarks chose, as --help states them
	assert_output --regexp "sage-train --patience; default 10;"
	assert_output --regexp "default zscore"
	assert_output --regexp "\(default order\)"
	run all.sh --jobs 0
	assert_failure 2
	run all.sh --bogus
	assert_failure 2
	run replay.sh
	assert_failure 2
	run plot.sh
	assert_failure 2
}

@test "collection.sh: one collection end to end, outputs in place, stage names in the log" {
	run collection.sh --data "$D" --out "$T/o" --set "$QUICK" layout:xla:random
	assert_success
	assert_output --partial "layout:xla:random: ingest train: done"
	assert_output --partial "layout:xla:random: train: done"
	assert_output --partial "overall score"
	for f in data/train.mp data/valid.mp data/test.mp model.mp train-log.jsonl pred-valid.mp pred-test.mp eval-valid.json eval-valid.txt; do
		[ -s "$T/o/layout_xla_random/main/$f" ] || { echo "missing $f"; return 1; }
	done
	[ -z "$(find "$T/o" -name '*.tmp')" ]
	run mp-dump --count "$T/o/layout_xla_random/main/pred-test.mp"
	assert_success
}

@test "collection.sh: a failing stage stops the run with its name and leaves no partial output" {
	run collection.sh --data "$D" --out "$T/o" --set "TRAIN_OPTS=--epochs 0" tile:xla
	assert_failure
	assert_output --partial "tile:xla: train: failed"
	[ ! -e "$T/o/tile_xla/main/model.mp" ]
	[ ! -e "$T/o/tile_xla/main/pred-valid.mp" ]
	# dijkstra as the reduction, chosen on the command line
	run collection.sh --data "$D" --out "$T/o2" --reduce dijkstra --set "$QUICK" layout:nlp:default
	assert_success
	run mp-dump --type header --head 1 "$T/o2/layout_nlp_default/main/data/train.mp"
	assert_output --partial "dijkstra-compress"
}

@test "all.sh: every collection, a submission rank-eval accepts" {
	run all.sh --budget none --data "$D" --out "$T/o" --jobs 2 --set "$QUICK" --no-plots
	assert_success
	assert_output --partial "overall score"
	[ -s "$T/o/submission.csv" ]
	head -1 "$T/o/submission.csv" | grep -qx 'ID,TopConfigs'
	# the test split hides its runtimes: no truth to score against ...
	npz2mp -q "$D/npz/tile/xla/test" "$D"/npz/layout/*/*/test > "$T/test-hidden.mp"
	run rank-eval --truth "$T/test-hidden.mp" --csv "$T/o/submission.csv"
	assert_failure 1
	assert_output --partial "its runtimes are hidden (a test split)"
	# ... but tpugen keeps them beside the dataset (truth/npz): put them back
	need_py numpy msgpack
	"$PY" "$ROOT/tests/tools/tpugen_unhide.py" "$D" "$T/unhidden"
	npz2mp -q "$T/unhidden/npz/tile/xla/test" "$T"/unhidden/npz/layout/*/*/test > "$T/test-truth.mp"
	run rank-eval --truth "$T/test-truth.mp" --csv "$T/o/submission.csv"
	assert_success
	assert_output --partial "overall score"
	# one row per test graph; layout rows are full permutations, tile rows >= 5
	run "$PY" "$ROOT/tests/tools/check_submission.py" "$T/test-truth.mp" "$T/o/submission.csv"
	assert_success
	assert_output --regexp '^ok [0-9]+ rows$'
}

@test "all.sh --profile: every filter of every job timed, its peak RSS kept, summed per collection" {
	run all.sh --budget none --data "$D" --out "$T/o" --jobs 2 --set "$QUICK" --no-plots \
		--collections tile:xla,layout:nlp:random --profile
	assert_success
	assert_output --partial "all.sh: profile: peak RSS: "
	head -1 "$T/o/profile.tsv" | grep -qx "$(printf 'collection\ttag\tstep\tfilter\twall_s\tpeak_rss_kb\texit')"
	"$PY" - "$T/o/profile.tsv" "$T/o/profile.txt" <<-'EOF'
	import sys, collections
	rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
	assert all(len(r) == 7 for r in rows), rows
	got = collections.Counter((r[0], r[2], r[3]) for r in rows)
	for c, red in (("tile:xla", []), ("layout:nlp:random", ["prune-hop"])):
	    for sp in ("train", "valid", "test"):
	        for f in ["npz2mp"] + red + ["encode-base7"]:
	            assert got[(c, "ingest " + sp, f)] == 1, (c, sp, f, got)
	    assert got[(c, "train", "sage-train")] == 1
	    assert got[(c, "predict valid", "sage-predict")] == 1
	    assert got[(c, "predict test", "sage-predict")] == 1
	    assert got[(c, "eval valid", "rank-eval")] == 1
	assert len(rows) == sum(got.values()) == 3 * 2 + 4 + 3 * 3 + 4, len(rows)   # ingest + the model's 4
	assert all(r[6] == "0" and int(r[5]) > 500 and float(r[4]) >= 0 for r in rows), rows
	# the summary: one line per collection, step and filter, and the peak
	txt = open(sys.argv[2]).read().splitlines()
	peak = max(rows, key=lambda r: int(r[5]))
	assert txt[-1] == "peak RSS: %.1f MB, %s (%s, %s, %s)" % (int(peak[5]) / 1024, peak[3], peak[0], peak[1], peak[2]), txt[-1]
	assert len(txt) == 1 + 5 + 6 + 1, txt
	EOF
	# a filter that fails is timed too, with its exit status; no --profile, no profile
	run collection.sh --data "$D" --out "$T/f" --set "TRAIN_OPTS=--epochs 0" --profile tile:xla
	assert_failure
	grep -q "$(printf 'tile:xla\tmain\ttrain\tsage-train\t[0-9.]*\t[0-9]*\t2')" "$T/f/tile_xla/main/profile.tsv"
	run collection.sh --data "$D" --out "$T/n" --set "$QUICK" tile:xla
	assert_success
	[ ! -e "$T/n/tile_xla/main/profile.tsv" ]
}

@test "all.sh --budget: one ingest per collection, the planned models fill the waves, seeds weighted equally" {
	run all.sh --data "$D" --out "$T/o" --budget 1m --members 1 --jobs 2 --set "$QUICK" --no-plots \
		--collections tile:xla,layout:xla:random,layout:nlp:default --patience 0
	assert_success
	assert_output --partial "tile:xla: ensemble valid (2 models, equal weights)"
	# 3 models in 2 waves of 2 jobs: the free slot goes to the first collection
	run cat "$T/o/plan.txt"
	assert_line --partial "budget: 1m (60 s) on 2 jobs of 1 threads"
	assert_line --regexp "^models: 4 in 2 waves of 2 jobs, [0-9]+ s per job: [0-9]+ s of training"
	assert_line "  tile:xla: seed1 seed2"
	assert_line "  layout:xla:random: seed1"
	assert_line --regexp "^reserve: [0-9]+ s for the ensembles \(weights equal, scores as zscore\)"
	assert_line --regexp "^finished in [0-9.]+ s of a budget of 60 s$"
	# every model trained on the one ingest, for the planned seconds
	[ -L "$T/o/tile_xla/seed2/data" ]
	[ "$(readlink "$T/o/tile_xla/seed2/data")" = ../ingest/data ]
	train_s=$(sed -n 's/.*per job: \([0-9]*\) s of training.*/\1/p' "$T/o/plan.txt")
	for t in seed1 seed2; do
		run mp-dump --type training "$T/o/tile_xla/$t/model.mp"
		assert_output --partial "\"seconds_budget\": $train_s"
	done
	run mp-dump --type training "$T/o/tile_xla/seed2/model.mp"
	assert_output --partial '"seed": 2'
	# two seeds of one model: equal weights, no fit (--fit auto)
	[ ! -e "$T/o/tile_xla/ens-weights.json" ]
	[ -s "$T/o/submission.csv" ]
	[ ! -e "$T/o/layout_xla_random/ens-weights.json" ]   # one model: nothing to weight
	# the members' scores are averaged as z-scores (--norm zscore, the
	# default), not as ranks
	rank-ensemble --norm zscore "$T/o/tile_xla/seed1/pred-test.mp" "$T/o/tile_xla/seed2/pred-test.mp" > "$T/z.mp"
	rank-ensemble --norm rank "$T/o/tile_xla/seed1/pred-test.mp" "$T/o/tile_xla/seed2/pred-test.mp" > "$T/r.mp"
	cmp "$T/z.mp" "$T/o/tile_xla/ens-test.mp"
	! cmp -s "$T/r.mp" "$T/o/tile_xla/ens-test.mp"
	# bad budgets are usage errors
	run all.sh --data "$D" --out "$T/x" --budget 20q
	assert_failure 2
	assert_output --partial "--budget: '20q' is not a duration"
	run all.sh --data "$D" --out "$T/x" --budget 5
	assert_failure 2
	run all.sh --data "$D" --out "$T/x" --members 0
	assert_failure 2
	run all.sh --data "$D" --out "$T/x" --fit sometimes
	assert_failure 2
	assert_output --partial "--fit: 'sometimes' is not auto, on or off"
	run all.sh --data "$D" --out "$T/x" --norm median
	assert_failure 2
	assert_output --partial "--norm: 'median' is not rank, zscore or minmax"
}

@test "all.sh --budget --patience: models that stop early hand their time to more models, up to the deadline" {
	run all.sh --data "$D" --out "$T/o" --budget 75s --jobs 2 --set "$QUICK" --no-plots \
		--collections tile:xla,layout:xla:random --patience 2 --max-members 6 --fit on --norm rank
	assert_success
	assert_output --partial "ensemble valid ("
	assert_output --partial "models, weights fitted on valid)"
	run cat "$T/o/plan.txt"
	assert_line --regexp "^models: 2 in 1 waves of 2 jobs"
	assert_line --regexp "^patience: 2 rounds \(sage-train --patience\); 10 more models queued \(at most 6 per collection\)"
	assert_line "  tile:xla: seed1 seed2 seed3 seed4 seed5 seed6"
	assert_line --regexp "^  tile:xla: [0-9] of 6 models: seed1 seed2"
	assert_line --regexp "^finished in [0-9.]+ s of a budget of 75 s$"
	# the planned models stopped early (tiny data: the valid score peaks at
	# once), so more ran; every model that ran says so in its record
	ran=$(sed -n 's/^  tile:xla: \([0-9]\) of 6 models.*/\1/p' "$T/o/plan.txt")
	[ "$ran" -ge 3 ]
	run mp-dump --type training "$T/o/tile_xla/seed1/model.mp"
	assert_output --partial '"patience": 2'
	assert_output --regexp '"stopped_after_round": [1-9]'
	# the ensemble holds every model that ran (--fit on: the weights fitted
	# on valid, or kept equal, one per model)
	run jq -r '.weights_arg' "$T/o/tile_xla/ens-weights.json"
	assert_success
	[ "$(echo "$output" | tr ',' '\n' | wc -l)" -eq "$ran" ]
	# --norm rank: the test ensemble averages ranks with those weights
	mapfile -t tp < <(jq -r '.preds[]' "$T/o/tile_xla/ens-weights.json" | sed 's/pred-valid\.mp$/pred-test.mp/')
	rank-ensemble --norm rank --weights "$(jq -r .weights_arg "$T/o/tile_xla/ens-weights.json")" "${tp[@]}" > "$T/r.mp"
	cmp "$T/r.mp" "$T/o/tile_xla/ens-test.mp"
	run all.sh --data "$D" --out "$T/x" --patience x
	assert_failure 2
	run all.sh --data "$D" --out "$T/x" --max-members 0
	assert_failure 2
}

@test "all.sh --budget: past the deadline the jobs left take no model; an earlier run's outputs under a queued tag are gone" {
	mkdir -p "$T/bin"
	for f in "$BIN"/*; do ln -s "$f" "$T/bin/"; done
	rm "$T/bin/sage-train"
	# layout's model starts 20 s late: one job, so the deadline passes
	# before any queued model can start
	printf '#!/bin/sh\ncase "$*" in *layout_xla_random*) sleep 20 ;; esac\nexec "%s/sage-train" "$@"\n' "$BIN" > "$T/bin/sage-train"
	chmod +x "$T/bin/sage-train"
	# an earlier run's predictions under a tag this run queues: were they
	# left, the ensemble would read them
	mkdir -p "$T/o/tile_xla/seed3"
	echo junk > "$T/o/tile_xla/seed3/pred-valid.mp"
	echo junk > "$T/o/tile_xla/seed3/pred-test.mp"
	TPU_BIN="$T/bin" run all.sh --data "$D" --out "$T/o" --budget 40s --jobs 1 --patience 2 --max-members 3 \
		--collections tile:xla,layout:xla:random --set "$QUICK" --no-plots
	assert_success
	assert_output --regexp "next-model.sh: job [3-6]: no model: too little time is left to train one"
	[ ! -e "$T/o/tile_xla/seed3/pred-test.mp" ] && [ ! -e "$T/o/tile_xla/seed3/pred-valid.mp" ]
	run cat "$T/o/plan.txt"
	assert_line "  tile:xla: 1 of 3 models: seed1"
	assert_line "  layout:xla:random: 1 of 3 models: seed1"
	[ -s "$T/o/submission.csv" ]
}

@test "collection.sh: sage-train's lines reach the log as they are written, not when the training ends" {
	mkdir -p "$T/bin"
	for f in "$BIN"/*; do ln -s "$f" "$T/bin/"; done
	rm "$T/bin/sage-train"
	# a sage-train that says a line, then takes 6 s before training: the
	# line must be in the log long before it ends (Debian's mawk reads a
	# pipe in 4 KB blocks unless told otherwise)
	printf '#!/bin/sh\necho "sage-train: a first line" >&2\nsleep 6\nexec "%s/sage-train" "$@"\n' "$BIN" > "$T/bin/sage-train"
	chmod +x "$T/bin/sage-train"
	collection.sh --data "$D" --out "$T/c" --set "$QUICK" --tag s1 --ingest-only tile:xla 2>/dev/null
	TPU_BIN="$T/bin" collection.sh --data "$D" --out "$T/c" --set "$QUICK" --tag s1 --from train \
		tile:xla 2> "$T/log" &
	pid=$!
	for _ in $(seq 40); do grep -q 'a first line' "$T/log" && break; sleep 0.1; done
	run grep -c 'a first line' "$T/log"
	kill -0 "$pid"   # still running: the line came before the end
	assert_output 1
	wait "$pid"
}

@test "collection.sh --deadline: the training fits the time left; too little left skips the model" {
	collection.sh --data "$D" --out "$T/c" --set "$QUICK" --tag s1 --ingest-only tile:xla 2>/dev/null
	# a deadline 3 s away: less than 15 s, the model is skipped (exit 0)
	# and an earlier run's outputs under the same tag are removed
	touch "$T/c/tile_xla/s1/pred-test.mp"
	run collection.sh --data "$D" --out "$T/c" --set "$QUICK" --tag s1 --from train \
		--train-seconds 20 --deadline $(( $(date +%s) + 3 )) tile:xla
	assert_success
	assert_output --regexp "tile:xla: s1 skipped: [0-9]+ s left before the deadline, less than the 15 s a model needs"
	[ ! -e "$T/c/tile_xla/s1/pred-test.mp" ] && [ ! -e "$T/c/tile_xla/s1/model.mp" ]
	# 12 s left, 8 needed: the training gets what is left, not its 60 s
	run collection.sh --data "$D" --out "$T/c" --set "$QUICK" --tag s1 --from train \
		--train-seconds 60 --deadline $(( $(date +%s) + 12 )) --min-train-seconds 8 tile:xla
	assert_success
	run mp-dump --type training "$T/c/tile_xla/s1/model.mp"
	assert_output --regexp '"seconds_budget": (1[0-2]|[89])[,.]'
	# the seconds pay for the predictions of valid and test: their bytes
	# over valid's, as valid splits' worth of time (sage-train --then-predict)
	x=$(awk -v v="$(stat -L -c %s "$T/c/tile_xla/s1/data/valid.mp")" \
		-v t="$(stat -L -c %s "$T/c/tile_xla/s1/data/test.mp")" 'BEGIN { printf "%.3f", (v + t) / v }')
	awk -v x="$x" 'BEGIN { exit !(x > 1) }'
	assert_output --regexp "\"then_predict\": ${x%0}0*[,}]"
	# the predictions' seconds, for the next model's deadline
	grep -Eq '^[0-9]+\.[0-9]$' "$T/c/tile_xla/s1/predict-seconds"
	# another model of the collection took 30.2 s to predict: 40 s left,
	# less those 31, are fewer than the 15 a model needs: skipped
	mkdir -p "$T/c/tile_xla/s0"
	echo 30.2 > "$T/c/tile_xla/s0/predict-seconds"
	run collection.sh --data "$D" --out "$T/c" --set "$QUICK" --tag s1 --from train \
		--train-seconds 60 --deadline $(( $(date +%s) + 40 )) tile:xla
	assert_success
	assert_output --regexp "tile:xla: s1 skipped: (39|40) s left before the deadline, less than the 15 s a model needs and the 31 s its predictions take"
	[ ! -e "$T/c/tile_xla/s1/model.mp" ] && [ ! -e "$T/c/tile_xla/s1/predict-seconds" ]
	run collection.sh --data "$D" --out "$T/c" --deadline 5 tile:xla
	assert_failure 2
	assert_output --partial "--deadline needs --train-seconds"
	run collection.sh --data "$D" --out "$T/c" --train-seconds 5 --patience x tile:xla
	assert_failure 2
}

@test "collection.sh --arch and all.sh --archs: one model per arch, all ensembled" {
	run collection.sh --data "$D" --out "$T/c" --set "$QUICK" --arch gin --tag g layout:nlp:random
	assert_success
	run mp-dump --type model "$T/c/layout_nlp_random/g/model.mp"
	assert_output --partial '"arch": "gin"'
	run collection.sh --data "$D" --out "$T/c" --arch bert layout:nlp:random
	assert_failure 2
	assert_output --partial "--arch: unknown arch 'bert'"
	run all.sh --budget none --data "$D" --out "$T/o" --jobs 2 --set "$QUICK" --no-plots \
		--collections tile:xla,layout:nlp:random --seeds 1,2 --archs sage,mlp
	assert_success
	assert_output --partial "2 collections x 2 seeds x 2 archs"
	assert_output --partial "ensemble valid (4 models, weights fitted on valid)"   # --fit auto: archs differ
	[ -s "$T/o/tile_xla/ens-weights.json" ]
	for t in seed1-sage seed1-mlp seed2-sage seed2-mlp; do
		run mp-dump --type model "$T/o/tile_xla/$t/model.mp"
		assert_output --partial "\"arch\": \"${t#*-}\""
	done
	[ -s "$T/o/submission.csv" ]
	run all.sh --data "$D" --out "$T/o" --archs sage,transformer
	assert_failure 2
	assert_output --partial "--archs: unknown arch 'transformer'"
}

@test "all.sh: a stage killed mid-run leaves no submission; --resume-failed completes it" {
	# a sage-predict that kills itself while the marker file exists
	mkdir -p "$T/bin"
	for f in "$BIN"/*; do ln -s "$f" "$T/bin/"; done
	rm "$T/bin/sage-predict"
	printf '#!/bin/sh\n[ -e "%s/fail" ] && kill -9 $$\nexec "%s/sage-predict" "$@"\n' "$T" "$BIN" > "$T/bin/sage-predict"
	chmod +x "$T/bin/sage-predict"
	touch "$T/fail"
	TPU_BIN="$T/bin" run all.sh --budget none --data "$D" --out "$T/o" --collections tile:xla,layout:xla:random --set "$QUICK" --no-plots
	assert_failure
	assert_output --partial "job(s) failed"
	[ ! -e "$T/o/submission.csv" ]
	[ "$(awk 'NR > 1 && $7 != 0' "$T/o/joblog" | wc -l)" -eq 2 ]
	rm "$T/fail"
	TPU_BIN="$T/bin" run all.sh --budget none --data "$D" --out "$T/o" --collections tile:xla,layout:xla:random --set "$QUICK" --no-plots --resume-failed
	assert_success
	[ -s "$T/o/submission.csv" ]
}

@test "all.sh --budget: a model killed mid-run frees its claim; --resume-failed trains just that model" {
	mkdir -p "$T/bin"
	for f in "$BIN"/*; do ln -s "$f" "$T/bin/"; done
	rm "$T/bin/sage-predict"
	# sage-predict kills itself for layout's models while the marker exists
	printf '#!/bin/sh\ncase "$*" in *layout_xla_random*) [ -e "%s/fail" ] && kill -9 $$ ;; esac\nexec "%s/sage-predict" "$@"\n' "$T" "$BIN" > "$T/bin/sage-predict"
	chmod +x "$T/bin/sage-predict"
	touch "$T/fail"
	TPU_BIN="$T/bin" run all.sh --data "$D" --out "$T/o" --budget 40s --patience 0 --queue time \
		--collections tile:xla,layout:xla:random --set "$QUICK" --no-plots
	assert_failure
	assert_output --partial "1 job(s) failed"
	# the jobs' log says which model each took; the claims say how each ended
	assert_output --regexp "next-model.sh: job [12]: layout:xla:random: seed1"
	[ "$(cat "$T/o/claims/tile_xla/seed1/rc")" = 0 ]
	[ "$(cat "$T/o/claims/layout_xla_random/seed1/rc")" != 0 ]
	[ ! -e "$T/o/submission.csv" ]
	rm "$T/fail"
	touch -d '2000-01-01' "$T/o/tile_xla/seed1/model.mp"
	TPU_BIN="$T/bin" run all.sh --data "$D" --out "$T/o" --budget 40s --patience 0 --queue time \
		--collections tile:xla,layout:xla:random --set "$QUICK" --no-plots --resume-failed
	assert_success
	assert_output --regexp "next-model.sh: job [12]: layout:xla:random: seed1"
	refute_output --regexp "next-model.sh: job [0-9]+: tile:xla"
	# tile's model was not trained again
	[ "$(stat -c %Y "$T/o/tile_xla/seed1/model.mp")" -lt 1000000000 ]
	[ "$(cat "$T/o/claims/layout_xla_random/seed1/rc")" = 0 ]
	[ -s "$T/o/submission.csv" ]
	run all.sh --data "$D" --out "$T/x" --queue fifo
	assert_failure 2
	assert_output --partial "--queue: 'fifo' is not order or time"
}

@test "replay.sh: a recorded stage replays byte for byte; --cmd swaps it" {
	run collection.sh --data "$D" --out "$T/o" --record "$T/rec" --set "$QUICK" layout:xla:random
	assert_success
	for s in npz2mp-train prune-hop-train encode-base7-train prune-hop-valid; do
		[ -s "$T/rec/layout_xla_random/$s.mp" ] || { echo "not recorded: $s"; return 1; }
	done
	replay.sh "$T/rec/layout_xla_random" prune-hop-train > "$T/replayed.mp"
	cmp "$T/replayed.mp" "$T/rec/layout_xla_random/prune-hop-train.mp"
	replay.sh "$T/rec/layout_xla_random" encode-base7-valid | cmp - "$T/rec/layout_xla_random/encode-base7-valid.mp"
	# the same input through another stage
	replay.sh --cmd 'prune-hop -k 2' "$T/rec/layout_xla_random" prune-hop-train > "$T/k2.mp"
	run mp-dump --type header "$T/k2.mp"
	assert_output --partial '"argv": ["prune-hop", "-k", "2"]'
	run replay.sh "$T/rec/layout_xla_random" nope-train
	assert_failure 1
	assert_output --partial "no recorded stage"
}

@test "plot.sh: training curves and rank plots as PNG" {
	command -v gnuplot >/dev/null || skip "gnuplot not installed"
	run all.sh --budget none --data "$D" --out "$T/o" --collections layout:nlp:random --set "$QUICK"
	assert_success
	[ -s "$T/o/plots/train-layout_nlp_random.png" ]
	[ -s "$T/o/plots/ranks-layout_nlp_random.png" ]
	[ "$(head -c 4 "$T/o/plots/train-layout_nlp_random.png" | tail -c 3)" = PNG ]
}

@test "make install puts the filters, scripts and man pages under PREFIX; uninstall removes them" {
	run make -C "$ROOT" install PREFIX="$T/inst" BINDIR="$(realpath --relative-to="$ROOT" "$BIN")"
	assert_success
	[ -x "$T/inst/bin/npz2mp" ] && [ -x "$T/inst/bin/tpurank-all" ] && [ -f "$T/inst/share/man/man1/npz2mp.1" ]
	# the installed scripts find the installed filters from anywhere
	(cd "$T" && env -u TPU_BIN PATH="$T/inst/bin:/usr/bin:/bin" tpurank-collection --data "$D" --out "$T/io" --set "$QUICK" tile:xla)
	[ -s "$T/io/tile_xla/main/pred-test.mp" ]
	run make -C "$ROOT" uninstall PREFIX="$T/inst" BINDIR="$(realpath --relative-to="$ROOT" "$BIN")"
	assert_success
	[ -z "$(find "$T/inst" -type f -o -type l)" ]
}
