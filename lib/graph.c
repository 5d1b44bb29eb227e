/* graph: see graph.h */
#include "graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* ---- CSR ---- */

/* Counting sort of the m rows by key[2*e + col]; lists keep row order. */
static void csr_fill(int32_t n, const int32_t *ei, int64_t m, int keycol,
		     int64_t *off, int32_t *node, int64_t *edge)
{
	int64_t e, x;
	int64_t *pos;
	memset(off, 0, (size_t)(n + 1) * sizeof *off);
	for (e = 0; e < m; e++)
		off[ei[2 * e + keycol] + 1]++;
	for (x = 0; x < n; x++)
		off[x + 1] += off[x];
	pos = xmallocarray((size_t)n + 1, sizeof *pos);
	memcpy(pos, off, (size_t)(n + 1) * sizeof *pos);
	for (e = 0; e < m; e++) {
		int32_t k = ei[2 * e + keycol], o = ei[2 * e + 1 - keycol];
		int64_t p = pos[k]++;
		node[p] = o;
		edge[p] = e;
	}
	free(pos);
}

int graph_build(graph_t *g, int32_t n, const int32_t *ei, int64_t m,
		char *err, size_t errlen)
{
	int64_t e;
	memset(g, 0, sizeof *g);
	if (n < 0 || m < 0) {
		snprintf(err, errlen, "negative size (n %d, m %lld)", n, (long long)m);
		return -1;
	}
	for (e = 0; e < m; e++) {
		int32_t u = ei[2 * e], v = ei[2 * e + 1];
		if (u < 0 || u >= n || v < 0 || v >= n) {
			snprintf(err, errlen,
				 "edge_index row %lld: [%d, %d] out of range (%d nodes)",
				 (long long)e, u, v, n);
			return -1;
		}
	}
	g->n = n;
	g->m = m;
	g->op_off = xmallocarray((size_t)n + 1, sizeof *g->op_off);
	g->us_off = xmallocarray((size_t)n + 1, sizeof *g->us_off);
	g->op_node = xmallocarray((size_t)m, sizeof *g->op_node);
	g->us_node = xmallocarray((size_t)m, sizeof *g->us_node);
	g->op_edge = xmallocarray((size_t)m, sizeof *g->op_edge);
	g->us_edge = xmallocarray((size_t)m, sizeof *g->us_edge);
	csr_fill(n, ei, m, 0, g->op_off, g->op_node, g->op_edge);
	csr_fill(n, ei, m, 1, g->us_off, g->us_node, g->us_edge);
	return 0;
}

void graph_free(graph_t *g)
{
	free(g->op_off); free(g->op_node); free(g->op_edge);
	free(g->us_off); free(g->us_node); free(g->us_edge);
	memset(g, 0, sizeof *g);
}

/* ---- BFS ---- */

int64_t graph_bfs(const graph_t *g, const int32_t *src, size_t nsrc, int dir,
		  int32_t maxhops, int32_t *dist)
{
	int32_t *queue = xmallocarray((size_t)g->n + 1, sizeof *queue);
	int64_t head = 0, tail = 0;
	size_t i;
	for (i = 0; i < (size_t)g->n; i++)
		dist[i] = -1;
	for (i = 0; i < nsrc; i++) {
		if (dist[src[i]] < 0) {
			dist[src[i]] = 0;
			queue[tail++] = src[i];
		}
	}
	while (head < tail) {
		int32_t x = queue[head++];
		int32_t d = dist[x];
		int pass;
		if (maxhops >= 0 && d >= maxhops)
			continue;
		for (pass = 0; pass < 2; pass++) {
			const int64_t *off;
			const int32_t *nb;
			int64_t p;
			if (pass == 0 && !(dir & GRAPH_IN))
				continue;
			if (pass == 1 && !(dir & GRAPH_OUT))
				continue;
			off = pass == 0 ? g->op_off : g->us_off;
			nb = pass == 0 ? g->op_node : g->us_node;
			for (p = off[x]; p < off[x + 1]; p++) {
				int32_t y = nb[p];
				if (dist[y] < 0) {
					dist[y] = d + 1;
					queue[tail++] = y;
				}
			}
		}
	}
	free(queue);
	return tail;
}

/* ---- Dijkstra ---- */

typedef struct { double d; int32_t x; } hitem_t;

static int hless(hitem_t a, hitem_t b)
{
	return a.d < b.d || (a.d == b.d && a.x < b.x);
}

static void hpush(hitem_t *h, size_t *len, hitem_t it)
{
	size_t i = (*len)++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!hless(it, h[p]))
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = it;
}

static hitem_t hpop(hitem_t *h, size_t *len)
{
	hitem_t top = h[0], last = h[--(*len)];
	size_t i = 0, n = *len;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && hless(h[c + 1], h[c]))
			c++;
		if (!hless(h[c], last))
			break;
		h[i] = h[c];
		i = c;
	}
	if (n)
		h[i] = last;
	return top;
}

