/* metrics: see metrics.h */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "strset.h"

const char *const metrics_names[M__N] = {
	"kendall", "spearman", "opa", "top1", "top5", "top10", "score"
};

/* ---- sorting: (a, b) pairs with a payload, lexicographic, stable ---- */

typedef struct {
	double a, b;
	size_t i;
} item_t;

static int item_lt(const item_t *p, const item_t *q)
{
	return p->a < q->a || (p->a == q->a && p->b < q->b);
}

/* Bottom-up merge sort of v[0..n) using tmp[0..n). */
static void item_sort(item_t *v, item_t *tmp, size_t n)
{
	item_t *src = v, *dst = tmp;
	size_t w;
	/* runs of 8 by insertion sort first */
	for (size_t s = 0; s < n; s += 8) {
		size_t e = s + 8 < n ? s + 8 : n;
		for (size_t i = s + 1; i < e; i++) {
			item_t x = v[i];
			size_t j = i;
			while (j > s && item_lt(&x, &v[j - 1])) {
				v[j] = v[j - 1];
				j--;
			}
			v[j] = x;
		}
	}
	for (w = 8; w < n; w *= 2) {
		for (size_t s = 0; s < n; s += 2 * w) {
			size_t m = s + w < n ? s + w : n;
			size_t e = s + 2 * w < n ? s + 2 * w : n;
			size_t i = s, j = m, k = s;
			while (i < m && j < e)
				dst[k++] = item_lt(&src[j], &src[i]) ? src[j++] : src[i++];
			while (i < m)
				dst[k++] = src[i++];
			while (j < e)
				dst[k++] = src[j++];
		}
		item_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof *v);
}

/* Merge sort of y[0..n) counting inversions (i < j, y_i > y_j). */
static uint64_t sort_count_swaps(double *y, double *tmp, size_t n)
{
	double *src = y, *dst = tmp;
	uint64_t swaps = 0;
	for (size_t s = 0; s < n; s += 8) {
		size_t e = s + 8 < n ? s + 8 : n;
		for (size_t i = s + 1; i < e; i++) {
			double x = y[i];
			size_t j = i;
			while (j > s && x < y[j - 1]) {
				y[j] = y[j - 1];
				j--;
			}
			swaps += i - j;
			y[j] = x;
		}
	}
	for (size_t w = 8; w < n; w *= 2) {
		for (size_t s = 0; s < n; s += 2 * w) {
			size_t m = s + w < n ? s + w : n;
			size_t e = s + 2 * w < n ? s + 2 * w : n;
			size_t i = s, j = m, k = s;
			while (i < m && j < e) {
				if (src[j] < src[i]) {
					swaps += m - i;
					dst[k++] = src[j++];
				} else {
					dst[k++] = src[i++];
				}
			}
			while (i < m)
				dst[k++] = src[i++];
			while (j < e)
				dst[k++] = src[j++];
		}
		double *t = src;
		src = dst;
		dst = t;
	}
	if (src != y)
		memcpy(y, src, n * sizeof *y);
	return swaps;
}

static uint64_t pairs_of(uint64_t run)
{
	return run * (run - 1) / 2;
}

/* ---- pair counts ---- */

void metrics_pair_counts(const double *x, const double *y, size_t n, metrics_pairs_t *c)
{
	item_t *v, *tmp;
	double *ys, *ytmp;
	size_t i, run, jrun;

	memset(c, 0, sizeof *c);
	c->n = n;
	if (n < 2)
		return;
	c->pairs = pairs_of(n);
	v = xmallocarray(n, sizeof *v);
	tmp = xmallocarray(n, sizeof *tmp);
	for (i = 0; i < n; i++) {
		v[i].a = x[i];
		v[i].b = y[i];
		v[i].i = i;
	}
	item_sort(v, tmp, n);
	free(tmp);

	/* ties in x and joint ties, on runs of the (x, y) order */
	run = jrun = 1;
	for (i = 1; i <= n; i++) {
		if (i < n && v[i].a == v[i - 1].a) {
			run++;
			if (v[i].b == v[i - 1].b) {
				jrun++;
			} else {
				c->jties += pairs_of(jrun);
				jrun = 1;
			}
		} else {
			c->xties += pairs_of(run);
			c->jties += pairs_of(jrun);
			run = jrun = 1;
		}
	}

	/* discordant pairs: the swaps that sort y (pairs tied in x are already in
	 * y order, and ties in y never count) */
	ys = xmallocarray(n, sizeof *ys);
	ytmp = xmallocarray(n, sizeof *ytmp);
	for (i = 0; i < n; i++)
		ys[i] = v[i].b;
	free(v);
	c->discordant = sort_count_swaps(ys, ytmp, n);
	free(ytmp);

	run = 1;
	for (i = 1; i <= n; i++) {
		if (i < n && ys[i] == ys[i - 1]) {
			run++;
		} else {
			c->yties += pairs_of(run);
			run = 1;
		}
	}
	free(ys);
}

