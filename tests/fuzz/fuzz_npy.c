/* fuzz_npy: the .npy header parser (npy_parse_header), on the input as the
 * bytes from the magic on. */
#include "fuzz.h"
#include "err.h"
#include "npz.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	npy_info_t info;
	char err[512];
	size_t numel = 1;

	err[0] = 0;
	if (npy_parse_header(data, size, &info, err, sizeof err) != 0) {
		FUZZ_CHECK(err[0] != 0);
		return 0;
	}
	FUZZ_CHECK(info.ndim >= 0 && info.ndim <= TENSOR_MAXDIM);
	FUZZ_CHECK(info.dtype < DT__N);
	FUZZ_CHECK(info.itemsize == dtype_size(info.dtype));
	FUZZ_CHECK(info.data_start <= size);
	FUZZ_CHECK(memchr(info.descr, 0, sizeof info.descr) != NULL);
	for (int d = 0; d < info.ndim; d++) {
		FUZZ_CHECK(info.shape[d] >= 0);
		FUZZ_CHECK(mul_ok(numel, (size_t)info.shape[d], &numel));
	}
	FUZZ_CHECK(numel == info.numel);
	/* numel * itemsize is what the reader allocates: it must not wrap */
	FUZZ_CHECK(mul_ok(info.numel, info.itemsize, &numel));
	return 0;
}
