#!/usr/bin/env bash
# sage-train against the same model in PyTorch (tests/torch/sage_torch.py):
# per collection, in one run and on the same data, seconds per epoch
# (training, and with the validation), peak RSS, and both models' valid
# scores after the same number of epochs, next to the trivial rankers'.
# Same hidden size, layers, configs per graph, optimiser, 2 threads each.
#
# usage: bench/sage.sh [EPOCHS] [WORKDIR] [SCALE] [LIMIT]
#   EPOCHS   epochs per run (default 3)
#   WORKDIR  scratch directory (default: a new temporary one)
#   SCALE    tpugen scale (default small)
#   LIMIT    graphs per collection split (tpugen --limit; default 0: all)
# COLLS="tile:xla layout:xla:random" narrows the collections; EXTRA="..."
# adds options to both trainers (e.g. EXTRA="--hidden 128"); REPEAT=N runs
# each trainer N times, alternating, and keeps the fastest (default 3);
# VALID_MAX=N samples N configs per valid graph (npz2mp --max-configs), the
# same for both (the full scale's valid graphs have up to 20k configs).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-3}
W=${2:-$(mktemp -d)}
SCALE=${3:-small}
LIMIT=${4:-0}
COLLS=${COLLS:-tile:xla layout:xla:random layout:xla:default layout:nlp:random layout:nlp:default}
EXTRA=${EXTRA:-}
REPEAT=${REPEAT:-3}
VALID_MAX=${VALID_MAX:-0}
PY=/usr/bin/python3
THREADS=2
# Both trainers' OpenMP threads sleep while they wait (the filters' own
# default; torch's libgomp gets the same), so that other processes on the
# machine do not turn spinning threads into a convoy.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
mkdir -p "$W"
make -s all >/dev/null
export PATH="$PWD/bin:$PATH"
"$PY" -c 'import torch' 2>/dev/null || { echo "bench/sage.sh: python3-torch is needed" >&2; exit 3; }

echo "# sage-train vs PyTorch $("$PY" -c 'import torch; print(torch.__version__)'): $(date -u +%Y-%m-%d), $(nproc) cores, $THREADS threads each"
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average before: $(cut -d' ' -f1-3 /proc/loadavg); OMP_WAIT_POLICY=$OMP_WAIT_POLICY, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset: detected)}"
lim_txt=""; [ "$LIMIT" -gt 0 ] && lim_txt=" --limit $LIMIT"
vm_txt=""; [ "$VALID_MAX" -gt 0 ] && vm_txt="; valid: $VALID_MAX configs per graph"
echo "# tpugen --scale $SCALE$lim_txt; $EPOCHS epochs; defaults (hidden 64, 3 layers, 64 configs per graph) $EXTRA$vm_txt"

lim=()
[ "$LIMIT" -gt 0 ] && lim=(--limit "$LIMIT")
if [ ! -d "$W/data/npz" ]; then
	tpugen --out "$W/data" --scale "$SCALE" "${lim[@]}" >/dev/null
fi
"$PY" tests/tools/trivial_rankers.py --split valid --json "$W/data" > "$W/trivial.json"

printf '\n| collection | graphs (train/valid) | C train s/epoch | torch train s/epoch | speed-up | C s/epoch with valid | torch s/epoch with valid | speed-up | C CPU s | torch CPU s | C peak RSS MB | torch peak RSS MB | C valid | torch valid | trivial rankers |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for coll in $COLLS; do
	sub=${coll//://}
	name=${coll//:/_}
	npz2mp -q "$W/data/npz/$sub/train" | encode-base7 > "$W/$name.train.mp"
	vmax=()
	[ "$VALID_MAX" -gt 0 ] && vmax=(--max-configs "$VALID_MAX" --seed 1)
	npz2mp -q "${vmax[@]}" "$W/data/npz/$sub/valid" | encode-base7 > "$W/$name.valid.mp"
	gps=1
	[ "${coll%%:*}" = tile ] && gps=8
	# REPEAT runs of each, alternating, so that both see the same load
	for r in $(seq 1 "$REPEAT"); do
		# shellcheck disable=SC2086
		/usr/bin/time -f '%e %U %S %M' -o "$W/$name.ctime.$r" sage-train -q --threads $THREADS \
			--epochs "$EPOCHS" --graphs-per-step $gps $EXTRA --valid "$W/$name.valid.mp" \
			--log "$W/$name.clog.$r" --out "$W/$name.model.mp" "$W/$name.train.mp"
		# shellcheck disable=SC2086
		OMP_NUM_THREADS=$THREADS /usr/bin/time -f '%e %U %S %M' -o "$W/$name.ttime.$r" \
			"$PY" tests/torch/sage_torch.py train --quiet --threads $THREADS --epochs "$EPOCHS" \
			--graphs-per-step $gps $EXTRA --valid "$W/$name.valid.mp" \
			--out-json "$W/$name.tjson.$r" "$W/$name.train.mp"
	done
	"$PY" - "$W" "$name" "$coll" "$REPEAT" <<-'PYEOF'
		import json, subprocess, sys
		w, name, coll, rep = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
		def runs(kind):
		    out = []
		    for r in range(1, rep + 1):
		        if kind == "c":
		            ep = [json.loads(l) for l in open("%s/%s.clog.%d" % (w, name, r))]
		        else:
		            ep = json.load(open("%s/%s.tjson.%d" % (w, name, r)))["epochs"]
		        e, u, s_, m = open("%s/%s.%stime.%d" % (w, name, kind, r)).read().split()
		        out.append(dict(train=sum(x["train_seconds"] for x in ep) / len(ep),
		                        epoch=sum(x["seconds"] for x in ep) / len(ep),
		                        cpu=float(u) + float(s_), rss=int(m) // 1024, valid=ep[-1]["valid"]))
		    return out
		c, t = runs("c"), runs("t")
		best = lambda rs, k: min(x[k] for x in rs)
		triv = json.load(open("%s/trivial.json" % w)).get(coll, {})
		tv = ", ".join("%s %.3f" % (k, v) for k, v in triv.items() if k not in ("graphs", "linear-probe"))
		def count(p):
		    out = subprocess.run(["mp-dump", "--type", "graph", p], capture_output=True, text=True).stdout
		    return out.count("\n")
		print("| %s | %d/%d | %.2f | %.2f | %.1fx | %.2f | %.2f | %.1fx | %.0f | %.0f | %d | %d | %.4f | %.4f | %s |" % (
		    coll, count("%s/%s.train.mp" % (w, name)), count("%s/%s.valid.mp" % (w, name)),
		    best(c, "train"), best(t, "train"), best(t, "train") / best(c, "train"),
		    best(c, "epoch"), best(t, "epoch"), best(t, "epoch") / best(c, "epoch"),
		    best(c, "cpu"), best(t, "cpu"), max(x["rss"] for x in c), max(x["rss"] for x in t),
		    c[0]["valid"], t[0]["valid"], tv))
	PYEOF
done
echo
echo "valid: the score after the last epoch (layout: mean Kendall tau of the strict order; tile: mean 2 - top-5 ratio)."
echo "train s/epoch: optimiser steps only; with valid: the whole epoch including scoring every valid config;"
echo "each the fastest of $REPEAT alternating runs (the machine may be shared).  CPU s: user + system of a whole"
echo "run (reading the data included), the least of the runs.  Peak RSS: the largest."
