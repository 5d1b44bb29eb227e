#!/usr/bin/python3
"""Regenerate the committed .npz fixtures (tests/fixtures/npz): tiny valid
files written by numpy (savez and savez_compressed, every dtype npz2mp
accepts) and the bad-input corpus (tests/fixtures/bad/npz), each bad file
listed in tests/fixtures/bad/npz/EXPECTED with its exit status and message.

usage: mkfixtures.py ROOT   (ROOT = the repository)
"""
import io, os, sys, zipfile
import numpy as np

root = sys.argv[1]
ok = os.path.join(root, "tests/fixtures/npz")
bad = os.path.join(root, "tests/fixtures/bad/npz")
rng = np.random.default_rng(7)

def base(n=6):
    feat = rng.standard_normal((n, 140)).astype(np.float32)
    op = np.array([63, 63, 26, 2, 75, 100][:n], dtype=np.int32)
    e = np.array([[2, 0], [2, 1], [3, 2], [4, 3], [5, 4]], dtype=np.int64)
    return dict(node_feat=feat, node_opcode=op, edge_index=e)

def tile(c=7, **over):
    d = base()
    d["config_feat"] = rng.integers(0, 32, (c, 24)).astype(np.float32)
    d["config_runtime"] = rng.integers(100, 10000, c).astype(np.int64)
    d["config_runtime_normalizers"] = rng.integers(100, 10000, c).astype(np.int64)
    d.update(over)
    return d

def layout(c=5, **over):
    d = base()
    d["node_config_ids"] = np.array([2, 4], dtype=np.int32)
    d["node_config_feat"] = rng.integers(-1, 6, (c, 2, 18)).astype(np.float32)
    d["config_runtime"] = rng.integers(100, 10000, c).astype(np.int64)
    d["node_splits"] = np.array([[0, 3]], dtype=np.int64)
    d.update(over)
    return d

