/* rank-eval: score predicted config orders against measured runtimes.
 *
 * Reads the truth (a graph/configs stream with runtimes, as npz2mp writes
 * it) graph by graph, joins each graph with its prediction (a `pred` record
 * from the PRED streams, or a row of a Kaggle CSV) by graph id and original
 * config index, and reports per collection (and with --per-graph per graph):
 * Kendall's tau-b, Spearman's rho, ordered-pair accuracy, top-1/5/10 error
 * and the Kaggle score; overall, the mean of the collection scores.
 * Definitions: lib/metrics.h and docs/man/rank-eval.1. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "err.h"
#include "json.h"
#include "metrics.h"
#include "outfile.h"
#include "stream.h"
#include "truth.h"

static const char usage_line[] =
	"usage: rank-eval [-gjm] [--json-out FILE] [-t TRUTH] [PRED...] | rank-eval [-gjm] -t TRUTH -c FILE.csv\n";

static const char help_text[] =
	"Score predictions against the runtimes of a graph/configs stream.\n"
	"\n"
	"  -t, --truth FILE       the truth: a raw npz2mp stream with config_runtime\n"
	"                         (and, for tile, config_runtime_normalizers);\n"
	"                         default stdin\n"
	"  -c, --csv FILE         score a Kaggle submission (ID,TopConfigs) instead\n"
	"                         of pred streams\n"
	"  -j, --json             one JSON document instead of the table\n"
	"      --json-out FILE    also write the JSON document to FILE (atomically):\n"
	"                         one run gives the table on stdout, the JSON in FILE\n"
	"  -g, --per-graph        report every graph as well\n"
	"  -m, --allow-missing    count graphs and configs without a prediction\n"
	"                         (scored pessimistically: ranked last, slowest\n"
	"                         first) and predicted graphs absent from the\n"
	"                         truth, instead of failing\n"
	"  -r, --ranks FILE       also write every scored config as a line\n"
	"                         'ID<TAB>true<TAB>predicted' (ranks within the\n"
	"                         graph as fractions, 0 = fastest), for plots;\n"
	"                         '-': stdout, before the scores\n"
	"  -h, --help             this help\n"
	"  -V, --version          the version\n"
	"\n"
	"PRED: pred streams (default stdin when --truth is a file), joined by\n"
	"graph id and config_index.  Metrics: kendall (tau-b), spearman, opa,\n"
	"top1/top5/top10 (error_K = best runtime in the predicted top K / best\n"
	"runtime - 1), score (tile: 2 - ratio_5; layout: Kendall's tau of the\n"
	"submission order); overall = mean of the collection scores present.\n"
	"The table names the collections absent from the truth only when the\n"
	"truth holds two to four (one collection alone: the others are absent\n"
	"by choice; the JSON always lists them).\n"
	"Exit: 0 ok, 1 bad or mismatched data, 2 usage, 3 I/O.\n";

static const char *const canon[] = {
	"tile:xla", "layout:xla:random", "layout:xla:default",
	"layout:nlp:random", "layout:nlp:default"
};
#define NCANON 5

typedef struct {
	char *name;
	metrics_agg_t agg;
} coll_t;

typedef struct {
	char *id;
	size_t coll;
	metrics_graph_t m;
} gres_t;

typedef struct {
	const char *truth, *csv, *ranks, *json_out;
	int json, per_graph, allow_missing;
	char **pred;
	size_t npred;
} opts_t;

/* What the evaluation keeps: the collections, the per-graph results (only
 * with --per-graph), the inputs being joined, counters. */
typedef struct {
	opts_t o;
	coll_t *coll;
	size_t ncoll;
	gres_t *g;
	size_t ng, capg;
	idmap_t *truth_ids;
	predsrc_t *ps;
	/* CSV mode */
	char *csvbuf;
	csv_t csv;
	idmap_t *rows;      /* id -> row index + 1 */
	char *row_used;
	size_t extra_graphs, ignored_configs, total_graphs;
	/* the truth graph being read */
	char *id;
	size_t cur_coll;
	int tile;
	int64_t n_expect, n_total;
	size_t n, cap;
	int64_t *idx;
	double *y;
	const char *truth_name;
	FILE *ranks;        /* --ranks */
	outfile_t *ranks_out;
} eval_t;

