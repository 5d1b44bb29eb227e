#!/usr/bin/python3
"""Check an npz2mp stream against numpy.load of the same files, bit for bit.

usage: checkstream.py STREAM.mp FILE.npz...   (files in the stream's order)
Prints 'ok N graphs, C configs' or the first difference, exit 1.
"""
import sys
import msgpack
import numpy as np

DT = {"f32": "<f4", "f64": "<f8", "i8": "i1", "i16": "<i2", "i32": "<i4", "i64": "<i8",
      "u8": "u1", "u16": "<u2", "u32": "<u4", "u64": "<u8", "bool": "?"}

def tensor(t):
    return np.frombuffer(t["data"], DT[t["dtype"]]).reshape(t["shape"])

def fail(msg):
    print("MISMATCH:", msg)
    sys.exit(1)

def main():
    recs = list(msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False))
    files = sys.argv[2:]
    if recs[0]["t"] != "header" or recs[-1]["t"] != "end":
        fail("no header/end")
    graphs = [i for i, r in enumerate(recs) if r["t"] == "graph"]
    if len(graphs) != len(files):
        fail("%d graphs for %d files" % (len(graphs), len(files)))
    nconf = 0
    for gi, f in zip(graphs, files):
        z = np.load(f)
        g = recs[gi]
        for k, want_dt in (("node_feat", np.float32), ("node_opcode", np.int32), ("edge_index", np.int32)):
            a = tensor(g[k])
            b = z[k].astype(want_dt)
            if a.dtype != want_dt or a.shape != b.shape or not np.array_equal(a.view(np.uint8), np.ascontiguousarray(b).view(np.uint8)):
                fail("%s: %s differs" % (f, k))
        layout = "node_config_feat" in z.files
        if layout:
            if not np.array_equal(tensor(g["node_config_ids"]), z["node_config_ids"].astype(np.int32)):
                fail("%s: node_config_ids differs" % f)
            if "node_splits" in z.files and not np.array_equal(tensor(g["node_splits"]), z["node_splits"].reshape(-1).astype(np.int32)):
                fail("%s: node_splits differs" % f)
        ck = "node_config_feat" if layout else "config_feat"
        chunks = []
        j = gi + 1
        while j < len(recs) and recs[j]["t"] == "configs":
            chunks.append(recs[j]); j += 1
        idx = np.concatenate([tensor(c["config_index"]) for c in chunks]) if chunks else np.zeros(0, np.int64)
        if g["n_configs"] != len(idx) or g["n_configs_total"] != z[ck].shape[0]:
            fail("%s: config counts" % f)
        if len(set(idx.tolist())) != len(idx) or (len(idx) and (idx.min() < 0 or idx.max() >= z[ck].shape[0])):
            fail("%s: config_index not distinct / in range" % f)
        for c in chunks:
            ix = tensor(c["config_index"])
            a = tensor(c[ck]); b = z[ck][ix].astype(np.float32)
            if not np.array_equal(a.view(np.uint32), np.ascontiguousarray(b).view(np.uint32)):
                fail("%s: %s differs in chunk at offset %d" % (f, ck, c["offset"]))
            for rk in ("config_runtime", "config_runtime_normalizers"):
                if rk in z.files:
                    if not np.array_equal(tensor(c[rk]), z[rk][ix]):
                        fail("%s: %s differs" % (f, rk))
                elif rk in c:
                    fail("%s: %s present but not in file" % (f, rk))
        nconf += len(idx)
    print("ok %d graphs, %d configs" % (len(graphs), nconf))

main()
