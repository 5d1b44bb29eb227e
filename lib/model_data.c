/* model_data: the model's inputs (model.h): feature transforms, a graph
 * and its configs from stream records, a collection in memory. */
#include "model.h"
#include "base7.h"
#include "err.h"
#include "gnn.h"
#include "graph.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* feature transforms */

void model_log_transform(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = x[i] < 0 ? -log1pf(-x[i]) : log1pf(x[i]);
}

void model_standardize(float *x, size_t rows, size_t w, const float *mean,
		      const float *std)
{
	for (size_t r = 0; r < rows; r++)
		for (size_t k = 0; k < w; k++)
			x[r * w + k] = (x[r * w + k] - mean[k]) / std[k];
}

void model_stats_add(model_stats_t *s, const float *x, size_t rows)
{
	for (size_t r = 0; r < rows; r++)
		for (size_t k = 0; k < s->w; k++) {
			double v = x[r * s->w + k];
			s->sum[k] += v;
			s->sumsq[k] += v * v;
		}
	s->n += (double)rows;
}

void model_stats_get(const model_stats_t *s, float *mean, float *std)
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

void model_graph_from_record(model_graph_t *g, record_t *r, int kind)
{
	graph_rec_t gr;
	memset(g, 0, sizeof *g);
	graph_rec_check(r, &gr);
	g->id = xstrdup(rec_need_str(r, "id"));
	const char *coll = rec_str(r, "collection");
	g->coll = coll ? xstrdup(coll) : NULL;
	g->n = gr.n;
	tensor_t *feat = rec_need_tensor(r, "node_feat", DT_F32, 2);
	if (feat->shape[0] != gr.n || feat->shape[1] != MODEL_NFEAT)
		rec_die(r, "node_feat is (%lld, %lld), want (%d, %d)",
			(long long)feat->shape[0], (long long)feat->shape[1], gr.n, MODEL_NFEAT);
	tensor_t *op = rec_need_tensor(r, "node_opcode", DT_I32, 1);
	if (op->shape[0] != gr.n)
		rec_die(r, "node_opcode has %lld entries, the graph %d nodes",
			(long long)op->shape[0], gr.n);
	g->feat = xmallocarray((size_t)gr.n * MODEL_NFEAT, sizeof *g->feat);
	memcpy(g->feat, feat->data, feat->nbytes);
	for (size_t i = 0; i < (size_t)gr.n * MODEL_NFEAT; i++)
		if (!isfinite(g->feat[i]))
			rec_die(r, "node_feat: non-finite value at node %zu feature %zu",
				i / MODEL_NFEAT, i % MODEL_NFEAT);
	model_log_transform(g->feat, (size_t)gr.n * MODEL_NFEAT);
	g->op = xmalloc((size_t)gr.n);
	for (int32_t i = 0; i < gr.n; i++) {
		int32_t o = ((const int32_t *)op->data)[i];
		g->op[i] = (uint8_t)(o >= 0 && o < MODEL_NOPS ? o : 0);
	}
	if (nn_adj_build(&g->adj, (size_t)gr.n, gr.edge_index->data, (size_t)gr.m) != 0)
		rec_die(r, "edge_index: node id out of range");
	if (kind == MODEL_LAYOUT) {
		if (!gr.node_config_ids)
			rec_die(r, "layout graph without node_config_ids");
		g->nc = (int32_t)gr.nc;
		g->cfg_ids = xmallocarray(gr.nc ? (size_t)gr.nc : 1, sizeof *g->cfg_ids);
		memcpy(g->cfg_ids, gr.node_config_ids->data, (size_t)gr.nc * sizeof *g->cfg_ids);
	}
}

void model_graph_set_pe(model_graph_t *g, int k)
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

void model_graph_free(model_graph_t *g)
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

size_t model_graph_bytes(const model_graph_t *g)
{
	size_t n = (size_t)g->n, m = g->adj.m, c = g->nconf;
	size_t b = n * MODEL_NFEAT * sizeof(float) + n + (size_t)g->nc * 4;
	b += n * (size_t)g->pe_k * sizeof(float);
	b += 2 * (n + 1 + m) * sizeof(int32_t) + 2 * n * sizeof(float);
	if (g->codes)
		b += c * (size_t)g->nc * MODEL_NCODE * sizeof(uint32_t);
	if (g->tfeat)
		b += c * MODEL_NTILE * sizeof(float);
	b += c * (sizeof(double) + sizeof(int64_t));
	return b;
}

