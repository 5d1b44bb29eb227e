#!/usr/bin/python3
"""mkfuzzseeds: (re)write the seed corpus tests/fuzz/corpus/<harness>/ and
the libFuzzer dictionaries tests/fuzz/<harness>.dict.

Usage: mkfuzzseeds.py [ROOT]   (ROOT = the repository, default: from here)

Seeds are small, valid or nearly valid inputs of every kind the readers
meet: .npz files as numpy writes them (stored, deflate, ZIP64, data
descriptors, the bad-file corpus), .npy headers of every version and dtype,
one record of each type, whole short streams, Kaggle CSVs, HLO protobufs.
Deterministic: the same files on every run.  Files the fuzzers later add
(make fuzz FUZZ_MERGE=1) sit beside these, named by their SHA-1.
"""
import glob
import io
import os
import shutil
import subprocess
import sys

import msgpack
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mkstream as ms  # noqa: E402

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def put(h, name, data):
    d = os.path.join(CORPUS, h)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pack(r):
    return ms._pack(r)


def stream_bytes(records, end=True):
    b = io.BytesIO()
    ms.write_stream(b, records, end=end)
    return b.getvalue()


def npy_bytes(a, version=None):
    b = io.BytesIO()
    np.lib.format.write_array(b, a, version=version)
    return b.getvalue()


def seeds_npz():
    fx = os.path.join(ROOT, "tests", "fixtures")
    for p in sorted(glob.glob(os.path.join(fx, "npz", "**", "*.npz"), recursive=True)):
        put("npz", "good-" + os.path.relpath(p, os.path.join(fx, "npz", "npz")).replace("/", "-"),
            open(p, "rb").read())
    for p in sorted(glob.glob(os.path.join(fx, "bad", "npz", "*.npz"))):
        if os.path.getsize(p) <= 131072:
            put("npz", "bad-" + os.path.basename(p), open(p, "rb").read())
    rng = np.random.default_rng(7)
    arrs = {"node_feat": rng.random((3, 4), dtype=np.float32),
            "node_opcode": np.array([1, 2, 3], np.uint8),
            "edge_index": np.array([[1, 0], [2, 1]], np.int64),
            "config_feat": rng.random((2, 24), dtype=np.float32),
            "config_runtime": np.array([5, 7], np.int64),
            "scalar": np.float64(1.5), "empty": np.zeros((0, 3), np.int32),
            "big_endian": np.arange(4, dtype=">i4"), "flag": np.array([True, False])}
    for name, fn in (("tiny-stored.npz", np.savez), ("tiny-deflate.npz", np.savez_compressed)):
        b = io.BytesIO()
        fn(b, **arrs)
        put("npz", name, b.getvalue())
    b = io.BytesIO()
    np.savez(b)
    put("npz", "empty-archive.npz", b.getvalue())


def seeds_npy():
    dts = ["<f4", "<f8", ">f4", "<i2", ">i8", "|u1", "|i1", "<u2", "<u4", "<u8", "|b1", "<f2", "<c8"]
    for i, dt in enumerate(dts):
        a = np.zeros((2, 3), dtype=dt)
        put("npy", f"v1-{i}-{dt.replace('<', 'le').replace('>', 'be').replace('|', 'na')}",
            npy_bytes(a, (1, 0))[:160])
    put("npy", "v2-f4", npy_bytes(np.zeros((4, 5, 6), np.float32), (2, 0))[:160])
    put("npy", "v3-i8", npy_bytes(np.zeros(7, np.int64), (3, 0))[:160])
    put("npy", "scalar", npy_bytes(np.float32(1.0)))
    put("npy", "zero-dim", npy_bytes(np.zeros((0,), np.int32)))
    put("npy", "eight-dims", npy_bytes(np.zeros((1,) * 8, np.int32)))
    put("npy", "fortran", npy_bytes(np.asfortranarray(np.zeros((2, 3), np.float32)))[:160])
    put("npy", "huge-shape", b"\x93NUMPY\x01\x00" + (lambda h: len(h).to_bytes(2, "little") + h)(
        b"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }   \n"))
    put("npy", "neg-shape", b"\x93NUMPY\x01\x00" + (lambda h: len(h).to_bytes(2, "little") + h)(
        b"{'descr': '<i8', 'fortran_order': False, 'shape': (-1, 3), }          \n"))


