/* model_layers: see model_layers.h and docs/model.md */
#include "model_layers.h"
#include "err.h"
#include "gnn.h"
#include "nn.h"

#include <omp.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* node */

NN_CLONES void layer_node_forward(const model_t *m, const model_graph_t *g, float *Pn,
				  float *T, float *pe_t)
{
	size_t H = (size_t)m->hp.hidden, N = (size_t)g->n, E = (size_t)m->hp.op_dim;
	nn_linear_forward(T, m->p.op_emb, m->p.op_w, NULL, MODEL_NOPS, E, H);
	nn_linear_forward(Pn, g->feat, m->p.in_w, m->p.in_b, N, MODEL_NFEAT, H);
	const float *pt = NULL;
	if (m->hp.pe_k) {
		if (g->pe_k != m->hp.pe_k)
			die(EX_USAGE, "internal: graph %s has no positional encoding of size %d",
			    g->id, m->hp.pe_k);
		nn_linear_forward(pe_t, g->pe, m->p.pe_w, NULL, N, (size_t)m->hp.pe_k, H);
		pt = pe_t;
	}
	#pragma omp parallel for schedule(static) if (N * H > 32768)
	for (size_t n = 0; n < N; n++) {
		const float *t = T + (size_t)g->op[n] * H;
		#pragma omp simd
		for (size_t k = 0; k < H; k++)
			Pn[n * H + k] += t[k];
		if (pt)
			#pragma omp simd
			for (size_t k = 0; k < H; k++)
				Pn[n * H + k] += pt[n * H + k];
	}
}

NN_CLONES void layer_node_backward(const model_t *m, const model_params_t *gr,
				   const model_graph_t *g, const float *dPn, float *dT)
{
	size_t H = (size_t)m->hp.hidden, N = (size_t)g->n, E = (size_t)m->hp.op_dim;
	memset(dT, 0, MODEL_NOPS * H * sizeof *dT);
	for (size_t n = 0; n < N; n++) {
		float *t = dT + (size_t)g->op[n] * H;
		#pragma omp simd
		for (size_t k = 0; k < H; k++)
			t[k] += dPn[n * H + k];
	}
	nn_linear_backward(NULL, gr->in_w, gr->in_b, dPn, g->feat, m->p.in_w, N, MODEL_NFEAT, H);
	if (m->hp.pe_k)
		nn_linear_backward(NULL, gr->pe_w, NULL, dPn, g->pe, m->p.pe_w, N,
				   (size_t)m->hp.pe_k, H);
	nn_linear_backward(gr->op_emb, gr->op_w, NULL, dT, m->p.op_emb, m->p.op_w,
			   MODEL_NOPS, E, H);
}

/* ------------------------------------------------------------------ */
/* input: the config term */

NN_CLONES void layer_input_forward(const model_t *m, const model_graph_t *g,
				   const model_batch_t *bt, size_t k0, size_t kb, const float *Pn,
				   float *x0, float *ce, float *cp)
{
	const model_hp_t *hp = &m->hp;
	size_t H = (size_t)hp->hidden, N = (size_t)g->n, nc = (size_t)g->nc;
	int prod = hp->arch == MODEL_ARCH_MLP;
	if (hp->kind == MODEL_LAYOUT) {
		size_t C = (size_t)hp->cfg_dim, S = MODEL_NSLOT * C;
		if (nc) {
			nn_embedding_forward(ce, bt->sym + k0 * nc * MODEL_NSLOT, m->p.cfg_emb,
					     kb * nc * MODEL_NSLOT, C);
			nn_linear_forward(cp, ce, m->p.cfg_w, NULL, kb * nc, S, H);
		}
		#pragma omp parallel for schedule(static) if (kb * N * H > 32768)
		for (size_t b = 0; b < kb; b++) {
			float *xb = x0 + b * N * H;
			memcpy(xb, Pn, N * H * sizeof *xb);
			for (size_t k = 0; k < nc; k++) {
				float *xr = xb + (size_t)g->cfg_ids[k] * H;
				const float *c = cp + (b * nc + k) * H;
				if (prod)   /* xr = Pn + c + Pn * c */
					#pragma omp simd
					for (size_t j = 0; j < H; j++)
						xr[j] += c[j] * (1.0f + xr[j]);
				else
					#pragma omp simd
					for (size_t j = 0; j < H; j++)
						xr[j] += c[j];
			}
		}
	} else if (hp->tile_late) {   /* the config joins after pooling */
		for (size_t b = 0; b < kb; b++)
			memcpy(x0 + b * N * H, Pn, N * H * sizeof *x0);
	} else {
		nn_linear_forward(cp, bt->tfeat + k0 * MODEL_NTILE, m->p.cfg_w, NULL, kb,
				  MODEL_NTILE, H);
		#pragma omp parallel for schedule(static) if (kb * N * H > 32768)
		for (size_t b = 0; b < kb; b++) {
			float *xb = x0 + b * N * H;
			const float *c = cp + b * H;
			for (size_t n = 0; n < N; n++)
				if (prod)
					#pragma omp simd
					for (size_t j = 0; j < H; j++)
						xb[n * H + j] = Pn[n * H + j] + c[j] * (1.0f + Pn[n * H + j]);
				else
					#pragma omp simd
					for (size_t j = 0; j < H; j++)
						xb[n * H + j] = Pn[n * H + j] + c[j];
		}
	}
}

