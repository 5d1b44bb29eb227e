#!/usr/bin/env python3
"""hlo_check: compare hlo2mp's stream with the decode_raw oracle (pbraw.py).

Usage: hlo_check.py FILE.pb STREAM.mp
Checks, for every module of FILE.pb: node and edge counts, the edge set,
every opcode id (against TPUGRAPHS.md's table, typed here again), every
shape (element-type one-hot 2-20, dims 21-28, tuple size 29), is_root,
node_splits (layout only), the configurable node ids (layout only), and for
every kept run its runtime, run index, config features, the default run and
(tile) its normalizer.  node_splits and node_config_ids are derived here from
the decode_raw tree as the dataset's encoder made them (docs/hlo2mp.md):
splits 0, the running instruction count after every computation whose name
contains cluster, while or cond, and the total; config_index_to_node read as
node positions in file order.  The real files are in file order, so a
position is a node index.
Prints 'ok N modules' or the first mismatches, exit 1.
"""
import json
import os
import sys

import msgpack
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pbraw  # noqa: E402

OPCODES = """abs add add-dependency after-all all-reduce all-to-all atan2
batch-norm-grad batch-norm-inference batch-norm-training bitcast
bitcast-convert broadcast call ceil cholesky clamp collective-permute
count-leading-zeros compare complex concatenate conditional constant convert
convolution copy copy-done copy-start cosine custom-call divide domain dot
dynamic-slice dynamic-update-slice exponential exponential-minus-one fft floor
fusion gather get-dimension-size set-dimension-size get-tuple-element imag
infeed iota is-finite log log-plus-one and not or xor map maximum minimum
multiply negate outfeed pad parameter partition-id popcnt power real recv
recv-done reduce reduce-precision reduce-window remainder replica-id reshape
reverse rng rng-get-and-update-state rng-bit-generator round-nearest-afz rsqrt
scatter select select-and-scatter send send-done shift-left
shift-right-arithmetic shift-right-logical sign sine slice sort sqrt subtract
tanh trace transpose triangular-solve tuple tuple-select while cbrt all-gather
collective-permute-start collective-permute-done logistic dynamic-reshape
all-reduce-start all-reduce-done reduce-scatter all-gather-start
all-gather-done opt-barrier async-start async-update async-done
round-nearest-even stochastic-convert tan""".split()
OPCODE_ID = {name: i + 1 for i, name in enumerate(OPCODES)}
assert OPCODE_ID['tan'] == 120 and OPCODE_ID['while'] == 102

# xla PrimitiveType -> one-hot slot (TPUGRAPHS.md order)
TYPE_SLOT = {0: 2, 1: 3, 2: 4, 3: 5, 4: 6, 5: 7, 6: 8, 7: 9, 8: 10, 9: 11,
             10: 12, 11: 13, 12: 14, 16: 15, 15: 16, 18: 17, 13: 18, 14: 19,
             17: 20}

DT = {'f32': '<f4', 'f64': '<f8', 'i32': '<i4', 'i64': '<i8', 'u8': 'u1',
      'u32': '<u4', 'i8': 'i1', 'i16': '<i2', 'u16': '<u2', 'u64': '<u8',
      'bool': '?'}


def tensor(t):
    return np.frombuffer(t['data'], dtype=DT[t['dtype']]).reshape(t['shape'])


def read_stream(path):
    with open(path, 'rb') as f:
        recs = list(msgpack.Unpacker(f, raw=False))
    assert recs[0]['t'] == 'header', 'first record is not a header'
    assert recs[-1]['t'] == 'end', 'stream has no end record'
    graphs = []
    for r in recs[1:-1]:
        if r['t'] == 'graph':
            graphs.append({'g': r, 'chunks': []})
        elif r['t'] == 'configs':
            assert r['id'] == graphs[-1]['g']['id']
            graphs[-1]['chunks'].append(r)
    return graphs


def cat(chunks, key):
    return np.concatenate([tensor(c[key]) for c in chunks]) if chunks else None


def encoder_splits(mtd):
    """node_splits as the dataset's encoder wrote them, from the tree."""
    out, n = [0], 0
    for c in pbraw.get(pbraw.one(mtd, 1), 3):
        c = pbraw.as_msg(c)
        n += len(pbraw.get(c, 2))
        name = pbraw.string(c, 1)
        if 'cluster' in name or 'while' in name or 'cond' in name:
            out.append(n)
    if out[-1] < n:
        out.append(n)
    return out


