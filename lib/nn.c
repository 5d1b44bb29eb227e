/* nn: see nn.h */
/* Floating-point exceptions are never trapped here; saying so lets GCC
 * if-convert the clamps in nn_exp_f and vectorise the loops that call it. */
#pragma GCC optimize("no-trapping-math")

#include "nn.h"
#include "nn_exp.h"
#include "err.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int nthreads = 1;
static int gemm_mode = NN_GEMM_AUTO;   /* see nn_gemm_mode */

void nn_exec_env(char **argv)
{
	const char *pre = getenv("LD_PRELOAD");
	if (getenv("OMP_WAIT_POLICY"))
		return;
	/* under valgrind the new image would run outside it */
	if (pre && (strstr(pre, "valgrind") || strstr(pre, "vgpreload")))
		return;
	/* the binary's own path, so that ps and top still show its name */
	char self[4096];
	ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
	if (len <= 0 || (size_t)len >= sizeof self - 1)
		return;
	self[len] = '\0';
	if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0)
		return;
	execv(self, argv);
	/* exec failed: carry on as we are */
}

int nn_set_threads(int n)
{
	if (n > 0) {
		omp_set_num_threads(n);
		nthreads = n;
	} else {
		nthreads = omp_get_max_threads();
	}
	/* One pool: BLAS calls run inside our OpenMP slabs, single-threaded;
	 * a kernel called inside a parallel region runs on its thread alone. */
	openblas_set_num_threads(1);
	omp_set_max_active_levels(1);
	const char *g = getenv("NN_GEMM");
	static const char *const modes[] = { "auto", "blas", "sse", "avx2", "avx512" };
	for (int i = 0; g && i < (int)(sizeof modes / sizeof *modes); i++)
		if (strcmp(g, modes[i]) == 0)
			gemm_mode = i;
	return nthreads;
}

int nn_threads(void)
{
	return nthreads;
}

int nn_team(size_t work)
{
	return work < NN_PAR_MIN_WORK ? 1 : nthreads;
}

int nn_team_rows(size_t work, size_t rows)
{
	int nt = nn_team(work);
	if ((size_t)nt > rows)
		nt = rows ? (int)rows : 1;
	return nt;
}

/* Rows [*r0, *r1) of n for thread t of nt. */
static void slab(size_t n, int t, int nt, size_t *r0, size_t *r1)
{
	*r0 = n * (size_t)t / (size_t)nt;
	*r1 = n * (size_t)(t + 1) / (size_t)nt;
}

/* ------------------------------------------------------------------ */
/* small GEMMs
 *
 * Every product of the model has a weight matrix of at most a few hundred
 * rows and columns on one side and nodes x configs rows on the other.  The
 * kernels of nn_gemm.h do them in registers: the weight matrix, packed once
 * per call (K x N, N padded to 32), stays in L1/L2 while a tile of the
 * output accumulates in vector registers over K (AVX-512: 8 x 32 in 16
 * registers; AVX2 and SSE: 6 x 16 and 6 x 8 in 12).  On this project's
 * AVX-512 machine they ran at 2x the speed of OpenBLAS's sgemm as its
 * environment configures it (OPENBLAS_CORETYPE=Haswell, its AVX2 kernel) and
 * above its AVX-512 kernel on these shapes (250 against 110-185 GFLOP/s on
 * one core).
 *
 * One summation order on every CPU.  Each output element is
 *     acc = bias (or 0);  for k ascending: acc = acc + a_k * b_k;  [+ C]
 * with every product and sum rounded to float (no fused multiply-add: the
 * build has -ffp-contract=off), and A^T B sums its rows in chunks of
 * ATB_CHUNK, each chunk's sum added to C.  The vector width and the tile
 * only decide how many elements go at once, never the order within one, so
 * the AVX-512, AVX2 and SSE kernels and plain_ab, which does the
 * products too small to pack, give the same bits (test_nn's
 * test_gemm_isas): the same seed and threads train the same model on any
 * CPU (tests/cli/determinism.bats forces each path and compares).
 * OpenBLAS, whose kernels and blocking depend on the CPU, does the products
 * only on request (nn_gemm_mode(NN_GEMM_BLAS), NN_GEMM=blas), and its
 * models are the CPU's own. */

#define MR 8    /* the widest kernel's rows per tile (the threshold of own_for) */
#define NR 32   /* packed widths are multiples of this (every kernel's tile divides it) */
#define ATB_CHUNK 256   /* rows of A^T B summed before they are added to C */

int nn_gemm_mode(int mode)
{
	int old = gemm_mode;
	if (mode >= 0)
		gemm_mode = mode;
	return old;
}

static int own_gemm(void)
{
	return gemm_mode != NN_GEMM_BLAS;
}

static int gemm_isa(void);

/* The kernels, once per instruction set (nn_gemm.h): AVX-512 with 8 x 32
 * tiles (16 of its 32 vector registers accumulate), AVX2 and SSE with 6 x 16
 * and 6 x 8 (12 of 16).  GCC and clang only (vector extensions); on other
 * machines the SSE instantiation is plain portable vectors. */
#if defined(__x86_64__) && defined(__GNUC__)
#define GEMM_ISA avx512
#define GEMM_TARGET __attribute__((target("arch=x86-64-v4")))
#define GEMM_VBYTES 64
#define GEMM_MR 8
#include "nn_gemm.h"
#define GEMM_ISA avx2
#define GEMM_TARGET __attribute__((target("arch=x86-64-v3")))
#define GEMM_VBYTES 32
#define GEMM_MR 6
#include "nn_gemm.h"
#endif
#define GEMM_ISA sse
#define GEMM_TARGET
#define GEMM_VBYTES 16
#define GEMM_MR 6
#include "nn_gemm.h"

/* The kernels' instruction set: NN_GEMM's, or the widest the CPU has. */
static int gemm_isa(void)
{
	static int have = -1;   /* the CPU's widest, found once */
	int h = __atomic_load_n(&have, __ATOMIC_RELAXED);
	if (h < 0) {
		h = NN_GEMM_SSE;
#if defined(__x86_64__) && defined(__GNUC__)
		__builtin_cpu_init();
		if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
		    __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
		    __builtin_cpu_supports("avx512cd"))
			h = NN_GEMM_AVX512;
		else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
			h = NN_GEMM_AVX2;
#endif
		__atomic_store_n(&have, h, __ATOMIC_RELAXED);
	}
	return gemm_mode >= NN_GEMM_SSE && gemm_mode <= h ? gemm_mode : h;
}

static void gemm_ab(float *C, size_t ldc, int add_c, const float *bias_p, const float *A,
		    size_t lda, const float *Bp, size_t Np, size_t M, size_t K, size_t N)
{
	switch (gemm_isa()) {
#if defined(__x86_64__) && defined(__GNUC__)
	case NN_GEMM_AVX512:
		gemm_ab_avx512(C, ldc, add_c, bias_p, A, lda, Bp, Np, M, K, N);
		return;
	case NN_GEMM_AVX2:
		gemm_ab_avx2(C, ldc, add_c, bias_p, A, lda, Bp, Np, M, K, N);
		return;
#endif
	default:
		gemm_ab_sse(C, ldc, add_c, bias_p, A, lda, Bp, Np, M, K, N);
	}
}

static void gemm_atb(float *C, size_t ldc, const float *A, size_t lda, const float *B,
		     size_t ldb, size_t M, size_t N1, size_t N2)
{
	switch (gemm_isa()) {
#if defined(__x86_64__) && defined(__GNUC__)
	case NN_GEMM_AVX512:
		gemm_atb_avx512(C, ldc, A, lda, B, ldb, M, N1, N2);
		return;
	case NN_GEMM_AVX2:
		gemm_atb_avx2(C, ldc, A, lda, B, ldb, M, N1, N2);
		return;
#endif
	default:
		gemm_atb_sse(C, ldc, A, lda, B, ldb, M, N1, N2);
	}
}

/* The products too small to pack, in the same order as the kernels above:
 * C (M x N) = [C +] [bias +] A (M x K, stride lda) . W^T, W (N x K)
 * row-major (trans_w 1) or W (K x N) (trans_w 0, the backward's din).  The
 * inner loop runs along a row of C (it vectorises; each element still sums
 * over k in order), so W is read as (K x N) rows, transposed first when it
 * is (N x K). */
NN_CLONES static void plain_ab(float *C, size_t ldc, int add_c, const float *bias,
			       const float *A, size_t lda, const float *W, int trans_w, size_t M,
			       size_t K, size_t N)
{
	float *Wt = NULL, *acc = xmallocarray(N ? N : 1, sizeof *acc);
	const float *B = W;
	if (trans_w && K > 0) {
		Wt = xmallocarray(K * N, sizeof *Wt);
		for (size_t n = 0; n < N; n++)
			for (size_t k = 0; k < K; k++)
				Wt[k * N + n] = W[n * K + k];
		B = Wt;
	}
	for (size_t m = 0; m < M; m++) {
		for (size_t n = 0; n < N; n++)
			acc[n] = bias ? bias[n] : 0.0f;
		for (size_t k = 0; k < K; k++) {
			float a = A[m * lda + k];
			const float *b = B + k * N;
			for (size_t n = 0; n < N; n++)
				acc[n] += a * b[n];
		}
		float *c = C + m * ldc;
		for (size_t n = 0; n < N; n++)
			c[n] = add_c ? acc[n] + c[n] : acc[n];
	}
	free(Wt);
	free(acc);
}

