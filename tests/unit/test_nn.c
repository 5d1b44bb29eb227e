/* test_nn: every layer's backward against central finite differences.
 *
 * For each layer: the double-precision _naive forward gives the loss
 * L = sum(dout * out); central differences of L (step 1e-6, in double) give
 * the reference gradient of every input and weight.  The _naive backward and
 * the fast float backward must both match it within 1e-4 relative (max-norm
 * relative error), and the fast forward must match the naive one.  Bigger
 * shapes then compare fast against naive with two threads, where the OpenMP
 * and BLAS slab paths run. */
#include "ut.h"
#include "ut_num.h"
#include "nn.h"
#include "err.h"

#include <stdint.h>


/* ---- helpers ---- */

/* Check the naive (double) and fast (float) gradients of one tensor. */
static void check_grad(const char *name, loss_fn loss, void *ctx, double *x,
		       size_t n, const double *g_naive, const float *g_fast)
{
	double *fd = fd_grad(loss, ctx, x, n);
	char what[128];
	snprintf(what, sizeof what, "naive d%s vs finite differences", name);
	check_rel(what, rel_err_d(g_naive, fd, n), FD_TOL);
	if (g_fast) {
		snprintf(what, sizeof what, "fast d%s vs finite differences", name);
		check_rel(what, rel_err_f(g_fast, fd, n), FD_TOL);
	}
	free(fd);
}

/* ---- linear ---- */

typedef struct {
	size_t M, I, O;
	double *in, *W, *b, *dout, *out;
} lin_ctx;

static double lin_loss(void *p)
{
	lin_ctx *c = p;
	nn_linear_forward_naive(c->out, c->in, c->W, c->b, c->M, c->I, c->O);
	return dot(c->out, c->dout, c->M * c->O);
}

static void run_linear(size_t M, size_t I, size_t O, int fd)
{
	lin_ctx c = { M, I, O, drand_new(M * I, 1), drand_new(O * I, 1),
		      drand_new(O, 1), drand_new(M * O, 1), dzero(M * O) };
	double *din = dzero(M * I), *dW = dzero(O * I), *db = dzero(O);
	lin_loss(&c);
	nn_linear_backward_naive(din, dW, db, c.dout, c.in, c.W, M, I, O);

	float *fin = tof(c.in, M * I), *fW = tof(c.W, O * I), *fb = tof(c.b, O);
	float *fdout = tof(c.dout, M * O), *fout = fzero(M * O);
	float *fdin = fzero(M * I), *fdW = fzero(O * I), *fdb = fzero(O);
	nn_linear_forward(fout, fin, fW, fb, M, I, O);
	check_rel("fast forward vs naive", rel_err_f(fout, c.out, M * O), FWD_TOL);
	nn_linear_backward(fdin, fdW, fdb, fdout, fin, fW, M, I, O);
	if (fd) {
		check_grad("in", lin_loss, &c, c.in, M * I, din, fdin);
		check_grad("W", lin_loss, &c, c.W, O * I, dW, fdW);
		check_grad("b", lin_loss, &c, c.b, O, db, fdb);
	} else {
		check_rel("fast din vs naive", rel_err_f(fdin, din, M * I), FWD_TOL);
		check_rel("fast dW vs naive", rel_err_f(fdW, dW, O * I), FWD_TOL);
		check_rel("fast db vs naive", rel_err_f(fdb, db, O), FWD_TOL);
	}
	/* accumulation: a second backward doubles the gradients */
	float *again = fzero(O * I);
	memcpy(again, fdW, O * I * sizeof *again);
	nn_linear_backward(NULL, again, NULL, fdout, fin, fW, M, I, O);
	int ok = 1;
	for (size_t i = 0; i < O * I; i++)
		ok &= fabsf(again[i] - 2 * fdW[i]) <= 1e-5f * (1 + fabsf(fdW[i]));
	UT_CHECK(ok);
	free(again);
	free(c.in); free(c.W); free(c.b); free(c.dout); free(c.out);
	free(din); free(dW); free(db);
	free(fin); free(fW); free(fb); free(fdout); free(fout);
	free(fdin); free(fdW); free(fdb);
}

static void test_linear(void)
{
	run_linear(37, 19, 45, 0);     /* edge tiles in every direction */
	run_linear(64, 140, 64, 0);    /* the node projection's shape */
	run_linear(5, 4, 3, 1);
	run_linear(1, 7, 1, 1);
	run_linear(3, 0, 2, 0);        /* no inputs: out = bias */
	run_linear(700, 33, 50, 0);    /* slabs over rows */
	run_linear(500, 64, 8, 0);     /* dW split by columns */
}

/* One summation order on every CPU: the linear forward and backward give
 * the same bits with the SSE, AVX2 and AVX-512 kernels (each forced in
 * turn; a set the CPU lacks falls back to the widest it has, which is then
 * compared with itself), over shapes with edge tiles in every direction,
 * with and without bias, writing and accumulating din, and on two threads. */
