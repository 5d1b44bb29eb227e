/* test_tpugen: the generator's invariants that the files alone cannot show:
 * builds are deterministic, configurable nodes are the published kinds and
 * rate, writing the default layouts out explicitly
 * changes no runtime, the default config is cheapest among small
 * perturbations more often than not, tile configs are distinct and include
 * the default, runtimes are positive and finite; every world's too, and
 * the worlds rank the same configs differently (noise-free). */
#include "ut.h"
#include "metrics.h"
#include "tpugen.h"

#include <stdint.h>

static void test_deterministic(void)
{
	for (int src = 0; src < 2; src++) {
		rng_t a, b;
		tg_graph_t *g, *h;
		rng_derive(&a, 5, (uint64_t)src, 0, 0);
		rng_derive(&b, 5, (uint64_t)src, 0, 0);
		g = tg_build_program(&a, src, (tg_size_t){200, 600});
		h = tg_build_program(&b, src, (tg_size_t){200, 600});
		UT_EQ_INT(g->nn, h->nn);
		UT_EQ_INT(g->ncfg, h->ncfg);
		UT_CHECK(memcmp(g->feat, h->feat, g->nn * TG_NFEAT * sizeof(float)) == 0);
		UT_CHECK(memcmp(g->opnd, h->opnd, g->no * sizeof(int32_t)) == 0);
		UT_CHECK(g->ncfg > 0);
		/* topological order, operands before consumers */
		{
			int ok = 1;
			for (size_t i = 0; i < g->nn; i++)
				for (int j = 0; j < g->n[i].nin; j++)
					ok &= g->opnd[g->n[i].in + j] < (int32_t)i;
			UT_CHECK(ok);
		}
		/* the entry computation is last and node_splits start at 0 */
		UT_EQ_INT(g->splits[0], 0);
		UT_CHECK(g->nsplits >= 1 && g->splits[g->nsplits - 1] < (int64_t)g->nn);
		tg_graph_free(g);
		tg_graph_free(h);
	}
}

/* configurable nodes as in the published files: convolution, dot, reshape
 * only, ascending, 2-8% of the nodes; g->n[].cfg indexes g->cfg */
static void test_configurable(void)
{
	int ops[3] = {0};
	for (int i = 0; i < 24; i++) {
		int src = i % 2, ok = 1;
		rng_t r;
		tg_graph_t *g;
		double rate;
		size_t back = 0;
		rng_derive(&r, 31, (uint64_t)src, (uint64_t)i, 0);
		g = tg_build_program(&r, src, (tg_size_t){150, 2500});
		rate = (double)g->ncfg / (double)g->nn;
		UT_CHECK(rate >= 0.02 && rate <= 0.08);
		for (size_t c = 0; c < g->ncfg; c++) {
			const tg_node_t *v = &g->n[g->cfg[c]];
			ok &= v->op == OP_CONVOLUTION || v->op == OP_DOT || v->op == OP_RESHAPE;
			ok &= c == 0 || g->cfg[c] > g->cfg[c - 1];
			ok &= v->cfg == (int32_t)c;
			ops[v->op == OP_CONVOLUTION ? 0 : v->op == OP_DOT ? 1 : 2]++;
		}
		for (size_t k = 0; k < g->nn; k++)
			back += g->n[k].cfg >= 0;
		UT_CHECK(ok);
		UT_EQ_INT(back, g->ncfg);
		tg_graph_free(g);
	}
	/* all three kinds occur */
	UT_CHECK(ops[0] > 0 && ops[1] > 0 && ops[2] > 0);
}

