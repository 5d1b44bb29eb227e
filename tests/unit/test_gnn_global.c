/* test_gnn_global: linear attention, APPNP and the random-walk positional
 * encoding of gnn.h.
 *
 * As in test_nn: the double-precision _naive forward gives the loss
 * L = sum(dout * out); central differences of L (step 1e-6, in double) give
 * the reference gradient of the input and every weight; the _naive backward
 * and the fast float backward must both match it within 1e-4 relative
 * (max-norm relative error), the fast forward the naive one within 1e-5.
 * Bigger shapes then compare fast against naive with one and two threads,
 * two two-thread runs bit for bit, calls made inside a parallel region (one
 * block of configs per thread) against one call outside, and a backward
 * whose scratch holds garbage against one after its forward. */
#include "ut.h"
#include "ut_num.h"
#include "gnn.h"
#include "nn.h"
#include "err.h"

#include <omp.h>
#include <stdint.h>


/* ---- helpers (the rest in ut_num.h) ---- */

static float *fcopy(const float *a, size_t n)
{
	float *f = xmallocarray(n ? n : 1, sizeof *f);
	memcpy(f, a, n * sizeof *f);
	return f;
}

static void ffill(float *a, size_t n, float v)
{
	for (size_t i = 0; i < n; i++)
		a[i] = v;
}

/* The largest relative errors seen, by kind, printed at the end. */
static double worst_fd, worst_fwd, worst_big;

static void check_grad(const char *name, loss_fn loss, void *ctx, double *x,
		       size_t n, const double *g_naive, const float *g_fast)
{
	double *fd = fd_grad(loss, ctx, x, n);
	char what[128];
	double e = rel_err_d(g_naive, fd, n);
	worst_fd = fmax(worst_fd, e);
	snprintf(what, sizeof what, "naive d%s vs finite differences", name);
	check_rel(what, e, FD_TOL);
	if (g_fast) {
		e = rel_err_f(g_fast, fd, n);
		worst_fd = fmax(worst_fd, e);
		snprintf(what, sizeof what, "fast d%s vs finite differences", name);
		check_rel(what, e, FD_TOL);
	}
	free(fd);
}

static void check_fwd(const char *what, const float *a, const double *b, size_t n)
{
	double e = rel_err_f(a, b, n);
	worst_fwd = fmax(worst_fwd, e);
	check_rel(what, e, FWD_TOL);
}

static void check_big(const char *what, const float *a, const double *b, size_t n,
		      double tol)
{
	double e = rel_err_f(a, b, n);
	worst_big = fmax(worst_big, e);
	check_rel(what, e, tol);
}

/* m random edges over nodes 0 .. n-2 (node n-1 isolated), then edge 0
 * again (a duplicate): m + 1 edges in all. */
static int32_t *rand_edges(size_t n, size_t m)
{
	int32_t *e = xmallocarray(2 * m + 3, sizeof *e);
	for (size_t i = 0; i < m; i++) {
		e[2 * i] = (int32_t)((urand() + 1) * 0.5 * (double)(n - 1)) % (int32_t)(n - 1);
		e[2 * i + 1] = (int32_t)((urand() + 1) * 0.5 * (double)(n - 1)) % (int32_t)(n - 1);
	}
	e[2 * m] = m ? e[0] : 0;
	e[2 * m + 1] = m ? e[1] : 0;
	return e;
}

static void build_graph(nn_adj_t *a, size_t n, size_t m)
{
	int32_t *e = rand_edges(n, m);
	UT_EQ_INT(nn_adj_build(a, n, e, m + 1), 0);
	free(e);
}

/* Rows [*r0, *r1) of n for thread t of nt. */
static void slab(size_t n, int t, int nt, size_t *r0, size_t *r1)
{
	*r0 = n * (size_t)t / (size_t)nt;
	*r1 = n * (size_t)(t + 1) / (size_t)nt;
}

/* ---- linear attention ---- */

typedef struct {
	size_t B, N, H, K;
	double *h, *Wqkv, *bqkv, *Wo, *bo, *dout, *out;
} la_ctx;

