#!/usr/bin/env bats
# rank-ensemble: alignment, normalisation against numpy, the CSV (format,
# atomicity, re-scored by rank-eval), --tta, and every bad input.

load helper

setup() {
	need_py numpy msgpack scipy
	D="$BATS_TEST_TMPDIR"
	RD="$ROOT/tests/tools/rank_data.py"
}

py() { PYTHONPATH="$ROOT/tests/tools" "$PY" - "$@"; }

# two models' predictions of the same graphs (b in another graph and config
# order), and the truth
two() {
	"$PY" "$RD" gen 11 plain "$D"
	py "$D" <<'EOF'
import sys, numpy as np
from rank_data import *
d = sys.argv[1]
rng = np.random.default_rng(5)
w = Writer(d + '/b.mp')
for r in reversed([r for r in read_stream(d + '/pred.mp') if r['t'] == 'pred']):
    i = arr(r['config_index']); p = rng.permutation(len(i))
    s = rng.normal(size=len(i)).astype(np.float32)
    w.rec(dict(r, config_index=tensor(i[p].copy()), score=tensor(s)))
w.close()
EOF
}

# tail of a stream as JSON lines of pred records: id, config_index, score
dump() {
	py "$1" <<'EOF'
import sys
from rank_data import *
for r in read_stream(sys.argv[1]):
    if r['t'] == 'pred':
        print(r['id'], arr(r['config_index']).tolist(), arr(r['score']).tolist())
EOF
}

@test "rank-ensemble --help, --version, the man page" {
	run rank-ensemble --help
	assert_success
	assert_output --partial "usage: rank-ensemble"
	assert_output --partial "--tta"
	run rank-ensemble --version
	assert_success
	assert_output --regexp '^rank-ensemble [0-9]+\.[0-9]+'
	run check_man_matches_help rank-ensemble
	assert_success
}

@test "rank-ensemble: usage errors exit 2" {
	two
	run rank-ensemble
	assert_failure 2
	assert_output --partial "no PRED stream given"
	run rank-ensemble --bogus "$D/pred.mp"
	assert_failure 2
	assert_output --partial "usage: rank-ensemble"
	run rank-ensemble -w 1,2,3 "$D/pred.mp" "$D/b.mp"
	assert_failure 2
	assert_output "rank-ensemble: --weights: 3 weights for 2 PRED streams"
	run rank-ensemble -w 1,x "$D/pred.mp" "$D/b.mp"
	assert_failure 2
	assert_output --partial "--weights: bad value 'x'"
	run rank-ensemble -w 0,0 "$D/pred.mp" "$D/b.mp"
	assert_failure 2
	assert_output --partial "the weights sum to 0"
	run rank-ensemble -w -1,2 "$D/pred.mp" "$D/b.mp"
	assert_failure 2
	run rank-ensemble --norm median "$D/pred.mp"
	assert_failure 2
	assert_output "rank-ensemble: --norm: bad value 'median' (want rank, zscore or minmax)"
	run rank-ensemble --top 0 --csv "$D/x.csv" "$D/pred.mp"
	assert_failure 2
	run rank-ensemble - -
	assert_failure 2
	assert_output --partial "only one PRED can be stdin"
}

@test "rank-ensemble: truncated or empty input exits 1 without an end record" {
	two
	sz=$(stat -c %s "$D/b.mp")
	head -c $((sz - 30)) "$D/b.mp" > "$D/cut.mp"
	run rank-ensemble "$D/pred.mp" "$D/cut.mp"
	assert_failure 1
	assert_output --partial "cut.mp: truncated stream"
	: > "$D/empty"
	run rank-ensemble "$D/empty"
	assert_failure 1
	assert_output --partial "truncated stream: no end record after 0 records"
	py "$D" <<'EOF'
import sys
from rank_data import *
write_pred(sys.argv[1] + '/none.mp', [])
EOF
	run rank-ensemble "$D/none.mp"
	assert_failure 1
	assert_output --partial "no pred records: nothing to combine"
	# a failed run leaves a stream without end: the next stage refuses it
	runp "rank-ensemble '$D/pred.mp' '$D/cut.mp' | rank-eval -t '$D/truth.mp'"
	assert_failure 1
	assert_output --partial "truncated stream"
}

