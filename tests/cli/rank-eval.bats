#!/usr/bin/env bats
# rank-eval: metrics against scipy.stats, hand-computed top-K, the CSV path,
# and every bad input.  Test data: tests/tools/rank_data.py (numpy + msgpack).

load helper

setup() {
	need_py numpy msgpack scipy
	D="$BATS_TEST_TMPDIR"
	RD="$ROOT/tests/tools/rank_data.py"
}

# python with rank_data importable; the script comes on stdin
py() { PYTHONPATH="$ROOT/tests/tools" "$PY" - "$@"; }

# a small truth (one tile kernel, two layout graphs) and its predictions
small() {
	py "$D" <<'EOF'
import sys, numpy as np
from rank_data import *
d = sys.argv[1]
g = [{'id': 'tile:xla:k', 'runtime': [100, 200, 50, 400, 300, 80, 90],
      'normalizers': [100, 100, 50, 100, 100, 40, 30], 'config_index': [0, 1, 2, 3, 4, 5, 6]},
     {'id': 'layout:xla:random:a', 'runtime': [5, 3, 9, 1, 7], 'config_index': [0, 1, 2, 3, 4]},
     {'id': 'layout:nlp:default:b', 'runtime': [2, 4, 6, 8], 'config_index': [3, 2, 1, 0]}]
write_truth(d + '/truth.mp', g, chunk=3)
p = [('tile:xla:k', [6, 5, 4, 3, 2, 1, 0], [0, 1, 2, 3, 4, 5, 6]),
     ('layout:xla:random:a', [0, 1, 2, 3, 4], [5, 3, 9, 1, 7]),
     ('layout:nlp:default:b', [0, 1, 2, 3], [1, 2, 3, 4])]
write_pred(d + '/pred.mp', p)
EOF
}

jget() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

@test "rank-eval --help, --version, the man page" {
	run rank-eval --help
	assert_success
	assert_output --partial "usage: rank-eval"
	assert_output --partial "--allow-missing"
	run rank-eval --version
	assert_success
	assert_output --regexp '^rank-eval [0-9]+\.[0-9]+'
	run check_man_matches_help rank-eval
	assert_success
}

@test "rank-eval: usage errors exit 2" {
	small
	run rank-eval --bogus
	assert_failure 2
	assert_output --partial "usage: rank-eval"
	run rank-eval -t "$D/truth.mp" --csv x.csv "$D/pred.mp"
	assert_failure 2
	assert_output --partial "exclusive"
	run rank-eval
	assert_failure 2
	assert_output --partial "only one input can be stdin"
	run rank-eval -t "$D/truth.mp" - -
	assert_failure 2
}

@test "rank-eval: scores match scipy.stats on random data" {
	for s in 1 2; do
		"$PY" "$RD" gen $s plain "$D"
		rank-eval -t "$D/truth.mp" --json --per-graph "$D/pred.mp" > "$D/got.json"
		run "$PY" "$RD" compare "$D/expected.json" "$D/got.json"
		assert_success
		assert_output "0 mismatches over 9 graphs"
	done
}

@test "rank-eval: scores match scipy.stats on heavily tied data" {
	for s in 3 4; do
		"$PY" "$RD" gen $s tied "$D"
		rank-eval -t "$D/truth.mp" --json --per-graph "$D/pred.mp" > "$D/got.json"
		run "$PY" "$RD" compare "$D/expected.json" "$D/got.json"
		assert_success
		assert_output "0 mismatches over 9 graphs"
	done
}

@test "rank-eval: scores match scipy.stats on large graphs (long merges)" {
	"$PY" "$RD" gen 12 tied "$D" 2000 4000 1
	rank-eval -t "$D/truth.mp" --json --per-graph "$D/pred.mp" > "$D/got.json"
	run "$PY" "$RD" compare "$D/expected.json" "$D/got.json"
	assert_success
	assert_output "0 mismatches over 3 graphs"
	"$PY" "$RD" gen 13 plain "$D" 2000 4000 1
	rank-eval -t "$D/truth.mp" --json --per-graph "$D/pred.mp" > "$D/got.json"
	run "$PY" "$RD" compare "$D/expected.json" "$D/got.json"
	assert_success
	assert_output "0 mismatches over 3 graphs"
}