void metrics_pair_counts_naive(const double *x, const double *y, size_t n,
			       metrics_pairs_t *c)
{
	memset(c, 0, sizeof *c);
	c->n = n;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			int tx = x[i] == x[j], ty = y[i] == y[j];
			c->pairs++;
			c->xties += (uint64_t)tx;
			c->yties += (uint64_t)ty;
			c->jties += (uint64_t)(tx && ty);
			if (!tx && !ty && ((x[i] < x[j]) != (y[i] < y[j])))
				c->discordant++;
		}
}

uint64_t metrics_concordant(const metrics_pairs_t *c)
{
	return c->pairs - c->xties - c->yties + c->jties - c->discordant;
}

double metrics_kendall_from(const metrics_pairs_t *c)
{
	double num, tau;
	if (c->n < 2 || c->xties == c->pairs || c->yties == c->pairs)
		return NAN;
	/* as scipy: (con - dis) / sqrt(tot - xtie) / sqrt(tot - ytie) */
	num = (double)((int64_t)(c->pairs - c->xties - c->yties + c->jties) -
		       2 * (int64_t)c->discordant);
	tau = num / sqrt((double)(c->pairs - c->xties)) / sqrt((double)(c->pairs - c->yties));
	return tau > 1 ? 1 : tau < -1 ? -1 : tau;
}

double metrics_opa_from(const metrics_pairs_t *c)
{
	if (c->n < 2 || c->yties == c->pairs)
		return NAN;
	return ((double)metrics_concordant(c) + 0.5 * (double)(c->xties - c->jties)) /
	       (double)(c->pairs - c->yties);
}

double metrics_kendall(const double *x, const double *y, size_t n)
{
	metrics_pairs_t c;
	metrics_pair_counts(x, y, n, &c);
	return metrics_kendall_from(&c);
}

double metrics_opa(const double *x, const double *y, size_t n)
{
	metrics_pairs_t c;
	metrics_pair_counts(x, y, n, &c);
	return metrics_opa_from(&c);
}

/* ---- ranks, Spearman ---- */

void metrics_avg_ranks(const double *v, size_t n, double *rank)
{
	item_t *it = xmallocarray(n ? n : 1, sizeof *it);
	item_t *tmp = xmallocarray(n ? n : 1, sizeof *tmp);
	size_t i, s;
	for (i = 0; i < n; i++) {
		it[i].a = v[i];
		it[i].b = 0;
		it[i].i = i;
	}
	item_sort(it, tmp, n);
	for (s = 0; s < n; s = i) {
		double r;
		for (i = s + 1; i < n && it[i].a == it[s].a; i++)
			;
		/* positions s..i-1 hold ranks s+1..i: their mean */
		r = ((double)(s + 1) + (double)i) / 2;
		for (size_t k = s; k < i; k++)
			rank[it[k].i] = r;
	}
	free(it);
	free(tmp);
}

