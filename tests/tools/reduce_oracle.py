#!/usr/bin/python3
"""reduce_oracle: check the outputs of prune-hop, dijkstra-compress and
encode-base7 against independent Python implementations (networkx for the
graph searches, numpy for the packing and duplicate detection).

    reduce_oracle.py prune IN OUT K DIR        DIR: in | out | both
    reduce_oracle.py dijkstra IN OUT WEIGHT    WEIGHT: unit | bytes
    reduce_oracle.py encode IN OUT             plain packing
    reduce_oracle.py dedup IN OUT KEEP [const] KEEP: min | first | mean | none
    reduce_oracle.py same A B                  two streams hold the same records

Prints one line per graph checked and exits 1 on the first mismatch."""
import sys

import networkx as nx
import numpy as np

sys.path.insert(0, __import__("os").path.dirname(__file__))
import mkstream  # noqa: E402

OPC_PARAMETER, OPC_CONSTANT = 63, 24


def fail(msg):
    print("MISMATCH: " + msg)
    sys.exit(1)


def load(path):
    with open(path, "rb") as f:
        return mkstream.read_stream(f)


def by_graph(recs):
    """[(graph, [chunks])] in stream order."""
    out = []
    for r in recs:
        if r["t"] == "graph":
            out.append((r, []))
        elif r["t"] == "configs":
            out[-1][1].append(r)
    return out


def eq(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and a.tobytes() == b.tobytes())
    return a == b


def same_except(a, b, keys, what):
    for k in set(a) | set(b):
        if k in keys:
            continue
        if k not in a or k not in b:
            fail(f"{what}: key {k} only on one side")
        if not eq(a[k], b[k]):
            fail(f"{what}: {k} differs")


def check_header(i, o, prog):
    if o[0]["t"] != "header" or o[0]["history"][:-1] != i[0]["history"]:
        fail("header history not kept")
    if o[0]["history"][-1]["name"] != prog:
        fail("header history does not end with " + prog)
    if o[-1]["t"] != "end":
        fail("no end record")


def check_subset(g, h, keep, what):
    """h must be g restricted to the sorted node list keep (old ids)."""
    keep = np.asarray(sorted(keep), dtype=np.int64)
    n = g["node_feat"].shape[0]
    newid = -np.ones(n, dtype=np.int64)
    newid[keep] = np.arange(len(keep))
    orig = g.get("orig_node_id", np.arange(n, dtype=np.int32))
    if not eq(h["orig_node_id"], orig[keep].astype(np.int32)):
        fail(f"{what}: orig_node_id")
    for k in ("node_feat", "node_opcode"):
        if not eq(h[k], g[k][keep]):
            fail(f"{what}: {k} rows")
    if not eq(h["node_config_ids"], newid[g["node_config_ids"]].astype(np.int32)):
        fail(f"{what}: node_config_ids")
    if "node_splits" in g:
        want = [int(np.searchsorted(keep, s)) for s in g["node_splits"]]
        if h["node_splits"].tolist() != want:
            fail(f"{what}: node_splits {h['node_splits'].tolist()} != {want}")
    if h["n_nodes"] != len(keep):
        fail(f"{what}: n_nodes")
    return newid


def induced_edges(g, newid):
    e = g["edge_index"].astype(np.int64)
    rows = [i for i, (u, v) in enumerate(e) if newid[u] >= 0 and newid[v] >= 0]
    return rows, [(int(newid[e[i, 0]]), int(newid[e[i, 1]])) for i in rows]


def dataflow(g, w=None):
    """MultiDiGraph with an arc v -> u for every edge row [u, v]."""
    d = nx.MultiDiGraph()
    d.add_nodes_from(range(g["node_feat"].shape[0]))
    for i, (u, v) in enumerate(g["edge_index"].tolist()):
        d.add_edge(v, u, key=i, w=1.0 if w is None else float(w[i]))
    return d


# ---- prune-hop ----

