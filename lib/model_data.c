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

int model_graph_parse(model_graph_t *g, record_t *r, int kind, char *err, size_t errlen)
{
	graph_rec_t gr;
	tensor_t *feat, *op;
	memset(g, 0, sizeof *g);
	if (graph_rec_parse(r, &gr, err, errlen) != 0)
		return -1;
	const char *id = rec_str(r, "id");
	if (!id)
		return rec_err(r, err, errlen, "missing string 'id'");
	if (rec_get_tensor(r, "node_feat", DT_F32, 2, 1, &feat, err, errlen) != 0 ||
	    rec_get_tensor(r, "node_opcode", DT_I32, 1, 1, &op, err, errlen) != 0)
		return -1;
	if (feat->shape[0] != gr.n || feat->shape[1] != MODEL_NFEAT)
		return rec_err(r, err, errlen, "node_feat is (%lld, %lld), want (%d, %d)",
			       (long long)feat->shape[0], (long long)feat->shape[1], gr.n,
			       MODEL_NFEAT);
	if (op->shape[0] != gr.n)
		return rec_err(r, err, errlen, "node_opcode has %lld entries, the graph %d nodes",
			       (long long)op->shape[0], gr.n);
	const float *fv = feat->data;
	for (size_t i = 0; i < (size_t)gr.n * MODEL_NFEAT; i++)
		if (!isfinite(fv[i]))
			return rec_err(r, err, errlen,
				       "node_feat: non-finite value at node %zu feature %zu",
				       i / MODEL_NFEAT, i % MODEL_NFEAT);
	if (kind == MODEL_LAYOUT && !gr.node_config_ids)
		return rec_err(r, err, errlen, "layout graph without node_config_ids");
	if (nn_adj_build(&g->adj, (size_t)gr.n, gr.edge_index->data, (size_t)gr.m) != 0)
		return rec_err(r, err, errlen, "edge_index: node id out of range");
	/* checked: from here nothing fails */
	g->id = xstrdup(id);
	const char *coll = rec_str(r, "collection");
	g->coll = coll ? xstrdup(coll) : NULL;
	g->n = gr.n;
	g->feat = xmallocarray((size_t)gr.n * MODEL_NFEAT, sizeof *g->feat);
	memcpy(g->feat, feat->data, feat->nbytes);
	model_log_transform(g->feat, (size_t)gr.n * MODEL_NFEAT);
	g->op = xmalloc((size_t)gr.n);
	for (int32_t i = 0; i < gr.n; i++) {
		int32_t o = ((const int32_t *)op->data)[i];
		g->op[i] = (uint8_t)(o >= 0 && o < MODEL_NOPS ? o : 0);
	}
	if (kind == MODEL_LAYOUT) {
		g->nc = (int32_t)gr.nc;
		g->cfg_ids = xmallocarray(gr.nc ? (size_t)gr.nc : 1, sizeof *g->cfg_ids);
		memcpy(g->cfg_ids, gr.node_config_ids->data, (size_t)gr.nc * sizeof *g->cfg_ids);
	}
	return 0;
}

