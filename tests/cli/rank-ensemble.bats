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
	assert_line --index 0 "rank-ensemble: --weights: 3 weights for 2 PRED streams"
	assert_line --index 1 --partial "usage: rank-ensemble "
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
	assert_line --index 0 "rank-ensemble: --norm: bad value 'median' (want rank, zscore or minmax)"
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
	assert_output --partial "empty: empty input (no header record)"
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
	assert_output --partial "nodir/sub.csv: cannot create a file there: No such file or directory"
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

# --fit data: truth.mp and p0..p2.mp over G layout graphs of one collection.
# good: p0 = log runtime + small noise, p1 and p2 noise only; equal: three
# independent noisy copies (sd NOISE on log runtime) of the same quality.
fitdata() { # SEED GRAPHS good|equal [NOISE]
	py "$D" "$@" <<'EOF2'
import sys, numpy as np
from rank_data import *
d, seed, G, kind = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
noise = float(sys.argv[5]) if len(sys.argv) > 5 else 1.5
rng = np.random.default_rng(seed)
graphs, preds = [], [[], [], []]
for g in range(G):
    gid = 'layout:xla:random:g%02d' % g
    c = int(rng.integers(30, 80))
    ci = rng.permutation(c).astype(np.int64)
    rt = rng.integers(1000, 10 ** 7, c)
    graphs.append({'id': gid, 'runtime': rt, 'config_index': ci})
    ly = np.log(rt)
    for i in range(3):
        if kind == 'good':
            s = ly + rng.normal(0, 0.3, c) if i == 0 else rng.normal(size=c)
        else:
            s = ly + rng.normal(0, noise, c)
        p = rng.permutation(c)
        preds[i].append((gid, ci[p], s[p]))
write_truth(d + '/truth.mp', graphs)
for i in range(3):
    write_pred(d + '/p%d.mp' % i, preds[i])
EOF2
}

# the overall score rank-eval gives a stream
overall() {
	rank-eval -t "$D/truth.mp" -j "$1" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["overall"]["score"])'
}

@test "rank-ensemble --fit: one good PRED and two random: fitted, the good one weighted, scored by scipy" {
	fitdata 1 12 good
	run rank-ensemble --fit "$D/truth.mp" --fit-report "$D/r.json" -W "$D/w.txt" \
		-o "$D/fit.mp" "$D/p0.mp" "$D/p1.mp" "$D/p2.mp"
	assert_success
	assert_output --regexp "^rank-ensemble: --fit: fitted: weights [1-9][0-9]*,0,0; held-out mean score over 12 graphs: uniform 0\.[0-9]+, fitted 0\.[0-9]+, improvement \+0\.[0-9]+ \(se 0\.[0-9]+\); fit on all: [0-9,]+$"
	run cat "$D/w.txt"
	assert_output "1,0,0"
	rank-ensemble "$D/p0.mp" "$D/p1.mp" "$D/p2.mp" > "$D/uni.mp"
	f=$(overall "$D/fit.mp")
	u=$(overall "$D/uni.mp")
	echo "fitted $f uniform $u"
	"$PY" -c "import sys; sys.exit(not ($f >= $u + 0.1))"
	# the report: per-PRED valid scores recomputed by scipy from the streams
	run py "$D" <<'EOF2'
import sys, json, numpy as np
from rank_data import *
d = sys.argv[1]
rep = json.load(open(d + '/r.json'))
graphs = []
for r in read_stream(d + '/truth.mp'):
    if r['t'] == 'graph':
        graphs.append({'id': r['id'], 'runtime': [], 'config_index': []})
    elif r['t'] == 'configs':
        graphs[-1]['runtime'] += arr(r['config_runtime']).tolist()
        graphs[-1]['config_index'] += arr(r['config_index']).tolist()
def score(path):
    preds = [(r['id'], arr(r['config_index']), arr(r['score'])) for r in read_stream(path) if r['t'] == 'pred']
    e = expected(graphs, preds)
    return float(np.mean([0 if np.isnan(v['score']) else v['score'] for v in e.values()]))
ps = [score(d + '/p%d.mp' % i) for i in range(3)]
ok = all(abs(a - b) < 1e-9 for a, b in zip(ps, rep['pred_scores']))
ok &= abs(score(d + '/uni.mp') - rep['uniform_score']) < 1e-9
ok &= abs(score(d + '/fit.mp') - rep['fit_score']) < 1e-9
ok &= rep['decision'] == 'fitted' and rep['weights'] == [1, 0, 0] and rep['weights_arg'] == '1,0,0'
ok &= rep['diff'] > 2 * rep['se'] > 0 and abs(rep['fitted_cv'] - rep['uniform_cv'] - rep['diff']) < 1e-12
print(ps, rep['pred_scores'], ok)
EOF2
	assert_success
	assert_output --regexp 'True$'
}

