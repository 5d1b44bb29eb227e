#!/usr/bin/env bash
# Pre-training on every layout collection, then fine-tuning on one
# (sage-train --oversample, then --init; the 3rd place's recipe), against
# training on the one collection from scratch, with the same arch, epochs
# and data; and, as controls, from scratch with twice the epochs (the
# fine-tuned model has seen EPOCHS of pre-training and EPOCHS of
# fine-tuning) and the pre-trained model alone.  Per layout collection and
# seed: rank-eval's valid score of each, through pipelines/collection.sh
# (one ingest, reused).
#
# usage: bench/pretrain.sh [EPOCHS] [WORKDIR] [SCALE]
#   EPOCHS   epochs of the pre-training, of each fine-tuning and of each
#            training from scratch (default 12)
#   WORKDIR  scratch directory (default: a new temporary one); the dataset
#            is generated into WORKDIR/data once and reused
#   SCALE    tpugen scale: tiny, small (default), medium or full
# WORLD=copy: the tpugen world of the data (default tpu; one WORKDIR per
# world): a default is chosen on several worlds and checked on one kept out
# (bench/generalization.sh)
# ARCH=A the arch of every model (default sage); SEEDS (default "1 2");
# MODEL="--hidden 64 --layers 3" the model options of every model;
# OUT=FILE also writes the page there.
set -euo pipefail
cd "$(dirname "$0")/.."
PROG=pretrain.sh
. bench/lib.sh
bench_cmd bench/pretrain.sh "ARCH SEEDS MODEL WORLD" "$@"
EPOCHS=${1:-12}
W=${2:-$(mktemp -d)}
SCALE=${3:-small}
ARCH=${ARCH:-sage}
SEEDS=${SEEDS:-1 2}
MODEL=${MODEL:---hidden 64 --layers 3}
OUT=${OUT:-}
COLLS="layout:xla:random layout:xla:default layout:nlp:random layout:nlp:default"
PY=/usr/bin/python3
THREADS=2
case $EPOCHS in ''|*[!0-9]*|0) die "EPOCHS: '$EPOCHS' is not a positive number" 2 ;; esac
case $SCALE in tiny|small|medium|full) ;; *) die "SCALE: '$SCALE' is not tiny, small, medium or full" 2 ;; esac
# shellcheck disable=SC2194
case " sage gat gin appnp gps mlp " in *" $ARCH "*) ;; *) die "ARCH: unknown arch '$ARCH'" 2 ;; esac
for s in $SEEDS; do
	case $s in ''|*[!0-9]*) die "SEEDS: '$s' is not a number" 2 ;; esac
done

bench_setup "$W" "$SCALE"
W=$W_ABS
score() { bench_score "$@"; }

