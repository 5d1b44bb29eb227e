#!/usr/bin/env bash
# collection.sh: one collection end to end.
#   npz2mp (train, valid, test) -> reduce (prune-hop | dijkstra-compress) ->
#   encode-base7 -> sage-train (with valid) -> sage-predict (valid, test) ->
#   rank-eval on valid.
set -euo pipefail
PROG=collection.sh
. "$(dirname "$(readlink -f "$0")")/lib.sh"

usage() {
	cat <<EOF
usage: collection.sh [options] COLLECTION

Run one collection end to end: ingest the train/valid/test .npz files, reduce
the graphs, pack the configs, train a model with validation, predict valid and
test, and score valid.  COLLECTION is one of:
  $ALL_COLLECTIONS

  -d, --data DIR      dataset root holding npz/ (default: \$TPU_DATA or data/tpugen-small)
  -o, --out DIR       output root (default: out); results go to DIR/SLUG/TAG/
  -c, --conf FILE     stage options (default: pipelines/conf/SLUG.conf)
  -s, --set KEY=VAL   override one variable of the conf file (repeatable)
      --reduce R      prune, dijkstra or none (the conf file's REDUCE)
      --tag NAME      name of this run, for ensembles (default: main)
      --seed S        seed for sampling and training (default 1)
      --arch A        train with sage-train --arch A (sage, gat, gin, appnp,
                      gps, mlp), after the conf's TRAIN_OPTS (default: as
                      TRAIN_OPTS says)
      --threads N     threads for training and prediction (default 1)
      --record DIR    also keep every stage's output as DIR/SLUG/STAGE.mp
                      (pipelines/replay.sh reruns one of them)
      --profile       run every filter under GNU time (/usr/bin/time) and
                      append its wall seconds and peak RSS to
                      DIR/SLUG/TAG/profile.tsv (all.sh --profile sums them)
      --from STAGE    start at ingest, train, predict or eval (reuse earlier outputs)
      --ingest-only   stop after the ingest (all.sh --budget shares it among
                      the models of a collection)
      --train-seconds S  train and predict in S seconds (sage-train --seconds
                      S, in place of the --epochs or --steps of TRAIN_OPTS;
                      --then-predict counts the predictions of valid and
                      test in it, by their size)
      --patience R    stop training once the valid score's best is R rounds
                      old and as old as the run was then (sage-train --patience)
      --deadline T    with --train-seconds: the training and the predictions
                      end by T (Unix time, seconds): S shrinks to what is
                      left; with less than --min-train-seconds left after
                      the predictions (as long as the longest of another
                      model of the collection under DIR took), the model is
                      skipped (exit 0, a line says so, no model or
                      predictions)
      --min-train-seconds M  (default 15)
  -m, --model FILE    predict with this model (a sage-train model of the same
                      kind, tile or layout) instead of training one: for a
                      collection with test files but no train files
  -h, --help          this help

SLUG is the collection with ':' replaced by '_' (layout_xla_random).
Outputs (each written to a temporary name and renamed when complete):
  data/{train,valid,test}.mp  model.mp  train-log.jsonl
  pred-valid.mp  pred-test.mp  eval-valid.txt  eval-valid.json
EOF
}

DATA=${TPU_DATA:-data/tpugen-small}
OUT=out
CONF=""
SETS=()
REDUCE_ARG=""
TAG=main
SEED=1
THREADS=1
RECORD=${RECORD_DIR:-}
FROM=ingest
ARCH=""
MODEL=""
INGEST_ONLY=""
TRAIN_SECONDS=""
PATIENCE=""
DEADLINE=""
MIN_TRAIN=15
PROFILE=""
while [ $# -gt 0 ]; do
	case $1 in
	-d|--data) DATA=$2; shift 2 ;;
	-o|--out) OUT=$2; shift 2 ;;
	-c|--conf) CONF=$2; shift 2 ;;
	-s|--set) SETS+=("$2"); shift 2 ;;
	--reduce) REDUCE_ARG=$2; shift 2 ;;
	--tag) TAG=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	--threads) THREADS=$2; shift 2 ;;
	--record) RECORD=$2; shift 2 ;;
	--from) FROM=$2; shift 2 ;;
	--arch) ARCH=$2; shift 2 ;;
	-m|--model) MODEL=$2; shift 2 ;;
	--ingest-only) INGEST_ONLY=1; shift ;;
	--profile) PROFILE=1; shift ;;
	--train-seconds) TRAIN_SECONDS=$2; shift 2 ;;
	--patience) PATIENCE=$2; shift 2 ;;
	--deadline) DEADLINE=$2; shift 2 ;;
	--min-train-seconds) MIN_TRAIN=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "collection.sh: unknown option $1" >&2; echo "usage: collection.sh [options] COLLECTION" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { echo "usage: collection.sh [options] COLLECTION" >&2; exit 2; }