static double la_loss(void *p)
{
	la_ctx *c = p;
	nn_linattn_forward_naive(c->out, c->h, c->Wqkv, c->bqkv, c->Wo, c->bo,
				 c->B, c->N, c->H, c->K);
	return dot(c->out, c->dout, c->B * c->N * c->H);
}

static la_ctx la_new(size_t B, size_t N, size_t H, size_t K)
{
	size_t ny = B * N * H;
	la_ctx c = { B, N, H, K, drand_new(ny, 1), drand_new(3 * H * H, 0.5),
		     drand_new(3 * H, 0.5), drand_new(H * H, 0.5), drand_new(H, 0.5),
		     drand_new(ny, 1), dzero(ny) };
	return c;
}

static void la_free(la_ctx *c)
{
	free(c->h); free(c->Wqkv); free(c->bqkv); free(c->Wo); free(c->bo);
	free(c->dout); free(c->out);
}

/* The float copies of a context and the gradients of one fast backward. */
typedef struct {
	float *h, *Wqkv, *bqkv, *Wo, *bo, *dout;
	float *y, *dh, *dWqkv, *dbqkv, *dWo, *dbo, *scratch;
} la_fast;

static la_fast la_fast_new(const la_ctx *c)
{
	size_t ny = c->B * c->N * c->H, H = c->H;
	la_fast f = { tof(c->h, ny), tof(c->Wqkv, 3 * H * H), tof(c->bqkv, 3 * H),
		      tof(c->Wo, H * H), tof(c->bo, H), tof(c->dout, ny),
		      fzero(ny), fzero(ny), fzero(3 * H * H), fzero(3 * H), fzero(H * H),
		      fzero(H), fzero(nn_linattn_scratch(c->B, c->N, H, c->K)) };
	return f;
}

static void la_fast_zero(la_fast *f, const la_ctx *c)
{
	size_t ny = c->B * c->N * c->H, H = c->H;
	memset(f->dh, 0, ny * sizeof *f->dh);
	memset(f->dWqkv, 0, 3 * H * H * sizeof *f->dWqkv);
	memset(f->dbqkv, 0, 3 * H * sizeof *f->dbqkv);
	memset(f->dWo, 0, H * H * sizeof *f->dWo);
	memset(f->dbo, 0, H * sizeof *f->dbo);
}

static void la_fast_run(la_fast *f, const la_ctx *c)
{
	nn_linattn_forward(f->y, f->scratch, f->h, f->Wqkv, f->bqkv, f->Wo, f->bo,
			   c->B, c->N, c->H, c->K);
	nn_linattn_backward(f->dh, f->dWqkv, f->dbqkv, f->dWo, f->dbo, f->scratch, f->dout,
			    f->h, f->Wqkv, f->bqkv, f->Wo, f->bo, c->B, c->N, c->H, c->K);
}

static void la_fast_free(la_fast *f)
{
	free(f->h); free(f->Wqkv); free(f->bqkv); free(f->Wo); free(f->bo); free(f->dout);
	free(f->y); free(f->dh); free(f->dWqkv); free(f->dbqkv); free(f->dWo); free(f->dbo);
	free(f->scratch);
}

static int same(const float *a, const float *b, size_t n)
{
	return memcmp(a, b, n * sizeof *a) == 0;
}

static int la_same(const la_fast *a, const la_fast *b, const la_ctx *c)
{
	size_t ny = c->B * c->N * c->H, H = c->H;
	return same(a->y, b->y, ny) && same(a->dh, b->dh, ny) &&
	       same(a->dWqkv, b->dWqkv, 3 * H * H) && same(a->dbqkv, b->dbqkv, 3 * H) &&
	       same(a->dWo, b->dWo, H * H) && same(a->dbo, b->dbo, H);
}