/* Pack a weight matrix for gemm_ab: Bp (R x Np) = W (R x Cn) or, with
 * transpose, W^T where W is (Cn x R); columns beyond Cn zero. */
static float *pack_b(const float *W, size_t R, size_t Cn, size_t Np, int transpose)
{
	float *Bp = xcalloc(R * Np, sizeof *Bp);
	for (size_t r = 0; r < R; r++)
		for (size_t c = 0; c < Cn; c++)
			Bp[r * Np + c] = transpose ? W[c * R + r] : W[r * Cn + c];
	return Bp;
}

static size_t round_nr(size_t n)
{
	return (n + NR - 1) / NR * NR;
}

/* Use the register-tiled kernels for products this big (the packing pays
 * off); smaller ones go through plain_ab, and A^T B through gemm_atb,
 * which packs nothing (or OpenBLAS, on request). */
static int own_for(size_t M, size_t K, size_t O)
{
	return M >= 2 * MR && K >= 8 && O >= 8 && M * K * O >= 65536 && own_gemm();
}

/* ------------------------------------------------------------------ */
/* linear */

void nn_linear_forward(float *out, const float *in, const float *W,
		       const float *b, size_t M, size_t K, size_t O)
{
	if (M == 0 || O == 0)
		return;
	float *Wt = NULL, *bp = NULL;
	size_t Op = round_nr(O);
	int own = K > 0 && own_for(M, K, O);
	if (own) {
		Wt = pack_b(W, K, O, Op, 1);   /* (K, Op) = W^T */
		if (b) {
			bp = xcalloc(Op, sizeof *bp);
			memcpy(bp, b, O * sizeof *bp);
		}
	}
	#pragma omp parallel num_threads(nn_team(M * K * O))
	{
		size_t r0, r1;
		slab(M, omp_get_thread_num(), omp_get_num_threads(), &r0, &r1);
		if (r1 > r0 && own) {
			gemm_ab(out + r0 * O, O, 0, bp, in + r0 * K, K, Wt, Op, r1 - r0, K, O);
		} else if (r1 > r0 && own_gemm()) {
			plain_ab(out + r0 * O, O, 0, b, in + r0 * K, K, W, 1, r1 - r0, K, O);
		} else if (r1 > r0) {
			float beta = 0.0f;
			if (b) {
				for (size_t r = r0; r < r1; r++)
					memcpy(out + r * O, b, O * sizeof *b);
				beta = 1.0f;
			} else if (K == 0) {
				memset(out + r0 * O, 0, (r1 - r0) * O * sizeof *out);
			}
			if (K > 0)
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
					    (int)(r1 - r0), (int)O, (int)K, 1.0f,
					    in + r0 * K, (int)K, W, (int)K, beta,
					    out + r0 * O, (int)O);
		}
	}
	free(Wt);
	free(bp);
}

/* The linear backward; din_beta 0 writes din instead of adding to it. */
static void linear_backward(float *din, float din_beta, float *dW, float *db,
			    const float *dout, const float *in, const float *W,
			    size_t M, size_t K, size_t O)
{
	if (M == 0 || O == 0)
		return;
	int nt = nn_team(M * K * O);
	if (din && K > 0) {
		size_t Kp = round_nr(K);
		int own = own_for(M, O, K);
		float *Wp = own ? pack_b(W, O, K, Kp, 0) : NULL;   /* (O, Kp) = W */
		#pragma omp parallel num_threads(nt)
		{
			size_t r0, r1;
			slab(M, omp_get_thread_num(), omp_get_num_threads(), &r0, &r1);
			if (r1 > r0 && own) {
				gemm_ab(din + r0 * K, K, din_beta != 0.0f, NULL, dout + r0 * O, O, Wp,
					Kp, r1 - r0, O, K);
			} else if (r1 > r0 && own_gemm()) {
				plain_ab(din + r0 * K, K, din_beta != 0.0f, NULL, dout + r0 * O, O, W, 0,
					 r1 - r0, O, K);
			} else if (r1 > r0) {
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
					    (int)(r1 - r0), (int)K, (int)O, 1.0f,
					    dout + r0 * O, (int)O, W, (int)K, din_beta,
					    din + r0 * K, (int)K);
			}
		}
		free(Wp);
	}
	if (dW && K > 0 && (nt > 1 || own_for(M, K, O)) && M >= 8 * (O + K)) {
		/* Many rows (nodes x configs): each thread sums its slab of rows
		 * into a private dW, then the partials are added in thread order.
		 * Every thread reads only its own rows of dout and in. */
		float *part = xcalloc((size_t)nt * O * K, sizeof *part);
		int used = 1;
		#pragma omp parallel num_threads(nt)
		{
			int t = omp_get_thread_num(), n = omp_get_num_threads();
			size_t r0, r1;
			slab(M, t, n, &r0, &r1);
			#pragma omp single
			used = n;
			if (own_gemm()) {   /* gemm_atb packs nothing: any size */
				gemm_atb(part + (size_t)t * O * K, K, dout + r0 * O, O, in + r0 * K, K,
					 r1 - r0, O, K);
			} else {
				cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
					    (int)O, (int)K, (int)(r1 - r0), 1.0f,
					    dout + r0 * O, (int)O, in + r0 * K, (int)K, 0.0f,
					    part + (size_t)t * O * K, (int)K);
			}
		}
		for (int t = 0; t < used; t++) {
			const float *pt = part + (size_t)t * O * K;
			#pragma omp simd
			for (size_t i = 0; i < O * K; i++)
				dW[i] += pt[i];
		}
		free(part);
	} else if (dW && K > 0) {
		/* Split dW by its rows (or columns when it has few rows): each
		 * thread owns its part of dW, no reduction across threads. */
		int by_rows = O >= K;
		#pragma omp parallel num_threads(nt)
		{
			size_t c0, c1;
			slab(by_rows ? O : K, omp_get_thread_num(), omp_get_num_threads(),
			     &c0, &c1);
			if (c1 > c0 && own_gemm() && by_rows)
				gemm_atb(dW + c0 * K, K, dout + c0, O, in, K, M, c1 - c0, K);
			else if (c1 > c0 && own_gemm())
				gemm_atb(dW + c0, K, dout, O, in + c0, K, M, O, c1 - c0);
			else if (c1 > c0 && by_rows)
				cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
					    (int)(c1 - c0), (int)K, (int)M, 1.0f,
					    dout + c0, (int)O, in, (int)K, 1.0f,
					    dW + c0 * K, (int)K);
			else if (c1 > c0)
				cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
					    (int)O, (int)(c1 - c0), (int)M, 1.0f,
					    dout, (int)O, in + c0, (int)K, 1.0f,
					    dW + c0, (int)K);
		}
	}
	if (db) {
		#pragma omp parallel num_threads(nn_team(M * O))
		{
			size_t o0, o1;
			slab(O, omp_get_thread_num(), omp_get_num_threads(), &o0, &o1);
			if (o1 > o0) {
				double *acc = xcalloc(o1 - o0, sizeof *acc);
				for (size_t m = 0; m < M; m++) {
					const float *d = dout + m * O;
					for (size_t o = o0; o < o1; o++)
						acc[o - o0] += d[o];
				}
				for (size_t o = o0; o < o1; o++)
					db[o] += (float)acc[o - o0];
				free(acc);
			}
		}
	}
}

void nn_linear_backward(float *din, float *dW, float *db, const float *dout,
			const float *in, const float *W, size_t M, size_t K, size_t O)
{
	linear_backward(din, 1.0f, dW, db, dout, in, W, M, K, O);
}

void nn_linear_forward_naive(double *out, const double *in, const double *W,
			     const double *b, size_t M, size_t K, size_t O)
{
	for (size_t m = 0; m < M; m++)
		for (size_t o = 0; o < O; o++) {
			double s = b ? b[o] : 0.0;
			for (size_t i = 0; i < K; i++)
				s += in[m * K + i] * W[o * K + i];
			out[m * O + o] = s;
		}
}

void nn_linear_backward_naive(double *din, double *dW, double *db,
			      const double *dout, const double *in, const double *W,
			      size_t M, size_t K, size_t O)
{
	for (size_t m = 0; m < M; m++)
		for (size_t o = 0; o < O; o++) {
			double d = dout[m * O + o];
			if (db)
				db[o] += d;
			for (size_t i = 0; i < K; i++) {
				if (din)
					din[m * K + i] += d * W[o * K + i];
				if (dW)
					dW[o * K + i] += d * in[m * K + i];
			}
		}
}

