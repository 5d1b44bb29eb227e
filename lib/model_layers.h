/* model_layers: the model's layers, each a forward and its backward on
 * explicit tensors (docs/model.md, "The layers").
 *
 * One graph of N nodes, H hidden, kb configs at a time:
 *
 *   node   Pn (N, H)        the config-free node term          layer_node_*
 *   input  x0 (kb, N, H)    Pn plus the config term            layer_input_*
 *   for each layer l:
 *     norm  h = InstanceNorm(x) (or LayerNorm: --norm layer)   layer_norm_*
 *     conv  y = CONV(h), the arch's message passing            layer_conv_*
 *     SE    y = y * gate(mean over nodes of y)                 nn_se_*
 *     res   x = GELU(x + y)                                    nn_residual_gelu_*
 *   [appnp  x = K propagation steps]                           nn_appnp_*
 *   pool   (kb, P): mean [| max] over nodes                    nn_pool_*
 *   [late  tile, late join: the graph's row plus cfg_w t[b]]   layer_late_*
 *   head   scores (B) = Linear(GELU(Linear([xattn] pooled)))   layer_head_*
 *
 * The kernels in lib/nn.h and lib/gnn.h are tested each against a float64
 * naive version; these layers are tested by finite differences in
 * tests/unit/test_model.c.  Every backward ADDS its parameter gradients to
 * the view it is given (the model's, or a thread's private copy) and
 * writes or adds its input gradient as it says.
 *
 * lib/model_forward.c plans the memory (what is kept for the backward,
 * micro-batches, cache blocks) and calls these in order. */
#ifndef TPU_MODEL_LAYERS_H
#define TPU_MODEL_LAYERS_H

#include <stddef.h>

#include "model.h"

/* node: Pn (N, H) = feat in_w^T + in_b + T[op] [+ pe pe_w^T], with
 * T (NOPS, H) = op_emb op_w^T (kept: the backward's scratch needs its size,
 * not its values) and pe_t (N, H) scratch when the model has a positional
 * encoding. */
void layer_node_forward(const model_t *m, const model_graph_t *g, float *Pn,
			float *T, float *pe_t);
/* The parameter gradients of sum(dPn * Pn) into gr; dT (NOPS, H) scratch. */
void layer_node_backward(const model_t *m, const model_params_t *gr,
			 const model_graph_t *g, const float *dPn, float *dT);

/* input: x0 (kb, N, H) = Pn + the config term of configs [k0, k0 + kb) of
 * the batch:
 *   layout  at each configurable node, cfg_w (its 18 symbols embedded,
 *           concatenated); ce (kb, nc, 18 C) keeps the embeddings for the
 *           backward, cp (kb, nc, H) is scratch
 *   tile    cfg_w t[b] at every node; cp (kb, H) scratch
 *   tile with the late join: Pn alone (the config joins after pooling)
 *   mlp     the term c joins as Pn + c + Pn * c. */
void layer_input_forward(const model_t *m, const model_graph_t *g,
			 const model_batch_t *bt, size_t k0, size_t kb, const float *Pn,
			 float *x0, float *ce, float *cp);
/* From dx0 (kb, N, H): dPn (N, H) += the node term's share; the config
 * term's parameter gradients into gr.  ce: as the forward left it; cp, dcp
 * (the size of cp) and dce (the size of ce) scratch. */
void layer_input_backward(const model_t *m, const model_params_t *gr,
			  const model_graph_t *g, const model_batch_t *bt, size_t k0,
			  size_t kb, const float *Pn, const float *dx0, float *dPn,
			  const float *ce, float *cp, float *dcp, float *dce);

/* norm: h (kb, N, H) = the layer's norm of x (kb, N, H) with lp's norm_g,
 * norm_b; mean and rstd (kb, layer_norm_stats floats each) keep its
 * statistics: per config and channel (instance norm, over the N nodes) or
 * per config and node (layer norm, over the H channels). */
size_t layer_norm_stats(const model_hp_t *hp, size_t N);
void layer_norm_forward(const model_hp_t *hp, const model_layer_params_t *lp, float *h,
			float *mean, float *rstd, const float *x, size_t kb, size_t N);
/* h again from the kept statistics, bit for bit (the backward's input). */
void layer_norm_apply(const model_hp_t *hp, const model_layer_params_t *lp, float *h,
		      const float *mean, const float *rstd, const float *x, size_t kb,
		      size_t N);
/* dx (kb, N, H) += the norm's input gradient from dh; norm_g and norm_b's
 * gradients into gl. */
void layer_norm_backward(const model_hp_t *hp, const model_layer_params_t *lp,
			 const model_layer_params_t *gl, float *dx, const float *dh,
			 const float *x, const float *mean, const float *rstd, size_t kb,
			 size_t N);

/* conv: y (kb, N, H) = the arch's message passing over h (kb, N, H) with
 * one layer's parameters lp.  Z: scratch of layer_conv_scratch floats. */
size_t layer_conv_scratch(const model_hp_t *hp, const model_graph_t *g, size_t kb);
void layer_conv_forward(const model_hp_t *hp, const model_layer_params_t *lp,
			const model_graph_t *g, float *y, float *Z, const float *h, size_t kb);
/* dh (kb, N, H) WRITTEN; the layer's parameter gradients into gl. */
void layer_conv_backward(const model_hp_t *hp, const model_layer_params_t *lp,
			 const model_layer_params_t *gl, const model_graph_t *g, float *dh,
			 float *Z, const float *dy, const float *h, size_t kb);

/* late join (tile): pooled (B, P) = gp (P), the config-free graph row,
 * plus cfg_w t[b] for each config b. */
void layer_late_forward(const model_t *m, const model_batch_t *bt, size_t B,
			const float *gp, float *pooled);
/* dgp (P) = the sum of dpooled's rows, WRITTEN; cfg_w's gradient into gr. */
void layer_late_backward(const model_t *m, const model_params_t *gr,
			 const model_batch_t *bt, size_t B, const float *dpooled, float *dgp);

/* head: the activations one batch of B configs keeps (B rows each). */
typedef struct {
	float *pooled;      /* (B, P) the input */
	float *z1;          /* (B, P) after the cross-config attention */
	float *qkv, *att;   /* (B, 3P), (B, B): the attention's caches */
	float *hp, *ha;     /* (B, H): the first Linear, its GELU */
	float *dz1, *dhp, *dha;   /* the backward's scratch, their sizes */
} layer_head_t;

/* scores (B) = head_w2 GELU(head_w1 z + head_b1) + head_b2, z = pooled
 * [+ xattn(pooled)]. */
void layer_head_forward(const model_t *m, const layer_head_t *a, size_t B,
			float *scores);
/* dpooled (B, P) WRITTEN; the head's parameter gradients into gr. */
void layer_head_backward(const model_t *m, const model_params_t *gr,
			 const layer_head_t *a, size_t B, const float *dscores,
			 float *dpooled);

#endif
