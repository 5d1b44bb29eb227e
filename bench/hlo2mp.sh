#!/usr/bin/env bash
# bench/hlo2mp.sh: how well rankers order the real TPU runs of the two HLO
# tuning files (tests/fixtures/hlo), scored by rank-eval; and hlo2mp's speed.
#
#   bash bench/hlo2mp.sh                        trivial rankers only
#   LAYOUT_MODEL=m.layout TILE_MODEL=m.tile bash bench/hlo2mp.sh
#                                               plus a trained model's row
#
# Trivial rankers: random (mean over 10 seeds), file order (the runs as the
# tuner listed them), default first (the compiler's own choice ranked best,
# the rest tied).  The model row runs
#   hlo2mp FILE | prune-hop | encode-base7 | sage-predict --model M
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
L=tests/fixtures/hlo/module_tuning_data_layout.pb
K=tests/fixtures/hlo/op_tuning_data.pb

"$BIN/hlo2mp" -q "$L" >"$T/l.mp"
"$BIN/hlo2mp" -q "$K" >"$T/t.mp"

# pred streams for the trivial rankers
"$PY" - "$T" <<'PYEOF'
import sys, msgpack, numpy as np
T = sys.argv[1]
def write(src, dst, how, seed=0):
    recs = list(msgpack.Unpacker(open(src, 'rb'), raw=False))
    out, g, idx = [recs[0]], None, []
    rng = np.random.default_rng(seed)
    def flush():
        if g is None:
            return
        n = len(idx)
        if how == 'random':
            s = rng.random(n)
        elif how == 'order':
            s = np.arange(n, dtype=np.float64)
        else:  # default first, the rest tied
            s = np.ones(n)
            if g['default_index'] >= 0:
                s[g['default_index']] = 0
        out.append({'t': 'pred', 'id': g['id'],
                    'config_index': {'dtype': 'i64', 'shape': [n], 'data': np.array(idx, '<i8').tobytes()},
                    'score': {'dtype': 'f32', 'shape': [n], 'data': s.astype('<f4').tobytes()}})
    for r in recs[1:]:
        if r['t'] == 'graph':
            flush()
            g, idx = r, []
        elif r['t'] == 'configs':
            idx += np.frombuffer(r['config_index']['data'], '<i8').tolist()
    flush()
    out.append({'t': 'end', 'records': len(out), 'graphs': 0, 'chunks': 0,
                'configs': 0, 'preds': len(out) - 1})
    open(dst, 'wb').write(b''.join(msgpack.packb(r, use_bin_type=True) for r in out))
for k in ('l', 't'):
    for s in range(10):
        write('%s/%s.mp' % (T, k), '%s/%s_random%d.mp' % (T, k, s), 'random', s)
    write('%s/%s.mp' % (T, k), '%s/%s_order.mp' % (T, k), 'order')
    write('%s/%s.mp' % (T, k), '%s/%s_default.mp' % (T, k), 'default')
PYEOF

# metrics of one pred stream: layout kendall, opa; tile top1, top5, score
ev() { "$BIN/rank-eval" -j -t "$1" "$2"; }
row() {  # NAME LAYOUT_PRED... -- TILE_PRED...
	local name=$1; shift
	local lp=() tp=() side=l
	for a in "$@"; do
		if [ "$a" = -- ]; then side=t; continue; fi
		if [ $side = l ]; then lp+=("$a"); else tp+=("$a"); fi
	done
	for p in "${lp[@]}"; do ev "$T/l.mp" "$p"; done >"$T/lj"
	for p in "${tp[@]}"; do ev "$T/t.mp" "$p"; done >"$T/tj"
	"$PY" - "$name" "$T/lj" "$T/tj" <<'PYEOF'
import sys, json
def docs(path):
    dec, s, out = json.JSONDecoder(), open(path).read(), []
    i = 0
    while i < len(s):
        while i < len(s) and s[i].isspace():
            i += 1
        if i >= len(s):
            break
        d, i = dec.raw_decode(s, i)
        out.append(d)
    return out
def coll(d):
    c = d['collections']
    return c[0] if isinstance(c, list) else next(iter(c.values()))
def mean(xs):
    return sum(xs) / len(xs)
L = [coll(d) for d in docs(sys.argv[2])]
K = [coll(d) for d in docs(sys.argv[3])]
print('| %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f |' % (
    sys.argv[1], mean([c['kendall'] for c in L]), mean([c['opa'] for c in L]),
    mean([c['top1'] for c in K]), mean([c['top5'] for c in K]),
    mean([c['top10'] for c in K]), mean([c['score'] for c in K])))
PYEOF
}

echo "| ranker | layout kendall | layout opa | tile top1 err | tile top5 err | tile top10 err | tile score |"
echo "|---|---|---|---|---|---|---|"
rl=() rt=()
for s in $(seq 0 9); do rl+=("$T/l_random$s.mp"); rt+=("$T/t_random$s.mp"); done
row "random (10 seeds)" "${rl[@]}" -- "${rt[@]}"
row "file order" "$T/l_order.mp" -- "$T/t_order.mp"
row "default first" "$T/l_default.mp" -- "$T/t_default.mp"
if [ -n "${LAYOUT_MODEL:-}" ] && [ -n "${TILE_MODEL:-}" ]; then
	"$BIN/hlo2mp" -q "$L" | "$BIN/prune-hop" | "$BIN/encode-base7" |
		"$BIN/sage-predict" --model "$LAYOUT_MODEL" >"$T/l_model.mp"
	"$BIN/hlo2mp" -q "$K" | "$BIN/prune-hop" | "$BIN/encode-base7" |
		"$BIN/sage-predict" --model "$TILE_MODEL" >"$T/t_model.mp"
	row "model" "$T/l_model.mp" -- "$T/t_model.mp"
fi

# speed: best of 20 runs per file
for f in "$L" "$K"; do
	best=
	for _ in $(seq 20); do
		t0=$(date +%s%N); "$BIN/hlo2mp" -q "$f" >/dev/null; t1=$(date +%s%N)
		d=$(( (t1 - t0) / 1000 ))
		if [ -z "$best" ] || [ "$d" -lt "$best" ]; then best=$d; fi
	done
	echo "hlo2mp $(basename "$f"): $(stat -c %s "$f") bytes, best of 20: ${best} us"
done
