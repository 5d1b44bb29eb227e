/* json: see json.h */
#include "json.h"
#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* stdio without the per-call lock (a writer belongs to one thread) */
static void put_text(const char *s, FILE *fp)
{
	fwrite_unlocked(s, 1, strlen(s), fp);
}

/* ---- numbers ---- */

/* Decimal digits of an integer-valued magnitude below 1e17. */
static size_t fmt_u64(char *buf, uint64_t v)
{
	char tmp[24];
	size_t n = 0, i;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}

static size_t fmt_nonfinite(char *buf, double v)
{
	const char *s = isnan(v) ? "\"NaN\"" : v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
	size_t n = strlen(s);
	memcpy(buf, s, n + 1);
	return n;
}

/* An integral value that %.{minprec}g would print with all its digits:
 * the same text, written without printf. */
static size_t fmt_integral(char *buf, double v)
{
	if (v < 0 || (v == 0 && signbit(v))) {
		buf[0] = '-';
		return 1 + fmt_u64(buf + 1, (uint64_t)-v);
	}
	return fmt_u64(buf, (uint64_t)v);
}

size_t json_fmt_f64(char *buf, double v)
{
	int p, n = 0;
	if (!isfinite(v))
		return fmt_nonfinite(buf, v);
	if (v == floor(v) && fabs(v) < 1e15)
		return fmt_integral(buf, v);
	for (p = 15; p <= 17; p++) {
		n = snprintf(buf, JSON_NUMBUF, "%.*g", p, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return (size_t)n;
}

size_t json_fmt_f32(char *buf, float v)
{
	int p, n = 0;
	if (!isfinite(v))
		return fmt_nonfinite(buf, v);
	if (v == floorf(v) && fabsf(v) < 1e6f)
		return fmt_integral(buf, v);
	for (p = 6; p <= 9; p++) {
		n = snprintf(buf, JSON_NUMBUF, "%.*g", p, (double)v);
		if (strtof(buf, NULL) == v)
			break;
	}
	return (size_t)n;
}

/* ---- strings ---- */

/* Decode one UTF-8 sequence at s (n > 0 bytes left).  Well-formed: *cp is
 * the code point, returns its length.  Ill-formed: *cp = -1 and returns the
 * length of the maximal ill-formed subpart (at least 1), which is replaced by
 * one U+FFFD (Unicode 3.9, Table 3-7 and "U+FFFD Substitution of Maximal
 * Subparts"). */
static size_t utf8_next(const unsigned char *s, size_t n, long *cp)
{
	unsigned c = s[0], lo = 0x80, hi = 0xBF;
	size_t need, i;
	long v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;       /* no overlong forms */
		else if (c == 0xED)
			hi = 0x9F;       /* no surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;       /* no overlong forms */
		else if (c == 0xF4)
			hi = 0x8F;       /* nothing past U+10FFFF */
	} else {
		*cp = -1;            /* 80..C1, F5..FF never start a sequence */
		return 1;
	}
	for (i = 1; i <= need; i++) {
		unsigned b;
		if (i >= n) {
			*cp = -1;
			return i;
		}
		b = s[i];
		if (b < lo || b > hi) {
			*cp = -1;
			return i;
		}
		lo = 0x80;
		hi = 0xBF;
		v = (v << 6) | (long)(b & 0x3F);
	}
	*cp = v;
	return need + 1;
}

static void put_u4(FILE *fp, unsigned u)
{
	static const char hex[] = "0123456789abcdef";
	char b[6] = { '\\', 'u', hex[(u >> 12) & 15], hex[(u >> 8) & 15],
		      hex[(u >> 4) & 15], hex[u & 15] };
	fwrite_unlocked(b, 1, 6, fp);
}

void json_write_string(FILE *fp, const char *str, size_t len, int ascii)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;   /* s[run..i) is pending, copied verbatim */

	putc_unlocked('"', fp);
	while (i < len) {
		unsigned c = s[i];
		size_t k;
		long cp;

		if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80) {
			k = utf8_next(s + i, len - i, &cp);
			if (cp >= 0 && !ascii) {
				i += k;  /* valid UTF-8 is copied */
				continue;
			}
		} else {
			k = 1;
			cp = c;
		}
		fwrite_unlocked(s + run, 1, i - run, fp);
		switch (cp) {
		case '"': put_text("\\\"", fp); break;
		case '\\': put_text("\\\\", fp); break;
		case '\b': put_text("\\b", fp); break;
		case '\f': put_text("\\f", fp); break;
		case '\n': put_text("\\n", fp); break;
		case '\r': put_text("\\r", fp); break;
		case '\t': put_text("\\t", fp); break;
		case -1: put_u4(fp, 0xFFFD); break;
		default:
			if (cp >= 0x10000) {
				long u = cp - 0x10000;
				put_u4(fp, (unsigned)(0xD800 + (u >> 10)));
				put_u4(fp, (unsigned)(0xDC00 + (u & 0x3FF)));
			} else {
				put_u4(fp, (unsigned)cp);
			}
		}
		i += k;
		run = i;
	}
	fwrite_unlocked(s + run, 1, i - run, fp);
	putc_unlocked('"', fp);
}

