/* encode-base7: pack layout config values in base 7; drop duplicate configs
 * and constant configurable nodes.
 *
 * Every layout configs chunk's node_config_feat f32 (count, nc, 18), values
 * -1..5, becomes node_config_code u32 (count, nc, 3): one code per block of
 * six values, code = sum (value[s] + 1) * 7^s, slot 0 least significant
 * (lib/base7.h).  --decode does the exact reverse.  Tile graphs and their
 * chunks pass through untouched.
 *
 * --dedup and --drop-constant hold one graph's configs in packed form (the
 * graph record, then every chunk's codes, runtimes, indices) until the
 * graph's last chunk; everything else streams chunk by chunk.
 * See docs/man/encode-base7.1. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base7.h"
#include "err.h"
#include "graph.h"
#include "stream.h"

enum { KEEP_MIN, KEEP_FIRST, KEEP_MEAN };
#define NVAL 18  /* values per configurable node */
#define NCODE 3  /* codes per configurable node */

static struct {
	int decode, dedup, drop_const, force, keep, keep_set;
	int force_tty;  /* a binary stream to a terminal too (-f is taken) */
} opt = {0, 0, 0, 0, KEEP_MIN, 0, 0};

static const char usage_line[] =
	"usage: encode-base7 [-d | [--dedup [-k min|first|mean] [-f]] [-c]] [FILE]\n";

static const char help_text[] =
	"Pack each layout config's node_config_feat (values -1..5, blocks of 6) into\n"
	"base-7 codes, node_config_code u32 (count, nc, 3); tile graphs pass through.\n"
	"\n"
	"  -d, --decode          the reverse: node_config_code back to node_config_feat\n"
	"  -u, --dedup           drop configs whose packed rows repeat within a graph;\n"
	"                        each kept row lists the original config indices it\n"
	"                        stands for in dup_offsets / dup_index\n"
	"  -k, --keep HOW        which runtime a kept row gets: min (default: the\n"
	"                        fastest row of the group is kept), first (the first\n"
	"                        row), mean (the first row, with the mean runtime)\n"
	"  -f, --force           dedup configs without runtimes (a test split) too,\n"
	"                        keeping the first row; refused without it\n"
	"  -c, --drop-constant   drop configurable nodes whose config is the same in\n"
	"                        every config of the graph\n"
	"      --force-tty       write the stream even to a terminal\n"
	"  -h, --help            this help\n"
	"  -V, --version         print the version\n"
	"\n"
	"--dedup and --drop-constant hold one graph's configs in packed form\n"
	"(12 bytes per configurable node per config, plus about 100 bytes per config).\n"
	"FILE is a stream (default or '-': stdin); the stream goes to stdout.\n"
	"Exit status: 0 ok, 1 bad data, 2 bad usage, 3 I/O error.\n";

/* Replace field oldkey's value by tensor t under newkey, in place. */
static void replace_tensor(record_t *r, const char *oldkey, const char *newkey,
			   tensor_t *t)
{
	field_t *f = rec_get(r, oldkey);
	if (f->kind == V_TENSOR)
		tensor_free(f->v.t);
	free(f->key);
	f->key = xstrdup(newkey);
	f->kind = V_TENSOR;
	f->v.t = t;
}

static int64_t chunk_count(record_t *r)
{
	int64_t count;
	tensor_t *ci = rec_tensor(r, "config_index");
	if (!rec_int(r, "count", &count)) {
		if (!ci)
			rec_die(r, "configs chunk without count or config_index");
		count = ci->shape[0];
	}
	if (count < 0)
		rec_die(r, "negative count %lld", (long long)count);
	return count;
}

