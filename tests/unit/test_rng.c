/* test_rng: the seeded generator: reproducible, in range, roughly the right
 * distributions, and streams from rng_derive independent of draw order. */
#include "ut.h"
#include "rng.h"

#include <stdint.h>

static void test_reproducible(void)
{
	rng_t a, b, c;
	int same = 1;
	rng_seed(&a, 42);
	rng_seed(&b, 42);
	rng_seed(&c, 43);
	for (int i = 0; i < 1000; i++)
		same &= rng_u64(&a) == rng_u64(&b);
	UT_CHECK(same);
	rng_seed(&a, 42);
	UT_CHECK(rng_u64(&a) != rng_u64(&c));
	/* a known value pins the algorithm (splitmix64 seeding + xoshiro256**) */
	rng_seed(&a, 0);
	{
		uint64_t x = 0;
		UT_EQ_INT(rng_splitmix64(&x), (long long)0xe220a8397b1dcdafULL);
	}
	rng_derive(&a, 7, 1, 2, 3);
	rng_derive(&b, 7, 1, 2, 3);
	rng_derive(&c, 7, 1, 2, 4);
	UT_CHECK(rng_u64(&a) == rng_u64(&b));
	UT_CHECK(rng_u64(&a) != rng_u64(&c));
	UT_CHECK(rng_hash(1, 2, 3, 4) != rng_hash(1, 3, 2, 4));
}

static void test_ranges(void)
{
	rng_t r;
	int lo_seen = 0, hi_seen = 0, ok = 1;
	double s = 0, s2 = 0;
	rng_seed(&r, 1);
	for (int i = 0; i < 20000; i++) {
		int64_t v = rng_int(&r, -3, 5);
		ok &= v >= -3 && v <= 5;
		lo_seen |= v == -3;
		hi_seen |= v == 5;
		double u = rng_uniform(&r);
		ok &= u >= 0 && u < 1;
		int64_t l = rng_logint(&r, 10, 1000);
		ok &= l >= 10 && l <= 1000;
	}
	UT_CHECK(ok);
	UT_CHECK(lo_seen && hi_seen);
	UT_EQ_INT(rng_int(&r, 4, 4), 4);
	for (int i = 0; i < 100000; i++) {
		double x = rng_normal(&r);
		s += x, s2 += x * x;
	}
	UT_NEAR(s / 100000, 0, 0.02);
	UT_NEAR(s2 / 100000, 1, 0.03);
	{
		double w[4] = {0, 1, 0, 3};
		int cnt[4] = {0};
		for (int i = 0; i < 40000; i++)
			cnt[rng_choice_w(&r, w, 4)]++;
		UT_EQ_INT(cnt[0] + cnt[2], 0);
		UT_NEAR(cnt[3] / 40000.0, 0.75, 0.02);
	}
}

static void test_shuffle(void)
{
	rng_t r;
	int a[50], seen[50] = {0}, moved = 0;
	rng_seed(&r, 9);
	for (int i = 0; i < 50; i++)
		a[i] = i;
	rng_shuffle(&r, a, 50, sizeof a[0]);
	for (int i = 0; i < 50; i++) {
		seen[a[i]]++;
		moved += a[i] != i;
	}
	for (int i = 0; i < 50; i++)
		UT_EQ_INT(seen[i], 1);
	UT_CHECK(moved > 25);
}

/* rng_sample: the first k steps of a Fisher-Yates shuffle from the front
 * (the draws of the loops it replaced, so samples stay what they were);
 * the first k are distinct; over many seeds every element is drawn about
 * equally often; k = 0 draws nothing. */
static void test_sample(void)
{
	enum { N = 20, K = 5 };
	int64_t a[N], b[N];
	rng_t r, q;
	for (int i = 0; i < N; i++)
		a[i] = b[i] = i;
	rng_seed(&r, 3);
	rng_seed(&q, 3);
	rng_sample(&r, a, N, K, sizeof a[0]);
	for (int64_t i = 0; i < K; i++) {   /* the loop of npz2mp before */
		int64_t j = rng_int(&q, i, N - 1), t = b[i];
		b[i] = b[j];
		b[j] = t;
	}
	for (int i = 0; i < N; i++)
		UT_EQ_INT(a[i], b[i]);
	UT_EQ_INT(rng_u64(&r), rng_u64(&q));   /* the same number of draws */
	int seen[N] = { 0 };
	for (int i = 0; i < N; i++)
		seen[a[i]]++;
	for (int i = 0; i < N; i++)
		UT_EQ_INT(seen[i], 1);
	int hits[N] = { 0 };
	for (uint64_t s = 0; s < 4000; s++) {
		int32_t c[N];
		for (int i = 0; i < N; i++)
			c[i] = i;
		rng_seed(&r, s);
		rng_sample(&r, c, N, K, sizeof c[0]);
		for (int i = 0; i < K; i++)
			hits[c[i]]++;
	}
	for (int i = 0; i < N; i++)   /* expected 1000 each; sd about 27 */
		UT_CHECK(hits[i] > 880 && hits[i] < 1120);
	rng_seed(&r, 5);
	rng_seed(&q, 5);
	rng_sample(&r, a, N, 0, sizeof a[0]);
	UT_EQ_INT(rng_u64(&r), rng_u64(&q));
}

int main(void)
{
	UT_RUN(test_reproducible);
	UT_RUN(test_ranges);
	UT_RUN(test_shuffle);
	UT_RUN(test_sample);
	return ut_done("test_rng");
}
