/* fuzz_csv: the Kaggle submission reader of rank-eval and rank-ensemble
 * (lib/csv.c): csv_parse on the input, then csv_configs on every row. */
#include "csv.h"
#include "fuzz.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	char err[512];
	csv_t c;
	size_t last = 0;

	memset(&c, 0, sizeof c);
	err[0] = 0;
	if (csv_parse(buf, size, &c, err, sizeof err) != 0) {
		FUZZ_CHECK(err[0] != 0);
		return 0;
	}
	for (size_t i = 0; i < c.n; i++) {
		const csv_row_t *r = &c.rows[i];
		int64_t *idx = NULL;
		size_t n = 0;

		FUZZ_CHECK(r->id_len > 0);
		FUZZ_CHECK(r->id >= buf && r->id + r->id_len <= buf + size);
		FUZZ_CHECK(r->cfg >= buf && r->cfg + r->cfg_len <= buf + size);
		/* a quoted ID may hold a comma (valid CSV; no graph id has one) */
		for (size_t k = 0; k < r->id_len; k++)
			FUZZ_CHECK((unsigned char)r->id[k] >= 0x20 && r->id[k] != 0x7f &&
				   r->id[k] != '"');
		FUZZ_CHECK(r->line > last);
		last = r->line;
		err[0] = 0;
		if (csv_configs(r->cfg, r->cfg_len, &idx, &n, err, sizeof err) == 0) {
			FUZZ_CHECK(n >= 1 && idx != NULL);
			for (size_t k = 0; k < n; k++)
				FUZZ_CHECK(idx[k] >= 0 && idx[k] <= CSV_MAX_INDEX);
			free(idx);
		} else {
			FUZZ_CHECK(idx == NULL && err[0] != 0);
		}
	}
	csv_free(&c);
	return 0;
}
