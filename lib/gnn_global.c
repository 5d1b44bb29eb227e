/* gnn_global: the global layers of gnn.h (linear attention, APPNP) and the
 * random-walk positional encoding.  See gnn.h. */
/* Floating-point exceptions are never trapped here (as in nn.c): lets GCC
 * if-convert phi's select and vectorise the loop that calls nn_exp_f. */
#pragma GCC optimize("no-trapping-math")

#include "gnn.h"
#include "nn_exp.h"
#include "err.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* linear attention
 *
 * Per config b and head, with p_u = phi(q_u), kk_v = phi(k_v):
 *   S = sum_v kk_v v_v^T,  z = sum_v kk_v,  den_u = p_u . z + eps,
 *   o_u = S^T p_u / den_u.
 * Backward, from go_u = dL/do_u (= dy_u Wo):
 *   g_u = go_u / den_u,  t_u = S g_u,  c_u = -(p_u . t_u) / den_u
 *     (c_u = dL/dden_u: -go_u . o_u / den_u, since go_u . o_u = p_u . t_u)
 *   dp_u = t_u + c_u z
 *   dS = sum_u p_u g_u^T,  dz = sum_u c_u p_u
 *   dkk_v = dS v_v + dz,  dv_v = dS^T kk_v
 *   dq = dp * phi'(q),  dk = dkk * phi'(k)
 * and dqkv goes back through the qkv product.  S, z, dS, dz are sums over
 * the nodes, in double, in node order, each element by one thread.
 *
 * Scratch (floats), R = B N rows, D = H / K, per (b, head) a block of
 * BLK = 2 D^2 + D floats: S (D, D) (row i: key channel i), z (D), S^T (D, D)
 * (the transpose, so that every D x D product is a row-axpy):
 *   qkv  (R, 3H)     q | k | v with q, k replaced by phi(q), phi(k); the
 *                    backward overwrites it with dq | dk | dv
 *   o    (R, H)      the attention output; the backward's g
 *   c    (R, K)      backward: c_u per row and head
 *   Sz   (B, K, BLK) S, z, S^T
 *   dSz  (B, K, BLK) backward: dS, dz, dS^T
 * The forward uses all but dSz. */

#define LINATTN_EPS 1e-6f
#define OUTER_ROWS 8   /* rows of S per reduction unit */

/* phi'(x) from p = phi(x): 1 where x > 0 (p > 1), else exp(x) = p. */
static inline float dphi_f(float p)
{
	return p > 1.0f ? 1.0f : p;
}

static inline double phi_d(double x)
{
	return x > 0.0 ? x + 1.0 : exp(x);
}

static inline double dphi_d(double x)
{
	return x > 0.0 ? 1.0 : exp(x);
}

static size_t blk(size_t D)
{
	return 2 * D * D + D;
}

size_t nn_linattn_scratch(size_t B, size_t N, size_t H, size_t K)
{
	if (K == 0)
		return 0;
	size_t D = H / K;
	return B * (N * (4 * H + K) + 2 * K * blk(D));
}

/* acc (ni, D) += sum over the N rows from r0 of x_n[0..ni) w_n^T, az (ni) +=
 * sum c_n x_n (in double, node order).  Inlined with D and ni constant for
 * the common head sizes, so that the accumulators live in registers. */
static inline __attribute__((always_inline)) void
outer_rows(double *restrict acc, double *restrict az, const float *x, size_t sx,
	   const float *w, size_t sw, const float *c, size_t cs, size_t N,
	   size_t ni, size_t D)
{
	for (size_t n = 0; n < N; n++) {
		const float *xn = x + n * sx, *wn = w + n * sw;
		double cn = c ? (double)c[n * cs] : 1.0;
		for (size_t i = 0; i < ni; i++) {
			double xi = xn[i];
			double *a = acc + i * D;
			#pragma omp simd
			for (size_t j = 0; j < D; j++)
				a[j] += xi * (double)wn[j];
			az[i] += cn * xi;
		}
	}
}

/* Per config b and head k: A = sum_n x_n w_n^T (D, D) and a = sum_n c_n x_n
 * (D) (c NULL: 1), in double over the nodes in order, where x_n, w_n are
 * head k's D-vectors at row b N + n of x (row stride sx), w (stride sw) and
 * c (R, K).  out (B, K, BLK): A, a, A^T.  A unit of work is a block of
 * OUTER_ROWS rows of A (the outer product's reads amortised over the block). */
