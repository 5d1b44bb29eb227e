/* pb: see pb.h */
#include "pb.h"
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(pb_err_t *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(pb_err_t *err, const char *fmt, ...)
{
	va_list ap;
	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static const char *wt_name(int wt)
{
	static const char *names[] = {
		"varint", "fixed64", "length-delimited", "start-group",
		"end-group", "fixed32", "invalid (6)", "invalid (7)"
	};
	return names[wt & 7];
}

pb_msg_t pb_msg(const void *buf, size_t len)
{
	pb_msg_t m;
	m.base = m.p = buf;
	m.end = m.p + len;
	return m;
}

pb_msg_t pb_sub(const pb_msg_t *parent, const pb_field_t *f)
{
	pb_msg_t m;
	m.base = parent->base;
	m.p = f->data;
	m.end = f->data + f->len;
	return m;
}

size_t pb_offset(const pb_msg_t *m)
{
	return (size_t)(m->p - m->base);
}

int pb_read_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	const uint8_t *p = *pp;
	uint64_t v = 0;
	for (int i = 0; i < 10; i++) {
		if (p >= end)
			return -1;
		uint8_t b = *p++;
		if (i == 9 && b > 1)
			return -1;  /* more than 64 bits */
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*out = v;
			*pp = p;
			return 0;
		}
	}
	return -1;
}

/* Varint error text: truncated or too long. */
static int varint_fail(pb_err_t *err, const uint8_t *p, const uint8_t *end,
		       const uint8_t *base, const char *what)
{
	size_t avail = (size_t)(end - p);
	for (size_t i = 0; i < avail && i < 10; i++)
		if (!(p[i] & 0x80))
			return fail(err, "%s: varint overflows 64 bits at byte %zu",
				    what, (size_t)(p - base));
	if (avail >= 10)
		return fail(err, "%s: varint longer than 10 bytes at byte %zu",
			    what, (size_t)(p - base));
	return fail(err, "%s: truncated varint at byte %zu (message ends at byte %zu)",
		    what, (size_t)(p - base), (size_t)(end - base));
}

/* Skip the body of a group whose start tag (field num) was just read; *pp
 * points after the tag.  On success *pp points after the matching end tag
 * and *body_end at that tag. */
static int skip_group(const uint8_t **pp, const uint8_t *end, const uint8_t *base,
		      uint32_t num, int depth, const uint8_t **body_end, pb_err_t *err)
{
	const uint8_t *p = *pp;
	if (depth > PB_MAX_DEPTH)
		return fail(err, "groups nested deeper than %d at byte %zu",
			    PB_MAX_DEPTH, (size_t)(p - base));
	for (;;) {
		const uint8_t *tagp = p;
		uint64_t tag, v;
		if (p >= end)
			return fail(err, "group %u: no end-group tag before byte %zu",
				    num, (size_t)(end - base));
		if (pb_read_varint(&p, end, &tag) < 0)
			return varint_fail(err, tagp, end, base, "tag");
		uint64_t fnum = tag >> 3;
		int wt = (int)(tag & 7);
		if (fnum == 0 || fnum > PB_MAX_FIELD)
			return fail(err, "bad field number %llu at byte %zu",
				    (unsigned long long)fnum, (size_t)(tagp - base));
		switch (wt) {
		case PB_VARINT:
			if (pb_read_varint(&p, end, &v) < 0)
				return varint_fail(err, p, end, base, "value");
			break;
		case PB_I64:
		case PB_I32: {
			size_t w = wt == PB_I64 ? 8 : 4;
			if ((size_t)(end - p) < w)
				return fail(err, "truncated %s at byte %zu", wt_name(wt),
					    (size_t)(p - base));
			p += w;
			break;
		}
		case PB_LEN:
			if (pb_read_varint(&p, end, &v) < 0)
				return varint_fail(err, p, end, base, "length");
			if (v > (uint64_t)(end - p))
				return fail(err, "field %llu: length %llu at byte %zu runs past "
					    "the end of its message (byte %zu)",
					    (unsigned long long)fnum, (unsigned long long)v,
					    (size_t)(tagp - base), (size_t)(end - base));
			p += v;
			break;
		case PB_SGROUP: {
			const uint8_t *be;
			if (skip_group(&p, end, base, (uint32_t)fnum, depth + 1, &be, err) < 0)
				return -1;
			break;
		}
		case PB_EGROUP:
			if (fnum != num)
				return fail(err, "end-group %llu at byte %zu does not match "
					    "group %u", (unsigned long long)fnum,
					    (size_t)(tagp - base), num);
			*body_end = tagp;
			*pp = p;
			return 0;
		default:
			return fail(err, "invalid wire type %d at byte %zu", wt,
				    (size_t)(tagp - base));
		}
	}
}

