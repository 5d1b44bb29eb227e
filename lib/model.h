/* model: the ranking model that sage-train trains and sage-predict runs,
 * every arch of it (docs/model.md; the commands keep the design card's
 * names, GraphSAGE being the first arch).
 *
 * Where it lives:
 *   model.c          hyper-parameters, the parameter table, model files
 *   model_data.c     its inputs: feature transforms, graphs and configs
 *                    from stream records, a collection in memory
 *   model_layers.c   the layers, each a forward/backward pair
 *   model_forward.c  the forward and backward of a batch, and the planner
 *                    that decides what is kept for the backward
 * The kernels the layers call are lib/nn.c and lib/gnn_*.c.
 *
 * One graph, a batch of B of its configs, one score each (lower = predicted
 * faster):
 *
 *   Pn = feat in_w^T + in_b + op_emb[opcode] op_w^T  (N, H)  once per graph
 *       (a Linear over [standardised log features | opcode embedding])
 *   x0[b] = Pn + config term                         (B, N, H)
 *       layout: the 18 config symbols of each configurable node (base-7
 *       digits 0..6) embedded with one shared 7-row table, concatenated
 *       (18 C), projected to H and added at that node;
 *       tile: the 24 log-scaled, standardised config features projected to
 *       H and added to every node (early join; --tile-join late: none)
 *   L x  x = GELU(x + [SE](CONV(InstanceNorm(x))))    (CONV: the arch, below)
 *   pooled = mean over nodes [| max over nodes]      (B, P)
 *   [tile, late join: the body runs once per graph, config-free, and
 *    pooled[b] = pooled + cfg_w t[b]]                 (B, P)
 *   [pooled = pooled + CrossConfigAttention(pooled)]
 *   score = Linear(GELU(Linear(pooled)))             (B)
 *
 * Parameters live in one float block carved by a size table (model_ptab);
 * gradients and AdamW moments mirror it, so zeroing, the update, the
 * checkpoint and the model file are flat loops over one buffer.
 *
 * A model file is a stream (lib/stream.h): header, one `model` record
 * (hyper-parameters, feature statistics), one `param` record per tensor
 * ({name, tensor}), end.  mp-dump shows it. */
#ifndef TPU_MODEL_H
#define TPU_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"
#include "stream.h"

#define MODEL_FORMAT "tpurank-sage"
#define MODEL_VERSION 2      /* written; version 1 (GraphSAGE only) still reads */

#define MODEL_NFEAT 140       /* node features */
#define MODEL_NOPS 128        /* opcode table rows; ids outside map to 0 */
#define MODEL_NSYM 7          /* layout config symbols: value + 1 */
#define MODEL_NSLOT 18        /* layout config values per configurable node */
#define MODEL_NCODE 3         /* base-7 codes per configurable node */
#define MODEL_NTILE 24        /* tile config features */
#define MODEL_MAX_LAYERS 16

enum { MODEL_LAYOUT = 0, MODEL_TILE = 1 };

/* The message-passing layer of the body (--arch): every layer is
 * x = GELU(x + [SE](CONV(InstanceNorm(x)))) with CONV one of
 *   sage   SAGEConv, mean over producers and consumers, separate weights
 *   gat    multi-head attention over self, producers and consumers (gnn.h)
 *   gin    MLP over (1 + eps) self + sum of both directions' neighbours
 *   appnp  a node-wise Linear; after the last layer, K propagation steps
 *          with teleport alpha over the symmetric-normalised graph
 *   gps    SAGEConv plus linear attention over all the nodes (global)
 *   mlp    a node-wise Linear (no message passing), and the config term
 *          joins the node term by sum and product: x0 = Pn + c + Pn * c */
enum { MODEL_ARCH_SAGE, MODEL_ARCH_GAT, MODEL_ARCH_GIN, MODEL_ARCH_APPNP, MODEL_ARCH_GPS,
       MODEL_ARCH_MLP, MODEL_NARCH };
/* "sage", "gat", ... for an arch; NULL when out of range. */
const char *model_arch_name(int arch);
/* The arch named s, or -1. */
int model_arch_parse(const char *s);
#define MODEL_MAX_PE 64      /* --pe rwpe:K, K in 1..64 */

