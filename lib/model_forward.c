/* model_forward: the forward and backward of a batch (model.h), in the order
 * of model_layers.h, and the planner that decides where activations live.
 *
 * The planner.  A batch of B configs of one graph has three levels:
 *   - the graph: the node term Pn (N, H), once per call;
 *   - the head, over all B configs together (the cross-config attention
 *     sees them all);
 *   - the body (input, layers, pooling), run for Bg configs (B; with the
 *     late join 1: the graph's config-free row) in chunks of Bm configs and,
 *     within a chunk, cache blocks of Bb configs.
 * A block's scratch, (Bb, N, H), stays in the processor's caches, so the
 * norm, aggregation and GELU passes do not stream from memory (25% faster
 * per config than whole-batch passes); blocks run one per thread when there
 * are enough of them.  In training the forward keeps, for the whole chunk,
 * what the backward needs (each layer's input, GELU derivative, SE input
 * and statistics).  When the memory budget lets a chunk hold fewer than Bg
 * configs (Bm < Bg) the forward keeps nothing and the backward recomputes
 * each chunk before its backward (micro-batches; the pooled rows come out
 * the same).  layer_acts says where each layer's tensors are: the one place
 * that knows the memory policy. */
#include "model_layers.h"
#include "err.h"
#include "gnn.h"
#include "nn.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	void *p;
	size_t cap;
} buf_t;

#define ML MODEL_MAX_LAYERS

/* Floats of (Bb, N, H) scratch a cache block aims at (1 MiB). */
#define BLOCK_FLOATS ((size_t)1 << 18)

struct model_work {
	size_t budget, bytes;
	/* graph level */
	buf_t T, dT, Pn, dPn;
	/* batch level (B rows): the head */
	buf_t pooled, dpooled, z1, dz1, qkv, att, hp, dhp, ha, dha;
	buf_t gpool;               /* late join: the graph's pooled row (P) */
	/* chunk level (Bm configs): what the backward needs */
	buf_t x[ML + 1], dg[ML], yr[ML], mean[ML], rstd[ML], sq[ML], sa[ML], ss[ML];
	buf_t argmax, cfg_e;
	/* block level (Bb configs), one set per thread: scratch */
	buf_t h, Z, y, dX, dY, dh, cfg_p, dcfg_e, dcfg_p;
	buf_t ap, apo;             /* APPNP scratch and output */
	buf_t pe_t;                /* graph level: the positional term (N, H) */
	/* per thread: gradients and node-projection gradient */
	buf_t tgrad, tdPn;
	/* the plan, between forward and backward */
	size_t B, Bg, Bm, Bb, nt;  /* Bg: configs the body runs for (B; late join 1) */
	size_t zf, af;             /* floats per thread of Z and ap */
	int cached;                /* the forward kept the whole batch's activations */
};

static void *need(model_work_t *w, buf_t *b, size_t bytes)
{
	if (bytes > b->cap) {
		free(b->p);
		b->p = xmalloc(bytes);
		w->bytes += bytes - b->cap;
		b->cap = bytes;
	}
	return b->p;
}

#define NEEDF(w, b, n) ((float *)need((w), &(w)->b, (n) * sizeof(float)))

model_work_t *model_work_new(size_t budget_mb)
{
	model_work_t *w = xcalloc(1, sizeof *w);
	w->budget = budget_mb << 20;
	return w;
}

void model_work_free(model_work_t *w)
{
	if (!w)
		return;
	buf_t *b = (buf_t *)&w->T;
	buf_t *end = (buf_t *)&w->B;
	for (; b < end; b++)
		free(b->p);
	free(w);
}

size_t model_work_bytes(const model_work_t *w)
{
	return w->bytes;
}

/* ------------------------------------------------------------------ */
/* the plan */

/* Configs per cache block. */
static size_t block_configs(const model_hp_t *hp, size_t N, size_t Bm)
{
	size_t per = N * (size_t)hp->hidden;
	size_t k = per ? BLOCK_FLOATS / per : Bm;
	if (k < 1)
		k = 1;
	return k < Bm ? k : Bm;
}

/* Configs per chunk: what one config keeps for the backward, against the
 * budget (inference keeps nothing: one chunk). */
