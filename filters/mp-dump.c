/* mp-dump: show a record stream as JSON, one object per record.
 *
 * Every field of every record is printed, "t" first.  Tensors are summarised
 * as {dtype, shape, min, max, mean} (with "nan"/"inf" counts when there are
 * any), or printed whole with --full.  Fields kept as packed msgpack (maps,
 * arrays, bins: the header's history, unknown keys) are unpacked and printed
 * as JSON.  A stream that is cut off or has no end record is printed as far
 * as it could be read, then the reader's error goes to stderr (exit 1). */
#include "err.h"
#include "json.h"
#include "stream.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <locale.h>
#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_line[] =
	"usage: mp-dump [-acfhopV] [-t TYPE[,TYPE]...] [-i GLOB] [-n N] [FILE]...\n";

static const char help_text[] =
	"\n"
	"Print each record of a stream as one JSON object per line (\"t\" first).\n"
	"Reads the FILEs in turn, or stdin when there is none or FILE is -.\n"
	"\n"
	"  -t, --type TYPE[,TYPE]  only records of these types (header, graph, configs,\n"
	"                          pred, end, ...); repeatable\n"
	"  -i, --id GLOB           only records whose id matches the shell pattern GLOB\n"
	"                          (fnmatch; repeatable: any may match); records\n"
	"                          without an id (header, end) are left out\n"
	"  -n, --head N            stop after the first N matching records (the rest\n"
	"                          of the stream is not read, nor checked)\n"
	"  -f, --full              print tensors whole: {dtype, shape, data} with data\n"
	"                          nested by shape; bins in raw fields as base64\n"
	"  -c, --count             print a table of matching records by type, with\n"
	"                          their configs, instead of the records\n"
	"  -p, --pretty            indent the JSON (2 spaces; short arrays stay on a line)\n"
	"  -a, --ascii             escape every non-ASCII character as \\uXXXX\n"
	"  -o, --offsets           add \"_record\" (index in its stream) and \"_offset\"\n"
	"                          (byte offset) after \"t\"\n"
	"  -h, --help              show this help and exit\n"
	"  -V, --version           show the version and exit\n"
	"\n"
	"Tensors are summarised as {\"dtype\", \"shape\", \"min\", \"max\", \"mean\"}: min and\n"
	"max over the values that are not NaN, the mean over the finite ones, and\n"
	"\"nan\"/\"inf\" counts when there are any; null when there is nothing to take\n"
	"them over.  NaN and infinities are written as the strings \"NaN\",\n"
	"\"Infinity\", \"-Infinity\".  Bins print as {\"bin\": NBYTES}.\n"
	"\n"
	"Exit status: 0 ok, 1 bad or truncated stream, 2 bad usage, 3 I/O error.\n";

struct opts {
	int ascii, count, full, offsets, pretty;
	long long head;          /* -1: no limit */
	char **types;            /* record types to keep; none: all */
	size_t ntypes;
	char **ids;              /* id globs; none: all */
	size_t nids;
};

static void add_types(struct opts *o, const char *arg)
{
	const char *p = arg;
	for (;;) {
		size_t n = strcspn(p, ",");
		if (n == 0 || n >= sizeof ((record_t *)0)->type)
			usage_error("--type: bad record type in '%s' (want names like graph,configs)",
			    arg);
		o->types = xreallocarray(o->types, o->ntypes + 1, sizeof *o->types);
		o->types[o->ntypes] = xmalloc(n + 1);
		memcpy(o->types[o->ntypes], p, n);
		o->types[o->ntypes++][n] = '\0';
		if (!p[n])
			break;
		p += n + 1;
	}
}

static int wanted(const struct opts *o, const record_t *r)
{
	size_t i;
	int ok = o->ntypes == 0;
	for (i = 0; i < o->ntypes && !ok; i++)
		ok = strcmp(o->types[i], r->type) == 0;
	if (!ok)
		return 0;
	if (o->nids) {
		const char *id = rec_str(r, "id");
		if (!id)
			return 0;
		for (i = 0; i < o->nids; i++)
			if (fnmatch(o->ids[i], id, 0) == 0)
				return 1;
		return 0;
	}
	return 1;
}

