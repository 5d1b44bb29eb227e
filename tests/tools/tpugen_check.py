#!/usr/bin/env python3
"""Validate a TpuGraphs-format dataset the way the published files look
(TPUGRAPHS.md): every .npz under DIR/npz loads with numpy, has exactly the
published keys with their dtypes and shapes, and its graph and features are
consistent; the format as the published files have it: node_opcode uint8,
int64 ids, edge_index in Fortran order in layout files, node_splits (1, k)
ending at the node count, configurable nodes only convolutions, dots and
reshapes at 2-8% of the nodes; the test split's runtimes hidden (0, tile
normalizers 1) with the true ones in DIR/truth/npz/<same path>.  Prints
"ok: N files" or one line per problem; exit 1 on any.

  tpugen_check.py DIR [--expect-files N]"""
import glob
import os
import sys
import zipfile

import numpy as np
from numpy.lib import format as npformat

COMMON = {"node_feat", "node_opcode", "edge_index"}
TILE = COMMON | {"config_feat", "config_runtime", "config_runtime_normalizers"}
LAYOUT = COMMON | {"node_config_ids", "node_config_feat", "config_runtime", "node_splits"}

problems = []


def bad(path, msg):
    problems.append("%s: %s" % (path, msg))


def want(path, f, key, dtypes, ndim):
    a = f[key]
    if a.dtype.str not in dtypes:
        bad(path, "%s dtype %s, want %s" % (key, a.dtype.str, "/".join(dtypes)))
    if a.ndim != ndim:
        bad(path, "%s has %d dims, want %d" % (key, a.ndim, ndim))
    return a


def group_ok(row, base, n):
    """slots base..base+5, sum at +6, product at +7"""
    v = row[base:base + n]
    return (row[base + n:base + 6] == 0).all() and np.isclose(row[base + 6], v.sum()) and \
        np.isclose(row[base + 7], np.prod(v) if n else 0, rtol=1e-5)


def check_graph(path, f):
    nf = want(path, f, "node_feat", ["<f4"], 2)
    op = want(path, f, "node_opcode", ["|u1"], 1)
    ei = want(path, f, "edge_index", ["<i8"], 2)
    n = nf.shape[0]
    if nf.shape != (n, 140) or op.shape != (n,) or ei.ndim != 2 or ei.shape[1] != 2:
        bad(path, "shapes node_feat %s node_opcode %s edge_index %s" % (nf.shape, op.shape, ei.shape))
        return None
    if n == 0:
        bad(path, "no nodes")
        return None
    if not np.isfinite(nf).all():
        bad(path, "node_feat not finite")
    if op.min() < 1 or op.max() > 120:
        bad(path, "opcode out of 1..120")
    # edges in range, consumer after producer: a DAG in topological order
    if len(ei):
        if ei.min() < 0 or ei.max() >= n:
            bad(path, "edge_index out of range")
        if not (ei[:, 0] > ei[:, 1]).all():
            bad(path, "edge_index: some consumer does not come after its operand")
    # element type: exactly one of the one-hot slots 2..20
    oh = nf[:, 2:21]
    if not ((oh == 0) | (oh == 1)).all() or not (oh.sum(axis=1) == 1).all():
        bad(path, "element type one-hot broken")
    tup = nf[:, 18] == 1
    indeg = np.bincount(ei[:, 0], minlength=n) if len(ei) else np.zeros(n, int)
    for i in range(n):
        row, o = nf[i], int(op[i])
        dims = row[21:27]
        rank = int((dims != 0).sum())
        if not tup[i]:
            if (dims[:rank] <= 0).any() or (dims[rank:] != 0).any():
                bad(path, "node %d: shape dims %s" % (i, dims)); continue
            if row[27] != dims.sum() or not np.isclose(row[28], np.prod(dims[:rank]), rtol=1e-5):
                bad(path, "node %d: shape sum/product %s %s" % (i, row[27], row[28]))
            # layout: a permutation of 0..rank-1
            if sorted(row[134:134 + rank].astype(int)) != list(range(rank)):
                bad(path, "node %d: layout %s not a permutation" % (i, row[134:140]))
        if o == 63:  # parameter: has a parameter number, no operands
            if indeg[i] != 0:
                bad(path, "node %d: parameter with operands" % i)
        elif o in (26, 72):  # convolution, reduce-window: window fields
            nsp = 2 if o == 26 else 4
            if not (row[37:37 + nsp] >= 1).all() or not group_ok(row, 37, nsp) or row[44] < 1:
                bad(path, "node %d (op %d): window size %s" % (i, o, row[37:45]))
            if not (row[45:45 + nsp] >= 1).all() or not group_ok(row, 45, nsp):
                bad(path, "node %d: window stride %s" % (i, row[45:53]))
            if not (row[69:69 + nsp] >= 1).all():
                bad(path, "node %d: window dilation %s" % (i, row[69:77]))
            if row[91] + row[92] != nsp:
                bad(path, "node %d: window reversal counts" % i)
            if o == 26:
                dn_in = row[[93, 94, 95, 96]].astype(int)
                dn_k = row[[99, 100, 101, 102]].astype(int)
                if sorted(dn_in) != [0, 1, 2, 3] or sorted(dn_k) != [0, 1, 2, 3]:
                    bad(path, "node %d: convolution dim numbers %s %s" % (i, dn_in, dn_k))
                if row[107] < 1 or row[108] < 1:
                    bad(path, "node %d: group counts %s %s" % (i, row[107], row[108]))
                if indeg[i] != 2:
                    bad(path, "node %d: convolution with %d operands" % (i, indeg[i]))
        else:
            if (row[37:109] != 0).any():
                bad(path, "node %d (op %d): window/convolution fields set" % (i, o))
        if o == 100 and (not tup[i] or row[29] != indeg[i]):
            bad(path, "node %d: tuple size %s vs %d operands" % (i, row[29], indeg[i]))
        if o == 34 and indeg[i] != 2:
            bad(path, "node %d: dot with %d operands" % (i, indeg[i]))
        if o == 92 and not (row[117:119] > row[109:111]).any():
            bad(path, "node %d: slice limits %s" % (i, row[109:121]))
    return nf, op, ei


