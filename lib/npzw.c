/* npzw: see npzw.h.  Byte layouts follow CPython's zipfile (3.11) and
 * numpy.lib.format (1.24), the writers of the published dataset. */
#include "npzw.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#ifdef NPZ_ISAL
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#endif

#define ZIP64_LIMIT_DEFAULT ((UINT64_C(1) << 31) - 1)
#define ZIP64_VERSION 45
#define DEFAULT_VERSION 20
#define CREATE_SYSTEM 3               /* Unix, as zipfile on Linux */
#define EXTERNAL_ATTR (0600u << 16)   /* ?rw------- as zipfile.open('w') */
#define DOS_TIME 0                    /* 00:00:00 */
#define DOS_DATE ((0 << 9) | (1 << 5) | 1) /* 1980-01-01 */
#define GROWTH_AXIS_MAX_DIGITS 21     /* numpy's spare header space */
#define OUTBUF (1 << 18)

typedef struct {
	char *name;
	uint16_t method, flags;
	uint32_t crc;
	uint64_t csize, usize, offset;
} member_t;

struct npzw {
	FILE *f;
	char *path, *tmp;
	char err[512];
	int failed;
	uint64_t zip64_limit;
	int engine;      /* NPZW_ZLIB or NPZW_ISAL */
	int level;       /* the engine's level of DEFLATE members */
	int zip64_local; /* local headers as the published files: always ZIP64 */
	member_t *m;
	size_t nm, capm;
	/* the member being written */
	int open;
	member_t cur;
	uint64_t expect; /* data bytes still due */
	z_stream zs;
	int zinit;
#ifdef NPZ_ISAL
	struct isal_zstream *is;  /* the ISA-L engine's state, kept between members */
	uint8_t *lbuf;            /* its level buffer */
#endif
	unsigned char *obuf;
};

static int fail(npzw_t *z, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(npzw_t *z, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;
	if (z->failed) /* keep the first message */
		return -1;
	z->failed = 1;
	va_start(ap, fmt);
	vsnprintf(z->err, sizeof z->err, fmt, ap);
	va_end(ap);
	n = strlen(z->err);
	if (errnum && n < sizeof z->err)
		snprintf(z->err + n, sizeof z->err - n, ": %s", strerror(errnum));
	return -1;
}

const char *npzw_error(const npzw_t *z)
{
	return z->failed ? z->err : "no error";
}

void npzw_set_zip64_limit(npzw_t *z, uint64_t limit)
{
	z->zip64_limit = limit;
}

int npzw_set_level(npzw_t *z, int level)
{
	if (z->engine == NPZW_ISAL && (level < 0 || level > NPZW_ISAL_MAX_LEVEL))
		return fail(z, 0, "%s: ISA-L level %d not in 0..%d", z->tmp, level,
			    NPZW_ISAL_MAX_LEVEL);
	if (level != Z_DEFAULT_COMPRESSION && (level < 0 || level > 9))
		return fail(z, 0, "%s: zlib level %d not in 0..9", z->tmp, level);
	z->level = level;
	return 0;
}

int npzw_have_isal(void)
{
#ifdef NPZ_ISAL
	return 1;
#else
	return 0;
#endif
}

int npzw_set_engine(npzw_t *z, int engine)
{
	if (engine == NPZW_ZLIB) {
		z->engine = engine;
		return 0;
	}
	if (engine != NPZW_ISAL)
		return fail(z, 0, "%s: unknown DEFLATE engine %d", z->tmp, engine);
	if (!npzw_have_isal())
		return fail(z, 0, "%s: built without ISA-L (libisal-dev): no ISA-L engine", z->tmp);
	z->engine = engine;
	if (z->level < 0 || z->level > NPZW_ISAL_MAX_LEVEL)
		z->level = 1;
	return 0;
}

void npzw_set_zip64_local(npzw_t *z, int on)
{
	z->zip64_local = on != 0;
}

npzw_t *npzw_open(const char *path)
{
	npzw_t *z = calloc(1, sizeof *z);
	size_t n = strlen(path) + 32;
	if (!z)
		return NULL;
	z->path = strdup(path);
	z->tmp = malloc(n);
	z->obuf = malloc(OUTBUF);
	if (!z->path || !z->tmp || !z->obuf)
		goto oom;
	snprintf(z->tmp, n, "%s.tmp.%ld", path, (long)getpid());
	z->f = fopen(z->tmp, "wb");
	if (!z->f) {
		int e = errno;
		free(z->path), free(z->tmp), free(z->obuf), free(z);
		errno = e;
		return NULL;
	}
	setvbuf(z->f, NULL, _IOFBF, 1 << 20);
	z->zip64_limit = ZIP64_LIMIT_DEFAULT;
	z->level = Z_DEFAULT_COMPRESSION;
	return z;
oom:
	free(z->path), free(z->tmp), free(z->obuf), free(z);
	errno = ENOMEM;
	return NULL;
}

/* ---- little-endian packing ---- */

static unsigned char *put16(unsigned char *p, unsigned v)
{
	p[0] = v & 0xff, p[1] = (v >> 8) & 0xff;
	return p + 2;
}

static unsigned char *put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (v >> (8 * i)) & 0xff;
	return p + 4;
}

