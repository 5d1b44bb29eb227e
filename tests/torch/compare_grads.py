#!/usr/bin/python3
"""Compare the C model's scores and gradients (test_model --grads) with the
PyTorch reference's (sage_torch.py grads).

  compare_grads.py [--f32 TORCH32.json] C.json TORCH.json [TOL]

Relative error of a tensor: max |c - t| / max |t| over its elements.  A
tensor whose reference gradient is small (under 1e-2 of the model's largest
gradient) is compared absolutely, against 1e-2 of the largest gradient.  One
whose reference gradient is zero up to float64 rounding (under 1e-9 of the
largest: head_b2, since a ranking loss does not move with a constant shift
of every score) is compared against the largest gradient itself: its C value
is only the float rounding of a sum of B score gradients, which 1e-2 of a
trained model's small gradients does not bound (observed up to 8e-5 of the
1e-4 that way).  Both files must name the same tensors.  Prints
each tensor over its bound and the worst; exit 1 when any is over.

The bound is TOL (default 1e-4), or, with --f32, the larger of TOL and
F32_FACTOR (10) times the worst error of the same reference computed in
float32 (sage_torch.py grads --float32) over this case's gradients.  A
trained model can be ill-conditioned (a near-constant channel under the
instance norm, GIN's eps: one scalar summed over every node and channel
with heavy cancellation), and then float32 rounding alone moves gradients
by more than 1e-4, in PyTorch as in C: the float32 reference measures how
far, case by case.  One tensor's float32 error is a single draw of the
rounding, so the case's worst is the yardstick, not the tensor's own.  A
wrong gradient is off by far more than ten times float32 rounding."""
import json
import sys

import numpy as np

F32_FACTOR = 10.0


def tensor_error(a, b, scale):
    """The error of a against the reference b, as the docstring says."""
    den = np.abs(b).max()
    if den < 1e-9 * scale:
        return np.abs(a - b).max() / scale
    if den < 1e-2 * scale:
        return np.abs(a - b).max() / (1e-2 * scale)
    return np.abs(a - b).max() / den


def main():
    args = sys.argv[1:]
    f32 = None
    if len(args) >= 2 and args[0] == "--f32":
        f32 = json.load(open(args[1]))
        args = args[2:]
    if len(args) not in (2, 3):
        sys.exit("usage: compare_grads.py [--f32 TORCH32.json] C.json TORCH.json [TOL]")
    c = json.load(open(args[0]))
    t = json.load(open(args[1]))
    tol = float(args[2]) if len(args) > 2 else 1e-4
    bad = 0
    s1, s2 = np.array(c["scores"]), np.array(t["scores"])
    err = np.abs(s1 - s2).max() / max(np.abs(s2).max(), 1e-30)
    print("scores: %d, relative error %.3g" % (len(s1), err))
    bad += err > tol
    lerr = abs(c["loss"] - t["loss"]) / max(abs(t["loss"]), 1e-30)
    print("loss: %.9g vs %.9g, relative error %.3g" % (c["loss"], t["loss"], lerr))
    bad += lerr > tol
    scale = max(np.abs(np.array(v)).max() for v in t["grads"].values())
    bound = tol
    if f32 is not None:
        e32, n32 = max((tensor_error(np.array(f32["grads"][n]), np.array(v), scale), n)
                       for n, v in t["grads"].items() if n in f32["grads"])
        if F32_FACTOR * e32 > tol:
            bound = F32_FACTOR * e32
            print("float32 reference: worst error %.3g (%s): bound %.3g" % (e32, n32, bound))
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
        e = tensor_error(a, b, scale)
        if e > worst:
            worst, wname = e, name
        if e > bound:
            print("%s: relative error %.3g > %.3g" % (name, e, bound))
            bad += 1
    for name in c["grads"]:
        if name not in t["grads"]:
            print("%s: missing in the reference gradients" % name)
            bad += 1
    print("gradients: %d tensors, worst relative error %.3g (%s)" % (len(t["grads"]), worst, wname))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