COLL=$1
case " $ALL_COLLECTIONS " in *" $COLL "*) ;; *) die "unknown collection '$COLL'" 2 ;; esac
case $FROM in ingest|train|predict|eval) ;; *) die "--from: '$FROM' is not ingest, train, predict or eval" 2 ;; esac
case $SEED in ''|*[!0-9]*) die "--seed: '$SEED' is not a number" 2 ;; esac
case $THREADS in ''|*[!0-9]*|0) die "--threads: '$THREADS' is not a positive number" 2 ;; esac
case $TRAIN_SECONDS in
''|[0-9]|[0-9]*[0-9]) case $TRAIN_SECONDS in *[!0-9.]*|*.*.*) die "--train-seconds: '$TRAIN_SECONDS' is not a number of seconds" 2 ;; esac ;;
*) die "--train-seconds: '$TRAIN_SECONDS' is not a number of seconds" 2 ;;
esac
case " sage gat gin appnp gps mlp " in *" ${ARCH:-sage} "*) ;; *) die "--arch: unknown arch '$ARCH'" 2 ;; esac
case $PATIENCE in *[!0-9]*) die "--patience: '$PATIENCE' is not a number of rounds" 2 ;; esac
case $DEADLINE in *[!0-9]*) die "--deadline: '$DEADLINE' is not a Unix time in seconds" 2 ;; esac
case $MIN_TRAIN in ''|*[!0-9]*) die "--min-train-seconds: '$MIN_TRAIN' is not a number of seconds" 2 ;; esac
[ -z "$DEADLINE" ] || [ -n "$TRAIN_SECONDS" ] || die "--deadline needs --train-seconds" 2
SLUG=$(coll_slug "$COLL")
CONF=${CONF:-$PIPELINES_DIR/conf/$SLUG.conf}
[ -f "$CONF" ] || die "no conf file $CONF" 2
# shellcheck disable=SC1090
. "$CONF"
# --set KEY=VALUE: KEY must be one of the conf files' variables; assigned
# as is (no eval: the value and the key are never run)
CONF_VARS="NPZ_TRAIN_OPTS NPZ_EVAL_OPTS REDUCE PRUNE_OPTS DIJKSTRA_OPTS ENCODE_TRAIN_OPTS ENCODE_EVAL_OPTS TRAIN_OPTS PREDICT_OPTS"
for kv in "${SETS[@]+"${SETS[@]}"}"; do
	case $kv in *=*) ;; *) die "--set: '$kv' is not KEY=VALUE" 2 ;; esac
	key=${kv%%=*}
	case " $CONF_VARS " in
	*" $key "*) printf -v "$key" '%s' "${kv#*=}" ;;
	*) die "--set: '$key' is not a conf variable (one of $CONF_VARS)" 2 ;;
	esac
done
[ -n "$REDUCE_ARG" ] && REDUCE=$REDUCE_ARG
[ -n "$ARCH" ] && TRAIN_OPTS="${TRAIN_OPTS:-} --arch $ARCH"
if [ -n "$TRAIN_SECONDS" ]; then   # a time budget replaces the run's length
	TRAIN_OPTS=$(printf '%s\n' "${TRAIN_OPTS:-}" |
		sed -E 's/(^| )(--epochs|-e|--steps)( +|=)[0-9]+//g')
fi
case ${REDUCE:-none} in
prune) REDUCE_CMD="prune-hop $(qw "${PRUNE_OPTS:-}")" ;;
dijkstra) REDUCE_CMD="dijkstra-compress $(qw "${DIJKSTRA_OPTS:-}")" ;;
none) REDUCE_CMD="" ;;
*) die "REDUCE: '$REDUCE' is not prune, dijkstra or none" 2 ;;
esac
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=1

SRC="$DATA/npz/$(coll_dir "$COLL")"
has_npz() { [ -d "$1" ] && [ -n "$(find "$1" -name '*.npz' -print -quit)" ]; }
if [ -n "$MODEL" ]; then
	[ -f "$MODEL" ] || die "--model: no such file: $MODEL" 2
	MODEL=$(readlink -f "$MODEL")
elif ! has_npz "$SRC/train"; then
	if has_npz "$SRC/test"; then
		die "$COLL: test files but no train files in $SRC/train: nothing to train on (name a model with --model FILE)"
	fi
	die "$COLL: no training data in $SRC/train"
