/* stream: records over msgpack-c.  See stream.h and docs/stream-format.md. */
#include "stream.h"
#include "err.h"
#include "strset.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <msgpack.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- dtypes ---- */

static const struct {
	const char *name;
	size_t size;
} dtypes[DT__N] = {
	[DT_F32] = {"f32", 4}, [DT_F64] = {"f64", 8}, [DT_I8] = {"i8", 1},
	[DT_I16] = {"i16", 2}, [DT_I32] = {"i32", 4}, [DT_I64] = {"i64", 8},
	[DT_U8] = {"u8", 1},   [DT_U16] = {"u16", 2}, [DT_U32] = {"u32", 4},
	[DT_U64] = {"u64", 8}, [DT_BOOL] = {"bool", 1},
};

size_t dtype_size(dtype_t dt) { return dt < DT__N ? dtypes[dt].size : 0; }
const char *dtype_name(dtype_t dt) { return dt < DT__N ? dtypes[dt].name : "?"; }
int dtype_is_float(dtype_t dt) { return dt == DT_F32 || dt == DT_F64; }

int dtype_parse(const char *s, size_t len, dtype_t *out)
{
	for (int i = 0; i < DT__N; i++)
		if (strlen(dtypes[i].name) == len && memcmp(dtypes[i].name, s, len) == 0) {
			*out = (dtype_t)i;
			return 0;
		}
	return -1;
}

/* ---- tensors ---- */

static void *alloc_data(size_t nbytes)
{
	size_t n = (nbytes + 63) & ~(size_t)63;
	void *p;
	if (n < nbytes)
		die(EX_DATA, "tensor size overflow");
	p = aligned_alloc(64, n ? n : 64);
	if (!p)
		die(EX_IO, "out of memory (%zu bytes)", nbytes);
	return p;
}

/* numel and nbytes for a shape; 0 on overflow or bad dims. */
static int shape_size(dtype_t dt, int ndim, const int64_t *shape, size_t *numel, size_t *nbytes)
{
	size_t n = 1;
	if (ndim < 0 || ndim > TENSOR_MAXDIM)
		return 0;
	for (int i = 0; i < ndim; i++) {
		if (shape[i] < 0 || (uint64_t)shape[i] > SIZE_MAX)
			return 0;
		if (!mul_ok(n, (size_t)shape[i], &n))
			return 0;
	}
	if (!mul_ok(n, dtype_size(dt), nbytes))
		return 0;
	*numel = n;
	return 1;
}

tensor_t *tensor_new(dtype_t dt, int ndim, const int64_t *shape)
{
	tensor_t *t = tensor_new_uninit(dt, ndim, shape);
	memset(t->data, 0, t->nbytes);
	return t;
}

tensor_t *tensor_new_uninit(dtype_t dt, int ndim, const int64_t *shape)
{
	tensor_t *t = xcalloc(1, sizeof *t);
	if (dt >= DT__N || !shape_size(dt, ndim, shape, &t->numel, &t->nbytes))
		die(EX_DATA, "bad tensor shape");
	t->dtype = dt;
	t->ndim = ndim;
	for (int i = 0; i < ndim; i++)
		t->shape[i] = shape[i];
	t->data = alloc_data(t->nbytes);
	return t;
}

tensor_t *tensor_new1(dtype_t dt, int64_t d0) { return tensor_new(dt, 1, &d0); }
tensor_t *tensor_new2(dtype_t dt, int64_t d0, int64_t d1)
{
	int64_t s[2] = {d0, d1};
	return tensor_new(dt, 2, s);
}
tensor_t *tensor_new3(dtype_t dt, int64_t d0, int64_t d1, int64_t d2)
{
	int64_t s[3] = {d0, d1, d2};
	return tensor_new(dt, 3, s);
}

tensor_t *tensor_dup(const tensor_t *t)
{
	tensor_t *c = tensor_new_uninit(t->dtype, t->ndim, t->shape);
	memcpy(c->data, t->data, t->nbytes);
	return c;
}

void tensor_free(tensor_t *t)
{
	if (!t)
		return;
	if (!t->borrowed)
		free(t->data);
	free(t);
}

double tensor_get_f(const tensor_t *t, size_t i)
{
	const void *d = t->data;
	switch (t->dtype) {
	case DT_F32: return ((const float *)d)[i];
	case DT_F64: return ((const double *)d)[i];
	case DT_I8: return ((const int8_t *)d)[i];
	case DT_I16: return ((const int16_t *)d)[i];
	case DT_I32: return ((const int32_t *)d)[i];
	case DT_I64: return (double)((const int64_t *)d)[i];
	case DT_U8: case DT_BOOL: return ((const uint8_t *)d)[i];
	case DT_U16: return ((const uint16_t *)d)[i];
	case DT_U32: return ((const uint32_t *)d)[i];
	case DT_U64: return (double)((const uint64_t *)d)[i];
	default: return NAN;
	}
}

/* A float as int64, truncated; out of range saturates and NaN is 0 (the
 * plain cast is undefined behaviour there). */
static int64_t f2i(double v)
{
	if (v != v)
		return 0;
	if (v >= 9223372036854775808.0)
		return INT64_MAX;
	if (v < -9223372036854775808.0)
		return INT64_MIN;
	return (int64_t)v;
}

int64_t tensor_get_i(const tensor_t *t, size_t i)
{
	const void *d = t->data;
	switch (t->dtype) {
	case DT_F32: return f2i(((const float *)d)[i]);
	case DT_F64: return f2i(((const double *)d)[i]);
	case DT_I8: return ((const int8_t *)d)[i];
	case DT_I16: return ((const int16_t *)d)[i];
	case DT_I32: return ((const int32_t *)d)[i];
	case DT_I64: return ((const int64_t *)d)[i];
	case DT_U8: case DT_BOOL: return ((const uint8_t *)d)[i];
	case DT_U16: return ((const uint16_t *)d)[i];
	case DT_U32: return ((const uint32_t *)d)[i];
	case DT_U64: return (int64_t)((const uint64_t *)d)[i];
	default: return 0;
	}
}

static void int_range(dtype_t dt, int64_t *lo, uint64_t *hi)
{
	switch (dt) {
	case DT_I8: *lo = INT8_MIN; *hi = INT8_MAX; break;
	case DT_I16: *lo = INT16_MIN; *hi = INT16_MAX; break;
	case DT_I32: *lo = INT32_MIN; *hi = INT32_MAX; break;
	case DT_I64: *lo = INT64_MIN; *hi = INT64_MAX; break;
	case DT_U8: *lo = 0; *hi = UINT8_MAX; break;
	case DT_U16: *lo = 0; *hi = UINT16_MAX; break;
	case DT_U32: *lo = 0; *hi = UINT32_MAX; break;
	case DT_U64: *lo = 0; *hi = UINT64_MAX; break;
	case DT_BOOL: *lo = 0; *hi = 1; break;
	default: *lo = 0; *hi = 0; break;
	}
}

