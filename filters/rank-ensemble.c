/* rank-ensemble: combine prediction streams, write a pred stream and/or the
 * Kaggle submission.
 *
 * For every graph of the first input, the same graph is looked up in every
 * other input (reading ahead as far as the orders differ), the config sets
 * are checked to be identical, each input's scores are normalised per graph
 * (rank, zscore or minmax) and the weighted mean is written as one pred
 * record (config_index ascending, score f32).  The CSV row lists the configs
 * in the order of those f32 scores, ties by config index: the strict order
 * rank-eval scores, so the CSV and the stream score the same.  With --tta,
 * repeated records of one graph within an input are normalised and averaged
 * first (every input is then held whole).  With --fit, the weights are
 * chosen on a valid split's truth (greedy forward selection, kept only when
 * leave-one-graph-out cross-validation says they beat equal weights), every
 * input again held whole. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "err.h"
#include "metrics.h"
#include "json.h"
#include "outfile.h"
#include "stream.h"
#include "truth.h"

static const char usage_line[] =
	"usage: rank-ensemble [-T] [-w W1,W2,... | -f TRUTH [-r FILE.json] [-W FILE]] "
	"[-n rank|zscore|minmax] [-c FILE.csv] [-k K] [-o FILE] PRED...\n";

static const char help_text[] =
	"Combine pred streams: per-graph normalisation, weighted mean.\n"
	"\n"
	"  -w, --weights W1,...  one weight per PRED, >= 0 (default all 1)\n"
	"  -f, --fit TRUTH       fit the weights on TRUTH (the valid split's raw\n"
	"                        stream, as rank-eval --truth reads it): greedy\n"
	"                        forward selection with replacement, integer\n"
	"                        weights, kept only if they beat equal weights\n"
	"                        under leave-one-graph-out cross-validation by\n"
	"                        more than twice the standard error; the decision goes\n"
	"                        to stderr.  Holds every graph of every PRED and\n"
	"                        of TRUTH in memory (a valid split is small)\n"
	"  -r, --fit-report FILE the fit as JSON (weights, per-PRED scores, the\n"
	"                        cross-validation, the decision)\n"
	"  -W, --weights-out FILE  the chosen weights as one line W1,W2,... for a\n"
	"                        later --weights run on the test PREDs\n"
	"  -n, --norm HOW        rank (default): (average rank - 1) / (n - 1);\n"
	"                        zscore: (s - mean) / sd; minmax: (s - min) / (max - min)\n"
	"  -T, --tta             average repeated records of a graph within one\n"
	"                        PRED (test-time augmentation), each normalised;\n"
	"                        holds every graph's scores in memory\n"
	"  -c, --csv FILE        write the Kaggle submission (ID,TopConfigs) to\n"
	"                        FILE\n"
	"  -k, --top K           configs per tile row of the CSV (default 5);\n"
	"                        layout rows list every config, best first\n"
	"  -o, --out, --output FILE  write the pred stream to FILE; default stdout\n"
	"                        unless --csv is given\n"
	"      --force-tty       write the pred stream even to a terminal\n"
	"  -h, --help            this help\n"
	"  -V, --version         the version\n"
	"\n"
	"Output FILEs: '-' is stdout (one output at most); a regular file is\n"
	"written atomically (a temporary file beside it, renamed when complete),\n"
	"a link, device or fifo is written through, never replaced.\n"
	"Every graph must be in every PRED with the same config_index set; a\n"
	"mismatch is an error naming the graph.  Exit: 0 ok, 1 bad or mismatched\n"
	"data, 2 usage, 3 I/O.\n";

typedef struct {
	double *w;
	double wsum;
	int norm, tta, force_tty;
	long long top;
	const char *csv, *out, *fit, *fit_report, *weights_out;
	char **in;
	size_t nin;
} opts_t;

/* One input's view of a graph: config indices ascending and the summed
 * normalised scores of its records (count of them). */
typedef struct {
	int64_t *idx;
	double *sum;
	size_t n, count;
	record_t *first;   /* the first record (its other keys pass through) */
	const char *src;
} view_t;

static void view_free(view_t *v)
{
	if (!v)
		return;
	free(v->idx);
	free(v->sum);
	rec_free(v->first);
	free(v);
}

/* Add a pred record to a view (new when v is NULL); keeps r as v->first or
 * frees it. */