static void test_gemm_isas(void)
{
	static const size_t shape[][3] = {
		{ 37, 19, 45 }, { 64, 140, 64 }, { 700, 33, 50 }, { 500, 64, 8 },
		{ 67, 40, 50 }, { 300, 96, 33 }, { 16, 8, 512 }, { 2000, 72, 64 },
	};
	static const int isa[3] = { NN_GEMM_SSE, NN_GEMM_AVX2, NN_GEMM_AVX512 };
	int old = nn_gemm_mode(-1), th = nn_threads();
	for (size_t t = 0; t < sizeof shape / sizeof *shape; t++) {
		size_t M = shape[t][0], K = shape[t][1], O = shape[t][2];
		double *d_in = drand_new(M * K, 1), *d_W = drand_new(O * K, 1), *d_b = drand_new(O, 1),
		       *d_dout = drand_new(M * O, 1);
		float *in = tof(d_in, M * K), *W = tof(d_W, O * K), *b = tof(d_b, O),
		      *dout = tof(d_dout, M * O);
		free(d_in); free(d_W); free(d_b); free(d_dout);
		float *ref[4] = { NULL }, *got[4];
		for (int threads = 1; threads <= 2; threads++) {
			nn_set_threads(threads);
			for (int i = 0; i < 3; i++) {
				nn_gemm_mode(isa[i]);
				float *out = fzero(M * O), *din = fzero(M * K), *dW = fzero(O * K),
				      *db = fzero(O);
				for (size_t k = 0; k < M * K; k++)
					din[k] = 0.5f;   /* accumulated into */
				nn_linear_forward(out, in, W, t % 2 ? b : NULL, M, K, O);
				nn_linear_backward(din, dW, db, dout, in, W, M, K, O);
				got[0] = out, got[1] = din, got[2] = dW, got[3] = db;
				size_t n[4] = { M * O, M * K, O * K, O };
				for (int j = 0; j < 4; j++) {
					if (i == 0) {
						free(ref[j]);
						ref[j] = got[j];
					} else {
						if (!UT_CHECK(memcmp(ref[j], got[j], n[j] * sizeof(float)) == 0))
							fprintf(stderr, "  %zu x %zu x %zu, %d threads, isa %d, "
								"output %d differs from SSE\n", M, K, O,
								threads, isa[i], j);
						free(got[j]);
					}
				}
			}
		}
		for (int j = 0; j < 4; j++)
			free(ref[j]);
		free(in); free(W); free(b); free(dout);
	}
	nn_gemm_mode(old);
	nn_set_threads(th);
}

/* ---- embedding ---- */

typedef struct {
	size_t M, D;
	uint8_t *idx;
	double *table, *dout, *out;
} emb_ctx;

static double emb_loss(void *p)
{
	emb_ctx *c = p;
	nn_embedding_forward_naive(c->out, c->idx, c->table, c->M, c->D);
	return dot(c->out, c->dout, c->M * c->D);
}

static void run_embedding(size_t M, size_t D, size_t rows, int fd)
{
	emb_ctx c = { M, D, xmalloc(M), drand_new(rows * D, 1), drand_new(M * D, 1),
		      dzero(M * D) };
	for (size_t m = 0; m < M; m++)
		c.idx[m] = (uint8_t)((urand() + 1) * 0.5 * rows) % rows;
	double *dt = dzero(rows * D);
	emb_loss(&c);
	nn_embedding_backward_naive(dt, c.dout, c.idx, M, D);
	float *ft = tof(c.table, rows * D), *fo = fzero(M * D), *fdo = tof(c.dout, M * D);
	float *fdt = fzero(rows * D);
	nn_embedding_forward(fo, c.idx, ft, M, D);
	check_rel("fast forward vs naive", rel_err_f(fo, c.out, M * D), FWD_TOL);
	nn_embedding_backward(fdt, fdo, c.idx, M, D, rows);
	if (fd)
		check_grad("table", emb_loss, &c, c.table, rows * D, dt, fdt);
	else
		check_rel("fast dtable vs naive", rel_err_f(fdt, dt, rows * D), FWD_TOL);
	free(c.idx); free(c.table); free(c.dout); free(c.out); free(dt);
	free(ft); free(fo); free(fdo); free(fdt);
}

static void test_embedding(void)
{
	run_embedding(10, 3, 7, 1);
	run_embedding(5000, 16, 128, 0);
}

/* ---- instance norm ---- */

typedef struct {
	size_t B, N, H;
	double *in, *gamma, *beta, *dout, *out, *mean, *rstd;
} norm_ctx;

static double norm_loss(void *p)
{
	norm_ctx *c = p;
	nn_instnorm_forward_naive(c->out, c->mean, c->rstd, c->in, c->gamma, c->beta,
				  c->B, c->N, c->H);
	return dot(c->out, c->dout, c->B * c->N * c->H);
}

/* The backward's gradients (fdin, fdg, fdb) against finite differences of
 * loss (fd) or the naive backward's (din, dg, dbeta); then every buffer of
 * the case freed. */
static void norm_grads_check(norm_ctx *c, loss_fn loss, int fd, double din_tol, double *din,
			     double *dg, double *dbeta, float *fdin, float *fdg, float *fdb)
{
	size_t n = c->B * c->N * c->H, H = c->H;
	if (fd) {
		check_grad("in", loss, c, c->in, n, din, fdin);
		check_grad("gamma", loss, c, c->gamma, H, dg, fdg);
		check_grad("beta", loss, c, c->beta, H, dbeta, fdb);
	} else {
		check_rel("fast din vs naive", rel_err_f(fdin, din, n), din_tol);
		check_rel("fast dgamma vs naive", rel_err_f(fdg, dg, H), 1e-4);
		check_rel("fast dbeta vs naive", rel_err_f(fdb, dbeta, H), 1e-4);
	}
	free(c->in); free(c->gamma); free(c->beta); free(c->dout); free(c->out);
	free(c->mean); free(c->rstd); free(din); free(dg); free(dbeta);
	free(fdin); free(fdg); free(fdb);
}

