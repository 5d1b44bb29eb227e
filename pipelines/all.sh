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

  -d, --data DIR          dataset root holding npz/ (default: \$TPU_DATA or data/tpugen-small)
  -o, --out DIR           output root (default: out)
      --collections LIST  comma-separated (default: all five)
      --seeds LIST        comma-separated seeds; one model per seed and
                          collection, ensembled (default: 1)
      --archs LIST        comma-separated sage-train archs (sage, gat, gin,
                          appnp, gps, mlp); one model per arch too, all
                          ensembled (default: the conf file's TRAIN_OPTS)
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
  -s, --set KEY=VAL       passed to every collection.sh (repeatable)
      --reduce R          passed to every collection.sh
      --no-plots          skip the PNG plots
  -h, --help              this help

Writes OUT/submission.csv (only when every job succeeded), OUT/scores-valid.txt
and .json, OUT/joblog, OUT/plots/*.png, and per collection OUT/SLUG/ens-{valid,test}.mp.
EOF
}

DATA=${TPU_DATA:-data/tpugen-small}
OUT=out
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
while [ $# -gt 0 ]; do
	case $1 in
	-d|--data) DATA=$2; shift 2 ;;
	-o|--out) OUT=$2; shift 2 ;;
	--collections) COLLS=${2//,/ }; shift 2 ;;
	--seeds) SEEDS=${2//,/ }; shift 2 ;;
	--archs) ARCHS=${2//,/ }; shift 2 ;;
	-j|--jobs) JOBS=$2; JOBS_GIVEN=1; shift 2 ;;
	--threads) THREADS=$2; shift 2 ;;
	--sshloginfile) SSHLOGINFILE=$2; shift 2 ;;
	--resume-failed) RESUME=--resume-failed; shift ;;
	--record) RECORD=$2; shift 2 ;;
	-s|--set) PASS+=(--set "$2"); shift 2 ;;
	--reduce) PASS+=(--reduce "$2"); shift 2 ;;
	--no-plots) PLOTS=0; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "all.sh: unknown argument $1" >&2; echo "usage: all.sh [options]" >&2; exit 2 ;;
	esac
done
case $JOBS in ''|*[!0-9]*|0) die "--jobs: '$JOBS' is not a positive number" 2 ;; esac
for c in $COLLS; do
	case " $ALL_COLLECTIONS " in *" $c "*) ;; *) die "unknown collection '$c'" 2 ;; esac
done
for s in $SEEDS; do
	case $s in ''|*[!0-9]*) die "--seeds: '$s' is not a number" 2 ;; esac
done
for a in $ARCHS; do
	case " sage gat gin appnp gps mlp " in *" $a "*) ;; *) die "--archs: unknown arch '$a'" 2 ;; esac
done
# the runs of a collection: tag seedS, or seedS-ARCH with --archs
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

par=(parallel --quote --joblog "$OUT/joblog" --jobs "$JOBS" --halt never --line-buffer --tag)
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
what="$(echo "$COLLS" | wc -w) collections x $(echo "$SEEDS" | wc -w) seeds"
[ -n "$ARCHS" ] && what="$what x $(echo "$ARCHS" | wc -w) archs"
if [ -n "$SSHLOGINFILE" ] && [ -z "$JOBS_GIVEN" ]; then
	log "running $what on the hosts of $SSHLOGINFILE, jobs of $THREADS threads"
else
	log "running $what, $JOBS jobs of $THREADS threads"
fi
set +e
if [ -z "$ARCHS" ]; then
	"${par[@]}" "$PIPELINES_DIR/collection.sh" --data "$DATA" --out "$OUT" --tag "seed{2}" --seed "{2}" \
		--threads "$THREADS" "${PASS[@]+"${PASS[@]}"}" "{1}" ::: $COLLS ::: $SEEDS
else
	"${par[@]}" "$PIPELINES_DIR/collection.sh" --data "$DATA" --out "$OUT" --tag "seed{2}-{3}" \
		--seed "{2}" --arch "{3}" --threads "$THREADS" "${PASS[@]+"${PASS[@]}"}" "{1}" \
		::: $COLLS ::: $SEEDS ::: $ARCHS
fi
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
	die "$rc job(s) failed; see $OUT/joblog and rerun with --resume-failed" 1
fi

# per collection: the ensemble of its runs (seeds, archs)
valid_preds=() test_preds=() truths=()
for c in $COLLS; do
	slug=$(coll_slug "$c")
	for split in valid test; do
		preds=()
		for t in $TAGS; do
			[ -f "$OUT/$slug/$t/pred-$split.mp" ] && preds+=("$OUT/$slug/$t/pred-$split.mp")
		done
		[ ${#preds[@]} -gt 0 ] || continue
		run_stage "$c: ensemble $split (${#preds[@]} models)" "$OUT/$slug/ens-$split.mp" \
			"rank-ensemble --norm rank ${preds[*]}"
		if [ "$split" = valid ]; then
			truth="$OUT/$slug/${TAGS%% *}/data/valid.mp"
			valid_preds+=("$OUT/$slug/ens-valid.mp")
			truths+=("$truth")
			run_stage "$c: score valid ensemble" "$OUT/$slug/eval-ens-valid.txt" \
				"rank-eval --ranks $OUT/$slug/ranks-valid.tsv --truth $truth $OUT/$slug/ens-valid.mp"
		else
			test_preds+=("$OUT/$slug/ens-test.mp")
		fi
	done
done

if [ ${#valid_preds[@]} -gt 0 ]; then
	run_stage "score valid" "$OUT/scores-valid.json" \
		"mp-cat ${valid_preds[*]} > $OUT/ens-valid.mp.tmp && mv $OUT/ens-valid.mp.tmp $OUT/ens-valid.mp && mp-cat ${truths[*]} | rank-eval --json --truth - $OUT/ens-valid.mp"
	run_stage "score valid (table)" "$OUT/scores-valid.txt" \
		"mp-cat ${truths[*]} | rank-eval --truth - $OUT/ens-valid.mp"
fi
if [ ${#test_preds[@]} -gt 0 ]; then
	run_stage "submission" - \
		"mp-cat ${test_preds[*]} | rank-ensemble --csv $OUT/submission.csv -"
fi
if [ "$PLOTS" = 1 ]; then
	if command -v gnuplot >/dev/null; then
		"$PIPELINES_DIR/plot.sh" "$OUT" || log "plots failed (the scores stand)"
	else
		log "gnuplot not installed: no plots"
	fi
fi
[ -f "$OUT/scores-valid.txt" ] && cat "$OUT/scores-valid.txt"
log "finished in $(elapsed "$T0") s; submission: $OUT/submission.csv"