@test "rank-eval: hand-computed top-K and Kaggle scores" {
	small
	run rank-eval -t "$D/truth.mp" --json --per-graph "$D/pred.mp"
	assert_success
	echo "$output" > "$D/o.json"
	# tile y = [1, 2, 1, 4, 3, 2, 3]; predicted order 6,5,4,3,2,1,0:
	# top1 = y6 = 3 -> error 2; top5 = {3,2,3,4,1} -> 1 -> error 0; score 1
	run jget "$D/o.json" "[(g['top1'], g['top5'], g['top10'], g['score']) for g in d['graphs'] if g['id'] == 'tile:xla:k'][0]"
	assert_output "(2, 0, 0, 1)"
	# layout a: scores = runtimes: perfect
	run jget "$D/o.json" "[tuple(round(float(g[k]), 12) for k in ('kendall', 'spearman', 'opa', 'top1', 'score')) for g in d['graphs'] if g['id'] == 'layout:xla:random:a'][0]"
	assert_output "(1.0, 1.0, 1.0, 0.0, 1.0)"
	# layout b: config i has runtime 8 - 2i and score i + 1: reversed
	run jget "$D/o.json" "[tuple(round(float(g[k]), 12) for k in ('kendall', 'opa', 'top1', 'score')) for g in d['graphs'] if g['id'] == 'layout:nlp:default:b'][0]"
	assert_output "(-1.0, 0.0, 3.0, -1.0)"
	# overall = mean of the three collection scores: (1 + 1 - 1) / 3
	run jget "$D/o.json" "round(d['overall']['score'], 12), d['overall']['collections'], d['overall']['absent']"
	assert_output "(0.333333333333, ['tile:xla', 'layout:xla:random', 'layout:nlp:default'], ['layout:xla:default', 'layout:nlp:random'])"
}

@test "rank-eval: the table names the collections present and absent" {
	small
	run rank-eval -t "$D/truth.mp" --per-graph "$D/pred.mp"
	assert_success
	assert_line --regexp '^collection +graphs +configs +kendall +spearman +opa +top1 +top5 +top10 +score$'
	assert_line --regexp '^tile:xla +1 +7 .* 1\.0000$'
	assert_line --regexp '^layout:nlp:default:b +4 +0 +-1\.0000'
	assert_output --partial "overall score 0.3333: the mean of the scores of 3 collections (tile:xla, layout:xla:random, layout:nlp:default)"
	assert_output --partial "absent from the truth: layout:xla:default, layout:nlp:random"
}

@test "rank-eval: one collection alone: no line about the four absent ones, the JSON still lists them" {
	py "$D" <<'EOF'
import sys
from rank_data import *
d = sys.argv[1]
write_truth(d + '/truth.mp', [{'id': 'layout:xla:random:a', 'runtime': [5, 3, 9, 1, 7], 'config_index': [0, 1, 2, 3, 4]}])
write_pred(d + '/pred.mp', [('layout:xla:random:a', [0, 1, 2, 3, 4], [5, 3, 9, 1, 7])])
EOF
	run --separate-stderr rank-eval -t "$D/truth.mp" "$D/pred.mp"
	assert_success
	assert_output --partial "overall score 1.0000: the mean of the scores of 1 collection (layout:xla:random)"
	refute_output --partial "absent"
	[ -z "$stderr" ]
	run rank-eval -t "$D/truth.mp" --json "$D/pred.mp"
	assert_success
	echo "$output" > "$D/o.json"
	run jget "$D/o.json" "d['overall']['absent']"
	assert_output "['tile:xla', 'layout:xla:default', 'layout:nlp:random', 'layout:nlp:default']"
}

