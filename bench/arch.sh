#!/usr/bin/env bash
# The model architectures of sage-train (--arch) side by side, per
# collection, on the same tpugen data: each one trained by
# pipelines/collection.sh with the collection's conf file's TRAIN_OPTS plus
# `--arch A --epochs N`, same seed, 2 threads.  Per run: the valid score of
# the model kept (rank-eval's score on eval-valid.json), seconds per training
# epoch (train-log.jsonl), sage-train's peak RSS (/usr/bin/time).  Per
# collection: the best three archs' valid predictions ensembled with
# rank-ensemble (--norm rank, as all.sh ensembles seeds) and scored with
# rank-eval, against the best single arch; next to the trivial rankers and
# the linear probe (tests/tools/trivial_rankers.py, valid split).
#
# usage: bench/arch.sh [EPOCHS] [WORKDIR] [SCALE]
#   EPOCHS   epochs per run (default 12, the conf files' count)
#   WORKDIR  scratch directory (default: a new temporary one); the dataset
#            is generated into WORKDIR/data once and reused by later runs,
#            the runs go to WORKDIR/out/SLUG/ARCH/ (rerun every time)
#   SCALE    tpugen scale: tiny, small (default), medium or full
# WORLD=copy: the tpugen world of the data (default tpu; one WORKDIR per
# world): a default is chosen on several worlds and checked on one kept out
# (bench/generalization.sh)
# COLLS="tile:xla layout:nlp:random" narrows the collections (default all
# five); ARCHS="sage mlp" the architectures (default: sage gat gin appnp gps
# mlp); EXTRA="..." adds trainer options to every run (after the others, so
# it can override them); SEEDS="1 2 3" the seeds of sampling and training,
# one run per arch and seed, the page reporting the mean over seeds (default
# 1; SEED=N is SEEDS=N); OUT=docs/bench/arch.md also writes the page there
# (when complete).
# The markdown page goes to stdout, one progress line per run to stderr;
# exit 1 when a run failed (its row says so; the others are reported).
set -euo pipefail
cd "$(dirname "$0")/.."
PROG=arch.sh
. bench/lib.sh
bench_cmd bench/arch.sh "COLLS ARCHS EXTRA SEED SEEDS WORLD" "$@"
EPOCHS=${1:-12}
W=${2:-$(mktemp -d)}
SCALE=${3:-small}
COLLS=${COLLS:-tile:xla layout:xla:random layout:xla:default layout:nlp:random layout:nlp:default}
ARCHS=${ARCHS:-sage gat gin appnp gps mlp}
EXTRA=${EXTRA:-}
SEEDS=${SEEDS:-${SEED:-1}}
OUT=${OUT:-}
PY=/usr/bin/python3
THREADS=2
case $EPOCHS in ''|*[!0-9]*|0) die "EPOCHS: '$EPOCHS' is not a positive number" 2 ;; esac
for s in $SEEDS; do
	case $s in ''|*[!0-9]*) die "SEEDS: '$s' is not a number" 2 ;; esac
done
[ -n "$SEEDS" ] || die "SEEDS is empty" 2
case $SCALE in tiny|small|medium|full) ;; *) die "SCALE: '$SCALE' is not tiny, small, medium or full" 2 ;; esac
for c in $COLLS; do
	[ -f "pipelines/conf/${c//:/_}.conf" ] || die "unknown collection '$c'" 2
done
seen=" "
for a in $ARCHS; do
	case $a in ''|*[!a-z0-9_-]*) die "ARCHS: '$a' is not an arch name" 2 ;; esac
	case $seen in *" $a "*) die "ARCHS: '$a' twice" 2 ;; esac
	seen="$seen$a "
done
[ -n "$ARCHS" ] || die "ARCHS is empty" 2
command -v /usr/bin/time >/dev/null || die "/usr/bin/time is needed (Debian: time)" 3

bench_setup "$W" "$SCALE"
W=$W_ABS
# sage-train's peak RSS: collection.sh finds the filters in $TPU_BIN first,
# so a directory holding only a sage-train that runs the real one under
# /usr/bin/time measures the trainer alone (not ingest, predict or eval);
# the others are found on PATH.  %M: the maximum resident set size in KB.
mkdir -p "$W/wrap" "$W/ens"
cat > "$W/wrap/sage-train" <<EOF
#!/bin/sh
exec /usr/bin/time -f %M -o "\$ARCH_BENCH_RSS" "$BIN/sage-train" "\$@"
EOF
chmod +x "$W/wrap/sage-train"
export TPU_BIN="$W/wrap"

"$PY" tests/tools/trivial_rankers.py --split valid --probe --json "$W/data" > "$W/trivial.json"