NN_CLONES static void head_outer_sum(float *out, const float *x, size_t sx, const float *w,
				     size_t sw, const float *c, size_t B, size_t N, size_t K,
				     size_t D)
{
	size_t nib = (D + OUTER_ROWS - 1) / OUTER_ROWS, units = B * K * nib, BL = blk(D);
	int nt = nn_team(B * N * K * D * D);
	#pragma omp parallel num_threads(nt) if (nt > 1 && !omp_in_parallel())
	{
		double *acc = xmallocarray(OUTER_ROWS * (D + 1), sizeof *acc);
		double *az = acc + OUTER_ROWS * D;
		#pragma omp for schedule(static)
		for (size_t unit = 0; unit < units; unit++) {
			size_t ib = unit % nib, bk = unit / nib, k = bk % K, b = bk / K;
			size_t i0 = ib * OUTER_ROWS, ni = D - i0 < OUTER_ROWS ? D - i0 : OUTER_ROWS;
			memset(acc, 0, OUTER_ROWS * (D + 1) * sizeof *acc);
			const float *xb = x + b * N * sx + k * D + i0, *wb = w + b * N * sw + k * D;
			const float *cb = c ? c + b * N * K + k : NULL;
			if (D == 16 && ni == OUTER_ROWS)
				outer_rows(acc, az, xb, sx, wb, sw, cb, K, N, OUTER_ROWS, 16);
			else if (D == 8 && ni == OUTER_ROWS)
				outer_rows(acc, az, xb, sx, wb, sw, cb, K, N, OUTER_ROWS, 8);
			else if (D == 32 && ni == OUTER_ROWS)
				outer_rows(acc, az, xb, sx, wb, sw, cb, K, N, OUTER_ROWS, 32);
			else
				outer_rows(acc, az, xb, sx, wb, sw, cb, K, N, ni, D);
			float *A = out + bk * BL, *a = A + D * D, *At = a + D;
			for (size_t i = 0; i < ni; i++) {
				for (size_t j = 0; j < D; j++) {
					float v = (float)acc[i * D + j];
					A[(i0 + i) * D + j] = v;
					At[j * D + i0 + i] = v;
				}
				a[i0 + i] = (float)az[i];
			}
		}
		free(acc);
	}
}

#define INLINE static inline __attribute__((always_inline))

/* y (D) = x (D) . M (D, D): sum_i x_i M[i, :] */
INLINE void vecmat(float *restrict y, const float *restrict x, const float *restrict M,
		   size_t D)
{
	for (size_t j = 0; j < D; j++)
		y[j] = 0.0f;
	for (size_t i = 0; i < D; i++) {
		const float *Mi = M + i * D;
		float xi = x[i];
		#pragma omp simd
		for (size_t j = 0; j < D; j++)
			y[j] += xi * Mi[j];
	}
}

/* The per-head row kernels below are inlined with D constant for the
 * common head sizes (the D x D products then unroll into registers). */
#define HEAD_CALL(D, f, ...) do {				\
	if ((D) == 16)						\
		f(__VA_ARGS__, 16);				\
	else if ((D) == 8)					\
		f(__VA_ARGS__, 8);				\
	else if ((D) == 32)					\
		f(__VA_ARGS__, 32);				\
	else							\
		f(__VA_ARGS__, D);				\
} while (0)

/* o = S^T p / (p . z + eps) for one row and head. */
INLINE void head_o(float *restrict o, const float *restrict p, const float *restrict S,
		   size_t D)
{
	const float *z = S + D * D;
	float inv = 1.0f / (dot_f(p, z, D) + LINATTN_EPS);
	vecmat(o, p, S, D);
	#pragma omp simd
	for (size_t j = 0; j < D; j++)
		o[j] *= inv;
}

/* g = go / den in place, c = -(p . S g) / den; t (D) temporary. */
INLINE void head_g(float *restrict g, float *restrict c, float *restrict t,
		   const float *restrict p, const float *restrict S, size_t D)
{
	const float *z = S + D * D, *St = z + D;
	float inv = 1.0f / (dot_f(p, z, D) + LINATTN_EPS);
	#pragma omp simd
	for (size_t j = 0; j < D; j++)
		g[j] *= inv;
	vecmat(t, g, St, D);   /* t = S g */
	*c = -dot_f(p, t, D) * inv;
}

/* phi(q) | phi(k) | v of one row and head become dq | dk | dv in place:
 * dq = (S g + c z) phi'(q), dv = dS^T kk, dk = (dS v + dz) phi'(k).
 * t (3D) temporary. */