/* ------------------------------------------------------------------ */
/* embedding */

NN_CLONES void nn_embedding_forward(float *out, const uint8_t *idx, const float *table,
			  size_t M, size_t D)
{
	#pragma omp parallel for schedule(static) num_threads(nn_team(M * D))
	for (size_t m = 0; m < M; m++)
		memcpy(out + m * D, table + (size_t)idx[m] * D, D * sizeof *out);
}

NN_CLONES void nn_embedding_backward(float *dtable, const float *dout, const uint8_t *idx,
			   size_t M, size_t D, size_t rows)
{
	/* Each thread owns a range of table rows and scans every index: no
	 * two threads write the same row, and each row sums in index order. */
	#pragma omp parallel num_threads(nn_team_rows(M * D, rows))
	{
		size_t r0, r1;
		slab(rows, omp_get_thread_num(), omp_get_num_threads(), &r0, &r1);
		for (size_t m = 0; m < M; m++) {
			size_t r = idx[m];
			if (r < r0 || r >= r1)
				continue;
			float *dt = dtable + r * D;
			const float *d = dout + m * D;
			#pragma omp simd
			for (size_t k = 0; k < D; k++)
				dt[k] += d[k];
		}
	}
}

void nn_embedding_forward_naive(double *out, const uint8_t *idx,
				const double *table, size_t M, size_t D)
{
	for (size_t m = 0; m < M; m++)
		for (size_t k = 0; k < D; k++)
			out[m * D + k] = table[(size_t)idx[m] * D + k];
}

void nn_embedding_backward_naive(double *dtable, const double *dout,
				 const uint8_t *idx, size_t M, size_t D)
{
	for (size_t m = 0; m < M; m++)
		for (size_t k = 0; k < D; k++)
			dtable[(size_t)idx[m] * D + k] += dout[m * D + k];
}

/* ------------------------------------------------------------------ */
/* instance norm */

/* Instance norm works on tasks of (config, 16 channels): enough tasks for
 * every thread even when a cache block holds one config, and each task's
 * statistics stay in registers. */
#define NORM_CB 16

NN_CLONES void nn_instnorm_forward(float *out, float *mean, float *rstd, const float *in,
			 const float *gamma, const float *beta,
			 size_t B, size_t N, size_t H)
{
	size_t nblk = (H + NORM_CB - 1) / NORM_CB;
	#pragma omp parallel for schedule(static) num_threads(nn_team_rows(B * N * H, B * nblk))
	for (size_t t = 0; t < B * nblk; t++) {
		size_t b = t / nblk, c0 = (t % nblk) * NORM_CB;
		size_t w = H - c0 < NORM_CB ? H - c0 : NORM_CB;
		const float *x = in + b * N * H + c0;
		float *y = out + b * N * H + c0;
		double acc[NORM_CB];
		float mu[NORM_CB], rs[NORM_CB], sc[NORM_CB], sh[NORM_CB];
		for (size_t h = 0; h < w; h++)
			acc[h] = 0.0;
		for (size_t n = 0; n < N; n++)
			#pragma omp simd
			for (size_t h = 0; h < w; h++)
				acc[h] += x[n * H + h];
		for (size_t h = 0; h < w; h++) {
			mu[h] = (float)(acc[h] / (double)N);
			acc[h] = 0.0;
		}
		for (size_t n = 0; n < N; n++)
			#pragma omp simd
			for (size_t h = 0; h < w; h++) {
				float d = x[n * H + h] - mu[h];
				acc[h] += d * d;
			}
		for (size_t h = 0; h < w; h++) {
			rs[h] = (float)(1.0 / sqrt(acc[h] / (double)N + NN_NORM_EPS));
			mean[b * H + c0 + h] = mu[h];
			rstd[b * H + c0 + h] = rs[h];
			sc[h] = gamma[c0 + h];
			sh[h] = beta[c0 + h];
		}
		for (size_t n = 0; n < N; n++)
			#pragma omp simd
			for (size_t h = 0; h < w; h++)
				y[n * H + h] = sc[h] * ((x[n * H + h] - mu[h]) * rs[h]) + sh[h];
	}
}

NN_CLONES void nn_instnorm_apply(float *out, const float *in, const float *mean,
			       const float *rstd, const float *gamma, const float *beta,
			       size_t B, size_t N, size_t H)
{
	#pragma omp parallel for collapse(2) schedule(static) if (B * N * H > 32768)
	for (size_t b = 0; b < B; b++)
		for (size_t n = 0; n < N; n++) {
			const float *x = in + (b * N + n) * H, *mu = mean + b * H, *rs = rstd + b * H;
			float *y = out + (b * N + n) * H;
			#pragma omp simd
			for (size_t k = 0; k < H; k++)
				y[k] = gamma[k] * ((x[k] - mu[k]) * rs[k]) + beta[k];
		}
}

NN_CLONES void nn_instnorm_backward(float *din, float *dgamma, float *dbeta,
			  const float *dout, const float *in, const float *mean,
			  const float *rstd, const float *gamma,
			  size_t B, size_t N, size_t H)
{
	/* Per-config partial sums of dgamma/dbeta, summed over b in order. */
	double *pg = xcalloc(B * H, sizeof *pg), *pb = xcalloc(B * H, sizeof *pb);
	size_t nblk = (H + NORM_CB - 1) / NORM_CB;
	#pragma omp parallel for schedule(static) num_threads(nn_team_rows(B * N * H, B * nblk))
	for (size_t t = 0; t < B * nblk; t++) {
		size_t b = t / nblk, c0 = (t % nblk) * NORM_CB;
		size_t w = H - c0 < NORM_CB ? H - c0 : NORM_CB;
		const float *x = in + b * N * H + c0, *dy = dout + b * N * H + c0;
		double g[NORM_CB], be[NORM_CB];
		float mu[NORM_CB], rs[NORM_CB], c1[NORM_CB], c2[NORM_CB], ga[NORM_CB];
		for (size_t h = 0; h < w; h++) {
			g[h] = be[h] = 0.0;
			mu[h] = mean[b * H + c0 + h];
			rs[h] = rstd[b * H + c0 + h];
			ga[h] = gamma[c0 + h];
		}
		for (size_t n = 0; n < N; n++)
			#pragma omp simd
			for (size_t h = 0; h < w; h++) {
				float xh = (x[n * H + h] - mu[h]) * rs[h];
				float d = dy[n * H + h];
				be[h] += d;
				g[h] += d * xh;
			}
		/* dxhat = dy * gamma: c1 = mean(dxhat), c2 = mean(dxhat * xhat) */
		for (size_t h = 0; h < w; h++) {
			c1[h] = (float)(be[h] * ga[h] / (double)N);
			c2[h] = (float)(g[h] * ga[h] / (double)N);
			pg[b * H + c0 + h] = g[h];
			pb[b * H + c0 + h] = be[h];
		}
		if (din) {
			float *dx = din + b * N * H + c0;
			for (size_t n = 0; n < N; n++)
				#pragma omp simd
				for (size_t h = 0; h < w; h++) {
					float xh = (x[n * H + h] - mu[h]) * rs[h];
					float dxh = dy[n * H + h] * ga[h];
					dx[n * H + h] += rs[h] * (dxh - c1[h] - xh * c2[h]);
				}
		}
	}
	for (size_t h = 0; h < H; h++) {
		double sg = 0.0, sb = 0.0;
		for (size_t b = 0; b < B; b++) {
			sg += pg[b * H + h];
			sb += pb[b * H + h];
		}
		if (dgamma)
			dgamma[h] += (float)sg;
		if (dbeta)
			dbeta[h] += (float)sb;
	}
	free(pg);
	free(pb);
}

void nn_instnorm_forward_naive(double *out, double *mean, double *rstd,
			       const double *in, const double *gamma,
			       const double *beta, size_t B, size_t N, size_t H)
{
	for (size_t b = 0; b < B; b++)
		for (size_t h = 0; h < H; h++) {
			double mu = 0.0, var = 0.0;
			for (size_t n = 0; n < N; n++)
				mu += in[(b * N + n) * H + h];
			mu /= (double)N;
			for (size_t n = 0; n < N; n++) {
				double d = in[(b * N + n) * H + h] - mu;
				var += d * d;
			}
			var /= (double)N;
			double rs = 1.0 / sqrt(var + NN_NORM_EPS);
			mean[b * H + h] = mu;
			rstd[b * H + h] = rs;
			for (size_t n = 0; n < N; n++)
				out[(b * N + n) * H + h] =
					gamma[h] * (in[(b * N + n) * H + h] - mu) * rs + beta[h];
		}
}