static void run_linattn_fd(size_t B, size_t N, size_t H, size_t K)
{
	la_ctx c = la_new(B, N, H, K);
	size_t ny = B * N * H;
	double *dh = dzero(ny), *dWqkv = dzero(3 * H * H), *dbqkv = dzero(3 * H);
	double *dWo = dzero(H * H), *dbo = dzero(H);
	la_loss(&c);
	nn_linattn_backward_naive(dh, dWqkv, dbqkv, dWo, dbo, c.dout, c.h, c.Wqkv, c.bqkv,
				  c.Wo, c.bo, B, N, H, K);
	la_fast f = la_fast_new(&c);
	la_fast_run(&f, &c);
	check_fwd("fast linattn forward vs naive", f.y, c.out, ny);
	check_grad("h (linattn)", la_loss, &c, c.h, ny, dh, f.dh);
	check_grad("Wqkv", la_loss, &c, c.Wqkv, 3 * H * H, dWqkv, f.dWqkv);
	check_grad("bqkv", la_loss, &c, c.bqkv, 3 * H, dbqkv, f.dbqkv);
	check_grad("Wo", la_loss, &c, c.Wo, H * H, dWo, f.dWo);
	check_grad("bo", la_loss, &c, c.bo, H, dbo, f.dbo);

	/* accumulation: a second backward doubles every gradient */
	la_fast g = f;
	g.dh = fcopy(f.dh, ny);
	g.dWqkv = fcopy(f.dWqkv, 3 * H * H);
	g.dbqkv = fcopy(f.dbqkv, 3 * H);
	g.dWo = fcopy(f.dWo, H * H);
	g.dbo = fcopy(f.dbo, H);
	nn_linattn_backward(g.dh, g.dWqkv, g.dbqkv, g.dWo, g.dbo, f.scratch, f.dout, f.h,
			    f.Wqkv, f.bqkv, f.Wo, f.bo, B, N, H, K);
	int ok = 1;
	for (size_t i = 0; i < ny; i++)
		ok &= fabsf(g.dh[i] - 2 * f.dh[i]) <= 1e-5f * (1 + fabsf(f.dh[i]));
	for (size_t i = 0; i < 3 * H * H; i++)
		ok &= fabsf(g.dWqkv[i] - 2 * f.dWqkv[i]) <= 1e-5f * (1 + fabsf(f.dWqkv[i]));
	for (size_t i = 0; i < H * H; i++)
		ok &= fabsf(g.dWo[i] - 2 * f.dWo[i]) <= 1e-5f * (1 + fabsf(f.dWo[i]));
	for (size_t i = 0; i < H; i++)
		ok &= fabsf(g.dbo[i] - 2 * f.dbo[i]) <= 1e-5f * (1 + fabsf(f.dbo[i]));
	UT_CHECK(ok);

	/* NULL skips a gradient and leaves the others as they were */
	memset(g.dh, 0, ny * sizeof *g.dh);
	nn_linattn_backward(g.dh, NULL, NULL, NULL, NULL, f.scratch, f.dout, f.h, f.Wqkv,
			    f.bqkv, f.Wo, f.bo, B, N, H, K);
	UT_CHECK(same(g.dh, f.dh, ny));
	memset(g.dWo, 0, H * H * sizeof *g.dWo);
	nn_linattn_backward(NULL, NULL, NULL, g.dWo, NULL, f.scratch, f.dout, f.h, f.Wqkv,
			    f.bqkv, f.Wo, f.bo, B, N, H, K);
	UT_CHECK(same(g.dWo, f.dWo, H * H));
	memset(g.dWqkv, 0, 3 * H * H * sizeof *g.dWqkv);
	nn_linattn_backward(NULL, g.dWqkv, NULL, NULL, NULL, f.scratch, f.dout, f.h, f.Wqkv,
			    f.bqkv, f.Wo, f.bo, B, N, H, K);
	UT_CHECK(same(g.dWqkv, f.dWqkv, 3 * H * H));

	free(g.dh); free(g.dWqkv); free(g.dbqkv); free(g.dWo); free(g.dbo);
	la_fast_free(&f);
	la_free(&c);
	free(dh); free(dWqkv); free(dbqkv); free(dWo); free(dbo);
}

/* Fast against naive at a bigger shape: one thread, two threads twice (bit
 * for bit), inside a parallel region, and with garbage in the scratch. */
