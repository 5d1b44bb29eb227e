#!/usr/bin/env bash
# A against B: two variants of one collection's training, each run as
# pipelines/all.sh --budget (one model, --seeds S) on the same data, scored
# on the test split (tpugen's hidden truth, as bench/generalization.sh does),
# for every world, data seed and training seed.  A and B run side by side,
# one core each, so that each pair shares the machine's state.  Reports per
# world the test and valid scores of A and B (mean and spread over the
# training seeds), and B - A: per world, and over the choice worlds (mean,
# standard deviation over every world and seed pair), the held-out world on
# its own.  A default changes only where B - A exceeds its spread.
#
# usage: bench/ab.sh [WORKDIR]
#   WORKDIR  scratch directory (default: a new temporary one); datasets are
#            shared with bench/generalization.sh's layout: WORKDIR/data/
#            WORLD-sSEED (made once), runs go to WORKDIR/ab/
# Environment:
#   COLL=tile:xla          the collection
#   A="" B="--tile-join late"  sage-train options added to the conf file's
#                          TRAIN_OPTS (all.sh --set TRAIN_OPTS=...)
#   ALL_A="" ALL_B=""      all.sh options of each (e.g. --patience 10)
#   WORLDS="tpu compute copy membound"   HELDOUT=membound
#   DSEEDS="1"             tpugen seeds (one dataset per world and seed)
#   SEEDS="1 2"            training seeds (all.sh --seeds); SEEDS=plan: no
#                          --seeds, all.sh's budget planner chooses the
#                          models (--members, --patience in ALL_A/ALL_B)
#   SCALE=medium           tpugen --scale
#   BUDGET=120s            all.sh --budget of each run
#   OUT=FILE               also write the page there
#   FRESH=1                rerun every run (default: a run already done
#                          with the same options is kept, so an interrupted
#                          benchmark goes on where it stopped)
# With more than one training seed, the seeds' test predictions of each
# variant are also ensembled (rank-ensemble, equal weights) and scored: the
# distance of one seed from an ensemble of them.
# The markdown page goes to stdout, progress to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
PROG=ab.sh
. bench/lib.sh
bench_cmd bench/ab.sh "COLL A B ALL_A ALL_B WORLDS HELDOUT DSEEDS SEEDS SCALE BUDGET" "$@"