int model_record_kind(const record_t *r)
{
	const char *coll = rec_str(r, "collection");
	if (coll && strncmp(coll, "tile", 4) == 0)
		return MODEL_TILE;
	if (coll && strncmp(coll, "layout", 6) == 0)
		return MODEL_LAYOUT;
	return rec_get(r, "node_config_ids") ? MODEL_LAYOUT : MODEL_TILE;
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

void model_chunk_from_record(model_chunk_t *c, record_t *r, const model_graph_t *g, int kind)
{
	memset(c, 0, sizeof *c);
	const char *id = rec_str(r, "id");
	if (id && g->id && strcmp(id, g->id) != 0)
		rec_die(r, "configs for graph '%s' inside graph '%s'", id, g->id);
	size_t nc = (size_t)g->nc;
	tensor_t *t;
	if (kind == MODEL_LAYOUT) {
		if ((t = rec_opt_tensor(r, "node_config_code", DT_U32, 3))) {
			if ((size_t)t->shape[1] != nc || t->shape[2] != MODEL_NCODE)
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
			if ((size_t)t->shape[1] != nc || t->shape[2] != MODEL_NSLOT)
				rec_die(r, "node_config_feat is (%lld, %lld, %lld), want (count, %zu, 18)",
					(long long)t->shape[0], (long long)t->shape[1],
					(long long)t->shape[2], nc);
			c->count = (size_t)t->shape[0];
			size_t nb = c->count * nc * MODEL_NCODE;
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
		if (t->shape[1] != MODEL_NTILE)
			rec_die(r, "config_feat is (%lld, %lld), want (count, %d)",
				(long long)t->shape[0], (long long)t->shape[1], MODEL_NTILE);
		c->count = (size_t)t->shape[0];
		c->tfeat = xmallocarray(t->numel ? t->numel : 1, sizeof *c->tfeat);
		memcpy(c->tfeat, t->data, t->nbytes);
		for (size_t i = 0; i < t->numel; i++)
			if (!isfinite(c->tfeat[i]))
				rec_die(r, "config_feat: non-finite value at %zu", i);
		model_log_transform(c->tfeat, t->numel);
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
		int64_t *nm = kind == MODEL_TILE ?
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

void model_chunk_free(model_chunk_t *c)
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

static void graph_append(model_graph_t *g, const model_chunk_t *c, int kind, size_t *cap)
{
	size_t need = g->nconf + c->count;
	if (need > *cap) {
		size_t nc = *cap ? *cap : 64;
		while (nc < need)
			nc *= 2;
		size_t w = (size_t)g->nc * MODEL_NCODE;
		if (kind == MODEL_LAYOUT)
			g->codes = xreallocarray(g->codes, nc * (w ? w : 1), sizeof *g->codes);
		else
			g->tfeat = xreallocarray(g->tfeat, nc * MODEL_NTILE, sizeof *g->tfeat);
		g->target = xreallocarray(g->target, nc, sizeof *g->target);
		g->cidx = xreallocarray(g->cidx, nc, sizeof *g->cidx);
		*cap = nc;
	}
	if (kind == MODEL_LAYOUT)
		memcpy(g->codes + g->nconf * (size_t)g->nc * MODEL_NCODE, c->codes,
		       c->count * (size_t)g->nc * MODEL_NCODE * sizeof *g->codes);
	else
		memcpy(g->tfeat + g->nconf * MODEL_NTILE, c->tfeat,
		       c->count * MODEL_NTILE * sizeof *g->tfeat);
	memcpy(g->target + g->nconf, c->target, c->count * sizeof *g->target);
	memcpy(g->cidx + g->nconf, c->cidx, c->count * sizeof *g->cidx);
	g->nconf = need;
}

/* Keep k of g's configs, chosen at random (then in their original order). */
static void graph_subsample(model_graph_t *g, size_t k, uint64_t seed, size_t gi)
{
	if (g->nconf <= k)
		return;
	size_t n = g->nconf, w = (size_t)g->nc * MODEL_NCODE;
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
			memmove(g->tfeat + i * MODEL_NTILE, g->tfeat + s * MODEL_NTILE,
				MODEL_NTILE * sizeof *g->tfeat);
		g->target[i] = g->target[s];
		g->cidx[i] = g->cidx[s];
	}
	g->nconf = k;
	free(idx);
}

void model_set_read(model_set_t *s, const char *path, int kind, size_t max_configs,
		   uint64_t seed)
{
	memset(s, 0, sizeof *s);
	s->kind = kind;
	sreader_t *sr = sr_open(path);
	record_t *r;
	model_graph_t *g = NULL;
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
			int k = model_record_kind(r);
			if (rec_flag(r, "runtimes_hidden"))
				rec_die(r, "its runtimes are hidden (a test split): "
					"nothing to train or validate on");
			if (s->kind < 0)
				s->kind = k;
			else if (k != s->kind)
				rec_die(r, "a %s graph among %s graphs: train one model per collection",
					k == MODEL_TILE ? "tile" : "layout",
					s->kind == MODEL_TILE ? "tile" : "layout");
			if (g && max_configs)
				graph_subsample(g, max_configs, seed, s->n - 1);
			if (s->n == s->cap) {
				s->cap = s->cap ? 2 * s->cap : 16;
				s->g = xreallocarray(s->g, s->cap, sizeof *s->g);
			}
			g = &s->g[s->n++];
			model_graph_from_record(g, r, s->kind);
			cap = 0;
		} else if (rec_is(r, "configs")) {
			if (!g)
				rec_die(r, "configs record before any graph");
			model_chunk_t c;
			model_chunk_from_record(&c, r, g, s->kind);
			if (!c.target)
				rec_die(r, "configs without config_runtime: training and validation "
					"need measured runtimes");
			graph_append(g, &c, s->kind, &cap);
			model_chunk_free(&c);
		}
		rec_free(r);
	}
	if (g && max_configs)
		graph_subsample(g, max_configs, seed, s->n - 1);
	sr_close(sr);
	for (size_t i = 0; i < s->n; i++)
		s->nconf += s->g[i].nconf;
	if (s->kind < 0)
		s->kind = kind < 0 ? MODEL_LAYOUT : kind;
}

void model_set_free(model_set_t *s)
{
	for (size_t i = 0; i < s->n; i++)
		model_graph_free(&s->g[i]);
	free(s->g);
	free(s->history);
	memset(s, 0, sizeof *s);
}

size_t model_set_bytes(const model_set_t *s)
{
	size_t b = s->n * sizeof *s->g;
	for (size_t i = 0; i < s->n; i++)
		b += model_graph_bytes(&s->g[i]);
	return b;
}

size_t model_set_float_bytes(const model_set_t *s)
{
	size_t b = s->n * sizeof *s->g;
	for (size_t i = 0; i < s->n; i++) {
		const model_graph_t *g = &s->g[i];
		b += model_graph_bytes(g);
		if (g->codes)  /* 18 floats instead of 3 codes per node */
			b += g->nconf * (size_t)g->nc * (MODEL_NSLOT * sizeof(float) -
							 MODEL_NCODE * sizeof(uint32_t));
	}
	return b;
}

void model_set_fit_stats(const model_set_t *s, model_t *m)
{
	model_stats_t *st = xcalloc(1, sizeof *st);
	st->w = MODEL_NFEAT;
	for (size_t i = 0; i < s->n; i++)
		model_stats_add(st, s->g[i].feat, (size_t)s->g[i].n);
	model_stats_get(st, m->feat_mean, m->feat_std);
	if (s->kind == MODEL_TILE) {
		memset(st, 0, sizeof *st);
		st->w = MODEL_NTILE;
		for (size_t i = 0; i < s->n; i++)
			model_stats_add(st, s->g[i].tfeat, s->g[i].nconf);
		model_stats_get(st, m->tile_mean, m->tile_std);
	}
	free(st);
}

void model_set_standardize(model_set_t *s, const model_t *m)
{
	for (size_t i = 0; i < s->n; i++) {
		model_graph_t *g = &s->g[i];
		model_standardize(g->feat, (size_t)g->n, MODEL_NFEAT, m->feat_mean, m->feat_std);
		if (g->tfeat)
			model_standardize(g->tfeat, g->nconf, MODEL_NTILE, m->tile_mean, m->tile_std);
	}
}

void model_symbols(uint8_t *sym, const uint32_t *codes, size_t n)
{
	if (b7_symbols(sym, codes, n) >= 0)
		die(EX_DATA, "internal: a base-7 code out of range");
}
