/* Unit tests for lib/npz: the .npy header parser and the zip reader on the
 * committed fixtures (run from the repository root). */
#include "ut.h"
#include "err.h"
#include "npz.h"

#include <stdint.h>

static int parse(const char *dict, int major, npy_info_t *info, char *err, size_t n)
{
	unsigned char buf[512];
	size_t hl = strlen(dict), start = major == 1 ? 10 : 12;
	memcpy(buf, "\x93NUMPY", 6);
	buf[6] = (unsigned char)major;
	buf[7] = 0;
	buf[8] = (unsigned char)(hl & 0xff);
	buf[9] = (unsigned char)(hl >> 8);
	if (major != 1)
		buf[10] = buf[11] = 0;
	memcpy(buf + start, dict, hl);
	return npy_parse_header(buf, start + hl, info, err, n);
}

static void test_header(void)
{
	npy_info_t in;
	char err[256];
	UT_EQ_INT(parse("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 140), }   \n", 1, &in, err, sizeof err), 0);
	UT_EQ_INT(in.dtype, DT_F32);
	UT_EQ_INT(in.ndim, 2);
	UT_EQ_INT(in.shape[1], 140);
	UT_EQ_INT(in.numel, 420);
	UT_EQ_INT(in.data_start, 10 + strlen("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 140), }   \n"));
	UT_EQ_INT(parse("{'descr': '|u1', 'fortran_order': False, 'shape': (7,), }", 2, &in, err, sizeof err), 0);
	UT_EQ_INT(in.dtype, DT_U8);
	UT_EQ_INT(in.ndim, 1);
	UT_EQ_INT(in.data_start, 12 + 57);
	UT_EQ_INT(parse("{\"descr\": \">i8\", \"fortran_order\": False, \"shape\": ()}", 3, &in, err, sizeof err), 0);
	UT_EQ_INT(in.ndim, 0);
	UT_EQ_INT(in.numel, 1);
	UT_EQ_INT(in.swap, 1);
	UT_EQ_INT(parse("{'descr': '<f4', 'fortran_order': True, 'shape': (3, 4), }", 1, &in, err, sizeof err), 0);
	UT_EQ_INT(in.fortran, 1);
	UT_EQ_INT(in.numel, 12);
	UT_EQ_INT(parse("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 1, &in, err, sizeof err), 0);
	UT_EQ_INT(in.fortran, 0);
	UT_EQ_INT(parse("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (3, 4), }", 1, &in, err, sizeof err), -1);
	UT_EQ_INT(parse("{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", 1, &in, err, sizeof err), -1);
	UT_CHECK(strstr(err, "object") != NULL);
	UT_EQ_INT(parse("{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }", 1, &in, err, sizeof err), -1);
	UT_CHECK(strstr(err, "unsupported dtype '<f2'") != NULL);
	UT_EQ_INT(parse("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }", 1, &in, err, sizeof err), -1);
	UT_CHECK(strstr(err, "negative") != NULL);
	UT_EQ_INT(parse("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", 1, &in, err, sizeof err), -1);
	UT_CHECK(strstr(err, "overflow") != NULL);
	UT_EQ_INT(parse("{'descr': '<f4', 'shape': (3,), }", 1, &in, err, sizeof err), -1);
	UT_CHECK(strstr(err, "fortran_order") != NULL);
	UT_EQ_INT(parse("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }", 1, &in, err, sizeof err), -1);
	UT_CHECK(strstr(err, "structured") != NULL);
	UT_EQ_INT(parse("{'descr' '<f4'}", 1, &in, err, sizeof err), -1);
	UT_EQ_INT(parse("{'descr': '<f4', 'fortran_order': False, 'shape': (1,2,3,4,5,6,7,8,9), }", 1, &in, err, sizeof err), -1);
	UT_EQ_INT(npy_parse_header((const unsigned char *)"\x93NUMPZ\x01\x00\x00\x00", 10, &in, err, sizeof err), -1);
	UT_CHECK(strstr(err, "magic") != NULL);
	/* header length past the buffer */
	UT_EQ_INT(npy_parse_header((const unsigned char *)"\x93NUMPY\x01\x00\xff\x00{", 11, &in, err, sizeof err), -1);
}

static void test_fixtures(void)
{
	char err[256];
	int io;
	npz_t *z = npz_open("tests/fixtures/npz/npz/tile/xla/train/deflate.npz", err, sizeof err, &io);
	UT_CHECK(z != NULL);
	if (!z)
		return;
	UT_EQ_INT(npz_count(z), 6);
	UT_CHECK(npz_has(z, "config_feat"));
	UT_CHECK(!npz_has(z, "config_feat.npy"));
	{
		tensor_t *t = npz_read(z, "node_opcode", DT_I64, err, sizeof err, &io);
		UT_CHECK(t && t->dtype == DT_I64 && t->numel == 6 && ((int64_t *)t->data)[2] == 26);
		tensor_free(t);
	}
	{
		/* rows: forward reads on a DEFLATE member, and the refusal to go back */
		npz_rows_t *r = npz_rows_open(z, "config_feat", err, sizeof err, &io);
		tensor_t *all = npz_read(z, "config_feat", DT__N, err, sizeof err, &io), *a, *b;
		UT_CHECK(r && all);
		a = npz_rows_read(r, 1, 2, DT_F32, err, sizeof err, &io);
		b = npz_rows_read(r, 5, 2, DT_F32, err, sizeof err, &io);
		UT_CHECK(a && b && a->shape[0] == 2 && a->shape[1] == 24);
		UT_CHECK(a && memcmp(a->data, (float *)all->data + 24, 2 * 24 * 4) == 0);
		UT_CHECK(b && memcmp(b->data, (float *)all->data + 5 * 24, 2 * 24 * 4) == 0);
		UT_CHECK(npz_rows_read(r, 0, 1, DT_F32, err, sizeof err, &io) == NULL);
		UT_CHECK(strstr(err, "in order") != NULL);
		UT_CHECK(npz_rows_read(r, 6, 2, DT_F32, err, sizeof err, &io) == NULL);
		tensor_free(a);
		tensor_free(b);
		tensor_free(all);
		npz_rows_close(r);
	}
	npz_close(z);
	z = npz_open("tests/fixtures/bad/npz/notzip.npz", err, sizeof err, &io);
	UT_CHECK(z == NULL && io == 0 && strstr(err, "not a zip"));
	z = npz_open("tests/fixtures/does-not-exist.npz", err, sizeof err, &io);
	UT_CHECK(z == NULL && io == 1);
}

/* Every KEY_F of an order fixture (tests/tools/mkorder.py) against its
 * KEY_C: whole (as stored and converted) and by rows in blocks of 1, 2 and
 * 3, forwards then from the top again.  inmem: the row reader's in-memory
 * limit (0: the gather path, from the .npz or a temp file).  Returns how
 * many members were really stored in Fortran order. */
static int check_order(const char *path, uint64_t inmem)
{
	char err[256];
	int io, nf = 0;
	npz_t *z = npz_open(path, err, sizeof err, &io);
	UT_CHECK(z != NULL);
	if (!z)
		return 0;
	npz_set_fortran_inmem(z, inmem);
	for (size_t i = 0; i < npz_count(z); i++) {
		char ckey[128];
		const char *key = npz_key(z, i);
		size_t kl = strlen(key);
		npy_info_t fi;
		tensor_t *c, *f, *c64, *f64;
		if (kl < 2 || strcmp(key + kl - 2, "_F") != 0)
			continue;
		snprintf(ckey, sizeof ckey, "%.*s_C", (int)(kl - 2), key);
		UT_EQ_INT(npz_info(z, key, &fi, err, sizeof err), 0);
		nf += fi.fortran;
		c = npz_read(z, ckey, DT__N, err, sizeof err, &io);
		f = npz_read(z, key, DT__N, err, sizeof err, &io);
		UT_CHECK(c && f);
		if (!c || !f) {
			printf("  %s: %s\n", key, err);
			tensor_free(c);
			tensor_free(f);
			continue;
		}
		UT_EQ_INT(f->dtype, c->dtype);
		UT_EQ_INT(f->ndim, c->ndim);
		UT_CHECK(memcmp(f->shape, c->shape, sizeof f->shape) == 0);
		if (f->nbytes != c->nbytes || memcmp(f->data, c->data, c->nbytes) != 0) {
			printf("  %s: %s differs from %s\n", path, key, ckey);
			UT_CHECK(0);
		}
		c64 = npz_read(z, ckey, DT_F64, err, sizeof err, &io);
		f64 = npz_read(z, key, DT_F64, err, sizeof err, &io);
		UT_CHECK(c64 && f64 && memcmp(c64->data, f64->data, c64->nbytes) == 0);
		tensor_free(c64);
		tensor_free(f64);
		for (uint64_t step = 1; c->ndim >= 1 && step <= 3; step++) {
			/* a fresh reader per pass: C-order DEFLATE cannot go back */
			npz_rows_t *r = npz_rows_open(z, key, err, sizeof err, &io);
			size_t rowbytes = c->shape[0] ? c->nbytes / (size_t)c->shape[0] : 0;
			uint64_t n0 = (uint64_t)c->shape[0];
			tensor_t *t;
			UT_CHECK(r != NULL);
			if (!r) {
				printf("  %s: %s: %s\n", path, key, err);
				break;
			}
			for (uint64_t at = 0; at < n0 || (n0 == 0 && at == 0); at += step) {
				uint64_t k = n0 - at < step ? n0 - at : step;
				t = npz_rows_read(r, at, k, DT__N, err, sizeof err, &io);
				UT_CHECK(t != NULL);
				if (!t) {
					printf("  %s: %s rows %llu+%llu: %s\n", path, key,
					       (unsigned long long)at, (unsigned long long)k, err);
					break;
				}
				UT_CHECK(t->ndim == c->ndim && (uint64_t)t->shape[0] == k &&
					 memcmp((char *)c->data + at * rowbytes, t->data, t->nbytes) == 0);
				tensor_free(t);
				if (n0 == 0)
					break;
			}
			/* Fortran members may go back, whatever the method */
			if (fi.fortran && fi.ndim >= 2 && n0 > 0) {
				t = npz_rows_read(r, 0, 1, DT__N, err, sizeof err, &io);
				UT_CHECK(t && memcmp(c->data, t->data, rowbytes) == 0);
				tensor_free(t);
			}
			npz_rows_close(r);
		}
		tensor_free(c);
		tensor_free(f);
	}
	npz_close(z);
	return nf;
}

static void test_fortran(void)
{
	static const char *files[] = {"tests/fixtures/npzorder/order_stored.npz",
				      "tests/fixtures/npzorder/order_deflate.npz",
				      "tests/fixtures/npzorder/order_npsave.npz"};
	char err[256];
	int io, nf[3];
	for (int i = 0; i < 3; i++) {
		nf[i] = check_order(files[i], (uint64_t)64 << 20);
		UT_EQ_INT(check_order(files[i], 0), nf[i]);  /* the large-array paths */
	}
	/* numpy writes Fortran order only where the orders differ (rank >= 2,
	 * no 0-size dim, ...); order_npsave.npz says it for every KEY_F */
	UT_EQ_INT(nf[0], 37);
	UT_EQ_INT(nf[1], 37);
	UT_EQ_INT(nf[2], 109);

	/* a flipped data byte: caught whole, at open (in memory), after the
	 * last row read in order (gathered in place) */
	{
		const char *bad = "tests/fixtures/npzorder/order_badcrc.npz";
		npz_t *z = npz_open(bad, err, sizeof err, &io);
		npz_rows_t *r;
		tensor_t *t;
		int failed = 0;
		UT_CHECK(z != NULL);
		if (!z)
			return;
		UT_CHECK(npz_read(z, "big_F", DT__N, err, sizeof err, &io) == NULL && strstr(err, "CRC-32"));
		t = npz_read(z, "big_C", DT__N, err, sizeof err, &io);
		UT_CHECK(t != NULL);
		tensor_free(t);
		UT_CHECK(npz_rows_open(z, "big_F", err, sizeof err, &io) == NULL && strstr(err, "CRC-32"));
		npz_set_fortran_inmem(z, 0);
		r = npz_rows_open(z, "big_F", err, sizeof err, &io);
		UT_CHECK(r != NULL);
		for (uint64_t at = 0; r && at < 40; at += 7) {
			t = npz_rows_read(r, at, 40 - at < 7 ? 40 - at : 7, DT__N, err, sizeof err, &io);
			if (!t) {
				failed = 1;
				UT_EQ_INT(at, 35);  /* the last block */
				UT_CHECK(strstr(err, "CRC-32 mismatch") != NULL && io == 0);
				break;
			}
			tensor_free(t);
		}
		UT_CHECK(failed);
		npz_rows_close(r);
		/* rows out of order: no CRC to check, the values are read */
		r = npz_rows_open(z, "big_F", err, sizeof err, &io);
		t = r ? npz_rows_read(r, 1, 39, DT__N, err, sizeof err, &io) : NULL;
		UT_CHECK(t != NULL);
		tensor_free(t);
		npz_rows_close(r);
		npz_close(z);
	}
	/* DEFLATE beyond the in-memory limit needs a temp file: a bad TMPDIR is
	 * a system error */
	{
		npz_t *z = npz_open(files[1], err, sizeof err, &io);
		const char *old = getenv("TMPDIR");
		char *keep = old ? xstrdup(old) : NULL;
		UT_CHECK(z != NULL);
		if (!z)
			return;
		npz_set_fortran_inmem(z, 0);
		setenv("TMPDIR", "/nonexistent-dir-for-test_npz", 1);
		UT_CHECK(npz_rows_open(z, "big_F", err, sizeof err, &io) == NULL && io == 1 &&
			 strstr(err, "temporary file in /nonexistent-dir-for-test_npz"));
		if (keep)
			setenv("TMPDIR", keep, 1);
		else
			unsetenv("TMPDIR");
		free(keep);
		npz_close(z);
	}
}

/* npz_rows_read_into: the same values as npz_rows_read, in the caller's
 * tensor, through growing, shrinking, converting and byte-swapping reads. */
static void test_read_into(void)
{
	static const struct { const char *file, *key; dtype_t want; } cases[] = {
		{"tests/fixtures/npzorder/order_stored.npz", "big_C", DT__N},   /* pread */
		{"tests/fixtures/npzorder/order_deflate.npz", "big_C", DT_F32}, /* inflate */
		{"tests/fixtures/npzorder/order_deflate.npz", "big_F", DT_F64}, /* Fortran, converted */
		{"tests/fixtures/npzorder/order_stored.npz", "bef8_4x3x5_C", DT_F32}, /* swapped, converted */
		{"tests/fixtures/npzorder/order_stored.npz", "lei8_7x3_C", DT__N},
	};
	static const uint64_t steps[] = {3, 9, 1, 12, 2, 40};  /* grow, shrink, grow */
	char err[256];
	int io;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		npz_t *z = npz_open(cases[i].file, err, sizeof err, &io);
		npz_rows_t *a, *b;
		tensor_t *reuse;
		uint64_t at = 0, n0;
		UT_CHECK(z != NULL);
		if (!z)
			continue;
		a = npz_rows_open(z, cases[i].key, err, sizeof err, &io);
		b = npz_rows_open(z, cases[i].key, err, sizeof err, &io);
		UT_CHECK(a && b);
		if (!a || !b) {
			npz_rows_close(a);
			npz_rows_close(b);
			npz_close(z);
			continue;
		}
		n0 = (uint64_t)npz_rows_info(a)->shape[0];
		reuse = tensor_new1(DT_U8, 5);  /* any dtype and size to start with */
		for (size_t k = 0; at < n0; k = (k + 1) % 6) {
			uint64_t n = n0 - at < steps[k] ? n0 - at : steps[k];
			tensor_t *want = npz_rows_read(a, at, n, cases[i].want, err, sizeof err, &io);
			tensor_t *got = npz_rows_read_into(b, at, n, cases[i].want, reuse, err, sizeof err, &io);
			UT_CHECK(want && got == reuse);
			if (!want || got != reuse) {
				tensor_free(want);
				break;
			}
			UT_EQ_INT(got->dtype, want->dtype);
			UT_EQ_INT(got->ndim, want->ndim);
			UT_EQ_INT(got->numel, want->numel);
			UT_EQ_INT(got->nbytes, want->nbytes);
			UT_CHECK(memcmp(got->shape, want->shape, sizeof got->shape) == 0);
			UT_CHECK(memcmp(got->data, want->data, want->nbytes) == 0);
			tensor_free(want);
			at += n;
		}
		UT_EQ_INT(at, n0);
		/* a failed read leaves reuse the caller's */
		UT_CHECK(npz_rows_read_into(b, n0, 1, DT__N, reuse, err, sizeof err, &io) == NULL);
		tensor_free(reuse);
		npz_rows_close(a);
		npz_rows_close(b);
		npz_close(z);
	}
}

/* npz_rows_view: rows of a STORED C-order member straight from the mapped
 * file, equal to npz_rows_read; every other member is declined with an
 * empty message, so the caller reads it instead. */
static void test_view(void)
{
	char err[256];
	int io, nview = 0, ndeclined = 0;
	npz_t *z = npz_open("tests/fixtures/npzorder/order_stored.npz", err, sizeof err, &io);
	npz_t *zd = npz_open("tests/fixtures/npzorder/order_deflate.npz", err, sizeof err, &io);
	UT_CHECK(z && zd);
	if (!z || !zd)
		return;
	for (size_t i = 0; i < npz_count(z); i++) {
		const char *key = npz_key(z, i);
		npz_rows_t *r = npz_rows_open(z, key, err, sizeof err, &io);
		npz_rows_t *q = npz_rows_open(z, key, err, sizeof err, &io);
		const npy_info_t *in = r ? npz_rows_info(r) : NULL;
		UT_CHECK(r && q);
		if (!r || !q)
			continue;
		uint64_t rows = in->ndim ? (uint64_t)in->shape[0] : 0;
		int viewable = !in->fortran && !in->swap;
		for (uint64_t at = 0; at < rows || at == 0; at += 2) {
			uint64_t k = rows - at < 2 ? rows - at : 2;
			tensor_t *v = npz_rows_view(r, at, k, DT__N, err, sizeof err, &io);
			tensor_t *t = npz_rows_read(q, at, k, DT__N, err, sizeof err, &io);
			if (!viewable || !v) {
				/* declined: another order, another byte order, or data
				 * that does not lie at a multiple of the item size */
				UT_CHECK(v == NULL && err[0] == '\0');
				ndeclined += viewable;
			} else {
				UT_CHECK(t && v->borrowed && v->nbytes == t->nbytes &&
					 (uintptr_t)v->data % in->itemsize == 0 &&
					 memcmp(v->shape, t->shape, sizeof v->shape) == 0 &&
					 memcmp(v->data, t->data, t->nbytes) == 0);
				nview++;
			}
			tensor_free(v);
			tensor_free(t);
			if (rows == 0)
				break;
		}
		/* a conversion is declined, not done */
		if (viewable && in->dtype != DT_F64 && rows)
			UT_CHECK(npz_rows_view(r, 0, 1, DT_F64, err, sizeof err, &io) == NULL && !err[0]);
		npz_rows_close(r);
		npz_rows_close(q);
	}
	/* zip does not align members: some C-order members of this file lie at
	 * a multiple of their item size and are viewed, the others declined */
	UT_CHECK(nview > 10);
	UT_CHECK(ndeclined > 10);
	for (size_t i = 0; i < npz_count(zd); i++) {
		npz_rows_t *r = npz_rows_open(zd, npz_key(zd, i), err, sizeof err, &io);
		if (r && npz_rows_info(r)->ndim)
			UT_CHECK(npz_rows_view(r, 0, 0, DT__N, err, sizeof err, &io) == NULL && !err[0]);
		npz_rows_close(r);
	}
	npz_close(z);
	npz_close(zd);
}

int main(void)
{
	setprogname("test_npz");
	UT_RUN(test_header);
	UT_RUN(test_fixtures);
	UT_RUN(test_fortran);
	UT_RUN(test_read_into);
	UT_RUN(test_view);
	return ut_done("test_npz");
}