def check_params(path, nf, op, splits):
    bounds = list(splits) + [len(op)]
    roots = nf[:, 0]
    for s, e in zip(bounds[:-1], bounds[1:]):
        p = sorted(nf[s:e][op[s:e] == 63, 30].astype(int))
        if p != list(range(len(p))):
            bad(path, "computation at %d: parameter numbers %s" % (s, p))
        if roots[s:e].sum() != 1:
            bad(path, "computation at %d: %d roots" % (s, roots[s:e].sum()))


def check_runtimes(path, test, truth, rt, nz):
    """Train/valid: positive runtimes.  Test: hidden (runtimes 0, tile
    normalizers 1) and the true ones, positive, in the truth file."""
    if not test:
        if (rt <= 0).any() or (nz is not None and (nz <= 0).any()):
            bad(path, "non-positive runtimes")
        return
    if (rt != 0).any():
        bad(path, "test split: config_runtime not all 0 (hidden)")
    if nz is not None and (nz != 1).any():
        bad(path, "test split: config_runtime_normalizers not all 1 (hidden)")
    if not os.path.isfile(truth):
        bad(path, "test split: no truth file %s" % truth)
        return
    with np.load(truth, allow_pickle=False) as t:
        keys = {"config_runtime"} | ({"config_runtime_normalizers"} if nz is not None else set())
        if set(t.files) != keys:
            bad(truth, "keys %s, want %s" % (sorted(t.files), sorted(keys)))
            return
        for k in keys:
            a = t[k]
            if a.dtype.str != "<i8" or a.shape != rt.shape or (a <= 0).any():
                bad(truth, "%s: dtype %s shape %s, want <i8 %s, positive" % (k, a.dtype.str, a.shape, rt.shape))


def check_tile(path, f, nf, op, test, truth):
    cf = want(path, f, "config_feat", ["<f4"], 2)
    rt = want(path, f, "config_runtime", ["<i8"], 1)
    nz = want(path, f, "config_runtime_normalizers", ["<i8"], 1)
    c = cf.shape[0]
    if cf.shape != (c, 24) or rt.shape != (c,) or nz.shape != (c,) or c == 0:
        bad(path, "config shapes %s %s %s" % (cf.shape, rt.shape, nz.shape)); return
    check_runtimes(path, test, truth, rt, nz)
    for base in (0, 8):
        v = cf[:, base:base + 6]
        if (v < 0).any() or not np.allclose(cf[:, base + 6], v.sum(1)):
            bad(path, "config_feat %d..%d: sum" % (base, base + 7))
    if (cf[:, 16:24] != 0).any():
        bad(path, "input bounds set")
    if len(np.unique(cf, axis=0)) != c:
        bad(path, "duplicate tile configs")
    check_params(path, nf, op, [0])


