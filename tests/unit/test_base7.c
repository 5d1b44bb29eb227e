/* Unit tests for lib/base7: packing, unpacking, row hashing and grouping. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base7.h"
#include "ut.h"

static uint64_t rng_state = 88172645463325252ULL;
static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static void test_known_codes(void)
{
	float v[6] = {-1, -1, -1, -1, -1, -1};
	uint32_t c;
	UT_EQ_INT(b7_pack(&c, v, 1), -1);
	UT_EQ_INT(c, 0);
	for (int s = 0; s < 6; s++)
		v[s] = 5;
	UT_EQ_INT(b7_pack(&c, v, 1), -1);
	UT_EQ_INT(c, B7_NCODES - 1);
	/* slot 0 is the least significant digit */
	float w[6] = {0, -1, -1, -1, -1, -1};
	UT_EQ_INT(b7_pack(&c, w, 1), -1);
	UT_EQ_INT(c, 1);
	float x[6] = {-1, 0, -1, -1, -1, -1};
	UT_EQ_INT(b7_pack(&c, x, 1), -1);
	UT_EQ_INT(c, 7);
	/* a real layout block: minor-to-major (1, 0) padded with -1 */
	float y[6] = {1, 0, -1, -1, -1, -1};
	UT_EQ_INT(b7_pack(&c, y, 1), -1);
	UT_EQ_INT(c, 2 + 1 * 7);
	float z[6] = {3, 2, 1, 0, 4, 5};
	UT_EQ_INT(b7_pack(&c, z, 1), -1);
	UT_EQ_INT(c, 4 + 3 * 7 + 2 * 49 + 1 * 343 + 5 * 2401 + 6 * 16807);
}

static void test_every_code_round_trips(void)
{
	uint32_t *codes = malloc(B7_NCODES * sizeof *codes), *back = malloc(B7_NCODES * sizeof *back);
	float *vals = malloc(B7_NCODES * 6 * sizeof *vals);
	uint32_t i;
	int ok = 1;
	for (i = 0; i < B7_NCODES; i++)
		codes[i] = i;
	UT_EQ_INT(b7_unpack(vals, codes, B7_NCODES), -1);
	for (i = 0; i < B7_NCODES * 6; i++)
		ok &= vals[i] >= -1 && vals[i] <= 5 && vals[i] == floorf(vals[i]);
	UT_CHECK(ok);
	UT_EQ_INT(b7_pack(back, vals, B7_NCODES), -1);
	UT_CHECK(memcmp(codes, back, B7_NCODES * sizeof *codes) == 0);
	free(codes); free(back); free(vals);
}

static void test_random_values_bit_exact(void)
{
	enum { N = 4096 * 3 };  /* 4096 configurable nodes' worth */
	float *v = malloc(N * 6 * sizeof *v), *back = malloc(N * 6 * sizeof *back);
	uint32_t *c = malloc(N * sizeof *c);
	int i;
	for (i = 0; i < N * 6; i++)
		v[i] = (float)((int)rnd(7) - 1);
	UT_EQ_INT(b7_pack(c, v, N), -1);
	for (i = 0; i < N; i++)
		if (c[i] >= B7_NCODES)
			break;
	UT_EQ_INT(i, N);
	UT_EQ_INT(b7_unpack(back, c, N), -1);
	UT_CHECK(memcmp(v, back, N * 6 * sizeof *v) == 0);
	free(v); free(back); free(c);
}

static void test_bad_values(void)
{
	float bad[] = {6, -2, 0.5f, NAN, INFINITY, -INFINITY, 1e9f, -1.0001f};
	size_t k;
	for (k = 0; k < sizeof bad / sizeof *bad; k++) {
		float v[12] = {0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5};
		uint32_t c[2];
		v[9] = bad[k];
		UT_EQ_INT(b7_pack(c, v, 2), 9);
	}
	uint32_t codes[3] = {0, B7_NCODES, 5};
	float out[18];
	UT_EQ_INT(b7_unpack(out, codes, 3), 1);
	codes[1] = UINT32_MAX;
	UT_EQ_INT(b7_unpack(out, codes, 3), 1);
}

