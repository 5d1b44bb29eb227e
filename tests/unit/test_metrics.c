/* test_metrics: rank statistics (fast against naive, and hand-computed
 * cases), top-K, one graph's scores, the collection means, idmap.  The
 * scipy.stats oracle runs in tests/cli/rank-eval.bats. */
#include "ut.h"

#include <math.h>
#include <stdint.h>

#include "metrics.h"
#include "rng.h"

static int same_counts(const metrics_pairs_t *a, const metrics_pairs_t *b)
{
	return a->n == b->n && a->pairs == b->pairs && a->xties == b->xties &&
	       a->yties == b->yties && a->jties == b->jties && a->discordant == b->discordant;
}

static void test_hand_tau(void)
{
	double x[] = {1, 2, 3, 4, 5}, y[] = {1, 2, 3, 4, 5}, r[] = {5, 4, 3, 2, 1};
	/* pairs: 5 concordant, 1 tied in x only (1,2): P=6 C=5 D=0 Tx=1 Ty=0 */
	double tx[] = {1, 2, 2, 3}, ty[] = {1, 3, 2, 4};
	metrics_pairs_t c;

	UT_NEAR(metrics_kendall(x, y, 5), 1.0, 1e-15);
	UT_NEAR(metrics_kendall(r, y, 5), -1.0, 1e-15);
	UT_NEAR(metrics_opa(x, y, 5), 1.0, 0);
	UT_NEAR(metrics_opa(r, y, 5), 0.0, 0);
	metrics_pair_counts(tx, ty, 4, &c);
	UT_EQ_INT(c.pairs, 6);
	UT_EQ_INT(c.xties, 1);
	UT_EQ_INT(c.yties, 0);
	UT_EQ_INT(c.jties, 0);
	UT_EQ_INT(c.discordant, 0);
	UT_EQ_INT(metrics_concordant(&c), 5);
	UT_NEAR(metrics_kendall_from(&c), 5 / sqrt(5.0 * 6.0), 1e-15);
	UT_NEAR(metrics_opa_from(&c), 5.5 / 6, 1e-15);
	/* one discordant pair: (1,2) in x, (2,1) in y */
	{
		double a[] = {1, 2, 3}, b[] = {2, 1, 3};
		metrics_pair_counts(a, b, 3, &c);
		UT_EQ_INT(c.discordant, 1);
		UT_NEAR(metrics_kendall_from(&c), 1.0 / 3, 1e-15);
		UT_NEAR(metrics_opa_from(&c), 2.0 / 3, 1e-15);
	}
	/* joint ties: x = y = [1,1,2,2]: Tx = Ty = Txy = 2, tau = (4-2-2+2)/4 = 1 */
	{
		double a[] = {1, 1, 2, 2};
		metrics_pair_counts(a, a, 4, &c);
		UT_EQ_INT(c.jties, 2);
		UT_NEAR(metrics_kendall_from(&c), 1.0, 1e-15);
	}
}

static void test_undefined(void)
{
	double x[] = {3, 3, 3}, y[] = {1, 2, 3};
	UT_CHECK(isnan(metrics_kendall(x, y, 3)));   /* constant prediction */
	UT_CHECK(isnan(metrics_kendall(y, x, 3)));   /* constant truth */
	UT_CHECK(isnan(metrics_spearman(x, y, 3)));
	UT_CHECK(isnan(metrics_kendall(x, y, 1)));   /* n < 2 */
	UT_CHECK(isnan(metrics_kendall(x, y, 0)));
	UT_NEAR(metrics_opa(x, y, 3), 0.5, 0);       /* all pairs tied in x: half */
	UT_CHECK(isnan(metrics_opa(y, x, 3)));       /* no pair with distinct truth */
}

/* Fast pair counts and Spearman against the O(n^2) versions on random data
 * with many ties (values drawn from a few levels), and with infinities. */
static void test_random_vs_naive(void)
{
	rng_t r;
	rng_seed(&r, 7);
	for (int t = 0; t < 300; t++) {
		size_t n = (size_t)rng_int(&r, 0, 300);
		int levels = (int)rng_int(&r, 1, 40);
		double *x = malloc((n + 1) * sizeof *x), *y = malloc((n + 1) * sizeof *y);
		metrics_pairs_t a, b;
		for (size_t i = 0; i < n; i++) {
			x[i] = (double)rng_int(&r, 0, levels);
			y[i] = t % 3 ? (double)rng_int(&r, 0, levels) : rng_normal(&r);
			if (t % 7 == 0 && i % 11 == 0)
				x[i] = i % 2 ? INFINITY : -INFINITY;
		}
		metrics_pair_counts(x, y, n, &a);
		metrics_pair_counts_naive(x, y, n, &b);
		if (!UT_CHECK(same_counts(&a, &b)))
			fprintf(stderr, "  trial %d n=%zu: disc %llu vs %llu\n", t, n,
				(unsigned long long)a.discordant, (unsigned long long)b.discordant);
		{
			double s1 = metrics_spearman(x, y, n), s2 = metrics_spearman_naive(x, y, n);
			if (isnan(s1) || isnan(s2))
				UT_CHECK(isnan(s1) && isnan(s2));
			else
				UT_NEAR(s1, s2, 1e-12);
		}
		free(x);
		free(y);
	}
}

