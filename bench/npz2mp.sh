#!/usr/bin/env bash
# npz2mp throughput and peak RSS against numpy's np.load on one layout file
# of >= 1 GB, STORED and DEFLATE, side by side in one run.
# usage: bench/npz2mp.sh [GB] [WORKDIR]   (default 1 GB, a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
GB=${1:-1}
W=${2:-$(mktemp -d)}
PY=/usr/bin/python3
mkdir -p "$W/npz/layout/nlp/random/train" "$W/npz/layout/nlp/default/train"
"$PY" - "$W" "$GB" <<'PYEOF'
import sys, os, numpy as np
w, gb = sys.argv[1], float(sys.argv[2])
n, nc = 20000, 500
c = int(gb * (1 << 30) / (nc * 18 * 4)) + 1
rng = np.random.default_rng(0)
d = dict(node_feat=rng.standard_normal((n, 140)).astype(np.float32),
         node_opcode=rng.integers(1, 121, n).astype(np.int32),
         edge_index=np.stack([np.arange(1, n), np.arange(0, n - 1)], 1).astype(np.int64),
         node_config_ids=np.sort(rng.choice(n, nc, replace=False)).astype(np.int64),
         config_runtime=rng.integers(10**6, 10**9, c).astype(np.int64),
         node_splits=np.array([[0]], np.int64))
# layout configs: mostly -1 (compiler default) with some permutations, as in the data
f = np.full((c, nc, 18), -1, np.float32)
mask = rng.random((c, nc)) < 0.3
f[mask, 0:4] = np.array([3, 2, 1, 0], np.float32)
d["node_config_feat"] = f
for path, save in ((w + "/npz/layout/nlp/random/train/big.npz", np.savez),
                   (w + "/npz/layout/nlp/default/train/big.npz", np.savez_compressed)):
    if not os.path.exists(path):
        save(path, **d)
print("configs", c, "config bytes", f.nbytes)
PYEOF
cat > "$W/npload.py" <<'PYEOF'
import sys, numpy as np
z = np.load(sys.argv[1])
tot = 0
for k in z.files:
    tot += z[k].nbytes
print(tot)
PYEOF
printf '| file | method | size on disk | array bytes | tool | wall s | MB/s (array bytes) | peak RSS MB |\n|---|---|---|---|---|---|---|---|\n'
for kind in random default; do
	f="$W/npz/layout/nlp/$kind/train/big.npz"
	method=STORED; [ "$kind" = default ] && method=DEFLATE
	disk=$(stat -c %s "$f")
	bytes=$("$PY" "$W/npload.py" "$f")
	cat "$f" > /dev/null   # warm the page cache for both
	for tool in npz2mp numpy; do
		if [ "$tool" = npz2mp ]; then
			cmd=(bin/npz2mp -q "$f")
		else
			cmd=("$PY" "$W/npload.py" "$f")
		fi
		/usr/bin/time -f '%e %M' -o "$W/time" "${cmd[@]}" > /dev/null
		read -r wall rss < "$W/time"
		mbs=$(awk -v b="$bytes" -v t="$wall" 'BEGIN { printf "%.0f", b / 1e6 / (t > 0 ? t : 0.01) }')
		printf '| big.npz | %s | %.0f MB | %.0f MB | %s | %s | %s | %.0f |\n' "$method" "$(echo "$disk / 1000000" | bc -l)" \
			"$(echo "$bytes / 1000000" | bc -l)" "$tool" "$wall" "$mbs" "$(echo "$rss / 1024" | bc -l)"
	done
done
