/* fuzz_stream: the stream reader (sr_open_fd / sr_read) over an in-memory
 * file holding the input: the header rule, every record type, the end
 * record's counts, truncation and data after the end; each record returned
 * is exercised (fuzz_rec.h). */
#include "fuzz_rec.h"

#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[1024];
	int fd = fuzz_memfd(data, size, path, sizeof path), rc = SR_OK;
	sreader_t *sr;
	record_t *r;
	uint64_t n = 0;

	if (fd < 0)
		return 0;
	sr = sr_open_fd(fd, "fuzz");
	sr_set_max_record(sr, (size_t)64 << 20);
	while (n < 100000) {
		err[0] = 0;
		rc = sr_read(sr, &r, err, sizeof err);
		if (rc != SR_OK)
			break;
		FUZZ_CHECK(r != NULL);
		FUZZ_CHECK(r->index == n);
		FUZZ_CHECK(r->offset <= size);
		if (n == 0)
			FUZZ_CHECK(rec_is(r, "header"));
		fuzz_exercise(r);
		rec_free(r);
		n++;
	}
	FUZZ_CHECK(sr_records(sr) == n);
	FUZZ_CHECK(sr_offset(sr) <= size);
	if (rc == SR_DONE) {
		/* a finished stream: at least header and end, and it stays done */
		FUZZ_CHECK(n >= 2);
		FUZZ_CHECK(sr_read(sr, &r, err, sizeof err) == SR_DONE && r == NULL);
	} else if (rc != SR_OK) {
		FUZZ_CHECK(err[0] != 0);
	}
	sr_close(sr);
	close(fd);
	return 0;
}