INLINE void head_dqkv(float *restrict q, float *restrict kk, float *restrict v,
		      float *restrict t, const float *restrict g, float c,
		      const float *restrict S, const float *restrict dS, size_t D)
{
	const float *z = S + D * D, *St = z + D;
	const float *dz = dS + D * D, *dSt = dz + D;
	float *tv = t + D, *tk = tv + D;
	vecmat(t, g, St, D);
	#pragma omp simd
	for (size_t i = 0; i < D; i++)
		q[i] = (t[i] + c * z[i]) * dphi_f(q[i]);
	vecmat(tv, kk, dS, D);
	vecmat(tk, v, dSt, D);
	#pragma omp simd
	for (size_t i = 0; i < D; i++) {
		kk[i] = (tk[i] + dz[i]) * dphi_f(kk[i]);
		v[i] = tv[i];
	}
}

/* The forward up to o: qkv, phi, S and z, then o (R, H) when want_o. */
NN_CLONES static void linattn_core(float *scratch, const float *h, const float *Wqkv,
				   const float *bqkv, size_t B, size_t N, size_t H,
				   size_t K, int want_o)
{
	size_t D = H / K, R = B * N, H3 = 3 * H, BL = blk(D);
	float *qkv = scratch;                   /* (R, 3H) */
	float *o = qkv + R * H3;                /* (R, H) */
	float *Sz = o + R * H + R * K;          /* (B, K, BLK) */
	nn_linear_forward(qkv, h, Wqkv, bqkv, R, H, H3);
	int nt = nn_team(R * H * 16);
	#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && !omp_in_parallel())
	for (size_t r = 0; r < R; r++) {
		float *row = qkv + r * H3;
		#pragma omp simd
		for (size_t j = 0; j < 2 * H; j++) {
			float x = row[j], e = nn_exp_f(x);
			row[j] = x > 0.0f ? x + 1.0f : e;
		}
	}
	/* S = sum_v phi(k_v) v_v^T, z = sum_v phi(k_v) */
	head_outer_sum(Sz, qkv + H, H3, qkv + 2 * H, H3, NULL, B, N, K, D);
	if (!want_o)
		return;
	nt = nn_team(R * H * D);
	#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && !omp_in_parallel())
	for (size_t r = 0; r < R; r++) {
		size_t b = r / N;
		for (size_t k = 0; k < K; k++)
			HEAD_CALL(D, head_o, o + r * H + k * D, qkv + r * H3 + k * D,
				  Sz + (b * K + k) * BL);
	}
}

void nn_linattn_forward(float *y, float *scratch, const float *h, const float *Wqkv,
			const float *bqkv, const float *Wo, const float *bo,
			size_t B, size_t N, size_t H, size_t K)
{
	size_t R = B * N;
	if (R == 0 || H == 0 || K == 0)
		return;
	linattn_core(scratch, h, Wqkv, bqkv, B, N, H, K, 1);
	nn_linear_forward(y, scratch + R * 3 * H, Wo, bo, R, H, H);   /* (R, H) */
}

/* g = go / den, c = -(p . S g) / den, per row and head. */
NN_CLONES static void linattn_back_rows(float *g, float *cb, const float *qkv,
					const float *Sz, size_t B, size_t N, size_t H,
					size_t K)
{
	size_t D = H / K, R = B * N, H3 = 3 * H, BL = blk(D);
	int nt = nn_team(R * H * D);
	#pragma omp parallel num_threads(nt) if (nt > 1 && !omp_in_parallel())
	{
		float *t = xmallocarray(D, sizeof *t);
		#pragma omp for schedule(static)
		for (size_t r = 0; r < R; r++) {
			size_t b = r / N;
			for (size_t k = 0; k < K; k++)
				HEAD_CALL(D, head_g, g + r * H + k * D, cb + r * K + k, t,
					  qkv + r * H3 + k * D, Sz + (b * K + k) * BL);
		}
		free(t);
	}
}

/* qkv (phi(q) | phi(k) | v) becomes dq | dk | dv, row by row in place. */
NN_CLONES static void linattn_back_qkv(float *qkv, const float *g, const float *cb,
				       const float *Sz, const float *dSz, size_t B,
				       size_t N, size_t H, size_t K)
{
	size_t D = H / K, R = B * N, H3 = 3 * H, BL = blk(D);
	int nt = nn_team(R * H * D * 3);
	#pragma omp parallel num_threads(nt) if (nt > 1 && !omp_in_parallel())
	{
		float *t = xmallocarray(3 * D, sizeof *t);
		#pragma omp for schedule(static)
		for (size_t r = 0; r < R; r++) {
			size_t b = r / N;
			for (size_t k = 0; k < K; k++) {
				float *q = qkv + r * H3 + k * D;
				HEAD_CALL(D, head_dqkv, q, q + H, q + 2 * H, t, g + r * H + k * D,
					  cb[r * K + k], Sz + (b * K + k) * BL,
					  dSz + (b * K + k) * BL);
			}
		}
		free(t);
	}
}

