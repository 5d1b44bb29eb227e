/* test_gnn_msg: the GIN and GAT kernels of gnn.h against their naive twins
 * and against central finite differences.
 *
 * As test_nn: the double-precision _naive forward gives the loss
 * L = sum(dout * y); central differences of L (step 1e-6, in double) give
 * the reference gradient of h and of every weight.  The _naive backward and
 * the fast float backward (run after the scratch was overwritten with
 * garbage: it must recompute from h) must match within 1e-4 relative, the
 * fast forward the naive one within 1e-5.  Bigger shapes then compare fast
 * against naive with one and two threads, two runs with two threads bit
 * for bit, and calls from inside a parallel region (one config per thread,
 * each with its own scratch) against the call over the whole batch. */
#include "ut.h"
#include "ut_num.h"
#include "gnn.h"
#include "nn.h"
#include "err.h"

#include <omp.h>
#include <stdint.h>

#define MAXP 5

/* ---- helpers (the rest in ut_num.h) ---- */

/* The largest errors seen, per kind of check, for the summary line. */
static double worst_fd, worst_fwd, worst_big, worst_par;

/* check_rel, keeping the largest error of its kind in *worst. */
static int check_relw(const char *what, double err, double tol, double *worst)
{
	if (worst && err > *worst)
		*worst = err;
	return check_rel(what, err, tol);
}

static void check_grad(const char *name, loss_fn loss, void *ctx, double *x,
		       size_t n, const double *g_naive, const float *g_fast)
{
	double *fd = fd_grad(loss, ctx, x, n);
	char what[128];
	snprintf(what, sizeof what, "naive d%s vs finite differences", name);
	check_relw(what, rel_err_d(g_naive, fd, n), FD_TOL, &worst_fd);
	snprintf(what, sizeof what, "fast d%s vs finite differences", name);
	check_relw(what, rel_err_f(g_fast, fd, n), FD_TOL, &worst_fd);
	free(fd);
}

/* m edges on nodes 0..n-2 (node n-1 isolated; self loops allowed), the
 * last a copy of the first (an edge listed twice). */
static int32_t *rand_edges(size_t n, size_t m)
{
	int32_t *e = xmallocarray(2 * m + 1, sizeof *e);
	for (size_t i = 0; i < m; i++) {
		e[2 * i] = (int32_t)((urand() + 1) * 0.5 * (double)(n - 1)) % (int32_t)(n - 1);
		e[2 * i + 1] = (int32_t)((urand() + 1) * 0.5 * (double)(n - 1)) % (int32_t)(n - 1);
	}
	if (m >= 2) {
		e[2 * (m - 1)] = e[0];
		e[2 * (m - 1) + 1] = e[1];
	}
	return e;
}

/* ---- a layer under test: GIN or GAT behind one interface ---- */

typedef struct layer layer_t;

typedef struct {
	const char *name;
	/* y = the naive forward into L->out */
	void (*naive_fwd)(layer_t *L);
	/* accumulate the naive gradients of h and of the weights */
	void (*naive_bwd)(layer_t *L, double *dh, double **dp);
	size_t (*scratch)(const layer_t *L, size_t B);
	void (*fwd)(const layer_t *L, float *y, float *scr, const float *h, size_t B);
	/* dp[i] NULL skips that gradient */
	void (*bwd)(const layer_t *L, float *dh, float **dp, float *scr, const float *dy,
		    const float *h, size_t B);
} ops_t;

struct layer {
	const ops_t *o;
	size_t B, N, H, K;
	const nn_adj_t *a;
	int np;
	const char *pname[MAXP];
	size_t psz[MAXP];
	double *h, *p[MAXP], *dout, *out;   /* the reference, in double */
	float *fh, *fp[MAXP], *fdout;       /* the same in float */
};

static double layer_loss(void *ctx)
{
	layer_t *L = ctx;
	L->o->naive_fwd(L);
	return dot(L->out, L->dout, L->B * L->N * L->H);
}

/* ---- GIN: p = eps, W1, b1, W2, b2 ---- */

static void gin_naive_fwd(layer_t *L)
{
	nn_gin_forward_naive(L->out, L->h, L->p[0], L->p[1], L->p[2], L->p[3], L->p[4],
			     L->a, L->B, L->H);
}

