/* tpugen: the synthetic TpuGraphs generator's model of XLA programs.
 *
 *   tpugen_graph.c  an HLO graph builder that fills the 140 node features
 *                   as it adds each op, and the program families: CNNs
 *                   (ResNet-like, with a training step), MLPs and
 *                   transformers for layout, small fused kernels for tile.
 *   tpugen_cost.c   the cost model (layout: layout assignment, 8x128 tiling,
 *                   relayout copies, MXU efficiency; tile: tile counts, re-reads,
 *                   VMEM), and the config samplers.
 *
 * docs/tpugen.md describes the model; everything here is deterministic in
 * the rng it is handed.  The cost models come in several worlds (machines
 * with different rooflines and cost structures, docs/tpugen.md "Worlds");
 * the graphs and the config samplers are the same in all of them. */
#ifndef TPU_TPUGEN_H
#define TPU_TPUGEN_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

#define TG_NFEAT 140
#define TG_MAXRANK 6
#define TG_NCFG 18      /* layout config features per configurable node */
#define TG_NTILECFG 24  /* tile config features */

/* element types: their index in the node feature vector (one-hot 2..20) */
enum {
	ET_PRED = 3, ET_S32 = 6, ET_S64 = 7, ET_U8 = 8, ET_F16 = 12, ET_F32 = 13,
	ET_BF16 = 15, ET_TUPLE = 18
};

/* the opcode ids of TPUGRAPHS.md this generator uses */
enum {
	OP_ADD = 2, OP_BROADCAST = 13, OP_COMPARE = 20, OP_CONCATENATE = 22,
	OP_CONSTANT = 24, OP_CONVERT = 25, OP_CONVOLUTION = 26, OP_COPY = 27,
	OP_DIVIDE = 32, OP_DOT = 34, OP_DYNAMIC_SLICE = 35, OP_EXP = 37,
	OP_GATHER = 42, OP_GTE = 45, OP_IOTA = 48, OP_LOG = 50, OP_MAXIMUM = 57,
	OP_MINIMUM = 58, OP_MULTIPLY = 59, OP_NEGATE = 60, OP_PAD = 62,
	OP_PARAMETER = 63, OP_REDUCE = 70, OP_REDUCE_WINDOW = 72, OP_RESHAPE = 75,
	OP_REVERSE = 76, OP_RSQRT = 81, OP_SELECT = 83, OP_SLICE = 92,
	OP_SORT = 93, OP_SQRT = 94, OP_SUBTRACT = 95, OP_TANH = 96,
	OP_TRANSPOSE = 98, OP_TUPLE = 100, OP_LOGISTIC = 107
};

typedef struct {
	uint8_t op, et, rank;
	int32_t comp;          /* computation index */
	int64_t dims[TG_MAXRANK];
	int32_t in, nin;       /* operands: g->opnd[in .. in + nin) */
	int16_t a[16];         /* op attributes (see tpugen_graph.c) */
	int32_t cfg;           /* index among the configurable nodes, or -1 */
} tg_node_t;

typedef struct {
	tg_node_t *n;
	float *feat;           /* (nn, 140) */
	size_t nn, cap;
	int32_t *opnd;
	size_t no, capo;
	int64_t *splits;       /* start node of each computation */
	size_t nsplits, capsplits;
	int32_t *cfg;          /* node ids of the configurable nodes, ascending */
	size_t ncfg;
	int comp;              /* the computation being built */
	int nparam;            /* parameters so far in it */
	char name[128];
} tg_graph_t;

tg_graph_t *tg_graph_new(void);
void tg_graph_free(tg_graph_t *g);
int64_t tg_numel(const tg_node_t *v);

/* the program families */
typedef struct {
	int64_t min_nodes, max_nodes;   /* target size range (a guide, not a bound) */
} tg_size_t;

/* Layout programs: source 0 = xla (CNNs, MLPs), 1 = nlp (transformers).
 * Marks the configurable nodes. */
tg_graph_t *tg_build_program(rng_t *r, int source, tg_size_t size);
/* Tile: one fused kernel.  *kind receives the kernel kind (tg_kernel_kind). */
enum { TK_ELEMWISE, TK_REDUCE, TK_CONV, TK_DOT, TK_TRANSPOSE, TK__N };
tg_graph_t *tg_build_kernel(rng_t *r, tg_size_t size, int *kind);

