/* test_npzw: the .npz writer.  Parses its own output (signatures, ZIP64
 * extra, CRC-32, sizes), then has python3's numpy and zipfile read it: the
 * arrays bit-exact, testzip() clean, and the bytes identical to numpy's own
 * savez / savez_compressed (timestamp pinned). */
#include "ut.h"
#include "npzw.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char dir[256];

static void path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

static unsigned char *slurp(const char *p, size_t *n)
{
	FILE *f = fopen(p, "rb");
	unsigned char *b;
	long sz;
	*n = 0;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)sz + 1);
	if (fread(b, 1, (size_t)sz, f) != (size_t)sz) {
		fclose(f);
		free(b);
		return NULL;
	}
	fclose(f);
	*n = (size_t)sz;
	return b;
}

static uint32_t rd16(const unsigned char *p) { return p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const unsigned char *p) { return rd16(p) | rd16(p + 2) << 16; }
static uint64_t rd64(const unsigned char *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* The arrays every test writes, the same formulas as the python side. */
static float f32a[3 * 140];
static int64_t i64a[5 * 2];
static uint8_t u8a[7];
static int32_t i32s[1];
static float bigf[1000 * 18];
/* the (5, 2) int64 edge array in column-major order: numpy's bytes for
 * np.asfortranarray of it */
static int64_t i64f[5 * 2];

static void fill(void)
{
	for (int i = 0; i < 3 * 140; i++)
		f32a[i] = (float)i * 0.5f - 17.25f;
	for (int i = 0; i < 10; i++)
		i64a[i] = (int64_t)i * 1000000007LL - 3;
	for (int r = 0; r < 5; r++)
		for (int c = 0; c < 2; c++)
			i64f[c * 5 + r] = i64a[r * 2 + c];
	for (int i = 0; i < 7; i++)
		u8a[i] = (uint8_t)(i * 37);
	i32s[0] = -42;
	for (int i = 0; i < 1000 * 18; i++)
		bigf[i] = (float)((i * 7) % 7 - 1); /* -1..5 like layout configs */
	for (int i = 0; i < 1000 * 18; i++)
		bigf[i] = (float)((i / 3 + i % 5) % 7 - 1);
}

enum { SET_ZIP64_LOCAL = 1, SET_LEVEL1 = 2, SET_ISAL = 4, SET_LEVEL3 = 8 };

static int write_set(const char *p, int method, uint64_t zip64_limit, int flags)
{
	npzw_t *z = npzw_open(p);
	char err[600];
	int64_t s[2];
	if (!UT_CHECK(z != NULL))
		return -1;
	if (zip64_limit)
		npzw_set_zip64_limit(z, zip64_limit);
	if (flags & SET_ZIP64_LOCAL)
		npzw_set_zip64_local(z, 1);
	if (flags & SET_ISAL)
		UT_EQ_INT(npzw_set_engine(z, NPZW_ISAL), 0);
	if (flags & SET_LEVEL1)
		UT_EQ_INT(npzw_set_level(z, 1), 0);
	if (flags & SET_LEVEL3)
		UT_EQ_INT(npzw_set_level(z, 3), 0);
	s[0] = 3, s[1] = 140;
	UT_EQ_INT(npzw_add(z, "node_feat", "<f4", 2, s, f32a, method), 0);
	s[0] = 5, s[1] = 2;
	UT_EQ_INT(npzw_add(z, "edge_index", "<i8", 2, s, i64a, method), 0);
	UT_EQ_INT(npzw_add_order(z, "edge_f", "<i8", 2, s, 1, i64f, method), 0);
	s[0] = 7;
	UT_EQ_INT(npzw_add(z, "node_opcode", "|u1", 1, s, u8a, method), 0);
	UT_EQ_INT(npzw_add(z, "scalar", "<i4", 0, s, i32s, method), 0);
	s[0] = 0, s[1] = 140;
	UT_EQ_INT(npzw_add(z, "empty", "<f4", 2, s, f32a, method), 0);
	/* streamed in odd chunks */
	s[0] = 1000, s[1] = 18;
	UT_EQ_INT(npzw_begin(z, "node_config_feat", "<f4", 2, s, method), 0);
	{
		const unsigned char *b = (const unsigned char *)bigf;
		size_t n = sizeof bigf, off = 0;
		while (off < n) {
			size_t k = n - off < 777 ? n - off : 777;
			UT_EQ_INT(npzw_write(z, b + off, k), 0);
			off += k;
		}
	}
	UT_EQ_INT(npzw_end(z), 0);
	/* nothing at the final name until close */
	UT_CHECK(access(p, F_OK) != 0);
	int rc = npzw_close(z, err, sizeof err);
	UT_EQ_INT(rc, 0);
	if (rc)
		fprintf(stderr, "%s\n", err);
	return rc;
}

/* Walk the archive: local headers with ZIP64 extras whose CRC and sizes match
 * the data, a central directory that agrees, an end record. */
static void check_structure(const char *p, int method, uint64_t limit, int want_zip64_end,
			    int zip64_local)
{
	size_t n = 0, off = 0;
	unsigned char *b = slurp(p, &n);
	int members = 0;
	if (!UT_CHECK(b != NULL))
		return;
	while (off + 30 <= n && rd32(b + off) == 0x04034b50) {
		const unsigned char *h = b + off;
		uint32_t nl = rd16(h + 26), xl = rd16(h + 28);
		UT_EQ_INT(rd16(h + 8), method);
		UT_EQ_INT(xl, 20);
		const unsigned char *x = h + 30 + nl;
		UT_EQ_INT(rd16(x), 1); /* ZIP64 extra id, always (force_zip64) */
		UT_EQ_INT(rd16(x + 2), 16);
		uint64_t usz = rd64(x + 4), csz = rd64(x + 12);
		int big = zip64_local || usz > limit || csz > limit;
		UT_EQ_INT(h[4], big ? 45 : 20);
		UT_EQ_INT(rd32(h + 18), big ? 0xffffffffu : csz);
		UT_EQ_INT(rd32(h + 22), big ? 0xffffffffu : usz);
		const unsigned char *d = x + xl;
		unsigned char *raw = malloc(usz + 1);
		if (method == NPZW_STORED) {
			UT_EQ_INT(usz, csz);
			memcpy(raw, d, usz);
		} else {
			z_stream zs;
			memset(&zs, 0, sizeof zs);
			inflateInit2(&zs, -15);
			zs.next_in = (Bytef *)d;
			zs.avail_in = (uInt)csz;
			zs.next_out = raw;
			zs.avail_out = (uInt)usz + 1;
			UT_EQ_INT(inflate(&zs, Z_FINISH), Z_STREAM_END);
			UT_EQ_INT(zs.total_out, usz);
			inflateEnd(&zs);
		}
		UT_EQ_INT(crc32(crc32(0, Z_NULL, 0), raw, (uInt)usz), rd32(h + 14));
		UT_CHECK(memcmp(raw, "\x93NUMPY\x01\x00", 8) == 0);
		UT_EQ_INT((10 + rd16(raw + 8)) % 64, 0);
		free(raw);
		off = (size_t)(d - b) + csz;
		members++;
	}
	UT_EQ_INT(members, 7);
	UT_EQ_INT(rd32(b + off), 0x02014b50);
	/* central record: versions 4.5 with zip64_local, no extra while it fits */
	if (zip64_local) {
		UT_EQ_INT(b[off + 4], 45);
		UT_EQ_INT(b[off + 6], 45);
		UT_EQ_INT(rd16(b + off + 30), 0);
	}
	UT_EQ_INT(rd32(b + n - 22), 0x06054b50);
	UT_EQ_INT(rd16(b + n - 12), 7);
	if (want_zip64_end) {
		UT_EQ_INT(rd32(b + n - 22 - 20), 0x07064b50);
		UT_EQ_INT(rd32(b + n - 22 - 20 - 56), 0x06064b50);
		UT_EQ_INT(rd64(b + n - 22 - 20 - 56 + 48), off); /* cd offset */
	}
	UT_EQ_INT(rd32(b + n - 6), off); /* fits in 32 bits here: kept, as zipfile */
	free(b);
}

static void test_header(void)
{
	char h[1200];
	int64_t s[2] = {3, 140};
	size_t n = npzw_npy_header(h, sizeof h, "<f4", 2, s, 0);
	UT_EQ_INT(n, 128);
	UT_CHECK(memcmp(h + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 140), }", 61) == 0);
	UT_EQ_INT(h[n - 1], '\n');
	n = npzw_npy_header(h, sizeof h, "<i8", 1, s, 0);
	UT_CHECK(n == 128 && memcmp(h + 10 + 41, "'shape': (3,), }", 16) == 0);
	/* Fortran order: the flag (the spare space, sized by the last axis, is
	 * checked against numpy's own bytes in test_python) */
	s[0] = 1000000, s[1] = 2;
	n = npzw_npy_header(h, sizeof h, "<i8", 2, s, 1);
	UT_CHECK(n == 128 && memcmp(h + 10, "{'descr': '<i8', 'fortran_order': True, 'shape': (1000000, 2), }", 64) == 0);
	s[0] = 3, s[1] = 140;
	n = npzw_npy_header(h, sizeof h, "<i4", 0, s, 0);
	UT_EQ_INT(n, 128); /* no growth padding for 0-d, but 69 bytes > 64 */
	UT_CHECK(memcmp(h + 10 + 41, "'shape': (), }", 14) == 0);
	UT_EQ_INT(npzw_itemsize("|u1"), 1);
	UT_EQ_INT(npzw_itemsize("<i8"), 8);
	UT_EQ_INT(npzw_itemsize("O"), 0);
}

static void test_errors(void)
{
	char p[512], err[600];
	int64_t s[1] = {4};
	int32_t v[4] = {1, 2, 3, 4};
	npzw_t *z;
	path(p, sizeof p, "bad.npz");
	z = npzw_open(p);
	UT_CHECK(z != NULL);
	UT_EQ_INT(npzw_begin(z, "a", "O", 1, s, NPZW_STORED), -1);
	UT_CHECK(strstr(npzw_error(z), "unsupported dtype") != NULL);
	UT_EQ_INT(npzw_close(z, err, sizeof err), -1);
	UT_CHECK(strstr(err, "unsupported dtype") != NULL);
	UT_CHECK(access(p, F_OK) != 0);

	z = npzw_open(p);
	UT_EQ_INT(npzw_begin(z, "a", "<i4", 1, s, NPZW_DEFLATE), 0);
	UT_EQ_INT(npzw_write(z, v, 8), 0);
	UT_EQ_INT(npzw_end(z), -1); /* 8 bytes missing */
	UT_CHECK(strstr(npzw_error(z), "missing") != NULL);
	npzw_abort(z);

	z = npzw_open(p);
	UT_EQ_INT(npzw_set_level(z, 10), -1);
	UT_CHECK(strstr(npzw_error(z), "zlib level 10") != NULL);
	npzw_abort(z);

	z = npzw_open(p);
	UT_EQ_INT(npzw_set_engine(z, 7), -1);
	UT_CHECK(strstr(npzw_error(z), "unknown DEFLATE engine 7") != NULL);
	npzw_abort(z);

	z = npzw_open(p);
	if (npzw_have_isal()) {
		UT_EQ_INT(npzw_set_engine(z, NPZW_ISAL), 0);
		UT_EQ_INT(npzw_set_level(z, 4), -1);   /* ISA-L's levels end at 3 */
		UT_CHECK(strstr(npzw_error(z), "ISA-L level 4 not in 0..3") != NULL);
	} else {
		UT_EQ_INT(npzw_set_engine(z, NPZW_ISAL), -1);
		UT_CHECK(strstr(npzw_error(z), "without ISA-L") != NULL);
	}
	npzw_abort(z);

	z = npzw_open(p);
	UT_EQ_INT(npzw_begin(z, "a", "<i4", 1, s, NPZW_STORED), 0);
	UT_EQ_INT(npzw_write(z, v, 20), -1); /* too much */
	npzw_abort(z);
	UT_CHECK(access(p, F_OK) != 0);
	{
		/* no temporary left behind */
		char cmd[600];
		snprintf(cmd, sizeof cmd, "ls %s | grep -q tmp", dir);
		UT_CHECK(system(cmd) != 0);
	}
	UT_CHECK(npzw_open("/nonexistent-dir/x.npz") == NULL);
}

static const char *pyscript =
	"import sys, zipfile, io, time, numpy as np\n"
	"d = sys.argv[1]\n"
	"exp = dict(\n"
	"  node_feat=(np.arange(3*140, dtype=np.float32)*np.float32(0.5)-np.float32(17.25)).reshape(3,140),\n"
	"  edge_index=(np.arange(10, dtype=np.int64)*1000000007-3).reshape(5,2),\n"
	"  edge_f=np.asfortranarray((np.arange(10, dtype=np.int64)*1000000007-3).reshape(5,2)),\n"
	"  node_opcode=(np.arange(7)*37).astype(np.uint8),\n"
	"  scalar=np.array(-42, dtype=np.int32),\n"
	"  empty=np.zeros((0,140), np.float32),\n"
	"  node_config_feat=((np.arange(18000)//3 + np.arange(18000)%5)%7-1).astype(np.float32).reshape(1000,18))\n"
	"bad = 0\n"
	"import os\n"
	"names = ['stored.npz','deflate.npz','zip64.npz','local64.npz','level1.npz']\n"
	"isal = [n for n in ('isal1.npz','isal3.npz') if os.path.exists(d + '/' + n)]\n"
	"for name in names + isal:\n"
	"  p = d + '/' + name\n"
	"  with zipfile.ZipFile(p) as zf:\n"
	"    if zf.testzip() is not None: print(name, 'testzip failed'); bad += 1\n"
	"  with np.load(p) as f:\n"
	"    if list(f.keys()) != list(exp.keys()): print(name, 'keys', list(f.keys())); bad += 1\n"
	"    for k, v in exp.items():\n"
	"      a = f[k]\n"
	"      if a.dtype != v.dtype or a.shape != v.shape or a.tobytes('A') != v.tobytes('A') or a.flags.f_contiguous != v.flags.f_contiguous:\n"
	"        print(name, k, 'differs', a.dtype, a.shape); bad += 1\n"
	"# numpy's own writer, clock pinned to 1980-01-01 00:00:00\n"
	"class T:\n"
	"  time = staticmethod(lambda: 0.0)\n"
	"  localtime = staticmethod(lambda t=None: (1980,1,1,0,0,0,1,1,0))\n"
	"zipfile.time = T\n"
	"for name, fn in (('stored.npz', np.savez), ('deflate.npz', np.savez_compressed)):\n"
	"  b = io.BytesIO(); fn(b, **exp)\n"
	"  mine = open(d + '/' + name, 'rb').read()\n"
	"  if b.getvalue() != mine:\n"
	"    print(name, 'bytes differ from numpy', len(b.getvalue()), len(mine)); bad += 1\n"
	"# the published files' local headers: only the header fields differ\n"
	"a, b = open(d + '/deflate.npz', 'rb').read(), open(d + '/local64.npz', 'rb').read()\n"
	"if len(a) != len(b) or sum(x != y for x, y in zip(a, b)) > 7 * 12 + 7 * 4:\n"
	"  print('local64.npz differs from deflate.npz beyond the headers'); bad += 1\n"
	"if open(d + '/level1.npz', 'rb').read() == a:\n"
	"  print('level1.npz: the same bytes as level 6'); bad += 1\n"
	"# ISA-L's DEFLATE: other bytes than zlib's at the same level, and its levels differ\n"
	"if isal and open(d + '/isal1.npz', 'rb').read() == open(d + '/level1.npz', 'rb').read():\n"
	"  print('isal1.npz: zlib level 1 bytes'); bad += 1\n"
	"if isal and open(d + '/isal1.npz', 'rb').read() == open(d + '/isal3.npz', 'rb').read():\n"
	"  print('isal3.npz: the same bytes as level 1'); bad += 1\n"
	"print('pyok' if bad == 0 else 'pybad')\n";

static void test_python(void)
{
	char cmd[1024], sp[512], line[256];
	FILE *f, *pp;
	int ok = 0;
	if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) {
		const char *ci = getenv("CI");
		if (ci && strcmp(ci, "true") == 0) {
			UT_CHECK(!"python3-numpy missing under CI");
		} else {
			fprintf(stderr, "test_npzw: skip numpy checks: python3-numpy not installed\n");
		}
		return;
	}
	path(sp, sizeof sp, "check.py");
	f = fopen(sp, "w");
	fputs(pyscript, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s 2>&1", sp, dir);
	pp = popen(cmd, "r");
	while (fgets(line, sizeof line, pp)) {
		if (strcmp(line, "pyok\n") == 0)
			ok = 1;
		else
			fprintf(stderr, "python: %s", line);
	}
	UT_EQ_INT(pclose(pp), 0);
	UT_CHECK(ok);
}

int main(void)
{
	char p[512], cmd[600];
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/test_npzw.XXXXXX", t ? t : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	fill();
	UT_RUN(test_header);
	path(p, sizeof p, "stored.npz");
	if (write_set(p, NPZW_STORED, 0, 0) == 0)
		check_structure(p, NPZW_STORED, (1u << 31) - 1, 0, 0);
	path(p, sizeof p, "deflate.npz");
	if (write_set(p, NPZW_DEFLATE, 0, 0) == 0)
		check_structure(p, NPZW_DEFLATE, (1u << 31) - 1, 0, 0);
	/* true ZIP64 records (central extras, end records) with a lowered limit */
	path(p, sizeof p, "zip64.npz");
	if (write_set(p, NPZW_STORED, 100, 0) == 0)
		check_structure(p, NPZW_STORED, 100, 1, 0);
	/* the published files' ZIP64 local headers; zlib level 1 */
	path(p, sizeof p, "local64.npz");
	if (write_set(p, NPZW_DEFLATE, 0, SET_ZIP64_LOCAL) == 0)
		check_structure(p, NPZW_DEFLATE, (1u << 31) - 1, 0, 1);
	path(p, sizeof p, "level1.npz");
	if (write_set(p, NPZW_DEFLATE, 0, SET_LEVEL1) == 0)
		check_structure(p, NPZW_DEFLATE, (1u << 31) - 1, 0, 0);
	/* ISA-L's engine: any inflater reads it, the CRCs are right (zlib's
	 * inflate and crc32 in check_structure, numpy and testzip in python) */
	if (npzw_have_isal()) {
		path(p, sizeof p, "isal1.npz");
		if (write_set(p, NPZW_DEFLATE, 0, SET_ISAL | SET_LEVEL1) == 0)
			check_structure(p, NPZW_DEFLATE, (1u << 31) - 1, 0, 0);
		path(p, sizeof p, "isal3.npz");
		if (write_set(p, NPZW_DEFLATE, 0, SET_ISAL | SET_LEVEL3) == 0)
			check_structure(p, NPZW_DEFLATE, (1u << 31) - 1, 0, 0);
	}
	UT_RUN(test_errors);
	UT_RUN(test_python);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_npzw: could not remove %s\n", dir);
	return ut_done("test_npzw");
}