static void gin_naive_bwd(layer_t *L, double *dh, double **dp)
{
	nn_gin_backward_naive(dh, dp[0], dp[1], dp[2], dp[3], dp[4], L->dout, L->h, L->p[0],
			      L->p[1], L->p[2], L->p[3], L->p[4], L->a, L->B, L->H);
}

static size_t gin_scr(const layer_t *L, size_t B)
{
	return nn_gin_scratch(B, L->N, L->H);
}

static void gin_fwd(const layer_t *L, float *y, float *scr, const float *h, size_t B)
{
	nn_gin_forward(y, scr, h, L->fp[0], L->fp[1], L->fp[2], L->fp[3], L->fp[4], L->a, B,
		       L->H);
}

static void gin_bwd(const layer_t *L, float *dh, float **dp, float *scr, const float *dy,
		    const float *h, size_t B)
{
	nn_gin_backward(dh, dp[0], dp[1], dp[2], dp[3], dp[4], scr, dy, h, L->fp[0], L->fp[1],
			L->fp[2], L->fp[3], L->fp[4], L->a, B, L->H);
}

static const ops_t gin_ops = { "gin", gin_naive_fwd, gin_naive_bwd, gin_scr, gin_fwd, gin_bwd };

/* ---- GAT: p = W, A, bias ---- */

static void gat_naive_fwd(layer_t *L)
{
	nn_gat_forward_naive(L->out, L->h, L->p[0], L->p[1], L->p[2], L->a, L->B, L->H, L->K);
}

static void gat_naive_bwd(layer_t *L, double *dh, double **dp)
{
	nn_gat_backward_naive(dh, dp[0], dp[1], dp[2], L->dout, L->h, L->p[0], L->p[1], L->p[2],
			      L->a, L->B, L->H, L->K);
}

static size_t gat_scr(const layer_t *L, size_t B)
{
	return nn_gat_scratch(B, L->N, L->a->m, L->H, L->K);
}

static void gat_fwd(const layer_t *L, float *y, float *scr, const float *h, size_t B)
{
	nn_gat_forward(y, scr, h, L->fp[0], L->fp[1], L->fp[2], L->a, B, L->H, L->K);
}

static void gat_bwd(const layer_t *L, float *dh, float **dp, float *scr, const float *dy,
		    const float *h, size_t B)
{
	nn_gat_backward(dh, dp[0], dp[1], dp[2], scr, dy, h, L->fp[0], L->fp[1], L->fp[2],
			L->a, B, L->H, L->K);
}

static const ops_t gat_ops = { "gat", gat_naive_fwd, gat_naive_bwd, gat_scr, gat_fwd, gat_bwd };

/* Random inputs and weights at scales where the softmax and the GELU are
 * in their curved range and float rounding stays near 1e-6. */
static void layer_init(layer_t *L, const ops_t *o, const nn_adj_t *a, size_t B, size_t H,
		       size_t K)
{
	memset(L, 0, sizeof *L);
	L->o = o;
	L->B = B;
	L->N = a->n;
	L->H = H;
	L->K = K;
	L->a = a;
	size_t n = B * a->n * H;
	double ws = 1.5 / sqrt((double)H);
	if (o == &gin_ops) {
		static const char *names[] = { "eps", "W1", "b1", "W2", "b2" };
		size_t sz[] = { 1, H * H, H, H * H, H };
		double sc[] = { 0.5, ws, 0.5, ws, 0.5 };
		L->np = 5;
		for (int i = 0; i < 5; i++) {
			L->pname[i] = names[i];
			L->psz[i] = sz[i];
			L->p[i] = drand_new(sz[i], sc[i]);
		}
		L->h = drand_new(n, 0.7);
	} else {
		static const char *names[] = { "W", "A", "bias" };
		size_t sz[] = { H * H, 4 * H, H };
		double sc[] = { ws, 1.0, 0.5 };
		L->np = 3;
		for (int i = 0; i < 3; i++) {
			L->pname[i] = names[i];
			L->psz[i] = sz[i];
			L->p[i] = drand_new(sz[i], sc[i]);
		}
		L->h = drand_new(n, 1.0);
	}
	L->dout = drand_new(n, 1.0);
	L->out = dzero(n);
	L->fh = tof(L->h, n);
	L->fdout = tof(L->dout, n);
	for (int i = 0; i < L->np; i++)
		L->fp[i] = tof(L->p[i], L->psz[i]);
}