@test "rank-eval --json-out: one run, the table on stdout and the --json document in the file" {
	small
	rank-eval -t "$D/truth.mp" --per-graph --json "$D/pred.mp" > "$D/want.json"
	rank-eval -t "$D/truth.mp" --per-graph "$D/pred.mp" > "$D/want.txt"
	run --separate-stderr rank-eval -t "$D/truth.mp" --per-graph --json-out "$D/out dir.json" "$D/pred.mp"
	assert_success
	[ -z "$stderr" ]
	[ "$output" = "$(cat "$D/want.txt")" ]
	cmp "$D/want.json" "$D/out dir.json"
	[ -z "$(find "$D" -name '*.tmp*')" ]
	# with --json, the same document both ways
	rank-eval -t "$D/truth.mp" -j --json-out "$D/b.json" "$D/pred.mp" > "$D/b.out"
	cmp "$D/b.json" "$D/b.out"
	# a file that cannot be written: exit 3, named
	run rank-eval -t "$D/truth.mp" --json-out "$D/no/such/dir/x.json" "$D/pred.mp"
	assert_failure 3
	assert_output --partial "rank-eval: $D/no/such/dir/x.json"
	# bad data writes no JSON file
	run rank-eval -t "$D/truth.mp" --json-out "$D/bad.json" /dev/null
	assert_failure
	[ ! -e "$D/bad.json" ]
}

@test "rank-eval: stdin and files give the same report" {
	small
	rank-eval -t "$D/truth.mp" "$D/pred.mp" > "$D/a"
	rank-eval -t "$D/truth.mp" < "$D/pred.mp" > "$D/b"
	rank-eval -t - "$D/pred.mp" < "$D/truth.mp" > "$D/c"
	cmp "$D/a" "$D/b"
	cmp "$D/a" "$D/c"
}

@test "rank-eval: predictions split over files, in another order, score the same" {
	"$PY" "$RD" gen 5 plain "$D"
	py "$D" <<'EOF'
import sys, msgpack
from rank_data import *
d = sys.argv[1]
recs = [r for r in read_stream(d + '/pred.mp') if r['t'] == 'pred']
def out(path, rs):
    w = Writer(path)
    for r in rs: w.rec(r)
    w.close()
out(d + '/p1.mp', recs[::-2])
out(d + '/p2.mp', recs[-2::-2])
EOF
	rank-eval -t "$D/truth.mp" --json -g "$D/pred.mp" > "$D/a"
	rank-eval -t "$D/truth.mp" --json -g "$D/p2.mp" "$D/p1.mp" > "$D/b"
	cmp "$D/a" "$D/b"
}

@test "rank-eval: truncated truth or predictions exit 1" {
	small
	sz=$(stat -c %s "$D/truth.mp")
	head -c $((sz - 20)) "$D/truth.mp" > "$D/cut.mp"
	run rank-eval -t "$D/cut.mp" "$D/pred.mp"
	assert_failure 1
	assert_output --regexp "rank-eval: .*cut.mp: truncated stream"
	sz=$(stat -c %s "$D/pred.mp")
	head -c $((sz - 3)) "$D/pred.mp" > "$D/cutp.mp"
	run rank-eval -t "$D/truth.mp" "$D/cutp.mp"
	assert_failure 1
	assert_output --partial "truncated stream"
}

@test "rank-eval: empty inputs exit 1" {
	small
	: > "$D/empty"
	run rank-eval -t "$D/empty" "$D/pred.mp"
	assert_failure 1
	assert_output --partial "empty: empty input (no header record)"
	py "$D" <<'EOF'
import sys
from rank_data import *
write_truth(sys.argv[1] + '/none.mp', [])
EOF
	run rank-eval -t "$D/none.mp" "$D/pred.mp"
	assert_failure 1
	assert_output --partial "no graphs in the truth: nothing to score"
}