def prune(inp, out, k, direction):
    i, o = load(inp), load(out)
    check_header(i, o, "prune-hop")
    gi, go = by_graph(i), by_graph(o)
    if len(gi) != len(go):
        fail("graph count")
    for (g, ci), (h, co) in zip(gi, go):
        if [mkstream.tensor(c["config_index"]) for c in ci] != [mkstream.tensor(c["config_index"]) for c in co]:
            fail(f"{g['id']}: configs not passed through")
        for a, b in zip(ci, co):
            same_except(a, b, (), g["id"] + " chunk")
        if "node_config_ids" not in g:
            same_except(g, h, (), g["id"] + " (tile: unchanged)")
            print(f"ok {g['id']} tile passed through")
            continue
        d = nx.DiGraph(dataflow(g))
        if direction == "in":
            d = d.reverse()
        keep = set()
        for c in g["node_config_ids"].tolist():
            keep |= set(nx.ego_graph(d, c, radius=k, undirected=(direction == "both")).nodes)
        newid = check_subset(g, h, keep, g["id"])
        rows, want = induced_edges(g, newid)
        got = [tuple(x) for x in h["edge_index"].tolist()]
        if got != want or h["n_edges"] != len(want):
            fail(f"{g['id']}: edges")
        same_except(g, h, ("node_feat", "node_opcode", "node_config_ids", "node_splits",
                           "edge_index", "n_nodes", "n_edges", "orig_node_id"), g["id"])
        print(f"ok {g['id']} nodes {len(newid)} -> {len(keep)} edges {len(g['edge_index'])} -> {len(got)}")


# ---- dijkstra-compress ----

ELEM = [0, 1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 4, 8, 2, 8, 16, 0, 0, 0]


def tensor_bytes(f):
    nz = np.nonzero(f[2:21])[0]
    return (ELEM[nz[0]] if len(nz) else 0) * float(f[28])


def msd(d, src):
    if not src:
        return {}
    return nx.multi_source_dijkstra_path_length(d, src, weight="w")


def parents(edges, dist, w, col_self, col_other):
    """Smallest-id predecessor p (then first row) with dist[p] + w == dist[x]."""
    par = {}
    for i, row in enumerate(edges):
        x, p = int(row[col_self]), int(row[col_other])
        if x not in dist or p not in dist:
            continue
        if dist[p] + w[i] == dist[x]:
            if x not in par or (p, i) < par[x]:
                par[x] = (p, i)
    return par


