/* test_train: the training loss (lib/train.h): its value is the weighted
 * sum of the losses it names, unscaled, and its gradient is `scale` times
 * the derivative of that value (central finite differences), for every
 * kind, with and without MAPE.  The logged loss of sage-train against the
 * PyTorch reference is in tests/cli/sage-train.bats. */
#include "ut.h"
#include "err.h"
#include "nn.h"
#include "train.h"

#include <stdint.h>

static uint64_t seed_state = 0x9e3779b97f4a7c15ull;

static double urand(void)  /* [-1, 1) */
{
	seed_state ^= seed_state << 13;
	seed_state ^= seed_state >> 7;
	seed_state ^= seed_state << 17;
	return (double)(seed_state >> 11) / 4503599627370496.0 - 1.0;
}

static void test_names(void)
{
	for (int k = 0; k < TRAIN_NLOSS; k++)
		UT_EQ_INT(train_loss_parse(train_loss_name(k)), k);
	UT_EQ_STR(train_loss_name(TRAIN_LOSS_MIXED), "mixed");
	UT_EQ_INT(train_loss_parse("mse"), -1);
	UT_CHECK(train_loss_name(TRAIN_NLOSS) == NULL);
	UT_CHECK(train_loss_name(-1) == NULL);
}

/* The value is the named sum, whatever the scale: the scale is the
 * gradient's alone (the bug of issue 16 logged w * scale * loss). */
static void test_value(void)
{
	enum { N = 10 };
	float s[N];
	double y[N];
	for (size_t i = 0; i < N; i++) {
		s[i] = (float)urand();
		y[i] = exp(urand());
	}
	double hinge = nn_hinge_loss(NULL, s, y, N, 0.2, 1.0);
	double listmle = nn_listmle_loss(NULL, s, y, N, 1.0);
	double diffmat = nn_diffmat_loss(NULL, s, y, N, 0.2, 1.0);
	double mape = nn_mape_loss(NULL, s, y, N, 1.0);
	UT_CHECK(hinge > 0 && listmle > 0 && diffmat > 0 && mape > 0);
	const double scales[3] = { 1.0, 0.125, 3.0 };
	for (int k = 0; k < 3; k++) {
		double sc = scales[k];
		train_loss_t L = { TRAIN_LOSS_HINGE, 0.2, 0.3, 0.0 };
		UT_NEAR(train_loss(&L, NULL, s, y, N, sc), hinge, 1e-12);
		L.kind = TRAIN_LOSS_LISTMLE;
		UT_NEAR(train_loss(&L, NULL, s, y, N, sc), listmle, 1e-12);
		L.kind = TRAIN_LOSS_MIXED;
		UT_NEAR(train_loss(&L, NULL, s, y, N, sc), 0.3 * hinge + 0.7 * listmle, 1e-12);
		L.kind = TRAIN_LOSS_DIFFMAT;
		UT_NEAR(train_loss(&L, NULL, s, y, N, sc), diffmat, 1e-12);
		L.mape = 0.5;
		UT_NEAR(train_loss(&L, NULL, s, y, N, sc), diffmat + 0.5 * mape, 1e-12);
		L.kind = TRAIN_LOSS_MIXED;
		UT_NEAR(train_loss(&L, NULL, s, y, N, sc),
			0.3 * hinge + 0.7 * listmle + 0.5 * mape, 1e-12);
	}
	/* mix 1 and 0 are hinge and ListMLE alone */
	train_loss_t L1 = { TRAIN_LOSS_MIXED, 0.2, 1.0, 0.0 }, L0 = { TRAIN_LOSS_MIXED, 0.2, 0.0, 0.0 };
	UT_NEAR(train_loss(&L1, NULL, s, y, N, 1.0), hinge, 1e-12);
	UT_NEAR(train_loss(&L0, NULL, s, y, N, 1.0), listmle, 1e-12);
}

typedef struct {
	train_loss_t L;
	size_t n;
	double *s, *y;
	float *fs;
} ctx_t;

static double value(ctx_t *c)
{
	/* scores are multiples of 2^-10 and the step 2^-20: the float copy is exact */
	for (size_t i = 0; i < c->n; i++)
		c->fs[i] = (float)c->s[i];
	return train_loss(&c->L, NULL, c->fs, c->y, c->n, 1.0);
}

/* ds = scale * d value / ds, and it accumulates. */
static void check_grad(train_loss_t L, size_t n, double scale)
{
	ctx_t c = { L, n, xcalloc(n, sizeof(double)), xcalloc(n, sizeof(double)),
		    xcalloc(n, sizeof(float)) };
	for (size_t i = 0; i < n; i++) {
		c.s[i] = ldexp(floor(urand() * 1024), -10);
		c.y[i] = floor((urand() + 1.5) * 6);   /* some ties */
	}
	float *ds = xcalloc(n, sizeof *ds);
	for (size_t i = 0; i < n; i++)
		ds[i] = 0.25f;   /* what was there stays: gradients accumulate */
	value(&c);
	train_loss(&c.L, ds, c.fs, c.y, n, scale);
	double h = ldexp(1, -20), num = 0.0, den = 1e-12;
	for (size_t i = 0; i < n; i++) {
		double keep = c.s[i];
		c.s[i] = keep + h;
		double lp = value(&c);
		c.s[i] = keep - h;
		double lm = value(&c);
		c.s[i] = keep;
		double fd = scale * (lp - lm) / (2 * h);
		num = fmax(num, fabs((double)ds[i] - 0.25 - fd));
		den = fmax(den, fabs(fd));
	}
	if (!UT_CHECK(num / den < 1e-4))
		fprintf(stderr, "  %s (mape %g, n %zu, scale %g): relative error %.3g\n",
			train_loss_name(L.kind), L.mape, n, scale, num / den);
	free(c.s); free(c.y); free(c.fs); free(ds);
}

static void test_grad(void)
{
	for (int k = 0; k < TRAIN_NLOSS; k++)
		for (int mape = 0; mape < 2; mape++) {
			train_loss_t L = { k, 0.3, 0.7, mape ? 0.4 : 0.0 };
			check_grad(L, 2, 1.0);
			check_grad(L, 12, 0.125);
			check_grad(L, 16, 2.0);
		}
}

int main(void)
{
	UT_RUN(test_names);
	UT_RUN(test_value);
	UT_RUN(test_grad);
	return ut_done("test_train");
}
