/* gnn_msg: the message-passing layers of gnn.h, GIN and GAT.
 *
 * Both gather: every output row (config b, node u) is computed by one
 * thread, summing its terms in a fixed order (the node itself, then in(u),
 * then out(u), in CSR order), so the kernels' results do not depend on the
 * thread count except through the weight-gradient products of nn.c (dW,
 * GAT's dA).  The other reductions (dbias, deps) sum over all rows in row
 * order, in double.
 * No scatter anywhere: the adjoint of an aggregation over in(u) is a
 * gather over out(v), and the reverse.
 *
 * Every `omp parallel` carries `if (... && !omp_in_parallel())`: inside the
 * trainer's parallel region (one block of configs per thread) the kernels
 * run on their thread alone. */
#include "gnn.h"
#include "err.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Columns per task of a column sum (GAT's dbias). */
#define COL_BLOCK 16

#define GAT_SLOPE 0.2f

/* ------------------------------------------------------------------ */
/* GIN */

size_t nn_gin_scratch(size_t B, size_t N, size_t H)
{
	/* forward: g, then the pre-activation, then gelu over g's buffer (2);
	 * backward: g, pre-activation, gelu, then the gradients in their
	 * place (3) */
	return 3 * B * N * H;
}

/* out[b,u] = s in[b,u] + sum_{v in in(u)} in[b,v] + sum_{w in out(u)} in[b,w]
 * (add: out += the same).  The operator s I + A + A^T is symmetric, so this
 * is also its own adjoint: the backward gathers dg the same way.
 * out, in (B, N, H). */
NN_CLONES static void gin_sum(float *out, int add, float s, const float *in,
			      const nn_adj_t *a, size_t B, size_t H)
{
	size_t N = a->n;
	#pragma omp parallel for collapse(2) schedule(static) \
		if (B * (N + 2 * a->m) * H > NN_PAR_MIN_WORK && !omp_in_parallel())
	for (size_t b = 0; b < B; b++)
		for (size_t u = 0; u < N; u++) {
			const float *ib = in + b * N * H, *x = ib + u * H;
			float *o = out + (b * N + u) * H;
			if (add) {
				#pragma omp simd
				for (size_t k = 0; k < H; k++)
					o[k] += s * x[k];
			} else {
				#pragma omp simd
				for (size_t k = 0; k < H; k++)
					o[k] = s * x[k];
			}
			for (int32_t e = a->in_ptr[u]; e < a->in_ptr[u + 1]; e++) {
				const float *xv = ib + (size_t)a->in_idx[e] * H;
				#pragma omp simd
				for (size_t k = 0; k < H; k++)
					o[k] += xv[k];
			}
			for (int32_t e = a->out_ptr[u]; e < a->out_ptr[u + 1]; e++) {
				const float *xw = ib + (size_t)a->out_idx[e] * H;
				#pragma omp simd
				for (size_t k = 0; k < H; k++)
					o[k] += xw[k];
			}
		}
}

/* sum(x * y) over M rows of H: per-row partials in double, added in row
 * order. */
NN_CLONES static double dot_rows(const float *x, const float *y, size_t M, size_t H)
{
	double *part = xcalloc(M ? M : 1, sizeof *part);
	#pragma omp parallel for schedule(static) if (M * H > NN_PAR_MIN_WORK && !omp_in_parallel())
	for (size_t i = 0; i < M; i++) {
		const float *xr = x + i * H, *yr = y + i * H;
		double acc = 0.0;
		for (size_t k = 0; k < H; k++)
			acc += (double)xr[k] * yr[k];
		part[i] = acc;
	}
	double s = 0.0;
	for (size_t i = 0; i < M; i++)
		s += part[i];
	free(part);
	return s;
}

void nn_gin_forward(float *y, float *scratch, const float *h, const float *eps,
		    const float *W1, const float *b1, const float *W2, const float *b2,
		    const nn_adj_t *a, size_t B, size_t H)
{
	size_t M = B * a->n, n = M * H;
	float *g = scratch;          /* (B, N, H): g, then gelu(pre) */
	float *pre = scratch + n;    /* (B, N, H) */
	gin_sum(g, 0, 1.0f + eps[0], h, a, B, H);
	nn_linear_forward(pre, g, W1, b1, M, H, H);
	nn_gelu_forward(g, pre, n);
	nn_linear_forward(y, g, W2, b2, M, H, H);
}