# one line per run: collection arch seed status score train_s epoch_s
# rss_mb kept_epoch epochs wall_s
RES="$W/results.tsv"
: > "$RES"
failed=0
for coll in $COLLS; do
	slug=${coll//:/_}
	# shellcheck disable=SC1090
	conf_opts=$(. "pipelines/conf/$slug.conf"; printf '%s' "${TRAIN_OPTS:-}")
	for SEED in $SEEDS; do
	data_src=""   # the run whose ingest the next archs of this seed reuse
	for arch in $ARCHS; do
		run="$arch-s$SEED"
		d="$W/out/$slug/$run"
		log="$W/logs/$slug-$run.log"
		rss="$W/logs/$slug-$run.rss"
		rm -rf "$d" "$rss"
		from=ingest
		# collection.sh --from train reads OUT/SLUG/TAG/data/: the train and
		# valid streams of the first arch's ingest, linked (test is not
		# linked: these runs predict valid only)
		if [ -n "$data_src" ]; then
			bench_link_ingest "$data_src" "$d"
			from=train
		fi
		opts="$conf_opts --arch $arch --epochs $EPOCHS${EXTRA:+ $EXTRA}"
		t0=$(date +%s.%N)
		set +e
		ARCH_BENCH_RSS=$rss pipelines/collection.sh --data "$W/data" --out "$W/out" \
			--tag "$run" --seed "$SEED" --threads "$THREADS" --from "$from" \
			--set "TRAIN_OPTS=$opts" "$coll" 2> "$log"
		rc=$?
		set -e
		wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
		if [ -z "$data_src" ] && [ -f "$d/data/train.mp" ] && [ -f "$d/data/valid.mp" ]; then
			data_src="$d/data"
		fi
		if [ "$rc" -ne 0 ] || [ ! -f "$d/eval-valid.json" ]; then
			failed=$((failed + 1))
			printf '%s\t%s\t%s\tfailed\n' "$coll" "$arch" "$SEED" >> "$RES"
			say "$coll $arch seed $SEED: FAILED (exit $rc) after $wall s; the end of $log:"
			tail -n 5 "$log" | sed 's/^/    /' >&2
			continue
		fi
		"$PY" - "$d" "$rss" "$coll" "$arch" "$wall" "$SEED" >> "$RES" <<-'PYEOF'
			import json, sys
			d, rss, coll, arch, wall, seed = sys.argv[1:]
			ev = json.load(open(d + "/eval-valid.json"))
			score = [c["score"] for c in ev["collections"] if c["collection"] == coll][0]
			ep = [json.loads(l) for l in open(d + "/train-log.jsonl") if l.strip()]
			train = sum(e["train_seconds"] for e in ep) / len(ep)
			whole = sum(e["seconds"] for e in ep) / len(ep)
			kb = int(open(rss).read().split()[-1])
			print("%s\t%s\t%s\tok\t%.6f\t%.4f\t%.4f\t%d\t%d\t%d\t%s" % (
			    coll, arch, seed, score, train, whole, kb // 1024, ep[-1]["best_epoch"], len(ep), wall))
		PYEOF
		tail -n 1 "$RES" | awk -F'\t' -v p="$PROG" '{ printf "%s: %s %s seed %s: valid %.4f (kept epoch %d/%d), %.3f s/epoch, %d MB, %s s\n", p, $1, $2, $3, $5, $9, $10, $6, $8, $11 }' >&2
	done
	done
done

# per collection: the best three archs (by their mean valid score over the
# seeds that all of them ran; ties: ARCHS order), ensembled seed by seed,
# scored on the same valid stream as their eval-valid
ENS="$W/ens.tsv"
: > "$ENS"
for coll in $COLLS; do
	slug=${coll//:/_}
	mapfile -t best < <(awk -F'\t' -v c="$coll" '$1 == c && $4 == "ok" { s[$2] += $5; n[$2]++ }
		END { for (a in s) printf "%s\t%.9f\n", a, s[a] / n[a] }' "$RES" |
		sort -s -t "$(printf '\t')" -k2,2gr | head -n 3 | cut -f1)
	[ "${#best[@]}" -ge 2 ] || continue
	for SEED in $SEEDS; do
		preds=()
		for a in "${best[@]}"; do
			[ -f "$W/out/$slug/$a-s$SEED/pred-valid.mp" ] && preds+=("$W/out/$slug/$a-s$SEED/pred-valid.mp")
		done
		[ "${#preds[@]}" -eq "${#best[@]}" ] || continue
		e="$W/ens/$slug-s$SEED"
		rank-ensemble --norm rank "${preds[@]}" > "$e.mp"
		rank-eval --json --truth "$W/out/$slug/${best[0]}-s$SEED/data/valid.mp" "$e.mp" > "$e.json"
		score=$("$PY" -c 'import json, sys; print("%.6f" % [c["score"] for c in json.load(open(sys.argv[1]))["collections"] if c["collection"] == sys.argv[2]][0])' "$e.json" "$coll")
		printf '%s\t%s\t%s\t%s\n' "$coll" "$(IFS=+; echo "${best[*]}")" "$SEED" "$score" >> "$ENS"
		say "$coll seed $SEED: ensemble of ${best[*]}: valid $(printf %.4f "$score")"
	done
done

for coll in $COLLS; do
	slug=${coll//:/_}
	d=$(awk -F'\t' -v c="$coll" '$1 == c && $4 == "ok" { print $2 "-s" $3; exit }' "$RES")
	[ -n "$d" ] || continue
	d="$W/out/$slug/$d/data"
	printf '%s\t%s\t%s\n' "$coll" "$(mp-dump --type graph "$d/train.mp" | wc -l)" "$(mp-dump --type graph "$d/valid.mp" | wc -l)"
done > "$W/graphs.tsv"

page() {
	cat <<-EOF
		# Model architectures: sage-train --arch, side by side

		\`bench/arch.sh [EPOCHS] [WORKDIR] [SCALE]\` generates a tpugen dataset and,
		per collection, trains each architecture of \`sage-train --arch\` through
		\`pipelines/collection.sh\` on the same data (one ingest per collection; the
		later archs run \`--from train\` on its streams): the conf file's
		\`TRAIN_OPTS\`, then \`--arch A --epochs N\` and EXTRA, per seed, $THREADS
		threads.  Then, per collection, the valid predictions of the three archs
		with the best valid scores are ensembled (\`rank-ensemble --norm rank\`, as
		\`all.sh\` ensembles seeds) and scored with \`rank-eval\` against the same
		valid stream.  With several seeds every run is repeated per seed (its own
		ingest sample and training), the tables give the means, the best three
		archs are those with the best mean, and they are ensembled seed by seed.

		- Machine: $(nproc) cores, $CPU; load average before: $LOAD
		- Date: $DATE; the whole run took $(( $(date +%s) - T0 )) s
		- Command: \`$CMD\`
		- Data: \`tpugen --scale $SCALE --world $WORLD\` (seed 1); $EPOCHS epochs; seeds $SEEDS; archs: $ARCHS; EXTRA: ${EXTRA:-(none)}
		- Conf \`TRAIN_OPTS\` (before \`--arch\` and \`--epochs $EPOCHS\`):
	EOF
	# shellcheck disable=SC1090,SC2016
	for c in $COLLS; do (. "pipelines/conf/${c//:/_}.conf"; printf '  - %s: `%s`\n' "$c" "$TRAIN_OPTS"); done
	echo
	"$PY" - "$W" "$COLLS" "$ARCHS" "$SEEDS" <<-'PYEOF'
		import json, sys
		w, colls, archs, seeds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4].split()
		runs, failed = {}, {}
		for l in open(w + "/results.tsv"):
		    f = l.rstrip("\n").split("\t")
		    if f[3] == "ok":
		        runs.setdefault((f[0], f[1]), []).append(f)
		    else:
		        failed[(f[0], f[1])] = failed.get((f[0], f[1]), 0) + 1
		ens = {}
		for l in open(w + "/ens.tsv"):
		    f = l.rstrip("\n").split("\t")
		    ens.setdefault(f[0], []).append(f)
		graphs = {l.split("\t")[0]: l.rstrip("\n").split("\t")[1:] for l in open(w + "/graphs.tsv")}
		triv = json.load(open(w + "/trivial.json"))
		ok = lambda c, a: (c, a) in runs and (c, a) not in failed
		mean = lambda xs: sum(xs) / len(xs)
		sc = lambda c, a: mean([float(f[4]) for f in runs[(c, a)]])
		col = lambda c, a, i: mean([float(f[i]) for f in runs[(c, a)]])
		def spread(c, a):
		    v = [float(f[4]) for f in runs[(c, a)]]
		    return " / ".join("%.3f" % x for x in v) if len(v) > 1 else ""

		print("## Runs (mean over %d seed%s)\n" % (len(seeds), "s" if len(seeds) > 1 else ""))
		print("| collection | arch | valid score | per seed | kept epochs | train s/epoch | s/epoch with valid | peak RSS MB |")
		print("|---|---|---:|---|---|---:|---:|---:|")
		for c in colls:
		    for a in archs:
		        if not ok(c, a):
		            print("| %s | %s | failed | | | | | |" % (c, a))
		            continue
		        r = runs[(c, a)]
		        kept = ", ".join("%s/%s" % (f[8], f[9]) for f in r)
		        print("| %s | %s | %.4f | %s | %s | %.3f | %.3f | %d |" % (c, a, sc(c, a), spread(c, a), kept,
		              col(c, a, 5), col(c, a, 6), max(int(f[7]) for f in r)))

		print("\n## Ensemble of the best three vs the best single arch\n")
		print("| collection | graphs (train/valid) | best single (arch, mean score) | best-3 ensemble (archs, mean score) | gain | trivial rankers | linear probe |")
		print("|---|---|---|---|---:|---|---:|")
		bs, es = [], []
		for c in colls:
		    done = [a for a in archs if ok(c, a)]
		    t = triv.get(c, {})
		    tv = ", ".join("%s %.3f" % (k, v) for k, v in t.items() if k not in ("graphs", "linear-probe"))
		    lp = "%.3f" % t["linear-probe"] if "linear-probe" in t else ""
		    g = "/".join(graphs.get(c, []))
		    if not done:
		        print("| %s | %s | (no run) | | | %s | %s |" % (c, g, tv, lp))
		        continue
		    b = max(done, key=lambda a: (sc(c, a), -archs.index(a)))
		    if c in ens:
		        eseeds = [f[2] for f in ens[c]]
		        e = mean([float(f[3]) for f in ens[c]])
		        # the best single over the seeds the ensemble has
		        sb = mean([float(f[4]) for f in runs[(c, b)] if f[2] in eseeds])
		        bs.append(sb); es.append(e)
		        print("| %s | %s | %s %.4f | %s %.4f | %+.4f | %s | %s |" % (c, g, b, sb, ens[c][0][1], e, e - sb, tv, lp))
		    else:
		        print("| %s | %s | %s %.4f | (fewer than 2 runs) | | %s | %s |" % (c, g, b, sc(c, b), tv, lp))
		if bs:
		    mb, me = mean(bs), mean(es)
		    print("| **mean of %d** | | %.4f | %.4f | %+.4f | | |" % (len(bs), mb, me, me - mb))

		full = [a for a in archs if all(ok(c, a) for c in colls)]
		if len(colls) > 1 and full:
		    print("\n## Per arch, over the collections\n")
		    print("| arch | " + " | ".join(colls) + " | mean |")
		    print("|---|" + "---:|" * (len(colls) + 1))
		    for a in archs:
		        cells = ["%.4f" % sc(c, a) if ok(c, a) else "failed" for c in colls]
		        m = "%.4f" % mean([sc(c, a) for c in colls]) if a in full else ""
		        print("| %s | %s | %s |" % (a, " | ".join(cells), m))

		print()
		print("""- **valid score**: rank-eval's score of the run's `pred-valid.mp` against
  its `data/valid.mp` (`eval-valid.json`; tile: mean 2 - top-5 ratio,
  layout: mean Kendall tau of the predicted order).  sage-train keeps the
  epoch with the best valid score (kept epoch), so the figure is a little
  optimistic, the same way for every arch.
- **s/epoch**: the mean over the epochs of `train-log.jsonl`'s
  `train_seconds` (optimiser steps only) and `seconds` (the whole epoch,
  scoring every valid config included).  Wall clock on a machine that may be
  shared: compare rows of one run, not across runs.
- **peak RSS**: `/usr/bin/time -f %M` around sage-train alone (the bench puts
  a `sage-train` that runs the real one under `time` first in `TPU_BIN`,
  where collection.sh looks), so ingest, predict and eval are not counted.
- **ensemble**: `rank-ensemble --norm rank` (per graph, each model's scores
  to ranks in [0, 1], averaged) of the best three archs' `pred-valid.mp`;
  gain = ensemble - best single.  The mean row is the Kaggle-style score (the
  mean over collections) of picking the best arch per collection on valid,
  against the per-collection ensembles; both are chosen on valid, so both
  are optimistic.
- **trivial rankers, linear probe**: `tests/tools/trivial_rankers.py --split
  valid --probe` on the same data (the probe, a ridge regression on
  hand-made config features fitted on train, is not trivial: it is the
  floor a learned model should clear).""")
	PYEOF
}

if [ -n "$OUT" ]; then
	page > "$OUT.tmp"
	mv -f "$OUT.tmp" "$OUT"
	cat "$OUT"
	say "wrote $OUT"
else
	page
fi
if [ "$failed" -gt 0 ]; then
	say "$failed run(s) failed; their logs are in $W/logs"
	exit 1
fi