# one line per (collection, seed): collection seed scratch fine-tuned
# scratch-2x pre-trained-alone
RES="$W/results.tsv"
: > "$RES"
for seed in $SEEDS; do
	# from scratch (also the ingest the others reuse)
	for coll in $COLLS; do
		slug=${coll//:/_}
		rm -rf "$W/out/$slug/scratch-s$seed" "$W/out/$slug/ft-s$seed" "$W/out/$slug/scratch2x-s$seed"
		pipelines/collection.sh --data "$W/data" --out "$W/out" --tag "scratch-s$seed" \
			--seed "$seed" --threads "$THREADS" \
			--set "TRAIN_OPTS=--arch $ARCH $MODEL --epochs $EPOCHS --configs-per-graph 64" \
			"$coll" 2> "$W/logs/$slug-scratch-s$seed.log"
		say "$coll seed $seed: from scratch, valid $(score "$W/out/$slug/scratch-s$seed" "$coll")"
		d="$W/out/$slug/scratch2x-s$seed"
		bench_link_ingest "$W/out/$slug/scratch-s$seed/data" "$d"
		pipelines/collection.sh --data "$W/data" --out "$W/out" --tag "scratch2x-s$seed" --from train \
			--seed "$seed" --threads "$THREADS" \
			--set "TRAIN_OPTS=--arch $ARCH $MODEL --epochs $((2 * EPOCHS)) --configs-per-graph 64" \
			"$coll" 2> "$W/logs/$slug-scratch2x-s$seed.log"
		say "$coll seed $seed: from scratch, $((2 * EPOCHS)) epochs, valid $(score "$d" "$coll")"
	done
	# pre-training: every layout collection's training stream, each as
	# often per epoch as the largest (--oversample); no valid split (each
	# collection's is kept for its fine-tuning)
	trains=()
	for coll in $COLLS; do trains+=("$W/out/${coll//:/_}/scratch-s$seed/data/train.mp"); done
	t0=$(date +%s)
	# shellcheck disable=SC2086
	mp-cat "${trains[@]}" | sage-train --quiet --arch "$ARCH" $MODEL --epochs "$EPOCHS" \
		--configs-per-graph 64 --oversample --seed "$seed" --threads "$THREADS" \
		--out "$W/pre-s$seed.mp" 2> "$W/logs/pretrain-s$seed.log"
	say "seed $seed: pre-trained on the four layout collections in $(( $(date +%s) - t0 )) s"
	# fine-tuning: the same epochs, starting from the pre-trained weights
	for coll in $COLLS; do
		slug=${coll//:/_}
		d="$W/out/$slug/ft-s$seed"
		bench_link_ingest "$W/out/$slug/scratch-s$seed/data" "$d"
		pipelines/collection.sh --data "$W/data" --out "$W/out" --tag "ft-s$seed" --from train \
			--seed "$seed" --threads "$THREADS" \
			--set "TRAIN_OPTS=--init $W/pre-s$seed.mp --epochs $EPOCHS --configs-per-graph 64" \
			"$coll" 2> "$W/logs/$slug-ft-s$seed.log"
		a=$(score "$W/out/$slug/scratch-s$seed" "$coll") b=$(score "$d" "$coll")
		c=$(score "$W/out/$slug/scratch2x-s$seed" "$coll")
		# the pre-trained model alone, on the same valid stream
		sage-predict --threads "$THREADS" --model "$W/pre-s$seed.mp" "$d/data/valid.mp" |
			rank-eval --json --truth "$d/data/valid.mp" - > "$W/pre-$slug-s$seed.json"
		p=$("$PY" -c 'import json, sys; print("%.6f" % json.load(open(sys.argv[1]))["overall"]["score"])' "$W/pre-$slug-s$seed.json")
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$coll" "$seed" "$a" "$b" "$c" "$p" >> "$RES"
		say "$coll seed $seed: fine-tuned, valid $b (from scratch $a, $((2 * EPOCHS)) epochs $c; pre-trained alone $p)"
	done
done

page() {
	cat <<-EOF
		# Pre-training on every layout collection, then fine-tuning

		\`bench/pretrain.sh [EPOCHS] [WORKDIR] [SCALE]\` trains, per seed, one model
		on the training graphs of all four layout collections together
		(\`mp-cat\`, \`sage-train --oversample\`), then fine-tunes it on each
		collection (\`sage-train --init\`, through \`pipelines/collection.sh\`), and
		compares each with a model of the same arch and size trained on that
		collection alone from scratch, for the same number of epochs, on the
		same ingest; as controls, the same from scratch with twice the epochs
		(the fine-tuned model saw EPOCHS of pre-training, then EPOCHS of
		fine-tuning) and the pre-trained model alone.  Scores: rank-eval's valid
		Kendall tau.

		- Machine: $(nproc) cores, $CPU; load average before: $LOAD
		- Date: $DATE; the whole run took $(( $(date +%s) - T0 )) s
		- Command: \`$CMD\`
		- Data: \`tpugen --scale $SCALE --world $WORLD\` (seed 1); $EPOCHS epochs each; seeds $SEEDS; arch $ARCH; $MODEL; $THREADS threads

	EOF
	"$PY" - "$RES" <<-'PYEOF'
		import sys
		rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
		colls = list(dict.fromkeys(r[0] for r in rows))
		mean = lambda xs: sum(xs) / len(xs)
		print("| collection | from scratch | from scratch, 2x epochs | pre-trained alone | fine-tuned | fine-tuned - scratch | fine-tuned - scratch 2x | per seed (scratch / 2x / pre / fine-tuned) |")
		print("|---|---:|---:|---:|---:|---:|---:|---|")
		cols = {k: [] for k in range(2, 6)}
		for c in colls:
		    r = [x for x in rows if x[0] == c]
		    m = {k: mean([float(x[k]) for x in r]) for k in range(2, 6)}
		    for k in m:
		        cols[k].append(m[k])
		    print("| %s | %.4f | %.4f | %.4f | %.4f | %+.4f | %+.4f | %s |" % (c, m[2], m[4], m[5], m[3],
		          m[3] - m[2], m[3] - m[4],
		          ", ".join("%.3f / %.3f / %.3f / %.3f" % (float(x[2]), float(x[4]), float(x[5]), float(x[3])) for x in r)))
		M = {k: mean(v) for k, v in cols.items()}
		print("| **mean** | %.4f | %.4f | %.4f | %.4f | %+.4f | %+.4f | |" % (M[2], M[4], M[5], M[3], M[3] - M[2], M[3] - M[4]))
	PYEOF
}

if [ -n "$OUT" ]; then
	page > "$OUT.tmp"
	mv -f "$OUT.tmp" "$OUT"
	cat "$OUT"
else
	page
fi
