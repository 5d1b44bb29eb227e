/* test_model: each layer's gradients (model_layers.h) and the whole model's
 * against finite differences, the micro-batch path against the one-pass
 * path, the model file round trip.
 *
 * The layers are checked one by one in double precision by test_nn; here
 * the forward is float, so the central differences (step 1e-3 on every
 * parameter, loss summed in double) carry rounding noise of about 1e-4 of
 * the largest gradient: the bound is 5e-3 (max-norm relative).  The PyTorch
 * cross-check (tests/torch/) compares the same gradients at 1e-4. */
#include "ut.h"
#include "ut_files.h"
#include "model.h"
#include "model_layers.h"
#include "train.h"
#include "err.h"

#include <fcntl.h>
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
static void make_graph(model_graph_t *g, int32_t n, int32_t nc, int kind)
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
	g->feat = xmallocarray((size_t)n * MODEL_NFEAT, sizeof *g->feat);
	for (size_t i = 0; i < (size_t)n * MODEL_NFEAT; i++)
		g->feat[i] = (float)(2 * urand() - 1);
	g->op = xmalloc((size_t)n);
	for (int32_t i = 0; i < n; i++)
		g->op[i] = (uint8_t)(urand() * 12);
	if (kind == MODEL_LAYOUT) {
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
	model_batch_t b;
} batch_t;