static void run_norm(size_t B, size_t N, size_t H, int fd)
{
	size_t n = B * N * H;
	norm_ctx c = { B, N, H, drand_new(n, 2), drand_new(H, 1), drand_new(H, 1),
		       drand_new(n, 1), dzero(n), dzero(B * H), dzero(B * H) };
	double *din = dzero(n), *dg = dzero(H), *dbeta = dzero(H);
	norm_loss(&c);
	nn_instnorm_backward_naive(din, dg, dbeta, c.dout, c.in, c.mean, c.rstd, c.gamma, B, N, H);
	float *fin = tof(c.in, n), *fg = tof(c.gamma, H), *fb = tof(c.beta, H);
	float *fdo = tof(c.dout, n), *fo = fzero(n), *fm = fzero(B * H), *fr = fzero(B * H);
	float *fdin = fzero(n), *fdg = fzero(H), *fdb = fzero(H);
	nn_instnorm_forward(fo, fm, fr, fin, fg, fb, B, N, H);
	check_rel("fast forward vs naive", rel_err_f(fo, c.out, n), FWD_TOL);
	float *fa = fzero(n);   /* the recomputation from the statistics */
	nn_instnorm_apply(fa, fin, fm, fr, fg, fb, B, N, H);
	UT_CHECK(memcmp(fa, fo, n * sizeof *fa) == 0);
	free(fa);
	nn_instnorm_backward(fdin, fdg, fdb, fdo, fin, fm, fr, fg, B, N, H);
	norm_grads_check(&c, norm_loss, fd, 1e-4, din, dg, dbeta, fdin, fdg, fdb);
	free(fin); free(fg); free(fb); free(fdo); free(fo); free(fm); free(fr);
}

static void test_instnorm(void)
{
	run_norm(2, 5, 3, 1);
	run_norm(1, 3, 2, 1);
	run_norm(9, 300, 32, 0);
}

/* ---- layer norm ---- */

static double lnorm_loss(void *p)
{
	norm_ctx *c = p;   /* R = B N rows of H */
	nn_layernorm_forward_naive(c->out, c->mean, c->rstd, c->in, c->gamma, c->beta,
				   c->B * c->N, c->H);
	return dot(c->out, c->dout, c->B * c->N * c->H);
}

static void run_lnorm(size_t R, size_t H, int fd)
{
	size_t n = R * H;
	norm_ctx c = { R, 1, H, drand_new(n, 2), drand_new(H, 1), drand_new(H, 1),
		       drand_new(n, 1), dzero(n), dzero(R), dzero(R) };
	double *din = dzero(n), *dg = dzero(H), *dbeta = dzero(H);
	lnorm_loss(&c);
	nn_layernorm_backward_naive(din, dg, dbeta, c.dout, c.in, c.mean, c.rstd, c.gamma, R, H);
	float *fin = tof(c.in, n), *fg = tof(c.gamma, H), *fb = tof(c.beta, H);
	float *fdo = tof(c.dout, n), *fo = fzero(n), *fm = fzero(R), *fr = fzero(R);
	float *fdin = fzero(n), *fdg = fzero(H), *fdb = fzero(H);
	nn_layernorm_forward(fo, fm, fr, fin, fg, fb, R, H);
	check_rel("fast forward vs naive", rel_err_f(fo, c.out, n), FWD_TOL);
	float *fa = fzero(n);   /* the recomputation from the statistics */
	nn_layernorm_apply(fa, fin, fm, fr, fg, fb, R, H);
	UT_CHECK(memcmp(fa, fo, n * sizeof *fa) == 0);
	free(fa);
	/* the backward adds to din: without finite differences (gradients of
	 * order 1) start from 1 and take it off */
	for (size_t i = 0; i < n && !fd; i++)
		fdin[i] = 1.0f;
	nn_layernorm_backward(fdin, fdg, fdb, fdo, fin, fm, fr, fg, R, H);
	for (size_t i = 0; i < n && !fd; i++)
		fdin[i] -= 1.0f;
	norm_grads_check(&c, lnorm_loss, fd, 1e-3, din, dg, dbeta, fdin, fdg, fdb);
	free(fin); free(fg); free(fb); free(fdo); free(fo); free(fm); free(fr);
}

static void test_layernorm(void)
{
	run_lnorm(4, 5, 1);
	run_lnorm(1, 3, 1);
	run_lnorm(2700, 32, 0);   /* several tasks of the backward's sums */
}

/* ---- adjacency and SAGEConv ---- */

/* A random graph with m edges on n nodes; node n-1 is left isolated. */
static int32_t *rand_edges(size_t n, size_t m)
{
	int32_t *e = xmallocarray(2 * m + 1, sizeof *e);
	for (size_t i = 0; i < m; i++) {
		e[2 * i] = (int32_t)((urand() + 1) * 0.5 * (double)(n - 1)) % (int32_t)(n - 1);
		e[2 * i + 1] = (int32_t)((urand() + 1) * 0.5 * (double)(n - 1)) % (int32_t)(n - 1);
	}
	return e;
}