void model_graph_from_record(model_graph_t *g, record_t *r, int kind)
{
	char err[1024];
	if (model_graph_parse(g, r, kind, err, sizeof err) != 0)
		die(EX_DATA, "%s", err);
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

/* *out: a copy of the i64 (n) tensor key, NULL when absent and not
 * required.  0, or -1 with err. */
static int copy_i64(record_t *r, const char *key, size_t n, int required, int64_t **out,
		    char *err, size_t errlen)
{
	tensor_t *t;
	*out = NULL;
	if (rec_get_tensor(r, key, DT_I64, 1, required, &t, err, errlen) != 0)
		return -1;
	if (!t)
		return 0;
	if ((size_t)t->shape[0] != n)
		return rec_err(r, err, errlen, "%s has %lld entries, want %zu", key,
			       (long long)t->shape[0], n);
	*out = xmallocarray(n ? n : 1, sizeof **out);
	memcpy(*out, t->data, t->nbytes);
	return 0;
}

/* The configs' own part: codes (layout) or features (tile), and count. */
static int chunk_configs(model_chunk_t *c, record_t *r, size_t nc, int kind, char *err,
			 size_t errlen)
{
	tensor_t *t;
	if (kind == MODEL_TILE) {
		if (rec_get_tensor(r, "config_feat", DT_F32, 2, 1, &t, err, errlen) != 0)
			return -1;
		if (t->shape[1] != MODEL_NTILE)
			return rec_err(r, err, errlen, "config_feat is (%lld, %lld), want (count, %d)",
				       (long long)t->shape[0], (long long)t->shape[1], MODEL_NTILE);
		const float *v = t->data;
		for (size_t i = 0; i < t->numel; i++)
			if (!isfinite(v[i]))
				return rec_err(r, err, errlen, "config_feat: non-finite value at %zu", i);
		c->count = (size_t)t->shape[0];
		c->tfeat = xmallocarray(t->numel ? t->numel : 1, sizeof *c->tfeat);
		memcpy(c->tfeat, t->data, t->nbytes);
		model_log_transform(c->tfeat, t->numel);
		return 0;
	}
	if (rec_get_tensor(r, "node_config_code", DT_U32, 3, 0, &t, err, errlen) != 0)
		return -1;
	if (t) {
		if ((size_t)t->shape[1] != nc || t->shape[2] != MODEL_NCODE)
			return rec_err(r, err, errlen,
				       "node_config_code is (%lld, %lld, %lld), want (count, %zu, 3)",
				       (long long)t->shape[0], (long long)t->shape[1],
				       (long long)t->shape[2], nc);
		const uint32_t *v = t->data;
		for (size_t i = 0; i < t->numel; i++)
			if (v[i] >= B7_NCODES)
				return rec_err(r, err, errlen,
					       "node_config_code: %u at %zu is not a base-7 code (>= 7^6)",
					       v[i], i);
		c->count = (size_t)t->shape[0];
		c->codes = xmallocarray(t->numel ? t->numel : 1, sizeof *c->codes);
		memcpy(c->codes, t->data, t->nbytes);
		return 0;
	}
	if (rec_get_tensor(r, "node_config_feat", DT_F32, 3, 0, &t, err, errlen) != 0)
		return -1;
	if (!t)
		return rec_err(r, err, errlen,
			       "layout configs without node_config_code or node_config_feat");
	if ((size_t)t->shape[1] != nc || t->shape[2] != MODEL_NSLOT)
		return rec_err(r, err, errlen,
			       "node_config_feat is (%lld, %lld, %lld), want (count, %zu, 18)",
			       (long long)t->shape[0], (long long)t->shape[1],
			       (long long)t->shape[2], nc);
	c->count = (size_t)t->shape[0];
	size_t nb = c->count * nc * MODEL_NCODE;
	c->codes = xmallocarray(nb ? nb : 1, sizeof *c->codes);
	int64_t bad = b7_pack(c->codes, t->data, nb);
	if (bad >= 0)
		return rec_err(r, err, errlen,
			       "node_config_feat: value %g at %lld is not an integer in -1..5",
			       ((const float *)t->data)[bad], (long long)bad);
	return 0;
}

/* The runtimes as targets (tile: divided by the normalizers), when present. */
static int chunk_targets(model_chunk_t *c, record_t *r, int kind, char *err, size_t errlen)
{
	int64_t *rt, *nm = NULL;
	if (copy_i64(r, "config_runtime", c->count, 0, &rt, err, errlen) != 0)
		return -1;
	if (!rt)
		return 0;
	if (kind == MODEL_TILE &&
	    copy_i64(r, "config_runtime_normalizers", c->count, 0, &nm, err, errlen) != 0) {
		free(rt);
		return -1;
	}
	int rc = 0;
	c->target = xmallocarray(c->count ? c->count : 1, sizeof *c->target);
	for (size_t i = 0; i < c->count && !rc; i++) {
		if (rt[i] <= 0 || (nm && nm[i] <= 0))
			rc = rec_err(r, err, errlen, "config %zu: runtime or normalizer <= 0", i);
		else
			c->target[i] = nm ? (double)rt[i] / (double)nm[i] : (double)rt[i];
	}
	free(rt);
	free(nm);
	return rc;
}

/* encode-base7 --dedup's mapping, when present. */
static int chunk_dups(model_chunk_t *c, record_t *r, char *err, size_t errlen)
{
	tensor_t *dof, *dix;
	if (rec_get_tensor(r, "dup_offsets", DT_I64, 1, 0, &dof, err, errlen) != 0 ||
	    rec_get_tensor(r, "dup_index", DT_I64, 1, 0, &dix, err, errlen) != 0)
		return -1;
	if (!dof && !dix)
		return 0;
	if (!dof || !dix)
		return rec_err(r, err, errlen, "dup_offsets without dup_index or the other way round");
	const int64_t *o = dof->data;
	if ((size_t)dof->shape[0] != c->count + 1 || o[0] != 0 || o[c->count] != dix->shape[0])
		return rec_err(r, err, errlen,
			       "dup_offsets (%lld entries) do not fit %zu rows and %lld dup_index",
			       (long long)dof->shape[0], c->count, (long long)dix->shape[0]);
	for (size_t i = 0; i < c->count; i++)
		if (o[i + 1] < o[i])
			return rec_err(r, err, errlen, "dup_offsets decrease at %zu", i);
	if (copy_i64(r, "dup_offsets", c->count + 1, 1, &c->dup_off, err, errlen) != 0 ||
	    copy_i64(r, "dup_index", (size_t)dix->shape[0], 1, &c->dup_idx, err, errlen) != 0)
		return -1;
	return 0;
}

int model_chunk_parse(model_chunk_t *c, record_t *r, const model_graph_t *g, int kind,
		      char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	const char *id = rec_str(r, "id");
	int64_t cnt;
	if (id && g->id && strcmp(id, g->id) != 0)
		return rec_err(r, err, errlen, "configs for graph '%s' inside graph '%s'", id,
			       g->id);
	if (chunk_configs(c, r, (size_t)g->nc, kind, err, errlen) != 0)
		goto fail;
	if (rec_int(r, "count", &cnt) && (size_t)cnt != c->count) {
		rec_err(r, err, errlen, "count is %lld but the config tensor has %zu rows",
			(long long)cnt, c->count);
		goto fail;
	}
	if (copy_i64(r, "config_index", c->count, 0, &c->cidx, err, errlen) != 0)
		goto fail;
	if (!c->cidx) {
		int64_t off = 0;
		rec_int(r, "offset", &off);
		c->cidx = xmallocarray(c->count ? c->count : 1, sizeof *c->cidx);
		for (size_t i = 0; i < c->count; i++)
			c->cidx[i] = off + (int64_t)i;
	}
	if (chunk_targets(c, r, kind, err, errlen) != 0 || chunk_dups(c, r, err, errlen) != 0)
		goto fail;
	return 0;
fail:
	model_chunk_free(c);
	return -1;
}

void model_chunk_from_record(model_chunk_t *c, record_t *r, const model_graph_t *g, int kind)
{
	char err[1024];
	if (model_chunk_parse(c, r, g, kind, err, sizeof err) != 0)
		die(EX_DATA, "%s", err);
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

/* The header's history, packed (an empty list when it has none). */
static void keep_history(model_set_t *s, const record_t *r)
{
	const field_t *h = rec_get(r, "history");
	free(s->history);
	if (h && h->kind == V_RAW) {
		s->history_len = h->v.raw.len;
		s->history = xmalloc(h->v.raw.len);
		memcpy(s->history, h->v.raw.bytes, h->v.raw.len);
	} else {
		s->history_len = 1;
		s->history = xmalloc(1);
		s->history[0] = (char)0x90;
	}
}

/* A graph record: checked against the set's kind, appended. */
static int set_graph(model_set_t *s, record_t *r, char *err, size_t errlen)
{
	int k = model_record_kind(r);
	if (rec_flag(r, "runtimes_hidden"))
		return rec_err(r, err, errlen, "its runtimes are hidden (a test split): "
			       "nothing to train or validate on");
	if (s->kind < 0)
		s->kind = k;
	else if (k != s->kind)
		return rec_err(r, err, errlen,
			       "a %s graph among %s graphs: train one model per collection",
			       k == MODEL_TILE ? "tile" : "layout",
			       s->kind == MODEL_TILE ? "tile" : "layout");
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->g = xreallocarray(s->g, s->cap, sizeof *s->g);
	}
	if (model_graph_parse(&s->g[s->n], r, s->kind, err, errlen) != 0)
		return -1;
	s->n++;
	return 0;
}

/* A configs record: its configs appended to graph g (cap: g's room). */
static int set_configs(model_set_t *s, model_graph_t *g, size_t *cap, record_t *r,
		       char *err, size_t errlen)
{
	model_chunk_t c;
	if (!g)
		return rec_err(r, err, errlen, "configs record before any graph");
	if (model_chunk_parse(&c, r, g, s->kind, err, errlen) != 0)
		return -1;
	int rc = 0;
	if (!c.target)
		rc = rec_err(r, err, errlen, "configs without config_runtime: training and "
			     "validation need measured runtimes");
	else
		graph_append(g, &c, s->kind, cap);
	model_chunk_free(&c);
	return rc;
}

int model_set_load(model_set_t *s, const char *path, int kind, size_t max_configs,
		   uint64_t seed, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	s->kind = kind;
	sreader_t *sr = sr_try_open(path, err, errlen);
	if (!sr)
		return EX_IO;
	record_t *r;
	size_t cap = 0;
	int rc = 0, got = SR_DONE;
	while (!rc && (got = sr_read(sr, &r, err, errlen)) == SR_OK) {
		model_graph_t *g = s->n ? &s->g[s->n - 1] : NULL;
		if (rec_is(r, "header")) {
			keep_history(s, r);
		} else if (rec_is(r, "graph")) {
			if (g && max_configs)
				graph_subsample(g, max_configs, seed, s->n - 1);
			rc = set_graph(s, r, err, errlen) ? EX_DATA : 0;
			cap = 0;
		} else if (rec_is(r, "configs")) {
			rc = set_configs(s, g, &cap, r, err, errlen) ? EX_DATA : 0;
		}
		rec_free(r);
	}
	if (!rc && got != SR_DONE)
		rc = got == SR_EIO ? EX_IO : EX_DATA;
	sr_close(sr);
	if (rc) {
		model_set_free(s);
		return rc;
	}
	if (s->n && max_configs)
		graph_subsample(&s->g[s->n - 1], max_configs, seed, s->n - 1);
	for (size_t i = 0; i < s->n; i++)
		s->nconf += s->g[i].nconf;
	if (s->kind < 0)
		s->kind = kind < 0 ? MODEL_LAYOUT : kind;
	return 0;
}

void model_set_read(model_set_t *s, const char *path, int kind, size_t max_configs,
		    uint64_t seed)
{
	char err[1024];
	int rc = model_set_load(s, path, kind, max_configs, seed, err, sizeof err);
	if (rc)
		die(rc, "%s", err);
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
