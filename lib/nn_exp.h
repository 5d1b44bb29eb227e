/* nn_exp: e^x in float for the kernels of nn.c and gnn_*.c (internal). */
#ifndef TPU_NN_EXP_H
#define TPU_NN_EXP_H

#include <stdint.h>
#include <string.h>

/* e^x in float, within about 2 ulp, branch-free so that the loops calling
 * it vectorise (libm's expf and tanhf do not, and were most of a training
 * step).  Round x / ln 2 to n with the 1.5 * 2^23 trick, reduce with ln 2
 * split in two, a degree-6 polynomial on [-ln2/2, ln2/2], scale by 2^n. */
static inline float nn_exp_f(float x)
{
	x = x < -87.3f ? -87.3f : x;
	x = x > 88.3f ? 88.3f : x;
	float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
	float r = x - n * 0.693145752f;
	r = r - n * 1.42860677e-6f;
	float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666679f +
		  r * (0.00833333377f + r * 0.00138888892f)))));
	uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
	float s;
	memcpy(&s, &bits, sizeof s);
	return p * s;
}

#endif