fi
W="$OUT/$SLUG/$TAG"
if [ -n "$DEADLINE" ] && { [ "$FROM" = ingest ] || [ "$FROM" = train ]; } && [ -z "$MODEL" ]; then
	# the time left before the deadline bounds the training and the
	# predictions (as long as another model's of this collection took, the
	# longest: OUT/SLUG/*/predict-seconds); too little: skip
	left=$(( DEADLINE - $(date +%s) ))
	pred_s=$({ cat "$OUT/$SLUG"/*/predict-seconds 2>/dev/null || true; } |
		awk '$1 + 0 > m { m = $1 + 0 } END { printf "%d", m + 0.999 }')
	if [ $(( left - pred_s )) -lt "$MIN_TRAIN" ]; then
		rm_model "$W"
		if [ "$pred_s" -gt 0 ]; then
			log "$COLL: $TAG skipped: $left s left before the deadline, less than the $MIN_TRAIN s a model needs and the $pred_s s its predictions take"
		else
			log "$COLL: $TAG skipped: $left s left before the deadline, less than the $MIN_TRAIN s a model needs"
		fi
		exit 0
	fi
	TRAIN_SECONDS=$(awk -v s="$TRAIN_SECONDS" -v l="$left" 'BEGIN { print (l < s ? l : s) }')
fi
[ -n "$TRAIN_SECONDS" ] && TRAIN_OPTS="$TRAIN_OPTS --seconds $TRAIN_SECONDS"
mkdir -p "$W/data"
[ -n "$RECORD" ] && mkdir -p "$RECORD/$SLUG"
T0=$(now)

# prof STEP FILTER: with --profile, the words that run FILTER under GNU time,
# which appends "COLLECTION TAG STEP FILTER WALL_S PEAK_RSS_KB EXIT"
# (tab-separated) to W/profile.tsv; else nothing
if [ -n "$PROFILE" ]; then
	[ -x /usr/bin/time ] || die "--profile: needs GNU time as /usr/bin/time (Debian's package time)" 3
	: > "$W/profile.tsv"
fi
prof() {
	[ -n "$PROFILE" ] || return 0
	printf '/usr/bin/time -q -a -o %s -f %s ' "$(q "$W/profile.tsv")" \
		"$(q "$COLL\t$TAG\t$1\t$2\t%e\t%M\t%x")"
}

# A chain of filters as one shell command; with --record, a tee after each
# filter keeps its output, and a .cmd file says how to replay it.
chain() {
	local split=$1 npzopts=$2 encopts=$3 cmd prev stage
	local stages=("npz2mp -q $(qw "$npzopts") $(q "$SRC/$split")")
	[ -n "$REDUCE_CMD" ] && stages+=("$REDUCE_CMD")
	stages+=("encode-base7 $(qw "$encopts")")
	cmd="" prev=""
	for s in "${stages[@]}"; do
		stage=${s%% *}
		[ -n "$cmd" ] && cmd="$cmd | "
		cmd="$cmd$(prof "ingest $split" "$stage")$s"
		if [ -n "$RECORD" ]; then
			local rec="$RECORD/$SLUG/$stage-$split.mp"
			cmd="$cmd | tee $(q "$rec")"
			printf '%s\n%s\n' "$s" "$prev" > "$RECORD/$SLUG/$stage-$split.cmd"
			prev=$rec
		fi
	done
	printf '%s' "$cmd"
}

# AWK_LIVE: the awk options that make awk act on each line as it arrives
# on a pipe: mawk (Debian's awk) reads a pipe in blocks, so sage-train's
# lines would wait for 4 KB or the end of the run (a full-scale model
# writes a few lines in 15 minutes) unless -W interactive, an option only
# mawk takes
AWK_LIVE=""
case $(awk -W version 2>/dev/null || true) in *mawk*) AWK_LIVE="-W interactive" ;; esac
export AWK_LIVE
# train_progress NAME: sage-train's stderr in; its round (or epoch) lines
# out as "collection.sh: NAME: train round R/N  loss L  valid METRIC V (best
# ...)  X s  ETA Y s" (X: the seconds of the rounds so far, the ETA from
# their mean), the first, the last and otherwise at most one every
# PROGRESS_EVERY seconds (default 10: a budgeted run has up to 250 rounds);
# its other lines as they are
train_progress() {
	# shellcheck disable=SC2086
	awk $AWK_LIVE -v name="$1" -v every="${PROGRESS_EVERY:-10}" '
	$1 == "sage-train:" && ($2 == "round" || $2 == "epoch") && $3 ~ /^[0-9]+\/[0-9]+$/ {
		split($3, rn, "/")
		loss = ""; valid = ""; secs = 0
		for (i = 4; i <= NF; i++) {
			if ($i == "loss") loss = $(i + 1)
			else if ($i == "valid") { valid = "  valid"; for (j = i + 1; j <= NF && $j != "s"; j++) if ($(j + 1) != "s") valid = valid " " $j }
			else if ($i == "s" && secs == 0) secs = $(i - 1)
		}
		total += secs
		if (rn[1] != 1 && rn[1] != rn[2] && total - shown < every) next
		shown = total
		eta = rn[1] > 0 ? total * (rn[2] - rn[1]) / rn[1] : 0
		printf "collection.sh: %s: train %s %d/%d  loss %s%s  %.1f s  ETA %.0f s\n", name, $2, rn[1], rn[2], loss, valid, total, eta
		fflush(); next
	}
	{ print; fflush() }'
}
export -f train_progress

if [ "$FROM" = ingest ]; then
	for split in train valid test; do
		[ "$split" = train ] && [ -n "$MODEL" ] && continue
		has_npz "$SRC/$split" || { log "no $split split in $SRC, skipped"; continue; }
		if [ "$split" = train ]; then
			c=$(chain train "${NPZ_TRAIN_OPTS:-} --seed $SEED" "${ENCODE_TRAIN_OPTS:-}")
		else
			c=$(chain "$split" "${NPZ_EVAL_OPTS:-}" "${ENCODE_EVAL_OPTS:-}")
		fi
		run_stage "$COLL: ingest $split" "$W/data/$split.mp" "$c"
	done
fi
if [ -n "$INGEST_ONLY" ]; then
	log "$COLL: ingested in $(elapsed "$T0") s -> $W/data"
	exit 0
fi

if [ -n "$MODEL" ]; then
	if [ "$FROM" = ingest ] || [ "$FROM" = train ]; then
		log "$COLL: no training: predicting with $MODEL"
		cp "$MODEL" "$W/model.mp.tmp" && mv -f "$W/model.mp.tmp" "$W/model.mp"
	fi
elif [ "$FROM" = ingest ] || [ "$FROM" = train ]; then
	valid_opt=""
	[ -f "$W/data/valid.mp" ] && valid_opt="--valid $(q "$W/data/valid.mp")"
	# a time budget pays for the predictions too: as many valid splits' worth
	# as valid and test hold (bytes, a proxy for configs x nodes)
	if [ -n "$TRAIN_SECONDS" ] && [ -n "$valid_opt" ]; then
		vb=$(stat -L -c %s "$W/data/valid.mp") tb=0
		[ -f "$W/data/test.mp" ] && tb=$(stat -L -c %s "$W/data/test.mp")
		[ "$vb" -gt 0 ] &&
			valid_opt="$valid_opt --then-predict $(awk -v v="$vb" -v t="$tb" 'BEGIN { printf "%.3f", (v + t) / v }')"
	fi
	# --patience watches the valid score: without a valid split, it is off
	[ -n "$PATIENCE" ] && [ "$PATIENCE" -gt 0 ] && [ -n "$valid_opt" ] &&
		valid_opt="$valid_opt --patience $PATIENCE"
	# sage-train writes model.mp atomically; the checkpoint lets a killed run resume
	resume=""
	[ -f "$W/checkpoint.mp" ] && resume="--resume"
	# sage-train's progress (stderr, one line a round or epoch) goes through
	# train_progress; its stdout stays stdout
	run_stage "$COLL: train" - \
		"{ $(prof train sage-train)sage-train $(qw "${TRAIN_OPTS:-}") --seed $SEED --threads $THREADS $valid_opt $resume \
		 --log $(q "$W/train-log.jsonl") --checkpoint $(q "$W/checkpoint.mp") --out $(q "$W/model.mp") \
		 < $(q "$W/data/train.mp") 2>&1 1>&3 3>&- | train_progress $(q "$COLL ($TAG)") >&2; } 3>&1"
	rm -f "$W/checkpoint.mp"
fi

if [ "$FROM" != eval ]; then
	TP=$(now)
	for split in valid test; do
		[ -f "$W/data/$split.mp" ] || continue
		run_stage "$COLL: predict $split" "$W/pred-$split.mp" \
			"$(prof "predict $split" sage-predict)sage-predict $(qw "${PREDICT_OPTS:-}") --threads $THREADS --model $(q "$W/model.mp") < $(q "$W/data/$split.mp")"
	done
	# how long this model's predictions took: the next model's --deadline
	# counts them (above)
	elapsed "$TP" > "$W/predict-seconds"
fi

if [ -f "$W/pred-valid.mp" ]; then
	run_stage "$COLL: eval valid" "$W/eval-valid.txt" \
		"$(prof "eval valid" rank-eval)rank-eval --json-out $(q "$W/eval-valid.json") --truth $(q "$W/data/valid.mp") $(q "$W/pred-valid.mp")"
	cat "$W/eval-valid.txt" >&2
fi
log "$COLL: finished in $(elapsed "$T0") s -> $W"
