#!/usr/bin/env python3
"""Scores of trivial rankers on a TpuGraphs-format dataset, read from the
.npz files directly (numpy + scipy), to check that a dataset is a fair
benchmark: the trivial rankers must stay far from 1.0 and far below a
learned model.

  trivial_rankers.py [--split test] [--seed 0] [--json] DIR

DIR is the dataset root (the folder that holds npz/).  Rankers:
  random         a random order
  fewest-set     layout: fewest non-default (!= -1) layout entries first
  largest-tile   tile: largest output tile (product of output bounds) first
  smallest-tile  tile: the opposite
  default-first  tile: the median-size tile first (a stand-in for the
                 compiler's default, which the files do not mark)
  linear-probe   NOT trivial: a ridge regression on hand-made config
                 features (layout: per opcode class and tensor, how much
                 tensor volume has an explicit / a changed minor dim;
                 tile: log tile sizes and their squares), fitted on the train
                 split.  A floor for what a learned model should reach.
Metrics (TPUGRAPHS.md): layout, mean Kendall tau per graph (scipy
kendalltau of predicted score vs runtime); tile, mean 2 - ratio_5 with
y = config_runtime / config_runtime_normalizers.  Also the noise ceiling:
the tau between runtimes of duplicated configs is not 1, so no ranker
reaches 1.0."""
import argparse
import glob
import json
import os
import sys

import numpy as np
from scipy.stats import kendalltau

LAYOUT = ["layout:xla:random", "layout:xla:default", "layout:nlp:random", "layout:nlp:default"]


def files(root, coll, split):
    parts = coll.split(":")
    d = os.path.join(root, "npz", *parts, split)
    return sorted(glob.glob(os.path.join(d, "*.npz")))


def tau(score, y):
    if len(y) < 2 or np.all(score == score[0]):
        return 0.0
    t = kendalltau(score, y).correlation
    return 0.0 if np.isnan(t) else float(t)


def layout_scores(paths, rng):
    out = {"random": [], "fewest-set": []}
    for p in paths:
        with np.load(p) as f:
            y = f["config_runtime"].astype(np.float64)
            feat = f["node_config_feat"]
        nset = (feat != -1).reshape(len(y), -1).sum(axis=1).astype(np.float64)
        out["random"].append(tau(rng.permutation(len(y)).astype(np.float64), y))
        out["fewest-set"].append(tau(nset, y))
    return {k: float(np.mean(v)) if v else float("nan") for k, v in out.items()}


def top5(order, y):
    return 2.0 - y[order[:5]].min() / y.min()


def tile_scores(paths, rng):
    out = {"random": [], "largest-tile": [], "smallest-tile": [], "default-first": []}
    for p in paths:
        with np.load(p) as f:
            y = f["config_runtime"] / f["config_runtime_normalizers"]
            cf = f["config_feat"]
        prod = cf[:, 15].astype(np.float64)
        out["random"].append(top5(rng.permutation(len(y)), y))
        # ties broken at random, so a ranker gets no credit from file order
        tie = rng.random(len(y))
        out["largest-tile"].append(top5(np.lexsort((tie, -prod)), y))
        out["smallest-tile"].append(top5(np.lexsort((tie, prod)), y))
        # the default config: the row whose runtime is nearest its normalizer
        # is not knowable from the files; use the median-size tile as a proxy
        med = np.abs(np.log(prod) - np.median(np.log(prod)))
        out["default-first"].append(top5(np.lexsort((tie, med)), y))
    return {k: float(np.mean(v)) if v else float("nan") for k, v in out.items()}


OPCLS = {26: 0, 34: 1, 98: 2, 75: 3, 70: 4, 27: 5}