/* Make the chunk's configs packed (node_config_code); returns that tensor. */
static tensor_t *encode_chunk(record_t *r, int64_t nc, int64_t count)
{
	tensor_t *t, *c;
	int64_t bad;
	if (rec_get(r, "node_config_feat")) {
		t = rec_need_tensor(r, "node_config_feat", DT_F32, 3);
		if (t->shape[0] != count || t->shape[1] != nc || t->shape[2] != NVAL)
			rec_die(r, "node_config_feat is (%lld, %lld, %lld), want (%lld, %lld, %d)",
				(long long)t->shape[0], (long long)t->shape[1],
				(long long)t->shape[2], (long long)count, (long long)nc, NVAL);
		c = tensor_new3(DT_U32, count, nc, NCODE);
		bad = b7_pack(c->data, t->data, c->numel);
		if (bad >= 0) {
			int64_t row = bad / (nc * NVAL), rest = bad % (nc * NVAL);
			tensor_t *ci = rec_tensor(r, "config_index");
			rec_die(r, "node_config_feat[%lld][%lld][%lld] = %g (config_index %lld) "
				"is not a layout value (an integer in -1..5)",
				(long long)row, (long long)(rest / NVAL), (long long)(rest % NVAL),
				(double)((const float *)t->data)[bad],
				(long long)(ci && row < ci->shape[0] ? tensor_get_i(ci, (size_t)row)
								     : -1));
		}
		replace_tensor(r, "node_config_feat", "node_config_code", c);
		return c;
	}
	if (rec_get(r, "node_config_code")) {  /* already packed */
		size_t i;
		t = rec_need_tensor(r, "node_config_code", DT_U32, 3);
		if (t->shape[0] != count || t->shape[1] != nc || t->shape[2] != NCODE)
			rec_die(r, "node_config_code is (%lld, %lld, %lld), want (%lld, %lld, %d)",
				(long long)t->shape[0], (long long)t->shape[1],
				(long long)t->shape[2], (long long)count, (long long)nc, NCODE);
		for (i = 0; i < t->numel; i++)
			if (((const uint32_t *)t->data)[i] >= B7_NCODES)
				rec_die(r, "node_config_code value %u at %zu is not a base-7 code",
					((const uint32_t *)t->data)[i], i);
		return t;
	}
	rec_die(r, "layout configs without node_config_feat or node_config_code");
}

static void decode_chunk(record_t *r, int64_t nc, int64_t count)
{
	tensor_t *t, *v;
	int64_t bad;
	if (!rec_get(r, "node_config_code")) {
		if (!rec_get(r, "node_config_feat"))
			rec_die(r, "layout configs without node_config_code or node_config_feat");
		return;  /* not packed: nothing to do */
	}
	t = rec_need_tensor(r, "node_config_code", DT_U32, 3);
	if (t->shape[0] != count || t->shape[1] != nc || t->shape[2] != NCODE)
		rec_die(r, "node_config_code is (%lld, %lld, %lld), want (%lld, %lld, %d)",
			(long long)t->shape[0], (long long)t->shape[1],
			(long long)t->shape[2], (long long)count, (long long)nc, NCODE);
	v = tensor_new3(DT_F32, count, nc, NVAL);
	bad = b7_unpack(v->data, t->data, t->numel);
	if (bad >= 0)
		rec_die(r, "node_config_code[%lld][%lld][%lld] = %u is not a base-7 code (< %u)",
			(long long)(bad / (nc * NCODE)), (long long)(bad % (nc * NCODE) / NCODE),
			(long long)(bad % NCODE), ((const uint32_t *)t->data)[bad], B7_NCODES);
	replace_tensor(r, "node_config_code", "node_config_feat", v);
}

/* ---- one graph held for --dedup / --drop-constant ---- */

typedef struct {
	record_t *g;          /* the graph record */
	int64_t nc;
	record_t **chunk;     /* chunks without their codes, runtimes, indices */
	int64_t *chunk_rows;  /* rows of each chunk */
	size_t nchunk, chunk_cap;
	uint32_t *codes;      /* (rows, nc, 3) */
	int64_t *rt;          /* (rows) runtimes, when has_rt */
	int64_t *cidx;        /* (rows) config_index */
	int64_t *doff;        /* (rows + 1) each row's original indices ... */
	int64_t *didx;        /* ... in didx[doff[i] .. doff[i+1]) */
	size_t rows, rows_cap, ndidx, didx_cap;
	int has_rt;           /* -1 not yet known, 0, 1 */
	int had_dups;         /* the input carried dup_offsets / dup_index */
} held_t;