static void test_adj(void)
{
	/* 0 <- 1, 0 <- 2, 2 <- 1 (u consumes v); node 3 isolated */
	int32_t e[6] = { 0, 1, 0, 2, 2, 1 };
	nn_adj_t a;
	UT_EQ_INT(nn_adj_build(&a, 4, e, 3), 0);
	UT_EQ_INT(a.in_ptr[1] - a.in_ptr[0], 2);     /* node 0 has producers 1, 2 */
	UT_EQ_INT(a.in_idx[a.in_ptr[0]], 1);
	UT_EQ_INT(a.in_idx[a.in_ptr[0] + 1], 2);
	UT_EQ_INT(a.out_ptr[2] - a.out_ptr[1], 2);   /* node 1 feeds 0 and 2 */
	UT_EQ_INT(a.in_ptr[4] - a.in_ptr[3], 0);
	UT_NEAR(a.in_inv[0], 0.5, 1e-7);
	UT_NEAR(a.in_inv[3], 0.0, 0);
	UT_NEAR(a.out_inv[2], 1.0, 1e-7);
	nn_adj_free(&a);
	int32_t bad[2] = { 0, 4 };
	UT_EQ_INT(nn_adj_build(&a, 4, bad, 1), -1);
	int32_t neg[2] = { -1, 0 };
	UT_EQ_INT(nn_adj_build(&a, 4, neg, 1), -1);
}

typedef struct {
	size_t B, H;
	const nn_adj_t *a;
	double *Z, *bias, *dout, *out;
	/* the whole layer */
	double *h, *W;
} agg_ctx;

static double agg_loss(void *p)
{
	agg_ctx *c = p;
	nn_sage_aggregate_forward_naive(c->out, c->Z, c->bias, c->a, c->B, c->H);
	return dot(c->out, c->dout, c->B * c->a->n * c->H);
}

static double sage_loss(void *p)
{
	agg_ctx *c = p;
	nn_linear_forward_naive(c->Z, c->h, c->W, NULL, c->B * c->a->n, c->H, 3 * c->H);
	return agg_loss(p);
}

static void run_sage(size_t B, size_t N, size_t H, size_t m, int fd)
{
	int32_t *e = rand_edges(N, m);
	nn_adj_t a;
	UT_EQ_INT(nn_adj_build(&a, N, e, m), 0);
	size_t nz = B * N * 3 * H, ny = B * N * H;
	agg_ctx c = { B, H, &a, dzero(nz), drand_new(H, 1), drand_new(ny, 1), dzero(ny),
		      drand_new(ny, 1), drand_new(3 * H * H, 1) };
	/* aggregation alone */
	double *Zr = drand_new(nz, 1);
	memcpy(c.Z, Zr, nz * sizeof *Zr);
	double *dZ = dzero(nz), *db = dzero(H);
	agg_loss(&c);
	nn_sage_aggregate_backward_naive(dZ, db, c.dout, &a, B, H);
	float *fZ = tof(c.Z, nz), *fb = tof(c.bias, H), *fdo = tof(c.dout, ny);
	float *fo = fzero(ny), *fdZ = fzero(nz), *fdb = fzero(H);
	nn_sage_aggregate_forward(fo, fZ, fb, &a, B, H);
	check_rel("fast aggregate vs naive", rel_err_f(fo, c.out, ny), FWD_TOL);
	nn_sage_aggregate_backward(fdZ, fdb, fdo, &a, B, H);
	if (fd) {
		check_grad("Z", agg_loss, &c, c.Z, nz, dZ, fdZ);
		check_grad("bias", agg_loss, &c, c.bias, H, db, fdb);
	} else {
		check_rel("fast dZ vs naive", rel_err_f(fdZ, dZ, nz), FWD_TOL);
		check_rel("fast dbias vs naive", rel_err_f(fdb, db, H), 1e-4);
	}
	/* the whole layer: product then aggregation */
	double *dh = dzero(ny), *dW = dzero(3 * H * H), *db2 = dzero(H), *dZ2 = dzero(nz);
	sage_loss(&c);
	nn_sage_aggregate_backward_naive(dZ2, db2, c.dout, &a, B, H);
	nn_linear_backward_naive(dh, dW, NULL, dZ2, c.h, c.W, B * N, H, 3 * H);
	float *fh = tof(c.h, ny), *fW = tof(c.W, 3 * H * H), *fdh = fzero(ny);
	for (size_t i = 0; i < ny; i++)
		fdh[i] = 7.0f;   /* the layer writes dh: what was there must not count */
	float *fdW = fzero(3 * H * H), *fdb2 = fzero(H);
	nn_sage_forward(fo, fZ, fh, fW, fb, &a, B, H);
	check_rel("fast layer forward vs naive", rel_err_f(fo, c.out, ny), FWD_TOL);
	nn_sage_backward(fdh, fdW, fdb2, fdZ, fdo, fh, fW, &a, B, H);
	if (fd) {
		check_grad("h", sage_loss, &c, c.h, ny, dh, fdh);
		check_grad("W", sage_loss, &c, c.W, 3 * H * H, dW, fdW);
		check_grad("bias (layer)", sage_loss, &c, c.bias, H, db2, fdb2);
	} else {
		check_rel("fast dh vs naive", rel_err_f(fdh, dh, ny), 1e-4);
		check_rel("fast dW vs naive", rel_err_f(fdW, dW, 3 * H * H), 1e-4);
	}
	nn_adj_free(&a);
	free(e); free(c.Z); free(c.bias); free(c.dout); free(c.out); free(c.h); free(c.W);
	free(Zr); free(dZ); free(db); free(fZ); free(fb); free(fdo); free(fo); free(fdZ);
	free(fdb); free(dh); free(dW); free(db2); free(dZ2); free(fh); free(fW);
	free(fdh); free(fdW); free(fdb2);
}