def layout_probe_feats(path):
    """(c, 54) features and log runtimes of one layout file"""
    with np.load(path) as f:
        nf, ids, ei = f["node_feat"], f["node_config_ids"], f["edge_index"]
        feat, y = f["node_config_feat"], f["config_runtime"].astype(np.float64)
        op = f["node_opcode"].astype(int)
    c, nc = feat.shape[0], feat.shape[1]
    # operands of each node, in order (edges are grouped by consumer)
    ops = {}
    for u, v in ei:
        ops.setdefault(int(u), []).append(int(v))
    x = np.zeros((c, 6, 3, 3))
    for j, nid in enumerate(ids):
        k = OPCLS.get(int(op[nid]), 5)
        tens = [nid] + ops.get(int(nid), [])[:2]
        for b in range(3):
            if b >= len(tens):
                break
            t = tens[b]
            w = np.log1p(nf[t, 28])
            blk = feat[:, j, 6 * b:6 * b + 6]
            isset = blk[:, 0] >= 0
            minor = isset & (blk[:, 0] != nf[t, 134])
            second = isset & ~minor & (blk[:, 1] != nf[t, 135])
            x[:, k, b, 0] += isset * w
            x[:, k, b, 1] += minor * w
            x[:, k, b, 2] += second * w
    x = x.reshape(c, -1)
    tot = max(1.0, np.log1p(nf[ids, 28]).sum())
    return x / tot, np.log(y)


def tile_probe_feats(path):
    with np.load(path) as f:
        cf = f["config_feat"].astype(np.float64)
        y = f["config_runtime"] / f["config_runtime_normalizers"]
        nf = f["node_feat"]
    lo = np.log(np.maximum(cf[:, 15], 1))
    lk = np.log(np.maximum(cf[:, 7], 1))
    lmin = np.log(np.maximum(cf[:, 8:14].max(axis=1), 1))
    size = np.log1p(nf[-1, 28])
    x = np.stack([lo, lo ** 2, lk, lk ** 2, lo * lk, lmin, lo * size, lk * size], axis=1)
    return x, np.log(y)


def ridge_fit(xs, ys, lam=1e-2):
    # per-graph centring: only the order within a graph matters
    X = np.concatenate([x - x.mean(0) for x in xs])
    Y = np.concatenate([y - y.mean() for y in ys])
    return np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ Y)


def probe(root, coll, splits, rng):
    fe = tile_probe_feats if coll == "tile:xla" else layout_probe_feats
    train = [fe(p) for p in files(root, coll, "train")]
    if not train:
        return float("nan")
    w = ridge_fit([t[0] for t in train], [t[1] for t in train])
    out = []
    for s in splits:
        for p in files(root, coll, s):
            x, ly = fe(p)
            pred = x @ w
            if coll == "tile:xla":
                y = np.exp(ly)
                out.append(top5(np.lexsort((rng.random(len(y)), pred)), y))
            else:
                out.append(tau(pred, ly))
    return float(np.mean(out)) if out else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root")
    ap.add_argument("--split", default="test", help="train, valid, test or all")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--probe", action="store_true", help="also fit the linear probe")
    a = ap.parse_args()
    splits = ["train", "valid", "test"] if a.split == "all" else [a.split]
    rng = np.random.default_rng(a.seed)
    res = {}
    for coll in ["tile:xla"] + LAYOUT:
        paths = [p for s in splits for p in files(a.root, coll, s)]
        if not paths:
            continue
        res[coll] = dict(graphs=len(paths))
        res[coll].update(tile_scores(paths, rng) if coll == "tile:xla" else layout_scores(paths, rng))
        if a.probe:
            res[coll]["linear-probe"] = probe(a.root, coll, splits, rng)
    if a.json:
        json.dump(res, sys.stdout, indent=1)
        print()
        return
    for coll, r in res.items():
        metric = "top-5 score" if coll == "tile:xla" else "Kendall tau"
        cols = "  ".join("%s %.3f" % (k, v) for k, v in r.items() if k != "graphs")
        print("%-20s %3d graphs  %s: %s" % (coll, r["graphs"], metric, cols))


if __name__ == "__main__":
    main()
