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

size_t sage_pooled_dim(const sage_hp_t *hp)
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
	int64_t P = (int64_t)sage_pooled_dim(hp);
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
		double sH = 1.0 / sqrt((double)H);
#define LADD(field, d0, d1, init_, scale_) do { \
		snprintf(nm, sizeof nm, "l%d.%s", l, #field); \
		ADD(layer[l].field, nm, d0, d1, init_, scale_); \
	} while (0)
		LADD(norm_g, H, 0, SAGE_INIT_ONE, 0);
		LADD(norm_b, H, 0, SAGE_INIT_ZERO, 0);
		switch (hp->arch) {
		case SAGE_ARCH_SAGE:
		case SAGE_ARCH_GPS:
			LADD(sage_w, 3 * H, H, SAGE_INIT_NORMAL, sH);
			LADD(sage_b, H, 0, SAGE_INIT_ZERO, 0);
			if (hp->arch == SAGE_ARCH_SAGE)
				break;
			LADD(la_w, 3 * H, H, SAGE_INIT_NORMAL, sH);
			LADD(la_b, 3 * H, 0, SAGE_INIT_ZERO, 0);
			LADD(la_o, H, H, SAGE_INIT_NORMAL, sH);
			LADD(la_ob, H, 0, SAGE_INIT_ZERO, 0);
			break;
		case SAGE_ARCH_GAT:
			LADD(gat_w, H, H, SAGE_INIT_NORMAL, sH);
			LADD(gat_a, 4, H, SAGE_INIT_NORMAL, 1.0 / sqrt((double)(H / hp->heads)));
			LADD(gat_b, H, 0, SAGE_INIT_ZERO, 0);
			break;
		case SAGE_ARCH_GIN:
			LADD(gin_eps, 1, 0, SAGE_INIT_ZERO, 0);
			LADD(gin_w1, H, H, SAGE_INIT_NORMAL, sH);
			LADD(gin_b1, H, 0, SAGE_INIT_ZERO, 0);
			LADD(gin_w2, H, H, SAGE_INIT_NORMAL, sH);
			LADD(gin_b2, H, 0, SAGE_INIT_ZERO, 0);
			break;
		default:   /* appnp, mlp: a node-wise Linear */
			LADD(lin_w, H, H, SAGE_INIT_NORMAL, sH);
			LADD(lin_b, H, 0, SAGE_INIT_ZERO, 0);
			break;
		}
		if (hp->se) {
			LADD(se_w1, R, H, SAGE_INIT_NORMAL, 1.0 / sqrt((double)H));
			LADD(se_b1, R, 0, SAGE_INIT_ZERO, 0);
			LADD(se_w2, H, R, SAGE_INIT_NORMAL, 1.0 / sqrt((double)R));
			LADD(se_b2, H, 0, SAGE_INIT_ZERO, 0);
		}
#undef LADD
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

void sage_params_view(const sage_hp_t *hp, float *base, sage_params_t *v)
{
	walk_params(hp, NULL, base, v);
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