def dijkstra(inp, out, weight):
    i, o = load(inp), load(out)
    check_header(i, o, "dijkstra-compress")
    for (g, ci), (h, co) in zip(by_graph(i), by_graph(o)):
        for a, b in zip(ci, co):
            same_except(a, b, (), g["id"] + " chunk")
        if "node_config_ids" not in g:
            same_except(g, h, (), g["id"] + " (tile: unchanged)")
            print(f"ok {g['id']} tile passed through")
            continue
        n = g["node_feat"].shape[0]
        e = g["edge_index"].astype(np.int64)
        m = len(e)
        ln = g["edge_feat"][:, 0].astype(np.float64) if "edge_feat" in g else np.ones(m)
        if weight == "bytes":
            w = np.array([max(1.0, tensor_bytes(g["node_feat"][v])) for v in e[:, 1]])
        else:
            w = ln
        nops = np.bincount(e[:, 0], minlength=n)
        nusers = np.bincount(e[:, 1], minlength=n)
        opc = g["node_opcode"]
        ins = [x for x in range(n) if nops[x] == 0 and opc[x] in (OPC_PARAMETER, OPC_CONSTANT)]
        outs = [x for x in range(n) if g["node_feat"][x, 0] != 0 or nusers[x] == 0]
        d = dataflow(g, w)
        df, db = msd(d, ins), msd(d.reverse(copy=True), outs)
        # forward tree: x's parent is an operand v (row [x, v]); backward: a user u
        pf = parents(e, df, w, 0, 1)
        pb = parents(e, db, w, 1, 0)
        for s in ins:
            pf.pop(s, None)
        for s in outs:
            pb.pop(s, None)
        keep = set()
        for c in g["node_config_ids"].tolist():
            for par in (pf, pb):
                x = c
                keep.add(x)
                while x in par:
                    x = par[x][0]
                    keep.add(x)
        newid = check_subset(g, h, keep, g["id"])
        rows, want = induced_edges(g, newid)
        want_len = [float(ln[r]) for r in rows]

        # chains through removed single-operand nodes
        def chain_end(r):
            acc, seen = 0.0, set()
            while r not in keep:
                if nops[r] != 1 or r in seen:
                    return None
                seen.add(r)
                j = int(np.nonzero(e[:, 0] == r)[0][0])
                acc += ln[j]
                r = int(e[j, 1])
            return r, acc
        direct = set(want)
        byp = {}
        for j, (u, v) in enumerate(e.tolist()):
            if u in keep and v not in keep:
                ce = chain_end(v)
                if ce is None:
                    continue
                key = (int(newid[u]), int(newid[ce[0]]))
                if key in direct:
                    continue
                byp[key] = min(byp.get(key, np.inf), ln[j] + ce[1])
        for key in sorted(byp):
            want.append(key)
            want_len.append(byp[key])
        got = [tuple(x) for x in h["edge_index"].tolist()]
        if got != want:
            fail(f"{g['id']}: edges differ ({len(got)} vs {len(want)})")
        if h["edge_feat"].dtype != np.float32 or h["edge_feat"].shape != (len(want), 1):
            fail(f"{g['id']}: edge_feat shape/dtype")
        if not np.array_equal(h["edge_feat"][:, 0], np.array(want_len, dtype=np.float32)):
            fail(f"{g['id']}: edge_feat lengths")
        if h["n_edges"] != len(want):
            fail(f"{g['id']}: n_edges")
        # property: with unit weights the compressed graph keeps every
        # configurable node's distance to the inputs and to the outputs
        if weight == "unit":
            hn = dataflow(h, h["edge_feat"][:, 0])
            old2new = {int(x): int(newid[x]) for x in keep}
            hdf = msd(hn, [old2new[x] for x in ins if x in keep])
            hdb = msd(hn.reverse(copy=True), [old2new[x] for x in outs if x in keep])
            for c in g["node_config_ids"].tolist():
                nc_ = old2new[c]
                if df.get(c, np.inf) != hdf.get(nc_, np.inf) or db.get(c, np.inf) != hdb.get(nc_, np.inf):
                    fail(f"{g['id']}: distance of configurable node {c} not preserved")
        same_except(g, h, ("node_feat", "node_opcode", "node_config_ids", "node_splits",
                           "edge_index", "edge_feat", "n_nodes", "n_edges", "orig_node_id"), g["id"])
        print(f"ok {g['id']} nodes {n} -> {len(keep)} edges {m} -> {len(got)} "
              f"({len(byp)} bypass)")


# ---- encode-base7 ----

def pack(feat):
    d = (feat.astype(np.int64) + 1).reshape(feat.shape[0], feat.shape[1], 3, 6)
    return (d * 7 ** np.arange(6)).sum(-1).astype(np.uint32)


def encode(inp, out):
    i, o = load(inp), load(out)
    check_header(i, o, "encode-base7")
    for (g, ci), (h, co) in zip(by_graph(i), by_graph(o)):
        same_except(g, h, (), g["id"])
        if len(ci) != len(co):
            fail(f"{g['id']}: chunk count")
        for a, b in zip(ci, co):
            if "node_config_feat" in a:
                if not eq(b["node_config_code"], pack(a["node_config_feat"])):
                    fail(f"{g['id']}: codes")
                if "node_config_feat" in b:
                    fail(f"{g['id']}: node_config_feat left behind")
                same_except(a, b, ("node_config_feat", "node_config_code"), g["id"])
            else:
                same_except(a, b, (), g["id"] + " (tile chunk unchanged)")
        print(f"ok {g['id']} {sum(c['count'] for c in ci)} configs packed")