static void layer_free(layer_t *L)
{
	free(L->h);
	free(L->dout);
	free(L->out);
	free(L->fh);
	free(L->fdout);
	for (int i = 0; i < L->np; i++) {
		free(L->p[i]);
		free(L->fp[i]);
	}
}

/* Gradients of one backward, float or double. */
typedef struct {
	float *dh, *dp[MAXP];
} fgrad_t;

static void fgrad_new(fgrad_t *g, const layer_t *L, size_t nh)
{
	memset(g, 0, sizeof *g);
	g->dh = fzero(nh);
	for (int i = 0; i < L->np; i++)
		g->dp[i] = fzero(L->psz[i]);
}

static void fgrad_free(fgrad_t *g, const layer_t *L)
{
	free(g->dh);
	for (int i = 0; i < L->np; i++)
		free(g->dp[i]);
}

static int fgrad_same(const fgrad_t *x, const fgrad_t *y, const layer_t *L, size_t nh)
{
	int same = memcmp(x->dh, y->dh, nh * sizeof *x->dh) == 0;
	for (int i = 0; i < L->np; i++)
		same &= memcmp(x->dp[i], y->dp[i], L->psz[i] * sizeof *x->dp[i]) == 0;
	return same;
}

/* A scratch of exactly the layer's size (so that ASan sees an overrun),
 * filled with a finite garbage value. */
static float *scratch_new(const layer_t *L, size_t B)
{
	size_t n = L->o->scratch(L, B);
	float *s = xmallocarray(n ? n : 1, sizeof *s);
	for (size_t i = 0; i < n; i++)
		s[i] = (i & 1) ? 1e30f : -3e29f;
	return s;
}

static void scratch_garbage(float *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s[i] = (i % 3) ? 7.5e29f : -1e30f;
}

/* ---- the small case: finite differences ---- */

static void run_fd(const ops_t *o, size_t B, size_t N, size_t H, size_t K, size_t m)
{
	int32_t *e = rand_edges(N, m);
	nn_adj_t a;
	UT_EQ_INT(nn_adj_build(&a, N, e, m), 0);
	layer_t L;
	layer_init(&L, o, &a, B, H, K);
	size_t n = B * N * H, ns = o->scratch(&L, B);
	char what[160];

	/* naive gradients */
	double *dh = dzero(n), *dp[MAXP] = { 0 };
	for (int i = 0; i < L.np; i++)
		dp[i] = dzero(L.psz[i]);
	layer_loss(&L);
	o->naive_bwd(&L, dh, dp);

	/* fast forward */
	float *scr = scratch_new(&L, B), *y = fzero(n);
	o->fwd(&L, y, scr, L.fh, B);
	snprintf(what, sizeof what, "%s: fast forward vs naive", o->name);
	check_relw(what, rel_err_f(y, L.out, n), FWD_TOL, &worst_fwd);

	/* fast backward after the forward, then after garbage: same bits */
	fgrad_t g1, g2;
	fgrad_new(&g1, &L, n);
	fgrad_new(&g2, &L, n);
	o->bwd(&L, g1.dh, g1.dp, scr, L.fdout, L.fh, B);
	scratch_garbage(scr, ns);
	o->bwd(&L, g2.dh, g2.dp, scr, L.fdout, L.fh, B);
	snprintf(what, sizeof what, "%s: backward recomputes (garbage scratch)", o->name);
	ut_check(fgrad_same(&g1, &g2, &L, n), what, __FILE__, __LINE__);

	/* against finite differences */
	snprintf(what, sizeof what, "h (%s)", o->name);
	check_grad(what, layer_loss, &L, L.h, n, dh, g2.dh);
	for (int i = 0; i < L.np; i++) {
		snprintf(what, sizeof what, "%s (%s)", L.pname[i], o->name);
		check_grad(what, layer_loss, &L, L.p[i], L.psz[i], dp[i], g2.dp[i]);
	}

	/* accumulation: a second backward into g1 doubles every gradient */
	o->bwd(&L, g1.dh, g1.dp, scr, L.fdout, L.fh, B);
	int ok = 1;
	for (size_t i = 0; i < n; i++)
		ok &= fabsf(g1.dh[i] - 2 * g2.dh[i]) <= 1e-5f * (1 + fabsf(g2.dh[i]));
	for (int p = 0; p < L.np; p++)
		for (size_t i = 0; i < L.psz[p]; i++)
			ok &= fabsf(g1.dp[p][i] - 2 * g2.dp[p][i]) <= 1e-5f * (1 + fabsf(g2.dp[p][i]));
	snprintf(what, sizeof what, "%s: backward accumulates", o->name);
	ut_check(ok, what, __FILE__, __LINE__);
	/* the naive backward accumulates too */
	double *dh2 = dzero(n);
	for (size_t i = 0; i < n; i++)
		dh2[i] = dh[i];
	o->naive_bwd(&L, dh2, dp);
	ok = 1;
	for (size_t i = 0; i < n; i++)
		ok &= fabs(dh2[i] - 2 * dh[i]) <= 1e-12 * (1 + fabs(dh[i]));
	snprintf(what, sizeof what, "%s: naive backward accumulates", o->name);
	ut_check(ok, what, __FILE__, __LINE__);

	/* NULL weight gradients: dh alone, the same bits; all NULL: no-op */
	float *dh3 = fzero(n), *none[MAXP] = { 0 };
	o->bwd(&L, dh3, none, scr, L.fdout, L.fh, B);
	snprintf(what, sizeof what, "%s: dh alone equals dh with the weights'", o->name);
	ut_check(memcmp(dh3, g2.dh, n * sizeof *dh3) == 0, what, __FILE__, __LINE__);
	o->bwd(&L, NULL, none, scr, L.fdout, L.fh, B);
	/* each weight gradient alone equals the same one of the full call */
	ok = 1;
	for (int p = 0; p < L.np; p++) {
		float *only[MAXP] = { 0 };
		only[p] = fzero(L.psz[p]);
		o->bwd(&L, NULL, only, scr, L.fdout, L.fh, B);
		ok &= rel_err_ff(only[p], g2.dp[p], L.psz[p]) <= 1e-6;
		free(only[p]);
	}
	snprintf(what, sizeof what, "%s: each weight gradient alone", o->name);
	ut_check(ok, what, __FILE__, __LINE__);

	nn_adj_free(&a);
	free(e);
	free(dh);
	free(dh2);
	free(dh3);
	for (int i = 0; i < L.np; i++)
		free(dp[i]);
	free(scr);
	free(y);
	fgrad_free(&g1, &L);
	fgrad_free(&g2, &L);
	layer_free(&L);
}

