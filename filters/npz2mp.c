/* npz2mp: decode TpuGraphs .npz files into a record stream.
 *
 * For each file: one graph record (the graph's tensors), then its configs in
 * chunks of --chunk rows, each with config_index (the configs' original
 * indices in the file).  Files and directories; directories are walked
 * recursively in sorted order.  See docs/man/npz2mp.1. */
#include "err.h"
#include "npz.h"
#include "progress.h"
#include "rng.h"
#include "stream.h"
#include "strset.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage_line[] =
	"usage: npz2mp [-fq] [--chunk N] [--max-configs N] [--seed S] [--collection C] [--split S] PATH...\n";

static struct {
	long long chunk;
	long long max_configs;  /* 0: all */
	unsigned long long seed;
	const char *collection, *split;
	int quiet;
	int force;    /* -f: a binary stream to a terminal too */
} opt = {1024, 0, 0, NULL, NULL, 0, 0};

static const char help_text[] =
	"\n"
	"Decode TpuGraphs .npz files (tile or layout) into a tpugraphs-mp record stream\n"
	"on stdout: a header, then per file a graph record and its configs in chunks,\n"
	"then an end record.  Directories are searched recursively for *.npz, sorted.\n"
	"\n"
	"  -c, --chunk N          configs per chunk record (default 1024)\n"
	"  -n, --max-configs N    sample N configs per file uniformly without\n"
	"                         replacement (default: all); config_index keeps\n"
	"                         their original indices\n"
	"  -s, --seed S           seed for --max-configs (default 0)\n"
	"      --collection C     collection, e.g. layout:xla:random (default: from the path)\n"
	"      --split S          train, valid or test (default: from the path)\n"
	"  -q, --quiet            no progress on stderr\n"
	"  -f, --force            write the stream even to a terminal\n"
	"  -h, --help             this help\n"
	"  -V, --version          print the version\n"
	"\n"
	"Paths look like .../npz/layout/xla/random/train/NAME.npz or\n"
	".../npz/tile/xla/valid/NAME.npz; the graph id is COLLECTION:NAME.\n"
	"Exit status: 0 ok, 1 bad data, 2 bad usage, 3 I/O error.\n";

/* Progress on a terminal (lib/progress.h): files done of the list, bytes
 * of them read (their size on disk), the ETA from the bytes per second so
 * far.  Sizes are taken only when the line is on. */
static struct {
	progress_t p;
	double *size;         /* (nfiles) bytes of each file; NULL when off */
	double done, total;   /* bytes of the files finished, of all */
} prog;

/* FRAC: how much of file FILENO is written */
static void prog_tick(size_t fileno, size_t nfiles, double frac)
{
	char line[256], b[32], t[32], e[32];
	if (!progress_due(&prog.p))
		return;
	double done = prog.done + frac * prog.size[fileno], el = progress_elapsed(&prog.p);
	int len = snprintf(line, sizeof line, "npz2mp: %zu/%zu files  %s read  %s", fileno, nfiles,
			   progress_bytes(b, sizeof b, done), progress_secs(t, sizeof t, el));
	if (done > 0 && prog.total > done && len > 0 && (size_t)len < sizeof line)
		snprintf(line + len, sizeof line - (size_t)len, "  ETA %s",
			 progress_secs(e, sizeof e, el * (prog.total - done) / done));
	progress_show(&prog.p, line);
}

/* ---- file list ---- */

typedef struct {
	char **v;
	size_t n, cap;
} list_t;

static void list_add(list_t *l, const char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
	}
	l->v[l->n++] = xstrdup(s);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

