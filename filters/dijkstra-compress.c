/* dijkstra-compress: keep the nodes on shortest paths between the graph's
 * anchors (inputs, outputs) and its configurable nodes.
 *
 * For every graph with configurable nodes:
 *   1. input anchors: parameters (opcode 63) and constants (24) without
 *      operands; output anchors: the root (node_feat[:, 0] != 0) and every
 *      node without users;
 *   2. Dijkstra from the input anchors along the data flow, and from the
 *      output anchors against it, with a weight per edge (1, or the bytes
 *      of the consumed tensor with --weight bytes);
 *   3. keep every configurable node, and the nodes on its shortest path from
 *      the nearest input anchor and to the nearest output anchor (the
 *      deterministic shortest-path trees of graph_dijkstra);
 *   4. keep the edges between kept nodes, and replace each chain of removed
 *      nodes between two kept nodes by one edge; edge_feat (m, 1) f32 gives
 *      every edge the number of original edges it stands for.
 * docs/dijkstra-compress.md gives the exact rules and a drawn example. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "graph.h"
#include "stream.h"

enum { W_UNIT, W_BYTES };
enum { OPC_CONSTANT = 24, OPC_PARAMETER = 63 };

static struct {
	int weight;
	int force;    /* -f: a binary stream to a terminal too */
} opt = {W_UNIT};

static const char usage_line[] =
	"usage: dijkstra-compress [-f] [-w unit|bytes] [FILE]\n";

static const char help_text[] =
	"Keep the configurable nodes of each graph and the nodes on their shortest\n"
	"paths from the graph's inputs and to its outputs; replace each chain of\n"
	"removed nodes between kept nodes by one edge whose length (original\n"
	"edges) goes to edge_feat (m, 1).  Graphs without configurable nodes\n"
	"pass through.\n"
	"\n"
	"  -w, --weight W   edge weight for the shortest paths: unit (default: 1 per\n"
	"                   edge, or the edge_feat length of an earlier run) or\n"
	"                   bytes (the size of the consumed tensor, at least 1)\n"
	"  -f, --force      write the stream even to a terminal\n"
	"  -h, --help       this help\n"
	"  -V, --version    print the version\n"
	"\n"
	"FILE is a stream (default or '-': stdin); the stream goes to stdout.\n"
	"Exit status: 0 ok, 1 bad data, 2 bad usage, 3 I/O error.\n";

/* Bytes per element from the one-hot element type (node_feat 2..20). */
static const double elem_bytes[19] = {
	0, 1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 4, 8, 2, 8, 16, 0, 0, 0,
};

static double tensor_bytes(const float *feat)
{
	double b = 0;
	int k;
	for (k = 0; k < 19; k++)
		if (feat[2 + k] != 0) {
			b = elem_bytes[k];
			break;
		}
	return b * (double)feat[28];
}

typedef struct { int32_t u, v; double len; } bedge_t;

static int bedge_cmp(const void *a, const void *b)
{
	const bedge_t *x = a, *y = b;
	if (x->u != y->u)
		return x->u < y->u ? -1 : 1;
	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return (x->len > y->len) - (x->len < y->len);
}

static int pair_cmp(const void *a, const void *b)
{
	const int32_t *x = a, *y = b;
	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return (x[1] > y[1]) - (x[1] < y[1]);
}

/* For a removed node r, where its chain of single-operand removed nodes
 * ends: end[r] = the kept node reached (-1: none), clen[r] = the summed
 * length.  state: 0 unknown, 1 on the stack, 2 resolved.  O(n) overall. */
static void resolve_chains(const graph_t *g, const uint8_t *keep, const double *len,
			   int32_t *end, double *clen)
{
	uint8_t *state = xcalloc((size_t)g->n, 1);
	int32_t *stack = xmallocarray((size_t)g->n, sizeof *stack);
	int32_t x;
	for (x = 0; x < g->n; x++) {
		int32_t top = 0, y = x, e_node = -1;
		double acc = 0;
		if (keep[x] || state[x] == 2)
			continue;
		/* walk down single-operand removed nodes */
		for (;;) {
			if (keep[y]) {
				e_node = y;
				acc = 0;
				break;
			}
			if (state[y] == 2) {
				e_node = end[y];
				acc = clen[y];
				break;
			}
			if (state[y] == 1 || graph_n_operands(g, y) != 1) {
				e_node = -1;   /* a cycle, a source or a join */
				if (state[y] == 0) {
					end[y] = -1;
					clen[y] = 0;
					state[y] = 2;
				}
				break;
			}
			state[y] = 1;
			stack[top++] = y;
			y = g->op_node[g->op_off[y]];
		}
		/* unwind: each node's end is the same, lengths accumulate */
		while (top > 0) {
			int32_t z = stack[--top];
			if (e_node >= 0)
				acc += len[g->op_edge[g->op_off[z]]];
			end[z] = e_node;
			clen[z] = e_node >= 0 ? acc : 0;
			state[z] = 2;
		}
	}
	free(stack);
	free(state);
}