static void test_sage(void)
{
	run_sage(2, 6, 3, 9, 1);
	run_sage(1, 4, 2, 0, 1);      /* no edges: only the self term */
	run_sage(6, 400, 16, 1200, 0);
}

/* ---- GELU and residual ---- */

typedef struct {
	size_t n;
	double *x, *y, *dout, *out, *grad;
} ew_ctx;

static double gelu_loss(void *p)
{
	ew_ctx *c = p;
	nn_gelu_forward_naive(c->out, c->x, c->n);
	return dot(c->out, c->dout, c->n);
}

static double resgelu_loss(void *p)
{
	ew_ctx *c = p;
	nn_residual_gelu_forward_naive(c->out, c->grad, c->x, c->y, c->n);
	return dot(c->out, c->dout, c->n);
}

static void test_gelu(void)
{
	size_t n = 40;
	ew_ctx c = { n, drand_new(n, 4), drand_new(n, 2), drand_new(n, 1), dzero(n), dzero(n) };
	double *dx = dzero(n), *dy = dzero(n);
	float *fx = tof(c.x, n), *fy = tof(c.y, n), *fdo = tof(c.dout, n);
	float *fo = fzero(n), *fgrad = fzero(n), *fdx = fzero(n), *fdy = fzero(n);
	gelu_loss(&c);
	nn_gelu_backward_naive(dx, c.dout, c.x, n);
	nn_gelu_forward(fo, fx, n);
	check_rel("fast gelu vs naive", rel_err_f(fo, c.out, n), FWD_TOL);
	nn_gelu_backward(fdx, fdo, fx, n);
	check_grad("x (gelu)", gelu_loss, &c, c.x, n, dx, fdx);
	/* a known value of the tanh approximation */
	double one = 1.0, g1;
	nn_gelu_forward_naive(&g1, &one, 1);
	UT_NEAR(g1, 0.8411919906082768, 1e-12);

	memset(dx, 0, n * sizeof *dx);
	memset(fdx, 0, n * sizeof *fdx);
	resgelu_loss(&c);
	nn_residual_gelu_backward_naive(dx, c.dout, c.grad, n);   /* d(x + y) */
	nn_residual_gelu_forward(fo, fgrad, fx, fy, n);
	check_rel("fast residual gelu vs naive", rel_err_f(fo, c.out, n), FWD_TOL);
	check_rel("cached gelu derivative vs naive", rel_err_f(fgrad, c.grad, n), FWD_TOL);
	nn_residual_gelu_forward(fo, NULL, fx, fy, n);   /* inference: same output */
	check_rel("fast residual gelu (no cache) vs naive", rel_err_f(fo, c.out, n), FWD_TOL);
	for (size_t i = 0; i < n; i++)   /* written, not added to */
		fdx[i] = 1e3f;
	nn_residual_gelu_backward(fdx, fdo, fgrad, n);
	memcpy(dy, dx, n * sizeof *dy);
	memcpy(fdy, fdx, n * sizeof *fdy);
	check_grad("x (residual)", resgelu_loss, &c, c.x, n, dx, fdx);
	check_grad("y (residual)", resgelu_loss, &c, c.y, n, dy, fdy);
	free(c.x); free(c.y); free(c.dout); free(c.out); free(c.grad); free(dx); free(dy);
	free(fx); free(fy); free(fdo); free(fo); free(fgrad); free(fdx); free(fdy);
}

/* ---- pooling ---- */

typedef struct {
	size_t B, N, H;
	int use_max;
	double *in, *dout, *out;
	int32_t *am;
} pool_ctx;

static double pool_loss(void *p)
{
	pool_ctx *c = p;
	nn_pool_forward_naive(c->out, c->am, c->in, c->B, c->N, c->H, c->use_max);
	return dot(c->out, c->dout, c->B * (c->use_max ? 2 : 1) * c->H);
}