@test "rank-ensemble: stdin and files give the same stream" {
	two
	rank-ensemble "$D/pred.mp" "$D/b.mp" > "$D/x.mp"
	rank-ensemble - "$D/b.mp" < "$D/pred.mp" > "$D/y.mp"
	[ "$(dump "$D/x.mp")" = "$(dump "$D/y.mp")" ]
	rank-ensemble -o "$D/z.mp" "$D/pred.mp" "$D/b.mp"
	[ "$(dump "$D/x.mp")" = "$(dump "$D/z.mp")" ]
}

@test "rank-ensemble: two copies of one prediction change nothing (every norm)" {
	two
	rank-eval -t "$D/truth.mp" -j -g "$D/pred.mp" > "$D/one.json"
	for n in rank zscore minmax; do
		rank-ensemble --norm $n "$D/pred.mp" "$D/pred.mp" > "$D/e.mp"
		rank-eval -t "$D/truth.mp" -j -g "$D/e.mp" > "$D/two.json"
		cmp "$D/one.json" "$D/two.json"
	done
}

@test "rank-ensemble: the weighted mean of normalised scores matches numpy" {
	two
	for n in rank zscore minmax; do
		rank-ensemble -w 1,3 --norm $n "$D/pred.mp" "$D/b.mp" > "$D/e.mp"
		run py "$D" $n <<'EOF'
import sys, numpy as np
from scipy.stats import rankdata
from rank_data import *
d, how = sys.argv[1], sys.argv[2]
def load(p):
    out = {}
    for r in read_stream(p):
        if r['t'] == 'pred':
            i = arr(r['config_index']); s = arr(r['score']).astype(np.float64)
            o = np.argsort(i); out[r['id']] = (i[o], s[o])
    return out
def norm(s):
    if how == 'rank':
        return (rankdata(s) - 1) / (len(s) - 1)
    if how == 'zscore':
        return (s - s.mean()) / s.std() if s.std() > 0 else 0 * s
    return (s - s.min()) / (s.max() - s.min())
a, b, e = load(d + '/pred.mp'), load(d + '/b.mp'), load(d + '/e.mp')
ids = [r['id'] for r in read_stream(d + '/e.mp') if r['t'] == 'pred']
assert ids == [r['id'] for r in read_stream(d + '/pred.mp') if r['t'] == 'pred'], ids
err = 0
for g in a:
    assert (e[g][0] == a[g][0]).all() and (b[g][0] == a[g][0]).all()
    want = (1 * norm(a[g][1]) + 3 * norm(b[g][1])) / 4
    err = max(err, float(np.abs(e[g][1] - want).max()))
print('max error %.1e' % err, err < 1e-6)
EOF
		assert_success
		assert_output --regexp 'True$'
	done
}

@test "rank-ensemble: a graph in one stream only is an error naming it" {
	two
	py "$D" <<'EOF'
import sys
from rank_data import *
d = sys.argv[1]
recs = [r for r in read_stream(d + '/b.mp') if r['t'] == 'pred']
w = Writer(d + '/short.mp')
for r in recs[1:]: w.rec(r)
w.close()
w = Writer(d + '/long.mp')
for r in recs: w.rec(r)
w.rec(dict(recs[0], id='layout:xla:random:new'))
w.close()
EOF
	run rank-ensemble "$D/pred.mp" "$D/short.mp"
	assert_failure 1
	assert_output "rank-ensemble: graph layout:nlp:default:h2: in $D/pred.mp but not in $D/short.mp"
	run rank-ensemble "$D/pred.mp" "$D/long.mp"
	assert_failure 1
	assert_output "rank-ensemble: graph layout:xla:random:new: in $D/long.mp but not in $D/pred.mp"
	run rank-ensemble --tta "$D/pred.mp" "$D/long.mp"
	assert_failure 1
	assert_output "rank-ensemble: graph layout:xla:random:new: in $D/long.mp but not in $D/pred.mp"
	run rank-ensemble --tta "$D/long.mp" "$D/pred.mp"
	assert_failure 1
	assert_output "rank-ensemble: graph layout:xla:random:new: in $D/long.mp but not in $D/pred.mp"
}

