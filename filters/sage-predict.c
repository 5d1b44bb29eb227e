/* sage-predict: score every config of every graph with a model written by
 * sage-train; one `pred` record per graph, keyed by the original config
 * indices.  See docs/man/sage-predict.1. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "history.h"
#include "nn.h"
#include "progress.h"
#include "model.h"
#include "stream.h"

enum { OPT_FORCE = 256 };   /* long only: no -f (see the man page) */

static const char usage_line[] =
	"usage: sage-predict --model MODEL [--batch N] [--threads N] [--force] [FILE]\n";

static const char help_text[] =
	"Score every config of every graph of a stream (FILE or stdin) with MODEL, a\n"
	"model file written by sage-train; write one pred record per graph to stdout:\n"
	"{id, collection, config_index (i64), score (f32)}, lower = predicted faster.\n"
	"Configs that encode-base7 --dedup merged get their row's score under every\n"
	"original config_index.\n"
	"\n"
	"  -m, --model MODEL    the model file (required)\n"
	"  -b, --batch N        configs scored together (default: the model's\n"
	"                       --configs-per-graph; cross-config attention sees a batch)\n"
	"  -t, --threads N      threads (default: all cores)\n"
	"      --force          score a stream prepared differently from the model's\n"
	"                       training data (warn once instead of refusing);\n"
	"                       also write the stream to a terminal\n"
	"  -h, --help           this help\n"
	"  -V, --version        print the version\n"
	"\n"
	"The stream must be prepared as the model's training data was: the same\n"
	"prune-hop -k/-d, dijkstra-compress -w, encode-base7 -c and hlo2mp --pad,\n"
	"in the same order, as the two header histories record them; config\n"
	"sampling, --dedup, file names and thread counts do not count, nor for a\n"
	"tile model the reducers and encode-base7 (tile graphs pass through).\n"
	"Models written before sage-train recorded its data's history are not\n"
	"checked.\n"
	"\n"
	"Memory: one graph, one batch of configs, the activations of a few of them\n"
	"at a time and, per graph, 12 bytes per config (its index and score) until\n"
	"the graph's pred record is written.\n"
	"Exit status: 0 ok, 1 bad data, 2 bad usage, 3 I/O error.\n";

/* One graph in flight: its structure, the batch being filled, and the
 * scores and original indices of the rows scored so far. */
typedef struct {
	int have;
	model_graph_t g;
	char *collection;
	size_t B, pending;
	uint8_t *sym;          /* (B, nc, 18) */
	float *tf;             /* (B, 24) */
	float *scores;         /* (rows) */
	size_t rows, rcap;
	int64_t *off;          /* (rows + 1) into idx */
	int64_t *idx;          /* the original config indices, row by row */
	size_t nidx, icap;
} cur_t;

/* Refuse (or with --force, warn about) a stream whose header history says
 * it was prepared otherwise than the model's training data.  A model without
 * data_history (written before it was recorded) is not checked. */
static void check_preparation(const char *model, const model_t *m, record_t *const *extra,
			      size_t nextra, const record_t *hdr, const char *name, int force)
{
	const field_t *mh = NULL;
	for (size_t i = 0; i < nextra && !mh; i++)
		if (rec_is(extra[i], "training"))
			mh = rec_get(extra[i], "data_history");
	if (!mh)
		return;
	char err[256], diff[1200];
	hist_prep_t a, b;
	int tile = m->hp.kind == MODEL_TILE;
	if (mh->kind != V_RAW ||
	    hist_prep_parse(&a, mh->v.raw.bytes, mh->v.raw.len, tile, err, sizeof err) != 0)
		die(EX_DATA, "%s: training record: data_history: %s", model,
		    mh->kind != V_RAW ? "not a list" : err);
	if (hist_prep_of_header(&b, hdr, tile, err, sizeof err) != 0)
		die(EX_DATA, "%s: header: %s", name, err);
	if (hist_prep_diff(&a, &b, diff, sizeof diff)) {
		if (!force)
			die(EX_DATA, "%s: prepared differently from the model's training data: %s "
			    "(--force scores it anyway)", name, diff);
		warnx("%s: prepared differently from the model's training data: %s (--force: "
		      "scoring it anyway)", name, diff);
	}
	hist_prep_free(&a);
	hist_prep_free(&b);
}

