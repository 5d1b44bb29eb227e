/* ut_num: the numeric helpers of the kernel tests (test_nn, test_gnn_*):
 * seeded random inputs, float/double copies, relative errors and central
 * finite differences.  Everything is static inline, so a test that does not
 * use one gets no warning. */
#ifndef UT_NUM_H
#define UT_NUM_H

#include "ut.h"
#include "err.h"

#include <stdint.h>

#ifndef FD_STEP
#define FD_STEP 1e-6    /* central differences, in double */
#endif
#ifndef FD_TOL
#define FD_TOL 1e-4     /* gradients vs finite differences, relative */
#endif
#ifndef FWD_TOL
#define FWD_TOL 1e-5    /* fast vs naive forward, relative */
#endif

static uint64_t ut_seed_state = 0x9e3779b97f4a7c15ull;

static inline double urand(void)  /* [-1, 1), xorshift64 */
{
	ut_seed_state ^= ut_seed_state << 13;
	ut_seed_state ^= ut_seed_state >> 7;
	ut_seed_state ^= ut_seed_state << 17;
	return (double)(ut_seed_state >> 11) / 4503599627370496.0 - 1.0;
}

static inline double *drand_new(size_t n, double scale)
{
	double *a = xmallocarray(n ? n : 1, sizeof *a);
	for (size_t i = 0; i < n; i++)
		a[i] = scale * urand();
	return a;
}

static inline double *dzero(size_t n)
{
	return xcalloc(n ? n : 1, sizeof(double));
}

static inline float *tof(const double *a, size_t n)
{
	float *f = xmallocarray(n ? n : 1, sizeof *f);
	for (size_t i = 0; i < n; i++)
		f[i] = (float)a[i];
	return f;
}

static inline float *fzero(size_t n)
{
	return xcalloc(n ? n : 1, sizeof(float));
}

/* max |a - b| / max |b| (b the reference), for double, float-vs-double and
 * float-vs-float. */
static inline double rel_err_d(const double *a, const double *b, size_t n)
{
	double num = 0.0, den = 1e-12;
	for (size_t i = 0; i < n; i++) {
		num = fmax(num, fabs(a[i] - b[i]));
		den = fmax(den, fabs(b[i]));
	}
	return num / den;
}

static inline double rel_err_f(const float *a, const double *b, size_t n)
{
	double num = 0.0, den = 1e-12;
	for (size_t i = 0; i < n; i++) {
		num = fmax(num, fabs((double)a[i] - b[i]));
		den = fmax(den, fabs(b[i]));
	}
	return num / den;
}

static inline double rel_err_ff(const float *a, const float *b, size_t n)
{
	double num = 0.0, den = 1e-12;
	for (size_t i = 0; i < n; i++) {
		num = fmax(num, fabs((double)a[i] - (double)b[i]));
		den = fmax(den, fabs((double)b[i]));
	}
	return num / den;
}

/* One check: err <= tol, with the error printed when it fails. */
static inline int check_rel(const char *what, double err, double tol)
{
	if (err > tol)
		fprintf(stderr, "  %s: %s relative error %.3g > %.3g\n", ut_test, what, err, tol);
	return ut_check(err <= tol, what, __FILE__, __LINE__);
}

typedef double (*loss_fn)(void *ctx);

/* Central differences of loss() with respect to every element of x (n),
 * with step h (fd_grad: FD_STEP). */
static inline double *fd_grad_step(loss_fn loss, void *ctx, double *x, size_t n, double h)
{
	double *g = dzero(n);
	for (size_t i = 0; i < n; i++) {
		double keep = x[i];
		x[i] = keep + h;
		double lp = loss(ctx);
		x[i] = keep - h;
		double lm = loss(ctx);
		x[i] = keep;
		g[i] = (lp - lm) / (2 * h);
	}
	return g;
}

static inline double *fd_grad(loss_fn loss, void *ctx, double *x, size_t n)
{
	return fd_grad_step(loss, ctx, x, n, FD_STEP);
}

static inline double dot(const double *a, const double *b, size_t n)
{
	double s = 0.0;
	for (size_t i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

#endif