@test "rank-eval: a missing graph is an error; --allow-missing scores it as the worst order" {
	small
	py "$D" <<'EOF'
import sys
from rank_data import *
d = sys.argv[1]
p = [('tile:xla:k', [6, 5, 4, 3, 2, 1, 0], [0, 1, 2, 3, 4, 5, 6]),
     ('layout:xla:random:a', [0, 1, 2, 3, 4], [5, 3, 9, 1, 7])]
write_pred(d + '/less.mp', p)
# the worst order for b, given explicitly: slowest first
write_pred(d + '/worst.mp', p + [('layout:nlp:default:b', [3, 2, 1, 0], [4, 3, 2, 1])])
EOF
	run rank-eval -t "$D/truth.mp" "$D/less.mp"
	assert_failure 1
	assert_output "rank-eval: graph layout:nlp:default:b: no prediction for it (in no PRED stream); --allow-missing scores it as the worst order"
	run rank-eval -t "$D/truth.mp" --allow-missing --json "$D/less.mp"
	assert_success
	echo "$output" > "$D/m.json"
	rank-eval -t "$D/truth.mp" --json "$D/worst.mp" > "$D/w.json"
	run jget "$D/m.json" "[(c['missing_graphs'], c['missing_configs'], c['score']) for c in d['collections'] if c['collection'] == 'layout:nlp:default'][0]"
	assert_output "(1, 4, -1)"
	run jget "$D/w.json" "d['overall']['score']"
	worst=$output
	run jget "$D/m.json" "d['overall']['score']"
	assert_output "$worst"
	run rank-eval -t "$D/truth.mp" --allow-missing "$D/less.mp"
	assert_output --partial "note: layout:nlp:default: 1 graph and 4 configs without a prediction, scored pessimistically (--allow-missing)"
}

@test "rank-eval: missing configs are an error; --allow-missing ranks them last, slowest first" {
	"$PY" "$RD" gen 6 plain "$D"
	py "$D" <<'EOF'
import sys, numpy as np
from rank_data import *
d = sys.argv[1]
truth = {}
for r in read_stream(d + '/truth.mp'):
    if r['t'] == 'configs':
        y = arr(r['config_runtime']).astype(float)
        if 'config_runtime_normalizers' in r:
            y = y / arr(r['config_runtime_normalizers'])
        truth.setdefault(r['id'], {}).update(zip(arr(r['config_index']).tolist(), y.tolist()))
holes, filled = Writer(d + '/holes.mp'), Writer(d + '/filled.mp')
for r in read_stream(d + '/pred.mp'):
    if r['t'] == 'pred':
        i, s = arr(r['config_index']), arr(r['score']).astype(np.float64)
        holes.rec(dict(r, config_index=tensor(i[3:].copy()), score=tensor(s[3:].astype(np.float32))))
        # the rule, by hand: the 3 missing after every predicted one, slowest first
        miss = sorted(i[:3].tolist(), key=lambda c: (-truth[r['id']][c], c))
        s2 = s.copy()
        for k, c in enumerate(miss):
            s2[list(i).index(c)] = 1000 + k
        filled.rec(dict(r, score=tensor(s2.astype(np.float32))))
holes.close(); filled.close()
EOF
	run rank-eval -t "$D/truth.mp" "$D/holes.mp"
	assert_failure 1
	assert_output --regexp "^rank-eval: graph tile:xla:k0: 3 of [0-9]+ configs have no prediction \(first: config_index [0-9]+\); --allow-missing scores them pessimistically$"
	run rank-eval -t "$D/truth.mp" --allow-missing -j -g "$D/holes.mp"
	assert_success
	echo "$output" > "$D/h.json"
	rank-eval -t "$D/truth.mp" -j -g "$D/filled.mp" > "$D/f.json"
	run "$PY" -c '
import json, sys
h, f = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert all(g["missing"] == 3 for g in h["graphs"])
assert [c["missing_configs"] for c in h["collections"]] == [9, 9, 9]
for g in h["graphs"]: g["missing"] = 0
for c in h["collections"]: c["missing_configs"] = 0
print(h["graphs"] == f["graphs"], h["collections"] == f["collections"])' "$D/h.json" "$D/f.json"
	assert_success
	assert_output "True True"
}