static unsigned char *put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (v >> (8 * i)) & 0xff;
	return p + 8;
}

static int out(npzw_t *z, const void *buf, size_t n)
{
	if (n && fwrite(buf, 1, n, z->f) != n)
		return fail(z, errno, "%s: write error", z->tmp);
	return 0;
}

/* ---- the .npy header ---- */

size_t npzw_itemsize(const char *descr)
{
	static const struct { const char *d; size_t n; } t[] = {
		{"<f4", 4}, {"<f8", 8}, {"<f2", 2}, {"<i1", 1}, {"|i1", 1},
		{"<i2", 2}, {"<i4", 4}, {"<i8", 8}, {"|u1", 1}, {"<u1", 1},
		{"<u2", 2}, {"<u4", 4}, {"<u8", 8}, {"|b1", 1},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(descr, t[i].d) == 0)
			return t[i].n;
	return 0;
}

size_t npzw_npy_header(char *buf, size_t cap, const char *descr, int ndim,
		       const int64_t *shape, int fortran)
{
	char dict[1024], sh[800];
	size_t n = 0, hlen, pad, total;
	int k;
	if (ndim < 0 || ndim > 32)
		return 0;
	/* repr() of a Python tuple: (), (5,), (3, 140) */
	sh[n++] = '(';
	for (int i = 0; i < ndim; i++) {
		k = snprintf(sh + n, sizeof sh - n, i ? ", %lld" : "%lld", (long long)shape[i]);
		n += (size_t)k;
	}
	if (ndim == 1)
		sh[n++] = ',';
	sh[n++] = ')';
	sh[n] = 0;
	k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }",
		     descr, fortran ? "True" : "False", sh);
	n = (size_t)k;
	if (ndim > 0) {
		/* numpy's growth axis: the first in C order, the last in Fortran */
		char d0[32];
		int l0 = snprintf(d0, sizeof d0, "%lld", (long long)shape[fortran ? ndim - 1 : 0]);
		for (int i = l0; i < GROWTH_AXIS_MAX_DIGITS; i++)
			dict[n++] = ' ';
	}
	/* magic(6) + version(2) + u16 length + dict + pad spaces + '\n' */
	hlen = n + 1;
	pad = 64 - ((10 + hlen) % 64);
	if (pad == 64)
		pad = 0;
	total = 10 + hlen + pad;
	if (total > cap || hlen + pad > 65535)
		return 0;
	memcpy(buf, "\x93NUMPY\x01\x00", 8);
	buf[8] = (char)((hlen + pad) & 0xff);
	buf[9] = (char)((hlen + pad) >> 8);
	memcpy(buf + 10, dict, n);
	memset(buf + 10 + n, ' ', pad);
	buf[total - 1] = '\n';
	return total;
}

/* ---- members ---- */

/* Local file header with a ZIP64 extra, as zipfile's FileHeader(zip64=True):
 * version 2.0 and the sizes in the header too while they fit under the limit;
 * past it version 4.5 and 0xffffffff in the header (the extra has them).
 * With zip64_local (the published files' writer), every local header is the
 * latter, whatever the size. */
