#!/usr/bin/env bash
# Rankings on worlds the defaults were not chosen on: per tpugen world (and
# seed), pipelines/all.sh with a time budget next to the plain PyTorch model
# of bench/torch_baseline.py under the same budget, both scored on the test
# split (the truth tpugen hides, restored by tests/tools/tpugen_unhide.py)
# with rank-eval on their submission files, so that both are scored by one
# program in one way.
#
# usage: bench/generalization.sh [WORKDIR]
#   WORKDIR  scratch directory (default: a new temporary one); datasets go to
#            WORKDIR/data/WORLD-sSEED (made once), runs to WORKDIR/runs/
# Environment:
#   WORLDS="tpu compute copy membound"  tpugen --world values
#   SEEDS="1"        tpugen seeds (one dataset per world and seed)
#   SCALE=small      tpugen --scale
#   BUDGET=5m        the wall-clock budget of each run (all.sh --budget; the
#                    baseline's --budget in seconds)
#   RUNS="budget torch"  which runs: budget (all.sh --budget BUDGET),
#                    single (the same with --members 1 --patience 0: one
#                    model per collection, no more from time handed back), torch
#                    (bench/torch_baseline.py), shipped (all.sh
#                    --budget none: the conf files' epochs, one seed)
#   SIDE=1           run ours and the baseline side by side, one core each
#                    (ours: --jobs 1 --threads 1; torch: --threads 1), which
#                    halves the wall time of the benchmark; SIDE=0 runs them
#                    one after the other with 2 cores each
#   ALLSH_OPTS="..." more all.sh options (e.g. --members 2)
#   HELDOUT=membound the world kept out of every choice of a default: its
#                    rows say "held out"
#   OUT=docs/bench/generalization.md  also write the page there
# The markdown page goes to stdout, progress to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
PROG=generalization.sh
. bench/lib.sh
bench_cmd bench/generalization.sh "WORLDS SEEDS SCALE BUDGET RUNS SIDE ALLSH_OPTS HELDOUT" "$@"
W=${1:-$(mktemp -d)}
WORLDS=${WORLDS:-tpu compute copy membound}
SEEDS=${SEEDS:-1}
SCALE=${SCALE:-small}
BUDGET=${BUDGET:-5m}
RUNS=${RUNS:-budget torch}
SIDE=${SIDE:-1}
ALLSH_OPTS=${ALLSH_OPTS:-}
OUT=${OUT:-}
HELDOUT=${HELDOUT:-membound}
PY=/usr/bin/python3
. pipelines/lib.sh
BUDGET_S=$(parse_duration "$BUDGET") || die "BUDGET: '$BUDGET' is not a duration" 2
"$PY" -c "import torch" 2>/dev/null || case " $RUNS " in *" torch "*)
	die "the baseline needs python3-torch (apt-get install python3-torch)" 3 ;; esac
make -s -j2 all >&2
PATH="$PWD/bin:$PATH"
mkdir -p "$W/data" "$W/runs"
W=$(cd "$W" && pwd)
CPU=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
DATE=$(date -u +%Y-%m-%d)
if [ "$SIDE" = 1 ]; then
	OURS_PAR=(--jobs 1 --threads 1) TORCH_THREADS=1
else
	OURS_PAR=(--jobs 2 --threads 1) TORCH_THREADS=2
fi

# score DIR DATASET: rank-eval of DIR/submission.csv on the test truth, as
# JSON in DIR/test.json
score() {
	local dir=$1 ds=$2
	rank-eval --json --truth "$ds/test-truth.mp" --csv "$dir/submission.csv" > "$dir/test.json" 2> "$dir/test.err"
}

run_budget() {   # DATASET DIR
	local t0
	t0=$(date +%s.%N)
	# shellcheck disable=SC2086
	pipelines/all.sh --data "$1" --out "$2" --budget "$BUDGET" "${OURS_PAR[@]}" --no-plots \
		$ALLSH_OPTS > "$2.log" 2>&1
	awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f\n", b - a }' > "$2/wall"
	score "$2" "$1"
}
run_single() {   # the budget, one model per collection (--members 1 --patience 0)
	ALLSH_OPTS="$ALLSH_OPTS --members 1 --patience 0" run_budget "$@"
}
run_shipped() {
	local t0
	t0=$(date +%s.%N)
	pipelines/all.sh --data "$1" --out "$2" --budget none "${OURS_PAR[@]}" --no-plots > "$2.log" 2>&1
	awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f\n", b - a }' > "$2/wall"
	score "$2" "$1"
}
run_torch() {
	local t0
	t0=$(date +%s.%N)
	mkdir -p "$2"
	"$PY" bench/torch_baseline.py --data "$1" --out "$2" --budget "$BUDGET_S" \
		--threads "$TORCH_THREADS" --seed 1 > "$2.log" 2>&1
	awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f\n", b - a }' > "$2/wall"
	score "$2" "$1"
}

