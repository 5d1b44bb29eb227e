/* fuzz_npz: the zip + .npy reader (lib/npz.c) on a file holding the input,
 * called the way npz2mp calls it: npz_open, then for every member
 * npz_info, npz_read (the file's dtype and f32, i64 conversions) and the
 * row reader in forward steps. */
#include "fuzz.h"
#include "npz.h"

#include <string.h>
#include <unistd.h>

/* Members bigger than this (declared) are only indexed, not read: the
 * reader checks declared sizes against the file, and a deflate member may
 * legitimately inflate ~1000x, which is not a bug but slows the fuzzer. */
#define READ_LIMIT ((size_t)64 << 20)

static void check_tensor(const tensor_t *t, const npy_info_t *info)
{
	FUZZ_CHECK(t->ndim == info->ndim);
	FUZZ_CHECK(t->numel == info->numel);
	for (int d = 0; d < t->ndim; d++)
		FUZZ_CHECK(t->shape[d] == info->shape[d]);
	FUZZ_CHECK(t->nbytes == t->numel * dtype_size(t->dtype));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[512];
	int io = 0, fd = fuzz_memfd(data, size, path, sizeof path);
	npz_t *z;

	if (fd < 0)
		return 0;
	z = npz_open(path, err, sizeof err, &io);
	if (!z) {
		FUZZ_CHECK(err[0] != 0);
		close(fd);
		return 0;
	}
	for (size_t i = 0; i < npz_count(z) && i < 32; i++) {
		const char *key = npz_key(z, i);
		npy_info_t info;
		tensor_t *t;
		npz_rows_t *rows;

		FUZZ_CHECK(key != NULL);
		FUZZ_CHECK(npz_has(z, key));
		if (npz_info(z, key, &info, err, sizeof err) != 0)
			continue;
		FUZZ_CHECK(info.ndim >= 0 && info.ndim <= TENSOR_MAXDIM);
		FUZZ_CHECK(info.itemsize == dtype_size(info.dtype));
		if (info.numel > READ_LIMIT / (info.itemsize ? info.itemsize : 1))
			continue;
		t = npz_read(z, key, DT__N, err, sizeof err, &io);
		if (t) {
			check_tensor(t, &info);
			FUZZ_CHECK(t->dtype == info.dtype);
			tensor_free(t);
		}
		t = npz_read(z, key, DT_F32, err, sizeof err, &io);
		if (t) {
			check_tensor(t, &info);
			tensor_free(t);
		}
		t = npz_read(z, key, DT_I64, err, sizeof err, &io);
		if (t)
			tensor_free(t);
		rows = npz_rows_open(z, key, err, sizeof err, &io);
		if (!rows)
			continue;
		{
			const npy_info_t *ri = npz_rows_info(rows);
			uint64_t n0 = (uint64_t)ri->shape[0], at = 0, step = n0 / 3 + 1;
			FUZZ_CHECK(ri->ndim >= 1);
			for (int k = 0; k < 8 && at <= n0; k++) {
				uint64_t take = at + step > n0 ? n0 - at : step;
				t = npz_rows_read(rows, at, take, DT_F32, err, sizeof err, &io);
				if (!t)
					break;
				FUZZ_CHECK(t->ndim == ri->ndim && (uint64_t)t->shape[0] == take);
				tensor_free(t);
				at += take;
				if (take == 0)
					break;
			}
			/* past the end, and backwards: errors, never reads */
			t = npz_rows_read(rows, n0, 1, DT_F32, err, sizeof err, &io);
			FUZZ_CHECK(t == NULL);
			t = npz_rows_read(rows, 0, n0 ? 1 : 0, DT__N, err, sizeof err, &io);
			if (t)
				tensor_free(t);
		}
		npz_rows_close(rows);
	}
	FUZZ_CHECK(!npz_has(z, "no such member \x01"));
	npz_close(z);
	close(fd);
	return 0;
}