/* The adjacency walked by a search along dir, and the one that leads back. */
static void dir_lists(const graph_t *g, int dir, int back,
		      const int64_t **off, const int32_t **nb, const int64_t **ed)
{
	int use_users = (dir == GRAPH_OUT) != (back != 0);
	*off = use_users ? g->us_off : g->op_off;
	*nb = use_users ? g->us_node : g->op_node;
	*ed = use_users ? g->us_edge : g->op_edge;
}

/* The deterministic parent rule shared by both implementations. */
static void pick_parents(const graph_t *g, int dir, const double *w,
			 const double *dist, const uint8_t *is_src,
			 int32_t *parent, int64_t *parent_edge)
{
	const int64_t *off;
	const int32_t *nb;
	const int64_t *ed;
	int32_t x;
	dir_lists(g, dir, 1, &off, &nb, &ed);
	for (x = 0; x < g->n; x++) {
		int32_t best = -1;
		int64_t best_e = -1, p;
		if (!is_src[x] && isfinite(dist[x])) {
			for (p = off[x]; p < off[x + 1]; p++) {
				int32_t y = nb[p];
				int64_t e = ed[p];
				if (dist[y] + w[e] != dist[x])
					continue;
				if (best < 0 || y < best || (y == best && e < best_e)) {
					best = y;
					best_e = e;
				}
			}
		}
		if (parent)
			parent[x] = best;
		if (parent_edge)
			parent_edge[x] = best_e;
	}
}

void graph_dijkstra(const graph_t *g, const int32_t *src, size_t nsrc, int dir,
		    const double *w, double *dist, int32_t *parent,
		    int64_t *parent_edge)
{
	const int64_t *off;
	const int32_t *nb;
	const int64_t *ed;
	uint8_t *is_src = xcalloc((size_t)g->n + 1, 1);
	uint8_t *done = xcalloc((size_t)g->n + 1, 1);
	hitem_t *heap = xmallocarray((size_t)g->m + nsrc + 1, sizeof *heap);
	size_t len = 0, i;
	int32_t x;

	dir_lists(g, dir, 0, &off, &nb, &ed);
	for (x = 0; x < g->n; x++)
		dist[x] = INFINITY;
	for (i = 0; i < nsrc; i++) {
		if (is_src[src[i]])
			continue;
		is_src[src[i]] = 1;
		dist[src[i]] = 0;
		hpush(heap, &len, (hitem_t){0, src[i]});
	}
	while (len) {
		hitem_t it = hpop(heap, &len);
		int64_t p;
		if (done[it.x] || it.d > dist[it.x])
			continue;
		done[it.x] = 1;
		for (p = off[it.x]; p < off[it.x + 1]; p++) {
			int32_t y = nb[p];
			double nd = it.d + w[ed[p]];
			if (nd < dist[y]) {
				dist[y] = nd;
				hpush(heap, &len, (hitem_t){nd, y});
			}
		}
	}
	if (parent || parent_edge)
		pick_parents(g, dir, w, dist, is_src, parent, parent_edge);
	free(heap);
	free(done);
	free(is_src);
}

void graph_dijkstra_naive(const graph_t *g, const int32_t *src, size_t nsrc,
			  int dir, const double *w, double *dist,
			  int32_t *parent, int64_t *parent_edge)
{
	const int64_t *off;
	const int32_t *nb;
	const int64_t *ed;
	uint8_t *is_src = xcalloc((size_t)g->n + 1, 1);
	size_t i;
	int32_t x, round;
	int changed = 1;

	dir_lists(g, dir, 0, &off, &nb, &ed);
	for (x = 0; x < g->n; x++)
		dist[x] = INFINITY;
	for (i = 0; i < nsrc; i++) {
		is_src[src[i]] = 1;
		dist[src[i]] = 0;
	}
	for (round = 0; changed && round <= g->n; round++) {
		changed = 0;
		for (x = 0; x < g->n; x++) {
			int64_t p;
			if (!isfinite(dist[x]))
				continue;
			for (p = off[x]; p < off[x + 1]; p++) {
				double nd = dist[x] + w[ed[p]];
				if (nd < dist[nb[p]]) {
					dist[nb[p]] = nd;
					changed = 1;
				}
			}
		}
	}
	if (parent || parent_edge)
		pick_parents(g, dir, w, dist, is_src, parent, parent_edge);
	free(is_src);
}

/* ---- subsets ---- */

int32_t graph_renumber(const uint8_t *keep, int32_t n, int32_t *newid)
{
	int32_t x, k = 0;
	for (x = 0; x < n; x++)
		newid[x] = keep[x] ? k++ : -1;
	return k;
}