static void run_pool(size_t B, size_t N, size_t H, int use_max, int fd)
{
	size_t n = B * N * H, P = use_max ? 2 * H : H;
	pool_ctx c = { B, N, H, use_max, drand_new(n, 1), drand_new(B * P, 1),
		       dzero(B * P), xcalloc(B * H, sizeof(int32_t)) };
	double *din = dzero(n);
	pool_loss(&c);
	nn_pool_backward_naive(din, c.dout, c.am, B, N, H, use_max);
	float *fin = tof(c.in, n), *fdo = tof(c.dout, B * P), *fo = fzero(B * P);
	float *fdin = fzero(n);
	int32_t *fam = xcalloc(B * H, sizeof *fam);
	nn_pool_forward(fo, fam, fin, B, N, H, use_max);
	check_rel("fast pool vs naive", rel_err_f(fo, c.out, B * P), FWD_TOL);
	nn_pool_backward(fdin, fdo, fam, B, N, H, use_max);
	if (fd)
		check_grad("in (pool)", pool_loss, &c, c.in, n, din, fdin);
	else
		check_rel("fast dpool vs naive", rel_err_f(fdin, din, n), FWD_TOL);
	free(c.in); free(c.dout); free(c.out); free(c.am); free(din);
	free(fin); free(fdo); free(fo); free(fdin); free(fam);
}

static void test_pool(void)
{
	run_pool(2, 5, 3, 0, 1);
	run_pool(2, 5, 3, 1, 1);
	run_pool(16, 500, 32, 1, 0);
}

/* ---- squeeze-and-excitation ---- */

typedef struct {
	size_t B, N, H, R;
	double *in, *W1, *b1, *W2, *b2, *dout, *out, *sq, *a, *s;
} se_ctx;

static double se_loss(void *p)
{
	se_ctx *c = p;
	nn_se_forward_naive(c->out, c->sq, c->a, c->s, c->in, c->W1, c->b1, c->W2,
			    c->b2, c->B, c->N, c->H, c->R);
	return dot(c->out, c->dout, c->B * c->N * c->H);
}

static void run_se(size_t B, size_t N, size_t H, size_t R, int fd)
{
	size_t n = B * N * H;
	se_ctx c = { B, N, H, R, drand_new(n, 1), drand_new(R * H, 1), drand_new(R, 1),
		     drand_new(H * R, 1), drand_new(H, 1), drand_new(n, 1), dzero(n),
		     dzero(B * H), dzero(B * R), dzero(B * H) };
	double *din = dzero(n), *dW1 = dzero(R * H), *db1 = dzero(R);
	double *dW2 = dzero(H * R), *db2 = dzero(H);
	se_loss(&c);
	nn_se_backward_naive(din, dW1, db1, dW2, db2, c.dout, c.in, c.sq, c.a, c.s,
			     c.W1, c.W2, B, N, H, R);
	float *fin = tof(c.in, n), *fW1 = tof(c.W1, R * H), *fb1 = tof(c.b1, R);
	float *fW2 = tof(c.W2, H * R), *fb2 = tof(c.b2, H), *fdo = tof(c.dout, n);
	float *fo = fzero(n), *fsq = fzero(B * H), *fa = fzero(B * R), *fs = fzero(B * H);
	float *fdin = fzero(n), *fdW1 = fzero(R * H), *fdb1 = fzero(R);
	float *fdW2 = fzero(H * R), *fdb2 = fzero(H);
	nn_se_forward(fo, fsq, fa, fs, fin, fW1, fb1, fW2, fb2, B, N, H, R);
	check_rel("fast se vs naive", rel_err_f(fo, c.out, n), FWD_TOL);
	nn_se_backward(fdin, fdW1, fdb1, fdW2, fdb2, fdo, fin, fsq, fa, fs, fW1, fW2,
		       B, N, H, R);
	if (fd) {
		check_grad("in (se)", se_loss, &c, c.in, n, din, fdin);
		check_grad("W1", se_loss, &c, c.W1, R * H, dW1, fdW1);
		check_grad("b1", se_loss, &c, c.b1, R, db1, fdb1);
		check_grad("W2", se_loss, &c, c.W2, H * R, dW2, fdW2);
		check_grad("b2", se_loss, &c, c.b2, H, db2, fdb2);
	} else {
		check_rel("fast din (se) vs naive", rel_err_f(fdin, din, n), 1e-4);
		check_rel("fast dW1 vs naive", rel_err_f(fdW1, dW1, R * H), 1e-4);
		check_rel("fast dW2 vs naive", rel_err_f(fdW2, dW2, H * R), 1e-4);
	}
	free(c.in); free(c.W1); free(c.b1); free(c.W2); free(c.b2); free(c.dout);
	free(c.out); free(c.sq); free(c.a); free(c.s); free(din); free(dW1); free(db1);
	free(dW2); free(db2); free(fin); free(fW1); free(fb1); free(fW2); free(fb2);
	free(fdo); free(fo); free(fsq); free(fa); free(fs); free(fdin); free(fdW1);
	free(fdb1); free(fdW2); free(fdb2);
}

static void test_se(void)
{
	run_se(2, 4, 5, 3, 1);
	run_se(8, 300, 32, 8, 0);
}

/* ---- cross-config attention ---- */

typedef struct {
	size_t B, D;
	double *in, *W, *b, *dout, *out, *qkv, *att;
} xa_ctx;

static double xa_loss(void *p)
{
	xa_ctx *c = p;
	nn_xattn_forward_naive(c->out, c->qkv, c->att, c->in, c->W, c->b, c->B, c->D);
	return dot(c->out, c->dout, c->B * c->D);
}

