/* truth: the measured runtimes of a graph/configs stream, held whole.
 *
 * Reads a raw npz2mp stream (graph records, then their configs chunks with
 * config_runtime, and for tile config_runtime_normalizers) as rank-eval
 * reads its --truth: every graph's configs sorted by config index, with
 * y = runtime (layout) or runtime / normalizer (tile), lower = faster.
 * Fails (exit code 1 for its caller, a message naming the file, record and
 * graph) on a split whose runtimes are hidden, a deduplicated stream, a missing or non-positive
 * runtime, a config index twice, n_configs not matching the chunks, a
 * duplicate graph id, an id or collection that is neither tile: nor
 * layout:, or no graph at all.  Memory: 16 bytes a config of every graph
 * (rank-ensemble --fit reads a valid split, which is small). */
#ifndef TPU_TRUTH_H
#define TPU_TRUTH_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "stream.h"

typedef struct {
	char *id, *coll;   /* graph id; its collection (tile:xla, layout:xla:random ...) */
	int tile;
	size_t n;
	int64_t *idx;      /* (n) config indices, ascending */
	double *y;         /* (n) the truth, lower = faster */
} truth_graph_t;

typedef struct {
	truth_graph_t *g;  /* (n) in stream order */
	size_t n;
	idmap_t *ids;      /* id -> index into g, plus 1 */
	char *name;        /* the stream's name for messages */
} truth_t;

/* Read the truth stream at path: 0 and *out, or the exit code for the
 * failure (EX_DATA the data, EX_IO the file) with err.  truth_read dies
 * with them. */
int truth_load(const char *path, truth_t **out, char *err, size_t errlen);
truth_t *truth_read(const char *path);
/* The collection of a graph record r with this id: its "collection" key,
 * else the id's first two (tile) or three (layout) fields; NULL with err
 * (naming r) when the id has neither. */
char *truth_collection_of(const record_t *r, const char *id, char *err, size_t errlen);
/* Append the configs of one configs chunk r of a truth stream to *idx and
 * *y (grown as needed: *n of *cap used; tile: y = runtime / normalizer),
 * with the checks above (deduplicated, no runtimes, lengths, a config
 * index below 0, a runtime or normalizer not positive): rank-eval, which
 * reads the truth a graph at a time, and truth_read share it.  0, or -1
 * with err (rec_err's form), nothing appended. */
int truth_add_chunk(record_t *r, int tile, int64_t **idx, double **y, size_t *n, size_t *cap,
		    char *err, size_t errlen);
/* A graph's configs read: check n against the graph record's n_configs
 * (expect, -1: none) and that there are some, sort idx (and y with it) by
 * config index; -1 with err on an index twice, a count that does not match
 * or no configs; name and id for messages. */
int truth_finish_graph(const char *name, const char *id, int64_t expect, int64_t *idx,
		       double *y, size_t n, char *err, size_t errlen);
void truth_free(truth_t *t);
/* The graph with this id, or NULL. */
const truth_graph_t *truth_get(const truth_t *t, const char *id);

#endif
