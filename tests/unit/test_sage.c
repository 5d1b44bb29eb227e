/* test_sage: the whole model's gradients against finite differences, the
 * micro-batch path against the one-pass path, the model file round trip.
 *
 * The layers are checked one by one in double precision by test_nn; here
 * the forward is float, so the central differences (step 1e-3 on every
 * parameter, loss summed in double) carry rounding noise of about 1e-4 of
 * the largest gradient: the bound is 5e-3 (max-norm relative).  The PyTorch
 * cross-check (tests/torch/) compares the same gradients at 1e-4. */
#include "ut.h"
#include "sage.h"
#include "train.h"
#include "err.h"

#include <stdint.h>
#include <unistd.h>

static uint64_t st = 0x243f6a8885a308d3ull;

static double urand(void)  /* [0, 1) */
{
	st ^= st << 13;
	st ^= st >> 7;
	st ^= st << 17;
	return (double)(st >> 11) / 9007199254740992.0;
}

/* A small graph: a chain with a few skips, nc configurable nodes. */
static void make_graph(sage_graph_t *g, int32_t n, int32_t nc, int kind)
{
	memset(g, 0, sizeof *g);
	g->id = xstrdup("test:g");
	g->n = n;
	int32_t *e = xmallocarray((size_t)(3 * n), sizeof *e);
	size_t m = 0;
	for (int32_t u = 1; u < n; u++) {
		e[2 * m] = u;
		e[2 * m + 1] = u - 1;
		m++;
		if (u >= 3 && u % 2) {
			e[2 * m] = u;
			e[2 * m + 1] = u - 3;
			m++;
		}
	}
	UT_EQ_INT(nn_adj_build(&g->adj, (size_t)n, e, m), 0);
	free(e);
	g->feat = xmallocarray((size_t)n * SAGE_NFEAT, sizeof *g->feat);
	for (size_t i = 0; i < (size_t)n * SAGE_NFEAT; i++)
		g->feat[i] = (float)(2 * urand() - 1);
	g->op = xmalloc((size_t)n);
	for (int32_t i = 0; i < n; i++)
		g->op[i] = (uint8_t)(urand() * 12);
	if (kind == SAGE_LAYOUT) {
		g->nc = nc;
		g->cfg_ids = xmallocarray((size_t)nc, sizeof *g->cfg_ids);
		for (int32_t k = 0; k < nc; k++)
			g->cfg_ids[k] = (k * 2 + 1) % n;
	}
}

typedef struct {
	size_t B;
	uint8_t *sym;
	float *tfeat;
	sage_batch_t b;
} batch_t;

static void make_batch(batch_t *bt, const sage_graph_t *g, size_t B, int kind)
{
	bt->B = B;
	bt->sym = NULL;
	bt->tfeat = NULL;
	if (kind == SAGE_LAYOUT) {
		size_t n = B * (size_t)g->nc * SAGE_NSLOT;
		bt->sym = xmalloc(n ? n : 1);
		for (size_t i = 0; i < n; i++)
			bt->sym[i] = (uint8_t)(urand() * SAGE_NSYM);
	} else {
		bt->tfeat = xmallocarray(B * SAGE_NTILE, sizeof *bt->tfeat);
		for (size_t i = 0; i < B * SAGE_NTILE; i++)
			bt->tfeat[i] = (float)(2 * urand() - 1);
	}
	bt->b.B = B;
	bt->b.sym = bt->sym;
	bt->b.tfeat = bt->tfeat;
}

static void free_batch(batch_t *bt)
{
	free(bt->sym);
	free(bt->tfeat);
}

/* loss = sum_i d[i] * score[i], in double */
static double model_loss(sage_model_t *m, sage_work_t *w, const sage_graph_t *g,
			 const sage_batch_t *b, const float *d, float *scores)
{
	sage_forward(m, w, g, b, scores, 0);
	double l = 0.0;
	for (size_t i = 0; i < b->B; i++)
		l += (double)d[i] * scores[i];
	return l;
}