def tiny_tile(rng, gid="a"):
    return ms.random_tile(rng, gid, n=4, c=3, chunk=2)


def tiny_layout(rng, gid="b"):
    return ms.random_layout(rng, gid, n=6, nc=2, c=3, chunk=2)


def seeds_record():
    rng = np.random.default_rng(3)
    recs = tiny_tile(rng) + tiny_layout(rng)
    put("record", "header", pack(ms.header()))
    for i, r in enumerate(recs[:2] + recs[3:5]):
        put("record", f"{r['t']}-{i}", pack(r))
    put("record", "pred", pack({"t": "pred", "id": "tile:xla:a",
                                "config_index": np.array([0, 2, 1], np.int64),
                                "score": np.array([0.5, -1.0, 2.0], np.float32)}))
    put("record", "end", pack(ms.end_for(recs)))
    put("record", "base7", pack({"t": "configs", "id": "layout:xla:random:b", "offset": 0, "count": 2,
                                 "config_index": np.array([0, 1], np.int64),
                                 "node_config_code": np.array([[[1, 2, 3]], [[4, 5, 6]]], np.uint32),
                                 "dup_offsets": np.array([0, 2, 3], np.int64),
                                 "dup_index": np.array([0, 2, 1], np.int64)}))
    put("record", "unknown-kinds", msgpack.packb(
        {"t": "zz", "nil": None, "b": True, "f": 1.5, "f32": np.float32(2).item(), "neg": -5,
         "u64": 2**64 - 1, "s": "x\x00y", "arr": [1, [2, {"k": b"v"}]], "m": {"dtype": "f32"},
         "bin": b"\x00\x01", "ext": msgpack.ExtType(5, b"abc"),
         "t8": {"dtype": "bool", "shape": [2, 0, 3], "data": b""}}, use_bin_type=True))
    for dt, npdt in ms.DT.items():
        put("record", f"tensor-{dt}", pack({"t": "graph", "x": (np.arange(6) % 2).astype(npdt).reshape(2, 3)}))