void nn_linattn_backward(float *dh, float *dWqkv, float *dbqkv, float *dWo, float *dbo,
			 float *scratch, const float *dy, const float *h,
			 const float *Wqkv, const float *bqkv, const float *Wo,
			 const float *bo, size_t B, size_t N, size_t H, size_t K)
{
	size_t R = B * N;
	if (R == 0 || H == 0 || K == 0)
		return;
	size_t D = H / K, H3 = 3 * H;
	float *qkv = scratch;                   /* (R, 3H) */
	float *o = qkv + R * H3;                /* (R, H) */
	float *cb = o + R * H;                  /* (R, K) */
	float *Sz = cb + R * K;                 /* (B, K, BLK) */
	float *dSz = Sz + B * K * blk(D);       /* (B, K, BLK) */
	int need_in = dh || dWqkv || dbqkv;
	if (!need_in && !dWo && !dbo)
		return;
	linattn_core(scratch, h, Wqkv, bqkv, B, N, H, K, dWo != NULL);
	if (dWo || dbo)
		nn_linear_backward(NULL, dWo, dbo, dy, o, Wo, R, H, H);
	if (!need_in)
		return;
	float *g = o;                           /* (R, H): go = dy Wo, then g */
	memset(g, 0, R * H * sizeof *g);
	nn_linear_backward(g, NULL, NULL, dy, g, Wo, R, H, H);
	linattn_back_rows(g, cb, qkv, Sz, B, N, H, K);
	/* dS = sum_u p_u g_u^T, dz = sum_u c_u p_u */
	head_outer_sum(dSz, qkv, H3, g, H, cb, B, N, K, D);
	linattn_back_qkv(qkv, g, cb, Sz, dSz, B, N, H, K);
	nn_linear_backward(dh, dWqkv, dbqkv, qkv, h, Wqkv, R, H, H3);
}

/* S (D, D) = sum_v phi(k_v) v_v^T and z = sum_v phi(k_v) (D, after S) of
 * config b, head k, from qkv (B, N, 3H) before phi. */
static void kv_sums_naive(double *S, const double *qkv, size_t b, size_t k, size_t N,
			  size_t H, size_t D)
{
	double *z = S + D * D;
	memset(S, 0, (D * D + D) * sizeof *S);
	for (size_t v = 0; v < N; v++) {
		const double *row = qkv + (b * N + v) * 3 * H;
		for (size_t i = 0; i < D; i++) {
			double ki = phi_d(row[H + k * D + i]);
			z[i] += ki;
			for (size_t j = 0; j < D; j++)
				S[i * D + j] += ki * row[2 * H + k * D + j];
		}
	}
}

/* o (B*N, H) from qkv (B*N, 3H) in double: the naive forward's middle. */
static void linattn_naive_o(double *o, const double *qkv, size_t B, size_t N,
			    size_t H, size_t K)
{
	size_t D = H / K, H3 = 3 * H;
	double *S = xcalloc(D * D + D, sizeof *S), *z = S + D * D;
	for (size_t b = 0; b < B; b++)
		for (size_t k = 0; k < K; k++) {
			kv_sums_naive(S, qkv, b, k, N, H, D);
			for (size_t u = 0; u < N; u++) {
				const double *q = qkv + (b * N + u) * H3 + k * D;
				double den = 1e-6;
				for (size_t i = 0; i < D; i++)
					den += phi_d(q[i]) * z[i];
				for (size_t j = 0; j < D; j++) {
					double s = 0.0;
					for (size_t i = 0; i < D; i++)
						s += phi_d(q[i]) * S[i * D + j];
					o[(b * N + u) * H + k * D + j] = s / den;
				}
			}
		}
	free(S);
}

void nn_linattn_forward_naive(double *y, const double *h, const double *Wqkv,
			      const double *bqkv, const double *Wo, const double *bo,
			      size_t B, size_t N, size_t H, size_t K)
{
	size_t R = B * N;
	double *qkv = xcalloc(R * 3 * H + 1, sizeof *qkv);
	double *o = xcalloc(R * H + 1, sizeof *o);
	nn_linear_forward_naive(qkv, h, Wqkv, bqkv, R, H, 3 * H);
	linattn_naive_o(o, qkv, B, N, H, K);
	nn_linear_forward_naive(y, o, Wo, bo, R, H, H);
	free(qkv);
	free(o);
}