static void test_layout_model(void)
{
	for (int src = 0; src < 2; src++) {
		rng_t gr, mr, cr;
		tg_graph_t *g;
		tg_layout_model_t *m;
		float *cfg, *ex;
		double t0, t1;
		int worse = 0, better = 0;
		rng_derive(&gr, 11, (uint64_t)src, 1, 0);
		rng_derive(&mr, 12, (uint64_t)src, 1, 0);
		rng_derive(&cr, 13, (uint64_t)src, 1, 0);
		g = tg_build_program(&gr, src, (tg_size_t){300, 900});
		m = tg_layout_model_new(g, tg_world(TW_TPU), &mr);
		tg_layout_fill_default(m, g);
		cfg = malloc(g->ncfg * TG_NCFG * sizeof(float));
		ex = malloc(g->ncfg * TG_NCFG * sizeof(float));
		for (size_t i = 0; i < g->ncfg * TG_NCFG; i++)
			cfg[i] = -1;
		t0 = tg_layout_runtime(m, cfg);
		UT_CHECK(t0 > 0 && isfinite(t0));
		/* every block written out as the default layout (feature 134..) */
		for (size_t c = 0; c < g->ncfg; c++) {
			const tg_node_t *v = &g->n[g->cfg[c]];
			int t[3] = {g->cfg[c], v->nin > 0 ? g->opnd[v->in] : -1,
				    v->op == OP_CONVOLUTION ? g->opnd[v->in + 1] : -1};
			for (int b = 0; b < 3; b++)
				for (int k = 0; k < 6; k++) {
					float val = -1;
					if (t[b] >= 0 && k < g->n[t[b]].rank && g->n[t[b]].et != ET_TUPLE)
						val = g->feat[(size_t)t[b] * TG_NFEAT + 134 + k];
					ex[c * TG_NCFG + 6 * b + k] = val;
				}
		}
		t1 = tg_layout_runtime(m, ex);
		UT_NEAR(t1, t0, 1e-9 * t0);
		/* near-default configs: mostly slower than the default */
		for (int i = 0; i < 200; i++) {
			double t;
			tg_layout_sample(m, 1, &cr, cfg);
			t = tg_layout_runtime(m, cfg);
			UT_CHECK(t > 0 && isfinite(t));
			worse += t > t0 * 1.0001;
			better += t < t0 * 0.9999;
		}
		UT_CHECK(worse > better);
		/* random configs: values are -1 or permutations */
		for (int i = 0; i < 50; i++) {
			int ok = 1;
			tg_layout_sample(m, 0, &cr, cfg);
			for (size_t j = 0; j < g->ncfg * TG_NCFG; j++)
				ok &= cfg[j] >= -1 && cfg[j] <= 5 && cfg[j] == (float)(int)cfg[j];
			UT_CHECK(ok);
			UT_CHECK(tg_layout_measure(m, cfg, &cr) > 0);
		}
		free(cfg);
		free(ex);
		tg_layout_model_free(m);
		tg_graph_free(g);
	}
}

/* The incremental runtime (only the nodes a config moves evaluated) is the
 * full evaluation's double, bit for bit: every world, both sources, random
 * and near-default configs one after the other (the incremental model sees
 * only its own calls: what one config moved, the next must put back), the
 * all-default one, and after a full evaluation on the same model. */