static view_t *view_add(view_t *v, record_t *r, const opts_t *o, const char *src)
{
	const int64_t *ci;
	const double *sc;
	size_t n = predrec_arrays(r, &ci, &sc), *perm;
	double *k, *s, *ns;
	int64_t *zero, *idx;

	if (o->norm != NORM_RANK)
		for (size_t i = 0; i < n; i++)
			if (!isfinite(sc[i]))
				rec_die(r, "score of config %lld is %g: --norm %s needs finite scores",
					(long long)ci[i], sc[i], o->norm == NORM_ZSCORE ? "zscore" : "minmax");
	if (n == 0)
		rec_die(r, "a pred record without configs");
	perm = xmallocarray(n, sizeof *perm);
	k = xmallocarray(n, sizeof *k);
	zero = xcalloc(n, sizeof *zero);
	for (size_t i = 0; i < n; i++)
		k[i] = (double)ci[i];
	metrics_order(k, zero, n, perm);
	free(k);
	free(zero);
	idx = xmallocarray(n, sizeof *idx);
	s = xmallocarray(n, sizeof *s);
	for (size_t i = 0; i < n; i++) {
		idx[i] = ci[perm[i]];
		s[i] = sc[perm[i]];
		if (i > 0 && idx[i] == idx[i - 1])
			rec_die(r, "config_index %lld appears twice", (long long)idx[i]);
	}
	free(perm);
	ns = xmallocarray(n, sizeof *ns);
	metrics_normalise(s, n, o->norm, ns);
	free(s);
	/* the record's own arrays are copied: keep only its other keys (emit
	 * puts the combined arrays back in place) */
	rec_set_tensor(r, "config_index", tensor_new1(DT_I64, 0));
	rec_set_tensor(r, "score", tensor_new1(DT_F32, 0));
	if (!v) {
		v = xcalloc(1, sizeof *v);
		v->idx = idx;
		v->sum = ns;
		v->n = n;
		v->count = 1;
		v->first = r;
		v->src = src;
		return v;
	}
	if (n != v->n || memcmp(idx, v->idx, n * sizeof *idx) != 0)
		rec_die(r, "the repeated records of this graph in %s cover different configs "
			"(%zu and %zu)", src, v->n, n);
	for (size_t i = 0; i < n; i++)
		v->sum[i] += ns[i];
	v->count++;
	free(idx);
	free(ns);
	rec_free(r);
	return v;
}

/* Check that view b has a's configs; die naming the graph otherwise. */
static void same_configs(const char *id, const view_t *a, const view_t *b)
{
	size_t i = 0, j = 0;
	if (a->n == b->n && memcmp(a->idx, b->idx, a->n * sizeof *a->idx) == 0)
		return;
	while (i < a->n && j < b->n && a->idx[i] == b->idx[j]) {
		i++;
		j++;
	}
	if (j >= b->n || (i < a->n && a->idx[i] < b->idx[j]))
		die(EX_DATA, "graph %s: config sets differ: %s has %zu configs, %s has %zu "
		    "(config_index %lld is only in %s)", id, a->src, a->n, b->src, b->n,
		    (long long)a->idx[i], a->src);
	die(EX_DATA, "graph %s: config sets differ: %s has %zu configs, %s has %zu "
	    "(config_index %lld is only in %s)", id, a->src, a->n, b->src, b->n,
	    (long long)b->idx[j], b->src);
}

typedef struct {
	opts_t o;
	swriter_t *sw;
	outfile_t *sw_out;  /* --output FILE, or NULL: stdout */
	csvw_t *cw;
	uint64_t graphs;
} out_t;