void nn_instnorm_backward_naive(double *din, double *dgamma, double *dbeta,
				const double *dout, const double *in,
				const double *mean, const double *rstd,
				const double *gamma, size_t B, size_t N, size_t H)
{
	for (size_t b = 0; b < B; b++)
		for (size_t h = 0; h < H; h++) {
			double mu = mean[b * H + h], rs = rstd[b * H + h];
			double m1 = 0.0, m2 = 0.0;
			for (size_t n = 0; n < N; n++) {
				size_t i = (b * N + n) * H + h;
				double xh = (in[i] - mu) * rs;
				if (dgamma)
					dgamma[h] += dout[i] * xh;
				if (dbeta)
					dbeta[h] += dout[i];
				m1 += dout[i] * gamma[h];
				m2 += dout[i] * gamma[h] * xh;
			}
			m1 /= (double)N;
			m2 /= (double)N;
			if (din)
				for (size_t n = 0; n < N; n++) {
					size_t i = (b * N + n) * H + h;
					double xh = (in[i] - mu) * rs;
					din[i] += rs * (dout[i] * gamma[h] - m1 - xh * m2);
				}
		}
}

/* ------------------------------------------------------------------ */
/* layer norm */

/* Rows per task of the backward's parameter sums: a fixed split, so that
 * dgamma and dbeta do not depend on the number of threads. */
#define LNORM_ROWS 64

NN_CLONES void nn_layernorm_forward(float *out, float *mean, float *rstd, const float *in,
				    const float *gamma, const float *beta, size_t R, size_t H)
{
	#pragma omp parallel for schedule(static) if (R * H > 32768)
	for (size_t r = 0; r < R; r++) {
		const float *x = in + r * H;
		float *y = out + r * H;
		double acc = 0.0;
		for (size_t k = 0; k < H; k++)
			acc += x[k];
		float mu = (float)(acc / (double)H);
		acc = 0.0;
		for (size_t k = 0; k < H; k++) {
			float d = x[k] - mu;
			acc += d * d;
		}
		float rs = (float)(1.0 / sqrt(acc / (double)H + NN_NORM_EPS));
		mean[r] = mu;
		rstd[r] = rs;
		#pragma omp simd
		for (size_t k = 0; k < H; k++)
			y[k] = gamma[k] * ((x[k] - mu) * rs) + beta[k];
	}
}

NN_CLONES void nn_layernorm_apply(float *out, const float *in, const float *mean,
				  const float *rstd, const float *gamma, const float *beta,
				  size_t R, size_t H)
{
	#pragma omp parallel for schedule(static) if (R * H > 32768)
	for (size_t r = 0; r < R; r++) {
		const float *x = in + r * H;
		float *y = out + r * H;
		float mu = mean[r], rs = rstd[r];
		#pragma omp simd
		for (size_t k = 0; k < H; k++)
			y[k] = gamma[k] * ((x[k] - mu) * rs) + beta[k];
	}
}

NN_CLONES void nn_layernorm_backward(float *din, float *dgamma, float *dbeta,
				     const float *dout, const float *in, const float *mean,
				     const float *rstd, const float *gamma, size_t R, size_t H)
{
	size_t nt = (R + LNORM_ROWS - 1) / LNORM_ROWS;
	double *pg = xcalloc(nt * H + 1, sizeof *pg), *pb = xcalloc(nt * H + 1, sizeof *pb);
	#pragma omp parallel for schedule(static) if (R * H > 32768)
	for (size_t t = 0; t < nt; t++) {
		size_t r1 = (t + 1) * LNORM_ROWS < R ? (t + 1) * LNORM_ROWS : R;
		double *g = pg + t * H, *be = pb + t * H;
		for (size_t r = t * LNORM_ROWS; r < r1; r++) {
			const float *x = in + r * H, *dy = dout + r * H;
			float mu = mean[r], rs = rstd[r];
			/* dxhat = dy * gamma: c1 = mean(dxhat), c2 = mean(dxhat * xhat) */
			double s1 = 0.0, s2 = 0.0;
			for (size_t k = 0; k < H; k++) {
				float xh = (x[k] - mu) * rs;
				g[k] += dy[k] * xh;
				be[k] += dy[k];
				s1 += dy[k] * gamma[k];
				s2 += dy[k] * gamma[k] * xh;
			}
			if (din) {
				float c1 = (float)(s1 / (double)H), c2 = (float)(s2 / (double)H);
				float *dx = din + r * H;
				#pragma omp simd
				for (size_t k = 0; k < H; k++) {
					float xh = (x[k] - mu) * rs;
					dx[k] += rs * (dy[k] * gamma[k] - c1 - xh * c2);
				}
			}
		}
	}
	for (size_t k = 0; k < H; k++) {
		double sg = 0.0, sb = 0.0;
		for (size_t t = 0; t < nt; t++) {
			sg += pg[t * H + k];
			sb += pb[t * H + k];
		}
		if (dgamma)
			dgamma[k] += (float)sg;
		if (dbeta)
			dbeta[k] += (float)sb;
	}
	free(pg);
	free(pb);
}

void nn_layernorm_forward_naive(double *out, double *mean, double *rstd,
				const double *in, const double *gamma,
				const double *beta, size_t R, size_t H)
{
	for (size_t r = 0; r < R; r++) {
		const double *x = in + r * H;
		double mu = 0.0, var = 0.0;
		for (size_t k = 0; k < H; k++)
			mu += x[k];
		mu /= (double)H;
		for (size_t k = 0; k < H; k++)
			var += (x[k] - mu) * (x[k] - mu);
		var /= (double)H;
		double rs = 1.0 / sqrt(var + NN_NORM_EPS);
		mean[r] = mu;
		rstd[r] = rs;
		for (size_t k = 0; k < H; k++)
			out[r * H + k] = gamma[k] * (x[k] - mu) * rs + beta[k];
	}
}

void nn_layernorm_backward_naive(double *din, double *dgamma, double *dbeta,
				 const double *dout, const double *in,
				 const double *mean, const double *rstd,
				 const double *gamma, size_t R, size_t H)
{
	for (size_t r = 0; r < R; r++) {
		const double *x = in + r * H, *dy = dout + r * H;
		double mu = mean[r], rs = rstd[r], m1 = 0.0, m2 = 0.0;
		for (size_t k = 0; k < H; k++) {
			double xh = (x[k] - mu) * rs;
			if (dgamma)
				dgamma[k] += dy[k] * xh;
			if (dbeta)
				dbeta[k] += dy[k];
			m1 += dy[k] * gamma[k];
			m2 += dy[k] * gamma[k] * xh;
		}
		m1 /= (double)H;
		m2 /= (double)H;
		if (din)
			for (size_t k = 0; k < H; k++)
				din[r * H + k] += rs * (dy[k] * gamma[k] - m1 - (x[k] - mu) * rs * m2);
	}
}

/* ------------------------------------------------------------------ */
/* adjacency */

int nn_adj_build(nn_adj_t *a, size_t n, const int32_t *edges, size_t m)
{
	memset(a, 0, sizeof *a);
	for (size_t e = 0; e < m; e++)
		if (edges[2 * e] < 0 || (size_t)edges[2 * e] >= n ||
		    edges[2 * e + 1] < 0 || (size_t)edges[2 * e + 1] >= n)
			return -1;
	if (n >= INT32_MAX || m >= INT32_MAX)
		return -1;
	a->n = n;
	a->m = m;
	a->in_ptr = xcalloc(n + 1, sizeof *a->in_ptr);
	a->out_ptr = xcalloc(n + 1, sizeof *a->out_ptr);
	a->in_idx = xmallocarray(m ? m : 1, sizeof *a->in_idx);
	a->out_idx = xmallocarray(m ? m : 1, sizeof *a->out_idx);
	a->in_inv = xmallocarray(n ? n : 1, sizeof *a->in_inv);
	a->out_inv = xmallocarray(n ? n : 1, sizeof *a->out_inv);
	for (size_t e = 0; e < m; e++) {
		a->in_ptr[edges[2 * e] + 1]++;       /* u has producer v */
		a->out_ptr[edges[2 * e + 1] + 1]++;  /* v has consumer u */
	}
	for (size_t i = 0; i < n; i++) {
		a->in_ptr[i + 1] += a->in_ptr[i];
		a->out_ptr[i + 1] += a->out_ptr[i];
	}
	int32_t *fi = xmallocarray(n ? n : 1, sizeof *fi);
	int32_t *fo = xmallocarray(n ? n : 1, sizeof *fo);
	memcpy(fi, a->in_ptr, n * sizeof *fi);
	memcpy(fo, a->out_ptr, n * sizeof *fo);
	for (size_t e = 0; e < m; e++) {
		int32_t u = edges[2 * e], v = edges[2 * e + 1];
		a->in_idx[fi[u]++] = v;
		a->out_idx[fo[v]++] = u;
	}
	free(fi);
	free(fo);
	for (size_t i = 0; i < n; i++) {
		int32_t di = a->in_ptr[i + 1] - a->in_ptr[i];
		int32_t dout = a->out_ptr[i + 1] - a->out_ptr[i];
		a->in_inv[i] = di ? 1.0f / (float)di : 0.0f;
		a->out_inv[i] = dout ? 1.0f / (float)dout : 0.0f;
	}
	return 0;
}

