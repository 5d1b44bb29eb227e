/* truth: a graph/configs stream's runtimes, held whole (see truth.h).  The
 * checks are rank-eval's (filters/rank-eval.c reads the same stream one
 * graph at a time). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "stream.h"
#include "truth.h"

char *truth_collection_of(const record_t *r, const char *id, char *err, size_t errlen)
{
	const char *c = rec_str(r, "collection"), *p = id;
	int want, k = 0;
	if (c)
		return xstrdup(c);
	want = strncmp(id, "tile:", 5) == 0 ? 2 : strncmp(id, "layout:", 7) == 0 ? 3 : 0;
	if (!want) {
		rec_err(r, err, errlen, "no collection, and the id does not start with tile: or "
			"layout:");
		return NULL;
	}
	for (; *p; p++)
		if (*p == ':' && ++k == want) {
			char *s = xmalloc((size_t)(p - id) + 1);
			memcpy(s, id, (size_t)(p - id));
			s[p - id] = '\0';
			return s;
		}
	rec_err(r, err, errlen, "no collection, and the id has no NAME after the collection");
	return NULL;
}

int truth_finish_graph(const char *name, const char *id, int64_t expect, int64_t *idx,
		       double *y, size_t n, char *err, size_t errlen)
{
	if (expect >= 0 && (size_t)expect != n) {
		snprintf(err, errlen, "%s: graph %s: n_configs is %lld but %zu configs followed",
			 name, id, (long long)expect, n);
		return -1;
	}
	if (n == 0) {
		snprintf(err, errlen, "%s: graph %s: no configs to score", name, id);
		return -1;
	}
	size_t *perm = xmallocarray(n, sizeof *perm);
	double *k = xmallocarray(n, sizeof *k), *ys = xmallocarray(n, sizeof *ys);
	int64_t *zero = xcalloc(n, sizeof *zero), *ks = xmallocarray(n, sizeof *ks);
	int rc = 0;
	for (size_t i = 0; i < n; i++)
		k[i] = (double)idx[i];
	metrics_order(k, zero, n, perm);
	for (size_t i = 0; i < n && !rc; i++) {
		ks[i] = idx[perm[i]];
		ys[i] = y[perm[i]];
		if (i > 0 && ks[i] == ks[i - 1]) {
			snprintf(err, errlen, "%s: graph %s: config_index %lld appears twice in the "
				 "truth", name, id, (long long)ks[i]);
			rc = -1;
		}
	}
	if (!rc) {
		memcpy(idx, ks, n * sizeof *ks);
		memcpy(y, ys, n * sizeof *ys);
	}
	free(perm);
	free(k);
	free(ys);
	free(zero);
	free(ks);
	return rc;
}

int truth_add_chunk(record_t *r, int tile, int64_t **idx, double **y, size_t *n, size_t *cap,
		    char *err, size_t errlen)
{
	tensor_t *ti, *tr, *tn = NULL;
	const int64_t *ci, *rt, *nm = NULL;
	size_t c;

	if (rec_get(r, "dup_offsets") || rec_get(r, "dup_index"))
		return rec_err(r, err, errlen, "the configs were deduplicated (dup_offsets): a "
			       "kept row's runtime is not its duplicates' runtime; scoring needs "
			       "the raw truth stream from npz2mp");
	if (rec_get_tensor(r, "config_index", DT_I64, 1, 1, &ti, err, errlen) != 0 ||
	    rec_get_tensor(r, "config_runtime", DT_I64, 1, 0, &tr, err, errlen) != 0)
		return -1;
	if (!tr)
		return rec_err(r, err, errlen, "no config_runtime: this split has no truth to "
			       "score against");
	if (tile) {
		if (rec_get_tensor(r, "config_runtime_normalizers", DT_I64, 1, 0, &tn, err,
				   errlen) != 0)
			return -1;
		if (!tn)
			return rec_err(r, err, errlen, "no config_runtime_normalizers (a tile "
				       "graph's target is runtime / normalizer)");
	}
	c = ti->numel;
	if (tr->numel != c || (tn && tn->numel != c))
		return rec_err(r, err, errlen, "config_index, config_runtime%s differ in length",
			       tn ? ", config_runtime_normalizers" : "");
	ci = ti->data;
	rt = tr->data;
	if (tn)
		nm = tn->data;
	for (size_t i = 0; i < c; i++) {
		if (ci[i] < 0)
			return rec_err(r, err, errlen, "negative config_index %lld",
				       (long long)ci[i]);
		if (rt[i] <= 0)
			return rec_err(r, err, errlen, "config %lld: config_runtime %lld is not "
				       "positive", (long long)ci[i], (long long)rt[i]);
		if (nm && nm[i] <= 0)
			return rec_err(r, err, errlen, "config %lld: config_runtime_normalizers "
				       "%lld is not positive", (long long)ci[i], (long long)nm[i]);
	}
	if (*n + c > *cap) {
		*cap = *n + c > 2 * *cap ? *n + c : 2 * *cap;
		*idx = xreallocarray(*idx, *cap, sizeof **idx);
		*y = xreallocarray(*y, *cap, sizeof **y);
	}
	for (size_t i = 0; i < c; i++) {
		(*idx)[*n + i] = ci[i];
		(*y)[*n + i] = nm ? (double)rt[i] / (double)nm[i] : (double)rt[i];
	}
	*n += c;
	return 0;
}

static int add_configs(truth_graph_t *g, record_t *r, size_t *cap, char *err, size_t errlen)
{
	const char *id = rec_str(r, "id");
	if (!id)
		return rec_err(r, err, errlen, "missing string 'id'");
	if (!g || strcmp(id, g->id) != 0)
		return rec_err(r, err, errlen, "configs chunk outside its graph (the graph being "
			       "read is %s)", g ? g->id : "none");
	return truth_add_chunk(r, g->tile, &g->idx, &g->y, &g->n, cap, err, errlen);
}

/* A graph record: a new graph of t, its configs to follow. */
static int add_graph(truth_t *t, record_t *r, size_t *gcap, char *err, size_t errlen)
{
	const char *id = rec_str(r, "id");
	if (!id)
		return rec_err(r, err, errlen, "missing string 'id'");
	if (rec_flag(r, "runtimes_hidden"))
		return rec_err(r, err, errlen, "its runtimes are hidden (a test split): nothing "
			       "to fit on");
	if (idmap_get(t->ids, id))
		return rec_err(r, err, errlen, "duplicate graph id in the truth");
	char *coll = truth_collection_of(r, id, err, errlen);
	if (!coll)
		return -1;
	if (strncmp(coll, "tile:", 5) != 0 && strncmp(coll, "layout:", 7) != 0) {
		rec_err(r, err, errlen, "collection '%s' is neither tile:... nor layout:...", coll);
		free(coll);
		return -1;
	}
	if (t->n == *gcap) {
		*gcap = *gcap ? 2 * *gcap : 16;
		t->g = xreallocarray(t->g, *gcap, sizeof *t->g);
	}
	truth_graph_t *g = &t->g[t->n];
	memset(g, 0, sizeof *g);
	g->id = xstrdup(id);
	g->coll = coll;
	g->tile = strncmp(coll, "tile:", 5) == 0;
	t->n++;
	idmap_put(t->ids, id, (void *)(uintptr_t)t->n);
	return 0;
}

