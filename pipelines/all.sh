#!/usr/bin/env bash
# all.sh: every collection (and several seeds per collection) with GNU
# parallel, on this machine or over ssh on a cluster; then the per-collection
# ensembles, the valid scores, the Kaggle submission and the plots.
set -euo pipefail
PROG=all.sh
. "$(dirname "$(readlink -f "$0")")/lib.sh"

usage() {
	cat <<EOF
usage: all.sh [options]

Run pipelines/collection.sh for every collection and seed (and arch) with
GNU parallel, then ensemble the models of each collection (rank-ensemble),
score the valid split (rank-eval) and write the Kaggle submission for the
test split.

With a time budget (the default, $DEFAULT_BUDGET), all.sh ingests each
collection once, then plans the models to fill what is left: --members
models per collection (seeds 1, 2, ...; with --archs, the archs in turn),
as many more as fill the last wave of jobs, each trained for the same
seconds (sage-train --seconds) on the shared ingest.  With --patience R, a
model stops early once its valid score has not improved for a while and
hands its time to more models of every collection (up to --max-members
each, as --queue says), until the time is spent: a model that peaks early is one
of an ensemble, one that keeps improving runs its whole time (default
10 rounds; 0: every model runs its whole slot).  The
models of a collection are ensembled with equal weights when they differ
only in seed; with --archs the weights are fitted on its valid split
(rank-ensemble --fit, which keeps equal weights unless the fit wins under
leave-one-graph-out cross-validation; --fit says when).  OUT/plan.txt says what was planned
and what ran.  --budget none trains each model for the conf file's epochs,
one per seed and arch.

  -d, --data DIR          dataset root holding npz/ (default: \$TPU_DATA or data/tpugen-small)
  -o, --out DIR           output root (default: out)
      --collections LIST  comma-separated (default: all five)
      --seeds LIST        comma-separated seeds; one model per seed and
                          collection, ensembled (default: 1; with a budget,
                          as --members says)
      --archs LIST        comma-separated sage-train archs (sage, gat, gin,
                          appnp, gps, mlp); one model per arch too, all
                          ensembled (default: the conf file's TRAIN_OPTS)
  -b, --budget DURATION   wall time for the whole run: 90s, 20m, 1h30m, or
                          seconds (default $DEFAULT_BUDGET); none: the conf
                          files' epochs
      --members N         models per collection within the budget (default 1;
                          free slots of the last wave get more)
      --patience R        with a budget: a model stops once its best valid
                          score is R rounds old and as old as the run was
                          then (sage-train --patience; default $DEFAULT_PATIENCE;
                          0: every model trains its whole time)
      --fit auto|on|off   ensemble weights fitted on valid: auto (the
                          default) fits them when the members differ in
                          arch (--archs) and keeps seeds of one model
                          equal; on: always; off: never
      --norm rank|zscore|minmax  how each model's scores of a graph are put
                          on one scale before they are averaged
                          (rank-ensemble --norm; default $DEFAULT_NORM: ranks
                          lose the margins that decide a tile's top 5)
      --max-members N     with a budget and --patience: at most N models per
                          collection, those the time handed back pays for
                          (default $DEFAULT_MAX_MEMBERS)
      --queue order|time  with a budget and --patience: which collection's
                          next model runs once the planned ones have started:
                          order: the collections in turn; time: the one whose
                          models have taken the fewest seconds so far, so
                          models that stop early buy more of their own kind
                          (default $DEFAULT_QUEUE)
  -j, --jobs N            parallel jobs per machine (default: 2; with
                          --sshloginfile, as FILE says)
      --threads N         threads per job (default: cores / jobs, at least 1;
                          1 with --sshloginfile and no --jobs)
      --sshloginfile FILE spread the jobs over the hosts in FILE (GNU parallel's
                          format: a line "N/host" runs N jobs on host, a line
                          without N one per CPU, ":" is this machine); the
                          binaries, this checkout and the data must be at the
                          same paths on every host (a shared file system; see
                          docs/cluster.md)
      --resume-failed     rerun only the jobs that failed in the last run (its joblog)
      --record DIR        keep every stage's output (see collection.sh --record)
      --profile           run every filter of every job under GNU time: each
                          one's wall seconds and peak RSS in OUT/profile.tsv,
                          summed per collection and filter in OUT/profile.txt
  -s, --set KEY=VAL       passed to every collection.sh (repeatable)
      --reduce R          passed to every collection.sh
      --no-plots          skip the PNG plots
  -h, --help              this help

Writes OUT/submission.csv (only when every job succeeded), OUT/scores-valid.txt
and .json, OUT/joblog, OUT/plots/*.png, and per collection OUT/SLUG/ens-{valid,test}.mp.
EOF
}

DEFAULT_BUDGET=20m
# --patience 10: +0.007 (sd 0.005, every world) at 22 minutes on the worlds
# defaults are chosen on, -0.003 (sd 0.003) at 8 (docs/bench/generalization.md)
DEFAULT_PATIENCE=10
DEFAULT_MAX_MEMBERS=8
# --norm zscore: +0.008 over rank on 44 tile ensembles of the choice worlds
# (+0.008 in each world), layout +0.001 (docs/bench/generalization.md)
DEFAULT_NORM=zscore
# --queue time: +0.005 (sd 0.005) overall at 22 minutes on the choice worlds,
# tile +0.011 (sd 0.008): not above the spread, so order stays
# (docs/bench/generalization.md, "Which collection the time handed back
# goes to")
DEFAULT_QUEUE=order
DATA=${TPU_DATA:-data/tpugen-small}
OUT=out
BUDGET=$DEFAULT_BUDGET
MEMBERS=1
FIT=auto
NORM=$DEFAULT_NORM
QUEUE_BY=$DEFAULT_QUEUE
PATIENCE=$DEFAULT_PATIENCE
MAX_MEMBERS=$DEFAULT_MAX_MEMBERS
SEEDS_GIVEN=""
BUDGET_GIVEN=""
COLLS=$ALL_COLLECTIONS
SEEDS=1
ARCHS=""
JOBS=2
JOBS_GIVEN=""
THREADS=""
SSHLOGINFILE=""
RESUME=""
RECORD=${RECORD_DIR:-}
PASS=()
PLOTS=1
PROFILE=""
while [ $# -gt 0 ]; do
	case $1 in
	-d|--data) DATA=$2; shift 2 ;;
	-o|--out) OUT=$2; shift 2 ;;
	--collections) COLLS=${2//,/ }; shift 2 ;;
	--seeds) SEEDS=${2//,/ }; SEEDS_GIVEN=1; shift 2 ;;
	-b|--budget) BUDGET=$2; BUDGET_GIVEN=1; shift 2 ;;
	--members) MEMBERS=$2; shift 2 ;;
	--patience) PATIENCE=$2; shift 2 ;;
	--max-members) MAX_MEMBERS=$2; shift 2 ;;
	--fit) FIT=$2; shift 2 ;;
	--norm) NORM=$2; shift 2 ;;
	--queue) QUEUE_BY=$2; shift 2 ;;
	--archs) ARCHS=${2//,/ }; shift 2 ;;
	-j|--jobs) JOBS=$2; JOBS_GIVEN=1; shift 2 ;;
	--threads) THREADS=$2; shift 2 ;;
	--sshloginfile) SSHLOGINFILE=$2; shift 2 ;;
	--resume-failed) RESUME=--resume-failed; shift ;;
	--record) RECORD=$2; shift 2 ;;
	--profile) PROFILE=1; PASS+=(--profile); shift ;;
	-s|--set) PASS+=(--set "$2"); shift 2 ;;
	--reduce) PASS+=(--reduce "$2"); shift 2 ;;
	--no-plots) PLOTS=0; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "all.sh: unknown argument $1" >&2; echo "usage: all.sh [options]" >&2; exit 2 ;;
	esac
done
case $JOBS in ''|*[!0-9]*|0) die "--jobs: '$JOBS' is not a positive number" 2 ;; esac
case $MEMBERS in ''|*[!0-9]*|0) die "--members: '$MEMBERS' is not a positive number" 2 ;; esac
case $PATIENCE in ''|*[!0-9]*) die "--patience: '$PATIENCE' is not a number of rounds" 2 ;; esac
case $MAX_MEMBERS in ''|*[!0-9]*|0) die "--max-members: '$MAX_MEMBERS' is not a positive number" 2 ;; esac
case $FIT in auto|on|off) ;; *) die "--fit: '$FIT' is not auto, on or off" 2 ;; esac
case $NORM in rank|zscore|minmax) ;; *) die "--norm: '$NORM' is not rank, zscore or minmax" 2 ;; esac
case $QUEUE_BY in order|time) ;; *) die "--queue: '$QUEUE_BY' is not order or time" 2 ;; esac
# auto: members that differ only in seed are exchangeable, and each one's
# kept round was chosen on the same valid split a fit would cross-validate
# on, so their valid scores are optimistic by chance: equal weights
# (docs/bench/generalization.md, "Fitted weights on seeds of one model")
if [ "$FIT" = auto ]; then
	if [ "$(echo "$ARCHS" | wc -w)" -gt 1 ]; then FIT=on; else FIT=off; fi
fi
BUDGET_S=""
# a cluster's hosts run at their own speeds: no plan by the clock there
[ -n "$SSHLOGINFILE" ] && [ -z "$BUDGET_GIVEN" ] && BUDGET=none
if [ "$BUDGET" != none ]; then
	BUDGET_S=$(parse_duration "$BUDGET") ||
		die "--budget: '$BUDGET' is not a duration (90s, 20m, 1h30m, seconds) or none" 2
	[ "$BUDGET_S" -ge 10 ] || die "--budget: $BUDGET is too short (at least 10 s)" 2
	[ -z "$SSHLOGINFILE" ] || die "--budget plans the jobs of this machine: with --sshloginfile give --budget none" 2
fi
for c in $COLLS; do
	case " $ALL_COLLECTIONS " in *" $c "*) ;; *) die "unknown collection '$c'" 2 ;; esac
done
for s in $SEEDS; do
	case $s in ''|*[!0-9]*) die "--seeds: '$s' is not a number" 2 ;; esac
done
for a in $ARCHS; do
	case " sage gat gin appnp gps mlp " in *" $a "*) ;; *) die "--archs: unknown arch '$a'" 2 ;; esac
done
# the runs of a collection: tag seedS, or seedS-ARCH with --archs (with a
# budget, planned below, per collection)
TAGS=""
for s in $SEEDS; do
	if [ -z "$ARCHS" ]; then
		TAGS="$TAGS seed$s"
	else
		for a in $ARCHS; do TAGS="$TAGS seed$s-$a"; done
	fi
done
TAGS=${TAGS# }
if [ -z "$THREADS" ] && [ -n "$SSHLOGINFILE" ] && [ -z "$JOBS_GIVEN" ]; then
	THREADS=1   # one job per CPU of each host (below)
elif [ -z "$THREADS" ]; then
	THREADS=$(( $(nproc) / JOBS ))
	[ "$THREADS" -ge 1 ] || THREADS=1
fi
command -v parallel >/dev/null || die "GNU parallel is not installed (make deps)" 3
[ -d "$DATA/npz" ] || die "no dataset at $DATA (expected $DATA/npz)"
# a collection that cannot train is refused here, by name, before any job
# runs: never a silent hole in the submission
for c in $COLLS; do
	d="$DATA/npz/$(coll_dir "$c")"
	[ -n "$(find "$d/train" -name '*.npz' -print -quit 2>/dev/null)" ] && continue
	if [ -n "$(find "$d/test" -name '*.npz' -print -quit 2>/dev/null)" ]; then
		die "$c: test files but no train files in $d/train: leave it out of --collections, or predict it with collection.sh --model FILE" 1
	fi
	die "$c: no train files in $d/train (leave it out of --collections)" 1
done
mkdir -p "$OUT"
DATA=$(cd "$DATA" && pwd)
OUT=$(cd "$OUT" && pwd)
[ -n "$RECORD" ] && { mkdir -p "$RECORD"; RECORD=$(cd "$RECORD" && pwd); PASS+=(--record "$RECORD"); }
rm -f "$OUT/submission.csv"   # a submission exists only for a complete run
T0=$(now)

par=(parallel --quote --jobs "$JOBS" --halt never --line-buffer --tag)
[ -n "$RESUME" ] && par+=("$RESUME")
if [ -n "$SSHLOGINFILE" ]; then
	[ -f "$SSHLOGINFILE" ] || die "no such file: $SSHLOGINFILE" 2
	# the same paths on every host: run in this directory, with this PATH
	# (it holds the filters' directory: lib.sh put it first), this TPU_BIN
	# and TPU_DATA, and this machine's OpenBLAS/OpenMP settings: sshd gives
	# a bare environment, and an OpenBLAS that picks another kernel (no
	# OPENBLAS_CORETYPE) trains a model that differs in the last bits
	par+=(--sshloginfile "$SSHLOGINFILE" --workdir "$PWD" --env PATH)
	# without --jobs, a host's jobs are the N of its "N/host" line (GNU
	# parallel takes N as the host's CPU count), one per CPU when there is
	# none; --jobs N gives every host N jobs
	if [ -z "$JOBS_GIVEN" ]; then par+=(--jobs 100%); fi
	for v in $(compgen -e); do
		case $v in TPU_*|OPENBLAS_*|GOTO_*|OMP_*|GOMP_*) par+=(--env "$v") ;; esac
	done
	# --resume-failed (GNU parallel 20221122) rejects a joblog whose failed
	# jobs ran on an sshlogin with spaces ("ssh -p 2222 node1": "Format of
	# joblog is wrong"); the host column is only informative: squeeze them
	if [ -n "$RESUME" ] && [ -f "$OUT/joblog" ]; then
		awk -F'\t' -v OFS='\t' 'NR > 1 { gsub(/[ \t]+/, "_", $2) } 1' "$OUT/joblog" > "$OUT/joblog.tmp" &&
			mv -f "$OUT/joblog.tmp" "$OUT/joblog"
	fi
fi
if [ -t 2 ]; then par+=(--progress); fi

# The budgeted run: ingest each collection once (OUT/SLUG/ingest/data, joblog
# OUT/joblog-ingest), plan the models that fill what is left of the budget,
# train and predict them on the shared ingest (joblog OUT/joblog), and say
# what ran in OUT/plan.txt.  --resume-failed keeps the plan (OUT/plan.env).
# member K (from 0) of a collection, without --seeds: "TAG<TAB>SEED<TAB>ARCH"
# (seeds 1, 2, ...; with --archs, the archs in turn, then the next seed)
member() {
	local k=$1 a s
	local -a archs_arr
	read -r -a archs_arr <<< "$ARCHS"
	if [ ${#archs_arr[@]} -eq 0 ]; then
		printf 'seed%d\t%d\t\n' "$((k + 1))" "$((k + 1))"
	else
		a=${archs_arr[k % ${#archs_arr[@]}]}
		s=$(( k / ${#archs_arr[@]} + 1 ))
		printf 'seed%d-%s\t%d\t%s\n' "$s" "$a" "$s" "$a"
	fi
}

plan_budget() {
	local c slug i n t s a k m ncoll waves njobs slot left reserve per extra rc nmin nbonus
	local -a arr deadline_args=() until_args=()
	ncoll=$(echo "$COLLS" | wc -w)
	log "budget $BUDGET ($BUDGET_S s): ingesting $ncoll collections, $JOBS jobs of $THREADS threads"
	set +e
	"${par[@]}" --joblog "$OUT/joblog-ingest" "$PIPELINES_DIR/collection.sh" --data "$DATA" \
		--out "$OUT" --tag ingest --seed 1 --threads "$THREADS" --ingest-only \
		"${PASS[@]+"${PASS[@]}"}" "{1}" ::: $COLLS
	rc=$?
	set -e
	[ "$rc" -eq 0 ] || die "$rc ingest job(s) failed; see $OUT/joblog-ingest and rerun with --resume-failed" 1
	local t_ingest
	t_ingest=$(elapsed "$T0")
	if [ -n "$RESUME" ] && [ -f "$OUT/plan.env" ]; then
		# shellcheck disable=SC1091
		. "$OUT/plan.env"
		log "--resume-failed: the plan of the first run ($(wc -l < "$OUT/jobs.tsv") models, ${TRAIN_S} s of training each)"
	else
		left=$(awk -v b="$BUDGET_S" -v e="$t_ingest" 'BEGIN { printf "%d", b - e }')
		reserve=$(( BUDGET_S * 2 / 100 ))
		[ "$reserve" -ge 10 ] || reserve=10
		# the models of a collection: the seeds x archs given, or --members
		# (the archs in turn), then as many more as fill the last wave
		if [ -n "$SEEDS_GIVEN" ]; then
			per=$(( $(echo "$SEEDS" | wc -w) * $(echo "${ARCHS:-x}" | wc -w) ))
		else
			per=$MEMBERS
		fi
		waves=$(( (ncoll * per + JOBS - 1) / JOBS ))
		njobs=$(( waves * JOBS ))
		[ -n "$SEEDS_GIVEN" ] && njobs=$(( ncoll * per ))
		slot=$(( (left - reserve) / waves ))
		[ "$slot" -ge 10 ] || die "--budget $BUDGET: $t_ingest s went on the ingest, $left s are left: too little for $waves waves of models (a larger budget, or fewer --members)" 1
		# a job is the training, then the predictions of valid and test:
		# sage-train counts them in its seconds (collection.sh gives it
		# --then-predict, by the splits' sizes: on full-size splits they
		# take minutes); the other 10% of the slot: the processes' start,
		# the scoring, what those estimates miss
		TRAIN_S=$(( slot * 90 / 100 ))
		MIN_TRAIN=$(( TRAIN_S / 10 ))
		[ "$MIN_TRAIN" -ge 15 ] || MIN_TRAIN=15
		# every training and its predictions end by the deadline (a rerun of
		# failed jobs has none)
		deadline_args=(--deadline "$(( ${T0%.*} + BUDGET_S - reserve - (slot - TRAIN_S) ))"
			--min-train-seconds "$MIN_TRAIN")
		# past deadline - min-train-seconds a model would be skipped: the
		# jobs left take none, at once
		until_args=(--until "$(( ${T0%.*} + BUDGET_S - reserve - (slot - TRAIN_S) - MIN_TRAIN ))")
		: > "$OUT/jobs.tsv.tmp"
		i=0
		for c in $COLLS; do
			slug=$(coll_slug "$c")
			n=$per
			extra=$(( njobs - ncoll * per ))
			[ "$i" -lt "$extra" ] && n=$(( n + (extra - i + ncoll - 1) / ncoll ))
			arr=()
			if [ -n "$SEEDS_GIVEN" ]; then
				for s in $SEEDS; do
					if [ -z "$ARCHS" ]; then arr+=("seed$s	$s	"); else
						for a in $ARCHS; do arr+=("seed$s-$a	$s	$a"); done
					fi
				done
			else
				for (( k = 0; k < n; k++ )); do arr+=("$(member "$k")"); done
			fi
			t=""
			for m in "${arr[@]}"; do
				printf '%s\t%s\tplan\n' "$c" "$m" >> "$OUT/jobs.tsv.tmp"
				t="$t ${m%%	*}"
			done
			eval "TAGS_$slug=\${t# }"
			eval "NPLAN_$slug=${#arr[@]}"
			i=$(( i + 1 ))
		done
		# the time a model hands back (--patience) pays for more: up to
		# --max-members per collection, each run only while
		# --min-train-seconds remain before the deadline, queued member K
		# of every collection in turn; which runs next is next-model.sh's
		# choice (--queue)
		nbonus=0
		if [ "$PATIENCE" -gt 0 ] && [ -z "$SEEDS_GIVEN" ]; then
			nmin=$per
			for (( k = nmin; k < MAX_MEMBERS; k++ )); do
				for c in $COLLS; do
					slug=$(coll_slug "$c")
					eval "n=\$NPLAN_$slug"
					[ "$k" -lt "$n" ] && continue
					m=$(member "$k")
					printf '%s\t%s\tmore\n' "$c" "$m" >> "$OUT/jobs.tsv.tmp"
					eval "TAGS_$slug=\"\$TAGS_$slug ${m%%	*}\""
					nbonus=$(( nbonus + 1 ))
				done
			done
		fi
		mv -f "$OUT/jobs.tsv.tmp" "$OUT/jobs.tsv"
		{
			echo "TRAIN_S=$TRAIN_S"
			echo "MIN_TRAIN=$MIN_TRAIN"
			for c in $COLLS; do
				slug=$(coll_slug "$c")
				eval "echo \"TAGS_$slug='\$TAGS_$slug'\""
			done
		} > "$OUT/plan.env"
		{
			echo "budget: $BUDGET ($BUDGET_S s) on $JOBS jobs of $THREADS threads"
			echo "ingest: $ncoll collections in $t_ingest s"
			echo "models: $(( $(wc -l < "$OUT/jobs.tsv") - nbonus )) in $waves waves of $JOBS jobs, $slot s per job: $TRAIN_S s of training and predictions (sage-train --seconds, --then-predict)"
			if [ "$PATIENCE" -gt 0 ]; then
				echo "patience: $PATIENCE rounds (sage-train --patience); $nbonus more models queued (at most $MAX_MEMBERS per collection), each run while $MIN_TRAIN s of training (and the predictions of an earlier model of its collection) remain before the deadline, $(( BUDGET_S - reserve - (slot - TRAIN_S) )) s into the run; the next one $( [ "$QUEUE_BY" = time ] && echo "of the collection whose models have taken the fewest seconds so far" || echo "of the collections in turn") (--queue $QUEUE_BY)"
			fi
			for c in $COLLS; do
				slug=$(coll_slug "$c")
				eval "echo \"  $c: \$TAGS_$slug\""
			done
			echo "reserve: $reserve s for the ensembles (weights $( [ "$FIT" = on ] && echo "fitted on valid" || echo equal), scores as $NORM), the scores and the submission"
		} > "$OUT/plan.txt"
	fi
	sed 's/^/all.sh: plan: /' "$OUT/plan.txt" >&2
	# every model of a collection trains on the collection's one ingest
	while IFS='	' read -r c t s a k; do
		slug=$(coll_slug "$c")
		mkdir -p "$OUT/$slug/$t"
		# an earlier run's model under this tag is not one of this run's
		# (a model no job takes leaves nothing behind)
		[ -n "$RESUME" ] || rm_model "$OUT/$slug/$t"
		if [ ! -L "$OUT/$slug/$t/data" ]; then
			rm -rf "$OUT/$slug/$t/data"
			ln -s ../ingest/data "$OUT/$slug/$t/data"
		fi
	done < "$OUT/jobs.tsv"
	# a job takes the next model of the queue (next-model.sh): a claim
	# (OUT/claims/SLUG/TAG) with its start, exit code and seconds; a rerun
	# of failed jobs frees the claims of the models that did not finish
	if [ -n "$RESUME" ]; then
		for d in "$OUT"/claims/*/*/; do
			[ -d "$d" ] || continue
			[ "$(cat "$d/rc" 2>/dev/null)" = 0 ] || rm -rf "$d"
		done
	else
		rm -rf "$OUT/claims"
	fi
	set +e
	"${par[@]}" --joblog "$OUT/joblog" "$PIPELINES_DIR/next-model.sh" --queue "$OUT/jobs.tsv" \
		--claims "$OUT/claims" --by "$QUEUE_BY" --job "{}" "${until_args[@]+"${until_args[@]}"}" \
		-- "$PIPELINES_DIR/collection.sh" --data "$DATA" \
		--out "$OUT" --from train --threads "$THREADS" \
		--train-seconds "$TRAIN_S" --patience "$PATIENCE" \
		"${deadline_args[@]+"${deadline_args[@]}"}" "${PASS[@]+"${PASS[@]}"}" ::: $(seq "$(wc -l < "$OUT/jobs.tsv")")
	rc=$?
	set -e
	[ "$rc" -eq 0 ] || die "$rc job(s) failed; see $OUT/joblog and rerun with --resume-failed" 1
	# what ran: the models with predictions (a queued model the deadline
	# left no time for is skipped)
	sed -i '/^ran:/,$d' "$OUT/plan.txt"   # a rerun says it again
	{
		echo "ran:"
		for c in $COLLS; do
			slug=$(coll_slug "$c")
			eval "ctags=\$TAGS_$slug"
			t="" k=0 n=0
			for m in $ctags; do
				n=$(( n + 1 ))
				[ -f "$OUT/$slug/$m/pred-valid.mp" ] || [ -f "$OUT/$slug/$m/pred-test.mp" ] || continue
				t="$t $m" k=$(( k + 1 ))
			done
			echo "  $c: $k of $n models:$t"
		done
	} >> "$OUT/plan.txt"
	sed -n '/^ran:/,$s/^/all.sh: /p' "$OUT/plan.txt" >&2
}

what="$(echo "$COLLS" | wc -w) collections x $(echo "$SEEDS" | wc -w) seeds"
[ -n "$ARCHS" ] && what="$what x $(echo "$ARCHS" | wc -w) archs"
if [ -n "$BUDGET_S" ]; then
	:   # plan_budget says
elif [ -n "$SSHLOGINFILE" ] && [ -z "$JOBS_GIVEN" ]; then
	log "running $what on the hosts of $SSHLOGINFILE, jobs of $THREADS threads"
else
	log "running $what, $JOBS jobs of $THREADS threads"
fi
if [ -z "$BUDGET_S" ]; then
	set +e
	if [ -z "$ARCHS" ]; then
		"${par[@]}" --joblog "$OUT/joblog" "$PIPELINES_DIR/collection.sh" --data "$DATA" --out "$OUT" --tag "seed{2}" --seed "{2}" \
			--threads "$THREADS" "${PASS[@]+"${PASS[@]}"}" "{1}" ::: $COLLS ::: $SEEDS
	else
		"${par[@]}" --joblog "$OUT/joblog" "$PIPELINES_DIR/collection.sh" --data "$DATA" --out "$OUT" --tag "seed{2}-{3}" \
			--seed "{2}" --arch "{3}" --threads "$THREADS" "${PASS[@]+"${PASS[@]}"}" "{1}" \
			::: $COLLS ::: $SEEDS ::: $ARCHS
	fi
	rc=$?
	set -e
	if [ "$rc" -ne 0 ]; then
		die "$rc job(s) failed; see $OUT/joblog and rerun with --resume-failed" 1
	fi
	for c in $COLLS; do eval "TAGS_$(coll_slug "$c")=\$TAGS"; done
else
	plan_budget
fi
# per collection: the ensemble of its runs (seeds, archs); with --fit on
# (auto: several archs), weights fitted on the valid split (rank-ensemble
# --fit keeps them equal unless the fit wins under leave-one-graph-out
# cross-validation) and applied to test
valid_preds=() test_preds=() truths=()
for c in $COLLS; do
	slug=$(coll_slug "$c")
	eval "ctags=\$TAGS_$slug"
	first=${ctags%% *}
	vp=() tp=()
	for t in $ctags; do
		[ -f "$OUT/$slug/$t/pred-valid.mp" ] && vp+=("$OUT/$slug/$t/pred-valid.mp")
		[ -f "$OUT/$slug/$t/pred-test.mp" ] && tp+=("$OUT/$slug/$t/pred-test.mp")
	done
	wopt=""
	if [ ${#vp[@]} -gt 0 ]; then
		truth="$OUT/$slug/$first/data/valid.mp"
		if [ ${#vp[@]} -gt 1 ] && [ "$FIT" = on ]; then
			run_stage "$c: ensemble valid (${#vp[@]} models, weights fitted on valid)" "$OUT/$slug/ens-valid.mp" \
				"rank-ensemble --norm $NORM --fit $(q "$truth") --fit-report $(q "$OUT/$slug/ens-weights.json") $(q "${vp[@]}")"
			[ ${#tp[@]} -eq ${#vp[@]} ] &&
				wopt="--weights $(q "$(jq -r '.weights_arg' "$OUT/$slug/ens-weights.json")")"
		else
			rm -f "$OUT/$slug/ens-weights.json"   # an earlier run's fit
			run_stage "$c: ensemble valid (${#vp[@]} model$( [ ${#vp[@]} -gt 1 ] && echo "s, equal weights"))" \
				"$OUT/$slug/ens-valid.mp" "rank-ensemble --norm $NORM $(q "${vp[@]}")"
		fi
		valid_preds+=("$OUT/$slug/ens-valid.mp")
		truths+=("$truth")
		run_stage "$c: score valid ensemble" "$OUT/$slug/eval-ens-valid.txt" \
			"rank-eval --ranks $(q "$OUT/$slug/ranks-valid.tsv") --truth $(q "$truth") $(q "$OUT/$slug/ens-valid.mp")"
	fi
	if [ ${#tp[@]} -gt 0 ]; then
		run_stage "$c: ensemble test (${#tp[@]} models)" "$OUT/$slug/ens-test.mp" \
			"rank-ensemble --norm $NORM $wopt $(q "${tp[@]}")"
		test_preds+=("$OUT/$slug/ens-test.mp")
	fi
done

if [ ${#valid_preds[@]} -gt 0 ]; then
	run_stage "score valid" "$OUT/scores-valid.txt" \
		"mp-cat $(q "${valid_preds[@]}") > $(q "$OUT/ens-valid.mp.tmp") && mv $(q "$OUT/ens-valid.mp.tmp" "$OUT/ens-valid.mp") && mp-cat $(q "${truths[@]}") | rank-eval --json-out $(q "$OUT/scores-valid.json") --truth - $(q "$OUT/ens-valid.mp")"
fi
if [ ${#test_preds[@]} -gt 0 ]; then
	run_stage "submission" - \
		"mp-cat $(q "${test_preds[@]}") | rank-ensemble --csv $(q "$OUT/submission.csv") -"
fi
if [ "$PLOTS" = 1 ]; then
	if command -v gnuplot >/dev/null; then
		"$PIPELINES_DIR/plot.sh" "$OUT" || log "plots failed (the scores stand)"
	else
		log "gnuplot not installed: no plots"
	fi
fi
[ -f "$OUT/scores-valid.txt" ] && cat "$OUT/scores-valid.txt"
# --profile: every job's filters, one line each, then per collection, step
# and filter: runs, seconds (all runs, the longest) and the peak RSS
if [ -n "$PROFILE" ]; then
	{
		printf 'collection\ttag\tstep\tfilter\twall_s\tpeak_rss_kb\texit\n'
		for c in $COLLS; do
			cat "$OUT/$(coll_slug "$c")"/*/profile.tsv 2>/dev/null || true
		done
	} > "$OUT/profile.tsv"
	awk -F '\t' 'NR > 1 {
		split($3, w, " "); k = $1 "\t" w[1] "\t" $4
		if (!(k in n)) order[++nk] = k
		n[k]++; s[k] += $5; if ($5 > mx[k]) mx[k] = $5; if ($6 > rss[k]) rss[k] = $6
		if ($6 > peak) { peak = $6; where = $4 " (" $1 ", " $2 ", " $3 ")" }
	}
	END {
		printf "%-20s %-8s %-18s %5s %10s %10s %10s\n", "collection", "step", "filter", "runs", "total s", "longest s", "peak MB"
		for (i = 1; i <= nk; i++) {
			split(order[i], f, "\t")
			printf "%-20s %-8s %-18s %5d %10.1f %10.1f %10.1f\n", f[1], f[2], f[3], n[order[i]], s[order[i]], mx[order[i]], rss[order[i]] / 1024
		}
		if (nk) printf "peak RSS: %.1f MB, %s\n", peak / 1024, where
	}' "$OUT/profile.tsv" > "$OUT/profile.txt"
	sed 's/^/all.sh: profile: /' "$OUT/profile.txt" >&2
fi
if [ -n "$BUDGET_S" ]; then
	echo "finished in $(elapsed "$T0") s of a budget of $BUDGET_S s" >> "$OUT/plan.txt"
	log "finished in $(elapsed "$T0") s (budget $BUDGET_S s; what ran: $OUT/plan.txt); submission: $OUT/submission.csv"
else
	log "finished in $(elapsed "$T0") s; submission: $OUT/submission.csv"
fi
