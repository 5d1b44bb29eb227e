/* train: the training step and its loss; see train.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "rng.h"
#include "train.h"

/* ---- the loss ---- */

static const char *const loss_names[TRAIN_NLOSS] = { "hinge", "listmle", "mixed", "diffmat" };

const char *train_loss_name(int kind)
{
	return kind >= 0 && kind < TRAIN_NLOSS ? loss_names[kind] : NULL;
}

int train_loss_parse(const char *s)
{
	for (int k = 0; k < TRAIN_NLOSS; k++)
		if (strcmp(s, loss_names[k]) == 0)
			return k;
	return -1;
}

double train_loss(const train_loss_t *L, float *ds, const float *s, const double *y,
		  size_t n, double scale)
{
	double v = 0.0;
	if (L->kind == TRAIN_LOSS_DIFFMAT) {
		v = nn_diffmat_loss(ds, s, y, n, L->margin, scale);
	} else {
		double wh = L->kind == TRAIN_LOSS_HINGE ? 1.0 : L->kind == TRAIN_LOSS_MIXED ? L->mix : 0.0;
		double wl = L->kind == TRAIN_LOSS_LISTMLE ? 1.0 :
			    L->kind == TRAIN_LOSS_MIXED ? 1.0 - L->mix : 0.0;
		if (wh != 0.0)
			v += wh * nn_hinge_loss(ds, s, y, n, L->margin, wh * scale);
		if (wl != 0.0)
			v += wl * nn_listmle_loss(ds, s, y, n, wl * scale);
	}
	if (L->mape > 0)
		v += L->mape * nn_mape_loss(ds, s, y, n, L->mape * scale);
	return v;
}

/* ---- the epoch's visits ---- */

/* Random streams (rng_derive's first word): one per purpose. */
enum { RS_ORDER = 1, RS_SAMPLE = 2, RS_DROP = 3 };

/* The visits of an epoch, before shuffling: the graphs with two or more
 * configs; with oversample, each collection's graphs repeated so that every
 * collection has as many visits as the largest.  A visit is gi + rep * n
 * (graph gi, its rep-th visit in the epoch), so that repeated visits draw
 * different configs. */
static size_t *visit_list(const model_set_t *s, int oversample, int quiet, size_t *nvisit)
{
	size_t n = s->n, nu = 0;
	size_t *u = xmallocarray(n ? n : 1, sizeof *u);
	for (size_t i = 0; i < n; i++)
		if (s->g[i].nconf >= 2)
			u[nu++] = i;
	if (!oversample || nu == 0) {
		*nvisit = nu;
		return u;
	}
	/* collections in order of first appearance, each with its graphs */
	const char **coll = xmallocarray(nu, sizeof *coll);
	size_t *cnt = xcalloc(nu, sizeof *cnt), nc = 0, most = 0;
	size_t *of = xmallocarray(nu, sizeof *of);   /* graph -> collection */
	for (size_t i = 0; i < nu; i++) {
		const char *c = s->g[u[i]].coll ? s->g[u[i]].coll : "";
		size_t j = 0;
		while (j < nc && strcmp(coll[j], c) != 0)
			j++;
		if (j == nc)
			coll[nc++] = c;
		of[i] = j;
		if (++cnt[j] > most)
			most = cnt[j];
	}
	size_t *v = xmallocarray(nc * most, sizeof *v), k = 0;
	for (size_t j = 0; j < nc; j++) {
		size_t *mine = xmallocarray(cnt[j], sizeof *mine), nm = 0;
		for (size_t i = 0; i < nu; i++)
			if (of[i] == j)
				mine[nm++] = u[i];
		for (size_t i = 0; i < most; i++)
			v[k++] = mine[i % nm] + (i / nm) * n;
		if (!quiet)
			fprintf(stderr, "%s: --oversample: %s: %zu graphs, %zu visits per epoch\n",
				argv0, coll[j][0] ? coll[j] : "(no collection)", nm, most);
		free(mine);
	}
	free(coll);
	free(cnt);
	free(of);
	free(u);
	*nvisit = k;
	return v;
}

