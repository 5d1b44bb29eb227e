/* sage: see sage.h and docs/model.md */
#include "sage.h"
#include "base7.h"
#include "err.h"
#include "gnn.h"
#include "graph.h"
#include "outfile.h"
#include "rng.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* hyper-parameters and the size table */

void sage_hp_default(sage_hp_t *hp, int kind)
{
	memset(hp, 0, sizeof *hp);
	hp->kind = kind;
	hp->hidden = 64;
	hp->layers = 3;
	hp->op_dim = 16;
	hp->cfg_dim = 4;
	hp->pool_max = 1;
	hp->se = 1;
	hp->se_dim = 16;
	hp->xattn = 0;
	hp->batch = 64;
	hp->arch = SAGE_ARCH_SAGE;
	hp->heads = 4;
	hp->appnp_k = 10;
	hp->appnp_alpha = 0.1f;
	hp->pe_k = 0;
}

static const char *const arch_names[SAGE_NARCH] = { "sage", "gat", "gin", "appnp", "gps", "mlp" };

const char *sage_arch_name(int arch)
{
	return arch >= 0 && arch < SAGE_NARCH ? arch_names[arch] : NULL;
}

int sage_arch_parse(const char *s)
{
	for (int i = 0; i < SAGE_NARCH; i++)
		if (strcmp(s, arch_names[i]) == 0)
			return i;
	return -1;
}

const char *sage_hp_check(const sage_hp_t *hp)
{
	if (hp->kind != SAGE_LAYOUT && hp->kind != SAGE_TILE)
		return "kind must be layout or tile";
	if (hp->hidden < 1 || hp->hidden > 4096)
		return "hidden size must be in 1..4096";
	if (hp->layers < 0 || hp->layers > SAGE_MAX_LAYERS)
		return "layers must be in 0..16";
	if (hp->op_dim < 1 || hp->op_dim > 1024)
		return "opcode embedding size must be in 1..1024";
	if (hp->cfg_dim < 1 || hp->cfg_dim > 256)
		return "config embedding size must be in 1..256";
	if (hp->se && (hp->se_dim < 1 || hp->se_dim > 4096))
		return "squeeze-excitation size must be in 1..4096";
	if (hp->batch < 1 || hp->batch > 1000000)
		return "batch must be in 1..1000000";
	if (hp->arch < 0 || hp->arch >= SAGE_NARCH)
		return "unknown arch";
	if ((hp->arch == SAGE_ARCH_GAT || hp->arch == SAGE_ARCH_GPS) &&
	    (hp->heads < 1 || hp->hidden % hp->heads != 0))
		return "heads must be at least 1 and divide the hidden size";
	if (hp->arch == SAGE_ARCH_APPNP) {
		if (hp->appnp_k < 0 || hp->appnp_k > 1000)
			return "APPNP steps must be in 0..1000";
		if (!(hp->appnp_alpha > 0.0f && hp->appnp_alpha <= 1.0f))
			return "APPNP alpha must be in (0, 1]";
	}
	if (hp->pe_k < 0 || hp->pe_k > SAGE_MAX_PE)
		return "positional encoding size must be in 0..64";
	if (hp->tile_late && hp->kind != SAGE_TILE)
		return "the late config join is for tile models only";
	return NULL;
}

/* Pooled width P. */
static size_t pooled_dim(const sage_hp_t *hp)
{
	return (size_t)hp->hidden * (hp->pool_max ? 2 : 1);
}

typedef struct {
	sage_ptab_t *t;
	size_t n, cap;
} tabb_t;

/* The parameter list, in file order.  Walks it once: appends each tensor
 * to the table tb (when not NULL) and points the view v into base (when not
 * NULL) at its offset. */
static size_t walk_params(const sage_hp_t *hp, tabb_t *tb, float *base, sage_params_t *v)
{
	int64_t H = hp->hidden, E = hp->op_dim, C = hp->cfg_dim, R = hp->se_dim;
	int64_t P = (int64_t)pooled_dim(hp);
	size_t off = 0;
	char nm[24];
	sage_params_t dummy;
	if (!v)
		v = &dummy;
	memset(v, 0, sizeof *v);
#define ADD(field, name_, d0, d1, init_, scale_) do { \
		size_t sz_ = (size_t)(d0) * (size_t)((d1) > 0 ? (d1) : 1); \
		if (tb) { \
			if (tb->n == tb->cap) { \
				tb->cap = tb->cap ? 2 * tb->cap : 32; \
				tb->t = xreallocarray(tb->t, tb->cap, sizeof *tb->t); \
			} \
			sage_ptab_t *e_ = &tb->t[tb->n++]; \
			memset(e_, 0, sizeof *e_); \
			snprintf(e_->name, sizeof e_->name, "%s", (name_)); \
			e_->ndim = (d1) > 0 ? 2 : 1; \
			e_->shape[0] = (d0); \
			e_->shape[1] = (d1) > 0 ? (d1) : 0; \
			e_->size = sz_; \
			e_->off = off; \
			e_->init = (init_); \
			e_->scale = (float)(scale_); \
			e_->decay = e_->ndim == 2; \
		} \
		if (base) \
			v->field = base + off; \
		off += sz_; \
	} while (0)
	ADD(op_emb, "op_emb", SAGE_NOPS, E, SAGE_INIT_NORMAL, 1.0);
	ADD(op_w, "op_w", H, E, SAGE_INIT_NORMAL, 1.0 / sqrt((double)E));
	ADD(in_w, "in_w", H, SAGE_NFEAT, SAGE_INIT_NORMAL, 1.0 / sqrt(SAGE_NFEAT));
	ADD(in_b, "in_b", H, 0, SAGE_INIT_ZERO, 0);
	if (hp->pe_k > 0)
		ADD(pe_w, "pe_w", H, hp->pe_k, SAGE_INIT_NORMAL, 1.0 / sqrt((double)hp->pe_k));
	if (hp->kind == SAGE_LAYOUT) {
		ADD(cfg_emb, "cfg_emb", SAGE_NSYM, C, SAGE_INIT_NORMAL, 1.0);
		ADD(cfg_w, "cfg_w", H, SAGE_NSLOT * C, SAGE_INIT_NORMAL,
		    1.0 / sqrt((double)(SAGE_NSLOT * C)));
	} else {
		ADD(cfg_w, "cfg_w", hp->tile_late ? P : H, SAGE_NTILE, SAGE_INIT_NORMAL,
		    1.0 / sqrt(SAGE_NTILE));
	}
	for (int l = 0; l < hp->layers; l++) {
		snprintf(nm, sizeof nm, "l%d.norm_g", l);
		ADD(norm_g[l], nm, H, 0, SAGE_INIT_ONE, 0);
		snprintf(nm, sizeof nm, "l%d.norm_b", l);
		ADD(norm_b[l], nm, H, 0, SAGE_INIT_ZERO, 0);
		double sH = 1.0 / sqrt((double)H);
		switch (hp->arch) {
		case SAGE_ARCH_SAGE:
		case SAGE_ARCH_GPS:
			snprintf(nm, sizeof nm, "l%d.sage_w", l);
			ADD(sage_w[l], nm, 3 * H, H, SAGE_INIT_NORMAL, sH);
			snprintf(nm, sizeof nm, "l%d.sage_b", l);
			ADD(sage_b[l], nm, H, 0, SAGE_INIT_ZERO, 0);
			if (hp->arch == SAGE_ARCH_SAGE)
				break;
			snprintf(nm, sizeof nm, "l%d.la_w", l);
			ADD(la_w[l], nm, 3 * H, H, SAGE_INIT_NORMAL, sH);
			snprintf(nm, sizeof nm, "l%d.la_b", l);
			ADD(la_b[l], nm, 3 * H, 0, SAGE_INIT_ZERO, 0);
			snprintf(nm, sizeof nm, "l%d.la_o", l);
			ADD(la_o[l], nm, H, H, SAGE_INIT_NORMAL, sH);
			snprintf(nm, sizeof nm, "l%d.la_ob", l);
			ADD(la_ob[l], nm, H, 0, SAGE_INIT_ZERO, 0);
			break;
		case SAGE_ARCH_GAT:
			snprintf(nm, sizeof nm, "l%d.gat_w", l);
			ADD(conv_w[l], nm, H, H, SAGE_INIT_NORMAL, sH);
			snprintf(nm, sizeof nm, "l%d.gat_a", l);
			ADD(conv_a[l], nm, 4, H, SAGE_INIT_NORMAL,
			    1.0 / sqrt((double)(H / hp->heads)));
			snprintf(nm, sizeof nm, "l%d.gat_b", l);
			ADD(conv_b[l], nm, H, 0, SAGE_INIT_ZERO, 0);
			break;
		case SAGE_ARCH_GIN:
			snprintf(nm, sizeof nm, "l%d.gin_eps", l);
			ADD(conv_a[l], nm, 1, 0, SAGE_INIT_ZERO, 0);
			snprintf(nm, sizeof nm, "l%d.gin_w1", l);
			ADD(conv_w[l], nm, H, H, SAGE_INIT_NORMAL, sH);
			snprintf(nm, sizeof nm, "l%d.gin_b1", l);
			ADD(conv_b[l], nm, H, 0, SAGE_INIT_ZERO, 0);
			snprintf(nm, sizeof nm, "l%d.gin_w2", l);
			ADD(conv_w2[l], nm, H, H, SAGE_INIT_NORMAL, sH);
			snprintf(nm, sizeof nm, "l%d.gin_b2", l);
			ADD(conv_b2[l], nm, H, 0, SAGE_INIT_ZERO, 0);
			break;
		default:   /* appnp, mlp: a node-wise Linear */
			snprintf(nm, sizeof nm, "l%d.lin_w", l);
			ADD(conv_w[l], nm, H, H, SAGE_INIT_NORMAL, sH);
			snprintf(nm, sizeof nm, "l%d.lin_b", l);
			ADD(conv_b[l], nm, H, 0, SAGE_INIT_ZERO, 0);
			break;
		}
		if (hp->se) {
			snprintf(nm, sizeof nm, "l%d.se_w1", l);
			ADD(se_w1[l], nm, R, H, SAGE_INIT_NORMAL, 1.0 / sqrt((double)H));
			snprintf(nm, sizeof nm, "l%d.se_b1", l);
			ADD(se_b1[l], nm, R, 0, SAGE_INIT_ZERO, 0);
			snprintf(nm, sizeof nm, "l%d.se_w2", l);
			ADD(se_w2[l], nm, H, R, SAGE_INIT_NORMAL, 1.0 / sqrt((double)R));
			snprintf(nm, sizeof nm, "l%d.se_b2", l);
			ADD(se_b2[l], nm, H, 0, SAGE_INIT_ZERO, 0);
		}
	}
	if (hp->xattn) {
		ADD(xa_w, "xa_w", 3 * P, P, SAGE_INIT_NORMAL, 1.0 / sqrt((double)P));
		ADD(xa_b, "xa_b", 3 * P, 0, SAGE_INIT_ZERO, 0);
	}
	ADD(head_w1, "head_w1", H, P, SAGE_INIT_NORMAL, 1.0 / sqrt((double)P));
	ADD(head_b1, "head_b1", H, 0, SAGE_INIT_ZERO, 0);
	ADD(head_w2, "head_w2", 1, H, SAGE_INIT_NORMAL, 1.0 / sqrt((double)H));
	ADD(head_b2, "head_b2", 1, 0, SAGE_INIT_ZERO, 0);