/* ---- bigger shapes: threads, determinism, calls inside a parallel region ---- */

static void cmp_naive(const layer_t *L, const float *y, const fgrad_t *g, const double *dh,
		      double **dp, const char *tag)
{
	char what[160];
	size_t n = L->B * L->N * L->H;
	snprintf(what, sizeof what, "%s %s: fast forward vs naive", L->o->name, tag);
	check_relw(what, rel_err_f(y, L->out, n), FWD_TOL, &worst_fwd);
	snprintf(what, sizeof what, "%s %s: fast dh vs naive", L->o->name, tag);
	check_relw(what, rel_err_f(g->dh, dh, n), FD_TOL, &worst_big);
	for (int i = 0; i < L->np; i++) {
		snprintf(what, sizeof what, "%s %s: fast d%s vs naive", L->o->name, tag,
			 L->pname[i]);
		check_relw(what, rel_err_f(g->dp[i], dp[i], L->psz[i]), FD_TOL, &worst_big);
	}
}

static void run_big(const ops_t *o, size_t B, size_t N, size_t H, size_t K, size_t m)
{
	int32_t *e = rand_edges(N, m);
	nn_adj_t a;
	UT_EQ_INT(nn_adj_build(&a, N, e, m), 0);
	layer_t L;
	layer_init(&L, o, &a, B, H, K);
	size_t n = B * N * H, NH = N * H;
	char what[160];

	double *dh = dzero(n), *dp[MAXP] = { 0 };
	for (int i = 0; i < L.np; i++)
		dp[i] = dzero(L.psz[i]);
	layer_loss(&L);
	o->naive_bwd(&L, dh, dp);

	float *scr = scratch_new(&L, B);
	float *y1 = fzero(n), *y2 = fzero(n), *y3 = fzero(n);
	fgrad_t g1, g2, g3;
	fgrad_new(&g1, &L, n);
	fgrad_new(&g2, &L, n);
	fgrad_new(&g3, &L, n);

	/* one thread */
	nn_set_threads(1);
	o->fwd(&L, y1, scr, L.fh, B);
	o->bwd(&L, g1.dh, g1.dp, scr, L.fdout, L.fh, B);
	cmp_naive(&L, y1, &g1, dh, dp, "1 thread");

	/* two threads, twice: the same bits */
	nn_set_threads(2);
	o->fwd(&L, y2, scr, L.fh, B);
	o->bwd(&L, g2.dh, g2.dp, scr, L.fdout, L.fh, B);
	cmp_naive(&L, y2, &g2, dh, dp, "2 threads");
	o->fwd(&L, y3, scr, L.fh, B);
	o->bwd(&L, g3.dh, g3.dp, scr, L.fdout, L.fh, B);
	snprintf(what, sizeof what, "%s: two runs with 2 threads, same bits", o->name);
	ut_check(memcmp(y2, y3, n * sizeof *y2) == 0 && fgrad_same(&g2, &g3, &L, n), what,
		 __FILE__, __LINE__);

	/* inside a parallel region: one config per thread, each with its own
	 * scratch and weight gradients (summed in config order after) */
	float **pscr = xmallocarray(B, sizeof *pscr);
	fgrad_t *pg = xmallocarray(B, sizeof *pg);
	float *yp = fzero(n), *dhp = fzero(n);
	for (size_t b = 0; b < B; b++) {
		pscr[b] = scratch_new(&L, 1);
		fgrad_new(&pg[b], &L, 1);
	}
	int inside = 1;
	#pragma omp parallel for schedule(static, 1) num_threads(2) reduction(&& : inside)
	for (size_t b = 0; b < B; b++) {
		inside = inside && omp_in_parallel();
		o->fwd(&L, yp + b * NH, pscr[b], L.fh + b * NH, 1);
		scratch_garbage(pscr[b], o->scratch(&L, 1));
		o->bwd(&L, dhp + b * NH, pg[b].dp, pscr[b], L.fdout + b * NH, L.fh + b * NH, 1);
	}
	UT_CHECK(inside);
	snprintf(what, sizeof what, "%s: inside a parallel region, y", o->name);
	check_relw(what, rel_err_ff(yp, y2, n), FWD_TOL, &worst_par);
	snprintf(what, sizeof what, "%s: inside a parallel region, dh", o->name);
	check_relw(what, rel_err_ff(dhp, g2.dh, n), FWD_TOL, &worst_par);
	for (int i = 0; i < L.np; i++) {
		float *sum = fzero(L.psz[i]);
		for (size_t b = 0; b < B; b++)
			for (size_t j = 0; j < L.psz[i]; j++)
				sum[j] += pg[b].dp[i][j];
		snprintf(what, sizeof what, "%s: inside a parallel region, d%s", o->name,
			 L.pname[i]);
		check_relw(what, rel_err_ff(sum, g2.dp[i], L.psz[i]), FWD_TOL, &worst_par);
		free(sum);
	}

	for (size_t b = 0; b < B; b++) {
		free(pscr[b]);
		fgrad_free(&pg[b], &L);
	}
	free(pscr);
	free(pg);
	free(yp);
	free(dhp);
	nn_adj_free(&a);
	free(e);
	free(dh);
	for (int i = 0; i < L.np; i++)
		free(dp[i]);
	free(scr);
	free(y1);
	free(y2);
	free(y3);
	fgrad_free(&g1, &L);
	fgrad_free(&g2, &L);
	fgrad_free(&g3, &L);
	layer_free(&L);
}

