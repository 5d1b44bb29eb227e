/* tpugen: write a synthetic TpuGraphs dataset in the published .npz format.
 *
 * OUT/npz/tile/xla/{train,valid,test}/NAME.npz and
 * OUT/npz/layout/{xla,nlp}/{random,default}/{train,valid,test}/NAME.npz,
 * every key with the published dtype and shape.  Graphs come from
 * lib/tpugen_graph.c, runtimes from the cost model in lib/tpugen_cost.c;
 * docs/tpugen.md describes both, and the worlds (--world): cost models of
 * different machines over the same graphs and configs.  Each file is drawn from its own random
 * stream (seed, collection, split, index), so the output is the same
 * whatever the thread count. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <omp.h>

#include "err.h"
#include "npzw.h"
#include "rng.h"
#include "tpugen.h"

static const char usage_line[] =
	"usage: tpugen --out DIR [--scale tiny|small|medium|full] [--seed N]\n"
	"              [--world tpu|compute|copy|membound] [--collections LIST]\n"
	"              [--compress stored|deflate|mixed] [--deflate isal|zlib]\n"
	"              [--level N] [--limit N] [--threads N] [--verbose]\n";

static const char help_text[] =
	"Write a synthetic TpuGraphs dataset (.npz files) under DIR/npz, and the\n"
	"test split's hidden runtimes under DIR/truth/npz.\n"
	"\n"
	"  -o, --out DIR          output directory (created)\n"
	"      --scale NAME       tiny (tests), small (the demo, default), medium\n"
	"                         (5x small's tile kernels), full (the real\n"
	"                         dataset's counts and sizes)\n"
	"  -s, --seed N           random seed (default 1); same seed, same arrays\n"
	"                         (and bytes, with the same DEFLATE engine)\n"
	"  -w, --world NAME       the machine the runtimes come from: tpu (default),\n"
	"                         compute, copy or membound (docs/tpugen.md); same\n"
	"                         graphs and layout configs in every world\n"
	"  -c, --collections LIST comma-separated: tile:xla, layout:xla:random,\n"
	"                         layout:xla:default, layout:nlp:random,\n"
	"                         layout:nlp:default, or all (default all)\n"
	"  -z, --compress MODE    stored (numpy savez), deflate (savez_compressed,\n"
	"                         default), mixed (each file either, at random)\n"
	"      --deflate ENGINE   isal (ISA-L's igzip: the default when built with\n"
	"                         it, 5x faster) or zlib (numpy's bytes at the same\n"
	"                         level); same arrays either way\n"
	"  -L, --level N          level of deflate members: zlib 0-9, isal 0-3\n"
	"                         (default 1)\n"
	"  -l, --limit N          at most N graphs per collection split\n"
	"  -t, --threads N        threads (default: all cores, OpenMP's default);\n"
	"                         -j, --jobs N and -S N (--seed) are old spellings\n"
	"  -v, --verbose          one line per file on stderr\n"
	"  -h, --help             this help\n"
	"  -V, --version          print the version\n"
	"\n"
	"Exit status: 0 ok, 1 bad data, 2 bad usage, 3 I/O error.\n";

enum { C_TILE, C_XLA_RANDOM, C_XLA_DEFAULT, C_NLP_RANDOM, C_NLP_DEFAULT, C__N };
static const char *const coll_name[C__N] = {
	"tile:xla", "layout:xla:random", "layout:xla:default",
	"layout:nlp:random", "layout:nlp:default"
};
static const char *const coll_dir[C__N] = {
	"tile/xla", "layout/xla/random", "layout/xla/default",
	"layout/nlp/random", "layout/nlp/default"
};
static const char *const split_name[3] = {"train", "valid", "test"};
enum { Z_STORED, Z_DEFLATE, Z_MIXED };
/* zlib level 1, not numpy's 6: the same DEFLATE format at a third of the
 * compression time, files 1.8x larger (docs/tpugen.md, "The .npz container") */
enum { DEFAULT_LEVEL = 1 };

typedef struct {
	int64_t count[3];          /* graphs per split */
	int64_t nmin, nmax;        /* nodes */
	int64_t cmin, cmax;        /* configs */
} scale_t;