double metrics_pearson(const double *x, const double *y, size_t n)
{
	double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0, r;
	if (n < 2)
		return NAN;
	for (size_t i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= (double)n;
	my /= (double)n;
	for (size_t i = 0; i < n; i++) {
		double dx = x[i] - mx, dy = y[i] - my;
		sxx += dx * dx;
		syy += dy * dy;
		sxy += dx * dy;
	}
	if (sxx == 0 || syy == 0)
		return NAN;
	r = sxy / sqrt(sxx) / sqrt(syy);
	return r > 1 ? 1 : r < -1 ? -1 : r;
}

double metrics_spearman(const double *x, const double *y, size_t n)
{
	double *rx, *ry, r;
	if (n < 2)
		return NAN;
	rx = xmallocarray(n, sizeof *rx);
	ry = xmallocarray(n, sizeof *ry);
	metrics_avg_ranks(x, n, rx);
	metrics_avg_ranks(y, n, ry);
	r = metrics_pearson(rx, ry, n);
	free(rx);
	free(ry);
	return r;
}

static void naive_ranks(const double *v, size_t n, double *rank)
{
	for (size_t i = 0; i < n; i++) {
		size_t less = 0, eq = 0;
		for (size_t j = 0; j < n; j++) {
			less += v[j] < v[i];
			eq += v[j] == v[i];
		}
		rank[i] = (double)less + ((double)eq + 1) / 2;
	}
}

double metrics_spearman_naive(const double *x, const double *y, size_t n)
{
	double *rx, *ry, r;
	if (n < 2)
		return NAN;
	rx = xmallocarray(n, sizeof *rx);
	ry = xmallocarray(n, sizeof *ry);
	naive_ranks(x, n, rx);
	naive_ranks(y, n, ry);
	r = metrics_pearson(rx, ry, n);
	free(rx);
	free(ry);
	return r;
}

/* ---- order, top-K ---- */

void metrics_order(const double *score, const int64_t *key, size_t n, size_t *order)
{
	item_t *it = xmallocarray(n ? n : 1, sizeof *it);
	item_t *tmp = xmallocarray(n ? n : 1, sizeof *tmp);
	for (size_t i = 0; i < n; i++) {
		it[i].a = score[i];
		it[i].b = (double)key[i];
		it[i].i = i;
	}
	item_sort(it, tmp, n);
	for (size_t i = 0; i < n; i++)
		order[i] = it[i].i;
	free(it);
	free(tmp);
}

double metrics_topk_ratio(const size_t *order, const double *y, size_t n, size_t k)
{
	double best = INFINITY, top = INFINITY;
	if (n == 0)
		return NAN;
	if (k > n)
		k = n;
	for (size_t i = 0; i < n; i++)
		if (y[i] < best)
			best = y[i];
	for (size_t i = 0; i < k; i++)
		if (y[order[i]] < top)
			top = y[order[i]];
	if (!(best > 0))
		return NAN;
	return top / best;
}

/* ---- normalisation ---- */

void metrics_normalise(const double *s, size_t n, int how, double *out)
{
	double a = 0, b = 0;
	size_t i;
	if (n == 0)
		return;
	switch (how) {
	case NORM_RANK:
		metrics_avg_ranks(s, n, out);
		for (i = 0; i < n; i++)
			out[i] = n > 1 ? (out[i] - 1) / (double)(n - 1) : 0;
		return;
	case NORM_ZSCORE:
		for (i = 0; i < n; i++)
			a += s[i];
		a /= (double)n;
		for (i = 0; i < n; i++)
			b += (s[i] - a) * (s[i] - a);
		b = sqrt(b / (double)n);
		for (i = 0; i < n; i++)
			out[i] = b > 0 ? (s[i] - a) / b : 0;
		return;
	default:
		a = b = s[0];
		for (i = 1; i < n; i++) {
			if (s[i] < a)
				a = s[i];
			if (s[i] > b)
				b = s[i];
		}
		for (i = 0; i < n; i++)
			out[i] = b > a ? (s[i] - a) / (b - a) : 0;
		return;
	}
}

/* ---- one graph ---- */

static const size_t topk_of[3] = {1, 5, 10};

void metrics_score_graph(const double *y, const int64_t *key, const double *pred,
			 size_t n, int tile, size_t ranked, metrics_graph_t *g)
{
	item_t *it, *tmp;
	double *s, *pos;
	size_t *order, npres = 0, i, rank;

	memset(g, 0, sizeof *g);
	for (i = 0; i < M__N; i++)
		g->v[i] = NAN;
	g->n = n;
	g->tile = tile;
	if (n == 0)
		return;
	if (ranked > n)
		ranked = n;

	/* s = dense ranks of the predictions; configs without one come after,
	 * slowest first (ties by config index): the pessimistic fill */
	it = xmallocarray(n, sizeof *it);
	tmp = xmallocarray(n, sizeof *tmp);
	s = xmallocarray(n, sizeof *s);
	for (i = 0; i < n; i++)
		if (!isnan(pred[i])) {
			it[npres].a = pred[i];
			it[npres].b = 0;
			it[npres].i = i;
			npres++;
		}
	item_sort(it, tmp, npres);
	rank = 0;
	for (i = 0; i < npres; i++) {
		if (i > 0 && it[i].a != it[i - 1].a)
			rank++;
		s[it[i].i] = (double)rank;
	}
	if (npres > 0)
		rank++;
	{
		size_t nm = 0;
		for (i = 0; i < n; i++)
			if (isnan(pred[i])) {
				it[nm].a = -y[i];
				it[nm].b = (double)key[i];
				it[nm].i = i;
				nm++;
			}
		item_sort(it, tmp, nm);
		for (i = 0; i < nm; i++)
			s[it[i].i] = (double)(rank + i);
		if (ranked == n)
			g->missing = nm;
	}
	free(it);
	free(tmp);

	if (ranked == n) {
		metrics_pairs_t c;
		metrics_pair_counts(s, y, n, &c);
		g->v[M_KENDALL] = metrics_kendall_from(&c);
		g->v[M_OPA] = metrics_opa_from(&c);
		g->v[M_SPEARMAN] = metrics_spearman(s, y, n);
		g->avail |= 1u << M_KENDALL | 1u << M_OPA | 1u << M_SPEARMAN;
	}

	order = xmallocarray(n, sizeof *order);
	metrics_order(s, key, n, order);
	for (i = 0; i < 3; i++) {
		size_t k = topk_of[i];
		if (ranked >= (k < n ? k : n)) {
			g->v[M_TOP1 + i] = metrics_topk_ratio(order, y, n, k) - 1;
			g->avail |= 1u << (M_TOP1 + i);
		}
	}
	if (tile) {
		if (g->avail & 1u << M_TOP5) {
			g->v[M_SCORE] = 1 - g->v[M_TOP5]; /* 2 - ratio_5 */
			g->avail |= 1u << M_SCORE;
		}
	} else if (ranked == n) {
		pos = xmallocarray(n, sizeof *pos);
		for (i = 0; i < n; i++)
			pos[order[i]] = (double)i;
		g->v[M_SCORE] = metrics_kendall(pos, y, n);
		g->avail |= 1u << M_SCORE;
		free(pos);
	}
	free(order);
	free(s);
}

void metrics_agg_add(metrics_agg_t *a, const metrics_graph_t *g)
{
	a->graphs++;
	a->configs += g->n;
	a->missing_graphs += (size_t)(g->no_pred != 0);
	a->missing_configs += g->missing;
	a->tile = g->tile;
	for (int m = 0; m < M__N; m++) {
		double v = g->v[m];
		if (!(g->avail & 1u << m))
			continue;
		if (isnan(v)) {
			v = m == M_OPA ? 0.5 : 0;
			a->undefined[m]++;
		}
		a->sum[m] += v;
		a->n[m]++;
	}
}

double metrics_agg_mean(const metrics_agg_t *a, int m)
{
	return a->n[m] ? a->sum[m] / (double)a->n[m] : NAN;
}

/* ---- idmap: open addressing, linear probing, FNV-1a ---- */

struct idmap {
	char **keys;     /* NULL: empty; TOMB: deleted */
	void **vals;
	size_t cap, count, used;
};

static char tomb_[1];
#define TOMB tomb_

idmap_t *idmap_new(void)
{
	idmap_t *m = xcalloc(1, sizeof *m);
	m->cap = 64;
	m->keys = xcalloc(m->cap, sizeof *m->keys);
	m->vals = xcalloc(m->cap, sizeof *m->vals);
	return m;
}

void idmap_free(idmap_t *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i] && m->keys[i] != TOMB)
			free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	free(m);
}

