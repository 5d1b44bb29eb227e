/* Unit tests for lib/npz: the .npy header parser and the zip reader on the
 * committed fixtures (run from the repository root). */
#include "ut.h"
#include "err.h"
#include "npz.h"

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
	UT_EQ_INT(parse("{'descr': '<f4', 'fortran_order': True, 'shape': (3, 4), }", 1, &in, err, sizeof err), -1);
	UT_CHECK(strstr(err, "fortran_order") != NULL);
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

int main(void)
{
	setprogname("test_npz");
	UT_RUN(test_header);
	UT_RUN(test_fixtures);
	return ut_done("test_npz");
}