/* [scale][tile, layout xla, layout nlp] */
enum { SC_TINY, SC_SMALL, SC_MEDIUM, SC_FULL, SC__N };
static const scale_t scales[SC__N][3] = {
	{ /* tiny: seconds, for tests */
		{{3, 2, 2}, 5, 30, 20, 60},
		{{2, 1, 1}, 80, 300, 16, 40},
		{{2, 1, 1}, 150, 400, 16, 40},
	},
	{ /* small: the demo */
		{{60, 16, 16}, 5, 200, 100, 800},
		{{20, 8, 8}, 300, 3000, 100, 1000},
		{{20, 8, 8}, 500, 3000, 100, 1000},
	},
	{ /* medium: small's sizes, 5x its tile kernels, more layout programs */
		{{300, 60, 60}, 5, 200, 100, 800},
		{{30, 8, 8}, 300, 3000, 100, 1000},
		{{30, 8, 8}, 500, 3000, 100, 1000},
	},
	{ /* full: the published dataset's counts and size ranges */
		{{5709, 676, 844}, 5, 1000, 50, 3000},
		{{69, 7, 8}, 1000, 40000, 1000, 20000},
		{{207, 20, 17}, 2000, 40000, 1000, 20000},
	},
};

typedef struct {
	const char *out;
	const tg_world_t *world;
	int scale, compress, engine, level, verbose, jobs;
	uint64_t seed;
	int64_t limit;
	int want[C__N];
} opts_t;

typedef struct {
	int coll, split;
	int64_t index;
	char err[700];
	int failed;
} item_t;

static void parse_collections(opts_t *o, const char *s)
{
	char *dup = xstrdup(s), *tok, *save = NULL;
	memset(o->want, 0, sizeof o->want);
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int found = 0;
		if (strcmp(tok, "all") == 0) {
			for (int c = 0; c < C__N; c++)
				o->want[c] = 1;
			continue;
		}
		for (int c = 0; c < C__N; c++)
			if (strcmp(tok, coll_name[c]) == 0)
				o->want[c] = found = 1;
		if (!found)
			usage_error("--collections: unknown collection '%s'", tok);
	}
	free(dup);
}

static void parse_args(opts_t *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{"collections", required_argument, 0, 'c'},
		{"compress", required_argument, 0, 'z'},
		{"deflate", required_argument, 0, 'D'},
		{"help", no_argument, 0, 'h'},
		{"jobs", required_argument, 0, 't'}, /* the old spelling of --threads */
		{"level", required_argument, 0, 'L'},
		{"limit", required_argument, 0, 'l'},
		{"out", required_argument, 0, 'o'},
		{"scale", required_argument, 0, 'a'},
		{"seed", required_argument, 0, 's'},
		{"threads", required_argument, 0, 't'},
		{"verbose", no_argument, 0, 'v'},
		{"version", no_argument, 0, 'V'},
		{"world", required_argument, 0, 'w'},
		{0, 0, 0, 0},
	};
	int ch;
	memset(o, 0, sizeof *o);
	o->scale = SC_SMALL;
	o->seed = 1;
	o->world = tg_world(TW_TPU);
	o->compress = Z_DEFLATE;
	o->level = DEFAULT_LEVEL;
	o->engine = npzw_have_isal() ? NPZW_ISAL : NPZW_ZLIB;
	o->limit = -1;
	for (int c = 0; c < C__N; c++)
		o->want[c] = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:z:hj:L:l:o:s:S:t:vVw:", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': parse_collections(o, optarg); break;
		case 'z':
			if (strcmp(optarg, "stored") == 0) o->compress = Z_STORED;
			else if (strcmp(optarg, "deflate") == 0) o->compress = Z_DEFLATE;
			else if (strcmp(optarg, "mixed") == 0) o->compress = Z_MIXED;
			else usage_error("--compress: want stored, deflate or mixed");
			break;
		case 'D':
			if (strcmp(optarg, "zlib") == 0) o->engine = NPZW_ZLIB;
			else if (strcmp(optarg, "isal") == 0) o->engine = NPZW_ISAL;
			else usage_error("--deflate: want isal or zlib");
			if (o->engine == NPZW_ISAL && !npzw_have_isal())
				usage_error("--deflate isal: this build has no ISA-L (install "
					    "libisal-dev and rebuild)");
			break;
		case 'h': usage_help(help_text);
		case 'j': /* -j, --jobs: the old spellings of -t, --threads */
		case 't': o->jobs = (int)parse_ll("--threads", optarg, 1, 1024); break;
		case 'L': o->level = (int)parse_ll("--level", optarg, 0, 9); break;
		case 'l': o->limit = parse_ll("--limit", optarg, 0, INT32_MAX); break;
		case 'o': o->out = optarg; break;
		case 'a':
			if (strcmp(optarg, "tiny") == 0) o->scale = SC_TINY;
			else if (strcmp(optarg, "small") == 0) o->scale = SC_SMALL;
			else if (strcmp(optarg, "medium") == 0) o->scale = SC_MEDIUM;
			else if (strcmp(optarg, "full") == 0) o->scale = SC_FULL;
			else usage_error("--scale: want tiny, small, medium or full");
			break;
		case 's': /* -S: its old spelling */
		case 'S': o->seed = (uint64_t)parse_ll("--seed", optarg, 0, INT64_MAX); break;
		case 'v': o->verbose = 1; break;
		case 'V': print_version();
		case 'w':
			if (!(o->world = tg_world_find(optarg)))
				usage_error("--world: unknown world '%.64s'; want tpu, compute, copy "
					    "or membound", optarg);
			break;
		case ':': usage_error("option %s needs a value", argv[optind - 1]);
		default: usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument");
	if (o->engine == NPZW_ISAL && o->level > NPZW_ISAL_MAX_LEVEL)
		usage_error("--level %d: ISA-L's levels are 0-%d (--deflate zlib for 0-9)",
			    o->level, NPZW_ISAL_MAX_LEVEL);
	if (!o->out || !*o->out)
		usage_error("--out DIR is required");
}