/* ---- tensors ---- */

/* A tensor seen in place: a record's tensor or a tensor map inside a raw
 * field.  Elements are read with memcpy (the bytes need not be aligned). */
typedef struct {
	dtype_t dt;
	int ndim;
	int64_t shape[TENSOR_MAXDIM];
	size_t numel;
	const unsigned char *data;
} tview_t;

static double get_f(const tview_t *t, size_t i)
{
	if (t->dt == DT_F32) {
		float f;
		memcpy(&f, t->data + 4 * i, 4);
		return f;
	} else {
		double d;
		memcpy(&d, t->data + 8 * i, 8);
		return d;
	}
}

static int64_t get_i(const tview_t *t, size_t i)
{
	const unsigned char *p = t->data + i * dtype_size(t->dt);
	int8_t a;
	int16_t b;
	int32_t c;
	int64_t d;
	switch (t->dt) {
	case DT_I8: memcpy(&a, p, 1); return a;
	case DT_I16: memcpy(&b, p, 2); return b;
	case DT_I32: memcpy(&c, p, 4); return c;
	default: memcpy(&d, p, 8); return d;
	}
}

static uint64_t get_u(const tview_t *t, size_t i)
{
	const unsigned char *p = t->data + i * dtype_size(t->dt);
	uint16_t b;
	uint32_t c;
	uint64_t d;
	switch (t->dt) {
	case DT_U8: case DT_BOOL: return *p;
	case DT_U16: memcpy(&b, p, 2); return b;
	case DT_U32: memcpy(&c, p, 4); return c;
	default: memcpy(&d, p, 8); return d;
	}
}

static int is_signed(dtype_t dt)
{
	return dt == DT_I8 || dt == DT_I16 || dt == DT_I32 || dt == DT_I64;
}

static void put_elem(json_t *j, const tview_t *t, size_t i)
{
	if (t->dt == DT_F32)
		json_f32(j, (float)get_f(t, i));
	else if (t->dt == DT_F64)
		json_f64(j, get_f(t, i));
	else if (t->dt == DT_BOOL)
		json_bool(j, get_u(t, i) != 0);
	else if (is_signed(t->dt))
		json_int(j, get_i(t, i));
	else
		json_uint(j, get_u(t, i));
}

/* Nested arrays along dims d..ndim-1 starting at flat index *i. */
static void put_nested(json_t *j, const tview_t *t, int d, size_t *i)
{
	int64_t k;
	json_arr_begin(j, d == t->ndim - 1);
	for (k = 0; k < t->shape[d]; k++) {
		if (d == t->ndim - 1)
			put_elem(j, t, (*i)++);
		else
			put_nested(j, t, d + 1, i);
	}
	json_arr_end(j);
}

static void put_shape(json_t *j, const tview_t *t)
{
	int d;
	json_key(j, "shape");
	json_arr_begin(j, 1);
	for (d = 0; d < t->ndim; d++)
		json_int(j, t->shape[d]);
	json_arr_end(j);
}

/* min, max (not NaN), mean (finite), NaN and infinity counts of a float
 * tensor; the mean with Neumaier's compensated sum. */