static void walk(list_t *out, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	list_t sub = {0};
	if (!d)
		edie(EX_IO, "%s", dir);
	while ((e = readdir(d))) {
		char *p;
		struct stat st;
		size_t n;
		if (e->d_name[0] == '.')
			continue;
		n = strlen(dir) + strlen(e->d_name) + 2;
		p = xmalloc(n);
		snprintf(p, n, "%s/%s", dir, e->d_name);
		if (stat(p, &st) != 0)
			edie(EX_IO, "%s", p);
		if (S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && ends_with(p, ".npz")))
			list_add(&sub, p);
		free(p);
	}
	closedir(d);
	if (sub.n)  /* qsort(NULL, 0, ...) is undefined behaviour (UBSan) */
		qsort(sub.v, sub.n, sizeof *sub.v, cmp_str);
	for (size_t i = 0; i < sub.n; i++) {
		struct stat st;
		if (stat(sub.v[i], &st) == 0 && S_ISDIR(st.st_mode))
			walk(out, sub.v[i]);
		else
			list_add(out, sub.v[i]);
		free(sub.v[i]);
	}
	free(sub.v);
}

/* ---- collection and split from the path ---- */

/* Up to n trailing path components of the directory holding path. */
static int dir_parts(const char *path, char parts[][64], int n)
{
	char *p = xstrdup(path), *s;
	int k = 0;
	s = strrchr(p, '/');
	if (!s) {
		free(p);
		return 0;
	}
	*s = 0;
	while (k < n) {
		char *c = strrchr(p, '/');
		const char *name = c ? c + 1 : p;
		if (!*name)
			break;
		snprintf(parts[k++], 64, "%s", name);
		if (!c)
			break;
		*c = 0;
	}
	free(p);
	return k;
}

static int is_split(const char *s)
{
	return !strcmp(s, "train") || !strcmp(s, "valid") || !strcmp(s, "test");
}

/* Fill collection and split for path; returns 0 or -1 when unknown. */
static int infer(const char *path, char *coll, size_t nc, char *split, size_t ns)
{
	char parts[4][64];
	int k = dir_parts(path, parts, 4);
	/* parts[0] = split dir, parts[1..] upwards */
	if (opt.split)
		snprintf(split, ns, "%s", opt.split);
	else if (k >= 1 && is_split(parts[0]))
		snprintf(split, ns, "%s", parts[0]);
	else
		return -1;
	if (opt.collection) {
		snprintf(coll, nc, "%s", opt.collection);
		return 0;
	}
	if (k >= 3 && !strcmp(parts[2], "tile"))
		snprintf(coll, nc, "tile:%s", parts[1]);
	else if (k >= 4 && !strcmp(parts[3], "layout"))
		snprintf(coll, nc, "layout:%s:%s", parts[2], parts[1]);
	else
		return -1;
	return 0;
}

static char *stem(const char *path)
{
	const char *b = strrchr(path, '/');
	char *s = xstrdup(b ? b + 1 : path);
	if (ends_with(s, ".npz"))
		s[strlen(s) - 4] = 0;
	return s;
}

/* ---- one file ---- */

static const char *cur_file;

_Noreturn static void fail(int io, const char *key, const char *msg)
{
	if (key)
		die(io ? EX_IO : EX_DATA, "%s: %s: %s", cur_file, key, msg);
	die(io ? EX_IO : EX_DATA, "%s: %s", cur_file, msg);
}

static tensor_t *need(npz_t *z, const char *key, dtype_t dt, int ndim)
{
	char err[512], sh[128];
	int io;
	tensor_t *t;
	if (!npz_has(z, key))
		fail(0, key, "missing member");
	t = npz_read(z, key, dt, err, sizeof err, &io);
	if (!t)
		fail(io, key, err);
	if (ndim >= 0 && t->ndim != ndim) {
		snprintf(err, sizeof err, "shape %s, want %d dimension%s",
			 tensor_shape_str(t, sh, sizeof sh), ndim, ndim == 1 ? "" : "s");
		fail(0, key, err);
	}
	return t;
}

static int known_key(const char *k)
{
	static const char *keys[] = {"node_feat", "node_opcode", "edge_index", "node_config_ids",
				     "node_splits", "node_config_feat", "config_feat", "config_runtime",
				     "config_runtime_normalizers", NULL};
	for (int i = 0; keys[i]; i++)
		if (!strcmp(k, keys[i]))
			return 1;
	return 0;
}