@test "rank-eval: duplicates exit 1 (graph in truth, graph in preds, config in a record)" {
	small
	py "$D" <<'EOF'
import sys
from rank_data import *
d = sys.argv[1]
g = {'id': 'layout:xla:random:a', 'runtime': [5, 3, 9, 1, 7], 'config_index': [0, 1, 2, 3, 4]}
write_truth(d + '/dupt.mp', [g, g])
p = ('layout:xla:random:a', [0, 1, 2, 3, 4], [5, 3, 9, 1, 7])
write_pred(d + '/dupp.mp', [p, p])
write_pred(d + '/dupc.mp', [('layout:xla:random:a', [0, 1, 2, 3, 3], [5, 3, 9, 1, 7])])
write_truth(d + '/one.mp', [g])
write_truth(d + '/dupct.mp', [{'id': 'layout:xla:random:a', 'runtime': [5, 3], 'config_index': [1, 1]}])
EOF
	run rank-eval -t "$D/dupt.mp" "$D/pred.mp"
	assert_failure 1
	assert_output --regexp "dupt.mp: record [0-9]+ \(byte offset [0-9]+\): graph id layout:xla:random:a appears twice in the stream"
	run rank-eval -t "$D/one.mp" "$D/dupp.mp"
	assert_failure 1
	assert_output --regexp "dupp.mp: record 2 \(layout:xla:random:a\): a second pred record for this graph \(the first: .*dupp.mp record 1\)"
	run rank-eval -t "$D/one.mp" "$D/dupc.mp"
	assert_failure 1
	assert_output --partial "(layout:xla:random:a): config_index 3 appears twice"
	run rank-eval -t "$D/dupct.mp" "$D/dupc.mp"
	assert_failure 1
	assert_output --partial "graph layout:xla:random:a: config_index 1 appears twice in the truth"
}

@test "rank-eval: a NaN score exits 1 naming the graph and config" {
	small
	py "$D" <<'EOF'
import sys
from rank_data import *
write_pred(sys.argv[1] + '/nan.mp', [('layout:xla:random:a', [0, 1, 2, 3, 4], [5, 3, float('nan'), 1, 7])])
EOF
	run rank-eval -t "$D/truth.mp" --allow-missing "$D/nan.mp"
	assert_failure 1
	assert_output --regexp "nan.mp: record 1 \(layout:xla:random:a\): score of config 2 is NaN"
}

@test "rank-eval: graphs and configs the truth lacks exit 1 (or are counted)" {
	small
	py "$D" <<'EOF'
import sys
from rank_data import *
d = sys.argv[1]
p = [('tile:xla:k', [6, 5, 4, 3, 2, 1, 0], [0, 1, 2, 3, 4, 5, 6]),
     ('layout:xla:random:a', [0, 1, 2, 3, 4], [5, 3, 9, 1, 7]),
     ('layout:nlp:default:b', [0, 1, 2, 3], [1, 2, 3, 4])]
write_pred(d + '/extra.mp', p + [('layout:xla:random:zz', [0], [1])])
p[1] = ('layout:xla:random:a', [0, 1, 2, 3, 4, 5], [5, 3, 9, 1, 7, 0])
write_pred(d + '/extracfg.mp', p)
EOF
	run rank-eval -t "$D/truth.mp" "$D/extra.mp"
	assert_failure 1
	assert_output --regexp "extra.mp: record 4 \(layout:xla:random:zz\): this graph is not in the truth"
	run rank-eval -t "$D/truth.mp" --allow-missing "$D/extra.mp"
	assert_success
	assert_output --partial "note: 1 predicted graph not in the truth, ignored (--allow-missing)"
	run rank-eval -t "$D/truth.mp" "$D/extracfg.mp"
	assert_failure 1
	assert_output --partial "(layout:xla:random:a): config_index 5 is not in the truth"
}

@test "rank-eval: a sampled truth ignores (and counts) predictions outside the sample" {
	py "$D" <<'EOF'
import sys
from rank_data import *
d = sys.argv[1]
write_truth(d + '/sampled.mp', [{'id': 'layout:xla:random:a', 'runtime': [5, 3, 1],
                                  'config_index': [4, 0, 2], 'n_total': 6}])
write_pred(d + '/all.mp', [('layout:xla:random:a', [0, 1, 2, 3, 4, 5], [3, 0, 1, 0, 5, 0])])
write_pred(d + '/over.mp', [('layout:xla:random:a', [0, 2, 4, 6], [3, 1, 5, 0])])
EOF
	run rank-eval -t "$D/sampled.mp" --json "$D/all.mp"
	assert_success
	echo "$output" > "$D/s.json"
	run jget "$D/s.json" "d['collections'][0]['kendall'], d['overall']['ignored_configs']"
	assert_output "(1, 3)"
	run rank-eval -t "$D/sampled.mp" "$D/over.mp"
	assert_failure 1
	assert_output --partial "config_index 6 is not in the truth"
}

