#!/usr/bin/python3
"""mkbadstreams: (re)write the bad-stream corpus tests/fixtures/bad/stream/.

Usage: mkbadstreams.py [DIR]   (default: tests/fixtures/bad/stream beside here)

Each NAME.mp breaks one rule of the stream contract (docs/stream-format.md):
the framing (cut mid-record, no end, bytes that are not msgpack, data after
the end, end counts that lie), the header, the tensors (data shorter than
the shape, unknown dtype, negative dims, a shape whose size overflows), the
known keys (wrong types), or the meaning (duplicate graph ids, configs of
another graph, config_index out of range, counts that disagree with the
tensors, edges to missing nodes, preds whose lengths disagree).  Graph
streams are two tiny random layout graphs (mkstream.py, seeded);
pred-*.mp files are pred streams, for rank-eval and rank-ensemble.
EXPECTED beside them says what every filter must answer (exit 1, message).
Deterministic: the same bytes on every run.
"""
import io
import os
import sys

import msgpack
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mkstream as ms  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(HERE), "fixtures", "bad", "stream")


def base():
    rng = np.random.default_rng(11)
    return (ms.random_layout(rng, "l0", n=7, nc=2, c=5, chunk=3) +
            ms.random_layout(rng, "l1", n=8, nc=2, c=4, chunk=2))


def preds():
    return [{"t": "pred", "id": "layout:xla:random:l0", "config_index": np.arange(5, dtype=np.int64),
             "score": np.array([3, 1, 2, 0, 4], np.float32)},
            {"t": "pred", "id": "layout:xla:random:l1", "config_index": np.arange(4, dtype=np.int64),
             "score": np.array([0.5, 0.25, 1, 0], np.float32)}]


def pk(o):
    return msgpack.packb(o, use_bin_type=True)


def stream(records, end=True):
    b = io.BytesIO()
    ms.write_stream(b, records, end=end)
    return b.getvalue()


def with_raw(records, idx, raw, end_counts=None):
    """The stream of records with the packed record at idx replaced by raw
    bytes (idx counts the header as 0); the end counts what it would have."""
    recs = [ms.header()] + list(records)
    parts = [ms._pack(r) for r in recs]
    e = ms.end_for(recs)
    if end_counts:
        e.update(end_counts)
    parts[idx] = raw
    return b"".join(parts) + ms._pack(e)


