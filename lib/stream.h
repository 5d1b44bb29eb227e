/* stream: the records that flow between filters, over msgpack-c.
 *
 * A stream is a sequence of msgpack maps, each with a string key "t":
 * header, graph, configs, pred, end (docs/stream-format.md is the contract).
 * A record is held as an ordered list of fields.  Fields the program does not
 * understand are kept as raw msgpack bytes and written back untouched.
 *
 * Tensors are maps {dtype, shape, data}; data is a bin of little-endian,
 * row-major values.  In memory a tensor owns a malloc'd, aligned buffer. */
#ifndef TPU_STREAM_H
#define TPU_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define STREAM_FORMAT "tpugraphs-mp"
#define STREAM_VERSION 1

/* ---- tensors ---- */

typedef enum {
	DT_F32, DT_F64, DT_I8, DT_I16, DT_I32, DT_I64,
	DT_U8, DT_U16, DT_U32, DT_U64, DT_BOOL, DT__N
} dtype_t;

size_t dtype_size(dtype_t dt);
const char *dtype_name(dtype_t dt);  /* "f32", "i64", "u8", "bool" ... */
int dtype_parse(const char *s, size_t len, dtype_t *out); /* 0 ok, -1 unknown */
int dtype_is_float(dtype_t dt);

#define TENSOR_MAXDIM 8

typedef struct {
	dtype_t dtype;
	int ndim;
	int64_t shape[TENSOR_MAXDIM];
	size_t numel;    /* product of shape */
	size_t nbytes;   /* numel * dtype_size */
	void *data;      /* owned; little-endian (the host is little-endian) */
	int borrowed;    /* data is someone else's (a mapped file): tensor_free
			  * leaves it, and nothing may write or realloc it */
} tensor_t;

/* New zeroed tensor; dies (EX_DATA) if the size overflows. */
tensor_t *tensor_new(dtype_t dt, int ndim, const int64_t *shape);
/* Same, with the data left uninitialised (the caller fills every byte). */
tensor_t *tensor_new_uninit(dtype_t dt, int ndim, const int64_t *shape);
tensor_t *tensor_new1(dtype_t dt, int64_t d0);
tensor_t *tensor_new2(dtype_t dt, int64_t d0, int64_t d1);
tensor_t *tensor_new3(dtype_t dt, int64_t d0, int64_t d1, int64_t d2);
tensor_t *tensor_dup(const tensor_t *t);
void tensor_free(tensor_t *t);
/* Element i (flat index) read as double / int64, whatever the dtype. */
double tensor_get_f(const tensor_t *t, size_t i);
int64_t tensor_get_i(const tensor_t *t, size_t i);
/* Convert to another dtype.  Integer targets refuse values out of range and
 * non-integral or non-finite floats; returns NULL and writes err. */
tensor_t *tensor_convert(const tensor_t *t, dtype_t to, char *err, size_t errlen);
/* "(3, 140)" into buf. */
const char *tensor_shape_str(const tensor_t *t, char *buf, size_t n);

/* ---- records ---- */

typedef enum { V_NIL, V_BOOL, V_INT, V_FLOAT, V_STR, V_TENSOR, V_RAW } vkind_t;

typedef struct {
	char *key;
	vkind_t kind;
	union {
		int b;
		int64_t i;
		double f;
		char *s;
		tensor_t *t;
		struct { char *bytes; size_t len; } raw; /* one packed msgpack object */
	} v;
} field_t;

typedef struct {
	char type[16];      /* "header", "graph", "configs", "pred", "end", ... */
	field_t *f;
	size_t n, cap;
	/* provenance, for messages (set by the reader) */
	const char *src;    /* stream name */
	uint64_t index;     /* record index in the stream, from 0 */
	uint64_t offset;    /* byte offset of the record's first byte */
} record_t;

record_t *rec_new(const char *type);
void rec_free(record_t *r);
int rec_is(const record_t *r, const char *type);

field_t *rec_get(const record_t *r, const char *key);
/* Typed getters: NULL / 0 when the key is missing or of another kind. */
tensor_t *rec_tensor(const record_t *r, const char *key);
const char *rec_str(const record_t *r, const char *key);
int rec_int(const record_t *r, const char *key, int64_t *out);     /* 1 if found */
int rec_float(const record_t *r, const char *key, double *out);   /* int or float */
int rec_flag(const record_t *r, const char *key);  /* 1 if key is boolean true, else 0 */

/* Setters replace the key's value in place (keeping its position) or append. */
void rec_set_int(record_t *r, const char *key, int64_t v);
void rec_set_float(record_t *r, const char *key, double v);
void rec_set_bool(record_t *r, const char *key, int v);
void rec_set_str(record_t *r, const char *key, const char *s);
void rec_set_tensor(record_t *r, const char *key, tensor_t *t); /* takes ownership */
void rec_set_raw(record_t *r, const char *key, const void *bytes, size_t len);
/* Detach a tensor from the record (the key is removed); NULL if absent. */
tensor_t *rec_take_tensor(record_t *r, const char *key);
void rec_del(record_t *r, const char *key);

/* Die with EX_DATA: "prog: SRC: record N (ID): message".  ID is the record's
 * "id" field when it has one. */