void nn_adj_free(nn_adj_t *a)
{
	free(a->in_ptr);
	free(a->in_idx);
	free(a->out_ptr);
	free(a->out_idx);
	free(a->in_inv);
	free(a->out_inv);
	memset(a, 0, sizeof *a);
}

/* ------------------------------------------------------------------ */
/* SAGEConv */

NN_CLONES void nn_sage_aggregate_forward(float *y, const float *Z, const float *bias,
			       const nn_adj_t *a, size_t B, size_t H)
{
	size_t N = a->n, H3 = 3 * H;
	#pragma omp parallel for collapse(2) schedule(static) num_threads(nn_team(B * (N + a->m) * H))
	for (size_t b = 0; b < B; b++)
		for (size_t u = 0; u < N; u++) {
			const float *Zb = Z + b * N * H3;
			float *yr = y + (b * N + u) * H;
			const float *zs = Zb + u * H3;
			#pragma omp simd
			for (size_t h = 0; h < H; h++)
				yr[h] = zs[h] + bias[h];
			float inv = a->in_inv[u];
			for (int32_t e = a->in_ptr[u]; e < a->in_ptr[u + 1]; e++) {
				const float *zv = Zb + (size_t)a->in_idx[e] * H3 + H;
				#pragma omp simd
				for (size_t h = 0; h < H; h++)
					yr[h] += inv * zv[h];
			}
			inv = a->out_inv[u];
			for (int32_t e = a->out_ptr[u]; e < a->out_ptr[u + 1]; e++) {
				const float *zw = Zb + (size_t)a->out_idx[e] * H3 + 2 * H;
				#pragma omp simd
				for (size_t h = 0; h < H; h++)
					yr[h] += inv * zw[h];
			}
		}
}

NN_CLONES void nn_sage_aggregate_backward(float *dZ, float *dbias, const float *dy,
				const nn_adj_t *a, size_t B, size_t H)
{
	size_t N = a->n, H3 = 3 * H;
	/* dZ_in[v] = sum over consumers u of v of dy[u] / indeg(u), and
	 * dZ_out[w] = sum over producers u of w of dy[u] / outdeg(u): gathers
	 * through the other direction's CSR, so no two rows collide. */
	#pragma omp parallel for collapse(2) schedule(static) num_threads(nn_team(B * (N + a->m) * H))
	for (size_t b = 0; b < B; b++)
		for (size_t v = 0; v < N; v++) {
			const float *dyb = dy + b * N * H;
			float *dz = dZ + (b * N + v) * H3;
			memcpy(dz, dyb + v * H, H * sizeof *dz);
			float *di = dz + H, *dout = dz + 2 * H;
			#pragma omp simd
			for (size_t h = 0; h < H; h++)
				di[h] = dout[h] = 0.0f;
			for (int32_t e = a->out_ptr[v]; e < a->out_ptr[v + 1]; e++) {
				int32_t u = a->out_idx[e];
				float inv = a->in_inv[u];
				const float *d = dyb + (size_t)u * H;
				#pragma omp simd
				for (size_t h = 0; h < H; h++)
					di[h] += inv * d[h];
			}
			for (int32_t e = a->in_ptr[v]; e < a->in_ptr[v + 1]; e++) {
				int32_t u = a->in_idx[e];
				float inv = a->out_inv[u];
				const float *d = dyb + (size_t)u * H;
				#pragma omp simd
				for (size_t h = 0; h < H; h++)
					dout[h] += inv * d[h];
			}
		}
	if (dbias) {
		/* dbias = sum over all rows of dy: per-config partials first. */
		double *part = xcalloc(B * H, sizeof *part);
		#pragma omp parallel for schedule(static) num_threads(nn_team(B * N * H))
		for (size_t b = 0; b < B; b++) {
			double *p = part + b * H;
			for (size_t u = 0; u < N; u++) {
				const float *d = dy + (b * N + u) * H;
				#pragma omp simd
				for (size_t h = 0; h < H; h++)
					p[h] += d[h];
			}
		}
		#pragma omp simd
		for (size_t h = 0; h < H; h++) {
			double s = 0.0;
			for (size_t b = 0; b < B; b++)
				s += part[b * H + h];
			dbias[h] += (float)s;
		}
		free(part);
	}
}

void nn_sage_aggregate_forward_naive(double *y, const double *Z,
				     const double *bias, const nn_adj_t *a,
				     size_t B, size_t H)
{
	size_t N = a->n, H3 = 3 * H;
	for (size_t b = 0; b < B; b++)
		for (size_t u = 0; u < N; u++)
			for (size_t h = 0; h < H; h++) {
				double s = Z[(b * N + u) * H3 + h] + bias[h];
				int32_t din = a->in_ptr[u + 1] - a->in_ptr[u];
				int32_t dout = a->out_ptr[u + 1] - a->out_ptr[u];
				double acc = 0.0;
				for (int32_t e = a->in_ptr[u]; e < a->in_ptr[u + 1]; e++)
					acc += Z[(b * N + (size_t)a->in_idx[e]) * H3 + H + h];
				if (din)
					s += acc / din;
				acc = 0.0;
				for (int32_t e = a->out_ptr[u]; e < a->out_ptr[u + 1]; e++)
					acc += Z[(b * N + (size_t)a->out_idx[e]) * H3 + 2 * H + h];
				if (dout)
					s += acc / dout;
				y[(b * N + u) * H + h] = s;
			}
}

void nn_sage_aggregate_backward_naive(double *dZ, double *dbias,
				      const double *dy, const nn_adj_t *a,
				      size_t B, size_t H)
{
	/* Scatter form (the transpose of the forward), unlike the fast gather. */
	size_t N = a->n, H3 = 3 * H;
	memset(dZ, 0, B * N * H3 * sizeof *dZ);
	for (size_t b = 0; b < B; b++)
		for (size_t u = 0; u < N; u++)
			for (size_t h = 0; h < H; h++) {
				double d = dy[(b * N + u) * H + h];
				dZ[(b * N + u) * H3 + h] += d;
				if (dbias)
					dbias[h] += d;
				int32_t din = a->in_ptr[u + 1] - a->in_ptr[u];
				int32_t dout = a->out_ptr[u + 1] - a->out_ptr[u];
				for (int32_t e = a->in_ptr[u]; e < a->in_ptr[u + 1]; e++)
					dZ[(b * N + (size_t)a->in_idx[e]) * H3 + H + h] += d / din;
				for (int32_t e = a->out_ptr[u]; e < a->out_ptr[u + 1]; e++)
					dZ[(b * N + (size_t)a->out_idx[e]) * H3 + 2 * H + h] += d / dout;
			}
}

void nn_sage_forward(float *y, float *Z, const float *h, const float *W,
		     const float *bias, const nn_adj_t *a, size_t B, size_t H)
{
	nn_linear_forward(Z, h, W, NULL, B * a->n, H, 3 * H);  /* (B*N, 3H) */
	nn_sage_aggregate_forward(y, Z, bias, a, B, H);
}

void nn_sage_backward(float *dh, float *dW, float *dbias, float *dZ,
		      const float *dy, const float *h, const float *W,
		      const nn_adj_t *a, size_t B, size_t H)
{
	nn_sage_aggregate_backward(dZ, dbias, dy, a, B, H);
	linear_backward(dh, 0.0f, dW, NULL, dZ, h, W, B * a->n, H, 3 * H);   /* dh written */
}

/* ------------------------------------------------------------------ */
/* GELU, tanh approximation */

#define GELU_C 0.7978845608028654   /* sqrt(2 / pi) */
#define GELU_A 0.044715

static inline float tanh_f(float u)
{
	return 1.0f - 2.0f / (nn_exp_f(2.0f * u) + 1.0f);
}

static inline float gelu_f(float x)
{
	float u = (float)GELU_C * (x + (float)GELU_A * x * x * x);
	return 0.5f * x * (1.0f + tanh_f(u));
}

static inline float gelu_grad_f(float x)
{
	float u = (float)GELU_C * (x + (float)GELU_A * x * x * x);
	float t = tanh_f(u);
	return 0.5f * (1.0f + t) +
	       0.5f * x * (1.0f - t * t) * (float)GELU_C * (1.0f + 3.0f * (float)GELU_A * x * x);
}

static inline double gelu_d(double x)
{
	return 0.5 * x * (1.0 + tanh(GELU_C * (x + GELU_A * x * x * x)));
}

static inline double gelu_grad_d(double x)
{
	double t = tanh(GELU_C * (x + GELU_A * x * x * x));
	return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_C * (1.0 + 3.0 * GELU_A * x * x);
}

NN_CLONES void nn_gelu_forward(float *out, const float *in, size_t n)
{
	#pragma omp parallel for simd schedule(static) num_threads(nn_team(n * 16))
	for (size_t i = 0; i < n; i++)
		out[i] = gelu_f(in[i]);
}

NN_CLONES void nn_gelu_backward(float *din, const float *dout, const float *in, size_t n)
{
	#pragma omp parallel for simd schedule(static) num_threads(nn_team(n * 16))
	for (size_t i = 0; i < n; i++)
		din[i] += dout[i] * gelu_grad_f(in[i]);
}