/* A hand-checked case: one edge 0 <- 1 (0 consumes 1), H = 2, K = 1. */
static void test_gin_values(void)
{
	int32_t e[2] = { 0, 1 };
	nn_adj_t a;
	nn_adj_build(&a, 3, e, 1);
	/* W1 = I, b1 = 0, W2 = I, b2 = 0: y = gelu(g) */
	double h[6] = { 1, 2, 3, 4, 5, 6 }, eps = 0.5, I[4] = { 1, 0, 0, 1 }, z[2] = { 0, 0 };
	double y[6], g[6] = { 1.5 + 3, 3 + 4, 4.5 + 1, 6 + 2, 7.5, 9 }, ref[6];
	nn_gin_forward_naive(y, h, &eps, I, z, I, z, &a, 1, 2);
	nn_gelu_forward_naive(ref, g, 6);
	UT_CHECK(rel_err_d(y, ref, 6) < 1e-15);
	nn_adj_free(&a);
}

static double leaky_ref(double x)
{
	return x > 0 ? x : 0.2 * x;
}

static void test_gat_values(void)
{
	/* A = 0: uniform attention over L(u), y_u = mean of Z over L(u) */
	int32_t e[4] = { 0, 1, 0, 2 };
	nn_adj_t a;
	nn_adj_build(&a, 3, e, 2);
	double h[3] = { 1, 2, 4 }, W = 2, A[4] = { 0, 0, 0, 0 }, bias = 0.25, y[3];
	nn_gat_forward_naive(y, h, &W, A, &bias, &a, 1, 1, 1);
	/* L(0) = [0, 1, 2], L(1) = [1, 0], L(2) = [2, 0] */
	UT_NEAR(y[0], (2 + 4 + 8) / 3.0 + 0.25, 1e-14);
	UT_NEAR(y[1], (4 + 2) / 2.0 + 0.25, 1e-14);
	UT_NEAR(y[2], (8 + 2) / 2.0 + 0.25, 1e-14);
	/* the roles: A[0] on the destination, A[1 + r] on the source.
	 * Z = (2, 4, 8); nodes 1 and 2 are producers of 0 (role 1), 0 a
	 * consumer of 1 (role 2). */
	double A2[4] = { 1, 1, -1, 0.5 };
	nn_gat_forward_naive(y, h, &W, A2, &bias, &a, 1, 1, 1);
	double w0 = exp(2 + 2), w1 = exp(leaky_ref(2 - 4)), w2 = exp(leaky_ref(2 - 8));
	UT_NEAR(y[0], (w0 * 2 + w1 * 4 + w2 * 8) / (w0 + w1 + w2) + 0.25, 1e-12);
	double v1 = exp(4 + 4), v0 = exp(4 + 0.5 * 2);
	UT_NEAR(y[1], (v1 * 4 + v0 * 2) / (v1 + v0) + 0.25, 1e-12);
	float fh[3] = { 1, 2, 4 }, fW = 2, fA[4] = { 1, 1, -1, 0.5f }, fb = 0.25f, fy[3];
	float *scr = xmallocarray(nn_gat_scratch(1, 3, 2, 1, 1), sizeof *scr);
	nn_gat_forward(fy, scr, fh, &fW, fA, &fb, &a, 1, 1, 1);
	for (int i = 0; i < 3; i++)
		UT_NEAR(fy[i], y[i], 1e-5);
	free(scr);
	nn_adj_free(&a);
}

