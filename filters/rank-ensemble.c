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
 * first (every input is then held whole). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "err.h"
#include "metrics.h"
#include "stream.h"

static const char usage_line[] =
	"usage: rank-ensemble [-T] [-w W1,W2,...] [-n rank|zscore|minmax] [-c FILE.csv] "
	"[-k K] [-o FILE] PRED...\n";

static void usage(void)
{
	printf("%s", usage_line);
	printf("Combine pred streams: per-graph normalisation, weighted mean.\n"
	       "\n"
	       "  -w, --weights W1,...  one weight per PRED, >= 0 (default all 1)\n"
	       "  -n, --norm HOW        rank (default): (average rank - 1) / (n - 1);\n"
	       "                        zscore: (s - mean) / sd; minmax: (s - min) / (max - min)\n"
	       "  -T, --tta             average repeated records of a graph within one\n"
	       "                        PRED (test-time augmentation), each normalised;\n"
	       "                        holds every graph's scores in memory\n"
	       "  -c, --csv FILE        write the Kaggle submission (ID,TopConfigs) to\n"
	       "                        FILE, atomically\n"
	       "  -k, --top K           configs per tile row of the CSV (default 5);\n"
	       "                        layout rows list every config, best first\n"
	       "  -o, --output FILE     write the pred stream to FILE, atomically (\"-\":\n"
	       "                        stdout); default stdout unless --csv is given\n"
	       "  -h, --help            this help\n"
	       "  -V, --version         the version\n"
	       "\n"
	       "Every graph must be in every PRED with the same config_index set; a\n"
	       "mismatch is an error naming the graph.  Exit: 0 ok, 1 bad or mismatched\n"
	       "data, 2 usage, 3 I/O.\n");
}

typedef struct {
	double *w;
	double wsum;
	int norm, tta;
	long long top;
	const char *csv, *out;
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
	char *sw_tmp;
	int sw_fd;
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

/* --tta: every input read whole, repeats of a graph averaged. */
static void run_tta(out_t *out, predsrc_t **ps)
{
	const opts_t *o = &out->o;
	idmap_t **m = xcalloc(o->nin, sizeof *m);
	char **ids = NULL;
	size_t nids = 0, cap = 0;
	view_t **v = xcalloc(o->nin, sizeof *v);
	record_t *r;

	for (size_t i = 0; i < o->nin; i++) {
		m[i] = idmap_new();
		predsrc_allow_repeats(ps[i], 1);
		while ((r = predsrc_next(ps[i])) != NULL) {
			char *id = xstrdup(rec_str(r, "id"));
			view_t *old = idmap_get(m[i], id);
			if (!old && i == 0) {
				if (nids == cap) {
					cap = cap ? 2 * cap : 64;
					ids = xreallocarray(ids, cap, sizeof *ids);
				}
				ids[nids++] = xstrdup(id);
			}
			if (!old && i > 0 && !idmap_get(m[0], id))
				die(EX_DATA, "graph %s: in %s but not in %s", id, o->in[i], o->in[0]);
			idmap_put(m[i], id, view_add(old, r, o, o->in[i]));
			free(id);
		}
	}
	for (size_t g = 0; g < nids; g++) {
		for (size_t i = 0; i < o->nin; i++) {
			v[i] = idmap_get(m[i], ids[g]);
			if (!v[i])
				die(EX_DATA, "graph %s: in %s but not in %s", ids[g], o->in[0], o->in[i]);
		}
		emit(out, ids[g], v);
		for (size_t i = 0; i < o->nin; i++)
			view_free(idmap_del(m[i], ids[g]));
		free(ids[g]);
	}
	for (size_t i = 0; i < o->nin; i++)
		idmap_free(m[i]);
	free(m);
	free(ids);
	free(v);
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
		die(EX_USAGE, "--weights: bad value '%s' (want numbers separated by commas)", s);
	o->nin = k;  /* checked against the inputs by the caller */
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"csv", required_argument, 0, 'c'},
		{"help", no_argument, 0, 'h'},
		{"norm", required_argument, 0, 'n'},
		{"output", required_argument, 0, 'o'},
		{"top", required_argument, 0, 'k'},
		{"tta", no_argument, 0, 'T'},
		{"version", no_argument, 0, 'V'},
		{"weights", required_argument, 0, 'w'},
		{0, 0, 0, 0}
	};
	out_t out;
	opts_t *o = &out.o;
	predsrc_t **ps;
	size_t nw = 0, stdins = 0;
	int ch;

	setprogname(argv[0]);
	memset(&out, 0, sizeof out);
	o->top = 5;
	o->norm = NORM_RANK;
	while ((ch = getopt_long(argc, argv, "c:hk:n:o:TVw:", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': o->csv = optarg; break;
		case 'h': usage(); close_stdout(); return EX_OK;
		case 'k': o->top = parse_ll("--top", optarg, 1, 1LL << 40); break;
		case 'n':
			if (strcmp(optarg, "rank") == 0)
				o->norm = NORM_RANK;
			else if (strcmp(optarg, "zscore") == 0)
				o->norm = NORM_ZSCORE;
			else if (strcmp(optarg, "minmax") == 0)
				o->norm = NORM_MINMAX;
			else
				die(EX_USAGE, "--norm: bad value '%s' (want rank, zscore or minmax)",
				    optarg);
			break;
		case 'o': o->out = optarg; break;
		case 'T': o->tta = 1; break;
		case 'V': print_version();
		case 'w':
			free(o->w);
			parse_weights(o, optarg);
			nw = o->nin;
			break;
		default: fputs(usage_line, stderr); return EX_USAGE;
		}
	}
	o->in = argv + optind;
	o->nin = (size_t)(argc - optind);
	if (o->nin == 0) {
		fprintf(stderr, "%s: no PRED stream given\n%s", argv0, usage_line);
		return EX_USAGE;
	}
	if (o->w && nw != o->nin)
		die(EX_USAGE, "--weights: %zu weights for %zu PRED streams", nw, o->nin);
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
		die(EX_USAGE, "--weights: the weights sum to 0");
	if (stdins > 1 || (o->csv && strcmp(o->csv, "-") == 0))
		die(EX_USAGE, "only one PRED can be stdin, and --csv needs a file name");

	ps = xcalloc(o->nin, sizeof *ps);
	for (size_t i = 0; i < o->nin; i++)
		ps[i] = predsrc_open(&o->in[i], 1);
	if (!o->csv || o->out) {
		record_t *hdr = predsrc_header(ps[0], 0);
		if (o->out && strcmp(o->out, "-") != 0)
			out.sw = sw_open_fd(out.sw_fd = csv_atomic_open(o->out, &out.sw_tmp),
					    o->out);
		else
			out.sw = sw_open_fd(1, "stdout");
		header_append(hdr, argv0, argc, argv);
		sw_write(out.sw, hdr);
	}
	if (o->csv)
		out.cw = csvw_open(o->csv);

	if (o->tta)
		run_tta(&out, ps);
	else
		run_stream(&out, ps);
	if (out.graphs == 0)
		die(EX_DATA, "%s: no pred records: nothing to combine", o->in[0]);

	if (out.sw) {
		sw_end(out.sw);
		if (out.sw_tmp && fsync(out.sw_fd) != 0)
			edie(EX_IO, "%s: write error", out.sw_tmp);
		sw_close(out.sw);
		if (out.sw_tmp)
			csv_atomic_commit(out.sw_tmp, o->out);
	}
	if (out.cw)
		csvw_commit(out.cw);
	for (size_t i = 0; i < o->nin; i++)
		predsrc_close(ps[i]);
	free(ps);
	free(o->w);
	return EX_OK;
}