static void put_int(tensor_t *t, size_t i, int64_t v, uint64_t uv, int is_u)
{
	void *d = t->data;
	switch (t->dtype) {
	case DT_I8: ((int8_t *)d)[i] = (int8_t)v; break;
	case DT_I16: ((int16_t *)d)[i] = (int16_t)v; break;
	case DT_I32: ((int32_t *)d)[i] = (int32_t)v; break;
	case DT_I64: ((int64_t *)d)[i] = v; break;
	case DT_U8: case DT_BOOL: ((uint8_t *)d)[i] = (uint8_t)v; break;
	case DT_U16: ((uint16_t *)d)[i] = (uint16_t)v; break;
	case DT_U32: ((uint32_t *)d)[i] = (uint32_t)v; break;
	case DT_U64: ((uint64_t *)d)[i] = is_u ? uv : (uint64_t)v; break;
	default: break;
	}
}

tensor_t *tensor_convert(const tensor_t *t, dtype_t to, char *err, size_t errlen)
{
	tensor_t *o;
	int64_t lo;
	uint64_t hi;

	if (t->dtype == to)
		return tensor_dup(t);
	o = tensor_new(to, t->ndim, t->shape);
	if (to == DT_F32 || to == DT_F64) {
		for (size_t i = 0; i < t->numel; i++) {
			double v = tensor_get_f(t, i);
			if (to == DT_F32)
				((float *)o->data)[i] = (float)v;
			else
				((double *)o->data)[i] = v;
		}
		return o;
	}
	int_range(to, &lo, &hi);
	for (size_t i = 0; i < t->numel; i++) {
		int64_t v;
		uint64_t uv = 0;
		int is_u = 0;
		if (dtype_is_float(t->dtype)) {
			double f = tensor_get_f(t, i);
			if (!isfinite(f) || f != floor(f) || f < -9.2e18 || f > 1.8e19) {
				snprintf(err, errlen, "value %g at %zu is not an integer for %s",
					 f, i, dtype_name(to));
				tensor_free(o);
				return NULL;
			}
			if (f >= 9.2e18) {
				uv = (uint64_t)f;
				is_u = 1;
				v = 0;
			} else {
				v = (int64_t)f;
			}
		} else if (t->dtype == DT_U64) {
			uv = ((const uint64_t *)t->data)[i];
			is_u = uv > INT64_MAX;
			v = is_u ? 0 : (int64_t)uv;
		} else {
			v = tensor_get_i(t, i);
		}
		if (is_u ? uv > hi : (v < lo || (v > 0 && (uint64_t)v > hi))) {
			if (is_u)
				snprintf(err, errlen, "value %llu at %zu out of range for %s",
					 (unsigned long long)uv, i, dtype_name(to));
			else
				snprintf(err, errlen, "value %lld at %zu out of range for %s",
					 (long long)v, i, dtype_name(to));
			tensor_free(o);
			return NULL;
		}
		put_int(o, i, v, uv, is_u);
	}
	return o;
}

const char *tensor_shape_str(const tensor_t *t, char *buf, size_t n)
{
	size_t k = 0;
	k += (size_t)snprintf(buf + k, n - k, "(");
	for (int i = 0; i < t->ndim && k < n; i++)
		k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "",
				      (long long)t->shape[i]);
	if (k < n)
		snprintf(buf + k, n - k, t->ndim == 1 ? ",)" : ")");
	return buf;
}

/* ---- records ---- */

record_t *rec_new(const char *type)
{
	record_t *r = xcalloc(1, sizeof *r);
	snprintf(r->type, sizeof r->type, "%s", type);
	return r;
}

static void field_clear(field_t *f)
{
	switch (f->kind) {
	case V_STR: free(f->v.s); break;
	case V_TENSOR: tensor_free(f->v.t); break;
	case V_RAW: free(f->v.raw.bytes); break;
	default: break;
	}
	f->kind = V_NIL;
}

void rec_free(record_t *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		field_clear(&r->f[i]);
		free(r->f[i].key);
	}
	free(r->f);
	free(r);
}

int rec_is(const record_t *r, const char *type) { return strcmp(r->type, type) == 0; }

field_t *rec_get(const record_t *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->f[i].key, key) == 0)
			return &r->f[i];
	return NULL;
}

tensor_t *rec_tensor(const record_t *r, const char *key)
{
	field_t *f = rec_get(r, key);
	return f && f->kind == V_TENSOR ? f->v.t : NULL;
}

const char *rec_str(const record_t *r, const char *key)
{
	field_t *f = rec_get(r, key);
	return f && f->kind == V_STR ? f->v.s : NULL;
}

int rec_int(const record_t *r, const char *key, int64_t *out)
{
	field_t *f = rec_get(r, key);
	if (!f || f->kind != V_INT)
		return 0;
	*out = f->v.i;
	return 1;
}

int rec_flag(const record_t *r, const char *key)
{
	const field_t *f = rec_get(r, key);
	return f && f->kind == V_BOOL && f->v.b;
}

int rec_float(const record_t *r, const char *key, double *out)
{
	field_t *f = rec_get(r, key);
	if (f && f->kind == V_FLOAT) {
		*out = f->v.f;
		return 1;
	}
	if (f && f->kind == V_INT) {
		*out = (double)f->v.i;
		return 1;
	}
	return 0;
}

/* The field for key, cleared, created at the end when absent. */
static field_t *slot(record_t *r, const char *key)
{
	field_t *f = rec_get(r, key);
	if (f) {
		field_clear(f);
		return f;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->f = xreallocarray(r->f, r->cap, sizeof *r->f);
	}
	f = &r->f[r->n++];
	memset(f, 0, sizeof *f);
	f->key = xstrdup(key);
	return f;
}

void rec_set_int(record_t *r, const char *key, int64_t v)
{
	field_t *f = slot(r, key);
	f->kind = V_INT;
	f->v.i = v;
}

void rec_set_float(record_t *r, const char *key, double v)
{
	field_t *f = slot(r, key);
	f->kind = V_FLOAT;
	f->v.f = v;
}

void rec_set_bool(record_t *r, const char *key, int v)
{
	field_t *f = slot(r, key);
	f->kind = V_BOOL;
	f->v.b = !!v;
}

void rec_set_str(record_t *r, const char *key, const char *s)
{
	char *c = xstrdup(s);  /* s may point into the field being replaced */
	field_t *f = slot(r, key);
	f->kind = V_STR;
	f->v.s = c;
}

void rec_set_tensor(record_t *r, const char *key, tensor_t *t)
{
	field_t *f = rec_get(r, key);
	if (f && f->kind == V_TENSOR && f->v.t == t)
		return;
	f = slot(r, key);
	f->kind = V_TENSOR;
	f->v.t = t;
}

void rec_set_raw(record_t *r, const char *key, const void *bytes, size_t len)
{
	char *c = memcpy(xmalloc(len), bytes, len);
	field_t *f = slot(r, key);
	f->kind = V_RAW;
	f->v.raw.bytes = c;
	f->v.raw.len = len;
}