static void held_reserve(held_t *h, size_t more)
{
	size_t need = h->rows + more, cap = h->rows_cap ? h->rows_cap : 64;
	if (need <= h->rows_cap)
		return;
	while (cap < need)
		cap *= 2;
	h->codes = xreallocarray(h->codes, cap, (size_t)h->nc * NCODE * sizeof *h->codes + 1);
	h->rt = xreallocarray(h->rt, cap, sizeof *h->rt);
	h->cidx = xreallocarray(h->cidx, cap, sizeof *h->cidx);
	h->doff = xreallocarray(h->doff, cap + 1, sizeof *h->doff);
	h->rows_cap = cap;
}

static void held_push_didx(held_t *h, int64_t v)
{
	if (h->ndidx == h->didx_cap) {
		h->didx_cap = h->didx_cap ? 2 * h->didx_cap : 64;
		h->didx = xreallocarray(h->didx, h->didx_cap, sizeof *h->didx);
	}
	h->didx[h->ndidx++] = v;
}

static void held_start(held_t *h, record_t *g, int64_t nc)
{
	int64_t nconf;
	memset(h, 0, sizeof *h);
	h->g = g;
	h->nc = nc;
	h->has_rt = -1;
	h->had_dups = -1;
	/* size for the configs the graph announces, when it does */
	if (rec_int(g, "n_configs", &nconf) && nconf > 0 && nconf < (1LL << 40))
		held_reserve(h, (size_t)nconf);
	else
		held_reserve(h, 64);
	h->doff[0] = 0;
}

static void held_add(held_t *h, record_t *r, int64_t count)
{
	tensor_t *code = encode_chunk(r, h->nc, count), *t, *dof, *dix;
	size_t w = (size_t)h->nc * NCODE, i;
	int has_rt = rec_get(r, "config_runtime") != NULL;
	int has_dups;

	if (opt.dedup && !opt.force && !has_rt)
		rec_die(r, "configs without config_runtime (a test split?): --dedup "
			"would merge them with no runtime to choose by; add --force to "
			"dedup anyway (the first row of each group is kept)");
	if (h->has_rt >= 0 && has_rt != h->has_rt)
		rec_die(r, "config_runtime in some chunks of the graph and not in others");
	h->has_rt = has_rt;
	held_reserve(h, (size_t)count);
	memcpy(h->codes + h->rows * w, code->data, code->nbytes);
	t = rec_need_tensor(r, "config_index", DT_I64, 1);
	if (t->shape[0] != count)
		rec_die(r, "config_index has %lld entries, count is %lld",
			(long long)t->shape[0], (long long)count);
	memcpy(h->cidx + h->rows, t->data, t->nbytes);
	if (has_rt) {
		t = rec_need_tensor(r, "config_runtime", DT_I64, 1);
		if (t->shape[0] != count)
			rec_die(r, "config_runtime has %lld entries, count is %lld",
				(long long)t->shape[0], (long long)count);
		memcpy(h->rt + h->rows, t->data, t->nbytes);
	}
	/* the original indices each row stands for */
	dof = rec_opt_tensor(r, "dup_offsets", DT_I64, 1);
	dix = rec_opt_tensor(r, "dup_index", DT_I64, 1);
	has_dups = dof || dix;
	if (h->had_dups >= 0 && has_dups != h->had_dups)
		rec_die(r, "dup_offsets in some chunks of the graph and not in others");
	h->had_dups = has_dups;
	if (has_dups) {
		const int64_t *o;
		if (!dof || !dix)
			rec_die(r, "dup_offsets without dup_index or the other way round");
		o = dof->data;
		if (dof->shape[0] != count + 1 || o[0] != 0 || o[count] != dix->shape[0])
			rec_die(r, "dup_offsets (%lld entries) do not fit %lld rows and %lld dup_index",
				(long long)dof->shape[0], (long long)count, (long long)dix->shape[0]);
		for (i = 0; i < (size_t)count; i++) {
			int64_t j;
			if (o[i + 1] < o[i])
				rec_die(r, "dup_offsets decrease at %zu", i);
			for (j = o[i]; j < o[i + 1]; j++)
				held_push_didx(h, ((const int64_t *)dix->data)[j]);
			h->doff[h->rows + i + 1] = (int64_t)h->ndidx;
		}
	} else {
		for (i = 0; i < (size_t)count; i++) {
			held_push_didx(h, h->cidx[h->rows + i]);
			h->doff[h->rows + i + 1] = (int64_t)h->ndidx;
		}
	}
	h->rows += (size_t)count;
	rec_del(r, "node_config_code");
	rec_del(r, "config_index");
	rec_del(r, "config_runtime");
	rec_del(r, "dup_offsets");
	rec_del(r, "dup_index");
	if (h->nchunk == h->chunk_cap) {
		h->chunk_cap = h->chunk_cap ? 2 * h->chunk_cap : 16;
		h->chunk = xreallocarray(h->chunk, h->chunk_cap, sizeof *h->chunk);
		h->chunk_rows = xreallocarray(h->chunk_rows, h->chunk_cap, sizeof *h->chunk_rows);
	}
	h->chunk[h->nchunk] = r;
	h->chunk_rows[h->nchunk] = count;
	h->nchunk++;
}