static size_t chunk_configs(const model_t *m, const model_work_t *w,
			    const model_graph_t *g, size_t B, int train)
{
	const model_hp_t *hp = &m->hp;
	if (!w->budget || !train)
		return B;
	size_t L = (size_t)hp->layers, nh = (size_t)g->n * (size_t)hp->hidden;
	size_t per = nh * ((L + 1) + L + (hp->se ? L : 0)) +
		     (size_t)g->nc * MODEL_NSLOT * (size_t)hp->cfg_dim;
	size_t k = per ? w->budget / (per * sizeof(float)) : B;
	if (k < 1)
		k = 1;
	return k < B ? k : B;
}

/* Decide Bg, Bm, Bb, the threads and whether the forward keeps the batch. */
static void plan(const model_t *m, model_work_t *w, const model_graph_t *g, size_t B,
		 int train)
{
	w->B = B;
	w->Bg = m->hp.tile_late ? 1 : B;
	w->Bm = chunk_configs(m, w, g, w->Bg, train);
	w->nt = (size_t)nn_threads();
	w->Bb = block_configs(&m->hp, (size_t)g->n, w->Bm);
	if (w->nt > 1 && w->Bb * w->nt > w->Bm)   /* small graphs: a block per thread */
		w->Bb = (w->Bm + w->nt - 1) / w->nt;
	w->cached = train && w->Bm >= w->Bg;
}

/* Size the chunk (Bm configs; only with keep) and block (Bb configs per
 * thread, nt threads) buffers.  Without keep the caches hold one block per
 * thread. */
static void ensure_body(const model_t *m, model_work_t *w, const model_graph_t *g,
			int keep)
{
	const model_hp_t *hp = &m->hp;
	size_t H = (size_t)hp->hidden, N = (size_t)g->n, L = (size_t)hp->layers;
	size_t R = (size_t)hp->se_dim, nc = (size_t)g->nc;
	size_t S = MODEL_NSLOT * (size_t)hp->cfg_dim, T = w->nt, Bm = w->Bm, Bb = w->Bb;
	size_t Bk = keep ? Bm : T * Bb;       /* configs the caches hold */
	size_t nl = keep ? L : (L ? 1 : 0);
	NEEDF(w, x[0], Bk * N * H);
	if (keep)
		for (size_t l = 0; l < L; l++) {
			NEEDF(w, x[l + 1], Bm * N * H);
			NEEDF(w, dg[l], Bm * N * H);
			if (hp->se)
				NEEDF(w, yr[l], Bm * N * H);
		}
	for (size_t l = 0; l < nl; l++) {
		NEEDF(w, mean[l], Bk * layer_norm_stats(hp, N));
		NEEDF(w, rstd[l], Bk * layer_norm_stats(hp, N));
		if (hp->se) {
			NEEDF(w, sq[l], Bk * H);
			NEEDF(w, sa[l], Bk * R);
			NEEDF(w, ss[l], Bk * H);
		}
	}
	need(w, &w->argmax, Bk * H * sizeof(int32_t));
	NEEDF(w, h, T * Bb * N * H);
	w->zf = layer_conv_scratch(hp, g, Bb);
	NEEDF(w, Z, T * w->zf);
	if (hp->arch == MODEL_ARCH_APPNP) {
		w->af = nn_appnp_scratch(Bb, N, H);
		NEEDF(w, ap, T * w->af);
		NEEDF(w, apo, T * Bb * N * H);
	}
	NEEDF(w, y, T * Bb * N * H);
	if (keep) {
		NEEDF(w, dX, T * Bb * N * H);
		NEEDF(w, dY, T * Bb * N * H);
		NEEDF(w, dh, T * Bb * N * H);
	}
	if (hp->kind == MODEL_LAYOUT) {
		NEEDF(w, cfg_e, Bk * nc * S + 1);
		NEEDF(w, cfg_p, T * (Bb * nc * H + 1));
		if (keep) {
			NEEDF(w, dcfg_e, T * (Bb * nc * S + 1));
			NEEDF(w, dcfg_p, T * (Bb * nc * H + 1));
		}
	} else {
		NEEDF(w, cfg_p, T * Bb * H);
		if (keep)
			NEEDF(w, dcfg_p, T * Bb * H);
	}
}