static void run_xattn(size_t B, size_t D, int fd)
{
	size_t D3 = 3 * D;
	xa_ctx c = { B, D, drand_new(B * D, 1), drand_new(D3 * D, 1), drand_new(D3, 1),
		     drand_new(B * D, 1), dzero(B * D), dzero(B * D3), dzero(B * B) };
	double *din = dzero(B * D), *dW = dzero(D3 * D), *db = dzero(D3);
	xa_loss(&c);
	nn_xattn_backward_naive(din, dW, db, c.dout, c.in, c.qkv, c.att, c.W, B, D);
	float *fin = tof(c.in, B * D), *fW = tof(c.W, D3 * D), *fb = tof(c.b, D3);
	float *fdo = tof(c.dout, B * D), *fo = fzero(B * D), *fqkv = fzero(B * D3);
	float *fatt = fzero(B * B), *fdin = fzero(B * D), *fdW = fzero(D3 * D), *fdb = fzero(D3);
	nn_xattn_forward(fo, fqkv, fatt, fin, fW, fb, B, D);
	check_rel("fast xattn vs naive", rel_err_f(fo, c.out, B * D), FWD_TOL);
	nn_xattn_backward(fdin, fdW, fdb, fdo, fin, fqkv, fatt, fW, B, D);
	if (fd) {
		check_grad("in (xattn)", xa_loss, &c, c.in, B * D, din, fdin);
		check_grad("W (xattn)", xa_loss, &c, c.W, D3 * D, dW, fdW);
		check_grad("b (xattn)", xa_loss, &c, c.b, D3, db, fdb);
	} else {
		check_rel("fast din (xattn) vs naive", rel_err_f(fdin, din, B * D), 1e-4);
		check_rel("fast dW (xattn) vs naive", rel_err_f(fdW, dW, D3 * D), 1e-4);
	}
	free(c.in); free(c.W); free(c.b); free(c.dout); free(c.out); free(c.qkv);
	free(c.att); free(din); free(dW); free(db); free(fin); free(fW); free(fb);
	free(fdo); free(fo); free(fqkv); free(fatt); free(fdin); free(fdW); free(fdb);
}

static void test_xattn(void)
{
	run_xattn(4, 3, 1);
	run_xattn(1, 2, 1);
	run_xattn(64, 48, 0);
}

/* ---- losses ---- */

typedef struct {
	size_t n;
	double *s;     /* the scores, in double for the differences */
	double *y;
	float *fs;
	int which;     /* 0 hinge, 1 listmle */
} loss_ctx;

static double rank_loss_fn(void *p)
{
	loss_ctx *c = p;
	/* the loss reads float scores: perturb through a float copy whose
	 * step is exact (scores are multiples of 2^-10, the step 2^-20) */
	for (size_t i = 0; i < c->n; i++)
		c->fs[i] = (float)c->s[i];
	if (c->which == 0)
		return nn_hinge_loss(NULL, c->fs, c->y, c->n, 0.3, 1.0);
	return nn_listmle_loss(NULL, c->fs, c->y, c->n, 1.0);
}

static void test_losses(void)
{
	size_t n = 12;
	loss_ctx c = { n, dzero(n), dzero(n), fzero(n), 0 };
	for (size_t i = 0; i < n; i++) {
		c.s[i] = ldexp(floor(urand() * 2048), -10);
		c.y[i] = floor((urand() + 1) * 8);   /* some ties */
	}
	for (int w = 0; w < 2; w++) {   /* their weighted sums: test_train.c */
		c.which = w;
		rank_loss_fn(&c);
		float *ds = fzero(n);
		if (w == 0)
			nn_hinge_loss(ds, c.fs, c.y, n, 0.3, 1.0);
		else
			nn_listmle_loss(ds, c.fs, c.y, n, 1.0);
		double *fd = fd_grad_step(rank_loss_fn, &c, c.s, n, ldexp(1, -20));
		const char *what[2] = { "hinge ds vs finite differences",
					"listmle ds vs finite differences" };
		check_rel(what[w], rel_err_f(ds, fd, n), FD_TOL);
		free(ds);
		free(fd);
	}
	/* hand-computed values */
	float s2[2] = { 0.0f, 0.5f };
	double y2[2] = { 1.0, 2.0 };
	UT_NEAR(nn_hinge_loss(NULL, s2, y2, 2, 1.0, 1.0), 0.5, 1e-12);
	double yt[2] = { 1.0, 1.0 };
	UT_NEAR(nn_hinge_loss(NULL, s2, yt, 2, 1.0, 1.0), 0.0, 0);  /* tie: no pair */
	float z2[2] = { 0.0f, 0.0f };
	UT_NEAR(nn_listmle_loss(NULL, z2, y2, 2, 1.0), log(2.0) / 2, 1e-12);
	/* a perfectly separated order costs ~0 and a reversed one a lot */
	float good[3] = { -30, 0, 30 }, bad[3] = { 30, 0, -30 };
	double y3[3] = { 1, 2, 3 };
	UT_CHECK(nn_listmle_loss(NULL, good, y3, 3, 1.0) < 1e-9);
	UT_CHECK(nn_listmle_loss(NULL, bad, y3, 3, 1.0) > 10);
	/* no overflow at large scores */
	float big[3] = { -1e4f, 0, 1e4f };
	float dbig[3] = { 0, 0, 0 };
	double lb = nn_listmle_loss(dbig, big, y3, 3, 1.0);
	UT_CHECK(isfinite(lb) && isfinite(dbig[0]) && isfinite(dbig[2]));
	free(c.s); free(c.y); free(c.fs);
}