void nn_gelu_forward_naive(double *out, const double *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = gelu_d(in[i]);
}

void nn_gelu_backward_naive(double *din, const double *dout, const double *in,
			    size_t n)
{
	for (size_t i = 0; i < n; i++)
		din[i] += dout[i] * gelu_grad_d(in[i]);
}

NN_CLONES void nn_residual_gelu_forward(float *out, float *grad, const float *x,
			      const float *y, size_t n)
{
	if (!grad) {
		#pragma omp parallel for simd schedule(static) num_threads(nn_team(n * 16))
		for (size_t i = 0; i < n; i++)
			out[i] = gelu_f(x[i] + y[i]);
		return;
	}
	#pragma omp parallel for simd schedule(static) num_threads(nn_team(n * 16))
	for (size_t i = 0; i < n; i++) {
		float p = x[i] + y[i];
		float u = (float)GELU_C * (p + (float)GELU_A * p * p * p);
		float t = tanh_f(u);
		out[i] = 0.5f * p * (1.0f + t);
		grad[i] = 0.5f * (1.0f + t) +
			  0.5f * p * (1.0f - t * t) * (float)GELU_C * (1.0f + 3.0f * (float)GELU_A * p * p);
	}
}

NN_CLONES void nn_residual_gelu_backward(float *dsum, const float *dout, const float *grad,
			       size_t n)
{
	#pragma omp parallel for simd schedule(static) num_threads(nn_team(n * 4))
	for (size_t i = 0; i < n; i++)
		dsum[i] = dout[i] * grad[i];
}

void nn_residual_gelu_forward_naive(double *out, double *grad, const double *x,
				    const double *y, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[i] = gelu_d(x[i] + y[i]);
		if (grad)
			grad[i] = gelu_grad_d(x[i] + y[i]);
	}
}

void nn_residual_gelu_backward_naive(double *dsum, const double *dout,
				     const double *grad, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dsum[i] = dout[i] * grad[i];
}

/* ------------------------------------------------------------------ */
/* pooling */

NN_CLONES void nn_pool_forward(float *out, int32_t *argmax, const float *in,
		     size_t B, size_t N, size_t H, int use_max)
{
	/* tasks of (config, 16 channels), as the instance norm */
	size_t P = use_max ? 2 * H : H, nblk = (H + NORM_CB - 1) / NORM_CB;
	#pragma omp parallel for schedule(static) num_threads(nn_team_rows(B * N * H, B * nblk))
	for (size_t t = 0; t < B * nblk; t++) {
		size_t b = t / nblk, c0 = (t % nblk) * NORM_CB;
		size_t w = H - c0 < NORM_CB ? H - c0 : NORM_CB;
		const float *x = in + b * N * H + c0;
		float *o = out + b * P + c0;
		double acc[NORM_CB];
		for (size_t h = 0; h < w; h++)
			acc[h] = 0.0;
		for (size_t n = 0; n < N; n++)
			#pragma omp simd
			for (size_t h = 0; h < w; h++)
				acc[h] += x[n * H + h];
		for (size_t h = 0; h < w; h++)
			o[h] = (float)(acc[h] / (double)(N ? N : 1));
		if (!use_max)
			continue;
		int32_t am[NORM_CB];
		float mx[NORM_CB];
		for (size_t h = 0; h < w; h++) {
			mx[h] = N ? x[h] : 0.0f;
			am[h] = 0;
		}
		for (size_t n = 1; n < N; n++)
			#pragma omp simd
			for (size_t h = 0; h < w; h++)
				if (x[n * H + h] > mx[h]) {
					mx[h] = x[n * H + h];
					am[h] = (int32_t)n;
				}
		for (size_t h = 0; h < w; h++) {
			o[H + h] = mx[h];
			argmax[b * H + c0 + h] = am[h];
		}
	}
}

NN_CLONES void nn_pool_backward(float *din, const float *dout, const int32_t *argmax,
		      size_t B, size_t N, size_t H, int use_max)
{
	size_t P = use_max ? 2 * H : H;
	float invn = N ? 1.0f / (float)N : 0.0f;
	#pragma omp parallel for schedule(static) num_threads(nn_team(B * N * H))
	for (size_t b = 0; b < B; b++) {
		float *dx = din + b * N * H;
		const float *d = dout + b * P;
		for (size_t n = 0; n < N; n++)
			#pragma omp simd
			for (size_t h = 0; h < H; h++)
				dx[n * H + h] += d[h] * invn;
		if (use_max && N)
			#pragma omp simd
			for (size_t h = 0; h < H; h++)
				dx[(size_t)argmax[b * H + h] * H + h] += d[H + h];
	}
}

void nn_pool_forward_naive(double *out, int32_t *argmax, const double *in,
			   size_t B, size_t N, size_t H, int use_max)
{
	size_t P = use_max ? 2 * H : H;
	for (size_t b = 0; b < B; b++)
		for (size_t h = 0; h < H; h++) {
			double s = 0.0, mx = N ? in[b * N * H + h] : 0.0;
			int32_t am = 0;
			for (size_t n = 0; n < N; n++) {
				double v = in[(b * N + n) * H + h];
				s += v;
				if (v > mx) {
					mx = v;
					am = (int32_t)n;
				}
			}
			out[b * P + h] = N ? s / (double)N : 0.0;
			if (use_max) {
				out[b * P + H + h] = mx;
				argmax[b * H + h] = am;
			}
		}
}

void nn_pool_backward_naive(double *din, const double *dout,
			    const int32_t *argmax, size_t B, size_t N, size_t H,
			    int use_max)
{
	size_t P = use_max ? 2 * H : H;
	for (size_t b = 0; b < B; b++)
		for (size_t h = 0; h < H; h++) {
			for (size_t n = 0; n < N; n++)
				din[(b * N + n) * H + h] += dout[b * P + h] / (double)N;
			if (use_max && N)
				din[(b * N + (size_t)argmax[b * H + h]) * H + h] += dout[b * P + H + h];
		}
}

/* ------------------------------------------------------------------ */
/* squeeze-and-excitation */

static inline float sigmoid_f(float x)
{
	return 1.0f / (1.0f + nn_exp_f(-x));
}

NN_CLONES void nn_se_forward(float *out, float *sq, float *a, float *s, const float *in,
		   const float *W1, const float *b1, const float *W2,
		   const float *b2, size_t B, size_t N, size_t H, size_t R)
{
	nn_pool_forward(sq, NULL, in, B, N, H, 0);         /* (B, H) */
	nn_linear_forward(a, sq, W1, b1, B, H, R);          /* (B, R) */
	float *z = xmallocarray(B * R, sizeof *z);
	nn_gelu_forward(z, a, B * R);
	nn_linear_forward(s, z, W2, b2, B, R, H);           /* (B, H) */
	for (size_t i = 0; i < B * H; i++)
		s[i] = sigmoid_f(s[i]);
	free(z);
	#pragma omp parallel for collapse(2) schedule(static) num_threads(nn_team(B * N * H))
	for (size_t b = 0; b < B; b++)
		for (size_t n = 0; n < N; n++) {
			const float *x = in + (b * N + n) * H, *sb = s + b * H;
			float *o = out + (b * N + n) * H;
			#pragma omp simd
			for (size_t h = 0; h < H; h++)
				o[h] = x[h] * sb[h];
		}
}

NN_CLONES void nn_se_backward(float *din, float *dW1, float *db1, float *dW2, float *db2,
		    const float *dout, const float *in, const float *sq,
		    const float *a, const float *s, const float *W1,
		    const float *W2, size_t B, size_t N, size_t H, size_t R)
{
	float *ds = xcalloc(B * H, sizeof *ds);     /* (B, H) */
	float *dsq = xcalloc(B * H, sizeof *dsq);   /* (B, H) */
	float *z = xmallocarray(B * R, sizeof *z);  /* (B, R) */
	float *dz = xcalloc(B * R, sizeof *dz);
	float *da = xcalloc(B * R, sizeof *da);
	#pragma omp parallel num_threads(nn_team(B * N * H))
	{
		double *acc = xmalloc(H * sizeof *acc);
		#pragma omp for schedule(static)
		for (size_t b = 0; b < B; b++) {
			#pragma omp simd
			for (size_t h = 0; h < H; h++)
				acc[h] = 0.0;
			for (size_t n = 0; n < N; n++) {
				const float *d = dout + (b * N + n) * H, *x = in + (b * N + n) * H;
				#pragma omp simd
				for (size_t h = 0; h < H; h++)
					acc[h] += d[h] * x[h];
			}
			#pragma omp simd
			for (size_t h = 0; h < H; h++) {
				float sv = s[b * H + h];
				ds[b * H + h] = (float)acc[h] * sv * (1.0f - sv);  /* through the sigmoid */
			}
		}
		free(acc);
	}
	nn_gelu_forward(z, a, B * R);
	nn_linear_backward(dz, dW2, db2, ds, z, W2, B, R, H);
	nn_gelu_backward(da, dz, a, B * R);
	nn_linear_backward(dsq, dW1, db1, da, sq, W1, B, H, R);
	if (din) {
		float invn = N ? 1.0f / (float)N : 0.0f;
		#pragma omp parallel for collapse(2) schedule(static) num_threads(nn_team(B * N * H))
		for (size_t b = 0; b < B; b++)
			for (size_t n = 0; n < N; n++) {
				const float *d = dout + (b * N + n) * H;
				const float *sb = s + b * H, *qb = dsq + b * H;
				float *dx = din + (b * N + n) * H;
				#pragma omp simd
				for (size_t h = 0; h < H; h++)
					dx[h] += d[h] * sb[h] + qb[h] * invn;
			}
	}
	free(ds);
	free(dsq);
	free(z);
	free(dz);
	free(da);
}

