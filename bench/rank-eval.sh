#!/usr/bin/env bash
# bench/rank-eval.sh: rank-eval's time on one layout graph of N configs, for
# N = 10k, 100k, 1M (O(n log n): 10x the configs should cost ~12x, not 100x),
# next to scipy.stats (kendalltau + spearmanr) on the same arrays.
#
#   bench/rank-eval.sh [SIZES...]      (default: 10000 100000 1000000)
#
# Env: BIN (default bin/), REPS (best of, default 3).  Times are the best of
# REPS runs: CPU = user + sys of the rank-eval process (the steadier figure on
# a shared machine), wall = elapsed; scipy's is the wall time of the two
# calls on arrays already in memory (no I/O).  Writes a markdown
# table on stdout; the streams go to a temporary directory, removed after.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
REPS=${REPS:-3}
PY=/usr/bin/python3
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 100000 1000000)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
echo
echo "| configs | rank-eval CPU s | rank-eval wall s | CPU ns per n log2 n | peak RSS MB | scipy kendalltau+spearmanr s | streams MB |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for n in "${SIZES[@]}"; do
	PYTHONPATH=tests/cli "$PY" - "$T" "$n" <<'PY'
import sys, numpy as np
from rank_data import write_truth, write_pred
d, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(n)
rt = rng.integers(10**5, 10**8, n)
ci = rng.permutation(n)
write_truth(d + '/truth.mp', [{'id': 'layout:xla:random:bench', 'runtime': rt, 'config_index': ci}], chunk=1024)
# a prediction correlated with the truth, with ties (f32 rounding of a coarse score)
sc = (np.log(rt) + rng.normal(0, 1, n)).round(2).astype(np.float32)
p = rng.permutation(n)
write_pred(d + '/pred.mp', [('layout:xla:random:bench', ci[p], sc[p])])
PY
	# CPU (user+sys) and wall seconds, best of REPS, and peak RSS, of the child
	read -r cpu wall rss < <(nice "$PY" - "$REPS" "$BIN/rank-eval" -t "$T/truth.mp" "$T/pred.mp" <<'PY'
import resource, subprocess, sys, time
reps, cmd = int(sys.argv[1]), sys.argv[2:]
cpu = wall = 1e9
for _ in range(reps):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = min(wall, time.perf_counter() - t)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = min(cpu, r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
print('%.4f %.4f %d' % (cpu, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
PY
)
	scipy=$(PYTHONPATH=tests/cli nice "$PY" - "$T" "$REPS" <<'PY'
import sys, time, numpy as np
from scipy import stats
from rank_data import read_stream, arr
d, reps = sys.argv[1], int(sys.argv[2])
y = {}
for r in read_stream(d + '/truth.mp'):
    if r['t'] == 'configs':
        y.update(zip(arr(r['config_index']).tolist(), arr(r['config_runtime']).tolist()))
p = [r for r in read_stream(d + '/pred.mp') if r['t'] == 'pred'][0]
ci, s = arr(p['config_index']), arr(p['score']).astype(float)
yy = np.array([y[c] for c in ci.tolist()], float)
best = 1e9
for _ in range(reps):
    t = time.perf_counter()
    stats.kendalltau(s, yy); stats.spearmanr(s, yy)
    best = min(best, time.perf_counter() - t)
print('%.3f' % best)
PY
)
	mb=$(du -m "$T/truth.mp" | cut -f1)
	mb2=$(du -m "$T/pred.mp" | cut -f1)
	per=$(awk "BEGIN{printf \"%.1f\", $cpu * 1e9 / ($n * log($n) / log(2))}")
	echo "| $n | $cpu | $wall | $per | $((rss / 1024)) | $scipy | $((mb + mb2)) |"
done
