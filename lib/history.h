/* history: what a stream's header history says about how its graphs were
 * prepared, so that a model and the stream it scores can be compared.
 *
 * The history is the header's list of the stages that made the stream,
 * {name, version, argv} each (docs/stream-format.md).  Its *preparation* is
 * the ordered list of the stages that change the graphs a model sees, each
 * with only the options that change them, in a canonical form:
 *
 *   prune-hop          -k K, -d DIR            (a step always)
 *   dijkstra-compress  -w W                    (a step always)
 *   encode-base7       -c (--drop-constant)    (a step only with -c)
 *   hlo2mp             --pad V                 (a step only when V is not 0)
 *
 * Everything else does not count: file names, -q, --threads, npz2mp's
 * config sampling (--max-configs, --seed), encode-base7's --dedup, --keep,
 * --force and --decode (the model reads packed and plain configs alike),
 * the versions, and the stages that only read, sample, concatenate or score
 * (npz2mp, mp-cat, sage-train, sage-predict, rank-*).  A stage this table
 * does not know (a stage of one's own) counts by its name alone.  Defaults
 * are filled in (prune-hop alone is prune-hop -k 1); long options, their
 * unique abbreviations, --opt=V, -kV and clustered flags read as getopt
 * reads them.  For tile graphs (tile != 0), which have no configurable nodes,
 * prune-hop, dijkstra-compress and encode-base7 pass them through unchanged
 * and are no step. */
#ifndef TPU_HISTORY_H
#define TPU_HISTORY_H

#include <stddef.h>

#include "stream.h"

typedef struct {
	char *name;   /* the stage, "prune-hop" */
	char *desc;   /* canonical, "prune-hop -k 1" */
} hist_step_t;

typedef struct {
	hist_step_t *step;
	size_t n;
} hist_prep_t;

/* The preparation of a packed msgpack history array (len bytes), for tile
 * graphs when tile.  Returns 0, or -1 with a message in err when it is not a
 * list of {name, argv} maps. */
int hist_prep_parse(hist_prep_t *p, const void *bytes, size_t len, int tile, char *err,
		    size_t errlen);
/* The same from a header record's history field; no field reads as []. */
int hist_prep_of_header(hist_prep_t *p, const record_t *hdr, int tile, char *err, size_t errlen);
void hist_prep_free(hist_prep_t *p);

/* 0 when model and data are the same preparation; else 1, with the first
 * difference named in buf: "the model's data went through prune-hop -k 1,
 * this stream did not". */
int hist_prep_diff(const hist_prep_t *model, const hist_prep_t *data, char *buf, size_t n);

#endif