def check(pb, mp):
    errors = []

    def expect(cond, msg):
        if not cond and len(errors) < 20:
            errors.append(msg)

    mtds = pbraw.modules(pbraw.decode_raw(pb))
    mods = [pbraw.module_summary(m) for m in mtds]
    graphs = read_stream(mp)
    expect(len(mods) == len(graphs), '%d modules, %d graphs' % (len(mods), len(graphs)))
    for mtd, o, gr in zip(mtds, mods, graphs):
        g, ch = gr['g'], gr['chunks']
        name = o['name']
        n = o['n_nodes']
        feat = tensor(g['node_feat'])
        expect(g['module'] == name, 'module name %s != %s' % (g['module'], name))
        expect(g['n_nodes'] == n and feat.shape == (n, 140),
               '%s: n_nodes %s, want %d' % (name, g['n_nodes'], n))
        expect(g['n_edges'] == o['n_edges'],
               '%s: n_edges %s, want %d' % (name, g['n_edges'], o['n_edges']))
        ei = tensor(g['edge_index'])
        expect(sorted(map(tuple, ei.tolist())) == [tuple(e) for e in o['edges']],
               '%s: edge sets differ' % name)
        want_op = [OPCODE_ID.get(s, 0) for s in o['opcodes']]
        got_op = tensor(g['node_opcode']).tolist()
        for i, (a, b) in enumerate(zip(got_op, want_op)):
            expect(a == b, '%s: node %d (%s) opcode %d, want %d'
                   % (name, i, o['names'][i], a, b))
        for i, (et, dims) in enumerate(o['shapes']):
            row = feat[i]
            onehot = np.zeros(19, np.float32)
            if et in TYPE_SLOT:
                onehot[TYPE_SLOT[et] - 2] = 1
            expect((row[2:21] == onehot).all(),
                   '%s: node %d element type one-hot %s, want type %d'
                   % (name, i, row[2:21].tolist(), et))
            d6 = [float(x) for x in dims[:6]] + [0.0] * (6 - len(dims[:6]))
            prod = 1
            for x in dims:
                prod *= x
            want = np.array(d6 + [sum(dims), prod], np.float32)
            expect((row[21:29] == want).all(), '%s: node %d dims %s, want %s'
                   % (name, i, row[21:29].tolist(), want.tolist()))
            expect(row[0] == o['roots'][i], '%s: node %d is_root %s'
                   % (name, i, row[0]))
        if o['kind'] == 'layout':
            want = encoder_splits(mtd)
            expect(tensor(g['node_splits']).tolist() == want,
                   '%s: node_splits %s, want %s'
                   % (name, tensor(g['node_splits']).tolist(), want))
            want = pbraw.varints(mtd, 4, signed=False)
            expect(tensor(g['node_config_ids']).tolist() == want,
                   '%s: node_config_ids %s..., want %s...'
                   % (name, tensor(g['node_config_ids']).tolist()[:8], want[:8]))
        else:
            expect('node_splits' not in g and 'node_config_ids' not in g,
                   '%s: a tile graph with layout keys' % name)
        expect(g['n_configs'] == len(o['kept_runtimes']),
               '%s: n_configs %s, want %d' % (name, g['n_configs'], len(o['kept_runtimes'])))
        expect(g['n_runs'] == len(o['runs']) and g['n_runs_error'] == o['n_error'],
               '%s: run counts %s/%s' % (name, g['n_runs'], g['n_runs_error']))
        expect(g['default_index'] == o['default_index'],
               '%s: default_index %s, want %s' % (name, g['default_index'], o['default_index']))
        if not ch:
            expect(not o['kept_runtimes'], '%s: no configs emitted' % name)
            continue
        rt = cat(ch, 'config_runtime').tolist()
        expect(rt == o['kept_runtimes'], '%s: runtimes differ' % name)
        expect(cat(ch, 'config_index').tolist() == list(range(len(rt))),
               '%s: config_index is not 0..c-1' % name)
        kept_idx = [r['index'] for r in o['runs'] if not r['error']]
        expect(cat(ch, 'run_index').tolist() == kept_idx, '%s: run_index differs' % name)
        key = 'config_feat' if o['kind'] == 'tile' else 'node_config_feat'
        cf = cat(ch, key)
        want = np.array(o['config_rows'], np.float32)
        expect(cf.shape == want.shape and (cf == want).all(),
               '%s: %s differs (%s vs %s)' % (name, key, cf.shape, want.shape))
        if o['kind'] == 'tile':
            nz = cat(ch, 'config_runtime_normalizers').tolist()
            d = o['kept_runtimes'][o['default_index']]
            expect(nz == [d] * len(rt), '%s: normalizers are not the default runtime' % name)
    return len(mods), errors


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    n, errors = check(argv[1], argv[2])
    if errors:
        print('\n'.join(errors))
        return 1
    print('ok %d modules' % n)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
