/* err: program name, exit codes, dying wrappers.
 *
 * Exit status is an interface shared by every filter:
 *   0 ok, 1 bad data, 2 bad usage, 3 I/O or system failure. */
#ifndef TPU_ERR_H
#define TPU_ERR_H

#include <stddef.h>
#include <stdint.h>

enum { EX_OK = 0, EX_DATA = 1, EX_USAGE = 2, EX_IO = 3 };
/* The reader of our output went away (EPIPE: `npz2mp DIR | head`): no
 * message, and the status a shell shows for a program killed by SIGPIPE
 * (128 + 13), as mp-dump, cat or jq end there.  Not a success: the output
 * was not all delivered.  edie() takes this exit whenever errno is EPIPE. */
enum { EX_PIPE = 141 };

extern const char *argv0; /* set by setprogname(); the one global */

/* Set the program name for messages; call first in main. */
void setprogname(const char *name);
/* Call first in a filter's main: setprogname(argv[0]), and argv[0] becomes
 * that basename too, so that getopt's own messages ("unrecognized option")
 * say `npz2mp:` as ours do, not `bin/npz2mp:` (docs/options.md). */
void setprogname_argv(char **argv);
/* "prog: message\n" on stderr, then exit(code). */
_Noreturn void die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Same, with ": strerror(errno)" appended; when errno is EPIPE it exits
 * quietly with EX_PIPE instead (exit handlers run: temporary files go). */
_Noreturn void edie(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* n * size with overflow check (dies with EX_DATA: sizes come from data). */
void *xmallocarray(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);

/* Checked multiplication; returns 0 on overflow. */
int mul_ok(size_t a, size_t b, size_t *out);

/* ---- the command line: one idiom for every filter ----
 *
 * A filter has a synopsis, "usage: NAME [options] ...\n", and a help text
 * (the lines after it).  main calls usage_init(synopsis) after
 * setprogname_argv; then
 *   -h, --help         usage_help(text): synopsis and text on stdout, exit 0
 *   a bad option or    usage_error(fmt, ...): "NAME: message", then the
 *   argument           synopsis, on stderr; exit 2 (EX_USAGE)
 *   an unknown option  usage_error(NULL): the synopsis alone (getopt has
 *                      said what was wrong)
 *   -V, --version      print_version()
 * Errors found later, in the data or the files, are die()'s. */
void usage_init(const char *synopsis);
_Noreturn void usage_help(const char *text);
_Noreturn void usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Parse helpers for options: usage_error with "option: bad value". */
long long parse_ll(const char *opt, const char *s, long long min, long long max);
double parse_double(const char *opt, const char *s, double min, double max);

/* The package version, printed by every filter's --version. */
#define TPU_VERSION "0.1.0"
/* Print "prog TPU_VERSION\n" to stdout and exit 0. */
_Noreturn void print_version(void);
/* Flush and close stdout; a failure is EX_IO. Call before exit(0). */
void close_stdout(void);

#endif
