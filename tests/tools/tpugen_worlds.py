#!/usr/bin/env python3
"""How differently two tpugen worlds rank the same configs.

  tpugen_worlds.py A B [--max-mean X]

A and B are tpugen outputs of the same seed and scale in two worlds
(--world).  The graphs are the same in both (checked: node_feat and
edge_index equal); so are the layout configs (checked).  Tile configs are
filtered by what compiles in each world's VMEM, so the tile comparison is
over the configs both files hold.  For every graph with 5 or more common
configs: Kendall's tau-b between A's and B's runtimes of those configs
(test files: the truth files' runtimes).  Prints one line per collection kind and the mean:

  layout: N graphs, mean tau T
  tile: N graphs, mean tau T
  all: N graphs, mean tau T

With --max-mean X, exit 1 unless the overall mean is below X (and both
kinds were compared).  Exit 1 on a graph or layout-config mismatch."""
import glob
import os
import sys

import numpy as np


def kendall(x, y):
    """tau-b, O(n^2): fine for the few hundred configs of a tiny dataset"""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    sx = np.sign(x[:, None] - x[None, :])
    sy = np.sign(y[:, None] - y[None, :])
    iu = np.triu_indices(len(x), 1)
    sx, sy = sx[iu], sy[iu]
    den = np.sqrt(np.count_nonzero(sx) * np.count_nonzero(sy))
    return float((sx * sy).sum() / den) if den > 0 else float("nan")


def runtimes(root, rel):
    """config_runtime of rel, from the truth file for the test split"""
    if rel.split(os.sep)[-2] == "test":
        return np.load(os.path.join(root, "truth", "npz", rel))["config_runtime"]
    return np.load(os.path.join(root, "npz", rel))["config_runtime"]


def fail(msg):
    print("tpugen_worlds.py: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    args = sys.argv[1:]
    max_mean = None
    if "--max-mean" in args:
        i = args.index("--max-mean")
        max_mean = float(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    a, b = args
    taus = {"layout": [], "tile": []}
    paths = sorted(glob.glob(os.path.join(a, "npz", "**", "*.npz"), recursive=True))
    if not paths:
        fail("no .npz files under %s/npz" % a)
    for p in paths:
        rel = os.path.relpath(p, os.path.join(a, "npz"))
        q = os.path.join(b, "npz", rel)
        if not os.path.isfile(q):
            fail("%s: not in %s (not the same seed and scale?)" % (rel, b))
        fa, fb = np.load(p), np.load(q)
        for k in ("node_feat", "node_opcode", "edge_index"):
            if not np.array_equal(fa[k], fb[k]):
                fail("%s: %s differs: the graphs must be the same in every world" % (rel, k))
        ra, rb = runtimes(a, rel), runtimes(b, rel)
        if rel.startswith("layout"):
            if not np.array_equal(fa["node_config_feat"], fb["node_config_feat"]):
                fail("%s: node_config_feat differs between the worlds" % rel)
            kind = "layout"
        else:
            ca = [r.tobytes() for r in fa["config_feat"]]
            index_b = {r.tobytes(): i for i, r in enumerate(fb["config_feat"])}
            common = [(i, index_b[c]) for i, c in enumerate(ca) if c in index_b]
            ra = ra[[i for i, _ in common]]
            rb = rb[[j for _, j in common]]
            kind = "tile"
        if len(ra) < 5:
            continue  # too few configs to rank (single-config reduce kernels)
        t = kendall(ra, rb)
        if np.isfinite(t):
            taus[kind].append(t)
    every = taus["layout"] + taus["tile"]
    for kind in ("layout", "tile"):
        v = taus[kind]
        print("%s: %d graphs, mean tau %.3f" % (kind, len(v), np.mean(v) if v else float("nan")))
    mean = float(np.mean(every)) if every else float("nan")
    print("all: %d graphs, mean tau %.3f" % (len(every), mean))
    if max_mean is not None:
        if not taus["layout"] or not taus["tile"]:
            fail("nothing to compare in one of the kinds")
        if not mean < max_mean:
            fail("mean tau %.3f not below %.3f: the worlds rank the configs alike" %
                 (mean, max_mean))


if __name__ == "__main__":
    main()
