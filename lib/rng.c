/* rng: see rng.h */
#include "rng.h"

#include <math.h>


uint64_t rng_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t rng_hash(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t x = seed, h;
	h = rng_splitmix64(&x);
	x = h ^ a;
	h = rng_splitmix64(&x);
	x = h ^ b;
	h = rng_splitmix64(&x);
	x = h ^ c;
	return rng_splitmix64(&x);
}

void rng_seed(rng_t *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = rng_splitmix64(&x);
	if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
		r->s[0] = 1; /* the all-zero state is a fixed point */
}

void rng_derive(rng_t *r, uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
	rng_seed(r, rng_hash(seed, a, b, c));
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_u64(rng_t *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double rng_uniform(rng_t *r)
{
	return (double)(rng_u64(r) >> 11) * 0x1.0p-53;
}

double rng_range(rng_t *r, double lo, double hi)
{
	return lo + (hi - lo) * rng_uniform(r);
}

double rng_normal(rng_t *r)
{
	/* Box-Muller, one value per call (no cached state: streams stay simple) */
	double u1 = rng_uniform(r), u2 = rng_uniform(r);
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

int64_t rng_int(rng_t *r, int64_t lo, int64_t hi)
{
	uint64_t span = (uint64_t)hi - (uint64_t)lo + 1, x, lim;
	if (hi <= lo)
		return lo;
	if (span == 0) /* the whole 64-bit range */
		return (int64_t)rng_u64(r);
	lim = UINT64_MAX - UINT64_MAX % span;
	do
		x = rng_u64(r);
	while (x >= lim);
	return lo + (int64_t)(x % span);
}

int rng_bernoulli(rng_t *r, double p)
{
	return rng_uniform(r) < p;
}

size_t rng_choice_w(rng_t *r, const double *w, size_t n)
{
	double tot = 0, x;
	for (size_t i = 0; i < n; i++)
		tot += w[i];
	x = rng_uniform(r) * tot;
	for (size_t i = 0; i < n; i++) {
		if (x < w[i])
			return i;
		x -= w[i];
	}
	for (size_t i = n; i-- > 0;) /* rounding: the last non-zero weight */
		if (w[i] > 0)
			return i;
	return 0;
}

void rng_sample(rng_t *r, void *base, size_t n, size_t k, size_t size)
{
	unsigned char *b = base;
	for (size_t i = 0; i < k; i++) {
		size_t j = i + (size_t)rng_int(r, 0, (int64_t)(n - 1 - i));
		for (size_t c = 0; c < size; c++) {
			unsigned char t = b[i * size + c];
			b[i * size + c] = b[j * size + c];
			b[j * size + c] = t;
		}
	}
}

void rng_shuffle(rng_t *r, void *base, size_t n, size_t size)
{
	unsigned char *b = base;
	if (n < 2)
		return;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)rng_int(r, 0, (int64_t)i);
		if (j == i)
			continue;
		for (size_t k = 0; k < size; k++) {
			unsigned char t = b[i * size + k];
			b[i * size + k] = b[j * size + k];
			b[j * size + k] = t;
		}
	}
}

int64_t rng_logint(rng_t *r, int64_t lo, int64_t hi)
{
	double v = exp(rng_range(r, log((double)lo), log((double)hi + 1)));
	int64_t x = (int64_t)v;
	return x < lo ? lo : x > hi ? hi : x;
}