/* Combine the views of one graph (v[0..nin)) and write it. */
static void emit(out_t *out, const char *id, view_t **v)
{
	const opts_t *o = &out->o;
	size_t n = v[0]->n, *order;
	tensor_t *ti, *ts;
	int64_t *idx;
	float *sc;
	double *f;

	for (size_t i = 1; i < o->nin; i++)
		same_configs(id, v[0], v[i]);
	ti = tensor_new1(DT_I64, (int64_t)n);
	ts = tensor_new1(DT_F32, (int64_t)n);
	idx = ti->data;
	sc = ts->data;
	f = xmallocarray(n, sizeof *f);
	for (size_t c = 0; c < n; c++) {
		double acc = 0;
		for (size_t i = 0; i < o->nin; i++)
			acc += o->w[i] * (v[i]->sum[c] / (double)v[i]->count);
		idx[c] = v[0]->idx[c];
		sc[c] = (float)(acc / o->wsum);
		f[c] = sc[c];  /* the order of the values written */
	}
	if (out->cw) {
		int tile = strncmp(id, "tile:", 5) == 0;
		size_t k;
		int64_t *row = xmallocarray(n, sizeof *row);
		if (!tile && strncmp(id, "layout:", 7) != 0)
			die(EX_DATA, "graph %s: a CSV row needs an id starting with tile: or layout:",
			    id);
		order = xmallocarray(n, sizeof *order);
		metrics_order(f, idx, n, order);
		k = tile && (size_t)o->top < n ? (size_t)o->top : n;
		for (size_t i = 0; i < k; i++)
			row[i] = idx[order[i]];
		csvw_row(out->cw, id, row, k);
		free(order);
		free(row);
	}
	free(f);
	if (out->sw) {
		record_t *r = v[0]->first;
		rec_set_tensor(r, "config_index", ti);
		rec_set_tensor(r, "score", ts);
		sw_write(out->sw, r);
	} else {
		tensor_free(ti);
		tensor_free(ts);
	}
	out->graphs++;
}

/* Streaming: one graph at a time, in the first input's order. */
static void run_stream(out_t *out, predsrc_t **ps)
{
	const opts_t *o = &out->o;
	view_t **v = xcalloc(o->nin, sizeof *v);
	record_t *r;
	while ((r = predsrc_next(ps[0])) != NULL) {
		const char *id = rec_str(r, "id");
		v[0] = view_add(NULL, r, o, o->in[0]);
		for (size_t i = 1; i < o->nin; i++) {
			record_t *ri = predsrc_take(ps[i], id);
			if (!ri)
				die(EX_DATA, "graph %s: in %s but not in %s", id, o->in[0], o->in[i]);
			v[i] = view_add(NULL, ri, o, o->in[i]);
		}
		emit(out, id, v);
		for (size_t i = 0; i < o->nin; i++) {
			view_free(v[i]);
			v[i] = NULL;
		}
	}
	for (size_t i = 1; i < o->nin; i++)
		if ((r = predsrc_next(ps[i])) != NULL)
			die(EX_DATA, "graph %s: in %s but not in %s", rec_str(r, "id"), o->in[i],
			    o->in[0]);
	free(v);
}

/* Every input read whole (--tta, --fit): m[i] maps a graph id to input i's
 * view (repeats averaged with --tta), ids the graphs in the first input's
 * order. */
typedef struct {
	idmap_t **m;
	char **ids;
	size_t nids;
} whole_t;

static void load_whole(const opts_t *o, predsrc_t **ps, whole_t *w)
{
	size_t cap = 0;
	record_t *r;

	w->m = xcalloc(o->nin, sizeof *w->m);
	for (size_t i = 0; i < o->nin; i++) {
		w->m[i] = idmap_new();
		predsrc_allow_repeats(ps[i], o->tta);
		while ((r = predsrc_next(ps[i])) != NULL) {
			char *id = xstrdup(rec_str(r, "id"));
			view_t *old = idmap_get(w->m[i], id);
			if (!old && i == 0) {
				if (w->nids == cap) {
					cap = cap ? 2 * cap : 64;
					w->ids = xreallocarray(w->ids, cap, sizeof *w->ids);
				}
				w->ids[w->nids++] = xstrdup(id);
			}
			if (!old && i > 0 && !idmap_get(w->m[0], id))
				die(EX_DATA, "graph %s: in %s but not in %s", id, o->in[i], o->in[0]);
			idmap_put(w->m[i], id, view_add(old, r, o, o->in[i]));
			free(id);
		}
	}
	/* every graph in every input, with the first input's configs */
	for (size_t g = 0; g < w->nids; g++)
		for (size_t i = 1; i < o->nin; i++) {
			view_t *v = idmap_get(w->m[i], w->ids[g]);
			if (!v)
				die(EX_DATA, "graph %s: in %s but not in %s", w->ids[g], o->in[0],
				    o->in[i]);
			same_configs(w->ids[g], idmap_get(w->m[0], w->ids[g]), v);
		}
}