static void check_model_grads(sage_hp_t *hp, int32_t n, int32_t nc, size_t B)
{
	const char *err = NULL;
	sage_model_t *m = sage_new(hp, &err);
	UT_CHECK(m != NULL);
	if (!m)
		return;
	sage_init(m, 7);
	/* make biases, norm and embeddings non-trivial */
	for (size_t i = 0; i < m->nparams; i++)
		m->params[i] += (float)(0.1 * (urand() - 0.5));
	sage_graph_t g;
	make_graph(&g, n, nc, hp->kind);
	sage_graph_set_pe(&g, hp->pe_k);
	batch_t bt;
	make_batch(&bt, &g, B, hp->kind);
	float *d = xmallocarray(B, sizeof *d), *scores = xmallocarray(B, sizeof *scores);
	for (size_t i = 0; i < B; i++)
		d[i] = (float)(2 * urand() - 1);
	sage_work_t *w = sage_work_new(0);
	sage_zero_grad(m);
	sage_forward(m, w, &g, &bt.b, scores, 1);
	sage_backward(m, w, &g, &bt.b, d);
	float *grad = xmallocarray(m->nparams, sizeof *grad);
	memcpy(grad, m->grads, m->nparams * sizeof *grad);

	/* eval forward gives the train forward's scores */
	float *s2 = xmallocarray(B, sizeof *s2);
	sage_forward(m, w, &g, &bt.b, s2, 0);
	int same = 1;
	for (size_t i = 0; i < B; i++)
		same &= fabsf(s2[i] - scores[i]) <= 1e-5f * (1 + fabsf(scores[i]));
	UT_CHECK(same);

	/* finite differences over every parameter */
	double num = 0.0, den = 1e-12, h = 1e-3;
	size_t worst = 0;
	for (size_t i = 0; i < m->nparams; i++) {
		float keep = m->params[i];
		m->params[i] = keep + (float)h;
		double lp = model_loss(m, w, &g, &bt.b, d, scores);
		m->params[i] = keep - (float)h;
		double lm = model_loss(m, w, &g, &bt.b, d, scores);
		m->params[i] = keep;
		double fd = (lp - lm) / (2 * h);
		if (fabs(fd - grad[i]) > num) {
			num = fabs(fd - grad[i]);
			worst = i;
		}
		den = fmax(den, fabs(fd));
	}
	double rel = num / den;
	if (rel > 5e-3) {
		const char *nm = "?";
		for (size_t t = 0; t < m->ntab; t++)
			if (worst >= m->tab[t].off && worst < m->tab[t].off + m->tab[t].size)
				nm = m->tab[t].name;
		fprintf(stderr, "  %s: model gradient relative error %.3g (worst in %s)\n",
			ut_test, rel, nm);
	}
	UT_CHECK(rel <= 5e-3);

	free(grad);
	free(s2);
	free(d);
	free(scores);
	free_batch(&bt);
	sage_graph_free(&g);
	sage_work_free(w);
	sage_free(m);
}

static void test_grad_layout(void)
{
	sage_hp_t hp;
	sage_hp_default(&hp, SAGE_LAYOUT);
	hp.hidden = 5;
	hp.layers = 2;
	hp.op_dim = 3;
	hp.cfg_dim = 2;
	hp.se_dim = 3;
	check_model_grads(&hp, 9, 3, 4);
	hp.se = 0;
	hp.pool_max = 0;
	hp.xattn = 1;
	check_model_grads(&hp, 6, 2, 3);
	hp.se = 1;
	hp.pool_max = 1;
	hp.layers = 0;
	check_model_grads(&hp, 4, 1, 2);
}

static void test_grad_tile(void)
{
	sage_hp_t hp;
	sage_hp_default(&hp, SAGE_TILE);
	hp.hidden = 4;
	hp.layers = 2;
	hp.op_dim = 3;
	hp.se_dim = 2;
	hp.xattn = 1;
	check_model_grads(&hp, 7, 0, 5);
}

