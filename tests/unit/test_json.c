/* Unit tests for lib/json: escaping, UTF-8 repair, number round trips,
 * base64, and the one-line / pretty layouts. */
#include "json.h"
#include "ut.h"

#include <stdint.h>

/* Capture what fn writes through a writer into a malloc'd string. */
static char *capture_str(const char *s, size_t len, int ascii)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&buf, &n);
	json_write_string(fp, s, len, ascii);
	fclose(fp);
	return buf;
}

static int str_is(const char *s, size_t len, int ascii, const char *want)
{
	char *got = capture_str(s, len, ascii);
	int ok = strcmp(got, want) == 0;
	if (!ok)
		fprintf(stderr, "  got  %s\n  want %s\n", got, want);
	free(got);
	return ok;
}

static void test_escapes(void)
{
	UT_CHECK(str_is("", 0, 0, "\"\""));
	UT_CHECK(str_is("plain text", 10, 0, "\"plain text\""));
	UT_CHECK(str_is("a\"b\\c/d", 7, 0, "\"a\\\"b\\\\c/d\""));
	UT_CHECK(str_is("\b\f\n\r\t", 5, 0, "\"\\b\\f\\n\\r\\t\""));
	UT_CHECK(str_is("\x01\x1f\x7f", 3, 0, "\"\\u0001\\u001f\\u007f\""));
	/* an embedded NUL is kept, escaped */
	UT_CHECK(str_is("a\0b", 3, 0, "\"a\\u0000b\""));
	/* every control character is escaped: nothing below 0x20 is left raw */
	{
		char in[32], *got;
		int i, raw = 0;
		for (i = 0; i < 32; i++)
			in[i] = (char)i;
		got = capture_str(in, 32, 0);
		for (i = 1; got[i + 1]; i++)
			raw += (unsigned char)got[i] < 0x20;
		UT_EQ_INT(raw, 0);
		free(got);
	}
}

static void test_utf8(void)
{
	/* valid UTF-8 is copied, or escaped in ascii mode */
	UT_CHECK(str_is("caf\xc3\xa9", 5, 0, "\"caf\xc3\xa9\""));
	UT_CHECK(str_is("caf\xc3\xa9", 5, 1, "\"caf\\u00e9\""));
	UT_CHECK(str_is("\xe2\x82\xac", 3, 1, "\"\\u20ac\""));
	UT_CHECK(str_is("\xef\xbf\xbf", 3, 1, "\"\\uffff\""));
	/* U+1F600 as a surrogate pair; U+10FFFF the last code point */
	UT_CHECK(str_is("\xf0\x9f\x98\x80", 4, 1, "\"\\ud83d\\ude00\""));
	UT_CHECK(str_is("\xf4\x8f\xbf\xbf", 4, 1, "\"\\udbff\\udfff\""));
	UT_CHECK(str_is("\xf0\x9f\x98\x80", 4, 0, "\"\xf0\x9f\x98\x80\""));
	/* invalid: lone continuation, bytes that never start a sequence */
	UT_CHECK(str_is("a\x80z", 3, 0, "\"a\\ufffdz\""));
	UT_CHECK(str_is("\xc0\xaf", 2, 0, "\"\\ufffd\\ufffd\""));       /* overlong '/' */
	UT_CHECK(str_is("\xff\xfe", 2, 0, "\"\\ufffd\\ufffd\""));
	/* surrogates encoded in UTF-8 are ill-formed: ED A0 80 -> 3 x FFFD */
	UT_CHECK(str_is("\xed\xa0\x80", 3, 0, "\"\\ufffd\\ufffd\\ufffd\""));
	/* past U+10FFFF */
	UT_CHECK(str_is("\xf4\x90\x80\x80", 4, 0, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""));
	/* truncated sequences: one FFFD per maximal subpart */
	UT_CHECK(str_is("\xe2\x82", 2, 0, "\"\\ufffd\""));
	UT_CHECK(str_is("\xf0\x9f\x98", 3, 1, "\"\\ufffd\""));
	UT_CHECK(str_is("\xe2\x82x", 3, 0, "\"\\ufffdx\""));
	/* The Unicode Standard's example (ch. 3, "U+FFFD Substitution of
	 * Maximal Subparts"): 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 */
	UT_CHECK(str_is("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64", 13, 0,
			"\"a\\ufffd\\ufffd\\ufffdb\\ufffdc\\ufffd\\ufffdd\""));
}