int truth_load(const char *path, truth_t **out, char *err, size_t errlen)
{
	*out = NULL;
	sreader_t *sr = sr_try_open(path, err, errlen);
	if (!sr)
		return EX_IO;
	truth_t *t = xcalloc(1, sizeof *t);
	size_t gcap = 0, cap = 0;
	int64_t expect = -1;
	record_t *r;
	int got, rc = 0;

	t->name = xstrdup(sr_name(sr));
	t->ids = idmap_new();
	while (!rc && (got = sr_read(sr, &r, err, errlen)) == SR_OK) {
		truth_graph_t *cur = t->n ? &t->g[t->n - 1] : NULL;
		if (rec_is(r, "graph")) {
			if (cur && truth_finish_graph(t->name, cur->id, expect, cur->idx, cur->y,
						      cur->n, err, errlen) != 0)
				rc = EX_DATA;
			else if (add_graph(t, r, &gcap, err, errlen) != 0)
				rc = EX_DATA;
			if (!rec_int(r, "n_configs", &expect))
				expect = -1;
			cap = 0;
		} else if (rec_is(r, "configs")) {
			if (add_configs(cur, r, &cap, err, errlen) != 0)
				rc = EX_DATA;
		}
		rec_free(r);
	}
	if (!rc && got != SR_DONE)
		rc = got == SR_EIO ? EX_IO : EX_DATA;
	if (!rc && t->n && truth_finish_graph(t->name, t->g[t->n - 1].id, expect,
					      t->g[t->n - 1].idx, t->g[t->n - 1].y,
					      t->g[t->n - 1].n, err, errlen) != 0)
		rc = EX_DATA;
	if (!rc && t->n == 0) {
		snprintf(err, errlen, "%s: no graphs in the truth", t->name);
		rc = EX_DATA;
	}
	sr_close(sr);
	if (rc) {
		truth_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

truth_t *truth_read(const char *path)
{
	char err[1024];
	truth_t *t;
	int rc = truth_load(path, &t, err, sizeof err);
	if (rc)
		die(rc, "%s", err);
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