/* A tiny model of arch a for the finite-difference checks. */
static void tiny_hp(sage_hp_t *hp, int kind, int a)
{
	sage_hp_default(hp, kind);
	hp->arch = a;
	hp->hidden = 4;
	hp->heads = 2;
	hp->layers = 2;
	hp->op_dim = 3;
	hp->cfg_dim = 2;
	hp->se_dim = 3;
	hp->appnp_k = 3;
	hp->appnp_alpha = 0.2f;
}

/* Every arch, layout and tile, against finite differences; with the
 * positional encoding on some. */
static void test_grad_archs(void)
{
	for (int a = 1; a < SAGE_NARCH; a++) {
		for (int kind = 0; kind < 2; kind++) {
			sage_hp_t hp;
			tiny_hp(&hp, kind, a);
			hp.pe_k = kind == SAGE_LAYOUT ? 3 : 0;
			ut_test = sage_arch_name(a);
			check_model_grads(&hp, 9, kind == SAGE_LAYOUT ? 3 : 0, 4);
			hp.se = 0;
			hp.pool_max = 0;
			hp.layers = 1;
			hp.pe_k = 2;
			check_model_grads(&hp, 6, kind == SAGE_LAYOUT ? 2 : 0, 3);
		}
	}
	ut_test = "test_grad_archs";
}

/* The late tile join (the config after pooling), every arch: against
 * finite differences, and a config's score does not depend on the others
 * of its batch. */
static void test_grad_tile_late(void)
{
	for (int a = 0; a < SAGE_NARCH; a++) {
		sage_hp_t hp;
		tiny_hp(&hp, SAGE_TILE, a);
		hp.tile_late = 1;
		ut_test = sage_arch_name(a);
		check_model_grads(&hp, 7, 0, 5);
		hp.pool_max = 0;
		hp.xattn = 1;
		check_model_grads(&hp, 5, 0, 3);
	}
	ut_test = "test_grad_tile_late";
	const char *err = NULL;
	sage_hp_t hp;
	sage_hp_default(&hp, SAGE_LAYOUT);
	hp.tile_late = 1;
	UT_CHECK(sage_new(&hp, &err) == NULL && err && strstr(err, "tile"));

	sage_hp_default(&hp, SAGE_TILE);
	hp.tile_late = 1;
	hp.hidden = 8;
	sage_model_t *m = sage_new(&hp, NULL);
	sage_init(m, 5);
	UT_CHECK(sage_find(m, "cfg_w")->shape[0] == 16);   /* (P, 24) */
	sage_graph_t g;
	make_graph(&g, 12, 0, SAGE_TILE);
	batch_t bt;
	make_batch(&bt, &g, 6, SAGE_TILE);
	float all[6], one;
	sage_work_t *w = sage_work_new(0);
	sage_forward(m, w, &g, &bt.b, all, 0);
	int same = 1;
	for (size_t i = 0; i < 6; i++) {
		sage_batch_t b1 = { 1, NULL, bt.b.tfeat + i * SAGE_NTILE };
		sage_forward(m, w, &g, &b1, &one, 0);
		same &= fabsf(one - all[i]) <= 1e-6f * (1 + fabsf(all[i]));
	}
	UT_CHECK(same);
	sage_work_free(w);
	free_batch(&bt);
	sage_graph_free(&g);
	sage_free(m);
}