void nn_gin_backward(float *dh, float *deps, float *dW1, float *db1, float *dW2,
		     float *db2, float *scratch, const float *dy, const float *h,
		     const float *eps, const float *W1, const float *b1,
		     const float *W2, const float *b2, const nn_adj_t *a, size_t B,
		     size_t H)
{
	size_t M = B * a->n, n = M * H;
	float s = 1.0f + eps[0];
	float *X = scratch;            /* (B, N, H): g, then dz, then g again */
	float *P = scratch + n;        /* (B, N, H): pre-activation, then dg */
	float *Q = scratch + 2 * n;    /* (B, N, H): z = gelu(pre), then dpre */
	int need_dg = dh || deps;
	int need_dpre = need_dg || dW1 || db1;
	/* the forward again, from h */
	gin_sum(X, 0, s, h, a, B, H);
	nn_linear_forward(P, X, W1, b1, M, H, H);
	nn_gelu_forward(Q, P, n);
	/* y = z W2^T + b2: dz (into X, g being recomputed later) */
	if (need_dpre)
		memset(X, 0, n * sizeof *X);
	nn_linear_backward(need_dpre ? X : NULL, dW2, db2, dy, Q, W2, M, H, H);
	if (!need_dpre)
		return;
	/* z = gelu(pre): dpre into Q */
	memset(Q, 0, n * sizeof *Q);
	nn_gelu_backward(Q, X, P, n);
	/* pre = g W1^T + b1: g again into X, dg into P */
	gin_sum(X, 0, s, h, a, B, H);
	if (need_dg)
		memset(P, 0, n * sizeof *P);
	nn_linear_backward(need_dg ? P : NULL, dW1, db1, Q, X, W1, M, H, H);
	if (!need_dg)
		return;
	/* g = (1 + eps) h + (A + A^T) h */
	if (dh)
		gin_sum(dh, 1, s, P, a, B, H);
	if (deps)
		deps[0] += (float)dot_rows(P, h, M, H);
}

/* g (B, N, H) in double */
static void gin_sum_naive(double *g, double s, const double *h, const nn_adj_t *a,
			  size_t B, size_t H)
{
	size_t N = a->n;
	for (size_t b = 0; b < B; b++)
		for (size_t u = 0; u < N; u++)
			for (size_t k = 0; k < H; k++) {
				double acc = s * h[(b * N + u) * H + k];
				for (int32_t e = a->in_ptr[u]; e < a->in_ptr[u + 1]; e++)
					acc += h[(b * N + (size_t)a->in_idx[e]) * H + k];
				for (int32_t e = a->out_ptr[u]; e < a->out_ptr[u + 1]; e++)
					acc += h[(b * N + (size_t)a->out_idx[e]) * H + k];
				g[(b * N + u) * H + k] = acc;
			}
}

void nn_gin_forward_naive(double *y, const double *h, const double *eps,
			  const double *W1, const double *b1, const double *W2,
			  const double *b2, const nn_adj_t *a, size_t B, size_t H)
{
	size_t M = B * a->n, n = M * H;
	double *g = xmallocarray(n ? n : 1, sizeof *g);     /* (B, N, H) */
	double *pre = xmallocarray(n ? n : 1, sizeof *pre); /* (B, N, H) */
	double *z = xmallocarray(n ? n : 1, sizeof *z);     /* (B, N, H) */
	gin_sum_naive(g, 1.0 + eps[0], h, a, B, H);
	nn_linear_forward_naive(pre, g, W1, b1, M, H, H);
	nn_gelu_forward_naive(z, pre, n);
	nn_linear_forward_naive(y, z, W2, b2, M, H, H);
	free(g);
	free(pre);
	free(z);
}