typedef struct {
	int kind;        /* MODEL_LAYOUT or MODEL_TILE */
	int hidden;      /* H */
	int layers;      /* L, 0..MODEL_MAX_LAYERS */
	int op_dim;      /* E: opcode embedding size */
	int cfg_dim;     /* C: layout embedding size per config symbol */
	int pool_max;    /* pool mean and max (P = 2H), else mean (P = H) */
	int se;          /* squeeze-excitation after each SAGEConv */
	int se_dim;      /* its bottleneck R */
	int xattn;       /* cross-config attention before the head */
	int batch;       /* configs scored together (the cross-attention sees
			  * them all); the trainer's --configs-per-graph */
	int arch;        /* MODEL_ARCH_* */
	int heads;       /* attention heads (gat, gps); divides hidden */
	int appnp_k;     /* APPNP propagation steps */
	float appnp_alpha; /* APPNP teleport probability */
	int pe_k;        /* random-walk positional encoding size, 0 = none */
	int tile_late;   /* tile: join the config features after pooling (the
			  * graph's body runs once for all its configs), not
			  * at every node */
	int norm;        /* MODEL_NORM_*: each layer's normalisation */
} model_hp_t;

/* Each layer's norm: over the nodes of a config, per channel (instance, the
 * default), or over the channels of a node (layer: for graphs of a few
 * nodes, where the nodes' statistics say little). */
enum { MODEL_NORM_INSTANCE, MODEL_NORM_LAYER };

/* Defaults: H 64, L 3, E 16, C 4, mean+max pooling, SE on (R 16), cross
 * attention off, batch 64, arch sage, 4 heads, APPNP 10 steps alpha 0.1,
 * no positional encoding, tile configs joined early, instance norm. */
void model_hp_default(model_hp_t *hp, int kind);
/* NULL when valid, else a message naming the bad value. */
const char *model_hp_check(const model_hp_t *hp);

/* One body layer's parameter tensors.  The names are the model file's
 * ("l<layer>.<name>"); an arch uses its own and leaves the others NULL. */
typedef struct {
	float *norm_g, *norm_b;          /* InstanceNorm scale, shift (H) */
	float *sage_w, *sage_b;          /* sage, gps: SAGEConv (3H, H), (H) */
	float *la_w, *la_b;              /* gps: linear attention's q, k, v (3H, H), (3H) */
	float *la_o, *la_ob;             /*      and its output Linear (H, H), (H) */
	float *gat_w, *gat_a, *gat_b;    /* gat: W (H, H), attention vectors (4, H), bias (H) */
	float *gin_eps;                  /* gin: eps (1) */
	float *gin_w1, *gin_b1;          /*      the MLP's first Linear (H, H), (H) */
	float *gin_w2, *gin_b2;          /*      and its second (H, H), (H) */
	float *lin_w, *lin_b;            /* appnp, mlp: the node-wise Linear (H, H), (H) */
	float *se_w1, *se_b1;            /* squeeze-excitation: squeeze (R, H), (R) */
	float *se_w2, *se_b2;            /*                     excite (H, R), (H) */
} model_layer_params_t;

/* The named parameter tensors, pointers into one block. */
typedef struct {
	float *op_emb;              /* (NOPS, E) */
	float *op_w;                /* (H, E): the opcode embedding's projection */
	float *in_w, *in_b;         /* (H, F), (H): the features' projection */
	float *pe_w;                /* (H, pe_k): the positional encoding's projection */
	float *cfg_emb;             /* layout (NSYM, C) */
	float *cfg_w;               /* layout (H, NSLOT C); tile (H, NTILE), late (P, NTILE) */
	model_layer_params_t layer[MODEL_MAX_LAYERS];
	float *xa_w, *xa_b;         /* (3P, P), (3P) */
	float *head_w1, *head_b1;   /* (H, P), (H) */
	float *head_w2, *head_b2;   /* (1, H), (1) */
} model_params_t;

/* Pooled width P: H (mean pooling) or 2H (mean and max). */
size_t model_pooled_dim(const model_hp_t *hp);
/* Point v's tensors into base, a block of m->nparams floats laid out as the
 * model's (a thread's private gradients, a copy of the parameters). */
void model_params_view(const model_hp_t *hp, float *base, model_params_t *v);

/* One row of the size table. */
typedef struct {
	char name[24];
	int ndim;
	int64_t shape[2];
	size_t off, size;   /* in floats, into the block */
	int init;           /* MODEL_INIT_* */
	float scale;        /* normal init's standard deviation */
	int decay;          /* AdamW weight decay applies (2-d weights) */
} model_ptab_t;

enum { MODEL_INIT_ZERO, MODEL_INIT_ONE, MODEL_INIT_NORMAL };

typedef struct {
	model_hp_t hp;
	model_ptab_t *tab;
	size_t ntab;
	size_t nparams;
	float *params, *grads;      /* (nparams) each */
	model_params_t p, g;         /* named views of params and grads */
	/* node feature statistics of the training set (after the log) */
	float feat_mean[MODEL_NFEAT], feat_std[MODEL_NFEAT];
	/* tile config feature statistics (after the log) */
	float tile_mean[MODEL_NTILE], tile_std[MODEL_NTILE];
} model_t;

