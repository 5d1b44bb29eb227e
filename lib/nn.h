/* nn: the model's kernels, one forward/backward pair per layer over flat
 * buffers (after karpathy/llm.c).
 *
 * Conventions
 * - Tensors are row-major float buffers; a shape comment names each one:
 *   (B, N, H) is B configs x N nodes x H channels.  size_t for index math.
 * - op_forward(out, caches..., in, weights..., dims) keeps in the caches what
 *   the backward needs; op_backward(din, dweights..., dout, in, weights,
 *   caches..., dims) ACCUMULATES (+=) into din and the weight gradients, so
 *   a tensor used twice gets both contributions and gradients are zeroed once
 *   per step.  A NULL gradient pointer skips that gradient.  Where a backward
 *   writes (=) a scratch gradient instead, its comment says so.
 * - Kernels parallelise with OpenMP over rows (configs x nodes) using static
 *   schedules and fixed-order reductions; dense products go through the
 *   register-tiled kernels of nn.c on AVX-512 CPUs, else cblas_sgemm with
 *   OpenBLAS held to one thread (nn_set_threads): one thread pool, and
 *   results that depend only on the thread count.
 * - Every fast kernel has a `_naive` twin in double precision: plain loops,
 *   no BLAS, no OpenMP.  The tests check the fast kernel against its twin,
 *   and both against central finite differences of the twin's forward.
 *   The losses, the optimizer and the schedule compute in double already and
 *   have no twin. */
#ifndef TPU_NN_H
#define TPU_NN_H

#include <stddef.h>
#include <stdint.h>

/* Hot kernels are compiled three times, for baseline x86-64, x86-64-v3
 * (AVX2 + FMA) and x86-64-v4 (AVX-512), and the loader picks one for the
 * CPU (GCC target_clones):
 * portable binaries that still use the wide vectors where they exist.
 * -DNN_NO_CLONES turns it off. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
	__GNUC__ >= 11 && !defined(NN_NO_CLONES)
#define NN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NN_CLONES
#endif

/* libgomp reads OMP_WAIT_POLICY once, when it loads, so a program sets it
 * by calling this first thing in main: unless the variable is set, it sets
 * it to passive and executes the program again (its own path, the same
 * argv; not under valgrind, whose tracing would stop at the exec).  Returns
 * when nothing was to be done (or exec failed).  Why: OpenMP threads that
 * wait at a barrier spin by default; when other processes share the cores
 * (a loaded machine, GNU parallel running several jobs), a spinning thread
 * holds a core its partner needs, and a two-thread training step ran 3x
 * slower than a one-thread step.  Passive threads sleep between parallel
 * regions: a few microseconds per region on an idle machine. */
void nn_exec_env(char **argv);

/* Threads for OpenMP regions (OpenBLAS runs single-threaded inside them).
 * n <= 0: leave the OpenMP default.  Returns the number in effect. */
int nn_set_threads(int n);
int nn_threads(void);
/* Below this many multiply-adds a loop runs on one thread: the fork costs
 * more than it saves.  The one threshold of every kernel (nn, gnn_msg,
 * gnn_global). */
#define NN_PAR_MIN_WORK ((size_t)1 << 15)
/* Threads for a loop of `work` multiply-adds: 1 below NN_PAR_MIN_WORK,
 * else nn_threads(). */
int nn_team(size_t work);
/* nn_team for a loop over `rows` independent rows: no more threads than
 * rows. */
int nn_team_rows(size_t work, size_t rows);

/* Who computes the dense products.  NN_GEMM_AUTO (the default): the
 * register-tiled kernels of nn.c for the widest instruction set the CPU
 * has; NN_GEMM_SSE, _AVX2, _AVX512: that set's kernels (or the widest the
 * CPU has, when it lacks that one), for tests and benchmarks: every choice
 * gives the same bits.  NN_GEMM_BLAS: cblas_sgemm (OpenBLAS), whose results
 * depend on the CPU.  nn_set_threads sets the mode from the environment's
 * NN_GEMM=auto|blas|sse|avx2|avx512 (before the first product: the kernels'
 * set is chosen once).  Returns the previous mode (mode < 0: only asks). */
enum { NN_GEMM_AUTO = 0, NN_GEMM_BLAS = 1, NN_GEMM_SSE = 2, NN_GEMM_AVX2 = 3,
       NN_GEMM_AVX512 = 4 };
int nn_gemm_mode(int mode);

/* ---- linear: out = in W^T + b ---- */

/* out (M, O) = in (M, K) . W (O, K)^T + b (O); b may be NULL. */
void nn_linear_forward(float *out, const float *in, const float *W,
		       const float *b, size_t M, size_t K, size_t O);
