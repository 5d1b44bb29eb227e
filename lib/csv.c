/* csv: see csv.h */
#include "csv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "outfile.h"

/* ---- reading ---- */

/* One field starting at p (end e, the line's end).  Returns the position
 * after it (at ',' or e), or NULL with err. */
static const char *field(const char *p, const char *e, const char **f, size_t *flen,
			 size_t line, char *err, size_t errlen)
{
	if (p < e && *p == '"') {
		const char *q = memchr(p + 1, '"', (size_t)(e - p - 1));
		if (!q) {
			snprintf(err, errlen, "line %zu: unterminated quoted field", line);
			return NULL;
		}
		*f = p + 1;
		*flen = (size_t)(q - p - 1);
		q++;
		if (q < e && *q != ',') {
			snprintf(err, errlen, "line %zu: text after a quoted field", line);
			return NULL;
		}
		return q;
	}
	*f = p;
	while (p < e && *p != ',') {
		if (*p == '"') {
			snprintf(err, errlen, "line %zu: a quote inside an unquoted field", line);
			return NULL;
		}
		p++;
	}
	*flen = (size_t)(p - *f);
	return p;
}

/* Split one line (without its line end) into exactly two fields. */
static int split2(const char *p, const char *e, const char **a, size_t *alen,
		  const char **b, size_t *blen, size_t line, char *err, size_t errlen)
{
	p = field(p, e, a, alen, line, err, errlen);
	if (!p)
		return -1;
	if (p == e) {
		snprintf(err, errlen, "line %zu: one field, want 2 (ID,TopConfigs)", line);
		return -1;
	}
	p = field(p + 1, e, b, blen, line, err, errlen);
	if (!p)
		return -1;
	if (p != e) {
		snprintf(err, errlen, "line %zu: more than 2 fields", line);
		return -1;
	}
	return 0;
}

int csv_parse(const char *buf, size_t len, csv_t *out, char *err, size_t errlen)
{
	const char *p = buf, *end = buf + len;
	size_t line = 0, cap = 0;
	int header = 0;

	out->rows = NULL;
	out->n = 0;
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end, *a, *b;
		size_t alen, blen;
		line++;
		if (e > p && e[-1] == '\r')
			e--;
		if (memchr(p, '\0', (size_t)(e - p)) || memchr(p, '\r', (size_t)(e - p))) {
			snprintf(err, errlen, "line %zu: NUL or stray CR character", line);
			goto fail;
		}
		if (e == p) {  /* empty line */
			p = nl ? nl + 1 : end;
			continue;
		}
		if (split2(p, e, &a, &alen, &b, &blen, line, err, errlen) != 0)
			goto fail;
		if (!header) {
			if (alen != 2 || memcmp(a, "ID", 2) != 0 || blen != 10 ||
			    memcmp(b, "TopConfigs", 10) != 0) {
				snprintf(err, errlen, "line %zu: header is not \"ID,TopConfigs\"", line);
				goto fail;
			}
			header = 1;
		} else {
			if (alen == 0) {
				snprintf(err, errlen, "line %zu: empty ID", line);
				goto fail;
			}
			for (size_t i = 0; i < alen; i++)
				if ((unsigned char)a[i] < 0x20 || a[i] == 0x7f) {
					snprintf(err, errlen, "line %zu: control character in ID", line);
					goto fail;
				}
			if (out->n == cap) {
				cap = cap ? 2 * cap : 256;
				out->rows = xreallocarray(out->rows, cap, sizeof *out->rows);
			}
			out->rows[out->n].id = a;
			out->rows[out->n].id_len = alen;
			out->rows[out->n].cfg = b;
			out->rows[out->n].cfg_len = blen;
			out->rows[out->n].line = line;
			out->n++;
		}
		p = nl ? nl + 1 : end;
	}
	if (!header) {
		snprintf(err, errlen, "no header line (empty file)");
		goto fail;
	}
	return 0;
fail:
	free(out->rows);
	out->rows = NULL;
	out->n = 0;
	return -1;
}

void csv_free(csv_t *c)
{
	free(c->rows);
	c->rows = NULL;
	c->n = 0;
}

int csv_configs(const char *s, size_t len, int64_t **idx, size_t *n, char *err,
		size_t errlen)
{
	const char *p = s, *e = s + len;
	size_t cap = 16, k = 0;
	int64_t *v = xmallocarray(cap, sizeof *v);

	for (;;) {
		int64_t x = 0;
		const char *d;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		d = p;
		while (p < e && *p >= '0' && *p <= '9') {
			x = x * 10 + (*p - '0');
			if (x > CSV_MAX_INDEX) {
				snprintf(err, errlen, "config index %zu is too large", k + 1);
				goto fail;
			}
			p++;
		}
		if (p == d) {
			if (p == e && k == 0)
				snprintf(err, errlen, "no config index");
			else if (p == e || *p == ';')
				snprintf(err, errlen, "empty config index at position %zu", k + 1);
			else
				snprintf(err, errlen, "bad character '%c' at position %zu (want a "
					 "non-negative integer)", (*p >= 0x20 && *p < 0x7f) ? *p : '?',
					 k + 1);
			goto fail;
		}
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (k == cap) {
			cap *= 2;
			v = xreallocarray(v, cap, sizeof *v);
		}
		v[k++] = x;
		if (p == e)
			break;
		if (*p != ';') {
			snprintf(err, errlen, "bad character '%c' after config index %zu (want ';')",
				 (*p >= 0x20 && *p < 0x7f) ? *p : '?', k);
			goto fail;
		}
		p++;
	}
	*idx = v;
	*n = k;
	return 0;
fail:
	free(v);
	*idx = NULL;
	*n = 0;
	return -1;
}

char *csv_slurp(const char *path, size_t *len)
{
	int stdin_ = strcmp(path, "-") == 0;
	int fd = stdin_ ? 0 : open(path, O_RDONLY);
	size_t cap = 1 << 16, n = 0;
	char *buf;
	if (fd < 0)
		edie(EX_IO, "%s", path);
	buf = xmalloc(cap + 1);
	for (;;) {
		ssize_t r;
		if (n == cap) {
			if (cap > SIZE_MAX / 4)
				die(EX_IO, "%s: file too large", path);
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			edie(EX_IO, "%s: read error", stdin_ ? "stdin" : path);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (!stdin_)
		close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* ---- writing ---- */

struct csvw {
	outfile_t *out;
	FILE *fp;
};

csvw_t *csvw_open(const char *path)
{
	csvw_t *w = xcalloc(1, sizeof *w);
	w->out = of_open(path);
	w->fp = of_stdio(w->out);
	fputs("ID,TopConfigs\n", w->fp);
	return w;
}

void csvw_row(csvw_t *w, const char *id, const int64_t *idx, size_t n)
{
	for (const char *c = id; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == ',' || *c == '"')
			die(EX_DATA, "graph id \"%s\" cannot go in a CSV row (comma, quote or "
			    "control character)", id);
	fputs(id, w->fp);
	for (size_t i = 0; i < n; i++)
		fprintf(w->fp, "%c%" PRId64, i ? ';' : ',', idx[i]);
	fputc('\n', w->fp);
	if (ferror(w->fp))
		edie(EX_IO, "%s: write error", w->out->path);
}

void csvw_commit(csvw_t *w)
{
	of_commit(w->out);
	free(w);
}

void csvw_abort(csvw_t *w)
{
	if (!w)
		return;
	of_abort(w->out);
	free(w);
}