void nn_gin_backward_naive(double *dh, double *deps, double *dW1, double *db1,
			   double *dW2, double *db2, const double *dy, const double *h,
			   const double *eps, const double *W1, const double *b1,
			   const double *W2, const double *b2, const nn_adj_t *a,
			   size_t B, size_t H)
{
	size_t N = a->n, M = B * N, n = M * H;
	double s = 1.0 + eps[0];
	double *g = xmallocarray(n ? n : 1, sizeof *g);      /* (B, N, H) */
	double *pre = xmallocarray(n ? n : 1, sizeof *pre);  /* (B, N, H) */
	double *z = xmallocarray(n ? n : 1, sizeof *z);      /* (B, N, H) */
	double *dz = xcalloc(n ? n : 1, sizeof *dz);         /* (B, N, H) */
	double *dpre = xcalloc(n ? n : 1, sizeof *dpre);     /* (B, N, H) */
	double *dg = xcalloc(n ? n : 1, sizeof *dg);         /* (B, N, H) */
	gin_sum_naive(g, s, h, a, B, H);
	nn_linear_forward_naive(pre, g, W1, b1, M, H, H);
	nn_gelu_forward_naive(z, pre, n);
	nn_linear_backward_naive(dz, dW2, db2, dy, z, W2, M, H, H);
	nn_gelu_backward_naive(dpre, dz, pre, n);
	nn_linear_backward_naive(dg, dW1, db1, dpre, g, W1, M, H, H);
	/* scatter form: the transpose of the forward as written */
	for (size_t b = 0; b < B; b++)
		for (size_t u = 0; u < N; u++)
			for (size_t k = 0; k < H; k++) {
				double d = dg[(b * N + u) * H + k];
				if (deps)
					deps[0] += d * h[(b * N + u) * H + k];
				if (!dh)
					continue;
				dh[(b * N + u) * H + k] += s * d;
				for (int32_t e = a->in_ptr[u]; e < a->in_ptr[u + 1]; e++)
					dh[(b * N + (size_t)a->in_idx[e]) * H + k] += d;
				for (int32_t e = a->out_ptr[u]; e < a->out_ptr[u + 1]; e++)
					dh[(b * N + (size_t)a->out_idx[e]) * H + k] += d;
			}
	free(g);
	free(pre);
	free(z);
	free(dz);
	free(dpre);
	free(dg);
}

/* ------------------------------------------------------------------ */
/* GAT
 *
 * Scores: S (B, N, 4K) holds, per node and head, A[r]_k . Z_u,k for the
 * four rows r of A: [dst | src self | src producer | src consumer].  Entry
 * v of L(u) with role r then has e = leaky(S[u, k] + S[v, (1 + r) K + k]).
 *
 * Forward, per row u and head: the max of e over L(u), then one pass
 * summing w = exp(e - max) and w Z_v; y = that / sum w + bias.
 *
 * Backward (nothing kept from the forward):
 *   1. Z and S again.  Per row u and head: lse = max + log sum exp(e - max);
 *      then, with alpha = exp(e - lse), dalpha = dy_u,k . Z_v,k and
 *      l = leaky'(x): c = sum alpha dalpha and dS_dst[u] = sum_v dx_uv =
 *      sum alpha dalpha l - c sum alpha l, where
 *      dx_uv = alpha (dalpha - c) l is the gradient of the pre-activation.
 *   2. Per row v, a gather: v is in L(u) for u = v (role 0), for u in
 *      out(v) (v a producer of u, role 1) and for u in in(v) (role 2; an
 *      edge listed twice is visited twice).  From lse[u] and c[u] each
 *      such u gives alpha_uv and dx_uv again, so
 *      dZ_v,k = sum_u alpha_uv dy_u,k + dS_dst[v,k] A[0]_k
 *               + sum_r dS_src,r[v,k] A[1 + r]_k,
 *      dS_src,r[v,k] = sum over the u with that role of dx_uv.
 *      No scatter: rows are independent, any thread count.
 *   3. dA[r]_k += sum_v dS[v, r K + k] Z_v,k (one product dS^T Z),
 *      dbias += sum dy (in row order), dh += dZ W, dW += dZ^T h. */

size_t nn_gat_scratch(size_t B, size_t N, size_t m, size_t H, size_t K)
{
	/* forward: Z (B,N,H), S (B,N,4K), T (B,N,2K);
	 * backward: the same, dZ (B,N,H), dS (B,N,4K), G (4K, H).  Nothing
	 * per edge. */
	return B * N * (2 * H + 10 * K) + 4 * K * H;
}

static inline float leaky(float x)
{
	return x > 0.0f ? x : GAT_SLOPE * x;
}

static inline float leaky_grad(float x)
{
	return x > 0.0f ? 1.0f : GAT_SLOPE;
}