static void flush_batch(model_t *m, model_work_t *w, cur_t *c)
{
	if (!c->pending)
		return;
	model_batch_t b = { c->pending, c->sym, c->tf };
	float *out = c->scores + c->rows - c->pending;
	model_forward(m, w, &c->g, &b, out, 0);
	for (size_t i = 0; i < c->pending; i++)
		if (!isfinite(out[i]))
			die(EX_DATA, "graph %s: the model gave a non-finite score "
			    "(a broken model file?)", c->g.id);
	c->pending = 0;
}

static void add_chunk(model_t *m, model_work_t *w, cur_t *c, record_t *r)
{
	model_chunk_t k;
	model_graph_t *g = &c->g;
	size_t w3 = (size_t)g->nc * MODEL_NCODE;
	model_chunk_from_record(&k, r, g, m->hp.kind);
	if (k.tfeat)
		model_standardize(k.tfeat, k.count, MODEL_NTILE, m->tile_mean, m->tile_std);
	size_t ndup = k.dup_off ? (size_t)k.dup_off[k.count] : k.count;
	if (c->rows + k.count + 1 > c->rcap) {
		while (c->rows + k.count + 1 > c->rcap)
			c->rcap = c->rcap ? 2 * c->rcap : 1024;
		c->scores = xreallocarray(c->scores, c->rcap, sizeof *c->scores);
		c->off = xreallocarray(c->off, c->rcap + 1, sizeof *c->off);
	}
	if (c->nidx + ndup > c->icap) {
		while (c->nidx + ndup > c->icap)
			c->icap = c->icap ? 2 * c->icap : 1024;
		c->idx = xreallocarray(c->idx, c->icap, sizeof *c->idx);
	}
	for (size_t i = 0; i < k.count; i++) {
		if (m->hp.kind == MODEL_LAYOUT)
			model_symbols(c->sym + c->pending * w3 * 6, k.codes + i * w3, w3);
		else
			memcpy(c->tf + c->pending * MODEL_NTILE, k.tfeat + i * MODEL_NTILE,
			       MODEL_NTILE * sizeof *c->tf);
		if (k.dup_off)
			for (int64_t j = k.dup_off[i]; j < k.dup_off[i + 1]; j++)
				c->idx[c->nidx++] = k.dup_idx[j];
		else
			c->idx[c->nidx++] = k.cidx[i];
		c->off[++c->rows] = (int64_t)c->nidx;
		if (++c->pending == c->B)
			flush_batch(m, w, c);
	}
	model_chunk_free(&k);
}

static void finish_graph(model_t *m, model_work_t *w, cur_t *c, swriter_t *sw)
{
	if (!c->have)
		return;
	flush_batch(m, w, c);
	tensor_t *ix = tensor_new1(DT_I64, (int64_t)c->nidx);
	tensor_t *sc = tensor_new1(DT_F32, (int64_t)c->nidx);
	memcpy(ix->data, c->idx, c->nidx * sizeof *c->idx);
	for (size_t r = 0; r < c->rows; r++)
		for (int64_t j = c->off[r]; j < c->off[r + 1]; j++)
			((float *)sc->data)[j] = c->scores[r];
	record_t *p = rec_new("pred");
	rec_set_str(p, "id", c->g.id);
	if (c->collection)
		rec_set_str(p, "collection", c->collection);
	rec_set_tensor(p, "config_index", ix);
	rec_set_tensor(p, "score", sc);
	sw_write(sw, p);
	rec_free(p);
	model_graph_free(&c->g);
	free(c->collection);
	free(c->sym);
	c->collection = NULL;
	c->sym = NULL;
	c->have = 0;
	c->rows = c->nidx = c->pending = 0;
}

static void start_graph(model_t *m, cur_t *c, record_t *r)
{
	int kind = model_record_kind(r);
	if (kind != m->hp.kind)
		rec_die(r, "a %s graph, but the model is for %s graphs",
			kind == MODEL_TILE ? "tile" : "layout",
			m->hp.kind == MODEL_TILE ? "tile" : "layout");
	model_graph_from_record(&c->g, r, kind);
	model_standardize(c->g.feat, (size_t)c->g.n, MODEL_NFEAT, m->feat_mean, m->feat_std);
	model_graph_set_pe(&c->g, m->hp.pe_k);
	const char *coll = rec_str(r, "collection");
	c->collection = coll ? xstrdup(coll) : NULL;
	c->sym = xmallocarray(c->B * (size_t)c->g.nc * MODEL_NSLOT + 1, 1);
	c->off[0] = 0;
	c->have = 1;
}

/* The status line on a terminal (lib/progress.h): graphs done, configs
 * scored, time; no total, since the stream is not read ahead. */
