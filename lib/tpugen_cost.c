/* tpugen_cost: the cost models behind tpugen's runtimes, and the config
 * samplers.  docs/tpugen.md explains the model; the constants of each world
 * are a machine (the default, tpu: 8x128 vreg tiles, an MXU that wants
 * 128-wide operands, HBM bandwidth, a 16 MiB VMEM), not fitted to
 * anything.  The samplers do not depend on the world: the same seed gives
 * the same graphs and configs in every world, only the runtimes differ. */
#include "tpugen.h"
#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the machines ---- */
#define MIB (1024.0 * 1024)
static const tg_world_t worlds[TW__N] = {
	/* tpu: the original model.  Bandwidth and MXU balanced (a big dot is
	 * compute-bound, most else memory-bound), copies at HBM speed. */
	{.name = "tpu", .hbm_bw = 1200, .mxu_bf16 = 120000, .vpu_rate = 4096,
	 .op_ovh = 350, .fused_ovh = 20, .program_ovh = 5000, .copy_ovh = 350,
	 .copy_bw = 1200, .lane_cross = 1.6, .step_ovh = 350, .kernel_ovh = 1500,
	 .dma_row_ovh = 64, .vmem = 16 * MIB, .sigma_lo = 0.01, .sigma_hi = 0.03,
	 .lanes = 128, .sublanes = 8, .mxu = 128, .slow_max = 1},
	/* compute: a slow, 256-wide MXU fed from fast HBM through 16x256 vreg
	 * tiles, a 4 MiB VMEM, cheap launches and grid steps; the MXU streams
	 * the lhs with its non-contracting dim minor. */
	{.name = "compute", .hbm_bw = 4000, .mxu_bf16 = 30000, .vpu_rate = 2048,
	 .op_ovh = 80, .fused_ovh = 5, .program_ovh = 2000, .copy_ovh = 80,
	 .copy_bw = 4000, .lane_cross = 1.3, .step_ovh = 60, .kernel_ovh = 400,
	 .dma_row_ovh = 32, .vmem = 4 * MIB, .sigma_lo = 0.01, .sigma_hi = 0.03,
	 .lanes = 256, .sublanes = 16, .mxu = 256, .mxu_m_minor = 1, .slow_max = 1},
	/* copy: compute nearly free; relayout copies slow and expensive to
	 * launch, an operand a dot or convolution cannot stream is transposed
	 * first; tiles pay a large cost per DMA row unless they span the minor
	 * dim (one contiguous run). */
	{.name = "copy", .hbm_bw = 1200, .mxu_bf16 = 2e6, .vpu_rate = 65536,
	 .op_ovh = 100, .fused_ovh = 10, .program_ovh = 5000, .copy_ovh = 3000,
	 .copy_bw = 150, .lane_cross = 4.0, .step_ovh = 100, .kernel_ovh = 1500,
	 .dma_row_ovh = 2048, .vmem = 16 * MIB, .sigma_lo = 0.01, .sigma_hi = 0.03,
	 .lanes = 128, .sublanes = 8, .mxu = 128, .copy_operands = 1,
	 .contiguous_dma = 1, .slow_max = 1},
	/* membound: slow HBM, no compute/DMA overlap in tiles, a hidden share
	 * of the tensors in slower memory (nothing in the features says which),
	 * and several times the measurement noise. */
	{.name = "membound", .hbm_bw = 250, .mxu_bf16 = 500000, .vpu_rate = 16384,
	 .op_ovh = 200, .fused_ovh = 20, .program_ovh = 5000, .copy_ovh = 200,
	 .copy_bw = 250, .lane_cross = 1.6, .step_ovh = 50, .kernel_ovh = 1500,
	 .dma_row_ovh = 512, .vmem = 32 * MIB, .sigma_lo = 0.08, .sigma_hi = 0.16,
	 .lanes = 128, .sublanes = 8, .mxu = 128, .no_overlap = 1,
	 .slow_frac = 0.3, .slow_max = 4},
};

const tg_world_t *tg_world(int id)
{
	return id >= 0 && id < TW__N ? &worlds[id] : NULL;
}

const tg_world_t *tg_world_find(const char *name)
{
	for (int i = 0; i < TW__N; i++)
		if (strcmp(worlds[i].name, name) == 0)
			return &worlds[i];
	return NULL;
}

/* f32 matmuls take three bf16 passes */
static double mxu_peak(const tg_world_t *w, int et)
{
	return et == ET_BF16 ? w->mxu_bf16 : w->mxu_bf16 / 3;
}

static int esize(int et)
{
	switch (et) {
	case ET_PRED: case ET_U8: return 1;
	case ET_BF16: case ET_F16: return 2;
	case ET_S64: return 8;
	default: return 4;
	}
}

static int64_t roundup(int64_t x, int64_t m)
{
	if (x >= 0 && m > 0 && (m & (m - 1)) == 0)   /* a power of two: no division */
		return (x + m - 1) & ~(m - 1);
	return (x + m - 1) / m * m;
}

/* ---- layouts ---- */

typedef int8_t lay_t[TG_MAXRANK]; /* minor_to_major */

static void rowmajor(int rank, int8_t *l)
{
	for (int i = 0; i < TG_MAXRANK; i++)
		l[i] = i < rank ? (int8_t)(rank - 1 - i) : 0;
}