void rec_del(record_t *r, const char *key)
{
	field_t *f = rec_get(r, key);
	size_t i;
	if (!f)
		return;
	i = (size_t)(f - r->f);
	field_clear(f);
	free(f->key);
	memmove(&r->f[i], &r->f[i + 1], (r->n - i - 1) * sizeof *r->f);
	r->n--;
}

tensor_t *rec_take_tensor(record_t *r, const char *key)
{
	field_t *f = rec_get(r, key);
	tensor_t *t;
	if (!f || f->kind != V_TENSOR)
		return NULL;
	t = f->v.t;
	f->kind = V_NIL;
	rec_del(r, key);
	return t;
}

/* "SRC: record N (ID or type): " */
static void rec_where(const record_t *r, char *buf, size_t len)
{
	const char *id = rec_str(r, "id");
	snprintf(buf, len, "%s: record %llu (%s): ", r->src ? r->src : "stream",
		 (unsigned long long)r->index, id ? id : r->type);
}

int rec_err(const record_t *r, char *err, size_t errlen, const char *fmt, ...)
{
	char where[512];
	rec_where(r, where, sizeof where);
	size_t k = strlen(where);
	if (errlen == 0)
		return -1;
	snprintf(err, errlen, "%s", where);
	if (k < errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err + k, errlen - k, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void rec_die(const record_t *r, const char *fmt, ...)
{
	char where[512], msg[1024];
	rec_where(r, where, sizeof where);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	die(EX_DATA, "%s%s", where, msg);
}

int rec_get_tensor(record_t *r, const char *key, dtype_t dt, int ndim, int need,
		   tensor_t **out, char *err, size_t errlen)
{
	field_t *f = rec_get(r, key);
	tensor_t *t, *c;
	char cerr[256], sh[128];

	*out = NULL;
	if (!f)
		return need ? rec_err(r, err, errlen, "missing tensor '%s'", key) : 0;
	if (f->kind != V_TENSOR)
		return rec_err(r, err, errlen, "'%s' is not a tensor", key);
	t = f->v.t;
	if (ndim >= 0 && t->ndim != ndim)
		return rec_err(r, err, errlen, "'%s' has shape %s, want %d dimension%s", key,
			       tensor_shape_str(t, sh, sizeof sh), ndim, ndim == 1 ? "" : "s");
	if (t->dtype != dt) {
		c = tensor_convert(t, dt, cerr, sizeof cerr);
		if (!c)
			return rec_err(r, err, errlen, "'%s' (%s): %s", key, dtype_name(t->dtype),
				       cerr);
		tensor_free(t);
		f->v.t = c;
		t = c;
	}
	*out = t;
	return 0;
}

static tensor_t *get_tensor(record_t *r, const char *key, dtype_t dt, int ndim, int need)
{
	char err[1024];
	tensor_t *t;
	if (rec_get_tensor(r, key, dt, ndim, need, &t, err, sizeof err) != 0)
		die(EX_DATA, "%s", err);
	return t;
}

tensor_t *rec_need_tensor(record_t *r, const char *key, dtype_t dt, int ndim)
{
	return get_tensor(r, key, dt, ndim, 1);
}

tensor_t *rec_opt_tensor(record_t *r, const char *key, dtype_t dt, int ndim)
{
	return get_tensor(r, key, dt, ndim, 0);
}

int64_t rec_need_int(const record_t *r, const char *key)
{
	int64_t v;
	if (!rec_int(r, key, &v))
		rec_die(r, "missing integer '%s'", key);
	return v;
}

const char *rec_need_str(const record_t *r, const char *key)
{
	const char *s = rec_str(r, key);
	if (!s)
		rec_die(r, "missing string '%s'", key);
	return s;
}

/* ---- packing ---- */

static void pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static int pack_raw_cb(msgpack_packer *pk, const void *buf, size_t len)
{
	return pk->callback(pk->data, buf, len);
}

static void pack_tensor(msgpack_packer *pk, const tensor_t *t)
{
	if (t->nbytes > UINT32_MAX)
		die(EX_DATA, "tensor of %zu bytes is too big for one record (max 4 GiB)", t->nbytes);
	msgpack_pack_map(pk, 3);
	pack_str(pk, "dtype");
	pack_str(pk, dtype_name(t->dtype));
	pack_str(pk, "shape");
	msgpack_pack_array(pk, (size_t)t->ndim);
	for (int i = 0; i < t->ndim; i++)
		msgpack_pack_int64(pk, t->shape[i]);
	pack_str(pk, "data");
	msgpack_pack_bin(pk, t->nbytes);
	msgpack_pack_bin_body(pk, t->data, t->nbytes);
}

static void pack_record(msgpack_packer *pk, const record_t *r)
{
	msgpack_pack_map(pk, r->n + 1);
	pack_str(pk, "t");
	pack_str(pk, r->type);
	for (size_t i = 0; i < r->n; i++) {
		const field_t *f = &r->f[i];
		pack_str(pk, f->key);
		switch (f->kind) {
		case V_NIL: msgpack_pack_nil(pk); break;
		case V_BOOL: f->v.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk); break;
		case V_INT: msgpack_pack_int64(pk, f->v.i); break;
		case V_FLOAT: msgpack_pack_double(pk, f->v.f); break;
		case V_STR: pack_str(pk, f->v.s); break;
		case V_TENSOR: pack_tensor(pk, f->v.t); break;
		case V_RAW: pack_raw_cb(pk, f->v.raw.bytes, f->v.raw.len); break;
		}
	}
}

void *rec_pack(const record_t *r, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	pack_record(&pk, r);
	*len = sb.size;
	return sb.data; /* malloc'd by the sbuffer */
}

/* ---- unpacking ---- */

static int key_is(const msgpack_object *k, const char *s)
{
	size_t n = strlen(s);
	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
	       memcmp(k->via.str.ptr, s, n) == 0;
}

static char *dup_str(const msgpack_object *o)
{
	char *s = xmalloc(o->via.str.size + 1);
	if (o->via.str.size)  /* msgpack-c leaves ptr NULL for "" */
		memcpy(s, o->via.str.ptr, o->via.str.size);
	s[o->via.str.size] = 0;
	return s;
}

static int raw_of(const msgpack_object *o, char **bytes, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (msgpack_pack_object(&pk, *o) != 0) {
		msgpack_sbuffer_destroy(&sb);
		return -1;
	}
	*bytes = sb.data;
	*len = sb.size;
	if (!sb.data)
		*bytes = xmalloc(1);
	return 0;
}

/* A map with exactly the keys dtype, shape, data is a tensor.  Returns
 * 1 tensor, 0 not a tensor, -1 a malformed tensor (err written). */
static int parse_tensor(const msgpack_object *o, tensor_t **out, char *err, size_t errlen)
{
	const msgpack_object *dt = NULL, *sh = NULL, *data = NULL;
	dtype_t dtype;
	int64_t shape[TENSOR_MAXDIM];
	size_t numel, nbytes;
	tensor_t *t;

	if (o->type != MSGPACK_OBJECT_MAP || o->via.map.size != 3)
		return 0;
	for (uint32_t i = 0; i < 3; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];
		if (key_is(&kv->key, "dtype")) dt = &kv->val;
		else if (key_is(&kv->key, "shape")) sh = &kv->val;
		else if (key_is(&kv->key, "data")) data = &kv->val;
	}
	if (!dt || !sh || !data)
		return 0;
	if (dt->type != MSGPACK_OBJECT_STR ||
	    dtype_parse(dt->via.str.ptr, dt->via.str.size, &dtype) != 0) {
		snprintf(err, errlen, "unknown tensor dtype");
		return -1;
	}
	if (sh->type != MSGPACK_OBJECT_ARRAY || sh->via.array.size > TENSOR_MAXDIM) {
		snprintf(err, errlen, "tensor shape is not an array of at most %d dims",
			 TENSOR_MAXDIM);
		return -1;
	}
	for (uint32_t i = 0; i < sh->via.array.size; i++) {
		const msgpack_object *d = &sh->via.array.ptr[i];
		if (d->type != MSGPACK_OBJECT_POSITIVE_INTEGER || d->via.u64 > INT64_MAX) {
			snprintf(err, errlen, "tensor shape has a negative or non-integer dim");
			return -1;
		}
		shape[i] = (int64_t)d->via.u64;
	}
	if (!shape_size(dtype, (int)sh->via.array.size, shape, &numel, &nbytes)) {
		snprintf(err, errlen, "tensor shape overflows");
		return -1;
	}
	if (data->type != MSGPACK_OBJECT_BIN || data->via.bin.size != nbytes) {
		snprintf(err, errlen, "tensor data is %llu bytes, its %s shape needs %zu",
			 data->type == MSGPACK_OBJECT_BIN ? (unsigned long long)data->via.bin.size : 0ULL,
			 dtype_name(dtype), nbytes);
		return -1;
	}
	t = xcalloc(1, sizeof *t);
	t->dtype = dtype;
	t->ndim = (int)sh->via.array.size;
	memcpy(t->shape, shape, sizeof(int64_t) * (size_t)t->ndim);
	t->numel = numel;
	t->nbytes = nbytes;
	t->data = alloc_data(nbytes);
	if (nbytes)
		memcpy(t->data, data->via.bin.ptr, nbytes);
	*out = t;
	return 1;
}

