/* fuzz_record: one record from a buffer (rec_unpack), every record type:
 * header, graph, configs, pred, end and unknown ones are all maps with a
 * string key "t"; then each field is used and the record re-packed. */
#include "fuzz_rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	record_t *r;

	err[0] = 0;
	r = rec_unpack(data, size, err, sizeof err);
	if (!r) {
		FUZZ_CHECK(err[0] != 0);
		return 0;
	}
	fuzz_exercise(r);
	/* the setters on a record of unknown origin */
	rec_set_int(r, "count", 3);
	rec_set_str(r, "id", "fuzz:x");
	rec_del(r, "config_index");
	tensor_t *t = rec_take_tensor(r, "node_feat");
	if (t)
		tensor_free(t);
	fuzz_exercise(r);
	rec_free(r);
	return 0;
}