@test "rank-eval: a deduplicated truth is refused" {
	py "$D" <<'EOF'
import sys, numpy as np
from rank_data import *
d = sys.argv[1]
write_truth(d + '/dedup.mp', [{'id': 'layout:xla:random:a', 'runtime': [5, 3], 'config_index': [0, 1],
    'extra': {'dup_offsets': tensor(np.array([0, 1, 2], np.int64)), 'dup_index': tensor(np.array([0, 1], np.int64))}}])
write_pred(d + '/p.mp', [('layout:xla:random:a', [0, 1], [1, 2])])
EOF
	run rank-eval -t "$D/dedup.mp" "$D/p.mp"
	assert_failure 1
	assert_output --regexp "dedup.mp: record 2 \(layout:xla:random:a\): the configs were deduplicated \(dup_offsets\).*needs the raw truth stream from npz2mp"
}

@test "rank-eval: a truth without runtimes, or a tile truth without normalizers, exits 1" {
	py "$D" <<'EOF'
import sys, msgpack
from rank_data import *
d = sys.argv[1]
write_truth(d + '/t.mp', [{'id': 'tile:xla:k', 'runtime': [5, 3], 'normalizers': [1, 1], 'config_index': [0, 1]}])
write_pred(d + '/p.mp', [('tile:xla:k', [0, 1], [1, 2])])
recs = read_stream(d + '/t.mp')
for drop, name in (('config_runtime', 'test'), ('config_runtime_normalizers', 'nonorm')):
    w = Writer(d + '/' + name + '.mp')
    for r in recs[1:-1]:
        r = dict(r); r.pop(drop, None); w.rec(r)
    w.close()
write_truth(d + '/zero.mp', [{'id': 'tile:xla:k', 'runtime': [5, 0], 'normalizers': [1, 1], 'config_index': [0, 1]}])
EOF
	run rank-eval -t "$D/test.mp" "$D/p.mp"
	assert_failure 1
	assert_output --partial "(tile:xla:k): no config_runtime: this split has no truth to score against"
	run rank-eval -t "$D/nonorm.mp" "$D/p.mp"
	assert_failure 1
	assert_output --partial "(tile:xla:k): no config_runtime_normalizers"
	run rank-eval -t "$D/zero.mp" "$D/p.mp"
	assert_failure 1
	assert_output --partial "(tile:xla:k): config 1: config_runtime 0 is not positive"
}

@test "rank-eval --csv: a CSV written by rank-ensemble scores as its stream" {
	"$PY" "$RD" gen 7 plain "$D"
	rank-ensemble -o "$D/ens.mp" --csv "$D/sub.csv" --top 10 "$D/pred.mp"
	rank-eval -t "$D/truth.mp" -j -g "$D/ens.mp" > "$D/s.json"
	rank-eval -t "$D/truth.mp" -j -g --csv "$D/sub.csv" > "$D/c.json"
	run "$PY" -c '
import json, sys
s = {g["id"]: g for g in json.load(open(sys.argv[1]))["graphs"]}
c = {g["id"]: g for g in json.load(open(sys.argv[2]))["graphs"]}
bad = []
for k in s:
    keys = ["top1", "top5", "top10", "score"] + ([] if k.startswith("tile") else ["kendall", "spearman", "opa"])
    bad += [(k, m) for m in keys if abs(s[k][m] - c[k][m]) > 1e-12]
    if k.startswith("tile"): assert c[k]["kendall"] is None
print("differ:", bad)' "$D/s.json" "$D/c.json"
	assert_success
	assert_output "differ: []"
}