/* S (M, 4K) from Z (M, H) and A (4, H). */
NN_CLONES static void gat_scores(float *S, const float *Z, const float *A, size_t M,
				 size_t H, size_t K)
{
	size_t D = H / K;
	#pragma omp parallel for schedule(static) if (M * 4 * H > NN_PAR_MIN_WORK && !omp_in_parallel())
	for (size_t i = 0; i < M; i++) {
		const float *z = Z + i * H;
		float *s = S + i * 4 * K;
		for (size_t r = 0; r < 4; r++)
			for (size_t k = 0; k < K; k++) {
				const float *ar = A + r * H + k * D, *zk = z + k * D;
				float acc = 0.0f;
				for (size_t d = 0; d < D; d++)
					acc += ar[d] * zk[d];
				s[r * K + k] = acc;
			}
	}
}

/* mx (K) = max(mx, e) over the heads of one entry (first: mx = e). */
static inline void gat_max(float *mx, int first, const float *sd, const float *sv, size_t K)
{
	for (size_t k = 0; k < K; k++) {
		float e = leaky(sd[k] + sv[k]);
		mx[k] = first || e > mx[k] ? e : mx[k];
	}
}

/* The max of e over L(u) per head: mx (K).  sd: u's row of S; Sb: the
 * config's S (N, 4K). */
static inline void gat_row_max(float *mx, const float *Sb, size_t u, const nn_adj_t *a,
			       size_t K)
{
	const float *sd = Sb + u * 4 * K;
	gat_max(mx, 1, sd, sd + K, K);
	for (int32_t e = a->in_ptr[u]; e < a->in_ptr[u + 1]; e++)
		gat_max(mx, 0, sd, Sb + (size_t)a->in_idx[e] * 4 * K + 2 * K, K);
	for (int32_t e = a->out_ptr[u]; e < a->out_ptr[u + 1]; e++)
		gat_max(mx, 0, sd, Sb + (size_t)a->out_idx[e] * 4 * K + 3 * K, K);
}

/* One entry v of the forward sum: sum (K) += w, yr (H) += w Z_v. */
static inline void gat_add(float *yr, float *sum, const float *mx, const float *sd,
			   const float *sv, const float *zv, size_t K, size_t D)
{
	for (size_t k = 0; k < K; k++) {
		float w = expf(leaky(sd[k] + sv[k]) - mx[k]);
		sum[k] += w;
		float *yk = yr + k * D;
		const float *zk = zv + k * D;
		#pragma omp simd
		for (size_t d = 0; d < D; d++)
			yk[d] += w * zk[d];
	}
}

/* y (B, N, H) from Z, S; T (B, N, 2K) scratch. */
NN_CLONES static void gat_attend(float *y, float *T, const float *Z, const float *S,
				 const float *bias, const nn_adj_t *a, size_t B, size_t H,
				 size_t K)
{
	size_t N = a->n, D = H / K;
	#pragma omp parallel for collapse(2) schedule(static) \
		if (B * (N + 2 * a->m) * H > NN_PAR_MIN_WORK && !omp_in_parallel())
	for (size_t b = 0; b < B; b++)
		for (size_t u = 0; u < N; u++) {
			const float *Zb = Z + b * N * H, *Sb = S + b * N * 4 * K;
			const float *sd = Sb + u * 4 * K;
			float *mx = T + (b * N + u) * 2 * K, *sum = mx + K;
			float *yr = y + (b * N + u) * H;
			gat_row_max(mx, Sb, u, a, K);
			memset(yr, 0, H * sizeof *yr);
			memset(sum, 0, K * sizeof *sum);
			gat_add(yr, sum, mx, sd, sd + K, Zb + u * H, K, D);
			for (int32_t e = a->in_ptr[u]; e < a->in_ptr[u + 1]; e++) {
				size_t v = (size_t)a->in_idx[e];
				gat_add(yr, sum, mx, sd, Sb + v * 4 * K + 2 * K, Zb + v * H, K, D);
			}
			for (int32_t e = a->out_ptr[u]; e < a->out_ptr[u + 1]; e++) {
				size_t w = (size_t)a->out_idx[e];
				gat_add(yr, sum, mx, sd, Sb + w * 4 * K + 3 * K, Zb + w * H, K, D);
			}
			for (size_t k = 0; k < K; k++) {
				float inv = 1.0f / sum[k];
				for (size_t d = 0; d < D; d++)
					yr[k * D + d] = yr[k * D + d] * inv + bias[k * D + d];
			}
		}
}

