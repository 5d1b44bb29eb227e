/* npz: read numpy .npz files (a ZIP of .npy members) as numpy writes them.
 *
 * ZIP: STORED and DEFLATE members, ZIP64 (extra fields and end records),
 * data descriptors; sizes and offsets come from the central directory and
 * are checked against the file.  CRC-32 is verified whenever a member is
 * read through to its end.  .npy: versions 1.0, 2.0, 3.0, C or Fortran
 * order, the numeric dtypes (either byte order), converted to the caller's
 * dtype.  Every tensor handed out is in C order (row-major), whatever the
 * order in the file.
 *
 * Members are read whole (npz_read) or row by row (npz_rows_*) without
 * loading the rest: pread for STORED, one sequential inflate for DEFLATE;
 * or, for STORED C-order rows in the host's order, viewed in place in the
 * mapped file with no copy (npz_rows_view).
 * Inflate and CRC-32 by ISA-L (igzip, crc32_gzip_refl) when built with
 * NPZ_ISAL (the Makefile's default where libisal-dev is installed), else
 * by zlib.
 *
 * Fortran order (ndim >= 2; for ndim <= 1 the two orders are the same
 * bytes): the data is the C array of the reversed shape, so a block of rows
 * of the first dimension is one run of values per column, the runs d0
 * values apart.  Memory policy of the row reader, by the member's data size
 * (numel * itemsize):
 *   - up to the in-memory limit (default 64 MiB; env NPZ_FORTRAN_INMEM in
 *     bytes, or npz_set_fortran_inmem): read whole at npz_rows_open (CRC
 *     checked there), each row block transposed from memory;
 *   - larger, STORED: gathered in place from the .npz file by pread (one
 *     run per column, neighbouring runs read together), into a scratch
 *     buffer the size of the rows asked for, then transposed; the CRC is
 *     checked after the last row when the rows were read in order from row
 *     0 without a gap (a CRC per column, combined in file order at the end);
 *   - larger, DEFLATE: inflated once at npz_rows_open into an unlinked
 *     temporary file in $TMPDIR (default /tmp; CRC checked there), then
 *     gathered from it as for STORED.  Disk use: the member's data size.
 * So RSS stays at about the rows asked for plus the limit, whatever the
 * array's size.  The gather costs a pread per column (or per 1 MiB of
 * neighbouring columns) for each block of rows: read big blocks.  npz_read of a Fortran array holds the raw bytes and the
 * C-order tensor at once (twice the array); it is meant for small members. */
#ifndef TPU_NPZ_H
#define TPU_NPZ_H

#include "stream.h"

#include <stdint.h>

typedef struct npz npz_t;

typedef struct {
	char descr[32];      /* as written, e.g. "<f4" */
	dtype_t dtype;       /* its element type */
	int swap;            /* big-endian in the file */
	int ndim;
	int64_t shape[TENSOR_MAXDIM];
	size_t numel;
	size_t itemsize;
	uint64_t data_start; /* offset of the array data in the member */
	int method;          /* 0 STORED, 8 DEFLATE */
	int fortran;         /* fortran_order: True in the header */
} npy_info_t;

/* Open and index a .npz file.  NULL and err on failure; *io set to 1 when
 * the failure is a system error (open, read) rather than bad data. */
npz_t *npz_open(const char *path, char *err, size_t errlen, int *io);
void npz_close(npz_t *z);
size_t npz_count(const npz_t *z);
/* Member key i: the member name without its ".npy" suffix. */
const char *npz_key(const npz_t *z, size_t i);
int npz_has(const npz_t *z, const char *key);
/* Fortran-order members with at most this many data bytes are held in
 * memory by the row reader; larger ones are gathered from the file (see
 * above).  Applies to row readers opened afterwards. */
void npz_set_fortran_inmem(npz_t *z, uint64_t bytes);

/* Parse the member's .npy header.  0 ok, -1 bad data, -2 I/O (err set). */
int npz_info(npz_t *z, const char *key, npy_info_t *info, char *err, size_t errlen);
/* Read a whole member, converted to dtype want (DT__N: keep the file's).
 * NULL and err on failure (set *io on system errors). */
tensor_t *npz_read(npz_t *z, const char *key, dtype_t want, char *err, size_t errlen, int *io);

/* Row reader over the first dimension of a member. */
typedef struct npz_rows npz_rows_t;
npz_rows_t *npz_rows_open(npz_t *z, const char *key, char *err, size_t errlen, int *io);
const npy_info_t *npz_rows_info(const npz_rows_t *r);
/* Read rows [row0, row0 + nrows) into a new tensor of dtype want, shape
 * (nrows, dims 1..), in C order.  Rows must not go backwards for C-order
 * DEFLATE members (they may for STORED and for Fortran-order members).
 * After the last row the CRC is checked when every byte of the member went
 * through the reader in order. */
tensor_t *npz_rows_read(npz_rows_t *r, uint64_t row0, uint64_t nrows, dtype_t want,
			char *err, size_t errlen, int *io);
/* The same, into reuse when it is not NULL: reuse (a tensor the caller
 * owns, e.g. taken back from the record the last block went into) gets the
 * shape, dtype and values, keeping its buffer when that is big enough, and
 * is returned; so a loop over blocks costs one copy of the values and no
 * fresh pages.  NULL and err on failure, reuse still the caller's to free. */
tensor_t *npz_rows_read_into(npz_rows_t *r, uint64_t row0, uint64_t nrows, dtype_t want,
			     tensor_t *reuse, char *err, size_t errlen, int *io);
/* Rows [row0, row0 + nrows) without a copy: a tensor whose data points
 * into the file, mapped read-only (borrowed: tensor_free leaves the data;
 * free the tensor before npz_close).  Only for STORED, C-order members in
 * the host's byte order and dtype want (or DT__N), whose data lies in the
 * file at a multiple of the item size (zip does not align members: numpy's
 * files qualify or not by the length of the headers); NULL with err "" when
 * the member is not such (read it with npz_rows_read_into instead), NULL
 * with err set on bad data (the CRC, checked as npz_rows_read does).  The
 * view's data is valid until the next npz_rows_view on r, npz_rows_close
 * or npz_close (its pages are then dropped from the process, so RSS stays
 * at one view).  A file truncated by another process while mapped raises
 * SIGBUS: use it on files nobody writes. */
tensor_t *npz_rows_view(npz_rows_t *r, uint64_t row0, uint64_t nrows, dtype_t want,
			char *err, size_t errlen, int *io);
void npz_rows_close(npz_rows_t *r);

/* Parse an .npy header held in buf (the bytes from the magic on); for
 * tests and fuzzers.  Returns 0, or -1 with err. */
int npy_parse_header(const unsigned char *buf, size_t len, npy_info_t *info,
		     char *err, size_t errlen);

#endif