int pb_next(pb_msg_t *m, pb_field_t *f, pb_err_t *err)
{
	const uint8_t *p = m->p, *end = m->end, *base = m->base;
	uint64_t tag, v;
	if (p >= end)
		return 0;
	memset(f, 0, sizeof *f);
	f->offset = (size_t)(p - base);
	if (pb_read_varint(&p, end, &tag) < 0)
		return varint_fail(err, m->p, end, base, "tag");
	uint64_t fnum = tag >> 3;
	int wt = (int)(tag & 7);
	if (fnum == 0 || fnum > PB_MAX_FIELD)
		return fail(err, "bad field number %llu at byte %zu",
			    (unsigned long long)fnum, f->offset);
	f->num = (uint32_t)fnum;
	f->wt = wt;
	switch (wt) {
	case PB_VARINT:
		if (pb_read_varint(&p, end, &v) < 0)
			return varint_fail(err, p, end, base, "value");
		f->v = v;
		break;
	case PB_I64:
	case PB_I32: {
		size_t w = wt == PB_I64 ? 8 : 4;
		if ((size_t)(end - p) < w)
			return fail(err, "field %u: truncated %s at byte %zu (message ends "
				    "at byte %zu)", f->num, wt_name(wt), (size_t)(p - base),
				    (size_t)(end - base));
		v = 0;
		for (size_t i = 0; i < w; i++)
			v |= (uint64_t)p[i] << (8 * i);
		f->v = v;
		p += w;
		break;
	}
	case PB_LEN:
		if (pb_read_varint(&p, end, &v) < 0)
			return varint_fail(err, p, end, base, "length");
		if (v > (uint64_t)(end - p))
			return fail(err, "field %u: length %llu at byte %zu runs past the end "
				    "of its message (byte %zu): truncated or corrupt",
				    f->num, (unsigned long long)v, f->offset,
				    (size_t)(end - base));
		f->data = p;
		f->len = (size_t)v;
		p += v;
		break;
	case PB_SGROUP: {
		const uint8_t *body = p, *be = NULL;
		if (skip_group(&p, end, base, f->num, 1, &be, err) < 0)
			return -1;
		f->data = body;
		f->len = (size_t)(be - body);
		break;
	}
	case PB_EGROUP:
		return fail(err, "end-group tag for field %u at byte %zu without a group",
			    f->num, f->offset);
	default:
		return fail(err, "invalid wire type %d at byte %zu (not a protobuf, or "
			    "corrupt)", wt, f->offset);
	}
	m->p = p;
	return 1;
}

float pb_float(uint64_t v)
{
	uint32_t u = (uint32_t)v;
	float x;
	memcpy(&x, &u, sizeof x);
	return x;
}

double pb_double(uint64_t v)
{
	double x;
	memcpy(&x, &v, sizeof x);
	return x;
}

int pb_expect(const pb_field_t *f, int wt, const char *what, pb_err_t *err)
{
	if (f->wt == wt)
		return 0;
	return fail(err, "%s (field %u) at byte %zu: wire type %s where %s was "
		    "expected (wrong message type?)", what, f->num, f->offset,
		    wt_name(f->wt), wt_name(wt));
}

void pb_vec_push(pb_i64vec_t *vec, int64_t x)
{
	if (vec->n == vec->cap) {
		vec->cap = vec->cap ? 2 * vec->cap : 8;
		vec->v = xreallocarray(vec->v, vec->cap, sizeof *vec->v);
	}
	vec->v[vec->n++] = x;
}

void pb_vec_free(pb_i64vec_t *vec)
{
	free(vec->v);
	vec->v = NULL;
	vec->n = vec->cap = 0;
}

int pb_append_varints(pb_i64vec_t *vec, const pb_field_t *f, int zigzag,
		      const char *what, pb_err_t *err)
{
	uint64_t v;
	if (f->wt == PB_VARINT) {
		pb_vec_push(vec, zigzag ? pb_zigzag64(f->v) : (int64_t)f->v);
		return 0;
	}
	if (f->wt != PB_LEN)
		return pb_expect(f, PB_VARINT, what, err);
	const uint8_t *p = f->data, *end = f->data + f->len;
	while (p < end) {
		const uint8_t *q = p;
		if (pb_read_varint(&p, end, &v) < 0)
			return fail(err, "%s (field %u): packed varint at byte offset %zu "
				    "within the field's %zu bytes is truncated or too long",
				    what, f->num, (size_t)(q - f->data), f->len);
		pb_vec_push(vec, zigzag ? pb_zigzag64(v) : (int64_t)v);
	}
	return 0;
}

int pb_append_fixed(pb_i64vec_t *vec, const pb_field_t *f, int wt, int is_signed,
		    const char *what, pb_err_t *err)
{
	size_t w = wt == PB_I64 ? 8 : 4;
	if (f->wt == wt) {
		int64_t x = w == 4 ? (is_signed ? (int64_t)(int32_t)(uint32_t)f->v
					       : (int64_t)(uint32_t)f->v)
				   : (int64_t)f->v;
		pb_vec_push(vec, x);
		return 0;
	}
	if (f->wt != PB_LEN)
		return pb_expect(f, wt, what, err);
	if (f->len % w)
		return fail(err, "%s (field %u): packed %s run of %zu bytes is not a "
			    "multiple of %zu", what, f->num, wt_name(wt), f->len, w);
	for (size_t i = 0; i < f->len; i += w) {
		uint64_t v = 0;
		for (size_t k = 0; k < w; k++)
			v |= (uint64_t)f->data[i + k] << (8 * k);
		int64_t x = w == 4 ? (is_signed ? (int64_t)(int32_t)(uint32_t)v
					       : (int64_t)(uint32_t)v)
				   : (int64_t)v;
		pb_vec_push(vec, x);
	}
	return 0;
}

const char *pb_str(const pb_field_t *f, char *buf, size_t n)
{
	size_t k = 0;
	if (!n)
		return buf;
	if (f->wt == PB_LEN)
		for (; k < f->len && k + 1 < n; k++) {
			uint8_t c = f->data[k];
			buf[k] = (c >= 0x20 && c <= 0x7e) ? (char)c : '?';
		}
	buf[k] = '\0';
	return buf;
}