@test "rank-eval --csv: tied predictions score the same as the stream (strict order)" {
	"$PY" "$RD" gen 8 tied "$D"
	rank-ensemble --csv "$D/sub.csv" "$D/pred.mp"
	run rank-eval -t "$D/truth.mp" -j "$D/pred.mp"
	s=$(echo "$output" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print([(c["score"], c["top1"], c["top5"]) for c in d["collections"]])')
	run rank-eval -t "$D/truth.mp" -j --csv "$D/sub.csv"
	c=$(echo "$output" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print([(c["score"], c["top1"], c["top5"]) for c in d["collections"]])')
	[ "$s" = "$c" ]
}

@test "rank-eval --csv: bad submissions exit 1 with the line" {
	small
	printf 'ID,TopConfigs\ntile:xla:k,6;5;4;3;2\nlayout:xla:random:a,3;1;0;4;2\nlayout:nlp:default:b,3;2;1;0\n' > "$D/ok.csv"
	run rank-eval -t "$D/truth.mp" --csv "$D/ok.csv"
	assert_success
	printf 'id,TopConfigs\n' > "$D/h.csv"
	run rank-eval -t "$D/truth.mp" --csv "$D/h.csv"
	assert_failure 1
	assert_output "rank-eval: $D/h.csv: line 1: header is not \"ID,TopConfigs\""
	sed 's/^layout:nlp.*$//' "$D/ok.csv" > "$D/miss.csv"
	run rank-eval -t "$D/truth.mp" --csv "$D/miss.csv"
	assert_failure 1
	assert_output --partial "graph layout:nlp:default:b: no prediction for it (no row in the CSV)"
	sed 's/^layout:nlp:default:b,.*$/layout:nlp:default:b,3;2;x;0/' "$D/ok.csv" > "$D/num.csv"
	run rank-eval -t "$D/truth.mp" --csv "$D/num.csv"
	assert_failure 1
	assert_output "rank-eval: $D/num.csv: line 4 (layout:nlp:default:b): bad character 'x' at position 3 (want a non-negative integer)"
	sed 's/^layout:nlp:default:b,.*$/layout:nlp:default:b,3;2;1/' "$D/ok.csv" > "$D/perm.csv"
	run rank-eval -t "$D/truth.mp" --csv "$D/perm.csv"
	assert_failure 1
	assert_output --partial "graph layout:nlp:default:b: 1 of 4 configs have no prediction (first: config_index 0): a layout row must list every config"
	sed 's/^tile:xla:k,.*$/tile:xla:k,6;5;4/' "$D/ok.csv" > "$D/tile3.csv"
	run rank-eval -t "$D/truth.mp" --csv "$D/tile3.csv"
	assert_failure 1
	assert_output --partial "a tile row needs its top 5"
	sed 's/^tile:xla:k,.*$/tile:xla:k,6;5;4;6;1/' "$D/ok.csv" > "$D/twice.csv"
	run rank-eval -t "$D/truth.mp" --csv "$D/twice.csv"
	assert_failure 1
	assert_output "rank-eval: $D/twice.csv: line 2 (tile:xla:k): config index 6 listed twice"
	sed 's/^tile:xla:k,.*$/tile:xla:k,6;5;4;9;1/' "$D/ok.csv" > "$D/range.csv"
	run rank-eval -t "$D/truth.mp" --csv "$D/range.csv"
	assert_failure 1
	assert_output --partial "line 2 (tile:xla:k): config index 9 is not in the truth (the graph has 7 configs)"
	{ cat "$D/ok.csv"; echo 'tile:xla:k,0;1;2;3;4'; } > "$D/dup.csv"
	run rank-eval -t "$D/truth.mp" --csv "$D/dup.csv"
	assert_failure 1
	assert_output "rank-eval: $D/dup.csv: line 5: duplicate ID tile:xla:k (first on line 2)"
	{ cat "$D/ok.csv"; echo 'tile:xla:other,0;1;2;3;4'; } > "$D/extra.csv"
	run rank-eval -t "$D/truth.mp" --csv "$D/extra.csv"
	assert_failure 1
	assert_output "rank-eval: $D/extra.csv: line 5: graph tile:xla:other is not in the truth"
	run rank-eval -t "$D/truth.mp" --csv "$D/nonexistent.csv"
	assert_failure 3
}

@test "rank-eval --csv: a tile row of 5 gives top1/top5/score, not the rank statistics" {
	small
	printf 'ID,TopConfigs\r\ntile:xla:k,6;5;4;3;2\r\nlayout:xla:random:a,3;1;0;4;2\r\nlayout:nlp:default:b,0;1;2;3\r\n' > "$D/ok.csv"
	run rank-eval -t "$D/truth.mp" --csv "$D/ok.csv" -g
	assert_success
	assert_line --regexp '^tile:xla:k +7 +0 +- +- +- +2\.0000 +0\.0000 +- +1\.0000$'
	assert_line --regexp '^layout:xla:random:a +5 +0 +1\.0000 '
	assert_line --regexp '^layout:nlp:default:b +4 +0 +-1\.0000 '
}

@test "rank-eval: undefined statistics count as no information, and are reported" {
	py "$D" <<'PYEOF'
import sys
from rank_data import *
d = sys.argv[1]
g = [{'id': 'layout:xla:default:c', 'runtime': [5, 5, 5], 'config_index': [0, 1, 2]},
     {'id': 'layout:xla:default:d', 'runtime': [1, 2, 3], 'config_index': [0, 1, 2]}]
write_truth(d + '/u.mp', g)
write_pred(d + '/up.mp', [('layout:xla:default:c', [0, 1, 2], [1, 2, 3]),
                          ('layout:xla:default:d', [0, 1, 2], [1, 2, 3])])
PYEOF
	run rank-eval -t "$D/u.mp" -g "$D/up.mp"
	assert_success
	assert_line --regexp '^layout:xla:default:c +3 +0 +nan +nan +nan +0\.0000 +0\.0000 +0\.0000 +nan$'
	# means: kendall (0 + 1) / 2, opa (0.5 + 1) / 2
	assert_line --regexp '^layout:xla:default +2 +6 +0\.5000 +0\.5000 +0\.7500 .* 0\.5000$'
	assert_output --partial "note: layout:xla:default: undefined (constant runtimes or predictions, or one config), counted as 0 (opa: 0.5), in graphs: kendall 1, spearman 1, opa 1, score 1"
	run rank-eval -t "$D/u.mp" -g -j "$D/up.mp"
	assert_output --partial '"kendall": null'
}

@test "rank-eval --ranks: per-config true and predicted rank fractions" {
	need_py numpy msgpack
	npz2mp -q "$FIX/npz/npz/tile/xla/train" > "$D/truth.mp"
	# a perfect prediction (score = normalised runtime) puts every config on the diagonal
	"$PY" - "$D/truth.mp" "$D/pred.mp" <<'PYEOF'
import sys, msgpack, numpy as np
recs = list(msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False))
out = msgpack.Packer(use_bin_type=True)
f = open(sys.argv[2], "wb")
f.write(out.pack(recs[0])); n = 1
for r in recs:
    if r["t"] == "configs":
        rt = np.frombuffer(r["config_runtime"]["data"], "<i8") / np.frombuffer(r["config_runtime_normalizers"]["data"], "<i8")
        f.write(out.pack({"t": "pred", "id": r["id"], "config_index": r["config_index"],
                          "score": {"dtype": "f32", "shape": [len(rt)], "data": rt.astype("<f4").tobytes()}})); n += 1
f.write(out.pack({"t": "end", "records": n, "graphs": 0, "chunks": 0, "configs": 0, "preds": n - 1}))
PYEOF
	run rank-eval --ranks "$D/ranks.tsv" --truth "$D/truth.mp" "$D/pred.mp"
	assert_success
	run awk -F'\t' '$2 != $3 { bad++ } END { print NR, bad + 0 }' "$D/ranks.tsv"
	assert_output "14 0"
	run rank-eval --ranks /nonexistent/dir/r.tsv --truth "$D/truth.mp" "$D/pred.mp"
	assert_failure 3
}
