/* err: see err.h */
#include "err.h"
#include "progress.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *argv0 = "tpu";

void setprogname(const char *name)
{
	const char *s = strrchr(name, '/');
	argv0 = s ? s + 1 : name;
}

void setprogname_argv(char **argv)
{
	setprogname(argv[0]);
	argv[0] = (char *)argv0; /* a suffix of argv[0] itself */
}

static void vwarn(const char *fmt, va_list ap, int errnum)
{
	fflush(stdout);
	progress_clear_active();   /* a status line on a terminal goes first */
	fprintf(stderr, "%s: ", argv0);
	vfprintf(stderr, fmt, ap);
	if (errnum)
		fprintf(stderr, ": %s", strerror(errnum));
	fputc('\n', stderr);
}

void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn(fmt, ap, 0);
	va_end(ap);
	exit(code);
}

void edie(int code, const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	if (e == EPIPE) {  /* the reader went away: quiet, as SIGPIPE would be */
		progress_clear_active();
		exit(EX_PIPE);
	}
	va_start(ap, fmt);
	vwarn(fmt, ap, e);
	va_end(ap);
	exit(code);
}

void warnx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn(fmt, ap, 0);
	va_end(ap);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die(EX_IO, "out of memory (%zu bytes)", n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die(EX_IO, "out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die(EX_IO, "out of memory (%zu bytes)", n);
	return p;
}

int mul_ok(size_t a, size_t b, size_t *out)
{
	if (a && b > SIZE_MAX / a)
		return 0;
	*out = a * b;
	return 1;
}

void *xmallocarray(size_t n, size_t size)
{
	size_t t;
	if (!mul_ok(n, size, &t))
		die(EX_DATA, "size overflow (%zu x %zu)", n, size);
	return xmalloc(t);
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	size_t t;
	if (!mul_ok(n, size, &t))
		die(EX_DATA, "size overflow (%zu x %zu)", n, size);
	return xrealloc(p, t);
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xmalloc(n), s, n);
}

static const char *synopsis;   /* usage_init's */

void usage_init(const char *s)
{
	synopsis = s;
}

void usage_help(const char *text)
{
	fputs(synopsis ? synopsis : "", stdout);
	fputs(text, stdout);
	close_stdout();
	exit(EX_OK);
}

void usage_error(const char *fmt, ...)
{
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		fprintf(stderr, "%s: ", argv0);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	fputs(synopsis ? synopsis : "", stderr);
	exit(EX_USAGE);
}

long long parse_ll(const char *opt, const char *s, long long min, long long max)
{
	char *end;
	long long v;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		usage_error("%s: bad value '%s' (want an integer in %lld..%lld)", opt, s, min,
			    max);
	return v;
}

double parse_double(const char *opt, const char *s, double min, double max)
{
	char *end;
	double v;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
		usage_error("%s: bad value '%s' (want a number in %g..%g)", opt, s, min, max);
	return v;
}

void print_version(void)
{
	printf("%s %s\n", argv0, TPU_VERSION);
	close_stdout();
	exit(EX_OK);
}

void close_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		edie(EX_IO, "stdout: write error");
	if (fclose(stdout) != 0)
		edie(EX_IO, "stdout: close error");
}
