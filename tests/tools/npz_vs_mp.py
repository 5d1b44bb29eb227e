#!/usr/bin/env python3
"""Check that a tpugraphs-mp stream holds exactly what its .npz files hold:
every array of every graph (values equal after the stream's dtype
conversions) and every config row, matched by config_index.  A graph says
runtimes_hidden exactly when its file is a test file whose config_runtime is
all 0 (or missing), and then its chunks carry no runtimes.

  npz_vs_mp.py STREAM [--expect-graphs N]"""
import sys

import msgpack
import numpy as np

NP = {"f32": "<f4", "f64": "<f8", "i8": "i1", "i16": "<i2", "i32": "<i4", "i64": "<i8",
      "u8": "u1", "u16": "<u2", "u32": "<u4", "u64": "<u8", "bool": "?"}


def tensor(t):
    return np.frombuffer(t["data"], NP[t["dtype"]]).reshape(t["shape"])


def same(a, b):
    return a.shape == b.shape and np.array_equal(a, b)


def main():
    args = sys.argv[1:]
    expect = None
    if "--expect-graphs" in args:
        i = args.index("--expect-graphs")
        expect = int(args[i + 1])
        del args[i:i + 2]
    bad = []
    graphs = 0
    cur = None

    def finish(g):
        if g is None:
            return
        f, seen, gid = g["f"], g["seen"], g["id"]
        c = len(f["config_feat"] if "config_feat" in f.files else f["node_config_feat"])
        if sorted(seen) != list(range(c)):
            bad.append("%s: configs in stream %d, in file %d" % (gid, len(seen), c))
        f.close()

    with open(args[0], "rb") as fp:
        for rec in msgpack.Unpacker(fp, raw=False, max_buffer_size=2**32):
            t = rec["t"]
            if t == "graph":
                finish(cur)
                graphs += 1
                f = np.load(rec["source"])
                cur = dict(f=f, seen=[], id=rec["id"], hidden=rec.get("runtimes_hidden") is True)
                zero = "config_runtime" not in f.files or not f["config_runtime"].any()
                if cur["hidden"] != (zero and rec["split"] == "test"):
                    bad.append("%s: runtimes_hidden %s, file runtimes all 0: %s, split %s"
                               % (rec["id"], cur["hidden"], zero, rec["split"]))
                for k in ("node_feat", "node_opcode", "edge_index", "node_config_ids", "node_splits"):
                    if k not in f.files:
                        continue
                    if k not in rec:
                        bad.append("%s: %s missing" % (rec["id"], k))
                    elif not same(tensor(rec[k]).astype(np.float64),
                                  f[k].astype(np.float64).reshape(-1) if k == "node_splits"
                                  else f[k].astype(np.float64)):
                        bad.append("%s: %s differs" % (rec["id"], k))
                if rec["n_nodes"] != len(f["node_opcode"]) or rec["n_edges"] != len(f["edge_index"]):
                    bad.append("%s: counts" % rec["id"])
            elif t == "configs":
                f = cur["f"]
                idx = tensor(rec["config_index"])
                cur["seen"].extend(idx.tolist())
                for k in ("config_feat", "node_config_feat", "config_runtime", "config_runtime_normalizers"):
                    if k not in f.files:
                        continue
                    if cur["hidden"] and k.startswith("config_runtime"):
                        if k in rec:
                            bad.append("%s: %s in the configs of a hidden graph" % (cur["id"], k))
                        continue
                    if k not in rec:
                        bad.append("%s: %s missing from configs" % (cur["id"], k))
                    elif not same(tensor(rec[k]), f[k][idx]):
                        bad.append("%s: %s differs at offset %d" % (cur["id"], k, rec["offset"]))
            elif t == "end":
                finish(cur)
                cur = None
    if expect is not None and graphs != expect:
        bad.append("%d graphs in the stream, want %d" % (graphs, expect))
    for b in bad[:30]:
        print(b)
    if bad:
        sys.exit(1)
    print("ok: %d graphs" % graphs)


if __name__ == "__main__":
    main()