static void mkdirs(const char *path)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0777) != 0 && errno != EEXIST)
			edie(EX_IO, "%s: mkdir", p);
		*s = '/';
	}
	if (mkdir(p, 0777) != 0 && errno != EEXIST)
		edie(EX_IO, "%s: mkdir", p);
	free(p);
}

/* ---- one file ---- */

typedef struct {
	npzw_t *z;
	int method;
} out_t;

static int put(out_t *o, const char *key, const char *descr, int ndim,
	       const int64_t *shape, const void *data)
{
	return npzw_add(o->z, key, descr, ndim, shape, data, o->method);
}

/* Open PATH's temporary file; the compression: the option's, or either at
 * random for --compress mixed.  On failure the message goes to it->err. */
static int open_out(const opts_t *o, rng_t *fr, const char *path, out_t *out, item_t *it)
{
	out->method = o->compress == Z_STORED ? NPZW_STORED
		: o->compress == Z_DEFLATE ? NPZW_DEFLATE
		: rng_bernoulli(fr, 0.5) ? NPZW_DEFLATE : NPZW_STORED;
	out->z = npzw_open(path);
	if (!out->z) {
		snprintf(it->err, sizeof it->err, "%.400s: %s", path, strerror(errno));
		return -1;
	}
	/* local headers as the published files have them (lib/npzw.h) */
	npzw_set_zip64_local(out->z, 1);
	if (npzw_set_engine(out->z, o->engine) || npzw_set_level(out->z, o->level)) {
		snprintf(it->err, sizeof it->err, "%s", npzw_error(out->z));
		npzw_abort(out->z);
		return -1;
	}
	return 0;
}

/* Finish the file: rename it into place if ok, else remove it. */
static int close_out(out_t *out, item_t *it, int ok)
{
	char err[600];
	if (!ok) {
		snprintf(it->err, sizeof it->err, "%s", npzw_error(out->z));
		npzw_abort(out->z);
		return -1;
	}
	if (npzw_close(out->z, err, sizeof err)) {
		snprintf(it->err, sizeof it->err, "%s", err);
		return -1;
	}
	return 0;
}

