/* metrics: rank statistics that score a predicted order of configs against
 * their measured runtimes, the Kaggle scores built on them, and the small
 * helpers that join prediction streams by graph id.
 *
 * Conventions, shared by every function here:
 *  - x is the prediction (lower = predicted faster), y the truth (lower =
 *    faster: a runtime, or runtime / normalizer for tile).  A pair (i, j) is
 *    concordant when x and y order it the same way, discordant when they
 *    order it oppositely, tied when x_i == x_j or y_i == y_j.
 *  - Inputs must not hold NaN (callers reject NaN with a message naming the
 *    graph and config); +-inf compare as usual.
 *  - An undefined statistic (fewer than 2 items, or one side constant) is
 *    NaN, as scipy.stats returns it.
 *
 * Kendall's tau-b (scipy.stats.kendalltau, variant 'b'):
 *     tau_b = (C - D) / sqrt((P - Tx) (P - Ty))
 * with P = n(n-1)/2 pairs, Tx / Ty the pairs tied in x / in y (joint ties
 * included in both), C - D = P - Tx - Ty + Txy - 2 D, Txy the pairs tied in
 * both.  Computed in O(n log n) by Knight's algorithm: sort by (x, y), count
 * ties in x and joint ties on runs, then merge-sort y counting the swaps
 * (= discordant pairs), and count ties in y on the sorted result.
 *
 * Spearman's rho (scipy.stats.spearmanr): Pearson's correlation of the
 * average ranks (tied values share the mean of the ranks they span).
 *
 * Ordered-pair accuracy (the TpuGraphs paper's OPA), defined here precisely:
 * over the pairs whose true values differ, the fraction the prediction puts
 * in the right order, a pair tied in the prediction counting one half:
 *     OPA = (C + (Tx - Txy) / 2) / (P - Ty)
 * Pairs tied in the truth carry no order and are left out.  So a constant
 * prediction scores 0.5, a perfect one 1, the reversed one 0.  Same counts
 * as tau-b, so O(n log n) as well.  NaN when every pair is tied in y.
 *
 * Top-K error (the TpuGraphs paper): with the predicted order best first,
 *     ratio_K = min(y over the first K) / min(y over all);  error_K = ratio_K - 1
 * (K >= n: 0).  The Kaggle tile score of a kernel is 2 - ratio_5.
 *
 * The strict order: configs sorted by (prediction, config_index) ascending.
 * Ties in the prediction are broken by the smaller config index first; this
 * is the order a submission lists (rank-ensemble writes it) and the order
 * the top-K and Kaggle scores read, so a stream and the CSV written from it
 * score the same. */
#ifndef TPU_METRICS_H
#define TPU_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

/* ---- pair counts, tau-b, OPA ---- */

typedef struct {
	uint64_t n;          /* items */
	uint64_t pairs;      /* n (n - 1) / 2 */
	uint64_t xties;      /* pairs with x_i == x_j (joint ties included) */
	uint64_t yties;      /* pairs with y_i == y_j (joint ties included) */
	uint64_t jties;      /* pairs tied in both */
	uint64_t discordant; /* pairs ordered oppositely by x and y */
} metrics_pairs_t;

/* Knight's O(n log n) pair counts.  Allocates O(n) scratch. */
void metrics_pair_counts(const double *x, const double *y, size_t n, metrics_pairs_t *c);
/* The same by looking at every pair: O(n^2), for tests. */
void metrics_pair_counts_naive(const double *x, const double *y, size_t n,
			       metrics_pairs_t *c);
uint64_t metrics_concordant(const metrics_pairs_t *c);
double metrics_kendall_from(const metrics_pairs_t *c); /* tau-b, NaN if undefined */
double metrics_opa_from(const metrics_pairs_t *c);     /* NaN if P == Ty */

double metrics_kendall(const double *x, const double *y, size_t n);
double metrics_opa(const double *x, const double *y, size_t n);

/* ---- ranks, Spearman ---- */

/* Average ranks, 1-based: rank[i] of v[i]; ties share the mean rank.
 * O(n log n). */
void metrics_avg_ranks(const double *v, size_t n, double *rank);
double metrics_spearman(const double *x, const double *y, size_t n);
/* Ranks by counting (O(n^2)), then the same Pearson formula, for tests. */
double metrics_spearman_naive(const double *x, const double *y, size_t n);
/* Pearson's r of x and y (NaN when either is constant or n < 2). */
double metrics_pearson(const double *x, const double *y, size_t n);

/* ---- order, top-K ---- */

/* order[0..n) = the indices 0..n-1 sorted by (score, key) ascending: the
 * strict order (key: the config index). */
void metrics_order(const double *score, const int64_t *key, size_t n, size_t *order);
/* ratio_K = min(y[order[0..K)]) / min(y); K is clipped to n.  NaN when
 * n == 0 or min(y) <= 0. */
double metrics_topk_ratio(const size_t *order, const double *y, size_t n, size_t k);

/* ---- normalisation (rank-ensemble) ---- */

enum { NORM_RANK, NORM_ZSCORE, NORM_MINMAX };