static int f64_is(double v, const char *want)
{
	char buf[JSON_NUMBUF];
	size_t n = json_fmt_f64(buf, v);
	int ok = strcmp(buf, want) == 0 && n == strlen(want);
	if (!ok)
		fprintf(stderr, "  f64 %.17g: got %s want %s\n", v, buf, want);
	return ok;
}

static int f32_is(float v, const char *want)
{
	char buf[JSON_NUMBUF];
	size_t n = json_fmt_f32(buf, v);
	int ok = strcmp(buf, want) == 0 && n == strlen(want);
	if (!ok)
		fprintf(stderr, "  f32 %.9g: got %s want %s\n", (double)v, buf, want);
	return ok;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next64(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_numbers(void)
{
	int i, bad64 = 0, bad32 = 0;

	UT_CHECK(f64_is(0.0, "0"));
	UT_CHECK(f64_is(-0.0, "-0"));
	UT_CHECK(f64_is(1.0, "1"));
	UT_CHECK(f64_is(-42.0, "-42"));
	UT_CHECK(f64_is(0.1, "0.1"));
	UT_CHECK(f64_is(1.0 / 3.0, "0.3333333333333333"));
	UT_CHECK(f64_is(1e15, "1e+15"));
	UT_CHECK(f64_is(999999999999999.0, "999999999999999"));
	UT_CHECK(f64_is(1e300, "1e+300"));
	UT_CHECK(f64_is(5e-324, "4.94065645841247e-324"));
	UT_CHECK(f64_is(NAN, "\"NaN\""));
	UT_CHECK(f64_is(INFINITY, "\"Infinity\""));
	UT_CHECK(f64_is(-INFINITY, "\"-Infinity\""));

	UT_CHECK(f32_is(0.0f, "0"));
	UT_CHECK(f32_is(-0.0f, "-0"));
	UT_CHECK(f32_is(0.1f, "0.1"));
	UT_CHECK(f32_is(1.0f / 3.0f, "0.33333334"));
	UT_CHECK(f32_is(16777216.0f, "16777216"));
	UT_CHECK(f32_is(3.4028234663852886e38f, "3.4028235e+38"));
	UT_CHECK(f32_is(1e-45f, "1.4013e-45"));
	UT_CHECK(f32_is(NAN, "\"NaN\""));
	UT_CHECK(f32_is(-INFINITY, "\"-Infinity\""));

	/* random bit patterns read back exactly, and the text is a JSON
	 * number: optional '-', digits, optional fraction and exponent */
	for (i = 0; i < 200000; i++) {
		uint64_t b = next64();
		uint32_t b32 = (uint32_t)(b >> 32);
		double d;
		float f;
		char buf[JSON_NUMBUF];
		memcpy(&d, &b, 8);
		memcpy(&f, &b32, 4);
		if (isfinite(d)) {
			json_fmt_f64(buf, d);
			if (strtod(buf, NULL) != d || strspn(buf, "-0123456789.e+") != strlen(buf))
				bad64++;
		}
		if (isfinite(f)) {
			json_fmt_f32(buf, f);
			if (strtof(buf, NULL) != f || strlen(buf) > 15 ||
			    strspn(buf, "-0123456789.e+") != strlen(buf))
				bad32++;
		}
	}
	UT_EQ_INT(bad64, 0);
	UT_EQ_INT(bad32, 0);
}

/* Run a writer over a memstream and compare the whole output. */
typedef void (*writer_fn)(json_t *);

static int layout_is(writer_fn fn, int indent, const char *want)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&buf, &n);
	json_t j;
	int ok;

	json_init(&j, fp, indent, 0);
	fn(&j);
	json_free(&j);
	fclose(fp);
	ok = strcmp(buf, want) == 0;
	if (!ok)
		fprintf(stderr, "  got:\n%s\n  want:\n%s\n", buf, want);
	free(buf);
	return ok;
}

