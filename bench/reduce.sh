#!/usr/bin/env bash
# bench/reduce.sh: throughput, peak RSS and compression of the graph
# reduction filters (prune-hop, dijkstra-compress, encode-base7) on tpugen's
# layout:nlp collections, the largest graphs and configs of the dataset.
#
#   bench/reduce.sh                         # SCALE=small: about 550 MB of .npz
#   SCALE=full LIMIT=1 MAX_CONFIGS=2000 CHUNK=256 REPS=1 bench/reduce.sh
#                                           # real-size graphs, configs sampled
#
# Environment: BIN (default bin/), SCALE (tiny|small|full, default small),
# LIMIT (tpugen --limit: graphs per collection split), GEN (a tpugen output
# directory to reuse instead of generating), MAX_CONFIGS (npz2mp
# --max-configs), CHUNK (npz2mp --chunk, default 1024), WORK (scratch
# directory, default a new one under /tmp, removed at the end unless KEEP=1),
# REPS (timed runs per command, the fastest kept, default 3).
# Prints markdown tables on stdout (docs/bench/reduce.md holds runs).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
SCALE=${SCALE:-small}
REPS=${REPS:-3}
PY=/usr/bin/python3
WORK=${WORK:-$(mktemp -d /tmp/bench-reduce.XXXXXX)}
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
for f in tpugen npz2mp prune-hop dijkstra-compress encode-base7; do
	[ -x "$BIN/$f" ] || { echo "reduce.sh: $BIN/$f not built (make)" >&2; exit 3; }
done

if [ -z "${GEN:-}" ]; then
	GEN=$WORK/gen
	echo "reduce.sh: tpugen --scale $SCALE layout:nlp -> $GEN" >&2
	"$BIN/tpugen" --out "$GEN" --scale "$SCALE" ${LIMIT:+--limit "$LIMIT"} \
		--collections layout:nlp:random,layout:nlp:default --compress stored >&2
fi
"$BIN/npz2mp" -q --chunk "${CHUNK:-1024}" ${MAX_CONFIGS:+--max-configs "$MAX_CONFIGS"} \
	"$GEN/npz/layout/nlp" > "$WORK/in.mp"
# the graphs alone (one config each): what the graph algorithms cost
"$BIN/npz2mp" -q --max-configs 1 "$GEN/npz/layout/nlp" > "$WORK/graphs.mp"

# stats STREAM: graphs nodes edges configs config_bytes stream_bytes
stats() {
	"$PY" - "$1" <<-'EOF'
		import os, sys, msgpack
		g = n = m = c = cb = 0
		with open(sys.argv[1], "rb") as f:
		    for r in msgpack.Unpacker(f, raw=False, max_buffer_size=2**31 - 1):
		        if r["t"] == "graph":
		            g += 1; n += r["node_feat"]["shape"][0]; m += r["edge_index"]["shape"][0]
		        elif r["t"] == "configs":
		            c += r["count"]
		            for k in ("node_config_feat", "node_config_code"):
		                if k in r:
		                    cb += len(r[k]["data"])
		print(g, n, m, c, cb, os.path.getsize(sys.argv[1]))
	EOF
}

# run IN NAME CMD...: the best wall time of REPS runs on IN, the peak RSS
# (KB) of that run, and the stats of the output
run() {
	local in=$1 name=$2 best="" rss="" i t r
	shift 2
	for i in $(seq "$REPS"); do
		/usr/bin/time -f "%e %M" -o "$WORK/time" "$@" < "$in" > "$WORK/out.mp"
		read -r t r < "$WORK/time"
		if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t rss=$r; fi
	done
	echo "$name $best $rss $(stats "$WORK/out.mp")"
	rm -f "$WORK/out.mp"
}