static size_t idmap_find(const idmap_t *m, const char *key)
{
	size_t i = (size_t)str_hash(key) & (m->cap - 1);
	while (m->keys[i]) {
		if (m->keys[i] != TOMB && strcmp(m->keys[i], key) == 0)
			return i;
		i = (i + 1) & (m->cap - 1);
	}
	return SIZE_MAX;
}

void *idmap_get(const idmap_t *m, const char *key)
{
	size_t i = idmap_find(m, key);
	return i == SIZE_MAX ? NULL : m->vals[i];
}

static void idmap_grow(idmap_t *m)
{
	char **ok = m->keys;
	void **ov = m->vals;
	size_t ocap = m->cap;
	m->cap *= 2;
	m->keys = xcalloc(m->cap, sizeof *m->keys);
	m->vals = xcalloc(m->cap, sizeof *m->vals);
	m->used = m->count;
	for (size_t i = 0; i < ocap; i++)
		if (ok[i] && ok[i] != TOMB) {
			size_t j = (size_t)str_hash(ok[i]) & (m->cap - 1);
			while (m->keys[j])
				j = (j + 1) & (m->cap - 1);
			m->keys[j] = ok[i];
			m->vals[j] = ov[i];
		}
	free(ok);
	free(ov);
}

void *idmap_put(idmap_t *m, const char *key, void *val)
{
	size_t i = idmap_find(m, key);
	if (i != SIZE_MAX) {
		void *old = m->vals[i];
		m->vals[i] = val;
		return old;
	}
	if ((m->used + 1) * 4 > m->cap * 3)
		idmap_grow(m);
	i = (size_t)str_hash(key) & (m->cap - 1);
	while (m->keys[i] && m->keys[i] != TOMB)
		i = (i + 1) & (m->cap - 1);
	if (!m->keys[i])
		m->used++;
	m->keys[i] = xstrdup(key);
	m->vals[i] = val;
	m->count++;
	return NULL;
}