void nn_gat_forward(float *y, float *scratch, const float *h, const float *W,
		    const float *A, const float *bias, const nn_adj_t *a,
		    size_t B, size_t H, size_t K)
{
	size_t M = B * a->n;
	float *Z = scratch;          /* (B, N, H) */
	float *S = Z + M * H;        /* (B, N, 4K) */
	float *T = S + M * 4 * K;    /* (B, N, 2K) */
	nn_linear_forward(Z, h, W, NULL, M, H, H);
	gat_scores(S, Z, A, M, H, K);
	gat_attend(y, T, Z, S, bias, a, B, H, K);
}

/* One entry v of L(u) in step 1: c, s1 = sum alpha dalpha l, s2 = sum
 * alpha l (K each). */
static inline void gat_back_entry1(float *c, float *s1, float *s2, const float *lse,
				   const float *sd, const float *sv, const float *dyu,
				   const float *zv, size_t K, size_t D)
{
	for (size_t k = 0; k < K; k++) {
		float x = sd[k] + sv[k];
		float al = expf(leaky(x) - lse[k]);
		float dal = dot_f(dyu + k * D, zv + k * D, D);
		float p = al * leaky_grad(x);
		c[k] += al * dal;
		s1[k] += p * dal;
		s2[k] += p;
	}
}

/* Step 1: T (B, N, 2K) = [lse | c], dS[:, :, 0:K] = dS_dst; dS[:, :, K:3K]
 * used as temporaries. */
NN_CLONES static void gat_back_rows(float *dS, float *T, const float *Z, const float *S,
				    const float *dy, const nn_adj_t *a, size_t B, size_t H,
				    size_t K)
{
	size_t N = a->n, D = H / K;
	#pragma omp parallel for collapse(2) schedule(static) \
		if (B * (N + 2 * a->m) * H > NN_PAR_MIN_WORK && !omp_in_parallel())
	for (size_t b = 0; b < B; b++)
		for (size_t u = 0; u < N; u++) {
			const float *Zb = Z + b * N * H, *Sb = S + b * N * 4 * K;
			const float *sd = Sb + u * 4 * K, *dyu = dy + (b * N + u) * H;
			float *lse = T + (b * N + u) * 2 * K, *c = lse + K;
			float *ds = dS + (b * N + u) * 4 * K, *s1 = ds + K, *s2 = ds + 2 * K;
			/* lse: c holds the sum of exponentials meanwhile */
			gat_row_max(lse, Sb, u, a, K);
			for (size_t k = 0; k < K; k++)
				c[k] = expf(leaky(sd[k] + sd[K + k]) - lse[k]);
			for (int32_t e = a->in_ptr[u]; e < a->in_ptr[u + 1]; e++) {
				const float *sv = Sb + (size_t)a->in_idx[e] * 4 * K + 2 * K;
				for (size_t k = 0; k < K; k++)
					c[k] += expf(leaky(sd[k] + sv[k]) - lse[k]);
			}
			for (int32_t e = a->out_ptr[u]; e < a->out_ptr[u + 1]; e++) {
				const float *sv = Sb + (size_t)a->out_idx[e] * 4 * K + 3 * K;
				for (size_t k = 0; k < K; k++)
					c[k] += expf(leaky(sd[k] + sv[k]) - lse[k]);
			}
			for (size_t k = 0; k < K; k++) {
				lse[k] += logf(c[k]);
				c[k] = s1[k] = s2[k] = 0.0f;
			}
			gat_back_entry1(c, s1, s2, lse, sd, sd + K, dyu, Zb + u * H, K, D);
			for (int32_t e = a->in_ptr[u]; e < a->in_ptr[u + 1]; e++) {
				size_t v = (size_t)a->in_idx[e];
				gat_back_entry1(c, s1, s2, lse, sd, Sb + v * 4 * K + 2 * K, dyu,
						Zb + v * H, K, D);
			}
			for (int32_t e = a->out_ptr[u]; e < a->out_ptr[u + 1]; e++) {
				size_t w = (size_t)a->out_idx[e];
				gat_back_entry1(c, s1, s2, lse, sd, Sb + w * 4 * K + 3 * K, dyu,
						Zb + w * H, K, D);
			}
			for (size_t k = 0; k < K; k++)
				ds[k] = s1[k] - c[k] * s2[k];
		}
}