static void test_ranks(void)
{
	double v[] = {10, 20, 20, 5, 20}, r[5];
	metrics_avg_ranks(v, 5, r);
	UT_NEAR(r[0], 2, 0);
	UT_NEAR(r[1], 4, 0);
	UT_NEAR(r[2], 4, 0);
	UT_NEAR(r[3], 1, 0);
	UT_NEAR(r[4], 4, 0);
	{
		/* rho of perfectly monotone data with ties on both sides is 1 */
		double x[] = {1, 1, 2, 3}, y[] = {10, 10, 20, 30};
		UT_NEAR(metrics_spearman(x, y, 4), 1.0, 1e-15);
	}
	{
		/* by hand: ranks x = (1,2,3), y = (2,1,3): d = (-1,1,0),
		 * rho = 1 - 6*2/(3*8) = 0.5 */
		double x[] = {1, 2, 3}, y[] = {5, 4, 6};
		UT_NEAR(metrics_spearman(x, y, 3), 0.5, 1e-15);
	}
}

static void test_order_topk(void)
{
	double s[] = {0.5, 0.1, 0.5, 0.3};
	int64_t key[] = {7, 3, 2, 9};
	size_t o[4];
	double y[] = {4, 8, 2, 1};
	metrics_order(s, key, 4, o);
	/* 0.1 (i1), 0.3 (i3), then 0.5 tied: key 2 (i2) before key 7 (i0) */
	UT_EQ_INT(o[0], 1);
	UT_EQ_INT(o[1], 3);
	UT_EQ_INT(o[2], 2);
	UT_EQ_INT(o[3], 0);
	UT_NEAR(metrics_topk_ratio(o, y, 4, 1), 8.0, 0);   /* 8 / 1 */
	UT_NEAR(metrics_topk_ratio(o, y, 4, 2), 1.0, 0);
	UT_NEAR(metrics_topk_ratio(o, y, 4, 10), 1.0, 0);  /* K > n */
	UT_CHECK(isnan(metrics_topk_ratio(o, y, 0, 1)));
}

static void test_graph_tile(void)
{
	/* six kernels' configs, y = runtime / normalizer; predicted order:
	 * c5, c4, c3, c2, c1, c0 (scores 5..0 reversed) */
	double y[] = {1.0, 2.0, 4.0, 3.0, 1.5, 6.0};
	double p[] = {5, 4, 3, 2, 1, 0};
	int64_t key[] = {0, 1, 2, 3, 4, 5};
	metrics_graph_t g;
	metrics_score_graph(y, key, p, 6, 1, 6, &g);
	UT_EQ_INT(g.missing, 0);
	UT_NEAR(g.v[M_TOP1], 6.0 - 1, 1e-15);       /* top-1 is c5: 6 / 1 */
	UT_NEAR(g.v[M_TOP5], 1.5 - 1, 1e-15);       /* top-5 misses c0: 1.5 / 1 */
	UT_NEAR(g.v[M_TOP10], 0.0, 0);
	UT_NEAR(g.v[M_SCORE], 2 - 1.5, 1e-15);
	UT_CHECK(g.avail & 1u << M_KENDALL);
	/* a partial list (a Kaggle tile row of 5): rank stats not available */
	{
		double q[] = {NAN, 4, 3, 2, 1, 0};
		metrics_score_graph(y, key, q, 6, 1, 5, &g);
		UT_EQ_INT(g.missing, 0);
		UT_CHECK(!(g.avail & 1u << M_KENDALL));
		UT_CHECK(!(g.avail & 1u << M_TOP10));
		UT_NEAR(g.v[M_SCORE], 0.5, 1e-15);
	}
}