/* Write every graph in the first input's order; frees w. */
static void emit_whole(out_t *out, whole_t *w)
{
	const opts_t *o = &out->o;
	view_t **v = xcalloc(o->nin, sizeof *v);
	for (size_t g = 0; g < w->nids; g++) {
		for (size_t i = 0; i < o->nin; i++)
			v[i] = idmap_get(w->m[i], w->ids[g]);
		emit(out, w->ids[g], v);
		for (size_t i = 0; i < o->nin; i++)
			view_free(idmap_del(w->m[i], w->ids[g]));
		free(w->ids[g]);
	}
	for (size_t i = 0; i < o->nin; i++)
		idmap_free(w->m[i]);
	free(w->m);
	free(w->ids);
	free(v);
}

/* ---- --fit: the weights chosen on the valid split ----
 *
 * The score of a weighting on a graph is the Kaggle score (layout: Kendall's
 * tau of the strict order; tile: 2 - ratio_5) that rank-eval gives the f32
 * scores emit() would write, computed by metrics_score_graph; an undefined
 * tau counts 0, as in rank-eval's means.  The objective over a set of graphs
 * is rank-eval's overall score: the mean over collections of the mean over
 * the collection's graphs.
 *
 * The fit is greedy forward selection with replacement (Caruana et al.
 * 2004): start from the best single PRED (weight 1), then in each round add
 * 1 to the weight of the PRED that raises the objective most; stop when no
 * addition raises it, or after FIT_ROUNDS picks.  Ties go to the earlier
 * PRED, so the fit is deterministic.  Integer weights.
 *
 * The guard: leave-one-graph-out cross-validation.  For each graph g, fit on
 * the others and score g with those weights (f_g); u_g is the equal weights'
 * score of g.  With d_g = f_g - u_g and graph weights c_g = 1 / (number of
 * collections * graphs in g's collection) (summing to 1, so the mean is
 * rank-eval's overall): diff = sum c_g d_g, se^2 = G / (G - 1) sum c_g^2
 * (d_g - diff)^2 (one collection: the usual sd / sqrt(G)).  The fitted
 * weights are kept only when diff > FIT_Z se and G >= 4; else equal weights.
 * Two standard errors, not one: the PREDs are usually models that were
 * themselves chosen on this valid split (their best round), so their valid
 * scores are optimistic, the more so the more rounds a model was watched,
 * and the cross-validation does not see that choice.  Seen in all.sh on a
 * held-out world: one of three tile models won the fit by 1.08 se (valid
 * 0.886 against 0.856 and 0.858) and scored 0.733 on test, where equal
 * weights scored 0.822. */
#define FIT_Z 2.0
#define FIT_ROUNDS 20
#define FIT_MIN_GRAPHS 4

typedef struct {
	const opts_t *o;
	size_t P, G, ncoll;
	const truth_graph_t **tg;  /* (G) */
	view_t ***v;               /* (G, P) the inputs' views, aligned with tg */
	size_t *coll;              /* (G) collection of each graph */
	size_t *coll_n;            /* (ncoll) graphs in each collection */
	/* a cache of scored weightings: the fits revisit the same ones */
	unsigned *ck;              /* (nc, P) weights */
	double *cs;                /* (nc, G) per-graph scores */
	size_t nc, capc;
	double *pred;              /* (max n) scratch */
} fit_t;

/* The per-graph scores of integer weights k (P); owned by the cache. */
static const double *fit_scores(fit_t *f, const unsigned *k)
{
	double ksum = 0, *s;
	for (size_t c = 0; c < f->nc; c++)
		if (memcmp(f->ck + c * f->P, k, f->P * sizeof *k) == 0)
			return f->cs + c * f->G;
	if (f->nc == f->capc) {
		f->capc = f->capc ? 2 * f->capc : 64;
		f->ck = xreallocarray(f->ck, f->capc * f->P, sizeof *f->ck);
		f->cs = xreallocarray(f->cs, f->capc * f->G, sizeof *f->cs);
	}
	memcpy(f->ck + f->nc * f->P, k, f->P * sizeof *k);
	s = f->cs + f->nc * f->G;
	f->nc++;
	for (size_t i = 0; i < f->P; i++)
		ksum += (double)k[i];
	for (size_t g = 0; g < f->G; g++) {
		const truth_graph_t *t = f->tg[g];
		view_t **v = f->v[g];
		metrics_graph_t m;
		for (size_t c = 0; c < t->n; c++) {
			double acc = 0;
			for (size_t i = 0; i < f->P; i++)  /* as emit() computes it */
				acc += (double)k[i] * (v[i]->sum[c] / (double)v[i]->count);
			f->pred[c] = (float)(acc / ksum);
		}
		metrics_score_graph(t->y, t->idx, f->pred, t->n, t->tile, t->n, &m);
		s[g] = isnan(m.v[M_SCORE]) ? 0 : m.v[M_SCORE];
	}
	return s;
}