static void check_range(const tensor_t *t, const char *key, int64_t lo, int64_t hi)
{
	const int32_t *v = t->data;
	for (size_t i = 0; i < t->numel; i++)
		if (v[i] < lo || v[i] > hi) {
			char msg[160];
			snprintf(msg, sizeof msg, "value %d at flat index %zu out of range %lld..%lld",
				 v[i], i, (long long)lo, (long long)hi);
			fail(0, key, msg);
		}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Sorted sample of k of n indices (all when k == 0 or k >= n). */
static int64_t *pick(int64_t n, int64_t k, const char *id, int64_t *out_k)
{
	int64_t *idx;
	if (k <= 0 || k >= n) {
		idx = xmallocarray((size_t)(n ? n : 1), sizeof *idx);
		for (int64_t i = 0; i < n; i++)
			idx[i] = i;
		*out_k = n;
		return idx;
	}
	{
		rng_t r;
		int64_t *all = xmallocarray((size_t)n, sizeof *all);
		/* per-graph stream: the sample of a file does not depend on the others */
		rng_derive(&r, opt.seed, str_hash(id), 0, 0);
		for (int64_t i = 0; i < n; i++)
			all[i] = i;
		rng_sample(&r, all, (size_t)n, (size_t)k, sizeof *all);
		idx = xrealloc(all, (size_t)k * sizeof *all);
		qsort(idx, (size_t)k, sizeof *idx, cmp_i64);
		*out_k = k;
		return idx;
	}
}

/* Rows idx[0..cnt) of a member (indices ascending), as one tensor; reuse
 * (or NULL): the last chunk's tensor, whose buffer the rows go into. */
static tensor_t *gather_rows(npz_rows_t *rows, const int64_t *idx, int64_t cnt, dtype_t dt,
			     const char *key, tensor_t *reuse)
{
	char err[512];
	int io;
	tensor_t *out = NULL;
	size_t rowbytes = 0;
	int64_t done = 0;
	while (done < cnt) {
		int64_t run = 1;
		tensor_t *t;
		while (done + run < cnt && idx[done + run] == idx[done] + run)
			run++;
		if (run == cnt) {   /* one run of rows: from the mapped file when STORED */
			t = npz_rows_view(rows, (uint64_t)idx[0], (uint64_t)cnt, dt, err, sizeof err, &io);
			if (t) {
				tensor_free(reuse);
				return t;
			}
			if (err[0])
				fail(io, key, err);
		}
		t = run == cnt ? npz_rows_read_into(rows, (uint64_t)idx[done], (uint64_t)run, dt, reuse, err, sizeof err, &io)
			       : npz_rows_read(rows, (uint64_t)idx[done], (uint64_t)run, dt, err, sizeof err, &io);
		if (!t)
			fail(io, key, err);
		if (run == cnt)
			return t;
		if (!out) {
			int64_t shape[TENSOR_MAXDIM];
			memcpy(shape, t->shape, sizeof shape);
			shape[0] = cnt;
			out = tensor_new(dt, t->ndim, shape);
			rowbytes = t->nbytes / (size_t)run;
		}
		memcpy((char *)out->data + (size_t)done * rowbytes, t->data, t->nbytes);
		tensor_free(t);
		done += run;
	}
	if (!out) /* cnt == 0 */
		out = npz_rows_read(rows, 0, 0, dt, err, sizeof err, &io);
	tensor_free(reuse);
	return out;
}

static tensor_t *gather_i64(const tensor_t *all, const int64_t *idx, int64_t cnt)
{
	tensor_t *t = tensor_new1(DT_I64, cnt);
	for (int64_t i = 0; i < cnt; i++)
		((int64_t *)t->data)[i] = ((const int64_t *)all->data)[idx[i]];
	return t;
}

static void check_positive(const tensor_t *t, const char *key)
{
	const int64_t *v = t->data;
	for (size_t i = 0; i < t->numel; i++)
		if (v[i] <= 0) {
			char msg[128];
			snprintf(msg, sizeof msg, "value %lld at config %zu is not positive", (long long)v[i], i);
			fail(0, key, msg);
		}
}

/* Every value 0: the runtimes of a Kaggle test file, which are hidden. */
static int all_zero(const tensor_t *t)
{
	const int64_t *v = t->data;
	for (size_t i = 0; i < t->numel; i++)
		if (v[i] != 0)
			return 0;
	return 1;
}

static void check_count(const tensor_t *t, const char *key, int64_t c)
{
	if (t->shape[0] != c) {
		char msg[128];
		snprintf(msg, sizeof msg, "%lld values for %lld configs", (long long)t->shape[0], (long long)c);
		fail(0, key, msg);
	}
}

/* The runtimes of a file with c configs, into *rt (and *norm for tile).
 * Returns 1 when they are hidden: a test file whose config_runtime is all 0
 * (the published test files; tile test files also have every normalizer 1)
 * or missing; then *rt and *norm stay NULL.  A train or valid file must
 * carry measured runtimes, every one positive. */
static int read_runtimes(npz_t *z, const char *split, int tile, int64_t c, tensor_t **rt, tensor_t **norm)
{
	int test = strcmp(split, "test") == 0;
	*rt = *norm = NULL;
	if (!npz_has(z, "config_runtime")) {
		char msg[128];
		if (test)
			return 1;
		snprintf(msg, sizeof msg, "missing member (a %s file needs measured runtimes)", split);
		fail(0, "config_runtime", msg);
	}
	*rt = need(z, "config_runtime", DT_I64, 1);
	check_count(*rt, "config_runtime", c);
	if (c > 0 && all_zero(*rt)) {
		if (!test)
			fail(0, "config_runtime", "every value is 0 (hidden runtimes, as in a test file); "
						  "a train or valid file needs measured runtimes");
		tensor_free(*rt);
		*rt = NULL;
		return 1;
	}
	check_positive(*rt, "config_runtime");
	if (tile) {
		*norm = need(z, "config_runtime_normalizers", DT_I64, 1);
		check_count(*norm, "config_runtime_normalizers", c);
		check_positive(*norm, "config_runtime_normalizers");
	}
	return 0;
}

/* Index of the first value that is not a layout symbol (-1..5, integral)
 * or, for tile, not finite; n when all are good.  The common case (all
 * good) runs over blocks with no branch and no conversion, which GCC
 * vectorises at -O2: seven equality tests per value cost less than a
 * range test and an int round trip (5x faster here, and this check was
 * over half of npz2mp's cycles on a STORED layout file); a bad block is
 * then searched value by value for the message. */
#define CHECK_BLOCK 256

/* AVX2 where the CPU has it (twice the values per instruction), chosen at
 * load time; the plain SSE2 build elsewhere. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CHECK_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CHECK_CLONES
#endif

CHECK_CLONES static int layout_block_bad(const float *v)
{
	int bad = 0;
	for (size_t j = 0; j < CHECK_BLOCK; j++) {
		float x = v[j];
		bad |= !((x == -1.0f) | (x == 0.0f) | (x == 1.0f) | (x == 2.0f) | (x == 3.0f) |
			 (x == 4.0f) | (x == 5.0f));
	}
	return bad;
}

CHECK_CLONES static int tile_block_bad(const float *v)
{
	int bad = 0;
	for (size_t j = 0; j < CHECK_BLOCK; j++)
		bad |= !(v[j] - v[j] == 0.0f);   /* NaN and infinities give NaN */
	return bad;
}