static void ensure_graph(const model_t *m, model_work_t *w, const model_graph_t *g)
{
	size_t H = (size_t)m->hp.hidden, N = (size_t)g->n;
	NEEDF(w, T, MODEL_NOPS * H);
	NEEDF(w, Pn, N * H);
	NEEDF(w, dT, MODEL_NOPS * H);
	NEEDF(w, dPn, N * H);
	if (m->hp.pe_k)
		NEEDF(w, pe_t, N * H);
}

static layer_head_t ensure_head(const model_t *m, model_work_t *w, size_t B, int train)
{
	size_t H = (size_t)m->hp.hidden, P = model_pooled_dim(&m->hp);
	NEEDF(w, pooled, B * P);
	NEEDF(w, z1, B * P);
	NEEDF(w, hp, B * H);
	NEEDF(w, ha, B * H);
	if (m->hp.xattn) {
		NEEDF(w, qkv, B * 3 * P);
		NEEDF(w, att, B * B);
	}
	if (train) {
		NEEDF(w, dpooled, B * P);
		NEEDF(w, dz1, B * P);
		NEEDF(w, dhp, B * H);
		NEEDF(w, dha, B * H);
	}
	return (layer_head_t){ w->pooled.p, w->z1.p, w->qkv.p, w->att.p, w->hp.p, w->ha.p,
			       w->dz1.p, w->dhp.p, w->dha.p };
}

/* One cache block: configs [k0, k0 + kb) of the batch, whose kept tensors
 * start at config slot o (keep: its place in the chunk; else the thread's
 * block), with the scratch of thread t. */
typedef struct {
	size_t k0, kb, o;
	int t;
	float *x0;                 /* the input, (kb, N, H) at slot o */
	float *cfg_e, *cfg_p;      /* the config term's embeddings (slot o), scratch */
	float *dcfg_e, *dcfg_p;    /* (backward) */
	float *h, *Z, *y;          /* scratch: normalised input, conv's, SE's */
	float *dX, *dY, *dh;       /* (backward) */
	float *ap, *apo;           /* APPNP scratch and output */
	int32_t *argmax;           /* pooling's cache (slot o) */
} block_t;

/* Float o of buffer b, or NULL when b has none (a buffer this plan does
 * not use). */
static float *at(const buf_t *b, size_t o)
{
	return b->p ? (float *)b->p + o : NULL;
}

static block_t block_at(const model_t *m, model_work_t *w, const model_graph_t *g,
			size_t k0, size_t kb, size_t o, int t)
{
	const model_hp_t *hp = &m->hp;
	size_t H = (size_t)hp->hidden, NH = (size_t)g->n * H, Bb = w->Bb, nc = (size_t)g->nc;
	size_t S = nc * MODEL_NSLOT * (size_t)hp->cfg_dim;
	size_t cps = hp->kind == MODEL_LAYOUT ? Bb * nc * H + 1 : Bb * H;
	size_t ts = (size_t)t * Bb * NH, tt = (size_t)t;
	return (block_t){
		.k0 = k0, .kb = kb, .o = o, .t = t,
		.x0 = at(&w->x[0], o * NH),
		.cfg_e = at(&w->cfg_e, o * S), .cfg_p = at(&w->cfg_p, tt * cps),
		.dcfg_e = at(&w->dcfg_e, tt * (Bb * S + 1)), .dcfg_p = at(&w->dcfg_p, tt * cps),
		.h = at(&w->h, ts), .Z = at(&w->Z, tt * w->zf), .y = at(&w->y, ts),
		.dX = at(&w->dX, ts), .dY = at(&w->dY, ts), .dh = at(&w->dh, ts),
		.ap = at(&w->ap, tt * w->af), .apo = at(&w->apo, ts),
		.argmax = w->argmax.p ? (int32_t *)w->argmax.p + o * H : NULL,
	};
}

/* Where layer l's tensors are for block b.  keep: the input x and output of
 * each layer, its norm statistics, GELU derivative and SE input and caches
 * are the chunk's, at the block's slot; else the layer runs in place (x is
 * the block's x0, output too), statistics in slot 0's, SE writing into h. */