/* Micro-batching (a small memory budget) changes nothing but memory. */
static void microbatch(int arch)
{
	sage_hp_t hp;
	sage_hp_default(&hp, SAGE_LAYOUT);
	hp.hidden = 16;
	hp.layers = 2;
	hp.xattn = 1;
	hp.arch = arch;
	sage_model_t *m = sage_new(&hp, NULL);
	sage_init(m, 3);
	sage_graph_t g;
	make_graph(&g, 6000, 40, SAGE_LAYOUT);
	size_t B = 24;
	batch_t bt;
	make_batch(&bt, &g, B, SAGE_LAYOUT);
	float d[24], s1[24], s2[24];
	for (size_t i = 0; i < B; i++)
		d[i] = (float)(urand() - 0.5);
	sage_work_t *w = sage_work_new(0);
	sage_zero_grad(m);
	sage_forward(m, w, &g, &bt.b, s1, 1);
	sage_backward(m, w, &g, &bt.b, d);
	float *g1 = xmallocarray(m->nparams, sizeof *g1);
	memcpy(g1, m->grads, m->nparams * sizeof *g1);
	size_t full = sage_work_bytes(w);
	/* 16 MiB: 6 of the 24 configs per micro-batch (each keeps 2.7 MB for
	 * the backward at 6000 nodes x 16 channels, 2 layers with SE) */
	sage_work_t *wm = sage_work_new(16);
	sage_zero_grad(m);
	sage_forward(m, wm, &g, &bt.b, s2, 1);
	sage_backward(m, wm, &g, &bt.b, d);
	UT_CHECK(sage_work_bytes(wm) < full);
	double num = 0, den = 1e-12;
	for (size_t i = 0; i < m->nparams; i++) {
		num = fmax(num, fabs((double)m->grads[i] - g1[i]));
		den = fmax(den, fabs((double)g1[i]));
	}
	UT_CHECK(num / den < 1e-5);
	int same = 1;
	for (size_t i = 0; i < B; i++)
		same &= fabsf(s1[i] - s2[i]) <= 1e-5f * (1 + fabsf(s1[i]));
	if (!UT_CHECK(same))
		fprintf(stderr, "  arch %s\n", sage_arch_name(arch));
	free(g1);
	free_batch(&bt);
	sage_graph_free(&g);
	sage_work_free(w);
	sage_work_free(wm);
	sage_free(m);
}

static void test_microbatch(void)
{
	microbatch(SAGE_ARCH_SAGE);
	microbatch(SAGE_ARCH_GAT);
	microbatch(SAGE_ARCH_APPNP);
}

/* Blocks of configs in parallel (two threads) give the gradients and
 * scores of the one-thread run, where the blocks go one after the other. */
static void threads_agree(int arch)
{
	sage_hp_t hp;
	sage_hp_default(&hp, SAGE_LAYOUT);
	hp.hidden = 32;
	hp.layers = 2;
	hp.xattn = 1;
	hp.arch = arch;
	hp.pe_k = arch == SAGE_ARCH_GIN ? 4 : 0;
	sage_model_t *m = sage_new(&hp, NULL);
	sage_init(m, 9);
	sage_graph_t g;
	make_graph(&g, 3000, 30, SAGE_LAYOUT);   /* 2 configs per block: 6 blocks */
	sage_graph_set_pe(&g, hp.pe_k);
	size_t B = 12;
	batch_t bt;
	make_batch(&bt, &g, B, SAGE_LAYOUT);
	float d[12], s1[12], s2[12], e1[12], e2[12];
	for (size_t i = 0; i < B; i++)
		d[i] = (float)(urand() - 0.5);
	float *g1 = xmallocarray(m->nparams, sizeof *g1);
	for (int pass = 0; pass < 2; pass++) {
		nn_set_threads(pass ? 2 : 1);
		sage_work_t *w = sage_work_new(0);
		sage_zero_grad(m);
		sage_forward(m, w, &g, &bt.b, pass ? s2 : s1, 1);
		sage_backward(m, w, &g, &bt.b, d);
		sage_forward(m, w, &g, &bt.b, pass ? e2 : e1, 0);
		if (!pass)
			memcpy(g1, m->grads, m->nparams * sizeof *g1);
		sage_work_free(w);
	}
	double num = 0, den = 1e-12;
	for (size_t i = 0; i < m->nparams; i++) {
		num = fmax(num, fabs((double)m->grads[i] - g1[i]));
		den = fmax(den, fabs((double)g1[i]));
	}
	UT_CHECK(num / den < 1e-5);
	int same = 1;
	for (size_t i = 0; i < B; i++) {
		same &= fabsf(s1[i] - s2[i]) <= 1e-5f * (1 + fabsf(s1[i]));
		same &= fabsf(e1[i] - s1[i]) <= 1e-5f * (1 + fabsf(s1[i]));
		same &= fabsf(e2[i] - s1[i]) <= 1e-5f * (1 + fabsf(s1[i]));
	}
	if (!UT_CHECK(same))
		fprintf(stderr, "  arch %s\n", sage_arch_name(arch));
	free(g1);
	free_batch(&bt);
	sage_graph_free(&g);
	sage_free(m);
}