def dedup(inp, out, keep, const):
    i, o = load(inp), load(out)
    check_header(i, o, "encode-base7")
    for (g, ci), (h, co) in zip(by_graph(i), by_graph(o)):
        if "node_config_ids" not in g:
            same_except(g, h, (), g["id"])
            for a, b in zip(ci, co):
                same_except(a, b, (), g["id"])
            print(f"ok {g['id']} tile passed through")
            continue
        feat = np.concatenate([c["node_config_feat"] for c in ci])
        idx = np.concatenate([c["config_index"] for c in ci])
        has_rt = "config_runtime" in ci[0]
        rt = np.concatenate([c["config_runtime"] for c in ci]) if has_rt else None
        codes = pack(feat)                                  # (c, nc, 3)
        c, nc = codes.shape[:2]
        kc = np.ones(nc, dtype=bool)
        if const and c:
            kc = ~np.all(codes == codes[0:1], axis=(0, 2))
            if not kc.any():
                kc[:] = True
        if not eq(h["node_config_ids"], g["node_config_ids"][kc]):
            fail(f"{g['id']}: node_config_ids after --drop-constant")
        flat = codes.reshape(c, -1)
        if keep == "none":
            groups = [[j] for j in range(c)]
        else:
            _, inv = np.unique(flat, axis=0, return_inverse=True)
            inv = inv.ravel()
            order = {}
            for j in range(c):
                order.setdefault(int(inv[j]), []).append(j)
            groups = sorted(order.values(), key=lambda x: x[0])
        want = []   # (row, runtime, members)
        for grp in groups:
            if keep == "min" and has_rt:
                r = min(grp, key=lambda j: (rt[j], j))
            else:
                r = grp[0]
            runtime = None
            if has_rt:
                if keep == "mean":   # exact, halves rounded away from zero
                    tot, cnt = sum(int(rt[j]) for j in grp), len(grp)
                    runtime = (2 * tot + cnt) // (2 * cnt) if tot >= 0 else -((-2 * tot + cnt) // (2 * cnt))
                else:
                    runtime = int(rt[r])
            want.append((r, runtime, sorted(int(idx[j]) for j in grp)))
        want.sort()
        got_code = np.concatenate([b["node_config_code"] for b in co])
        got_idx = np.concatenate([b["config_index"] for b in co]).tolist()
        if got_idx != [int(idx[r]) for r, _, _ in want]:
            fail(f"{g['id']}: kept configs {got_idx} != {[int(idx[r]) for r, _, _ in want]}")
        if not eq(got_code, codes[[r for r, _, _ in want]][:, kc, :]):
            fail(f"{g['id']}: kept codes")
        if has_rt:
            got_rt = np.concatenate([b["config_runtime"] for b in co]).tolist()
            if got_rt != [x for _, x, _ in want]:
                fail(f"{g['id']}: runtimes {got_rt} != {[x for _, x, _ in want]}")
        if keep != "none":
            cover = []
            for b, (k, off) in zip(co, [(b["count"], b["offset"]) for b in co]):
                doff, dix = b["dup_offsets"], b["dup_index"]
                if len(doff) != k + 1 or doff[0] != 0 or doff[-1] != len(dix):
                    fail(f"{g['id']}: dup_offsets shape")
                for q in range(k):
                    cover.append(sorted(dix[doff[q]:doff[q + 1]].tolist()))
            if cover != [x for _, _, x in want]:
                fail(f"{g['id']}: dup lists")
            allidx = sorted(x for grp in cover for x in grp)
            if allidx != sorted(idx.tolist()):
                fail(f"{g['id']}: dup_index does not cover every original index exactly once")
        offs = [b["offset"] for b in co]
        if offs != list(np.cumsum([0] + [b["count"] for b in co])[:-1]):
            fail(f"{g['id']}: chunk offsets")
        if keep != "none" and h["n_configs"] != len(want):
            fail(f"{g['id']}: n_configs")
        print(f"ok {g['id']} configs {c} -> {len(want)} configurable nodes {nc} -> {int(kc.sum())}")


def same(a, b):
    x, y = load(a), load(b)
    if len(x) != len(y):
        fail("record count")
    for j, (r, s) in enumerate(zip(x[1:], y[1:])):
        same_except(r, s, (), f"record {j + 1}")
    print(f"ok {len(x)} records identical")


def main():
    a = sys.argv[1:]
    if not a:
        print(__doc__)
        sys.exit(2)
    if a[0] == "prune":
        prune(a[1], a[2], int(a[3]), a[4])
    elif a[0] == "dijkstra":
        dijkstra(a[1], a[2], a[3])
    elif a[0] == "encode":
        encode(a[1], a[2])
    elif a[0] == "dedup":
        dedup(a[1], a[2], a[3], len(a) > 4 and a[4] == "const")
    elif a[0] == "same":
        same(a[1], a[2])
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
