/* hlo: see hlo.h.  Field numbers are those of XLA's hlo.proto and
 * xla_data.proto and of the TpuGraphs tuning schema (TPUGRAPHS.md). */
#include "hlo.h"
#include "err.h"
#include "pb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- field numbers ---- */

/* TuningData */
#define TD_MODULES 1
/* ModuleTuningData */
#define MTD_MODULE 1
#define MTD_FINGERPRINT 2
#define MTD_RUNS 3
#define MTD_CONFIG_INDEX_TO_NODE 4
/* ConfigProfile */
#define CP_OP_CONFIG 1
#define CP_MODULE_CONFIG 2
#define CP_ERROR 3
#define CP_PROFILE 4
#define CP_IS_DEFAULT 5
/* ExecutionProfile */
#define EP_COMPUTE_TIME_NS 4
/* HloOpConfig / TileSizeConfig */
#define OPC_TILE_SIZE_CONFIG 1
#define TSC_KERNEL_BOUNDS 1
#define TSC_OUTPUT_BOUNDS 2
#define TSC_INPUT_BOUNDS 3
/* HloModuleConfig / LayoutConfig / NodeLayoutConfig / TensorLayoutConfig */
#define HMC_LAYOUT_CONFIG 1
#define LC_NODES 1
#define NLC_TENSORS 1
#define TLC_DIMS 1
/* HloModuleProto */
#define MOD_NAME 1
#define MOD_COMPUTATIONS 3
/* HloComputationProto */
#define COMP_NAME 1
#define COMP_INSTRUCTIONS 2
#define COMP_ID 5
#define COMP_ROOT_ID 6
/* HloInstructionProto */
#define INST_NAME 1
#define INST_OPCODE 2
#define INST_SHAPE 3
#define INST_PARAMETER_NUMBER 9
#define INST_DIMENSIONS 14
#define INST_WINDOW 15
#define INST_CONV_DNUMS 16
#define INST_SLICE_DIMENSIONS 17
#define INST_DYNAMIC_SLICE_SIZES 20
#define INST_PADDING_CONFIG 21
#define INST_ID 35
#define INST_OPERAND_IDS 36
#define INST_CALLED_COMPUTATION_IDS 38
#define INST_FEATURE_GROUP_COUNT 50
#define INST_BATCH_GROUP_COUNT 58
#define INST_IS_STABLE 60
/* ShapeProto / LayoutProto */
#define SHAPE_ELEMENT_TYPE 2
#define SHAPE_DIMENSIONS 3
#define SHAPE_TUPLE_SHAPES 4
#define SHAPE_LAYOUT 5
#define LAYOUT_MINOR_TO_MAJOR 1
/* Window / WindowDimension */
#define WIN_DIMENSIONS 1
#define WD_SIZE 1
#define WD_STRIDE 2
#define WD_PADDING_LOW 3
#define WD_PADDING_HIGH 4
#define WD_WINDOW_DILATION 5
#define WD_BASE_DILATION 6
#define WD_WINDOW_REVERSAL 7
/* ConvolutionDimensionNumbers */
#define CDN_KERNEL_INPUT_FEATURE 3
#define CDN_KERNEL_OUTPUT_FEATURE 4
#define CDN_KERNEL_SPATIAL 6
#define CDN_INPUT_BATCH 7
#define CDN_INPUT_FEATURE 8
#define CDN_OUTPUT_BATCH 9
#define CDN_OUTPUT_FEATURE 10
#define CDN_INPUT_SPATIAL 11
/* SliceDimensions */
#define SD_START 1
#define SD_LIMIT 2
#define SD_STRIDE 3
/* PaddingConfig / PaddingConfigDimension */
#define PC_DIMENSIONS 1
#define PCD_LOW 1
#define PCD_HIGH 2

/* ---- errors ---- */