/* --ranks: the rank fraction of each predicted config, true and predicted
 * (ties broken by config index, as the submission order does). */
static void write_ranks(eval_t *e, const double *pred)
{
	size_t n = 0, *ot, *op;
	double *y, *p, *rt;
	int64_t *k;
	for (size_t i = 0; i < e->n; i++)
		n += !isnan(pred[i]);
	if (n < 2)
		return;
	y = xmallocarray(n, sizeof *y);
	p = xmallocarray(n, sizeof *p);
	k = xmallocarray(n, sizeof *k);
	for (size_t i = 0, j = 0; i < e->n; i++)
		if (!isnan(pred[i])) {
			y[j] = e->y[i];
			p[j] = pred[i];
			k[j++] = e->idx[i];
		}
	ot = xmallocarray(n, sizeof *ot);
	op = xmallocarray(n, sizeof *op);
	rt = xmallocarray(n, sizeof *rt);
	metrics_order(y, k, n, ot);
	metrics_order(p, k, n, op);
	for (size_t r = 0; r < n; r++)
		rt[ot[r]] = (double)r / (double)(n - 1);
	for (size_t r = 0; r < n; r++)
		fprintf(e->ranks, "%s\t%.6f\t%.6f\n", e->id, rt[op[r]], (double)r / (double)(n - 1));
	free(y);
	free(p);
	free(k);
	free(ot);
	free(op);
	free(rt);
}

static size_t coll_index(eval_t *e, const char *name)
{
	for (size_t i = 0; i < e->ncoll; i++)
		if (strcmp(e->coll[i].name, name) == 0)
			return i;
	e->coll = xreallocarray(e->coll, e->ncoll + 1, sizeof *e->coll);
	memset(&e->coll[e->ncoll], 0, sizeof *e->coll);
	e->coll[e->ncoll].name = xstrdup(name);
	e->coll[e->ncoll].agg.tile = strncmp(name, "tile:", 5) == 0;
	return e->ncoll++;
}

/* The collection of a graph: its `collection` field, else the id's prefix
 * (tile:xla:NAME, layout:SRC:SEARCH:NAME). */
static void add_result(eval_t *e, const char *id, size_t coll, const metrics_graph_t *m)
{
	metrics_agg_add(&e->coll[coll].agg, m);
	if (!e->o.per_graph)
		return;
	if (e->ng == e->capg) {
		e->capg = e->capg ? 2 * e->capg : 64;
		e->g = xreallocarray(e->g, e->capg, sizeof *e->g);
	}
	e->g[e->ng].id = xstrdup(id);
	e->g[e->ng].coll = coll;
	e->g[e->ng].m = *m;
	e->ng++;
}