static void show_progress(progress_t *p, unsigned long long graphs, unsigned long long configs)
{
	char line[160], g[32], k[32], t[32];
	snprintf(line, sizeof line, "sage-predict: %s graphs  %s configs scored  %s",
		 progress_count(g, sizeof g, graphs), progress_count(k, sizeof k, configs),
		 progress_secs(t, sizeof t, progress_elapsed(p)));
	progress_show(p, line);
}

/* ---- the loop (stream_filter's hooks) ---- */

typedef struct {
	const char *model_path;
	model_t *m;
	model_work_t *w;
	record_t **extra;        /* the model's records besides its weights */
	size_t nextra;
	int force;
	cur_t cur;
	progress_t prog;
	unsigned long long ngraphs, nconfigs;   /* done, for prog */
} predict_t;

/* The input's header: was it prepared as the model's training data was? */
static void on_begin(record_t *hdr, const char *input, void *ctx)
{
	predict_t *P = ctx;
	check_preparation(P->model_path, P->m, P->extra, P->nextra, hdr, input, P->force);
}

/* Graphs and configs are scored; a graph's pred is written when the next
 * graph (or the end) comes; the input's records are not passed on. */
static int on_record(record_t *r, swriter_t *sw, void *ctx)
{
	predict_t *P = ctx;
	cur_t *c = &P->cur;
	if (rec_is(r, "graph")) {
		if (c->have) {
			P->ngraphs++;
			P->nconfigs += c->nidx;
		}
		finish_graph(P->m, P->w, c, sw);
		start_graph(P->m, c, r);
	} else if (rec_is(r, "configs")) {
		if (!c->have)
			rec_die(r, "configs record before any graph");
		add_chunk(P->m, P->w, c, r);
	}
	if (progress_due(&P->prog))
		show_progress(&P->prog, P->ngraphs, P->nconfigs + c->nidx);
	return SF_DROP;
}

static void on_end(swriter_t *sw, void *ctx)
{
	predict_t *P = ctx;
	finish_graph(P->m, P->w, &P->cur, sw);
	progress_end(&P->prog);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"batch", required_argument, NULL, 'b'},
		{"force", no_argument, NULL, OPT_FORCE},
		{"help", no_argument, NULL, 'h'},
		{"model", required_argument, NULL, 'm'},
		{"threads", required_argument, NULL, 't'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *path = "-", *model = NULL;
	long batch = 0;
	int threads = 0, force = 0, c;

	nn_exec_env(argv);   /* may execute the program again, see nn.h */
	setprogname_argv(argv);
	usage_init(usage_line);
	while ((c = getopt_long(argc, argv, "b:hm:t:V", longopts, NULL)) != -1) {
		switch (c) {
		case 'b': batch = parse_ll("--batch", optarg, 1, 1000000); break;
		case OPT_FORCE: force = 1; break;
		case 'h': usage_help(help_text);
		case 'm': model = optarg; break;
		case 't': threads = (int)parse_ll("--threads", optarg, 1, 1024); break;
		case 'V': print_version();
		default: usage_error(NULL);
		}
	}
	if (!model)
		usage_error("--model MODEL is required");
	if (argc - optind > 1)
		usage_error("at most one input stream");
	if (optind < argc)
		path = argv[optind];
	stream_refuse_tty(1, force, "--force");
	nn_set_threads(threads);

	predict_t P = { .model_path = model, .force = force };
	P.m = model_load(model, &P.extra, &P.nextra);
	P.w = model_work_new(0);   /* inference keeps no activations */
	cur_t *cur = &P.cur;
	cur->B = batch ? (size_t)batch : (size_t)P.m->hp.batch;
	cur->tf = xmallocarray(cur->B * MODEL_NTILE, sizeof *cur->tf);
	cur->rcap = 1024;
	cur->scores = xmallocarray(cur->rcap, sizeof *cur->scores);
	cur->off = xmallocarray(cur->rcap + 1, sizeof *cur->off);
	progress_init(&P.prog, 2, 0);   /* no -q: the line is only ever on a terminal */

	stream_filter(path, argc, argv, &(stream_hooks_t){ .begin = on_begin,
		.record = on_record, .end = on_end, .ctx = &P });

	for (size_t i = 0; i < P.nextra; i++)
		rec_free(P.extra[i]);
	free(P.extra);
	free(cur->tf);
	free(cur->scores);
	free(cur->off);
	free(cur->idx);
	model_work_free(P.w);
	model_free(P.m);
	return EX_OK;
}