/* Convert an unpacked object to a record; NULL and err on malformed input. */
static record_t *record_of(const msgpack_object *o, char *err, size_t errlen)
{
	record_t *r;
	const msgpack_object *type = NULL;

	if (o->type != MSGPACK_OBJECT_MAP) {
		snprintf(err, errlen, "not a map");
		return NULL;
	}
	for (uint32_t i = 0; i < o->via.map.size; i++)
		if (key_is(&o->via.map.ptr[i].key, "t"))
			type = &o->via.map.ptr[i].val;
	if (!type || type->type != MSGPACK_OBJECT_STR || type->via.str.size == 0 ||
	    type->via.str.size >= sizeof r->type || memchr(type->via.str.ptr, 0, type->via.str.size)) {
		snprintf(err, errlen, "no record type (string key \"t\")");
		return NULL;
	}
	r = rec_new("");
	memcpy(r->type, type->via.str.ptr, type->via.str.size);
	r->type[type->via.str.size] = 0;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
		char *key;
		field_t *f;
		tensor_t *t = NULL;
		int rc;

		if (k->type != MSGPACK_OBJECT_STR) {
			snprintf(err, errlen, "a key is not a string");
			goto bad;
		}
		if (key_is(k, "t"))
			continue;
		key = dup_str(k);
		if (strlen(key) != k->via.str.size || rec_get(r, key)) {
			snprintf(err, errlen, "duplicate or bad key '%s'", key);
			free(key);
			goto bad;
		}
		rc = parse_tensor(v, &t, err, errlen);
		if (rc < 0) {
			size_t n = strlen(err);
			char tmp[256];
			snprintf(tmp, sizeof tmp, "'%s': %s", key, err);
			(void)n;
			snprintf(err, errlen, "%s", tmp);
			free(key);
			goto bad;
		}
		f = slot(r, key);
		free(key);
		if (rc == 1) {
			f->kind = V_TENSOR;
			f->v.t = t;
			continue;
		}
		switch (v->type) {
		case MSGPACK_OBJECT_NIL: f->kind = V_NIL; break;
		case MSGPACK_OBJECT_BOOLEAN: f->kind = V_BOOL; f->v.b = v->via.boolean; break;
		case MSGPACK_OBJECT_NEGATIVE_INTEGER: f->kind = V_INT; f->v.i = v->via.i64; break;
		case MSGPACK_OBJECT_POSITIVE_INTEGER:
			if (v->via.u64 <= INT64_MAX) {
				f->kind = V_INT;
				f->v.i = (int64_t)v->via.u64;
				break;
			}
			goto raw;
		case MSGPACK_OBJECT_FLOAT32:
		case MSGPACK_OBJECT_FLOAT64: f->kind = V_FLOAT; f->v.f = v->via.f64; break;
		case MSGPACK_OBJECT_STR:
			if (v->via.str.size && memchr(v->via.str.ptr, 0, v->via.str.size))
				goto raw;  /* ("" has a NULL ptr: no memchr) */
			f->kind = V_STR;
			f->v.s = dup_str(v);
			break;
		default:
		raw:
			if (raw_of(v, &f->v.raw.bytes, &f->v.raw.len) != 0) {
				snprintf(err, errlen, "cannot re-pack field '%s'", f->key);
				goto bad;
			}
			f->kind = V_RAW;
			break;
		}
	}
	return r;
bad:
	rec_free(r);
	return NULL;
}

/* ---- msgpack pre-scan ----
 *
 * msgpack-c allocates an array's or map's element table when it meets the
 * header, before the elements arrive: a 5-byte record "array of 4 billion
 * elements" asks for ~100 GB and ends as an out-of-memory failure (exit 3)
 * instead of a data error.  So a message is first scanned, without
 * allocating, until every byte of it is present; only then is it unpacked.
 * Every element takes at least one byte, so the tables msgpack-c builds are
 * bounded by the record's size.  The scan resumes where it stopped. */
/* msgpack-c refuses (as "out of memory") more than this many open
 * containers; the scan calls it malformed first. */
#define MPSCAN_MAXDEPTH 32

typedef struct {
	uint64_t done;     /* bytes of the message scanned */
	uint64_t skip;     /* payload bytes still to skip */
	int depth;         /* levels in left[] */
	uint64_t left[MPSCAN_MAXDEPTH + 1]; /* objects still to come per level */
} mpscan_t;

static void mpscan_reset(mpscan_t *s)
{
	s->done = 0;
	s->skip = 0;
	s->depth = 1;
	s->left[0] = 1;
}