/* node_feat, node_opcode, edge_index: the keys every file has.  As in the
 * published files: node_opcode uint8; edge_index int64, in Fortran order
 * (column-major: every consumer, then every producer) in layout files and
 * C order in tile files. */
static int put_graph(out_t *o, const tg_graph_t *g, int fortran)
{
	int64_t s[2] = {(int64_t)g->nn, TG_NFEAT}, m = 0;
	int64_t *edges;
	uint8_t *op;
	size_t k = 0;
	int rc;
	if (put(o, "node_feat", "<f4", 2, s, g->feat))
		return -1;
	op = xmallocarray(g->nn ? g->nn : 1, sizeof *op);
	for (size_t i = 0; i < g->nn; i++)
		op[i] = g->n[i].op;
	rc = put(o, "node_opcode", "|u1", 1, s, op);
	free(op);
	if (rc)
		return -1;
	for (size_t i = 0; i < g->nn; i++)
		m += g->n[i].nin;
	edges = xmallocarray(m ? (size_t)m * 2 : 1, sizeof *edges);
	for (size_t i = 0; i < g->nn; i++)
		for (int j = 0; j < g->n[i].nin; j++) {
			int64_t u = (int64_t)i, v = g->opnd[g->n[i].in + j];
			if (fortran) {
				edges[k] = u, edges[(size_t)m + k] = v;  /* columns */
				k++;
			} else {
				edges[k++] = u;                         /* consumer */
				edges[k++] = v;                         /* producer */
			}
		}
	s[0] = m, s[1] = 2;
	rc = npzw_add_order(o->z, "edge_index", "<i8", 2, s, fortran, edges, o->method);
	free(edges);
	return rc;
}

/* The test split's runtimes are hidden, as in the Kaggle release: the .npz
 * gets config_runtime all 0 (and tile normalizers all 1), and the true
 * values go to OUT/truth/npz/<the same relative path>, outside the dataset
 * tree, so that a benchmark can still score the test split. */
static int put_truth(const opts_t *o, rng_t *fr, item_t *it, int coll, const char *name,
		     int64_t c, const int64_t *rt, const int64_t *nz)
{
	char path[4400];
	int64_t s[1] = {c};
	out_t out;
	snprintf(path, sizeof path, "%s/truth/npz/%s/%s/%s.npz", o->out, coll_dir[coll],
		 split_name[it->split], name);
	if (open_out(o, fr, path, &out, it))
		return -1;
	return close_out(&out, it, !(put(&out, "config_runtime", "<i8", 1, s, rt) ||
				     (nz && put(&out, "config_runtime_normalizers", "<i8", 1, s, nz))));
}

static const scale_t *scale_of(const opts_t *o, int coll)
{
	return &scales[o->scale][coll == C_TILE ? 0 : coll <= C_XLA_DEFAULT ? 1 : 2];
}

static void hexname(char *buf, size_t n, const char *base, uint64_t h)
{
	snprintf(buf, n, "%s_%012" PRIx64, base, (uint64_t)(h & 0xffffffffffffULL));
}