@test "rank-ensemble --fit: three PREDs of equal quality: the guard keeps uniform weights" {
	# seed 7, noise 3: the greedy fit on all 8 graphs is not uniform (2,1,2),
	# but it does not win under leave-one-graph-out cross-validation
	fitdata 7 8 equal 3
	run rank-ensemble --fit "$D/truth.mp" -r "$D/r.json" -o "$D/fit.mp" \
		"$D/p0.mp" "$D/p1.mp" "$D/p2.mp"
	assert_success
	assert_output --regexp "^rank-ensemble: --fit: kept uniform: weights 1,1,1; held-out mean score over 8 graphs: .*; fit on all: [0-9,]+$"
	run "$PY" -c "import json; r = json.load(open('$D/r.json')); print(r['decision'], r['weights'], r['fit_weights'] != [1, 1, 1], r['diff'] <= 2 * r['se'])"
	assert_output "kept uniform [1, 1, 1] True True"
	rank-ensemble -o "$D/uni.mp" "$D/p0.mp" "$D/p1.mp" "$D/p2.mp"
	[ "$(dump "$D/fit.mp")" = "$(dump "$D/uni.mp")" ]
}

@test "rank-ensemble --fit: a held-out gain of more than one standard error but not two keeps uniform weights" {
	# seed 22, noise 2: the fit wins by 1.004 se; the PREDs are usually
	# models chosen on this same valid split, so one se is not enough
	fitdata 22 8 equal 2
	run rank-ensemble --fit "$D/truth.mp" -r "$D/r.json" -o "$D/fit.mp" \
		"$D/p0.mp" "$D/p1.mp" "$D/p2.mp"
	assert_success
	assert_output --regexp "^rank-ensemble: --fit: kept uniform: weights 1,1,1; .* improvement \+0\.[0-9]+ \(se 0\.[0-9]+\)"
	run "$PY" -c "import json; r = json.load(open('$D/r.json')); print(r['decision'], r['se'] < r['diff'] <= 2 * r['se'])"
	assert_output "kept uniform True"
}

@test "rank-ensemble --fit: fewer than 4 graphs keep uniform weights" {
	fitdata 1 3 good
	run rank-ensemble --fit "$D/truth.mp" -r "$D/r.json" -o "$D/fit.mp" \
		"$D/p0.mp" "$D/p1.mp" "$D/p2.mp"
	assert_success
	assert_output "rank-ensemble: --fit: kept uniform: weights 1,1,1; 3 graphs, fewer than 4 to cross-validate; fit on all: 1,0,0"
	run "$PY" -c "import json; r = json.load(open('$D/r.json')); print(r['decision'], r['weights'], r['uniform_cv'], r['se'])"
	assert_output "kept uniform [1, 1, 1] None None"
}

@test "rank-ensemble --fit: the printed weights, given to --weights, reproduce the fitted run" {
	fitdata 2 10 good
	rank-ensemble --fit "$D/truth.mp" -W "$D/w.txt" -o "$D/fit.mp" -c "$D/fit.csv" \
		"$D/p0.mp" "$D/p1.mp" "$D/p2.mp" 2> "$D/err"
	grep -q ": fitted: weights $(cat "$D/w.txt");" "$D/err"
	rank-ensemble --weights "$(cat "$D/w.txt")" -o "$D/again.mp" -c "$D/again.csv" \
		"$D/p0.mp" "$D/p1.mp" "$D/p2.mp"
	cmp "$D/fit.csv" "$D/again.csv"
	# the streams differ only in the header's history (the command line)
	dump "$D/fit.mp" > "$D/a.txt"
	dump "$D/again.mp" > "$D/b.txt"
	cmp "$D/a.txt" "$D/b.txt"
	[ -s "$D/a.txt" ]
	# and with --tta, repeats of a stream average as before
	rank-ensemble --fit "$D/truth.mp" --tta -o "$D/tta.mp" "$D/p0.mp" "$D/p1.mp" "$D/p2.mp" 2> /dev/null
	dump "$D/tta.mp" > "$D/c.txt"
	cmp "$D/a.txt" "$D/c.txt"
}