void *idmap_del(idmap_t *m, const char *key)
{
	size_t i = idmap_find(m, key);
	void *v;
	if (i == SIZE_MAX)
		return NULL;
	v = m->vals[i];
	free(m->keys[i]);
	m->keys[i] = TOMB;
	m->vals[i] = NULL;
	m->count--;
	return v;
}

size_t idmap_count(const idmap_t *m)
{
	return m->count;
}

/* ---- pred records ---- */

size_t predrec_arrays(record_t *r, const int64_t **idx, const double **score)
{
	tensor_t *ti = rec_need_tensor(r, "config_index", DT_I64, 1);
	tensor_t *ts = rec_need_tensor(r, "score", DT_F64, 1);
	const int64_t *ci = ti->data;
	const double *sc = ts->data;
	(void)rec_need_str(r, "id");
	if (ti->numel != ts->numel)
		rec_die(r, "config_index has %zu entries but score has %zu", ti->numel, ts->numel);
	for (size_t i = 0; i < ti->numel; i++) {
		if (ci[i] < 0)
			rec_die(r, "negative config_index %lld", (long long)ci[i]);
		if (isnan(sc[i]))
			rec_die(r, "score of config %lld is NaN", (long long)ci[i]);
	}
	*idx = ci;
	*score = sc;
	return ti->numel;
}

/* ---- predsrc ---- */

typedef struct bnode {
	record_t *r;
	struct bnode *next_same;           /* FIFO of one id */
	struct bnode *prev_all, *next_all; /* arrival order */
} bnode_t;

typedef struct {
	bnode_t *head, *tail;
} bqueue_t;

typedef struct {
	const char *src;
	uint64_t index;
} seen_t;

struct predsrc {
	sreader_t **sr;
	record_t **hdr;
	int *done;
	size_t n, last;
	int repeats;
	idmap_t *queues;  /* id -> bqueue_t* of buffered records */
	idmap_t *seen;    /* id -> seen_t* (first place met) */
	bnode_t *all_head, *all_tail;
};

predsrc_t *predsrc_open(char *const *paths, size_t n)
{
	predsrc_t *ps = xcalloc(1, sizeof *ps);
	ps->n = n;
	ps->sr = xcalloc(n ? n : 1, sizeof *ps->sr);
	ps->hdr = xcalloc(n ? n : 1, sizeof *ps->hdr);
	ps->done = xcalloc(n ? n : 1, sizeof *ps->done);
	for (size_t i = 0; i < n; i++) {
		ps->sr[i] = sr_open(paths[i]);
		ps->hdr[i] = sr_next(ps->sr[i]);
		if (!ps->hdr[i])  /* sr_read guarantees a header first */
			die(EX_DATA, "%s: empty stream", paths[i]);
	}
	ps->queues = idmap_new();
	ps->seen = idmap_new();
	return ps;
}

