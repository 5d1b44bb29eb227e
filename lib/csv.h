/* csv: the Kaggle submission file of the TpuGraphs competition.
 *
 *     ID,TopConfigs
 *     tile:xla:d6f5f54247bd1e58a10b9e7062c636ab,2;0;17;5;3
 *     layout:xla:random:resnet50,41;7;0;...
 *
 * The format read (csv_parse), precisely:
 *  - An optional UTF-8 byte-order mark, then the header line `ID,TopConfigs`.
 *  - One row per line: ID, a comma, TopConfigs.  Lines end in LF or CRLF; the
 *    last may lack its newline; empty lines are skipped.
 *  - A field may be enclosed in double quotes (as spreadsheet tools write
 *    it); a quoted field may not contain a quote.  No other quoting.
 *  - ID: non-empty, no control characters.  Exactly two fields per line.
 *  - TopConfigs: config indices in decimal (0 .. 2^53), separated by ';',
 *    best first; spaces and tabs around an index are ignored; at least one
 *    index.  csv_configs parses it, so a bad index is reported with its line
 *    when the row is used.
 * Everything else is an error naming the line.  The parser works on a
 * buffer of known length (NUL bytes are errors, not terminators), so the
 * fuzzers call exactly what rank-eval calls.
 *
 * The writer puts the rows in the order given, LF line ends, and writes the
 * file by lib/outfile's rule: "-" is stdout, a regular file is written
 * atomically (PATH.tmpXXXXXX beside it, renamed over PATH by csvw_commit,
 * removed by a process that exits without committing), a link, device or
 * fifo is written through. */
#ifndef TPU_CSV_H
#define TPU_CSV_H

#include <stddef.h>
#include <stdint.h>

#define CSV_MAX_INDEX ((int64_t)1 << 53)

typedef struct {
	const char *id;      /* points into the buffer, not NUL-terminated */
	size_t id_len;
	const char *cfg;     /* the TopConfigs text */
	size_t cfg_len;
	size_t line;         /* 1-based line number */
} csv_row_t;

typedef struct {
	csv_row_t *rows;
	size_t n;
} csv_t;

/* Parse a submission held in buf[0..len).  Returns 0, or -1 with
 * "line N: what" in err.  The rows point into buf: keep it alive. */
int csv_parse(const char *buf, size_t len, csv_t *out, char *err, size_t errlen);
void csv_free(csv_t *c);
/* Parse a TopConfigs field into a malloc'd array; returns 0, or -1 with the
 * reason in err (and *idx NULL). */
int csv_configs(const char *s, size_t len, int64_t **idx, size_t *n, char *err,
		size_t errlen);
/* The whole of a file ("-" = stdin) in a malloc'd buffer, NUL added after
 * the end; dies with EX_IO when it cannot be read. */
char *csv_slurp(const char *path, size_t *len);

typedef struct csvw csvw_t;

/* Open PATH (of_open) and write the header; dies with EX_IO. */
csvw_t *csvw_open(const char *path);
/* One row; id must hold no comma, quote or control character (dies with
 * EX_DATA naming it: it would not read back). */
void csvw_row(csvw_t *w, const char *id, const int64_t *idx, size_t n);
/* Flush, fsync, close and rename over PATH (of_commit); dies with EX_IO. */
void csvw_commit(csvw_t *w);
/* Remove the temporary file (of_abort). */
void csvw_abort(csvw_t *w);

#endif