/* din (M, K) += dout W;  dW (O, K) += dout^T in;  db (O) += sum_m dout. */
void nn_linear_backward(float *din, float *dW, float *db, const float *dout,
			const float *in, const float *W, size_t M, size_t K, size_t O);
void nn_linear_forward_naive(double *out, const double *in, const double *W,
			     const double *b, size_t M, size_t K, size_t O);
void nn_linear_backward_naive(double *din, double *dW, double *db,
			      const double *dout, const double *in, const double *W,
			      size_t M, size_t K, size_t O);

/* ---- embedding: out[m] = table[idx[m]] ---- */

/* out (M, D), idx (M) in [0, rows), table (rows, D). */
void nn_embedding_forward(float *out, const uint8_t *idx, const float *table,
			  size_t M, size_t D);
/* dtable (rows, D) += scatter of dout (M, D). */
void nn_embedding_backward(float *dtable, const float *dout, const uint8_t *idx,
			   size_t M, size_t D, size_t rows);
void nn_embedding_forward_naive(double *out, const uint8_t *idx,
				const double *table, size_t M, size_t D);
void nn_embedding_backward_naive(double *dtable, const double *dout,
				 const uint8_t *idx, size_t M, size_t D);


/* ---- instance norm over the nodes of each config ---- */

/* For each config b and channel h: mean and variance over the N nodes,
 * out = gamma * (in - mean) * rstd + beta with rstd = 1 / sqrt(var + eps).
 * in, out (B, N, H); mean, rstd (B, H) caches; gamma, beta (H). */
#define NN_NORM_EPS 1e-5f
void nn_instnorm_forward(float *out, float *mean, float *rstd, const float *in,
			 const float *gamma, const float *beta,
			 size_t B, size_t N, size_t H);
/* out = gamma * (in - mean) * rstd + beta with the statistics a forward
 * kept: its output again, bit for bit (the backward's recomputation). */
void nn_instnorm_apply(float *out, const float *in, const float *mean, const float *rstd,
		       const float *gamma, const float *beta, size_t B, size_t N, size_t H);
void nn_instnorm_backward(float *din, float *dgamma, float *dbeta,
			  const float *dout, const float *in, const float *mean,
			  const float *rstd, const float *gamma,
			  size_t B, size_t N, size_t H);
void nn_instnorm_forward_naive(double *out, double *mean, double *rstd,
			       const double *in, const double *gamma,
			       const double *beta, size_t B, size_t N, size_t H);
void nn_instnorm_backward_naive(double *din, double *dgamma, double *dbeta,
				const double *dout, const double *in,
				const double *mean, const double *rstd,
				const double *gamma, size_t B, size_t N, size_t H);

/* ---- layer norm over the channels of each node ---- */

/* For each row r of R = B N rows (a node of a config): mean and variance
 * over its H channels, out = gamma * (in - mean) * rstd + beta.  in, out
 * (R, H); mean, rstd (R) caches; gamma, beta (H).  The instance norm's
 * alternative for graphs of a few nodes, where a mean over the nodes says
 * little (sage-train --norm layer). */
void nn_layernorm_forward(float *out, float *mean, float *rstd, const float *in,
			  const float *gamma, const float *beta, size_t R, size_t H);
/* The forward's output again from its statistics, bit for bit. */
void nn_layernorm_apply(float *out, const float *in, const float *mean, const float *rstd,
			const float *gamma, const float *beta, size_t R, size_t H);
/* din += d in (din may be NULL); dgamma, dbeta += theirs (each may be NULL);
 * the sums over rows are taken in a fixed order, whatever the threads. */
void nn_layernorm_backward(float *din, float *dgamma, float *dbeta,
			   const float *dout, const float *in, const float *mean,
			   const float *rstd, const float *gamma, size_t R, size_t H);
void nn_layernorm_forward_naive(double *out, double *mean, double *rstd,
				const double *in, const double *gamma,
				const double *beta, size_t R, size_t H);
void nn_layernorm_backward_naive(double *din, double *dgamma, double *dbeta,
				 const double *dout, const double *in,
				 const double *mean, const double *rstd,
				 const double *gamma, size_t R, size_t H);

/* ---- graph adjacency, both directions (CSR) ---- */

/* An edge (u, v) means "u consumes the output of v" (TpuGraphs edge_index):
 * v is an in-neighbour (producer) of u and u an out-neighbour (consumer) of
 * v.  in_ptr/in_idx list each node's producers, out_ptr/out_idx its
 * consumers, in edge order; in_inv/out_inv are 1/degree (0 when none). */
