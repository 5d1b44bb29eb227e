#!/usr/bin/python3
"""Write .npz files where every array is stored twice, in C order (KEY_C)
and in Fortran order (KEY_F), as numpy writes them: the oracle of the
Fortran-order reader (a reader must give KEY_F exactly the values of KEY_C,
and KEY_C is checked against numpy by the npz2mp suites).

usage: mkorder.py DIR
Writes DIR/order_stored.npz (np.savez), DIR/order_deflate.npz
(np.savez_compressed), DIR/order_npsave.npz (members written by np.save,
zipped DEFLATE with data descriptors; every KEY_F there says
fortran_order True, also where numpy itself would write C order: rank 1,
0-size and dims of 1) and DIR/order_badcrc.npz (savez, one
data byte of big_F flipped: the CRC-32 must catch it).
"""
import io, os, sys, zipfile
import numpy as np

DTYPES = ["<f4", "<f8", "<i4", "<i8", "|u1", "<u4", ">f4", ">f8", ">i8", ">u4", "<i2", ">u2"]
SHAPES = [(5,), (7, 3), (4, 3, 5), (3, 2, 4, 2), (0, 3), (3, 0, 2), (2, 3, 0, 4), (1, 1), (6, 1, 1)]

def arrays():
    rng = np.random.default_rng(11)
    d = {}
    for dt in DTYPES:
        for sh in SHAPES:
            n = int(np.prod(sh))
            # distinct values: a misplaced element shows
            v = (np.arange(n) * 7 + rng.integers(0, 3, n)) % 250 + 1
            a = v.reshape(sh).astype(np.dtype(dt))
            if dt[1] == "f":
                a = a / 4 - 10
            key = "%s%s_%s" % ({"<": "le", ">": "be", "|": ""}[dt[0]], dt[1:], "x".join(map(str, sh)))
            d[key + "_C"] = np.ascontiguousarray(a)
            d[key + "_F"] = np.asfortranarray(a)
    # big enough that a block of rows is many runs per column
    big = rng.integers(-1, 6, (40, 3, 5)).astype(np.float32)
    d["big_C"] = big
    d["big_F"] = np.asfortranarray(big)
    for k, v in d.items():
        assert v.flags.f_contiguous if k.endswith("_F") else v.flags.c_contiguous, k
    return d

def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    d = arrays()
    np.savez(os.path.join(out, "order_stored.npz"), **d)
    np.savez_compressed(os.path.join(out, "order_deflate.npz"), **d)
    with open(os.path.join(out, "order_npsave.npz"), "wb") as f:
        # an unseekable output makes zipfile write data descriptors
        class W(io.RawIOBase):
            def writable(self): return True
            def write(self, b): return f.write(b)
        with zipfile.ZipFile(W(), "w", zipfile.ZIP_DEFLATED) as zf:
            for k, v in d.items():
                b = io.BytesIO()
                if k.endswith("_F") and v.flags.c_contiguous:
                    # numpy writes an array that is both C and F contiguous
                    # (rank <= 1, 0-size, dims of 1) as C order; write the
                    # header by hand so that these cases are Fortran too
                    h = np.lib.format.header_data_from_array_1_0(v)
                    h["fortran_order"] = True
                    np.lib.format.write_array_header_1_0(b, h)
                    b.write(v.tobytes(order="F"))
                else:
                    np.save(b, v)
                zf.writestr(k + ".npy", b.getvalue())
    buf = io.BytesIO()
    np.savez(buf, big_C=d["big_C"], big_F=d["big_F"])
    b = bytearray(buf.getvalue())
    at = b.find(b"NUMPY", b.find(b"big_F.npy"))
    at = b.find(b"\n", at) + 1 + 4 * 17  # a data byte of big_F
    b[at] ^= 0x01
    with open(os.path.join(out, "order_badcrc.npz"), "wb") as f:
        f.write(bytes(b))
    # the files say what they hold
    z = np.load(os.path.join(out, "order_npsave.npz"))
    for k in d:
        assert np.array_equal(z[k], d[k]) and z[k].dtype == d[k].dtype, k

if __name__ == "__main__":
    main()
