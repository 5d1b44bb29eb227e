#!/usr/bin/env bash
# npz2mp throughput and peak RSS against numpy's np.load on one layout file
# of >= 1 GB, STORED and DEFLATE, side by side in one run.
# usage: bench/npz2mp.sh [GB] [WORKDIR]   (default 1 GB, a temp dir)
# Prints a markdown page; `bench/npz2mp.sh > docs/bench/npz2mp.md` records it.
set -euo pipefail
cd "$(dirname "$0")/.."
GB=${1:-1}
W=${2:-$(mktemp -d)}
PY=/usr/bin/python3
mkdir -p "$W/npz/layout/nlp/random/train" "$W/npz/layout/nlp/default/train"
"$PY" - "$W" "$GB" >&2 <<'PYEOF'
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
model=$(lscpu | sed -n 's/^Model name: *//p')
load=$(cut -d' ' -f1-3 /proc/loadavg)
printf '# npz2mp vs numpy: reading a %s GB layout file\n\n' "$GB"
printf 'Command: `bench/npz2mp.sh %s`.  Machine: %s cores, %s; load average %s\n' "$GB" "$(nproc)" "$model" "$load"
printf 'when it started (compare the two tools within a pair of rows, measured back to back).\n'
printf 'One layout:nlp-shaped file (20000 nodes, 500 configurable nodes, ~1 GiB of\n'
printf 'node_config_feat), written by numpy savez (STORED) and savez_compressed\n'
printf '(DEFLATE).  npz2mp decodes every member, checks every value and writes the\n'
printf 'stream to /dev/null; numpy np.load reads every array.  Both verify CRC-32.\n'
printf 'Warm page cache.  MB/s = array bytes / wall seconds.\n\n'
printf '| method | size on disk | array bytes | tool | wall s | CPU s | MB/s | peak RSS MB |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for kind in random default; do
	f="$W/npz/layout/nlp/$kind/train/big.npz"
	method=STORED
	[ "$kind" = default ] && method=DEFLATE
	disk=$(stat -c %s "$f")
	bytes=$("$PY" "$W/npload.py" "$f")
	cat "$f" > /dev/null
	for tool in npz2mp numpy; do
		if [ "$tool" = npz2mp ]; then
			cmd=(bin/npz2mp -q "$f")
		else
			cmd=("$PY" "$W/npload.py" "$f")
		fi
		/usr/bin/time -f '%e %U %S %M' -o "$W/time" "${cmd[@]}" > /dev/null
		read -r wall usr sys rss < "$W/time"
		awk -v m="$method" -v d="$disk" -v b="$bytes" -v t="$tool" -v w="$wall" -v u="$usr" -v s="$sys" -v r="$rss" \
			'BEGIN { printf "| %s | %.0f MB | %.0f MB | %s | %.2f | %.2f | %.0f | %.0f |\n", m, d / 1e6, b / 1e6, t, w, u + s, b / 1e6 / (w > 0 ? w : 0.01), r / 1024 }'
	done
done