static void run_linattn_big(size_t B, size_t N, size_t H, size_t K)
{
	la_ctx c = la_new(B, N, H, K);
	size_t ny = B * N * H;
	double *dh = dzero(ny), *dWqkv = dzero(3 * H * H), *dbqkv = dzero(3 * H);
	double *dWo = dzero(H * H), *dbo = dzero(H);
	la_loss(&c);
	nn_linattn_backward_naive(dh, dWqkv, dbqkv, dWo, dbo, c.dout, c.h, c.Wqkv, c.bqkv,
				  c.Wo, c.bo, B, N, H, K);
	la_fast f1 = la_fast_new(&c), f2 = la_fast_new(&c), f3 = la_fast_new(&c);
	int threads = nn_threads();
	for (int nt = 1; nt <= 2; nt++) {
		nn_set_threads(nt);
		la_fast_zero(&f1, &c);
		la_fast_run(&f1, &c);
		check_fwd("fast linattn forward vs naive", f1.y, c.out, ny);
		check_big("fast dh (linattn) vs naive", f1.dh, dh, ny, FD_TOL);
		check_big("fast dWqkv vs naive", f1.dWqkv, dWqkv, 3 * H * H, FD_TOL);
		check_big("fast dbqkv vs naive", f1.dbqkv, dbqkv, 3 * H, FD_TOL);
		check_big("fast dWo vs naive", f1.dWo, dWo, H * H, FD_TOL);
		check_big("fast dbo vs naive", f1.dbo, dbo, H, FD_TOL);
	}
	/* f1 holds a two-thread run; another one gives the same bits */
	la_fast_zero(&f2, &c);
	la_fast_run(&f2, &c);
	UT_CHECK(la_same(&f1, &f2, &c));

	/* garbage in the scratch: the backward recomputes what it needs */
	la_fast_zero(&f2, &c);
	ffill(f2.scratch, nn_linattn_scratch(B, N, H, K), 1e30f);
	nn_linattn_backward(f2.dh, f2.dWqkv, f2.dbqkv, f2.dWo, f2.dbo, f2.scratch, f2.dout,
			    f2.h, f2.Wqkv, f2.bqkv, f2.Wo, f2.bo, B, N, H, K);
	UT_CHECK(la_same(&f1, &f2, &c));

	/* inside a parallel region: one block of configs per thread, each with
	 * its own scratch and weight gradients, added in thread order; against
	 * one serial call.  The products switch between nn.c's own kernel and
	 * BLAS with their size, so the comparison is to rounding. */
	nn_set_threads(1);
	la_fast_zero(&f1, &c);
	la_fast_run(&f1, &c);
	nn_set_threads(2);
	la_fast_zero(&f3, &c);
	size_t nw = 3 * H * H + 3 * H + H * H + H;
	float *part = fzero(2 * nw);
	#pragma omp parallel num_threads(2)
	{
		int t = omp_get_thread_num(), n = omp_get_num_threads();
		size_t b0, b1;
		slab(B, t, n, &b0, &b1);
		size_t off = b0 * N * H, kb = b1 - b0;
		float *sc = fzero(nn_linattn_scratch(kb, N, H, K));
		float *p = part + (size_t)t * nw;
		nn_linattn_forward(f3.y + off, sc, f3.h + off, f3.Wqkv, f3.bqkv, f3.Wo, f3.bo,
				   kb, N, H, K);
		ffill(sc, nn_linattn_scratch(kb, N, H, K), 1e30f);
		nn_linattn_backward(f3.dh + off, p, p + 3 * H * H, p + 3 * H * H + 3 * H,
				    p + 4 * H * H + 3 * H, sc, f3.dout + off, f3.h + off,
				    f3.Wqkv, f3.bqkv, f3.Wo, f3.bo, kb, N, H, K);
		free(sc);
	}
	for (int t = 0; t < 2; t++) {
		const float *p = part + (size_t)t * nw;
		for (size_t i = 0; i < 3 * H * H; i++)
			f3.dWqkv[i] += p[i];
		for (size_t i = 0; i < 3 * H; i++)
			f3.dbqkv[i] += p[3 * H * H + i];
		for (size_t i = 0; i < H * H; i++)
			f3.dWo[i] += p[3 * H * H + 3 * H + i];
		for (size_t i = 0; i < H; i++)
			f3.dbo[i] += p[4 * H * H + 3 * H + i];
	}
	check_rel("in-region y vs serial", rel_err_ff(f3.y, f1.y, ny), 1e-6);
	check_rel("in-region dh vs serial", rel_err_ff(f3.dh, f1.dh, ny), 1e-6);
	check_rel("in-region dWqkv vs serial", rel_err_ff(f3.dWqkv, f1.dWqkv, 3 * H * H), 1e-5);
	check_rel("in-region dbqkv vs serial", rel_err_ff(f3.dbqkv, f1.dbqkv, 3 * H), 1e-5);
	check_rel("in-region dWo vs serial", rel_err_ff(f3.dWo, f1.dWo, H * H), 1e-5);
	check_rel("in-region dbo vs serial", rel_err_ff(f3.dbo, f1.dbo, H), 1e-5);
	nn_set_threads(threads);

	free(part);
	la_fast_free(&f1);
	la_fast_free(&f2);
	la_fast_free(&f3);
	la_free(&c);
	free(dh); free(dWqkv); free(dbqkv); free(dWo); free(dbo);
}