static uint64_t be_n(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Scan buf[s->done .. len): 1 when the message is complete, 0 when more
 * bytes are needed, -1 when it nests deeper than MPSCAN_MAXDEPTH, -2 at
 * the byte 0xc1 that msgpack never uses (the unpacker would first build
 * the tables of the containers around it). */
static int mpscan(mpscan_t *s, const unsigned char *buf, size_t len)
{
	while (s->depth > 0 || s->skip > 0) {
		const unsigned char *p = buf + s->done;
		size_t avail = len - (size_t)s->done;
		unsigned c;
		int hl = 1, nb = 0;          /* header length, size bytes */
		uint64_t kids = 0, payload = 0;

		if (s->skip > 0) {
			uint64_t k = s->skip < avail ? s->skip : avail;
			s->done += k;
			s->skip -= k;
			if (s->skip > 0)
				return 0;
			continue;
		}
		if (avail == 0)
			return 0;
		c = p[0];
		if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
			hl = 1;
		} else if (c <= 0x8f) {
			kids = 2 * (uint64_t)(c & 0x0f);
		} else if (c <= 0x9f) {
			kids = c & 0x0f;
		} else if (c <= 0xbf) {
			payload = c & 0x1f;
		} else if (c == 0xc1) {
			return -2;
		} else if (c >= 0xc4 && c <= 0xc6) {
			nb = 1 << (c - 0xc4);    /* bin 8/16/32 */
		} else if (c >= 0xd9 && c <= 0xdb) {
			nb = 1 << (c - 0xd9);    /* str 8/16/32 */
		} else if (c >= 0xc7 && c <= 0xc9) {
			nb = 1 << (c - 0xc7);    /* ext 8/16/32: size, then type */
			hl = 2;
		} else if (c == 0xca) {
			hl = 5;
		} else if (c == 0xcb) {
			hl = 9;
		} else if (c >= 0xcc && c <= 0xcf) {
			hl = 1 + (1 << (c - 0xcc));
		} else if (c >= 0xd0 && c <= 0xd3) {
			hl = 1 + (1 << (c - 0xd0));
		} else if (c >= 0xd4 && c <= 0xd8) {
			hl = 2 + (1 << (c - 0xd4));  /* fixext: type, data */
		} else if (c == 0xdc || c == 0xdd) {
			nb = c == 0xdc ? 2 : 4;
		} else {                         /* 0xde, 0xdf: map 16/32 */
			nb = c == 0xde ? 2 : 4;
		}
		if (nb) {
			uint64_t n;
			if (avail < (size_t)(hl + nb))
				return 0;
			n = be_n(p + 1, nb);
			hl += nb;
			if (c == 0xdc || c == 0xdd)
				kids = n;
			else if (c == 0xde || c == 0xdf)
				kids = 2 * n;
			else
				payload = n;
		}
		if (avail < (size_t)hl)
			return 0;
		if (kids && s->depth > MPSCAN_MAXDEPTH)
			return -1;
		s->done += (uint64_t)hl;
		s->skip = payload;
		s->left[s->depth - 1]--;
		if (kids)
			s->left[s->depth++] = kids;
		while (s->depth > 0 && s->left[s->depth - 1] == 0)
			s->depth--;
	}
	return 1;
}

record_t *rec_unpack(const void *buf, size_t len, char *err, size_t errlen)
{
	msgpack_unpacked u;
	size_t off = 0;
	record_t *r;
	msgpack_unpack_return ret;

	mpscan_t sc;
	mpscan_reset(&sc);
	switch (mpscan(&sc, buf, len)) {
	case 0:
		snprintf(err, errlen, "record cut short");
		return NULL;
	case -1:
		snprintf(err, errlen, "nested deeper than %d levels", MPSCAN_MAXDEPTH);
		return NULL;
	case -2:
		snprintf(err, errlen, "malformed msgpack");
		return NULL;
	}
	msgpack_unpacked_init(&u);
	ret = msgpack_unpack_next(&u, buf, len, &off);
	if (ret != MSGPACK_UNPACK_SUCCESS) {
		snprintf(err, errlen, ret == MSGPACK_UNPACK_CONTINUE ? "record cut short" : "malformed msgpack");
		msgpack_unpacked_destroy(&u);
		return NULL;
	}
	if (off != len) {
		snprintf(err, errlen, "%zu bytes after the record", len - off);
		msgpack_unpacked_destroy(&u);
		return NULL;
	}
	r = record_of(&u.data, err, errlen);
	msgpack_unpacked_destroy(&u);
	return r;
}

/* ---- header ---- */

record_t *header_new(void)
{
	static const unsigned char empty_array = 0x90;
	record_t *h = rec_new("header");
	rec_set_str(h, "format", STREAM_FORMAT);
	rec_set_int(h, "version", STREAM_VERSION);
	rec_set_raw(h, "history", &empty_array, 1);
	return h;
}

