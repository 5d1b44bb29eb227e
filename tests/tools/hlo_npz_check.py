#!/usr/bin/env python3
"""hlo_npz_check: compare hlo2mp's stream of a layout program with the
dataset's own featurization of the same program (a published .npz).

Usage: hlo_npz_check.py STREAM.mp FILE.npz
The stream must hold one layout graph.  Checks that node_feat, node_opcode,
edge_index, node_config_ids and node_splits equal the npz's (node_splits is
(1, k) int64 there, (k,) i32 in the stream: same values), and that every
config's node_config_feat equals a row of the npz's node_config_feat with the
same config_runtime (the npz holds more runs than the protobuf, and a few
runtimes repeat).  Prints 'ok ...' with the counts, or the mismatches and
exit 1.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hlo_check import read_stream, tensor, cat  # noqa: E402


def check(mp, npz):
    errors = []
    z = np.load(npz)
    graphs = read_stream(mp)
    if len(graphs) != 1:
        return None, ['%d graphs in the stream, want 1' % len(graphs)]
    g, ch = graphs[0]['g'], graphs[0]['chunks']
    for key in ('node_feat', 'node_opcode', 'edge_index', 'node_config_ids',
                'node_splits'):
        if key not in g:
            errors.append('%s: missing from the stream' % key)
            continue
        a = tensor(g[key])
        b = z[key]
        if key == 'node_splits':
            b = b.reshape(-1)
        if a.shape != b.shape:
            errors.append('%s: shape %s, npz %s' % (key, a.shape, b.shape))
        elif not np.array_equal(a, b):
            bad = np.argwhere(a != b)
            errors.append('%s: %d values differ, first at %s: %s, npz %s'
                          % (key, len(bad), tuple(bad[0]), a[tuple(bad[0])],
                             b[tuple(bad[0])]))
    if not ch:
        errors.append('no configs in the stream')
        return None, errors
    rt = cat(ch, 'config_runtime')
    cf = cat(ch, 'node_config_feat')
    zrt, zcf = z['config_runtime'], z['node_config_feat']
    if cf.shape[1:] != zcf.shape[1:]:
        errors.append('node_config_feat: shape %s per config, npz %s'
                      % (cf.shape[1:], zcf.shape[1:]))
        return None, errors
    repeated = 0
    for i in range(len(rt)):
        rows = np.nonzero(zrt == rt[i])[0]
        repeated += len(rows) > 1
        if len(rows) == 0:
            errors.append('config %d: runtime %d is not in the npz' % (i, rt[i]))
        elif not any(np.array_equal(cf[i], zcf[r]) for r in rows):
            errors.append('config %d: node_config_feat equals none of the npz '
                          'rows %s with runtime %d' % (i, rows.tolist()[:5], rt[i]))
        if len(errors) >= 20:
            break
    return (len(rt), repeated), errors


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    counts, errors = check(argv[1], argv[2])
    if errors:
        print('\n'.join(errors))
        return 1
    print('ok %d configs (%d runtimes repeated in the npz)' % counts)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