typedef struct {
	float *x, *out;            /* (kb, N, H): the input, GELU(x + branch) */
	float *mean, *rstd;        /* (kb, layer_norm_stats) the norm's statistics */
	float *conv;               /* (kb, N, H) the conv's output */
	float *se;                 /* (kb, N, H) SE's output (se) */
	float *sq, *sa, *ss;       /* SE's caches */
	float *dgelu;              /* (kb, N, H) GELU's derivative, or NULL */
} layer_acts_t;

static layer_acts_t layer_acts(const model_t *m, model_work_t *w, const model_graph_t *g,
			       const block_t *b, int l, int keep)
{
	const model_hp_t *hp = &m->hp;
	size_t H = (size_t)hp->hidden, NH = (size_t)g->n * H, R = (size_t)hp->se_dim, o = b->o;
	int lc = keep ? l : 0;   /* the statistics' cache slot */
	layer_acts_t a;
	a.x = keep ? (float *)w->x[l].p + o * NH : b->x0;
	a.out = keep ? (float *)w->x[l + 1].p + o * NH : b->x0;
	a.dgelu = keep ? (float *)w->dg[l].p + o * NH : NULL;
	size_t ns = layer_norm_stats(hp, (size_t)g->n);
	a.mean = (float *)w->mean[lc].p + o * ns;
	a.rstd = (float *)w->rstd[lc].p + o * ns;
	a.conv = keep && hp->se ? (float *)w->yr[l].p + o * NH : b->y;
	a.se = keep ? b->y : b->h;
	a.sq = a.sa = a.ss = NULL;
	if (hp->se) {
		a.sq = (float *)w->sq[lc].p + o * H;
		a.sa = (float *)w->sa[lc].p + o * R;
		a.ss = (float *)w->ss[lc].p + o * H;
	}
	return a;
}

/* ------------------------------------------------------------------ */
/* forward */

/* Block b through the body: input, layers, [APPNP,] pooling into the
 * batch's pooled rows. */
static void block_forward(const model_t *m, model_work_t *w, const model_graph_t *g,
			  const model_batch_t *bt, const block_t *b, int keep)
{
	const model_hp_t *hp = &m->hp;
	size_t H = (size_t)hp->hidden, N = (size_t)g->n, R = (size_t)hp->se_dim, kb = b->kb;
	size_t n = kb * N * H;
	layer_input_forward(m, g, bt, b->k0, kb, w->Pn.p, b->x0, b->cfg_e, b->cfg_p);
	float *x = b->x0;
	for (int l = 0; l < hp->layers; l++) {
		const model_layer_params_t *lp = &m->p.layer[l];
		layer_acts_t a = layer_acts(m, w, g, b, l, keep);
		layer_norm_forward(hp, lp, b->h, a.mean, a.rstd, a.x, kb, N);
		layer_conv_forward(hp, lp, g, a.conv, b->Z, b->h, kb);
		float *branch = a.conv;
		if (hp->se) {
			nn_se_forward(a.se, a.sq, a.sa, a.ss, a.conv, lp->se_w1, lp->se_b1,
				      lp->se_w2, lp->se_b2, kb, N, H, R);
			branch = a.se;
		}
		nn_residual_gelu_forward(a.out, a.dgelu, a.x, branch, n);
		x = a.out;
	}
	if (hp->arch == MODEL_ARCH_APPNP) {
		nn_appnp_forward(b->apo, b->ap, x, &g->adj, hp->appnp_alpha, hp->appnp_k, kb, H);
		x = b->apo;
	}
	nn_pool_forward((float *)w->pooled.p + b->k0 * model_pooled_dim(hp), b->argmax, x, kb,
			N, H, hp->pool_max);
}

/* Blocks run in parallel, one thread each, when there are enough of them
 * (every kernel inside then runs on its thread alone: no barrier per
 * kernel); else one after the other, each kernel using every thread. */
static int blocks_parallel(const model_work_t *w, size_t nblocks)
{
	return w->nt > 1 && nblocks >= w->nt;
}

