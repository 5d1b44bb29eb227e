"""rank_data: test data and the scipy oracle for rank-eval / rank-ensemble.

Writes truth streams (graph + configs records, as npz2mp writes them) and
pred streams with python3-msgpack and numpy, independently of the C stream
library, and computes the expected metrics with scipy.stats and plain numpy,
following the definitions of lib/metrics.h:

  kendall  = scipy.stats.kendalltau(score, y)      (tau-b)
  spearman = scipy.stats.spearmanr(score, y)
  opa      = over pairs with y_i != y_j: right order 1, tied score 1/2
  top K    = min(y over the first K of the order by (score, config_index))
             / min(y) - 1
  score    = tile: 2 - ratio_5; layout: kendalltau(position in that order, y)

Used from the bats files as `python3 rank_data.py COMMAND ...` or imported.
"""
import json
import math
import sys

import msgpack
import numpy as np

DT = {np.dtype('float32'): 'f32', np.dtype('float64'): 'f64',
      np.dtype('int32'): 'i32', np.dtype('int64'): 'i64', np.dtype('uint8'): 'u8'}


def tensor(a):
    a = np.ascontiguousarray(a)
    return {'dtype': DT[a.dtype], 'shape': list(a.shape), 'data': a.astype(a.dtype.newbyteorder('<')).tobytes()}


class Writer:
    """A stream with header and a correct end record."""

    def __init__(self, path):
        self.f = sys.stdout.buffer if path == '-' else open(path, 'wb')
        self.n = {'records': 0, 'graphs': 0, 'chunks': 0, 'configs': 0, 'preds': 0}
        self.rec({'t': 'header', 'format': 'tpugraphs-mp', 'version': 1, 'history': []})

    def rec(self, r):
        self.f.write(msgpack.packb(r, use_bin_type=True))
        self.n['records'] += 1
        t = r['t']
        if t == 'graph':
            self.n['graphs'] += 1
        elif t == 'configs':
            self.n['chunks'] += 1
            self.n['configs'] += r['count']
        elif t == 'pred':
            self.n['preds'] += 1

    def close(self, end=True):
        if end:
            e = {'t': 'end'}
            e.update(self.n)
            self.f.write(msgpack.packb(e, use_bin_type=True))
        if self.f is not sys.stdout.buffer:
            self.f.close()


def collection_of(gid):
    parts = gid.split(':')
    return ':'.join(parts[:2] if parts[0] == 'tile' else parts[:3])


def write_truth(path, graphs, chunk=7, end=True):
    """graphs: dicts with id, runtime (int64), config_index, normalizers
    (tile), optional extra (dict of keys for every chunk), n_total."""
    w = Writer(path)
    for g in graphs:
        c = len(g['runtime'])
        gr = {'t': 'graph', 'id': g['id'], 'collection': collection_of(g['id']),
              'split': 'valid', 'source': g['id'] + '.npz', 'n_nodes': 1, 'n_edges': 0,
              'n_configs': c, 'n_configs_total': g.get('n_total', c),
              'node_feat': tensor(np.zeros((1, 140), np.float32)),
              'node_opcode': tensor(np.zeros(1, np.int32)),
              'edge_index': tensor(np.zeros((0, 2), np.int32))}
        w.rec(gr)
        for off in range(0, c, chunk):
            sl = slice(off, min(c, off + chunk))
            k = sl.stop - sl.start
            r = {'t': 'configs', 'id': g['id'], 'offset': off, 'count': k,
                 'config_index': tensor(np.asarray(g['config_index'][sl], np.int64)),
                 'config_runtime': tensor(np.asarray(g['runtime'][sl], np.int64))}
            if 'normalizers' in g:
                r['config_runtime_normalizers'] = tensor(np.asarray(g['normalizers'][sl], np.int64))
            r.update(g.get('extra', {}))
            w.rec(r)
    w.close(end)


def write_pred(path, preds, end=True):
    """preds: (id, config_index, score) triples."""
    w = Writer(path)
    for gid, idx, score in preds:
        w.rec({'t': 'pred', 'id': gid, 'config_index': tensor(np.asarray(idx, np.int64)),
               'score': tensor(np.asarray(score, np.float32))})
    w.close(end)


def read_stream(path):
    with open(path, 'rb') as f:
        return list(msgpack.Unpacker(f, raw=False))


def arr(t):
    dt = {'f32': '<f4', 'f64': '<f8', 'i32': '<i4', 'i64': '<i8', 'u8': 'u1'}[t['dtype']]
    return np.frombuffer(t['data'], dt).reshape(t['shape'])


