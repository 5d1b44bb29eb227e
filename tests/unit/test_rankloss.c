/* test_rankloss: the difference-matrix margin loss and the MAPE auxiliary
 * loss against central finite differences and hand-computed values. */
#include "ut.h"
#include "nn.h"
#include "err.h"

#include <stdint.h>

static uint64_t seed_state = 0x2545f4914f6cdd1dull;

static double urand(void)  /* [-1, 1) */
{
	seed_state ^= seed_state << 13;
	seed_state ^= seed_state >> 7;
	seed_state ^= seed_state << 17;
	return (double)(seed_state >> 11) / 4503599627370496.0 - 1.0;
}

typedef struct {
	size_t n;
	double *s, *y;
	float *fs;
	int which;
} ctx_t;

static double loss_of(ctx_t *c, float *ds)
{
	/* the losses read float scores: scores are multiples of 2^-10 and the
	 * step 2^-20, so the float copy is exact */
	for (size_t i = 0; i < c->n; i++)
		c->fs[i] = (float)c->s[i];
	if (c->which == 0)
		return nn_diffmat_loss(ds, c->fs, c->y, c->n, 0.7, 1.3);
	return nn_mape_loss(ds, c->fs, c->y, c->n, 1.3);
}

static double rel_err(const float *a, const double *b, size_t n)
{
	double num = 0.0, den = 1e-12;
	for (size_t i = 0; i < n; i++) {
		num = fmax(num, fabs((double)a[i] - b[i]));
		den = fmax(den, fabs(b[i]));
	}
	return num / den;
}

static void check_fd(int which, size_t n, int ties)
{
	ctx_t c = { n, xcalloc(n, sizeof(double)), xcalloc(n, sizeof(double)),
		    xcalloc(n, sizeof(float)), which };
	for (size_t i = 0; i < n; i++) {
		c.s[i] = ldexp(floor(urand() * 1024), -10);
		c.y[i] = ties ? floor((urand() + 1.5) * 6) : exp(urand());
	}
	float *ds = xcalloc(n, sizeof *ds);
	loss_of(&c, ds);
	double h = ldexp(1, -20), *fd = xcalloc(n, sizeof *fd);
	for (size_t i = 0; i < n; i++) {
		double keep = c.s[i];
		c.s[i] = keep + h;
		double lp = 1.3 * loss_of(&c, NULL);
		c.s[i] = keep - h;
		double lm = 1.3 * loss_of(&c, NULL);
		c.s[i] = keep;
		fd[i] = (lp - lm) / (2 * h);
	}
	double e = rel_err(ds, fd, n);
	if (!UT_CHECK(e < 1e-4))
		fprintf(stderr, "  %s (n %zu, ties %d): relative error %.3g\n",
			which ? "mape" : "diffmat", n, ties, e);
	free(c.s); free(c.y); free(c.fs); free(ds); free(fd);
}

static void test_fd(void)
{
	for (int w = 0; w < 2; w++) {
		check_fd(w, 2, 0);
		check_fd(w, 9, 0);
		check_fd(w, 16, 1);
	}
}

static void test_diffmat_values(void)
{
	/* one pair, y 1 < e: margin 2 x log gap 1 = 2, score gap 0.5: loss 1.5 */
	float s[2] = { 0.0f, 0.5f };
	double y[2] = { 1.0, exp(1.0) };
	float ds[2] = { 0, 0 };
	UT_NEAR(nn_diffmat_loss(ds, s, y, 2, 2.0, 1.0), 1.5, 1e-12);
	UT_NEAR(ds[0], 1.0, 1e-7);
	UT_NEAR(ds[1], -1.0, 1e-7);
	/* the gap reached: no loss, no gradient */
	float s2[2] = { 0.0f, 2.5f };
	float d2[2] = { 0, 0 };
	UT_NEAR(nn_diffmat_loss(d2, s2, y, 2, 2.0, 1.0), 0.0, 0);
	UT_CHECK(d2[0] == 0.0f && d2[1] == 0.0f);
	/* ties carry no order; all ties: 0 */
	double yt[2] = { 3.0, 3.0 };
	UT_NEAR(nn_diffmat_loss(NULL, s, yt, 2, 2.0, 1.0), 0.0, 0);
	/* a wider runtime gap asks for a wider score gap */
	double yw[2] = { 1.0, exp(2.0) };
	UT_CHECK(nn_diffmat_loss(NULL, s2, yw, 2, 2.0, 1.0) > 1.0);
	/* a zero runtime stays finite */
	double y0[2] = { 0.0, 1.0 };
	float d0[2] = { 0, 0 };
	UT_CHECK(isfinite(nn_diffmat_loss(d0, s, y0, 2, 1.0, 1.0)) && isfinite(d0[0]));
}

static void test_mape_values(void)
{
	/* scores equal to the log-runtimes plus a constant: loss 0 */
	float s[3] = { 5.0f, 5.0f + (float)log(2.0), 5.0f + (float)log(4.0) };
	double y[3] = { 1.0, 2.0, 4.0 };
	UT_NEAR(nn_mape_loss(NULL, s, y, 3, 1.0), 0.0, 1e-6);
	/* one runtime 2x off in a pair: d = +-log(2)/2 */
	float s2[2] = { 0.0f, 0.0f };
	double y2[2] = { 1.0, 2.0 };
	double d = log(2.0) / 2;
	double want = (fabs(exp(d) - 1) + fabs(exp(-d) - 1)) / 2;
	float ds[2] = { 0, 0 };
	UT_NEAR(nn_mape_loss(ds, s2, y2, 2, 1.0), want, 1e-7);
	/* the gradient sums to zero (a constant shift of the scores costs nothing) */
	UT_NEAR(ds[0] + ds[1], 0.0, 1e-7);
	UT_CHECK(ds[0] > 0.0f);   /* config 0 is predicted too slow: push it down */
	/* a huge score stays finite */
	float sb[2] = { 1e6f, -1e6f };
	float db[2] = { 0, 0 };
	double lb = nn_mape_loss(db, sb, y2, 2, 1.0);
	UT_CHECK(isfinite(lb) && isfinite(db[0]) && isfinite(db[1]));
	UT_NEAR(nn_mape_loss(NULL, sb, y2, 0, 1.0), 0.0, 0);
}

int main(void)
{
	UT_RUN(test_fd);
	UT_RUN(test_diffmat_values);
	UT_RUN(test_mape_values);
	return ut_done("test_rankloss");
}