/* The body for configs [c0, c1) (one chunk), block by block. */
static void body_forward(const model_t *m, model_work_t *w, const model_graph_t *g,
			 const model_batch_t *bt, size_t c0, size_t c1, int keep)
{
	size_t Bb = w->Bb, nb = (c1 - c0 + Bb - 1) / Bb;
	if (blocks_parallel(w, nb)) {
		#pragma omp parallel for schedule(static) num_threads((int)w->nt)
		for (size_t i = 0; i < nb; i++) {
			int t = omp_get_thread_num();
			size_t k0 = c0 + i * Bb, kb = c1 - k0 < Bb ? c1 - k0 : Bb;
			block_t b = block_at(m, w, g, k0, kb, keep ? k0 - c0 : (size_t)t * Bb, t);
			block_forward(m, w, g, bt, &b, keep);
		}
	} else {
		for (size_t i = 0; i < nb; i++) {
			size_t k0 = c0 + i * Bb, kb = c1 - k0 < Bb ? c1 - k0 : Bb;
			block_t b = block_at(m, w, g, k0, kb, keep ? k0 - c0 : 0, 0);
			block_forward(m, w, g, bt, &b, keep);
		}
	}
}

void model_forward(model_t *m, model_work_t *w, const model_graph_t *g,
		  const model_batch_t *b, float *scores, int train)
{
	size_t B = b->B;
	if (B == 0)
		return;
	plan(m, w, g, B, train);
	ensure_graph(m, w, g);
	layer_node_forward(m, g, w->Pn.p, w->T.p, w->pe_t.p);
	layer_head_t head = ensure_head(m, w, B, train);
	ensure_body(m, w, g, w->cached);
	for (size_t c0 = 0; c0 < w->Bg; c0 += w->Bm)
		body_forward(m, w, g, b, c0, c0 + w->Bm < w->Bg ? c0 + w->Bm : w->Bg, w->cached);
	if (m->hp.tile_late) {   /* pooled row 0 is the graph's: every config's base */
		size_t P = model_pooled_dim(&m->hp);
		float *gp = NEEDF(w, gpool, P);
		memcpy(gp, w->pooled.p, P * sizeof *gp);
		layer_late_forward(m, b, B, gp, w->pooled.p);
	}
	layer_head_forward(m, &head, B, scores);
}

/* ------------------------------------------------------------------ */
/* backward */

/* Block b's backward through every layer down to the input: the node
 * term's gradient into dPn, the parameters' into gr. */
NN_CLONES static void block_backward(const model_t *m, model_work_t *w,
				     const model_graph_t *g, const model_batch_t *bt,
				     const block_t *b, const model_params_t *gr, float *dPn)
{
	const model_hp_t *hp = &m->hp;
	size_t H = (size_t)hp->hidden, N = (size_t)g->n, R = (size_t)hp->se_dim, kb = b->kb;
	size_t n = kb * N * H;
	float *dx = b->dX, *dsum = b->dY;   /* d(layer output), d(layer input) */
	memset(dx, 0, n * sizeof *dx);
	nn_pool_backward(dx, (float *)w->dpooled.p + b->k0 * model_pooled_dim(hp), b->argmax,
			 kb, N, H, hp->pool_max);
	if (hp->arch == MODEL_ARCH_APPNP) {   /* linear: its backward needs only dx */
		memset(dsum, 0, n * sizeof *dsum);
		nn_appnp_backward(dsum, b->ap, dx, &g->adj, hp->appnp_alpha, hp->appnp_k, kb, H);
		float *t = dx;
		dx = dsum;
		dsum = t;
	}
	for (int l = hp->layers - 1; l >= 0; l--) {
		const model_layer_params_t *lp = &m->p.layer[l];
		const model_layer_params_t *gl = &gr->layer[l];
		layer_acts_t a = layer_acts(m, w, g, b, l, 1);
		/* out = GELU(x + branch): both terms get dsum */
		nn_residual_gelu_backward(dsum, dx, a.dgelu, n);
		const float *dconv = dsum;
		if (hp->se) {
			memset(a.se, 0, n * sizeof *a.se);
			nn_se_backward(a.se, gl->se_w1, gl->se_b1, gl->se_w2, gl->se_b2, dsum,
				       a.conv, a.sq, a.sa, a.ss, lp->se_w1, lp->se_w2, kb, N, H, R);
			dconv = a.se;
		}
		layer_norm_apply(hp, lp, b->h, a.mean, a.rstd, a.x, kb, N);
		layer_conv_backward(hp, lp, gl, g, b->dh, b->Z, dconv, b->h, kb);
		/* dsum holds the residual's share of d x; add the branch's */
		layer_norm_backward(hp, lp, gl, dsum, b->dh, a.x, a.mean, a.rstd, kb, N);
		float *t = dx;
		dx = dsum;
		dsum = t;
	}
	layer_input_backward(m, gr, g, bt, b->k0, kb, w->Pn.p, dx, dPn, b->cfg_e, b->cfg_p,
			     b->dcfg_p, b->dcfg_e);
}