static int errf(char *err, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int errf(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- opcodes (TPUGRAPHS.md) ---- */

static const char *const opcode_names[] = {
	NULL, "abs", "add", "add-dependency", "after-all", "all-reduce",
	"all-to-all", "atan2", "batch-norm-grad", "batch-norm-inference",
	"batch-norm-training", "bitcast", "bitcast-convert", "broadcast", "call",
	"ceil", "cholesky", "clamp", "collective-permute", "count-leading-zeros",
	"compare", "complex", "concatenate", "conditional", "constant", "convert",
	"convolution", "copy", "copy-done", "copy-start", "cosine", "custom-call",
	"divide", "domain", "dot", "dynamic-slice", "dynamic-update-slice",
	"exponential", "exponential-minus-one", "fft", "floor", "fusion", "gather",
	"get-dimension-size", "set-dimension-size", "get-tuple-element", "imag",
	"infeed", "iota", "is-finite", "log", "log-plus-one", "and", "not", "or",
	"xor", "map", "maximum", "minimum", "multiply", "negate", "outfeed", "pad",
	"parameter", "partition-id", "popcnt", "power", "real", "recv", "recv-done",
	"reduce", "reduce-precision", "reduce-window", "remainder", "replica-id",
	"reshape", "reverse", "rng", "rng-get-and-update-state",
	"rng-bit-generator", "round-nearest-afz", "rsqrt", "scatter", "select",
	"select-and-scatter", "send", "send-done", "shift-left",
	"shift-right-arithmetic", "shift-right-logical", "sign", "sine", "slice",
	"sort", "sqrt", "subtract", "tanh", "trace", "transpose",
	"triangular-solve", "tuple", "tuple-select", "while", "cbrt", "all-gather",
	"collective-permute-start", "collective-permute-done", "logistic",
	"dynamic-reshape", "all-reduce-start", "all-reduce-done", "reduce-scatter",
	"all-gather-start", "all-gather-done", "opt-barrier", "async-start",
	"async-update", "async-done", "round-nearest-even", "stochastic-convert",
	"tan",
};

int hlo_opcode_id(const char *name, size_t len)
{
	size_t n = sizeof opcode_names / sizeof *opcode_names;
	for (size_t i = 1; i < n; i++)
		if (strlen(opcode_names[i]) == len && memcmp(opcode_names[i], name, len) == 0)
			return (int)i;
	return 0;
}

/* One-hot slot (2..20) of an xla::PrimitiveType, or -1 for types the
 * dataset's 19 slots do not cover (S4, F8 ... : all zero). */
static int element_type_slot(int64_t t)
{
	switch (t) {
	case 0: return 2;   /* PRIMITIVE_TYPE_INVALID */
	case 1: return 3;   /* PRED */
	case 2: return 4;   /* S8 */
	case 3: return 5;   /* S16 */
	case 4: return 6;   /* S32 */
	case 5: return 7;   /* S64 */
	case 6: return 8;   /* U8 */
	case 7: return 9;   /* U16 */
	case 8: return 10;  /* U32 */
	case 9: return 11;  /* U64 */
	case 10: return 12; /* F16 */
	case 11: return 13; /* F32 */
	case 12: return 14; /* F64 */
	case 16: return 15; /* BF16 */
	case 15: return 16; /* C64 */
	case 18: return 17; /* C128 */
	case 13: return 18; /* TUPLE */
	case 14: return 19; /* OPAQUE_TYPE */
	case 17: return 20; /* TOKEN */
	default: return -1;
	}
}

/* ---- numeric sequence features ---- */

/* The first k values (0 past the end), then, when agg, their sum and
 * product over all values (int64 arithmetic, wrapping as the dataset's C++
 * did; empty_product for an empty sequence).  Writes k or k + 2 floats. */
static float *seq_feat(float *out, const pb_i64vec_t *v, int k, int agg,
		       int64_t empty_product)
{
	uint64_t sum = 0, prod = 1;
	for (int i = 0; i < k; i++)
		out[i] = (size_t)i < v->n ? (float)v->v[i] : 0.0f;
	if (!agg)
		return out + k;
	for (size_t i = 0; i < v->n; i++) {
		sum += (uint64_t)v->v[i];
		prod *= (uint64_t)v->v[i];
	}
	out[k] = (float)(int64_t)sum;
	out[k + 1] = v->n ? (float)(int64_t)prod : (float)empty_product;
	return out + k + 2;
}

/* ---- instruction parsing ---- */

enum { W_SIZE, W_STRIDE, W_PLOW, W_PHIGH, W_WDIL, W_BDIL, W_REV, W_N };
enum { S_START, S_STRIDE, S_LIMIT, S_N };

typedef struct {
	/* scalars */
	int64_t id, parameter_number, fgc, bgc, is_stable, elem;
	int64_t in_batch, in_feat, k_in, k_out, out_batch, out_feat;
	size_t n_tuple;
	/* sequences */
	pb_i64vec_t dims, m2m, attr_dims, dyn, win[W_N], slice[S_N], pad_lo, pad_hi;
	pb_i64vec_t in_spatial, k_spatial, operands, called;
	hlo_span_t name, opcode;
} inst_t;

static void inst_free(inst_t *in)
{
	pb_i64vec_t *vs[] = {
		&in->dims, &in->m2m, &in->attr_dims, &in->dyn, &in->pad_lo, &in->pad_hi,
		&in->in_spatial, &in->k_spatial, &in->operands, &in->called,
	};
	for (size_t i = 0; i < sizeof vs / sizeof *vs; i++)
		pb_vec_free(vs[i]);
	for (int i = 0; i < W_N; i++)
		pb_vec_free(&in->win[i]);
	for (int i = 0; i < S_N; i++)
		pb_vec_free(&in->slice[i]);
}

/* Loop over the fields of a message; `return -1` on a wire error. */
#define FOR_FIELDS(m, f, e) FOR_FIELDS_RC(m, f, e, rc_##f)
#define FOR_FIELDS_RC(m, f, e, rc)                               \
	for (int rc; (rc = pb_next(&(m), &(f), (e))) != 0;)      \
		if (rc < 0) return -1; else

static int want(const pb_field_t *f, int wt, const char *what, pb_err_t *e)
{
	return pb_expect(f, wt, what, e);
}

static int parse_layout(pb_msg_t m, inst_t *in, pb_err_t *e)
{
	pb_field_t f;
	FOR_FIELDS(m, f, e) {
		if (f.num == LAYOUT_MINOR_TO_MAJOR &&
		    pb_append_varints(&in->m2m, &f, 0, "layout.minor_to_major", e) < 0)
			return -1;
	}
	return 0;
}

static int parse_shape(pb_msg_t m, inst_t *in, pb_err_t *e)
{
	pb_field_t f;
	FOR_FIELDS(m, f, e) {
		switch (f.num) {
		case SHAPE_ELEMENT_TYPE:
			if (want(&f, PB_VARINT, "shape.element_type", e) < 0)
				return -1;
			in->elem = (int64_t)f.v;
			break;
		case SHAPE_DIMENSIONS:
			if (pb_append_varints(&in->dims, &f, 0, "shape.dimensions", e) < 0)
				return -1;
			break;
		case SHAPE_TUPLE_SHAPES:
			if (want(&f, PB_LEN, "shape.tuple_shapes", e) < 0)
				return -1;
			in->n_tuple++;
			break;
		case SHAPE_LAYOUT:
			if (want(&f, PB_LEN, "shape.layout", e) < 0 ||
			    parse_layout(pb_sub(&m, &f), in, e) < 0)
				return -1;
			break;
		}
	}
	return 0;
}

static int parse_window(pb_msg_t m, inst_t *in, pb_err_t *e)
{
	pb_field_t f, g;
	FOR_FIELDS(m, f, e) {
		if (f.num != WIN_DIMENSIONS)
			continue;
		if (want(&f, PB_LEN, "window.dimensions", e) < 0)
			return -1;
		int64_t v[W_N] = { 0 };
		pb_msg_t d = pb_sub(&m, &f);
		FOR_FIELDS(d, g, e) {
			if (g.num < 1 || g.num > 7)
				continue;
			if (want(&g, PB_VARINT, "window dimension", e) < 0)
				return -1;
			static const int slot[8] = { -1, W_SIZE, W_STRIDE, W_PLOW, W_PHIGH,
						     W_WDIL, W_BDIL, W_REV };
			v[slot[g.num]] = g.num == WD_WINDOW_REVERSAL ? (g.v != 0) : (int64_t)g.v;
		}
		for (int i = 0; i < W_N; i++)
			pb_vec_push(&in->win[i], v[i]);
	}
	return 0;
}

static int parse_conv(pb_msg_t m, inst_t *in, pb_err_t *e)
{
	pb_field_t f;
	FOR_FIELDS(m, f, e) {
		int64_t *dst = NULL;
		switch (f.num) {
		case CDN_INPUT_BATCH: dst = &in->in_batch; break;
		case CDN_INPUT_FEATURE: dst = &in->in_feat; break;
		case CDN_KERNEL_INPUT_FEATURE: dst = &in->k_in; break;
		case CDN_KERNEL_OUTPUT_FEATURE: dst = &in->k_out; break;
		case CDN_OUTPUT_BATCH: dst = &in->out_batch; break;
		case CDN_OUTPUT_FEATURE: dst = &in->out_feat; break;
		case CDN_INPUT_SPATIAL:
			if (pb_append_varints(&in->in_spatial, &f, 0,
					      "convolution input_spatial_dimensions", e) < 0)
				return -1;
			break;
		case CDN_KERNEL_SPATIAL:
			if (pb_append_varints(&in->k_spatial, &f, 0,
					      "convolution kernel_spatial_dimensions", e) < 0)
				return -1;
			break;
		}
		if (dst) {
			if (want(&f, PB_VARINT, "convolution dimension number", e) < 0)
				return -1;
			*dst = (int64_t)f.v;
		}
	}
	return 0;
}

static int parse_slice(pb_msg_t m, inst_t *in, pb_err_t *e)
{
	pb_field_t f;
	int64_t start = 0, limit = 0, stride = 0;
	FOR_FIELDS(m, f, e) {
		int64_t *dst = f.num == SD_START ? &start : f.num == SD_LIMIT ? &limit
			     : f.num == SD_STRIDE ? &stride : NULL;
		if (!dst)
			continue;
		if (want(&f, PB_VARINT, "slice dimension", e) < 0)
			return -1;
		*dst = (int64_t)f.v;
	}
	pb_vec_push(&in->slice[S_START], start);
	pb_vec_push(&in->slice[S_STRIDE], stride);
	pb_vec_push(&in->slice[S_LIMIT], limit);
	return 0;
}

static int parse_padding(pb_msg_t m, inst_t *in, pb_err_t *e)
{
	pb_field_t f, g;
	FOR_FIELDS(m, f, e) {
		if (f.num != PC_DIMENSIONS)
			continue;
		if (want(&f, PB_LEN, "padding_config.dimensions", e) < 0)
			return -1;
		int64_t lo = 0, hi = 0;
		pb_msg_t d = pb_sub(&m, &f);
		FOR_FIELDS(d, g, e) {
			if (g.num != PCD_LOW && g.num != PCD_HIGH)
				continue;
			if (want(&g, PB_VARINT, "padding dimension", e) < 0)
				return -1;
			*(g.num == PCD_LOW ? &lo : &hi) = (int64_t)g.v;
		}
		pb_vec_push(&in->pad_lo, lo);
		pb_vec_push(&in->pad_hi, hi);
	}
	return 0;
}

static int parse_inst(pb_msg_t m, inst_t *in, pb_err_t *e)
{
	pb_field_t f;
	FOR_FIELDS(m, f, e) {
		int rc = 0;
		switch (f.num) {
		case INST_NAME:
		case INST_OPCODE:
			if ((rc = want(&f, PB_LEN, f.num == INST_NAME ? "name" : "opcode", e)) == 0) {
				hlo_span_t *s = f.num == INST_NAME ? &in->name : &in->opcode;
				s->data = f.data;
				s->len = f.len;
			}
			break;
		case INST_SHAPE:
			if ((rc = want(&f, PB_LEN, "shape", e)) == 0)
				rc = parse_shape(pb_sub(&m, &f), in, e);
			break;
		case INST_WINDOW:
			if ((rc = want(&f, PB_LEN, "window", e)) == 0)
				rc = parse_window(pb_sub(&m, &f), in, e);
			break;
		case INST_CONV_DNUMS:
			if ((rc = want(&f, PB_LEN, "convolution_dimension_numbers", e)) == 0)
				rc = parse_conv(pb_sub(&m, &f), in, e);
			break;
		case INST_SLICE_DIMENSIONS:
			if ((rc = want(&f, PB_LEN, "slice_dimensions", e)) == 0)
				rc = parse_slice(pb_sub(&m, &f), in, e);
			break;
		case INST_PADDING_CONFIG:
			if ((rc = want(&f, PB_LEN, "padding_config", e)) == 0)
				rc = parse_padding(pb_sub(&m, &f), in, e);
			break;
		case INST_DIMENSIONS:
			rc = pb_append_varints(&in->attr_dims, &f, 0, "dimensions", e);
			break;
		case INST_DYNAMIC_SLICE_SIZES:
			rc = pb_append_varints(&in->dyn, &f, 0, "dynamic_slice_sizes", e);
			break;
		case INST_OPERAND_IDS:
			rc = pb_append_varints(&in->operands, &f, 0, "operand_ids", e);
			break;
		case INST_CALLED_COMPUTATION_IDS:
			rc = pb_append_varints(&in->called, &f, 0, "called_computation_ids", e);
			break;
		case INST_PARAMETER_NUMBER:
		case INST_ID:
		case INST_FEATURE_GROUP_COUNT:
		case INST_BATCH_GROUP_COUNT:
		case INST_IS_STABLE:
			if ((rc = want(&f, PB_VARINT, "scalar field", e)) == 0) {
				int64_t v = (int64_t)f.v;
				switch (f.num) {
				case INST_PARAMETER_NUMBER: in->parameter_number = v; break;
				case INST_ID: in->id = v; break;
				case INST_FEATURE_GROUP_COUNT: in->fgc = v; break;
				case INST_BATCH_GROUP_COUNT: in->bgc = v; break;
				default: in->is_stable = v != 0; break;
				}
			}
			break;
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* The 140 features of TPUGRAPHS.md, in order. */
static void featurize(const inst_t *in, int is_root, int pad, float *x)
{
	float *p = x;
	memset(x, 0, HLO_NFEAT * sizeof *x);
	p[0] = is_root ? 1.0f : 0.0f;
	p[1] = 0.0f;                          /* element_size_in_bits */
	int slot = element_type_slot(in->elem);
	if (slot >= 0)
		p[slot] = 1.0f;
	p += 21;
	p = seq_feat(p, &in->dims, 6, 1, 1);  /* 21-28 */
	*p++ = (float)in->n_tuple;            /* 29 */
	*p++ = (float)in->parameter_number;   /* 30 */
	p = seq_feat(p, &in->attr_dims, 6, 0, 0); /* 31-36 */
	for (int i = 0; i < W_REV; i++)       /* 37-84 */
		p = seq_feat(p, &in->win[i], 6, 1, 1);
	{                                     /* 85-92: reversal, true, false */
		const pb_i64vec_t *r = &in->win[W_REV];
		size_t t = 0;
		for (size_t i = 0; i < r->n; i++) {
			if (i < 6)
				p[i] = r->v[i] ? 1.0f : 0.0f;
			t += r->v[i] != 0;
		}
		p[6] = (float)t;
		p[7] = (float)(r->n - t);
		p += 8;
	}
	*p++ = (float)in->in_batch;           /* 93 */
	*p++ = (float)in->in_feat;            /* 94 */
	p = seq_feat(p, &in->in_spatial, 4, 0, 0); /* 95-98 */
	*p++ = (float)in->k_in;               /* 99 */
	*p++ = (float)in->k_out;              /* 100 */
	p = seq_feat(p, &in->k_spatial, 4, 0, 0);  /* 101-104 */
	*p++ = (float)in->out_batch;          /* 105 */
	*p++ = (float)in->out_feat;           /* 106 */
	*p++ = (float)in->fgc;                /* 107 */
	*p++ = (float)in->bgc;                /* 108 */
	for (int i = 0; i < S_N; i++)         /* 109-120: start, stride, limit */
		p = seq_feat(p, &in->slice[i], 2, 1, 1);
	p = seq_feat(p, &in->dyn, 2, 1, 1);   /* 121-124 */
	p = seq_feat(p, &in->pad_lo, 2, 1, 1); /* 125-128 */
	p = seq_feat(p, &in->pad_hi, 2, 1, 1); /* 129-132 */
	*p++ = in->is_stable ? 1.0f : 0.0f;   /* 133 */
	for (int i = 0; i < 6; i++)           /* 134-139 */
		p[i] = (size_t)i < in->m2m.n ? (float)in->m2m.v[i] : (float)pad;
}

/* ---- stable topological order ---- */

/* Min-heap of int32 items. */
typedef struct {
	int32_t *a;
	size_t n;
} heap_t;

static void heap_push(heap_t *h, int32_t x)
{
	size_t i = h->n++;
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (h->a[up] <= x)
			break;
		h->a[i] = h->a[up];
		i = up;
	}
	h->a[i] = x;
}

static int32_t heap_pop(heap_t *h)
{
	int32_t top = h->a[0], x = h->a[--h->n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->a[c + 1] < h->a[c])
			c++;
		if (x <= h->a[c])
			break;
		h->a[i] = h->a[c];
		i = c;
	}
	if (h->n)
		h->a[i] = x;
	return top;
}

/* Order items 0..n-1 so that each comes after all its dependencies
 * (dep[off[i] .. off[i+1]) must precede i), the smallest index first among
 * the ready ones: the identity when the input order is already valid.
 * Returns 0, or -1 on a cycle with *stuck = an item on or behind it. */
static int stable_topo(size_t n, const size_t *off, const int32_t *dep,
		       int32_t *order, size_t *stuck)
{
	size_t nnz = off[n];
	size_t *uoff = xcalloc(n + 1, sizeof *uoff);
	int32_t *users = xmallocarray(nnz ? nnz : 1, sizeof *users);
	size_t *fill = xmallocarray(n ? n : 1, sizeof *fill);
	size_t *indeg = xcalloc(n ? n : 1, sizeof *indeg);
	heap_t h = { xmallocarray(n ? n : 1, sizeof(int32_t)), 0 };
	for (size_t i = 0; i < n; i++)
		for (size_t j = off[i]; j < off[i + 1]; j++)
			uoff[dep[j] + 1]++;
	for (size_t i = 0; i < n; i++)
		uoff[i + 1] += uoff[i];
	memcpy(fill, uoff, n * sizeof *fill);
	for (size_t i = 0; i < n; i++) {
		indeg[i] = off[i + 1] - off[i];
		for (size_t j = off[i]; j < off[i + 1]; j++)
			users[fill[dep[j]]++] = (int32_t)i;
	}
	for (size_t i = 0; i < n; i++)
		if (!indeg[i])
			heap_push(&h, (int32_t)i);
	size_t k = 0;
	while (h.n) {
		int32_t u = heap_pop(&h);
		order[k++] = u;
		for (size_t j = uoff[u]; j < uoff[u + 1]; j++)
			if (--indeg[users[j]] == 0)
				heap_push(&h, users[j]);
	}
	int rc = 0;
	if (k < n) {
		rc = -1;
		for (size_t i = 0; i < n; i++)
			if (indeg[i]) {
				*stuck = i;
				break;
			}
	}
	free(uoff);
	free(users);
	free(fill);
	free(indeg);
	free(h.a);
	return rc;
}

/* ---- id lookup: sorted (id, index) pairs ---- */

typedef struct {
	int64_t id;
	int32_t idx;
} idpair_t;

static int idpair_cmp(const void *a, const void *b)
{
	const idpair_t *x = a, *y = b;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Index of id, -1 if absent, -2 if present more than once. */
static int32_t idpair_find(const idpair_t *a, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == n || a[lo].id != id)
		return -1;
	if (lo + 1 < n && a[lo + 1].id == id)
		return -2;
	return a[lo].idx;
}

/* ---- file ---- */

static int is_opcode_text(const uint8_t *s, size_t n)
{
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* Does the payload look like an HloModuleProto?  Its first computation's
 * first instruction must carry an opcode-like string in field 2. */
static int looks_like_module(const uint8_t *d, size_t n)
{
	pb_msg_t m = pb_msg(d, n), c, in;
	pb_field_t f, g, h;
	int rc, found = 0;
	while ((rc = pb_next(&m, &f, NULL)) == 1) {
		if ((f.num == MOD_NAME || f.num == 2) && f.wt != PB_LEN)
			return 0;
		if ((f.num == 5 || f.num == 6) && f.wt != PB_VARINT)
			return 0;
		if (f.num != MOD_COMPUTATIONS || found)
			continue;
		if (f.wt != PB_LEN)
			return 0;
		c = pb_msg(f.data, f.len);
		while ((rc = pb_next(&c, &g, NULL)) == 1)
			if (g.num == COMP_INSTRUCTIONS && g.wt == PB_LEN)
				break;
		if (rc != 1)
			return 0;
		in = pb_msg(g.data, g.len);
		while ((rc = pb_next(&in, &h, NULL)) == 1)
			if (h.num == INST_OPCODE)
				break;
		if (rc != 1 || h.wt != PB_LEN || !is_opcode_text(h.data, h.len))
			return 0;
		found = 1;
	}
	return rc == 0 && found;
}

/* ModuleTuningData: field 1 an HloModuleProto, 2 varint, 3 and 4 as typed. */
static int looks_like_mtd(const uint8_t *d, size_t n)
{
	pb_msg_t m = pb_msg(d, n);
	pb_field_t f;
	int rc, has_module = 0;
	while ((rc = pb_next(&m, &f, NULL)) == 1) {
		switch (f.num) {
		case MTD_MODULE:
			if (f.wt != PB_LEN || !looks_like_module(f.data, f.len))
				return 0;
			has_module = 1;
			break;
		case MTD_FINGERPRINT:
			if (f.wt != PB_VARINT)
				return 0;
			break;
		case MTD_RUNS:
			if (f.wt != PB_LEN)
				return 0;
			break;
		case MTD_CONFIG_INDEX_TO_NODE:
			if (f.wt != PB_LEN && f.wt != PB_VARINT)
				return 0;
			break;
		}
	}
	return rc == 0 && has_module;
}

/* The field set of a ModuleTuningData at its top level, by wire types alone:
 * a module (1), a fingerprint varint (2), no field of another wire type.
 * Used when the deeper checks fail, so that a corrupt module is reported
 * where it is corrupt rather than as "not a tuning record". */
static int mtd_fields(const uint8_t *d, size_t n)
{
	pb_msg_t m = pb_msg(d, n);
	pb_field_t f;
	int rc, has1 = 0, has2 = 0;
	while ((rc = pb_next(&m, &f, NULL)) == 1) {
		if (f.num == MTD_MODULE && f.wt == PB_LEN)
			has1 = 1;
		else if (f.num == MTD_FINGERPRINT && f.wt == PB_VARINT)
			has2 = 1;
		else if (f.num <= 3 || (f.num == MTD_CONFIG_INDEX_TO_NODE &&
					f.wt != PB_LEN && f.wt != PB_VARINT))
			return 0;
	}
	return rc == 0 && has1 && has2;
}

int hlo_file_parse(hlo_file_t *hf, const void *buf, size_t len, char *err, size_t errlen)
{
	pb_msg_t m = pb_msg(buf, len);
	pb_field_t f;
	pb_err_t e;
	int rc;
	memset(hf, 0, sizeof *hf);
	hf->buf = buf;
	hf->len = len;
	if (len == 0)
		return errf(err, errlen, "empty file (not a TuningData or ModuleTuningData message)");
	/* The outermost level first: truncation and corruption show here. */
	while ((rc = pb_next(&m, &f, &e)) == 1)
		;
	if (rc < 0)
		return errf(err, errlen, "%s", e.msg);
	if (looks_like_mtd(buf, len) || mtd_fields(buf, len)) {
		hf->is_tuning = 0;
		hf->modules = xmalloc(sizeof *hf->modules);
		hf->modules[0].data = buf;
		hf->modules[0].len = len;
		hf->n_modules = 1;
		return 0;
	}
	m = pb_msg(buf, len);
	size_t n = 0, bad = 0;
	while (pb_next(&m, &f, NULL) == 1) {
		if (f.num != TD_MODULES || f.wt != PB_LEN ||
		    !(looks_like_mtd(f.data, f.len) || mtd_fields(f.data, f.len))) {
			bad = 1;
			break;
		}
		n++;
	}
	if (!bad && n > 0) {
		hf->is_tuning = 1;
		hf->modules = xmallocarray(n, sizeof *hf->modules);
		m = pb_msg(buf, len);
		while (pb_next(&m, &f, NULL) == 1) {
			hf->modules[hf->n_modules].data = f.data;
			hf->modules[hf->n_modules++].len = f.len;
		}
		return 0;
	}
	if (looks_like_module(buf, len))
		return errf(err, errlen, "this is a bare HloModuleProto, not a TuningData or "
			    "ModuleTuningData message (wrong message type: hlo2mp needs the "
			    "tuning record with its runs)");
	return errf(err, errlen, "not a TuningData or ModuleTuningData message (wrong "
		    "message type, or corrupt): no HLO module with computations and "
		    "instructions found");
}

void hlo_file_free(hlo_file_t *hf)
{
	free(hf->modules);
	memset(hf, 0, sizeof *hf);
}

/* ---- module ---- */

typedef struct {
	int64_t id, root_id;
	hlo_span_t name, body;
	size_t first, count;  /* instructions [first, first + count) in file order */
	int32_t root;         /* file-order index of the root instruction */
} comp_t;

static const char *span_str(hlo_span_t s, char *buf, size_t n)
{
	pb_field_t f = { 0 };
	f.wt = PB_LEN;
	f.data = s.data;
	f.len = s.len;
	return pb_str(&f, buf, n);
}

static int span_contains(hlo_span_t s, const char *word)
{
	size_t n = strlen(word);
	for (size_t i = 0; i + n <= s.len; i++)
		if (memcmp(s.data + i, word, n) == 0)
			return 1;
	return 0;
}

/* Does node_splits end a split after this computation?  The dataset's
 * encoder splits after every computation whose name contains "cluster",
 * "while" or "cond" (substrings, case-sensitive: "while_body.1",
 * "while_cond", but also "conditional" or "second"), not after the fusion,
 * reducer and other small computations; docs/hlo2mp.md has the evidence. */
static int is_split_comp(hlo_span_t name)
{
	return span_contains(name, "cluster") || span_contains(name, "while") ||
	       span_contains(name, "cond");
}

/* Context prefix for messages: "computation NAME, instruction NAME (id N)" */
static void inst_ctx(char *buf, size_t n, const comp_t *c, const inst_t *in)
{
	char cn[96], iname[96];
	span_str(c->name, cn, sizeof cn);
	if (in->name.len)
		span_str(in->name, iname, sizeof iname);
	else
		snprintf(iname, sizeof iname, "(unnamed)");
	snprintf(buf, n, "computation %s, instruction %s (id %lld)", cn, iname,
		 (long long)in->id);
}

static int index_runs(pb_msg_t top, hlo_module_t *m, char *err, size_t errlen)
{
	pb_field_t f, g, h;
	pb_err_t e;
	size_t cap = 0;
	int rc;
	m->default_index = -1;
	while ((rc = pb_next(&top, &f, &e)) == 1) {
		if (f.num != MTD_RUNS)
			continue;
		size_t ri = m->n_runs++;
		int kind = HLO_RUNS_NONE, error = 0, is_default = 0;
		int64_t runtime = 0;
		pb_msg_t run = pb_msg(f.data, f.len);
		run.base = top.base;
		while ((rc = pb_next(&run, &g, &e)) == 1) {
			switch (g.num) {
			case CP_OP_CONFIG:
			case CP_MODULE_CONFIG:
				if (pb_expect(&g, PB_LEN, g.num == CP_OP_CONFIG ? "op_config"
					      : "module_config", &e) < 0)
					goto bad;
				kind = g.num == CP_OP_CONFIG ? HLO_RUNS_TILE : HLO_RUNS_LAYOUT;
				break;
			case CP_ERROR:
			case CP_IS_DEFAULT:
				if (pb_expect(&g, PB_VARINT, g.num == CP_ERROR ? "error"
					      : "is_default", &e) < 0)
					goto bad;
				*(g.num == CP_ERROR ? &error : &is_default) = g.v != 0;
				break;
			case CP_PROFILE: {
				if (pb_expect(&g, PB_LEN, "profile", &e) < 0)
					goto bad;
				pb_msg_t p = pb_sub(&run, &g);
				while ((rc = pb_next(&p, &h, &e)) == 1)
					if (h.num == EP_COMPUTE_TIME_NS) {
						if (pb_expect(&h, PB_VARINT, "compute_time_ns", &e) < 0)
							goto bad;
						runtime = (int64_t)h.v;
					}
				if (rc < 0)
					goto bad;
				break;
			}
			}
		}
		if (rc < 0)
			goto bad;
		if (kind != HLO_RUNS_NONE) {
			if (m->runs_kind != HLO_RUNS_NONE && m->runs_kind != kind)
				return errf(err, errlen, "run %zu: a %s config among %s runs "
					    "(tile and layout runs mixed in one module)", ri,
					    kind == HLO_RUNS_TILE ? "tile" : "layout",
					    m->runs_kind == HLO_RUNS_TILE ? "tile" : "layout");
			m->runs_kind = kind;
		}
		if (error) {
			m->n_error++;
			continue;
		}
		if (runtime <= 0) {
			m->n_no_profile++;
			continue;
		}
		if (kind == HLO_RUNS_NONE)
			return errf(err, errlen, "run %zu: measured (runtime %lld ns) but has "
				    "neither op_config nor module_config", ri, (long long)runtime);
		if (m->n_kept == cap) {
			cap = cap ? 2 * cap : 64;
			m->kept_runs = xreallocarray(m->kept_runs, cap, sizeof *m->kept_runs);
			m->run_index = xreallocarray(m->run_index, cap, sizeof *m->run_index);
			m->runtime = xreallocarray(m->runtime, cap, sizeof *m->runtime);
		}
		if (is_default && m->default_index < 0)
			m->default_index = (int64_t)m->n_kept;
		m->kept_runs[m->n_kept].data = f.data;
		m->kept_runs[m->n_kept].len = f.len;
		m->run_index[m->n_kept] = (int64_t)ri;
		m->runtime[m->n_kept++] = runtime;
		continue;
bad:
		return errf(err, errlen, "run %zu: %s", ri, e.msg);
	}
	if (rc < 0)
		return errf(err, errlen, "%s", e.msg);
	return 0;
}

int hlo_module_build(const hlo_file_t *hf, size_t k, const hlo_opts_t *opts,
		     hlo_module_t *m, char *err, size_t errlen)
{
	pb_msg_t top = pb_msg(hf->modules[k].data, hf->modules[k].len), mod, cm;
	pb_field_t f, g;
	pb_err_t e;
	pb_i64vec_t cfg = { 0 };
	comp_t *comps = NULL;
	inst_t *insts = NULL;
	size_t n_comps = 0, n_insts = 0, n_mod = 0;
	hlo_span_t modspan = { 0 };
	char ctx[320];
	int rc, ret = -1, bad_cfg = 0;
	int32_t *corder = NULL, *iorder = NULL, *newpos = NULL, *tmp = NULL;
	size_t *off = NULL;
	int32_t *dep = NULL;
	idpair_t *cids = NULL;

	memset(m, 0, sizeof *m);
	top.base = hf->buf;
	m->default_index = -1;
	m->buf = hf->buf;

	/* ModuleTuningData fields */
	while ((rc = pb_next(&top, &f, &e)) == 1) {
		if (f.num == MTD_MODULE) {
			if (pb_expect(&f, PB_LEN, "module", &e) < 0)
				goto wire;
			modspan.data = f.data;
			modspan.len = f.len;
			n_mod++;
		} else if (f.num == MTD_FINGERPRINT) {
			if (pb_expect(&f, PB_VARINT, "fingerprint", &e) < 0)
				goto wire;
			m->fingerprint = f.v;
		} else if (f.num == MTD_CONFIG_INDEX_TO_NODE) {
			if (pb_append_varints(&cfg, &f, 0, "config_index_to_node", &e) < 0)
				goto wire;
		}
	}
	if (rc < 0)
		goto wire;
	if (n_mod != 1) {
		errf(err, errlen, "ModuleTuningData has %zu module fields (want 1)", n_mod);
		goto out;
	}
	top = pb_msg(hf->modules[k].data, hf->modules[k].len);
	top.base = hf->buf;
	if (index_runs(top, m, err, errlen) < 0)
		goto out;

	/* HloModuleProto: name, computations */
	mod.base = hf->buf;
	mod.p = modspan.data;
	mod.end = modspan.data + modspan.len;
	while ((rc = pb_next(&mod, &f, &e)) == 1) {
		if (f.num == MOD_NAME) {
			char nb[256];
			if (pb_expect(&f, PB_LEN, "module name", &e) < 0)
				goto wire;
			free(m->name);
			m->name = xstrdup(pb_str(&f, nb, sizeof nb));
		} else if (f.num == MOD_COMPUTATIONS) {
			if (pb_expect(&f, PB_LEN, "computations", &e) < 0)
				goto wire;
			comps = xreallocarray(comps, n_comps + 1, sizeof *comps);
			memset(&comps[n_comps], 0, sizeof *comps);
			comps[n_comps].body.data = f.data;
			comps[n_comps].body.len = f.len;
			comps[n_comps].root = -1;
			n_comps++;
		}
	}
	if (rc < 0)
		goto wire;
	if (!m->name)
		m->name = xstrdup("");
	if (n_comps == 0) {
		errf(err, errlen, "module %s has no computations", m->name);
		goto out;
	}

	/* Computations: header fields, then instructions. */
	for (size_t c = 0; c < n_comps; c++) {
		comp_t *cp = &comps[c];
		const uint8_t *d = cp->body.data;
		size_t len = cp->body.len, ninst = 0;
		cm.base = hf->buf;
		cm.p = d;
		cm.end = d + len;
		while ((rc = pb_next(&cm, &g, &e)) == 1) {
			switch (g.num) {
			case COMP_NAME:
				if (pb_expect(&g, PB_LEN, "computation name", &e) < 0)
					goto wire;
				cp->name.data = g.data;
				cp->name.len = g.len;
				break;
			case COMP_ID:
			case COMP_ROOT_ID:
				if (pb_expect(&g, PB_VARINT, "computation id", &e) < 0)
					goto wire;
				*(g.num == COMP_ID ? &cp->id : &cp->root_id) = (int64_t)g.v;
				break;
			case COMP_INSTRUCTIONS:
				if (pb_expect(&g, PB_LEN, "instructions", &e) < 0)
					goto wire;
				ninst++;
				break;
			}
		}
		if (rc < 0)
			goto wire;
		if (!cp->name.data) {
			cp->name.data = (const uint8_t *)"";
			cp->name.len = 0;
		}
		if (ninst == 0) {
			char cn[96];
			errf(err, errlen, "computation %s (id %lld) has no instructions",
			     span_str(cp->name, cn, sizeof cn), (long long)cp->id);
			goto out;
		}
		insts = xreallocarray(insts, n_insts + ninst, sizeof *insts);
		memset(&insts[n_insts], 0, ninst * sizeof *insts);
		cm.p = d;
		size_t i = n_insts;
		while (pb_next(&cm, &g, &e) == 1) {
			if (g.num != COMP_INSTRUCTIONS)
				continue;
			if (parse_inst(pb_sub(&cm, &g), &insts[i], &e) < 0) {
				inst_ctx(ctx, sizeof ctx, cp, &insts[i]);
				n_insts = i + 1;
				errf(err, errlen, "%s: %s", ctx, e.msg);
				goto out;
			}
			if (insts[i].id == cp->root_id)
				cp->root = (int32_t)i;
			i++;
		}
		cp->first = n_insts;
		cp->count = ninst;
		n_insts += ninst;
		if (cp->root < 0) {
			char cn[96];
			errf(err, errlen, "computation %s: root_id %lld is not one of its "
			     "instructions", span_str(cp->name, cn, sizeof cn),
			     (long long)cp->root_id);
			goto out;
		}
	}
	if (n_insts > INT32_MAX / 2) {
		errf(err, errlen, "module %s: %zu instructions is too many", m->name, n_insts);
		goto out;
	}

	/* Computation ids -> index; callee before caller. */
	cids = xmallocarray(n_comps, sizeof *cids);
	for (size_t c = 0; c < n_comps; c++) {
		cids[c].id = comps[c].id;
		cids[c].idx = (int32_t)c;
	}
	qsort(cids, n_comps, sizeof *cids, idpair_cmp);
	for (size_t c = 1; c < n_comps; c++)
		if (cids[c].id == cids[c - 1].id) {
			char a[96], b[96];
			errf(err, errlen, "computations %s and %s share id %lld",
			     span_str(comps[cids[c - 1].idx].name, a, sizeof a),
			     span_str(comps[cids[c].idx].name, b, sizeof b),
			     (long long)cids[c].id);
			goto out;
		}
	off = xcalloc(n_comps + 1, sizeof *off);
	{
		size_t nd = 0, cap = 16;
		dep = xmallocarray(cap, sizeof *dep);
		for (size_t c = 0; c < n_comps; c++) {
			for (size_t i = comps[c].first; i < comps[c].first + comps[c].count; i++)
				for (size_t j = 0; j < insts[i].called.n; j++) {
					int32_t cc = idpair_find(cids, n_comps, insts[i].called.v[j]);
					if (cc < 0) {
						inst_ctx(ctx, sizeof ctx, &comps[c], &insts[i]);
						errf(err, errlen, "%s: calls computation id %lld, which "
						     "does not exist", ctx, (long long)insts[i].called.v[j]);
						goto out;
					}
					if (nd == cap)
						dep = xreallocarray(dep, cap *= 2, sizeof *dep);
					dep[nd++] = cc;
					insts[i].called.v[j] = cc;  /* now a computation index */
				}
			off[c + 1] = nd;
		}
	}
	corder = xmallocarray(n_comps, sizeof *corder);
	{
		size_t stuck = 0;
		if (stable_topo(n_comps, off, dep, corder, &stuck) < 0) {
			char cn[96];
			errf(err, errlen, "computation %s: computations call each other in a "
			     "cycle", span_str(comps[stuck].name, cn, sizeof cn));
			goto out;
		}
	}

	/* Instructions: per computation, operands first. */
	iorder = xmallocarray(n_insts, sizeof *iorder);
	newpos = xmallocarray(n_insts, sizeof *newpos);
	/* 0, the end of every split computation, and n (at most n_comps + 1) */
	m->node_splits = xmallocarray(n_comps + 1, sizeof *m->node_splits);
	m->node_splits[m->n_splits++] = 0;
	{
		size_t pos = 0;
		for (size_t ci = 0; ci < n_comps; ci++) {
			comp_t *cp = &comps[corder[ci]];
			size_t n = cp->count, base = cp->first, nd = 0, cap = 16;
			idpair_t *loc = xmallocarray(n, sizeof *loc);
			size_t *o = xcalloc(n + 1, sizeof *o);
			int32_t *d = xmallocarray(cap, sizeof *d);
			int32_t *ord = xmallocarray(n, sizeof *ord);
			int bad = 0;
			for (size_t i = 0; i < n; i++) {
				loc[i].id = insts[base + i].id;
				loc[i].idx = (int32_t)i;
			}
			qsort(loc, n, sizeof *loc, idpair_cmp);
			for (size_t i = 1; i < n && !bad; i++)
				if (loc[i].id == loc[i - 1].id) {
					inst_ctx(ctx, sizeof ctx, cp, &insts[base + loc[i].idx]);
					errf(err, errlen, "%s: id shared with another instruction of "
					     "the computation", ctx);
					bad = 1;
				}
			for (size_t i = 0; i < n && !bad; i++) {
				inst_t *in = &insts[base + i];
				for (size_t j = 0; j < in->operands.n && !bad; j++) {
					int32_t t = idpair_find(loc, n, in->operands.v[j]);
					if (t < 0) {
						inst_ctx(ctx, sizeof ctx, cp, in);
						errf(err, errlen, "%s: operand id %lld is not an "
						     "instruction of its computation (missing operand)",
						     ctx, (long long)in->operands.v[j]);
						bad = 1;
						break;
					}
					if (nd == cap)
						d = xreallocarray(d, cap *= 2, sizeof *d);
					d[nd++] = t;
					/* now a file-order instruction index */
					in->operands.v[j] = (int64_t)(base + (size_t)t);
				}
				o[i + 1] = nd;
			}
			size_t stuck = 0;
			if (!bad && stable_topo(n, o, d, ord, &stuck) < 0) {
				inst_ctx(ctx, sizeof ctx, cp, &insts[base + stuck]);
				errf(err, errlen, "%s: operands form a cycle", ctx);
				bad = 1;
			}
			if (!bad) {
				for (size_t i = 0; i < n; i++) {
					iorder[pos] = (int32_t)(base + (size_t)ord[i]);
					newpos[base + (size_t)ord[i]] = (int32_t)pos;
					pos++;
				}
				if (is_split_comp(cp->name))
					m->node_splits[m->n_splits++] = (int32_t)pos;
			}
			free(loc);
			free(o);
			free(d);
			free(ord);
			if (bad)
				goto out;
		}
		if (m->node_splits[m->n_splits - 1] < (int32_t)pos)
			m->node_splits[m->n_splits++] = (int32_t)pos;
	}

	/* Nodes: features, opcodes; edges from operands and called roots. */
	m->n_nodes = n_insts;
	m->node_feat = xmallocarray(n_insts, HLO_NFEAT * sizeof(float));
	m->node_opcode = xmallocarray(n_insts, sizeof(int32_t));
	{
		size_t cap = n_insts + 16, ne = 0;
		int32_t *edges = xmallocarray(cap, 2 * sizeof(int32_t));
		size_t tcap = 16;
		tmp = xmallocarray(tcap, sizeof *tmp);
		/* computation of each instruction (file order) */
		int32_t *compof = xmallocarray(n_insts, sizeof *compof);
		for (size_t c = 0; c < n_comps; c++)
			for (size_t i = 0; i < comps[c].count; i++)
				compof[comps[c].first + i] = (int32_t)c;
		for (size_t u = 0; u < n_insts; u++) {
			const inst_t *in = &insts[iorder[u]];
			const comp_t *cp = &comps[compof[iorder[u]]];
			featurize(in, in->id == cp->root_id, opts ? opts->pad : 0,
				  m->node_feat + u * HLO_NFEAT);
			int op = hlo_opcode_id((const char *)in->opcode.data, in->opcode.len);
			if (op == 0 && m->n_unknown_opcodes++ == 0)
				span_str(in->opcode, m->unknown_opcode, sizeof m->unknown_opcode);
			m->node_opcode[u] = op;
			/* targets */
			size_t nt = 0, need = in->operands.n + in->called.n;
			if (need > tcap)
				tmp = xreallocarray(tmp, tcap = need, sizeof *tmp);
			for (size_t j = 0; j < in->operands.n; j++)
				tmp[nt++] = newpos[in->operands.v[j]];
			for (size_t j = 0; j < in->called.n; j++)
				tmp[nt++] = newpos[comps[in->called.v[j]].root];
			/* sort + unique */
			for (size_t a = 1; a < nt; a++) {
				int32_t x = tmp[a];
				size_t b = a;
				while (b > 0 && tmp[b - 1] > x) {
					tmp[b] = tmp[b - 1];
					b--;
				}
				tmp[b] = x;
			}
			for (size_t a = 0; a < nt; a++) {
				if (a > 0 && tmp[a] == tmp[a - 1])
					continue;
				if (ne == cap)
					edges = xreallocarray(edges, cap *= 2, 2 * sizeof(int32_t));
				edges[2 * ne] = (int32_t)u;
				edges[2 * ne + 1] = tmp[a];
				ne++;
			}
		}
		free(compof);
		m->edge_index = edges;
		m->n_edges = ne;
	}

	/* Configurable nodes.  config_index_to_node holds node indices in the
	 * dataset encoder's numbering, which is file order (the computations'
	 * instructions one after the other, as insts is), not instruction ids:
	 * newpos takes them to our order, the same for files already in order. */
	m->n_config_nodes = cfg.n;
	m->config_node_ids = xmallocarray(cfg.n ? cfg.n : 1, sizeof(int32_t));
	{
		/* a node configured twice would have two feature rows */
		unsigned char *seen = xcalloc(n_insts, 1);
		for (size_t i = 0; i < cfg.n && !bad_cfg; i++) {
			uint64_t v = (uint64_t)cfg.v[i];  /* a uint64 field */
			if (v >= n_insts) {
				errf(err, errlen, "config_index_to_node[%zu] = %llu: not a node "
				     "index (the module has %zu instructions)", i,
				     (unsigned long long)v, n_insts);
				bad_cfg = 1;
			} else if (seen[v]++) {
				errf(err, errlen, "config_index_to_node[%zu] = %llu: that node "
				     "is already listed", i, (unsigned long long)v);
				bad_cfg = 1;
			} else {
				m->config_node_ids[i] = newpos[v];
			}
		}
		free(seen);
		if (bad_cfg)
			goto out;
	}
	if (m->runs_kind == HLO_RUNS_LAYOUT && cfg.n == 0) {
		errf(err, errlen, "layout runs but no config_index_to_node");
		goto out;
	}
	ret = 0;
	goto out;
wire:
	errf(err, errlen, "%s", e.msg);
out:
	for (size_t i = 0; i < n_insts; i++)
		inst_free(&insts[i]);
	free(insts);
	free(comps);
	free(corder);
	free(iorder);
	free(newpos);
	free(tmp);
	free(off);
	free(dep);
	free(cids);
	pb_vec_free(&cfg);
	if (ret < 0)
		hlo_module_free(m);
	return ret;
}

void hlo_module_free(hlo_module_t *m)
{
	free(m->name);
	free(m->node_feat);
	free(m->node_opcode);
	free(m->edge_index);
	free(m->node_splits);
	free(m->config_node_ids);
	free(m->kept_runs);
	free(m->run_index);
	free(m->runtime);
	memset(m, 0, sizeof *m);
	m->default_index = -1;
}

/* ---- configs ---- */

size_t hlo_config_width(const hlo_module_t *m)
{
	if (m->runs_kind == HLO_RUNS_TILE)
		return HLO_TILE_NFEAT;
	if (m->runs_kind == HLO_RUNS_LAYOUT)
		return m->n_config_nodes * HLO_LAYOUT_NFEAT;
	return 0;
}

static int tile_config(pb_msg_t cfg, float *out, pb_err_t *e)
{
	pb_field_t f, g;
	pb_i64vec_t b[3] = { { 0 }, { 0 }, { 0 } };
	int ret = -1, rc;
	while ((rc = pb_next(&cfg, &f, e)) == 1) {
		if (f.num != OPC_TILE_SIZE_CONFIG)
			continue;
		if (pb_expect(&f, PB_LEN, "tile_size_config", e) < 0)
			goto out;
		pb_msg_t t = pb_sub(&cfg, &f);
		while ((rc = pb_next(&t, &g, e)) == 1) {
			static const char *what[3] = { "kernel_bounds", "output_bounds",
						       "input_bounds" };
			if (g.num >= TSC_KERNEL_BOUNDS && g.num <= TSC_INPUT_BOUNDS &&
			    pb_append_varints(&b[g.num - 1], &g, 0, what[g.num - 1], e) < 0)
				goto out;
		}
		if (rc < 0)
			goto out;
	}
	if (rc < 0)
		goto out;
	for (int i = 0; i < 3; i++)
		out = seq_feat(out, &b[i], 6, 1, 0);
	ret = 0;
out:
	for (int i = 0; i < 3; i++)
		pb_vec_free(&b[i]);
	return ret;
}

static int layout_config(pb_msg_t cfg, float *out, size_t nc, char *err, size_t errlen)
{
	pb_field_t f, g, h, t;
	pb_err_t e;
	pb_i64vec_t dims = { 0 };
	size_t node = 0;
	int rc, ret = -1;
	for (size_t i = 0; i < nc * HLO_LAYOUT_NFEAT; i++)
		out[i] = -1.0f;
	while ((rc = pb_next(&cfg, &f, &e)) == 1) {
		if (f.num != HMC_LAYOUT_CONFIG)
			continue;
		if (pb_expect(&f, PB_LEN, "layout_config", &e) < 0)
			goto wire;
		pb_msg_t lc = pb_sub(&cfg, &f);
		while ((rc = pb_next(&lc, &g, &e)) == 1) {
			if (g.num != LC_NODES)
				continue;
			if (pb_expect(&g, PB_LEN, "layout_config.nodes", &e) < 0)
				goto wire;
			if (node >= nc) {
				errf(err, errlen, "layout config has more nodes than the %zu of "
				     "config_index_to_node", nc);
				goto out;
			}
			pb_msg_t nl = pb_sub(&lc, &g);
			int tensor = 0;
			while ((rc = pb_next(&nl, &h, &e)) == 1) {
				if (h.num != NLC_TENSORS)
					continue;
				if (pb_expect(&h, PB_LEN, "node tensors", &e) < 0)
					goto wire;
				if (tensor >= 3) {
					errf(err, errlen, "layout config node %zu has more than 3 "
					     "tensors", node);
					goto out;
				}
				pb_msg_t tl = pb_sub(&nl, &h);
				dims.n = 0;
				while ((rc = pb_next(&tl, &t, &e)) == 1)
					if (t.num == TLC_DIMS &&
					    pb_append_varints(&dims, &t, 0, "tensor dims", &e) < 0)
						goto wire;
				if (rc < 0)
					goto wire;
				for (size_t d = 0; d < dims.n && d < 6; d++)
					out[node * HLO_LAYOUT_NFEAT + (size_t)tensor * 6 + d] =
						(float)(int32_t)dims.v[d];
				tensor++;
			}
			if (rc < 0)
				goto wire;
			node++;
		}
		if (rc < 0)
			goto wire;
	}
	if (rc < 0)
		goto wire;
	if (node != nc) {
		errf(err, errlen, "layout config has %zu nodes, config_index_to_node %zu",
		     node, nc);
		goto out;
	}
	ret = 0;
	goto out;
wire:
	errf(err, errlen, "%s", e.msg);
out:
	pb_vec_free(&dims);
	return ret;
}

int hlo_run_config(const hlo_module_t *m, size_t i, float *out, char *err, size_t errlen)
{
	pb_msg_t run = pb_msg(m->kept_runs[i].data, m->kept_runs[i].len);
	pb_field_t f;
	run.base = m->buf;
	pb_err_t e;
	int rc;
	int want_num = m->runs_kind == HLO_RUNS_TILE ? CP_OP_CONFIG : CP_MODULE_CONFIG;
	while ((rc = pb_next(&run, &f, &e)) == 1) {
		if (f.num != (uint32_t)want_num)
			continue;
		pb_msg_t cfg = pb_sub(&run, &f);
		int r;
		if (m->runs_kind == HLO_RUNS_TILE) {
			r = tile_config(cfg, out, &e);
			if (r < 0)
				errf(err, errlen, "run %lld: %s", (long long)m->run_index[i], e.msg);
		} else {
			char sub[200];
			r = layout_config(cfg, out, m->n_config_nodes, sub, sizeof sub);
			if (r < 0)
				errf(err, errlen, "run %lld: %s", (long long)m->run_index[i], sub);
		}
		return r;
	}
	if (rc < 0)
		return errf(err, errlen, "run %lld: %s", (long long)m->run_index[i], e.msg);
	return errf(err, errlen, "run %lld: no config", (long long)m->run_index[i]);
}
