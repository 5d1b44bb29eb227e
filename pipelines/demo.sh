#!/usr/bin/env bash
# demo.sh: what `make demo` runs.  Generates the embedded synthetic dataset
# (tpugen, small scale) unless it is there, runs all.sh on it, and prints
# the valid scores, the Kaggle score and where the submission and plots are.
# The run is all.sh's budgeted run, at a budget of DEMO_BUDGET (default 3m).
set -euo pipefail
PROG=demo
. "$(dirname "$(readlink -f "$0")")/lib.sh"
DATA=${DEMO_DATA:-data/tpugen-small}
OUT=${DEMO_OUT:-out/demo}
SEED=${DEMO_SEED:-1}
BUDGET=${DEMO_BUDGET:-3m}
T0=$(now)
if [ ! -f "$DATA/.complete" ]; then
	log "generating the synthetic dataset in $DATA (tpugen --scale small --seed $SEED)"
	rm -rf "$DATA"
	tpugen --out "$DATA" --scale small --seed "$SEED"
	touch "$DATA/.complete"
fi
"$PIPELINES_DIR/all.sh" --data "$DATA" --out "$OUT" --budget "$BUDGET" "$@"
echo
echo "demo: done in $(elapsed "$T0") s"
echo "  valid scores:   $OUT/scores-valid.txt (printed above)"
echo "  submission:     $OUT/submission.csv ($(($(wc -l < "$OUT/submission.csv") - 1)) test graphs)"
echo "  plots:          $OUT/plots/"
if [ -f "$OUT/plan.txt" ]; then echo "  what ran:       $OUT/plan.txt"; fi