/* ---- worlds: the machine the cost models describe ---- */

enum { TW_TPU, TW_COMPUTE, TW_COPY, TW_MEMBOUND, TW__N };
typedef struct {
	const char *name;
	double hbm_bw;        /* bytes per ns */
	double mxu_bf16;      /* flop per ns at full MXU utilisation (f32: a third) */
	double vpu_rate;      /* elementwise ops per ns */
	double op_ovh;        /* ns: a kernel launch / pipeline drain */
	double fused_ovh;     /* ns: an op fused into its neighbours */
	double program_ovh;   /* ns: program launch */
	double copy_ovh;      /* ns: a relayout copy's launch */
	double copy_bw;       /* bytes per ns of a relayout copy */
	double lane_cross;    /* copy slowdown when the minor dim changes */
	double step_ovh;      /* ns per grid step (tile) */
	double kernel_ovh;    /* ns per tile kernel */
	double dma_row_ovh;   /* bytes-equivalent cost of one DMA row */
	double vmem;          /* bytes */
	double sigma_lo, sigma_hi; /* measurement noise: log sd range */
	int lanes, sublanes;  /* vreg tile (sublanes of 32-bit words) */
	int mxu;              /* MXU width: the operand extent it wants */
	int mxu_m_minor;      /* dots want the lhs non-contracting dim minor */
	int copy_operands;    /* operands in the wrong layout get a transpose */
	int contiguous_dma;   /* tiles spanning the minor dim stream as one run */
	int no_overlap;       /* tiles: compute and DMA never overlap */
	double slow_frac, slow_max; /* hidden slow-memory tensors (layout) */
} tg_world_t;

/* the world named NAME, or NULL */
const tg_world_t *tg_world_find(const char *name);
const tg_world_t *tg_world(int id);

/* ---- layout cost model ---- */

typedef struct tg_layout_model tg_layout_model_t;
/* Prepare the model for g in world w; draws the per-graph hardware
 * variation and noise level from r. */
tg_layout_model_t *tg_layout_model_new(const tg_graph_t *g, const tg_world_t *w, rng_t *r);
void tg_layout_model_free(tg_layout_model_t *m);
/* Noise-free runtime (ns) of config CFG: (ncfg, 18) floats, -1 = default.
 * Evaluates only the nodes whose layouts the config moves (and their
 * consumers); the rest are the all-default config's terms. */
double tg_layout_runtime(tg_layout_model_t *m, const float *cfg);
/* The same, every node evaluated: the reference the tests hold
 * tg_layout_runtime to (equal doubles). */
double tg_layout_runtime_full(tg_layout_model_t *m, const float *cfg);
/* The nodes the last tg_layout_runtime call evaluated (the rest added
 * their all-default terms): what makes it cheaper than the full one. */
size_t tg_layout_evaluated(const tg_layout_model_t *m);
/* One measurement: runtime with the graph's multiplicative noise. */
int64_t tg_layout_measure(tg_layout_model_t *m, const float *cfg, rng_t *r);
/* Sample config number I of a collection: mode 0 = random, 1 = default
 * (near the compiler's default).  Writes (ncfg, 18) floats. */
void tg_layout_sample(tg_layout_model_t *m, int mode, rng_t *r, float *cfg);
/* Fill the rank-dependent feature 134..139 (the default layouts the
 * compiler assigns under the all-default config).  Call once after build. */
void tg_layout_fill_default(tg_layout_model_t *m, tg_graph_t *g);

/* ---- tile cost model ---- */

typedef struct tg_tile_model tg_tile_model_t;
tg_tile_model_t *tg_tile_model_new(const tg_graph_t *g, int kind, const tg_world_t *w,
				   rng_t *r);
void tg_tile_model_free(tg_tile_model_t *m);
/* Up to MAX distinct configs (24 floats each) into cfg; returns the count.
 * The compiler's default config is among them. */
size_t tg_tile_configs(tg_tile_model_t *m, rng_t *r, size_t max, float *cfg);
double tg_tile_runtime(const tg_tile_model_t *m, const float *cfg);
/* measured runtime and measured default-config runtime (the normalizer) */
void tg_tile_measure(const tg_tile_model_t *m, const float *cfg, rng_t *r,
		     int64_t *runtime, int64_t *normalizer);

#endif