void nn_linattn_backward_naive(double *dh, double *dWqkv, double *dbqkv, double *dWo,
			       double *dbo, const double *dy, const double *h,
			       const double *Wqkv, const double *bqkv, const double *Wo,
			       const double *bo, size_t B, size_t N, size_t H, size_t K)
{
	size_t R = B * N, D = H / K, H3 = 3 * H;
	double *qkv = xcalloc(R * H3 + 1, sizeof *qkv);
	double *o = xcalloc(R * H + 1, sizeof *o);
	double *go = xcalloc(R * H + 1, sizeof *go);
	double *dqkv = xcalloc(R * H3 + 1, sizeof *dqkv);
	double *S = xcalloc(D * D + D, sizeof *S), *z = S + D * D;
	double *dS = xcalloc(D * D + D, sizeof *dS), *dz = dS + D * D;
	double *p = xcalloc(D + 1, sizeof *p);
	nn_linear_forward_naive(qkv, h, Wqkv, bqkv, R, H, H3);
	linattn_naive_o(o, qkv, B, N, H, K);
	nn_linear_backward_naive(go, dWo, dbo, dy, o, Wo, R, H, H);
	for (size_t b = 0; b < B; b++)
		for (size_t k = 0; k < K; k++) {
			kv_sums_naive(S, qkv, b, k, N, H, D);
			memset(dS, 0, (D * D + D) * sizeof *dS);
			/* o_u[j] = n_u[j] / den_u with n_u[j] = sum_i p_i S_ij */
			for (size_t u = 0; u < N; u++) {
				size_t r = b * N + u;
				const double *q = qkv + r * H3 + k * D;
				const double *gou = go + r * H + k * D;
				double *dq = dqkv + r * H3 + k * D;
				double den = 1e-6;
				for (size_t i = 0; i < D; i++) {
					p[i] = phi_d(q[i]);
					den += p[i] * z[i];
				}
				/* dL/dden = -sum_j go_j n_j / den^2 */
				double dden = 0.0;
				for (size_t j = 0; j < D; j++) {
					double nj = 0.0;
					for (size_t i = 0; i < D; i++)
						nj += p[i] * S[i * D + j];
					dden -= gou[j] * nj / (den * den);
				}
				for (size_t i = 0; i < D; i++) {
					/* through n: sum_j go_j S_ij / den; through den: dden z_i */
					double dp = dden * z[i];
					for (size_t j = 0; j < D; j++) {
						dp += gou[j] * S[i * D + j] / den;
						dS[i * D + j] += p[i] * gou[j] / den;
					}
					dz[i] += dden * p[i];
					dq[i] = dp * dphi_d(q[i]);
				}
			}
			for (size_t v = 0; v < N; v++) {
				size_t r = b * N + v;
				const double *row = qkv + r * H3;
				double *dk = dqkv + r * H3 + H + k * D;
				double *dv = dqkv + r * H3 + 2 * H + k * D;
				for (size_t i = 0; i < D; i++) {
					double x = row[H + k * D + i], ki = phi_d(x);
					double dki = dz[i];
					for (size_t j = 0; j < D; j++) {
						dki += dS[i * D + j] * row[2 * H + k * D + j];
						dv[j] += dS[i * D + j] * ki;
					}
					dk[i] = dki * dphi_d(x);
				}
			}
		}
	nn_linear_backward_naive(dh, dWqkv, dbqkv, dqkv, h, Wqkv, R, H, H3);
	free(qkv);
	free(o);
	free(go);
	free(dqkv);
	free(S);
	free(dS);
	free(p);
}

/* ------------------------------------------------------------------ */
/* APPNP
 *
 * Scratch: two (B, N, H) buffers for the iterates, then isd (N) =
 * 1 / sqrt(d_u).  The backward is the same recursion on dout (A_hat is
 * symmetric): w_0 = dout, w_{t+1} = (1 - alpha) A_hat w_t + alpha dout,
 * dx += w_K = ((1-alpha) A_hat)^K dout + alpha sum_{t<K} ((1-alpha) A_hat)^t dout. */

size_t nn_appnp_scratch(size_t B, size_t N, size_t H)
{
	return 2 * B * N * H + N;
}