#undef ADD
	return off;
}

sage_model_t *sage_new(const sage_hp_t *hp, const char **err)
{
	const char *e = sage_hp_check(hp);
	if (e) {
		if (err)
			*err = e;
		return NULL;
	}
	sage_model_t *m = xcalloc(1, sizeof *m);
	tabb_t tb = { 0 };
	m->hp = *hp;
	m->nparams = walk_params(hp, &tb, NULL, NULL);
	m->tab = tb.t;
	m->ntab = tb.n;
	m->params = xcalloc(m->nparams, sizeof *m->params);
	m->grads = xcalloc(m->nparams, sizeof *m->grads);
	walk_params(hp, NULL, m->params, &m->p);
	walk_params(hp, NULL, m->grads, &m->g);
	for (int i = 0; i < SAGE_NFEAT; i++)
		m->feat_std[i] = 1.0f;
	for (int i = 0; i < SAGE_NTILE; i++)
		m->tile_std[i] = 1.0f;
	for (size_t i = 0; i < m->ntab; i++)
		if (m->tab[i].init == SAGE_INIT_ONE)
			for (size_t k = 0; k < m->tab[i].size; k++)
				m->params[m->tab[i].off + k] = 1.0f;
	return m;
}

void sage_free(sage_model_t *m)
{
	if (!m)
		return;
	free(m->tab);
	free(m->params);
	free(m->grads);
	free(m);
}

void sage_init(sage_model_t *m, uint64_t seed)
{
	for (size_t i = 0; i < m->ntab; i++) {
		const sage_ptab_t *t = &m->tab[i];
		float *p = m->params + t->off;
		rng_t r;
		/* one stream per tensor, by its position in the table */
		rng_derive(&r, seed, 0x5a6e, i, 0);
		for (size_t k = 0; k < t->size; k++)
			p[k] = t->init == SAGE_INIT_ONE ? 1.0f :
			       t->init == SAGE_INIT_ZERO ? 0.0f :
			       (float)(t->scale * rng_normal(&r));
	}
}

void sage_zero_grad(sage_model_t *m)
{
	memset(m->grads, 0, m->nparams * sizeof *m->grads);
}