static void summary_float(json_t *j, const tview_t *t)
{
	size_t i, nan = 0, inf = 0, fin = 0;
	double lo = INFINITY, hi = -INFINITY, s = 0, c = 0;
	for (i = 0; i < t->numel; i++) {
		double v = get_f(t, i), u;
		if (isnan(v)) {
			nan++;
			continue;
		}
		if (v < lo)
			lo = v;
		if (v > hi)
			hi = v;
		if (isinf(v)) {
			inf++;
			continue;
		}
		fin++;
		u = s + v;
		c += fabs(s) >= fabs(v) ? (s - u) + v : (v - u) + s;
		s = u;
	}
	json_key(j, "min");
	if (nan == t->numel)
		json_null(j);
	else if (t->dt == DT_F32)
		json_f32(j, (float)lo);
	else
		json_f64(j, lo);
	json_key(j, "max");
	if (nan == t->numel)
		json_null(j);
	else if (t->dt == DT_F32)
		json_f32(j, (float)hi);
	else
		json_f64(j, hi);
	json_key(j, "mean");
	if (fin)
		json_f64(j, (s + c) / (double)fin);
	else
		json_null(j);
	if (nan) {
		json_key(j, "nan");
		json_uint(j, nan);
	}
	if (inf) {
		json_key(j, "inf");
		json_uint(j, inf);
	}
}

static void summary_int(json_t *j, const tview_t *t)
{
	size_t i;
	long double s = 0;   /* 64-bit mantissa: each int64 is exact */
	if (t->numel == 0) {
		json_key(j, "min");
		json_null(j);
		json_key(j, "max");
		json_null(j);
		json_key(j, "mean");
		json_null(j);
		return;
	}
	if (is_signed(t->dt)) {
		int64_t lo = INT64_MAX, hi = INT64_MIN;
		for (i = 0; i < t->numel; i++) {
			int64_t v = get_i(t, i);
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
			s += (long double)v;
		}
		json_key(j, "min");
		json_int(j, lo);
		json_key(j, "max");
		json_int(j, hi);
	} else {
		uint64_t lo = UINT64_MAX, hi = 0;
		for (i = 0; i < t->numel; i++) {
			uint64_t v = get_u(t, i);
			if (t->dt == DT_BOOL)
				v = v != 0;
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
			s += (long double)v;
		}
		json_key(j, "min");
		if (t->dt == DT_BOOL)
			json_bool(j, (int)lo);
		else
			json_uint(j, lo);
		json_key(j, "max");
		if (t->dt == DT_BOOL)
			json_bool(j, (int)hi);
		else
			json_uint(j, hi);
	}
	json_key(j, "mean");
	json_f64(j, (double)(s / (long double)t->numel));
}

static void put_tensor(json_t *j, const tview_t *t, const struct opts *o)
{
	json_obj_begin(j, !o->full || t->ndim <= 1);
	json_key(j, "dtype");
	json_str(j, dtype_name(t->dt));
	put_shape(j, t);
	if (o->full) {
		size_t i = 0;
		json_key(j, "data");
		if (t->ndim == 0)
			put_elem(j, t, 0);
		else
			put_nested(j, t, 0, &i);
	} else if (dtype_is_float(t->dt)) {
		summary_float(j, t);
	} else {
		summary_int(j, t);
	}
	json_obj_end(j);
}

/* ---- raw fields: packed msgpack ---- */

static int key_is(const msgpack_object *k, const char *s)
{
	size_t n = strlen(s);
	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
	       memcmp(k->via.str.ptr, s, n) == 0;
}

/* A map {dtype, shape, data} that the stream library would read as a
 * tensor; 1 and *t filled if so. */
static int as_tensor(const msgpack_object *o, tview_t *t)
{
	const msgpack_object *dt = NULL, *sh = NULL, *data = NULL;
	size_t numel = 1, nbytes;
	uint32_t i;

	if (o->type != MSGPACK_OBJECT_MAP || o->via.map.size != 3)
		return 0;
	for (i = 0; i < 3; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];
		if (key_is(&kv->key, "dtype"))
			dt = &kv->val;
		else if (key_is(&kv->key, "shape"))
			sh = &kv->val;
		else if (key_is(&kv->key, "data"))
			data = &kv->val;
	}
	if (!dt || !sh || !data || dt->type != MSGPACK_OBJECT_STR ||
	    dtype_parse(dt->via.str.ptr, dt->via.str.size, &t->dt) != 0 ||
	    sh->type != MSGPACK_OBJECT_ARRAY || sh->via.array.size > TENSOR_MAXDIM ||
	    data->type != MSGPACK_OBJECT_BIN)
		return 0;
	t->ndim = (int)sh->via.array.size;
	for (i = 0; i < sh->via.array.size; i++) {
		const msgpack_object *d = &sh->via.array.ptr[i];
		if (d->type != MSGPACK_OBJECT_POSITIVE_INTEGER || d->via.u64 > INT64_MAX ||
		    !mul_ok(numel, (size_t)d->via.u64, &numel))
			return 0;
		t->shape[i] = (int64_t)d->via.u64;
	}
	if (!mul_ok(numel, dtype_size(t->dt), &nbytes) || nbytes != data->via.bin.size)
		return 0;
	t->numel = numel;
	t->data = (const unsigned char *)data->via.bin.ptr;
	return 1;
}