static int gen_tile(const opts_t *o, item_t *it, char *path, size_t plen)
{
	const scale_t *sc = scale_of(o, C_TILE);
	rng_t gr, cr, fr;
	tg_graph_t *g;
	tg_tile_model_t *m;
	int kind, rc = -1;
	size_t c, want;
	float *cfg;
	int64_t *rt, *nz, s[2];
	char name[200];
	out_t out;
	static const char *const kn[TK__N] = {"loop", "reduce", "conv", "dot", "transpose"};

	rng_derive(&gr, o->seed, 1000 + C_TILE, (uint64_t)it->split, (uint64_t)it->index);
	rng_derive(&cr, o->seed, 2000 + C_TILE, (uint64_t)it->split, (uint64_t)it->index);
	rng_derive(&fr, o->seed, 3000 + C_TILE, (uint64_t)it->split, (uint64_t)it->index);
	g = tg_build_kernel(&gr, (tg_size_t){sc->nmin, sc->nmax}, &kind);
	m = tg_tile_model_new(g, kind, o->world, &cr);
	want = (size_t)rng_logint(&cr, sc->cmin, sc->cmax);
	cfg = xmallocarray(want + 1, TG_NTILECFG * sizeof(float));
	c = tg_tile_configs(m, &cr, want, cfg);
	rt = xmallocarray(c, sizeof *rt);
	nz = xmallocarray(c, sizeof *nz);
	for (size_t i = 0; i < c; i++)
		tg_tile_measure(m, cfg + i * TG_NTILECFG, &cr, &rt[i], &nz[i]);
	{
		char base[64];
		snprintf(base, sizeof base, "fusion_%s", kn[kind]);
		hexname(name, sizeof name, base, rng_hash(o->seed, C_TILE, (uint64_t)it->split,
							  (uint64_t)it->index));
	}
	snprintf(path, plen, "%s/npz/%s/%s/%s.npz", o->out, coll_dir[C_TILE],
		 split_name[it->split], name);
	if (it->split == 2) {
		if (put_truth(o, &fr, it, C_TILE, name, (int64_t)c, rt, nz))
			goto done;
		memset(rt, 0, c * sizeof *rt);
		for (size_t i = 0; i < c; i++)
			nz[i] = 1;
	}
	if (open_out(o, &fr, path, &out, it))
		goto done;
	s[0] = (int64_t)c, s[1] = TG_NTILECFG;
	if (close_out(&out, it, !(put_graph(&out, g, 0) ||
				   put(&out, "config_feat", "<f4", 2, s, cfg) ||
				   put(&out, "config_runtime", "<i8", 1, s, rt) ||
				   put(&out, "config_runtime_normalizers", "<i8", 1, s, nz))))
		goto done;
	rc = 0;
	if (o->verbose)
		fprintf(stderr, "tpugen: %s: %zu nodes, %zu configs\n", path, g->nn, c);
done:
	free(cfg);
	free(rt);
	free(nz);
	tg_tile_model_free(m);
	tg_graph_free(g);
	return rc;
}

static int gen_layout(const opts_t *o, item_t *it, char *path, size_t plen)
{
	const scale_t *sc = scale_of(o, it->coll);
	int source = it->coll <= C_XLA_DEFAULT ? 0 : 1;
	int mode = it->coll == C_XLA_DEFAULT || it->coll == C_NLP_DEFAULT;
	rng_t gr, cr, fr, mr;
	tg_graph_t *g;
	tg_layout_model_t *m;
	int64_t c, s[3], *rt = NULL, *ids = NULL, *splits = NULL;
	float *cfg = NULL;
	char name[200];
	out_t out;
	int rc = -1;

	/* the program depends on (source, split, index) only: random and default
	 * collections hold the same programs */
	rng_derive(&gr, o->seed, 1000 + (uint64_t)source + 1, (uint64_t)it->split, (uint64_t)it->index);
	rng_derive(&mr, o->seed, 4000 + (uint64_t)source + 1, (uint64_t)it->split, (uint64_t)it->index);
	rng_derive(&cr, o->seed, 2000 + (uint64_t)it->coll, (uint64_t)it->split, (uint64_t)it->index);
	rng_derive(&fr, o->seed, 3000 + (uint64_t)it->coll, (uint64_t)it->split, (uint64_t)it->index);
	g = tg_build_program(&gr, source, (tg_size_t){sc->nmin, sc->nmax});
	m = tg_layout_model_new(g, o->world, &mr);
	tg_layout_fill_default(m, g);
	hexname(name, sizeof name, g->name,
		rng_hash(o->seed, 100 + (uint64_t)source, (uint64_t)it->split, (uint64_t)it->index));
	snprintf(path, plen, "%s/npz/%s/%s/%s.npz", o->out, coll_dir[it->coll],
		 split_name[it->split], name);
	c = rng_logint(&cr, sc->cmin, sc->cmax);
	if (open_out(o, &fr, path, &out, it))
		goto done;
	if (put_graph(&out, g, 1))
		goto fail;
	/* node_config_feat streamed config by config: never held whole */
	cfg = xmallocarray(g->ncfg ? g->ncfg : 1, TG_NCFG * sizeof(float));
	rt = xmallocarray((size_t)c, sizeof *rt);
	s[0] = c, s[1] = (int64_t)g->ncfg, s[2] = TG_NCFG;
	if (npzw_begin(out.z, "node_config_feat", "<f4", 3, s, out.method))
		goto fail;
	for (int64_t i = 0; i < c; i++) {
		tg_layout_sample(m, mode, &cr, cfg);
		rt[i] = tg_layout_measure(m, cfg, &cr);
		if (npzw_write(out.z, cfg, g->ncfg * TG_NCFG * sizeof(float)))
			goto fail;
	}
	if (npzw_end(out.z))
		goto fail;
	/* int64 ids; node_splits (1, k): each computation's first node, then
	 * the node count, as the published files have them */
	ids = xmallocarray(g->ncfg ? g->ncfg : 1, sizeof *ids);
	for (size_t i = 0; i < g->ncfg; i++)
		ids[i] = g->cfg[i];
	s[0] = (int64_t)g->ncfg;
	if (put(&out, "node_config_ids", "<i8", 1, s, ids))
		goto fail;
	splits = xmallocarray(g->nsplits + 1, sizeof *splits);
	memcpy(splits, g->splits, g->nsplits * sizeof *splits);
	splits[g->nsplits] = (int64_t)g->nn;
	s[0] = 1, s[1] = (int64_t)g->nsplits + 1;
	if (put(&out, "node_splits", "<i8", 2, s, splits))
		goto fail;
	if (it->split == 2) {
		if (put_truth(o, &fr, it, it->coll, name, c, rt, NULL)) {
			npzw_abort(out.z); /* it->err has the truth file's message */
			goto done;
		}
		memset(rt, 0, (size_t)c * sizeof *rt);
	}
	s[0] = c;
	if (put(&out, "config_runtime", "<i8", 1, s, rt))
		goto fail;
	if (close_out(&out, it, 1))
		goto done;
	rc = 0;
	if (o->verbose)
		fprintf(stderr, "tpugen: %s: %zu nodes, %zu configurable, %lld configs\n",
			path, g->nn, g->ncfg, (long long)c);
	goto done;
fail:
	close_out(&out, it, 0);
done:
	free(cfg);
	free(rt);
	free(ids);
	free(splits);
	tg_layout_model_free(m);
	tg_graph_free(g);
	return rc;
}