/* A model with parameters zeroed (statistics: mean 0, std 1); NULL and
 * *err set when hp is invalid. */
model_t *model_new(const model_hp_t *hp, const char **err);
void model_free(model_t *m);
/* Random initialisation from seed (deterministic). */
void model_init(model_t *m, uint64_t seed);
void model_zero_grad(model_t *m);
/* The size-table row named name, or NULL. */
const model_ptab_t *model_find(const model_t *m, const char *name);

/* ---- feature transforms ---- */

/* In place: x = sign(x) * log1p(|x|). */
void model_log_transform(float *x, size_t n);
/* In place, for rows of width w: x = (x - mean) / std. */
void model_standardize(float *x, size_t rows, size_t w, const float *mean,
		      const float *std);
/* Running sums for statistics over many rows of width w (w <= 256). */
typedef struct {
	size_t w;
	double n, sum[256], sumsq[256];
} model_stats_t;
void model_stats_add(model_stats_t *s, const float *x, size_t rows);
/* mean, std (std of a constant column is 1, so it standardises to 0). */
void model_stats_get(const model_stats_t *s, float *mean, float *std);

/* ---- one graph ---- */

typedef struct {
	char *id;
	char *coll;            /* its collection, or NULL */
	int32_t n;             /* nodes */
	int32_t nc;            /* configurable nodes (layout) */
	nn_adj_t adj;
	float *feat;           /* (n, F) node features, transformed */
	uint8_t *op;           /* (n) opcodes, clamped to the table */
	int32_t *cfg_ids;      /* (nc) configurable node ids */
	float *pe;             /* (n, pe_k) random-walk encoding, or NULL */
	int pe_k;
	/* configs, held by the trainer in packed form */
	size_t nconf;
	uint32_t *codes;       /* layout (nconf, nc, 3) base-7 codes */
	float *tfeat;          /* tile (nconf, 24), transformed */
	double *target;        /* (nconf) runtime (tile: / normalizer) */
	int64_t *cidx;         /* (nconf) original config_index */
} model_graph_t;

/* Fill g's structure from a graph record (node_feat, node_opcode,
 * edge_index, node_config_ids): features log-transformed only (the caller
 * standardises).  Returns 0, or -1 with err (rec_err's form: the record and
 * what is wrong) on bad data, g left empty. */
int model_graph_parse(model_graph_t *g, record_t *r, int kind, char *err, size_t errlen);
/* model_graph_parse that dies with its message (EX_DATA). */
void model_graph_from_record(model_graph_t *g, record_t *r, int kind);
void model_graph_free(model_graph_t *g);
/* Compute g's random-walk positional encoding of size k (0: none); a
 * no-op when it has one of that size. */
void model_graph_set_pe(model_graph_t *g, int k);
/* Bytes g holds (for the trainer's memory report). */
size_t model_graph_bytes(const model_graph_t *g);

/* One `configs` chunk of graph g, converted: layout configs come as
 * node_config_code u32 (count, nc, 3) (encode-base7) or as raw
 * node_config_feat (count, nc, 18) with values -1..5, packed here; tile
 * configs as config_feat f32 (count, 24), log-transformed here (the caller
 * standardises).  target: config_runtime (tile: divided by
 * config_runtime_normalizers), NULL when the chunk has no runtimes.
 * dup_off/dup_idx: encode-base7 --dedup's mapping (the original indices
 * each row stands for), NULL when absent.  model_chunk_parse returns 0, or
 * -1 with err (rec_err's form) on bad data, c left empty;
 * model_chunk_from_record dies with that message (EX_DATA). */
typedef struct {
	size_t count;
	uint32_t *codes;      /* layout (count, nc, 3) */
	float *tfeat;         /* tile (count, 24) */
	double *target;       /* (count) or NULL */
	int64_t *cidx;        /* (count) original config_index */
	int64_t *dup_off;     /* (count + 1) or NULL */
	int64_t *dup_idx;     /* (dup_off[count]) */
} model_chunk_t;

int model_chunk_parse(model_chunk_t *c, record_t *r, const model_graph_t *g, int kind,
		      char *err, size_t errlen);
void model_chunk_from_record(model_chunk_t *c, record_t *r, const model_graph_t *g, int kind);
void model_chunk_free(model_chunk_t *c);
/* The kind a graph record is for: its collection ("tile:..." or
 * "layout:..."), else whether it has node_config_ids. */
int model_record_kind(const record_t *r);