static void test_threads_agree(void)
{
	for (int a = 0; a < SAGE_NARCH; a++)
		threads_agree(a);
	nn_set_threads(2);
}

/* Without cross-attention a config's score does not depend on its batch. */
static void test_batch_independent(void)
{
	sage_hp_t hp;
	sage_hp_default(&hp, SAGE_LAYOUT);
	hp.hidden = 8;
	sage_model_t *m = sage_new(&hp, NULL);
	sage_init(m, 5);
	sage_graph_t g;
	make_graph(&g, 30, 5, SAGE_LAYOUT);
	batch_t bt;
	make_batch(&bt, &g, 6, SAGE_LAYOUT);
	float all[6], one[1];
	sage_work_t *w = sage_work_new(0);
	sage_forward(m, w, &g, &bt.b, all, 0);
	sage_batch_t b1 = { 1, bt.sym + 4 * 5 * SAGE_NSLOT, NULL };
	sage_forward(m, w, &g, &b1, one, 0);
	UT_NEAR(one[0], all[4], 1e-5 * (1 + fabsf(all[4])));
	free_batch(&bt);
	sage_graph_free(&g);
	sage_work_free(w);
	sage_free(m);
}

static void test_table(void)
{
	sage_hp_t hp;
	sage_hp_default(&hp, SAGE_LAYOUT);
	hp.xattn = 1;
	sage_model_t *m = sage_new(&hp, NULL);
	size_t off = 0;
	int ok = 1;
	for (size_t i = 0; i < m->ntab; i++) {
		ok &= m->tab[i].off == off;
		off += m->tab[i].size;
		for (size_t j = 0; j < i; j++)
			ok &= strcmp(m->tab[i].name, m->tab[j].name) != 0;
	}
	UT_CHECK(ok);
	UT_EQ_INT(off, m->nparams);
	UT_CHECK(m->p.xa_w == m->params + sage_find(m, "xa_w")->off);
	UT_CHECK(m->g.head_b2 == m->grads + m->nparams - 1);
	UT_CHECK(m->p.layer[2].norm_g[0] == 1.0f);
	UT_CHECK(sage_find(m, "l2.se_w2") != NULL);
	UT_CHECK(sage_find(m, "l3.sage_w") == NULL);
	hp.layers = 99;
	const char *err = NULL;
	UT_CHECK(sage_new(&hp, &err) == NULL && err != NULL);
	sage_free(m);
	/* each arch's own tensors, and the checks of its options */
	const char *own[SAGE_NARCH] = { "l0.sage_w", "l0.gat_a", "l0.gin_eps", "l0.lin_w",
					"l0.la_o", "l0.lin_w" };
	for (int a = 0; a < SAGE_NARCH; a++) {
		sage_hp_default(&hp, SAGE_LAYOUT);
		hp.arch = a;
		hp.pe_k = 8;
		m = sage_new(&hp, NULL);
		UT_CHECK(m && sage_find(m, own[a]) != NULL);
		UT_CHECK(m && sage_find(m, "pe_w") != NULL && sage_find(m, "pe_w")->shape[1] == 8);
		UT_CHECK(m && (sage_find(m, "l0.sage_w") != NULL) ==
			 (a == SAGE_ARCH_SAGE || a == SAGE_ARCH_GPS));
		UT_EQ_INT(sage_arch_parse(sage_arch_name(a)), a);
		sage_free(m);
	}
	UT_EQ_INT(sage_arch_parse("transformer"), -1);
	UT_CHECK(sage_arch_name(SAGE_NARCH) == NULL);
	sage_hp_default(&hp, SAGE_LAYOUT);
	hp.arch = SAGE_ARCH_GAT;
	hp.heads = 5;   /* does not divide 64 */
	UT_CHECK(sage_new(&hp, &err) == NULL && strstr(err, "heads"));
	hp.arch = SAGE_ARCH_APPNP;
	hp.appnp_alpha = 0.0f;
	UT_CHECK(sage_new(&hp, &err) == NULL && strstr(err, "alpha"));
	hp.appnp_alpha = 0.1f;
	hp.pe_k = 65;
	UT_CHECK(sage_new(&hp, &err) == NULL && strstr(err, "positional"));
}