NN_CLONES void layer_input_backward(const model_t *m, const model_params_t *gr,
				    const model_graph_t *g, const model_batch_t *bt, size_t k0,
				    size_t kb, const float *Pn, const float *dx0, float *dPn,
				    const float *ce, float *cp, float *dcp, float *dce)
{
	const model_hp_t *hp = &m->hp;
	const model_params_t *p = &m->p;
	size_t H = (size_t)hp->hidden, N = (size_t)g->n, nc = (size_t)g->nc, NH = N * H;
	size_t C = (size_t)hp->cfg_dim, S = MODEL_NSLOT * C;
	int prod = hp->arch == MODEL_ARCH_MLP;
	#pragma omp parallel for schedule(static) if (NH * kb > 32768 && !omp_in_parallel())
	for (size_t u = 0; u < N; u++)
		for (size_t b = 0; b < kb; b++) {
			const float *d = dx0 + (b * N + u) * H;
			#pragma omp simd
			for (size_t k = 0; k < H; k++)
				dPn[u * H + k] += d[k];
		}
	if (hp->kind == MODEL_LAYOUT) {
		if (nc == 0)
			return;
		if (prod) {
			/* x = Pn + c + Pn c at configurable nodes: recompute c */
			nn_linear_forward(cp, ce, p->cfg_w, NULL, kb * nc, S, H);
			for (size_t b = 0; b < kb; b++)
				for (size_t k = 0; k < nc; k++) {
					size_t u = (size_t)g->cfg_ids[k];
					const float *d = dx0 + (b * N + u) * H, *pn = Pn + u * H;
					const float *c = cp + (b * nc + k) * H;
					float *dc = dcp + (b * nc + k) * H;
					for (size_t j = 0; j < H; j++) {
						dPn[u * H + j] += d[j] * c[j];
						dc[j] = d[j] * (1.0f + pn[j]);
					}
				}
		} else {
			for (size_t b = 0; b < kb; b++)
				for (size_t k = 0; k < nc; k++)
					memcpy(dcp + (b * nc + k) * H,
					       dx0 + (b * N + (size_t)g->cfg_ids[k]) * H,
					       H * sizeof *dcp);
		}
		memset(dce, 0, kb * nc * S * sizeof(float));
		nn_linear_backward(dce, gr->cfg_w, NULL, dcp, ce, p->cfg_w, kb * nc, S, H);
		nn_embedding_backward(gr->cfg_emb, dce, bt->sym + k0 * nc * MODEL_NSLOT,
				      kb * nc * MODEL_NSLOT, C, MODEL_NSYM);
	} else if (!hp->tile_late) {
		if (prod)   /* x = Pn + c + Pn c at every node: recompute c */
			nn_linear_forward(cp, bt->tfeat + k0 * MODEL_NTILE, p->cfg_w, NULL, kb,
					  MODEL_NTILE, H);
		for (size_t b = 0; b < kb; b++) {
			float *d = dcp + b * H;
			#pragma omp simd
			for (size_t k = 0; k < H; k++)
				d[k] = 0.0f;
			if (prod) {
				const float *c = cp + b * H;
				for (size_t u = 0; u < N; u++) {
					const float *dx = dx0 + (b * N + u) * H, *pn = Pn + u * H;
					#pragma omp simd
					for (size_t k = 0; k < H; k++) {
						d[k] += dx[k] * (1.0f + pn[k]);
						dPn[u * H + k] += dx[k] * c[k];
					}
				}
				continue;
			}
			for (size_t u = 0; u < N; u++)
				#pragma omp simd
				for (size_t k = 0; k < H; k++)
					d[k] += dx0[(b * N + u) * H + k];
		}
		nn_linear_backward(NULL, gr->cfg_w, NULL, dcp, bt->tfeat + k0 * MODEL_NTILE,
				   p->cfg_w, kb, MODEL_NTILE, H);
	}
}

/* ------------------------------------------------------------------ */
/* norm */