/* Decide what to keep, then write the graph and its chunks. */
static void held_flush(held_t *h, swriter_t *sw)
{
	size_t w = (size_t)h->nc * NCODE, rows = h->rows, i, base = 0, c;
	int64_t *first = xmallocarray(rows + 1, sizeof *first);
	int64_t *rep = xmallocarray(rows + 1, sizeof *rep);     /* per group head */
	int64_t *gcnt = xcalloc(rows + 1, sizeof *gcnt);        /* per group head */
	int64_t *goff = xmallocarray(rows + 1, sizeof *goff);
	int64_t *gpos = xmallocarray(rows + 1, sizeof *gpos);
	int64_t *glist, *grt = NULL;
	uint8_t *keepcol = xmalloc((size_t)h->nc + 1);
	int64_t nkeepcol = h->nc, nkept = 0, out_off = 0, j, total;
	int dedup = opt.dedup, keep = opt.keep;
	size_t s;

	if (dedup && rows && !h->has_rt)
		keep = KEEP_FIRST;  /* --force: nothing else to go by */
	/* constant configurable nodes */
	memset(keepcol, 1, (size_t)h->nc + 1);
	if (opt.drop_const && rows > 0) {
		int64_t n = 0;
		/* row by row (sequential memory): a node varies once it differs
		 * from row 0 */
		memset(keepcol, 0, (size_t)h->nc + 1);
		for (i = 1; i < rows; i++) {
			const uint32_t *a = h->codes, *b = h->codes + i * w;
			for (j = 0; j < h->nc; j++) {
				size_t o = (size_t)j * NCODE;
				if (!keepcol[j] && (a[o] != b[o] || a[o + 1] != b[o + 1] ||
						    a[o + 2] != b[o + 2]))
					keepcol[j] = 1;
			}
		}
		for (j = 0; j < h->nc; j++)
			n += keepcol[j];
		if (n == 0)  /* all constant: keep them all (see the man page) */
			memset(keepcol, 1, (size_t)h->nc + 1);
		else
			nkeepcol = n;
	}
	/* groups of identical rows (constant columns do not change them) */
	if (dedup)
		b7_group_rows(h->codes, rows, w, first);
	else
		for (i = 0; i < rows; i++)
			first[i] = (int64_t)i;
	for (i = 0; i < rows; i++) {
		int64_t g = first[i];
		if (g == (int64_t)i) {
			rep[g] = g;
		} else if (keep == KEEP_MIN && h->rt[i] < h->rt[rep[g]]) {
			rep[g] = (int64_t)i;
		}
		gcnt[g] += h->doff[i + 1] - h->doff[i];
	}
	if (keep == KEEP_MEAN && dedup) {
		long double *sum = xcalloc(rows + 1, sizeof *sum);
		int64_t *n = xcalloc(rows + 1, sizeof *n);
		grt = xmallocarray(rows + 1, sizeof *grt);
		for (i = 0; i < rows; i++) {
			sum[first[i]] += (long double)h->rt[i];
			n[first[i]]++;
		}
		for (i = 0; i < rows; i++)
			if (first[i] == (int64_t)i)
				grt[i] = (int64_t)llroundl(sum[i] / (long double)n[i]);
		free(n);
		free(sum);
	}
	/* each group's original indices, rows in stream order */
	total = 0;
	for (i = 0; i < rows; i++)
		if (first[i] == (int64_t)i) {
			goff[i] = total;
			gpos[i] = total;
			total += gcnt[i];
		}
	glist = xmallocarray((size_t)total + 1, sizeof *glist);
	for (i = 0; i < rows; i++) {
		int64_t g = first[i], k;
		for (k = h->doff[i]; k < h->doff[i + 1]; k++)
			glist[gpos[g]++] = h->didx[k];
	}
	for (i = 0; i < rows; i++)
		if (rep[first[i]] == (int64_t)i)
			nkept++;

	/* the graph */
	if (nkeepcol != h->nc) {
		tensor_t *ids = rec_tensor(h->g, "node_config_ids"), *nid;
		nid = tensor_new1(DT_I32, nkeepcol);
		for (j = 0, s = 0; j < h->nc; j++)
			if (keepcol[j])
				((int32_t *)nid->data)[s++] = ((const int32_t *)ids->data)[j];
		rec_set_tensor(h->g, "node_config_ids", nid);
	}
	if (dedup)
		rec_set_int(h->g, "n_configs", nkept);
	sw_write(sw, h->g);

	/* the chunks, each with its kept rows */
	for (c = 0; c < h->nchunk; c++) {
		record_t *r = h->chunk[c];
		size_t cnt = (size_t)h->chunk_rows[c], k = 0, q;
		int64_t *local = xmallocarray(cnt + 1, sizeof *local);
		tensor_t *code, *ci, *rt = NULL, *dof = NULL, *dix = NULL;
		int64_t nd = 0;
		for (i = 0; i < cnt; i++)
			if (rep[first[base + i]] == (int64_t)(base + i)) {
				local[k++] = (int64_t)i;
				nd += gcnt[first[base + i]];
			}
		if (k > 0) {
			code = tensor_new3(DT_U32, (int64_t)k, nkeepcol, NCODE);
			ci = tensor_new1(DT_I64, (int64_t)k);
			if (h->has_rt)
				rt = tensor_new1(DT_I64, (int64_t)k);
			if (dedup || h->had_dups == 1) {
				dof = tensor_new1(DT_I64, (int64_t)k + 1);
				dix = tensor_new1(DT_I64, nd);
				((int64_t *)dof->data)[0] = 0;
			}
			nd = 0;
			for (q = 0; q < k; q++) {
				size_t row = base + (size_t)local[q];
				int64_t g = first[row];
				uint32_t *dst = (uint32_t *)code->data + q * (size_t)nkeepcol * NCODE;
				for (j = 0; j < h->nc; j++)
					if (keepcol[j]) {
						memcpy(dst, h->codes + row * w + (size_t)j * NCODE,
						       NCODE * sizeof *dst);
						dst += NCODE;
					}
				((int64_t *)ci->data)[q] = h->cidx[row];
				if (rt)
					((int64_t *)rt->data)[q] = grt ? grt[g] : h->rt[row];
				if (dof) {
					memcpy((int64_t *)dix->data + nd, glist + goff[g],
					       (size_t)gcnt[g] * sizeof *glist);
					nd += gcnt[g];
					((int64_t *)dof->data)[q + 1] = nd;
				}
			}
			/* other per-row tensors keep the kept rows */
			for (q = 0; q < r->n; q++) {
				field_t *f = &r->f[q];
				tensor_t *old;
				if (f->kind != V_TENSOR)
					continue;
				old = f->v.t;
				if (old->ndim < 1 || old->shape[0] != (int64_t)cnt || cnt == k)
					continue;
				f->v.t = tensor_take_rows(old, local, k);
				tensor_free(old);
			}
			rec_set_int(r, "offset", out_off);
			rec_set_int(r, "count", (int64_t)k);
			rec_set_tensor(r, "config_index", ci);
			rec_set_tensor(r, "node_config_code", code);
			if (rt)
				rec_set_tensor(r, "config_runtime", rt);
			if (dof) {
				rec_set_tensor(r, "dup_offsets", dof);
				rec_set_tensor(r, "dup_index", dix);
			}
			sw_write(sw, r);
			out_off += (int64_t)k;
		}
		free(local);
		rec_free(r);
		base += cnt;
	}

	rec_free(h->g);
	free(glist); free(grt); free(keepcol); free(gpos); free(goff); free(gcnt);
	free(rep); free(first);
	free(h->chunk); free(h->chunk_rows); free(h->codes); free(h->rt);
	free(h->cidx); free(h->doff); free(h->didx);
	memset(h, 0, sizeof *h);
}