static int is_container(const msgpack_object *o)
{
	return o->type == MSGPACK_OBJECT_ARRAY || o->type == MSGPACK_OBJECT_MAP;
}

static void put_object(json_t *j, const msgpack_object *o, const struct opts *op);

/* JSON keys are strings: a key of another kind is written as the text of
 * its one-line JSON ({1: "a"} reads as {"1": "a"}). */
static void put_key(json_t *j, const msgpack_object *k, const struct opts *op)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *fp;
	json_t kj;

	if (k->type == MSGPACK_OBJECT_STR) {
		json_keyn(j, k->via.str.ptr, k->via.str.size);
		return;
	}
	fp = open_memstream(&buf, &n);
	if (!fp)
		edie(EX_IO, "open_memstream");
	json_init(&kj, fp, 0, op->ascii);
	put_object(&kj, k, op);
	json_free(&kj);
	if (fclose(fp) != 0)
		edie(EX_IO, "open_memstream");
	json_keyn(j, buf, n);
	free(buf);
}

static void put_bin(json_t *j, const char *key, int64_t type, const void *p, size_t n,
		    const struct opts *op)
{
	json_obj_begin(j, 1);
	if (key) {
		json_key(j, key);
		json_int(j, type);
	}
	json_key(j, "bin");
	json_uint(j, n);
	if (op->full) {
		json_key(j, "base64");
		json_base64(j, p, n);
	}
	json_obj_end(j);
}

static void put_object(json_t *j, const msgpack_object *o, const struct opts *op)
{
	uint32_t i;
	int flat = 1;
	tview_t t;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL: json_null(j); break;
	case MSGPACK_OBJECT_BOOLEAN: json_bool(j, o->via.boolean); break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: json_uint(j, o->via.u64); break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: json_int(j, o->via.i64); break;
	case MSGPACK_OBJECT_FLOAT32: json_f32(j, (float)o->via.f64); break;
	case MSGPACK_OBJECT_FLOAT64: json_f64(j, o->via.f64); break;
	case MSGPACK_OBJECT_STR: json_strn(j, o->via.str.ptr, o->via.str.size); break;
	case MSGPACK_OBJECT_BIN: put_bin(j, NULL, 0, o->via.bin.ptr, o->via.bin.size, op); break;
	case MSGPACK_OBJECT_EXT:
		put_bin(j, "ext", o->via.ext.type, o->via.ext.ptr, o->via.ext.size, op);
		break;
	case MSGPACK_OBJECT_ARRAY:
		for (i = 0; i < o->via.array.size && flat; i++)
			flat = !is_container(&o->via.array.ptr[i]);
		json_arr_begin(j, flat);
		for (i = 0; i < o->via.array.size; i++)
			put_object(j, &o->via.array.ptr[i], op);
		json_arr_end(j);
		break;
	case MSGPACK_OBJECT_MAP:
		if (as_tensor(o, &t)) {
			put_tensor(j, &t, op);
			break;
		}
		for (i = 0; i < o->via.map.size && flat; i++)
			flat = !is_container(&o->via.map.ptr[i].val);
		json_obj_begin(j, flat);
		for (i = 0; i < o->via.map.size; i++) {
			put_key(j, &o->via.map.ptr[i].key, op);
			put_object(j, &o->via.map.ptr[i].val, op);
		}
		json_obj_end(j);
		break;
	default:
		json_null(j);
	}
}