/* dst (=, or += when acc) z_K of the recursion from x, gathered per row. */
NN_CLONES static void appnp_run(float *dst, int acc, float *scratch, const float *x,
		      const nn_adj_t *a, float alpha, int K, size_t B, size_t H)
{
	size_t N = a->n, NH = N * H;
	float *buf[2] = { scratch, scratch + B * NH };   /* (B, N, H) each */
	float *isd = scratch + 2 * B * NH;              /* (N) */
	if (K <= 0) {
		for (size_t i = 0; i < B * NH; i++)
			dst[i] = acc ? dst[i] + x[i] : x[i];
		return;
	}
	for (size_t u = 0; u < N; u++) {
		int32_t d = 1 + (a->in_ptr[u + 1] - a->in_ptr[u]) +
			    (a->out_ptr[u + 1] - a->out_ptr[u]);
		isd[u] = (float)(1.0 / sqrt((double)d));
	}
	float beta = 1.0f - alpha;
	size_t rows = B * N;
	int nt = nn_team(B * (N + 2 * a->m) * H * (size_t)K);
	#pragma omp parallel num_threads(nt) if (nt > 1 && !omp_in_parallel())
	for (int t = 0; t < K; t++) {
		const float *src = t == 0 ? x : buf[(t - 1) & 1];
		float *out = t == K - 1 ? dst : buf[t & 1];
		int last_acc = acc && t == K - 1;
		#pragma omp for schedule(static)
		for (size_t r = 0; r < rows; r++) {
			size_t b = r / N, u = r % N;
			const float *sb = src + b * NH;
			const float *xr = x + r * H;
			float *yr = out + r * H;
			float su = isd[u], self = su * su;
			/* the aggregate, in a fixed order: self, in(u), out(u) */
			/* accumulating into dst: aggregate in the spare buffer's
			 * row (not the source of this step), then add */
			float *ag = last_acc ? buf[t & 1] + r * H : yr;
			const float *zu = sb + u * H;
			#pragma omp simd
			for (size_t j = 0; j < H; j++)
				ag[j] = self * zu[j];
			for (int32_t e = a->in_ptr[u]; e < a->in_ptr[u + 1]; e++) {
				int32_t v = a->in_idx[e];
				float w = su * isd[v];
				const float *zv = sb + (size_t)v * H;
				#pragma omp simd
				for (size_t j = 0; j < H; j++)
					ag[j] += w * zv[j];
			}
			for (int32_t e = a->out_ptr[u]; e < a->out_ptr[u + 1]; e++) {
				int32_t v = a->out_idx[e];
				float w = su * isd[v];
				const float *zv = sb + (size_t)v * H;
				#pragma omp simd
				for (size_t j = 0; j < H; j++)
					ag[j] += w * zv[j];
			}
			if (last_acc) {
				#pragma omp simd
				for (size_t j = 0; j < H; j++)
					yr[j] += beta * ag[j] + alpha * xr[j];
			} else {
				#pragma omp simd
				for (size_t j = 0; j < H; j++)
					yr[j] = beta * ag[j] + alpha * xr[j];
			}
		}
	}
}

void nn_appnp_forward(float *out, float *scratch, const float *x, const nn_adj_t *a,
		      float alpha, int K, size_t B, size_t H)
{
	appnp_run(out, 0, scratch, x, a, alpha, K, B, H);
}

void nn_appnp_backward(float *dx, float *scratch, const float *dout, const nn_adj_t *a,
		       float alpha, int K, size_t B, size_t H)
{
	if (dx)
		appnp_run(dx, 1, scratch, dout, a, alpha, K, B, H);
}

static double *appnp_degrees(const nn_adj_t *a)
{
	double *d = xmallocarray(a->n ? a->n : 1, sizeof *d);
	for (size_t u = 0; u < a->n; u++)
		d[u] = 1.0 + (a->in_ptr[u + 1] - a->in_ptr[u]) + (a->out_ptr[u + 1] - a->out_ptr[u]);
	return d;
}

void nn_appnp_forward_naive(double *out, const double *x, const nn_adj_t *a,
			    double alpha, int K, size_t B, size_t H)
{
	size_t N = a->n, n = B * N * H;
	double *d = appnp_degrees(a);
	double *z = xmallocarray(n + 1, sizeof *z), *zn = xmallocarray(n + 1, sizeof *zn);
	memcpy(z, x, n * sizeof *z);
	for (int t = 0; t < K; t++) {
		for (size_t b = 0; b < B; b++)
			for (size_t u = 0; u < N; u++)
				for (size_t j = 0; j < H; j++) {
					const double *zb = z + b * N * H;
					double s = zb[u * H + j] / d[u];
					for (int32_t e = a->in_ptr[u]; e < a->in_ptr[u + 1]; e++) {
						size_t v = (size_t)a->in_idx[e];
						s += zb[v * H + j] / sqrt(d[u] * d[v]);
					}
					for (int32_t e = a->out_ptr[u]; e < a->out_ptr[u + 1]; e++) {
						size_t v = (size_t)a->out_idx[e];
						s += zb[v * H + j] / sqrt(d[u] * d[v]);
					}
					size_t i = (b * N + u) * H + j;
					zn[i] = (1.0 - alpha) * s + alpha * x[i];
				}
		double *tmp = z;
		z = zn;
		zn = tmp;
	}
	memcpy(out, z, n * sizeof *out);
	free(d);
	free(z);
	free(zn);
}