size_t layer_norm_stats(const model_hp_t *hp, size_t N)
{
	return hp->norm == MODEL_NORM_LAYER ? N : (size_t)hp->hidden;
}

void layer_norm_forward(const model_hp_t *hp, const model_layer_params_t *lp, float *h,
			float *mean, float *rstd, const float *x, size_t kb, size_t N)
{
	size_t H = (size_t)hp->hidden;
	if (hp->norm == MODEL_NORM_LAYER)
		nn_layernorm_forward(h, mean, rstd, x, lp->norm_g, lp->norm_b, kb * N, H);
	else
		nn_instnorm_forward(h, mean, rstd, x, lp->norm_g, lp->norm_b, kb, N, H);
}

void layer_norm_apply(const model_hp_t *hp, const model_layer_params_t *lp, float *h,
		      const float *mean, const float *rstd, const float *x, size_t kb,
		      size_t N)
{
	size_t H = (size_t)hp->hidden;
	if (hp->norm == MODEL_NORM_LAYER)
		nn_layernorm_apply(h, x, mean, rstd, lp->norm_g, lp->norm_b, kb * N, H);
	else
		nn_instnorm_apply(h, x, mean, rstd, lp->norm_g, lp->norm_b, kb, N, H);
}

void layer_norm_backward(const model_hp_t *hp, const model_layer_params_t *lp,
			 const model_layer_params_t *gl, float *dx, const float *dh,
			 const float *x, const float *mean, const float *rstd, size_t kb,
			 size_t N)
{
	size_t H = (size_t)hp->hidden;
	if (hp->norm == MODEL_NORM_LAYER)
		nn_layernorm_backward(dx, gl->norm_g, gl->norm_b, dh, x, mean, rstd, lp->norm_g,
				      kb * N, H);
	else
		nn_instnorm_backward(dx, gl->norm_g, gl->norm_b, dh, x, mean, rstd, lp->norm_g,
				     kb, N, H);
}

/* ------------------------------------------------------------------ */
/* conv: one file's worth of dispatch; the kernels are lib/gnn_*.c's */

size_t layer_conv_scratch(const model_hp_t *hp, const model_graph_t *g, size_t kb)
{
	size_t H = (size_t)hp->hidden, N = (size_t)g->n, K = (size_t)hp->heads;
	size_t BNH = kb * N * H;
	switch (hp->arch) {
	case MODEL_ARCH_SAGE:
		return 3 * BNH;
	case MODEL_ARCH_GAT:
		return nn_gat_scratch(kb, N, g->adj.m, H, K);
	case MODEL_ARCH_GIN:
		return nn_gin_scratch(kb, N, H);
	case MODEL_ARCH_GPS:   /* SAGE's Z, the attention's output, its scratch */
		return 3 * BNH + BNH + nn_linattn_scratch(kb, N, H, K);
	default:
		return 1;
	}
}

void layer_conv_forward(const model_hp_t *hp, const model_layer_params_t *lp,
			const model_graph_t *g, float *y, float *Z, const float *h, size_t kb)
{
	size_t H = (size_t)hp->hidden, N = (size_t)g->n, K = (size_t)hp->heads;
	switch (hp->arch) {
	case MODEL_ARCH_SAGE:
		nn_sage_forward(y, Z, h, lp->sage_w, lp->sage_b, &g->adj, kb, H);
		break;
	case MODEL_ARCH_GAT:
		nn_gat_forward(y, Z, h, lp->gat_w, lp->gat_a, lp->gat_b, &g->adj, kb, H, K);
		break;
	case MODEL_ARCH_GIN:
		nn_gin_forward(y, Z, h, lp->gin_eps, lp->gin_w1, lp->gin_b1, lp->gin_w2,
			       lp->gin_b2, &g->adj, kb, H);
		break;
	case MODEL_ARCH_GPS: {   /* SAGEConv plus linear attention over every node */
		size_t n = kb * N * H;
		float *ya = Z + 3 * n;
		nn_sage_forward(y, Z, h, lp->sage_w, lp->sage_b, &g->adj, kb, H);
		nn_linattn_forward(ya, ya + n, h, lp->la_w, lp->la_b, lp->la_o, lp->la_ob,
				   kb, N, H, K);
		#pragma omp parallel for simd schedule(static) if (n > 32768 && !omp_in_parallel())
		for (size_t i = 0; i < n; i++)
			y[i] += ya[i];
		break;
	}
	default:   /* appnp (it propagates after the last layer), mlp */
		nn_linear_forward(y, h, lp->lin_w, lp->lin_b, kb * N, H, H);
		break;
	}
}

