/* outfile: every file a filter writes by name (--out, --csv, --checkpoint,
 * --log, --ranks, --fit-report ...), one rule for all of them.
 *
 *  - "-" is stdout.
 *  - A regular file, or a path that does not exist yet, is written
 *    atomically: to PATH.tmpXXXXXX beside it (mode 0666 & ~umask), fsync'd
 *    and renamed over PATH by of_commit; a process that exits (die()
 *    included) before the commit removes the temporary file.
 *  - Anything else that exists (a symbolic link, a character or block
 *    device, a fifo) is written through: opened O_WRONLY|O_TRUNC and never
 *    replaced, so `--csv /dev/stdout`, a link to a pipe or a terminal, or a
 *    link to a file in another directory keep being what they were.  A
 *    symbolic link to a regular file is therefore rewritten in place, not
 *    atomically.
 *  - A directory is refused.
 *
 * Writes through to a pipe or fifo whose reader has gone end the program
 * quietly (edie's EPIPE rule, lib/err.h), so of_open ignores SIGPIPE. */
#ifndef TPU_OUTFILE_H
#define TPU_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

enum { OF_ATOMIC, OF_THROUGH, OF_STDOUT };

typedef struct {
	int fd;
	int kind;      /* OF_ATOMIC, OF_THROUGH, OF_STDOUT */
	char *path;    /* as given */
	char *tmp;     /* OF_ATOMIC: the temporary file; else NULL */
	FILE *fp;      /* of_stdio's stream, if asked for */
} outfile_t;

/* Open PATH for writing by the rule above; dies with EX_IO naming PATH. */
outfile_t *of_open(const char *path);
/* A stdio stream on the file (stdout itself for "-"); of_commit flushes and
 * closes it. */
FILE *of_stdio(outfile_t *o);
/* Flush, fsync (regular files), close, rename over PATH (OF_ATOMIC); frees
 * o.  Dies with EX_IO naming PATH.  For "-" it flushes stdout only. */
void of_commit(outfile_t *o);
/* Close without committing: the temporary file is removed, a file written
 * through is left as it is.  NULL is a no-op. */
void of_abort(outfile_t *o);

/* Can PATH be opened by of_open (checked before a long job starts)?
 * Returns 0, or -1 with the reason ("is a directory", "cannot create a file
 * there: Permission denied" ...) in why.  Creates and removes a temporary
 * file beside PATH to be sure; opens nothing that is not a regular file. */
int of_check(const char *path, char *why, size_t whylen);

#endif