void nn_se_forward_naive(double *out, double *sq, double *a, double *s,
			 const double *in, const double *W1, const double *b1,
			 const double *W2, const double *b2,
			 size_t B, size_t N, size_t H, size_t R)
{
	double *z = xmallocarray(B * R, sizeof *z);
	nn_pool_forward_naive(sq, NULL, in, B, N, H, 0);
	nn_linear_forward_naive(a, sq, W1, b1, B, H, R);
	nn_gelu_forward_naive(z, a, B * R);
	nn_linear_forward_naive(s, z, W2, b2, B, R, H);
	for (size_t i = 0; i < B * H; i++)
		s[i] = 1.0 / (1.0 + exp(-s[i]));
	for (size_t b = 0; b < B; b++)
		for (size_t n = 0; n < N; n++)
			for (size_t h = 0; h < H; h++)
				out[(b * N + n) * H + h] = in[(b * N + n) * H + h] * s[b * H + h];
	free(z);
}

void nn_se_backward_naive(double *din, double *dW1, double *db1, double *dW2,
			  double *db2, const double *dout, const double *in,
			  const double *sq, const double *a, const double *s,
			  const double *W1, const double *W2,
			  size_t B, size_t N, size_t H, size_t R)
{
	double *ds = xcalloc(B * H, sizeof *ds), *dsq = xcalloc(B * H, sizeof *dsq);
	double *z = xmallocarray(B * R, sizeof *z);
	double *dz = xcalloc(B * R, sizeof *dz), *da = xcalloc(B * R, sizeof *da);
	for (size_t b = 0; b < B; b++)
		for (size_t h = 0; h < H; h++) {
			double acc = 0.0, sv = s[b * H + h];
			for (size_t n = 0; n < N; n++) {
				size_t i = (b * N + n) * H + h;
				acc += dout[i] * in[i];
				if (din)
					din[i] += dout[i] * sv;
			}
			ds[b * H + h] = acc * sv * (1.0 - sv);
		}
	nn_gelu_forward_naive(z, a, B * R);
	nn_linear_backward_naive(dz, dW2, db2, ds, z, W2, B, R, H);
	nn_gelu_backward_naive(da, dz, a, B * R);
	nn_linear_backward_naive(dsq, dW1, db1, da, sq, W1, B, H, R);
	if (din)
		for (size_t b = 0; b < B; b++)
			for (size_t n = 0; n < N; n++)
				for (size_t h = 0; h < H; h++)
					din[(b * N + n) * H + h] += dsq[b * H + h] / (double)N;
	free(ds);
	free(dsq);
	free(z);
	free(dz);
	free(da);
}

/* ------------------------------------------------------------------ */
/* cross-config attention */

NN_CLONES void nn_xattn_forward(float *out, float *qkv, float *att, const float *in,
		      const float *W, const float *b, size_t B, size_t D)
{
	size_t D3 = 3 * D;
	float scale = 1.0f / sqrtf((float)D);
	nn_linear_forward(qkv, in, W, b, B, D, D3);   /* (B, 3D) */
	#pragma omp parallel for schedule(static) num_threads(nn_team(B * B * D))
	for (size_t i = 0; i < B; i++) {
		const float *q = qkv + i * D3;
		float *ar = att + i * B;
		float mx = -INFINITY;
		for (size_t j = 0; j < B; j++) {
			const float *k = qkv + j * D3 + D;
			float dot = 0.0f;
			for (size_t d = 0; d < D; d++)
				dot += q[d] * k[d];
			ar[j] = dot * scale;
			if (ar[j] > mx)
				mx = ar[j];
		}
		double sum = 0.0;
		for (size_t j = 0; j < B; j++) {
			ar[j] = expf(ar[j] - mx);
			sum += ar[j];
		}
		for (size_t j = 0; j < B; j++)
			ar[j] = (float)(ar[j] / sum);
		float *o = out + i * D;
		memcpy(o, in + i * D, D * sizeof *o);
		for (size_t j = 0; j < B; j++) {
			const float *v = qkv + j * D3 + 2 * D;
			for (size_t d = 0; d < D; d++)
				o[d] += ar[j] * v[d];
		}
	}
}

NN_CLONES void nn_xattn_backward(float *din, float *dW, float *db, const float *dout,
		       const float *in, const float *qkv, const float *att,
		       const float *W, size_t B, size_t D)
{
	size_t D3 = 3 * D;
	float scale = 1.0f / sqrtf((float)D);
	float *dqkv = xcalloc(B * D3, sizeof *dqkv);   /* (B, 3D) */
	float *dS = xmallocarray(B * B, sizeof *dS);   /* (B, B) score grads */
	/* Rows of dS and dq: thread-local per query i. */
	#pragma omp parallel for schedule(static) num_threads(nn_team(B * B * D))
	for (size_t i = 0; i < B; i++) {
		const float *go = dout + i * D, *ar = att + i * B;
		float *ds = dS + i * B;
		double dot_sum = 0.0;
		for (size_t j = 0; j < B; j++) {
			const float *v = qkv + j * D3 + 2 * D;
			float da = 0.0f;
			for (size_t d = 0; d < D; d++)
				da += go[d] * v[d];
			ds[j] = da;
			dot_sum += (double)ar[j] * da;
		}
		for (size_t j = 0; j < B; j++)
			ds[j] = ar[j] * (ds[j] - (float)dot_sum) * scale;
		float *dq = dqkv + i * D3;
		for (size_t j = 0; j < B; j++) {
			const float *k = qkv + j * D3 + D;
			for (size_t d = 0; d < D; d++)
				dq[d] += ds[j] * k[d];
		}
	}
	/* dk[j] = sum_i dS[i,j] q[i];  dv[j] = sum_i att[i,j] dout[i]. */
	#pragma omp parallel for schedule(static) num_threads(nn_team(B * B * D))
	for (size_t j = 0; j < B; j++) {
		float *dk = dqkv + j * D3 + D, *dv = dqkv + j * D3 + 2 * D;
		for (size_t i = 0; i < B; i++) {
			const float *q = qkv + i * D3, *go = dout + i * D;
			float sij = dS[i * B + j], aij = att[i * B + j];
			for (size_t d = 0; d < D; d++) {
				dk[d] += sij * q[d];
				dv[d] += aij * go[d];
			}
		}
	}
	if (din)
		for (size_t i = 0; i < B * D; i++)
			din[i] += dout[i];   /* the residual */
	nn_linear_backward(din, dW, db, dqkv, in, W, B, D, D3);
	free(dqkv);
	free(dS);
}

void nn_xattn_forward_naive(double *out, double *qkv, double *att,
			    const double *in, const double *W, const double *b,
			    size_t B, size_t D)
{
	size_t D3 = 3 * D;
	nn_linear_forward_naive(qkv, in, W, b, B, D, D3);
	for (size_t i = 0; i < B; i++) {
		double mx = -INFINITY, sum = 0.0;
		for (size_t j = 0; j < B; j++) {
			double dot = 0.0;
			for (size_t d = 0; d < D; d++)
				dot += qkv[i * D3 + d] * qkv[j * D3 + D + d];
			att[i * B + j] = dot / sqrt((double)D);
			mx = fmax(mx, att[i * B + j]);
		}
		for (size_t j = 0; j < B; j++) {
			att[i * B + j] = exp(att[i * B + j] - mx);
			sum += att[i * B + j];
		}
		for (size_t j = 0; j < B; j++)
			att[i * B + j] /= sum;
		for (size_t d = 0; d < D; d++) {
			double o = in[i * D + d];
			for (size_t j = 0; j < B; j++)
				o += att[i * B + j] * qkv[j * D3 + 2 * D + d];
			out[i * D + d] = o;
		}
	}
}