@test "rank-ensemble: different config sets are an error naming the graph and config" {
	two
	py "$D" <<'EOF'
import sys, numpy as np
from rank_data import *
d = sys.argv[1]
w = Writer(d + '/fewer.mp')
for r in read_stream(d + '/pred.mp'):
    if r['t'] == 'pred':
        i, s = arr(r['config_index']), arr(r['score'])
        if r['id'] == 'tile:xla:k1':
            k = int(np.argmax(i))
            i, s = np.delete(i, k), np.delete(s, k)
        w.rec(dict(r, config_index=tensor(i.copy()), score=tensor(s.copy())))
w.close()
write_pred(d + '/dup.mp', [('tile:xla:k0', [0, 1, 1], [1, 2, 3])])
write_pred(d + '/nan.mp', [('tile:xla:k0', [0, 1, 2], [1, float('nan'), 3])])
write_pred(d + '/inf.mp', [('tile:xla:k0', [0, 1, 2], [1, float('inf'), 3])])
EOF
	run rank-ensemble "$D/pred.mp" "$D/fewer.mp"
	assert_failure 1
	assert_output --regexp "^rank-ensemble: graph tile:xla:k1: config sets differ: .*pred.mp has [0-9]+ configs, .*fewer.mp has [0-9]+ \(config_index [0-9]+ is only in .*pred.mp\)$"
	run rank-ensemble "$D/fewer.mp" "$D/pred.mp"
	assert_failure 1
	assert_output --regexp "graph tile:xla:k1: config sets differ: .*is only in .*/pred.mp\)$"
	run rank-ensemble "$D/dup.mp"
	assert_failure 1
	assert_output --regexp "dup.mp: record 1 \(tile:xla:k0\): config_index 1 appears twice"
	run rank-ensemble "$D/nan.mp"
	assert_failure 1
	assert_output --partial "(tile:xla:k0): score of config 1 is NaN"
	run rank-ensemble --norm zscore "$D/inf.mp"
	assert_failure 1
	assert_output --partial "(tile:xla:k0): score of config 1 is inf: --norm zscore needs finite scores"
	run rank-ensemble --norm rank "$D/inf.mp"
	assert_success
}

@test "rank-ensemble --csv: the Kaggle format, top K for tile, full permutations for layout" {
	two
	run rank-ensemble --csv "$D/sub.csv" "$D/pred.mp" "$D/b.mp"
	assert_success
	assert_output ""
	run head -n 1 "$D/sub.csv"
	assert_output "ID,TopConfigs"
	run py "$D" <<'EOF'
import sys, csv, numpy as np
from rank_data import *
d = sys.argv[1]
rows = list(csv.reader(open(d + '/sub.csv')))
assert rows[0] == ['ID', 'TopConfigs']
e = {}
n = {r['id']: len(arr(r['config_index'])) for r in read_stream(d + '/pred.mp') if r['t'] == 'pred'}
ok = True
for gid, cfg in rows[1:]:
    idx = [int(x) for x in cfg.split(';')]
    if gid.startswith('tile'):
        ok &= len(idx) == 5 and len(set(idx)) == 5
    else:
        ok &= sorted(idx) == sorted(range(n[gid]))
print(len(rows) - 1, ok)
EOF
	assert_output "9 True"
	rank-ensemble --csv "$D/sub3.csv" --top 3 "$D/pred.mp"
	run grep -c '^tile:xla:k[0-9],[0-9]*;[0-9]*;[0-9]*$' "$D/sub3.csv"
	assert_output "3"
}

@test "rank-ensemble --csv: rank-eval scores it exactly as the stream" {
	two
	rank-ensemble -w 2,1 -o "$D/e.mp" --csv "$D/sub.csv" "$D/pred.mp" "$D/b.mp"
	s=$(rank-eval -t "$D/truth.mp" -j "$D/e.mp" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["overall"]["score"], [(c["score"], c["top1"], c["top5"]) for c in d["collections"]])')
	c=$(rank-eval -t "$D/truth.mp" -j --csv "$D/sub.csv" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["overall"]["score"], [(c["score"], c["top1"], c["top5"]) for c in d["collections"]])')
	echo "stream $s"
	echo "csv    $c"
	[ "$s" = "$c" ]
}