/* One u whose list holds v (step 2): dz (H) += alpha_uv dy_u, dsr (K) +=
 * dx_uv.  sd, lse, c: u's; sv: v's source scores for the role. */
static inline void gat_back_entry2(float *dz, float *dsr, const float *sd,
				   const float *lse, const float *c, const float *sv,
				   const float *dyu, const float *zv, size_t K, size_t D)
{
	for (size_t k = 0; k < K; k++) {
		float x = sd[k] + sv[k];
		float al = expf(leaky(x) - lse[k]);
		float dal = dot_f(dyu + k * D, zv + k * D, D);
		dsr[k] += al * (dal - c[k]) * leaky_grad(x);
		float *dzk = dz + k * D;
		const float *dk = dyu + k * D;
		#pragma omp simd
		for (size_t d = 0; d < D; d++)
			dzk[d] += al * dk[d];
	}
}

/* Step 2: dZ (B, N, H) written; dS[:, :, K:4K] = dS_src per role. */
NN_CLONES static void gat_back_gather(float *dZ, float *dS, const float *Z, const float *S,
				      const float *T, const float *dy, const float *A,
				      const nn_adj_t *a, size_t B, size_t H, size_t K)
{
	size_t N = a->n, D = H / K;
	#pragma omp parallel for collapse(2) schedule(static) \
		if (B * (N + 2 * a->m) * H > NN_PAR_MIN_WORK && !omp_in_parallel())
	for (size_t b = 0; b < B; b++)
		for (size_t v = 0; v < N; v++) {
			const float *Sb = S + b * N * 4 * K, *Tb = T + b * N * 2 * K;
			const float *dyb = dy + b * N * H;
			const float *zv = Z + (b * N + v) * H, *sv = Sb + v * 4 * K;
			float *dz = dZ + (b * N + v) * H, *ds = dS + (b * N + v) * 4 * K;
			memset(dz, 0, H * sizeof *dz);
			memset(ds + K, 0, 3 * K * sizeof *ds);
			/* itself, role 0 */
			gat_back_entry2(dz, ds + K, sv, Tb + v * 2 * K, Tb + v * 2 * K + K,
					sv + K, dyb + v * H, zv, K, D);
			/* its consumers u: v in in(u), role 1 */
			for (int32_t e = a->out_ptr[v]; e < a->out_ptr[v + 1]; e++) {
				size_t u = (size_t)a->out_idx[e];
				gat_back_entry2(dz, ds + 2 * K, Sb + u * 4 * K, Tb + u * 2 * K,
						Tb + u * 2 * K + K, sv + 2 * K, dyb + u * H, zv, K, D);
			}
			/* its producers u: v in out(u), role 2 */
			for (int32_t e = a->in_ptr[v]; e < a->in_ptr[v + 1]; e++) {
				size_t u = (size_t)a->in_idx[e];
				gat_back_entry2(dz, ds + 3 * K, Sb + u * 4 * K, Tb + u * 2 * K,
						Tb + u * 2 * K + K, sv + 3 * K, dyb + u * H, zv, K, D);
			}
			/* through the scores */
			for (size_t k = 0; k < K; k++) {
				float g0 = ds[k], g1 = ds[K + k], g2 = ds[2 * K + k], g3 = ds[3 * K + k];
				float *dzk = dz + k * D;
				const float *a0 = A + k * D, *a1 = a0 + H, *a2 = a1 + H, *a3 = a2 + H;
				#pragma omp simd
				for (size_t d = 0; d < D; d++)
					dzk[d] += g0 * a0[d] + g1 * a1[d] + g2 * a2[d] + g3 * a3[d];
			}
		}
}

/* dbias (H) += sum_i dy[i, :] over M rows in order, in double, each block
 * of COL_BLOCK columns on one thread. */
NN_CLONES static void col_sums(float *dbias, const float *dy, size_t M, size_t H)
{
	size_t nb = (H + COL_BLOCK - 1) / COL_BLOCK;
	#pragma omp parallel for schedule(static) if (M * H > NN_PAR_MIN_WORK && !omp_in_parallel())
	for (size_t t = 0; t < nb; t++) {
		size_t h0 = t * COL_BLOCK, w = H - h0 < COL_BLOCK ? H - h0 : COL_BLOCK;
		double acc[COL_BLOCK] = { 0 };
		for (size_t i = 0; i < M; i++) {
			const float *d = dy + i * H + h0;
			for (size_t j = 0; j < w; j++)
				acc[j] += d[j];
		}
		for (size_t j = 0; j < w; j++)
			dbias[h0 + j] += (float)acc[j];
	}
}