/* ---- the writer ---- */

void json_init(json_t *j, FILE *fp, int indent, int ascii)
{
	memset(j, 0, sizeof *j);
	j->fp = fp;
	j->indent = indent > 0 ? indent : 0;
	j->ascii = ascii;
	j->cap = 16;
	j->nel = xcalloc((size_t)j->cap, 1);
}

void json_free(json_t *j)
{
	free(j->nel);
	j->nel = NULL;
}

static void newline_indent(json_t *j, int depth)
{
	int n = j->indent * depth;
	putc_unlocked('\n', j->fp);
	while (n-- > 0)
		putc_unlocked(' ', j->fp);
}

/* Separator before a member of the current container. */
static void member(json_t *j)
{
	int d = j->depth;
	if (d == 0)
		return;
	if (j->nel[d])
		putc_unlocked(',', j->fp);
	if (j->indent && !j->inline_at)
		newline_indent(j, d);
	else if (j->nel[d])
		putc_unlocked(' ', j->fp);
	j->nel[d] = 1;
}

static void value(json_t *j)
{
	if (j->after_key)
		j->after_key = 0;
	else
		member(j);
}

static void cont_open(json_t *j, int c, int inl)
{
	value(j);
	putc_unlocked(c, j->fp);
	if (++j->depth >= j->cap) {
		j->nel = xrealloc(j->nel, (size_t)j->cap * 2);
		j->cap *= 2;
	}
	j->nel[j->depth] = 0;
	if (inl && !j->inline_at)
		j->inline_at = j->depth;
}

static void cont_close(json_t *j, int c)
{
	if (j->depth == 0)
		die(EX_IO, "json: closing a container that is not open");
	if (j->nel[j->depth] && j->indent && !j->inline_at)
		newline_indent(j, j->depth - 1);
	putc_unlocked(c, j->fp);
	if (j->inline_at == j->depth)
		j->inline_at = 0;
	j->depth--;
}

void json_obj_begin(json_t *j, int inl) { cont_open(j, '{', inl); }
void json_obj_end(json_t *j) { cont_close(j, '}'); }
void json_arr_begin(json_t *j, int inl) { cont_open(j, '[', inl); }
void json_arr_end(json_t *j) { cont_close(j, ']'); }

void json_keyn(json_t *j, const char *key, size_t len)
{
	member(j);
	json_write_string(j->fp, key, len, j->ascii);
	put_text(": ", j->fp);
	j->after_key = 1;
}

void json_key(json_t *j, const char *key) { json_keyn(j, key, strlen(key)); }

void json_raw(json_t *j, const char *text)
{
	value(j);
	put_text(text, j->fp);
}

void json_null(json_t *j) { json_raw(j, "null"); }
void json_bool(json_t *j, int v) { json_raw(j, v ? "true" : "false"); }

void json_int(json_t *j, int64_t v)
{
	char buf[JSON_NUMBUF];
	if (v < 0) {
		buf[0] = '-';
		fmt_u64(buf + 1, (uint64_t)0 - (uint64_t)v);
	} else {
		fmt_u64(buf, (uint64_t)v);
	}
	json_raw(j, buf);
}

void json_uint(json_t *j, uint64_t v)
{
	char buf[JSON_NUMBUF];
	fmt_u64(buf, v);
	json_raw(j, buf);
}

void json_f64(json_t *j, double v)
{
	char buf[JSON_NUMBUF];
	json_fmt_f64(buf, v);
	json_raw(j, buf);
}

void json_f32(json_t *j, float v)
{
	char buf[JSON_NUMBUF];
	json_fmt_f32(buf, v);
	json_raw(j, buf);
}

void json_strn(json_t *j, const char *s, size_t len)
{
	value(j);
	json_write_string(j->fp, s, len, j->ascii);
}

void json_str(json_t *j, const char *s) { json_strn(j, s, strlen(s)); }

void json_base64(json_t *j, const void *data, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	size_t i;
	char q[4];

	value(j);
	putc_unlocked('"', j->fp);
	for (i = 0; i + 3 <= len; i += 3) {
		unsigned long w = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 | p[i + 2];
		q[0] = tab[w >> 18 & 63];
		q[1] = tab[w >> 12 & 63];
		q[2] = tab[w >> 6 & 63];
		q[3] = tab[w & 63];
		fwrite_unlocked(q, 1, 4, j->fp);
	}
	if (i < len) {
		unsigned long w = (unsigned long)p[i] << 16;
		if (i + 1 < len)
			w |= (unsigned long)p[i + 1] << 8;
		q[0] = tab[w >> 18 & 63];
		q[1] = tab[w >> 12 & 63];
		q[2] = i + 1 < len ? tab[w >> 6 & 63] : '=';
		q[3] = '=';
		fwrite_unlocked(q, 1, 4, j->fp);
	}
	putc_unlocked('"', j->fp);
}

void json_newline(json_t *j)
{
	if (j->depth != 0)
		die(EX_IO, "json: newline inside an open container");
	j->after_key = 0;
	putc_unlocked('\n', j->fp);
}