/* ---- the loop (stream_filter's hooks) ---- */

/* The state between records: the current graph, and the graph held for
 * --dedup / --drop-constant until its last configs chunk. */
typedef struct {
	held_t held;
	char *gid;             /* the current graph's id */
	int have_graph, layout, holding;
	int64_t nc;
} loop_t;

static int on_record(record_t *r, swriter_t *sw, void *ctx)
{
	loop_t *L = ctx;
	if (rec_is(r, "configs")) {
		const char *id = rec_str(r, "id");
		if (!L->have_graph)
			rec_die(r, "configs record before any graph");
		if (id && L->gid && strcmp(id, L->gid) != 0)
			rec_die(r, "configs of '%s' after graph '%s'", id, L->gid);
		if (!L->layout)   /* tile: pass through */
			return SF_WRITE;
		int64_t count = chunk_count(r);
		if (L->holding) {
			held_add(&L->held, r, count);   /* keeps r */
			return SF_KEPT;
		}
		if (opt.decode)
			decode_chunk(r, L->nc, count);
		else
			encode_chunk(r, L->nc, count);
		return SF_WRITE;
	}
	/* any other record ends the held graph */
	if (L->holding) {
		held_flush(&L->held, sw);
		L->holding = 0;
	}
	if (rec_is(r, "graph")) {
		graph_rec_t gr;
		const char *id = rec_str(r, "id");
		graph_rec_check(r, &gr);
		free(L->gid);
		L->gid = id ? xstrdup(id) : NULL;
		L->have_graph = 1;
		L->layout = gr.node_config_ids != NULL;
		L->nc = gr.nc;
		if (L->layout && (opt.dedup || opt.drop_const)) {
			held_start(&L->held, r, L->nc);   /* keeps r */
			L->holding = 1;
			return SF_KEPT;
		}
	}
	return SF_WRITE;
}