void nn_gat_backward(float *dh, float *dW, float *dA, float *dbias, float *scratch,
		     const float *dy, const float *h, const float *W, const float *A,
		     const float *bias, const nn_adj_t *a, size_t B, size_t H, size_t K)
{
	size_t M = B * a->n, D = H / K;
	float *Z = scratch;          /* (B, N, H) */
	float *S = Z + M * H;        /* (B, N, 4K) */
	float *T = S + M * 4 * K;    /* (B, N, 2K): lse, c */
	float *dZ = T + M * 2 * K;   /* (B, N, H) */
	float *dS = dZ + M * H;      /* (B, N, 4K) */
	float *G = dS + M * 4 * K;   /* (4K, H) */
	if (dh || dW || dA) {
		nn_linear_forward(Z, h, W, NULL, M, H, H);
		gat_scores(S, Z, A, M, H, K);
		gat_back_rows(dS, T, Z, S, dy, a, B, H, K);
		gat_back_gather(dZ, dS, Z, S, T, dy, A, a, B, H, K);
	}
	if (dA) {
		/* G = dS^T Z through the GEMM of nn.c (the off-diagonal head
		 * blocks are wasted work, K x the needed, still far cheaper than
		 * a column loop); dA[r]_k = G[r K + k]_k */
		memset(G, 0, 4 * K * H * sizeof *G);
		nn_linear_backward(NULL, G, NULL, dS, Z, NULL, M, H, 4 * K);   /* W: no din */
		for (size_t r = 0; r < 4; r++)
			for (size_t k = 0; k < K; k++)
				for (size_t d = 0; d < D; d++)
					dA[r * H + k * D + d] += G[(r * K + k) * H + k * D + d];
	}
	if (dbias)
		col_sums(dbias, dy, M, H);
	if (dh || dW)
		nn_linear_backward(dh, dW, NULL, dZ, h, W, M, H, H);
}

/* Entry j of L(u): the node, and its role in *r. */
static size_t gat_entry(const nn_adj_t *a, size_t u, size_t j, int *r)
{
	size_t din = (size_t)(a->in_ptr[u + 1] - a->in_ptr[u]);
	if (j == 0) {
		*r = 0;
		return u;
	}
	if (j <= din) {
		*r = 1;
		return (size_t)a->in_idx[(size_t)a->in_ptr[u] + j - 1];
	}
	*r = 2;
	return (size_t)a->out_idx[(size_t)a->out_ptr[u] + j - 1 - din];
}

static size_t gat_len(const nn_adj_t *a, size_t u)
{
	return 1 + (size_t)(a->in_ptr[u + 1] - a->in_ptr[u]) +
	       (size_t)(a->out_ptr[u + 1] - a->out_ptr[u]);
}

static size_t gat_max_len(const nn_adj_t *a)
{
	size_t mx = 1;
	for (size_t u = 0; u < a->n; u++)
		if (gat_len(a, u) > mx)
			mx = gat_len(a, u);
	return mx;
}

/* The pre-activation x of entry (u, v, role r), head k, in double. */
static double gat_x_naive(const double *Zu, const double *Zv, const double *A, int r,
			  size_t k, size_t H, size_t D)
{
	double x = 0.0;
	for (size_t d = 0; d < D; d++)
		x += A[k * D + d] * Zu[k * D + d] + A[(size_t)(1 + r) * H + k * D + d] * Zv[k * D + d];
	return x;
}

static double leaky_d(double x)
{
	return x > 0.0 ? x : 0.2 * x;
}