/* Position of config c in the sorted truth, or -1. */
static ptrdiff_t find_cfg(const int64_t *idx, size_t n, int64_t c)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (idx[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && idx[lo] == c ? (ptrdiff_t)lo : -1;
}

/* A predicted config the truth does not hold: ignored when the truth graph
 * is a sample of its file (n_configs_total) and the index is in range. */
static int cfg_ignorable(const eval_t *e, int64_t c)
{
	return e->n_total > (int64_t)e->n && c < e->n_total;
}

/* Fill pred[] from the graph's CSV row; returns how many configs it ranks. */
static size_t join_csv(eval_t *e, double *pred, int *have)
{
	size_t r = (size_t)(uintptr_t)idmap_get(e->rows, e->id), n, ranked = 0;
	const csv_row_t *row;
	int64_t *v;
	char err[256];

	*have = r != 0;
	if (!r)
		return 0;
	row = &e->csv.rows[r - 1];
	e->row_used[r - 1] = 1;
	if (csv_configs(row->cfg, row->cfg_len, &v, &n, err, sizeof err) != 0)
		die(EX_DATA, "%s: line %zu (%s): %s", e->o.csv, row->line, e->id, err);
	for (size_t p = 0; p < n; p++) {
		ptrdiff_t t = find_cfg(e->idx, e->n, v[p]);
		if (t < 0) {
			if (cfg_ignorable(e, v[p])) {
				e->ignored_configs++;
				continue;
			}
			die(EX_DATA, "%s: line %zu (%s): config index %lld is not in the truth "
			    "(the graph has %zu configs)", e->o.csv, row->line, e->id,
			    (long long)v[p], e->n);
		}
		if (!isnan(pred[t]))
			die(EX_DATA, "%s: line %zu (%s): config index %lld listed twice",
			    e->o.csv, row->line, e->id, (long long)v[p]);
		pred[t] = (double)ranked++;
	}
	free(v);
	return ranked;
}

/* Fill pred[] from the graph's pred record. */
static void join_pred(eval_t *e, double *pred, int *have)
{
	record_t *r = predsrc_take(e->ps, e->id);
	const int64_t *ci;
	const double *sc;
	size_t m;

	*have = r != NULL;
	if (!r)
		return;
	m = predrec_arrays(r, &ci, &sc);
	for (size_t i = 0; i < m; i++) {
		ptrdiff_t t = find_cfg(e->idx, e->n, ci[i]);
		if (t < 0) {
			if (cfg_ignorable(e, ci[i])) {
				e->ignored_configs++;
				continue;
			}
			rec_die(r, "config_index %lld is not in the truth (%s has %zu configs)",
				(long long)ci[i], e->truth_name, e->n);
		}
		if (!isnan(pred[t]))
			rec_die(r, "config_index %lld appears twice", (long long)ci[i]);
		pred[t] = sc[i];
	}
	rec_free(r);
}

/* The truth graph is complete: join, score, aggregate. */
static void finish_graph(eval_t *e)
{
	size_t n = e->n, ranked, missing = 0;
	double *pred;
	metrics_graph_t m;
	int have;

	if (!e->id)
		return;
	char err[1024];
	if (truth_finish_graph(e->truth_name, e->id, e->n_expect, e->idx, e->y, n, err,
			       sizeof err) != 0)
		die(EX_DATA, "%s", err);

	pred = xmallocarray(n, sizeof *pred);
	for (size_t i = 0; i < n; i++)
		pred[i] = NAN;
	if (e->o.csv) {
		ranked = join_csv(e, pred, &have);
		/* a tile row needs its top 5 (or every config of a smaller kernel);
		 * a layout row the full permutation */
		if (have && ranked < n && (!e->tile || ranked < (n < 5 ? n : 5)))
			missing = n - ranked;
		if (missing && e->o.allow_missing)
			ranked = n;
	} else {
		join_pred(e, pred, &have);
		for (size_t i = 0; i < n; i++)
			missing += isnan(pred[i]);
		ranked = n;
	}
	if (!have) {
		if (!e->o.allow_missing)
			die(EX_DATA, "graph %s: no prediction for it (%s); --allow-missing "
			    "scores it as the worst order", e->id,
			    e->o.csv ? "no row in the CSV" : "in no PRED stream");
		ranked = n;
	} else if (missing && !e->o.allow_missing) {
		size_t first = 0;
		while (!isnan(pred[first]))
			first++;
		die(EX_DATA, "graph %s: %zu of %zu configs have no prediction (first: "
		    "config_index %lld)%s; --allow-missing scores them pessimistically",
		    e->id, missing, n, (long long)e->idx[first],
		    e->o.csv ? (e->tile ? ": a tile row needs its top 5" :
				 ": a layout row must list every config") : "");
	}
	metrics_score_graph(e->y, e->idx, pred, n, e->tile, ranked, &m);
	if (e->ranks)
		write_ranks(e, pred);
	m.no_pred = !have;
	add_result(e, e->id, e->cur_coll, &m);
	free(pred);
	free(e->id);
	e->id = NULL;
	e->total_graphs++;
}

static void start_graph(eval_t *e, record_t *r)
{
	const char *id = rec_need_str(r, "id");
	char *coll;
	finish_graph(e);
	if (rec_flag(r, "runtimes_hidden"))
		rec_die(r, "its runtimes are hidden (a test split): nothing to score against");
	if (idmap_get(e->truth_ids, id))
		rec_die(r, "duplicate graph id in the truth");
	idmap_put(e->truth_ids, id, (void *)1);
	char err[1024];
	if (!(coll = truth_collection_of(r, id, err, sizeof err)))
		die(EX_DATA, "%s", err);
	if (strncmp(coll, "tile:", 5) != 0 && strncmp(coll, "layout:", 7) != 0)
		rec_die(r, "collection '%s' is neither tile:... nor layout:...", coll);
	e->cur_coll = coll_index(e, coll);
	e->tile = e->coll[e->cur_coll].agg.tile;
	free(coll);
	e->id = xstrdup(id);
	if (!rec_int(r, "n_configs", &e->n_expect))
		e->n_expect = -1;
	if (!rec_int(r, "n_configs_total", &e->n_total))
		e->n_total = -1;
	e->n = 0;
}

static void add_configs(eval_t *e, record_t *r)
{
	const char *id = rec_need_str(r, "id");
	if (!e->id || strcmp(id, e->id) != 0)
		rec_die(r, "configs chunk outside its graph (the graph being read is %s)",
			e->id ? e->id : "none");
	char err[1024];
	if (truth_add_chunk(r, e->tile, &e->idx, &e->y, &e->n, &e->cap, err, sizeof err) != 0)
		die(EX_DATA, "%s", err);
}

/* Predictions left over once the truth is done: graphs the truth lacks. */
static void leftovers(eval_t *e)
{
	if (e->o.csv) {
		for (size_t i = 0; i < e->csv.n; i++)
			if (!e->row_used[i]) {
				const csv_row_t *row = &e->csv.rows[i];
				if (!e->o.allow_missing)
					die(EX_DATA, "%s: line %zu: graph %.*s is not in the truth",
					    e->o.csv, row->line, (int)row->id_len, row->id);
				e->extra_graphs++;
			}
		return;
	}
	for (record_t *r; (r = predsrc_next(e->ps)) != NULL; rec_free(r)) {
		if (!e->o.allow_missing)
			rec_die(r, "this graph is not in the truth (%s)", e->truth_name);
		e->extra_graphs++;
	}
}

/* ---- output ---- */

static int is_canon(const char *name)
{
	for (int i = 0; i < NCANON; i++)
		if (strcmp(name, canon[i]) == 0)
			return 1;
	return 0;
}

/* Collections in report order: the five of the competition, then others. */
static size_t *report_order(const eval_t *e)
{
	size_t *o = xmallocarray(e->ncoll + 1, sizeof *o), k = 0;
	for (int c = 0; c < NCANON; c++)
		for (size_t i = 0; i < e->ncoll; i++)
			if (strcmp(e->coll[i].name, canon[c]) == 0)
				o[k++] = i;
	for (size_t i = 0; i < e->ncoll; i++)
		if (!is_canon(e->coll[i].name))
			o[k++] = i;
	return o;
}

static double overall(const eval_t *e)
{
	double s = 0;
	size_t k = 0;
	for (size_t i = 0; i < e->ncoll; i++) {
		double v = metrics_agg_mean(&e->coll[i].agg, M_SCORE);
		if (!isnan(v)) {
			s += v;
			k++;
		}
	}
	return k ? s / (double)k : NAN;
}

static void cell(double v, int avail)
{
	if (!avail)
		printf(" %9s", "-");
	else if (isnan(v))
		printf(" %9s", "nan");
	else
		printf(" %9.4f", v);
}

static void print_table(const eval_t *e)
{
	size_t *ord = report_order(e);
	int w = 20;
	for (size_t i = 0; i < e->ncoll; i++)
		if ((int)strlen(e->coll[i].name) > w)
			w = (int)strlen(e->coll[i].name);
	if (e->o.per_graph) {
		int gw = 24;
		for (size_t i = 0; i < e->ng; i++)
			if ((int)strlen(e->g[i].id) > gw)
				gw = (int)strlen(e->g[i].id);
		printf("%-*s %8s %7s", gw, "graph", "configs", "missing");
		for (int m = 0; m < M__N; m++)
			printf(" %9s", metrics_names[m]);
		printf("\n");
		for (size_t i = 0; i < e->ng; i++) {
			const metrics_graph_t *g = &e->g[i].m;
			printf("%-*s %8zu %7zu", gw, e->g[i].id, g->n, g->missing);
			for (int m = 0; m < M__N; m++)
				cell(g->v[m], (g->avail >> m) & 1);
			printf("\n");
		}
		printf("\n");
	}
	printf("%-*s %7s %9s", w, "collection", "graphs", "configs");
	for (int m = 0; m < M__N; m++)
		printf(" %9s", metrics_names[m]);
	printf("\n");
	for (size_t k = 0; k < e->ncoll; k++) {
		const coll_t *c = &e->coll[ord[k]];
		printf("%-*s %7zu %9zu", w, c->name, c->agg.graphs, c->agg.configs);
		for (int m = 0; m < M__N; m++)
			cell(metrics_agg_mean(&c->agg, m), c->agg.n[m] > 0);
		printf("\n");
	}
	printf("\noverall score %.4f: the mean of the scores of %zu collection%s (",
	       overall(e), e->ncoll, e->ncoll == 1 ? "" : "s");
	for (size_t k = 0; k < e->ncoll; k++)
		printf("%s%s", k ? ", " : "", e->coll[ord[k]].name);
	printf(")\n");
	/* One collection scored alone is the usual single-collection run, and
	 * its overall score is that collection's: the others' absence is
	 * expected, not worth a line.  With two to four the overall score is a
	 * mean of some collections, not the competition's mean of five: say
	 * which are left out. */
	if (e->ncoll > 1) {
		int first = 1;
		for (int c = 0; c < NCANON; c++) {
			int present = 0;
			for (size_t i = 0; i < e->ncoll; i++)
				present |= strcmp(e->coll[i].name, canon[c]) == 0;
			if (!present) {
				printf("%s%s", first ? "absent from the truth: " : ", ", canon[c]);
				first = 0;
			}
		}
		if (!first)
			printf("\n");
	}
	printf("score: tile = mean of 2 - ratio_5; layout = mean Kendall tau of the "
	       "predicted order (ties by config index)\n");
	for (size_t k = 0; k < e->ncoll; k++) {
		const metrics_agg_t *a = &e->coll[ord[k]].agg;
		if (a->missing_graphs || a->missing_configs)
			printf("note: %s: %zu graph%s and %zu config%s without a prediction, scored "
			       "pessimistically (--allow-missing)\n", e->coll[ord[k]].name,
			       a->missing_graphs, a->missing_graphs == 1 ? "" : "s",
			       a->missing_configs, a->missing_configs == 1 ? "" : "s");
		{
			int any = 0;
			for (int m = 0; m < M__N; m++)
				if (a->undefined[m]) {
					if (!any)
						printf("note: %s: undefined (constant runtimes or predictions, "
						       "or one config), counted as 0 (opa: 0.5), in graphs:",
						       e->coll[ord[k]].name);
					printf("%s %s %zu", any ? "," : "", metrics_names[m], a->undefined[m]);
					any = 1;
				}
			if (any)
				printf("\n");
		}
	}
	if (e->extra_graphs)
		printf("note: %zu predicted graph%s not in the truth, ignored (--allow-missing)\n",
		       e->extra_graphs, e->extra_graphs == 1 ? "" : "s");
	if (e->ignored_configs)
		printf("note: %zu predicted config%s of sampled truth graphs ignored\n",
		       e->ignored_configs, e->ignored_configs == 1 ? "" : "s");
	free(ord);
}

static void jnum(json_t *j, const char *key, double v, int avail)
{
	json_key(j, key);
	if (!avail || isnan(v))
		json_null(j);
	else
		json_f64(j, v);
}

static void print_json(const eval_t *e, FILE *fp)
{
	json_t j;
	size_t *ord = report_order(e);
	json_init(&j, fp, 2, 0);
	json_obj_begin(&j, 0);
	json_key(&j, "truth");
	json_str(&j, e->truth_name);
	json_key(&j, "source");
	json_str(&j, e->o.csv ? "csv" : "pred");
	json_key(&j, "collections");
	json_arr_begin(&j, 0);
	for (size_t k = 0; k < e->ncoll; k++) {
		const coll_t *c = &e->coll[ord[k]];
		json_obj_begin(&j, 0);
		json_key(&j, "collection");
		json_str(&j, c->name);
		json_key(&j, "kind");
		json_str(&j, c->agg.tile ? "tile" : "layout");
		json_key(&j, "graphs");
		json_uint(&j, c->agg.graphs);
		json_key(&j, "configs");
		json_uint(&j, c->agg.configs);
		json_key(&j, "missing_graphs");
		json_uint(&j, c->agg.missing_graphs);
		json_key(&j, "missing_configs");
		json_uint(&j, c->agg.missing_configs);
		for (int m = 0; m < M__N; m++)
			jnum(&j, metrics_names[m], metrics_agg_mean(&c->agg, m), c->agg.n[m] > 0);
		json_key(&j, "undefined");
		json_obj_begin(&j, 1);
		for (int m = 0; m < M__N; m++) {
			json_key(&j, metrics_names[m]);
			json_uint(&j, c->agg.undefined[m]);
		}
		json_obj_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_key(&j, "overall");
	json_obj_begin(&j, 0);
	jnum(&j, "score", overall(e), 1);
	json_key(&j, "collections");
	json_arr_begin(&j, 1);
	for (size_t k = 0; k < e->ncoll; k++)
		json_str(&j, e->coll[ord[k]].name);
	json_arr_end(&j);
	json_key(&j, "absent");
	json_arr_begin(&j, 1);
	for (int c = 0; c < NCANON; c++) {
		int present = 0;
		for (size_t i = 0; i < e->ncoll; i++)
			present |= strcmp(e->coll[i].name, canon[c]) == 0;
		if (!present)
			json_str(&j, canon[c]);
	}
	json_arr_end(&j);
	json_key(&j, "graphs");
	json_uint(&j, e->total_graphs);
	json_key(&j, "extra_graphs");
	json_uint(&j, e->extra_graphs);
	json_key(&j, "ignored_configs");
	json_uint(&j, e->ignored_configs);
	json_obj_end(&j);
	if (e->o.per_graph) {
		json_key(&j, "graphs");
		json_arr_begin(&j, 0);
		for (size_t i = 0; i < e->ng; i++) {
			const metrics_graph_t *g = &e->g[i].m;
			json_obj_begin(&j, 1);
			json_key(&j, "id");
			json_str(&j, e->g[i].id);
			json_key(&j, "collection");
			json_str(&j, e->coll[e->g[i].coll].name);
			json_key(&j, "configs");
			json_uint(&j, g->n);
			json_key(&j, "missing");
			json_uint(&j, g->missing);
			json_key(&j, "no_pred");
			json_bool(&j, g->no_pred);
			for (int m = 0; m < M__N; m++)
				jnum(&j, metrics_names[m], g->v[m], (g->avail >> m) & 1);
			json_obj_end(&j);
		}
		json_arr_end(&j);
	}
	json_obj_end(&j);
	json_newline(&j);
	json_free(&j);
	free(ord);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"allow-missing", no_argument, 0, 'm'},
		{"csv", required_argument, 0, 'c'},
		{"help", no_argument, 0, 'h'},
		{"json", no_argument, 0, 'j'},
		{"json-out", required_argument, 0, 'J'},
		{"per-graph", no_argument, 0, 'g'},
		{"ranks", required_argument, 0, 'r'},
		{"truth", required_argument, 0, 't'},
		{"version", no_argument, 0, 'V'},
		{0, 0, 0, 0}
	};
	static char *stdin_only[] = {"-"};
	eval_t e;
	sreader_t *sr;
	record_t *r;
	int ch;

	setprogname_argv(argv);
	usage_init(usage_line);
	memset(&e, 0, sizeof e);
	e.o.truth = "-";
	while ((ch = getopt_long(argc, argv, "c:ghjmr:t:V", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': e.o.csv = optarg; break;
		case 'g': e.o.per_graph = 1; break;
		case 'h': usage_help(help_text);
		case 'j': e.o.json = 1; break;
		case 'm': e.o.allow_missing = 1; break;
		case 'J': e.o.json_out = optarg; break;
		case 'r': e.o.ranks = optarg; break;
		case 't': e.o.truth = optarg; break;
		case 'V': print_version();
		default: usage_error(NULL);
		}
	}
	e.o.pred = argv + optind;
	e.o.npred = (size_t)(argc - optind);
	if (e.o.csv && e.o.npred) {
		usage_error("--csv and PRED streams are exclusive");
	}
	if (!e.o.csv && !e.o.npred) {
		e.o.pred = stdin_only;
		e.o.npred = 1;
	}
	{
		int stdins = strcmp(e.o.truth, "-") == 0;
		if (e.o.csv)
			stdins += strcmp(e.o.csv, "-") == 0;
		for (size_t i = 0; !e.o.csv && i < e.o.npred; i++)
			stdins += strcmp(e.o.pred[i], "-") == 0;
		if (stdins > 1) {
			usage_error("only one input can be stdin: give --truth FILE");
		}
	}

	e.truth_ids = idmap_new();
	sr = sr_open(e.o.truth);
	e.truth_name = sr_name(sr);
	if (e.o.csv) {
		size_t len;
		char err[512];
		e.csvbuf = csv_slurp(e.o.csv, &len);
		if (csv_parse(e.csvbuf, len, &e.csv, err, sizeof err) != 0)
			die(EX_DATA, "%s: %s", e.o.csv, err);
		e.rows = idmap_new();
		e.row_used = xcalloc(e.csv.n + 1, 1);
		for (size_t i = 0; i < e.csv.n; i++) {
			const csv_row_t *row = &e.csv.rows[i];
			char *id = xmalloc(row->id_len + 1);
			void *old;
			memcpy(id, row->id, row->id_len);
			id[row->id_len] = '\0';
			old = idmap_put(e.rows, id, (void *)(uintptr_t)(i + 1));
			if (old)
				die(EX_DATA, "%s: line %zu: duplicate ID %s (first on line %zu)",
				    e.o.csv, row->line, id, e.csv.rows[(uintptr_t)old - 1].line);
			free(id);
		}
	} else {
		e.ps = predsrc_open(e.o.pred, e.o.npred);
	}

	if (e.o.ranks)
		e.ranks = of_stdio(e.ranks_out = of_open(e.o.ranks));
	r = sr_next(sr);  /* the header: checked by the reader */
	rec_free(r);
	while ((r = sr_next(sr)) != NULL) {
		if (rec_is(r, "graph"))
			start_graph(&e, r);
		else if (rec_is(r, "configs"))
			add_configs(&e, r);
		rec_free(r);
	}
	finish_graph(&e);
	if (e.total_graphs == 0)
		die(EX_DATA, "%s: no graphs in the truth: nothing to score", e.truth_name);
	leftovers(&e);
	if (e.ranks) {
		of_commit(e.ranks_out);
	}

	if (e.o.json_out) {
		outfile_t *of = of_open(e.o.json_out);
		print_json(&e, of_stdio(of));
		of_commit(of);
	}
	if (e.o.json)
		print_json(&e, stdout);
	else
		print_table(&e);

	sr_close(sr);
	predsrc_close(e.ps);
	idmap_free(e.truth_ids);
	idmap_free(e.rows);
	csv_free(&e.csv);
	free(e.csvbuf);
	free(e.row_used);
	for (size_t i = 0; i < e.ncoll; i++)
		free(e.coll[i].name);
	free(e.coll);
	for (size_t i = 0; i < e.ng; i++)
		free(e.g[i].id);
	free(e.g);
	free(e.idx);
	free(e.y);
	close_stdout();
	return EX_OK;
}