const sage_ptab_t *sage_find(const sage_model_t *m, const char *name)
{
	for (size_t i = 0; i < m->ntab; i++)
		if (strcmp(m->tab[i].name, name) == 0)
			return &m->tab[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* feature transforms */

void sage_log_transform(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = x[i] < 0 ? -log1pf(-x[i]) : log1pf(x[i]);
}

void sage_standardize(float *x, size_t rows, size_t w, const float *mean,
		      const float *std)
{
	for (size_t r = 0; r < rows; r++)
		for (size_t k = 0; k < w; k++)
			x[r * w + k] = (x[r * w + k] - mean[k]) / std[k];
}

void sage_stats_add(sage_stats_t *s, const float *x, size_t rows)
{
	for (size_t r = 0; r < rows; r++)
		for (size_t k = 0; k < s->w; k++) {
			double v = x[r * s->w + k];
			s->sum[k] += v;
			s->sumsq[k] += v * v;
		}
	s->n += (double)rows;
}

void sage_stats_get(const sage_stats_t *s, float *mean, float *std)
{
	for (size_t k = 0; k < s->w; k++) {
		double mu = s->n > 0 ? s->sum[k] / s->n : 0.0;
		double var = s->n > 0 ? s->sumsq[k] / s->n - mu * mu : 0.0;
		double sd = var > 0 ? sqrt(var) : 0.0;
		mean[k] = (float)mu;
		std[k] = sd > 1e-6 ? (float)sd : 1.0f;
	}
}

/* ------------------------------------------------------------------ */
/* graphs */

void sage_graph_from_record(sage_graph_t *g, record_t *r, int kind)
{
	graph_rec_t gr;
	memset(g, 0, sizeof *g);
	graph_rec_check(r, &gr);
	g->id = xstrdup(rec_need_str(r, "id"));
	const char *coll = rec_str(r, "collection");
	g->coll = coll ? xstrdup(coll) : NULL;
	g->n = gr.n;
	tensor_t *feat = rec_need_tensor(r, "node_feat", DT_F32, 2);
	if (feat->shape[0] != gr.n || feat->shape[1] != SAGE_NFEAT)
		rec_die(r, "node_feat is (%lld, %lld), want (%d, %d)",
			(long long)feat->shape[0], (long long)feat->shape[1], gr.n, SAGE_NFEAT);
	tensor_t *op = rec_need_tensor(r, "node_opcode", DT_I32, 1);
	if (op->shape[0] != gr.n)
		rec_die(r, "node_opcode has %lld entries, the graph %d nodes",
			(long long)op->shape[0], gr.n);
	g->feat = xmallocarray((size_t)gr.n * SAGE_NFEAT, sizeof *g->feat);
	memcpy(g->feat, feat->data, feat->nbytes);
	for (size_t i = 0; i < (size_t)gr.n * SAGE_NFEAT; i++)
		if (!isfinite(g->feat[i]))
			rec_die(r, "node_feat: non-finite value at node %zu feature %zu",
				i / SAGE_NFEAT, i % SAGE_NFEAT);
	sage_log_transform(g->feat, (size_t)gr.n * SAGE_NFEAT);
	g->op = xmalloc((size_t)gr.n);
	for (int32_t i = 0; i < gr.n; i++) {
		int32_t o = ((const int32_t *)op->data)[i];
		g->op[i] = (uint8_t)(o >= 0 && o < SAGE_NOPS ? o : 0);
	}
	if (nn_adj_build(&g->adj, (size_t)gr.n, gr.edge_index->data, (size_t)gr.m) != 0)
		rec_die(r, "edge_index: node id out of range");
	if (kind == SAGE_LAYOUT) {
		if (!gr.node_config_ids)
			rec_die(r, "layout graph without node_config_ids");
		g->nc = (int32_t)gr.nc;
		g->cfg_ids = xmallocarray(gr.nc ? (size_t)gr.nc : 1, sizeof *g->cfg_ids);
		memcpy(g->cfg_ids, gr.node_config_ids->data, (size_t)gr.nc * sizeof *g->cfg_ids);
	}
}

void sage_graph_set_pe(sage_graph_t *g, int k)
{
	if (g->pe_k == k && (g->pe || k == 0))
		return;
	free(g->pe);
	g->pe = NULL;
	g->pe_k = 0;
	if (k <= 0)
		return;
	g->pe = xmallocarray((size_t)g->n * (size_t)k + 1, sizeof *g->pe);
	if (nn_rwpe(g->pe, &g->adj, (size_t)k) != 0)
		die(EX_USAGE, "internal: positional encoding size %d out of range", k);
	g->pe_k = k;
}

void sage_graph_free(sage_graph_t *g)
{
	free(g->id);
	free(g->coll);
	free(g->pe);
	nn_adj_free(&g->adj);
	free(g->feat);
	free(g->op);
	free(g->cfg_ids);
	free(g->codes);
	free(g->tfeat);
	free(g->target);
	free(g->cidx);
	memset(g, 0, sizeof *g);
}

size_t sage_graph_bytes(const sage_graph_t *g)
{
	size_t n = (size_t)g->n, m = g->adj.m, c = g->nconf;
	size_t b = n * SAGE_NFEAT * sizeof(float) + n + (size_t)g->nc * 4;
	b += n * (size_t)g->pe_k * sizeof(float);
	b += 2 * (n + 1 + m) * sizeof(int32_t) + 2 * n * sizeof(float);
	if (g->codes)
		b += c * (size_t)g->nc * SAGE_NCODE * sizeof(uint32_t);
	if (g->tfeat)
		b += c * SAGE_NTILE * sizeof(float);
	b += c * (sizeof(double) + sizeof(int64_t));
	return b;
}

int sage_record_kind(const record_t *r)
{
	const char *coll = rec_str(r, "collection");
	if (coll && strncmp(coll, "tile", 4) == 0)
		return SAGE_TILE;
	if (coll && strncmp(coll, "layout", 6) == 0)
		return SAGE_LAYOUT;
	return rec_get(r, "node_config_ids") ? SAGE_LAYOUT : SAGE_TILE;
}

static int64_t *copy_i64(record_t *r, const char *key, size_t n, int required)
{
	tensor_t *t = required ? rec_need_tensor(r, key, DT_I64, 1) : rec_opt_tensor(r, key, DT_I64, 1);
	if (!t)
		return NULL;
	if ((size_t)t->shape[0] != n)
		rec_die(r, "%s has %lld entries, want %zu", key, (long long)t->shape[0], n);
	int64_t *v = xmallocarray(n ? n : 1, sizeof *v);
	memcpy(v, t->data, t->nbytes);
	return v;
}

void sage_chunk_from_record(sage_chunk_t *c, record_t *r, const sage_graph_t *g, int kind)
{
	memset(c, 0, sizeof *c);
	const char *id = rec_str(r, "id");
	if (id && g->id && strcmp(id, g->id) != 0)
		rec_die(r, "configs for graph '%s' inside graph '%s'", id, g->id);
	size_t nc = (size_t)g->nc;
	tensor_t *t;
	if (kind == SAGE_LAYOUT) {
		if ((t = rec_opt_tensor(r, "node_config_code", DT_U32, 3))) {
			if ((size_t)t->shape[1] != nc || t->shape[2] != SAGE_NCODE)
				rec_die(r, "node_config_code is (%lld, %lld, %lld), want (count, %zu, 3)",
					(long long)t->shape[0], (long long)t->shape[1],
					(long long)t->shape[2], nc);
			c->count = (size_t)t->shape[0];
			c->codes = xmallocarray(t->numel ? t->numel : 1, sizeof *c->codes);
			memcpy(c->codes, t->data, t->nbytes);
			for (size_t i = 0; i < t->numel; i++)
				if (c->codes[i] >= B7_NCODES)
					rec_die(r, "node_config_code: %u at %zu is not a base-7 code (>= 7^6)",
						c->codes[i], i);
		} else if ((t = rec_opt_tensor(r, "node_config_feat", DT_F32, 3))) {
			if ((size_t)t->shape[1] != nc || t->shape[2] != SAGE_NSLOT)
				rec_die(r, "node_config_feat is (%lld, %lld, %lld), want (count, %zu, 18)",
					(long long)t->shape[0], (long long)t->shape[1],
					(long long)t->shape[2], nc);
			c->count = (size_t)t->shape[0];
			size_t nb = c->count * nc * SAGE_NCODE;
			c->codes = xmallocarray(nb ? nb : 1, sizeof *c->codes);
			int64_t bad = b7_pack(c->codes, t->data, nb);
			if (bad >= 0)
				rec_die(r, "node_config_feat: value %g at %lld is not an integer in -1..5",
					((const float *)t->data)[bad], (long long)bad);
		} else {
			rec_die(r, "layout configs without node_config_code or node_config_feat");
		}
	} else {
		t = rec_need_tensor(r, "config_feat", DT_F32, 2);
		if (t->shape[1] != SAGE_NTILE)
			rec_die(r, "config_feat is (%lld, %lld), want (count, %d)",
				(long long)t->shape[0], (long long)t->shape[1], SAGE_NTILE);
		c->count = (size_t)t->shape[0];
		c->tfeat = xmallocarray(t->numel ? t->numel : 1, sizeof *c->tfeat);
		memcpy(c->tfeat, t->data, t->nbytes);
		for (size_t i = 0; i < t->numel; i++)
			if (!isfinite(c->tfeat[i]))
				rec_die(r, "config_feat: non-finite value at %zu", i);
		sage_log_transform(c->tfeat, t->numel);
	}
	int64_t cnt;
	if (rec_int(r, "count", &cnt) && (size_t)cnt != c->count)
		rec_die(r, "count is %lld but the config tensor has %zu rows", (long long)cnt, c->count);
	c->cidx = copy_i64(r, "config_index", c->count, 0);
	if (!c->cidx) {
		int64_t off = 0;
		rec_int(r, "offset", &off);
		c->cidx = xmallocarray(c->count ? c->count : 1, sizeof *c->cidx);
		for (size_t i = 0; i < c->count; i++)
			c->cidx[i] = off + (int64_t)i;
	}
	int64_t *rt = copy_i64(r, "config_runtime", c->count, 0);
	if (rt) {
		int64_t *nm = kind == SAGE_TILE ?
			copy_i64(r, "config_runtime_normalizers", c->count, 0) : NULL;
		c->target = xmallocarray(c->count ? c->count : 1, sizeof *c->target);
		for (size_t i = 0; i < c->count; i++) {
			if (rt[i] <= 0 || (nm && nm[i] <= 0))
				rec_die(r, "config %zu: runtime or normalizer <= 0", i);
			c->target[i] = nm ? (double)rt[i] / (double)nm[i] : (double)rt[i];
		}
		free(rt);
		free(nm);
	}
	tensor_t *dof = rec_opt_tensor(r, "dup_offsets", DT_I64, 1);
	tensor_t *dix = rec_opt_tensor(r, "dup_index", DT_I64, 1);
	if (dof || dix) {
		if (!dof || !dix)
			rec_die(r, "dup_offsets without dup_index or the other way round");
		const int64_t *o = dof->data;
		if ((size_t)dof->shape[0] != c->count + 1 || o[0] != 0 || o[c->count] != dix->shape[0])
			rec_die(r, "dup_offsets (%lld entries) do not fit %zu rows and %lld dup_index",
				(long long)dof->shape[0], c->count, (long long)dix->shape[0]);
		for (size_t i = 0; i < c->count; i++)
			if (o[i + 1] < o[i])
				rec_die(r, "dup_offsets decrease at %zu", i);
		c->dup_off = copy_i64(r, "dup_offsets", c->count + 1, 1);
		c->dup_idx = copy_i64(r, "dup_index", (size_t)dix->shape[0], 1);
	}
}

void sage_chunk_free(sage_chunk_t *c)
{
	free(c->codes);
	free(c->tfeat);
	free(c->target);
	free(c->cidx);
	free(c->dup_off);
	free(c->dup_idx);
	memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------------------ */
/* a collection in memory */

static void graph_append(sage_graph_t *g, const sage_chunk_t *c, int kind, size_t *cap)
{
	size_t need = g->nconf + c->count;
	if (need > *cap) {
		size_t nc = *cap ? *cap : 64;
		while (nc < need)
			nc *= 2;
		size_t w = (size_t)g->nc * SAGE_NCODE;
		if (kind == SAGE_LAYOUT)
			g->codes = xreallocarray(g->codes, nc * (w ? w : 1), sizeof *g->codes);
		else
			g->tfeat = xreallocarray(g->tfeat, nc * SAGE_NTILE, sizeof *g->tfeat);
		g->target = xreallocarray(g->target, nc, sizeof *g->target);
		g->cidx = xreallocarray(g->cidx, nc, sizeof *g->cidx);
		*cap = nc;
	}
	if (kind == SAGE_LAYOUT)
		memcpy(g->codes + g->nconf * (size_t)g->nc * SAGE_NCODE, c->codes,
		       c->count * (size_t)g->nc * SAGE_NCODE * sizeof *g->codes);
	else
		memcpy(g->tfeat + g->nconf * SAGE_NTILE, c->tfeat,
		       c->count * SAGE_NTILE * sizeof *g->tfeat);
	memcpy(g->target + g->nconf, c->target, c->count * sizeof *g->target);
	memcpy(g->cidx + g->nconf, c->cidx, c->count * sizeof *g->cidx);
	g->nconf = need;
}

/* Keep k of g's configs, chosen at random (then in their original order). */
static void graph_subsample(sage_graph_t *g, size_t k, uint64_t seed, size_t gi)
{
	if (g->nconf <= k)
		return;
	size_t n = g->nconf, w = (size_t)g->nc * SAGE_NCODE;
	size_t *idx = xmallocarray(n, sizeof *idx);
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	rng_t r;
	rng_derive(&r, seed, 0x7a11d, gi, 0);
	rng_sample(&r, idx, n, k, sizeof *idx);
	/* sort the chosen k (insertion sort is fine: k is small) */
	for (size_t i = 1; i < k; i++)
		for (size_t j = i; j > 0 && idx[j - 1] > idx[j]; j--) {
			size_t t = idx[j];
			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	for (size_t i = 0; i < k; i++) {
		size_t s = idx[i];
		if (g->codes)
			memmove(g->codes + i * w, g->codes + s * w, w * sizeof *g->codes);
		if (g->tfeat)
			memmove(g->tfeat + i * SAGE_NTILE, g->tfeat + s * SAGE_NTILE,
				SAGE_NTILE * sizeof *g->tfeat);
		g->target[i] = g->target[s];
		g->cidx[i] = g->cidx[s];
	}
	g->nconf = k;
	free(idx);
}

void sage_set_read(sage_set_t *s, const char *path, int kind, size_t max_configs,
		   uint64_t seed)
{
	memset(s, 0, sizeof *s);
	s->kind = kind;
	sreader_t *sr = sr_open(path);
	record_t *r;
	sage_graph_t *g = NULL;
	size_t cap = 0;
	while ((r = sr_next(sr))) {
		if (rec_is(r, "header")) {
			const field_t *h = rec_get(r, "history");
			free(s->history);
			if (h && h->kind == V_RAW) {
				s->history_len = h->v.raw.len;
				s->history = xmalloc(h->v.raw.len);
				memcpy(s->history, h->v.raw.bytes, h->v.raw.len);
			} else {   /* no history: an empty list */
				s->history_len = 1;
				s->history = xmalloc(1);
				s->history[0] = (char)0x90;
			}
		} else if (rec_is(r, "graph")) {
			int k = sage_record_kind(r);
			if (rec_flag(r, "runtimes_hidden"))
				rec_die(r, "its runtimes are hidden (a test split): "
					"nothing to train or validate on");
			if (s->kind < 0)
				s->kind = k;
			else if (k != s->kind)
				rec_die(r, "a %s graph among %s graphs: train one model per collection",
					k == SAGE_TILE ? "tile" : "layout",
					s->kind == SAGE_TILE ? "tile" : "layout");
			if (g && max_configs)
				graph_subsample(g, max_configs, seed, s->n - 1);
			if (s->n == s->cap) {
				s->cap = s->cap ? 2 * s->cap : 16;
				s->g = xreallocarray(s->g, s->cap, sizeof *s->g);
			}
			g = &s->g[s->n++];
			sage_graph_from_record(g, r, s->kind);
			cap = 0;
		} else if (rec_is(r, "configs")) {
			if (!g)
				rec_die(r, "configs record before any graph");
			sage_chunk_t c;
			sage_chunk_from_record(&c, r, g, s->kind);
			if (!c.target)
				rec_die(r, "configs without config_runtime: training and validation "
					"need measured runtimes");
			graph_append(g, &c, s->kind, &cap);
			sage_chunk_free(&c);
		}
		rec_free(r);
	}
	if (g && max_configs)
		graph_subsample(g, max_configs, seed, s->n - 1);
	sr_close(sr);
	for (size_t i = 0; i < s->n; i++)
		s->nconf += s->g[i].nconf;
	if (s->kind < 0)
		s->kind = kind < 0 ? SAGE_LAYOUT : kind;
}

void sage_set_free(sage_set_t *s)
{
	for (size_t i = 0; i < s->n; i++)
		sage_graph_free(&s->g[i]);
	free(s->g);
	free(s->history);
	memset(s, 0, sizeof *s);
}

size_t sage_set_bytes(const sage_set_t *s)
{
	size_t b = s->n * sizeof *s->g;
	for (size_t i = 0; i < s->n; i++)
		b += sage_graph_bytes(&s->g[i]);
	return b;
}

size_t sage_set_float_bytes(const sage_set_t *s)
{
	size_t b = s->n * sizeof *s->g;
	for (size_t i = 0; i < s->n; i++) {
		const sage_graph_t *g = &s->g[i];
		b += sage_graph_bytes(g);
		if (g->codes)  /* 18 floats instead of 3 codes per node */
			b += g->nconf * (size_t)g->nc * (SAGE_NSLOT * sizeof(float) -
							 SAGE_NCODE * sizeof(uint32_t));
	}
	return b;
}

void sage_set_fit_stats(const sage_set_t *s, sage_model_t *m)
{
	sage_stats_t *st = xcalloc(1, sizeof *st);
	st->w = SAGE_NFEAT;
	for (size_t i = 0; i < s->n; i++)
		sage_stats_add(st, s->g[i].feat, (size_t)s->g[i].n);
	sage_stats_get(st, m->feat_mean, m->feat_std);
	if (s->kind == SAGE_TILE) {
		memset(st, 0, sizeof *st);
		st->w = SAGE_NTILE;
		for (size_t i = 0; i < s->n; i++)
			sage_stats_add(st, s->g[i].tfeat, s->g[i].nconf);
		sage_stats_get(st, m->tile_mean, m->tile_std);
	}
	free(st);
}

void sage_set_standardize(sage_set_t *s, const sage_model_t *m)
{
	for (size_t i = 0; i < s->n; i++) {
		sage_graph_t *g = &s->g[i];
		sage_standardize(g->feat, (size_t)g->n, SAGE_NFEAT, m->feat_mean, m->feat_std);
		if (g->tfeat)
			sage_standardize(g->tfeat, g->nconf, SAGE_NTILE, m->tile_mean, m->tile_std);
	}
}

void sage_symbols(uint8_t *sym, const uint32_t *codes, size_t n)
{
	if (b7_symbols(sym, codes, n) >= 0)
		die(EX_DATA, "internal: a base-7 code out of range");
}

/* ------------------------------------------------------------------ */
/* work buffers
 *
 * Three levels.  The graph's node projection.  The head, over the whole
 * batch (B configs).  The body runs a chunk of Bm configs at a time (all B
 * unless the memory budget says otherwise) and, within it, cache blocks of
 * Bb configs through every layer: a block's scratch, (Bb, N, H), stays in
 * the processor's caches, so the norm, aggregation and GELU passes do not
 * stream from memory (25% faster per config than whole-batch passes).  In
 * training, what the backward needs (each layer's input, GELU derivative,
 * SE input and statistics) is kept for the whole chunk. */

typedef struct {
	void *p;
	size_t cap;
} buf_t;

#define ML SAGE_MAX_LAYERS

/* Floats of (Bb, N, H) scratch a cache block aims at (1 MiB). */
#define BLOCK_FLOATS ((size_t)1 << 18)

struct sage_work {
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
	/* between forward and backward */
	size_t B, Bg, Bm, Bb, nt;  /* Bg: configs the body ran for (B; late join 1) */
	size_t zf, af;             /* floats per thread of Z and ap */
	int cached;
};

static void *need(sage_work_t *w, buf_t *b, size_t bytes)
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

sage_work_t *sage_work_new(size_t budget_mb)
{
	sage_work_t *w = xcalloc(1, sizeof *w);
	w->budget = budget_mb << 20;
	return w;
}

void sage_work_free(sage_work_t *w)
{
	if (!w)
		return;
	buf_t *b = (buf_t *)&w->T;
	buf_t *end = (buf_t *)&w->B;
	for (; b < end; b++)
		free(b->p);
	free(w);
}

size_t sage_work_bytes(const sage_work_t *w)
{
	return w->bytes;
}

/* Configs per cache block. */
static size_t block_configs(const sage_hp_t *hp, size_t N, size_t Bm)
{
	size_t per = N * (size_t)hp->hidden;
	size_t k = per ? BLOCK_FLOATS / per : Bm;
	if (k < 1)
		k = 1;
	return k < Bm ? k : Bm;
}

/* Configs per chunk: what one config keeps for the backward, against the
 * budget (inference keeps nothing: one chunk). */
static size_t chunk_configs(const sage_model_t *m, const sage_work_t *w,
			    const sage_graph_t *g, size_t B, int train)
{
	const sage_hp_t *hp = &m->hp;
	if (!w->budget || !train)
		return B;
	size_t L = (size_t)hp->layers, nh = (size_t)g->n * (size_t)hp->hidden;
	size_t per = nh * ((L + 1) + L + (hp->se ? L : 0)) +
		     (size_t)g->nc * SAGE_NSLOT * (size_t)hp->cfg_dim;
	size_t k = per ? w->budget / (per * sizeof(float)) : B;
	if (k < 1)
		k = 1;
	return k < B ? k : B;
}

/* Floats of the layer scratch (Z) one thread needs for a block of Bb
 * configs: the conv's, shared by its forward and backward. */
static size_t conv_scratch(const sage_hp_t *hp, const sage_graph_t *g, size_t Bb)
{
	size_t H = (size_t)hp->hidden, N = (size_t)g->n, K = (size_t)hp->heads;
	size_t BNH = Bb * N * H;
	switch (hp->arch) {
	case SAGE_ARCH_SAGE:
		return 3 * BNH;
	case SAGE_ARCH_GAT:
		return nn_gat_scratch(Bb, N, g->adj.m, H, K);
	case SAGE_ARCH_GIN:
		return nn_gin_scratch(Bb, N, H);
	case SAGE_ARCH_GPS:   /* SAGE's Z, the attention's output, its scratch */
		return 3 * BNH + BNH + nn_linattn_scratch(Bb, N, H, K);
	default:
		return 1;
	}
}

/* Size the chunk (Bm configs; only with train) and block (Bb configs per
 * thread, nt threads) buffers.  Without train the caches hold one block per
 * thread. */
static void ensure_body(const sage_model_t *m, sage_work_t *w, const sage_graph_t *g,
			size_t Bm, size_t Bb, int train)
{
	const sage_hp_t *hp = &m->hp;
	size_t H = (size_t)hp->hidden, N = (size_t)g->n, L = (size_t)hp->layers;
	size_t R = (size_t)hp->se_dim, nc = (size_t)g->nc;
	size_t S = SAGE_NSLOT * (size_t)hp->cfg_dim, T = w->nt;
	size_t Bk = train ? Bm : T * Bb;       /* configs the caches hold */
	size_t nl = train ? L : (L ? 1 : 0);
	NEEDF(w, x[0], Bk * N * H);
	if (train)
		for (size_t l = 0; l < L; l++) {
			NEEDF(w, x[l + 1], Bm * N * H);
			NEEDF(w, dg[l], Bm * N * H);
			if (hp->se)
				NEEDF(w, yr[l], Bm * N * H);
		}
	for (size_t l = 0; l < nl; l++) {
		NEEDF(w, mean[l], Bk * H);
		NEEDF(w, rstd[l], Bk * H);
		if (hp->se) {
			NEEDF(w, sq[l], Bk * H);
			NEEDF(w, sa[l], Bk * R);
			NEEDF(w, ss[l], Bk * H);
		}
	}
	need(w, &w->argmax, Bk * H * sizeof(int32_t));
	NEEDF(w, h, T * Bb * N * H);
	w->zf = conv_scratch(hp, g, Bb);
	NEEDF(w, Z, T * w->zf);
	if (hp->arch == SAGE_ARCH_APPNP) {
		w->af = nn_appnp_scratch(Bb, N, H);
		NEEDF(w, ap, T * w->af);
		NEEDF(w, apo, T * Bb * N * H);
	}
	NEEDF(w, y, T * Bb * N * H);
	if (train) {
		NEEDF(w, dX, T * Bb * N * H);
		NEEDF(w, dY, T * Bb * N * H);
		NEEDF(w, dh, T * Bb * N * H);
	}
	if (hp->kind == SAGE_LAYOUT) {
		NEEDF(w, cfg_e, Bk * nc * S + 1);
		NEEDF(w, cfg_p, T * (Bb * nc * H + 1));
		if (train) {
			NEEDF(w, dcfg_e, T * (Bb * nc * S + 1));
			NEEDF(w, dcfg_p, T * (Bb * nc * H + 1));
		}
	} else {
		NEEDF(w, cfg_p, T * Bb * H);
		if (train)
			NEEDF(w, dcfg_p, T * Bb * H);
	}
}

static void ensure_head(const sage_model_t *m, sage_work_t *w, size_t B, int train)
{
	size_t H = (size_t)m->hp.hidden, P = pooled_dim(&m->hp);
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
}

/* ------------------------------------------------------------------ */
/* forward */

/* Config-independent: Pn (N, H) = feat in_w^T + in_b + (op_emb op_w^T)[op]. */
NN_CLONES static void node_forward(sage_model_t *m, sage_work_t *w, const sage_graph_t *g)
{
	size_t H = (size_t)m->hp.hidden, N = (size_t)g->n, E = (size_t)m->hp.op_dim;
	float *T = NEEDF(w, T, SAGE_NOPS * H);
	float *Pn = NEEDF(w, Pn, N * H);
	NEEDF(w, dT, SAGE_NOPS * H);
	NEEDF(w, dPn, N * H);
	nn_linear_forward(T, m->p.op_emb, m->p.op_w, NULL, SAGE_NOPS, E, H);
	nn_linear_forward(Pn, g->feat, m->p.in_w, m->p.in_b, N, SAGE_NFEAT, H);
	const float *pt = NULL;
	if (m->hp.pe_k) {
		if (g->pe_k != m->hp.pe_k)
			die(EX_USAGE, "internal: graph %s has no positional encoding of size %d",
			    g->id, m->hp.pe_k);
		float *t = NEEDF(w, pe_t, N * H);
		nn_linear_forward(t, g->pe, m->p.pe_w, NULL, N, (size_t)m->hp.pe_k, H);
		pt = t;
	}
	#pragma omp parallel for schedule(static) if (N * H > 32768)
	for (size_t n = 0; n < N; n++) {
		const float *t = T + (size_t)g->op[n] * H;
		#pragma omp simd
		for (size_t k = 0; k < H; k++)
			Pn[n * H + k] += t[k];
		if (pt)
			#pragma omp simd
			for (size_t k = 0; k < H; k++)
				Pn[n * H + k] += pt[n * H + k];
	}
}

NN_CLONES static void node_backward(sage_model_t *m, sage_work_t *w, const sage_graph_t *g)
{
	size_t H = (size_t)m->hp.hidden, N = (size_t)g->n, E = (size_t)m->hp.op_dim;
	float *dT = w->dT.p, *dPn = w->dPn.p;
	memset(dT, 0, SAGE_NOPS * H * sizeof *dT);
	for (size_t n = 0; n < N; n++) {
		float *t = dT + (size_t)g->op[n] * H;
		#pragma omp simd
		for (size_t k = 0; k < H; k++)
			t[k] += dPn[n * H + k];
	}
	nn_linear_backward(NULL, m->g.in_w, m->g.in_b, dPn, g->feat, m->p.in_w, N, SAGE_NFEAT, H);
	if (m->hp.pe_k)
		nn_linear_backward(NULL, m->g.pe_w, NULL, dPn, g->pe, m->p.pe_w, N,
				   (size_t)m->hp.pe_k, H);
	nn_linear_backward(m->g.op_emb, m->g.op_w, NULL, dT, m->p.op_emb, m->p.op_w,
			   SAGE_NOPS, E, H);
}

/* h = gamma * (x - mean) * rstd + beta with the cached statistics. */
NN_CLONES static void norm_apply(float *h, const float *x, const float *mean, const float *rstd,
		       const float *gamma, const float *beta, size_t B, size_t N, size_t H)
{
	#pragma omp parallel for collapse(2) schedule(static) if (B * N * H > 32768)
	for (size_t b = 0; b < B; b++)
		for (size_t n = 0; n < N; n++) {
			const float *xr = x + (b * N + n) * H, *mu = mean + b * H, *rs = rstd + b * H;
			float *hr = h + (b * N + n) * H;
			#pragma omp simd
			for (size_t k = 0; k < H; k++)
				hr[k] = gamma[k] * ((xr[k] - mu[k]) * rs[k]) + beta[k];
		}
}

/* x0 (kb, N, H) = Pn + the config term, for configs [k0, k0 + kb) of the
 * batch; ce: their config embeddings (layout, (kb, nc, 18 C)); cp: scratch
 * for their projections. */
NN_CLONES static void input_forward(sage_model_t *m, sage_work_t *w, const sage_graph_t *g,
			  const sage_batch_t *bt, size_t k0, size_t kb, float *x0, float *ce,
			  float *cp)
{
	const sage_hp_t *hp = &m->hp;
	size_t H = (size_t)hp->hidden, N = (size_t)g->n, nc = (size_t)g->nc;
	float *Pn = w->Pn.p;
	int prod = hp->arch == SAGE_ARCH_MLP;
	if (hp->kind == SAGE_LAYOUT) {
		size_t C = (size_t)hp->cfg_dim, S = SAGE_NSLOT * C;
		if (nc) {
			nn_embedding_forward(ce, bt->sym + k0 * nc * SAGE_NSLOT, m->p.cfg_emb,
					     kb * nc * SAGE_NSLOT, C);
			nn_linear_forward(cp, ce, m->p.cfg_w, NULL, kb * nc, S, H);
		}
		#pragma omp parallel for schedule(static) if (kb * N * H > 32768)
		for (size_t b = 0; b < kb; b++) {
			float *xb = x0 + b * N * H;
			memcpy(xb, Pn, N * H * sizeof *xb);
			for (size_t k = 0; k < nc; k++) {
				float *xr = xb + (size_t)g->cfg_ids[k] * H;
				const float *c = cp + (b * nc + k) * H;
				if (prod)   /* xr = Pn + c + Pn * c */
					#pragma omp simd
					for (size_t j = 0; j < H; j++)
						xr[j] += c[j] * (1.0f + xr[j]);
				else
					#pragma omp simd
					for (size_t j = 0; j < H; j++)
						xr[j] += c[j];
			}
		}
	} else if (hp->tile_late) {   /* the config joins after pooling */
		for (size_t b = 0; b < kb; b++)
			memcpy(x0 + b * N * H, Pn, N * H * sizeof *x0);
	} else {
		nn_linear_forward(cp, bt->tfeat + k0 * SAGE_NTILE, m->p.cfg_w, NULL, kb,
				  SAGE_NTILE, H);
		#pragma omp parallel for schedule(static) if (kb * N * H > 32768)
		for (size_t b = 0; b < kb; b++) {
			float *xb = x0 + b * N * H;
			const float *c = cp + b * H;
			for (size_t n = 0; n < N; n++)
				if (prod)
					#pragma omp simd
					for (size_t j = 0; j < H; j++)
						xb[n * H + j] = Pn[n * H + j] + c[j] * (1.0f + Pn[n * H + j]);
				else
					#pragma omp simd
					for (size_t j = 0; j < H; j++)
						xb[n * H + j] = Pn[n * H + j] + c[j];
		}
	}
}

/* Layer l's conv: y (kb, N, H) from h (kb, N, H); Z: the thread's scratch. */
static void conv_forward(const sage_model_t *m, const sage_graph_t *g, int l, float *y,
			 float *Z, const float *h, size_t kb)
{
	const sage_hp_t *hp = &m->hp;
	const sage_params_t *p = &m->p;
	size_t H = (size_t)hp->hidden, N = (size_t)g->n, K = (size_t)hp->heads;
	switch (hp->arch) {
	case SAGE_ARCH_SAGE:
		nn_sage_forward(y, Z, h, p->sage_w[l], p->sage_b[l], &g->adj, kb, H);
		break;
	case SAGE_ARCH_GAT:
		nn_gat_forward(y, Z, h, p->conv_w[l], p->conv_a[l], p->conv_b[l], &g->adj, kb, H, K);
		break;
	case SAGE_ARCH_GIN:
		nn_gin_forward(y, Z, h, p->conv_a[l], p->conv_w[l], p->conv_b[l], p->conv_w2[l],
			       p->conv_b2[l], &g->adj, kb, H);
		break;
	case SAGE_ARCH_GPS: {
		size_t n = kb * N * H;
		float *ya = Z + 3 * n;
		nn_sage_forward(y, Z, h, p->sage_w[l], p->sage_b[l], &g->adj, kb, H);
		nn_linattn_forward(ya, ya + n, h, p->la_w[l], p->la_b[l], p->la_o[l], p->la_ob[l],
				   kb, N, H, K);
		#pragma omp parallel for simd schedule(static) if (n > 32768 && !omp_in_parallel())
		for (size_t i = 0; i < n; i++)
			y[i] += ya[i];
		break;
	}
	default:
		nn_linear_forward(y, h, p->conv_w[l], p->conv_b[l], kb * N, H, H);
		break;
	}
}

/* Its backward: dh (kb, N, H) WRITTEN; parameter gradients into gr. */
static void conv_backward(const sage_model_t *m, const sage_graph_t *g, int l, float *dh,
			  const sage_params_t *gr, float *Z, const float *dy, const float *h,
			  size_t kb)
{
	const sage_hp_t *hp = &m->hp;
	const sage_params_t *p = &m->p;
	size_t H = (size_t)hp->hidden, N = (size_t)g->n, K = (size_t)hp->heads;
	size_t n = kb * N * H;
	if (hp->arch == SAGE_ARCH_SAGE || hp->arch == SAGE_ARCH_GPS) {
		nn_sage_backward(dh, gr->sage_w[l], gr->sage_b[l], Z, dy, h, p->sage_w[l],
				 &g->adj, kb, H);
		if (hp->arch == SAGE_ARCH_GPS)
			nn_linattn_backward(dh, gr->la_w[l], gr->la_b[l], gr->la_o[l], gr->la_ob[l],
					    Z + 4 * n, dy, h, p->la_w[l], p->la_b[l], p->la_o[l],
					    p->la_ob[l], kb, N, H, K);
		return;
	}
	memset(dh, 0, n * sizeof *dh);
	switch (hp->arch) {
	case SAGE_ARCH_GAT:
		nn_gat_backward(dh, gr->conv_w[l], gr->conv_a[l], gr->conv_b[l], Z, dy, h,
				p->conv_w[l], p->conv_a[l], p->conv_b[l], &g->adj, kb, H, K);
		break;
	case SAGE_ARCH_GIN:
		nn_gin_backward(dh, gr->conv_a[l], gr->conv_w[l], gr->conv_b[l], gr->conv_w2[l],
				gr->conv_b2[l], Z, dy, h, p->conv_a[l], p->conv_w[l], p->conv_b[l],
				p->conv_w2[l], p->conv_b2[l], &g->adj, kb, H);
		break;
	default:
		nn_linear_backward(dh, gr->conv_w[l], gr->conv_b[l], dy, h, p->conv_w[l], kb * N, H, H);
		break;
	}
}

/* One cache block, configs [k0, k0 + kb), through the body: input, layers,
 * pooling into the pooled rows.  Its caches start at config slot o (train:
 * its place in the chunk; else the thread's block); scratch of thread t. */
static void block_forward(sage_model_t *m, sage_work_t *w, const sage_graph_t *g,
			  const sage_batch_t *bt, size_t k0, size_t kb, size_t o, int t,
			  int train)
{
	const sage_hp_t *hp = &m->hp;
	const sage_params_t *p = &m->p;
	size_t H = (size_t)hp->hidden, N = (size_t)g->n, R = (size_t)hp->se_dim;
	size_t P = pooled_dim(hp), NH = N * H, Bb = w->Bb, n = kb * NH;
	size_t nc = (size_t)g->nc, S = nc * SAGE_NSLOT * (size_t)hp->cfg_dim;
	size_t cps = hp->kind == SAGE_LAYOUT ? Bb * nc * H + 1 : Bb * H;
	float *h = (float *)w->h.p + (size_t)t * Bb * NH;
	float *Z = (float *)w->Z.p + (size_t)t * w->zf;
	float *y = (float *)w->y.p + (size_t)t * Bb * NH;
	float *x0 = (float *)w->x[0].p + o * NH;
	input_forward(m, w, g, bt, k0, kb, x0, (float *)w->cfg_e.p + o * S,
		      (float *)w->cfg_p.p + (size_t)t * cps);
	for (int l = 0; l < hp->layers; l++) {
		int lc = train ? l : 0;   /* cache slot */
		float *xl = train ? (float *)w->x[l].p + o * NH : x0;
		float *mean = (float *)w->mean[lc].p + o * H, *rstd = (float *)w->rstd[lc].p + o * H;
		nn_instnorm_forward(h, mean, rstd, xl, p->norm_g[l], p->norm_b[l], kb, N, H);
		float *yagg = train && hp->se ? (float *)w->yr[l].p + o * NH : y;
		conv_forward(m, g, l, yagg, Z, h, kb);
		float *ysum = yagg;
		if (hp->se) {
			float *out = train ? y : h;
			nn_se_forward(out, (float *)w->sq[lc].p + o * H, (float *)w->sa[lc].p + o * R,
				      (float *)w->ss[lc].p + o * H, yagg, p->se_w1[l], p->se_b1[l],
				      p->se_w2[l], p->se_b2[l], kb, N, H, R);
			ysum = out;
		}
		if (train)
			nn_residual_gelu_forward((float *)w->x[l + 1].p + o * NH,
						 (float *)w->dg[l].p + o * NH, xl, ysum, n);
		else
			nn_residual_gelu_forward(xl, NULL, xl, ysum, n);
	}
	float *xL = train ? (float *)w->x[hp->layers].p + o * NH : x0;
	if (hp->arch == SAGE_ARCH_APPNP) {
		float *po = (float *)w->apo.p + (size_t)t * Bb * NH;
		nn_appnp_forward(po, (float *)w->ap.p + (size_t)t * w->af, xL, &g->adj,
				 hp->appnp_alpha, hp->appnp_k, kb, H);
		xL = po;
	}
	nn_pool_forward((float *)w->pooled.p + k0 * P, (int32_t *)w->argmax.p + o * H, xL,
			kb, N, H, hp->pool_max);
}

/* Blocks run in parallel, one thread each, when there are enough of them
 * (every kernel inside then runs on its thread alone: no barrier per
 * kernel); else one after the other, each kernel using every thread. */
static int blocks_parallel(const sage_work_t *w, size_t nblocks)
{
	return w->nt > 1 && nblocks >= w->nt;
}

/* The body for configs [c0, c1) (one chunk), block by block.  train: keep
 * every layer's input, GELU derivative, SE input and statistics at the
 * config's place in the chunk; else run each block in place. */
static void body_forward(sage_model_t *m, sage_work_t *w, const sage_graph_t *g,
			 const sage_batch_t *bt, size_t c0, size_t c1, int train)
{
	size_t Bb = w->Bb, nb = (c1 - c0 + Bb - 1) / Bb;
	if (blocks_parallel(w, nb)) {
		#pragma omp parallel for schedule(static) num_threads((int)w->nt)
		for (size_t i = 0; i < nb; i++) {
			int t = omp_get_thread_num();
			size_t k0 = c0 + i * Bb, kb = c1 - k0 < Bb ? c1 - k0 : Bb;
			block_forward(m, w, g, bt, k0, kb, train ? k0 - c0 : (size_t)t * Bb, t, train);
		}
	} else {
		for (size_t i = 0; i < nb; i++) {
			size_t k0 = c0 + i * Bb, kb = c1 - k0 < Bb ? c1 - k0 : Bb;
			block_forward(m, w, g, bt, k0, kb, train ? k0 - c0 : 0, 0, train);
		}
	}
}

static void head_forward(sage_model_t *m, sage_work_t *w, size_t B, float *scores)
{
	size_t H = (size_t)m->hp.hidden, P = pooled_dim(&m->hp);
	const float *z1 = w->pooled.p;
	if (m->hp.xattn) {
		nn_xattn_forward(w->z1.p, w->qkv.p, w->att.p, w->pooled.p, m->p.xa_w,
				 m->p.xa_b, B, P);
		z1 = w->z1.p;
	}
	nn_linear_forward(w->hp.p, z1, m->p.head_w1, m->p.head_b1, B, P, H);
	nn_gelu_forward(w->ha.p, w->hp.p, B * H);
	nn_linear_forward(scores, w->ha.p, m->p.head_w2, m->p.head_b2, B, H, 1);
}

/* The late join (tile): the body ran for one config-free row, pooled row 0;
 * config b's row becomes that row plus its projection, cfg_w t[b]. */
static void late_forward(sage_model_t *m, sage_work_t *w, const sage_batch_t *b, size_t B)
{
	size_t P = pooled_dim(&m->hp);
	float *gp = NEEDF(w, gpool, P);
	memcpy(gp, w->pooled.p, P * sizeof *gp);
	nn_linear_forward(w->pooled.p, b->tfeat, m->p.cfg_w, gp, B, SAGE_NTILE, P);
}

void sage_forward(sage_model_t *m, sage_work_t *w, const sage_graph_t *g,
		  const sage_batch_t *b, float *scores, int train)
{
	size_t B = b->B;
	if (B == 0)
		return;
	size_t Bg = m->hp.tile_late ? 1 : B;
	size_t Bm = chunk_configs(m, w, g, Bg, train);
	w->nt = (size_t)nn_threads();
	w->Bb = block_configs(&m->hp, (size_t)g->n, Bm);
	if (w->nt > 1 && w->Bb * w->nt > Bm)   /* small graphs: a block per thread */
		w->Bb = (Bm + w->nt - 1) / w->nt;
	node_forward(m, w, g);
	ensure_head(m, w, B, train);
	w->cached = train && Bm >= Bg;
	ensure_body(m, w, g, Bm, w->Bb, w->cached);
	for (size_t c0 = 0; c0 < Bg; c0 += Bm)
		body_forward(m, w, g, b, c0, c0 + Bm < Bg ? c0 + Bm : Bg, w->cached);
	if (m->hp.tile_late)
		late_forward(m, w, b, B);
	head_forward(m, w, B, scores);
	w->B = B;
	w->Bg = Bg;
	w->Bm = Bm;
}

/* ------------------------------------------------------------------ */
/* backward */

static void head_backward(sage_model_t *m, sage_work_t *w, size_t B, const float *dscores)
{
	size_t H = (size_t)m->hp.hidden, P = pooled_dim(&m->hp);
	float *dha = w->dha.p, *dhp = w->dhp.p, *dz1 = w->dz1.p, *dpooled = w->dpooled.p;
	memset(dha, 0, B * H * sizeof *dha);
	memset(dhp, 0, B * H * sizeof *dhp);
	memset(dpooled, 0, B * P * sizeof *dpooled);
	nn_linear_backward(dha, m->g.head_w2, m->g.head_b2, dscores, w->ha.p, m->p.head_w2, B, H, 1);
	nn_gelu_backward(dhp, dha, w->hp.p, B * H);
	if (m->hp.xattn) {
		memset(dz1, 0, B * P * sizeof *dz1);
		nn_linear_backward(dz1, m->g.head_w1, m->g.head_b1, dhp, w->z1.p, m->p.head_w1, B, P, H);
		nn_xattn_backward(dpooled, m->g.xa_w, m->g.xa_b, dz1, w->pooled.p, w->qkv.p,
				  w->att.p, m->p.xa_w, B, P);
	} else {
		nn_linear_backward(dpooled, m->g.head_w1, m->g.head_b1, dhp, w->pooled.p,
				   m->p.head_w1, B, P, H);
	}
}

/* The backward of one cache block, configs [k0, k0 + kb) at slot o of the
 * chunk whose caches body_forward (train) filled, through every layer down
 * to the node projection's gradient dPn and the config term's parameters;
 * gradients into gr, scratch of thread t. */
NN_CLONES static void block_backward(sage_model_t *m, sage_work_t *w, const sage_graph_t *g,
				     const sage_batch_t *bt, size_t k0, size_t kb, size_t o,
				     int t, const sage_params_t *gr, float *dPn)
{
	const sage_hp_t *hp = &m->hp;
	const sage_params_t *p = &m->p;
	size_t H = (size_t)hp->hidden, N = (size_t)g->n, R = (size_t)hp->se_dim;
	size_t nc = (size_t)g->nc, P = pooled_dim(hp), NH = N * H, Bb = w->Bb, n = kb * NH;
	size_t C = (size_t)hp->cfg_dim, S = SAGE_NSLOT * C;
	size_t cps = hp->kind == SAGE_LAYOUT ? Bb * nc * H + 1 : Bb * H;
	float *dX = (float *)w->dX.p + (size_t)t * Bb * NH;
	float *dY = (float *)w->dY.p + (size_t)t * Bb * NH;
	float *dh = (float *)w->dh.p + (size_t)t * Bb * NH;
	float *h = (float *)w->h.p + (size_t)t * Bb * NH;
	float *y = (float *)w->y.p + (size_t)t * Bb * NH;
	float *Z = (float *)w->Z.p + (size_t)t * w->zf;
	memset(dX, 0, n * sizeof *dX);
	nn_pool_backward(dX, (float *)w->dpooled.p + k0 * P, (int32_t *)w->argmax.p + o * H,
			 kb, N, H, hp->pool_max);
	if (hp->arch == SAGE_ARCH_APPNP) {
		/* the propagation is linear: its backward needs only dX */
		memset(dY, 0, n * sizeof *dY);
		nn_appnp_backward(dY, (float *)w->ap.p + (size_t)t * w->af, dX, &g->adj,
				  hp->appnp_alpha, hp->appnp_k, kb, H);
		float *tmp = dX;
		dX = dY;
		dY = tmp;
	}
	for (int l = hp->layers - 1; l >= 0; l--) {
		const float *xl = (float *)w->x[l].p + o * NH;
		const float *mean = (float *)w->mean[l].p + o * H;
		const float *rstd = (float *)w->rstd[l].p + o * H;
		/* through the GELU: dY = dX * gelu'(x + y), written (the
		 * residual_gelu backward without its zeroing pass) */
		const float *dg = (float *)w->dg[l].p + o * NH;
		#pragma omp parallel for simd schedule(static) if (n > 32768 && !omp_in_parallel())
		for (size_t i = 0; i < n; i++)
			dY[i] = dX[i] * dg[i];
		float *dagg = dY;
		if (hp->se) {
			memset(y, 0, n * sizeof *y);
			nn_se_backward(y, gr->se_w1[l], gr->se_b1[l], gr->se_w2[l], gr->se_b2[l],
				       dY, (float *)w->yr[l].p + o * NH, (float *)w->sq[l].p + o * H,
				       (float *)w->sa[l].p + o * R, (float *)w->ss[l].p + o * H,
				       p->se_w1[l], p->se_w2[l], kb, N, H, R);
			dagg = y;
		}
		norm_apply(h, xl, mean, rstd, p->norm_g[l], p->norm_b[l], kb, N, H);
		conv_backward(m, g, l, dh, gr, Z, dagg, h, kb);
		/* dY holds the residual's gradient; add the normalised branch's */
		nn_instnorm_backward(dY, gr->norm_g[l], gr->norm_b[l], dh, xl, mean, rstd,
				     p->norm_g[l], kb, N, H);
		float *tmp = dX;
		dX = dY;
		dY = tmp;
	}
	/* dX = d x0: to the node projection and the config term */
	float *dcp = (float *)w->dcfg_p.p + (size_t)t * cps;
	const float *Pn = w->Pn.p;
	int prod = hp->arch == SAGE_ARCH_MLP;
	#pragma omp parallel for schedule(static) if (NH * kb > 32768 && !omp_in_parallel())
	for (size_t u = 0; u < N; u++)
		for (size_t b = 0; b < kb; b++) {
			const float *d = dX + (b * N + u) * H;
			#pragma omp simd
			for (size_t k = 0; k < H; k++)
				dPn[u * H + k] += d[k];
		}
	if (hp->kind == SAGE_LAYOUT) {
		if (nc == 0)
			return;
		float *dce = (float *)w->dcfg_e.p + (size_t)t * (Bb * nc * S + 1);
		if (prod) {
			/* x = Pn + c + Pn c at configurable nodes: recompute c */
			float *cp = (float *)w->cfg_p.p + (size_t)t * cps;
			nn_linear_forward(cp, (float *)w->cfg_e.p + o * nc * S, p->cfg_w, NULL,
					  kb * nc, S, H);
			for (size_t b = 0; b < kb; b++)
				for (size_t k = 0; k < nc; k++) {
					size_t u = (size_t)g->cfg_ids[k];
					const float *d = dX + (b * N + u) * H, *pn = Pn + u * H;
					const float *c = cp + (b * nc + k) * H;
					float *dc = dcp + (b * nc + k) * H;
					for (size_t j = 0; j < H; j++) {
						dPn[u * H + j] += d[j] * c[j];
						dc[j] = d[j] * (1.0f + pn[j]);
					}
				}
		} else {
			for (size_t b = 0; b < kb; b++)
				for (size_t k = 0; k < nc; k++)
					memcpy(dcp + (b * nc + k) * H,
					       dX + (b * N + (size_t)g->cfg_ids[k]) * H,
					       H * sizeof *dcp);
		}
		memset(dce, 0, kb * nc * S * sizeof(float));
		nn_linear_backward(dce, gr->cfg_w, NULL, dcp, (float *)w->cfg_e.p + o * nc * S,
				   p->cfg_w, kb * nc, S, H);
		nn_embedding_backward(gr->cfg_emb, dce, bt->sym + k0 * nc * SAGE_NSLOT,
				      kb * nc * SAGE_NSLOT, C, SAGE_NSYM);
	} else if (!hp->tile_late) {
		float *cp = (float *)w->cfg_p.p + (size_t)t * cps;
		if (prod)   /* x = Pn + c + Pn c at every node: recompute c */
			nn_linear_forward(cp, bt->tfeat + k0 * SAGE_NTILE, p->cfg_w, NULL, kb,
					  SAGE_NTILE, H);
		for (size_t b = 0; b < kb; b++) {
			float *d = dcp + b * H;
			#pragma omp simd
			for (size_t k = 0; k < H; k++)
				d[k] = 0.0f;
			if (prod) {
				const float *c = cp + b * H;
				for (size_t u = 0; u < N; u++) {
					const float *dx = dX + (b * N + u) * H, *pn = Pn + u * H;
					#pragma omp simd
					for (size_t k = 0; k < H; k++) {
						d[k] += dx[k] * (1.0f + pn[k]);
						dPn[u * H + k] += dx[k] * c[k];
					}
				}
				continue;
			}
			for (size_t u = 0; u < N; u++)
				#pragma omp simd
				for (size_t k = 0; k < H; k++)
					d[k] += dX[(b * N + u) * H + k];
		}
		nn_linear_backward(NULL, gr->cfg_w, NULL, dcp, bt->tfeat + k0 * SAGE_NTILE,
				   p->cfg_w, kb, SAGE_NTILE, H);
	}
}

/* The backward of configs [c0, c1), one chunk.  With blocks in parallel
 * each thread sums its gradients and dPn privately; the private sums are
 * added in thread order (a fixed order for a given thread count). */
static void body_backward(sage_model_t *m, sage_work_t *w, const sage_graph_t *g,
			  const sage_batch_t *bt, size_t c0, size_t c1)
{
	size_t Bb = w->Bb, nb = (c1 - c0 + Bb - 1) / Bb;
	size_t NH = (size_t)g->n * (size_t)m->hp.hidden, T = w->nt;
	if (!blocks_parallel(w, nb)) {
		for (size_t i = 0; i < nb; i++) {
			size_t k0 = c0 + i * Bb, kb = c1 - k0 < Bb ? c1 - k0 : Bb;
			block_backward(m, w, g, bt, k0, kb, k0 - c0, 0, &m->g, w->dPn.p);
		}
		return;
	}
	float *tg = NEEDF(w, tgrad, T * m->nparams);
	float *tdPn = NEEDF(w, tdPn, T * NH);
	memset(tg, 0, T * m->nparams * sizeof *tg);
	memset(tdPn, 0, T * NH * sizeof *tdPn);
	sage_params_t *views = xcalloc(T, sizeof *views);
	for (size_t t = 0; t < T; t++)
		walk_params(&m->hp, NULL, tg + t * m->nparams, &views[t]);
	#pragma omp parallel for schedule(static) num_threads((int)T)
	for (size_t i = 0; i < nb; i++) {
		int t = omp_get_thread_num();
		size_t k0 = c0 + i * Bb, kb = c1 - k0 < Bb ? c1 - k0 : Bb;
		block_backward(m, w, g, bt, k0, kb, k0 - c0, t, &views[t], tdPn + (size_t)t * NH);
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

/* The late join's backward: cfg_w's gradient, and the graph row's gradient
 * (the sum over the configs) into dpooled row 0 for the body. */
static void late_backward(sage_model_t *m, sage_work_t *w, const sage_batch_t *b, size_t B)
{
	size_t P = pooled_dim(&m->hp);
	float *dp = w->dpooled.p, *sum = w->gpool.p;   /* gpool is free now */
	nn_linear_backward(NULL, m->g.cfg_w, NULL, dp, b->tfeat, m->p.cfg_w, B, SAGE_NTILE, P);
	memset(sum, 0, P * sizeof *sum);
	for (size_t i = 0; i < B; i++)
		#pragma omp simd
		for (size_t k = 0; k < P; k++)
			sum[k] += dp[i * P + k];
	memcpy(dp, sum, P * sizeof *dp);
}

void sage_backward(sage_model_t *m, sage_work_t *w, const sage_graph_t *g,
		   const sage_batch_t *b, const float *dscores)
{
	size_t B = w->B, Bg = w->Bg, Bm = w->Bm;
	if (B == 0)
		return;
	head_backward(m, w, B, dscores);
	if (m->hp.tile_late)
		late_backward(m, w, b, B);
	memset(w->dPn.p, 0, (size_t)g->n * (size_t)m->hp.hidden * sizeof(float));
	if (w->cached) {
		body_backward(m, w, g, b, 0, Bg);
	} else {
		/* micro-batches: recompute each chunk's body with caches, then
		 * its backward (the pooled rows come out the same) */
		ensure_body(m, w, g, Bm, w->Bb, 1);
		for (size_t c0 = 0; c0 < Bg; c0 += Bm) {
			size_t c1 = c0 + Bm < Bg ? c0 + Bm : Bg;
			body_forward(m, w, g, b, c0, c1, 1);
			body_backward(m, w, g, b, c0, c1);
		}
	}
	node_backward(m, w, g);
}

/* ------------------------------------------------------------------ */
/* model files */

static tensor_t *tensor_of(const float *x, int ndim, const int64_t *shape)
{
	tensor_t *t = tensor_new(DT_F32, ndim, shape);
	memcpy(t->data, x, t->nbytes);
	return t;
}

void sage_write(swriter_t *sw, const sage_model_t *m, const float *params)
{
	const sage_hp_t *hp = &m->hp;
	record_t *r = rec_new("model");
	rec_set_str(r, "format", SAGE_FORMAT);
	rec_set_int(r, "version", SAGE_VERSION);
	rec_set_str(r, "kind", hp->kind == SAGE_TILE ? "tile" : "layout");
	rec_set_int(r, "hidden", hp->hidden);
	rec_set_int(r, "layers", hp->layers);
	rec_set_int(r, "op_dim", hp->op_dim);
	rec_set_int(r, "cfg_dim", hp->cfg_dim);
	rec_set_str(r, "pool", hp->pool_max ? "mean+max" : "mean");
	rec_set_bool(r, "se", hp->se);
	rec_set_int(r, "se_dim", hp->se_dim);
	rec_set_bool(r, "xattn", hp->xattn);
	rec_set_int(r, "batch", hp->batch);
	rec_set_str(r, "arch", sage_arch_name(hp->arch));
	rec_set_int(r, "heads", hp->heads);
	rec_set_int(r, "appnp_k", hp->appnp_k);
	rec_set_float(r, "appnp_alpha", hp->appnp_alpha);
	rec_set_int(r, "pe_k", hp->pe_k);
	if (hp->kind == SAGE_TILE)
		rec_set_str(r, "tile_join", hp->tile_late ? "late" : "early");
	rec_set_int(r, "nfeat", SAGE_NFEAT);
	rec_set_int(r, "nops", SAGE_NOPS);
	rec_set_int(r, "nparams", (int64_t)m->nparams);
	int64_t nf = SAGE_NFEAT, nt = SAGE_NTILE;
	rec_set_tensor(r, "feat_mean", tensor_of(m->feat_mean, 1, &nf));
	rec_set_tensor(r, "feat_std", tensor_of(m->feat_std, 1, &nf));
	rec_set_tensor(r, "tile_mean", tensor_of(m->tile_mean, 1, &nt));
	rec_set_tensor(r, "tile_std", tensor_of(m->tile_std, 1, &nt));
	sw_write(sw, r);
	rec_free(r);
	for (size_t i = 0; i < m->ntab; i++) {
		const sage_ptab_t *t = &m->tab[i];
		r = rec_new("param");
		rec_set_str(r, "name", t->name);
		rec_set_tensor(r, "value", tensor_of(params + t->off, t->ndim, t->shape));
		sw_write(sw, r);
		rec_free(r);
	}
}

static int64_t model_int(record_t *r, const char *key)
{
	field_t *f = rec_get(r, key);
	if (f && f->kind == V_BOOL)
		return f->v.b;
	return rec_need_int(r, key);
}

static void stats_from(record_t *r, const char *key, float *dst, int64_t n)
{
	tensor_t *t = rec_need_tensor(r, key, DT_F32, 1);
	if (t->shape[0] != n)
		rec_die(r, "%s has %lld values, want %lld", key, (long long)t->shape[0], (long long)n);
	memcpy(dst, t->data, t->nbytes);
}

sage_model_t *sage_read(sreader_t *sr, record_t ***extra, size_t *nextra)
{
	record_t *r = sr_next(sr);
	if (r && rec_is(r, "header")) {
		rec_free(r);
		r = sr_next(sr);
	}
	if (!r)
		die(EX_DATA, "%s: not a model file (no model record)", sr_name(sr));
	if (!rec_is(r, "model"))
		rec_die(r, "not a model file: first record is '%s', want 'model'", r->type);
	const char *fmt = rec_str(r, "format");
	if (!fmt || strcmp(fmt, SAGE_FORMAT) != 0)
		rec_die(r, "not a %s model (format '%s')", SAGE_FORMAT, fmt ? fmt : "");
	int64_t ver = rec_need_int(r, "version");
	if (ver < 1 || ver > SAGE_VERSION)
		rec_die(r, "model version %lld; this program reads versions 1 to %d (retrain or "
			"use the matching release)", (long long)ver, SAGE_VERSION);
	if (model_int(r, "nfeat") != SAGE_NFEAT || model_int(r, "nops") != SAGE_NOPS)
		rec_die(r, "model made for %lld node features and %lld opcodes, this program "
			"uses %d and %d", (long long)model_int(r, "nfeat"),
			(long long)model_int(r, "nops"), SAGE_NFEAT, SAGE_NOPS);
	sage_hp_t hp;
	memset(&hp, 0, sizeof hp);
	const char *kind = rec_need_str(r, "kind");
	if (strcmp(kind, "layout") == 0)
		hp.kind = SAGE_LAYOUT;
	else if (strcmp(kind, "tile") == 0)
		hp.kind = SAGE_TILE;
	else
		rec_die(r, "unknown model kind '%s'", kind);
	hp.hidden = (int)model_int(r, "hidden");
	hp.layers = (int)model_int(r, "layers");
	hp.op_dim = (int)model_int(r, "op_dim");
	hp.cfg_dim = (int)model_int(r, "cfg_dim");
	const char *pool = rec_need_str(r, "pool");
	if (strcmp(pool, "mean+max") == 0)
		hp.pool_max = 1;
	else if (strcmp(pool, "mean") != 0)
		rec_die(r, "unknown pooling '%s'", pool);
	hp.se = (int)model_int(r, "se");
	hp.se_dim = (int)model_int(r, "se_dim");
	hp.xattn = (int)model_int(r, "xattn");
	hp.batch = (int)model_int(r, "batch");
	/* version 1 models are GraphSAGE without positional encoding */
	sage_hp_t dflt;
	sage_hp_default(&dflt, hp.kind);
	hp.arch = dflt.arch;
	hp.heads = dflt.heads;
	hp.appnp_k = dflt.appnp_k;
	hp.appnp_alpha = dflt.appnp_alpha;
	if (ver >= 2) {
		const char *arch = rec_need_str(r, "arch");
		hp.arch = sage_arch_parse(arch);
		if (hp.arch < 0)
			rec_die(r, "unknown arch '%s'", arch);
		hp.heads = (int)model_int(r, "heads");
		hp.appnp_k = (int)model_int(r, "appnp_k");
		double alpha;
		if (!rec_float(r, "appnp_alpha", &alpha))
			rec_die(r, "appnp_alpha missing or not a number");
		hp.appnp_alpha = (float)alpha;
		hp.pe_k = (int)model_int(r, "pe_k");
	}
	/* tile_join: absent in models written before it existed (early) */
	const char *join = rec_str(r, "tile_join");
	if (join) {
		if (hp.kind != SAGE_TILE || (strcmp(join, "early") && strcmp(join, "late")))
			rec_die(r, "tile_join '%s' is not early or late of a tile model", join);
		hp.tile_late = !strcmp(join, "late");
	}
	const char *err = NULL;
	sage_model_t *m = sage_new(&hp, &err);
	if (!m)
		rec_die(r, "bad hyper-parameters: %s", err);
	if (model_int(r, "nparams") != (int64_t)m->nparams)
		rec_die(r, "nparams %lld does not match the hyper-parameters (%zu)",
			(long long)model_int(r, "nparams"), m->nparams);
	stats_from(r, "feat_mean", m->feat_mean, SAGE_NFEAT);
	stats_from(r, "feat_std", m->feat_std, SAGE_NFEAT);
	stats_from(r, "tile_mean", m->tile_mean, SAGE_NTILE);
	stats_from(r, "tile_std", m->tile_std, SAGE_NTILE);
	rec_free(r);

	uint8_t *seen = xcalloc(m->ntab, 1);
	if (extra) {
		*extra = NULL;
		*nextra = 0;
	}
	while ((r = sr_next(sr))) {
		if (rec_is(r, "end")) {
			rec_free(r);
			continue;
		}
		if (!rec_is(r, "param")) {
			if (!extra) {   /* other records (training info ...) */
				rec_free(r);
				continue;
			}
			*extra = xreallocarray(*extra, *nextra + 1, sizeof **extra);
			(*extra)[(*nextra)++] = r;
			continue;
		}
		const char *name = rec_need_str(r, "name");
		const sage_ptab_t *t = sage_find(m, name);
		if (!t)
			rec_die(r, "unknown parameter '%s' for these hyper-parameters", name);
		size_t i = (size_t)(t - m->tab);
		if (seen[i])
			rec_die(r, "parameter '%s' given twice", name);
		tensor_t *v = rec_need_tensor(r, "value", DT_F32, t->ndim);
		if (v->shape[0] != t->shape[0] || (t->ndim == 2 && v->shape[1] != t->shape[1])) {
			char sh[64];
			rec_die(r, "parameter '%s' has shape %s, want (%lld%s%lld)", name,
				tensor_shape_str(v, sh, sizeof sh), (long long)t->shape[0],
				t->ndim == 2 ? ", " : "", t->ndim == 2 ? (long long)t->shape[1] : 0LL);
		}
		memcpy(m->params + t->off, v->data, v->nbytes);
		seen[i] = 1;
		rec_free(r);
	}
	for (size_t i = 0; i < m->ntab; i++)
		if (!seen[i])
			die(EX_DATA, "%s: parameter '%s' missing", sr_name(sr), m->tab[i].name);
	free(seen);
	return m;
}

void sage_save(const char *path, const sage_model_t *m, const float *params,
	       record_t *const *extra, size_t nextra, const char *prog,
	       int argc, char **argv)
{
	outfile_t *of = of_open(path);
	swriter_t *sw = sw_open_fd(of->fd, path);
	record_t *hdr = header_new();
	header_append(hdr, prog, argc, argv);
	sw_write(sw, hdr);
	rec_free(hdr);
	sage_write(sw, m, params);
	for (size_t i = 0; i < nextra; i++)
		sw_write(sw, extra[i]);
	sw_end(sw);
	sw_release(sw);
	of_commit(of);  /* fsync, rename over path (a regular file) */
}

sage_model_t *sage_load(const char *path, record_t ***extra, size_t *nextra)
{
	sreader_t *sr = sr_open(path);
	sage_model_t *m = sage_read(sr, extra, nextra);
	sr_close(sr);
	return m;
}