/* Reverse mode through the recursion, the aggregation transposed (scatter):
 * it does not assume A_hat symmetric. */
void nn_appnp_backward_naive(double *dx, const double *dout, const nn_adj_t *a,
			     double alpha, int K, size_t B, size_t H)
{
	size_t N = a->n, n = B * N * H;
	double *d = appnp_degrees(a);
	double *g = xmallocarray(n + 1, sizeof *g), *gp = xmallocarray(n + 1, sizeof *gp);
	memcpy(g, dout, n * sizeof *g);   /* dL/dz_K */
	for (int t = K - 1; t >= 0; t--) {
		/* z_{t+1} = (1 - alpha) A_hat z_t + alpha x */
		for (size_t i = 0; i < n; i++)
			dx[i] += alpha * g[i];
		memset(gp, 0, n * sizeof *gp);
		for (size_t b = 0; b < B; b++)
			for (size_t u = 0; u < N; u++)
				for (size_t j = 0; j < H; j++) {
					double gu = (1.0 - alpha) * g[(b * N + u) * H + j];
					double *gb = gp + b * N * H;
					gb[u * H + j] += gu / d[u];
					for (int32_t e = a->in_ptr[u]; e < a->in_ptr[u + 1]; e++) {
						size_t v = (size_t)a->in_idx[e];
						gb[v * H + j] += gu / sqrt(d[u] * d[v]);
					}
					for (int32_t e = a->out_ptr[u]; e < a->out_ptr[u + 1]; e++) {
						size_t v = (size_t)a->out_idx[e];
						gb[v * H + j] += gu / sqrt(d[u] * d[v]);
					}
				}
		double *tmp = g;
		g = gp;
		gp = tmp;
	}
	for (size_t i = 0; i < n; i++)
		dx[i] += g[i];   /* z_0 = x */
	free(d);
	free(g);
	free(gp);
}

/* ------------------------------------------------------------------ */
/* random-walk positional encoding
 *
 * The walk is reversible (A symmetric, stationary weights d), so
 * d_w (P^b)_{wu} = d_u (P^b)_{uw} and, with p_j the distribution after j
 * steps from u (row u of P^j),
 *   (P^(2j))_{uu}   = d_u sum_w p_j[w]^2 / d_w
 *   (P^(2j+1))_{uu} = d_u sum_w p_j[w] p_{j+1}[w] / d_w.
 * So ceil(K / 2) pushes of a sparse vector give all K return probabilities:
 * the walk from u touches only what it reaches in half the steps.  Each
 * push spreads p[v] / d_v to every neighbour of v in CSR order (in(v) then
 * out(v)); the sums run over the touched list in discovery order.  Every
 * start node's row is computed by one thread the same way whatever the
 * thread count. */

#define RWPE_MAX_K 64

typedef struct {
	double *cur, *nxt;        /* (N) dense, zero outside the touched lists */
	int32_t *lc, *ln;         /* (N) touched lists of cur, nxt */
	unsigned char *mark;      /* (N) 1 when in nxt's list */
} rw_buf;

/* Push cur (list lc[0..nc)) one step into nxt; returns the length of ln. */
static size_t rw_push(rw_buf *w, size_t nc, const nn_adj_t *a, const double *inv_d)
{
	size_t nn = 0;
	for (size_t i = 0; i < nc; i++) {
		int32_t v = w->lc[i];
		double share = w->cur[v] * inv_d[v];
		for (int pass = 0; pass < 2; pass++) {
			const int32_t *ptr = pass ? a->out_ptr : a->in_ptr;
			const int32_t *idx = pass ? a->out_idx : a->in_idx;
			for (int32_t e = ptr[v]; e < ptr[v + 1]; e++) {
				int32_t x = idx[e];
				if (!w->mark[x]) {
					w->mark[x] = 1;
					w->ln[nn++] = x;
				}
				w->nxt[x] += share;
			}
		}
	}
	return nn;
}