static void test_layout_incremental(void)
{
	for (int w = 0; w < TW__N; w++)
		for (int src = 0; src < 2; src++) {
			rng_t gr, mr, mr2, cr;
			rng_derive(&gr, 21, (uint64_t)src, 2, (uint64_t)w);
			rng_derive(&mr, 22, (uint64_t)src, 2, (uint64_t)w);
			mr2 = mr;
			rng_derive(&cr, 23, (uint64_t)src, 2, (uint64_t)w);
			tg_graph_t *g = tg_build_program(&gr, src, (tg_size_t){300, 1500});
			tg_layout_model_t *m = tg_layout_model_new(g, tg_world(w), &mr);
			tg_layout_model_t *ref = tg_layout_model_new(g, tg_world(w), &mr2);
			float *cfg = malloc(g->ncfg * TG_NCFG * sizeof(float) + 1);
			int same = 1, moved = 0;
			size_t ev[2] = { 0, 0 }, nc[2] = { 0, 0 };
			for (size_t i = 0; i < g->ncfg * TG_NCFG; i++)
				cfg[i] = -1;
			double a = tg_layout_runtime(m, cfg), b = tg_layout_runtime_full(ref, cfg);
			double t0 = b;
			same &= memcmp(&a, &b, sizeof a) == 0;
			for (int i = 0; i < 300; i++) {
				if (i >= 250) {   /* a full evaluation of another config first */
					tg_layout_sample(m, i % 2, &cr, cfg);
					tg_layout_runtime_full(m, cfg);
				}
				tg_layout_sample(m, i % 3 == 0, &cr, cfg);
				a = tg_layout_runtime(m, cfg);
				ev[i % 3 == 0] += tg_layout_evaluated(m);
				nc[i % 3 == 0]++;
				b = tg_layout_runtime_full(ref, cfg);
				same &= memcmp(&a, &b, sizeof a) == 0;
				moved += a != t0;
			}
			UT_CHECK(same);
			UT_CHECK(moved > 150);   /* the configs do change the runtime */
			/* what it is for: a config evaluates a fraction of the nodes
			 * (a return to evaluating all of them fails this) */
			double fr = (double)ev[0] / (double)(nc[0] * g->nn);
			double fd = (double)ev[1] / (double)(nc[1] * g->nn);
			if (getenv("TG_VERBOSE"))
				fprintf(stderr, "world %d source %d: %zu nodes, evaluated %.3f (random) %.3f (default)\n",
					w, src, g->nn, fr, fd);
			UT_CHECK(fr < 0.3 && fd < 0.25);
			free(cfg);
			tg_layout_model_free(m);
			tg_layout_model_free(ref);
			tg_graph_free(g);
		}
}

static void test_tile_model(void)
{
	int kinds[TK__N] = {0};
	for (int i = 0; i < 40; i++) {
		rng_t gr, cr;
		int kind;
		tg_graph_t *g;
		tg_tile_model_t *m;
		size_t c, want = 300;
		float *cfg = malloc((want + 1) * TG_NTILECFG * sizeof(float));
		int distinct = 1;
		rng_derive(&gr, 21, (uint64_t)i, 0, 0);
		rng_derive(&cr, 22, (uint64_t)i, 0, 0);
		g = tg_build_kernel(&gr, (tg_size_t){5, 100}, &kind);
		kinds[kind]++;
		m = tg_tile_model_new(g, kind, tg_world(TW_TPU), &cr);
		c = tg_tile_configs(m, &cr, want, cfg);
		UT_CHECK(c >= 1 && c <= want);
		for (size_t a = 0; a < c && distinct; a++)
			for (size_t b = a + 1; b < c; b++)
				if (memcmp(cfg + a * TG_NTILECFG, cfg + b * TG_NTILECFG,
					   TG_NTILECFG * sizeof(float)) == 0) {
					distinct = 0;
					break;
				}
		UT_CHECK(distinct);
		{
			/* exactly one config has the default runtime: its normalizer's mean */
			int64_t rt, nz;
			int ok = 1;
			for (size_t a = 0; a < c; a++) {
				double t = tg_tile_runtime(m, cfg + a * TG_NTILECFG);
				ok &= t > 0 && isfinite(t);
				tg_tile_measure(m, cfg + a * TG_NTILECFG, &cr, &rt, &nz);
				ok &= rt > 0 && nz > 0;
			}
			UT_CHECK(ok);
		}
		UT_EQ_INT(g->n[g->nn - 1].op == OP_PARAMETER, 0);
		UT_EQ_INT(g->feat[(g->nn - 1) * TG_NFEAT + 0], 1); /* the root */
		free(cfg);
		tg_tile_model_free(m);
		tg_graph_free(g);
	}
	for (int k = 0; k < TK__N; k++)
		UT_CHECK(kinds[k] > 0);
}

/* Every world: runtimes positive and finite; the noise-free runtimes of the
 * same configs of the same graphs rank differently from the tpu world's
 * (mean Kendall tau over layout and tile graphs well below 1). */
