#!/usr/bin/env bash
# The training variants of sage-train (random-walk encoding, DropEdge, SWA,
# the difference-matrix loss, the MAPE auxiliary loss) against the plain
# run, per collection, on the same tpugen data: each one trained by
# pipelines/collection.sh with the collection's conf file's TRAIN_OPTS plus
# the variant's options, for each seed, 2 threads.  Reports the valid score
# (rank-eval's, eval-valid.json) per collection and variant, as the mean
# over seeds and its difference from the plain run's mean, and seconds per
# training epoch.
#
# usage: bench/variants.sh [EPOCHS] [WORKDIR] [SCALE]
#   EPOCHS   epochs per run (default 12, the conf files' count)
#   WORKDIR  scratch directory (default: a new temporary one); the dataset
#            is generated into WORKDIR/data once and reused
#   SCALE    tpugen scale: tiny, small (default), medium or full
# WORLD=copy: the tpugen world of the data (default tpu; one WORKDIR per
# world): a default is chosen on several worlds and checked on one kept out
# (bench/generalization.sh)
# COLLS narrows the collections (default: the four layout ones); SEEDS the
# seeds (default "1 2"); VARIANTS a ';'-separated list of NAME=OPTIONS (the
# default below); OUT=FILE also writes the page there.
set -euo pipefail
cd "$(dirname "$0")/.."
PROG=variants.sh
. bench/lib.sh
bench_cmd bench/variants.sh "COLLS SEEDS VARIANTS WORLD" "$@"
EPOCHS=${1:-12}
W=${2:-$(mktemp -d)}
SCALE=${3:-small}
COLLS=${COLLS:-layout:xla:random layout:xla:default layout:nlp:random layout:nlp:default}
SEEDS=${SEEDS:-1 2}
VARIANTS=${VARIANTS:-plain=;rwpe=--pe rwpe:8;dropedge=--drop-edge 0.1;swa=--swa 4;diffmat=--loss diffmat --margin 1;mape=--mape 0.1}
OUT=${OUT:-}
PY=/usr/bin/python3
THREADS=2
case $EPOCHS in ''|*[!0-9]*|0) die "EPOCHS: '$EPOCHS' is not a positive number" 2 ;; esac
case $SCALE in tiny|small|medium|full) ;; *) die "SCALE: '$SCALE' is not tiny, small, medium or full" 2 ;; esac
for c in $COLLS; do
	[ -f "pipelines/conf/${c//:/_}.conf" ] || die "unknown collection '$c'" 2
done
for s in $SEEDS; do
	case $s in ''|*[!0-9]*) die "SEEDS: '$s' is not a number" 2 ;; esac
done
IFS=';' read -r -a VLIST <<< "$VARIANTS"
[ "${VLIST[0]%%=*}" = plain ] || die "VARIANTS: the first must be plain= (the baseline)" 2

bench_setup "$W" "$SCALE"
W=$W_ABS