static void test_linattn(void)
{
	run_linattn_fd(2, 5, 4, 2);
	run_linattn_fd(2, 7, 8, 2);
	run_linattn_fd(2, 6, 6, 1);
	run_linattn_fd(1, 1, 4, 4);     /* one node, D = 1 */
	run_linattn_fd(1, 4, 8, 1);     /* D = 8, 16: the unrolled head kernels */
	run_linattn_fd(2, 3, 16, 1);
	run_linattn_big(3, 60, 16, 4);
	run_linattn_big(4, 300, 32, 4); /* big enough for the threaded loops */
	run_linattn_big(2, 50, 32, 2);  /* D = 16 */
	run_linattn_big(2, 40, 64, 2);  /* D = 32 */
	run_linattn_big(2, 30, 24, 2);  /* D = 12: a partial block of rows of S */
}

/* ---- APPNP ---- */

typedef struct {
	size_t B, H;
	const nn_adj_t *a;
	double alpha;
	int K;
	double *x, *dout, *out;
} ap_ctx;

static double ap_loss(void *p)
{
	ap_ctx *c = p;
	nn_appnp_forward_naive(c->out, c->x, c->a, c->alpha, c->K, c->B, c->H);
	return dot(c->out, c->dout, c->B * c->a->n * c->H);
}

static void run_appnp_fd(size_t B, size_t N, size_t H, size_t m, int K, double alpha)
{
	nn_adj_t a;
	build_graph(&a, N, m);
	size_t n = B * N * H;
	ap_ctx c = { B, H, &a, alpha, K, drand_new(n, 1), drand_new(n, 1), dzero(n) };
	double *dx = dzero(n);
	ap_loss(&c);
	nn_appnp_backward_naive(dx, c.dout, &a, alpha, K, B, H);
	float *fx = tof(c.x, n), *fdo = tof(c.dout, n), *fo = fzero(n), *fdx = fzero(n);
	float *sc = fzero(nn_appnp_scratch(B, N, H));
	nn_appnp_forward(fo, sc, fx, &a, (float)alpha, K, B, H);
	check_fwd("fast appnp forward vs naive", fo, c.out, n);
	nn_appnp_backward(fdx, sc, fdo, &a, (float)alpha, K, B, H);
	check_grad("x (appnp)", ap_loss, &c, c.x, n, dx, fdx);
	/* accumulation */
	float *again = fcopy(fdx, n);
	nn_appnp_backward(again, sc, fdo, &a, (float)alpha, K, B, H);
	int ok = 1;
	for (size_t i = 0; i < n; i++)
		ok &= fabsf(again[i] - 2 * fdx[i]) <= 1e-6f * (1 + fabsf(fdx[i]));
	UT_CHECK(ok);
	nn_appnp_backward(NULL, sc, fdo, &a, (float)alpha, K, B, H);   /* no-op */
	nn_adj_free(&a);
	free(c.x); free(c.dout); free(c.out); free(dx);
	free(fx); free(fdo); free(fo); free(fdx); free(sc); free(again);
}

