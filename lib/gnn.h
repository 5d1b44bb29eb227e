/* gnn: the message-passing and global layers of the model variants
 * (sage-train --arch, docs/model.md), beside the GraphSAGE kernels of nn.h.
 *
 * Same conventions as nn.h: row-major float buffers with a shape comment,
 * (B, N, H) = B configs x N nodes x H channels, size_t index math; a forward
 * fills what its backward needs, a backward ACCUMULATES (+=) into the input
 * gradient and the weight gradients (NULL skips one); every fast kernel has
 * a `_naive` twin in double precision (plain loops, no OpenMP) that the
 * tests check it against, and both against central finite differences.
 *
 * Scratch: each layer gets one float buffer of nn_X_scratch(...) floats,
 * shared by its forward and its backward.  The backward does NOT rely on
 * what the forward left there: the trainer runs the forwards of other
 * layers (and other configs) in between, so a backward recomputes what it
 * needs from its input h.  The naive twins allocate their own memory.
 *
 * Threads: the kernels are called both inside a parallel region (one block
 * of configs per thread: run serially, `if (!omp_in_parallel())` on every
 * pragma) and outside one (one block using every thread).  Results depend
 * only on the thread count: no atomics, fixed-order reductions.
 *
 * The graph is nn.h's nn_adj_t: in(u) = producers of u, out(u) = its
 * consumers. */
#ifndef TPU_GNN_H
#define TPU_GNN_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"

/* x . y over n floats, summed in index order (float, no reassociation: the
 * same sum on every CPU path). */
static inline __attribute__((always_inline)) float dot_f(const float *restrict x,
							 const float *restrict y, size_t n)
{
	float s = 0.0f;
	for (size_t i = 0; i < n; i++)
		s += x[i] * y[i];
	return s;
}

/* ---- GIN (Xu et al. 2019) over both edge directions ----
 *
 * g[b,u] = (1 + eps) h[b,u] + sum_{v in in(u)} h[b,v] + sum_{w in out(u)} h[b,w]
 * y = gelu(g W1^T + b1) W2^T + b2
 * h, y (B, N, H); eps (1) learnable; W1, W2 (H, H); b1, b2 (H). */
size_t nn_gin_scratch(size_t B, size_t N, size_t H);
void nn_gin_forward(float *y, float *scratch, const float *h, const float *eps,
		    const float *W1, const float *b1, const float *W2, const float *b2,
		    const nn_adj_t *a, size_t B, size_t H);
void nn_gin_backward(float *dh, float *deps, float *dW1, float *db1, float *dW2,
		     float *db2, float *scratch, const float *dy, const float *h,
		     const float *eps, const float *W1, const float *b1,
		     const float *W2, const float *b2, const nn_adj_t *a, size_t B,
		     size_t H);
void nn_gin_forward_naive(double *y, const double *h, const double *eps,
			  const double *W1, const double *b1, const double *W2,
			  const double *b2, const nn_adj_t *a, size_t B, size_t H);
void nn_gin_backward_naive(double *dh, double *deps, double *dW1, double *db1,
			   double *dW2, double *db2, const double *dy, const double *h,
			   const double *eps, const double *W1, const double *b1,
			   const double *W2, const double *b2, const nn_adj_t *a,
			   size_t B, size_t H);

/* ---- GAT (Velickovic et al. 2018), K heads, both edge directions ----
 *
 * D = H / K channels per head (H % K == 0).  Z = h W^T (B, N, H).  Node u
 * attends over the list L(u) = [u itself, then in(u), then out(u)] (an
 * edge listed twice counts twice); role r(v) = 0 self, 1 producer,
 * 2 consumer.  For head k (channels kD .. kD + D - 1):
 *   e_uv = leaky_relu(A[0] . Z_u,k + A[1 + r(v)] . Z_v,k, 0.2)
 *   alpha_uv = softmax over v in L(u) of e_uv
 *   y_u,k = sum_{v in L(u)} alpha_uv Z_v,k  + bias_k
 * A (4, H): row 0 the destination vector, rows 1..3 the source vector per
 * role (each row holds the K heads' D-vectors side by side).
 * W (H, H), bias (H).  m: the number of edges (a->m). */
size_t nn_gat_scratch(size_t B, size_t N, size_t m, size_t H, size_t K);
void nn_gat_forward(float *y, float *scratch, const float *h, const float *W,
		    const float *A, const float *bias, const nn_adj_t *a,
		    size_t B, size_t H, size_t K);