static void test_transforms(void)
{
	float x[4] = { 0, 1, -1, 1e6f };
	sage_log_transform(x, 4);
	UT_NEAR(x[0], 0, 0);
	UT_NEAR(x[1], log(2.0), 1e-6);
	UT_NEAR(x[2], -log(2.0), 1e-6);
	UT_NEAR(x[3], log1p(1e6), 1e-4);
	sage_stats_t s;
	memset(&s, 0, sizeof s);
	s.w = 2;
	float rows[6] = { 1, 5, 3, 5, 5, 5 };
	sage_stats_add(&s, rows, 3);
	float mean[2], sd[2];
	sage_stats_get(&s, mean, sd);
	UT_NEAR(mean[0], 3, 1e-6);
	UT_NEAR(sd[0], sqrt(8.0 / 3), 1e-6);
	UT_NEAR(sd[1], 1, 0);           /* constant column */
	sage_standardize(rows, 3, 2, mean, sd);
	UT_NEAR(rows[1], 0, 0);
	UT_NEAR(rows[4], 2 / sqrt(8.0 / 3), 1e-6);
}

static void test_save_load(void)
{
	sage_hp_t hp;
	sage_hp_default(&hp, SAGE_TILE);
	hp.hidden = 8;
	hp.xattn = 1;
	hp.pool_max = 0;
	sage_model_t *m = sage_new(&hp, NULL);
	sage_init(m, 11);
	for (int i = 0; i < SAGE_NFEAT; i++) {
		m->feat_mean[i] = (float)i;
		m->feat_std[i] = 1.0f + (float)i / 10;
	}
	m->tile_mean[3] = 2.5f;
	char path[] = "/tmp/test_sage_XXXXXX";
	int fd = mkstemp(path);
	UT_CHECK(fd >= 0);
	close(fd);
	record_t *ex = rec_new("train_state");
	rec_set_int(ex, "epoch", 3);
	char *argv[] = { "test_sage", NULL };
	sage_save(path, m, m->params, &ex, 1, "test_sage", 1, argv);
	rec_free(ex);
	record_t **extra = NULL;
	size_t nextra = 0;
	sage_model_t *m2 = sage_load(path, &extra, &nextra);
	UT_EQ_INT(m2->nparams, m->nparams);
	UT_EQ_INT(m2->hp.hidden, 8);
	UT_EQ_INT(m2->hp.xattn, 1);
	UT_EQ_INT(m2->hp.pool_max, 0);
	UT_EQ_INT(m2->hp.kind, SAGE_TILE);
	UT_CHECK(memcmp(m2->params, m->params, m->nparams * sizeof(float)) == 0);
	UT_CHECK(memcmp(m2->feat_std, m->feat_std, sizeof m->feat_std) == 0);
	UT_NEAR(m2->tile_mean[3], 2.5, 0);
	UT_EQ_INT(nextra, 1);
	if (nextra == 1) {
		int64_t ep = 0;
		UT_CHECK(rec_is(extra[0], "train_state") && rec_int(extra[0], "epoch", &ep) && ep == 3);
		rec_free(extra[0]);
	}
	free(extra);
	/* no temporary file left beside it */
	char tmp[64];
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	UT_CHECK(access(tmp, F_OK) != 0);
	unlink(path);
	sage_free(m);
	sage_free(m2);
	/* the arch and its options travel in the file */
	sage_hp_default(&hp, SAGE_LAYOUT);
	hp.arch = SAGE_ARCH_APPNP;
	hp.appnp_k = 7;
	hp.appnp_alpha = 0.25f;
	hp.pe_k = 5;
	hp.heads = 2;
	m = sage_new(&hp, NULL);
	sage_init(m, 12);
	fd = mkstemp(path);
	close(fd);
	sage_save(path, m, m->params, NULL, 0, "test_sage", 1, argv);
	m2 = sage_load(path, NULL, NULL);
	UT_CHECK(memcmp(&m2->hp, &m->hp, sizeof hp) == 0);
	UT_CHECK(memcmp(m2->params, m->params, m->nparams * sizeof(float)) == 0);
	unlink(path);
	sage_free(m);
	sage_free(m2);
}

