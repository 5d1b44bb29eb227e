#!/usr/bin/python3
"""mkstream: write and read tpugraphs-mp streams from Python (tests only).

As a module:  tensor(arr), untensor(d), write_stream(f, records),
              read_stream(f), random_layout(...), random_tile(...).
As a program: mkstream.py layout|tile [options] > stream
              writes random, realistic-shaped graphs (DAGs in topological
              order, parameters/constants as sources, one root) and their
              config chunks.  See --help.
"""
import argparse
import sys

import msgpack
import numpy as np

DT = {"f32": "<f4", "f64": "<f8", "i8": "i1", "i16": "<i2", "i32": "<i4",
      "i64": "<i8", "u8": "u1", "u16": "<u2", "u32": "<u4", "u64": "<u8",
      "bool": "?"}
NAME = {np.dtype(v).str: k for k, v in DT.items()}
NAME[np.dtype("?").str] = "bool"

OPC_PARAMETER, OPC_CONSTANT, OPC_CONVOLUTION, OPC_DOT, OPC_ADD = 63, 24, 26, 34, 2
OPC_RESHAPE, OPC_TRANSPOSE, OPC_FUSION, OPC_TUPLE = 75, 98, 41, 100


def tensor(a):
    a = np.ascontiguousarray(a)
    return {"dtype": NAME[a.dtype.newbyteorder("<").str if a.dtype.itemsize > 1 else a.dtype.str],
            "shape": list(a.shape), "data": a.astype(a.dtype.newbyteorder("<")).tobytes()}


def untensor(d):
    return np.frombuffer(d["data"], dtype=DT[d["dtype"]]).reshape(d["shape"]).copy()


def is_tensor(v):
    return isinstance(v, dict) and set(v) == {"dtype", "shape", "data"}


def header(history=None):
    return {"t": "header", "format": "tpugraphs-mp", "version": 1,
            "history": history or [{"name": "mkstream", "version": "0", "argv": ["mkstream.py"]}]}


def end_for(records):
    """The end record that counts the given records (header included)."""
    e = {"t": "end", "records": len(records), "graphs": 0, "chunks": 0, "configs": 0, "preds": 0}
    for r in records:
        if r["t"] == "graph":
            e["graphs"] += 1
        elif r["t"] == "configs":
            e["chunks"] += 1
            e["configs"] += int(r.get("count", 0))
        elif r["t"] == "pred":
            e["preds"] += 1
    return e


def _pack(r):
    return msgpack.packb({k: (tensor(v) if isinstance(v, np.ndarray) else v) for k, v in r.items()},
                         use_bin_type=True)


def write_stream(f, records, end=True):
    """records: dicts whose numpy arrays become tensors; header and end added
    when missing (end=False leaves the end off, a truncated stream)."""
    records = list(records)
    if not records or records[0].get("t") != "header":
        records.insert(0, header())
    for r in records:
        f.write(_pack(r))
    if end:
        f.write(_pack(end_for(records)))
    f.flush()


def read_stream(f):
    """Every record as a dict, tensors as numpy arrays (the end included)."""
    out = []
    for r in msgpack.Unpacker(f, raw=False, max_buffer_size=2**31 - 1):
        out.append({k: (untensor(v) if is_tensor(v) else v) for k, v in r.items()})
    return out


# ---- random graphs ----

def random_dag(rng, n, max_ops=3, p_source=0.08):
    """Nodes in topological order; node i consumes 1..max_ops earlier nodes,
    or none (a source: parameter or constant).  Returns (opcode, edges)."""
    opcode = rng.choice([OPC_ADD, OPC_RESHAPE, OPC_TRANSPOSE, OPC_FUSION, OPC_DOT,
                         OPC_CONVOLUTION], size=n).astype(np.int32)
    edges = []
    for i in range(n):
        if i == 0 or rng.random() < p_source:
            opcode[i] = OPC_PARAMETER if rng.random() < 0.7 else OPC_CONSTANT
            continue
        k = int(rng.integers(1, max_ops + 1))
        # mostly local operands (chains), sometimes far ones (skips)
        for _ in range(k):
            if rng.random() < 0.7:
                j = i - 1 - int(rng.integers(0, min(i, 4)))
            else:
                j = int(rng.integers(0, i))
            edges.append((i, j))
    opcode[n - 1] = OPC_TUPLE
    e = np.array(edges, dtype=np.int32).reshape(-1, 2)
    return opcode, e