for world in $WORLDS; do
	for seed in $SEEDS; do
		ds="$W/data/$world-s$seed"
		bench_test_data "$ds" "$world" "$seed" "$SCALE"
		pids=()
		for r in $RUNS; do
			d="$W/runs/$world-s$seed-$r"
			rm -rf "$d" "$d.log"
			mkdir -p "$d"
			say "$world seed $seed: $r (budget $BUDGET)"
			if [ "$SIDE" = 1 ]; then
				"run_$r" "$ds" "$d" &
				pids+=($!)
			else
				"run_$r" "$ds" "$d" || say "$world seed $seed: $r failed (see $d.log)"
			fi
		done
		for p in "${pids[@]+"${pids[@]}"}"; do wait "$p" || say "$world seed $seed: a run failed"; done
	done
done

page() {
	cat <<EOF
# Generalization: our budgeted pipeline against a plain PyTorch model, per world

- Command: \`$CMD\`
- Machine: $CPU, $(nproc) cores; $DATE
- Data: \`tpugen --scale $SCALE --world W --seed S\`, worlds $WORLDS, seeds $SEEDS;
  scored on the test split (tpugen's hidden truth) by rank-eval from each
  run's submission.csv
- Budget: $BUDGET per run; $( [ "$SIDE" = 1 ] && echo "ours and the baseline side by side, one core each" || echo "one run at a time, 2 cores" )
- Runs: budget = \`all.sh --budget $BUDGET${ALLSH_OPTS:+ $ALLSH_OPTS}\`; single = the same
  with \`--members 1 --patience 0\`; torch =
  bench/torch_baseline.py (docs/bench/torch-baseline.md); shipped =
  \`all.sh --budget none\`

EOF
	"$PY" - "$W" "$WORLDS" "$SEEDS" "$RUNS" "$HELDOUT" <<'PYEOF'
import json, os, statistics, sys
w, worlds, seeds, runs = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4].split()
heldout = sys.argv[5]
colls = ["tile:xla", "layout:xla:random", "layout:xla:default", "layout:nlp:random", "layout:nlp:default"]
def load(world, seed, r):
    d = os.path.join(w, "runs", "%s-s%s-%s" % (world, seed, r))
    try:
        j = json.load(open(os.path.join(d, "test.json")))
    except Exception:
        return None
    per = {c["collection"]: c["score"] for c in j["collections"]}
    wall = open(os.path.join(d, "wall")).read().strip()
    return per, j["overall"]["score"], wall
print("| world | run | wall s | tile | xla:random | xla:default | nlp:random | nlp:default | overall |")
print("|---|---|---|---|---|---|---|---|---|")
diffs = {}
for world in worlds:
    for r in runs:
        rows = [load(world, s, r) for s in seeds]
        rows = [x for x in rows if x]
        if not rows:
            print("| %s | %s | failed | | | | | | |" % (world, r))
            continue
        cells = []
        for c in colls:
            v = [x[0].get(c) for x in rows if x[0].get(c) is not None]
            cells.append("%.3f" % statistics.mean(v) + (" ± %.3f" % statistics.stdev(v) if len(v) > 1 else "") if v else "")
        ov = [x[1] for x in rows]
        print("| %s | %s | %s | %s | %.3f%s |" % (world + (" (held out)" if world == heldout else ""), r, "/".join(x[2] for x in rows), " | ".join(cells),
              statistics.mean(ov), " ± %.3f" % statistics.stdev(ov) if len(ov) > 1 else ""))
    if "budget" in runs and "torch" in runs:
        for s in seeds:
            a, b = load(world, s, "budget"), load(world, s, "torch")
            if a and b:
                diffs.setdefault(world, []).append(a[1] - b[1])
print()
if diffs:
    print("Overall, ours - PyTorch: " + "; ".join("%s %+.3f" % (k, statistics.mean(v)) for k, v in diffs.items()))
PYEOF
}
page > "$W/page.md"
cat "$W/page.md"
[ -z "$OUT" ] || cp "$W/page.md" "$OUT"