def gen(seed, tied=False, tiles=3, layouts=3, n=(5, 60)):
    """Random graphs and predictions; tied: draw both from few levels."""
    rng = np.random.default_rng(seed)
    graphs, preds = [], []
    ids = ['tile:xla:k%d' % i for i in range(tiles)] + \
          ['layout:xla:random:g%d' % i for i in range(layouts)] + \
          ['layout:nlp:default:h%d' % i for i in range(layouts)]
    for gid in ids:
        c = int(rng.integers(n[0], n[1]))
        ci = rng.permutation(c).astype(np.int64)
        if tied:
            rt = rng.integers(1, 6, c) * 1000
            sc = rng.integers(0, 4, c).astype(np.float32)
        else:
            rt = rng.integers(1000, 10 ** 7, c)
            sc = rng.normal(size=c).astype(np.float32)
        g = {'id': gid, 'runtime': rt, 'config_index': ci}
        if gid.startswith('tile'):
            g['normalizers'] = rng.integers(900, 1100, c) if not tied else np.full(c, 1000)
        graphs.append(g)
        p = rng.permutation(c)
        preds.append((gid, ci[p], sc[p]))
    return graphs, preds


def expected(graphs, preds):
    """Per-graph metrics by scipy / numpy, keyed by graph id."""
    from scipy import stats
    pm = {gid: (np.asarray(i), np.asarray(s, np.float32).astype(np.float64)) for gid, i, s in preds}
    out = {}
    for g in graphs:
        ci = np.asarray(g['config_index'])
        y = np.asarray(g['runtime'], np.float64)
        if 'normalizers' in g:
            y = y / np.asarray(g['normalizers'], np.float64)
        pi, ps = pm[g['id']]
        s = np.empty(len(ci))
        where = {c: k for k, c in enumerate(ci)}
        for c, v in zip(pi, ps):
            s[where[c]] = v
        e = {}
        with np.errstate(all='ignore'):
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                e['kendall'] = float(stats.kendalltau(s, y).correlation)
                e['spearman'] = float(stats.spearmanr(s, y).correlation)
        num = den = 0.0
        for a in range(len(y) - 1):  # every pair (a, b > a), a row at a time
            yb, sb = y[a + 1:], s[a + 1:]
            dy = yb != y[a]
            den += dy.sum()
            num += (dy & (sb == s[a])).sum() * 0.5
            num += (dy & (sb != s[a]) & ((s[a] < sb) == (y[a] < yb))).sum()
        e['opa'] = float(num / den) if den else float('nan')
        order = np.lexsort((ci, s))  # by score, then config index
        for k in (1, 5, 10):
            e['top%d' % k] = float(y[order[:k]].min() / y.min() - 1)
        if 'normalizers' in g:
            e['score'] = 2 - (e['top5'] + 1)
        else:
            pos = np.empty(len(y))
            pos[order] = np.arange(len(y))
            e['score'] = float(stats.kendalltau(pos, y).correlation)
        out[g['id']] = e
    return out


def compare(exp, got_json, tol=1e-9):
    """Check rank-eval's --json --per-graph output against the oracle."""
    got = {g['id']: g for g in got_json['graphs']}
    assert set(got) == set(exp), (sorted(got), sorted(exp))
    bad = 0
    for gid, e in exp.items():
        for k, v in e.items():
            w = got[gid][k]
            if w is None:
                ok = math.isnan(v)
            else:
                ok = not math.isnan(v) and abs(w - v) <= tol
            if not ok:
                print('%s %s: rank-eval %r, oracle %r' % (gid, k, w, v))
                bad += 1
    # collection means (NaN counts as the neutral value, lib/metrics.h)
    colls = {}
    for gid, e in exp.items():
        colls.setdefault(collection_of(gid), []).append(e)
    for c in got_json['collections']:
        es = colls[c['collection']]
        for k in ('kendall', 'spearman', 'opa', 'top1', 'top5', 'top10', 'score'):
            neutral = 0.5 if k == 'opa' else 0.0
            m = float(np.mean([neutral if math.isnan(e[k]) else e[k] for e in es]))
            if c[k] is None or abs(c[k] - m) > tol:
                print('%s mean %s: rank-eval %r, oracle %r' % (c['collection'], k, c[k], m))
                bad += 1
    scores = [c['score'] for c in got_json['collections']]
    if abs(got_json['overall']['score'] - float(np.mean(scores))) > tol:
        print('overall: %r vs %r' % (got_json['overall']['score'], np.mean(scores)))
        bad += 1
    return bad


def main(argv):
    cmd = argv[1]
    if cmd == 'gen':  # gen SEED tied|plain DIR [NMIN NMAX [GRAPHS]]
        n = (int(argv[5]), int(argv[6])) if len(argv) > 6 else (5, 60)
        k = int(argv[7]) if len(argv) > 7 else 3
        graphs, preds = gen(int(argv[2]), argv[3] == 'tied', k, k, n)
        d = argv[4]
        write_truth(d + '/truth.mp', graphs)
        write_pred(d + '/pred.mp', preds)
        with open(d + '/expected.json', 'w') as f:
            json.dump(expected(graphs, preds), f)
    elif cmd == 'compare':  # compare expected.json got.json
        with open(argv[2]) as f:
            exp = json.load(f)
        with open(argv[3]) as f:
            got = json.load(f)
        bad = compare(exp, got)
        print('%d mismatches over %d graphs' % (bad, len(exp)))
        return 1 if bad else 0
    else:
        print('rank_data.py: unknown command ' + cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