/* The objective: the mean of the collection means over the graphs other
 * than skip (skip = G: none). */
static double fit_objective(const fit_t *f, const double *s, size_t skip)
{
	double *sum = xcalloc(f->ncoll, sizeof *sum), tot = 0;
	size_t *n = xcalloc(f->ncoll, sizeof *n), nc = 0;
	for (size_t g = 0; g < f->G; g++)
		if (g != skip) {
			sum[f->coll[g]] += s[g];
			n[f->coll[g]]++;
		}
	for (size_t c = 0; c < f->ncoll; c++)
		if (n[c]) {
			tot += sum[c] / (double)n[c];
			nc++;
		}
	free(sum);
	free(n);
	return nc ? tot / (double)nc : NAN;
}

/* Greedy forward selection on the graphs other than skip; k (P) gets the
 * weights, the return value the objective. */
static double fit_greedy(fit_t *f, size_t skip, unsigned *k)
{
	unsigned *t = xmallocarray(f->P, sizeof *t);
	double cur = -INFINITY;
	memset(k, 0, f->P * sizeof *k);
	for (int round = 0; round < FIT_ROUNDS; round++) {
		double best = -INFINITY;
		size_t bi = f->P;
		for (size_t i = 0; i < f->P; i++) {
			double obj;
			memcpy(t, k, f->P * sizeof *t);
			t[i]++;
			obj = fit_objective(f, fit_scores(f, t), skip);
			if (obj > best) {
				best = obj;
				bi = i;
			}
		}
		if (bi == f->P || !(best > cur))
			break;
		k[bi]++;
		cur = best;
	}
	free(t);
	return cur;
}

static void weights_str(char *buf, size_t len, const unsigned *k, size_t P)
{
	size_t at = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < P && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%u", i ? "," : "", k[i]);
}

static void json_weights(json_t *j, const unsigned *k, size_t P)
{
	json_arr_begin(j, 1);
	for (size_t i = 0; i < P; i++)
		json_uint(j, k[i]);
	json_arr_end(j);
}

static void write_atomic_text(const char *path, void (*fn)(FILE *, void *), void *ctx)
{
	outfile_t *of = of_open(path);
	fn(of_stdio(of), ctx);
	of_commit(of);
}

typedef struct {
	fit_t *f;
	const char *truth;
	unsigned *uni, *full, *chosen;
	double *single;            /* (P) each PRED's objective alone */
	double uni_obj, full_obj, uni_cv, fit_cv, diff, se;
	int cv, fitted;
	char *wstr;
} fitres_t;

static void write_report(FILE *fp, void *ctx)
{
	const fitres_t *r = ctx;
	const fit_t *f = r->f;
	json_t j;
	json_init(&j, fp, 2, 0);
	json_obj_begin(&j, 0);
	json_key(&j, "truth");
	json_str(&j, r->truth);
	json_key(&j, "preds");
	json_arr_begin(&j, 0);
	for (size_t i = 0; i < f->P; i++)
		json_str(&j, f->o->in[i]);
	json_arr_end(&j);
	json_key(&j, "graphs");
	json_uint(&j, f->G);
	json_key(&j, "collections");
	json_uint(&j, f->ncoll);
	json_key(&j, "pred_scores");
	json_arr_begin(&j, 1);
	for (size_t i = 0; i < f->P; i++)
		json_f64(&j, r->single[i]);
	json_arr_end(&j);
	json_key(&j, "uniform_score");
	json_f64(&j, r->uni_obj);
	json_key(&j, "fit_weights");
	json_weights(&j, r->full, f->P);
	json_key(&j, "fit_score");
	json_f64(&j, r->full_obj);
	json_key(&j, "uniform_cv");
	r->cv ? json_f64(&j, r->uni_cv) : json_null(&j);
	json_key(&j, "fitted_cv");
	r->cv ? json_f64(&j, r->fit_cv) : json_null(&j);
	json_key(&j, "diff");
	r->cv ? json_f64(&j, r->diff) : json_null(&j);
	json_key(&j, "se");
	r->cv ? json_f64(&j, r->se) : json_null(&j);
	json_key(&j, "decision");
	json_str(&j, r->fitted ? "fitted" : "kept uniform");
	json_key(&j, "weights");
	json_weights(&j, r->chosen, f->P);
	json_key(&j, "weights_arg");
	json_str(&j, r->wstr);
	json_obj_end(&j);
	json_newline(&j);
	json_free(&j);
}