def seeds_stream():
    rng = np.random.default_rng(5)
    t, l = tiny_tile(rng), tiny_layout(rng)
    put("stream", "tile", stream_bytes(t))
    put("stream", "layout", stream_bytes(l))
    put("stream", "empty", stream_bytes([]))
    put("stream", "pred", stream_bytes([{"t": "pred", "id": "tile:xla:a",
                                         "config_index": np.arange(3, dtype=np.int64),
                                         "score": np.array([1, 0, 2], np.float32)}]))
    put("stream", "mixed", stream_bytes(t + l))
    whole = stream_bytes(t)
    put("stream", "cut", whole[:len(whole) * 2 // 3])
    put("stream", "no-end", stream_bytes(t, end=False))
    g = os.path.join(ROOT, "tests", "fixtures", "stream", "mp-dump-golden.mp")
    if os.path.exists(g):
        put("stream", "golden", open(g, "rb").read())


def seeds_csv():
    put("csv", "ok", b"ID,TopConfigs\ntile:xla:abc,2;0;1\nlayout:xla:random:r,0;1;2;3\n")
    put("csv", "bom-crlf", b"\xef\xbb\xbfID,TopConfigs\r\ntile:xla:x,1;0\r\n")
    put("csv", "quoted", b"\"ID\",\"TopConfigs\"\n\"tile:xla:q\",\"3; 1 ;\t2\"\n")
    put("csv", "nolf", b"ID,TopConfigs\nlayout:nlp:default:z,9007199254740992")
    put("csv", "empty-lines", b"ID,TopConfigs\n\n\ntile:xla:e,0\n\n")
    put("csv", "bad-number", b"ID,TopConfigs\ntile:xla:b,1;x;2\n")
    put("csv", "too-big", b"ID,TopConfigs\ntile:xla:b,9007199254740993\n")
    put("csv", "three-fields", b"ID,TopConfigs\na,1,2\n")
    put("csv", "header-only", b"ID,TopConfigs\n")


def seeds_hlo():
    mk = os.path.join(HERE, "mkhlo.py")
    cases = ["ok", "reordered", "callee-after", "unpacked", "unknown-fields", "unknown-opcode",
             "no-runtime", "missing-operand", "cycle", "bad-call", "dup-id", "bad-config-node",
             "bad-root", "mixed-runs", "tile", "tile-no-default", "layout-nodes", "bare-module"]
    for c in cases:
        out = subprocess.run([sys.executable, mk, c], capture_output=True)
        if out.returncode == 0:
            put("hlo", c, out.stdout)
    p = os.path.join(ROOT, "tests", "fixtures", "hlo", "op_tuning_data.pb")
    if os.path.exists(p):
        put("hlo", "op_tuning_data", open(p, "rb").read())


def q(b):
    return '"' + "".join(chr(c) if 32 <= c < 127 and c not in (34, 92) else "\\x%02x" % c
                         for c in b) + '"'


def dicts():
    words = {
        "npz": [b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07",
                b"PK\x07\x08", b"\x01\x00", b"\xff\xff\xff\xff", b"\x93NUMPY", b".npy",
                b"node_feat.npy", b"config_runtime.npy", b"\x08\x00", b"\x00\x00"],
        "npy": [b"\x93NUMPY\x01\x00", b"\x93NUMPY\x02\x00", b"'descr'", b"'fortran_order'",
                b"'shape'", b"True", b"False", b"'<f4'", b"'>i8'", b"'|u1'", b"'|b1'", b"'<c8'",
                b"(1,)", b"()", b", ", b"18446744073709551616"],
        "csv": [b"ID,TopConfigs", b"\xef\xbb\xbf", b"\r\n", b";", b"\"", b"tile:xla:",
                b"layout:xla:random:", b"9007199254740992", b"\t"],
    }
    mp = []
    for s in ["t", "header", "graph", "configs", "pred", "end", "format", "tpugraphs-mp",
              "version", "history", "dtype", "shape", "data", "id", "count", "offset",
              "config_index", "score", "records", "graphs", "chunks", "preds", "node_feat",
              "edge_index", "f32", "f64", "i32", "i64", "u8", "u32", "bool"]:
        mp.append(msgpack.packb(s))
    mp += [b"\xc4", b"\xc5", b"\xc6", b"\xdc", b"\xdd", b"\xde", b"\xdf", b"\xcf", b"\xd3", b"\xc0"]
    words["record"] = words["stream"] = mp
    for h, ws in words.items():
        with open(os.path.join(ROOT, "tests", "fuzz", h + ".dict"), "w") as f:
            f.write("# libFuzzer dictionary for fuzz_%s (written by tests/tools/mkfuzzseeds.py)\n" % h)
            for w in ws:
                f.write(q(w) + "\n")


def main():
    for h in ("npz", "npy", "record", "stream", "csv", "hlo"):
        d = os.path.join(CORPUS, h)
        # keep what fuzzing merged in (SHA-1 names) and the regression inputs
        # (regress-*: each a bug found and fixed); rewrite the named seeds
        if os.path.isdir(d):
            for f in os.listdir(d):
                if not (f.startswith("regress-") or
                        (len(f) == 40 and all(c in "0123456789abcdef" for c in f))):
                    os.remove(os.path.join(d, f))
    seeds_npz(); seeds_npy(); seeds_record(); seeds_stream(); seeds_csv(); seeds_hlo(); dicts()


if __name__ == "__main__":
    main()