int64_t graph_subset_edges(const int32_t *ei, int64_t m, const int32_t *newid,
			   int32_t *out, int64_t *rows)
{
	int64_t e, k = 0;
	for (e = 0; e < m; e++) {
		int32_t u = newid[ei[2 * e]], v = newid[ei[2 * e + 1]];
		if (u < 0 || v < 0)
			continue;
		if (out) {
			out[2 * k] = u;
			out[2 * k + 1] = v;
		}
		if (rows)
			rows[k] = e;
		k++;
	}
	return k;
}

void graph_remap_splits(int32_t *splits, size_t k, const int32_t *newid,
			int32_t n)
{
	/* next[x] = new index of the first kept node >= x, for x = 0..n */
	int32_t *next = xmallocarray((size_t)n + 1, sizeof *next);
	int32_t x, cnt = 0;
	size_t i;
	for (x = 0; x < n; x++)
		if (newid[x] >= 0)
			cnt++;
	next[n] = cnt;
	for (x = n - 1; x >= 0; x--)
		next[x] = newid[x] >= 0 ? newid[x] : next[x + 1];
	for (i = 0; i < k; i++) {
		int32_t s = splits[i];
		splits[i] = s < 0 ? 0 : s >= n ? cnt : next[s];
	}
	free(next);
}

tensor_t *tensor_take_rows(const tensor_t *t, const int64_t *rows, size_t nrows)
{
	int64_t shape[TENSOR_MAXDIM];
	size_t rowbytes, i;
	tensor_t *o;
	memcpy(shape, t->shape, sizeof shape);
	shape[0] = (int64_t)nrows;
	o = tensor_new(t->dtype, t->ndim, shape);
	rowbytes = t->shape[0] ? t->nbytes / (size_t)t->shape[0] : 0;
	for (i = 0; i < nrows; i++)
		memcpy((char *)o->data + i * rowbytes,
		       (const char *)t->data + (size_t)rows[i] * rowbytes, rowbytes);
	return o;
}

static int is_node_rowkey(const char *k)
{
	return strncmp(k, "node_", 5) == 0 && strcmp(k, "node_config_ids") != 0 &&
	       strcmp(k, "node_splits") != 0;
}

int graph_rec_subset(record_t *r, const uint8_t *keep, int32_t n, char *err, size_t errlen)
{
	tensor_t *ei = rec_tensor(r, "edge_index");
	tensor_t *t, *o, *orig, *cfg;
	int32_t *newid = xmallocarray((size_t)n + 1, sizeof *newid);
	int64_t *rows, *erows, m = ei->shape[0], em;
	int32_t k = graph_renumber(keep, n, newid), x;
	size_t i;

	/* checked before anything changes */
	if (rec_get_tensor(r, "orig_node_id", DT_I32, 1, 0, &orig, err, errlen) != 0 ||
	    rec_get_tensor(r, "node_config_ids", DT_I32, 1, 0, &cfg, err, errlen) != 0)
		goto fail;
	if (orig && orig->shape[0] != n) {
		rec_err(r, err, errlen, "orig_node_id has %lld entries for %d nodes",
			(long long)orig->shape[0], n);
		goto fail;
	}
	for (i = 0; cfg && i < cfg->numel; i++) {
		int32_t c = ((const int32_t *)cfg->data)[i];
		if (c < 0 || c >= n || newid[c] < 0) {
			rec_err(r, err, errlen, "node_config_ids[%zu] = %d dropped by the subset",
				i, c);
			goto fail;
		}
	}

	/* per-node rows */
	rows = xmallocarray((size_t)k + 1, sizeof *rows);
	for (x = 0; x < n; x++)
		if (newid[x] >= 0)
			rows[newid[x]] = x;
	for (i = 0; i < r->n; i++) {
		field_t *f = &r->f[i];
		if (f->kind != V_TENSOR || !is_node_rowkey(f->key))
			continue;
		t = f->v.t;
		if (t->ndim < 1 || t->shape[0] != n)
			continue;
		f->v.t = tensor_take_rows(t, rows, (size_t)k);
		tensor_free(t);
	}
	/* orig_node_id: new, or composed with the input's */
	t = rec_tensor(r, "orig_node_id");
	o = tensor_new1(DT_I32, k);
	for (x = 0; x < k; x++)
		((int32_t *)o->data)[x] = t ? ((const int32_t *)t->data)[rows[x]]
					    : (int32_t)rows[x];
	rec_set_tensor(r, "orig_node_id", o);

	/* node_config_ids, node_splits */
	t = rec_tensor(r, "node_config_ids");
	if (t) {
		int32_t *c = t->data;
		for (i = 0; i < t->numel; i++)
			c[i] = newid[c[i]];
	}
	t = rec_opt_tensor(r, "node_splits", DT_I32, 1);
	if (t)
		graph_remap_splits(t->data, t->numel, newid, n);

	/* edges */
	erows = xmallocarray((size_t)m + 1, sizeof *erows);
	em = graph_subset_edges(ei->data, m, newid, NULL, erows);
	o = tensor_new2(DT_I32, em, 2);
	graph_subset_edges(ei->data, m, newid, o->data, NULL);
	for (i = 0; i < r->n; i++) {
		field_t *f = &r->f[i];
		if (f->kind != V_TENSOR || strncmp(f->key, "edge_", 5) != 0 ||
		    strcmp(f->key, "edge_index") == 0)
			continue;
		t = f->v.t;
		if (t->ndim < 1 || t->shape[0] != m)
			continue;
		f->v.t = tensor_take_rows(t, erows, (size_t)em);
		tensor_free(t);
	}
	rec_set_tensor(r, "edge_index", o);
	rec_set_int(r, "n_nodes", k);
	rec_set_int(r, "n_edges", em);
	free(erows);
	free(rows);
	free(newid);
	return 0;
fail:
	free(newid);
	return -1;
}

