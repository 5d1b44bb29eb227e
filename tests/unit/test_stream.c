/* Unit tests for lib/stream: tensors, records, pack/unpack, reader rules. */
#include "ut.h"
#include "err.h"
#include "stream.h"

#include <fcntl.h>
#include <unistd.h>

static void test_dtypes(void)
{
	dtype_t d;
	UT_EQ_INT(dtype_size(DT_F32), 4);
	UT_EQ_INT(dtype_size(DT_I64), 8);
	UT_EQ_INT(dtype_size(DT_U8), 1);
	UT_EQ_INT(dtype_parse("u32", 3, &d), 0);
	UT_EQ_INT(d, DT_U32);
	UT_EQ_INT(dtype_parse("f16", 3, &d), -1);
	UT_EQ_STR(dtype_name(DT_BOOL), "bool");
}

static void test_convert(void)
{
	char err[256];
	tensor_t *t = tensor_new1(DT_I64, 3), *c;
	((int64_t *)t->data)[0] = -5;
	((int64_t *)t->data)[1] = 7;
	((int64_t *)t->data)[2] = 2147483647;
	c = tensor_convert(t, DT_I32, err, sizeof err);
	UT_CHECK(c != NULL);
	if (c) {
		UT_EQ_INT(((int32_t *)c->data)[0], -5);
		UT_EQ_INT(((int32_t *)c->data)[2], 2147483647);
		tensor_free(c);
	}
	((int64_t *)t->data)[2] = 2147483648LL;
	c = tensor_convert(t, DT_I32, err, sizeof err);
	UT_CHECK(c == NULL);
	UT_CHECK(strstr(err, "out of range") != NULL);
	c = tensor_convert(t, DT_U8, err, sizeof err);
	UT_CHECK(c == NULL); /* -5 */
	tensor_free(t);

	t = tensor_new1(DT_F32, 2);
	((float *)t->data)[0] = 3.0f;
	((float *)t->data)[1] = 3.5f;
	c = tensor_convert(t, DT_I32, err, sizeof err);
	UT_CHECK(c == NULL);
	UT_CHECK(strstr(err, "not an integer") != NULL);
	((float *)t->data)[1] = NAN;
	c = tensor_convert(t, DT_I32, err, sizeof err);
	UT_CHECK(c == NULL);
	c = tensor_convert(t, DT_F64, err, sizeof err);
	UT_CHECK(c != NULL && ((double *)c->data)[0] == 3.0 && isnan(((double *)c->data)[1]));
	tensor_free(c);
	tensor_free(t);

	t = tensor_new1(DT_U64, 1);
	((uint64_t *)t->data)[0] = UINT64_MAX;
	c = tensor_convert(t, DT_I64, err, sizeof err);
	UT_CHECK(c == NULL);
	tensor_free(t);
}

static void test_roundtrip(void)
{
	char err[256];
	record_t *r = rec_new("graph"), *b;
	tensor_t *t = tensor_new2(DT_F32, 2, 3), *u;
	size_t len;
	void *buf;
	for (int i = 0; i < 6; i++)
		((float *)t->data)[i] = (float)i * 0.5f - 1.0f;
	rec_set_str(r, "id", "tile:xla:x");
	rec_set_int(r, "n_nodes", -42);
	rec_set_float(r, "w", 0.25);
	rec_set_bool(r, "flag", 1);
	rec_set_tensor(r, "node_feat", t);
	rec_set_raw(r, "extra", "\x92\x01\xa1x", 4); /* [1, "x"] */
	buf = rec_pack(r, &len);
	b = rec_unpack(buf, len, err, sizeof err);
	UT_CHECK(b != NULL);
	if (b) {
		int64_t v;
		double f;
		UT_EQ_STR(b->type, "graph");
		UT_EQ_STR(rec_str(b, "id"), "tile:xla:x");
		UT_CHECK(rec_int(b, "n_nodes", &v) && v == -42);
		UT_CHECK(rec_float(b, "w", &f) && f == 0.25);
		UT_CHECK(rec_get(b, "flag")->kind == V_BOOL);
		u = rec_tensor(b, "node_feat");
		UT_CHECK(u && u->ndim == 2 && u->shape[1] == 3 && u->dtype == DT_F32);
		UT_CHECK(u && memcmp(u->data, t->data, 24) == 0);
		UT_CHECK(rec_get(b, "extra")->kind == V_RAW);
		UT_CHECK(rec_get(b, "extra")->v.raw.len == 4 &&
			 memcmp(rec_get(b, "extra")->v.raw.bytes, "\x92\x01\xa1x", 4) == 0);
		/* field order preserved */
		UT_EQ_STR(b->f[0].key, "id");
		UT_EQ_STR(b->f[4].key, "node_feat");
		rec_free(b);
	}
	/* setters keep the position; del removes */
	rec_set_int(r, "id", 3);
	UT_EQ_STR(r->f[0].key, "id");
	rec_del(r, "w");
	UT_CHECK(rec_get(r, "w") == NULL);
	UT_EQ_STR(r->f[2].key, "flag");
	u = rec_take_tensor(r, "node_feat");
	UT_CHECK(u == t && rec_get(r, "node_feat") == NULL);
	tensor_free(u);
	free(buf);
	rec_free(r);
	/* malformed */
	UT_CHECK(rec_unpack("\x91\x01", 2, err, sizeof err) == NULL);
	UT_CHECK(rec_unpack("\x81\xa1t\x01", 4, err, sizeof err) == NULL);
	UT_CHECK(rec_unpack("\x81\xa1t", 3, err, sizeof err) == NULL);
	/* tensor data shorter than shape */
	{
		static const char bad[] = "\x82\xa1t\xa1g\xa1x\x83\xa5" "dtype\xa3u32\xa5shape\x91\x02\xa4"
					  "data\xc4\x04" "abcd";
		UT_CHECK(rec_unpack(bad, sizeof bad - 1, err, sizeof err) == NULL);
	}
	UT_CHECK(strstr(err, "needs 8") != NULL);
}