/* The end of the input ends the held graph too. */
static void on_end(swriter_t *sw, void *ctx)
{
	loop_t *L = ctx;
	if (L->holding) {
		held_flush(&L->held, sw);
		L->holding = 0;
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"decode", no_argument, NULL, 'd'},
		{"dedup", no_argument, NULL, 'u'},
		{"drop-constant", no_argument, NULL, 'c'},
		{"force", no_argument, NULL, 'f'},
		{"force-tty", no_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		{"keep", required_argument, NULL, 'k'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *path = "-";
	int c;

	setprogname_argv(argv);
	usage_init(usage_line);
	while ((c = getopt_long(argc, argv, "cdfhk:uV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt.drop_const = 1; break;
		case 'd': opt.decode = 1; break;
		case 'f': opt.force = 1; break;
		case 'T': opt.force_tty = 1; break;
		case 'h': usage_help(help_text);
		case 'k':
			opt.keep_set = 1;
			if (strcmp(optarg, "min") == 0)
				opt.keep = KEEP_MIN;
			else if (strcmp(optarg, "first") == 0)
				opt.keep = KEEP_FIRST;
			else if (strcmp(optarg, "mean") == 0)
				opt.keep = KEEP_MEAN;
			else
				usage_error("--keep: want min, first or mean");
			break;
		case 'u': opt.dedup = 1; break;
		case 'V': print_version();
		default: usage_error(NULL);
		}
	}
	if (opt.decode && (opt.dedup || opt.drop_const))
		usage_error("--decode does not go with --dedup or --drop-constant");
	if ((opt.keep_set || opt.force) && !opt.dedup)
		usage_error("--keep and --force go with --dedup");
	if (argc - optind > 1)
		usage_error("at most one input stream");
	if (optind < argc)
		path = argv[optind];

	stream_refuse_tty(1, opt.force_tty, "--force-tty");
	loop_t L = { 0 };
	stream_filter(path, argc, argv, &(stream_hooks_t){ .record = on_record, .end = on_end,
							   .ctx = &L });
	free(L.gid);
	return EX_OK;
}