void predsrc_allow_repeats(predsrc_t *ps, int yes)
{
	ps->repeats = yes;
}

record_t *predsrc_header(predsrc_t *ps, size_t i)
{
	return i < ps->n ? ps->hdr[i] : NULL;
}

/* A pred record arrived: check for repeats, remember where. */
static void note_seen(predsrc_t *ps, record_t *r)
{
	const char *id = rec_need_str(r, "id");
	seen_t *s = idmap_get(ps->seen, id);
	if (s) {
		if (!ps->repeats)
			rec_die(r, "a second pred record for this graph (the first: %s record %llu)",
				s->src, (unsigned long long)s->index);
		return;
	}
	s = xmalloc(sizeof *s);
	s->src = r->src;
	s->index = r->index;
	idmap_put(ps->seen, id, s);
}

static void buffer_rec(predsrc_t *ps, record_t *r)
{
	const char *id = rec_str(r, "id");
	bqueue_t *q = idmap_get(ps->queues, id);
	bnode_t *b = xcalloc(1, sizeof *b);
	b->r = r;
	if (!q) {
		q = xcalloc(1, sizeof *q);
		idmap_put(ps->queues, id, q);
	}
	if (q->tail)
		q->tail->next_same = b;
	else
		q->head = b;
	q->tail = b;
	b->prev_all = ps->all_tail;
	if (ps->all_tail)
		ps->all_tail->next_all = b;
	else
		ps->all_head = b;
	ps->all_tail = b;
}

/* Unlink the first buffered record of id's queue and return it. */
static record_t *unbuffer(predsrc_t *ps, const char *id)
{
	bqueue_t *q = idmap_get(ps->queues, id);
	bnode_t *b;
	record_t *r;
	if (!q || !q->head)
		return NULL;
	b = q->head;
	q->head = b->next_same;
	if (!q->head) {
		q->tail = NULL;
		free(idmap_del(ps->queues, id));
	}
	if (b->prev_all)
		b->prev_all->next_all = b->next_all;
	else
		ps->all_head = b->next_all;
	if (b->next_all)
		b->next_all->prev_all = b->prev_all;
	else
		ps->all_tail = b->prev_all;
	r = b->r;
	free(b);
	return r;
}

/* The next pred record of stream i, or NULL at its end. */
static record_t *read_pred(predsrc_t *ps, size_t i)
{
	record_t *r;
	if (ps->done[i])
		return NULL;
	while ((r = sr_next(ps->sr[i])) != NULL) {
		if (rec_is(r, "pred")) {
			note_seen(ps, r);
			return r;
		}
		rec_free(r);
	}
	ps->done[i] = 1;
	return NULL;
}

record_t *predsrc_take(predsrc_t *ps, const char *id)
{
	record_t *r = unbuffer(ps, id);
	if (r)
		return r;
	for (size_t k = 0; k < ps->n; k++) {
		size_t i = (ps->last + k) % ps->n;
		while ((r = read_pred(ps, i)) != NULL) {
			if (strcmp(rec_str(r, "id"), id) == 0) {
				ps->last = i;
				return r;
			}
			buffer_rec(ps, r);
		}
	}
	return NULL;
}

record_t *predsrc_next(predsrc_t *ps)
{
	record_t *r;
	if (ps->all_head) {
		char *id = xstrdup(rec_str(ps->all_head->r, "id"));
		r = unbuffer(ps, id);
		free(id);
		return r;
	}
	for (size_t i = 0; i < ps->n; i++)
		if ((r = read_pred(ps, i)) != NULL)
			return r;
	return NULL;
}

static void free_vals(idmap_t *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i] && m->keys[i] != TOMB)
			free(m->vals[i]);
}

void predsrc_close(predsrc_t *ps)
{
	if (!ps)
		return;
	while (ps->all_head) {
		bnode_t *b = ps->all_head;
		ps->all_head = b->next_all;
		rec_free(b->r);
		free(b);
	}
	free_vals(ps->queues);
	free_vals(ps->seen);
	idmap_free(ps->queues);
	idmap_free(ps->seen);
	for (size_t i = 0; i < ps->n; i++) {
		rec_free(ps->hdr[i]);
		sr_close(ps->sr[i]);
	}
	free(ps->sr);
	free(ps->hdr);
	free(ps->done);
	free(ps);
}