static size_t local_header(unsigned char *b, const member_t *m, uint64_t limit, int zip64_local)
{
	size_t nl = strlen(m->name);
	unsigned char *p = b;
	int big = zip64_local || m->usize > limit || m->csize > limit;
	p = put32(p, 0x04034b50);
	*p++ = big ? ZIP64_VERSION : DEFAULT_VERSION, *p++ = 0;
	p = put16(p, m->flags);
	p = put16(p, m->method);
	p = put16(p, DOS_TIME);
	p = put16(p, DOS_DATE);
	p = put32(p, m->crc);
	p = put32(p, big ? 0xffffffffu : (uint32_t)m->csize);
	p = put32(p, big ? 0xffffffffu : (uint32_t)m->usize);
	p = put16(p, (unsigned)nl);
	p = put16(p, 20);
	memcpy(p, m->name, nl);
	p += nl;
	p = put16(p, 1);
	p = put16(p, 16);
	p = put64(p, m->usize);
	p = put64(p, m->csize);
	return (size_t)(p - b);
}

#ifdef NPZ_ISAL
/* One call of ISA-L's deflate into the output buffer, written out. */
static int isal_pass(npzw_t *z)
{
	z->is->next_out = z->obuf;
	z->is->avail_out = OUTBUF;
	if (isal_deflate(z->is) != COMP_OK)
		return fail(z, 0, "%s: ISA-L deflate failed", z->tmp);
	size_t have = OUTBUF - z->is->avail_out;
	z->cur.csize += have;
	return out(z, z->obuf, have);
}
#endif

static int raw_write(npzw_t *z, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	/* CRC and size of the uncompressed bytes */
	for (size_t done = 0; done < n;) {
		size_t k = n - done > (1u << 30) ? (1u << 30) : n - done;
#ifdef NPZ_ISAL
		/* the same CRC-32, several times faster (PCLMULQDQ) */
		z->cur.crc = crc32_gzip_refl(z->cur.crc, p + done, (uint64_t)k);
#else
		z->cur.crc = (uint32_t)crc32(z->cur.crc, p + done, (uInt)k);
#endif
		done += k;
	}
	z->cur.usize += n;
	if (z->cur.method == NPZW_STORED) {
		z->cur.csize += n;
		return out(z, buf, n);
	}
#ifdef NPZ_ISAL
	if (z->engine == NPZW_ISAL) {
		struct isal_zstream *is = z->is;
		while (n > 0) {
			size_t k = n > (1u << 30) ? (1u << 30) : n;
			is->next_in = (uint8_t *)p;
			is->avail_in = (uint32_t)k;
			do {
				if (isal_pass(z))
					return -1;
			} while (is->avail_in > 0 || is->avail_out == 0);
			p += k, n -= k;
		}
		return 0;
	}
#endif
	while (n > 0) {
		size_t k = n > (1u << 30) ? (1u << 30) : n;
		z->zs.next_in = (Bytef *)p;
		z->zs.avail_in = (uInt)k;
		do {
			z->zs.next_out = z->obuf;
			z->zs.avail_out = OUTBUF;
			if (deflate(&z->zs, Z_NO_FLUSH) == Z_STREAM_ERROR)
				return fail(z, 0, "%s: zlib deflate failed", z->tmp);
			size_t have = OUTBUF - z->zs.avail_out;
			z->cur.csize += have;
			if (out(z, z->obuf, have))
				return -1;
		} while (z->zs.avail_in > 0 || z->zs.avail_out == 0);
		p += k, n -= k;
	}
	return 0;
}

int npzw_begin(npzw_t *z, const char *key, const char *descr, int ndim,
	       const int64_t *shape, int method)
{
	return npzw_begin_order(z, key, descr, ndim, shape, 0, method);
}