static void test_hash(void)
{
	uint32_t a[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, b[9];
	memcpy(b, a, sizeof a);
	UT_CHECK(b7_hash(a, 9) == b7_hash(b, 9));
	b[8] = 10;
	UT_CHECK(b7_hash(a, 9) != b7_hash(b, 9));
	b[8] = 9;
	b[0] = 2; b[1] = 1;  /* order matters */
	UT_CHECK(b7_hash(a, 9) != b7_hash(b, 9));
	UT_CHECK(b7_hash(a, 8) != b7_hash(a, 9));
	/* no collisions among all single codes */
	{
		uint64_t *h = malloc(B7_NCODES * sizeof *h);
		uint32_t i, dup = 0;
		for (i = 0; i < B7_NCODES; i++)
			h[i] = b7_hash(&i, 1);
		for (i = 1; i < B7_NCODES; i++)
			dup += h[i] == h[i - 1];
		UT_EQ_INT(dup, 0);
		free(h);
	}
}

static void test_group_rows(void)
{
	/* small alphabet and many rows: plenty of duplicates */
	size_t widths[] = {1, 3, 6, 30};
	size_t nrows[] = {0, 1, 2, 57, 3000};
	size_t wi, ni;
	for (wi = 0; wi < 4; wi++)
		for (ni = 0; ni < 5; ni++) {
			size_t w = widths[wi], n = nrows[ni], i, d1, d2;
			uint32_t *rows = malloc((n * w + 1) * sizeof *rows);
			int64_t *f1 = malloc((n + 1) * sizeof *f1), *f2 = malloc((n + 1) * sizeof *f2);
			for (i = 0; i < n * w; i++)
				rows[i] = rnd(w > 3 ? 2 : 4);
			/* some exact copies of earlier rows */
			for (i = 1; i < n; i += 3)
				memcpy(rows + i * w, rows + rnd((uint32_t)i) * w, w * sizeof *rows);
			d1 = b7_group_rows(rows, n, w, f1);
			d2 = b7_group_rows_naive(rows, n, w, f2);
			UT_EQ_INT(d1, d2);
			UT_CHECK(n == 0 || memcmp(f1, f2, n * sizeof *f1) == 0);
			free(rows); free(f1); free(f2);
		}
}

/* b7_symbols: the digits, slot 0 first; b7_unpack is those minus 1. */
static void test_symbols(void)
{
	/* values -1..4 in slots 0..5 -> digits 0..5 */
	uint32_t code = 0, p = 1;
	for (int s = 0; s < 6; s++, p *= 7)
		code += (uint32_t)s * p;
	uint32_t codes[2] = { code, 117648u };
	uint8_t sym[12];
	float v[12];
	UT_EQ_INT(b7_symbols(sym, codes, 2), -1);
	UT_EQ_INT(b7_unpack(v, codes, 2), -1);
	for (int s = 0; s < 6; s++) {
		UT_EQ_INT(sym[s], s);
		UT_EQ_INT(sym[6 + s], 6);
		UT_CHECK(v[s] == (float)(s - 1) && v[6 + s] == 5.0f);
	}
	uint32_t bad[3] = { 0, 117649u, 1 };
	UT_EQ_INT(b7_symbols(sym, bad, 3), 1);
	UT_EQ_INT(b7_unpack(v, bad, 3), 1);
}

int main(void)
{
	UT_RUN(test_symbols);
	UT_RUN(test_known_codes);
	UT_RUN(test_every_code_round_trips);
	UT_RUN(test_random_values_bit_exact);
	UT_RUN(test_bad_values);
	UT_RUN(test_hash);
	UT_RUN(test_group_rows);
	return ut_done("test_base7");
}
