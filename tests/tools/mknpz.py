#!/usr/bin/python3
"""Write small TpuGraphs-format .npz files with numpy itself (the oracle's
side of the npz2mp tests).

usage: mknpz.py DIR [--configs C] [--nodes N] [--compressed] [--opcode-dtype uint8|int32]
                    [--edge-dtype int32|int64] [--seed S] [--kind tile|layout|both] [--test-split]
                    [--fortran]
--fortran stores every array of rank >= 2 in Fortran order (np.asfortranarray),
as the published layout files store edge_index.
Writes DIR/npz/tile/xla/{split}/t{i}.npz and DIR/npz/layout/xla/random/{split}/l{i}.npz.
"""
import argparse, os
import numpy as np

def graph(rng, n, opcode_dtype, edge_dtype):
    feat = rng.standard_normal((n, 140)).astype(np.float32)
    feat[:, 21:29] = rng.integers(0, 512, (n, 8))
    op = rng.integers(1, 121, n).astype(opcode_dtype)
    edges = []
    for u in range(1, n):
        for v in rng.choice(u, size=min(u, int(rng.integers(1, 3))), replace=False):
            edges.append((u, v))
    return feat, op, np.array(edges, dtype=edge_dtype).reshape(-1, 2)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--configs", type=int, default=50)
    ap.add_argument("--nodes", type=int, default=30)
    ap.add_argument("--files", type=int, default=2)
    ap.add_argument("--compressed", action="store_true")
    ap.add_argument("--opcode-dtype", default="int32")
    ap.add_argument("--edge-dtype", default="int64")
    ap.add_argument("--kind", default="both")
    ap.add_argument("--split", default="train")
    ap.add_argument("--no-runtime", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fortran", action="store_true")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    savez = np.savez_compressed if a.compressed else np.savez
    def save(path, **kw):
        if a.fortran:
            kw = {k: np.asfortranarray(v) for k, v in kw.items()}
        savez(path, **kw)
    for i in range(a.files):
        if a.kind in ("tile", "both"):
            d = os.path.join(a.dir, "npz/tile/xla", a.split)
            os.makedirs(d, exist_ok=True)
            feat, op, e = graph(rng, a.nodes, a.opcode_dtype, a.edge_dtype)
            cf = rng.integers(0, 64, (a.configs, 24)).astype(np.float32)
            kw = dict(node_feat=feat, node_opcode=op, edge_index=e, config_feat=cf)
            if not a.no_runtime:
                kw["config_runtime"] = rng.integers(1000, 10**9, a.configs).astype(np.int64)
                kw["config_runtime_normalizers"] = rng.integers(1000, 10**9, a.configs).astype(np.int64)
            save(os.path.join(d, "t%d.npz" % i), **kw)
        if a.kind in ("layout", "both"):
            d = os.path.join(a.dir, "npz/layout/xla/random", a.split)
            os.makedirs(d, exist_ok=True)
            feat, op, e = graph(rng, a.nodes, a.opcode_dtype, a.edge_dtype)
            nc = max(1, a.nodes // 5)
            ids = np.sort(rng.choice(a.nodes, nc, replace=False)).astype(np.int64)
            ncf = rng.integers(-1, 6, (a.configs, nc, 18)).astype(np.float32)
            kw = dict(node_feat=feat, node_opcode=op, edge_index=e, node_config_ids=ids,
                      node_config_feat=ncf, node_splits=np.array([[0, a.nodes // 2]], dtype=np.int64))
            if not a.no_runtime:
                kw["config_runtime"] = rng.integers(1000, 10**9, a.configs).astype(np.int64)
            save(os.path.join(d, "l%d.npz" % i), **kw)

if __name__ == "__main__":
    main()
