#!/usr/bin/env bash
# model_digests.sh WORKDIR: train a grid of small models (every arch, both
# kinds, every loss and the training options that touch the step) and print
# one line per model: its name and the SHA-256 of its parameters (mp-dump of
# the param records; the header, whose argv differs, is left out).
#
# What it is for: a refactoring of the trainer or the model must leave every
# line the same (same seed and threads; on any x86-64 CPU, as the kernels
# sum in one order, lib/nn.c; the two NN_GEMM=blas cases are OpenBLAS's and
# the CPU's own).  tests/cli/model-digests.bats compares the grid with
# tests/fixtures/model_digests.txt, the digests of the code as it was when
# they were recorded.  Run it before and after a change, and diff:
#
#   tests/tools/model_digests.sh /tmp/md > before.txt   # old build
#   tests/tools/model_digests.sh /tmp/md > after.txt    # new build
#   diff before.txt after.txt
#
# Uses the programs on PATH (make puts them in bin/).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: model_digests.sh WORKDIR" >&2; exit 2; }
D=$1
mkdir -p "$D"
if [ ! -s "$D/t_valid.mp" ]; then
	tpugen --out "$D/tg" --scale tiny --collections layout:xla:random,tile:xla >/dev/null
	for s in train valid; do
		npz2mp -q "$D/tg/npz/layout/xla/random/$s" > "$D/lraw_$s.mp"
		encode-base7 "$D/lraw_$s.mp" > "$D/l_$s.mp"
		npz2mp -q "$D/tg/npz/tile/xla/$s" > "$D/t_$s.mp"
	done
fi
M=(--hidden 8 --layers 2 --op-dim 4 --cfg-dim 2 --se-dim 4 --heads 2)   # the model's
Q=(--configs-per-graph 16 --quiet --threads 1)   # a case's --threads comes later and wins

digest() {   # NAME KIND ARGS...: train on KIND's split, print NAME digest
	local name=$1 k=$2
	shift 2
	case " $* " in *" --steps "*) ;; *) set -- --epochs 3 "$@" ;; esac
	sage-train "${M[@]}" "${Q[@]}" --out "$D/$name.model" --valid "$D/${k}_valid.mp" "$@" \
		"$D/${k}_train.mp" 2> "$D/$name.err" || { cat "$D/$name.err" >&2; exit 1; }
	printf '%s %s\n' "$name" "$(mp-dump --full --type param "$D/$name.model" |
		sha256sum | cut -c1-16)"
}

for arch in sage gat gin appnp gps mlp; do
	digest "layout-$arch" l --arch "$arch" --threads 1
	digest "tile-$arch" t --arch "$arch" --threads 1
done
for loss in hinge listmle diffmat; do
	digest "layout-loss-$loss" l --loss "$loss"
	digest "tile-loss-$loss" t --loss "$loss"
done
digest layout-mape l --loss hinge --mape 0.5
digest tile-mape t --mape 0.2 --mix 0.3 --margin 0.5
digest layout-threads2 l --threads 2 --arch gps
digest tile-threads2 t --threads 2 --xattn on
digest layout-drop-edge l --drop-edge 0.3 --graphs-per-step 2
digest tile-late t --tile-join late --pool mean --se off
digest layout-pe l --pe rwpe:4 --arch gat
digest tile-swa t --swa 2 --lr 0.01 --weight-decay 0.01 --clip 0.5
digest layout-patience l --patience 1 --steps 40 --valid-every 4
digest tile-oversample t --oversample --warmup 3 --lr-min 0.001
digest layout-steps l --steps 7 --valid-every 2 --seed 5
digest layout-valid-configs l --valid-configs 5 --seed 3
NN_GEMM=blas digest layout-blas l --threads 2
NN_GEMM=blas digest tile-blas t --threads 2 --arch gat
M=()   # the architecture comes from the --init model
digest tile-init t --init "$D/tile-sage.model"