/* Write records through a pipe and read them back. */
static int read_all(const void *buf, size_t len, int *nrec, char *err, size_t errlen)
{
	int p[2];
	sreader_t *sr;
	record_t *r;
	int rc;
	if (pipe(p) != 0)
		return -9;
	if (write(p[1], buf, len) != (ssize_t)len)
		return -9;
	close(p[1]);
	sr = sr_open_fd(p[0], "test");
	*nrec = 0;
	while ((rc = sr_read(sr, &r, err, errlen)) == SR_OK) {
		(*nrec)++;
		rec_free(r);
	}
	close(p[0]);
	sr_close(sr);
	return rc;
}

static void test_reader(void)
{
	char path[] = "/tmp/test_stream_XXXXXX", err[512];
	int fd = mkstemp(path), n;
	swriter_t *sw;
	record_t *h = header_new(), *g = rec_new("graph"), *c = rec_new("configs");
	char *buf;
	off_t len;

	header_append(h, "test", 0, NULL);
	rec_set_str(g, "id", "a");
	rec_set_str(c, "id", "a");
	rec_set_int(c, "count", 5);
	sw = sw_open_fd(fd, path);
	sw_write(sw, h);
	sw_write(sw, g);
	sw_write(sw, c);
	sw_write(sw, c);
	sw_end(sw);
	sw_close(sw);
	fd = open(path, 0);
	len = lseek(fd, 0, SEEK_END);
	buf = xmalloc((size_t)len);
	UT_CHECK(pread(fd, buf, (size_t)len, 0) == len);
	close(fd);
	unlink(path);

	UT_EQ_INT(read_all(buf, (size_t)len, &n, err, sizeof err), SR_DONE);
	UT_EQ_INT(n, 5);
	/* cut anywhere: an error, never a clean end */
	for (off_t cut = 0; cut < len; cut++) {
		int rc = read_all(buf, (size_t)cut, &n, err, sizeof err);
		/* nothing at all is "empty input", not a cut-off stream */
		if (!UT_CHECK(rc == SR_EDATA && strstr(err, cut ? "truncated" : "empty input")))
			break;
	}
	/* a byte after the end */
	{
		char *b2 = xmalloc((size_t)len + 1);
		memcpy(b2, buf, (size_t)len);
		b2[len] = (char)0xc0;
		UT_EQ_INT(read_all(b2, (size_t)len + 1, &n, err, sizeof err), SR_EDATA);
		UT_CHECK(strstr(err, "after the end") != NULL);
		free(b2);
	}
	/* no header first */
	UT_EQ_INT(read_all("\x81\xa1t\xa3" "end", 7, &n, err, sizeof err), SR_EDATA);
	UT_CHECK(strstr(err, "not a header") != NULL);
	/* malformed byte 0xc1 */
	UT_EQ_INT(read_all("\xc1", 1, &n, err, sizeof err), SR_EDATA);
	UT_CHECK(strstr(err, "malformed") != NULL && strstr(err, "record 0") != NULL);
	free(buf);
	rec_free(h);
	rec_free(g);
	rec_free(c);
}

static void test_end_counts(void)
{
	/* an end record whose counts disagree with the stream is refused */
	record_t *h = header_new(), *e = rec_new("end");
	size_t l1, l2;
	void *b1, *b2;
	char buf[4096], err[512];
	int n;
	rec_set_int(e, "records", 7);
	b1 = rec_pack(h, &l1);
	b2 = rec_pack(e, &l2);
	memcpy(buf, b1, l1);
	memcpy(buf + l1, b2, l2);
	UT_EQ_INT(read_all(buf, l1 + l2, &n, err, sizeof err), SR_EDATA);
	UT_CHECK(strstr(err, "records=7") != NULL);
	free(b1);
	free(b2);
	rec_free(h);
	rec_free(e);
}

int main(void)
{
	setprogname("test_stream");
	UT_RUN(test_dtypes);
	UT_RUN(test_convert);
	UT_RUN(test_roundtrip);
	UT_RUN(test_reader);
	UT_RUN(test_end_counts);
	return ut_done("test_stream");
}