static void write_wline(FILE *fp, void *ctx)
{
	fprintf(fp, "%s\n", (const char *)ctx);
}

/* Join the truth with the inputs, fit, decide, report; sets o->w. */
static void fit_weights(opts_t *o, const truth_t *tr, const whole_t *w)
{
	fit_t f;
	fitres_t r;
	size_t P = o->nin, G = tr->n, maxn = 0;
	char **cname;
	char wfull[4096], wchosen[4096];

	memset(&f, 0, sizeof f);
	memset(&r, 0, sizeof r);
	f.o = o;
	f.P = P;
	f.G = G;
	f.tg = xmallocarray(G, sizeof *f.tg);
	f.v = xmallocarray(G, sizeof *f.v);
	f.coll = xmallocarray(G, sizeof *f.coll);
	f.coll_n = xcalloc(G, sizeof *f.coll_n);
	cname = xcalloc(G, sizeof *cname);
	for (size_t g = 0; g < G; g++) {
		const truth_graph_t *t = &tr->g[g];
		view_t tv;
		size_t c = 0;
		f.tg[g] = t;
		f.v[g] = xmallocarray(P, sizeof *f.v[g]);
		memset(&tv, 0, sizeof tv);
		tv.idx = t->idx;
		tv.n = t->n;
		tv.src = tr->name;
		for (size_t i = 0; i < P; i++) {
			f.v[g][i] = idmap_get(w->m[i], t->id);
			if (!f.v[g][i])
				die(EX_DATA, "graph %s: in %s but not in %s", t->id, tr->name, o->in[i]);
			same_configs(t->id, &tv, f.v[g][i]);
		}
		while (c < f.ncoll && strcmp(cname[c], t->coll) != 0)
			c++;
		if (c == f.ncoll)
			cname[f.ncoll++] = t->coll;
		f.coll[g] = c;
		f.coll_n[c]++;
		if (t->n > maxn)
			maxn = t->n;
	}
	free(cname);
	for (size_t g = 0; g < w->nids; g++)
		if (!truth_get(tr, w->ids[g]))
			die(EX_DATA, "graph %s: in %s but not in %s", w->ids[g], o->in[0], tr->name);
	f.pred = xmallocarray(maxn, sizeof *f.pred);

	r.f = &f;
	r.truth = tr->name;
	r.uni = xmallocarray(P, sizeof *r.uni);
	r.full = xmallocarray(P, sizeof *r.full);
	r.single = xmallocarray(P, sizeof *r.single);
	for (size_t i = 0; i < P; i++) {
		memset(r.full, 0, P * sizeof *r.full);
		r.full[i] = 1;
		r.single[i] = fit_objective(&f, fit_scores(&f, r.full), G);
		r.uni[i] = 1;
	}
	r.uni_obj = fit_objective(&f, fit_scores(&f, r.uni), G);
	r.full_obj = fit_greedy(&f, G, r.full);

	r.cv = G >= FIT_MIN_GRAPHS;
	if (r.cv) {
		double *d = xmallocarray(G, sizeof *d), *cw = xmallocarray(G, sizeof *cw), ss = 0;
		unsigned *k = xmallocarray(P, sizeof *k);
		const double *us = fit_scores(&f, r.uni);
		for (size_t g = 0; g < G; g++) {
			double u = us[g], fs;
			fit_greedy(&f, g, k);
			fs = fit_scores(&f, k)[g];
			us = fit_scores(&f, r.uni);  /* the cache may have moved */
			cw[g] = 1.0 / ((double)f.ncoll * (double)f.coll_n[f.coll[g]]);
			d[g] = fs - u;
			r.uni_cv += cw[g] * u;
			r.fit_cv += cw[g] * fs;
			r.diff += cw[g] * d[g];
		}
		for (size_t g = 0; g < G; g++)
			ss += cw[g] * cw[g] * (d[g] - r.diff) * (d[g] - r.diff);
		r.se = sqrt((double)G / (double)(G - 1) * ss);
		r.fitted = r.diff > FIT_Z * r.se;
		free(d);
		free(cw);
		free(k);
	}
	r.chosen = r.fitted ? r.full : r.uni;
	weights_str(wfull, sizeof wfull, r.full, P);
	weights_str(wchosen, sizeof wchosen, r.chosen, P);
	r.wstr = wchosen;
	if (r.cv)
		fprintf(stderr, "%s: --fit: %s: weights %s; held-out mean score over %zu graphs: "
			"uniform %.4f, fitted %.4f, improvement %+.4f (se %.4f); fit on all: %s\n",
			argv0, r.fitted ? "fitted" : "kept uniform", wchosen, G, r.uni_cv, r.fit_cv,
			r.diff, r.se, wfull);
	else
		fprintf(stderr, "%s: --fit: kept uniform: weights %s; %zu graph%s, fewer than %d "
			"to cross-validate; fit on all: %s\n", argv0, wchosen, G, G == 1 ? "" : "s",
			FIT_MIN_GRAPHS, wfull);
	if (o->fit_report)
		write_atomic_text(o->fit_report, write_report, &r);
	if (o->weights_out)
		write_atomic_text(o->weights_out, write_wline, wchosen);

	for (size_t i = 0; i < P; i++) {
		o->w[i] = (double)r.chosen[i];
	}
	free(r.uni);
	free(r.full);
	free(r.single);
	for (size_t g = 0; g < G; g++)
		free(f.v[g]);
	free(f.v);
	free(f.tg);
	free(f.coll);
	free(f.coll_n);
	free(f.ck);
	free(f.cs);
	free(f.pred);
}

