/* hlo: XLA HLO tuning protobufs -> TpuGraphs graphs.
 *
 * Reads the tuning records of TpuGraphs (TuningData / ModuleTuningData, whose
 * module is an XLA HloModuleProto) with the wire decoder in pb.h, and makes
 * of each module the graph the dataset holds: every computation's
 * instructions as nodes (computations ordered callee before caller, stable
 * on file order; instructions ordered operands first, stable on file order),
 * the 140 node features of TPUGRAPHS.md, opcode ids from its table, edges
 * [u, v] for "u consumes v" (operand ids, deduplicated, and the root of each
 * computation u calls), node_splits as the dataset's encoder made them (0,
 * the end of every computation named *cluster*, *while* or *cond*, and the
 * node count), and the configurable nodes of config_index_to_node (node
 * indices in file order, mapped to ours).
 *
 * Runs are indexed in a first light pass (error flag, profile, is_default);
 * their config features are decoded one run at a time by hlo_run_config, so
 * a caller can emit them in chunks.  docs/hlo2mp.md is the full account. */
#ifndef TPU_HLO_H
#define TPU_HLO_H

#include <stddef.h>
#include <stdint.h>

#define HLO_NFEAT 140        /* node features */
#define HLO_TILE_NFEAT 24    /* tile config features */
#define HLO_LAYOUT_NFEAT 18  /* layout config features per configurable node */
#define HLO_LAYOUT_SLOT 134  /* first of the 6 minor_to_major slots */

enum { HLO_RUNS_NONE = 0, HLO_RUNS_TILE = 1, HLO_RUNS_LAYOUT = 2 };

typedef struct {
	const uint8_t *data;
	size_t len;
} hlo_span_t;

/* A parsed file: which message it is and where its modules are.  The
 * buffer is the caller's and must outlive the file and its modules. */
typedef struct {
	const uint8_t *buf;
	size_t len;
	int is_tuning;           /* 1: TuningData, 0: ModuleTuningData */
	hlo_span_t *modules;     /* each a ModuleTuningData */
	size_t n_modules;
} hlo_file_t;

typedef struct {
	int pad;   /* value of minor_to_major slots beyond the rank: 0 or -1 */
} hlo_opts_t;

typedef struct {
	char *name;               /* HloModuleProto.name */
	uint64_t fingerprint;
	size_t n_nodes, n_edges, n_splits;
	float *node_feat;         /* (n_nodes, 140) */
	int32_t *node_opcode;     /* (n_nodes,) */
	int32_t *edge_index;      /* (n_edges, 2) */
	int32_t *node_splits;     /* (n_splits,) 0, the end of each computation
				   * named *cluster*, *while* or *cond*, n_nodes */
	int32_t *config_node_ids; /* (n_config_nodes,) node indices, in
				   * config_index_to_node's order */
	size_t n_config_nodes;
	size_t n_unknown_opcodes; /* opcodes not in the table (id 0) */
	char unknown_opcode[48];  /* the first of them */
	/* runs */
	int runs_kind;            /* HLO_RUNS_* */
	size_t n_runs;            /* in the file */
	size_t n_error;           /* dropped: error set */
	size_t n_no_profile;      /* dropped: no error, but no compute time > 0 */
	size_t n_kept;
	hlo_span_t *kept_runs;    /* ConfigProfile bytes of each kept run */
	int64_t *run_index;       /* its index among all runs of the module */
	int64_t *runtime;         /* its profile's compute_time_ns */
	int64_t default_index;    /* kept run marked is_default, or -1 */
	const uint8_t *buf;       /* the file's bytes (offsets in messages) */
} hlo_module_t;

/* Recognise the message (TuningData or ModuleTuningData) and list its
 * modules.  0, or -1 with a message in err (truncated, corrupt, or another
 * message type). */
int hlo_file_parse(hlo_file_t *f, const void *buf, size_t len, char *err, size_t errlen);
void hlo_file_free(hlo_file_t *f);

/* Build module k's graph and run index.  0, or -1 with a message in err
 * naming the computation / instruction at fault. */
int hlo_module_build(const hlo_file_t *f, size_t k, const hlo_opts_t *opts,
		     hlo_module_t *m, char *err, size_t errlen);
void hlo_module_free(hlo_module_t *m);

/* Config features of kept run i: 24 floats (tile) or n_config_nodes * 18
 * (layout: minor_to_major per tensor, padded with -1).  0 or -1 + err. */
int hlo_run_config(const hlo_module_t *m, size_t i, float *out, char *err, size_t errlen);
/* Number of floats hlo_run_config writes. */
size_t hlo_config_width(const hlo_module_t *m);

/* Opcode name -> id of TPUGRAPHS.md's table (0: unknown). */
int hlo_opcode_id(const char *name, size_t len);

#endif