/* A whole collection in memory, as the trainer holds it: graphs with their
 * configs in packed form (base-7 codes, not floats). */
typedef struct {
	int kind;              /* MODEL_LAYOUT / MODEL_TILE */
	model_graph_t *g;
	size_t n, cap;
	size_t nconf;          /* configs, all graphs */
	char *history;         /* the stream header's history, packed msgpack */
	size_t history_len;    /* (an empty list when the header had none) */
} model_set_t;

/* Read every graph and config of the stream at path ("-": stdin).  kind -1:
 * the kind of the first graph; a graph of the other kind dies.  Configs need
 * runtimes.  max_configs > 0 keeps a random sample of that many configs per
 * graph (seeded, stable).  Node features are log-transformed, not yet
 * standardised.  The header's history is kept, packed, for the model
 * (sage-predict compares it with its input's, lib/history.h).
 * model_set_load returns 0, or the exit code for the failure (EX_DATA bad
 * data, EX_IO the file) with err, s left empty; model_set_read dies with
 * them. */
int model_set_load(model_set_t *s, const char *path, int kind, size_t max_configs,
		   uint64_t seed, char *err, size_t errlen);
void model_set_read(model_set_t *s, const char *path, int kind, size_t max_configs,
		    uint64_t seed);
void model_set_free(model_set_t *s);
size_t model_set_bytes(const model_set_t *s);
/* Bytes the configs would take as the stream's floats (for the report). */
size_t model_set_float_bytes(const model_set_t *s);
/* Fit the model's feature statistics on s (nodes, and tile configs). */
void model_set_fit_stats(const model_set_t *s, model_t *m);
/* Standardise s's node (and tile config) features with m's statistics. */
void model_set_standardize(model_set_t *s, const model_t *m);

/* Symbols (n * 6) of n base-7 codes (all < 7^6, as model_chunk checks). */
void model_symbols(uint8_t *sym, const uint32_t *codes, size_t n);

/* The configs of one batch, in the model's input form. */
typedef struct {
	size_t B;
	const uint8_t *sym;    /* layout (B, nc, 18) symbols 0..6 */
	const float *tfeat;    /* tile (B, 24) transformed */
} model_batch_t;

/* ---- forward and backward ---- */

/* Buffers for the forward and backward, grown as graphs need. */
typedef struct model_work model_work_t;

/* budget_mb: the activation memory one micro-batch may use; a batch that
 * needs more is trained in micro-batches (the body is recomputed for the
 * backward); 0 = no limit. */
model_work_t *model_work_new(size_t budget_mb);
void model_work_free(model_work_t *w);
/* Bytes the work buffers hold now (their high-water mark). */
size_t model_work_bytes(const model_work_t *w);

/* scores (B) for batch b of graph g.  train: keep what model_backward needs.
 * Config-independent work (the node projection) is done once per call. */
void model_forward(model_t *m, model_work_t *w, const model_graph_t *g,
		  const model_batch_t *b, float *scores, int train);
/* After model_forward(..., train = 1) on the same arguments: accumulate the
 * parameter gradients of sum(dscores * scores) into m->grads. */
void model_backward(model_t *m, model_work_t *w, const model_graph_t *g,
		   const model_batch_t *b, const float *dscores);

/* ---- model files ---- */

/* Write the model record and the param records of params (m->params or a
 * copy of the same layout) to sw. */
void model_write(swriter_t *sw, const model_t *m, const float *params);
/* Read a model written by model_write from sr (its header first).  Records
 * other than the params are returned in *extra (caller frees each and the
 * array) when extra is not NULL, else skipped.  model_parse returns 0 and
 * *out, or the exit code for the failure (EX_DATA a bad model, EX_IO the
 * file) with err naming the file and record; model_read dies with them. */
int model_parse(sreader_t *sr, model_t **out, record_t ***extra, size_t *nextra, char *err,
		size_t errlen);
model_t *model_read(sreader_t *sr, record_t ***extra, size_t *nextra);

/* Write header (history + name/argv), model, params, extra records and end
 * to path by lib/outfile's rule: "-" stdout, a regular file atomically (a
 * temporary file renamed over it), a link, device or fifo written through. */
void model_save(const char *path, const model_t *m, const float *params,
	       record_t *const *extra, size_t nextra, const char *prog,
	       int argc, char **argv);
/* Load a model file; extra as in model_read.  model_try_load returns as
 * model_parse does (EX_IO too when the file cannot be opened); model_load
 * dies. */
int model_try_load(const char *path, model_t **out, record_t ***extra, size_t *nextra,
		   char *err, size_t errlen);
model_t *model_load(const char *path, record_t ***extra, size_t *nextra);

#endif
