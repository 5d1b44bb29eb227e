/* npzw: write .npz files exactly as numpy's savez / savez_compressed do.
 *
 * An .npz is a ZIP archive with one .npy member per key ("node_feat.npy").
 * Each member is written the way numpy (zipfile.open(name, 'w',
 * force_zip64=True)) writes it: a local header with a ZIP64 extra field
 * (version 4.5), then the .npy bytes (v1.0 header, a Python dict literal
 * padded with spaces to a 64-byte boundary, then the raw little-endian data),
 * STORED or DEFLATE (raw deflate, zlib level 6 unless npzw_set_level), C or
 * Fortran order.  Only the timestamp differs
 * from numpy's output: npzw writes 1980-01-01 00:00:00 so that the same
 * arrays give the same bytes.  Sizes and offsets past 2^31-1 (Python's
 * ZIP64_LIMIT) get true ZIP64 central records and end records.
 *
 * The API streams: npzw_begin() a member (key, dtype, shape), npzw_write()
 * its bytes in any chunks, npzw_end() seeks back to patch the CRC and sizes
 * in the local header.  Nothing is held in memory but one deflate state, so
 * a multi-GB array can be written chunk by chunk.
 *
 * The archive is written to "PATH.tmp.PID" and renamed to PATH by
 * npzw_close(); npzw_abort() (or any failure) removes the temporary file.
 * Functions return 0 on success and -1 on failure with a message available
 * from npzw_error() (I/O errors include strerror). */
#ifndef TPU_NPZW_H
#define TPU_NPZW_H

#include <stddef.h>
#include <stdint.h>

enum { NPZW_STORED = 0, NPZW_DEFLATE = 8 };

typedef struct npzw npzw_t;

/* Opens PATH's temporary file.  NULL (with errno set) if it cannot be created. */
npzw_t *npzw_open(const char *path);
/* Begin member "KEY.npy" holding an array of numpy dtype DESCR ("<f4", "<i4",
 * "<i8", "|u1", "<u4", "<f8" ...) and SHAPE (ndim 0..32), C order.  The
 * caller must then write exactly prod(shape) * itemsize bytes. */
int npzw_begin(npzw_t *z, const char *key, const char *descr, int ndim,
	       const int64_t *shape, int method);
int npzw_write(npzw_t *z, const void *buf, size_t n);
int npzw_end(npzw_t *z);
/* The same with the element order given: FORTRAN != 0 writes
 * 'fortran_order': True in the .npy header, and the caller's bytes must then
 * be column-major (the first index varies fastest), as numpy stores an
 * F-contiguous array. */
int npzw_begin_order(npzw_t *z, const char *key, const char *descr, int ndim,
		     const int64_t *shape, int fortran, int method);
/* begin + write + end for an array held in memory. */
int npzw_add(npzw_t *z, const char *key, const char *descr, int ndim,
	     const int64_t *shape, const void *data, int method);
int npzw_add_order(npzw_t *z, const char *key, const char *descr, int ndim,
		   const int64_t *shape, int fortran, const void *data, int method);
/* Central directory, end records, flush, rename to PATH, free.  On failure
 * the temporary file is removed and z is freed: the message is then copied
 * to ERR (ERRLEN bytes) if ERR is not NULL. */
int npzw_close(npzw_t *z, char *err, size_t errlen);
/* Remove the temporary file and free z. */
void npzw_abort(npzw_t *z);
const char *npzw_error(const npzw_t *z);

/* Bytes per element of a numpy descr npzw knows ("<f4" -> 4); 0 if unknown. */
size_t npzw_itemsize(const char *descr);
/* The .npy v1.0 header numpy writes for (descr, shape, order): into buf
 * (cap bytes), returns its length (a multiple of 64), or 0 if it does not
 * fit. */
size_t npzw_npy_header(char *buf, size_t cap, const char *descr, int ndim,
		       const int64_t *shape, int fortran);

/* The level of the DEFLATE members begun after the call: zlib's 0..9 or -1
 * (Z_DEFAULT_COMPRESSION, level 6: numpy's, the default); with NPZW_ISAL
 * (npzw_set_engine, first) ISA-L's 0..3.  -1 with a message for a level out
 * of range. */
int npzw_set_level(npzw_t *z, int level);
/* The DEFLATE engine of the members begun after the call: NPZW_ZLIB (the
 * default: zlib's deflate, the bytes numpy writes at the same level) or
 * NPZW_ISAL (ISA-L's igzip, levels 0..NPZW_ISAL_MAX_LEVEL, 1 unless set
 * after: about 5x faster than zlib level 1 on tpugen's arrays, and smaller;
 * any inflater reads it, but the bytes are not zlib's, and may differ
 * between ISA-L versions and CPU code paths).  -1 with a message for an
 * unknown engine, or NPZW_ISAL in a build without ISA-L. */
enum { NPZW_ZLIB = 0, NPZW_ISAL = 1, NPZW_ISAL_MAX_LEVEL = 3 };
int npzw_set_engine(npzw_t *z, int engine);
/* 1 when built with ISA-L (NPZ_ISAL): NPZW_ISAL can be set. */
int npzw_have_isal(void);
/* ZIP64 local headers as the published TpuGraphs files have them: every
 * local header version 4.5 with 0xffffffff for both sizes (the ZIP64 extra
 * holds them), every central record version 4.5 (made by and needed), no
 * central extra while sizes and offsets fit.  Off (the default): CPython
 * 3.11's zipfile, which writes the sizes in the local header while they fit
 * and version 2.0.  Readers must take the sizes from the central directory
 * or the extra either way. */
void npzw_set_zip64_local(npzw_t *z, int on);

/* Testing hook: sizes/offsets above LIMIT get true ZIP64 records (default
 * 2^31-1, as Python's zipfile).  Lets tests exercise ZIP64 with small data. */
void npzw_set_zip64_limit(npzw_t *z, uint64_t limit);

#endif