static void run_appnp_big(size_t B, size_t N, size_t H, size_t m, int K, float alpha)
{
	nn_adj_t a;
	build_graph(&a, N, m);
	size_t n = B * N * H, ns = nn_appnp_scratch(B, N, H);
	double *x = drand_new(n, 1), *dout = drand_new(n, 1), *out = dzero(n), *dx = dzero(n);
	nn_appnp_forward_naive(out, x, &a, alpha, K, B, H);
	nn_appnp_backward_naive(dx, dout, &a, alpha, K, B, H);
	float *fx = tof(x, n), *fdo = tof(dout, n), *sc = fzero(ns);
	float *o1 = fzero(n), *o2 = fzero(n), *o3 = fzero(n);
	float *d1 = fzero(n), *d2 = fzero(n), *d3 = fzero(n);
	int threads = nn_threads();
	for (int nt = 1; nt <= 2; nt++) {
		nn_set_threads(nt);
		memset(d1, 0, n * sizeof *d1);
		nn_appnp_forward(o1, sc, fx, &a, alpha, K, B, H);
		nn_appnp_backward(d1, sc, fdo, &a, alpha, K, B, H);
		check_fwd("fast appnp forward vs naive", o1, out, n);
		check_big("fast appnp dx vs naive", d1, dx, n, FD_TOL);
	}
	/* two-thread runs: the same bits; garbage in the scratch changes nothing */
	nn_appnp_forward(o2, sc, fx, &a, alpha, K, B, H);
	ffill(sc, ns, 1e30f);
	nn_appnp_backward(d2, sc, fdo, &a, alpha, K, B, H);
	UT_CHECK(same(o1, o2, n));
	UT_CHECK(same(d1, d2, n));
	/* inside a parallel region, one block of configs per thread: the
	 * gather computes every element the same way, so bit for bit */
	#pragma omp parallel num_threads(2)
	{
		int t = omp_get_thread_num(), nth = omp_get_num_threads();
		size_t b0, b1;
		slab(B, t, nth, &b0, &b1);
		size_t off = b0 * N * H, kb = b1 - b0;
		float *s = fzero(nn_appnp_scratch(kb, N, H));
		nn_appnp_forward(o3 + off, s, fx + off, &a, alpha, K, kb, H);
		nn_appnp_backward(d3 + off, s, fdo + off, &a, alpha, K, kb, H);
		free(s);
	}
	UT_CHECK(same(o1, o3, n));
	UT_CHECK(same(d1, d3, n));
	nn_set_threads(threads);
	nn_adj_free(&a);
	free(x); free(dout); free(out); free(dx); free(fx); free(fdo); free(sc);
	free(o1); free(o2); free(o3); free(d1); free(d2); free(d3);
}

static void test_appnp(void)
{
	static const int Ks[3] = { 0, 1, 5 };
	static const double alphas[2] = { 0.1, 0.5 };
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 2; j++) {
			run_appnp_fd(2, 6, 4, 8, Ks[i], alphas[j]);
			run_appnp_fd(2, 7, 5, 3, Ks[i], alphas[j]);
		}
	run_appnp_fd(1, 3, 2, 0, 3, 0.2);   /* no edges: only self loops */
	run_appnp_big(3, 60, 16, 150, 5, 0.1f);
	run_appnp_big(4, 500, 32, 1500, 10, 0.2f);
}

/* ---- random-walk positional encoding ---- */

static void check_rwpe(const nn_adj_t *a, size_t K)
{
	size_t N = a->n;
	float *pe = fzero(N * K);
	double *ref = dzero(N * K);
	UT_EQ_INT(nn_rwpe(pe, a, K), 0);
	nn_rwpe_naive(ref, a, K);
	double e = 0.0;
	for (size_t i = 0; i < N * K; i++)
		e = fmax(e, fabs((double)pe[i] - ref[i]));
	worst_big = fmax(worst_big, e);
	if (e > 1e-6)
		fprintf(stderr, "  rwpe N=%zu K=%zu: max error %.3g\n", N, K, e);
	UT_CHECK(e <= 1e-6);
	free(pe);
	free(ref);
}