def node_features(rng, opcode):
    n = len(opcode)
    nf = np.zeros((n, 140), dtype=np.float32)
    nf[n - 1, 0] = 1.0                         # is_root
    types = rng.integers(3, 18, size=n)        # one-hot element type
    nf[np.arange(n), types] = 1.0
    rank = rng.integers(0, 5, size=n)
    for i in range(n):
        dims = rng.integers(1, 129, size=rank[i])
        nf[i, 21:21 + rank[i]] = dims
        nf[i, 27] = dims.sum()
        nf[i, 28] = np.prod(dims) if rank[i] else 1
    nf[:, 134:140] = rng.integers(-1, 6, size=(n, 6))
    return nf


def random_layout_configs(rng, c, nc, dup_frac=0.3, const_frac=0.3):
    """(c, nc, 18) values in -1..5 with some duplicate rows and some
    configurable nodes whose config never changes."""
    feat = rng.integers(-1, 6, size=(c, nc, 18)).astype(np.float32)
    const = rng.random(nc) < const_frac
    feat[:, const, :] = feat[0:1, const, :]
    ndup = int(c * dup_frac)
    if c > 1 and ndup:
        src = rng.integers(0, c, size=ndup)
        dst = rng.integers(0, c, size=ndup)
        feat[dst] = feat[src]
    return feat


