/* test_csv: the Kaggle submission reader (on buffers, as the fuzzer calls
 * it) and the atomic writer. */
#include "ut.h"
#include "ut_files.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "csv.h"

static int parse(const char *s, csv_t *c, char *err, size_t errlen)
{
	return csv_parse(s, strlen(s), c, err, errlen);
}

static int field_is(const char *p, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(p, want, n) == 0;
}

static void test_good(void)
{
	csv_t c;
	char err[256] = "";
	const char *s = "\xEF\xBB\xBF" "ID,TopConfigs\r\n"
			"tile:xla:abc,2;0;1;5;3\r\n"
			"\r\n"
			"\"layout:xla:random:r50\",\"1; 0 ;2\"\n"
			"layout:nlp:default:x,7";  /* no final newline */
	UT_EQ_INT(parse(s, &c, err, sizeof err), 0);
	UT_EQ_STR(err, "");
	UT_EQ_INT(c.n, 3);
	UT_CHECK(field_is(c.rows[0].id, c.rows[0].id_len, "tile:xla:abc"));
	UT_CHECK(field_is(c.rows[0].cfg, c.rows[0].cfg_len, "2;0;1;5;3"));
	UT_EQ_INT(c.rows[0].line, 2);
	UT_CHECK(field_is(c.rows[1].id, c.rows[1].id_len, "layout:xla:random:r50"));
	UT_EQ_INT(c.rows[1].line, 4);
	UT_CHECK(field_is(c.rows[2].cfg, c.rows[2].cfg_len, "7"));
	{
		int64_t *v;
		size_t n;
		UT_EQ_INT(csv_configs(c.rows[1].cfg, c.rows[1].cfg_len, &v, &n, err, sizeof err), 0);
		UT_EQ_INT(n, 3);
		UT_EQ_INT(v[0], 1);
		UT_EQ_INT(v[1], 0);
		UT_EQ_INT(v[2], 2);
		free(v);
	}
	csv_free(&c);
	/* header only: no rows, fine */
	UT_EQ_INT(parse("ID,TopConfigs\n", &c, err, sizeof err), 0);
	UT_EQ_INT(c.n, 0);
	csv_free(&c);
}

static void bad(const char *s, size_t len, const char *want)
{
	csv_t c;
	char err[256] = "";
	int rc = csv_parse(s, len, &c, err, sizeof err);
	UT_EQ_INT(rc, -1);
	if (!UT_CHECK(strstr(err, want) != NULL))
		fprintf(stderr, "  got \"%s\", want \"%s\"\n", err, want);
	UT_CHECK(c.rows == NULL && c.n == 0);
}

static void test_bad(void)
{
	bad("", 0, "no header");
	bad("\n\n", 2, "no header");
	bad("id,TopConfigs\n", 14, "line 1: header is not");
	bad("ID,TopConfigs,x\n", 16, "line 1: more than 2 fields");
	bad("ID,TopConfigs\nabc\n", 18, "line 2: one field");
	bad("ID,TopConfigs\n,1;2\n", 19, "line 2: empty ID");
	bad("ID,TopConfigs\n\"abc,1\n", 21, "line 2: unterminated quoted");
	bad("ID,TopConfigs\n\"a\"b,1\n", 21, "line 2: text after a quoted");
	bad("ID,TopConfigs\na\"b,1\n", 20, "line 2: a quote inside");
	bad("ID,TopConfigs\na\tb,1\n", 20, "line 2: control character");
	bad("ID,TopConfigs\nab,1\0;2\n", 22, "line 2: NUL");
	bad("ID,TopConfigs\nab,1\r2\n", 21, "line 2: NUL or stray CR");
}

static void cfg_bad(const char *s, const char *want)
{
	int64_t *v = (int64_t *)1;
	size_t n = 9;
	char err[256] = "";
	UT_EQ_INT(csv_configs(s, strlen(s), &v, &n, err, sizeof err), -1);
	UT_CHECK(v == NULL && n == 0);
	if (!UT_CHECK(strstr(err, want) != NULL))
		fprintf(stderr, "  \"%s\": got \"%s\", want \"%s\"\n", s, err, want);
}

static void test_configs(void)
{
	cfg_bad("", "no config index");
	cfg_bad("  ", "no config index");
	cfg_bad("1;;2", "empty config index at position 2");
	cfg_bad("1;2;", "empty config index at position 3");
	cfg_bad("1;-2", "bad character '-' at position 2");
	cfg_bad("1;2.5", "after config index 2");
	cfg_bad("1 2", "after config index 1");
	cfg_bad("99999999999999999999", "too large");
	cfg_bad("nan", "bad character 'n'");
	{
		int64_t *v;
		size_t n;
		char err[64], big[4096];
		size_t k = 0;
		for (int i = 0; i < 500; i++)
			k += (size_t)snprintf(big + k, sizeof big - k, "%s%d", i ? ";" : "", 499 - i);
		UT_EQ_INT(csv_configs(big, k, &v, &n, err, sizeof err), 0);
		UT_EQ_INT(n, 500);
		UT_EQ_INT(v[0], 499);
		UT_EQ_INT(v[499], 0);
		free(v);
		UT_EQ_INT(csv_configs("9007199254740992", 16, &v, &n, err, sizeof err), 0);
		UT_EQ_INT(v[0], CSV_MAX_INDEX);
		free(v);
	}
}


static void test_writer(void)
{
	char dir[] = "/tmp/test_csv.XXXXXX", path[128], *buf;
	int64_t a[] = {3, 1, 2}, b[] = {0};
	size_t len;
	csvw_t *w;
	csv_t c;
	char err[128];

	if (!UT_CHECK(mkdtemp(dir) != NULL))
		return;
	snprintf(path, sizeof path, "%s/sub.csv", dir);
	w = csvw_open(path);
	csvw_row(w, "layout:xla:random:g", a, 3);
	UT_CHECK(access(path, F_OK) != 0);  /* not there before the commit */
	UT_EQ_INT(ut_tmp_files(dir), 1);
	csvw_row(w, "tile:xla:k", b, 1);
	csvw_commit(w);
	UT_EQ_INT(ut_tmp_files(dir), 0);
	buf = csv_slurp(path, &len);
	UT_EQ_STR(buf, "ID,TopConfigs\nlayout:xla:random:g,3;1;2\ntile:xla:k,0\n");
	UT_EQ_INT(csv_parse(buf, len, &c, err, sizeof err), 0);
	UT_EQ_INT(c.n, 2);
	csv_free(&c);
	free(buf);

	/* abort leaves the old file and no temporary */
	w = csvw_open(path);
	csvw_row(w, "x", b, 1);
	csvw_abort(w);
	UT_EQ_INT(ut_tmp_files(dir), 0);
	buf = csv_slurp(path, &len);
	UT_CHECK(strstr(buf, "tile:xla:k,0") != NULL);
	free(buf);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	UT_RUN(test_good);
	UT_RUN(test_bad);
	UT_RUN(test_configs);
	UT_RUN(test_writer);
	return ut_done("test_csv");
}