_Noreturn void rec_die(const record_t *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* rec_die's message, "SRC: record N (ID): what", written to err instead;
 * returns -1 (for returning cores: return rec_err(r, err, errlen, ...)). */
int rec_err(const record_t *r, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The returning core of the two below: *out is the tensor field key,
 * converted in place to dtype dt (ints checked for range), with ndim
 * dimensions (-1: any); NULL when absent and need is 0.  Returns 0, or -1
 * with err set (rec_err's form). */
int rec_get_tensor(record_t *r, const char *key, dtype_t dt, int ndim, int need,
		   tensor_t **out, char *err, size_t errlen);
/* Require a tensor field; converts it in place to dtype dt (ints checked for
 * range) and checks ndim (-1: any).  Dies with rec_die on failure. */
tensor_t *rec_need_tensor(record_t *r, const char *key, dtype_t dt, int ndim);
/* Same, but returns NULL when the key is absent. */
tensor_t *rec_opt_tensor(record_t *r, const char *key, dtype_t dt, int ndim);
int64_t rec_need_int(const record_t *r, const char *key);
const char *rec_need_str(const record_t *r, const char *key);

/* ---- header and end ---- */

/* A fresh header record: format, version, history = []. */
record_t *header_new(void);
/* Append {name, version, argv} to the header's history. */
void header_append(record_t *hdr, const char *name, int argc, char **argv);

/* ---- reading ---- */

typedef struct sreader sreader_t;

/* Open a stream on fd; name is used in messages ("-" reads as "stdin"). */
sreader_t *sr_open_fd(int fd, const char *name);
/* Open a path ("-" = stdin): NULL with err ("PATH: why", an I/O error)
 * when it cannot be opened. */
sreader_t *sr_try_open(const char *path, char *err, size_t errlen);
/* sr_try_open that dies with EX_IO. */
sreader_t *sr_open(const char *path);
void sr_close(sreader_t *sr);
const char *sr_name(const sreader_t *sr);
/* Lax reading (for viewers such as mp-dump): only the framing is checked
 * (header first, no truncation, the end record and its counts), not the
 * structural rules on graph/configs/pred records (kinds of known keys,
 * shapes against counts, configs after their graph, unique graph ids,
 * n_configs, config_index range). */
void sr_set_lax(sreader_t *sr, int lax);
/* Maximum size of one record in bytes (default 4 GiB). */
void sr_set_max_record(sreader_t *sr, size_t bytes);

enum { SR_OK = 1, SR_DONE = 0, SR_EDATA = -1, SR_EIO = -2 };
/* Next record into *out (caller frees).  The first record must be a header,
 * the last an end whose counts match; after the end, SR_DONE.  On error a
 * message naming the record index and byte offset is written to err. */
int sr_read(sreader_t *sr, record_t **out, char *err, size_t errlen);
/* sr_read that dies on error (EX_DATA / EX_IO with the message) and returns
 * NULL at SR_DONE. */
record_t *sr_next(sreader_t *sr);
uint64_t sr_offset(const sreader_t *sr);   /* bytes consumed so far */
uint64_t sr_records(const sreader_t *sr);  /* records returned so far */

/* ---- writing ---- */

typedef struct swriter swriter_t;

/* Buffered writer on fd (SIGPIPE is ignored: a dead reader is EPIPE, which
 * ends the program quietly with EX_PIPE, never a silent success). */
swriter_t *sw_open_fd(int fd, const char *name);
void sw_write(swriter_t *sw, const record_t *r);
/* Write the end record with the counts of what was written, then flush.
 * Call only when all input was finished. */
void sw_end(swriter_t *sw);
/* Flush and close the fd; dies with EX_IO on failure.  Without sw_end the
 * stream has no end record (as it must be when the input was bad). */
void sw_close(swriter_t *sw);
/* Flush and free, leaving the fd open (its owner closes it: of_commit). */
void sw_release(swriter_t *sw);
/* A binary stream is not for a terminal (as gzip and zstd refuse): unless
 * force, die with EX_USAGE when fd is a terminal, naming the option that
 * forces it ("-f", "--force-tty").  Call after the options, before any
 * input is read. */
void stream_refuse_tty(int fd, int force, const char *force_opt);

/* ---- the common loop of a one-in, one-out filter ---- */

/* What a filter's record hook did with a record. */
enum {
	SF_DROP,    /* drop it (stream_filter frees it) */
	SF_WRITE,   /* write it (then stream_filter frees it) */
	SF_KEPT     /* the hook kept it: it writes and frees it later */
};

/* A filter's hooks; any may be NULL (no record hook: every record passes). */
typedef struct {
	/* The input's header, before this program joins its history (to check
	 * it); input: the input's name for messages. */
	void (*begin)(record_t *hdr, const char *input, void *ctx);
	/* Every record but header and end, changed in place or not: SF_*.  It
	 * may write records of its own to sw first. */
	int (*record)(record_t *r, swriter_t *sw, void *ctx);
	/* At the end of the input, before the end record: write what is held. */
	void (*end)(swriter_t *sw, void *ctx);
	void *ctx;
} stream_hooks_t;

/* The loop of every one-in, one-out filter: read the stream at path ("-":
 * stdin), write to stdout: the header with this program appended to its
 * history (after h->begin has seen it), then what h->record makes of every
 * record but header and end, then what h->end writes, then the end record
 * with the counts.  Dies on bad input before writing an end: a filter never
 * ends a stream it did not finish. */
void stream_filter(const char *path, int argc, char **argv, const stream_hooks_t *h);

/* Pack one record into a malloc'd buffer (for tests and fuzzers). */
void *rec_pack(const record_t *r, size_t *len);
/* Parse one record from a buffer holding exactly one msgpack map; returns NULL
 * and writes err on malformed input. */
record_t *rec_unpack(const void *buf, size_t len, char *err, size_t errlen);

#endif