/* One thread: the check runs at memory speed (a second thread gained
 * nothing and spun).  Only when a block is bad is the first bad value
 * searched for, in order. */
static size_t first_bad(const float *v, size_t n, int tile)
{
	size_t i = 0;
	if (tile)
		while (i + CHECK_BLOCK <= n && !tile_block_bad(v + i))
			i += CHECK_BLOCK;
	else
		while (i + CHECK_BLOCK <= n && !layout_block_bad(v + i))
			i += CHECK_BLOCK;
	for (; i < n; i++) {
		float x = v[i];
		if (tile ? !isfinite(x) : !(x == floorf(x) && x >= -1 && x <= 5))
			return i;
	}
	return n;
}

static void do_file(swriter_t *sw, const char *path, size_t fileno, size_t nfiles)
{
	char coll[256], split[64], err[512], sh[128], msg[640];
	npz_t *z;
	int io, tile, hidden;
	int64_t n, m, c, nc = 0, k;
	tensor_t *feat, *opc, *edges, *ids = NULL, *rt = NULL, *norm = NULL, *spare = NULL;
	record_t *g;
	npz_rows_t *rows;
	const npy_info_t *ci;
	const char *ckey;
	int64_t *idx;
	char *name, *id;

	cur_file = path;
	prog_tick(fileno, nfiles, 0);
	if (infer(path, coll, sizeof coll, split, sizeof split))
		die(EX_USAGE, "%s: cannot tell the collection and split from the path "
			      "(.../npz/{tile/xla,layout/{xla,nlp}/{random,default}}/{train,valid,test}/NAME.npz); "
			      "give --collection and --split", path);
	z = npz_open(path, err, sizeof err, &io);
	if (!z)
		fail(io, NULL, err);
	tile = strncmp(coll, "tile", 4) == 0;

	feat = need(z, "node_feat", DT_F32, 2);
	n = feat->shape[0];
	if (feat->shape[1] != 140) {
		snprintf(msg, sizeof msg, "shape %s, want (n, 140)", tensor_shape_str(feat, sh, sizeof sh));
		fail(0, "node_feat", msg);
	}
	if (n == 0)
		fail(0, "node_feat", "empty graph (0 nodes)");
	for (size_t i = 0; i < feat->numel; i++)
		if (!isfinite(((float *)feat->data)[i])) {
			snprintf(msg, sizeof msg, "%s at node %zu, feature %zu",
				 isnan(((float *)feat->data)[i]) ? "NaN" : "infinity", i / 140, i % 140);
			fail(0, "node_feat", msg);
		}
	opc = need(z, "node_opcode", DT_I32, -1);
	if (opc->ndim != 1 || opc->shape[0] != n) {
		snprintf(msg, sizeof msg, "shape %s, want (%lld,)", tensor_shape_str(opc, sh, sizeof sh), (long long)n);
		fail(0, "node_opcode", msg);
	}
	check_range(opc, "node_opcode", 0, 255);
	edges = need(z, "edge_index", DT_I32, -1);
	if (edges->ndim == 1 && edges->numel == 0) { /* an empty array saved as (0,) */
		tensor_free(edges);
		edges = tensor_new2(DT_I32, 0, 2);
	}
	if (edges->ndim != 2 || edges->shape[1] != 2) {
		snprintf(msg, sizeof msg, "shape %s, want (m, 2)", tensor_shape_str(edges, sh, sizeof sh));
		fail(0, "edge_index", msg);
	}
	m = edges->shape[0];
	check_range(edges, "edge_index", 0, n - 1);

	name = stem(path);
	id = xmalloc(strlen(coll) + strlen(name) + 2);
	sprintf(id, "%s:%s", coll, name);

	if (tile) {
		ckey = "config_feat";
		if (npz_has(z, "node_config_feat"))
			fail(0, NULL, "has node_config_feat: a layout file in a tile collection?");
	} else {
		ckey = "node_config_feat";
		if (npz_has(z, "config_feat") && !npz_has(z, "node_config_feat"))
			fail(0, NULL, "has config_feat: a tile file in a layout collection?");
		ids = need(z, "node_config_ids", DT_I32, 1);
		nc = ids->shape[0];
		check_range(ids, "node_config_ids", 0, n - 1);
		{
			unsigned char *seen = xcalloc((size_t)n, 1);
			for (int64_t i = 0; i < nc; i++) {
				int32_t v = ((int32_t *)ids->data)[i];
				if (seen[v]) {
					snprintf(msg, sizeof msg, "node %d listed twice", v);
					fail(0, "node_config_ids", msg);
				}
				seen[v] = 1;
			}
			free(seen);
		}
	}
	if (!npz_has(z, ckey))
		fail(0, ckey, "missing member");
	rows = npz_rows_open(z, ckey, err, sizeof err, &io);
	if (!rows)
		fail(io, ckey, err);
	ci = npz_rows_info(rows);
	c = ci->shape[0];
	if (tile ? (ci->ndim != 2 || ci->shape[1] != 24)
		 : (ci->ndim != 3 || ci->shape[1] != nc || ci->shape[2] != 18)) {
		char want[64];
		if (tile)
			snprintf(want, sizeof want, "(c, 24)");
		else
			snprintf(want, sizeof want, "(c, %lld, 18)", (long long)nc);
		tensor_t probe = {.ndim = ci->ndim};
		memcpy(probe.shape, ci->shape, sizeof probe.shape);
		snprintf(msg, sizeof msg, "shape %s, want %s", tensor_shape_str(&probe, sh, sizeof sh), want);
		fail(0, ckey, msg);
	}
	hidden = read_runtimes(z, split, tile, c, &rt, &norm);

	idx = pick(c, opt.max_configs, id, &k);
	g = rec_new("graph");
	rec_set_str(g, "id", id);
	rec_set_str(g, "collection", coll);
	rec_set_str(g, "split", split);
	rec_set_str(g, "source", path);
	if (hidden)
		rec_set_bool(g, "runtimes_hidden", 1);
	rec_set_int(g, "n_nodes", n);
	rec_set_int(g, "n_edges", m);
	rec_set_int(g, "n_configs", k);
	rec_set_int(g, "n_configs_total", c);
	rec_set_tensor(g, "node_feat", feat);
	rec_set_tensor(g, "node_opcode", opc);
	rec_set_tensor(g, "edge_index", edges);
	if (!tile) {
		rec_set_tensor(g, "node_config_ids", ids);
		if (npz_has(z, "node_splits")) {
			tensor_t *sp = need(z, "node_splits", DT_I32, -1);
			sp->ndim = 1;
			sp->shape[0] = (int64_t)sp->numel;
			check_range(sp, "node_splits", 0, n);
			rec_set_tensor(g, "node_splits", sp);
		}
	}
	/* members this program does not know travel along in the graph record */
	for (size_t i = 0; i < npz_count(z); i++) {
		const char *key = npz_key(z, i);
		if (!known_key(key))
			rec_set_tensor(g, key, need(z, key, DT__N, -1));
	}
	sw_write(sw, g);
	rec_free(g);

	for (int64_t off = 0; off < k; off += opt.chunk) {
		int64_t cnt = k - off < opt.chunk ? k - off : opt.chunk;
		record_t *r = rec_new("configs");
		tensor_t *cf = gather_rows(rows, idx + off, cnt, DT_F32, ckey, spare), *ix;
		size_t bad = first_bad(cf->data, cf->numel, tile);
		if (bad < cf->numel) {
			snprintf(msg, sizeof msg, "bad value %g at config %lld", (double)((float *)cf->data)[bad],
				 (long long)idx[off + (int64_t)(bad / (cf->numel / (size_t)cnt))]);
			fail(0, ckey, msg);
		}
		ix = tensor_new1(DT_I64, cnt);
		memcpy(ix->data, idx + off, (size_t)cnt * sizeof *idx);
		rec_set_str(r, "id", id);
		rec_set_int(r, "offset", off);
		rec_set_int(r, "count", cnt);
		rec_set_tensor(r, "config_index", ix);
		rec_set_tensor(r, ckey, cf);
		if (rt)
			rec_set_tensor(r, "config_runtime", gather_i64(rt, idx + off, cnt));
		if (norm)
			rec_set_tensor(r, "config_runtime_normalizers", gather_i64(norm, idx + off, cnt));
		sw_write(sw, r);
		spare = rec_take_tensor(r, ckey);  /* its buffer serves the next chunk */
		rec_free(r);
		prog_tick(fileno, nfiles, (double)(off + cnt) / (double)k);
	}
	tensor_free(spare);
	progress_clear(&prog.p);   /* the file's line goes above the status line */
	if (!opt.quiet)
		fprintf(stderr, "npz2mp: [%zu/%zu] %s: %lld nodes, %lld edges, %lld of %lld configs%s\n",
			fileno + 1, nfiles, id, (long long)n, (long long)m, (long long)k, (long long)c,
			hidden ? " (runtimes hidden)" : "");
	free(idx);
	tensor_free(rt);
	tensor_free(norm);
	npz_rows_close(rows);
	npz_close(z);
	free(name);
	free(id);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"chunk", required_argument, NULL, 'c'},
		{"max-configs", required_argument, NULL, 'n'},
		{"seed", required_argument, NULL, 's'},
		{"collection", required_argument, NULL, 'C'},
		{"split", required_argument, NULL, 'S'},
		{"quiet", no_argument, NULL, 'q'},
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	list_t files = {0};
	swriter_t *sw;
	record_t *h;
	int ch;

	setprogname_argv(argv);
	usage_init(usage_line);
	while ((ch = getopt_long(argc, argv, "c:fhn:qs:V", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': opt.chunk = parse_ll("--chunk", optarg, 1, 1LL << 30); break;
		case 'n': opt.max_configs = parse_ll("--max-configs", optarg, 1, INT64_MAX); break;
		case 's': opt.seed = (unsigned long long)parse_ll("--seed", optarg, 0, INT64_MAX); break;
		case 'C':
			if (strncmp(optarg, "tile:", 5) && strncmp(optarg, "layout:", 7))
				usage_error("--collection: '%s' is neither tile:... nor layout:...", optarg);
			opt.collection = optarg;
			break;
		case 'S':
			if (!is_split(optarg))
				usage_error("--split: '%s' is not train, valid or test", optarg);
			opt.split = optarg;
			break;
		case 'q': opt.quiet = 1; break;
		case 'f': opt.force = 1; break;
		case 'h': usage_help(help_text);
		case 'V': print_version();
		default: usage_error(NULL);
		}
	}
	if (optind >= argc) {
		usage_error("no input paths");
	}
	stream_refuse_tty(1, opt.force, "-f");
	for (int i = optind; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0)
			edie(EX_IO, "%s", argv[i]);
		if (S_ISDIR(st.st_mode)) {
			size_t before = files.n;
			walk(&files, argv[i]);
			if (files.n == before)
				die(EX_DATA, "%s: no .npz files in this directory", argv[i]);
		} else
			list_add(&files, argv[i]);
	}

	sw = sw_open_fd(1, "stdout");
	h = header_new();
	header_append(h, argv0, argc, argv);
	sw_write(sw, h);
	rec_free(h);
	progress_init(&prog.p, 2, opt.quiet);
	if (prog.p.fd >= 0) {
		prog.size = xmallocarray(files.n, sizeof *prog.size);
		for (size_t i = 0; i < files.n; i++) {
			struct stat st;
			prog.size[i] = stat(files.v[i], &st) == 0 ? (double)st.st_size : 0;
			prog.total += prog.size[i];
		}
	}
	for (size_t i = 0; i < files.n; i++) {
		do_file(sw, files.v[i], i, files.n);
		if (prog.size)
			prog.done += prog.size[i];
	}
	progress_end(&prog.p);
	free(prog.size);
	sw_end(sw);
	sw_close(sw);
	for (size_t i = 0; i < files.n; i++)
		free(files.v[i]);
	free(files.v);
	return EX_OK;
}