/* ---- optimisation ---- */

static void test_adamw(void)
{
	/* hand-computed: p = 1, g = 0.5 then -0.25, lr 0.1, betas (0.9, 0.999),
	 * eps 1e-8, weight decay 0.01 (torch.optim.AdamW gives the same). */
	nn_adamw_t o = { 0.1, 0.9, 0.999, 1e-8, 0.01 };
	float p = 1.0f, m = 0.0f, v = 0.0f, g = 0.5f;
	nn_adamw_update(&p, &g, &m, &v, 1, &o, o.weight_decay, 1);
	UT_NEAR(p, 0.899000002, 1e-6);
	UT_NEAR(m, 0.05, 1e-7);
	UT_NEAR(v, 0.00025, 1e-10);
	g = -0.25f;
	nn_adamw_update(&p, &g, &m, &v, 1, &o, o.weight_decay, 2);
	UT_NEAR(p, 0.8714672987, 1e-6);
	/* no decay when wd = 0 */
	float q = 2.0f, mq = 0.0f, vq = 0.0f, gq = 0.0f;
	nn_adamw_update(&q, &gq, &mq, &vq, 1, &o, 0.0, 1);
	UT_NEAR(q, 2.0, 0);
}

static void test_clip_schedule(void)
{
	float g[2] = { 3.0f, 4.0f };
	UT_NEAR(nn_grad_norm(g, 2), 5.0, 1e-12);
	UT_NEAR(nn_grad_clip(g, 2, 1.0), 5.0, 1e-12);
	UT_NEAR(nn_grad_norm(g, 2), 1.0, 1e-6);
	UT_NEAR(g[0], 0.6, 1e-6);
	float h[2] = { 0.3f, 0.4f };
	nn_grad_clip(h, 2, 1.0);   /* under the limit: unchanged */
	UT_NEAR(h[0], 0.3f, 0);
	/* warm-up 10 steps to 1e-3, cosine to 1e-5 at step 110 */
	UT_NEAR(nn_lr_cosine(0, 110, 10, 1e-3, 1e-5), 1e-4, 1e-12);
	UT_NEAR(nn_lr_cosine(9, 110, 10, 1e-3, 1e-5), 1e-3, 1e-12);
	UT_NEAR(nn_lr_cosine(10, 110, 10, 1e-3, 1e-5), 1e-3, 1e-12);
	UT_NEAR(nn_lr_cosine(60, 110, 10, 1e-3, 1e-5), (1e-3 + 1e-5) / 2, 1e-12);
	UT_NEAR(nn_lr_cosine(110, 110, 10, 1e-3, 1e-5), 1e-5, 1e-12);
	UT_NEAR(nn_lr_cosine(5, 10, 0, 1e-3, 0), 1e-3 * 0.5, 1e-12);
}

/* Two runs of a threaded backward give identical bits. */
static void test_deterministic(void)
{
	size_t B = 8, N = 300, H = 16, m = 900, ny = B * N * H;
	int32_t *e = rand_edges(N, m);
	nn_adj_t a;
	nn_adj_build(&a, N, e, m);
	double *h = drand_new(ny, 1), *W = drand_new(3 * H * H, 1), *d = drand_new(ny, 1);
	float *fh = tof(h, ny), *fW = tof(W, 3 * H * H), *fd = tof(d, ny);
	float *Z = fzero(3 * ny), *dW1 = fzero(3 * H * H), *dW2 = fzero(3 * H * H);
	float *dh1 = fzero(ny), *dh2 = fzero(ny), *db = fzero(H);
	nn_sage_backward(dh1, dW1, db, Z, fd, fh, fW, &a, B, H);
	nn_sage_backward(dh2, dW2, db, Z, fd, fh, fW, &a, B, H);
	UT_CHECK(memcmp(dh1, dh2, ny * sizeof *dh1) == 0);
	UT_CHECK(memcmp(dW1, dW2, 3 * H * H * sizeof *dW1) == 0);
	nn_adj_free(&a);
	free(e); free(h); free(W); free(d); free(fh); free(fW); free(fd); free(Z);
	free(dW1); free(dW2); free(dh1); free(dh2); free(db);
}

int main(void)
{
	nn_set_threads(2);
	UT_RUN(test_linear);
	UT_RUN(test_embedding);
	UT_RUN(test_instnorm);
	UT_RUN(test_layernorm);
	UT_RUN(test_adj);
	UT_RUN(test_sage);
	UT_RUN(test_gelu);
	UT_RUN(test_pool);
	UT_RUN(test_se);
	UT_RUN(test_xattn);
	UT_RUN(test_losses);
	UT_RUN(test_adamw);
	UT_RUN(test_clip_schedule);
	UT_RUN(test_deterministic);
	UT_RUN(test_gemm_isas);
	/* the same products through cblas_sgemm (NN_GEMM=blas) */
	nn_gemm_mode(NN_GEMM_BLAS);
	UT_RUN(test_linear);
	UT_RUN(test_sage);
	UT_RUN(test_xattn);
	UT_RUN(test_deterministic);
	nn_gemm_mode(NN_GEMM_AUTO);
	return ut_done("test_nn");
}