/* alpha (len) of row u, head k, into al; x (len) the pre-activations. */
static void gat_softmax_naive(double *al, double *x, const double *Zb, const double *A,
			      const nn_adj_t *a, size_t u, size_t k, size_t H, size_t D)
{
	size_t len = gat_len(a, u);
	double mx = 0.0, sum = 0.0;
	for (size_t j = 0; j < len; j++) {
		int r;
		size_t v = gat_entry(a, u, j, &r);
		x[j] = gat_x_naive(Zb + u * H, Zb + v * H, A, r, k, H, D);
		al[j] = leaky_d(x[j]);
		if (j == 0 || al[j] > mx)
			mx = al[j];
	}
	for (size_t j = 0; j < len; j++) {
		al[j] = exp(al[j] - mx);
		sum += al[j];
	}
	for (size_t j = 0; j < len; j++)
		al[j] /= sum;
}

void nn_gat_forward_naive(double *y, const double *h, const double *W,
			  const double *A, const double *bias, const nn_adj_t *a,
			  size_t B, size_t H, size_t K)
{
	size_t N = a->n, M = B * N, n = M * H, D = H / K, L = gat_max_len(a);
	double *Z = xmallocarray(n ? n : 1, sizeof *Z);   /* (B, N, H) */
	double *al = xmallocarray(L, sizeof *al), *x = xmallocarray(L, sizeof *x);
	nn_linear_forward_naive(Z, h, W, NULL, M, H, H);
	for (size_t b = 0; b < B; b++)
		for (size_t u = 0; u < N; u++)
			for (size_t k = 0; k < K; k++) {
				const double *Zb = Z + b * N * H;
				gat_softmax_naive(al, x, Zb, A, a, u, k, H, D);
				for (size_t d = 0; d < D; d++) {
					double s = bias[k * D + d];
					for (size_t j = 0; j < gat_len(a, u); j++) {
						int r;
						size_t v = gat_entry(a, u, j, &r);
						s += al[j] * Zb[v * H + k * D + d];
					}
					y[(b * N + u) * H + k * D + d] = s;
				}
			}
	free(Z);
	free(al);
	free(x);
}

void nn_gat_backward_naive(double *dh, double *dW, double *dA, double *dbias,
			   const double *dy, const double *h, const double *W,
			   const double *A, const double *bias, const nn_adj_t *a,
			   size_t B, size_t H, size_t K)
{
	size_t N = a->n, M = B * N, n = M * H, D = H / K, L = gat_max_len(a);
	double *Z = xmallocarray(n ? n : 1, sizeof *Z);   /* (B, N, H) */
	double *dZ = xcalloc(n ? n : 1, sizeof *dZ);      /* (B, N, H) */
	double *al = xmallocarray(L, sizeof *al), *x = xmallocarray(L, sizeof *x);
	double *dal = xmallocarray(L, sizeof *dal);
	nn_linear_forward_naive(Z, h, W, NULL, M, H, H);
	for (size_t b = 0; b < B; b++)
		for (size_t u = 0; u < N; u++) {
			const double *dyu = dy + (b * N + u) * H;
			if (dbias)
				for (size_t i = 0; i < H; i++)
					dbias[i] += dyu[i];
			for (size_t k = 0; k < K; k++) {
				const double *Zb = Z + b * N * H;
				double *dZb = dZ + b * N * H;
				size_t len = gat_len(a, u);
				gat_softmax_naive(al, x, Zb, A, a, u, k, H, D);
				double c = 0.0;
				for (size_t j = 0; j < len; j++) {
					int r;
					size_t v = gat_entry(a, u, j, &r);
					dal[j] = 0.0;
					for (size_t d = 0; d < D; d++)
						dal[j] += dyu[k * D + d] * Zb[v * H + k * D + d];
					c += al[j] * dal[j];
				}
				/* scatter: y_u = sum alpha Z_v, then through the scores */
				for (size_t j = 0; j < len; j++) {
					int r;
					size_t v = gat_entry(a, u, j, &r);
					double dx = al[j] * (dal[j] - c) * (x[j] > 0.0 ? 1.0 : 0.2);
					for (size_t d = 0; d < D; d++) {
						size_t i = k * D + d, ir = (size_t)(1 + r) * H + i;
						dZb[v * H + i] += al[j] * dyu[i];
						dZb[u * H + i] += dx * A[i];
						dZb[v * H + i] += dx * A[ir];
						if (dA) {
							dA[i] += dx * Zb[u * H + i];
							dA[ir] += dx * Zb[v * H + i];
						}
					}
				}
			}
		}
	nn_linear_backward_naive(dh, dW, NULL, dZ, h, W, M, H, H);
	free(Z);
	free(dZ);
	free(al);
	free(x);
	free(dal);
}