int npzw_begin_order(npzw_t *z, const char *key, const char *descr, int ndim,
		     const int64_t *shape, int fortran, int method)
{
	char hdr[1200];
	unsigned char lh[600];
	size_t hl, isz, nl;
	uint64_t numel = 1;
	off_t pos;
	if (z->failed)
		return -1;
	if (z->open)
		return fail(z, 0, "%s: npzw_begin(%s) while member %s is open", z->tmp, key, z->cur.name);
	if (method != NPZW_STORED && method != NPZW_DEFLATE)
		return fail(z, 0, "%s: %s: unknown compression method %d", z->tmp, key, method);
	isz = npzw_itemsize(descr);
	if (!isz)
		return fail(z, 0, "%s: %s: unsupported dtype '%s'", z->tmp, key, descr);
	for (int i = 0; i < ndim; i++) {
		if (shape[i] < 0 || (shape[i] && numel > UINT64_MAX / 16 / (uint64_t)shape[i]))
			return fail(z, 0, "%s: %s: bad shape", z->tmp, key);
		numel *= (uint64_t)shape[i];
	}
	hl = npzw_npy_header(hdr, sizeof hdr, descr, ndim, shape, fortran);
	if (!hl)
		return fail(z, 0, "%s: %s: .npy header too long", z->tmp, key);
	nl = strlen(key);
	if (nl == 0 || nl > 500)
		return fail(z, 0, "%s: bad key '%s'", z->tmp, key);
	memset(&z->cur, 0, sizeof z->cur);
	z->cur.name = malloc(nl + 5);
	if (!z->cur.name)
		return fail(z, ENOMEM, "%s", z->tmp);
	memcpy(z->cur.name, key, nl);
	memcpy(z->cur.name + nl, ".npy", 5);
	for (size_t i = 0; i < nl; i++)
		if ((unsigned char)key[i] >= 0x80)
			z->cur.flags = 0x800; /* UTF-8 name, as zipfile */
	z->cur.method = (uint16_t)method;
	z->cur.crc = (uint32_t)crc32(0L, Z_NULL, 0);
	pos = ftello(z->f);
	if (pos < 0)
		return fail(z, errno, "%s: tell", z->tmp);
	z->cur.offset = (uint64_t)pos;
	if (out(z, lh, local_header(lh, &z->cur, z->zip64_limit, z->zip64_local)))
		return -1;
#ifdef NPZ_ISAL
	if (method == NPZW_DEFLATE && z->engine == NPZW_ISAL) {
		static const uint32_t lbsize[NPZW_ISAL_MAX_LEVEL + 1] = {
			ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT,
			ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT
		};
		if (!z->is && !(z->is = malloc(sizeof *z->is)))
			return fail(z, ENOMEM, "%s", z->tmp);
		free(z->lbuf);
		z->lbuf = NULL;
		if (lbsize[z->level] && !(z->lbuf = malloc(lbsize[z->level])))
			return fail(z, ENOMEM, "%s", z->tmp);
		isal_deflate_init(z->is);
		z->is->level = (uint32_t)z->level;
		z->is->level_buf = z->lbuf;
		z->is->level_buf_size = lbsize[z->level];
		z->is->gzip_flag = IGZIP_DEFLATE;   /* raw DEFLATE, as zip has it */
		z->is->flush = NO_FLUSH;
	} else
#endif
	if (method == NPZW_DEFLATE) {
		memset(&z->zs, 0, sizeof z->zs);
		if (deflateInit2(&z->zs, z->level, Z_DEFLATED, -15, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			return fail(z, 0, "%s: zlib deflateInit2 failed", z->tmp);
		z->zinit = 1;
	}
	z->open = 1;
	z->expect = numel * isz;
	return raw_write(z, hdr, hl);
}

int npzw_write(npzw_t *z, const void *buf, size_t n)
{
	if (z->failed)
		return -1;
	if (!z->open)
		return fail(z, 0, "%s: npzw_write without a member", z->tmp);
	if (n > z->expect)
		return fail(z, 0, "%s: %s: more data than the shape holds", z->tmp, z->cur.name);
	z->expect -= n;
	return raw_write(z, buf, n);
}

int npzw_end(npzw_t *z)
{
	unsigned char lh[600];
	off_t end;
	if (z->failed)
		return -1;
	if (!z->open)
		return fail(z, 0, "%s: npzw_end without a member", z->tmp);
	if (z->expect)
		return fail(z, 0, "%s: %s: %llu data bytes missing", z->tmp, z->cur.name,
			    (unsigned long long)z->expect);
#ifdef NPZ_ISAL
	if (z->cur.method == NPZW_DEFLATE && z->engine == NPZW_ISAL) {
		struct isal_zstream *is = z->is;
		is->next_in = NULL;
		is->avail_in = 0;
		is->end_of_stream = 1;
		do {
			if (isal_pass(z))
				return -1;
		} while (is->internal_state.state != ZSTATE_END);
	} else
#endif
	if (z->cur.method == NPZW_DEFLATE) {
		int rc;
		z->zs.next_in = NULL;
		z->zs.avail_in = 0;
		do {
			z->zs.next_out = z->obuf;
			z->zs.avail_out = OUTBUF;
			rc = deflate(&z->zs, Z_FINISH);
			if (rc == Z_STREAM_ERROR)
				return fail(z, 0, "%s: zlib deflate failed", z->tmp);
			size_t have = OUTBUF - z->zs.avail_out;
			z->cur.csize += have;
			if (out(z, z->obuf, have))
				return -1;
		} while (rc != Z_STREAM_END);
		deflateEnd(&z->zs);
		z->zinit = 0;
	}
	/* seek back and patch the local header (CRC, sizes in the ZIP64 extra) */
	end = ftello(z->f);
	if (end < 0 || fseeko(z->f, (off_t)z->cur.offset, SEEK_SET) != 0)
		return fail(z, errno, "%s: seek", z->tmp);
	if (out(z, lh, local_header(lh, &z->cur, z->zip64_limit, z->zip64_local)))
		return -1;
	if (fseeko(z->f, end, SEEK_SET) != 0)
		return fail(z, errno, "%s: seek", z->tmp);
	if (z->nm == z->capm) {
		size_t nc = z->capm ? 2 * z->capm : 16;
		member_t *m = realloc(z->m, nc * sizeof *m);
		if (!m)
			return fail(z, ENOMEM, "%s", z->tmp);
		z->m = m, z->capm = nc;
	}
	z->m[z->nm++] = z->cur;
	z->cur.name = NULL;
	z->open = 0;
	return 0;
}

int npzw_add(npzw_t *z, const char *key, const char *descr, int ndim,
	     const int64_t *shape, const void *data, int method)
{
	return npzw_add_order(z, key, descr, ndim, shape, 0, data, method);
}

int npzw_add_order(npzw_t *z, const char *key, const char *descr, int ndim,
		   const int64_t *shape, int fortran, const void *data, int method)
{
	size_t isz = npzw_itemsize(descr);
	uint64_t n = isz;
	for (int i = 0; i < ndim; i++)
		n *= (uint64_t)(shape[i] < 0 ? 0 : shape[i]);
	if (npzw_begin_order(z, key, descr, ndim, shape, fortran, method))
		return -1;
	if (npzw_write(z, data, (size_t)n))
		return -1;
	return npzw_end(z);
}

/* ---- the central directory ---- */

static int write_central(npzw_t *z)
{
	unsigned char b[700], *p;
	off_t pos;
	uint64_t start, size, count = z->nm;
	pos = ftello(z->f);
	if (pos < 0)
		return fail(z, errno, "%s: tell", z->tmp);
	start = (uint64_t)pos;
	for (size_t i = 0; i < z->nm; i++) {
		const member_t *m = &z->m[i];
		uint64_t ex[3];
		int nex = 0, big = 0;
		size_t nl = strlen(m->name);
		uint32_t usz = (uint32_t)m->usize, csz = (uint32_t)m->csize;
		uint32_t off = (uint32_t)m->offset;
		if (m->usize > z->zip64_limit || m->csize > z->zip64_limit) {
			ex[nex++] = m->usize, ex[nex++] = m->csize;
			usz = csz = 0xffffffffu;
			big = 1;
		}
		if (m->offset > z->zip64_limit) {
			ex[nex++] = m->offset;
			off = 0xffffffffu;
			big = 1;
		}
		/* the published files: version 4.5 in the central record too
		 * (the local header's), with no extra while the sizes fit */
		if (z->zip64_local)
			big = 1;
		p = b;
		p = put32(p, 0x02014b50);
		*p++ = big ? ZIP64_VERSION : DEFAULT_VERSION, *p++ = CREATE_SYSTEM;
		*p++ = big ? ZIP64_VERSION : DEFAULT_VERSION, *p++ = 0;
		p = put16(p, m->flags);
		p = put16(p, m->method);
		p = put16(p, DOS_TIME);
		p = put16(p, DOS_DATE);
		p = put32(p, m->crc);
		p = put32(p, csz);
		p = put32(p, usz);
		p = put16(p, (unsigned)nl);
		p = put16(p, nex ? 4 + 8 * (unsigned)nex : 0);
		p = put16(p, 0); /* comment */
		p = put16(p, 0); /* disk */
		p = put16(p, 0); /* internal attr */
		p = put32(p, EXTERNAL_ATTR);
		p = put32(p, off);
		memcpy(p, m->name, nl);
		p += nl;
		if (nex) {
			p = put16(p, 1);
			p = put16(p, 8 * (unsigned)nex);
			for (int k = 0; k < nex; k++)
				p = put64(p, ex[k]);
		}
		if (out(z, b, (size_t)(p - b)))
			return -1;
	}
	pos = ftello(z->f);
	if (pos < 0)
		return fail(z, errno, "%s: tell", z->tmp);
	size = (uint64_t)pos - start;
	if (count > 0xffff || start > z->zip64_limit || size > z->zip64_limit) {
		p = b;
		p = put32(p, 0x06064b50); /* ZIP64 end of central directory */
		p = put64(p, 44);
		p = put16(p, ZIP64_VERSION);
		p = put16(p, ZIP64_VERSION);
		p = put32(p, 0);
		p = put32(p, 0);
		p = put64(p, count);
		p = put64(p, count);
		p = put64(p, size);
		p = put64(p, start);
		p = put32(p, 0x07064b50); /* its locator */
		p = put32(p, 0);
		p = put64(p, (uint64_t)pos);
		p = put32(p, 1);
		if (out(z, b, (size_t)(p - b)))
			return -1;
		if (count > 0xffff)
			count = 0xffff;
		if (size > 0xffffffffu)
			size = 0xffffffffu;
		if (start > 0xffffffffu)
			start = 0xffffffffu;
	}
	p = b;
	p = put32(p, 0x06054b50);
	p = put16(p, 0);
	p = put16(p, 0);
	p = put16(p, (unsigned)count);
	p = put16(p, (unsigned)count);
	p = put32(p, (uint32_t)size);
	p = put32(p, (uint32_t)start);
	p = put16(p, 0);
	return out(z, b, (size_t)(p - b));
}

static void destroy(npzw_t *z)
{
	if (z->zinit)
		deflateEnd(&z->zs);
#ifdef NPZ_ISAL
	free(z->is);
	free(z->lbuf);
#endif
	for (size_t i = 0; i < z->nm; i++)
		free(z->m[i].name);
	free(z->cur.name);
	free(z->m);
	free(z->obuf);
	free(z->path);
	free(z->tmp);
	free(z);
}

void npzw_abort(npzw_t *z)
{
	if (!z)
		return;
	if (z->f)
		fclose(z->f);
	unlink(z->tmp);
	destroy(z);
}

int npzw_close(npzw_t *z, char *err, size_t errlen)
{
	if (!z->failed && z->open)
		fail(z, 0, "%s: npzw_close with member %s open", z->tmp, z->cur.name);
	if (!z->failed)
		write_central(z);
	if (!z->failed && fflush(z->f) != 0)
		fail(z, errno, "%s: write error", z->tmp);
	if (fclose(z->f) != 0 && !z->failed)
		fail(z, errno, "%s: close error", z->tmp);
	z->f = NULL;
	if (!z->failed && rename(z->tmp, z->path) != 0)
		fail(z, errno, "%s: rename to %s", z->tmp, z->path);
	if (z->failed) {
		if (err && errlen)
			snprintf(err, errlen, "%s", z->err);
		unlink(z->tmp);
		destroy(z);
		return -1;
	}
	destroy(z);
	return 0;
}