typedef struct {
	size_t n, m;
	int32_t *in_ptr, *in_idx;    /* (n + 1), (m) */
	int32_t *out_ptr, *out_idx;  /* (n + 1), (m) */
	float *in_inv, *out_inv;     /* (n) */
} nn_adj_t;

/* Build from edges (m, 2); returns -1 (and builds nothing) when an index
 * is out of [0, n). */
int nn_adj_build(nn_adj_t *a, size_t n, const int32_t *edges, size_t m);
void nn_adj_free(nn_adj_t *a);

/* ---- SAGEConv with mean aggregation, separate self/in/out weights ----
 *
 * y[b,u] = W_self h[b,u] + W_in mean_{v in in(u)} h[b,v]
 *        + W_out mean_{w in out(u)} h[b,w] + bias
 * computed as Z = h W^T with W = [W_self; W_in; W_out] (3H, H) stacked, one
 * product for all three, then y = Z_self + mean_in(Z_in) + mean_out(Z_out) +
 * bias (aggregation commutes with the linear map). */

/* y (B, N, H) from Z (B, N, 3H). */
void nn_sage_aggregate_forward(float *y, const float *Z, const float *bias,
			       const nn_adj_t *a, size_t B, size_t H);
/* dZ (B, N, 3H) is WRITTEN (scratch); dbias (H) accumulated. */
void nn_sage_aggregate_backward(float *dZ, float *dbias, const float *dy,
				const nn_adj_t *a, size_t B, size_t H);
void nn_sage_aggregate_forward_naive(double *y, const double *Z,
				     const double *bias, const nn_adj_t *a,
				     size_t B, size_t H);
void nn_sage_aggregate_backward_naive(double *dZ, double *dbias,
				      const double *dy, const nn_adj_t *a,
				      size_t B, size_t H);
/* The whole layer: Z (B, N, 3H) scratch, y (B, N, H), h (B, N, H). */
void nn_sage_forward(float *y, float *Z, const float *h, const float *W,
		     const float *bias, const nn_adj_t *a, size_t B, size_t H);
/* dh (B, N, H) is WRITTEN (it is the layer's only path to h); dW (3H, H)
 * and dbias accumulate; dZ (B, N, 3H) scratch. */
void nn_sage_backward(float *dh, float *dW, float *dbias, float *dZ,
		      const float *dy, const float *h, const float *W,
		      const nn_adj_t *a, size_t B, size_t H);

/* ---- GELU (tanh approximation, as PyTorch's approximate='tanh') ---- */

void nn_gelu_forward(float *out, const float *in, size_t n);
void nn_gelu_backward(float *din, const float *dout, const float *in, size_t n);
void nn_gelu_forward_naive(double *out, const double *in, size_t n);
void nn_gelu_backward_naive(double *din, const double *dout, const double *in,
			    size_t n);

/* ---- residual then GELU: out = gelu(x + y) ----
 * The forward caches GELU's derivative at x + y (not x + y itself), so the
 * backward is one multiply-add per element: no tanh again. */

/* grad (n) may be NULL (inference: nothing kept). */
void nn_residual_gelu_forward(float *out, float *grad, const float *x,
			      const float *y, size_t n);
/* dsum = dout * grad, WRITTEN: the gradient of x + y, so of x and of y
 * alike (the caller passes it to both terms). */
void nn_residual_gelu_backward(float *dsum, const float *dout, const float *grad,
			       size_t n);
void nn_residual_gelu_forward_naive(double *out, double *grad, const double *x,
				    const double *y, size_t n);
void nn_residual_gelu_backward_naive(double *dsum, const double *dout,
				     const double *grad, size_t n);

/* ---- pooling over the nodes of each config ---- */

/* out (B, P) with P = H (mean) or 2H (mean then max, when use_max);
 * argmax (B, H) cache of the max's node (unused without use_max). */
void nn_pool_forward(float *out, int32_t *argmax, const float *in,
		     size_t B, size_t N, size_t H, int use_max);
void nn_pool_backward(float *din, const float *dout, const int32_t *argmax,
		      size_t B, size_t N, size_t H, int use_max);
void nn_pool_forward_naive(double *out, int32_t *argmax, const double *in,
			   size_t B, size_t N, size_t H, int use_max);
void nn_pool_backward_naive(double *din, const double *dout,
			    const int32_t *argmax, size_t B, size_t N, size_t H,
			    int use_max);

/* ---- squeeze-and-excitation over channels (self-channel attention) ----
 *
 * sq[b] = mean_n in[b,n] (H); a[b] = W1 sq[b] + b1 (R); s[b] = sigmoid(W2
 * gelu(a[b]) + b2) (H); out[b,n,h] = in[b,n,h] * s[b,h].
 * Caches sq (B, H), a (B, R), s (B, H). */