void train_init(trainer_t *t, model_t *m, model_work_t *w, const model_set_t *set,
		const train_opts_t *o)
{
	memset(t, 0, sizeof *t);
	t->o = *o;
	t->m = m;
	t->w = w;
	t->set = set;
	t->visits = visit_list(set, o->oversample, o->quiet, &t->nvisit);
	t->steps_per_epoch = (long)((t->nvisit + o->graphs_per_step - 1) / o->graphs_per_step);
	t->adam_m = xcalloc(m->nparams, sizeof *t->adam_m);
	t->adam_v = xcalloc(m->nparams, sizeof *t->adam_v);
	if (o->ema > 0) {
		t->ema = xmallocarray(m->nparams, sizeof *t->ema);
		memcpy(t->ema, m->params, m->nparams * sizeof *t->ema);
	}
	t->lr = o->adam.lr;
	size_t B = o->configs_per_graph, maxnc = 0, maxc = 0;
	for (size_t i = 0; i < set->n; i++) {
		if ((size_t)set->g[i].nc > maxnc)
			maxnc = (size_t)set->g[i].nc;
		if (set->g[i].nconf > maxc)
			maxc = set->g[i].nconf;
	}
	t->order = xmallocarray(t->nvisit ? t->nvisit : 1, sizeof *t->order);
	t->order_epoch = -1;
	t->pick = xmallocarray(maxc ? maxc : 1, sizeof *t->pick);
	t->sym = xmallocarray(B * maxnc * MODEL_NSLOT + 1, 1);
	t->tf = xmallocarray(B * MODEL_NTILE, sizeof *t->tf);
	t->scores = xmallocarray(B, sizeof *t->scores);
	t->ds = xmallocarray(B, sizeof *t->ds);
	t->y = xmallocarray(B, sizeof *t->y);
}

void train_free(trainer_t *t)
{
	free(t->visits);
	free(t->adam_m);
	free(t->adam_v);
	free(t->ema);
	free(t->order);
	free(t->pick);
	free(t->sym);
	free(t->tf);
	free(t->scores);
	free(t->ds);
	free(t->y);
	memset(t, 0, sizeof *t);
}

/* ---- one step ---- */

/* A copy of g's adjacency without the edges that a coin of probability p
 * drops (DropEdge), into *a; the random stream r. */
static void drop_edges(nn_adj_t *a, const model_graph_t *g, double p, rng_t *r)
{
	size_t m = g->adj.m, k = 0;
	int32_t *e = xmallocarray(2 * m + 2, sizeof *e);
	for (int32_t u = 0; u < g->n; u++)
		for (int32_t i = g->adj.in_ptr[u]; i < g->adj.in_ptr[u + 1]; i++)
			if (rng_uniform(r) >= p) {
				e[2 * k] = u;
				e[2 * k + 1] = g->adj.in_idx[i];
				k++;
			}
	if (nn_adj_build(a, (size_t)g->n, e, k) != 0)   /* a subset of valid edges */
		die(EX_DATA, "internal: DropEdge made a bad edge");
	free(e);
}

/* The visits of epoch `epoch` in their shuffled order, in t->order. */
static void shuffle_epoch(trainer_t *t, long epoch)
{
	if (t->order_epoch == epoch)
		return;
	rng_t r;
	rng_derive(&r, t->o.seed, RS_ORDER, (uint64_t)epoch, 0);
	memcpy(t->order, t->visits, t->nvisit * sizeof *t->order);   /* a fixed start */
	rng_shuffle(&r, t->order, t->nvisit, sizeof *t->order);
	t->order_epoch = epoch;
}

/* Sample min(B, configs) configs of graph g for visit `visit` of epoch
 * `epoch` into the batch buffers (their runtimes into t->y), from a random
 * stream of the visit's own. */