static void rw_start(float *pe, size_t u, rw_buf *w, const nn_adj_t *a,
		     const double *inv_d, size_t K)
{
	double du = (double)((a->in_ptr[u + 1] - a->in_ptr[u]) + (a->out_ptr[u + 1] - a->out_ptr[u]));
	float *row = pe + u * K;
	if (du == 0.0) {
		memset(row, 0, K * sizeof *row);
		return;
	}
	size_t nc = 1;
	w->lc[0] = (int32_t)u;
	w->cur[u] = 1.0;
	for (size_t s = 1; s <= K; s += 2) {
		/* cur = p_j with s = 2j + 1: push to p_{j+1}, read steps s, s+1 */
		size_t nn = rw_push(w, nc, a, inv_d);
		double odd = 0.0, even = 0.0;
		for (size_t i = 0; i < nc; i++) {
			int32_t x = w->lc[i];
			odd += w->cur[x] * w->nxt[x] * inv_d[x];
		}
		row[s - 1] = (float)(du * odd);
		if (s < K) {
			for (size_t i = 0; i < nn; i++) {
				int32_t x = w->ln[i];
				even += w->nxt[x] * w->nxt[x] * inv_d[x];
			}
			row[s] = (float)(du * even);
		}
		/* clear cur, make nxt the current vector */
		for (size_t i = 0; i < nc; i++)
			w->cur[w->lc[i]] = 0.0;
		for (size_t i = 0; i < nn; i++)
			w->mark[w->ln[i]] = 0;
		double *td = w->cur;
		w->cur = w->nxt;
		w->nxt = td;
		int32_t *tl = w->lc;
		w->lc = w->ln;
		w->ln = tl;
		nc = nn;
	}
	for (size_t i = 0; i < nc; i++)
		w->cur[w->lc[i]] = 0.0;
}

int nn_rwpe(float *pe, const nn_adj_t *a, size_t K)
{
	if (K == 0 || K > RWPE_MAX_K)
		return -1;
	size_t N = a->n;
	if (N == 0)
		return 0;
	double *inv_d = xmallocarray(N, sizeof *inv_d);   /* (N) */
	for (size_t u = 0; u < N; u++) {
		int32_t d = (a->in_ptr[u + 1] - a->in_ptr[u]) + (a->out_ptr[u + 1] - a->out_ptr[u]);
		inv_d[u] = d ? 1.0 / (double)d : 0.0;
	}
	int nt = N >= 64 ? nn_threads() : 1;
	#pragma omp parallel num_threads(nt) if (nt > 1 && !omp_in_parallel())
	{
		rw_buf w;
		w.cur = xcalloc(N, sizeof *w.cur);
		w.nxt = xcalloc(N, sizeof *w.nxt);
		w.lc = xmallocarray(N, sizeof *w.lc);
		w.ln = xmallocarray(N, sizeof *w.ln);
		w.mark = xcalloc(N, 1);
		/* dynamic: the cost of a start varies with its neighbourhood; the
		 * result of each row does not depend on who computes it */
		#pragma omp for schedule(dynamic, 16)
		for (size_t u = 0; u < N; u++)
			rw_start(pe, u, &w, a, inv_d, K);
		free(w.cur);
		free(w.nxt);
		free(w.lc);
		free(w.ln);
		free(w.mark);
	}
	free(inv_d);
	return 0;
}

void nn_rwpe_naive(double *pe, const nn_adj_t *a, size_t K)
{
	size_t N = a->n;
	if (N == 0 || K == 0)
		return;
	double *P = xcalloc(N * N, sizeof *P);
	double *M = xcalloc(N * N, sizeof *M);
	double *T = xcalloc(N * N, sizeof *T);
	for (size_t u = 0; u < N; u++) {
		int32_t d = (a->in_ptr[u + 1] - a->in_ptr[u]) + (a->out_ptr[u + 1] - a->out_ptr[u]);
		for (int32_t e = a->in_ptr[u]; e < a->in_ptr[u + 1]; e++)
			P[u * N + (size_t)a->in_idx[e]] += 1.0 / d;
		for (int32_t e = a->out_ptr[u]; e < a->out_ptr[u + 1]; e++)
			P[u * N + (size_t)a->out_idx[e]] += 1.0 / d;
	}
	memcpy(M, P, N * N * sizeof *M);
	for (size_t k = 0; k < K; k++) {
		for (size_t u = 0; u < N; u++)
			pe[u * K + k] = M[u * N + u];
		if (k + 1 == K)
			break;
		for (size_t i = 0; i < N; i++)
			for (size_t j = 0; j < N; j++) {
				double s = 0.0;
				for (size_t l = 0; l < N; l++)
					s += M[i * N + l] * P[l * N + j];
				T[i * N + j] = s;
			}
		double *tmp = M;
		M = T;
		T = tmp;
	}
	free(P);
	free(M);
	free(T);
}