static void test_graph_missing(void)
{
	double y[] = {1, 2, 3, 4};
	int64_t key[] = {0, 1, 2, 3};
	metrics_graph_t g, full;
	/* c0, c1 missing: filled after c2, c3, slowest first: order c2 c3 c1 c0 */
	double p[] = {NAN, NAN, 0, 1};
	metrics_score_graph(y, key, p, 4, 0, 4, &g);
	UT_EQ_INT(g.missing, 2);
	{
		double q[] = {3, 2, 0, 1};  /* the same order, given explicitly */
		metrics_score_graph(y, key, q, 4, 0, 4, &full);
		UT_NEAR(g.v[M_KENDALL], full.v[M_KENDALL], 0);
		UT_NEAR(g.v[M_SCORE], full.v[M_SCORE], 0);
	}
	/* a whole graph missing: the reversed truth, tau = -1 */
	{
		double q[] = {NAN, NAN, NAN, NAN};
		metrics_score_graph(y, key, q, 4, 0, 4, &g);
		UT_EQ_INT(g.missing, 4);
		UT_NEAR(g.v[M_KENDALL], -1, 0);
		UT_NEAR(g.v[M_SCORE], -1, 0);
		UT_NEAR(g.v[M_TOP1], 3.0, 0);
	}
}

static void test_graph_ties(void)
{
	/* tied predictions: tau-b counts them as ties, the layout score breaks
	 * them by config index (the submission order) */
	double y[] = {1, 2, 3};
	int64_t key[] = {0, 1, 2};
	double p[] = {0, 0, 1};
	metrics_graph_t g;
	metrics_score_graph(y, key, p, 3, 0, 3, &g);
	/* tau-b: P=3, Tx=1, C=2: 2 / sqrt(2*3) */
	UT_NEAR(g.v[M_KENDALL], 2 / sqrt(6.0), 1e-15);
	UT_NEAR(g.v[M_SCORE], 1.0, 0);  /* strict order 0,1,2 */
	UT_NEAR(g.v[M_OPA], 2.5 / 3, 1e-15);
}

static void test_agg(void)
{
	metrics_agg_t a;
	metrics_graph_t g;
	double y[] = {1, 2, 3}, c[] = {2, 2, 2};
	int64_t key[] = {0, 1, 2};
	double good[] = {0, 1, 2}, flat[] = {5, 5, 5};
	memset(&a, 0, sizeof a);
	metrics_score_graph(y, key, good, 3, 0, 3, &g);
	metrics_agg_add(&a, &g);
	/* constant prediction: tau undefined, counts as 0; OPA 0.5 */
	metrics_score_graph(y, key, flat, 3, 0, 3, &g);
	metrics_agg_add(&a, &g);
	/* constant truth: tau and the layout score undefined, count as 0 */
	metrics_score_graph(c, key, good, 3, 0, 3, &g);
	UT_CHECK(isnan(g.v[M_SCORE]));
	metrics_agg_add(&a, &g);
	UT_EQ_INT(a.graphs, 3);
	UT_EQ_INT(a.undefined[M_KENDALL], 2);
	UT_EQ_INT(a.undefined[M_SCORE], 1);
	UT_NEAR(metrics_agg_mean(&a, M_KENDALL), 1.0 / 3, 1e-15);
	/* flat prediction: strict order by index = 0,1,2: layout score 1 */
	UT_NEAR(metrics_agg_mean(&a, M_SCORE), 2.0 / 3, 1e-15);
	UT_NEAR(metrics_agg_mean(&a, M_OPA), (1 + 0.5 + 0.5) / 3, 1e-15);
}

static void test_idmap(void)
{
	idmap_t *m = idmap_new();
	char key[32];
	int ok = 1;
	for (long i = 0; i < 20000; i++) {
		snprintf(key, sizeof key, "g%ld", i);
		idmap_put(m, key, (void *)(i + 1));
	}
	UT_EQ_INT(idmap_count(m), 20000);
	for (long i = 0; i < 20000; i += 2) {
		snprintf(key, sizeof key, "g%ld", i);
		ok &= idmap_del(m, key) == (void *)(i + 1);
	}
	UT_CHECK(ok);
	UT_EQ_INT(idmap_count(m), 10000);
	for (long i = 0; i < 20000; i++) {
		snprintf(key, sizeof key, "g%ld", i);
		ok &= idmap_get(m, key) == (i % 2 ? (void *)(i + 1) : NULL);
	}
	UT_CHECK(ok);
	UT_CHECK(idmap_put(m, "g1", (void *)5) == (void *)2);
	UT_CHECK(idmap_get(m, "g1") == (void *)5);
	UT_CHECK(idmap_get(m, "nope") == NULL);
	idmap_free(m);
}

int main(void)
{
	UT_RUN(test_hand_tau);
	UT_RUN(test_undefined);
	UT_RUN(test_random_vs_naive);
	UT_RUN(test_ranks);
	UT_RUN(test_order_topk);
	UT_RUN(test_graph_tile);
	UT_RUN(test_graph_missing);
	UT_RUN(test_graph_ties);
	UT_RUN(test_agg);
	UT_RUN(test_idmap);
	return ut_done("test_metrics");
}