void nn_gat_backward(float *dh, float *dW, float *dA, float *dbias, float *scratch,
		     const float *dy, const float *h, const float *W, const float *A,
		     const float *bias, const nn_adj_t *a, size_t B, size_t H, size_t K);
void nn_gat_forward_naive(double *y, const double *h, const double *W,
			  const double *A, const double *bias, const nn_adj_t *a,
			  size_t B, size_t H, size_t K);
void nn_gat_backward_naive(double *dh, double *dW, double *dA, double *dbias,
			   const double *dy, const double *h, const double *W,
			   const double *A, const double *bias, const nn_adj_t *a,
			   size_t B, size_t H, size_t K);

/* ---- linear attention over the nodes of each config (Katharopoulos et al.
 * 2020), the global block of GPS (Rampasek et al. 2022) ----
 *
 * K heads of D = H / K channels.  qkv = h Wqkv^T + bqkv (B, N, 3H) as
 * [q | k | v]; phi(x) = elu(x) + 1 (positive).  Per config b and head:
 *   S = sum_v phi(k_v) v_v^T (D, D),  z = sum_v phi(k_v) (D)
 *   o_u = phi(q_u)^T S / (phi(q_u) . z + 1e-6)         (D)
 * y = o Wo^T + bo.  Linear in N.  Wqkv (3H, H), bqkv (3H), Wo (H, H), bo (H). */
size_t nn_linattn_scratch(size_t B, size_t N, size_t H, size_t K);
void nn_linattn_forward(float *y, float *scratch, const float *h, const float *Wqkv,
			const float *bqkv, const float *Wo, const float *bo,
			size_t B, size_t N, size_t H, size_t K);
void nn_linattn_backward(float *dh, float *dWqkv, float *dbqkv, float *dWo, float *dbo,
			 float *scratch, const float *dy, const float *h,
			 const float *Wqkv, const float *bqkv, const float *Wo,
			 const float *bo, size_t B, size_t N, size_t H, size_t K);
void nn_linattn_forward_naive(double *y, const double *h, const double *Wqkv,
			      const double *bqkv, const double *Wo, const double *bo,
			      size_t B, size_t N, size_t H, size_t K);
void nn_linattn_backward_naive(double *dh, double *dWqkv, double *dbqkv, double *dWo,
			       double *dbo, const double *dy, const double *h,
			       const double *Wqkv, const double *bqkv, const double *Wo,
			       const double *bo, size_t B, size_t N, size_t H, size_t K);

/* ---- APPNP propagation (Gasteiger et al. 2019), no parameters ----
 *
 * A_hat = D^-1/2 (A + I) D^-1/2 over the undirected graph: node u's
 * neighbours are itself, in(u) and out(u) (multiplicities kept), d_u =
 * 1 + |in(u)| + |out(u)|.  z_0 = x; z_{t+1} = (1 - alpha) A_hat z_t + alpha x;
 * out = z_K.  x, out (B, N, H).  A_hat is symmetric, so the backward is the
 * same recursion on dout: dx += alpha sum_t ... (exact adjoint). */
size_t nn_appnp_scratch(size_t B, size_t N, size_t H);
void nn_appnp_forward(float *out, float *scratch, const float *x, const nn_adj_t *a,
		      float alpha, int K, size_t B, size_t H);
void nn_appnp_backward(float *dx, float *scratch, const float *dout, const nn_adj_t *a,
		       float alpha, int K, size_t B, size_t H);
void nn_appnp_forward_naive(double *out, const double *x, const nn_adj_t *a,
			    double alpha, int K, size_t B, size_t H);
void nn_appnp_backward_naive(double *dx, const double *dout, const nn_adj_t *a,
			     double alpha, int K, size_t B, size_t H);

/* ---- random-walk positional encoding (Dwivedi et al. 2022) ----
 *
 * P = D^-1 A over the undirected graph without self loops (u's neighbours:
 * in(u) then out(u), multiplicities kept; d_u their count).
 * pe (N, K): pe[u, k] = (P^(k+1))_{uu}, the probability that a random walk
 * from u is back at u after k + 1 steps; 0 for a node without neighbours.
 * Exact (sparse walks from each node, in double), parallel over nodes.
 * Returns 0, or -1 when K is 0 or above 64. */
int nn_rwpe(float *pe, const nn_adj_t *a, size_t K);
/* The same from the dense matrix powers (double, O(K N^3)): the tests'
 * reference, for small graphs. */
void nn_rwpe_naive(double *pe, const nn_adj_t *a, size_t K);

#endif