def check_layout(path, f, nf, op, test, truth):
    ids = want(path, f, "node_config_ids", ["<i8"], 1)
    cf = want(path, f, "node_config_feat", ["<f4"], 3)
    rt = want(path, f, "config_runtime", ["<i8"], 1)
    sp2 = want(path, f, "node_splits", ["<i8"], 2)
    n, nc, c = len(op), len(ids), len(rt)
    if cf.shape != (c, nc, 18) or c == 0:
        bad(path, "node_config_feat shape %s, want (%d, %d, 18)" % (cf.shape, c, nc)); return
    if nc and (ids.min() < 0 or ids.max() >= n or (np.diff(ids) <= 0).any()):
        bad(path, "node_config_ids not ascending in range")
    check_runtimes(path, test, truth, rt, None)
    # (1, k): each computation's first node, then the node count
    if sp2.ndim != 2 or sp2.shape[0] != 1:
        bad(path, "node_splits shape %s, want (1, k)" % (sp2.shape,)); return
    sp = sp2[0]
    if len(sp) < 2 or sp[0] != 0 or (np.diff(sp) <= 0).any() or sp[-1] != n:
        bad(path, "node_splits %s (n %d)" % (sp, n))
        return
    check_params(path, nf, op, sp[:-1])
    vals = np.unique(cf)
    if not set(vals.tolist()) <= set(range(-1, 6)):
        bad(path, "node_config_feat values %s" % vals)
    # each block: all -1, or a permutation of the tensor's dims then -1
    ranks = (nf[ids, 21:27] != 0).sum(axis=1)
    blocks = cf.reshape(c, nc, 3, 6)
    for j in range(nc):
        for b in range(3):
            u = np.unique(blocks[:, j, b, :], axis=0)
            for row in u:
                k = int((row >= 0).sum())
                if k == 0:
                    continue
                if (row[k:] != -1).any() or sorted(row[:k].astype(int)) != list(range(k)):
                    bad(path, "config node %d block %d: %s" % (j, b, row)); break
                if b == 0 and k != ranks[j]:
                    bad(path, "config node %d: output layout of rank %d, node rank %d" % (j, k, ranks[j])); break
    # convolution, dot, reshape only, 2-8% of the nodes (the published files)
    if not set(op[ids].tolist()) <= {26, 34, 75}:
        bad(path, "configurable opcodes %s" % sorted(set(op[ids].tolist())))
    if not 0.02 <= nc / n <= 0.08:
        bad(path, "configurable rate %.4f (%d of %d) outside 2-8%%" % (nc / n, nc, n))


def member_headers(path):
    """{key: (descr, fortran_order, shape)} read from each member's .npy header"""
    out = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            with z.open(name) as fh:
                v = npformat.read_magic(fh)
                h = npformat.read_array_header_1_0(fh) if v == (1, 0) else npformat.read_array_header_2_0(fh)
            out[name[:-4]] = (h[2].str, h[1], h[0])
    return out


def main():
    args = sys.argv[1:]
    expect = None
    if "--expect-files" in args:
        i = args.index("--expect-files")
        expect = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    root = args[0]
    paths = sorted(glob.glob(os.path.join(root, "npz", "**", "*.npz"), recursive=True))
    for p in paths:
        rel = os.path.relpath(p, os.path.join(root, "npz")).split(os.sep)
        with zipfile.ZipFile(p) as z:
            if z.testzip() is not None:
                bad(p, "CRC error")
            kinds = {i.compress_type for i in z.infolist()}
            if len(kinds) != 1 or not kinds <= {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}:
                bad(p, "member compression %s" % kinds)
        tile = rel[0] == "tile"
        for key, (_, fo, _) in member_headers(p).items():
            # edge_index is Fortran-order in layout files, everything else C
            if fo != (key == "edge_index" and not tile):
                bad(p, "%s: fortran_order %s" % (key, fo))
        test = rel[-2] == "test"
        truth = os.path.join(root, "truth", "npz", *rel)
        with np.load(p, allow_pickle=False) as f:
            keys = set(f.files)
            exp = TILE if tile else LAYOUT
            if keys != exp:
                bad(p, "keys %s, want %s" % (sorted(keys), sorted(exp)))
                continue
            g = check_graph(p, f)
            if g is None:
                continue
            nf, op, _ = g
            if tile:
                check_tile(p, f, nf, op, test, truth)
            else:
                check_layout(p, f, nf, op, test, truth)
    # one truth file per test file, and nothing else under truth/
    tests = {os.path.relpath(p, os.path.join(root, "npz")) for p in paths
             if os.path.basename(os.path.dirname(p)) == "test"}
    truths = {os.path.relpath(p, os.path.join(root, "truth", "npz")) for p in
              glob.glob(os.path.join(root, "truth", "npz", "**", "*.npz"), recursive=True)}
    for t in sorted(truths - tests):
        problems.append("truth/npz/%s: no test file it belongs to" % t)
    if expect is not None and len(paths) != expect:
        problems.append("%d files, want %d" % (len(paths), expect))
    if not paths:
        problems.append("no .npz files under %s/npz" % root)
    for m in problems[:50]:
        print(m)
    if problems:
        print("%d problems" % len(problems))
        sys.exit(1)
    print("ok: %d files" % len(paths))


if __name__ == "__main__":
    main()