static void compress(record_t *r)
{
	graph_rec_t gr;
	graph_t g;
	char err[1024];
	tensor_t *ef, *op, *nf, *t;
	double *w, *len, *df, *db, *clen;
	int32_t *pf, *pb, *src, *end, *newid, x;
	uint8_t *keep, *vf, *vb;
	const int32_t *ei, *cid;
	int64_t e, nsrc, nb = 0, nd = 0, i, m_out, k, km;
	bedge_t *be;
	int32_t *direct;

	graph_rec_check(r, &gr);
	if (!gr.node_config_ids || gr.nc == 0)
		return;  /* tile graph: nothing to centre on */
	op = rec_need_tensor(r, "node_opcode", DT_I32, 1);
	nf = rec_opt_tensor(r, "node_feat", DT_F32, 2);
	if (nf && nf->shape[1] < 29)
		rec_die(r, "node_feat has %lld columns, want 140",
			(long long)nf->shape[1]);
	ei = gr.edge_index->data;
	cid = gr.node_config_ids->data;
	if (graph_build(&g, gr.n, ei, gr.m, err, sizeof err) != 0)
		rec_die(r, "%s", err);

	/* edge lengths (an earlier run's edge_feat) and weights */
	len = xmallocarray((size_t)gr.m + 1, sizeof *len);
	w = xmallocarray((size_t)gr.m + 1, sizeof *w);
	ef = rec_opt_tensor(r, "edge_feat", DT_F32, 2);
	if (ef && (ef->shape[0] != gr.m || ef->shape[1] != 1))
		rec_die(r, "edge_feat is (%lld, %lld): dijkstra-compress composes only "
			"its own (m, 1) path lengths (m = %lld)", (long long)ef->shape[0],
			(long long)ef->shape[1], (long long)gr.m);
	for (e = 0; e < gr.m; e++) {
		len[e] = ef ? ((const float *)ef->data)[e] : 1.0;
		if (!isfinite(len[e]) || len[e] < 0)
			rec_die(r, "edge_feat[%lld] = %g is not a path length",
				(long long)e, len[e]);
		if (opt.weight == W_BYTES) {
			if (!nf)
				rec_die(r, "--weight bytes needs node_feat");
			w[e] = tensor_bytes((const float *)nf->data +
					    (size_t)ei[2 * e + 1] * (size_t)nf->shape[1]);
			if (!isfinite(w[e]))
				rec_die(r, "node %d: tensor size is not finite", ei[2 * e + 1]);
			if (w[e] < 1)
				w[e] = 1;
		} else {
			w[e] = len[e];
		}
	}

	/* shortest-path trees from the inputs (along the data flow) and from
	 * the outputs (against it) */
	src = xmallocarray((size_t)gr.n, sizeof *src);
	df = xmallocarray((size_t)gr.n, sizeof *df);
	db = xmallocarray((size_t)gr.n, sizeof *db);
	pf = xmallocarray((size_t)gr.n, sizeof *pf);
	pb = xmallocarray((size_t)gr.n, sizeof *pb);
	nsrc = 0;
	for (x = 0; x < gr.n; x++) {
		int32_t o = ((const int32_t *)op->data)[x];
		if (graph_n_operands(&g, x) == 0 && (o == OPC_PARAMETER || o == OPC_CONSTANT))
			src[nsrc++] = x;
	}
	graph_dijkstra(&g, src, (size_t)nsrc, GRAPH_OUT, w, df, pf, NULL);
	nsrc = 0;
	for (x = 0; x < gr.n; x++) {
		int root = nf && ((const float *)nf->data)[(size_t)x * (size_t)nf->shape[1]] != 0;
		if (root || graph_n_users(&g, x) == 0)
			src[nsrc++] = x;
	}
	graph_dijkstra(&g, src, (size_t)nsrc, GRAPH_IN, w, db, pb, NULL);

	/* keep the configurable nodes and their two tree paths */
	keep = xcalloc((size_t)gr.n, 1);
	vf = xcalloc((size_t)gr.n, 1);
	vb = xcalloc((size_t)gr.n, 1);
	for (i = 0; i < gr.nc; i++) {
		for (x = cid[i]; x >= 0 && !vf[x]; x = pf[x]) {
			vf[x] = 1;
			keep[x] = 1;
		}
		for (x = cid[i]; x >= 0 && !vb[x]; x = pb[x]) {
			vb[x] = 1;
			keep[x] = 1;
		}
	}

	/* chains of removed nodes into each kept node's operands */
	end = xmallocarray((size_t)gr.n, sizeof *end);
	clen = xmallocarray((size_t)gr.n, sizeof *clen);
	resolve_chains(&g, keep, len, end, clen);
	be = xmallocarray((size_t)gr.m + 1, sizeof *be);
	direct = xmallocarray(2 * (size_t)gr.m + 2, sizeof *direct);
	for (e = 0; e < gr.m; e++) {
		int32_t u = ei[2 * e], v = ei[2 * e + 1];
		if (!keep[u])
			continue;
		if (keep[v]) {
			direct[2 * nd] = u;
			direct[2 * nd + 1] = v;
			nd++;
		} else if (end[v] >= 0) {
			be[nb].u = u;
			be[nb].v = end[v];
			be[nb].len = len[e] + clen[v];
			nb++;
		}
	}
	/* one bypass per (u, v) pair, the shortest; none beside a direct edge */
	qsort(be, (size_t)nb, sizeof *be, bedge_cmp);
	qsort(direct, (size_t)nd, 2 * sizeof *direct, pair_cmp);
	k = 0;
	for (i = 0; i < nb; i++) {
		int32_t key[2] = {be[i].u, be[i].v};
		if (i > 0 && be[i].u == be[i - 1].u && be[i].v == be[i - 1].v)
			continue;
		if (nd && bsearch(key, direct, (size_t)nd, 2 * sizeof *direct, pair_cmp))
			continue;
		be[k++] = be[i];
	}
	nb = k;

	/* subset the record, then append the bypass edges */
	if (!ef) {
		t = tensor_new2(DT_F32, gr.m, 1);
		for (e = 0; e < gr.m; e++)
			((float *)t->data)[e] = 1.0f;
		rec_set_tensor(r, "edge_feat", t);
	}
	newid = xmallocarray((size_t)gr.n, sizeof *newid);
	graph_renumber(keep, gr.n, newid);
	graph_free(&g);
	if (graph_rec_subset(r, keep, gr.n, err, sizeof err) != 0)
		die(EX_DATA, "%s", err);
	km = rec_tensor(r, "edge_index")->shape[0];
	m_out = km + nb;
	for (i = 0; i < (int64_t)r->n; i++) {
		field_t *f = &r->f[i];
		tensor_t *old, *nw;
		int64_t shape[TENSOR_MAXDIM];
		size_t rowbytes;
		if (f->kind != V_TENSOR || strncmp(f->key, "edge_", 5) != 0)
			continue;
		old = f->v.t;
		if (old->ndim < 1 || old->shape[0] != km)
			continue;
		memcpy(shape, old->shape, sizeof shape);
		shape[0] = m_out;
		nw = tensor_new(old->dtype, old->ndim, shape);  /* zeroed */
		memcpy(nw->data, old->data, old->nbytes);
		rowbytes = old->shape[0] ? old->nbytes / (size_t)old->shape[0]
					 : dtype_size(old->dtype) * (nw->numel / (size_t)m_out);
		for (k = 0; k < nb; k++) {
			char *row = (char *)nw->data + old->nbytes + (size_t)k * rowbytes;
			if (strcmp(f->key, "edge_index") == 0) {
				((int32_t *)row)[0] = newid[be[k].u];
				((int32_t *)row)[1] = newid[be[k].v];
			} else if (strcmp(f->key, "edge_feat") == 0) {
				((float *)row)[0] = (float)be[k].len;
			}
		}
		f->v.t = nw;
		tensor_free(old);
	}
	rec_set_int(r, "n_edges", m_out);

	free(newid); free(direct); free(be); free(clen); free(end);
	free(vb); free(vf); free(keep); free(pb); free(pf); free(db); free(df);
	free(src); free(w); free(len);
}

/* stream_filter's callback: compress graph records, pass the rest. */
static int filter_record(record_t *r, swriter_t *sw, void *ctx)
{
	(void)sw;
	(void)ctx;
	if (rec_is(r, "graph"))
		compress(r);
	return SF_WRITE;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"weight", required_argument, NULL, 'w'},
		{NULL, 0, NULL, 0},
	};
	const char *path = "-";
	int c;

	setprogname_argv(argv);
	usage_init(usage_line);
	while ((c = getopt_long(argc, argv, "fhVw:", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': opt.force = 1; break;
		case 'h': usage_help(help_text);
		case 'V':
			print_version();
		case 'w':
			if (strcmp(optarg, "unit") == 0)
				opt.weight = W_UNIT;
			else if (strcmp(optarg, "bytes") == 0)
				opt.weight = W_BYTES;
			else
				usage_error("--weight: want unit or bytes");
			break;
		default:
			usage_error(NULL);
		}
	}
	if (argc - optind > 1)
		usage_error("at most one input stream");
	if (optind < argc)
		path = argv[optind];

	stream_refuse_tty(1, opt.force, "-f");
	stream_filter(path, argc, argv, &(stream_hooks_t){ .record = filter_record });
	return EX_OK;
}