static void write_record_ok(json_t *j)
{
	json_obj_begin(j, 0);
	json_key(j, "t");
	json_str(j, "graph");
	json_key(j, "n");
	json_int(j, INT64_MIN);
	json_key(j, "u");
	json_uint(j, UINT64_MAX);
	json_key(j, "h");
	json_arr_begin(j, 0);
	json_obj_begin(j, 0);
	json_key(j, "argv");
	json_arr_begin(j, 1);
	json_str(j, "a");
	json_str(j, "b");
	json_arr_end(j);
	json_obj_end(j);
	json_arr_end(j);
	json_key(j, "x");
	json_obj_begin(j, 1);
	json_key(j, "shape");
	json_arr_begin(j, 0);
	json_int(j, 2);
	json_int(j, 3);
	json_arr_end(j);
	json_key(j, "mean");
	json_f64(j, 0.5);
	json_obj_end(j);
	json_key(j, "e");
	json_arr_begin(j, 0);
	json_arr_end(j);
	json_key(j, "b");
	json_base64(j, "foobar", 6);
	json_obj_end(j);
	json_newline(j);
	json_arr_begin(j, 0);
	json_arr_end(j);
	json_newline(j);
}

static void test_layout(void)
{
	UT_CHECK(layout_is(write_record_ok, 0,
		"{\"t\": \"graph\", \"n\": -9223372036854775808, \"u\": 18446744073709551615, "
		"\"h\": [{\"argv\": [\"a\", \"b\"]}], \"x\": {\"shape\": [2, 3], \"mean\": 0.5}, "
		"\"e\": [], \"b\": \"Zm9vYmFy\"}\n[]\n"));
	UT_CHECK(layout_is(write_record_ok, 2,
		"{\n"
		"  \"t\": \"graph\",\n"
		"  \"n\": -9223372036854775808,\n"
		"  \"u\": 18446744073709551615,\n"
		"  \"h\": [\n"
		"    {\n"
		"      \"argv\": [\"a\", \"b\"]\n"
		"    }\n"
		"  ],\n"
		"  \"x\": {\"shape\": [2, 3], \"mean\": 0.5},\n"
		"  \"e\": [],\n"
		"  \"b\": \"Zm9vYmFy\"\n"
		"}\n[]\n"));
}

static int b64_is(const char *in, const char *want)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&buf, &n);
	json_t j;
	int ok;
	json_init(&j, fp, 0, 0);
	json_base64(&j, in, strlen(in));
	json_free(&j);
	fclose(fp);
	ok = n == strlen(want) + 2 && buf[0] == '"' && strncmp(buf + 1, want, strlen(want)) == 0;
	if (!ok)
		fprintf(stderr, "  base64(%s): got %s want \"%s\"\n", in, buf, want);
	free(buf);
	return ok;
}

static void test_base64(void)
{
	/* RFC 4648 section 10 */
	UT_CHECK(b64_is("", ""));
	UT_CHECK(b64_is("f", "Zg=="));
	UT_CHECK(b64_is("fo", "Zm8="));
	UT_CHECK(b64_is("foo", "Zm9v"));
	UT_CHECK(b64_is("foob", "Zm9vYg=="));
	UT_CHECK(b64_is("fooba", "Zm9vYmE="));
	UT_CHECK(b64_is("foobar", "Zm9vYmFy"));
	UT_CHECK(b64_is("\xff\xfe\xfd", "//79"));
}

static void test_deep(void)
{
	/* nesting deeper than the initial state grows it */
	char *buf = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&buf, &n);
	json_t j;
	int i, depth = 100, ok = 1;
	json_init(&j, fp, 0, 0);
	for (i = 0; i < depth; i++)
		json_arr_begin(&j, 0);
	json_int(&j, 7);
	for (i = 0; i < depth; i++)
		json_arr_end(&j);
	json_newline(&j);
	json_free(&j);
	fclose(fp);
	for (i = 0; i < depth; i++)
		ok &= buf[i] == '[' && buf[depth + 1 + i] == ']';
	UT_CHECK(ok);
	UT_EQ_INT(buf[depth], '7');
	UT_EQ_INT(n, 2 * depth + 2);
	UT_EQ_INT(buf[n - 1], '\n');
	free(buf);
}

int main(void)
{
	UT_RUN(test_escapes);
	UT_RUN(test_utf8);
	UT_RUN(test_numbers);
	UT_RUN(test_layout);
	UT_RUN(test_base64);
	UT_RUN(test_deep);
	return ut_done("test_json");
}
