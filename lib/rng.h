/* rng: a small seeded random number generator (xoshiro256**, seeded through
 * splitmix64).  Same seed, same sequence, on every machine and thread count:
 * give each independent piece of work its own stream with rng_derive(). */
#ifndef TPU_RNG_H
#define TPU_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint64_t s[4];
} rng_t;

/* splitmix64 step: advances *x and returns the next output. */
uint64_t rng_splitmix64(uint64_t *x);
/* Mix any number of 64-bit words into one seed (order matters). */
uint64_t rng_hash(uint64_t seed, uint64_t a, uint64_t b, uint64_t c);

void rng_seed(rng_t *r, uint64_t seed);
/* A stream for the work item (a, b, c) under seed: independent of how many
 * other streams exist or in which order they are drawn. */
void rng_derive(rng_t *r, uint64_t seed, uint64_t a, uint64_t b, uint64_t c);

uint64_t rng_u64(rng_t *r);
double rng_uniform(rng_t *r);                 /* [0, 1), 53 bits */
double rng_range(rng_t *r, double lo, double hi); /* [lo, hi) */
double rng_normal(rng_t *r);                  /* mean 0, sd 1 */
/* Integer uniform in [lo, hi] (inclusive), unbiased; lo <= hi. */
int64_t rng_int(rng_t *r, int64_t lo, int64_t hi);
int rng_bernoulli(rng_t *r, double p);
/* Index drawn with probability proportional to w[i] (w >= 0, sum > 0). */
size_t rng_choice_w(rng_t *r, const double *w, size_t n);
/* The first k steps of a Fisher-Yates shuffle from the front (k <= n):
 * for i < k, swap element i with one drawn uniformly from i..n-1.  The
 * first k elements are then a uniform sample of the n, in random order. */
void rng_sample(rng_t *r, void *base, size_t n, size_t k, size_t size);
/* Fisher-Yates shuffle of n elements of the given size. */
void rng_shuffle(rng_t *r, void *base, size_t n, size_t size);
/* Log-uniform in [lo, hi] (lo, hi > 0), rounded to an integer. */
int64_t rng_logint(rng_t *r, int64_t lo, int64_t hi);

#endif