static void test_gin(void)
{
	run_fd(&gin_ops, 2, 6, 4, 1, 8);
	run_fd(&gin_ops, 1, 7, 5, 1, 12);
	run_fd(&gin_ops, 2, 4, 3, 1, 0);      /* no edges: g = (1 + eps) h */
	run_big(&gin_ops, 3, 60, 16, 1, 150);
	run_big(&gin_ops, 4, 500, 32, 1, 1500);   /* past the threading thresholds */
}

static void test_gat(void)
{
	run_fd(&gat_ops, 2, 6, 4, 2, 8);
	run_fd(&gat_ops, 1, 7, 6, 3, 12);
	run_fd(&gat_ops, 2, 5, 8, 2, 10);
	run_fd(&gat_ops, 1, 4, 4, 1, 0);      /* no edges: y = Z + bias */
	run_big(&gat_ops, 3, 60, 16, 4, 150);
	run_big(&gat_ops, 4, 500, 32, 4, 1500);
}

int main(void)
{
	nn_set_threads(2);
	UT_RUN(test_gin_values);
	UT_RUN(test_gat_values);
	UT_RUN(test_gin);
	UT_RUN(test_gat);
	/* the same through cblas_sgemm (the default off AVX-512 CPUs) */
	nn_gemm_mode(NN_GEMM_BLAS);
	UT_RUN(test_gin);
	UT_RUN(test_gat);
	nn_gemm_mode(NN_GEMM_AUTO);
	nn_set_threads(2);
	printf("largest relative errors: %.2g vs finite differences, %.2g forward, "
	       "%.2g fast vs naive backward, %.2g in a parallel region vs outside\n",
	       worst_fd, worst_fwd, worst_big, worst_par);
	return ut_done("test_gnn_msg");
}