static model_batch_t sample_configs(trainer_t *t, const model_graph_t *g, long epoch,
				   size_t visit)
{
	size_t n = g->nconf, nb = n < t->o.configs_per_graph ? n : t->o.configs_per_graph;
	rng_t r;
	rng_derive(&r, t->o.seed, RS_SAMPLE, (uint64_t)epoch, visit);
	for (size_t i = 0; i < n; i++)
		t->pick[i] = i;
	rng_sample(&r, t->pick, n, nb, sizeof *t->pick);
	size_t w3 = (size_t)g->nc * MODEL_NCODE;
	for (size_t i = 0; i < nb; i++) {
		if (t->set->kind == MODEL_LAYOUT)
			model_symbols(t->sym + i * w3 * 6, g->codes + t->pick[i] * w3, w3);
		else
			memcpy(t->tf + i * MODEL_NTILE, g->tfeat + t->pick[i] * MODEL_NTILE,
			       MODEL_NTILE * sizeof *t->tf);
		t->y[i] = g->target[t->pick[i]];
	}
	return (model_batch_t){ nb, t->sym, t->tf };
}

double train_grads(trainer_t *t, long step)
{
	long epoch = step / t->steps_per_epoch, s = step % t->steps_per_epoch;
	shuffle_epoch(t, epoch);
	size_t gps = t->o.graphs_per_step;
	size_t g0 = (size_t)s * gps, g1 = g0 + gps < t->nvisit ? g0 + gps : t->nvisit;
	double scale = 1.0 / (double)(g1 - g0), loss = 0.0;
	model_zero_grad(t->m);
	for (size_t k = g0; k < g1; k++) {
		size_t visit = t->order[k];
		const model_graph_t *g = &t->set->g[visit % t->set->n];
		model_batch_t b = sample_configs(t, g, epoch, visit);
		model_graph_t gd;   /* g with DropEdge's adjacency */
		if (t->o.drop_edge > 0) {
			rng_t rd;
			rng_derive(&rd, t->o.seed, RS_DROP, (uint64_t)epoch, visit);
			gd = *g;
			drop_edges(&gd.adj, g, t->o.drop_edge, &rd);
			g = &gd;
		}
		model_forward(t->m, t->w, g, &b, t->scores, 1);
		memset(t->ds, 0, b.B * sizeof *t->ds);
		loss += scale * train_loss(&t->o.loss, t->ds, t->scores, t->y, b.B, scale);
		model_backward(t->m, t->w, g, &b, t->ds);
		if (t->o.drop_edge > 0)
			nn_adj_free(&gd.adj);
		t->nconfigs += b.B;
	}
	return loss;
}

double train_step(trainer_t *t)
{
	model_t *m = t->m;
	double loss = train_grads(t, t->step);
	if (t->o.clip > 0)
		nn_grad_clip(m->grads, m->nparams, t->o.clip);
	nn_adamw_t adam = t->o.adam;
	adam.lr = t->lr = nn_lr_cosine(t->step, t->o.total, t->o.warmup, t->o.adam.lr,
				       t->o.lr_min);
	t->step++;
	for (size_t k = 0; k < m->ntab; k++) {
		const model_ptab_t *pt = &m->tab[k];
		nn_adamw_update(m->params + pt->off, m->grads + pt->off, t->adam_m + pt->off,
				t->adam_v + pt->off, pt->size, &adam,
				pt->decay ? t->o.adam.weight_decay : 0.0, t->step);
	}
	if (t->ema) {
		double d = (1.0 + (double)t->step) / (10.0 + (double)t->step);
		float a = (float)(d < t->o.ema ? d : t->o.ema), b = 1.0f - a;
		#pragma omp simd
		for (size_t i = 0; i < m->nparams; i++)
			t->ema[i] = a * t->ema[i] + b * m->params[i];
	}
	return loss;
}

void train_ema_swap(trainer_t *t)
{
	float *p = t->m->params;
	if (!t->ema)
		return;
	for (size_t i = 0; i < t->m->nparams; i++) {
		float x = p[i];
		p[i] = t->ema[i];
		t->ema[i] = x;
	}
}

double train_round(trainer_t *t, long end)
{
	long n = 0;
	double sum = 0.0;
	for (; t->step < end; n++)
		sum += train_step(t);
	return n ? sum / (double)n : NAN;
}