/* The backward of configs [c0, c1), one chunk.  With blocks in parallel
 * each thread sums its gradients and dPn privately; the private sums are
 * added in thread order (a fixed order for a given thread count). */
static void body_backward(model_t *m, model_work_t *w, const model_graph_t *g,
			  const model_batch_t *bt, size_t c0, size_t c1)
{
	size_t Bb = w->Bb, nb = (c1 - c0 + Bb - 1) / Bb;
	size_t NH = (size_t)g->n * (size_t)m->hp.hidden, T = w->nt;
	if (!blocks_parallel(w, nb)) {
		for (size_t i = 0; i < nb; i++) {
			size_t k0 = c0 + i * Bb, kb = c1 - k0 < Bb ? c1 - k0 : Bb;
			block_t b = block_at(m, w, g, k0, kb, k0 - c0, 0);
			block_backward(m, w, g, bt, &b, &m->g, w->dPn.p);
		}
		return;
	}
	float *tg = NEEDF(w, tgrad, T * m->nparams);
	float *tdPn = NEEDF(w, tdPn, T * NH);
	memset(tg, 0, T * m->nparams * sizeof *tg);
	memset(tdPn, 0, T * NH * sizeof *tdPn);
	model_params_t *views = xcalloc(T, sizeof *views);
	for (size_t t = 0; t < T; t++)
		model_params_view(&m->hp, tg + t * m->nparams, &views[t]);
	#pragma omp parallel for schedule(static) num_threads((int)T)
	for (size_t i = 0; i < nb; i++) {
		int t = omp_get_thread_num();
		size_t k0 = c0 + i * Bb, kb = c1 - k0 < Bb ? c1 - k0 : Bb;
		block_t b = block_at(m, w, g, k0, kb, k0 - c0, t);
		block_backward(m, w, g, bt, &b, &views[t], tdPn + (size_t)t * NH);
	}
	free(views);
	float *dPn = w->dPn.p;
	for (size_t t = 0; t < T; t++) {
		const float *a = tg + t * m->nparams, *d = tdPn + t * NH;
		#pragma omp simd
		for (size_t i = 0; i < m->nparams; i++)
			m->grads[i] += a[i];
		#pragma omp simd
		for (size_t i = 0; i < NH; i++)
			dPn[i] += d[i];
	}
}

void model_backward(model_t *m, model_work_t *w, const model_graph_t *g,
		   const model_batch_t *b, const float *dscores)
{
	size_t B = w->B, Bg = w->Bg, Bm = w->Bm;
	if (B == 0)
		return;
	layer_head_t head = ensure_head(m, w, B, 1);
	layer_head_backward(m, &m->g, &head, B, dscores, w->dpooled.p);
	if (m->hp.tile_late) {   /* the configs' rows all came from row 0 */
		size_t P = model_pooled_dim(&m->hp);
		layer_late_backward(m, &m->g, b, B, w->dpooled.p, w->gpool.p);
		memcpy(w->dpooled.p, w->gpool.p, P * sizeof(float));
	}
	memset(w->dPn.p, 0, (size_t)g->n * (size_t)m->hp.hidden * sizeof(float));
	if (w->cached) {
		body_backward(m, w, g, b, 0, Bg);
	} else {   /* micro-batches: recompute each chunk, keeping, then its backward */
		ensure_body(m, w, g, 1);
		for (size_t c0 = 0; c0 < Bg; c0 += Bm) {
			size_t c1 = c0 + Bm < Bg ? c0 + Bm : Bg;
			body_forward(m, w, g, b, c0, c1, 1);
			body_backward(m, w, g, b, c0, c1);
		}
	}
	layer_node_backward(m, &m->g, g, w->dPn.p, w->dT.p);
}
