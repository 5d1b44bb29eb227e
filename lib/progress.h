/* progress: one status line on a terminal, rewritten in place with \r.
 *
 * A filter that may run long (npz2mp over a dataset, sage-predict over a
 * stream) shows how far it got, but only to a person: the line is drawn only
 * when its fd (stderr) is a terminal and the program is not quiet, only after
 * the first TPU_PROGRESS_DELAY seconds of work (default 1.5; 0 draws at the
 * first tick, for tests), at most every PROGRESS_EVERY seconds.  Anywhere
 * else (a log, a pipe, CI) progress_* write nothing at all.
 *
 * Usage: progress_init once; in the loop `if (progress_due(&p))` format a
 * line and progress_show it; progress_clear before printing any other
 * message (die/warnx do it themselves, through progress_clear_active);
 * progress_end at the end, which leaves the terminal as it was. */
#ifndef TPU_PROGRESS_H
#define TPU_PROGRESS_H

#include <stddef.h>

#define PROGRESS_DELAY_DEFAULT 1.5   /* s of work before the first line */
#define PROGRESS_EVERY 0.25          /* s between two lines, at least */

typedef double (*progress_clock_fn)(void);   /* seconds, monotonic */

typedef struct {
	int fd;              /* -1: off, nothing is ever written */
	double delay, every; /* s */
	double start;        /* clock at init */
	double last;         /* clock of the line on screen; < 0: none since the last clear */
	size_t shown;        /* characters on screen now */
	size_t cols;         /* terminal width; 0: unknown, no cut */
	progress_clock_fn now;
} progress_t;

/* The clock progress_init uses: CLOCK_MONOTONIC in seconds. */
double progress_clock(void);
/* On when !quiet and fd is a terminal; the delay from TPU_PROGRESS_DELAY
 * (seconds, >= 0; anything else is ignored for the default). */
void progress_init(progress_t *p, int fd, int quiet);
/* Always on, with this delay and clock, no width: for tests. */
void progress_init_with(progress_t *p, int fd, double delay, progress_clock_fn now);
/* 1 when a line is to be drawn now: past the delay, and PROGRESS_EVERY s
 * after the last line (at once after a clear).  Cheap: call per record. */
int progress_due(progress_t *p);
/* Seconds since progress_init. */
double progress_elapsed(const progress_t *p);
/* Draw LINE over the one on screen (cut to the terminal width). */
void progress_show(progress_t *p, const char *line);
/* Blank the line on screen and put the cursor at its start. */
void progress_clear(progress_t *p);
/* Clear, and stay off from now on. */
void progress_end(progress_t *p);
/* Clear the line last shown by any progress_t (lib/err.c, before a message). */
void progress_clear_active(void);

/* Formatting, into BUF of N bytes; each returns BUF. */
/* 17 B, 950 kB, 2.1 GB: decimal units, 2 significant digits below 10. */
char *progress_bytes(char *buf, size_t n, double bytes);
/* 35 s, 4 min 05 s, 2 h 03 min. */
char *progress_secs(char *buf, size_t n, double s);
/* 120,000. */
char *progress_count(char *buf, size_t n, unsigned long long v);

#endif
