#!/usr/bin/env python3
"""Put a tpugen dataset's hidden test runtimes back, for benchmarks.

  tpugen_unhide.py DATA OUT

tpugen writes the test split as Kaggle publishes it (config_runtime all 0,
tile normalizers all 1) and the true values to DATA/truth/npz/<the same
relative path>.npz.  This writes OUT/npz/...: every test file with its
runtimes (and normalizers) from the truth file, every other file a symbolic
link to DATA's.  OUT is then a dataset whose test split can be scored
(tests/tools/trivial_rankers.py, rank-eval).  Nothing may train on it.
Exit 1 if a test file has no truth file or the shapes differ."""
import glob
import os
import sys

import numpy as np


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    data, out = (os.path.abspath(a) for a in sys.argv[1:])
    src = os.path.join(data, "npz")
    paths = sorted(glob.glob(os.path.join(src, "**", "*.npz"), recursive=True))
    if not paths:
        print("tpugen_unhide.py: no .npz files under %s" % src, file=sys.stderr)
        sys.exit(1)
    ntest = 0
    for p in paths:
        rel = os.path.relpath(p, src)
        dst = os.path.join(out, "npz", rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.basename(os.path.dirname(p)) != "test":
            os.symlink(p, dst)
            continue
        truth = os.path.join(data, "truth", "npz", rel)
        if not os.path.isfile(truth):
            print("tpugen_unhide.py: %s: no truth file %s" % (p, truth), file=sys.stderr)
            sys.exit(1)
        with np.load(p) as f, np.load(truth) as t:
            arrays = {k: f[k] for k in f.files}
            for k in t.files:
                if k not in arrays or arrays[k].shape != t[k].shape:
                    print("tpugen_unhide.py: %s: %s does not match %s" % (truth, k, p), file=sys.stderr)
                    sys.exit(1)
                arrays[k] = t[k]
        np.savez(dst, **arrays)
        ntest += 1
    print("ok: %d files, %d test files with their runtimes" % (len(paths), ntest))


if __name__ == "__main__":
    main()