void layer_conv_backward(const model_hp_t *hp, const model_layer_params_t *lp,
			 const model_layer_params_t *gl, const model_graph_t *g, float *dh,
			 float *Z, const float *dy, const float *h, size_t kb)
{
	size_t H = (size_t)hp->hidden, N = (size_t)g->n, K = (size_t)hp->heads;
	size_t n = kb * N * H;
	if (hp->arch == MODEL_ARCH_SAGE || hp->arch == MODEL_ARCH_GPS) {
		nn_sage_backward(dh, gl->sage_w, gl->sage_b, Z, dy, h, lp->sage_w, &g->adj, kb, H);
		if (hp->arch == MODEL_ARCH_GPS)
			nn_linattn_backward(dh, gl->la_w, gl->la_b, gl->la_o, gl->la_ob, Z + 4 * n,
					    dy, h, lp->la_w, lp->la_b, lp->la_o, lp->la_ob,
					    kb, N, H, K);
		return;
	}
	memset(dh, 0, n * sizeof *dh);
	switch (hp->arch) {
	case MODEL_ARCH_GAT:
		nn_gat_backward(dh, gl->gat_w, gl->gat_a, gl->gat_b, Z, dy, h, lp->gat_w,
				lp->gat_a, lp->gat_b, &g->adj, kb, H, K);
		break;
	case MODEL_ARCH_GIN:
		nn_gin_backward(dh, gl->gin_eps, gl->gin_w1, gl->gin_b1, gl->gin_w2, gl->gin_b2,
				Z, dy, h, lp->gin_eps, lp->gin_w1, lp->gin_b1, lp->gin_w2,
				lp->gin_b2, &g->adj, kb, H);
		break;
	default:
		nn_linear_backward(dh, gl->lin_w, gl->lin_b, dy, h, lp->lin_w, kb * N, H, H);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* late join */

void layer_late_forward(const model_t *m, const model_batch_t *bt, size_t B,
			const float *gp, float *pooled)
{
	size_t P = model_pooled_dim(&m->hp);
	nn_linear_forward(pooled, bt->tfeat, m->p.cfg_w, gp, B, MODEL_NTILE, P);
}

void layer_late_backward(const model_t *m, const model_params_t *gr,
			 const model_batch_t *bt, size_t B, const float *dpooled, float *dgp)
{
	size_t P = model_pooled_dim(&m->hp);
	nn_linear_backward(NULL, gr->cfg_w, NULL, dpooled, bt->tfeat, m->p.cfg_w, B,
			   MODEL_NTILE, P);
	memset(dgp, 0, P * sizeof *dgp);
	for (size_t i = 0; i < B; i++)
		#pragma omp simd
		for (size_t k = 0; k < P; k++)
			dgp[k] += dpooled[i * P + k];
}

/* ------------------------------------------------------------------ */
/* head */

void layer_head_forward(const model_t *m, const layer_head_t *a, size_t B,
			float *scores)
{
	size_t H = (size_t)m->hp.hidden, P = model_pooled_dim(&m->hp);
	const float *z = a->pooled;
	if (m->hp.xattn) {
		nn_xattn_forward(a->z1, a->qkv, a->att, a->pooled, m->p.xa_w, m->p.xa_b, B, P);
		z = a->z1;
	}
	nn_linear_forward(a->hp, z, m->p.head_w1, m->p.head_b1, B, P, H);
	nn_gelu_forward(a->ha, a->hp, B * H);
	nn_linear_forward(scores, a->ha, m->p.head_w2, m->p.head_b2, B, H, 1);
}

void layer_head_backward(const model_t *m, const model_params_t *gr,
			 const layer_head_t *a, size_t B, const float *dscores,
			 float *dpooled)
{
	size_t H = (size_t)m->hp.hidden, P = model_pooled_dim(&m->hp);
	memset(a->dha, 0, B * H * sizeof *a->dha);
	memset(a->dhp, 0, B * H * sizeof *a->dhp);
	memset(dpooled, 0, B * P * sizeof *dpooled);
	nn_linear_backward(a->dha, gr->head_w2, gr->head_b2, dscores, a->ha, m->p.head_w2,
			   B, H, 1);
	nn_gelu_backward(a->dhp, a->dha, a->hp, B * H);
	if (m->hp.xattn) {
		memset(a->dz1, 0, B * P * sizeof *a->dz1);
		nn_linear_backward(a->dz1, gr->head_w1, gr->head_b1, a->dhp, a->z1, m->p.head_w1,
				   B, P, H);
		nn_xattn_backward(dpooled, gr->xa_w, gr->xa_b, a->dz1, a->pooled, a->qkv, a->att,
				  m->p.xa_w, B, P);
	} else {
		nn_linear_backward(dpooled, gr->head_w1, gr->head_b1, a->dhp, a->pooled,
				   m->p.head_w1, B, P, H);
	}
}