@test "rank-ensemble --csv: written atomically, untouched on failure, no temporary left" {
	two
	echo "old" > "$D/sub.csv"
	py "$D" <<'EOF'
import sys
from rank_data import *
d = sys.argv[1]
recs = [r for r in read_stream(d + '/b.mp') if r['t'] == 'pred']
w = Writer(d + '/late.mp')
for r in recs[:-1]: w.rec(r)
w.close()
EOF
	# the last graph of pred.mp is missing from late.mp: the failure comes
	# after most rows were written
	run rank-ensemble --csv "$D/sub.csv" -o "$D/out.mp" "$D/pred.mp" "$D/late.mp"
	assert_failure 1
	run cat "$D/sub.csv"
	assert_output "old"
	[ ! -e "$D/out.mp" ]
	run ls "$D"
	refute_output --partial ".tmp"
	run rank-ensemble --csv "$D/nodir/sub.csv" "$D/pred.mp"
	assert_failure 3
	assert_output --partial "nodir/sub.csv: cannot create a temporary file beside it"
}

@test "rank-ensemble --tta: repeated records averaged, as separate streams would be" {
	two
	py "$D" <<'EOF'
import sys
from rank_data import *
d = sys.argv[1]
a = [r for r in read_stream(d + '/pred.mp') if r['t'] == 'pred']
b = {r['id']: r for r in read_stream(d + '/b.mp') if r['t'] == 'pred'}
w = Writer(d + '/rep.mp')   # each graph twice: a's then b's (other config order)
for r in a: w.rec(r)
for r in a: w.rec(b[r['id']])
w.close()
EOF
	run rank-ensemble "$D/rep.mp"
	assert_failure 1
	assert_output --regexp "rep.mp: record 10 \(tile:xla:k0\): a second pred record for this graph \(the first: .*rep.mp record 1\)"
	rank-ensemble --tta "$D/rep.mp" > "$D/t.mp"
	rank-ensemble "$D/pred.mp" "$D/b.mp" > "$D/s.mp"
	[ "$(dump "$D/t.mp")" = "$(dump "$D/s.mp")" ]
	# --tta with repeats in two streams and weights
	rank-ensemble --tta -w 1,3 "$D/rep.mp" "$D/pred.mp" > "$D/t2.mp"
	rank-ensemble -w 6,1,1 "$D/pred.mp" "$D/b.mp" "$D/pred.mp" > "$D/s2.mp"  # (1 (a + b) / 2 + 3 a) / 4
	run py "$D" <<'EOF'
import sys, numpy as np
from rank_data import *
d = sys.argv[1]
def load(p):
    return {r['id']: arr(r['score']) for r in read_stream(p) if r['t'] == 'pred'}
t, s = load(d + '/t2.mp'), load(d + '/s2.mp')
print(max(float(np.abs(t[g] - s[g]).max()) for g in t) < 1e-6)
EOF
	assert_output "True"
}

@test "rank-ensemble --tta: repeats with different config sets are an error" {
	py "$D" <<'EOF'
import sys
from rank_data import *
write_pred(sys.argv[1] + '/rep.mp', [('tile:xla:k0', [0, 1, 2], [1, 2, 3]), ('tile:xla:k0', [0, 1], [1, 2])])
EOF
	run rank-ensemble --tta "$D/rep.mp"
	assert_failure 1
	assert_output --regexp "rep.mp: record 2 \(tile:xla:k0\): the repeated records of this graph in .*rep.mp cover different configs \(3 and 2\)"
}

@test "rank-ensemble: the output stream records its history" {
	two
	rank-ensemble -w 1,1 "$D/pred.mp" "$D/b.mp" > "$D/e.mp"
	run py "$D" <<'EOF'
import sys
from rank_data import *
s = read_stream(sys.argv[1] + '/e.mp')
h = s[0]['history'][-1]
print(s[0]['t'], h['name'], h['argv'][1:3], s[-1]['t'], s[-1]['preds'])
EOF
	assert_output "header rank-ensemble ['-w', '1,1'] end 9"
}