void header_append(record_t *hdr, const char *name, int argc, char **argv)
{
	field_t *f = rec_get(hdr, "history");
	msgpack_unpacked u;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint32_t n = 0;
	const msgpack_object *old = NULL;

	msgpack_unpacked_init(&u);
	if (f && f->kind == V_RAW) {
		size_t off = 0;
		if (msgpack_unpack_next(&u, f->v.raw.bytes, f->v.raw.len, &off) == MSGPACK_UNPACK_SUCCESS &&
		    u.data.type == MSGPACK_OBJECT_ARRAY) {
			old = &u.data;
			n = u.data.via.array.size;
		}
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, n + 1);
	for (uint32_t i = 0; i < n; i++)
		msgpack_pack_object(&pk, old->via.array.ptr[i]);
	msgpack_pack_map(&pk, 3);
	pack_str(&pk, "name");
	pack_str(&pk, name);
	pack_str(&pk, "version");
	pack_str(&pk, TPU_VERSION);
	pack_str(&pk, "argv");
	msgpack_pack_array(&pk, (size_t)(argc > 0 ? argc : 0));
	for (int i = 0; i < argc; i++)
		pack_str(&pk, argv[i]);
	msgpack_unpacked_destroy(&u);
	rec_set_raw(hdr, "history", sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

/* ---- reading ---- */

#define READ_CHUNK (1u << 18)

struct sreader {
	int fd;
	int own_fd;
	char *name;
	msgpack_unpacker up;
	msgpack_unpacked res;
	uint64_t fed;       /* bytes fed to the unpacker */
	uint64_t records;   /* records returned */
	uint64_t n_graph, n_chunks, n_pred, n_configs;
	size_t max_record;
	int eof, seen_end, lax;
	/* the graph whose configs may follow, for the structural checks */
	strset_t graph_ids;
	char *cur_id;
	int64_t cur_n_configs, cur_total, cur_seen;
	int cur_hidden;          /* the graph's runtimes_hidden */
	mpscan_t scan;      /* the pre-scan of the message at up.off */
};

sreader_t *sr_open_fd(int fd, const char *name)
{
	sreader_t *sr = xcalloc(1, sizeof *sr);
	sr->fd = fd;
	sr->name = xstrdup(strcmp(name, "-") == 0 ? "stdin" : name);
	if (!msgpack_unpacker_init(&sr->up, READ_CHUNK))
		die(EX_IO, "out of memory");
	msgpack_unpacked_init(&sr->res);
	sr->max_record = (size_t)4 << 30;
	mpscan_reset(&sr->scan);
	return sr;
}

sreader_t *sr_try_open(const char *path, char *err, size_t errlen)
{
	int fd;
	sreader_t *sr;
	if (strcmp(path, "-") == 0)
		return sr_open_fd(0, "stdin");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	sr = sr_open_fd(fd, path);
	sr->own_fd = 1;
	return sr;
}

sreader_t *sr_open(const char *path)
{
	char err[1024];
	sreader_t *sr = sr_try_open(path, err, sizeof err);
	if (!sr)
		die(EX_IO, "%s", err);
	return sr;
}

void sr_close(sreader_t *sr)
{
	if (!sr)
		return;
	if (sr->own_fd)
		close(sr->fd);
	msgpack_unpacked_destroy(&sr->res);
	msgpack_unpacker_destroy(&sr->up);
	strset_free(&sr->graph_ids);
	free(sr->cur_id);
	free(sr->name);
	free(sr);
}

const char *sr_name(const sreader_t *sr) { return sr->name; }
void sr_set_max_record(sreader_t *sr, size_t bytes) { sr->max_record = bytes; }
void sr_set_lax(sreader_t *sr, int lax) { sr->lax = lax; }
uint64_t sr_records(const sreader_t *sr) { return sr->records; }

uint64_t sr_offset(const sreader_t *sr)
{
	return sr->fed - (sr->up.used - sr->up.off);
}

/* ---- structural checks: the known keys of graph, configs and pred records
 * have their documented kinds and agree with each other, so that no filter
 * passes on (or computes from) a stream that breaks the format. ---- */

/* A known key, when present, must be of kind k (V_INT: >= 0). */
static int want_kind(const record_t *r, const char *key, vkind_t k, char *err, size_t errlen)
{
	static const char *names[] = {"nil", "a boolean", "an integer", "a number", "a string",
				      "a tensor", "a map or array"};
	const field_t *f = rec_get(r, key);
	if (!f)
		return 0;
	if (f->kind != k) {
		snprintf(err, errlen, "'%s' is %s, not %s", key, names[f->kind], names[k]);
		return -1;
	}
	if (k == V_INT && f->v.i < 0) {
		snprintf(err, errlen, "'%s' is negative (%lld)", key, (long long)f->v.i);
		return -1;
	}
	return 0;
}

/* A tensor, when present, has ndim dims (-1: any), dim 0 == d0 (-1: any)
 * and dim 1 == d1 (-1: any). */
static int want_tensor(const record_t *r, const char *key, int ndim, int64_t d0, int64_t d1,
		       char *err, size_t errlen)
{
	const tensor_t *t;
	char sh[128];
	if (want_kind(r, key, V_TENSOR, err, errlen))
		return -1;
	t = rec_tensor(r, key);
	if (!t)
		return 0;
	if ((ndim >= 0 && t->ndim != ndim) || (t->ndim < 1 && (d0 >= 0 || d1 >= 0)) ||
	    (d0 >= 0 && t->shape[0] != d0) || (d1 >= 0 && (t->ndim < 2 || t->shape[1] != d1))) {
		snprintf(err, errlen, "'%s' has shape %s, which does not fit the record", key,
			 tensor_shape_str(t, sh, sizeof sh));
		return -1;
	}
	return 0;
}

/* The graph before this point got as many configs as it announced. */
static int close_graph(sreader_t *sr, char *err, size_t errlen)
{
	if (sr->cur_id && sr->cur_n_configs >= 0 && sr->cur_seen != sr->cur_n_configs) {
		snprintf(err, errlen, "graph %s announced n_configs %lld but %lld configs followed",
			 sr->cur_id, (long long)sr->cur_n_configs, (long long)sr->cur_seen);
		return -1;
	}
	free(sr->cur_id);
	sr->cur_id = NULL;
	return 0;
}

static int check_graph(sreader_t *sr, const record_t *r, char *err, size_t errlen)
{
	int64_t n = -1, m = -1;
	const char *id;
	if (close_graph(sr, err, errlen) || want_kind(r, "id", V_STR, err, errlen) ||
	    want_kind(r, "collection", V_STR, err, errlen) || want_kind(r, "split", V_STR, err, errlen) ||
	    want_kind(r, "n_nodes", V_INT, err, errlen) || want_kind(r, "n_edges", V_INT, err, errlen) ||
	    want_kind(r, "n_configs", V_INT, err, errlen) ||
	    want_kind(r, "n_configs_total", V_INT, err, errlen) ||
	    want_kind(r, "runtimes_hidden", V_BOOL, err, errlen))
		return -1;
	id = rec_str(r, "id");
	if (!id) {
		snprintf(err, errlen, "graph record without an id");
		return -1;
	}
	rec_int(r, "n_nodes", &n);
	rec_int(r, "n_edges", &m);
	if (want_tensor(r, "node_feat", 2, n, 140, err, errlen) ||
	    want_tensor(r, "node_opcode", 1, n, -1, err, errlen) ||
	    want_tensor(r, "edge_index", 2, m, 2, err, errlen) ||
	    want_tensor(r, "node_config_ids", 1, -1, -1, err, errlen))
		return -1;
	if (!strset_add(&sr->graph_ids, id)) {
		snprintf(err, errlen, "graph id %s appears twice in the stream", id);
		return -1;
	}
	sr->cur_id = xstrdup(id);
	sr->cur_seen = 0;
	if (!rec_int(r, "n_configs", &sr->cur_n_configs))
		sr->cur_n_configs = -1;
	if (!rec_int(r, "n_configs_total", &sr->cur_total))
		sr->cur_total = -1;
	sr->cur_hidden = rec_flag(r, "runtimes_hidden");
	return 0;
}

static int check_configs(sreader_t *sr, const record_t *r, char *err, size_t errlen)
{
	static const char *rows[] = {"config_feat", "node_config_feat", "node_config_code",
				     "config_runtime", "config_runtime_normalizers"};
	int64_t count, off;
	const char *id;
	const tensor_t *ix;
	if (want_kind(r, "id", V_STR, err, errlen) || want_kind(r, "count", V_INT, err, errlen) ||
	    want_kind(r, "offset", V_INT, err, errlen))
		return -1;
	id = rec_str(r, "id");
	if (!id || !rec_int(r, "count", &count)) {
		snprintf(err, errlen, "configs record without an id or a count");
		return -1;
	}
	if (!sr->cur_id) {
		snprintf(err, errlen, "configs of graph %s before its graph record", id);
		return -1;
	}
	if (strcmp(id, sr->cur_id) != 0) {
		snprintf(err, errlen, "configs of graph %s inside graph %s", id, sr->cur_id);
		return -1;
	}
	if (rec_int(r, "offset", &off) && off != sr->cur_seen) {
		snprintf(err, errlen, "offset %lld, but %lld configs of the graph came before",
			 (long long)off, (long long)sr->cur_seen);
		return -1;
	}
	if (want_tensor(r, "config_index", 1, count, -1, err, errlen))
		return -1;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		if (want_tensor(r, rows[i], -1, count, -1, err, errlen))
			return -1;
	if (want_tensor(r, "dup_offsets", 1, count + 1, -1, err, errlen))
		return -1;
	/* a hidden runtime is no runtime: a stage that trains or scores must
	 * not find zeros (or anything else) to learn from */
	if (sr->cur_hidden && (rec_get(r, "config_runtime") || rec_get(r, "config_runtime_normalizers"))) {
		snprintf(err, errlen, "graph %s has runtimes_hidden, but its configs carry runtimes", id);
		return -1;
	}
	ix = rec_tensor(r, "config_index");
	if (ix && !dtype_is_float(ix->dtype))
		for (size_t i = 0; i < ix->numel; i++) {
			int64_t c = tensor_get_i(ix, i);
			if (c < 0 || (sr->cur_total >= 0 && c >= sr->cur_total)) {
				snprintf(err, errlen, "config_index %lld out of range (the file has %lld configs)",
					 (long long)c, (long long)sr->cur_total);
				return -1;
			}
		}
	sr->cur_seen += count;
	if (sr->cur_n_configs >= 0 && sr->cur_seen > sr->cur_n_configs) {
		snprintf(err, errlen, "graph %s announced n_configs %lld, more follow", sr->cur_id,
			 (long long)sr->cur_n_configs);
		return -1;
	}
	return 0;
}

static int check_pred(const record_t *r, char *err, size_t errlen)
{
	const tensor_t *ix, *sc;
	if (want_kind(r, "id", V_STR, err, errlen) || want_tensor(r, "config_index", 1, -1, -1, err, errlen) ||
	    want_tensor(r, "score", 1, -1, -1, err, errlen))
		return -1;
	ix = rec_tensor(r, "config_index");
	sc = rec_tensor(r, "score");
	if (ix && sc && ix->numel != sc->numel) {
		snprintf(err, errlen, "%zu config indices but %zu scores", ix->numel, sc->numel);
		return -1;
	}
	return 0;
}

/* Check a record against the stream's rules and count it. */
static int check_record(sreader_t *sr, const record_t *r, char *err, size_t errlen)
{
	int64_t v;
	if (sr->records == 0) {
		const char *fmt = rec_str(r, "format");
		if (!rec_is(r, "header")) {
			snprintf(err, errlen, "first record is '%s', not a header", r->type);
			return -1;
		}
		if (!fmt || strcmp(fmt, STREAM_FORMAT) != 0) {
			snprintf(err, errlen, "header format is not \"%s\"", STREAM_FORMAT);
			return -1;
		}
		if (!rec_int(r, "version", &v) || v < 1 || v > STREAM_VERSION) {
			snprintf(err, errlen, "unsupported stream version (this program reads %d)",
				 STREAM_VERSION);
			return -1;
		}
		return 0;
	}
	if (rec_is(r, "header")) {
		snprintf(err, errlen, "a second header");
		return -1;
	}
	if (rec_is(r, "graph")) {
		if (!sr->lax && check_graph(sr, r, err, errlen))
			return -1;
		sr->n_graph++;
	} else if (rec_is(r, "configs")) {
		if (!sr->lax && check_configs(sr, r, err, errlen))
			return -1;
		sr->n_chunks++;
		if (rec_int(r, "count", &v) && v > 0)
			sr->n_configs += (uint64_t)v;
	} else if (rec_is(r, "pred")) {
		if (!sr->lax && check_pred(r, err, errlen))
			return -1;
		sr->n_pred++;
	} else if (rec_is(r, "end")) {
		if (!sr->lax && close_graph(sr, err, errlen))
			return -1;
		static const char *keys[] = {"records", "graphs", "chunks", "configs", "preds"};
		uint64_t want[] = {sr->records, sr->n_graph, sr->n_chunks, sr->n_configs, sr->n_pred};
		for (int i = 0; i < 5; i++)
			if (rec_int(r, keys[i], &v) && (uint64_t)v != want[i]) {
				snprintf(err, errlen, "end record says %s=%lld, the stream has %llu",
					 keys[i], (long long)v, (unsigned long long)want[i]);
				return -1;
			}
		sr->seen_end = 1;
	}
	return 0;
}

int sr_read(sreader_t *sr, record_t **out, char *err, size_t errlen)
{
	*out = NULL;
	for (;;) {
		uint64_t start = sr_offset(sr);
		msgpack_unpack_return ret = MSGPACK_UNPACK_CONTINUE;
		int sc = mpscan(&sr->scan, (const unsigned char *)sr->up.buffer + sr->up.off,
				sr->up.used - sr->up.off);
		if (sc == -1) {
			snprintf(err, errlen, "%s: record %llu (byte offset %llu): malformed: "
				 "nested deeper than %d levels", sr->name,
				 (unsigned long long)sr->records, (unsigned long long)start,
				 MPSCAN_MAXDEPTH);
			return SR_EDATA;
		}
		if (sc == -2)
			ret = MSGPACK_UNPACK_PARSE_ERROR;
		if (sc > 0) {
			mpscan_reset(&sr->scan);
			ret = msgpack_unpacker_next(&sr->up, &sr->res);
			if (ret == MSGPACK_UNPACK_CONTINUE)  /* cannot be, once scanned */
				ret = MSGPACK_UNPACK_PARSE_ERROR;
		}
		if (ret == MSGPACK_UNPACK_SUCCESS) {
			char why[512];
			record_t *r;
			if (sr->seen_end) {
				snprintf(err, errlen, "%s: data after the end record (byte offset %llu)",
					 sr->name, (unsigned long long)start);
				return SR_EDATA;
			}
			r = record_of(&sr->res.data, why, sizeof why);
			if (!r) {
				snprintf(err, errlen, "%s: record %llu (byte offset %llu): malformed: %s",
					 sr->name, (unsigned long long)sr->records,
					 (unsigned long long)start, why);
				return SR_EDATA;
			}
			r->src = sr->name;
			r->index = sr->records;
			r->offset = start;
			if (check_record(sr, r, why, sizeof why) != 0) {
				snprintf(err, errlen, "%s: record %llu (byte offset %llu): %s", sr->name,
					 (unsigned long long)sr->records, (unsigned long long)start, why);
				rec_free(r);
				return SR_EDATA;
			}
			sr->records++;
			msgpack_unpacked_destroy(&sr->res);
			msgpack_unpacked_init(&sr->res);
			*out = r;
			return SR_OK;
		}
		if (ret == MSGPACK_UNPACK_PARSE_ERROR) {
			snprintf(err, errlen, "%s: record %llu (byte offset %llu): malformed msgpack",
				 sr->name, (unsigned long long)sr->records, (unsigned long long)start);
			return SR_EDATA;
		}
		if (ret == MSGPACK_UNPACK_NOMEM_ERROR) {
			snprintf(err, errlen, "%s: out of memory", sr->name);
			return SR_EIO;
		}
		/* CONTINUE: need more bytes */
		if (sr->scan.done > sr->max_record) {
			snprintf(err, errlen, "%s: record %llu (byte offset %llu): larger than %zu bytes",
				 sr->name, (unsigned long long)sr->records, (unsigned long long)start,
				 sr->max_record);
			return SR_EDATA;
		}
		if (sr->eof) {
			if (sr->up.used > sr->up.off || msgpack_unpacker_message_size(&sr->up) > 0) {
				snprintf(err, errlen,
					 "%s: truncated stream: record %llu cut off at byte offset %llu",
					 sr->name, (unsigned long long)sr->records,
					 (unsigned long long)sr->fed);
				return SR_EDATA;
			}
			if (sr->fed == 0) {  /* nothing at all: not a cut-off stream */
				snprintf(err, errlen, "%s: empty input (no header record)", sr->name);
				return SR_EDATA;
			}
			if (!sr->seen_end) {
				snprintf(err, errlen,
					 "%s: truncated stream: no end record after %llu records (byte offset %llu)",
					 sr->name, (unsigned long long)sr->records,
					 (unsigned long long)sr->fed);
				return SR_EDATA;
			}
			return SR_DONE;
		}
		if (msgpack_unpacker_buffer_capacity(&sr->up) < READ_CHUNK / 4 &&
		    !msgpack_unpacker_reserve_buffer(&sr->up, READ_CHUNK)) {
			snprintf(err, errlen, "%s: out of memory", sr->name);
			return SR_EIO;
		}
		ssize_t n;
		do
			n = read(sr->fd, msgpack_unpacker_buffer(&sr->up),
				 msgpack_unpacker_buffer_capacity(&sr->up));
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			snprintf(err, errlen, "%s: read error: %s", sr->name, strerror(errno));
			return SR_EIO;
		}
		if (n == 0)
			sr->eof = 1;
		msgpack_unpacker_buffer_consumed(&sr->up, (size_t)n);
		sr->fed += (uint64_t)n;
	}
}

record_t *sr_next(sreader_t *sr)
{
	char err[1024];
	record_t *r;
	int rc = sr_read(sr, &r, err, sizeof err);
	if (rc == SR_OK)
		return r;
	if (rc == SR_DONE)
		return NULL;
	die(rc == SR_EIO ? EX_IO : EX_DATA, "%s", err);
}

/* ---- writing ---- */

#define WBUF (1u << 20)

struct swriter {
	int fd;
	char *name;
	char *buf;
	size_t len;
	uint64_t records, n_graph, n_chunks, n_pred, n_configs;
	msgpack_packer pk;
};

static void sw_flush(swriter_t *sw)
{
	size_t off = 0;
	while (off < sw->len) {
		ssize_t n = write(sw->fd, sw->buf + off, sw->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			edie(EX_IO, "%s: write error", sw->name);
		off += (size_t)n;
	}
	sw->len = 0;
}

static int sw_cb(void *data, const char *p, size_t n)
{
	swriter_t *sw = data;
	if (sw->len + n > WBUF) {
		sw_flush(sw);
		if (n >= WBUF) {  /* big payloads go straight out */
			size_t off = 0;
			while (off < n) {
				ssize_t k = write(sw->fd, p + off, n - off);
				if (k < 0 && errno == EINTR)
					continue;
				if (k < 0)
					edie(EX_IO, "%s: write error", sw->name);
				off += (size_t)k;
			}
			return 0;
		}
	}
	memcpy(sw->buf + sw->len, p, n);
	sw->len += n;
	return 0;
}

swriter_t *sw_open_fd(int fd, const char *name)
{
	swriter_t *sw = xcalloc(1, sizeof *sw);
	signal(SIGPIPE, SIG_IGN);
	sw->fd = fd;
	sw->name = xstrdup(name);
	sw->buf = xmalloc(WBUF);
	msgpack_packer_init(&sw->pk, sw, sw_cb);
	return sw;
}

void sw_write(swriter_t *sw, const record_t *r)
{
	int64_t v;
	pack_record(&sw->pk, r);
	sw->records++;
	if (rec_is(r, "graph"))
		sw->n_graph++;
	else if (rec_is(r, "configs")) {
		sw->n_chunks++;
		if (rec_int(r, "count", &v) && v > 0)
			sw->n_configs += (uint64_t)v;
	} else if (rec_is(r, "pred"))
		sw->n_pred++;
}

void sw_end(swriter_t *sw)
{
	record_t *e = rec_new("end");
	rec_set_int(e, "records", (int64_t)sw->records);
	rec_set_int(e, "graphs", (int64_t)sw->n_graph);
	rec_set_int(e, "chunks", (int64_t)sw->n_chunks);
	rec_set_int(e, "configs", (int64_t)sw->n_configs);
	rec_set_int(e, "preds", (int64_t)sw->n_pred);
	sw_write(sw, e);
	rec_free(e);
	sw_flush(sw);
}

void sw_release(swriter_t *sw)
{
	if (!sw)
		return;
	sw_flush(sw);
	free(sw->buf);
	free(sw->name);
	free(sw);
}

void stream_refuse_tty(int fd, int force, const char *force_opt)
{
	if (!force && isatty(fd))
		die(EX_USAGE, "refusing to write a binary stream to a terminal (use %s to force, "
		    "or redirect it: > FILE, | mp-dump)", force_opt);
}

void sw_close(swriter_t *sw)
{
	if (!sw)
		return;
	sw_flush(sw);
	if (sw->fd > 2 && close(sw->fd) != 0)
		edie(EX_IO, "%s: close error", sw->name);
	free(sw->buf);
	free(sw->name);
	free(sw);
}

/* ---- the common loop ---- */

void stream_filter(const char *path, int argc, char **argv, const stream_hooks_t *h)
{
	sreader_t *sr = sr_open(path);
	swriter_t *sw = sw_open_fd(1, "stdout");
	record_t *r = sr_next(sr);  /* the reader makes sure it is a header */

	if (h->begin)
		h->begin(r, sr_name(sr), h->ctx);
	header_append(r, argv0, argc, argv);
	sw_write(sw, r);
	rec_free(r);
	while ((r = sr_next(sr))) {
		int what = rec_is(r, "end") ? SF_DROP : h->record ? h->record(r, sw, h->ctx) : SF_WRITE;
		if (what == SF_WRITE)
			sw_write(sw, r);
		if (what != SF_KEPT)
			rec_free(r);
	}
	if (h->end)
		h->end(sw, h->ctx);
	sw_end(sw);
	sw_close(sw);
	sr_close(sr);
}