static void test_worlds(void)
{
	UT_CHECK(tg_world_find("tpu") == tg_world(TW_TPU));
	UT_CHECK(tg_world_find("bogus") == NULL && tg_world(TW__N) == NULL);
	for (int wi = 1; wi < TW__N; wi++) {
		const tg_world_t *w0 = tg_world(TW_TPU), *w = tg_world(wi);
		double sum = 0;
		int n = 0, ok = 1;
		UT_CHECK(tg_world_find(w->name) == w);
		for (int i = 0; i < 8; i++) {
			/* layout: the same configs through both models */
			rng_t gr, mr0, mr, cr;
			tg_graph_t *g;
			tg_layout_model_t *m0, *m;
			size_t nc = 60;
			double *a = malloc(nc * sizeof *a), *b = malloc(nc * sizeof *b);
			float *cfg;
			rng_derive(&gr, 41, (uint64_t)i, 0, 0);
			rng_derive(&mr0, 42, (uint64_t)i, 0, 0);
			mr = mr0;
			rng_derive(&cr, 43, (uint64_t)i, 0, 0);
			g = tg_build_program(&gr, i % 2, (tg_size_t){150, 600});
			m0 = tg_layout_model_new(g, w0, &mr0);
			m = tg_layout_model_new(g, w, &mr);
			cfg = malloc(g->ncfg * TG_NCFG * sizeof(float));
			for (size_t k = 0; k < nc; k++) {
				tg_layout_sample(m0, i / 2 % 2, &cr, cfg);
				a[k] = tg_layout_runtime(m0, cfg);
				b[k] = tg_layout_runtime(m, cfg);
				ok &= b[k] > 0 && isfinite(b[k]);
			}
			sum += metrics_kendall(a, b, nc), n++;
			free(cfg);
			free(a);
			free(b);
			tg_layout_model_free(m0);
			tg_layout_model_free(m);
			tg_graph_free(g);
		}
		for (int i = 0; i < 16; i++) {
			/* tile: the tpu world's configs through both models */
			rng_t gr, cr;
			int kind;
			tg_graph_t *g;
			tg_tile_model_t *m0, *m;
			size_t c, want = 80;
			float *cfg = malloc((want + 1) * TG_NTILECFG * sizeof(float));
			double *a = malloc((want + 1) * sizeof *a), *b = malloc((want + 1) * sizeof *b);
			rng_derive(&gr, 44, (uint64_t)i, 0, 0);
			rng_derive(&cr, 45, (uint64_t)i, 0, 0);
			g = tg_build_kernel(&gr, (tg_size_t){5, 100}, &kind);
			m0 = tg_tile_model_new(g, kind, w0, &cr);
			m = tg_tile_model_new(g, kind, w, &cr);
			c = tg_tile_configs(m0, &cr, want, cfg);
			for (size_t k = 0; k < c; k++) {
				a[k] = tg_tile_runtime(m0, cfg + k * TG_NTILECFG);
				b[k] = tg_tile_runtime(m, cfg + k * TG_NTILECFG);
				ok &= b[k] > 0 && isfinite(b[k]);
			}
			if (c >= 5) {
				double t = metrics_kendall(a, b, c);
				if (isfinite(t))
					sum += t, n++;
			}
			free(cfg);
			free(a);
			free(b);
			tg_tile_model_free(m0);
			tg_tile_model_free(m);
			tg_graph_free(g);
		}
		UT_CHECK(ok);
		UT_CHECK(n >= 16);
		fprintf(stderr, "test_tpugen: world %s: mean noise-free Kendall tau vs tpu %.3f "
			"over %d graphs\n", w->name, sum / n, n);
		UT_CHECK(sum / n < 0.8);
	}
}

int main(void)
{
	UT_RUN(test_deterministic);
	UT_RUN(test_configurable);
	UT_RUN(test_layout_model);
	UT_RUN(test_tile_model);
	UT_RUN(test_worlds);
	UT_RUN(test_layout_incremental);
	return ut_done("test_tpugen");
}
