/* graph: CSR adjacency in both directions, k-hop BFS, Dijkstra, node subsets.
 *
 * Edges follow TpuGraphs: row [u, v] of edge_index means "u consumes the
 * output of v", so data flows v -> u.  For a node x:
 *   operands(x) = the v of every row [x, v]   (its producers, "in")
 *   users(x)    = the u of every row [u, x]   (its consumers, "out")
 * GRAPH_IN walks from a node to its operands, GRAPH_OUT to its users,
 * GRAPH_BOTH to both (the undirected graph).
 *
 * Everything here is O(n + m) except Dijkstra, O((n + m) log m). */
#ifndef TPU_GRAPH_H
#define TPU_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

enum { GRAPH_IN = 1, GRAPH_OUT = 2, GRAPH_BOTH = 3 };

typedef struct {
	int32_t n;          /* nodes */
	int64_t m;          /* edges (rows of edge_index) */
	/* operands: for node x, entries op_off[x] .. op_off[x+1]-1 */
	int64_t *op_off;    /* (n + 1) */
	int32_t *op_node;   /* (m) the operand v */
	int64_t *op_edge;   /* (m) the edge_index row */
	/* users: for node x, entries us_off[x] .. us_off[x+1]-1 */
	int64_t *us_off;    /* (n + 1) */
	int32_t *us_node;   /* (m) the user u */
	int64_t *us_edge;   /* (m) the edge_index row */
} graph_t;

/* Build both CSRs from edge_index (m, 2).  Each list keeps edge_index order.
 * Returns 0, or -1 with a message in err when a node id is outside 0..n-1
 * (the graph is then left empty and needs no graph_free). */
int graph_build(graph_t *g, int32_t n, const int32_t *edge_index, int64_t m,
		char *err, size_t errlen);
void graph_free(graph_t *g);

static inline int64_t graph_n_operands(const graph_t *g, int32_t x)
{ return g->op_off[x + 1] - g->op_off[x]; }
static inline int64_t graph_n_users(const graph_t *g, int32_t x)
{ return g->us_off[x + 1] - g->us_off[x]; }

/* Multi-source BFS along dir, stopping at maxhops (< 0: no limit).
 * dist (n): hops from the nearest source, -1 where not reached.
 * Returns the number of nodes reached (sources included). */
int64_t graph_bfs(const graph_t *g, const int32_t *src, size_t nsrc, int dir,
		  int32_t maxhops, int32_t *dist);

/* Multi-source Dijkstra along dir (GRAPH_IN or GRAPH_OUT) with a weight per
 * edge_index row, w (m) >= 0 and finite (a binary heap, lazy deletion).
 * dist (n): distance from the nearest source, INFINITY where unreachable.
 * parent (n) and parent_edge (n), when not NULL: for a reached non-source
 * node x, the predecessor p on a shortest path (dist[p] + w(e) == dist[x]),
 * chosen deterministically as the smallest node id, then the first edge row;
 * -1 for sources and unreachable nodes.  This rule does not depend on the
 * heap's order, so any implementation (networkx) can reproduce the tree. */
void graph_dijkstra(const graph_t *g, const int32_t *src, size_t nsrc, int dir,
		    const double *w, double *dist, int32_t *parent,
		    int64_t *parent_edge);

/* Plain O(n * m) Bellman-Ford with the same contract (for tests). */
void graph_dijkstra_naive(const graph_t *g, const int32_t *src, size_t nsrc,
			  int dir, const double *w, double *dist,
			  int32_t *parent, int64_t *parent_edge);

/* keep (n): 0/1 per node.  newid (n): new index of each kept node in the
 * original order, -1 for dropped ones.  Returns the number kept. */
int32_t graph_renumber(const uint8_t *keep, int32_t n, int32_t *newid);

/* The rows of edge_index (m, 2) whose two ends are kept, remapped through
 * newid, in their original order: written to out (k, 2) when not NULL and
 * their row numbers to rows (k) when not NULL.  Returns k. */
int64_t graph_subset_edges(const int32_t *edge_index, int64_t m,
			   const int32_t *newid, int32_t *out, int64_t *rows);

/* node_splits (start node of each computation) after a subset: each start
 * becomes the new index of the first kept node at or after it (n_kept when
 * none), so the k splits stay k, in order (an emptied computation gives two
 * equal starts).  newid as from graph_renumber. */
void graph_remap_splits(int32_t *splits, size_t k, const int32_t *newid,
			int32_t n);

/* A tensor made of the given rows (along the first dimension) of t. */
tensor_t *tensor_take_rows(const tensor_t *t, const int64_t *rows, size_t nrows);

/* Apply a node subset to a graph record, the shared part of prune-hop and
 * dijkstra-compress:
 *   - every tensor named node_* whose first dimension is n (node_feat,
 *     node_opcode, ...) except node_config_ids and node_splits, and
 *     orig_node_id, keeps the rows of the kept nodes;
 *   - orig_node_id (i32, n) is added (the input's node index), or, when the
 *     input already has one, composed (it keeps pointing at the first input);
 *   - node_config_ids are remapped (they must all be kept), node_splits
 *     remapped as graph_remap_splits says;
 *   - edge_index keeps the rows whose two ends are kept, remapped, and every
 *     tensor named edge_* whose first dimension is m keeps the same rows;
 *   - n_nodes and n_edges are updated.  Other fields are untouched.
 * edge_index must be i32 (m, 2) already (rec_need_tensor).  Returns 0, or
 * -1 with err (rec_err's form) and r unchanged when a configurable node is
 * dropped (a caller bug or bad data) or orig_node_id does not have n
 * entries. */
int graph_rec_subset(record_t *r, const uint8_t *keep, int32_t n, char *err, size_t errlen);

/* Read and check a graph record's node count and edges: n from node_feat
 * (or n_nodes), edge_index converted to i32 (m, 2), node_config_ids to i32
 * (nc,) when present.  graph_rec_parse returns 0, or -1 with err set
 * (rec_err's form: the record's context) on an empty graph, an id out of
 * range, or inconsistent counts; graph_rec_check dies with that message
 * (EX_DATA). */
typedef struct {
	int32_t n;
	int64_t m;
	tensor_t *edge_index;       /* i32 (m, 2), owned by the record */
	tensor_t *node_config_ids;  /* i32 (nc,) or NULL, owned by the record */
	int64_t nc;
} graph_rec_t;
int graph_rec_parse(record_t *r, graph_rec_t *out, char *err, size_t errlen);
void graph_rec_check(record_t *r, graph_rec_t *out);

#endif
