/* test_pb: the protobuf wire decoder.  Byte strings are written out by hand
 * from the encoding rules (https://protobuf.dev/programming-guides/encoding),
 * and checked against what `protoc --decode_raw` makes of them where noted. */
#include "pb.h"
#include "ut.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Read one field from bytes; returns pb_next's code. */
static int one(const char *bytes, size_t n, pb_field_t *f, pb_err_t *e)
{
	pb_msg_t m = pb_msg(bytes, n);
	return pb_next(&m, f, e);
}

static void test_varint(void)
{
	const uint8_t *p;
	uint64_t v;
	static const uint8_t b150[] = { 0x96, 0x01 };
	p = b150;
	UT_EQ_INT(pb_read_varint(&p, b150 + 2, &v), 0);
	UT_EQ_INT(v, 150);
	UT_CHECK(p == b150 + 2);
	/* 2^64 - 1: ten bytes, the last 0x01 */
	static const uint8_t max[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	p = max;
	UT_EQ_INT(pb_read_varint(&p, max + 10, &v), 0);
	UT_CHECK(v == UINT64_MAX);
	/* -1 as int64 is the same ten bytes */
	UT_EQ_INT(pb_int64(v), -1);
	UT_EQ_INT(pb_int32(v), -1);
	/* a 10th byte above 1 overflows 64 bits */
	static const uint8_t over[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
	p = over;
	UT_EQ_INT(pb_read_varint(&p, over + 10, &v), -1);
	UT_CHECK(p == over);  /* not advanced on failure */
	/* eleven bytes */
	static const uint8_t eleven[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
	p = eleven;
	UT_EQ_INT(pb_read_varint(&p, eleven + 11, &v), -1);
	/* truncated: continuation bit on the last byte */
	p = b150;
	UT_EQ_INT(pb_read_varint(&p, b150 + 1, &v), -1);
	/* empty */
	p = b150;
	UT_EQ_INT(pb_read_varint(&p, b150, &v), -1);
	/* non-minimal encodings are valid: 0x80 0x00 is 0 */
	static const uint8_t nm[] = { 0x80, 0x00 };
	p = nm;
	UT_EQ_INT(pb_read_varint(&p, nm + 2, &v), 0);
	UT_EQ_INT(v, 0);
}

static void test_zigzag(void)
{
	UT_EQ_INT(pb_zigzag64(0), 0);
	UT_EQ_INT(pb_zigzag64(1), -1);
	UT_EQ_INT(pb_zigzag64(2), 1);
	UT_EQ_INT(pb_zigzag64(3), -2);
	UT_CHECK(pb_zigzag64(UINT64_MAX - 1) == INT64_MAX);
	UT_CHECK(pb_zigzag64(UINT64_MAX) == INT64_MIN);
	UT_EQ_INT(pb_zigzag32(0xfffffffeu), INT32_MAX);
	UT_EQ_INT(pb_zigzag32(0xffffffffu), INT32_MIN);
	UT_EQ_INT(pb_zigzag32(5), -3);
}

static void test_fields(void)
{
	pb_field_t f;
	pb_err_t e;
	/* 08 96 01: field 1 varint 150 (decode_raw: "1: 150") */
	UT_EQ_INT(one("\x08\x96\x01", 3, &f, &e), 1);
	UT_EQ_INT(f.num, 1);
	UT_EQ_INT(f.wt, PB_VARINT);
	UT_EQ_INT(f.v, 150);
	UT_EQ_INT(f.offset, 0);
	/* 12 07 "testing": field 2 length-delimited */
	UT_EQ_INT(one("\x12\x07testing", 9, &f, &e), 1);
	UT_EQ_INT(f.num, 2);
	UT_EQ_INT(f.wt, PB_LEN);
	UT_EQ_INT(f.len, 7);
	UT_CHECK(memcmp(f.data, "testing", 7) == 0);
	char buf[16];
	UT_EQ_STR(pb_str(&f, buf, sizeof buf), "testing");
	UT_EQ_STR(pb_str(&f, buf, 4), "tes");  /* truncated, NUL-terminated */
	/* fixed32 field 3 (0x1d) = 1.5f; fixed64 field 4 (0x21) = -2.25 */
	UT_EQ_INT(one("\x1d\x00\x00\xc0\x3f", 5, &f, &e), 1);
	UT_EQ_INT(f.wt, PB_I32);
	UT_NEAR(pb_float(f.v), 1.5, 0);
	UT_EQ_INT(one("\x21\x00\x00\x00\x00\x00\x00\x02\xc0", 9, &f, &e), 1);
	UT_EQ_INT(f.wt, PB_I64);
	UT_NEAR(pb_double(f.v), -2.25, 0);
	/* field numbers past one byte: field 800 varint 1 = 80 32 01 */
	UT_EQ_INT(one("\x80\x32\x01", 3, &f, &e), 1);
	UT_EQ_INT(f.num, 800);
	/* the largest field number, 2^29 - 1: tag f8 ff ff ff 0f */
	UT_EQ_INT(one("\xf8\xff\xff\xff\x0f\x00", 6, &f, &e), 1);
	UT_EQ_INT(f.num, PB_MAX_FIELD);
	/* one past it */
	UT_EQ_INT(one("\x80\x80\x80\x80\x10\x00", 6, &f, &e), -1);
	UT_CHECK(strstr(e.msg, "bad field number") != NULL);
	/* field number 0 */
	UT_EQ_INT(one("\x00\x01", 2, &f, &e), -1);
	UT_CHECK(strstr(e.msg, "bad field number 0 at byte 0") != NULL);
	/* wire types 6 and 7 */
	UT_EQ_INT(one("\x0e\x01", 2, &f, &e), -1);
	UT_CHECK(strstr(e.msg, "invalid wire type 6 at byte 0") != NULL);
	UT_EQ_INT(one("\x0f", 1, &f, &e), -1);
	UT_CHECK(strstr(e.msg, "invalid wire type 7") != NULL);
	/* an empty message ends at once */
	UT_EQ_INT(one("", 0, &f, &e), 0);
}

static void test_truncation(void)
{
	pb_field_t f;
	pb_err_t e;
	/* length 7 but 3 bytes left */
	UT_EQ_INT(one("\x12\x07tes", 5, &f, &e), -1);
	UT_CHECK(strstr(e.msg, "field 2: length 7 at byte 0 runs past the end of its message (byte 5)") != NULL);
	/* a huge length cannot wrap the pointer */
	UT_EQ_INT(one("\x12\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 10, &f, &e), -1);
	UT_CHECK(strstr(e.msg, "runs past the end") != NULL);
	/* fixed64 with 3 bytes */
	UT_EQ_INT(one("\x21\x01\x02\x03", 4, &f, &e), -1);
	UT_CHECK(strstr(e.msg, "truncated fixed64 at byte 1") != NULL);
	UT_EQ_INT(one("\x1d\x01", 2, &f, &e), -1);
	UT_CHECK(strstr(e.msg, "truncated fixed32") != NULL);
	/* a varint value cut off */
	UT_EQ_INT(one("\x08\x96", 2, &f, &e), -1);
	UT_CHECK(strstr(e.msg, "value: truncated varint at byte 1") != NULL);
	/* a tag cut off */
	UT_EQ_INT(one("\x80", 1, &f, &e), -1);
	UT_CHECK(strstr(e.msg, "tag: truncated varint at byte 0") != NULL);
	/* a varint over 64 bits */
	UT_EQ_INT(one("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11, &f, &e), -1);
	UT_CHECK(strstr(e.msg, "overflows 64 bits") != NULL);
	/* every prefix of a valid message either ends cleanly at a field
	 * boundary or fails; none reads past the prefix (ASan checks that) */
	static const char msg[] = "\x08\x96\x01\x12\x07testing\x1d\x00\x00\xc0\x3f"
				  "\x1b\x08\x01\x1c\x22\x03\x01\x02\x03";
	size_t n = sizeof msg - 1;
	size_t clean = 0;
	for (size_t k = 0; k <= n; k++) {
		char *copy = malloc(k ? k : 1);
		memcpy(copy, msg, k);
		pb_msg_t m = pb_msg(copy, k);
		int rc;
		while ((rc = pb_next(&m, &f, &e)) == 1)
			;
		clean += rc == 0;
		free(copy);
	}
	/* the boundaries: 0, 3, 12, 17, 21 (the group), 26 */
	UT_EQ_INT(clean, 6);
}

static void test_nested_offsets(void)
{
	/* 1 { 2: 5 3 { 4: "ab" } } : 0a 08 10 05 1a 04 22 02 61 62 */
	static const char b[] = "\x0a\x08\x10\x05\x1a\x04\x22\x02\x61\x62";
	pb_msg_t top = pb_msg(b, 10), a, c;
	pb_field_t f, g, h;
	pb_err_t e;
	UT_EQ_INT(pb_next(&top, &f, &e), 1);
	a = pb_sub(&top, &f);
	UT_EQ_INT(pb_offset(&a), 2);
	UT_EQ_INT(pb_next(&a, &g, &e), 1);
	UT_EQ_INT(g.num, 2);
	UT_EQ_INT(g.v, 5);
	UT_EQ_INT(g.offset, 2);
	UT_EQ_INT(pb_next(&a, &g, &e), 1);
	UT_EQ_INT(g.offset, 4);
	c = pb_sub(&a, &g);
	UT_EQ_INT(pb_next(&c, &h, &e), 1);
	UT_EQ_INT(h.num, 4);
	UT_EQ_INT(h.offset, 6);
	UT_EQ_INT(h.len, 2);
	UT_EQ_INT(pb_next(&c, &h, &e), 0);
	UT_EQ_INT(pb_next(&a, &g, &e), 0);
	UT_EQ_INT(pb_next(&top, &f, &e), 0);
	/* a nested length that runs past its parent (but not the buffer) */
	static const char bad[] = "\x0a\x02\x12\x05\x00\x00\x00\x00\x00";
	top = pb_msg(bad, 9);
	UT_EQ_INT(pb_next(&top, &f, &e), 1);
	a = pb_sub(&top, &f);
	UT_EQ_INT(pb_next(&a, &g, &e), -1);
	UT_CHECK(strstr(e.msg, "field 2: length 5 at byte 2 runs past the end of its message (byte 4)") != NULL);
}

static void test_groups(void)
{
	pb_field_t f;
	pb_err_t e;
	/* 1003 { 1: 5 7 { } } then 2: 1 -- decode_raw prints the group as 1003 { ... } */
	static const char g[] = "\xdb\x3e\x08\x05\x3b\x3c\xdc\x3e\x10\x01";
	pb_msg_t m = pb_msg(g, 10);
	UT_EQ_INT(pb_next(&m, &f, &e), 1);
	UT_EQ_INT(f.num, 1003);
	UT_EQ_INT(f.wt, PB_SGROUP);
	UT_EQ_INT(f.len, 4);  /* 08 05 3b 3c */
	UT_EQ_INT(pb_next(&m, &f, &e), 1);
	UT_EQ_INT(f.num, 2);
	UT_EQ_INT(f.v, 1);
	UT_EQ_INT(pb_next(&m, &f, &e), 0);
	/* end tag of another field */
	UT_EQ_INT(one("\x0b\x08\x01\x14", 4, &f, &e), -1);
	UT_CHECK(strstr(e.msg, "end-group 2 at byte 3 does not match group 1") != NULL);
	/* no end tag */
	UT_EQ_INT(one("\x0b\x08\x01", 3, &f, &e), -1);
	UT_CHECK(strstr(e.msg, "no end-group tag") != NULL);
	/* a stray end tag */
	UT_EQ_INT(one("\x0c", 1, &f, &e), -1);
	UT_CHECK(strstr(e.msg, "end-group tag for field 1 at byte 0 without a group") != NULL);
	/* nesting deeper than PB_MAX_DEPTH is refused, not a stack overflow */
	size_t depth = 100000;
	char *deep = malloc(2 * depth);
	memset(deep, 0x0b, depth);
	memset(deep + depth, 0x0c, depth);
	UT_EQ_INT(one(deep, 2 * depth, &f, &e), -1);
	UT_CHECK(strstr(e.msg, "nested deeper") != NULL);
	free(deep);
	/* exactly PB_MAX_DEPTH levels are fine */
	char ok[2 * PB_MAX_DEPTH];
	memset(ok, 0x0b, PB_MAX_DEPTH);
	memset(ok + PB_MAX_DEPTH, 0x0c, PB_MAX_DEPTH);
	UT_EQ_INT(one(ok, sizeof ok, &f, &e), 1);
	UT_EQ_INT(f.len, 2 * PB_MAX_DEPTH - 2);
}

static void test_repeated(void)
{
	pb_field_t f;
	pb_err_t e;
	pb_i64vec_t v = { 0 };
	/* packed: 22 06 03 8e 02 9e a7 05 = [3, 270, 86942] */
	UT_EQ_INT(one("\x22\x06\x03\x8e\x02\x9e\xa7\x05", 8, &f, &e), 1);
	UT_EQ_INT(pb_append_varints(&v, &f, 0, "x", &e), 0);
	/* unpacked element of the same field appends */
	UT_EQ_INT(one("\x20\x07", 2, &f, &e), 1);
	UT_EQ_INT(pb_append_varints(&v, &f, 0, "x", &e), 0);
	UT_EQ_INT(v.n, 4);
	UT_EQ_INT(v.v[0], 3);
	UT_EQ_INT(v.v[1], 270);
	UT_EQ_INT(v.v[2], 86942);
	UT_EQ_INT(v.v[3], 7);
	/* packed sint64 (zigzag): 01 02 03 -> -1 1 -2 */
	v.n = 0;
	UT_EQ_INT(one("\x22\x03\x01\x02\x03", 5, &f, &e), 1);
	UT_EQ_INT(pb_append_varints(&v, &f, 1, "x", &e), 0);
	UT_EQ_INT(v.n, 3);
	UT_EQ_INT(v.v[0], -1);
	UT_EQ_INT(v.v[1], 1);
	UT_EQ_INT(v.v[2], -2);
	/* packed run cut inside a varint */
	UT_EQ_INT(one("\x22\x02\x03\x8e", 4, &f, &e), 1);
	UT_EQ_INT(pb_append_varints(&v, &f, 0, "dims", &e), -1);
	UT_CHECK(strstr(e.msg, "dims (field 4): packed varint at byte offset 1") != NULL);
	/* a fixed32 where varints are expected */
	UT_EQ_INT(one("\x25\x01\x00\x00\x00", 5, &f, &e), 1);
	UT_EQ_INT(pb_append_varints(&v, &f, 0, "ids", &e), -1);
	UT_CHECK(strstr(e.msg, "wire type fixed32 where varint was expected (wrong message type?)") != NULL);
	/* packed fixed32, signed: ff ff ff ff, 02 00 00 00 */
	v.n = 0;
	UT_EQ_INT(one("\x2a\x08\xff\xff\xff\xff\x02\x00\x00\x00", 10, &f, &e), 1);
	UT_EQ_INT(pb_append_fixed(&v, &f, PB_I32, 1, "x", &e), 0);
	UT_EQ_INT(v.n, 2);
	UT_EQ_INT(v.v[0], -1);
	UT_EQ_INT(v.v[1], 2);
	v.n = 0;
	UT_EQ_INT(pb_append_fixed(&v, &f, PB_I32, 0, "x", &e), 0);
	UT_EQ_INT(v.v[0], 4294967295LL);
	/* unpacked fixed64 */
	v.n = 0;
	UT_EQ_INT(one("\x29\x05\x00\x00\x00\x00\x00\x00\x00", 9, &f, &e), 1);
	UT_EQ_INT(pb_append_fixed(&v, &f, PB_I64, 1, "x", &e), 0);
	UT_EQ_INT(v.v[0], 5);
	/* packed fixed run not a multiple of the width */
	UT_EQ_INT(one("\x2a\x03\x01\x02\x03", 5, &f, &e), 1);
	UT_EQ_INT(pb_append_fixed(&v, &f, PB_I32, 1, "x", &e), -1);
	UT_CHECK(strstr(e.msg, "not a multiple of 4") != NULL);
	/* an empty packed run adds nothing */
	v.n = 0;
	UT_EQ_INT(one("\x22\x00", 2, &f, &e), 1);
	UT_EQ_INT(pb_append_varints(&v, &f, 0, "x", &e), 0);
	UT_EQ_INT(v.n, 0);
	/* many elements grow the vector */
	for (int i = 0; i < 1000; i++)
		pb_vec_push(&v, i);
	UT_EQ_INT(v.n, 1000);
	UT_EQ_INT(v.v[999], 999);
	pb_vec_free(&v);
	UT_CHECK(v.v == NULL && v.n == 0);
}

static void test_expect(void)
{
	pb_field_t f;
	pb_err_t e;
	UT_EQ_INT(one("\x08\x01", 2, &f, &e), 1);
	UT_EQ_INT(pb_expect(&f, PB_VARINT, "x", &e), 0);
	UT_EQ_INT(pb_expect(&f, PB_LEN, "shape", &e), -1);
	UT_CHECK(strstr(e.msg, "shape (field 1) at byte 0: wire type varint where length-delimited was expected") != NULL);
}

/* Unknown fields of every wire type are skipped and the known ones after
 * them still read. */
static void test_skip_unknown(void)
{
	static const char b[] =
		"\xa0\x1f\x07"                          /* 500: 7 */
		"\xad\x1f\x01\x02\x03\x04"              /* 501: fixed32 */
		"\xb1\x1f\x01\x02\x03\x04\x05\x06\x07\x08" /* 502: fixed64 */
		"\xba\x1f\x02\x68\x69"                  /* 503: "hi" */
		"\xc3\x1f\x08\x01\xc4\x1f"              /* 504 { 1: 1 } group */
		"\x08\x2a";                             /* 1: 42 */
	pb_msg_t m = pb_msg(b, sizeof b - 1);
	pb_field_t f;
	pb_err_t e;
	int rc, found = 0, n = 0;
	while ((rc = pb_next(&m, &f, &e)) == 1) {
		n++;
		if (f.num == 1) {
			UT_EQ_INT(f.v, 42);
			found = 1;
		}
	}
	UT_EQ_INT(rc, 0);
	UT_EQ_INT(n, 6);
	UT_CHECK(found);
}

/* Random bytes: never a crash, never a read out of bounds (run under
 * ASan by `make test-asan`), and the reader always makes progress. */
static void test_random(void)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;
	size_t fails = 0, total = 0;
	int progress = 1;
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = (size_t)(iter % 64);
		uint8_t *b = malloc(n ? n : 1);
		for (size_t i = 0; i < n; i++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			b[i] = (uint8_t)s;
		}
		pb_msg_t m = pb_msg(b, n);
		pb_field_t f;
		pb_err_t e;
		int rc, steps = 0;
		while ((rc = pb_next(&m, &f, &e)) == 1) {
			pb_i64vec_t v = { 0 };
			if (f.wt == PB_LEN || f.wt == PB_VARINT)
				(void)pb_append_varints(&v, &f, iter & 1, "x", &e);
			pb_vec_free(&v);
			if (f.wt == PB_LEN) {
				pb_msg_t sub = pb_sub(&m, &f);
				pb_field_t g;
				while (pb_next(&sub, &g, &e) == 1)
					;
			}
			if (++steps > 64)
				break;
		}
		progress &= steps <= 64;
		fails += rc < 0;
		total++;
		free(b);
	}
	UT_CHECK(progress);
	/* most random strings are not protobufs, some are */
	UT_CHECK(fails > total / 4 && fails < total);
}

int main(void)
{
	UT_RUN(test_varint);
	UT_RUN(test_zigzag);
	UT_RUN(test_fields);
	UT_RUN(test_truncation);
	UT_RUN(test_nested_offsets);
	UT_RUN(test_groups);
	UT_RUN(test_repeated);
	UT_RUN(test_expect);
	UT_RUN(test_skip_unknown);
	UT_RUN(test_random);
	return ut_done("test_pb");
}