static void make_batch(batch_t *bt, const model_graph_t *g, size_t B, int kind)
{
	bt->B = B;
	bt->sym = NULL;
	bt->tfeat = NULL;
	if (kind == MODEL_LAYOUT) {
		size_t n = B * (size_t)g->nc * MODEL_NSLOT;
		bt->sym = xmalloc(n ? n : 1);
		for (size_t i = 0; i < n; i++)
			bt->sym[i] = (uint8_t)(urand() * MODEL_NSYM);
	} else {
		bt->tfeat = xmallocarray(B * MODEL_NTILE, sizeof *bt->tfeat);
		for (size_t i = 0; i < B * MODEL_NTILE; i++)
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
static double model_loss(model_t *m, model_work_t *w, const model_graph_t *g,
			 const model_batch_t *b, const float *d, float *scores)
{
	model_forward(m, w, g, b, scores, 0);
	double l = 0.0;
	for (size_t i = 0; i < b->B; i++)
		l += (double)d[i] * scores[i];
	return l;
}

static void check_model_grads(model_hp_t *hp, int32_t n, int32_t nc, size_t B)
{
	const char *err = NULL;
	model_t *m = model_new(hp, &err);
	UT_CHECK(m != NULL);
	if (!m)
		return;
	model_init(m, 7);
	/* make biases, norm and embeddings non-trivial */
	for (size_t i = 0; i < m->nparams; i++)
		m->params[i] += (float)(0.1 * (urand() - 0.5));
	model_graph_t g;
	make_graph(&g, n, nc, hp->kind);
	model_graph_set_pe(&g, hp->pe_k);
	batch_t bt;
	make_batch(&bt, &g, B, hp->kind);
	float *d = xmallocarray(B, sizeof *d), *scores = xmallocarray(B, sizeof *scores);
	for (size_t i = 0; i < B; i++)
		d[i] = (float)(2 * urand() - 1);
	model_work_t *w = model_work_new(0);
	model_zero_grad(m);
	model_forward(m, w, &g, &bt.b, scores, 1);
	model_backward(m, w, &g, &bt.b, d);
	float *grad = xmallocarray(m->nparams, sizeof *grad);
	memcpy(grad, m->grads, m->nparams * sizeof *grad);

	/* eval forward gives the train forward's scores */
	float *s2 = xmallocarray(B, sizeof *s2);
	model_forward(m, w, &g, &bt.b, s2, 0);
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
	model_graph_free(&g);
	model_work_free(w);
	model_free(m);
}

static void test_grad_layout(void)
{
	model_hp_t hp;
	model_hp_default(&hp, MODEL_LAYOUT);
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
	model_hp_t hp;
	model_hp_default(&hp, MODEL_TILE);
	hp.hidden = 4;
	hp.layers = 2;
	hp.op_dim = 3;
	hp.se_dim = 2;
	hp.xattn = 1;
	check_model_grads(&hp, 7, 0, 5);
}

/* A tiny model of arch a for the finite-difference checks. */
static void tiny_hp(model_hp_t *hp, int kind, int a)
{
	model_hp_default(hp, kind);
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
	for (int a = 1; a < MODEL_NARCH; a++) {
		for (int kind = 0; kind < 2; kind++) {
			model_hp_t hp;
			tiny_hp(&hp, kind, a);
			hp.pe_k = kind == MODEL_LAYOUT ? 3 : 0;
			ut_test = model_arch_name(a);
			check_model_grads(&hp, 9, kind == MODEL_LAYOUT ? 3 : 0, 4);
			hp.se = 0;
			hp.pool_max = 0;
			hp.layers = 1;
			hp.pe_k = 2;
			check_model_grads(&hp, 6, kind == MODEL_LAYOUT ? 2 : 0, 3);
		}
	}
	ut_test = "test_grad_archs";
}

/* The layer norm (--norm layer), every arch, layout and tile (early and
 * late join), against finite differences. */
static void test_grad_layernorm(void)
{
	for (int a = 0; a < MODEL_NARCH; a++) {
		for (int kind = 0; kind < 2; kind++) {
			model_hp_t hp;
			tiny_hp(&hp, kind, a);
			hp.norm = MODEL_NORM_LAYER;
			hp.hidden = 6;   /* a norm over 4 channels is ill-conditioned in float */
			ut_test = model_arch_name(a);
			check_model_grads(&hp, 9, kind == MODEL_LAYOUT ? 3 : 0, 4);
			if (kind == MODEL_TILE) {
				hp.tile_late = 1;
				hp.xattn = 1;
				check_model_grads(&hp, 2, 0, 3);   /* a kernel of 2 nodes */
			}
		}
	}
	ut_test = "test_grad_layernorm";
}

/* The late tile join (the config after pooling), every arch: against
 * finite differences, and a config's score does not depend on the others
 * of its batch. */
static void test_grad_tile_late(void)
{
	for (int a = 0; a < MODEL_NARCH; a++) {
		model_hp_t hp;
		tiny_hp(&hp, MODEL_TILE, a);
		hp.tile_late = 1;
		ut_test = model_arch_name(a);
		check_model_grads(&hp, 7, 0, 5);
		hp.pool_max = 0;
		hp.xattn = 1;
		check_model_grads(&hp, 5, 0, 3);
	}
	ut_test = "test_grad_tile_late";
	const char *err = NULL;
	model_hp_t hp;
	model_hp_default(&hp, MODEL_LAYOUT);
	hp.tile_late = 1;
	UT_CHECK(model_new(&hp, &err) == NULL && err && strstr(err, "tile"));

	model_hp_default(&hp, MODEL_TILE);
	hp.tile_late = 1;
	hp.hidden = 8;
	model_t *m = model_new(&hp, NULL);
	model_init(m, 5);
	UT_CHECK(model_find(m, "cfg_w")->shape[0] == 16);   /* (P, 24) */
	model_graph_t g;
	make_graph(&g, 12, 0, MODEL_TILE);
	batch_t bt;
	make_batch(&bt, &g, 6, MODEL_TILE);
	float all[6], one;
	model_work_t *w = model_work_new(0);
	model_forward(m, w, &g, &bt.b, all, 0);
	int same = 1;
	for (size_t i = 0; i < 6; i++) {
		model_batch_t b1 = { 1, NULL, bt.b.tfeat + i * MODEL_NTILE };
		model_forward(m, w, &g, &b1, &one, 0);
		same &= fabsf(one - all[i]) <= 1e-6f * (1 + fabsf(all[i]));
	}
	UT_CHECK(same);
	model_work_free(w);
	free_batch(&bt);
	model_graph_free(&g);
	model_free(m);
}

/* ---- the layers one by one (model_layers.h) ----
 *
 * Each layer's forward and backward on its own: loss = sum(r * out) for a
 * random r; the backward's gradients of every parameter of the model (zero
 * where the layer does not use one: a check that it writes no other
 * layer's) and of its input, against central differences of the forward. */

typedef struct lcase lcase_t;
struct lcase {
	model_t *m;
	model_graph_t g;
	batch_t bt;
	size_t k0, kb, nout, nin;
	float *in;                  /* the layer's input (perturbed too) */
	int din_added;              /* the backward adds to din (else writes it) */
	float *out, *ce, *cp, *dcp, *dce, *Z, *T, *pe_t;
	layer_head_t head;
	void (*fwd)(lcase_t *c, float *out);
	void (*bwd)(lcase_t *c, const float *dout, float *din);
};

static float *fnew(size_t n)
{
	return xcalloc(n ? n : 1, sizeof(float));
}

static double lcase_loss(lcase_t *c, const float *r)
{
	c->fwd(c, c->out);
	double l = 0.0;
	for (size_t i = 0; i < c->nout; i++)
		l += (double)r[i] * c->out[i];
	return l;
}

/* max |fd - an| / max |fd| over x's n entries, the worst index in *worst */
static void fd_compare(lcase_t *c, const float *r, float *x, size_t n, const float *an,
		       double *num, double *den, size_t *worst)
{
	double h = 1e-3;
	for (size_t i = 0; i < n; i++) {
		float keep = x[i];
		x[i] = keep + (float)h;
		double lp = lcase_loss(c, r);
		x[i] = keep - (float)h;
		double lm = lcase_loss(c, r);
		x[i] = keep;
		double fd = (lp - lm) / (2 * h);
		if (fabs(fd - an[i]) > *num) {
			*num = fabs(fd - an[i]);
			if (worst)
				*worst = i;
		}
		*den = fmax(*den, fabs(fd));
	}
}

static void check_layer(const char *name, lcase_t *c)
{
	model_t *m = c->m;
	float *r = fnew(c->nout), *din = fnew(c->nin);
	for (size_t i = 0; i < c->nout; i++)
		r[i] = (float)(2 * urand() - 1);
	c->fwd(c, c->out);   /* the caches the backward reads */
	model_zero_grad(m);
	for (size_t i = 0; i < c->nin; i++)   /* a written din overwrites this */
		din[i] = c->din_added ? 0.0f : 1e3f;
	c->bwd(c, r, din);
	float *grad = fnew(m->nparams);
	memcpy(grad, m->grads, m->nparams * sizeof *grad);
	double num = 0.0, den = 1e-12, inum = 0.0, iden = 1e-12;
	size_t worst = 0;
	fd_compare(c, r, m->params, m->nparams, grad, &num, &den, &worst);
	if (c->nin)
		fd_compare(c, r, c->in, c->nin, din, &inum, &iden, NULL);
	double rel = num / den, irel = inum / iden;
	if (rel > 5e-3 || irel > 5e-3) {
		const char *nm = "?";
		for (size_t t = 0; t < m->ntab; t++)
			if (worst >= m->tab[t].off && worst < m->tab[t].off + m->tab[t].size)
				nm = m->tab[t].name;
		fprintf(stderr, "  layer %s: parameters %.3g (worst in %s), input %.3g\n", name,
			rel, nm, irel);
	}
	UT_CHECK(rel <= 5e-3);
	UT_CHECK(irel <= 5e-3);
	UT_CHECK(den > 1e-3 || c->nin);   /* something to check */
	UT_CHECK(!c->nin || iden > 1e-3);
	free(r);
	free(din);
	free(grad);
}

static void lcase_init(lcase_t *c, const model_hp_t *hp, int32_t n, int32_t nc, size_t B)
{
	memset(c, 0, sizeof *c);
	c->m = model_new(hp, NULL);
	UT_CHECK(c->m != NULL);
	model_init(c->m, 11);
	for (size_t i = 0; i < c->m->nparams; i++)
		c->m->params[i] += (float)(0.1 * (urand() - 0.5));
	make_graph(&c->g, n, nc, hp->kind);
	model_graph_set_pe(&c->g, hp->pe_k);
	make_batch(&c->bt, &c->g, B, hp->kind);
}

/* A body layer's case: kb configs in, random in [-1, 1), as many out. */
static void lcase_body_io(lcase_t *c, size_t kb)
{
	size_t n = kb * (size_t)c->g.n * (size_t)c->m->hp.hidden;
	c->kb = kb;
	c->nin = c->nout = n;
	c->in = fnew(n);
	for (size_t k = 0; k < n; k++)
		c->in[k] = (float)(2 * urand() - 1);
	c->out = fnew(n);
}

static void lcase_free(lcase_t *c)
{
	free(c->in); free(c->out); free(c->ce); free(c->cp); free(c->dcp); free(c->dce);
	free(c->Z); free(c->T); free(c->pe_t);
	free(c->head.pooled); free(c->head.z1); free(c->head.qkv); free(c->head.att);
	free(c->head.hp); free(c->head.ha); free(c->head.dz1); free(c->head.dhp);
	free(c->head.dha);
	free_batch(&c->bt);
	model_graph_free(&c->g);
	model_free(c->m);
}

static void node_fwd(lcase_t *c, float *out)
{
	layer_node_forward(c->m, &c->g, out, c->T, c->pe_t);
}

static void node_bwd(lcase_t *c, const float *dout, float *din)
{
	(void)din;
	layer_node_backward(c->m, &c->m->g, &c->g, dout, c->T);
}

static void test_layer_node(void)
{
	for (int pe = 0; pe <= 3; pe += 3) {
		model_hp_t hp;
		tiny_hp(&hp, MODEL_LAYOUT, MODEL_ARCH_SAGE);
		hp.pe_k = pe;
		lcase_t c;
		lcase_init(&c, &hp, 7, 2, 1);
		size_t NH = (size_t)c.g.n * (size_t)hp.hidden;
		c.nout = NH;
		c.out = fnew(NH);
		c.T = fnew(MODEL_NOPS * (size_t)hp.hidden);
		c.pe_t = fnew(NH);
		c.fwd = node_fwd;
		c.bwd = node_bwd;
		check_layer(pe ? "node (pe)" : "node", &c);
		lcase_free(&c);
	}
}

static void input_fwd(lcase_t *c, float *out)
{
	layer_input_forward(c->m, &c->g, &c->bt.b, c->k0, c->kb, c->in, out, c->ce, c->cp);
}

static void input_bwd(lcase_t *c, const float *dout, float *din)
{
	layer_input_backward(c->m, &c->m->g, &c->g, &c->bt.b, c->k0, c->kb, c->in, dout, din,
			     c->ce, c->cp, c->dcp, c->dce);
}

/* The config term of configs 1 and 2 of a batch of 3 (an offset into the
 * batch), for layout and tile, the mlp's product join, the late join. */
static void test_layer_input(void)
{
	static const struct { int kind, arch, late; const char *name; } cs[] = {
		{ MODEL_LAYOUT, MODEL_ARCH_SAGE, 0, "input (layout)" },
		{ MODEL_LAYOUT, MODEL_ARCH_MLP, 0, "input (layout, product)" },
		{ MODEL_TILE, MODEL_ARCH_SAGE, 0, "input (tile)" },
		{ MODEL_TILE, MODEL_ARCH_MLP, 0, "input (tile, product)" },
		{ MODEL_TILE, MODEL_ARCH_SAGE, 1, "input (tile, late join)" },
	};
	for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
		model_hp_t hp;
		tiny_hp(&hp, cs[i].kind, cs[i].arch);
		hp.tile_late = cs[i].late;
		lcase_t c;
		lcase_init(&c, &hp, 7, 3, 3);
		size_t H = (size_t)hp.hidden, NH = (size_t)c.g.n * H, nc = (size_t)c.g.nc;
		size_t S = nc * MODEL_NSLOT * (size_t)hp.cfg_dim;
		c.k0 = 1;
		c.kb = 2;
		c.nin = NH;
		c.in = fnew(NH);
		for (size_t k = 0; k < NH; k++)
			c.in[k] = (float)(2 * urand() - 1);
		c.nout = c.kb * NH;
		c.out = fnew(c.nout);
		c.ce = fnew(c.kb * S);
		c.dce = fnew(c.kb * S);
		c.cp = fnew(c.kb * (nc ? nc : 1) * H);
		c.dcp = fnew(c.kb * (nc ? nc : 1) * H);
		c.din_added = 1;   /* dPn gathers every config's share */
		c.fwd = input_fwd;
		c.bwd = input_bwd;
		check_layer(cs[i].name, &c);
		lcase_free(&c);
	}
}

static void conv_fwd(lcase_t *c, float *out)
{
	layer_conv_forward(&c->m->hp, &c->m->p.layer[1], &c->g, out, c->Z, c->in, c->kb);
}

static void conv_bwd(lcase_t *c, const float *dout, float *din)
{
	layer_conv_backward(&c->m->hp, &c->m->p.layer[1], &c->m->g.layer[1], &c->g, din, c->Z,
			    dout, c->in, c->kb);
}

/* Every arch's conv, layer 1 of 2 (the other layer's parameters must get
 * no gradient); the din it writes overwrites what was there. */
static void test_layer_conv(void)
{
	for (int a = 0; a < MODEL_NARCH; a++) {
		model_hp_t hp;
		tiny_hp(&hp, MODEL_LAYOUT, a);
		lcase_t c;
		lcase_init(&c, &hp, 8, 2, 2);
		lcase_body_io(&c, 2);
		c.Z = fnew(layer_conv_scratch(&hp, &c.g, c.kb));
		c.fwd = conv_fwd;
		c.bwd = conv_bwd;
		char nm[64];
		snprintf(nm, sizeof nm, "conv (%s)", model_arch_name(a));
		check_layer(nm, &c);
		lcase_free(&c);
	}
}

static void norm_fwd(lcase_t *c, float *out)
{
	layer_norm_forward(&c->m->hp, &c->m->p.layer[1], out, c->ce, c->cp, c->in, c->kb,
			   (size_t)c->g.n);
}

static void norm_bwd(lcase_t *c, const float *dout, float *din)
{
	layer_norm_backward(&c->m->hp, &c->m->p.layer[1], &c->m->g.layer[1], din, dout, c->in,
			    c->ce, c->cp, c->kb, (size_t)c->g.n);
}

/* Both norms, layer 1 of 2; the backward adds its din; the output again
 * from the statistics (layer_norm_apply) is the forward's, bit for bit. */
static void test_layer_norm(void)
{
	for (int nm = MODEL_NORM_INSTANCE; nm <= MODEL_NORM_LAYER; nm++) {
		model_hp_t hp;
		tiny_hp(&hp, MODEL_LAYOUT, MODEL_ARCH_SAGE);
		hp.norm = nm;
		lcase_t c;
		lcase_init(&c, &hp, 6, 2, 2);
		size_t n = 2 * (size_t)c.g.n * (size_t)hp.hidden;
		size_t ns = 2 * layer_norm_stats(&hp, (size_t)c.g.n);
		UT_EQ_INT(ns, 2 * (nm == MODEL_NORM_LAYER ? 6 : 4));
		lcase_body_io(&c, 2);
		c.ce = fnew(ns);
		c.cp = fnew(ns);
		c.din_added = 1;
		c.fwd = norm_fwd;
		c.bwd = norm_bwd;
		check_layer(nm == MODEL_NORM_LAYER ? "norm (layer)" : "norm (instance)", &c);
		float *h = fnew(n);
		norm_fwd(&c, c.out);
		layer_norm_apply(&hp, &c.m->p.layer[1], h, c.ce, c.cp, c.in, c.kb, (size_t)c.g.n);
		UT_CHECK(memcmp(h, c.out, n * sizeof *h) == 0);
		free(h);
		lcase_free(&c);
	}
}

static void late_fwd(lcase_t *c, float *out)
{
	layer_late_forward(c->m, &c->bt.b, c->bt.B, c->in, out);
}

static void late_bwd(lcase_t *c, const float *dout, float *din)
{
	layer_late_backward(c->m, &c->m->g, &c->bt.b, c->bt.B, dout, din);
}

static void test_layer_late(void)
{
	model_hp_t hp;
	tiny_hp(&hp, MODEL_TILE, MODEL_ARCH_SAGE);
	hp.tile_late = 1;
	lcase_t c;
	lcase_init(&c, &hp, 5, 0, 4);
	size_t P = model_pooled_dim(&hp);
	c.nin = P;
	c.in = fnew(P);
	for (size_t k = 0; k < P; k++)
		c.in[k] = (float)(2 * urand() - 1);
	c.nout = 4 * P;
	c.out = fnew(c.nout);
	c.fwd = late_fwd;
	c.bwd = late_bwd;
	check_layer("late join", &c);
	lcase_free(&c);
}

static void head_fwd(lcase_t *c, float *out)
{
	layer_head_forward(c->m, &c->head, c->bt.B, out);
}

static void head_bwd(lcase_t *c, const float *dout, float *din)
{
	layer_head_backward(c->m, &c->m->g, &c->head, c->bt.B, dout, din);
}

/* The head with and without the cross-config attention, mean and mean|max
 * pooling widths. */
static void test_layer_head(void)
{
	for (int x = 0; x < 2; x++) {
		model_hp_t hp;
		tiny_hp(&hp, MODEL_TILE, MODEL_ARCH_SAGE);
		hp.xattn = x;
		hp.pool_max = !x;
		lcase_t c;
		size_t B = 5, H = (size_t)hp.hidden, P = model_pooled_dim(&hp);
		lcase_init(&c, &hp, 5, 0, B);
		c.nin = B * P;
		c.in = fnew(B * P);
		for (size_t k = 0; k < B * P; k++)
			c.in[k] = (float)(2 * urand() - 1);
		c.nout = B;
		c.out = fnew(B);
		c.head = (layer_head_t){ c.in, fnew(B * P), fnew(B * 3 * P), fnew(B * B),
					 fnew(B * H), fnew(B * H), fnew(B * P), fnew(B * H),
					 fnew(B * H) };
		c.fwd = head_fwd;
		c.bwd = head_bwd;
		c.in = c.head.pooled;
		check_layer(x ? "head (cross-config attention)" : "head", &c);
		c.in = NULL;
		lcase_free(&c);
	}
}

/* Micro-batching (a small memory budget) changes nothing but memory. */
static void microbatch(int arch)
{
	model_hp_t hp;
	model_hp_default(&hp, MODEL_LAYOUT);
	hp.hidden = 16;
	hp.layers = 2;
	hp.xattn = 1;
	hp.arch = arch;
	model_t *m = model_new(&hp, NULL);
	model_init(m, 3);
	model_graph_t g;
	make_graph(&g, 6000, 40, MODEL_LAYOUT);
	size_t B = 24;
	batch_t bt;
	make_batch(&bt, &g, B, MODEL_LAYOUT);
	float d[24], s1[24], s2[24];
	for (size_t i = 0; i < B; i++)
		d[i] = (float)(urand() - 0.5);
	model_work_t *w = model_work_new(0);
	model_zero_grad(m);
	model_forward(m, w, &g, &bt.b, s1, 1);
	model_backward(m, w, &g, &bt.b, d);
	float *g1 = xmallocarray(m->nparams, sizeof *g1);
	memcpy(g1, m->grads, m->nparams * sizeof *g1);
	size_t full = model_work_bytes(w);
	/* 16 MiB: 6 of the 24 configs per micro-batch (each keeps 2.7 MB for
	 * the backward at 6000 nodes x 16 channels, 2 layers with SE) */
	model_work_t *wm = model_work_new(16);
	model_zero_grad(m);
	model_forward(m, wm, &g, &bt.b, s2, 1);
	model_backward(m, wm, &g, &bt.b, d);
	UT_CHECK(model_work_bytes(wm) < full);
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
		fprintf(stderr, "  arch %s\n", model_arch_name(arch));
	free(g1);
	free_batch(&bt);
	model_graph_free(&g);
	model_work_free(w);
	model_work_free(wm);
	model_free(m);
}

static void test_microbatch(void)
{
	microbatch(MODEL_ARCH_SAGE);
	microbatch(MODEL_ARCH_GAT);
	microbatch(MODEL_ARCH_APPNP);
}

/* Blocks of configs in parallel (two threads) give the gradients and
 * scores of the one-thread run, where the blocks go one after the other. */
static void threads_agree(int arch)
{
	model_hp_t hp;
	model_hp_default(&hp, MODEL_LAYOUT);
	hp.hidden = 32;
	hp.layers = 2;
	hp.xattn = 1;
	hp.arch = arch;
	hp.pe_k = arch == MODEL_ARCH_GIN ? 4 : 0;
	model_t *m = model_new(&hp, NULL);
	model_init(m, 9);
	model_graph_t g;
	make_graph(&g, 3000, 30, MODEL_LAYOUT);   /* 2 configs per block: 6 blocks */
	model_graph_set_pe(&g, hp.pe_k);
	size_t B = 12;
	batch_t bt;
	make_batch(&bt, &g, B, MODEL_LAYOUT);
	float d[12], s1[12], s2[12], e1[12], e2[12];
	for (size_t i = 0; i < B; i++)
		d[i] = (float)(urand() - 0.5);
	float *g1 = xmallocarray(m->nparams, sizeof *g1);
	for (int pass = 0; pass < 2; pass++) {
		nn_set_threads(pass ? 2 : 1);
		model_work_t *w = model_work_new(0);
		model_zero_grad(m);
		model_forward(m, w, &g, &bt.b, pass ? s2 : s1, 1);
		model_backward(m, w, &g, &bt.b, d);
		model_forward(m, w, &g, &bt.b, pass ? e2 : e1, 0);
		if (!pass)
			memcpy(g1, m->grads, m->nparams * sizeof *g1);
		model_work_free(w);
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
		fprintf(stderr, "  arch %s\n", model_arch_name(arch));
	free(g1);
	free_batch(&bt);
	model_graph_free(&g);
	model_free(m);
}

static void test_threads_agree(void)
{
	for (int a = 0; a < MODEL_NARCH; a++)
		threads_agree(a);
	nn_set_threads(2);
}

/* Without cross-attention a config's score does not depend on its batch. */
static void test_batch_independent(void)
{
	model_hp_t hp;
	model_hp_default(&hp, MODEL_LAYOUT);
	hp.hidden = 8;
	model_t *m = model_new(&hp, NULL);
	model_init(m, 5);
	model_graph_t g;
	make_graph(&g, 30, 5, MODEL_LAYOUT);
	batch_t bt;
	make_batch(&bt, &g, 6, MODEL_LAYOUT);
	float all[6], one[1];
	model_work_t *w = model_work_new(0);
	model_forward(m, w, &g, &bt.b, all, 0);
	model_batch_t b1 = { 1, bt.sym + 4 * 5 * MODEL_NSLOT, NULL };
	model_forward(m, w, &g, &b1, one, 0);
	UT_NEAR(one[0], all[4], 1e-5 * (1 + fabsf(all[4])));
	free_batch(&bt);
	model_graph_free(&g);
	model_work_free(w);
	model_free(m);
}

static void test_table(void)
{
	model_hp_t hp;
	model_hp_default(&hp, MODEL_LAYOUT);
	hp.xattn = 1;
	model_t *m = model_new(&hp, NULL);
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
	UT_CHECK(m->p.xa_w == m->params + model_find(m, "xa_w")->off);
	UT_CHECK(m->g.head_b2 == m->grads + m->nparams - 1);
	UT_CHECK(m->p.layer[2].norm_g[0] == 1.0f);
	UT_CHECK(model_find(m, "l2.se_w2") != NULL);
	UT_CHECK(model_find(m, "l3.sage_w") == NULL);
	hp.layers = 99;
	const char *err = NULL;
	UT_CHECK(model_new(&hp, &err) == NULL && err != NULL);
	model_free(m);
	/* each arch's own tensors, and the checks of its options */
	const char *own[MODEL_NARCH] = { "l0.sage_w", "l0.gat_a", "l0.gin_eps", "l0.lin_w",
					"l0.la_o", "l0.lin_w" };
	for (int a = 0; a < MODEL_NARCH; a++) {
		model_hp_default(&hp, MODEL_LAYOUT);
		hp.arch = a;
		hp.pe_k = 8;
		m = model_new(&hp, NULL);
		UT_CHECK(m && model_find(m, own[a]) != NULL);
		UT_CHECK(m && model_find(m, "pe_w") != NULL && model_find(m, "pe_w")->shape[1] == 8);
		UT_CHECK(m && (model_find(m, "l0.sage_w") != NULL) ==
			 (a == MODEL_ARCH_SAGE || a == MODEL_ARCH_GPS));
		UT_EQ_INT(model_arch_parse(model_arch_name(a)), a);
		model_free(m);
	}
	UT_EQ_INT(model_arch_parse("transformer"), -1);
	UT_CHECK(model_arch_name(MODEL_NARCH) == NULL);
	model_hp_default(&hp, MODEL_LAYOUT);
	hp.arch = MODEL_ARCH_GAT;
	hp.heads = 5;   /* does not divide 64 */
	UT_CHECK(model_new(&hp, &err) == NULL && strstr(err, "heads"));
	hp.arch = MODEL_ARCH_APPNP;
	hp.appnp_alpha = 0.0f;
	UT_CHECK(model_new(&hp, &err) == NULL && strstr(err, "alpha"));
	hp.appnp_alpha = 0.1f;
	hp.pe_k = 65;
	UT_CHECK(model_new(&hp, &err) == NULL && strstr(err, "positional"));
	hp.pe_k = 0;
	hp.norm = 2;
	UT_CHECK(model_new(&hp, &err) == NULL && strstr(err, "norm"));
}

static void test_transforms(void)
{
	float x[4] = { 0, 1, -1, 1e6f };
	model_log_transform(x, 4);
	UT_NEAR(x[0], 0, 0);
	UT_NEAR(x[1], log(2.0), 1e-6);
	UT_NEAR(x[2], -log(2.0), 1e-6);
	UT_NEAR(x[3], log1p(1e6), 1e-4);
	model_stats_t s;
	memset(&s, 0, sizeof s);
	s.w = 2;
	float rows[6] = { 1, 5, 3, 5, 5, 5 };
	model_stats_add(&s, rows, 3);
	float mean[2], sd[2];
	model_stats_get(&s, mean, sd);
	UT_NEAR(mean[0], 3, 1e-6);
	UT_NEAR(sd[0], sqrt(8.0 / 3), 1e-6);
	UT_NEAR(sd[1], 1, 0);           /* constant column */
	model_standardize(rows, 3, 2, mean, sd);
	UT_NEAR(rows[1], 0, 0);
	UT_NEAR(rows[4], 2 / sqrt(8.0 / 3), 1e-6);
}

static void test_save_load(void)
{
	model_hp_t hp;
	model_hp_default(&hp, MODEL_TILE);
	hp.hidden = 8;
	hp.xattn = 1;
	hp.pool_max = 0;
	model_t *m = model_new(&hp, NULL);
	model_init(m, 11);
	for (int i = 0; i < MODEL_NFEAT; i++) {
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
	char *argv[] = { "test_model", NULL };
	model_save(path, m, m->params, &ex, 1, "test_model", 1, argv);
	rec_free(ex);
	record_t **extra = NULL;
	size_t nextra = 0;
	model_t *m2 = model_load(path, &extra, &nextra);
	UT_EQ_INT(m2->nparams, m->nparams);
	UT_EQ_INT(m2->hp.hidden, 8);
	UT_EQ_INT(m2->hp.xattn, 1);
	UT_EQ_INT(m2->hp.pool_max, 0);
	UT_EQ_INT(m2->hp.kind, MODEL_TILE);
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
	model_free(m);
	model_free(m2);
	/* the arch and its options travel in the file */
	model_hp_default(&hp, MODEL_LAYOUT);
	hp.arch = MODEL_ARCH_APPNP;
	hp.appnp_k = 7;
	hp.appnp_alpha = 0.25f;
	hp.pe_k = 5;
	hp.heads = 2;
	hp.norm = MODEL_NORM_LAYER;
	m = model_new(&hp, NULL);
	model_init(m, 12);
	fd = mkstemp(path);
	close(fd);
	model_save(path, m, m->params, NULL, 0, "test_model", 1, argv);
	m2 = model_load(path, NULL, NULL);
	UT_CHECK(memcmp(&m2->hp, &m->hp, sizeof hp) == 0);
	UT_CHECK(memcmp(m2->params, m->params, m->nparams * sizeof(float)) == 0);
	unlink(path);
	model_free(m);
	model_free(m2);
}

/* ---- the readers return their errors (lib/README.md's policy) ---- */

/* A layout graph record: n nodes in a chain, node 1 configurable. */
static record_t *graph_record(const char *id, int32_t n)
{
	record_t *r = rec_new("graph");
	rec_set_str(r, "id", id);
	rec_set_str(r, "collection", "layout:xla:random");
	tensor_t *f = tensor_new2(DT_F32, n, MODEL_NFEAT);
	tensor_t *op = tensor_new1(DT_I32, n);
	tensor_t *e = tensor_new2(DT_I32, n - 1, 2);
	for (int32_t i = 0; i + 1 < n; i++) {
		((int32_t *)e->data)[2 * i] = i + 1;
		((int32_t *)e->data)[2 * i + 1] = i;
	}
	tensor_t *ci = tensor_new1(DT_I32, 1);
	((int32_t *)ci->data)[0] = 1;
	rec_set_tensor(r, "node_feat", f);
	rec_set_tensor(r, "node_opcode", op);
	rec_set_tensor(r, "edge_index", e);
	rec_set_tensor(r, "node_config_ids", ci);
	return r;
}

/* Its configs: count rows of raw values (0 = symbol 1), runtimes 1..count. */
static record_t *configs_record(const char *id, int64_t count)
{
	record_t *r = rec_new("configs");
	rec_set_str(r, "id", id);
	rec_set_int(r, "count", count);
	rec_set_tensor(r, "node_config_feat", tensor_new3(DT_F32, count, 1, MODEL_NSLOT));
	tensor_t *rt = tensor_new1(DT_I64, count), *ix = tensor_new1(DT_I64, count);
	for (int64_t i = 0; i < count; i++) {
		((int64_t *)rt->data)[i] = i + 1;
		((int64_t *)ix->data)[i] = i;
	}
	rec_set_tensor(r, "config_runtime", rt);
	rec_set_tensor(r, "config_index", ix);
	return r;
}

static void test_readers_return(void)
{
	char err[1024];
	model_graph_t g;
	model_chunk_t c;
	record_t *r = graph_record("layout:xla:random:a", 4);
	UT_EQ_INT(model_graph_parse(&g, r, MODEL_LAYOUT, err, sizeof err), 0);
	UT_EQ_INT(g.n, 4);
	UT_EQ_INT(g.nc, 1);
	record_t *cr = configs_record("layout:xla:random:a", 3);
	UT_EQ_INT(model_chunk_parse(&c, cr, &g, MODEL_LAYOUT, err, sizeof err), 0);
	UT_EQ_INT(c.count, 3);
	UT_CHECK(c.target && c.target[2] == 3.0);
	model_chunk_free(&c);
	rec_free(cr);
	/* a config value out of range: an error naming the record, nothing kept */
	cr = configs_record("layout:xla:random:a", 2);
	((float *)rec_tensor(cr, "node_config_feat")->data)[5] = 9.0f;
	UT_EQ_INT(model_chunk_parse(&c, cr, &g, MODEL_LAYOUT, err, sizeof err), -1);
	UT_CHECK(strstr(err, "record 0 (layout:xla:random:a): node_config_feat: value 9") != NULL);
	UT_CHECK(c.codes == NULL && c.target == NULL && c.cidx == NULL);
	rec_free(cr);
	/* configs of another graph */
	cr = configs_record("layout:xla:random:b", 2);
	UT_EQ_INT(model_chunk_parse(&c, cr, &g, MODEL_LAYOUT, err, sizeof err), -1);
	UT_CHECK(strstr(err, "configs for graph 'layout:xla:random:b' inside graph") != NULL);
	rec_free(cr);
	model_graph_free(&g);
	rec_free(r);
	/* a graph: an edge out of range, a missing id, non-finite features */
	r = graph_record("layout:xla:random:a", 4);
	((int32_t *)rec_tensor(r, "edge_index")->data)[3] = 7;
	UT_EQ_INT(model_graph_parse(&g, r, MODEL_LAYOUT, err, sizeof err), -1);
	UT_CHECK(strstr(err, "edge_index row 1: node id 7 out of range (4 nodes)") != NULL);
	UT_CHECK(g.id == NULL && g.feat == NULL);
	rec_free(r);
	r = graph_record("layout:xla:random:a", 4);
	((float *)rec_tensor(r, "node_feat")->data)[MODEL_NFEAT + 2] = NAN;
	UT_EQ_INT(model_graph_parse(&g, r, MODEL_LAYOUT, err, sizeof err), -1);
	UT_CHECK(strstr(err, "non-finite value at node 1 feature 2") != NULL);
	rec_free(r);

	/* a collection: the file, then its data */
	char path[] = "/tmp/test_model_XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	model_set_t set;
	UT_EQ_INT(model_set_load(&set, "/nonexistent/x.mp", -1, 0, 1, err, sizeof err), EX_IO);
	UT_CHECK(strstr(err, "/nonexistent/x.mp: No such file") != NULL);
	record_t *recs[4] = { graph_record("layout:xla:random:a", 5),
			      configs_record("layout:xla:random:a", 4),
			      graph_record("layout:xla:random:b", 3),
			      configs_record("layout:xla:random:b", 2) };
	ut_write_stream(path, recs, 4, 0);
	UT_EQ_INT(model_set_load(&set, path, -1, 0, 1, err, sizeof err), 0);
	UT_EQ_INT(set.n, 2);
	UT_EQ_INT(set.nconf, 6);
	model_set_free(&set);
	recs[0] = graph_record("layout:xla:random:a", 5);
	recs[1] = configs_record("layout:xla:random:a", 4);
	recs[2] = graph_record("layout:xla:random:b", 3);
	rec_set_bool(recs[2], "runtimes_hidden", 1);
	ut_write_stream(path, recs, 3, 0);
	UT_EQ_INT(model_set_load(&set, path, -1, 0, 1, err, sizeof err), EX_DATA);
	UT_CHECK(strstr(err, "record 3 (layout:xla:random:b): its runtimes are hidden") != NULL);
	UT_CHECK(set.n == 0 && set.g == NULL);

	/* a model file: missing, not a model, a parameter of the wrong shape */
	model_t *m;
	UT_EQ_INT(model_try_load("/nonexistent/m", &m, NULL, NULL, err, sizeof err), EX_IO);
	UT_CHECK(m == NULL);
	UT_EQ_INT(model_try_load(path, &m, NULL, NULL, err, sizeof err), EX_DATA);
	UT_CHECK(strstr(err, "not a model file: first record is 'graph'") != NULL);
	model_hp_t hp;
	model_hp_default(&hp, MODEL_TILE);
	hp.hidden = 4;
	model_t *good = model_new(&hp, NULL);
	model_init(good, 3);
	fd = open(path, O_WRONLY | O_TRUNC);
	swriter_t *sw = sw_open_fd(fd, path);
	record_t *h = header_new();
	sw_write(sw, h);
	rec_free(h);
	model_write(sw, good, good->params);
	sw_end(sw);
	sw_close(sw);
	UT_EQ_INT(model_try_load(path, &m, NULL, NULL, err, sizeof err), 0);
	UT_CHECK(m && memcmp(m->params, good->params, good->nparams * sizeof(float)) == 0);
	model_free(m);
	fd = open(path, O_WRONLY | O_TRUNC);
	sw = sw_open_fd(fd, path);
	h = header_new();
	sw_write(sw, h);
	rec_free(h);
	model_write(sw, good, good->params);
	sw_close(sw);   /* no end record: a truncated file */
	UT_EQ_INT(model_try_load(path, &m, NULL, NULL, err, sizeof err), EX_DATA);
	UT_CHECK(m == NULL && strstr(err, "end") != NULL);
	model_free(good);
	unlink(path);
}

/* test_model --grads MODEL STREAM B OUT.json: the C side of the PyTorch
 * cross-check (tests/torch/): scores, mixed ranking loss (margin 0.1, mix
 * 0.5) and every parameter's gradient on the first graph of STREAM and its
 * first B configs, as JSON. */
static int dump_grads(const char *model, const char *stream, long B, const char *out)
{
	model_t *m = model_load(model, NULL, NULL);
	model_set_t set;
	model_set_read(&set, stream, m->hp.kind, 0, 1);
	model_set_standardize(&set, m);
	if (set.n == 0)
		die(EX_DATA, "%s: no graphs", stream);
	model_graph_set_pe(&set.g[0], m->hp.pe_k);
	const model_graph_t *g = &set.g[0];
	size_t nb = g->nconf < (size_t)B ? g->nconf : (size_t)B;
	size_t w3 = (size_t)g->nc * MODEL_NCODE;
	uint8_t *sym = xmallocarray(nb * w3 * 6 + 1, 1);
	float *tf = xmallocarray(nb * MODEL_NTILE + 1, sizeof *tf);
	if (m->hp.kind == MODEL_LAYOUT)
		model_symbols(sym, g->codes, nb * w3);
	else
		memcpy(tf, g->tfeat, nb * MODEL_NTILE * sizeof *tf);
	model_batch_t b = { nb, sym, tf };
	float *scores = xcalloc(nb + 1, sizeof *scores), *ds = xcalloc(nb + 1, sizeof *ds);
	model_work_t *w = model_work_new(0);
	model_zero_grad(m);
	model_forward(m, w, g, &b, scores, 1);
	const train_loss_t mixed = { TRAIN_LOSS_MIXED, 0.1, 0.5, 0.0 };
	double loss = train_loss(&mixed, ds, scores, g->target, nb, 1.0);
	model_backward(m, w, g, &b, ds);
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
	model_work_free(w);
	model_set_free(&set);
	model_free(m);
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
	UT_RUN(test_layer_node);
	UT_RUN(test_layer_input);
	UT_RUN(test_layer_conv);
	UT_RUN(test_layer_late);
	UT_RUN(test_layer_head);
	UT_RUN(test_grad_layout);
	UT_RUN(test_grad_tile);
	UT_RUN(test_grad_archs);
	UT_RUN(test_grad_tile_late);
	UT_RUN(test_microbatch);
	UT_RUN(test_batch_independent);
	UT_RUN(test_threads_agree);
	UT_RUN(test_save_load);
	UT_RUN(test_readers_return);
	UT_RUN(test_layer_norm);   /* last: the draws of the tests above stay */
	UT_RUN(test_grad_layernorm);
	return ut_done("test_model");
}