def put(path, d, compressed=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    (np.savez_compressed if compressed else np.savez)(path, **d)

# valid files, one per dtype variant
put(f"{ok}/npz/tile/xla/train/stored.npz", tile())
put(f"{ok}/npz/tile/xla/train/deflate.npz", tile(), compressed=True)
put(f"{ok}/npz/tile/xla/valid/u8opcode.npz", tile(node_opcode=np.array([63, 63, 26, 2, 75, 100], np.uint8)))
put(f"{ok}/npz/tile/xla/test/noruntime.npz", {k: v for k, v in tile().items() if "runtime" not in k})
put(f"{ok}/npz/layout/xla/random/train/stored.npz", layout())
put(f"{ok}/npz/layout/nlp/default/valid/deflate.npz", layout(), compressed=True)
put(f"{ok}/npz/layout/xla/default/train/dtypes.npz",
    layout(node_feat=base()["node_feat"].astype(np.float64),
           edge_index=np.array([[2, 0], [2, 1], [3, 2], [4, 3], [5, 4]], np.int32),
           node_config_ids=np.array([2, 4], np.uint32),
           node_opcode=np.array([63, 63, 26, 2, 75, 100], np.int64),
           config_runtime=rng.integers(100, 10000, 5).astype(np.uint32)))

# ZIP64 end records, ZIP64 extras in the central directory, data descriptors:
# zipfile's own limits lowered (as CPython's tests do) so a tiny file has them
def zipped(path, d, method, unseekable=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    raw = io.BytesIO()
    class Unseekable(io.RawIOBase):
        def writable(self): return True
        def write(self, b): return raw.write(b)
    target = Unseekable() if unseekable else raw
    with zipfile.ZipFile(target, "w", method) as zf:
        for k, v in d.items():
            with zf.open(k + ".npy", "w", force_zip64=True) as m:
                np.lib.format.write_array(m, v)
    open(path, "wb").write(raw.getvalue())

saved = (zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT)
zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 64, 2
zipped(f"{ok}/npz/layout/nlp/random/test/zip64.npz", layout(), zipfile.ZIP_DEFLATED)
zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = saved
zipped(f"{ok}/npz/tile/xla/test/datadesc.npz", tile(), zipfile.ZIP_DEFLATED, unseekable=True)

# bad files
os.makedirs(bad, exist_ok=True)
expected = []
def badfile(name, d=None, raw=None, code=1, msg="", compressed=False):
    p = os.path.join(bad, name)
    if raw is not None:
        open(p, "wb").write(raw)
    else:
        put(p, d, compressed)
    expected.append((name, code, msg))

badfile("notzip.npz", raw=b"this is not a zip file at all, just some text\n" * 3,
        msg="not a zip file")
buf = io.BytesIO(); np.savez(buf, **tile()); full = buf.getvalue()
badfile("truncated.npz", raw=full[: len(full) // 2], msg="not a zip file")
# flip one byte of node_feat's data in a STORED file: the CRC catches it
b = bytearray(full); pos = b.find(b"node_feat.npy"); pos = b.find(b"\n", b.find(b"NUMPY", pos)) + 40
b[pos] ^= 0xFF
badfile("badcrc.npz", raw=bytes(b), msg="node_feat: CRC-32 mismatch")
d = tile(); del d["edge_index"]
badfile("noedges.npz", d, msg="edge_index: missing member")
badfile("edge3.npz", tile(edge_index=np.zeros((4, 3), np.int64)), msg="edge_index: shape (4, 3), want (m, 2)")
badfile("edgerange.npz", tile(edge_index=np.array([[1, 0], [9, 1]], np.int64)),
        msg="edge_index: value 9 at flat index 2 out of range 0..5")
f = base()["node_feat"]; f[3, 17] = np.nan
badfile("nan.npz", tile(node_feat=f), msg="node_feat: NaN at node 3, feature 17")
# Fortran order is valid (every published layout file has a Fortran
# edge_index); here it is the out-of-range value, whose flat index is the
# C-order one (2), not its place in the file (1)
badfile("fortran.npz", tile(node_feat=np.asfortranarray(base()["node_feat"]),
                            edge_index=np.asfortranarray(np.array([[1, 0], [9, 1]], np.int64))),
        msg="edge_index: value 9 at flat index 2 out of range 0..5")
badfile("float16.npz", tile(node_feat=base()["node_feat"].astype(np.float16)),
        msg="node_feat: unsupported dtype '<f2'")
badfile("complex.npz", tile(config_feat=np.zeros((7, 24), np.complex64)),
        msg="config_feat: unsupported dtype '<c8'")
badfile("layout_value.npz", layout(node_config_feat=np.full((5, 2, 18), 7, np.float32)),
        msg="node_config_feat: bad value 7 at config 0")
badfile("layout_cfgid.npz", layout(node_config_ids=np.array([2, 6], np.int32)),
        msg="node_config_ids: value 6 at flat index 1 out of range 0..5")
badfile("runtimes.npz", tile(config_runtime=np.arange(3, dtype=np.int64)),
        msg="config_runtime: 3 values for 7 configs")
badfile("layout_cfgshape.npz", layout(node_config_feat=np.zeros((5, 3, 18), np.float32)),
        msg="node_config_feat: shape (5, 3, 18), want (c, 2, 18)")
# a deflate member whose declared size is smaller than what it inflates to
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
    for k, v in tile().items():
        a = io.BytesIO(); np.lib.format.write_array(a, v); zf.writestr(k + ".npy", a.getvalue())
zb = bytearray(buf.getvalue())
# shrink the central directory's uncompressed size of node_opcode.npy by 8
cd = zb.find(b"PK\x01\x02" + zb[zb.find(b"PK\x01\x02") + 4: zb.find(b"PK\x01\x02") + 4])
i = 0
while True:
    i = zb.find(b"PK\x01\x02", i)
    if i < 0: break
    nlen = int.from_bytes(zb[i + 28:i + 30], "little")
    name = bytes(zb[i + 46:i + 46 + nlen])
    if name == b"config_runtime.npy":
        u = int.from_bytes(zb[i + 24:i + 28], "little")
        zb[i + 24:i + 28] = (u - 8).to_bytes(4, "little")
    i += 4
badfile("sizelie.npz", raw=bytes(zb), msg="config_runtime: member holds")
# a deflate bomb: the declared size fits the .npy header, the data inflates to 64 MiB more
a = io.BytesIO(); np.lib.format.write_array(a, tile()["config_runtime"]); member = a.getvalue()
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
    for k, v in tile().items():
        if k == "config_runtime":
            zf.writestr(k + ".npy", member + bytes(64 << 20))
        else:
            b2 = io.BytesIO(); np.lib.format.write_array(b2, v); zf.writestr(k + ".npy", b2.getvalue())
zb = bytearray(buf.getvalue())
for sig, off in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
    i = 0
    while True:
        i = zb.find(sig, i)
        if i < 0: break
        nl = 28 if sig == b"PK\x01\x02" else 26
        nlen = int.from_bytes(zb[i + nl:i + nl + 2], "little")
        name_at = i + (46 if sig == b"PK\x01\x02" else 30)
        if bytes(zb[name_at:name_at + nlen]) == b"config_runtime.npy":
            zb[i + off:i + off + 4] = len(member).to_bytes(4, "little")
        i += 4
badfile("bomb.npz", raw=bytes(zb), msg="config_runtime: member inflates past its declared size")

with open(os.path.join(bad, "EXPECTED"), "w") as f:
    f.write("# file|exit status|message (a substring of stderr, after 'npz2mp: FILE: ')\n")
    for name, code, msg in expected:
        f.write("%s|%d|%s\n" % (name, code, msg))
print("wrote", len(expected), "bad files")
