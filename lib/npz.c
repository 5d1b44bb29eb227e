/* npz: see npz.h.  ZIP structures after PKWARE's APPNOTE (local header,
 * central directory, end of central directory, ZIP64 extra field 0x0001,
 * ZIP64 end record and locator); .npy after numpy's format description. */
#include "npz.h"
#include "err.h"

#include <errno.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>
#ifdef NPZ_ISAL
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#endif

#define ZIN_CHUNK (1u << 18)
#define MAX_CDIR ((uint64_t)256 << 20)
#define MAX_NPY_HEADER (1u << 20)
#define FORTRAN_INMEM ((uint64_t)64 << 20) /* default in-memory limit, see npz.h */
#define BOUNCE (1u << 20)                  /* one pread of neighbouring runs */
#define INFLATE_BLOCK (1u << 22)           /* inflate to the temp file by this */

typedef struct {
	char *key;         /* name without .npy */
	uint64_t lho;      /* local header offset */
	uint64_t csize, usize;
	uint32_t crc;
	uint16_t method, flags;
	uint64_t data_off; /* 0 until the local header was read */
} member_t;

struct npz {
	int fd;
	char *path;
	uint64_t fsize;
	member_t *m;
	size_t n;
	uint64_t fortran_inmem;
};

static void fmt(char *err, size_t n, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *err, size_t n, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	vsnprintf(err, n, f, ap);
	va_end(ap);
}

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const unsigned char *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

