/* tpugen_ceiling: how well could any ranker do on tpugen's data?  Draws
 * graphs like `tpugen --scale small` and scores the noise-free cost model
 * against its own noisy measurements (1-3% per graph): the mean Kendall tau
 * per layout collection, and the tile top-5 score.  No ranker that sees only
 * the files can beat these on average.
 * With --full, instead: the expected size of a full-scale layout file,
 * from graphs built with the full scale's ranges (builder only, no configs):
 * mean configs x configurable nodes x 72 bytes, and mean configs x nodes
 * (the cost model's work), for bench/tpugen.sh to extrapolate with.
 * usage: tpugen_ceiling [GRAPHS] | tpugen_ceiling --full [GRAPHS] */
#define _GNU_SOURCE
#include "tpugen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double ktau(const double *a, const double *b, int n)
{
	long c = 0, d = 0;
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++) {
			double x = (a[i] - a[j]) * (b[i] - b[j]);
			c += x > 0, d += x < 0;
		}
	return n > 1 ? (double)(c - d) / ((double)n * (n - 1) / 2) : 0;
}

static int cmp_idx_by(const void *x, const void *y, void *v)
{
	const double *t = v;
	double a = t[*(const int *)x], b = t[*(const int *)y];
	return a < b ? -1 : a > b;
}

static void estimate_full(int ng)
{
	static const int64_t nmin[2] = {1000, 2000};
	for (int src = 0; src < 2; src++) {
		double raw = 0, work = 0, nodes = 0;
		for (int gi = 0; gi < ng; gi++) {
			rng_t gr, cr;
			rng_derive(&gr, 94, (uint64_t)src, (uint64_t)gi, 0);
			rng_derive(&cr, 93, (uint64_t)src, (uint64_t)gi, 0);
			tg_graph_t *g = tg_build_program(&gr, src, (tg_size_t){nmin[src], 40000});
			double c = (double)rng_logint(&cr, 1000, 20000);
			raw += c * (double)g->ncfg * TG_NCFG * 4 + (double)g->nn * TG_NFEAT * 4 + c * 8;
			work += c * (double)g->nn;
			nodes += (double)g->nn;
			tg_graph_free(g);
		}
		printf("full %s: mean nodes %.0f, mean raw MB %.1f, mean configs x nodes %.3g (%d graphs)\n",
		       src ? "nlp" : "xla", nodes / ng, raw / ng / 1e6, work / ng, ng);
	}
}

int main(int argc, char **argv)
{
	int ng;
	if (argc > 1 && strcmp(argv[1], "--full") == 0) {
		estimate_full(argc > 2 ? atoi(argv[2]) : 100);
		return 0;
	}
	ng = argc > 1 ? atoi(argv[1]) : 40;
	static const char *names[4] = {"layout:xla:random", "layout:xla:default",
				       "layout:nlp:random", "layout:nlp:default"};
	for (int k = 0; k < 4; k++) {
		int src = k / 2, mode = k % 2;
		double st = 0;
		for (int gi = 0; gi < ng; gi++) {
			rng_t gr, mr, cr;
			rng_derive(&gr, 99, (uint64_t)src, (uint64_t)gi, 0);
			rng_derive(&mr, 98, (uint64_t)src, (uint64_t)gi, 0);
			rng_derive(&cr, 97, (uint64_t)k, (uint64_t)gi, 0);
			tg_graph_t *g = tg_build_program(&gr, src, (tg_size_t){src ? 500 : 300, 3000});
			tg_layout_model_t *m = tg_layout_model_new(g, tg_world(TW_TPU), &mr);
			int c = (int)rng_logint(&cr, 100, 1000);
			float *cfg = malloc(sizeof(float) * TG_NCFG * (g->ncfg + 1));
			double *t = malloc((size_t)c * sizeof *t), *y = malloc((size_t)c * sizeof *y);
			for (int i = 0; i < c; i++) {
				tg_layout_sample(m, mode, &cr, cfg);
				t[i] = tg_layout_runtime(m, cfg);
				y[i] = (double)tg_layout_measure(m, cfg, &cr);
			}
			st += ktau(t, y, c);
			tg_layout_model_free(m);
			tg_graph_free(g);
			free(cfg), free(t), free(y);
		}
		printf("%-20s noise ceiling: Kendall tau %.3f (%d graphs)\n", names[k], st / ng, ng);
	}
	{
		double ss = 0;
		for (int gi = 0; gi < ng; gi++) {
			rng_t gr, cr;
			int kind;
			rng_derive(&gr, 96, 0, (uint64_t)gi, 0);
			rng_derive(&cr, 95, 0, (uint64_t)gi, 0);
			tg_graph_t *g = tg_build_kernel(&gr, (tg_size_t){5, 200}, &kind);
			tg_tile_model_t *m = tg_tile_model_new(g, kind, tg_world(TW_TPU), &cr);
			size_t want = (size_t)rng_logint(&cr, 100, 800), c;
			float *cfg = malloc(sizeof(float) * TG_NTILECFG * (want + 1));
			double *t, *y, best = INFINITY, top = INFINITY;
			int *idx;
			c = tg_tile_configs(m, &cr, want, cfg);
			t = malloc(c * sizeof *t), y = malloc(c * sizeof *y), idx = malloc(c * sizeof *idx);
			for (size_t i = 0; i < c; i++) {
				int64_t rt, nz;
				t[i] = tg_tile_runtime(m, cfg + i * TG_NTILECFG);
				tg_tile_measure(m, cfg + i * TG_NTILECFG, &cr, &rt, &nz);
				y[i] = (double)rt / (double)nz;
				idx[i] = (int)i;
				if (y[i] < best)
					best = y[i];
			}
			qsort_r(idx, c, sizeof *idx, cmp_idx_by, t);
			for (size_t i = 0; i < c && i < 5; i++)
				if (y[idx[i]] < top)
					top = y[idx[i]];
			ss += 2 - top / best;
			tg_tile_model_free(m);
			tg_graph_free(g);
			free(cfg), free(t), free(y), free(idx);
		}
		printf("%-20s noise ceiling: top-5 score %.3f (%d kernels)\n", "tile:xla", ss / ng, ng);
	}
	return 0;
}
