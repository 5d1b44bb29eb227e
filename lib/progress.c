/* progress: see progress.h */
#include "progress.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* The progress_t whose line is on screen, for progress_clear_active. */
static progress_t *active;

double progress_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void progress_init_with(progress_t *p, int fd, double delay, progress_clock_fn now)
{
	memset(p, 0, sizeof *p);
	p->fd = fd;
	p->delay = delay;
	p->every = PROGRESS_EVERY;
	p->now = now;
	p->start = now();
	p->last = -1;
}

void progress_init(progress_t *p, int fd, int quiet)
{
	double delay = PROGRESS_DELAY_DEFAULT;
	const char *s = getenv("TPU_PROGRESS_DELAY");
	struct winsize ws;

	if (s && *s) {
		char *end;
		double d = strtod(s, &end);
		if (*end == '\0' && d >= 0 && isfinite(d))
			delay = d;
	}
	progress_init_with(p, fd, delay, progress_clock);
	if (quiet || !isatty(fd)) {
		p->fd = -1;
		return;
	}
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
		p->cols = ws.ws_col - 1;   /* the last column would wrap on some terminals */
}

int progress_due(progress_t *p)
{
	if (p->fd < 0)
		return 0;
	double t = p->now();
	if (t - p->start < p->delay)
		return 0;
	return p->last < 0 || t - p->last >= p->every;
}

double progress_elapsed(const progress_t *p)
{
	return p->now() - p->start;
}

/* All of buf, or give up quietly: progress is for a person, never a reason
 * to fail. */
static void put(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		n -= (size_t)w;
	}
}

void progress_show(progress_t *p, const char *line)
{
	char buf[512];
	size_t len = strlen(line), n = 0;

	if (p->fd < 0)
		return;
	if (len > sizeof buf - 2)
		len = sizeof buf - 2;
	if (p->cols && len > p->cols)
		len = p->cols;
	buf[n++] = '\r';
	memcpy(buf + n, line, len);
	n += len;
	/* blank what is left of a longer line before it */
	while (n - 1 < p->shown && n < sizeof buf)
		buf[n++] = ' ';
	put(p->fd, buf, n);
	p->shown = len;
	p->last = p->now();
	active = p;
}

void progress_clear(progress_t *p)
{
	char buf[512];
	size_t n = 0;

	if (p->fd < 0 || p->shown == 0) {
		p->last = -1;
		return;
	}
	buf[n++] = '\r';
	while (n - 1 < p->shown && n < sizeof buf - 1)
		buf[n++] = ' ';
	buf[n++] = '\r';
	put(p->fd, buf, n);
	p->shown = 0;
	p->last = -1;
	if (active == p)
		active = NULL;
}

void progress_end(progress_t *p)
{
	progress_clear(p);
	p->fd = -1;
}

void progress_clear_active(void)
{
	if (active)
		progress_clear(active);
}

char *progress_bytes(char *buf, size_t n, double bytes)
{
	static const char *unit[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	int u = 0;

	while (bytes >= 999.5 && u < 5) {
		bytes /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%.0f B", bytes);
	else if (bytes < 9.95)
		snprintf(buf, n, "%.1f %s", bytes, unit[u]);
	else
		snprintf(buf, n, "%.0f %s", bytes, unit[u]);
	return buf;
}

char *progress_secs(char *buf, size_t n, double s)
{
	long long t = s > 0 && s < 1e15 ? (long long)(s + 0.5) : 0;

	if (t < 60)
		snprintf(buf, n, "%lld s", t);
	else if (t < 3600)
		snprintf(buf, n, "%lld min %02lld s", t / 60, t % 60);
	else
		snprintf(buf, n, "%lld h %02lld min", t / 3600, t / 60 % 60);
	return buf;
}

char *progress_count(char *buf, size_t n, unsigned long long v)
{
	char digits[32];
	int len = snprintf(digits, sizeof digits, "%llu", v);
	size_t k = 0;

	for (int i = 0; i < len && k + 1 < n; i++) {
		if (i > 0 && (len - i) % 3 == 0 && k + 2 < n)
			buf[k++] = ',';
		buf[k++] = digits[i];
	}
	if (n)
		buf[k < n ? k : n - 1] = '\0';
	return buf;
}
