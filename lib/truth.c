/* truth: a graph/configs stream's runtimes, held whole (see truth.h).  The
 * checks are rank-eval's (filters/rank-eval.c reads the same stream one
 * graph at a time). */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "stream.h"
#include "truth.h"

char *truth_collection_of(const record_t *r, const char *id)
{
	const char *c = rec_str(r, "collection"), *p = id;
	int want, k = 0;
	if (c)
		return xstrdup(c);
	want = strncmp(id, "tile:", 5) == 0 ? 2 : strncmp(id, "layout:", 7) == 0 ? 3 : 0;
	if (!want)
		rec_die(r, "no collection, and the id does not start with tile: or layout:");
	for (; *p; p++)
		if (*p == ':' && ++k == want) {
			char *s = xmalloc((size_t)(p - id) + 1);
			memcpy(s, id, (size_t)(p - id));
			s[p - id] = '\0';
			return s;
		}
	rec_die(r, "no collection, and the id has no NAME after the collection");
}

void truth_finish_graph(const char *name, const char *id, int64_t expect, int64_t *idx,
			double *y, size_t n)
{
	if (expect >= 0 && (size_t)expect != n)
		die(EX_DATA, "%s: graph %s: n_configs is %lld but %zu configs followed",
		    name, id, (long long)expect, n);
	if (n == 0)
		die(EX_DATA, "%s: graph %s: no configs to score", name, id);
	size_t *perm = xmallocarray(n, sizeof *perm);
	double *k = xmallocarray(n, sizeof *k), *ys = xmallocarray(n, sizeof *ys);
	int64_t *zero = xcalloc(n, sizeof *zero), *ks = xmallocarray(n, sizeof *ks);
	for (size_t i = 0; i < n; i++)
		k[i] = (double)idx[i];
	metrics_order(k, zero, n, perm);
	for (size_t i = 0; i < n; i++) {
		ks[i] = idx[perm[i]];
		ys[i] = y[perm[i]];
		if (i > 0 && ks[i] == ks[i - 1])
			die(EX_DATA, "%s: graph %s: config_index %lld appears twice in the truth",
			    name, id, (long long)ks[i]);
	}
	memcpy(idx, ks, n * sizeof *ks);
	memcpy(y, ys, n * sizeof *ys);
	free(perm);
	free(k);
	free(ys);
	free(zero);
	free(ks);
}

void truth_add_chunk(record_t *r, int tile, int64_t **idx, double **y, size_t *n, size_t *cap)
{
	tensor_t *ti, *tr, *tn = NULL;
	const int64_t *ci, *rt, *nm = NULL;
	size_t c;

	if (rec_get(r, "dup_offsets") || rec_get(r, "dup_index"))
		rec_die(r, "the configs were deduplicated (dup_offsets): a kept row's runtime "
			"is not its duplicates' runtime; scoring needs the raw truth stream "
			"from npz2mp");
	ti = rec_need_tensor(r, "config_index", DT_I64, 1);
	tr = rec_opt_tensor(r, "config_runtime", DT_I64, 1);
	if (!tr)
		rec_die(r, "no config_runtime: this split has no truth to score against");
	if (tile) {
		tn = rec_opt_tensor(r, "config_runtime_normalizers", DT_I64, 1);
		if (!tn)
			rec_die(r, "no config_runtime_normalizers (a tile graph's target is "
				"runtime / normalizer)");
	}
	c = ti->numel;
	if (tr->numel != c || (tn && tn->numel != c))
		rec_die(r, "config_index, config_runtime%s differ in length",
			tn ? ", config_runtime_normalizers" : "");
	ci = ti->data;
	rt = tr->data;
	if (tn)
		nm = tn->data;
	if (*n + c > *cap) {
		*cap = *n + c > 2 * *cap ? *n + c : 2 * *cap;
		*idx = xreallocarray(*idx, *cap, sizeof **idx);
		*y = xreallocarray(*y, *cap, sizeof **y);
	}
	for (size_t i = 0; i < c; i++) {
		if (ci[i] < 0)
			rec_die(r, "negative config_index %lld", (long long)ci[i]);
		if (rt[i] <= 0)
			rec_die(r, "config %lld: config_runtime %lld is not positive",
				(long long)ci[i], (long long)rt[i]);
		if (nm && nm[i] <= 0)
			rec_die(r, "config %lld: config_runtime_normalizers %lld is not positive",
				(long long)ci[i], (long long)nm[i]);
		(*idx)[*n + i] = ci[i];
		(*y)[*n + i] = nm ? (double)rt[i] / (double)nm[i] : (double)rt[i];
	}
	*n += c;
}

static void add_configs(truth_graph_t *g, record_t *r, size_t *cap)
{
	const char *id = rec_need_str(r, "id");
	if (!g || strcmp(id, g->id) != 0)
		rec_die(r, "configs chunk outside its graph (the graph being read is %s)",
			g ? g->id : "none");
	truth_add_chunk(r, g->tile, &g->idx, &g->y, &g->n, cap);
}

truth_t *truth_read(const char *path)
{
	truth_t *t = xcalloc(1, sizeof *t);
	sreader_t *sr = sr_open(path);
	size_t gcap = 0, cap = 0;
	int64_t expect = -1;
	truth_graph_t *cur = NULL;
	record_t *r;

	t->name = xstrdup(sr_name(sr));
	t->ids = idmap_new();
	rec_free(sr_next(sr));  /* the header: checked by the reader */
	while ((r = sr_next(sr)) != NULL) {
		if (rec_is(r, "graph")) {
			const char *id = rec_need_str(r, "id");
			if (cur)
				truth_finish_graph(t->name, cur->id, expect, cur->idx, cur->y, cur->n);
			if (rec_flag(r, "runtimes_hidden"))
				rec_die(r, "its runtimes are hidden (a test split): nothing to fit on");
			if (idmap_get(t->ids, id))
				rec_die(r, "duplicate graph id in the truth");
			if (t->n == gcap) {
				gcap = gcap ? 2 * gcap : 16;
				t->g = xreallocarray(t->g, gcap, sizeof *t->g);
			}
			cur = &t->g[t->n];
			memset(cur, 0, sizeof *cur);
			cur->id = xstrdup(id);
			cur->coll = truth_collection_of(r, id);
			if (strncmp(cur->coll, "tile:", 5) != 0 && strncmp(cur->coll, "layout:", 7) != 0)
				rec_die(r, "collection '%s' is neither tile:... nor layout:...", cur->coll);
			cur->tile = strncmp(cur->coll, "tile:", 5) == 0;
			if (!rec_int(r, "n_configs", &expect))
				expect = -1;
			cap = 0;
			t->n++;
			idmap_put(t->ids, id, (void *)(uintptr_t)t->n);
		} else if (rec_is(r, "configs")) {
			add_configs(cur, r, &cap);
		}
		rec_free(r);
	}
	if (cur)
		truth_finish_graph(t->name, cur->id, expect, cur->idx, cur->y, cur->n);
	if (t->n == 0)
		die(EX_DATA, "%s: no graphs in the truth", t->name);
	sr_close(sr);
	return t;
}

const truth_graph_t *truth_get(const truth_t *t, const char *id)
{
	size_t i = (size_t)(uintptr_t)idmap_get(t->ids, id);
	return i ? &t->g[i - 1] : NULL;
}

void truth_free(truth_t *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->g[i].id);
		free(t->g[i].coll);
		free(t->g[i].idx);
		free(t->g[i].y);
	}
	free(t->g);
	idmap_free(t->ids);
	free(t->name);
	free(t);
}
