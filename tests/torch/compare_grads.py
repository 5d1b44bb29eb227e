#!/usr/bin/python3
"""Compare the C model's scores and gradients (test_sage --grads) with the
PyTorch reference's (sage_torch.py grads).

  compare_grads.py C.json TORCH.json [TOL]

Relative error of a tensor: max |c - t| / max |t| over its elements.  A
tensor whose reference gradient is small (under 1e-2 of the model's largest
gradient) is compared absolutely, against 1e-2 of the largest gradient.  One
whose reference gradient is zero up to float64 rounding (under 1e-9 of the
largest: head_b2, since a ranking loss does not move with a constant shift
of every score) is compared against the largest gradient itself: its C value
is only the float rounding of a sum of B score gradients, which 1e-2 of a
trained model's small gradients does not bound (observed up to 8e-5 of the
1e-4 that way).  Both files must name the same tensors.  Prints
each tensor over TOL (default 1e-4) and the worst; exit 1 when any is over."""
import json
import sys

import numpy as np


def main():
    c = json.load(open(sys.argv[1]))
    t = json.load(open(sys.argv[2]))
    tol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-4
    bad = 0
    s1, s2 = np.array(c["scores"]), np.array(t["scores"])
    err = np.abs(s1 - s2).max() / max(np.abs(s2).max(), 1e-30)
    print("scores: %d, relative error %.3g" % (len(s1), err))
    bad += err > tol
    lerr = abs(c["loss"] - t["loss"]) / max(abs(t["loss"]), 1e-30)
    print("loss: %.9g vs %.9g, relative error %.3g" % (c["loss"], t["loss"], lerr))
    bad += lerr > tol
    scale = max(np.abs(np.array(v)).max() for v in t["grads"].values())
    worst, wname = 0.0, ""
    for name, ref in t["grads"].items():
        if name not in c["grads"]:
            print("%s: missing in the C gradients" % name)
            bad += 1
            continue
        a, b = np.array(c["grads"][name]), np.array(ref)
        if a.shape != b.shape:
            print("%s: %s values, want %s" % (name, a.shape, b.shape))
            bad += 1
            continue
        den = np.abs(b).max()
        if den < 1e-9 * scale:
            e = np.abs(a - b).max() / scale
        elif den < 1e-2 * scale:
            e = np.abs(a - b).max() / (1e-2 * scale)
        else:
            e = np.abs(a - b).max() / den
        if e > worst:
            worst, wname = e, name
        if e > tol:
            print("%s: relative error %.3g > %g" % (name, e, tol))
            bad += 1
    for name in c["grads"]:
        if name not in t["grads"]:
            print("%s: missing in the reference gradients" % name)
            bad += 1
    print("gradients: %d tensors, worst relative error %.3g (%s)" % (len(t["grads"]), worst, wname))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