static void put_raw(json_t *j, const record_t *r, const field_t *f, const struct opts *op)
{
	msgpack_unpacked u;
	size_t off = 0;

	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, f->v.raw.bytes, f->v.raw.len, &off) != MSGPACK_UNPACK_SUCCESS) {
		fflush(stdout);
		rec_die(r, "field '%s': cannot unpack its msgpack", f->key);
	}
	put_object(j, &u.data, op);
	msgpack_unpacked_destroy(&u);
}

/* ---- records ---- */

static void put_record(json_t *j, const record_t *r, const struct opts *op)
{
	size_t i;

	json_obj_begin(j, 0);
	json_key(j, "t");
	json_str(j, r->type);
	if (op->offsets) {
		json_key(j, "_record");
		json_uint(j, r->index);
		json_key(j, "_offset");
		json_uint(j, r->offset);
	}
	for (i = 0; i < r->n; i++) {
		const field_t *f = &r->f[i];
		json_key(j, f->key);
		switch (f->kind) {
		case V_NIL: json_null(j); break;
		case V_BOOL: json_bool(j, f->v.b); break;
		case V_INT: json_int(j, f->v.i); break;
		case V_FLOAT: json_f64(j, f->v.f); break;
		case V_STR: json_str(j, f->v.s); break;
		case V_TENSOR: {
			tview_t t;
			t.dt = f->v.t->dtype;
			t.ndim = f->v.t->ndim;
			memcpy(t.shape, f->v.t->shape, sizeof t.shape);
			t.numel = f->v.t->numel;
			t.data = f->v.t->data;
			put_tensor(j, &t, op);
			break;
		}
		case V_RAW: put_raw(j, r, f, op); break;
		default: json_null(j);
		}
	}
	json_obj_end(j);
	json_newline(j);
}

/* ---- --count ---- */

struct tally {
	char type[16];
	uint64_t records, configs;
	int has_configs;
};

struct counts {
	struct tally *t;
	size_t n;
};

static struct tally *tally_of(struct counts *c, const char *type)
{
	size_t i;
	for (i = 0; i < c->n; i++)
		if (strcmp(c->t[i].type, type) == 0)
			return &c->t[i];
	c->t = xreallocarray(c->t, c->n + 1, sizeof *c->t);
	memset(&c->t[c->n], 0, sizeof *c->t);
	snprintf(c->t[c->n].type, sizeof c->t[c->n].type, "%s", type);
	return &c->t[c->n++];
}

static void counts_init(struct counts *c)
{
	static const char *known[] = {"header", "graph", "configs", "pred", "end"};
	size_t i;
	c->t = NULL;
	c->n = 0;
	for (i = 0; i < 5; i++)
		tally_of(c, known[i])->has_configs = i == 1 || i == 2 || i == 3;
}

/* graph: its n_configs; configs: its count; pred: its scores. */
static void count_record(struct counts *c, const record_t *r)
{
	struct tally *t = tally_of(c, r->type);
	int64_t v;
	t->records++;
	if (rec_is(r, "graph") && rec_int(r, "n_configs", &v) && v > 0)
		t->configs += (uint64_t)v;
	else if (rec_is(r, "configs") && rec_int(r, "count", &v) && v > 0)
		t->configs += (uint64_t)v;
	else if (rec_is(r, "pred")) {
		field_t *f = rec_get(r, "score");
		if (f && f->kind == V_TENSOR)
			t->configs += f->v.t->numel;
	}
}