def first(recs, t, k=0):
    return [r for r in recs if r["t"] == t][k]


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    good = stream(base())
    write("ok-graphs.mp", good)             # the baselines every filter accepts
    write("ok-preds.mp", stream(preds()))
    # ---- framing ----
    write("empty.mp", b"")
    cut = good[: len(good) - 40]                      # inside the last configs record
    write("cut-mid-record.mp", cut)
    write("no-end.mp", stream(base(), end=False))
    write("not-msgpack.mp", b"\xc1\xc1\xc1 this is not msgpack\n")
    write("text.mp", b"ID,TopConfigs\nlayout:xla:random:l0,0;1;2\n")
    write("after-end.mp", good + ms._pack({"t": "graph", "id": "x"}))
    r = base()
    e = ms.end_for([ms.header()] + r)
    e["configs"] += 1
    write("end-lies.mp", stream(r, end=False) + ms._pack(e))
    write("not-a-map.mp", with_raw(base(), 1, pk([1, 2, 3])))
    write("no-type.mp", with_raw(base(), 1, pk({"id": "tile:xla:t0"})))
    write("dup-key.mp", with_raw(base(), 1, b"\x83\xa1t\xa5graph\xa2id\xa1a\xa2id\xa1b"))
    # deep nesting: 20000 one-element arrays
    write("deep-nesting.mp", stream([]).rsplit(ms._pack(ms.end_for([ms.header()])), 1)[0]
          + b"\x82\xa1t\xa1x\xa1k" + b"\x91" * 20000 + b"\xc0")
    # an array header claiming 2^32 - 1 elements, then the stream ends
    write("huge-array.mp", stream([], end=False) + b"\x81\xa1t\xdd\xff\xff\xff\xff")
    # a bin claiming 4 GiB - 1, then the stream ends
    write("huge-bin.mp", stream([], end=False) + b"\x82\xa1t\xa5graph\xa1x\xc6\xff\xff\xff\xff" + b"\0" * 64)
    # ---- header ----
    write("no-header.mp", b"".join(ms._pack(x) for x in base()) + ms._pack(ms.end_for(base())))
    h = ms.header(); h["format"] = "something-else"
    write("bad-format.mp", stream([h] + base()))
    h = ms.header(); h["version"] = 2
    write("bad-version.mp", stream([h] + base()))
    write("two-headers.mp", stream([ms.header(), ms.header()] + base()))
    # ---- tensors ----
    g = ms._pack(first(base(), "graph"))
    t = ms.tensor(first(base(), "graph")["node_feat"])
    short = dict(t, data=t["data"][:-4])
    write("tensor-short.mp", with_raw(base(), 1, pk(dict(msgpack.unpackb(g, raw=False), node_feat=short))))
    bad = dict(t, dtype="f16")
    write("tensor-dtype.mp", with_raw(base(), 1, pk(dict(msgpack.unpackb(g, raw=False), node_feat=bad))))
    bad = dict(t, shape=[-6, 140])
    write("tensor-negdim.mp", with_raw(base(), 1, pk(dict(msgpack.unpackb(g, raw=False), node_feat=bad))))
    bad = dict(t, shape=[2**32, 2**32, 2**10])
    write("tensor-overflow.mp", with_raw(base(), 1, pk(dict(msgpack.unpackb(g, raw=False), node_feat=bad))))
    # ---- known keys of the wrong type ----
    r = base(); first(r, "graph", 1)["node_feat"] = "not a tensor"
    write("type-node-feat.mp", stream(r))
    r = base(); first(r, "graph", 1)["n_nodes"] = "eight"
    write("type-n-nodes.mp", stream(r))
    r = base(); first(r, "graph", 1)["id"] = 17
    for c in r:
        if c["t"] == "configs" and c["id"] == "layout:xla:random:l1":
            c["id"] = 17
    write("type-id.mp", stream(r))
    r = base(); first(r, "graph", 1)["edge_index"] = first(r, "graph", 1)["edge_index"].astype(np.float32) + 0.5
    write("type-edge-frac.mp", stream(r))
    r = base(); first(r, "configs", 2)["config_index"] = first(r, "configs", 2)["config_index"].astype(np.float64) + 0.5
    write("type-config-index-frac.mp", stream(r))
    r = base(); first(r, "graph", 1)["node_feat"] = first(r, "graph", 1)["node_feat"][:, :139]
    write("shape-node-feat.mp", stream(r))
    # ---- meaning ----
    r = base(); first(r, "graph", 1)["edge_index"][0, 1] = 1000
    write("edge-range.mp", stream(r))
    r = base(); first(r, "graph", 1)["node_config_ids"][-1] = 8
    write("config-node-range.mp", stream(r))
    r = base(); r = r + [dict(first(base(), "graph", 1))] + [dict(first(base(), "configs", 2))]
    write("dup-graph.mp", stream(r))
    r = base(); first(r, "configs", 2)["id"] = "layout:xla:random:l0"
    write("configs-other-graph.mp", stream(r))
    r = base(); del r[3]   # graph l1: its configs follow l0's
    write("configs-before-graph.mp", stream(r))
    r = base(); first(r, "configs", 2)["config_index"][1] = 4
    write("config-index-range.mp", stream(r))
    r = base(); first(r, "configs", 2)["config_index"][1] = -1
    write("config-index-negative.mp", stream(r))
    r = base(); first(r, "configs", 2)["count"] = 1
    write("count-mismatch.mp", stream(r))
    r = base(); first(r, "configs", 2)["config_runtime"] = first(r, "configs", 2)["config_runtime"][:1]
    write("runtime-short.mp", stream(r))
    r = base(); first(r, "graph", 1)["n_configs"] = 9
    write("n-configs-lies.mp", stream(r))
    r = base(); first(r, "configs", 2)["node_config_feat"][0, 0, 0] = 7
    write("layout-value.mp", stream(r))
    r = base(); first(r, "graph", 1)["runtimes_hidden"] = True   # its configs keep their runtimes
    write("hidden-with-runtimes.mp", stream(r))
    r = base(); first(r, "graph", 1)["runtimes_hidden"] = "yes"
    write("type-runtimes-hidden.mp", stream(r))
    # ---- pred streams (rank-eval, rank-ensemble) ----
    p = preds(); p[0]["score"] = p[0]["score"][:3]
    write("pred-short.mp", stream(p))
    p = preds(); p[0]["config_index"][2] = 99
    write("pred-index-range.mp", stream(p))
    p = preds(); p[0]["config_index"][2] = 1
    write("pred-index-dup.mp", stream(p))
    p = preds(); p.append(dict(p[0]))
    write("pred-dup-graph.mp", stream(p))
    p = preds(); p[0]["score"] = p[0]["score"].astype(np.float64); p[0]["score"][1] = np.nan
    write("pred-nan.mp", stream(p))
    p = preds(); p[0]["score"] = "fast"
    write("pred-type.mp", stream(p))
    write("pred-cut.mp", stream(preds())[:-30])


if __name__ == "__main__":
    main()