def random_layout(rng, gid, n, nc, c, chunk, runtimes=True, split="train",
                  collection="layout:xla:random", splits=True):
    opcode, edges = random_dag(rng, n)
    nf = node_features(rng, opcode)
    cfg = np.sort(rng.choice(n, size=min(nc, n), replace=False)).astype(np.int32)
    opcode[cfg] = np.where(rng.random(len(cfg)) < 0.5, OPC_CONVOLUTION, OPC_RESHAPE)
    g = {"t": "graph", "id": f"{collection}:{gid}", "collection": collection,
         "split": split, "source": f"/synthetic/{gid}.npz", "n_nodes": n,
         "n_edges": len(edges), "n_configs": c, "n_configs_total": c,
         "node_feat": nf, "node_opcode": opcode, "edge_index": edges,
         "node_config_ids": cfg}
    if splits:
        k = max(1, n // 50)
        g["node_splits"] = np.sort(rng.choice(n, size=k, replace=False)).astype(np.int32)
        g["node_splits"][0] = 0
    recs = [g]
    feat = random_layout_configs(rng, c, len(cfg))
    rt = rng.integers(10**5, 10**8, size=c).astype(np.int64)
    for off in range(0, c, chunk):
        k = min(chunk, c - off)
        ch = {"t": "configs", "id": g["id"], "offset": off, "count": k,
              "config_index": np.arange(off, off + k, dtype=np.int64),
              "node_config_feat": feat[off:off + k]}
        if runtimes:
            ch["config_runtime"] = rt[off:off + k]
        recs.append(ch)
    return recs


def random_tile(rng, gid, n, c, chunk, split="train"):
    opcode, edges = random_dag(rng, n)
    nf = node_features(rng, opcode)
    g = {"t": "graph", "id": f"tile:xla:{gid}", "collection": "tile:xla",
         "split": split, "source": f"/synthetic/{gid}.npz", "n_nodes": n,
         "n_edges": len(edges), "n_configs": c, "n_configs_total": c,
         "node_feat": nf, "node_opcode": opcode, "edge_index": edges}
    recs = [g]
    for off in range(0, c, chunk):
        k = min(chunk, c - off)
        recs.append({"t": "configs", "id": g["id"], "offset": off, "count": k,
                     "config_index": np.arange(off, off + k, dtype=np.int64),
                     "config_feat": rng.integers(0, 64, size=(k, 24)).astype(np.float32),
                     "config_runtime": rng.integers(10**3, 10**6, size=k).astype(np.int64),
                     "config_runtime_normalizers": rng.integers(10**3, 10**6, size=k).astype(np.int64)})
    return recs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["layout", "tile", "mixed"])
    ap.add_argument("--graphs", type=int, default=2)
    ap.add_argument("--nodes", type=int, default=60)
    ap.add_argument("--nc", type=int, default=8, help="configurable nodes (layout)")
    ap.add_argument("--configs", type=int, default=20)
    ap.add_argument("--chunk", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-runtime", action="store_true", help="a test split")
    ap.add_argument("--collection", default="layout:xla:random")
    ap.add_argument("--no-end", action="store_true", help="leave the end record off")
    ap.add_argument("--corrupt", choices=sorted(CORRUPT), help="break the first graph")
    ap.add_argument("--out", help="npz: the root directory to write .npz files under")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    recs = []
    for i in range(a.graphs):
        kind = a.kind if a.kind != "mixed" else ("tile" if i % 2 else "layout")
        if kind == "layout":
            recs += random_layout(rng, f"g{i}", a.nodes, a.nc, a.configs, a.chunk,
                                  runtimes=not a.no_runtime,
                                  split="test" if a.no_runtime else "train",
                                  collection=a.collection)
        else:
            recs += random_tile(rng, f"t{i}", a.nodes, a.configs, a.chunk)
    if a.corrupt:
        CORRUPT[a.corrupt](recs)
    if a.out:
        write_npz(a.out, recs)
        return
    write_stream(sys.stdout.buffer, recs, end=not a.no_end)


def _first(recs, t):
    return next(r for r in recs if r["t"] == t)


def _empty_graph(recs):
    g = _first(recs, "graph")
    g["node_feat"] = g["node_feat"][:0]
    g["node_opcode"] = g["node_opcode"][:0]
    g["edge_index"] = g["edge_index"][:0]
    g["n_nodes"] = g["n_edges"] = 0
    if "node_config_ids" in g:
        g["node_config_ids"] = g["node_config_ids"][:0]
    g.pop("node_splits", None)


def _set(t, key, fn):
    def f(recs):
        fn(_first(recs, t)[key])
    return f


CORRUPT = {
    # a configurable node id one past the last node
    "config-id-range": lambda recs: _first(recs, "graph")["node_config_ids"].__setitem__(
        -1, _first(recs, "graph")["n_nodes"]),
    "edge-range": _set("graph", "edge_index", lambda e: e.__setitem__((0, 1), 10**6)),
    "empty-graph": _empty_graph,
    # a layout value outside -1..5, and one that is not an integer
    "value-range": _set("configs", "node_config_feat", lambda f: f.__setitem__((0, 0, 3), 6.0)),
    "value-frac": _set("configs", "node_config_feat", lambda f: f.__setitem__((0, 0, 3), 0.5)),
    "value-nan": _set("configs", "node_config_feat", lambda f: f.__setitem__((0, 0, 3), np.nan)),
}


def write_npz(root, recs):
    """The graphs as TpuGraphs .npz files (numpy's own writer) under
    root/npz/{layout/xla/random,tile/xla}/SPLIT/NAME.npz."""
    import os
    for g, chunks in _graphs(recs):
        coll = g["collection"].split(":")
        d = os.path.join(root, "npz", *coll, g["split"])
        os.makedirs(d, exist_ok=True)
        arr = {"node_feat": g["node_feat"], "node_opcode": g["node_opcode"].astype(np.uint8),
               "edge_index": g["edge_index"].astype(np.int64)}
        if "node_config_ids" in g:
            arr["node_config_ids"] = g["node_config_ids"]
            arr["node_splits"] = g.get("node_splits", np.zeros(1, np.int32)).reshape(1, -1).astype(np.int64)
            arr["node_config_feat"] = np.concatenate([c["node_config_feat"] for c in chunks])
        else:
            arr["config_feat"] = np.concatenate([c["config_feat"] for c in chunks])
            arr["config_runtime_normalizers"] = np.concatenate([c["config_runtime_normalizers"] for c in chunks])
        if "config_runtime" in chunks[0]:
            arr["config_runtime"] = np.concatenate([c["config_runtime"] for c in chunks])
        name = g["id"].rsplit(":", 1)[1]
        np.savez(os.path.join(d, name + ".npz"), **arr)


def _graphs(recs):
    out = []
    for r in recs:
        if r["t"] == "graph":
            out.append((r, []))
        elif r["t"] == "configs":
            out[-1][1].append(r)
    return out


if __name__ == "__main__":
    main()