static void counts_print(const struct counts *c)
{
	uint64_t total = 0, configs = 0;
	size_t i;
	printf("%-10s %12s %12s\n", "type", "records", "configs");
	for (i = 0; i < c->n; i++) {
		const struct tally *t = &c->t[i];
		total += t->records;
		if (strcmp(t->type, "configs") == 0)
			configs = t->configs;
		if (t->has_configs)
			printf("%-10s %12llu %12llu\n", t->type, (unsigned long long)t->records,
			       (unsigned long long)t->configs);
		else
			printf("%-10s %12llu %12s\n", t->type, (unsigned long long)t->records, "-");
	}
	printf("%-10s %12llu %12llu\n", "total", (unsigned long long)total,
	       (unsigned long long)configs);
}

/* ---- main ---- */

/* Dump one stream; returns 0, or the exit status of its error (reported).
 * *left counts down the --head budget (-1: none). */
static int dump(const char *path, json_t *j, const struct opts *op, struct counts *c,
		long long *left)
{
	char err[1024];
	sreader_t *sr;
	record_t *r;
	int fd = 0, rc, status = 0;

	if (strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fflush(stdout);
			warnx("%s: %s", path, strerror(errno));
			return EX_IO;
		}
	}
	sr = sr_open_fd(fd, path);
	sr_set_lax(sr, 1);  /* a viewer shows what breaks the record rules too */
	while (*left != 0 && (rc = sr_read(sr, &r, err, sizeof err)) != SR_DONE) {
		if (rc != SR_OK) {
			fflush(stdout);
			warnx("%s", err);
			status = rc == SR_EIO ? EX_IO : EX_DATA;
			break;
		}
		if (wanted(op, r)) {
			if (op->count)
				count_record(c, r);
			else
				put_record(j, r, op);
			if (*left > 0)
				--*left;
		}
		rec_free(r);
		if (ferror(stdout))
			edie(EX_IO, "stdout: write error");
	}
	sr_close(sr);
	if (strcmp(path, "-") != 0)
		close(fd);
	return status;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"ascii", no_argument, NULL, 'a'},
		{"count", no_argument, NULL, 'c'},
		{"full", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"head", required_argument, NULL, 'n'},
		{"id", required_argument, NULL, 'i'},
		{"offsets", no_argument, NULL, 'o'},
		{"pretty", no_argument, NULL, 'p'},
		{"type", required_argument, NULL, 't'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {.head = -1};
	struct counts c;
	json_t j;
	long long left;
	int ch, i, status = 0;
	static char *stdin_only[] = {"-"};
	char **files;
	int nfiles;

	setprogname_argv(argv);
	usage_init(usage_line);
	setlocale(LC_CTYPE, "");   /* --id: '?' matches a character, not a byte */
	opterr = 0;   /* our own messages, "mp-dump: ..." */
	while ((ch = getopt_long(argc, argv, ":acfhi:n:opt:V", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a': o.ascii = 1; break;
		case 'c': o.count = 1; break;
		case 'f': o.full = 1; break;
		case 'h': usage_help(help_text);
		case 'i':
			o.ids = xreallocarray(o.ids, o.nids + 1, sizeof *o.ids);
			o.ids[o.nids++] = optarg;
			break;
		case 'n': o.head = parse_ll("--head", optarg, 0, INT64_MAX); break;
		case 'o': o.offsets = 1; break;
		case 'p': o.pretty = 1; break;
		case 't': add_types(&o, optarg); break;
		case 'V': print_version();
		case ':':
			usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				usage_error("unknown option '-%c'", optopt);
			usage_error("unknown or ambiguous option '%s'", argv[optind - 1]);
		}
	}
	files = optind < argc ? argv + optind : stdin_only;
	nfiles = optind < argc ? argc - optind : 1;

	json_init(&j, stdout, o.pretty ? 2 : 0, o.ascii);
	counts_init(&c);
	left = o.head;
	for (i = 0; i < nfiles && left != 0; i++) {
		int s = dump(files[i], &j, &o, &c, &left);
		if (s > status)
			status = s;
	}
	if (o.count)
		counts_print(&c);
	json_free(&j);
	free(c.t);
	for (size_t k = 0; k < o.ntypes; k++)
		free(o.types[k]);
	free(o.types);
	free(o.ids);
	close_stdout();
	return status;
}