COLL=${COLL:-tile:xla}
A=${A-}
B=${B---tile-join late}
ALL_A=${ALL_A-}
ALL_B=${ALL_B-}
WORLDS=${WORLDS:-tpu compute copy membound}
HELDOUT=${HELDOUT:-membound}
DSEEDS=${DSEEDS:-1}
SEEDS=${SEEDS:-1 2}
SCALE=${SCALE:-medium}
BUDGET=${BUDGET:-120s}
OUT=${OUT:-}
FRESH=${FRESH:-0}
PY=${PY:-/usr/bin/python3}
W=${1:-$(mktemp -d)}
mkdir -p "$W/data" "$W/ab"
W=$(cd "$W" && pwd)
slug=${COLL//:/_}
[ -f "pipelines/conf/$slug.conf" ] || die "COLL: no pipelines/conf/$slug.conf" 2
# shellcheck disable=SC1090
conf_opts=$(. "pipelines/conf/$slug.conf"; printf '%s' "${TRAIN_OPTS:-}")
make -s -j2 all >&2
PATH="$PWD/bin:$PATH"
CPU=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')

# run DATASET DIR SEED OPTS ALLSH_OPTS: one all.sh run, its test score in
# DIR/test.json
run() {
	local ds=$1 d=$2 seed=$3 opts=$4 all=$5 seeds=()
	[ "$seed" = plan ] || seeds=(--seeds "$seed")
	if [ "$FRESH" != 1 ] && [ -s "$d/test.json" ] && [ "$(cat "$d/opts" 2>/dev/null)" = "$opts|$all" ]; then
		return 0   # done before, with these options
	fi
	rm -rf "$d" "$d.log"
	mkdir -p "$d"
	printf '%s' "$opts|$all" > "$d/opts"
	# shellcheck disable=SC2086
	pipelines/all.sh --data "$ds" --out "$d" --collections "$COLL" --budget "$BUDGET" \
		"${seeds[@]+"${seeds[@]}"}" --jobs 1 --threads 1 --no-plots $all \
		--set "TRAIN_OPTS=$conf_opts${opts:+ $opts}" > "$d.log" 2>&1 || return 1
	rank-eval --json --truth "$ds/test-truth-$slug.mp" --csv "$d/submission.csv" > "$d/test.json" 2> "$d/test.err"
}

for world in $WORLDS; do
	for ds_seed in $DSEEDS; do
		ds="$W/data/$world-s$ds_seed"
		bench_test_data "$ds" "$world" "$ds_seed" "$SCALE"
		[ -s "$ds/test-truth-$slug.mp" ] ||
			npz2mp -q "$ds/unhidden/npz/${COLL//://}/test" > "$ds/test-truth-$slug.mp"
		for seed in $SEEDS; do
			say "$world data seed $ds_seed, training seed $seed: A and B side by side ($BUDGET)"
			run "$ds" "$W/ab/$world-d$ds_seed-s$seed-A" "$seed" "$A" "$ALL_A" &
			pa=$!
			run "$ds" "$W/ab/$world-d$ds_seed-s$seed-B" "$seed" "$B" "$ALL_B" &
			pb=$!
			wait "$pa" || say "$world-d$ds_seed-s$seed: A failed (see its .log)"
			wait "$pb" || say "$world-d$ds_seed-s$seed: B failed (see its .log)"
		done
		# the seeds' test predictions ensembled (equal weights): how far
		# one seed is from an ensemble of them
		for v in A B; do
			preds=()
			for seed in $SEEDS; do
				f="$W/ab/$world-d$ds_seed-s$seed-$v/$slug/seed$seed/pred-test.mp"
				[ -f "$f" ] && preds+=("$f")
			done
			e="$W/ab/$world-d$ds_seed-ens-$v"
			rm -rf "$e"
			mkdir -p "$e"
			[ "${#preds[@]}" -gt 1 ] || continue
			if ! { rank-ensemble --out "$e/pred-test.mp" "${preds[@]}" &&
				rank-eval --json --truth "$ds/test-truth-$slug.mp" "$e/pred-test.mp" > "$e/test.json"; }; then
				say "$world-d$ds_seed: the ensemble of $v failed"
			fi
		done
	done
done

page() {
	cat <<EOF
# A against B on $COLL

- Command: \`$CMD\`
- Machine: $CPU, $(nproc) cores; $(date -u +%Y-%m-%d)
- Each run: \`all.sh --collections $COLL --budget $BUDGET $( [ "$SEEDS" = plan ] || echo "--seeds S " )--jobs 1 --threads 1
  --set TRAIN_OPTS="$conf_opts OPTS"\`, A and B side by side
- A: \`${A:-(the conf)}\`${ALL_A:+, all.sh \`$ALL_A\`}; B: \`${B:-(the conf)}\`${ALL_B:+, all.sh \`$ALL_B\`}
- Scores: test split (rank-eval on the submission), valid split (the run's
  scores-valid.json, all.sh's rank-eval of valid); mean ± sd over training seeds $SEEDS, data seeds $DSEEDS

EOF
	"$PY" - "$W" "$WORLDS" "$DSEEDS" "$SEEDS" "$HELDOUT" "$COLL" <<'PYEOF'
import json, os, statistics, sys
w, worlds, dseeds, seeds, heldout, coll = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4].split(), sys.argv[5], sys.argv[6]
def score(path):
    try:
        j = json.load(open(path))
    except Exception:
        return None
    for c in j.get("collections", []):
        if c["collection"] == coll:
            return c["score"]
    return None
def ms(v, f="%.3f"):
    if not v:
        return "failed"
    return f % statistics.mean(v) + (" ± %.3f" % statistics.stdev(v) if len(v) > 1 else "")
print("| world | A test | B test | B - A test | A valid | B valid | A seeds ensembled | B seeds ensembled |")
print("|---|---|---|---|---|---|---|---|")
choice, held = [], []
for world in worlds:
    ta, tb, va, vb, d, ea, eb = [], [], [], [], [], [], []
    for ds in dseeds:
        x = score(os.path.join(w, "ab", "%s-d%s-ens-A" % (world, ds), "test.json"))
        y = score(os.path.join(w, "ab", "%s-d%s-ens-B" % (world, ds), "test.json"))
        if x is not None: ea.append(x)
        if y is not None: eb.append(y)
        for s in seeds:
            base = os.path.join(w, "ab", "%s-d%s-s%s-" % (world, ds, s))
            a, b = score(base + "A/test.json"), score(base + "B/test.json")
            x, y = score(base + "A/scores-valid.json"), score(base + "B/scores-valid.json")
            if a is not None: ta.append(a)
            if b is not None: tb.append(b)
            if x is not None: va.append(x)
            if y is not None: vb.append(y)
            if a is not None and b is not None:
                d.append(b - a)
    (held if world == heldout else choice).extend(d)
    print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (world + (" (held out)" if world == heldout else ""),
          ms(ta), ms(tb), ms(d, "%+.3f"), ms(va), ms(vb), ms(ea) if len(seeds) > 1 else "-", ms(eb) if len(seeds) > 1 else "-"))
print()
for name, v in (("choice worlds", choice), ("held out", held)):
    if v:
        print("B - A on test, %s: %+.3f (sd %.3f over %d pairs)" % (name, statistics.mean(v),
              statistics.stdev(v) if len(v) > 1 else float("nan"), len(v)))
        print()
PYEOF
}
page > "$W/page.md"
cat "$W/page.md"
[ -z "$OUT" ] || cp "$W/page.md" "$OUT"