/* test_sage --grads MODEL STREAM B OUT.json: the C side of the PyTorch
 * cross-check (tests/torch/): scores, mixed ranking loss (margin 0.1, mix
 * 0.5) and every parameter's gradient on the first graph of STREAM and its
 * first B configs, as JSON. */
static int dump_grads(const char *model, const char *stream, long B, const char *out)
{
	sage_model_t *m = sage_load(model, NULL, NULL);
	sage_set_t set;
	sage_set_read(&set, stream, m->hp.kind, 0, 1);
	sage_set_standardize(&set, m);
	if (set.n == 0)
		die(EX_DATA, "%s: no graphs", stream);
	sage_graph_set_pe(&set.g[0], m->hp.pe_k);
	const sage_graph_t *g = &set.g[0];
	size_t nb = g->nconf < (size_t)B ? g->nconf : (size_t)B;
	size_t w3 = (size_t)g->nc * SAGE_NCODE;
	uint8_t *sym = xmallocarray(nb * w3 * 6 + 1, 1);
	float *tf = xmallocarray(nb * SAGE_NTILE + 1, sizeof *tf);
	if (m->hp.kind == SAGE_LAYOUT)
		sage_symbols(sym, g->codes, nb * w3);
	else
		memcpy(tf, g->tfeat, nb * SAGE_NTILE * sizeof *tf);
	sage_batch_t b = { nb, sym, tf };
	float *scores = xcalloc(nb + 1, sizeof *scores), *ds = xcalloc(nb + 1, sizeof *ds);
	sage_work_t *w = sage_work_new(0);
	sage_zero_grad(m);
	sage_forward(m, w, g, &b, scores, 1);
	const train_loss_t mixed = { TRAIN_LOSS_MIXED, 0.1, 0.5, 0.0 };
	double loss = train_loss(&mixed, ds, scores, g->target, nb, 1.0);
	sage_backward(m, w, g, &b, ds);
	FILE *fp = fopen(out, "w");
	if (!fp)
		edie(EX_IO, "%s", out);
	fprintf(fp, "{\"loss\": %.9g, \"scores\": [", loss);
	for (size_t i = 0; i < nb; i++)
		fprintf(fp, "%s%.9g", i ? ", " : "", scores[i]);
	fprintf(fp, "], \"grads\": {");
	for (size_t t = 0; t < m->ntab; t++) {
		fprintf(fp, "%s\"%s\": [", t ? ", " : "", m->tab[t].name);
		for (size_t k = 0; k < m->tab[t].size; k++)
			fprintf(fp, "%s%.9g", k ? ", " : "", m->grads[m->tab[t].off + k]);
		fprintf(fp, "]");
	}
	fprintf(fp, "}}\n");
	if (fclose(fp) != 0)
		edie(EX_IO, "%s", out);
	free(sym);
	free(tf);
	free(scores);
	free(ds);
	sage_work_free(w);
	sage_set_free(&set);
	sage_free(m);
	return 0;
}

int main(int argc, char **argv)
{
	setprogname(argv[0]);
	if (argc == 6 && strcmp(argv[1], "--grads") == 0) {
		nn_set_threads(1);
		return dump_grads(argv[2], argv[3], atol(argv[4]), argv[5]);
	}
	nn_set_threads(2);
	UT_RUN(test_table);
	UT_RUN(test_transforms);
	UT_RUN(test_grad_layout);
	UT_RUN(test_grad_tile);
	UT_RUN(test_grad_archs);
	UT_RUN(test_grad_tile_late);
	UT_RUN(test_microbatch);
	UT_RUN(test_batch_independent);
	UT_RUN(test_threads_agree);
	UT_RUN(test_save_load);
	return ut_done("test_sage");
}