/* pread exactly n bytes at off: 0 ok, -2 I/O error, -1 short file. */
static int pread_all(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -2;
		if (k == 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

void npz_close(npz_t *z)
{
	if (!z)
		return;
	if (z->fd >= 0)
		close(z->fd);
	for (size_t i = 0; i < z->n; i++)
		free(z->m[i].key);
	free(z->m);
	free(z->path);
	free(z);
}

/* Locate the central directory: offset, size and entry count. */
static int find_cdir(npz_t *z, uint64_t *cdoff, uint64_t *cdsize, uint64_t *count,
		     char *err, size_t errlen, int *io)
{
	unsigned char *tail, loc[20], e64[56];
	size_t tlen = z->fsize < 65557 ? (size_t)z->fsize : 65557;
	uint64_t base = z->fsize - tlen, eocd = UINT64_MAX;
	int rc;

	if (z->fsize < 22) {
		fmt(err, errlen, "not a zip file (%llu bytes)", (unsigned long long)z->fsize);
		return -1;
	}
	tail = xmalloc(tlen);
	rc = pread_all(z->fd, tail, tlen, base);
	if (rc) {
		free(tail);
		*io = rc == -2;
		fmt(err, errlen, rc == -2 ? "read error: %s" : "short read%s", rc == -2 ? strerror(errno) : "");
		return -1;
	}
	for (size_t i = tlen - 22 + 1; i-- > 0;)
		if (le32(tail + i) == 0x06054b50) {
			eocd = base + i;
			*count = le16(tail + i + 10);
			*cdsize = le32(tail + i + 12);
			*cdoff = le32(tail + i + 16);
			break;
		}
	free(tail);
	if (eocd == UINT64_MAX) {
		fmt(err, errlen, "not a zip file (no end of central directory)");
		return -1;
	}
	/* ZIP64: a locator just before the end record points to the ZIP64 end */
	if (eocd >= 20 && pread_all(z->fd, loc, 20, eocd - 20) == 0 && le32(loc) == 0x07064b50) {
		uint64_t off = le64(loc + 8);
		if (off > z->fsize - 56 || pread_all(z->fd, e64, 56, off) != 0 || le32(e64) != 0x06064b50) {
			fmt(err, errlen, "bad ZIP64 end of central directory");
			return -1;
		}
		*count = le64(e64 + 32);
		*cdsize = le64(e64 + 40);
		*cdoff = le64(e64 + 48);
	}
	if (*cdoff > z->fsize || *cdsize > z->fsize - *cdoff || *cdsize > MAX_CDIR ||
	    *count > *cdsize / 46) {
		fmt(err, errlen, "central directory out of the file (truncated zip?)");
		return -1;
	}
	return 0;
}

npz_t *npz_open(const char *path, char *err, size_t errlen, int *io)
{
	npz_t *z = xcalloc(1, sizeof *z);
	struct stat st;
	uint64_t cdoff, cdsize, count = 0, p;
	unsigned char *cd = NULL;

	*io = 0;
	z->path = xstrdup(path);
	z->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (z->fd < 0 || fstat(z->fd, &st) != 0) {
		*io = 1;
		fmt(err, errlen, "%s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		fmt(err, errlen, "not a regular file");
		goto fail;
	}
	z->fsize = (uint64_t)st.st_size;
	z->fortran_inmem = FORTRAN_INMEM;
	{
		const char *e = getenv("NPZ_FORTRAN_INMEM");
		char *end;
		unsigned long long v;
		if (e && *e) {
			errno = 0;
			v = strtoull(e, &end, 10);
			if (!*end && errno == 0)
				z->fortran_inmem = v;
		}
	}
	if (find_cdir(z, &cdoff, &cdsize, &count, err, errlen, io))
		goto fail;
	cd = xmalloc((size_t)cdsize);
	if (pread_all(z->fd, cd, (size_t)cdsize, cdoff)) {
		*io = 1;
		fmt(err, errlen, "read error: %s", strerror(errno));
		goto fail;
	}
	z->m = xcalloc((size_t)count, sizeof *z->m);
	for (p = 0; z->n < count; z->n++) {
		member_t *m = &z->m[z->n];
		uint16_t nlen, elen, clen;
		uint32_t c32, u32, o32;
		const unsigned char *e;
		size_t klen;

		if (cdsize - p < 46 || le32(cd + p) != 0x02014b50) {
			fmt(err, errlen, "bad central directory entry %zu", z->n);
			goto fail;
		}
		m->flags = le16(cd + p + 8);
		m->method = le16(cd + p + 10);
		m->crc = le32(cd + p + 16);
		c32 = le32(cd + p + 20);
		u32 = le32(cd + p + 24);
		nlen = le16(cd + p + 28);
		elen = le16(cd + p + 30);
		clen = le16(cd + p + 32);
		o32 = le32(cd + p + 42);
		if (cdsize - p - 46 < (uint64_t)nlen + elen + clen) {
			fmt(err, errlen, "bad central directory entry %zu", z->n);
			goto fail;
		}
		m->csize = c32;
		m->usize = u32;
		m->lho = o32;
		/* ZIP64 extra: the 64-bit values of the fields saturated above */
		e = cd + p + 46 + nlen;
		for (size_t q = 0; q + 4 <= elen;) {
			uint16_t id = le16(e + q), sz = le16(e + q + 2);
			const unsigned char *d = e + q + 4;
			size_t k = 0;
			if (q + 4 + sz > elen)
				break;
			if (id == 0x0001) {
				if (u32 == 0xffffffffu) {
					if (k + 8 > sz) goto bad64;
					m->usize = le64(d + k); k += 8;
				}
				if (c32 == 0xffffffffu) {
					if (k + 8 > sz) goto bad64;
					m->csize = le64(d + k); k += 8;
				}
				if (o32 == 0xffffffffu) {
					if (k + 8 > sz) goto bad64;
					m->lho = le64(d + k); k += 8;
				}
			}
			q += 4 + (size_t)sz;
		}
		klen = nlen;
		if (klen >= 4 && memcmp(cd + p + 46 + klen - 4, ".npy", 4) == 0)
			klen -= 4;
		m->key = xmalloc(klen + 1);
		memcpy(m->key, cd + p + 46, klen);
		m->key[klen] = 0;
		if (strlen(m->key) != klen) {
			fmt(err, errlen, "member %zu: NUL in its name", z->n);
			goto fail;
		}
		if (m->flags & 1) {
			fmt(err, errlen, "%s: encrypted members are not supported", m->key);
			goto fail;
		}
		if (m->method != 0 && m->method != 8) {
			fmt(err, errlen, "%s: unsupported compression method %u (only STORED and DEFLATE)",
			    m->key, m->method);
			goto fail;
		}
		if (m->lho >= z->fsize || m->csize > z->fsize || (m->method == 0 && m->csize != m->usize)) {
			fmt(err, errlen, "%s: sizes or offset out of the file (truncated zip?)", m->key);
			goto fail;
		}
		p += 46 + (uint64_t)nlen + elen + clen;
		continue;
	bad64:
		fmt(err, errlen, "member %zu: bad ZIP64 extra field", z->n);
		z->n++;
		goto fail;
	}
	free(cd);
	return z;
fail:
	free(cd);
	if (z->m && z->n < count) {  /* the entry that failed may hold its key */
		free(z->m[z->n].key);
		z->m[z->n].key = NULL;
	}
	npz_close(z);
	return NULL;
}

size_t npz_count(const npz_t *z) { return z->n; }
const char *npz_key(const npz_t *z, size_t i) { return i < z->n ? z->m[i].key : NULL; }

static member_t *find(const npz_t *z, const char *key)
{
	for (size_t i = 0; i < z->n; i++)
		if (strcmp(z->m[i].key, key) == 0)
			return &z->m[i];
	return NULL;
}

int npz_has(const npz_t *z, const char *key) { return find(z, key) != NULL; }
void npz_set_fortran_inmem(npz_t *z, uint64_t bytes) { z->fortran_inmem = bytes; }

/* Read the local header: where the member's data starts. */
static int resolve(npz_t *z, member_t *m, char *err, size_t errlen, int *io)
{
	unsigned char h[30];
	int rc;
	if (m->data_off)
		return 0;
	rc = pread_all(z->fd, h, 30, m->lho);
	if (rc || le32(h) != 0x04034b50) {
		*io = rc == -2;
		fmt(err, errlen, "bad local header");
		return -1;
	}
	m->data_off = m->lho + 30 + le16(h + 26) + le16(h + 28);
	if (m->data_off > z->fsize || m->csize > z->fsize - m->data_off) {
		fmt(err, errlen, "member data runs past the end of the file (%llu bytes at %llu, file %llu)",
		    (unsigned long long)m->csize, (unsigned long long)m->data_off,
		    (unsigned long long)z->fsize);
		return -1;
	}
	return 0;
}

/* ---- member streams: uncompressed bytes in order ----
 *
 * Inflate and CRC-32 come from ISA-L (igzip, crc32_gzip_refl) when built
 * with NPZ_ISAL (the Makefile sets it when libisal-dev is installed), else
 * from zlib; zlib's crc32_combine is used either way.  ISA-L inflates about
 * twice as fast as zlib, streaming (docs/bench/npz2mp.md). */

typedef struct {
	npz_t *z;
	member_t *m;
	uint64_t pos;      /* uncompressed bytes passed */
	int crc_all;       /* every byte in [0, pos) went through crc */
	uint32_t crc;
#ifdef NPZ_ISAL
	struct inflate_state *ist;
#else
	z_stream zs;
#endif
	int zinit, zend;
	unsigned char *in;
	uint64_t cpos;     /* compressed bytes fed to the inflater */
	int done;          /* end checks made */
} ms_t;

/* CRC-32 (zip's, zlib's) of p[0..n) continuing crc. */
static uint32_t crc_buf1(uint32_t crc, const unsigned char *p, size_t n)
{
#ifdef NPZ_ISAL
	while (n) {
		size_t k = n > (1u << 30) ? (1u << 30) : n;
		crc = crc32_gzip_refl(crc, p, (uint64_t)k);
		p += k;
		n -= k;
	}
#else
	while (n) {
		uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
		crc = (uint32_t)crc32(crc, p, k);
		p += k;
		n -= k;
	}
#endif
	return crc;
}

/* A large buffer's CRC in parts, one per OpenMP thread, joined with
 * crc32_combine: reading the buffer (a chunk of a mapped STORED member,
 * not yet in cache) is faster with two cores pulling on memory than one. */
#define CRC_PART_MIN (8u << 20)
static uint32_t crc_buf(uint32_t crc, const unsigned char *p, size_t n)
{
#ifndef _OPENMP
	return crc_buf1(crc, p, n);
#else
	int nt = omp_get_max_threads();
	if (nt < 2 || n < 2 * (size_t)CRC_PART_MIN || omp_in_parallel())
		return crc_buf1(crc, p, n);
	if ((size_t)nt > n / CRC_PART_MIN)
		nt = (int)(n / CRC_PART_MIN);
	uint32_t part[64];
	if (nt > 64)
		nt = 64;
	size_t step = n / (size_t)nt;
	#pragma omp parallel for num_threads(nt) schedule(static, 1)
	for (int t = 0; t < nt; t++) {
		size_t a = (size_t)t * step, b = t == nt - 1 ? n : a + step;
		part[t] = crc_buf1(0, p + a, b - a);
	}
	for (int t = 0; t < nt; t++) {
		size_t a = (size_t)t * step, b = t == nt - 1 ? n : a + step;
		crc = (uint32_t)crc32_combine(crc, part[t], (z_off_t)(b - a));
	}
	return crc;
#endif
}

static void crc_add(ms_t *s, const unsigned char *p, size_t n) { s->crc = crc_buf(s->crc, p, n); }

/* The inflater: raw DEFLATE (no zlib/gzip wrapper), input from s->in. */
static int inf_init(ms_t *s)
{
#ifdef NPZ_ISAL
	s->ist = xmalloc(sizeof *s->ist);
	isal_inflate_init(s->ist);
	s->ist->crc_flag = ISAL_DEFLATE;
	return 0;
#else
	return inflateInit2(&s->zs, -MAX_WBITS) == Z_OK ? 0 : -1;
#endif
}

static void inf_end(ms_t *s)
{
#ifdef NPZ_ISAL
	free(s->ist);
	s->ist = NULL;
#else
	inflateEnd(&s->zs);
#endif
}

static void inf_reset(ms_t *s)
{
#ifdef NPZ_ISAL
	isal_inflate_reset(s->ist);
	s->ist->crc_flag = ISAL_DEFLATE;
	s->ist->avail_in = 0;
#else
	inflateReset(&s->zs);
	s->zs.avail_in = 0;
#endif
}

static size_t inf_avail_in(const ms_t *s)
{
#ifdef NPZ_ISAL
	return s->ist->avail_in;
#else
	return s->zs.avail_in;
#endif
}

static void inf_feed(ms_t *s, size_t k)
{
#ifdef NPZ_ISAL
	s->ist->next_in = s->in;
	s->ist->avail_in = (uint32_t)k;
#else
	s->zs.next_in = s->in;
	s->zs.avail_in = (uInt)k;
#endif
}

/* Inflate up to n (<= 1 GiB) bytes into dst; *got of them came.  1 at the
 * end of the deflate stream, 0 when more may come, -1 corrupt data, -2 out
 * of memory (err set). */
static int inf_step(ms_t *s, unsigned char *dst, size_t n, size_t *got, char *err, size_t errlen)
{
#ifdef NPZ_ISAL
	int ret;
	s->ist->next_out = dst;
	s->ist->avail_out = (uint32_t)n;
	ret = isal_inflate(s->ist);
	*got = n - s->ist->avail_out;
	if (ret < 0) {
		fmt(err, errlen, "corrupt deflate data (igzip error %d)", ret);
		return -1;
	}
	return s->ist->block_state == ISAL_BLOCK_FINISH;
#else
	int ret;
	s->zs.next_out = dst;
	s->zs.avail_out = (uInt)n;
	ret = inflate(&s->zs, Z_NO_FLUSH);
	*got = n - s->zs.avail_out;
	if (ret == Z_STREAM_END)
		return 1;
	if (ret == Z_MEM_ERROR) {
		fmt(err, errlen, "zlib: out of memory");
		return -2;
	}
	if (ret != Z_OK && ret != Z_BUF_ERROR) {
		fmt(err, errlen, "corrupt deflate data (%s)", s->zs.msg ? s->zs.msg : "zlib error");
		return -1;
	}
	return 0;
#endif
}

static int ms_open(ms_t *s, npz_t *z, member_t *m, char *err, size_t errlen, int *io)
{
	memset(s, 0, sizeof *s);
	s->z = z;
	s->m = m;
	s->crc_all = 1;
	s->crc = crc_buf(0, NULL, 0);
	if (resolve(z, m, err, errlen, io))
		return -1;
	if (m->method == 8) {
		if (inf_init(s)) {
			*io = 1;
			fmt(err, errlen, "zlib: cannot initialise inflate");
			return -1;
		}
		s->zinit = 1;
		s->in = xmalloc(ZIN_CHUNK);
	}
	return 0;
}

static void ms_close(ms_t *s)
{
	if (s->zinit)
		inf_end(s);
	free(s->in);
	s->zinit = 0;
	s->in = NULL;
}

static int ms_restart(ms_t *s)
{
	s->pos = 0;
	s->crc_all = 1;
	s->crc = crc_buf(0, NULL, 0);
	s->done = 0;
	if (s->zinit) {
		inf_reset(s);
		s->cpos = 0;
		s->zend = 0;
	}
	return 0;
}

/* Refill the inflater's input when it ran dry: 0, or -1 with err.  At the
 * end of the member's data nothing is fed: the inflater may still hold
 * output (igzip buffers some), and a step without progress then means the
 * data was cut (the callers say so). */
static int ms_refill(ms_t *s, char *err, size_t errlen, int *io)
{
	uint64_t left;
	size_t k;
	int rc;
	if (inf_avail_in(s))
		return 0;
	left = s->m->csize - s->cpos;
	k = left < ZIN_CHUNK ? (size_t)left : ZIN_CHUNK;
	if (k == 0)
		return 0;
	rc = pread_all(s->z->fd, s->in, k, s->m->data_off + s->cpos);
	if (rc) {
		*io = rc == -2;
		fmt(err, errlen, rc == -2 ? "read error" : "file truncated");
		return -1;
	}
	s->cpos += k;
	inf_feed(s, k);
	return 0;
}

/* Inflate exactly n bytes into dst. */
static int inflate_n(ms_t *s, unsigned char *dst, size_t n, char *err, size_t errlen, int *io)
{
	while (n) {
		size_t want = n > (1u << 30) ? (1u << 30) : n, got;
		int ret;
		if (s->zend) {
			fmt(err, errlen, "deflate data ends before the declared size");
			return -1;
		}
		if (ms_refill(s, err, errlen, io))
			return -1;
		ret = inf_step(s, dst, want, &got, err, errlen);
		if (ret < 0) {
			*io = ret == -2;
			return -1;
		}
		if (ret == 0 && got == 0 && !inf_avail_in(s) && s->cpos == s->m->csize) {
			fmt(err, errlen, "deflate data truncated");
			return -1;
		}
		s->zend = ret == 1;
		if (s->crc_all)
			crc_add(s, dst, got);
		dst += got;
		n -= got;
		s->pos += got;
	}
	return 0;
}

/* At the member's end: nothing more to inflate, and the CRC matches. */
static int ms_finish(ms_t *s, char *err, size_t errlen, int *io)
{
	if (s->done)
		return 0;
	s->done = 1;
	while (s->zinit && !s->zend) {
		unsigned char extra;
		size_t got;
		int ret;
		if (ms_refill(s, err, errlen, io))
			return -1;
		ret = inf_step(s, &extra, 1, &got, err, errlen);
		if (got) {
			fmt(err, errlen, "member inflates past its declared size of %llu bytes",
			    (unsigned long long)s->m->usize);
			return -1;
		}
		if (ret < 0) {
			*io = ret == -2;
			return -1;
		}
		if (ret == 0 && !inf_avail_in(s) && s->cpos == s->m->csize) {
			fmt(err, errlen, "deflate data truncated");
			return -1;
		}
		s->zend = ret == 1;
	}
	if (s->crc_all && s->crc != s->m->crc) {
		fmt(err, errlen, "CRC-32 mismatch (stored %08x, computed %08x)", s->m->crc, s->crc);
		return -1;
	}
	return 0;
}

#define STORED_BLOCK (256u << 10)

/* Read n bytes from position pos (forward seeks skip; DEFLATE restarts to
 * go backwards). */
static int ms_read_at(ms_t *s, uint64_t pos, void *dst, size_t n, char *err, size_t errlen, int *io)
{
	if (pos > s->m->usize || n > s->m->usize - pos) {
		fmt(err, errlen, "read past the member's end (%llu bytes)", (unsigned long long)s->m->usize);
		return -1;
	}
	if (s->m->method == 0) {
		int rc;
		if (pos != s->pos)
			s->crc_all = 0;
		/* in blocks that stay in cache, each CRC'd as soon as it lands:
		 * one pass over memory instead of two for a chunk of tens of MB */
		size_t off = 0;
		do {
			size_t k = n - off < STORED_BLOCK ? n - off : STORED_BLOCK;
			rc = pread_all(s->z->fd, (unsigned char *)dst + off, k, s->m->data_off + pos + off);
			if (rc) {
				*io = rc == -2;
				fmt(err, errlen, rc == -2 ? "read error: %s" : "file truncated%s",
				    rc == -2 ? strerror(errno) : "");
				return -1;
			}
			if (s->crc_all)
				crc_add(s, (unsigned char *)dst + off, k);
			off += k;
		} while (off < n);
		s->pos = pos + n;
	} else {
		if (pos < s->pos)
			ms_restart(s);
		if (pos > s->pos) {
			unsigned char *tmp = xmalloc(ZIN_CHUNK);
			while (s->pos < pos) {
				uint64_t k = pos - s->pos;
				if (k > ZIN_CHUNK)
					k = ZIN_CHUNK;
				if (inflate_n(s, tmp, (size_t)k, err, errlen, io)) {
					free(tmp);
					return -1;
				}
			}
			free(tmp);
		}
		if (inflate_n(s, dst, n, err, errlen, io))
			return -1;
	}
	if (s->pos == s->m->usize)
		return ms_finish(s, err, errlen, io);
	return 0;
}

/* ---- .npy header ---- */

static const char *skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* A Python string literal in quotes; copies up to n-1 chars. */
static const char *parse_pystr(const char *p, const char *e, char *out, size_t n)
{
	char q;
	size_t k = 0;
	if (p >= e || (*p != '\'' && *p != '"'))
		return NULL;
	q = *p++;
	while (p < e && *p != q) {
		if (*p == '\\')
			return NULL;
		if (k + 1 < n)
			out[k++] = *p;
		p++;
	}
	if (p >= e)
		return NULL;
	out[k] = 0;
	return p + 1;
}

static int map_descr(const char *d, npy_info_t *info, char *err, size_t errlen)
{
	static const struct { char kind; int size; dtype_t dt; } tab[] = {
		{'f', 4, DT_F32}, {'f', 8, DT_F64}, {'i', 1, DT_I8}, {'i', 2, DT_I16},
		{'i', 4, DT_I32}, {'i', 8, DT_I64}, {'u', 1, DT_U8}, {'u', 2, DT_U16},
		{'u', 4, DT_U32}, {'u', 8, DT_U64}, {'b', 1, DT_BOOL},
	};
	char order = d[0], kind;
	char *end;
	long size;
	if (order != '<' && order != '>' && order != '|' && order != '=') {
		fmt(err, errlen, "unsupported dtype '%s'", d);
		return -1;
	}
	kind = d[1];
	if (kind == 'O') {
		fmt(err, errlen, "object arrays are not supported (dtype '%s')", d);
		return -1;
	}
	size = strtol(d + 2, &end, 10);
	if (*end || end == d + 2) {
		fmt(err, errlen, "unsupported dtype '%s'", d);
		return -1;
	}
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (tab[i].kind == kind && tab[i].size == size) {
			info->dtype = tab[i].dt;
			info->itemsize = (size_t)size;
			info->swap = order == '>' && size > 1;
			return 0;
		}
	fmt(err, errlen, "unsupported dtype '%s'", d);
	return -1;
}

int npy_parse_header(const unsigned char *buf, size_t len, npy_info_t *info, char *err, size_t errlen)
{
	size_t hlen, start;
	const char *p, *e;
	int have_descr = 0, have_fo = 0, have_shape = 0, fortran = 0;
	char descr[32] = "";

	memset(info, 0, sizeof *info);
	if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) {
		fmt(err, errlen, "not an .npy member (bad magic)");
		return -1;
	}
	if (buf[6] == 1) {
		hlen = le16(buf + 8);
		start = 10;
	} else if (buf[6] == 2 || buf[6] == 3) {
		if (len < 12) {
			fmt(err, errlen, ".npy header truncated");
			return -1;
		}
		hlen = le32(buf + 8);
		start = 12;
	} else {
		fmt(err, errlen, "unsupported .npy version %u.%u", buf[6], buf[7]);
		return -1;
	}
	if (hlen > MAX_NPY_HEADER || start + hlen > len) {
		fmt(err, errlen, ".npy header truncated or too long (%zu bytes)", hlen);
		return -1;
	}
	info->data_start = start + hlen;
	p = (const char *)buf + start;
	e = p + hlen;
	p = skip_ws(p, e);
	if (p >= e || *p++ != '{')
		goto syntax;
	for (;;) {
		char key[64];
		p = skip_ws(p, e);
		if (p < e && *p == '}')
			break;
		p = parse_pystr(p, e, key, sizeof key);
		if (!p)
			goto syntax;
		p = skip_ws(p, e);
		if (p >= e || *p++ != ':')
			goto syntax;
		p = skip_ws(p, e);
		if (strcmp(key, "descr") == 0) {
			if (p < e && *p == '[') {
				fmt(err, errlen, "structured dtypes are not supported");
				return -1;
			}
			p = parse_pystr(p, e, descr, sizeof descr);
			if (!p)
				goto syntax;
			have_descr = 1;
		} else if (strcmp(key, "fortran_order") == 0) {
			if (e - p >= 4 && memcmp(p, "True", 4) == 0) {
				fortran = 1;
				p += 4;
			} else if (e - p >= 5 && memcmp(p, "False", 5) == 0) {
				p += 5;
			} else
				goto syntax;
			have_fo = 1;
		} else if (strcmp(key, "shape") == 0) {
			if (p >= e || *p++ != '(')
				goto syntax;
			for (;;) {
				char *end;
				long long v;
				p = skip_ws(p, e);
				if (p < e && *p == ')') {
					p++;
					break;
				}
				if (info->ndim == TENSOR_MAXDIM) {
					fmt(err, errlen, "more than %d dimensions", TENSOR_MAXDIM);
					return -1;
				}
				if (p >= e || (*p < '0' || *p > '9')) {
					if (p < e && *p == '-') {
						fmt(err, errlen, "negative dimension in shape");
						return -1;
					}
					goto syntax;
				}
				/* digits within [p, e) only: the header is not
				 * NUL-terminated (strtoll read past it) */
				v = 0;
				for (end = (char *)p; end < e && *end >= '0' && *end <= '9'; end++) {
					if (v > (INT64_MAX - (*end - '0')) / 10) {
						fmt(err, errlen, "dimension too large in shape");
						return -1;
					}
					v = v * 10 + (*end - '0');
				}
				p = end;
				if (p < e && *p == 'L')
					p++;
				info->shape[info->ndim++] = v;
				p = skip_ws(p, e);
				if (p < e && *p == ',')
					p++;
				else if (p < e && *p == ')') {
					p++;
					break;
				} else
					goto syntax;
			}
			have_shape = 1;
		} else {
			fmt(err, errlen, "unexpected key '%s' in .npy header", key);
			return -1;
		}
		p = skip_ws(p, e);
		if (p < e && *p == ',') {
			p++;
			continue;
		}
		p = skip_ws(p, e);
		if (p < e && *p == '}')
			break;
		goto syntax;
	}
	if (!have_descr || !have_fo || !have_shape) {
		fmt(err, errlen, ".npy header lacks %s", !have_descr ? "descr" : !have_fo ? "fortran_order" : "shape");
		return -1;
	}
	snprintf(info->descr, sizeof info->descr, "%s", descr);
	if (map_descr(descr, info, err, errlen))
		return -1;
	info->fortran = fortran;
	{
		size_t numel = 1, nbytes;
		for (int i = 0; i < info->ndim; i++)
			if (!mul_ok(numel, (size_t)info->shape[i], &numel)) {
				fmt(err, errlen, "shape overflows");
				return -1;
			}
		if (!mul_ok(numel, info->itemsize, &nbytes)) {
			fmt(err, errlen, "shape overflows");
			return -1;
		}
		info->numel = numel;
	}
	return 0;
syntax:
	fmt(err, errlen, "malformed .npy header dict");
	return -1;
}

/* Read and check a member's header through an open member stream. */
static int read_info(ms_t *s, npy_info_t *info, char *err, size_t errlen, int *io)
{
	unsigned char head[12], *buf;
	size_t hl, total, n0;
	int rc;

	if (s->m->usize < 10) {
		fmt(err, errlen, "member too short for an .npy header");
		return -1;
	}
	if (ms_read_at(s, 0, head, s->m->usize < 12 ? 10 : 12, err, errlen, io))
		return -1;
	if (memcmp(head, "\x93NUMPY", 6) != 0) {
		fmt(err, errlen, "not an .npy member (bad magic)");
		return -1;
	}
	if (head[6] != 1 && s->m->usize < 12) {  /* head[10..11] were not read */
		fmt(err, errlen, ".npy header truncated or too long");
		return -1;
	}
	hl = head[6] == 1 ? le16(head + 8) : le32(head + 8);
	total = (head[6] == 1 ? 10 : 12) + hl;
	if (hl > MAX_NPY_HEADER || total > s->m->usize) {
		fmt(err, errlen, ".npy header truncated or too long");
		return -1;
	}
	buf = xmalloc(total);
	/* head holds n0 bytes; total may be less (a v1 header of 0 or 1 bytes) */
	n0 = s->m->usize < 12 ? 10 : 12;
	memcpy(buf, head, total < n0 ? total : n0);
	rc = total > n0 ? ms_read_at(s, n0, buf + n0, total - n0, err, errlen, io) : 0;
	if (!rc)
		rc = npy_parse_header(buf, total, info, err, errlen);
	free(buf);
	if (rc)
		return -1;
	info->method = s->m->method;
	if (info->numel * info->itemsize != s->m->usize - info->data_start) {
		fmt(err, errlen, "member holds %llu data bytes, shape and dtype need %zu",
		    (unsigned long long)(s->m->usize - info->data_start), info->numel * info->itemsize);
		return -1;
	}
	return 0;
}

int npz_info(npz_t *z, const char *key, npy_info_t *info, char *err, size_t errlen)
{
	member_t *m = find(z, key);
	ms_t s;
	int io = 0, rc;
	if (!m) {
		fmt(err, errlen, "no such member");
		return -1;
	}
	if (ms_open(&s, z, m, err, errlen, &io))
		return io ? -2 : -1;
	rc = read_info(&s, info, err, errlen, &io);
	ms_close(&s);
	return rc ? (io ? -2 : -1) : 0;
}

static void byteswap(void *data, size_t n, size_t size)
{
	unsigned char *p = data;
	for (size_t i = 0; i < n; i++, p += size)
		for (size_t a = 0, b = size - 1; a < b; a++, b--) {
			unsigned char t = p[a];
			p[a] = p[b];
			p[b] = t;
		}
}

/* The raw tensor in the file's dtype, converted to want. */
static tensor_t *finish_tensor(tensor_t *t, const npy_info_t *info, dtype_t want, char *err, size_t errlen)
{
	tensor_t *c;
	if (info->swap)
		byteswap(t->data, t->numel, info->itemsize);
	if (want == DT__N || want == t->dtype)
		return t;
	c = tensor_convert(t, want, err, errlen);
	tensor_free(t);
	return c;
}

/* ---- Fortran order ----
 *
 * A Fortran array of shape (d0, d1, ..., dk) holds element (i0, i1, ...) at
 * i0 + d0 * f, where f = i1 + d1 * (i2 + d2 * (...)) is the Fortran flat
 * index of the trailing dims: the data is R "columns" of d0 values, R =
 * d1 * ... * dk.  Rows [row0, row0 + n) are the runs [f * d0 + row0, +n)
 * of every column; the C-order row holds trailing element c (its C flat
 * index) from column perm[c]. */

/* perm (R): C flat index of the trailing dims -> their Fortran flat index. */
static size_t *trailing_perm(const npy_info_t *info, size_t R)
{
	size_t *perm = xmallocarray(R ? R : 1, sizeof *perm), idx[TENSOR_MAXDIM] = {0};
	for (size_t c = 0; c < R; c++) {
		size_t f = 0;
		for (int a = info->ndim - 1; a >= 1; a--)
			f = f * (size_t)info->shape[a] + idx[a];
		perm[c] = f;
		for (int a = info->ndim - 1; a >= 1; a--) {  /* next C index: last dim fastest */
			if (++idx[a] < (size_t)info->shape[a])
				break;
			idx[a] = 0;
		}
	}
	return perm;
}

/* out (n, R) C order: out[r][c] = src[perm[c] * ld + r], items of is bytes.
 * Tiles of 32 x 32 so that the reads of a tile stay in cache. */
#define F2C_TILE(T)                                                                     \
	do {                                                                            \
		T *o = out;                                                             \
		const T *sp = src;                                                      \
		for (size_t r = r0; r < r1; r++)                                        \
			for (size_t c = c0; c < c1; c++)                                \
				o[r * R + c] = sp[perm[c] * ld + r];                    \
	} while (0)
static void f2c(void *out, const void *src, size_t ld, size_t n, const size_t *perm, size_t R, size_t is)
{
	enum { B = 32 };
	for (size_t r0 = 0; r0 < n; r0 += B) {
		size_t r1 = n - r0 < B ? n : r0 + B;
		for (size_t c0 = 0; c0 < R; c0 += B) {
			size_t c1 = R - c0 < B ? R : c0 + B;
			switch (is) {
			case 1: F2C_TILE(uint8_t); break;
			case 2: F2C_TILE(uint16_t); break;
			case 4: F2C_TILE(uint32_t); break;
			default: F2C_TILE(uint64_t); break;
			}
		}
	}
}
#undef F2C_TILE

tensor_t *npz_read(npz_t *z, const char *key, dtype_t want, char *err, size_t errlen, int *io)
{
	npy_info_t info;
	member_t *m = find(z, key);
	ms_t s;
	tensor_t *t;
	unsigned char *raw = NULL;

	*io = 0;
	if (!m) {
		fmt(err, errlen, "no such member");
		return NULL;
	}
	if (ms_open(&s, z, m, err, errlen, io))
		return NULL;
	if (read_info(&s, &info, err, errlen, io)) {
		ms_close(&s);
		return NULL;
	}
	t = tensor_new_uninit(info.dtype, info.ndim, info.shape);
	if (info.fortran && info.ndim >= 2)
		raw = xmalloc(t->nbytes ? t->nbytes : 1);
	if (ms_read_at(&s, info.data_start, raw ? raw : t->data, t->nbytes, err, errlen, io) ||
	    ms_finish(&s, err, errlen, io)) {
		free(raw);
		tensor_free(t);
		ms_close(&s);
		return NULL;
	}
	ms_close(&s);
	if (raw) {
		size_t d0 = (size_t)info.shape[0], R = d0 ? t->numel / d0 : 0;
		size_t *perm = trailing_perm(&info, R);
		f2c(t->data, raw, d0, d0, perm, R, info.itemsize);
		free(perm);
		free(raw);
	}
	return finish_tensor(t, &info, want, err, errlen);
}

struct npz_rows {
	ms_t s;
	npy_info_t info;
	size_t rowbytes;
	/* Fortran order, ndim >= 2 (see the section above and npz.h) */
	int fortran;
	size_t R;               /* items per row */
	size_t *perm;
	unsigned char *mem;     /* the whole data, when held in memory */
	int fd;                 /* else the data starts at off in fd ... */
	uint64_t off;
	int tmpfd;              /* ... the .npz, or this temp file (-1: none) */
	unsigned char *scratch; /* (R, n) runs gathered */
	size_t scratch_cap;
	unsigned char *bounce;
	/* in-place STORED: CRC of each column over the rows read so far */
	uint32_t *colcrc;
	uint32_t headcrc;       /* of the bytes before the data */
	uint64_t crc_next;      /* the row that keeps the CRCs going */
	int crc_live;
	tensor_t *raw;          /* the file's values before a conversion */
	void *view;             /* the pages of the last view, mapped ... */
	size_t view_len;        /* ... this many bytes */
};

/* Unmap the last view: RSS stays at one chunk however large the file. */
static void view_release(npz_rows_t *r)
{
	if (r->view)
		munmap(r->view, r->view_len);
	r->view = NULL;
	r->view_len = 0;
}
/* An unlinked temporary file in $TMPDIR (or /tmp); -1 with err. */
static int temp_fd(char *err, size_t errlen)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	size_t n;
	int fd;
	if (!dir || !*dir)
		dir = "/tmp";
	n = strlen(dir) + sizeof "/npz2mp-XXXXXX";
	path = xmalloc(n);
	snprintf(path, n, "%s/npz2mp-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0) {
		fmt(err, errlen, "temporary file in %s: %s", dir, strerror(errno));
		free(path);
		return -1;
	}
	unlink(path);
	free(path);
	return fd;
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Set up a Fortran member's source: memory, the .npz itself or a temp file. */
static int fortran_open(npz_rows_t *r, char *err, size_t errlen, int *io)
{
	const npy_info_t *in = &r->info;
	uint64_t nbytes = (uint64_t)in->numel * in->itemsize;
	ms_t *s = &r->s;

	r->fortran = 1;
	r->R = (size_t)in->shape[0] ? in->numel / (size_t)in->shape[0] : 0;
	r->perm = trailing_perm(in, r->R);
	if (nbytes <= s->z->fortran_inmem) {
		r->mem = xmalloc(nbytes ? (size_t)nbytes : 1);
		if (ms_read_at(s, in->data_start, r->mem, (size_t)nbytes, err, errlen, io) ||
		    ms_finish(s, err, errlen, io))
			return -1;
		return 0;
	}
	r->bounce = xmalloc(BOUNCE);
	if (s->m->method == 0) {
		r->fd = s->z->fd;
		r->off = s->m->data_off + in->data_start;
		r->colcrc = xcalloc(r->R, sizeof *r->colcrc);  /* crc32 of nothing is 0 */
		r->headcrc = s->crc;
		r->crc_live = s->crc_all && s->pos == in->data_start;
		return 0;
	}
	r->tmpfd = temp_fd(err, errlen);
	if (r->tmpfd < 0) {
		*io = 1;
		return -1;
	}
	{
		unsigned char *buf = xmalloc(INFLATE_BLOCK);
		uint64_t done = 0;
		while (done < nbytes) {
			size_t k = nbytes - done < INFLATE_BLOCK ? (size_t)(nbytes - done) : INFLATE_BLOCK;
			if (ms_read_at(s, in->data_start + done, buf, k, err, errlen, io)) {
				free(buf);
				return -1;
			}
			if (write_all(r->tmpfd, buf, k)) {
				*io = 1;
				fmt(err, errlen, "temporary file: write error: %s", strerror(errno));
				free(buf);
				return -1;
			}
			done += k;
		}
		free(buf);
	}
	if (ms_finish(s, err, errlen, io))
		return -1;
	r->fd = r->tmpfd;
	r->off = 0;
	return 0;
}

/* Rows [row0, row0 + n) of a Fortran member into out (n, R), C order. */
static int fortran_rows(npz_rows_t *r, uint64_t row0, size_t n, void *out, char *err, size_t errlen, int *io)
{
	size_t is = r->info.itemsize, d0 = (size_t)r->info.shape[0], R = r->R, run = n * is;
	size_t per;  /* columns per pread */

	if (n == 0 || R == 0)
		return 0;
	if (r->mem) {
		f2c(out, r->mem + (size_t)row0 * is, d0, n, r->perm, R, is);
		return 0;
	}
	if (r->scratch_cap < R * run) {
		free(r->scratch);
		r->scratch_cap = R * run;
		r->scratch = xmalloc(r->scratch_cap);
	}
	/* neighbouring runs in one pread when the gap between them is small */
	per = (d0 - n) * is <= 4096 && d0 * is <= BOUNCE ? BOUNCE / (d0 * is) : 1;
	for (size_t j0 = 0; j0 < R; j0 += per) {
		size_t j1 = R - j0 < per ? R : j0 + per;
		uint64_t at = r->off + ((uint64_t)j0 * d0 + row0) * is;
		int rc;
		if (j1 - j0 == 1) {
			rc = pread_all(r->fd, r->scratch + j0 * run, run, at);
		} else {
			size_t span = ((j1 - j0 - 1) * d0 + n) * is;
			rc = pread_all(r->fd, r->bounce, span, at);
			for (size_t j = j0; !rc && j < j1; j++)
				memcpy(r->scratch + j * run, r->bounce + (j - j0) * d0 * is, run);
		}
		if (rc) {
			*io = rc == -2;
			fmt(err, errlen, rc == -2 ? "read error: %s" : "file truncated%s", rc == -2 ? strerror(errno) : "");
			return -1;
		}
	}
	if (r->colcrc && r->crc_live) {
		if (row0 != r->crc_next)
			r->crc_live = 0;
		else {
			for (size_t j = 0; j < R; j++)
				r->colcrc[j] = crc_buf(r->colcrc[j], r->scratch + j * run, run);
			r->crc_next = row0 + n;
		}
		if (r->crc_live && r->crc_next == d0) {
			uint32_t c = r->headcrc;
			for (size_t j = 0; j < R; j++)
				c = (uint32_t)crc32_combine(c, r->colcrc[j], (z_off_t)((uint64_t)d0 * is));
			r->crc_live = 0;
			if (c != r->s.m->crc) {
				fmt(err, errlen, "CRC-32 mismatch (stored %08x, computed %08x)", r->s.m->crc, c);
				return -1;
			}
		}
	}
	f2c(out, r->scratch, n, n, r->perm, R, is);
	return 0;
}

npz_rows_t *npz_rows_open(npz_t *z, const char *key, char *err, size_t errlen, int *io)
{
	npz_rows_t *r;
	member_t *m = find(z, key);
	*io = 0;
	if (!m) {
		fmt(err, errlen, "no such member");
		return NULL;
	}
	r = xcalloc(1, sizeof *r);
	r->fd = r->tmpfd = -1;
	if (ms_open(&r->s, z, m, err, errlen, io) || read_info(&r->s, &r->info, err, errlen, io)) {
		npz_rows_close(r);
		return NULL;
	}
	if (r->info.ndim < 1) {
		fmt(err, errlen, "a scalar has no rows");
		npz_rows_close(r);
		return NULL;
	}
	r->rowbytes = r->info.itemsize;
	for (int i = 1; i < r->info.ndim; i++)
		r->rowbytes *= (size_t)r->info.shape[i];
	if (r->info.fortran && r->info.ndim >= 2 && fortran_open(r, err, errlen, io)) {
		npz_rows_close(r);
		return NULL;
	}
	return r;
}

const npy_info_t *npz_rows_info(const npz_rows_t *r) { return &r->info; }

/* t's buffer, grown when it holds fewer than nbytes (same allocation as
 * lib/stream: 64-byte aligned, freed with free). */
static void reserve(tensor_t *t, size_t nbytes)
{
	size_t n = (nbytes + 63) & ~(size_t)63;
	if (t->data && !t->borrowed && t->nbytes >= nbytes)
		return;
	if (!t->borrowed)
		free(t->data);
	t->borrowed = 0;
	t->data = aligned_alloc(64, n ? n : 64);
	if (!t->data)
		die(EX_IO, "out of memory (%zu bytes)", nbytes);
}

tensor_t *npz_rows_read_into(npz_rows_t *r, uint64_t row0, uint64_t nrows, dtype_t want,
			     tensor_t *reuse, char *err, size_t errlen, int *io)
{
	int64_t shape[TENSOR_MAXDIM];
	tensor_t *t, *c;
	int convert = want != DT__N && want != r->info.dtype;
	size_t numel, nbytes;
	*io = 0;
	if (row0 > (uint64_t)r->info.shape[0] || nrows > (uint64_t)r->info.shape[0] - row0) {
		fmt(err, errlen, "rows %llu..%llu out of %lld", (unsigned long long)row0,
		    (unsigned long long)(row0 + nrows), (long long)r->info.shape[0]);
		return NULL;
	}
	if (!r->fortran && r->s.m->method == 8 && r->info.data_start + row0 * r->rowbytes < r->s.pos) {
		fmt(err, errlen, "rows must be read in order from a compressed member");
		return NULL;
	}
	memcpy(shape, r->info.shape, sizeof shape);
	shape[0] = (int64_t)nrows;
	if (!reuse && !convert)
		t = tensor_new_uninit(r->info.dtype, r->info.ndim, shape);
	else {
		/* the file's values land in reuse, or in the reader's raw buffer
		 * when they are converted afterwards */
		if (convert && !r->raw)
			r->raw = xcalloc(1, sizeof *r->raw);
		t = convert ? r->raw : reuse;
		numel = (size_t)nrows * (r->rowbytes / r->info.itemsize);
		nbytes = (size_t)nrows * r->rowbytes;
		reserve(t, nbytes);
		t->dtype = r->info.dtype;
		t->ndim = r->info.ndim;
		memset(t->shape, 0, sizeof t->shape);
		memcpy(t->shape, shape, (size_t)r->info.ndim * sizeof *shape);
		t->numel = numel;
		t->nbytes = nbytes;
	}
	if (r->fortran ? fortran_rows(r, row0, (size_t)nrows, t->data, err, errlen, io)
		       : ms_read_at(&r->s, r->info.data_start + row0 * r->rowbytes, t->data, t->nbytes, err, errlen, io)) {
		if (t != reuse && t != r->raw)
			tensor_free(t);
		return NULL;
	}
	if (r->info.swap)
		byteswap(t->data, t->numel, r->info.itemsize);
	if (!convert)
		return t;
	c = tensor_convert(t, want, err, errlen);
	if (!c || !reuse)
		return c;
	if (!reuse->borrowed)   /* the converted tensor moves into reuse */
		free(reuse->data);
	*reuse = *c;
	free(c);
	return reuse;
}

tensor_t *npz_rows_view(npz_rows_t *r, uint64_t row0, uint64_t nrows, dtype_t want,
			char *err, size_t errlen, int *io)
{
	npz_t *z = r->s.z;
	ms_t *s = &r->s;
	uint64_t pos = r->info.data_start + row0 * r->rowbytes;
	unsigned char *base;
	size_t n;
	tensor_t *t;
	*io = 0;
	err[0] = '\0';
	if (s->m->method != 0 || r->fortran || r->info.swap || (want != DT__N && want != r->info.dtype) ||
	    row0 > (uint64_t)r->info.shape[0] || nrows > (uint64_t)r->info.shape[0] - row0 ||
	    sizeof(size_t) < 8)
		return NULL;
	n = (size_t)nrows * r->rowbytes;
	if (pos > s->m->usize || n > s->m->usize - pos)
		return NULL;
	/* the values must lie at a multiple of their size in the file (the
	 * mapping is page-aligned), else reading them in place is undefined
	 * behaviour: zip puts a member's data wherever its header ends, so a
	 * numpy-written file may or may not qualify, member by member */
	if ((s->m->data_off + pos) % r->info.itemsize != 0)
		return NULL;
	view_release(r);
	{
		/* the chunk's pages, mapped with their page tables filled at once
		 * (MAP_POPULATE: cheaper than a fault per page); the member's bytes
		 * lie inside the file (checked at open) */
		size_t pg = (size_t)sysconf(_SC_PAGESIZE);
		uint64_t at = s->m->data_off + pos, lo = at / pg * pg;
		void *p = mmap(NULL, (size_t)(at + n - lo) + (n == 0), PROT_READ, MAP_SHARED | MAP_POPULATE,
			       z->fd, (off_t)lo);
		if (p == MAP_FAILED)
			return NULL;  /* the caller reads instead */
		r->view = p;
		r->view_len = (size_t)(at + n - lo) + (n == 0);
		base = (unsigned char *)p + (at - lo);
	}
	t = xcalloc(1, sizeof *t);
	t->dtype = r->info.dtype;
	t->ndim = r->info.ndim;
	memcpy(t->shape, r->info.shape, (size_t)r->info.ndim * sizeof *t->shape);
	t->shape[0] = (int64_t)nrows;
	t->numel = (size_t)nrows * (r->rowbytes / r->info.itemsize);
	t->nbytes = n;
	t->data = base;
	t->borrowed = 1;
	/* the CRC goes on while the member is read in order, as ms_read_at's */
	if (pos != s->pos)
		s->crc_all = 0;
	if (s->crc_all)
		crc_add(s, t->data, n);
	s->pos = pos + n;
	if (s->pos == s->m->usize && ms_finish(s, err, errlen, io)) {
		tensor_free(t);
		return NULL;
	}
	return t;
}

tensor_t *npz_rows_read(npz_rows_t *r, uint64_t row0, uint64_t nrows, dtype_t want,
			char *err, size_t errlen, int *io)
{
	return npz_rows_read_into(r, row0, nrows, want, NULL, err, errlen, io);
}

void npz_rows_close(npz_rows_t *r)
{
	if (!r)
		return;
	view_release(r);
	ms_close(&r->s);
	if (r->tmpfd >= 0)
		close(r->tmpfd);
	free(r->perm);
	free(r->mem);
	free(r->scratch);
	free(r->bounce);
	free(r->colcrc);
	tensor_free(r->raw);
	free(r);
}