int main(int argc, char **argv)
{
	opts_t o;
	item_t *items = NULL;
	size_t n = 0, cap = 0, nfail = 0;
	setprogname_argv(argv);
	usage_init(usage_line);
	parse_args(&o, argc, argv);
	if (o.jobs > 0)
		omp_set_num_threads(o.jobs);
	for (int c = 0; c < C__N; c++) {
		if (!o.want[c])
			continue;
		for (int sp = 0; sp < 3; sp++) {
			char dir[4096];
			int64_t cnt = scale_of(&o, c)->count[sp];
			if (o.limit >= 0 && cnt > o.limit)
				cnt = o.limit;
			snprintf(dir, sizeof dir, "%s/npz/%s/%s", o.out, coll_dir[c], split_name[sp]);
			mkdirs(dir);
			if (sp == 2 && cnt > 0) {
				snprintf(dir, sizeof dir, "%s/truth/npz/%s/%s", o.out,
					 coll_dir[c], split_name[sp]);
				mkdirs(dir);
			}
			for (int64_t i = 0; i < cnt; i++) {
				if (n == cap) {
					cap = cap ? 2 * cap : 64;
					items = xreallocarray(items, cap, sizeof *items);
				}
				memset(&items[n], 0, sizeof items[n]);
				items[n].coll = c, items[n].split = sp, items[n].index = i;
				n++;
			}
		}
	}
#pragma omp parallel for schedule(dynamic, 1)
	for (size_t i = 0; i < n; i++) {
		char path[4400];
		items[i].failed = items[i].coll == C_TILE ? gen_tile(&o, &items[i], path, sizeof path)
			: gen_layout(&o, &items[i], path, sizeof path);
	}
	for (size_t i = 0; i < n; i++)
		if (items[i].failed) {
			warnx("%s", items[i].err);
			nfail++;
		}
	free(items);
	if (nfail)
		die(EX_IO, "%zu of %zu files not written", nfail, n);
	close_stdout();
	return EX_OK;
}
