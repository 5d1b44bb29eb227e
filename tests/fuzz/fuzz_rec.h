/* fuzz_rec.h: what the stream harnesses do with every record they get. */
#ifndef TPU_FUZZ_REC_H
#define TPU_FUZZ_REC_H

#include "fuzz.h"
#include "err.h"
#include "stream.h"

#include <string.h>

/* Use every field the way filters do: typed getters, tensor element access
 * and conversion to every dtype (errors allowed, never a crash), and the
 * pack / unpack round trip, which must be exact after one normalisation. */
static void fuzz_exercise(record_t *r)
{
	char err[512], buf[256];
	size_t len1, len2;
	void *p1, *p2;
	record_t *back;
	int64_t iv;
	double fv;

	FUZZ_CHECK(r->type[0] != 0 && memchr(r->type, 0, sizeof r->type));
	for (size_t i = 0; i < r->n; i++) {
		field_t *f = &r->f[i];
		FUZZ_CHECK(f->key != NULL);
		FUZZ_CHECK(rec_get(r, f->key) == f);  /* keys are unique */
		(void)rec_int(r, f->key, &iv);
		(void)rec_float(r, f->key, &fv);
		(void)rec_str(r, f->key);
		if (f->kind != V_TENSOR)
			continue;
		tensor_t *t = f->v.t;
		size_t numel = 1;
		FUZZ_CHECK(t->ndim >= 0 && t->ndim <= TENSOR_MAXDIM);
		for (int d = 0; d < t->ndim; d++)
			FUZZ_CHECK(t->shape[d] >= 0 && mul_ok(numel, (size_t)t->shape[d], &numel));
		FUZZ_CHECK(numel == t->numel);
		FUZZ_CHECK(t->nbytes == t->numel * dtype_size(t->dtype));
		tensor_shape_str(t, buf, sizeof buf);
		if (t->numel) {
			(void)tensor_get_f(t, 0);
			(void)tensor_get_i(t, t->numel - 1);
		}
		if (t->numel > ((size_t)1 << 20))
			continue;
		for (int dt = 0; dt < DT__N; dt++) {
			tensor_t *c = tensor_convert(t, (dtype_t)dt, err, sizeof err);
			if (c) {
				FUZZ_CHECK(c->numel == t->numel && c->dtype == (dtype_t)dt);
				tensor_free(c);
			} else {
				FUZZ_CHECK(err[0] != 0);
			}
		}
	}
	p1 = rec_pack(r, &len1);
	back = rec_unpack(p1, len1, err, sizeof err);
	if (!back) {
		fprintf(stderr, "re-read of a packed record failed: %s\n", err);
		FUZZ_CHECK(back != NULL);
	}
	FUZZ_CHECK(strcmp(back->type, r->type) == 0 && back->n == r->n);
	p2 = rec_pack(back, &len2);
	FUZZ_CHECK(len1 == len2 && memcmp(p1, p2, len1) == 0);
	free(p1);
	free(p2);
	rec_free(back);
}

#endif