void nn_se_forward(float *out, float *sq, float *a, float *s, const float *in,
		   const float *W1, const float *b1, const float *W2,
		   const float *b2, size_t B, size_t N, size_t H, size_t R);
void nn_se_backward(float *din, float *dW1, float *db1, float *dW2, float *db2,
		    const float *dout, const float *in, const float *sq,
		    const float *a, const float *s, const float *W1,
		    const float *W2, size_t B, size_t N, size_t H, size_t R);
void nn_se_forward_naive(double *out, double *sq, double *a, double *s,
			 const double *in, const double *W1, const double *b1,
			 const double *W2, const double *b2,
			 size_t B, size_t N, size_t H, size_t R);
void nn_se_backward_naive(double *din, double *dW1, double *db1, double *dW2,
			  double *db2, const double *dout, const double *in,
			  const double *sq, const double *a, const double *s,
			  const double *W1, const double *W2,
			  size_t B, size_t N, size_t H, size_t R);

/* ---- cross-config attention (configs of one graph attend to each other) ----
 *
 * qkv = in W^T + b (B, 3D) as [q | k | v]; att = softmax_rows(q k^T / sqrt(D))
 * (B, B); out = in + att v (B, D).  Caches qkv, att. */
void nn_xattn_forward(float *out, float *qkv, float *att, const float *in,
		      const float *W, const float *b, size_t B, size_t D);
void nn_xattn_backward(float *din, float *dW, float *db, const float *dout,
		       const float *in, const float *qkv, const float *att,
		       const float *W, size_t B, size_t D);
void nn_xattn_forward_naive(double *out, double *qkv, double *att,
			    const double *in, const double *W, const double *b,
			    size_t B, size_t D);
void nn_xattn_backward_naive(double *din, double *dW, double *db,
			     const double *dout, const double *in,
			     const double *qkv, const double *att,
			     const double *W, size_t B, size_t D);

/* ---- ranking losses over the configs of one graph ----
 *
 * s (n): scores, lower = predicted faster; y (n): true runtimes.  Each loss
 * returns its value and, when ds is not NULL, accumulates weight * dL/ds
 * into ds.  Pairs with equal runtimes carry no order and are skipped. */

/* mean over pairs y_i < y_j of max(0, margin - (s_j - s_i)). */
double nn_hinge_loss(float *ds, const float *s, const double *y, size_t n,
		     double margin, double weight);
/* ListMLE (Xia et al. 2008) with f = -s, the true order fastest first (ties
 * by index): (1/n) sum_k [log sum_{j>=k} exp f_pi(j) - f_pi(k)]. */
double nn_listmle_loss(float *ds, const float *s, const double *y, size_t n,
		       double weight);
/* The difference-matrix margin loss: over the pairs with y_i < y_j, the
 * score gap s_j - s_i must reach a margin proportional to the true
 * log-runtime gap: mean of max(0, margin (log y_j - log y_i) - (s_j - s_i)).
 * Runtimes <= 0 are clamped to the smallest positive double. */
double nn_diffmat_loss(float *ds, const float *s, const double *y, size_t n,
		       double margin, double weight);
/* MAPE on runtimes with the score read as a log-runtime up to a per-graph
 * constant: d_i = (s_i - mean s) - (log y_i - mean log y), clamped to 30;
 * loss = mean_i |exp(d_i) - 1|. */
double nn_mape_loss(float *ds, const float *s, const double *y, size_t n, double weight);

/* ---- optimisation ---- */

typedef struct {
	double lr, beta1, beta2, eps, weight_decay;
} nn_adamw_t;

/* One AdamW step (decoupled weight decay, as torch.optim.AdamW) on n
 * parameters; t is the step number from 1.  wd: this tensor's decay (the
 * caller passes 0 for tensors it does not decay). */
void nn_adamw_update(float *p, const float *g, float *m, float *v, size_t n,
		     const nn_adamw_t *o, double wd, long t);
/* Global L2 norm of g (n) in double, summed in a fixed order. */
double nn_grad_norm(const float *g, size_t n);
/* If the norm exceeds max_norm > 0, scale g by max_norm / norm.  Returns the
 * norm before clipping. */
double nn_grad_clip(float *g, size_t n, double max_norm);
/* Learning rate at step t (0-based) of total: linear warm-up from lr/warmup
 * over the first warmup steps, then cosine from lr down to lr_min. */
double nn_lr_cosine(long t, long total, long warmup, double lr, double lr_min);

#endif