/* --tta without --fit: every input read whole, repeats of a graph averaged. */
static void run_tta(out_t *out, predsrc_t **ps)
{
	whole_t w = {0};
	load_whole(&out->o, ps, &w);
	emit_whole(out, &w);
}

static void parse_weights(opts_t *o, const char *s)
{
	size_t n = 1, k = 0;
	char *copy, *tok, *save = NULL;
	for (const char *p = s; *p; p++)
		n += *p == ',';
	o->w = xmallocarray(n, sizeof *o->w);
	copy = xstrdup(s);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		o->w[k++] = parse_double("--weights", tok, 0, 1e300);
	free(copy);
	if (k != n)
		usage_error("--weights: bad value '%s' (want numbers separated by commas)", s);
	o->nin = k;  /* checked against the inputs by the caller */
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"csv", required_argument, 0, 'c'},
		{"fit", required_argument, 0, 'f'},
		{"fit-report", required_argument, 0, 'r'},
		{"force-tty", no_argument, 0, 'F'},
		{"help", no_argument, 0, 'h'},
		{"norm", required_argument, 0, 'n'},
		{"out", required_argument, 0, 'o'}, /* docs/options.md */
		{"output", required_argument, 0, 'o'},
		{"top", required_argument, 0, 'k'},
		{"tta", no_argument, 0, 'T'},
		{"version", no_argument, 0, 'V'},
		{"weights", required_argument, 0, 'w'},
		{"weights-out", required_argument, 0, 'W'},
		{0, 0, 0, 0}
	};
	out_t out;
	opts_t *o = &out.o;
	predsrc_t **ps;
	truth_t *tr = NULL;
	size_t nw = 0, stdins = 0, stdouts = 0;
	int ch;

	setprogname_argv(argv);
	usage_init(usage_line);
	memset(&out, 0, sizeof out);
	o->top = 5;
	o->norm = NORM_RANK;
	while ((ch = getopt_long(argc, argv, "c:f:hk:n:o:r:TVw:W:", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': o->csv = optarg; break;
		case 'f': o->fit = optarg; break;
		case 'F': o->force_tty = 1; break;
		case 'h': usage_help(help_text);
		case 'k': o->top = parse_ll("--top", optarg, 1, 1LL << 40); break;
		case 'n':
			if (strcmp(optarg, "rank") == 0)
				o->norm = NORM_RANK;
			else if (strcmp(optarg, "zscore") == 0)
				o->norm = NORM_ZSCORE;
			else if (strcmp(optarg, "minmax") == 0)
				o->norm = NORM_MINMAX;
			else
				usage_error("--norm: bad value '%s' (want rank, zscore or minmax)",
					    optarg);
			break;
		case 'o': o->out = optarg; break;
		case 'r': o->fit_report = optarg; break;
		case 'T': o->tta = 1; break;
		case 'V': print_version();
		case 'w':
			free(o->w);
			parse_weights(o, optarg);
			nw = o->nin;
			break;
		case 'W': o->weights_out = optarg; break;
		default: usage_error(NULL);
		}
	}
	o->in = argv + optind;
	o->nin = (size_t)(argc - optind);
	if (o->nin == 0) {
		usage_error("no PRED stream given");
	}
	if (o->fit && o->w)
		usage_error("--fit and --weights exclude each other (--fit chooses the weights)");
	if (!o->fit && (o->fit_report || o->weights_out))
		usage_error("--%s needs --fit", o->fit_report ? "fit-report" : "weights-out");
	if (o->w && nw != o->nin)
		usage_error("--weights: %zu weights for %zu PRED streams", nw, o->nin);
	if (!o->w) {
		o->w = xmallocarray(o->nin, sizeof *o->w);
		for (size_t i = 0; i < o->nin; i++)
			o->w[i] = 1;
	}
	for (size_t i = 0; i < o->nin; i++) {
		o->wsum += o->w[i];
		stdins += strcmp(o->in[i], "-") == 0;
	}
	if (!(o->wsum > 0))
		usage_error("--weights: the weights sum to 0");
	if (o->fit)
		stdins += strcmp(o->fit, "-") == 0;
	if (stdins > 1)
		usage_error("only one PRED can be stdin (the --fit TRUTH counts as one)");
	{	/* every output: at most one on stdout, each writable before we start */
		const char *outs[] = {(!o->csv && !o->out) ? "-" : o->out, o->csv,
				      o->fit_report, o->weights_out};
		char why[512];
		for (size_t i = 0; i < sizeof outs / sizeof *outs; i++) {
			if (!outs[i])
				continue;
			stdouts += strcmp(outs[i], "-") == 0;
			if (of_check(outs[i], why, sizeof why) != 0)
				die(EX_IO, "%s: %s", outs[i], why);
		}
		if (stdouts > 1)
			usage_error("only one of the pred stream, --csv, --fit-report and "
			    "--weights-out can go to stdout ('-')");
	}
	if ((!o->csv && !o->out) || (o->out && strcmp(o->out, "-") == 0))
		stream_refuse_tty(1, o->force_tty, "--force-tty");
	if (o->fit)
		tr = truth_read(o->fit);

	ps = xcalloc(o->nin, sizeof *ps);
	for (size_t i = 0; i < o->nin; i++)
		ps[i] = predsrc_open(&o->in[i], 1);
	if (!o->csv || o->out) {
		record_t *hdr = predsrc_header(ps[0], 0);
		if (o->out && strcmp(o->out, "-") != 0)
			out.sw = sw_open_fd((out.sw_out = of_open(o->out))->fd, o->out);
		else
			out.sw = sw_open_fd(1, "stdout");
		header_append(hdr, argv0, argc, argv);
		sw_write(out.sw, hdr);
	}
	if (o->csv)
		out.cw = csvw_open(o->csv);

	if (o->fit) {
		whole_t w = {0};
		load_whole(o, ps, &w);
		fit_weights(o, tr, &w);
		o->wsum = 0;
		for (size_t i = 0; i < o->nin; i++)
			o->wsum += o->w[i];
		emit_whole(&out, &w);
		truth_free(tr);
	} else if (o->tta)
		run_tta(&out, ps);
	else
		run_stream(&out, ps);
	if (out.graphs == 0)
		die(EX_DATA, "%s: no pred records: nothing to combine", o->in[0]);

	if (out.sw) {
		sw_end(out.sw);
		if (out.sw_out) {
			sw_release(out.sw);
			of_commit(out.sw_out);
		} else
			sw_close(out.sw);
	}
	if (out.cw)
		csvw_commit(out.cw);
	for (size_t i = 0; i < o->nin; i++)
		predsrc_close(ps[i]);
	free(ps);
	free(o->w);
	return EX_OK;
}
