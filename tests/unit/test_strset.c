/* test_strset: the string set (add, duplicates, growth) and str_hash, the
 * project's one string hash: FNV-1a's step with the offset basis it has
 * always had here (values from a Python transcription of that loop). */
#include "ut.h"
#include "strset.h"

#include <stdio.h>

static void test_hash(void)
{
	UT_CHECK(str_hash("") == 0x14650fb0739d0383ull);
	UT_CHECK(str_hash("a") == 0x44bd8ad473cd9906ull);
	UT_CHECK(str_hash("foobar") == 0x88fad7c0a8ff07f2ull);
}

static void test_set(void)
{
	strset_t st = { 0 };
	char key[32];
	for (int i = 0; i < 1000; i++) {   /* grows past its first 64 slots */
		snprintf(key, sizeof key, "graph-%d", i);
		UT_EQ_INT(strset_add(&st, key), 1);
	}
	UT_EQ_INT(st.n, 1000);
	for (int i = 0; i < 1000; i += 7) {
		snprintf(key, sizeof key, "graph-%d", i);
		UT_EQ_INT(strset_add(&st, key), 0);
	}
	UT_EQ_INT(st.n, 1000);
	UT_EQ_INT(strset_add(&st, ""), 1);
	UT_EQ_INT(strset_add(&st, ""), 0);
	strset_free(&st);
	UT_EQ_INT(st.n, 0);
	UT_EQ_INT(strset_add(&st, "again"), 1);
	strset_free(&st);
}

int main(void)
{
	UT_RUN(test_hash);
	UT_RUN(test_set);
	return ut_done("test_strset");
}