static void test_rwpe(void)
{
	/* one edge: back every second step */
	{
		int32_t e[2] = { 1, 0 };
		nn_adj_t a;
		UT_EQ_INT(nn_adj_build(&a, 2, e, 1), 0);
		float pe[12];
		UT_EQ_INT(nn_rwpe(pe, &a, 6), 0);
		for (size_t u = 0; u < 2; u++)
			for (size_t k = 0; k < 6; k++)
				UT_NEAR(pe[u * 6 + k], k % 2 ? 1.0 : 0.0, 0);
		check_rwpe(&a, 6);
		nn_adj_free(&a);
	}
	/* a triangle: 0, 1/2, 1/4 for every node */
	{
		int32_t e[6] = { 0, 1, 1, 2, 2, 0 };
		nn_adj_t a;
		UT_EQ_INT(nn_adj_build(&a, 3, e, 3), 0);
		float pe[9];
		UT_EQ_INT(nn_rwpe(pe, &a, 3), 0);
		for (size_t u = 0; u < 3; u++) {
			UT_NEAR(pe[u * 3 + 0], 0.0, 1e-7);
			UT_NEAR(pe[u * 3 + 1], 0.5, 1e-7);
			UT_NEAR(pe[u * 3 + 2], 0.25, 1e-7);
		}
		check_rwpe(&a, 3);
		UT_EQ_INT(nn_rwpe(pe, &a, 0), -1);
		float big[3 * 65];
		UT_EQ_INT(nn_rwpe(big, &a, 65), -1);
		UT_EQ_INT(nn_rwpe(big, &a, 64), 0);
		/* (P^k)_uu = 1/3 + (2/3) (-1/2)^k */
		UT_NEAR(big[63], 1.0 / 3 + 2.0 / 3 * pow(0.5, 64), 1e-7);
		UT_NEAR(big[4], 1.0 / 3 - 2.0 / 3 / 32, 1e-7);
		nn_adj_free(&a);
	}
	/* random graphs (node N-1 isolated, a duplicated edge, maybe self loops) */
	{
		static const size_t Ns[4] = { 2, 5, 17, 40 }, ms[4] = { 1, 6, 30, 70 };
		static const size_t Ks[5] = { 1, 2, 5, 8, 16 };
		for (int i = 0; i < 4; i++)
			for (int j = 0; j < 5; j++) {
				nn_adj_t a;
				build_graph(&a, Ns[i], ms[i]);
				check_rwpe(&a, Ks[j]);
				nn_adj_free(&a);
			}
		nn_adj_t a;
		build_graph(&a, 40, 20);   /* sparse: several components */
		check_rwpe(&a, 13);
		nn_adj_free(&a);
	}
	/* an empty graph */
	{
		nn_adj_t a;
		UT_EQ_INT(nn_adj_build(&a, 0, NULL, 0), 0);
		float pe[1];
		UT_EQ_INT(nn_rwpe(pe, &a, 4), 0);
		nn_adj_free(&a);
	}
	/* one thread against two */
	{
		size_t N = 3000, K = 16;
		nn_adj_t a;
		build_graph(&a, N, 7000);
		float *p1 = fzero(N * K), *p2 = fzero(N * K);
		int threads = nn_threads();
		nn_set_threads(1);
		UT_EQ_INT(nn_rwpe(p1, &a, K), 0);
		nn_set_threads(2);
		UT_EQ_INT(nn_rwpe(p2, &a, K), 0);
		UT_CHECK(same(p1, p2, N * K));
		nn_set_threads(threads);
		nn_adj_free(&a);
		free(p1);
		free(p2);
	}
}

int main(void)
{
	nn_set_threads(2);
	UT_RUN(test_linattn);
	UT_RUN(test_appnp);
	UT_RUN(test_rwpe);
	/* the same products through cblas_sgemm */
	nn_gemm_mode(NN_GEMM_BLAS);
	UT_RUN(test_linattn);
	nn_gemm_mode(NN_GEMM_AUTO);
	printf("test_gnn_global: largest relative errors: vs finite differences %.3g, "
	       "fast vs naive forward %.3g, bigger shapes %.3g\n", worst_fd, worst_fwd, worst_big);
	return ut_done("test_gnn_global");
}