/* One graph's scores mapped to a common scale, lower still better:
 *   rank:   (average rank - 1) / (n - 1), in [0, 1] (ties share a rank)
 *   zscore: (s - mean) / sd, sd the population standard deviation
 *   minmax: (s - min) / (max - min), in [0, 1]
 * A constant input (or n == 1) maps to all 0.  zscore and minmax need
 * finite scores (the caller checks). */
void metrics_normalise(const double *s, size_t n, int how, double *out);

/* ---- one graph, as rank-eval scores it ---- */

enum {
	M_KENDALL, M_SPEARMAN, M_OPA, M_TOP1, M_TOP5, M_TOP10, M_SCORE, M__N
};
extern const char *const metrics_names[M__N];  /* "kendall" ... "score" */

typedef struct {
	size_t n;          /* configs in the truth */
	size_t missing;    /* configs without a prediction (filled pessimistically) */
	int no_pred;       /* the whole graph had no prediction */
	int tile;          /* tile:  score = 2 - ratio_5;  layout: score = tau-b
			    * of the strict order against y */
	unsigned avail;    /* bit M_x set: the metric was computed (it may still
			    * be NaN: undefined) */
	double v[M__N];
} metrics_graph_t;

/* Score one graph.  y[n] > 0: the truth; key[n]: config indices (distinct);
 * pred[n]: the predicted scores, NaN where a config has no prediction.
 * Configs without a prediction are filled pessimistically: ranked after
 * every predicted config, slowest (largest y) first: among themselves they
 * are all in the wrong order, they never enter the top K ahead of a
 * predicted config, and a graph without any prediction gets the reversed
 * truth, the worst score there is.  (A rule, not a bound on what the
 * missing predictions would have scored: callers count and report them.)
 * All rank statistics are computed on the predictions' ranks (which they
 * are invariant to).
 *
 * ranked < n declares a legitimately partial list (a Kaggle tile row lists
 * only its top configs): the first `ranked` configs of the strict order are
 * the list, the others carry NaN and are neither missing nor ranked; then
 * the rank statistics are not available, nor top-K for K > ranked, and the
 * score needs ranked >= min(5, n).  Pass ranked = n otherwise. */
void metrics_score_graph(const double *y, const int64_t *key, const double *pred,
			 size_t n, int tile, size_t ranked, metrics_graph_t *g);

/* Means over the graphs of a collection.  A metric that was not available
 * for a graph is left out of its mean (and counted in n[m]); an undefined one
 * (NaN: constant truth or prediction, n < 2) counts as the value of a ranking
 * that carries no information: 0 for tau, rho and the layout score, 0.5 for
 * OPA, and is counted in undefined[m]. */
typedef struct {
	size_t graphs, configs, missing_graphs, missing_configs;
	int tile;
	double sum[M__N];
	size_t n[M__N];         /* graphs that contributed to each mean */
	size_t undefined[M__N]; /* of which undefined (counted as neutral) */
} metrics_agg_t;

void metrics_agg_add(metrics_agg_t *a, const metrics_graph_t *g);
double metrics_agg_mean(const metrics_agg_t *a, int m); /* NaN when n[m] == 0 */

/* ---- a string-keyed hash map (graph ids) ---- */

typedef struct idmap idmap_t;

idmap_t *idmap_new(void);
/* Frees the map and its key copies (not the values). */
void idmap_free(idmap_t *m);
/* The value for key, or NULL. */
void *idmap_get(const idmap_t *m, const char *key);
/* Set key -> val (val != NULL); returns the previous value or NULL. */
void *idmap_put(idmap_t *m, const char *key, void *val);
/* Remove key; returns its value or NULL. */
void *idmap_del(idmap_t *m, const char *key);
size_t idmap_count(const idmap_t *m);

/* ---- pred records ---- */

/* Check a pred record and return its arrays: config_index converted to i64
 * and score to f64 in place, both 1-d of the same length.  A NaN score, a
 * negative config index or a length mismatch dies with rec_die. */
size_t predrec_arrays(record_t *r, const int64_t **idx, const double **score);

/* Several pred streams read as one set keyed by graph id.  Records of other
 * types (graph, configs ...) are skipped.  Lookups read ahead: a record for
 * another graph met on the way is buffered until asked for, so memory is one
 * pred record when the streams are in the caller's order, and grows only as
 * far as they differ. */
typedef struct predsrc predsrc_t;

predsrc_t *predsrc_open(char *const *paths, size_t n); /* dies on open failure */
void predsrc_close(predsrc_t *ps);
/* Allow more than one record per graph id (rank-ensemble --tta); otherwise
 * a second record for an id dies naming both places. */
void predsrc_allow_repeats(predsrc_t *ps, int yes);
/* The (next) pred record for id, or NULL when no stream holds one (any
 * more).  The caller frees it. */
record_t *predsrc_take(predsrc_t *ps, const char *id);
/* The next record in arrival order, buffered ones first; NULL at the end of
 * every stream. */
record_t *predsrc_next(predsrc_t *ps);
/* The headers read from the streams (owned by ps). */
record_t *predsrc_header(predsrc_t *ps, size_t i);

#endif
