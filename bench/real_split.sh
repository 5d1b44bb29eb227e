#!/usr/bin/env bash
# bench/real_split.sh: a held-out score on real runtimes. The one real layout
# file with many measured configs (data/real's unet3d, 1,159 configs,
# npz/layout/xla/default/train/unet3d.npz) is split by config 70/10/20
# (tests/tools/split_configs.py) into a dataset root
# ROOT/npz/layout/xla/random/{train,valid,test}/unet3d.npz, so that the
# collection layout:xla:random sees it; the PyTorch baseline
# (bench/torch_baseline.py) trains on train, picks its epoch on valid and
# scores the held-out test configs (their runtimes are kept: Kendall's tau
# of its order against them).
#
#   bench/real_split.sh [-b SECONDS] [-r ROOT] [-s SEED] [-t THREADS]
#
#   -b SECONDS  the baseline's budget (default 180)
#   -r ROOT     the dataset root and outputs (default: a new temporary
#               directory, kept and named on stderr)
#   -s SEED     split and training seed (default 1)
#   -t THREADS  torch threads (default 2)
#   FILE=...    env: another layout npz to split (default the unet3d file)
#
# Then runs the project's pipeline (all.sh --budget SECONDS, its defaults) on
# the same split (NO_PIPELINE=1 skips it) and prints "pipeline held-out
# Kendall: X".  Prints the baseline's one-line table and "held-out Kendall: X" on stdout;
# ROOT/torch/scores.json holds the details (test_score is the held-out tau).
set -euo pipefail
cd "$(dirname "$0")/.."
PROG=real_split.sh
PY=/usr/bin/python3
BUDGET=180
ROOT=
SEED=1
THREADS=2
FILE=${FILE:-../../shared/data/real/npz/layout/xla/default/train/unet3d.npz}
[ -f "$FILE" ] || FILE=/work/shared/data/real/npz/layout/xla/default/train/unet3d.npz

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while getopts "b:r:s:t:h" o; do
	case $o in
	b) BUDGET=$OPTARG ;;
	r) ROOT=$OPTARG ;;
	s) SEED=$OPTARG ;;
	t) THREADS=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[ -f "$FILE" ] || { echo "$PROG: $FILE: no such file" >&2; exit 2; }
if [ -z "$ROOT" ]; then
	ROOT=$(mktemp -d /tmp/real-split.XXXXXX)
	echo "$PROG: working in $ROOT" >&2
fi
mkdir -p "$ROOT"

# 1. the split: one graph, its configs in three disjoint random parts
"$PY" tests/tools/split_configs.py "$FILE" "$ROOT/npz/layout/xla/random" \
	--fractions 0.7,0.1,0.2 --seed "$SEED" >&2

# 2. the PyTorch baseline: trains on train, best epoch on valid, scores test
"$PY" bench/torch_baseline.py --data "$ROOT" --out "$ROOT/torch" \
	--collections layout:xla:random --budget "$BUDGET" --seed "$SEED" \
	--threads "$THREADS"
"$PY" -c 'import json, sys
s = json.load(open(sys.argv[1]))["collections"]["layout:xla:random"]
print("held-out Kendall: %.4f (valid %.4f, %d epochs, %.0f s)" % (
    s["test_score"], s["valid_score"], s["epochs"], s["seconds"]))' "$ROOT/torch/scores.json"

# 3. the project's pipeline on the same split, under the same budget:
# all.sh --budget (its default members and conf), scored by rank-eval on its
# submission against the test file's own runtimes
pipeline_run() {
	local truth="$ROOT/test-truth.mp"
	PATH="$PWD/bin:$PATH"
	npz2mp -q "$ROOT/npz/layout/xla/random/test" > "$truth"
	pipelines/all.sh --data "$ROOT" --out "$ROOT/ours" --collections layout:xla:random \
		--budget "$BUDGET" --no-plots > "$ROOT/ours.log" 2>&1 ||
		{ tail -20 "$ROOT/ours.log" >&2; return 1; }
	rank-eval --json --truth "$truth" --csv "$ROOT/ours/submission.csv" > "$ROOT/ours/test.json"
	"$PY" -c 'import json, sys
j = json.load(open(sys.argv[1]))
print("pipeline held-out Kendall: %.4f (%s)" % (j["collections"][0]["kendall"],
      open(sys.argv[2]).read().splitlines()[-1]))' "$ROOT/ours/test.json" "$ROOT/ours/plan.txt"
}
[ -n "${NO_PIPELINE:-}" ] || pipeline_run