static int same_layout(const int8_t *a, const int8_t *b, int rank)
{
	for (int i = 0; i < rank; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

static int is_rowmajor(const int8_t *l, int rank)
{
	for (int i = 0; i < rank; i++)
		if (l[i] != rank - 1 - i)
			return 0;
	return 1;
}

/* Bytes of a tensor under a tiled layout: the minor dim padded to the
 * world's lanes (128), the second-minor to its sublanes (8; 16 for 2-byte
 * types, 32 for 1-byte: they pack into a 32-bit sublane). */
static double padded_bytes(const tg_world_t *w, const tg_node_t *v, const int8_t *l)
{
	int es = esize(v->et);
	double n = 1;
	if (v->et == ET_TUPLE)
		return 0;
	if (v->rank == 0)
		return es;
	for (int i = 0; i < v->rank; i++) {
		int64_t d = v->dims[l[i]];
		if (i == 0)
			d = roundup(d, w->lanes);
		else if (i == 1)
			d = roundup(d, w->sublanes * 4 / es);
		n *= (double)d;
	}
	if (v->rank == 1)
		n *= 1; /* a vector sits in one sublane row */
	return n * es;
}

static double numel(const tg_node_t *v)
{
	return (double)tg_numel(v);
}

static double util(const tg_world_t *w, const tg_node_t *v, const int8_t *l)
{
	double p = padded_bytes(w, v, l);
	return p > 0 ? numel(v) * esize(v->et) / p : 1;
}

/* ---- the layout model ---- */

struct tg_layout_model {
	const tg_graph_t *g;
	const tg_world_t *w;
	double sigma;        /* measurement noise (log sd) */
	float *slow;         /* (nn) hidden memory slowdown per tensor, or NULL */
	lay_t *L;            /* (nn) physical layouts under the config */
	lay_t *def;          /* (nn) under the all-default config */
	float *recent;       /* (8, ncfg, 18) */
	size_t nrecent;
	double p_node, p_block, p_explicit; /* random-mode sampling knobs */
	double p_near;       /* default mode: share of nodes changed */
	/* the incremental runtime: each node's terms under the all-default
	 * config (up to 3 operand copies, then the node's own cost) */
	double *term0;       /* every node's terms, in node order */
	size_t *off0;        /* (nn + 1): node i's are term0[off0[i] .. off0[i + 1]) */
	uint8_t *moved;      /* (nn) the node's layout is not its default (last config) */
	int32_t *mov;        /* the nodes a config can move (configurable, or
			      * inheriting a layout from one that can), ascending */
	size_t nmov;
	int32_t *cptr, *cons; /* (nn + 1), consumers of the nodes in mov (CSR) */
	uint64_t *evb;       /* (nw) bit i: node i is evaluated under this config
			      * (configurable, moved, or reads one that moved) */
	uint64_t *cfgb;      /* (nw) bit i: node i is configurable */
	size_t nw;           /* 64-bit words of a node bitmap */
	size_t evaluated;    /* nodes the last tg_layout_runtime evaluated */
	int full;            /* not in topological order: evaluate every node */
};

static int is_elementwise(int op)
{
	switch (op) {
	case OP_ADD: case OP_SUBTRACT: case OP_MULTIPLY: case OP_DIVIDE:
	case OP_MAXIMUM: case OP_MINIMUM: case OP_EXP: case OP_LOG: case OP_TANH:
	case OP_RSQRT: case OP_SQRT: case OP_NEGATE: case OP_LOGISTIC:
	case OP_CONVERT: case OP_COMPARE: case OP_SELECT:
		return 1;
	default:
		return 0;
	}
}

/* cheap producers the compiler re-materialises in any layout */
static int is_free_producer(int op)
{
	return op == OP_BROADCAST || op == OP_CONSTANT || op == OP_IOTA;
}

static const float *block(const tg_node_t *v, const float *cfg, int b)
{
	const float *p;
	if (!cfg || v->cfg < 0)
		return NULL;
	p = cfg + (size_t)v->cfg * TG_NCFG + 6 * b;
	return p[0] >= 0 ? p : NULL;
}

static void from_block(const float *blk, int rank, int8_t *l)
{
	for (int i = 0; i < TG_MAXRANK; i++)
		l[i] = i < rank ? (int8_t)blk[i] : 0;
}

static int opnd(const tg_graph_t *g, const tg_node_t *v, int i)
{
	return g->opnd[v->in + i];
}

/* the compiler's choice of output layout for v, given its operands' */
static void default_out(const tg_graph_t *g, const lay_t *L, int id, int8_t *l)
{
	const tg_node_t *v = &g->n[id];
	const tg_node_t *x = v->nin ? &g->n[opnd(g, v, 0)] : NULL;
	const int8_t *lx = v->nin ? L[opnd(g, v, 0)] : NULL;
	rowmajor(v->rank, l);
	switch (v->op) {
	case OP_TRANSPOSE: {
		/* make the transpose a bitcast: out dim i is operand dim a[i] */
		int inv[TG_MAXRANK];
		for (int i = 0; i < v->rank; i++)
			inv[v->a[i]] = i;
		for (int k = 0; k < v->rank; k++)
			l[k] = (int8_t)inv[lx[k]];
		break;
	}
	case OP_REDUCE: {
		int k = 0, map[TG_MAXRANK];
		for (int i = 0, o = 0; i < x->rank; i++) {
			int red = 0;
			for (int j = 0; j < v->a[0]; j++)
				red |= v->a[1 + j] == i;
			map[i] = red ? -1 : o++;
		}
		for (int i = 0; i < x->rank; i++)
			if (map[lx[i]] >= 0)
				l[k++] = (int8_t)map[lx[i]];
		break;
	}
	case OP_REDUCE_WINDOW: case OP_PAD: case OP_SLICE: case OP_CONCATENATE:
	case OP_DYNAMIC_SLICE:
		if (x->rank == v->rank)
			memcpy(l, lx, TG_MAXRANK);
		break;
	default:
		if (is_elementwise(v->op) && x && x->et != ET_TUPLE && x->rank == v->rank) {
			/* the first operand that is not re-materialised decides */
			for (int i = 0; i < v->nin; i++) {
				int p = opnd(g, v, i);
				if (!is_free_producer(g->n[p].op) && g->n[p].rank == v->rank) {
					memcpy(l, L[p], TG_MAXRANK);
					break;
				}
			}
		}
		break;
	}
}

/* node i's layout under cfg, its operands' already assigned */
static void assign_one(const tg_graph_t *g, const float *cfg, lay_t *L, size_t i)
{
	const tg_node_t *v = &g->n[i];
	const float *b = block(v, cfg, 0);
	if (v->et == ET_TUPLE)
		rowmajor(0, L[i]);
	else if (b)
		from_block(b, v->rank, L[i]);
	else
		default_out(g, L, (int)i, L[i]);
}

static void assign(const tg_graph_t *g, const float *cfg, lay_t *L)
{
	for (size_t i = 0; i < g->nn; i++)
		assign_one(g, cfg, L, i);
}

/* default_out takes a layout from an operand for these ops (from one of
 * them; counting every operand keeps the set below a superset) */
static int inherits(const tg_node_t *v)
{
	switch (v->op) {
	case OP_TRANSPOSE: case OP_REDUCE: case OP_REDUCE_WINDOW: case OP_PAD: case OP_SLICE:
	case OP_CONCATENATE: case OP_DYNAMIC_SLICE:
		return 1;
	default:
		return is_elementwise(v->op);
	}
}

/* time to move a tensor between layouts */
static double copy_cost(const tg_world_t *w, const tg_node_t *v, const int8_t *from,
			const int8_t *to)
{
	double bytes = padded_bytes(w, v, from) + padded_bytes(w, v, to);
	double f = (v->rank > 0 && from[0] != to[0]) ? w->lane_cross : 1.0; /* lanes cross */
	return w->copy_ovh + bytes / w->copy_bw * f;
}

/* The copy world's alternative to a slow operand: transpose it (a copy)
 * so that dim d is minor, then run at full speed.  *e is the efficiency
 * the operand layout l would have had; returns the copy's time and sets
 * *e to 1, or leaves both alone in the other worlds. */
static double fix_operand(const tg_world_t *w, const tg_node_t *v, const int8_t *l,
			  int d, double *e)
{
	int8_t to[TG_MAXRANK];
	int k = 1;
	if (!w->copy_operands || *e >= 1 || d < 0 || v->rank == 0)
		return 0;
	memset(to, 0, sizeof to);
	to[0] = (int8_t)d;
	for (int i = 0; i < v->rank; i++)
		if (l[i] != d && k < v->rank)
			to[k++] = l[i];
	*e = 1;
	return copy_cost(w, v, l, to);
}

/* the hidden slowdown of tensor id's memory (membound; 1 elsewhere) */
static double slow(const tg_layout_model_t *m, int id)
{
	return m->slow ? (double)m->slow[id] : 1.0;
}

static double dot_cost(const tg_layout_model_t *m, const tg_node_t *v, const int8_t *lo,
		       const int8_t *la, const int8_t *lb)
{
	const tg_graph_t *g = m->g;
	const tg_world_t *w = m->w;
	int ia = opnd(g, v, 0), ib = opnd(g, v, 1);
	const tg_node_t *a = &g->n[ia], *b = &g->n[ib];
	int lc = v->a[0], rc = v->a[1], nb = v->a[2];
	int am = -1, bn = -1;
	double K = (double)a->dims[lc], flops, ea, eb, eo, u, bytes, peak, fix;
	for (int i = nb; i < a->rank; i++)
		if (i != lc)
			am = i;
	for (int i = nb; i < b->rank; i++)
		if (i != rc)
			bn = i;
	if (w->mxu_m_minor && am >= 0)
		ea = la[0] == am ? 1.0 : la[0] == lc ? 0.7 : 0.35;
	else
		ea = la[0] == lc ? 1.0 : la[0] == am ? 0.7 : 0.35;
	eb = lb[0] == bn ? 1.0 : lb[0] == rc ? 0.85 : 0.35;
	eo = lo[0] == v->rank - 1 ? 1.0 : lo[0] == v->rank - 2 ? 0.75 : 0.35;
	fix = fix_operand(w, a, la, w->mxu_m_minor && am >= 0 ? am : lc, &ea) * slow(m, ia) +
		fix_operand(w, b, lb, bn, &eb) * slow(m, ib) +
		fix_operand(w, v, lo, v->rank - 1, &eo);
	u = cbrt(util(w, a, la) * util(w, b, lb) * util(w, v, lo));
	flops = 2.0 * numel(v) * K;
	peak = mxu_peak(w, v->et);
	bytes = padded_bytes(w, a, la) * slow(m, ia) + padded_bytes(w, b, lb) * slow(m, ib) +
		padded_bytes(w, v, lo);
	return fix + (w->op_ovh + fmax(flops / (peak * ea * eb * eo * u), bytes / w->hbm_bw));
}

static double conv_cost(const tg_layout_model_t *m, const tg_node_t *v, const int8_t *lo,
			const int8_t *lx, const int8_t *lk)
{
	const tg_graph_t *g = m->g;
	const tg_world_t *w = m->w;
	int ix = opnd(g, v, 0), ik = opnd(g, v, 1);
	const tg_node_t *x = &g->n[ix], *k = &g->n[ik];
	const int16_t *dn = v->a;
	double ex, ek, eo, u, flops, bytes, peak, fix, fgc = v->a[14] > 0 ? v->a[14] : 1;
	ex = lx[0] == dn[1] ? 1.0 : lx[0] == dn[0] ? 0.75 : 0.5;
	ek = lk[0] == dn[5] ? 1.0 : lk[0] == dn[4] ? 0.8 : 0.3;
	eo = lo[0] == dn[9] ? 1.0 : lo[0] == dn[8] ? 0.75 : 0.5;
	fix = fix_operand(w, x, lx, dn[1], &ex) * slow(m, ix) +
		fix_operand(w, k, lk, dn[5], &ek) * slow(m, ik) +
		fix_operand(w, v, lo, dn[9], &eo);
	u = cbrt(util(w, x, lx) * util(w, k, lk) * util(w, v, lo));
	flops = 2.0 * numel(v) * (numel(k) / (double)k->dims[dn[5]]) / fgc;
	if (fgc > 1)
		u *= 0.25; /* depthwise: the MXU mostly idles */
	peak = mxu_peak(w, v->et);
	bytes = padded_bytes(w, x, lx) * slow(m, ix) + padded_bytes(w, k, lk) * slow(m, ik) +
		padded_bytes(w, v, lo);
	return fix + (w->op_ovh + fmax(flops / (peak * ex * ek * eo * u), bytes / w->hbm_bw));
}

/* is a reshape a bitcast between these tiled layouts? */
static int reshape_bitcast(const tg_node_t *x, const int8_t *lx, const tg_node_t *v,
			   const int8_t *lv)
{
	if (!is_rowmajor(lx, x->rank) || !is_rowmajor(lv, v->rank))
		return 0;
	if (x->rank == 0 || v->rank == 0)
		return 1;
	if (x->dims[x->rank - 1] != v->dims[v->rank - 1])
		return 0;
	if (x->rank >= 2 && v->rank >= 2 && x->dims[x->rank - 2] != v->dims[v->rank - 2])
		return x->dims[x->rank - 2] % 8 == 0 && v->dims[v->rank - 2] % 8 == 0;
	return 1;
}

static double node_cost(const tg_layout_model_t *m, size_t id, const lay_t *L,
			int8_t (*eff)[TG_MAXRANK])
{
	const tg_graph_t *g = m->g;
	const tg_world_t *w = m->w;
	const tg_node_t *v = &g->n[id];
	const int8_t *lo = L[id];
	double in_bytes = 0;
	for (int i = 0; i < v->nin && i < 3; i++)
		in_bytes += padded_bytes(w, &g->n[opnd(g, v, i)], eff[i]) * slow(m, opnd(g, v, i));
	switch (v->op) {
	case OP_PARAMETER: case OP_CONSTANT: case OP_GTE: case OP_TUPLE: case OP_IOTA:
		return 0;
	case OP_BROADCAST:
		return w->fused_ovh + 0.25 * padded_bytes(w, v, lo) / w->hbm_bw;
	case OP_DOT:
		return dot_cost(m, v, lo, eff[0], eff[1]);
	case OP_CONVOLUTION:
		return conv_cost(m, v, lo, eff[0], eff[1]);
	case OP_REDUCE: {
		const tg_node_t *x = &g->n[opnd(g, v, 0)];
		int minor = 0;
		for (int j = 0; j < v->a[0]; j++)
			minor |= v->a[1 + j] == eff[0][0];
		return w->op_ovh + (padded_bytes(w, x, eff[0]) * slow(m, opnd(g, v, 0)) +
				    padded_bytes(w, v, lo)) / w->hbm_bw * (minor ? 1.35 : 1.0);
	}
	case OP_TRANSPOSE: case OP_COPY: {
		int8_t bc[TG_MAXRANK];
		if (v->op == OP_TRANSPOSE) {
			int inv[TG_MAXRANK];
			for (int i = 0; i < v->rank; i++)
				inv[v->a[i]] = i;
			for (int k = 0; k < v->rank; k++)
				bc[k] = (int8_t)inv[eff[0][k]];
		} else {
			memcpy(bc, eff[0], TG_MAXRANK);
		}
		if (same_layout(bc, lo, v->rank))
			return w->fused_ovh; /* a bitcast */
		return w->copy_ovh + (in_bytes + padded_bytes(w, v, lo)) / w->copy_bw *
			(bc[0] != lo[0] ? w->lane_cross : 1.0);
	}
	case OP_RESHAPE: {
		const tg_node_t *x = &g->n[opnd(g, v, 0)];
		if (reshape_bitcast(x, eff[0], v, lo))
			return w->fused_ovh;
		return w->copy_ovh + (in_bytes + padded_bytes(w, v, lo)) / w->copy_bw * 1.3;
	}
	default:
		if (is_elementwise(v->op))
			return w->fused_ovh + 0.5 * padded_bytes(w, v, lo) / w->hbm_bw +
				numel(v) / w->vpu_rate * (v->op == OP_EXP || v->op == OP_TANH ||
							  v->op == OP_LOG || v->op == OP_LOGISTIC ? 0.25 : 0.05);
		return w->op_ovh + (in_bytes + padded_bytes(w, v, lo)) / w->hbm_bw;
	}
}

static int node_terms(const tg_layout_model_t *m, const float *cfg, const lay_t *L,
		      size_t id, double *terms);

tg_layout_model_t *tg_layout_model_new(const tg_graph_t *g, const tg_world_t *w, rng_t *r)
{
	tg_layout_model_t *m = xcalloc(1, sizeof *m);
	m->g = g;
	m->w = w;
	m->sigma = rng_range(r, w->sigma_lo, w->sigma_hi);
	m->L = xmallocarray(g->nn ? g->nn : 1, sizeof *m->L);
	m->def = xmallocarray(g->nn ? g->nn : 1, sizeof *m->def);
	m->recent = xmallocarray(8 * (g->ncfg ? g->ncfg : 1), TG_NCFG * sizeof(float));
	assign(g, NULL, m->def);
	memcpy(m->L, m->def, g->nn * sizeof *m->L);
	m->moved = xcalloc(g->nn ? g->nn : 1, 1);
	m->nw = (g->nn + 63) / 64;
	m->evb = xcalloc(m->nw ? m->nw : 1, sizeof *m->evb);
	m->cfgb = xcalloc(m->nw ? m->nw : 1, sizeof *m->cfgb);
	for (size_t i = 0; i < g->nn; i++)
		if (g->n[i].cfg >= 0)
			m->cfgb[i / 64] |= (uint64_t)1 << (i % 64);
	m->mov = xmallocarray(g->nn ? g->nn : 1, sizeof *m->mov);
	m->cptr = xcalloc(g->nn + 1, sizeof *m->cptr);
	m->off0 = xcalloc(g->nn + 1, sizeof *m->off0);
	m->term0 = xmallocarray(4 * (g->nn ? g->nn : 1), sizeof *m->term0);
	/* the nodes a config can move: configurable, or inheriting from an
	 * operand that can (operands come first: the builders write the nodes
	 * in topological order; a graph that is not is evaluated whole) */
	for (size_t i = 0; i < g->nn && !m->full; i++)
		for (int k = 0; k < g->n[i].nin; k++)
			m->full |= (size_t)opnd(g, &g->n[i], k) >= i;
	for (size_t i = 0; i < g->nn && !m->full; i++) {
		const tg_node_t *v = &g->n[i];
		int mv = v->cfg >= 0, rd = 0;
		for (int k = 0; k < v->nin; k++)
			rd |= m->moved[opnd(g, v, k)];
		mv |= rd && inherits(v);
		m->moved[i] = (uint8_t)mv;   /* "can move", until the memset below */
		if (mv)
			m->mov[m->nmov++] = (int32_t)i;
	}
	/* the consumers of each node that can move */
	for (size_t i = 0; i < g->nn; i++)
		for (int k = 0; k < g->n[i].nin; k++)
			if (m->moved[opnd(g, &g->n[i], k)])
				m->cptr[opnd(g, &g->n[i], k) + 1]++;
	for (size_t i = 0; i < g->nn; i++)
		m->cptr[i + 1] += m->cptr[i];
	m->cons = xmallocarray((size_t)m->cptr[g->nn] + 1, sizeof *m->cons);
	int32_t *fill = xcalloc(g->nn ? g->nn : 1, sizeof *fill); /* entries filled per node */
	for (size_t i = 0; i < g->nn; i++) {
		for (int k = 0; k < g->n[i].nin; k++) {
			int p = opnd(g, &g->n[i], k);
			if (m->moved[p])
				m->cons[m->cptr[p] + fill[p]++] = (int32_t)i;
		}
	}
	free(fill);
	memset(m->moved, 0, g->nn);
	m->p_node = rng_range(r, 0.3, 0.9);
	m->p_block = rng_range(r, 0.5, 0.9);
	m->p_explicit = rng_range(r, 0.15, 0.4);
	m->p_near = rng_range(r, 0.06, 0.36);
	if (w->slow_frac > 0) {
		/* drawn last: the samplers' knobs above are the same in every world */
		m->slow = xmallocarray(g->nn ? g->nn : 1, sizeof *m->slow);
		for (size_t i = 0; i < g->nn; i++)
			m->slow[i] = rng_bernoulli(r, w->slow_frac)
				? (float)rng_range(r, 1, w->slow_max) : 1.0f;
	}
	for (size_t i = 0; i < g->nn; i++)   /* after slow: the copies use it */
		m->off0[i + 1] = m->off0[i] +
			(size_t)node_terms(m, NULL, m->def, i, m->term0 + m->off0[i]);
	return m;
}

void tg_layout_model_free(tg_layout_model_t *m)
{
	if (!m)
		return;
	free(m->L);
	free(m->def);
	free(m->recent);
	free(m->slow);
	free(m->term0);
	free(m->off0);
	free(m->moved);
	free(m->evb);
	free(m->cfgb);
	free(m->mov);
	free(m->cptr);
	free(m->cons);
	free(m);
}

void tg_layout_fill_default(tg_layout_model_t *m, tg_graph_t *g)
{
	for (size_t i = 0; i < g->nn; i++) {
		float *f = g->feat + i * TG_NFEAT;
		for (int k = 0; k < TG_MAXRANK; k++)
			f[134 + k] = k < g->n[i].rank && g->n[i].et != ET_TUPLE ? (float)m->def[i][k] : 0;
	}
}

/* The terms node id adds to the runtime under layouts L (config cfg, NULL
 * for the all-default one), in the order they are added: a copy for each of
 * its first 3 operands whose layout is not the one it needs, then its own
 * cost (the last term).  Returns their count (1..4). */
static int node_terms(const tg_layout_model_t *m, const float *cfg, const lay_t *L,
		      size_t id, double *terms)
{
	const tg_graph_t *g = m->g;
	const tg_node_t *v = &g->n[id];
	int8_t eff[3][TG_MAXRANK];
	int k = 0;
	for (int i = 0; i < v->nin && i < 3; i++) {
		int p = opnd(g, v, i);
		const tg_node_t *x = &g->n[p];
		int8_t req[TG_MAXRANK];
		const float *b = NULL;
		int want = 0;
		memcpy(eff[i], L[p], TG_MAXRANK);
		if (x->et == ET_TUPLE || x->rank == 0)
			continue;
		if (i == 0 && (b = block(v, cfg, 1)) != NULL) {
			from_block(b, x->rank, req), want = 1;
		} else if (i == 1 && v->op == OP_CONVOLUTION && (b = block(v, cfg, 2)) != NULL) {
			from_block(b, x->rank, req), want = 1;
		} else if (is_elementwise(v->op) && x->rank == v->rank) {
			memcpy(req, L[id], TG_MAXRANK), want = 1;
		} else if (v->op == OP_TUPLE && v->comp == g->n[g->nn - 1].comp) {
			rowmajor(x->rank, req), want = 1; /* program outputs: row-major */
		}
		if (want && !same_layout(req, L[p], x->rank)) {
			if (!is_free_producer(x->op))
				terms[k++] = copy_cost(m->w, x, L[p], req) * slow(m, p);
			memcpy(eff[i], req, TG_MAXRANK);
		}
	}
	terms[k++] = node_cost(m, id, L, eff);
	return k;
}

double tg_layout_runtime_full(tg_layout_model_t *m, const float *cfg)
{
	const tg_graph_t *g = m->g;
	double t = m->w->program_ovh, terms[4];
	/* every layout assigned: the nodes no config moves get their defaults
	 * again, as tg_layout_runtime relies on */
	assign(g, cfg, m->L);
	for (size_t id = 0; id < g->nn; id++) {
		int k = node_terms(m, cfg, m->L, id, terms);
		for (int j = 0; j < k; j++)
			t += terms[j];
	}
	for (size_t k = 0; k < m->nmov; k++) {   /* what tg_layout_runtime keeps */
		size_t id = (size_t)m->mov[k];
		m->moved[id] = !same_layout(m->L[id], m->def[id], TG_MAXRANK);
	}
	return t;
}

/* A config moves the layouts of its configurable nodes and of the nodes
 * that inherit theirs; every other node adds what it adds under the
 * all-default config.  So only the nodes that are configurable, moved, or
 * read a moved operand are evaluated; the others' terms come from the
 * default's, and the sum is taken in the same order as
 * tg_layout_runtime_full's: the same double, bit for bit. */
double tg_layout_runtime(tg_layout_model_t *m, const float *cfg)
{
	const tg_graph_t *g = m->g;
	lay_t *L = m->L;
	double t = m->w->program_ovh, terms[4];
	if (m->full) {
		m->evaluated = g->nn;
		return tg_layout_runtime_full(m, cfg);
	}
	/* The nodes that can move, in order: a node none of whose operands
	 * moved, and not configurable, has its default layout.  A node that
	 * moves marks itself and its consumers. */
	uint64_t *ev = m->evb;
	memcpy(ev, m->cfgb, m->nw * sizeof *ev);
	for (size_t k = 0; k < m->nmov; k++) {
		size_t id = (size_t)m->mov[k];
		if (ev[id / 64] >> (id % 64) & 1) {
			assign_one(g, cfg, L, id);
			m->moved[id] = !same_layout(L[id], m->def[id], TG_MAXRANK);
		} else if (m->moved[id]) {   /* moved under the last config */
			memcpy(L[id], m->def[id], sizeof L[id]);
			m->moved[id] = 0;
		}
		if (m->moved[id]) {
			ev[id / 64] |= (uint64_t)1 << (id % 64);
			for (int32_t c = m->cptr[id]; c < m->cptr[id + 1]; c++)
				ev[m->cons[c] / 64] |= (uint64_t)1 << (m->cons[c] % 64);
		}
	}
	/* The sum in node order: the default terms of the nodes between two
	 * evaluated ones are contiguous in term0. */
	const double *t0 = m->term0;
	const size_t *off = m->off0;
	size_t next = 0;   /* the first node not yet added */
	m->evaluated = 0;
	for (size_t wd = 0; wd < m->nw; wd++) {
		for (uint64_t b = ev[wd]; b; b &= b - 1) {
			size_t id = wd * 64 + (size_t)__builtin_ctzll(b);
			for (size_t j = off[next]; j < off[id]; j++)
				t += t0[j];
			int k = node_terms(m, cfg, L, id, terms);
			m->evaluated++;
			for (int j = 0; j < k; j++)
				t += terms[j];
			next = id + 1;
		}
	}
	for (size_t j = off[next]; j < off[g->nn]; j++)
		t += t0[j];
	return t;
}

size_t tg_layout_evaluated(const tg_layout_model_t *m)
{
	return m->evaluated;
}

int64_t tg_layout_measure(tg_layout_model_t *m, const float *cfg, rng_t *r)
{
	double t = tg_layout_runtime(m, cfg) * exp(m->sigma * rng_normal(r));
	return (int64_t)llround(t);
}

/* a random permutation of 0..rank-1 into blk[0..rank), -1 after */
static void random_perm(rng_t *r, int rank, float *blk)
{
	int p[TG_MAXRANK];
	for (int i = 0; i < rank; i++)
		p[i] = i;
	rng_shuffle(r, p, (size_t)rank, sizeof p[0]);
	for (int i = 0; i < TG_MAXRANK; i++)
		blk[i] = i < rank ? (float)p[i] : -1.0f;
}

static void layout_block(const int8_t *l, int rank, float *blk)
{
	for (int i = 0; i < TG_MAXRANK; i++)
		blk[i] = i < rank ? (float)l[i] : -1.0f;
}

/* rank of block b of configurable node v (0 if the block does not exist) */
static int block_rank(const tg_graph_t *g, const tg_node_t *v, int b, int *tensor)
{
	if (b == 0) {
		*tensor = (int)(v - g->n);
		return v->rank;
	}
	if (b == 1 && v->nin > 0) {
		*tensor = opnd(g, v, 0);
		return g->n[*tensor].rank;
	}
	if (b == 2 && v->op == OP_CONVOLUTION) {
		*tensor = opnd(g, v, 1);
		return g->n[*tensor].rank;
	}
	return 0;
}

/* a value for one block: an explicit default or a random valid layout */
static void sample_block(tg_layout_model_t *m, rng_t *r, const tg_node_t *v, int b,
			 float *blk, double p_explicit, int avoid_default)
{
	int t, rank = block_rank(m->g, v, b, &t);
	if (rank == 0)
		return;
	if (rng_bernoulli(r, p_explicit)) {
		layout_block(m->def[t], rank, blk);
		return;
	}
	for (int tries = 0; tries < 8; tries++) {
		int8_t l[TG_MAXRANK];
		random_perm(r, rank, blk);
		from_block(blk, rank, l);
		if (!avoid_default || rank < 2 || !same_layout(l, m->def[t], rank))
			break;
	}
}

/* A layout near the default one, as a tuner exploring around the
 * compiler's choice would try: swap two major dims (the minor stays), bring
 * the largest other dim to the minor position, or anything. */
static void near_block(tg_layout_model_t *m, rng_t *r, const tg_node_t *v, int b, float *blk)
{
	int t, rank = block_rank(m->g, v, b, &t);
	int8_t l[TG_MAXRANK];
	double u = rng_uniform(r);
	if (rank < 2)
		return;
	memcpy(l, m->def[t], TG_MAXRANK);
	if (u < 0.05) {
		layout_block(l, rank, blk); /* the default, written out */
	} else if (u < 0.65 && rank >= 3) {
		int i = (int)rng_int(r, 1, rank - 1), j = (int)rng_int(r, 1, rank - 2);
		int8_t x;
		if (j >= i)
			j++;
		x = l[i], l[i] = l[j], l[j] = x;
		layout_block(l, rank, blk);
	} else if (u < 0.9) {
		const tg_node_t *x = &m->g->n[t];
		int best = 1;
		for (int i = 2; i < rank; i++)
			if (x->dims[l[i]] > x->dims[l[best]])
				best = i;
		int8_t d = l[best];
		memmove(l + 1, l, (size_t)best);
		l[0] = d;
		layout_block(l, rank, blk);
	} else {
		sample_block(m, r, v, b, blk, 0, 1);
	}
}

void tg_layout_sample(tg_layout_model_t *m, int mode, rng_t *r, float *cfg)
{
	const tg_graph_t *g = m->g;
	size_t n = g->ncfg * TG_NCFG;
	for (size_t i = 0; i < n; i++)
		cfg[i] = -1.0f;
	/* duplicates, as in the real data: re-run a recent config */
	if (m->nrecent > 0 && rng_bernoulli(r, mode ? 0.08 : 0.04)) {
		size_t k = (size_t)rng_int(r, 0, (int64_t)(m->nrecent < 8 ? m->nrecent : 8) - 1);
		memcpy(cfg, m->recent + k * n, n * sizeof(float));
		return;
	}
	if (mode == 0) {
		for (size_t c = 0; c < g->ncfg; c++) {
			const tg_node_t *v = &g->n[g->cfg[c]];
			if (!rng_bernoulli(r, m->p_node))
				continue;
			for (int b = 0; b < 3; b++)
				if (rng_bernoulli(r, m->p_block))
					sample_block(m, r, v, b, cfg + c * TG_NCFG + 6 * b,
						     m->p_explicit, 0);
		}
	} else if (g->ncfg > 0 && !rng_bernoulli(r, 0.03)) {
		/* near the default: a few percent of the nodes, one tensor each */
		double p = m->p_near * rng_range(r, 0.25, 2.0);
		int changed = 0;
		for (size_t c = 0; c < g->ncfg || !changed; c++) {
			size_t cc = c < g->ncfg ? c : (size_t)rng_int(r, 0, (int64_t)g->ncfg - 1);
			const tg_node_t *v = &g->n[g->cfg[cc]];
			int b, t;
			if (c < g->ncfg && !rng_bernoulli(r, p))
				continue;
			b = (int)rng_int(r, 0, v->op == OP_CONVOLUTION ? 2 : 1);
			if (block_rank(g, v, b, &t) < 2)
				b = 0;
			near_block(m, r, v, b, cfg + cc * TG_NCFG + 6 * b);
			changed = 1;
		}
	}
	memcpy(m->recent + (m->nrecent % 8) * n, cfg, n * sizeof(float));
	m->nrecent++;
}

/* ---- the tile model ---- */

struct tg_tile_model {
	const tg_world_t *w;
	int kind, rank, es, nops, nfull, nbcast, trans_minor;
	int64_t d[TG_MAXRANK];   /* output dims */
	int64_t K;               /* contraction / reduction extent (1 if none) */
	int red_minor;           /* reduce over the operand's minor dim */
	int64_t kh, kw, stride, ci;
	double sigma;
	float def[TG_NTILECFG];
	double def_t;
};

static int64_t unit(int rank, int i)
{
	return i == rank - 1 ? 128 : i == rank - 2 ? 8 : 1;
}

tg_tile_model_t *tg_tile_model_new(const tg_graph_t *g, int kind, const tg_world_t *w,
				   rng_t *r)
{
	tg_tile_model_t *m = xcalloc(1, sizeof *m);
	const tg_node_t *root = &g->n[g->nn - 1];
	m->w = w;
	m->kind = kind;
	m->rank = root->rank;
	m->es = esize(root->et);
	memcpy(m->d, root->dims, sizeof m->d);
	m->K = 1;
	m->sigma = rng_range(r, w->sigma_lo, w->sigma_hi);
	for (size_t i = 0; i < g->nn; i++) {
		const tg_node_t *v = &g->n[i];
		if (is_elementwise(v->op))
			m->nops++;
		else if (v->op == OP_PARAMETER && v->rank == root->rank)
			m->nfull++;
		else if (v->op == OP_BROADCAST && v->rank > 0 && g->n[opnd(g, v, 0)].rank > 0)
			m->nbcast++;
		if (v->op == OP_DOT) {
			m->K = g->n[opnd(g, v, 0)].dims[v->a[0]];
			m->es = esize(v->et);
		} else if (v->op == OP_CONVOLUTION) {
			const tg_node_t *k = &g->n[opnd(g, v, 1)];
			m->kh = k->dims[0], m->kw = k->dims[1], m->ci = k->dims[2];
			m->K = m->ci;
			m->stride = (int64_t)g->feat[i * TG_NFEAT + 45];
			m->es = esize(v->et);
		} else if (v->op == OP_REDUCE) {
			const tg_node_t *x = &g->n[opnd(g, v, 0)];
			m->K = 1;
			for (int j = 0; j < v->a[0]; j++) {
				m->K *= x->dims[v->a[1 + j]];
				m->red_minor |= v->a[1 + j] == x->rank - 1;
			}
		} else if (v->op == OP_TRANSPOSE) {
			m->trans_minor = v->a[v->rank - 1] != v->rank - 1;
		}
	}
	if (kind == TK_DOT || kind == TK_CONV)
		m->nfull = m->nfull > 2 ? m->nfull - 2 : 0;
	return m;
}

void tg_tile_model_free(tg_tile_model_t *m)
{
	free(m);
}

/* Only contraction kernels (dot, convolution) have kernel bounds, as in the
 * real tuning records: the others leave config_feat 0..7 zero, and a reduce
 * keeps its whole reduction in the tile. */
static int has_k(const tg_tile_model_t *m)
{
	return m->kind == TK_DOT || m->kind == TK_CONV;
}

/* config features from output bounds ob (units) and K bound kb (units of 128) */
static void make_cfg(const tg_tile_model_t *m, const int64_t *ob, int64_t kb, float *cfg)
{
	int64_t kbv[TG_MAXRANK + 1];
	int nk = has_k(m) ? m->rank : 0;
	memset(cfg, 0, TG_NTILECFG * sizeof(float));
	for (int i = 0; i < m->rank; i++)
		kbv[i] = ob[i];
	if (has_k(m) && nk < TG_MAXRANK)
		kbv[nk++] = kb;
	for (int i = 0; i < nk && i < 6; i++)
		cfg[i] = (float)kbv[i];
	{
		double s = 0, p = 1;
		for (int i = 0; i < nk; i++)
			s += (double)kbv[i], p *= (double)kbv[i];
		cfg[6] = (float)s, cfg[7] = (float)(nk ? p : 0);
		s = 0, p = 1;
		for (int i = 0; i < m->rank; i++) {
			cfg[8 + i] = (float)ob[i];
			s += (double)ob[i], p *= (double)ob[i];
		}
		cfg[14] = (float)s, cfg[15] = (float)p;
	}
}

static void read_cfg(const tg_tile_model_t *m, const float *cfg, int64_t *t, int64_t *tk)
{
	for (int i = 0; i < m->rank; i++)
		t[i] = (int64_t)cfg[8 + i] * unit(m->rank, i);
	*tk = has_k(m) ? (int64_t)cfg[m->rank] * 128 : m->K;
}

static double tile_eval(const tg_tile_model_t *m, const float *cfg, double *wsp)
{
	const tg_world_t *w = m->w;
	int64_t t[TG_MAXRANK] = {1, 1, 1, 1, 1, 1}, p[TG_MAXRANK], tk;
	double tiles = 1, T = 1, rowb, dma, ws, bytes, flops, compute, mem, steps, kt;
	double es = m->es, eff = 1, mxu = w->mxu;
	read_cfg(m, cfg, t, &tk);
	/* p: the tile as the vregs hold it, its minor dims padded to the
	 * world's vreg tile (the tpu world's units are its vreg tile: p = t) */
	memcpy(p, t, sizeof p);
	p[m->rank - 1] = roundup(t[m->rank - 1], w->lanes);
	if (m->rank >= 2)
		p[m->rank - 2] = roundup(t[m->rank - 2], w->sublanes);
	for (int i = 0; i < m->rank; i++) {
		tiles *= (double)((m->d[i] + t[i] - 1) / t[i]);
		T *= (double)p[i];
	}
	kt = (double)(tk < m->K ? tk : m->K);
	steps = tiles * (has_k(m) ? ceil((double)m->K / kt) : 1);
	rowb = (double)p[m->rank - 1] * es;
	if (w->contiguous_dma && t[m->rank - 1] >= m->d[m->rank - 1] && m->rank >= 2)
		rowb *= (double)p[m->rank - 2]; /* whole rows: one run per tile */
	dma = rowb / (rowb + w->dma_row_ovh);
	switch (m->kind) {
	case TK_DOT: {
		/* (tm, tn) output tile, tk contraction tile; A re-read per column of
		 * tiles, B per row of tiles */
		double tm = (double)p[0], tn = (double)p[1];
		double M = (double)m->d[0], N = (double)m->d[1], K = (double)m->K;
		double gm = ceil(M / (double)t[0]), gn = ceil(N / (double)t[1]), gk = ceil(K / kt);
		ws = 2 * (tm * kt + kt * tn) * es + tm * tn * 4 + tm * tn * es * (1 + m->nfull);
		bytes = gm * gn * gk * (tm * kt + kt * tn) * es + gm * gn * tm * tn * es * (1 + m->nfull);
		flops = 2 * gm * tm * gn * tn * gk * kt;
		eff = pow(fmin(tm, mxu) / mxu, 0.6) * pow(fmin(kt, 2 * mxu) / (2 * mxu), 0.3);
		compute = flops / ((es == 2 ? w->mxu_bf16 : w->mxu_bf16 / 3) * eff) +
			gm * gn * tm * tn * m->nops / w->vpu_rate;
		break;
	}
	case TK_CONV: {
		double tb = (double)p[0], th = (double)p[1], tw = (double)p[2], tc = (double)p[3];
		double hin = (th - 1) * (double)m->stride + (double)m->kh;
		double win = (tw - 1) * (double)m->stride + (double)m->kw;
		double gk = ceil((double)m->ci / kt);
		double in_t = tb * hin * win * kt * es, k_t = (double)(m->kh * m->kw) * kt * tc * es;
		double out_t = T * es * (1 + m->nfull);
		ws = 2 * (in_t + k_t) + T * 4 + out_t;
		bytes = tiles * gk * (in_t + k_t) + tiles * out_t;
		flops = 2 * tiles * T * (double)(m->kh * m->kw) * gk * kt;
		eff = pow(fmin(tc, mxu) / mxu, 0.6) *
			pow(fmin(tb * th * tw, 2 * mxu) / (2 * mxu), 0.4) * pow(fmin(kt, mxu) / mxu, 0.3);
		compute = flops / ((es == 2 ? w->mxu_bf16 : w->mxu_bf16 / 3) * eff) +
			tiles * T * m->nops / w->vpu_rate;
		break;
	}
	case TK_REDUCE: {
		double in_t = T * kt * es * (1 + m->nfull);
		ws = 2 * in_t + T * 4 * 2;
		bytes = steps * in_t + tiles * T * 4;
		compute = steps * T * kt * (m->nops + 1) / w->vpu_rate * (m->red_minor ? 1.5 : 1.0);
		break;
	}
	default: {
		/* elementwise / transpose: every tile reads its inputs once */
		double in_t = T * es * (m->nfull ? m->nfull : 1) + (double)p[m->rank - 1] * es * m->nbcast;
		ws = 2 * (in_t + T * es);
		bytes = tiles * (in_t + T * es);
		compute = tiles * T * (m->nops + 1) / w->vpu_rate;
		if (m->kind == TK_TRANSPOSE && m->trans_minor) {
			/* the input tile's rows are the output's second-minor dim */
			double r2 = (double)p[m->rank - 2] * es;
			dma = 0.5 * (dma + r2 / (r2 + w->dma_row_ovh));
			compute *= 2.5; /* XLU transposes */
		}
		break;
	}
	}
	mem = bytes / (w->hbm_bw * dma);
	*wsp = ws;
	{
		double body;
		if (ws <= w->vmem && !w->no_overlap)
			body = fmax(compute, mem);              /* double-buffered */
		else if (ws <= 2 * w->vmem)
			body = compute + mem;                    /* no overlap left */
		else
			body = (compute + mem) * (ws / w->vmem) * 1.5; /* spills */
		return w->kernel_ovh + body + steps * w->step_ovh;
	}
}

double tg_tile_runtime(const tg_tile_model_t *m, const float *cfg)
{
	double ws;
	return tile_eval(m, cfg, &ws);
}

/* The autotuner keeps only configs that compile: a working set over twice
 * the VMEM (no single-buffered schedule fits either) is a compile failure. */
static int tile_compiles(const tg_tile_model_t *m, const float *cfg)
{
	double ws;
	tile_eval(m, cfg, &ws);
	return ws <= 2 * m->w->vmem;
}

/* candidate bound values up to max: 1..8, then steps of about 1.25x, and max */
static int candidates(int64_t max, int64_t *c)
{
	int n = 0;
	for (int64_t p = 1; p <= max && n < 46; p = p < 8 ? p + 1 : p + p / 4)
		c[n++] = p;
	if (c[n - 1] != max)
		c[n++] = max;
	return n;
}

static uint64_t cfg_hash(const int64_t *ob, int rank, int64_t kb)
{
	uint64_t h = (uint64_t)kb * 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < rank; i++)
		h = (h ^ (uint64_t)ob[i]) * 0xbf58476d1ce4e5b9ULL + (uint64_t)i;
	return h | 1;
}

static int seen(uint64_t *set, size_t cap, uint64_t h)
{
	size_t i = (size_t)(h % cap);
	while (set[i]) {
		if (set[i] == h)
			return 1;
		i = (i + 1) % cap;
	}
	set[i] = h;
	return 0;
}

size_t tg_tile_configs(tg_tile_model_t *m, rng_t *r, size_t max, float *cfg)
{
	int64_t cand[TG_MAXRANK + 1][48], ob[TG_MAXRANK], kb = 1, maxu[TG_MAXRANK + 1];
	int nc[TG_MAXRANK + 1];
	/* room for every try below (each adds at most one hash), so that the
	 * probe in seen() always finds a free slot however many fail to compile */
	size_t n = 0, cap = 32 * max + 64, pos;
	uint64_t *set = xcalloc(cap, sizeof *set);
	for (int i = 0; i < m->rank; i++) {
		int64_t u = unit(m->rank, i);
		maxu[i] = (m->d[i] + u - 1) / u;
		nc[i] = candidates(maxu[i], cand[i]);
	}
	maxu[m->rank] = has_k(m) ? (m->K + 127) / 128 : 1;
	nc[m->rank] = candidates(maxu[m->rank], cand[m->rank]);
	/* the compiler's default: minor dims whole (up to 512 lanes x 256
	 * sublanes), the majors grown while the tile fits a quarter of VMEM */
	for (int i = 0; i < m->rank; i++)
		ob[i] = i == m->rank - 1 ? (maxu[i] < 4 ? maxu[i] : 4)
			: i == m->rank - 2 ? (maxu[i] < 32 ? maxu[i] : 32) : 1;
	kb = maxu[m->rank] < 4 ? maxu[m->rank] : 4;
	for (int i = m->rank - 3; i >= 0; i--) {
		double T = 1;
		for (int j = 0; j < m->rank; j++)
			T *= (double)(ob[j] * unit(m->rank, j));
		while (ob[i] * 2 <= maxu[i] && T * 2 * m->es * (2 + m->nfull) * 2 <= m->w->vmem / 4) {
			ob[i] *= 2;
			T *= 2;
		}
	}
	make_cfg(m, ob, kb, m->def);
	m->def_t = tg_tile_runtime(m, m->def);
	/* the default goes at a random position among the others */
	pos = (size_t)rng_int(r, 0, (int64_t)max - 1);
	seen(set, cap, cfg_hash(ob, m->rank, kb));
	for (size_t tries = 0; n < max && tries < 30 * max; tries++) {
		if (n == pos) {
			memcpy(cfg + n * TG_NTILECFG, m->def, sizeof m->def);
			n++;
			continue;
		}
		for (int i = 0; i < m->rank; i++)
			ob[i] = cand[i][rng_int(r, 0, nc[i] - 1)];
		kb = cand[m->rank][rng_int(r, 0, nc[m->rank] - 1)];
		if (seen(set, cap, cfg_hash(ob, m->rank, kb)))
			continue;
		make_cfg(m, ob, kb, cfg + n * TG_NTILECFG);
		if (tile_compiles(m, cfg + n * TG_NTILECFG))
			n++;
	}
	if (n <= pos) { /* a small config space: the default still goes in */
		memcpy(cfg + n * TG_NTILECFG, m->def, sizeof m->def);
		n++;
	}
	free(set);
	return n;
}

void tg_tile_measure(const tg_tile_model_t *m, const float *cfg, rng_t *r,
		     int64_t *runtime, int64_t *normalizer)
{
	double t = tg_tile_runtime(m, cfg) * exp(m->sigma * rng_normal(r));
	double d = m->def_t * exp(m->sigma * rng_normal(r));
	*runtime = (int64_t)llround(t);
	*normalizer = (int64_t)llround(d);
}