int graph_rec_parse(record_t *r, graph_rec_t *out, char *err, size_t errlen)
{
	tensor_t *nf = rec_tensor(r, "node_feat");
	tensor_t *op = rec_tensor(r, "node_opcode");
	tensor_t *ei, *ci;
	int64_t n = -1, v;
	size_t i;

	memset(out, 0, sizeof *out);
	if (nf) {
		if (nf->ndim != 2)
			return rec_err(r, err, errlen, "node_feat: want 2 dimensions, got %d",
				       nf->ndim);
		n = nf->shape[0];
	} else if (op) {
		n = op->shape[0];
	} else if (!rec_int(r, "n_nodes", &n)) {
		return rec_err(r, err, errlen, "graph without node_feat, node_opcode or n_nodes");
	}
	if (rec_int(r, "n_nodes", &v) && v != n)
		return rec_err(r, err, errlen, "n_nodes is %lld but node_feat has %lld rows",
			       (long long)v, (long long)n);
	if (op && (op->ndim != 1 || op->shape[0] != n))
		return rec_err(r, err, errlen, "node_opcode: want (%lld,), got %zu values",
			       (long long)n, op->numel);
	if (n <= 0)
		return rec_err(r, err, errlen, "empty graph (no nodes)");
	if (n > INT32_MAX - 1)
		return rec_err(r, err, errlen, "too many nodes (%lld)", (long long)n);
	if (rec_get_tensor(r, "edge_index", DT_I32, 2, 0, &ei, err, errlen) != 0)
		return -1;
	if (!ei) {
		int64_t shape[2] = {0, 2};
		rec_set_tensor(r, "edge_index", tensor_new(DT_I32, 2, shape));
		ei = rec_tensor(r, "edge_index");
	}
	if (ei->shape[1] != 2)
		return rec_err(r, err, errlen, "edge_index: want (m, 2), got (%lld, %lld)",
			       (long long)ei->shape[0], (long long)ei->shape[1]);
	if (rec_int(r, "n_edges", &v) && v != ei->shape[0])
		return rec_err(r, err, errlen, "n_edges is %lld but edge_index has %lld rows",
			       (long long)v, (long long)ei->shape[0]);
	for (i = 0; i < ei->numel; i++) {
		int32_t x = ((const int32_t *)ei->data)[i];
		if (x < 0 || x >= n)
			return rec_err(r, err, errlen,
				       "edge_index row %zu: node id %d out of range (%lld nodes)",
				       i / 2, x, (long long)n);
	}
	if (rec_get_tensor(r, "node_config_ids", DT_I32, 1, 0, &ci, err, errlen) != 0)
		return -1;
	if (ci) {
		uint8_t *seen = xcalloc((size_t)n, 1);
		int bad = 0;
		for (i = 0; i < ci->numel && !bad; i++) {
			int32_t x = ((const int32_t *)ci->data)[i];
			if (x < 0 || x >= n)
				bad = rec_err(r, err, errlen,
					      "node_config_ids[%zu] = %d out of range (%lld nodes)",
					      i, x, (long long)n);
			else if (seen[x])
				bad = rec_err(r, err, errlen, "node_config_ids[%zu] = %d appears twice",
					      i, x);
			else
				seen[x] = 1;
		}
		free(seen);
		if (bad)
			return -1;
		out->nc = (int64_t)ci->numel;
	}
	out->n = (int32_t)n;
	out->m = ei->shape[0];
	out->edge_index = ei;
	out->node_config_ids = ci;
	return 0;
}

void graph_rec_check(record_t *r, graph_rec_t *out)
{
	char err[1024];
	if (graph_rec_parse(r, out, err, sizeof err) != 0)
		die(EX_DATA, "%s", err);
}