# table M C SB < results: one markdown row per command
table() {
	echo "| command | wall s | MB/s in | edges/s | configs/s | peak RSS MB | nodes after | edges after | configs after | config MB after | stream MB after |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	while read -r name t rss g n m c cb sb; do
		awk -v name="$name" -v t="$t" -v rss="$rss" -v n="$n" -v m="$m" -v c="$c" \
		    -v cb="$cb" -v sb="$sb" -v M="$1" -v C="$2" -v SB="$3" 'BEGIN {
			tt = t > 0 ? t : 0.005   # /usr/bin/time has 10 ms steps
			printf "| %s | %.2f | %.0f | %.2g | %.2g | %.0f | %d | %d | %d | %.1f | %.1f |\n",
			       name, t, SB / 1e6 / tt, M / tt, C / tt, rss / 1024, n, m, c, cb / 1e6, sb / 1e6 }'
	done
}

read -r G N M C CB SB <<< "$(stats "$WORK/in.mp")"
read -r g1 n1 m1 c1 cb1 sb1 <<< "$(stats "$WORK/graphs.mp")"
{
	run "$WORK/in.mp" prune-hop-k1 "$BIN/prune-hop" -k 1
	run "$WORK/in.mp" prune-hop-k2 "$BIN/prune-hop" -k 2
	run "$WORK/in.mp" dijkstra-unit "$BIN/dijkstra-compress"
	run "$WORK/in.mp" dijkstra-bytes "$BIN/dijkstra-compress" -w bytes
	run "$WORK/in.mp" encode "$BIN/encode-base7"
	run "$WORK/in.mp" dedup "$BIN/encode-base7" --dedup
	run "$WORK/in.mp" dedup-const "$BIN/encode-base7" --dedup --drop-constant
	run "$WORK/in.mp" cat cat
} > "$WORK/results"
{
	run "$WORK/graphs.mp" prune-hop-k1 "$BIN/prune-hop" -k 1
	run "$WORK/graphs.mp" prune-hop-k2 "$BIN/prune-hop" -k 2
	run "$WORK/graphs.mp" dijkstra-unit "$BIN/dijkstra-compress"
	run "$WORK/graphs.mp" dijkstra-bytes "$BIN/dijkstra-compress" -w bytes
	run "$WORK/graphs.mp" cat cat
} > "$WORK/results-graphs"

# numpy doing encode-base7 --dedup's arithmetic on the same configs (packing
# and np.unique per graph), in memory: a reference for the compute alone
NP=$("$PY" - "$WORK/in.mp" <<-'EOF'
	import sys, time, msgpack, numpy as np
	t = 0.0; feats = []
	def flush():
	    global t, feats
	    if not feats: return
	    t0 = time.perf_counter()
	    f = np.concatenate(feats)
	    d = (f.astype(np.int64) + 1).reshape(f.shape[0], f.shape[1], 3, 6)
	    codes = (d * 7 ** np.arange(6)).sum(-1).astype(np.uint32)
	    np.unique(codes.reshape(len(codes), -1), axis=0, return_inverse=True)
	    t += time.perf_counter() - t0
	    feats = []
	with open(sys.argv[1], "rb") as fh:
	    for r in msgpack.Unpacker(fh, raw=False, max_buffer_size=2**31 - 1):
	        if r["t"] == "graph": flush()
	        elif r["t"] == "configs" and "node_config_feat" in r:
	            x = r["node_config_feat"]
	            feats.append(np.frombuffer(x["data"], "<f4").reshape(x["shape"]))
	flush()
	print(f"{t:.2f}")
EOF
)

echo "Input: $GEN (layout:nlp), npz2mp --chunk ${CHUNK:-1024}${MAX_CONFIGS:+ --max-configs $MAX_CONFIGS}:"
echo "$G graphs, $N nodes, $M edges, $C configs; config features $((CB / 1000000)) MB; stream $((SB / 1000000)) MB."
echo
table "$M" "$C" "$SB" < "$WORK/results"
echo
echo "numpy doing --dedup's arithmetic (pack + np.unique per graph, in memory, no I/O): $NP s"
echo
echo "The graphs alone (npz2mp --max-configs 1): $g1 graphs, $n1 nodes, $m1 edges, stream $((sb1 / 1000000)) MB."
echo
table "$m1" "$c1" "$sb1" < "$WORK/results-graphs"
