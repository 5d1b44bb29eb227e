#!/usr/bin/env bash
# Two builds of sage-train against each other on bench/sage.sh's data and
# command (same collections, epochs, threads and options): seconds per
# epoch of each, training alone and with the validation, the fastest of
# REPEAT alternating runs, and B / A.  For a change that must keep the speed
# (issue 16: within 5% of the build before it).
#
# usage: bench/speed_ab.sh BIN_A BIN_B [WORKDIR]
#   BIN_A, BIN_B  directories holding a sage-train each (e.g. a worktree's
#                 bin/ at the commit before, and this tree's bin/)
#   WORKDIR       scratch directory (default: a new temporary one); the
#                 data is made once and kept
# Environment: COLLS (default "tile:xla layout:xla:random layout:nlp:random",
# the collections of docs/bench/sage.md), EPOCHS (3), REPEAT (3),
# SCALE (small), THREADS (2), EXTRA (more sage-train options for both),
# ENV_A, ENV_B (VAR=VALUE words for one side's environment, e.g.
# ENV_A="NN_GEMM=blas OPENBLAS_CORETYPE=Haswell": one build both ways).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: bench/speed_ab.sh BIN_A BIN_B [WORKDIR]" >&2; exit 2; }
A=$(cd "$1" && pwd)
B=$(cd "$2" && pwd)
W=${3:-$(mktemp -d)}
COLLS=${COLLS:-tile:xla layout:xla:random layout:nlp:random}
EPOCHS=${EPOCHS:-3}
REPEAT=${REPEAT:-3}
SCALE=${SCALE:-small}
THREADS=${THREADS:-2}
EXTRA=${EXTRA:-}
ENV_A=${ENV_A:-}
ENV_B=${ENV_B:-}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
for b in "$A" "$B"; do
	[ -x "$b/sage-train" ] || { echo "bench/speed_ab.sh: no sage-train in $b" >&2; exit 2; }
done
mkdir -p "$W"
make -s all >/dev/null
export PATH="$PWD/bin:$PATH"

echo "# sage-train A ($A${ENV_A:+, $ENV_A}) against B ($B${ENV_B:+, $ENV_B}): $(date -u +%Y-%m-%d), $(nproc) cores, $THREADS threads"
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# tpugen --scale $SCALE; $EPOCHS epochs; defaults (hidden 64, 3 layers, 64 configs per graph) $EXTRA; fastest of $REPEAT alternating runs"
[ -d "$W/data/npz" ] || tpugen --out "$W/data" --scale "$SCALE" >/dev/null

printf '\n| collection | A train s/epoch | B train s/epoch | B / A | A s/epoch with valid | B s/epoch with valid | B / A |\n'
printf '|---|---|---|---|---|---|---|\n'
for coll in $COLLS; do
	sub=${coll//://}
	name=${coll//:/_}
	[ -s "$W/$name.train.mp" ] || npz2mp -q "$W/data/npz/$sub/train" | encode-base7 > "$W/$name.train.mp"
	[ -s "$W/$name.valid.mp" ] || npz2mp -q "$W/data/npz/$sub/valid" | encode-base7 > "$W/$name.valid.mp"
	gps=1
	[ "${coll%%:*}" = tile ] && gps=8
	for r in $(seq 1 "$REPEAT"); do
		for v in A B; do
			bin=$A envs=$ENV_A
			[ $v = B ] && bin=$B envs=$ENV_B
			# shellcheck disable=SC2086
			env $envs "$bin/sage-train" -q --threads "$THREADS" --epochs "$EPOCHS" --graphs-per-step $gps \
				$EXTRA --valid "$W/$name.valid.mp" --log "$W/$name.$v.log.$r" \
				--out "$W/$name.$v.model" "$W/$name.train.mp"
		done
	done
	/usr/bin/python3 - "$W" "$name" "$coll" "$REPEAT" <<-'PYEOF'
		import json, sys
		w, name, coll, rep = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
		def best(v, key):
		    out = []
		    for r in range(1, rep + 1):
		        ep = [json.loads(l) for l in open("%s/%s.%s.log.%d" % (w, name, v, r))]
		        out.append(sum(x[key] for x in ep) / len(ep))
		    return min(out)
		a, b = best("A", "train_seconds"), best("B", "train_seconds")
		av, bv = best("A", "seconds"), best("B", "seconds")
		print("| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |" % (coll, a, b, b / a, av, bv, bv / av))
	PYEOF
done
