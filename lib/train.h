/* train: the training step of the ranking model, and the loss it minimises
 * (docs/model.md, "Training").
 *
 * One step, top to bottom (train_step):
 *   for each of the step's graphs (graphs_per_step of the epoch's shuffled
 *   visits):
 *     sample   configs_per_graph of its configs (a stream of its own per
 *              epoch and visit, so a step is the same whatever ran before)
 *     forward  their scores (lib/model.h)
 *     loss     train_loss, weighted 1/graphs: the step minimises the mean
 *              of its graphs' losses
 *     backward the parameter gradients of that, accumulated
 *   clip the gradients' global norm, take the learning rate of the
 *   warm-up + cosine schedule, and update every tensor with AdamW.
 *
 * The random draws come from lib/rng's streams derived from the seed, the
 * purpose, the epoch and the visit: the same seed and threads give the same
 * model. */
#ifndef TPU_TRAIN_H
#define TPU_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"
#include "model.h"

/* ---- the loss of one graph's configs ---- */

enum { TRAIN_LOSS_HINGE, TRAIN_LOSS_LISTMLE, TRAIN_LOSS_MIXED, TRAIN_LOSS_DIFFMAT,
       TRAIN_NLOSS };
/* "hinge", "listmle", "mixed", "diffmat"; NULL when out of range. */
const char *train_loss_name(int kind);
/* The loss named s, or -1. */
int train_loss_parse(const char *s);

typedef struct {
	int kind;        /* TRAIN_LOSS_* */
	double margin;   /* hinge's margin; diffmat's per unit of log-runtime gap */
	double mix;      /* mixed: mix * hinge + (1 - mix) * ListMLE */
	double mape;     /* > 0: plus mape * MAPE (nn_mape_loss) */
} train_loss_t;

/* The loss of scores s (n, lower = predicted faster) against runtimes y
 * (n): hinge, ListMLE, their mix or diffmat (lib/nn.h), plus mape * MAPE.
 * Returns its value; when ds is not NULL, adds scale * dloss/ds to ds
 * (scale: this graph's share of the step, 1/graphs).  The value is never
 * scaled: the mean over a step's graphs is the caller's sum of
 * scale * value, the same objective whose gradient ds holds. */
double train_loss(const train_loss_t *L, float *ds, const float *s, const double *y,
		  size_t n, double scale);

/* ---- the trainer ---- */

typedef struct {
	uint64_t seed;
	size_t configs_per_graph;  /* B: configs sampled per graph visit */
	size_t graphs_per_step;
	train_loss_t loss;
	double drop_edge;          /* DropEdge's probability, 0: off */
	int oversample;            /* repeat each collection's graphs to the largest's count */
	nn_adamw_t adam;           /* lr: the peak; weight_decay: the 2-d weights' */
	double lr_min;             /* the cosine schedule's floor */
	long warmup;               /* linear warm-up steps */
	long total;                /* the schedule's length in steps (may be revised) */
	double clip;               /* max global gradient norm, 0: off */
	double ema;                /* > 0: keep the weights' moving average with
				    * this decay per step (train_ema_swap); 0: off */
	int quiet;                 /* no notes on stderr */
} train_opts_t;

typedef struct {
	train_opts_t o;
	model_t *m;
	model_work_t *w;
	const model_set_t *set;     /* the training graphs, standardised */
	size_t *visits, nvisit;    /* an epoch's visits, before shuffling */
	long steps_per_epoch;
	float *adam_m, *adam_v;    /* AdamW's moments, (nparams) each */
	float *ema;                /* (nparams) the weights' moving average, or NULL */
	long step;                 /* optimiser steps done */
	double lr;                 /* the learning rate of the last step */
	size_t nconfigs;           /* configs scored, all steps */
	/* the batch's buffers */
	size_t *order;             /* the visits of epoch order_epoch, shuffled */
	long order_epoch;          /* -1: none yet */
	size_t *pick;              /* (largest config count) */
	uint8_t *sym;              /* layout (B, nodes, slots) symbols */
	float *tf;                 /* tile (B, MODEL_NTILE) features */
	float *scores, *ds;        /* (B) scores and their gradient */
	double *y;                 /* (B) runtimes */
} trainer_t;

/* A trainer of m on set: the epoch's visits (the graphs with two or more
 * configs; with oversample, each collection's graphs repeated up to the
 * largest collection's count, a note per collection on stderr unless
 * quiet), AdamW's moments zeroed, step 0. */
void train_init(trainer_t *t, model_t *m, model_work_t *w, const model_set_t *set,
		const train_opts_t *o);
void train_free(trainer_t *t);

/* The forward and backward passes of step `step` (0-based; any step, in
 * any order): leaves the step's gradients in m->grads and returns its loss,
 * the mean over its graphs.  The weights do not change. */
double train_grads(trainer_t *t, long step);
/* One optimiser step (the next, t->step): train_grads, clipping, the
 * schedule's learning rate, AdamW.  Returns the step's loss. */
double train_step(trainer_t *t);
/* Steps until t->step reaches end; returns their mean loss (NaN: none). */
double train_round(trainer_t *t, long end);
/* With o.ema: exchange the model's weights and their moving average (call
 * twice: validate or save the average, then train on).  After each step
 * the average moves as ema = d ema + (1 - d) w with d = min(o.ema,
 * (1 + step) / (10 + step)): short at first, so that it does not remember
 * the initial weights.  It starts as the weights train_init finds. */
void train_ema_swap(trainer_t *t);

#endif