# one line per run: collection variant seed score train_s
RES="$W/results.tsv"
: > "$RES"
failed=0
for coll in $COLLS; do
	slug=${coll//:/_}
	# shellcheck disable=SC1090
	conf_opts=$(. "pipelines/conf/$slug.conf"; printf '%s' "${TRAIN_OPTS:-}")
	for seed in $SEEDS; do
		src=""
		for v in "${VLIST[@]}"; do
			name=${v%%=*} opts=${v#*=}
			tag="$name-s$seed" d="$W/out/$slug/$name-s$seed"
			rm -rf "$d"
			from=ingest
			if [ -n "$src" ]; then   # the first run's ingest, reused
				bench_link_ingest "$src" "$d"
				from=train
			fi
			if ! pipelines/collection.sh --data "$W/data" --out "$W/out" --tag "$tag" \
				--seed "$seed" --threads "$THREADS" --from "$from" \
				--set "TRAIN_OPTS=$conf_opts --epochs $EPOCHS $opts" "$coll" 2> "$W/logs/$slug-$tag.log" ||
				[ ! -f "$d/eval-valid.json" ]; then
				failed=$((failed + 1))
				say "$coll $name seed $seed: FAILED (see $W/logs/$slug-$tag.log)"
				continue
			fi
			[ -z "$src" ] && src="$d/data"
			"$PY" - "$d" "$coll" "$name" "$seed" >> "$RES" <<-'PYEOF'
				import json, sys
				d, coll, name, seed = sys.argv[1:]
				ev = json.load(open(d + "/eval-valid.json"))
				score = [c["score"] for c in ev["collections"] if c["collection"] == coll][0]
				ep = [json.loads(l) for l in open(d + "/train-log.jsonl") if l.strip()]
				print("%s\t%s\t%s\t%.6f\t%.4f" % (coll, name, seed, score,
				      sum(e["train_seconds"] for e in ep) / len(ep)))
			PYEOF
			say "$(tail -n 1 "$RES" | awk -F'\t' '{ printf "%s %s seed %s: valid %.4f, %.3f s/epoch", $1, $2, $3, $4, $5 }')"
		done
	done
done

page() {
	# shellcheck disable=SC2016
	cat <<-EOF
		# Training variants: sage-train options against the plain run

		\`bench/variants.sh [EPOCHS] [WORKDIR] [SCALE]\` trains, per collection and
		seed, the conf file's model (its \`TRAIN_OPTS\`, arch included) plain and
		with each variant's options added, through \`pipelines/collection.sh\` on
		the same ingest, $THREADS threads, and reports rank-eval's valid score (mean
		over the seeds) and its difference from the plain run's.

		- Machine: $(nproc) cores, $CPU; load average before: $LOAD
		- Date: $DATE; the whole run took $(( $(date +%s) - T0 )) s
		- Command: \`$CMD\`
		- Data: \`tpugen --scale $SCALE --world $WORLD\` (seed 1); $EPOCHS epochs; seeds $SEEDS
		- Variants: $(printf '`%s` ' "${VLIST[@]}")

	EOF
	"$PY" - "$RES" "$COLLS" "$VARIANTS" <<-'PYEOF'
		import sys
		res, colls, variants = sys.argv[1], sys.argv[2].split(), [v.split("=", 1)[0] for v in sys.argv[3].split(";")]
		runs = {}
		for l in open(res):
		    c, v, s, score, t = l.rstrip("\n").split("\t")
		    runs.setdefault((c, v), {})[s] = (float(score), float(t))
		mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")
		print("| collection | " + " | ".join(variants) + " |")
		print("|---|" + "---:|" * len(variants))
		diffs = {v: [] for v in variants}
		for c in colls:
		    base = runs.get((c, "plain"), {})
		    cells = []
		    for v in variants:
		        r = runs.get((c, v), {})
		        if not r:
		            cells.append("failed")
		            continue
		        m = mean([x[0] for x in r.values()])
		        common = [s for s in r if s in base]
		        d = mean([r[s][0] - base[s][0] for s in common])
		        if v != "plain" and common:
		            diffs[v].append(d)
		        cells.append("%.4f" % m if v == "plain" else "%.4f (%+.4f)" % (m, d))
		    print("| %s | %s |" % (c, " | ".join(cells)))
		print("| **mean difference** | | " + " | ".join("%+.4f" % mean(diffs[v]) if diffs[v] else "" for v in variants[1:]) + " |")
		print("\n| collection | " + " | ".join(v + " s/epoch" for v in variants) + " |")
		print("|---|" + "---:|" * len(variants))
		for c in colls:
		    print("| %s | %s |" % (c, " | ".join("%.3f" % mean([x[1] for x in runs[(c, v)].values()]) if (c, v) in runs else "" for v in variants)))
		print("\n(in parentheses: the mean over seeds of the variant's score minus the plain run's score with the same seed and ingest; valid scores of the epoch sage-train kept, or with --swa the averaged weights)")
	PYEOF
}

if [ -n "$OUT" ]; then
	page > "$OUT.tmp"
	mv -f "$OUT.tmp" "$OUT"
	cat "$OUT"
else
	page
fi
[ "$failed" -eq 0 ] || { say "$failed run(s) failed"; exit 1; }
