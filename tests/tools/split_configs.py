#!/usr/bin/python3
"""Split the configs of one TpuGraphs npz (layout or tile) into three npz
files OUTDIR/{train,valid,test}/<stem>.npz of the same format: the same graph
in each, a random disjoint subset of the configs in each (config_feat or
node_config_feat rows, config_runtime entries and, for tile,
config_runtime_normalizers), written with np.savez_compressed in the input's
dtypes. The test file keeps its runtimes: it is a held-out split of our own,
not a hidden Kaggle one.

usage: split_configs.py FILE.npz OUTDIR [--fractions 0.7,0.1,0.2] [--seed 1]
"""
import argparse
import os
import sys

import numpy as np

SPLITS = ("train", "valid", "test")
PER_CONFIG = ("config_feat", "node_config_feat", "config_runtime",
              "config_runtime_normalizers")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file", help="a layout or tile .npz")
    ap.add_argument("outdir", help="writes OUTDIR/{train,valid,test}/<stem>.npz")
    ap.add_argument("--fractions", default="0.7,0.1,0.2",
                    help="train,valid,test fractions (default 0.7,0.1,0.2)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    a = ap.parse_args()
    try:
        fr = [float(x) for x in a.fractions.split(",")]
    except ValueError:
        fr = []
    if len(fr) != 3 or min(fr) < 0 or sum(fr) <= 0:
        sys.exit("split_configs.py: --fractions needs three non-negative numbers")
    if not os.path.isfile(a.file):
        print("split_configs.py: %s: no such file" % a.file, file=sys.stderr)
        sys.exit(2)
    d = np.load(a.file)
    arrays = {k: d[k] for k in d.files}
    if "config_runtime" not in arrays:
        sys.exit("split_configs.py: %s has no config_runtime" % a.file)
    c = arrays["config_runtime"].shape[0]
    for k in PER_CONFIG:
        if k in arrays and arrays[k].shape[0] != c:
            sys.exit("split_configs.py: %s has %d rows, config_runtime %d" % (k, arrays[k].shape[0], c))
    fr = np.array(fr) / sum(fr)
    n_valid = int(round(fr[1] * c))
    n_test = int(round(fr[2] * c))
    n_train = c - n_valid - n_test
    perm = np.random.default_rng(a.seed).permutation(c)
    parts = {"train": perm[:n_train], "valid": perm[n_train:n_train + n_valid],
             "test": perm[n_train + n_valid:]}
    stem = os.path.splitext(os.path.basename(a.file))[0]
    for s in SPLITS:
        idx = np.sort(parts[s])
        out = {}
        for k, v in arrays.items():
            out[k] = v[idx] if k in PER_CONFIG else v
        os.makedirs(os.path.join(a.outdir, s), exist_ok=True)
        np.savez_compressed(os.path.join(a.outdir, s, stem + ".npz"), **out)
        print("%s/%s.npz: %d configs" % (s, stem, idx.size))


if __name__ == "__main__":
    main()