@test "rank-ensemble --fit: bad truth or usage" {
	fitdata 1 5 good
	run rank-ensemble --fit "$D/truth.mp" --weights 1,1,1 "$D/p0.mp" "$D/p1.mp" "$D/p2.mp"
	assert_failure 2
	assert_line --index 0 "rank-ensemble: --fit and --weights exclude each other (--fit chooses the weights)"
	run rank-ensemble --fit-report "$D/r.json" "$D/p0.mp"
	assert_failure 2
	assert_line --index 0 "rank-ensemble: --fit-report needs --fit"
	run rank-ensemble -W "$D/w.txt" "$D/p0.mp"
	assert_failure 2
	assert_line --index 0 "rank-ensemble: --weights-out needs --fit"
	run rank-ensemble --fit - - < "$D/p0.mp"
	assert_failure 2
	assert_output --partial "only one PRED can be stdin"
	py "$D" <<'EOF2'
import sys
from rank_data import *
d = sys.argv[1]
t = read_stream(d + '/truth.mp')
def write(name, recs):
    w = Writer(d + '/' + name)
    for r in recs[1:-1]: w.rec(r)
    w.close()
write('hidden.mp', [dict(r, runtimes_hidden=True) if r['t'] == 'graph' else r for r in t])
write('short.mp', [r for r in t if r.get('id') != 'layout:xla:random:g02'])
p = [r for r in read_stream(d + '/p0.mp') if r['t'] == 'pred']
write_pred(d + '/fewer.mp', [(r['id'], arr(r['config_index'])[1:], arr(r['score'])[1:]) if r['id'] == 'layout:xla:random:g01'
                             else (r['id'], arr(r['config_index']), arr(r['score'])) for r in p])
write_pred(d + '/drop.mp', [(r['id'], arr(r['config_index']), arr(r['score'])) for r in p if r['id'] != 'layout:xla:random:g03'])
EOF2
	run rank-ensemble --fit "$D/hidden.mp" "$D/p0.mp" "$D/p1.mp"
	assert_failure 1
	assert_output --regexp "^rank-ensemble: .*hidden.mp: record 1 \(layout:xla:random:g00\): its runtimes are hidden \(a test split\): nothing to fit on$"
	run rank-ensemble --fit "$D/short.mp" "$D/p0.mp" "$D/p1.mp"
	assert_failure 1
	assert_output "rank-ensemble: graph layout:xla:random:g02: in $D/p0.mp but not in $D/short.mp"
	run rank-ensemble --fit "$D/truth.mp" "$D/drop.mp" "$D/p1.mp"
	assert_failure 1
	assert_output "rank-ensemble: graph layout:xla:random:g03: in $D/p1.mp but not in $D/drop.mp"
	run rank-ensemble --fit "$D/truth.mp" "$D/p1.mp" "$D/drop.mp"
	assert_failure 1
	assert_output "rank-ensemble: graph layout:xla:random:g03: in $D/p1.mp but not in $D/drop.mp"
	run rank-ensemble --fit "$D/truth.mp" "$D/fewer.mp"
	assert_failure 1
	assert_output --regexp "^rank-ensemble: graph layout:xla:random:g01: config sets differ: .*truth.mp has [0-9]+ configs, .*fewer.mp has [0-9]+ \(config_index [0-9]+ is only in .*truth.mp\)$"
	sz=$(stat -c %s "$D/truth.mp")
	head -c $((sz - 40)) "$D/truth.mp" > "$D/cut.mp"
	run rank-ensemble --fit "$D/cut.mp" -o "$D/out.mp" "$D/p0.mp"
	assert_failure 1
	assert_output --partial "cut.mp: truncated stream"
	[ ! -e "$D/out.mp" ]
}

@test "rank-ensemble --fit: tile and layout collections: the report's scores are rank-eval's overall" {
	two
	rank-ensemble --fit "$D/truth.mp" -r "$D/r.json" -o "$D/f.mp" "$D/pred.mp" "$D/b.mp" 2> "$D/err"
	rank-ensemble -o "$D/u.mp" "$D/pred.mp" "$D/b.mp"
	got=$("$PY" -c "import json; r = json.load(open('$D/r.json')); print(' '.join('%.12f' % v for v in r['pred_scores'] + [r['uniform_score']]), r['collections'])")
	want="$(for f in pred b u; do printf '%.12f ' "$(overall "$D/$f.mp")"; done)3"
	echo "report   $got"
	echo "rank-eval $want"
	[ "$got" = "$want" ]
	grep -q "held-out mean score over 9 graphs" "$D/err"
}