void nn_xattn_backward_naive(double *din, double *dW, double *db,
			     const double *dout, const double *in,
			     const double *qkv, const double *att,
			     const double *W, size_t B, size_t D)
{
	size_t D3 = 3 * D;
	double *dqkv = xcalloc(B * D3, sizeof *dqkv);
	double *datt = xcalloc(B * B, sizeof *datt);
	for (size_t i = 0; i < B; i++)
		for (size_t j = 0; j < B; j++)
			for (size_t d = 0; d < D; d++) {
				datt[i * B + j] += dout[i * D + d] * qkv[j * D3 + 2 * D + d];
				dqkv[j * D3 + 2 * D + d] += att[i * B + j] * dout[i * D + d];
			}
	for (size_t i = 0; i < B; i++) {
		double dot = 0.0;
		for (size_t j = 0; j < B; j++)
			dot += att[i * B + j] * datt[i * B + j];
		for (size_t j = 0; j < B; j++) {
			double ds = att[i * B + j] * (datt[i * B + j] - dot) / sqrt((double)D);
			for (size_t d = 0; d < D; d++) {
				dqkv[i * D3 + d] += ds * qkv[j * D3 + D + d];
				dqkv[j * D3 + D + d] += ds * qkv[i * D3 + d];
			}
		}
	}
	if (din)
		for (size_t i = 0; i < B * D; i++)
			din[i] += dout[i];
	nn_linear_backward_naive(din, dW, db, dqkv, in, W, B, D, D3);
	free(dqkv);
	free(datt);
}

/* ------------------------------------------------------------------ */
/* losses */

/* The pairwise hinge over the pairs y_i < y_j: max(0, m_ij - (s_j - s_i)),
 * with m_ij = margin (the hinge) or margin (log y_j - log y_i) (the
 * difference-matrix loss, by_log); mean over the pairs. */
static double pair_hinge(float *ds, const float *s, const double *y, size_t n,
			 double margin, int by_log, double weight)
{
	size_t pairs = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			if (y[i] < y[j])
				pairs++;
	if (pairs == 0)
		return 0.0;
	double loss = 0.0, g = weight / (double)pairs;
	double *acc = xcalloc(n, sizeof *acc);   /* the gradient, summed in double */
	double *ly = NULL;
	if (by_log) {   /* a zero runtime is clamped to the smallest positive double */
		ly = xmallocarray(n, sizeof *ly);
		for (size_t i = 0; i < n; i++)
			ly[i] = log(y[i] > 0.0 ? y[i] : 2.2250738585072014e-308);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			if (!(y[i] < y[j]))
				continue;
			/* i is faster: want s_i + m_ij <= s_j */
			double m = by_log ? margin * (ly[j] - ly[i]) : margin;
			double l = m - ((double)s[j] - (double)s[i]);
			if (l > 0.0) {
				loss += l;
				acc[i] += g;
				acc[j] -= g;
			}
		}
	if (ds)
		for (size_t i = 0; i < n; i++)
			ds[i] += (float)acc[i];
	free(acc);
	free(ly);
	return loss / (double)pairs;
}

double nn_hinge_loss(float *ds, const float *s, const double *y, size_t n,
		     double margin, double weight)
{
	return pair_hinge(ds, s, y, n, margin, 0, weight);
}

double nn_diffmat_loss(float *ds, const float *s, const double *y, size_t n,
		       double margin, double weight)
{
	return pair_hinge(ds, s, y, n, margin, 1, weight);
}

#define MAPE_CLAMP 30.0

double nn_mape_loss(float *ds, const float *s, const double *y, size_t n, double weight)
{
	if (n == 0)
		return 0.0;
	double ms = 0.0, my = 0.0;
	double *ly = xmallocarray(n, sizeof *ly), *g = xmallocarray(n, sizeof *g);
	for (size_t i = 0; i < n; i++) {
		ly[i] = log(y[i] > 0.0 ? y[i] : 2.2250738585072014e-308);
		ms += (double)s[i];
		my += ly[i];
	}
	ms /= (double)n;
	my /= (double)n;
	/* g_i = d loss / d d_i; d_i depends on every s through the mean, so
	 * d loss / d s_k = g_k - mean(g) */
	double loss = 0.0, gm = 0.0;
	for (size_t i = 0; i < n; i++) {
		double d = ((double)s[i] - ms) - (ly[i] - my);
		double e = exp(d > MAPE_CLAMP ? MAPE_CLAMP : d);
		loss += fabs(e - 1.0);
		/* the clamp has no gradient; |e - 1| has sign(d) e */
		g[i] = d > MAPE_CLAMP || d == 0.0 ? 0.0 : (d > 0.0 ? e : -e) / (double)n;
		gm += g[i];
	}
	gm /= (double)n;
	if (ds)
		for (size_t i = 0; i < n; i++)
			ds[i] += (float)(weight * (g[i] - gm));
	free(g);
	free(ly);
	return loss / (double)n;
}

/* Stable merge sort of idx (n) by key ascending. */
static void sort_by_key(size_t *idx, size_t *tmp, const double *key, size_t n)
{
	if (n < 2)
		return;
	size_t h = n / 2;
	sort_by_key(idx, tmp, key, h);
	sort_by_key(idx + h, tmp, key, n - h);
	size_t i = 0, j = h, k = 0;
	while (i < h && j < n)
		tmp[k++] = key[idx[j]] < key[idx[i]] ? idx[j++] : idx[i++];
	while (i < h)
		tmp[k++] = idx[i++];
	while (j < n)
		tmp[k++] = idx[j++];
	memcpy(idx, tmp, n * sizeof *idx);
}

static double logaddexp(double a, double b)
{
	if (a == -INFINITY)
		return b;
	if (b == -INFINITY)
		return a;
	return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

double nn_listmle_loss(float *ds, const float *s, const double *y, size_t n,
		       double weight)
{
	if (n == 0)
		return 0.0;
	size_t *pi = xmallocarray(n, sizeof *pi), *tmp = xmallocarray(n, sizeof *tmp);
	double *lse = xmallocarray(n, sizeof *lse);
	for (size_t i = 0; i < n; i++)
		pi[i] = i;
	sort_by_key(pi, tmp, y, n);
	/* f = -s; lse[k] = log sum_{j >= k} exp f_pi(j), a stable suffix scan */
	double acc = -INFINITY, loss = 0.0;
	for (size_t k = n; k-- > 0;) {
		acc = logaddexp(acc, -(double)s[pi[k]]);
		lse[k] = acc;
	}
	for (size_t k = 0; k < n; k++)
		loss += lse[k] + (double)s[pi[k]];
	loss /= (double)n;
	if (ds) {
		/* dL/df_i = (1/n) (sum_{k <= pos(i)} exp(f_i - lse[k]) - 1), and
		 * sum_{k <= p} exp(-lse[k]) = exp(C_p) by a running logaddexp. */
		double c = -INFINITY;
		for (size_t p = 0; p < n; p++) {
			c = logaddexp(c, -lse[p]);
			double f = -(double)s[pi[p]];
			double df = (exp(f + c) - 1.0) / (double)n;
			ds[pi[p]] += (float)(-df * weight);
		}
	}
	free(pi);
	free(tmp);
	free(lse);
	return loss;
}

/* ------------------------------------------------------------------ */
/* optimisation */

NN_CLONES void nn_adamw_update(float *p, const float *g, float *m, float *v, size_t n,
		     const nn_adamw_t *o, double wd, long t)
{
	double bc1 = 1.0 - pow(o->beta1, (double)t);
	double bc2 = 1.0 - pow(o->beta2, (double)t);
	float decay = (float)(1.0 - o->lr * wd);
	float b1 = (float)o->beta1, b2 = (float)o->beta2;
	float c1 = (float)(1.0 - o->beta1), c2 = (float)(1.0 - o->beta2);
	float step = (float)(o->lr / bc1), rbc2 = (float)(1.0 / sqrt(bc2));
	float eps = (float)o->eps;
	#pragma omp parallel for simd schedule(static) num_threads(nn_team(n * 8))
	for (size_t i = 0; i < n; i++) {
		m[i] = b1 * m[i] + c1 * g[i];
		v[i] = b2 * v[i] + c2 * g[i] * g[i];
		p[i] = p[i] * decay - step * m[i] / (sqrtf(v[i]) * rbc2 + eps);
	}
}

double nn_grad_norm(const float *g, size_t n)
{
	double s = 0.0;
	for (size_t i = 0; i < n; i++)
		s += (double)g[i] * g[i];
	return sqrt(s);
}

double nn_grad_clip(float *g, size_t n, double max_norm)
{
	double norm = nn_grad_norm(g, n);
	if (max_norm > 0.0 && norm > max_norm) {
		float sc = (float)(max_norm / (norm + 1e-12));
		for (size_t i = 0; i < n; i++)
			g[i] *= sc;
	}
	return norm;
}

double nn_lr_cosine(long t, long total, long warmup, double lr, double lr_min)
{
	if (t < warmup)
		return lr * (double)(t + 1) / (double)warmup;
	long span = total - warmup;
	if (span <= 0)
		return lr;
	double prog = (double)(t - warmup) / (double)span;
	if (prog > 1.0)
		prog = 1.0;
	return lr_min + 0.5 * (lr - lr_min) * (1.0 + cos(M_PI * prog));
}
