/* sage-train: train the ranking model (GraphSAGE or one of the other
 * archs) on a stream of graphs and their configs; keep the model that scores
 * best on the valid stream.  See docs/man/sage-train.1 and docs/model.md. */
#include <fnmatch.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "metrics.h"
#include "nn.h"
#include "outfile.h"
#include "rng.h"
#include "model.h"
#include "stream.h"
#include "train.h"

static struct {
	const char *out, *valid, *checkpoint, *log, *init;
	int resume, quiet, threads, oversample, force_tty;
	long epochs, cpg, gps, warmup, valid_configs, mem_mb, stop_after, swa;
	long steps, valid_every;    /* 0: from --epochs; 0: automatic */
	long patience;              /* 0: off */
	double seconds;             /* 0: no time budget */
	double then_predict;        /* --then-predict: valid splits' worth after training */
	double valid_share;         /* --valid-share: validation's share of --seconds */
	int epochs_given;
	train_loss_t loss;          /* kind, margin, mix, mape */
	double lr, lr_min, wd, clip, drop_edge, ema;
	uint64_t seed;
	model_hp_t hp;
	const char *arch_opt;       /* the first architecture option given */
	char **exclude;             /* --exclude globs */
	size_t nexclude;
} opt;

static const char usage_line[] =
	"usage: sage-train [options] --out MODEL [--valid FILE] [FILE]\n";

static const char help_text[] =
	"Train the ranking model on a stream of graphs and configs (FILE or stdin);\n"
	"write the model that scores best on --valid (else the last; with --swa, the\n"
	"average of the last epochs) to MODEL.\n"
	"\n"
	"Data and output:\n"
	"  -o, --out MODEL          the model file ('-': stdout)\n"
	"      --valid FILE         a stream of the valid split, scored after each round\n"
	"                           (layout: mean Kendall tau; tile: 2 - top-5 ratio)\n"
	"      --valid-every K      a round is K steps (default: an epoch, or as many\n"
	"                           epochs as keep the rounds to 25; with --seconds,\n"
	"                           as many rounds as keep validation to a tenth of\n"
	"                           the time, at most 250 planned)\n"
	"      --patience R         stop once the best valid score is R rounds old\n"
	"                           and as old as the run was when it was reached\n"
	"                           (default 0: run every planned step)\n"
	"      --valid-configs N    score at most N configs per valid graph (0: all)\n"
	"      --checkpoint FILE    save the training state after every round\n"
	"      --resume             continue from --checkpoint (same options, same run)\n"
	"      --stop-after N       stop after round N, as if killed (then --resume)\n"
	"      --log FILE           one JSON line per round (loss, score, seconds ...);\n"
	"                           '-': stdout\n"
	"      --force-tty          write the model (--out -) even to a terminal\n"
	"  -q, --quiet              no progress lines on stderr\n"
	"\n"
	"Model:\n"
	"      --arch A             the message-passing layer: sage (default), gat,\n"
	"                           gin, appnp, gps or mlp (none: the fast floor)\n"
	"      --heads N            attention heads of gat and gps (default 4)\n"
	"      --appnp-steps K      APPNP propagation steps (default 10)\n"
	"      --appnp-alpha A      APPNP teleport probability (default 0.1)\n"
	"      --pe rwpe:K          add a K-step random-walk positional encoding\n"
	"                           to the node inputs (K 1..64; default none)\n"
	"      --hidden N           hidden size (default 64)\n"
	"      --layers N           message-passing layers (default 3)\n"
	"      --op-dim N           opcode embedding size (default 16)\n"
	"      --cfg-dim N          layout config embedding size per symbol (default 4)\n"
	"      --pool mean|mean+max pooling over nodes (default mean+max)\n"
	"      --se on|off          squeeze-excitation channel attention (default on)\n"
	"      --se-dim N           its bottleneck (default 16)\n"
	"      --xattn on|off       cross-config attention (default off)\n"
	"      --tile-join early|late  tile: add the config features at every\n"
	"                           node (early, the default), or after pooling\n"
	"                           (late: the graph runs once for all its configs)\n"
	"      --norm instance|layer  each layer's norm: over the nodes, per channel\n"
	"                           (instance, the default), or over the channels,\n"
	"                           per node (layer: for graphs of a few nodes)\n"
	"\n"
	"Training:\n"
	"  -e, --epochs N           epochs (default 10); or one of:\n"
	"      --steps N            optimiser steps\n"
	"      --seconds S          a time budget for the whole run, reading included:\n"
	"                           times some steps and a validation, plans the\n"
	"                           steps, revises the plan after each round; the\n"
	"                           model records the steps that ran; a round's\n"
	"                           steps stop when only its validation fits\n"
	"      --valid-share F      with --seconds: validation's share of the time\n"
	"                           (default 0.1); when one validation alone takes\n"
	"                           more (timed on an eighth of the valid split),\n"
	"                           the run does not validate and keeps the last\n"
	"                           weights\n"
	"      --then-predict X     with --seconds: the budget also pays for\n"
	"                           predicting X times the valid split after the\n"
	"                           training (collection.sh: valid and test, X =\n"
	"                           their bytes over valid's); the training leaves\n"
	"                           X times the valid split's reading and\n"
	"                           validation seconds\n"
	"  -b, --configs-per-graph N  configs sampled per graph per step (default 64)\n"
	"      --graphs-per-step N  graphs per optimiser step (default: layout 1, tile 8)\n"
	"      --loss hinge|listmle|mixed|diffmat  ranking loss (default mixed);\n"
	"                           diffmat: the margin grows with the log-runtime gap\n"
	"      --mix W              mixed: W * hinge + (1 - W) * listmle (default 0.5)\n"
	"      --margin M           hinge margin; diffmat: margin per unit of log-runtime\n"
	"                           gap (default 0.1)\n"
	"      --mape W             add W * the MAPE of the runtimes the scores imply\n"
	"                           (read as log-runtimes; default 0: off)\n"
	"      --drop-edge P        drop each edge with probability P at each step\n"
	"                           (DropEdge; default 0)\n"
	"      --swa N              write the average of the weights of the last N\n"
	"                           rounds (stochastic weight averaging; default 0: off)\n"
	"      --ema D              validate and write the weights' moving average,\n"
	"                           decay D per step (e.g. 0.99; default 0: off)\n"
	"      --oversample         visit every collection's graphs as often per\n"
	"                           epoch as the largest collection's\n"
	"      --init MODEL         start from MODEL's weights, architecture and\n"
	"                           feature statistics (fine-tuning)\n"
	"      --exclude GLOB       drop training graphs whose id matches GLOB\n"
	"                           (repeatable)\n"
	"      --lr X               peak learning rate (default 0.003)\n"
	"      --lr-min X           final learning rate of the cosine (default 1e-5)\n"
	"      --warmup N           warm-up steps (default: 5% of all steps)\n"
	"      --weight-decay X     AdamW decay of 2-d weights (default 1e-4)\n"
	"      --clip X             clip the gradient norm to X (0: off; default 1)\n"
	"  -s, --seed N             random seed (default 1)\n"
	"  -t, --threads N          threads (default: all cores); results are\n"
	"                           deterministic for a given seed and thread count\n"
	"      --mem MB             activation memory per micro-batch (default 4096)\n"
	"  -h, --help               this help\n"
	"  -V, --version            print the version\n"
	"\n"
	"Exit status: 0 ok, 1 bad data, 2 bad usage, 3 I/O error.\n";

static int parse_onoff(const char *o, const char *s)
{
	if (strcmp(s, "on") == 0)
		return 1;
	if (strcmp(s, "off") == 0)
		return 0;
	usage_error("%s: want on or off", o);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- evaluation ---- */

/* Score every config of g in batches of the model's batch size. */
static void score_graph(model_t *m, model_work_t *w, const model_graph_t *g,
			float *scores, uint8_t *sym, float *tf)
{
	size_t B = (size_t)m->hp.batch, w3 = (size_t)g->nc * MODEL_NCODE;
	for (size_t c0 = 0; c0 < g->nconf; c0 += B) {
		size_t nb = g->nconf - c0 < B ? g->nconf - c0 : B;
		model_batch_t b = { nb, NULL, NULL };
		if (m->hp.kind == MODEL_LAYOUT) {
			model_symbols(sym, g->codes + c0 * w3, nb * w3);
			b.sym = sym;
		} else {
			memcpy(tf, g->tfeat + c0 * MODEL_NTILE, nb * MODEL_NTILE * sizeof *tf);
			b.tfeat = tf;
		}
		model_forward(m, w, g, &b, scores + c0, 0);
	}
}

/* Mean over graphs of Kendall tau (layout) or 2 - top-5 ratio (tile). */
static double evaluate(model_t *m, model_work_t *w, const model_set_t *vs)
{
	size_t maxc = 0, maxnc = 0, B = (size_t)m->hp.batch;
	for (size_t i = 0; i < vs->n; i++) {
		if (vs->g[i].nconf > maxc)
			maxc = vs->g[i].nconf;
		if ((size_t)vs->g[i].nc > maxnc)
			maxnc = (size_t)vs->g[i].nc;
	}
	float *scores = xmallocarray(maxc + 1, sizeof *scores);
	double *x = xmallocarray(maxc + 1, sizeof *x);
	uint8_t *sym = xmallocarray(B * maxnc * MODEL_NSLOT + 1, 1);
	float *tf = xmallocarray(B * MODEL_NTILE, sizeof *tf);
	double sum = 0.0;
	size_t n = 0;
	for (size_t i = 0; i < vs->n; i++) {
		const model_graph_t *g = &vs->g[i];
		if (g->nconf == 0)
			continue;
		score_graph(m, w, g, scores, sym, tf);
		for (size_t c = 0; c < g->nconf; c++)
			x[c] = scores[c];
		/* the Kaggle score of the graph, exactly as rank-eval computes it */
		metrics_graph_t mg;
		metrics_score_graph(g->target, g->cidx, x, g->nconf, m->hp.kind == MODEL_TILE,
				    g->nconf, &mg);
		double v = mg.v[M_SCORE];
		sum += isnan(v) ? 0.0 : v;   /* undefined: no information */
		n++;
	}
	free(scores);
	free(x);
	free(sym);
	free(tf);
	return n ? sum / (double)n : NAN;
}

/* ---- the training state, for checkpoints ---- */

/* The plan: `total` optimiser steps, of `spe` per epoch (every usable
 * training graph visited once), in rounds of `every` steps, each ended by a
 * validation, a progress line, a log line and a checkpoint.  By default a
 * round is an epoch, or several when that would validate more than
 * MAX_AUTO_ROUNDS times (a one-graph collection has one step per epoch).
 * A --seconds run times a validation and plans as many rounds as keep
 * validation to VALID_SHARE of its time (--valid-share), at most MAX_TIMED_ROUNDS: a model
 * can peak within its first 25th (tile in tpugen's membound world, 387 s:
 * best at the first of 25 validations, epoch 23 of 699, still warming up),
 * and validation is what finds the peak. */
typedef struct {
	long total, spe, every, nrounds;
} plan_t;

#define MAX_AUTO_ROUNDS 25
#define MAX_TIMED_ROUNDS 250
#define VALID_SHARE 0.1
#define CALIB_VALID_PART 8   /* the calibration validates 1/8 of the work */

static plan_t plan;

/* --seconds: the seconds the valid split took to read, and the
 * calibration's validation (plan_seconds) */
static double valid_read_s, calib_eval_s;
/* --seconds: one validation would take more than the budget's share
 * (--valid-share): the run does not validate (plan_seconds) */
static int valid_off;

/* The run's state besides the trainer's (step, AdamW's moments). */
typedef struct {
	long round;                 /* completed */
	double best;                /* best valid score (NaN: none yet) */
	long best_round;            /* 0: none */
	float *best_params;         /* (nparams) */
	double *hist;               /* (rounds, NHIST) */
	double *swa;                /* (nparams) sum of the averaged rounds' weights */
	long nswa;                  /* rounds in it */
} state_t;

enum { H_LOSS, H_VALID, H_SECONDS, H_TRAIN, H_CPS, H_LR, H_STEP, NHIST };

/* Options that must match for --resume to continue the same run. */
static void fingerprint(record_t *r, const model_set_t *train, const model_set_t *valid)
{
	rec_set_int(r, "seed", (int64_t)opt.seed);
	rec_set_int(r, "threads", opt.threads);
	rec_set_int(r, "steps", plan.total);
	rec_set_int(r, "valid_every", plan.every);
	rec_set_int(r, "configs_per_graph", opt.cpg);
	rec_set_int(r, "graphs_per_step", opt.gps);
	rec_set_int(r, "warmup", opt.warmup);
	rec_set_str(r, "loss", train_loss_name(opt.loss.kind));
	rec_set_float(r, "mix", opt.loss.mix);
	rec_set_float(r, "margin", opt.loss.margin);
	rec_set_float(r, "lr", opt.lr);
	rec_set_float(r, "lr_min", opt.lr_min);
	rec_set_float(r, "weight_decay", opt.wd);
	rec_set_float(r, "clip", opt.clip);
	rec_set_float(r, "mape", opt.loss.mape);
	rec_set_float(r, "drop_edge", opt.drop_edge);
	rec_set_int(r, "swa", opt.swa);
	rec_set_float(r, "ema", opt.ema);
	rec_set_int(r, "oversample", opt.oversample);
	rec_set_str(r, "init", opt.init ? opt.init : "");
	rec_set_int(r, "valid_configs", opt.valid_configs);
	rec_set_int(r, "train_graphs", (int64_t)train->n);
	rec_set_int(r, "train_configs", (int64_t)train->nconf);
	rec_set_int(r, "valid_graphs", valid ? (int64_t)valid->n : 0);
}

static tensor_t *f32_tensor(const float *x, size_t n)
{
	tensor_t *t = tensor_new1(DT_F32, (int64_t)n);
	memcpy(t->data, x, n * sizeof *x);
	return t;
}

static void save_checkpoint(const trainer_t *tr, const state_t *st, const model_set_t *valid,
			    int argc, char **argv)
{
	const model_t *m = tr->m;
	record_t *r = rec_new("train_state");
	rec_set_int(r, "round", st->round);
	rec_set_int(r, "step", tr->step);
	rec_set_float(r, "best", st->best);
	rec_set_int(r, "best_round", st->best_round);
	fingerprint(r, tr->set, valid);
	rec_set_tensor(r, "adam_m", f32_tensor(tr->adam_m, m->nparams));
	rec_set_tensor(r, "adam_v", f32_tensor(tr->adam_v, m->nparams));
	rec_set_tensor(r, "best_params", f32_tensor(st->best_params, m->nparams));
	if (tr->ema)
		rec_set_tensor(r, "ema_params", f32_tensor(tr->ema, m->nparams));
	tensor_t *h = tensor_new2(DT_F64, plan.nrounds, NHIST);
	memcpy(h->data, st->hist, h->nbytes);
	rec_set_tensor(r, "history", h);
	if (opt.swa) {
		tensor_t *sw = tensor_new1(DT_F64, (int64_t)m->nparams);
		memcpy(sw->data, st->swa, sw->nbytes);
		rec_set_tensor(r, "swa_sum", sw);
		rec_set_int(r, "swa_count", st->nswa);
	}
	model_save(opt.checkpoint, m, m->params, &r, 1, argv0, argc, argv);
	rec_free(r);
}

static void same_or_die(const record_t *ck, const record_t *now_, const char *key)
{
	const field_t *a = rec_get(ck, key), *b = rec_get(now_, key);
	char va[64] = "?", vb[64] = "?";
	int same = a && b && a->kind == b->kind;
	/* an option newer than the checkpoint was off when it was written */
	if (!a && b && ((b->kind == V_INT && b->v.i == 0) || (b->kind == V_FLOAT && b->v.f == 0)))
		return;
	if (same && a->kind == V_INT)
		same = a->v.i == b->v.i;
	else if (same && a->kind == V_FLOAT)
		same = a->v.f == b->v.f;
	else if (same && a->kind == V_STR)
		same = strcmp(a->v.s, b->v.s) == 0;
	if (same)
		return;
	if (a && a->kind == V_INT) snprintf(va, sizeof va, "%lld", (long long)a->v.i);
	if (a && a->kind == V_FLOAT) snprintf(va, sizeof va, "%g", a->v.f);
	if (a && a->kind == V_STR) snprintf(va, sizeof va, "%s", a->v.s);
	if (b && b->kind == V_INT) snprintf(vb, sizeof vb, "%lld", (long long)b->v.i);
	if (b && b->kind == V_FLOAT) snprintf(vb, sizeof vb, "%g", b->v.f);
	if (b && b->kind == V_STR) snprintf(vb, sizeof vb, "%s", b->v.s);
	die(EX_USAGE, "%s: made with %s = %s, this run has %s: resume with the same "
	    "options and data, or drop --resume", opt.checkpoint, key, va, vb);
}

/* Copy the n floats of r's tensor key into x. */
static void take_f32(record_t *r, const char *key, float *x, size_t n)
{
	tensor_t *t = rec_need_tensor(r, key, DT_F32, 1);
	if ((size_t)t->shape[0] != n)
		rec_die(r, "%s has %lld values, want %zu", key, (long long)t->shape[0], n);
	memcpy(x, t->data, n * sizeof *x);
}

/* Load the checkpoint into the trainer's model and state, and st; 0 when
 * there is none yet. */
static int load_checkpoint(trainer_t *tr, state_t *st, const model_set_t *valid)
{
	model_t *m = tr->m;
	if (access(opt.checkpoint, F_OK) != 0)
		return 0;
	record_t **extra = NULL;
	size_t nextra = 0;
	model_t *ck = model_load(opt.checkpoint, &extra, &nextra);
	if (memcmp(&ck->hp, &m->hp, sizeof ck->hp) != 0)
		die(EX_USAGE, "%s: made with other model options (hidden %d, layers %d, ...): "
		    "resume with the same options, or drop --resume", opt.checkpoint,
		    ck->hp.hidden, ck->hp.layers);
	record_t *r = NULL;
	for (size_t i = 0; i < nextra; i++)
		if (rec_is(extra[i], "train_state"))
			r = extra[i];
	if (!r)
		die(EX_DATA, "%s: not a checkpoint (no train_state record)", opt.checkpoint);
	record_t *cur = rec_new("now");
	fingerprint(cur, tr->set, valid);
	for (size_t i = 0; i < cur->n; i++)
		same_or_die(r, cur, cur->f[i].key);
	rec_free(cur);
	memcpy(m->params, ck->params, m->nparams * sizeof *m->params);
	memcpy(m->feat_mean, ck->feat_mean, sizeof m->feat_mean);
	memcpy(m->feat_std, ck->feat_std, sizeof m->feat_std);
	memcpy(m->tile_mean, ck->tile_mean, sizeof m->tile_mean);
	memcpy(m->tile_std, ck->tile_std, sizeof m->tile_std);
	st->round = (long)rec_need_int(r, "round");
	tr->step = (long)rec_need_int(r, "step");
	st->best_round = (long)rec_need_int(r, "best_round");
	if (!rec_float(r, "best", &st->best))
		rec_die(r, "no best score");
	take_f32(r, "adam_m", tr->adam_m, m->nparams);
	take_f32(r, "adam_v", tr->adam_v, m->nparams);
	take_f32(r, "best_params", st->best_params, m->nparams);
	if (tr->ema)
		take_f32(r, "ema_params", tr->ema, m->nparams);
	tensor_t *h = rec_need_tensor(r, "history", DT_F64, 2);
	if (h->shape[0] != plan.nrounds || h->shape[1] != NHIST)
		rec_die(r, "history has the wrong shape");
	memcpy(st->hist, h->data, h->nbytes);
	if (opt.swa) {
		tensor_t *sw = rec_need_tensor(r, "swa_sum", DT_F64, 1);
		if ((size_t)sw->shape[0] != m->nparams)
			rec_die(r, "swa_sum has the wrong size");
		memcpy(st->swa, sw->data, sw->nbytes);
		st->nswa = (long)rec_need_int(r, "swa_count");
	}
	for (size_t i = 0; i < nextra; i++)
		rec_free(extra[i]);
	free(extra);
	model_free(ck);
	return 1;
}

/* ---- the log ---- */

/* The epoch that step (1-based, completed) falls in: 1 for steps 1..spe. */
static long epoch_of(long step)
{
	return plan.spe ? (step + plan.spe - 1) / plan.spe : 0;
}

/* The step at the end of round r (1-based). */
static long round_end(const state_t *st, long r)
{
	return (long)st->hist[(r - 1) * NHIST + H_STEP];
}

static void log_line(FILE *fp, long round, const double *h, const state_t *st)
{
	/* JSON has no nan or inf: a non-finite number is written as null */
	enum { LOSS, LR, VALID, BEST, SECS, TRAIN, CPS, NNUM };
	const double v[NNUM] = { h[H_LOSS], h[H_LR], h[H_VALID], st->best, h[H_SECONDS],
		h[H_TRAIN], h[H_CPS] };
	char b[NNUM][40];
	for (int i = 0; i < NNUM; i++) {
		if (!isfinite(v[i]))
			snprintf(b[i], sizeof b[i], "null");
		else if (i == SECS || i == TRAIN)
			snprintf(b[i], sizeof b[i], "%.3f", v[i]);
		else if (i == CPS)
			snprintf(b[i], sizeof b[i], "%.1f", v[i]);
		else
			snprintf(b[i], sizeof b[i], "%.6g", v[i]);
	}
	const char *metric = opt.hp.kind == MODEL_TILE ? "top5_score" : "kendall";
	long step = (long)h[H_STEP];
	fprintf(fp, "{\"round\": %ld, \"step\": %ld, \"epoch\": %ld, \"loss\": %s, "
		"\"lr\": %s, \"metric\": \"%s\", ", round, step, epoch_of(step), b[LOSS],
		b[LR], metric);
	fprintf(fp, "\"valid\": %s, ", b[VALID]);
	if (isnan(st->best))
		fprintf(fp, "\"best\": null, \"best_round\": null, \"best_epoch\": null, ");
	else
		fprintf(fp, "\"best\": %s, \"best_round\": %ld, \"best_epoch\": %ld, ", b[BEST],
			st->best_round, epoch_of(round_end(st, st->best_round)));
	fprintf(fp, "\"seconds\": %s, \"train_seconds\": %s, \"configs_per_s\": %s}\n",
		b[SECS], b[TRAIN], b[CPS]);
}

/* Rewrite the whole log from the history (so a resumed run's log is the
 * same as an uninterrupted one's, timings aside): a regular file atomically
 * each round; stdout, a fifo, a device or a link (which cannot be rewritten
 * as a whole, lib/outfile.h) is kept open and gets the new lines only. */
static void write_log(const state_t *st, long upto)
{
	static outfile_t *through;  /* the log kept open, and its lines so far */
	static long logged;
	if (!opt.log)
		return;
	outfile_t *of = through ? through : of_open(opt.log);
	int keep = of->kind != OF_ATOMIC;
	FILE *fp = of_stdio(of);
	state_t s = *st;
	s.best = NAN;
	for (long e = 0; e < upto; e++) {
		const double *h = st->hist + e * NHIST;
		if (!isnan(h[H_VALID]) && (isnan(s.best) || h[H_VALID] > s.best)) {
			s.best = h[H_VALID];
			s.best_round = e + 1;
		}
		if (!keep || e >= logged)
			log_line(fp, e + 1, h, &s);
	}
	if (!keep) {
		of_commit(of);
		return;
	}
	through = of;
	if (upto > logged)
		logged = upto;
	if (fflush(fp) != 0)
		edie(EX_IO, "%s: write error", opt.log);
}

/* ---- the training graphs ---- */

/* Drop the training graphs whose id matches an --exclude glob; returns how
 * many.  A glob that matches nothing is worth a warning (a typo). */
static size_t exclude_graphs(model_set_t *s)
{
	if (!opt.nexclude)
		return 0;
	size_t *hits = xcalloc(opt.nexclude, sizeof *hits), k = 0;
	for (size_t i = 0; i < s->n; i++) {
		int drop = 0;
		for (size_t e = 0; e < opt.nexclude; e++)
			if (fnmatch(opt.exclude[e], s->g[i].id, 0) == 0) {
				hits[e]++;
				drop = 1;
			}
		if (drop) {
			s->nconf -= s->g[i].nconf;
			model_graph_free(&s->g[i]);
		} else {
			s->g[k++] = s->g[i];
		}
	}
	size_t dropped = s->n - k;
	s->n = k;
	for (size_t e = 0; e < opt.nexclude; e++)
		if (!hits[e])
			fprintf(stderr, "%s: warning: --exclude '%s' matches no training graph\n",
				argv0, opt.exclude[e]);
	free(hits);
	return dropped;
}

/* Below this many configs (in graphs with two or more) a training split is
 * too small to learn a ranking from: fewer than two default batches of one
 * graph.  Training goes on (a one-graph test of the chain is useful), with a
 * warning. */
#define SMALL_TRAIN_CONFIGS 128

/* ---- the time budget ---- */

/* The plan a --seconds run saved in its checkpoint: 1 and *total, *every
 * (as revised; and its warm-up, unless --warmup is given); 0 when there is
 * no checkpoint yet. */
static int checkpoint_plan(long *total, long *every)
{
	if (access(opt.checkpoint, F_OK) != 0)
		return 0;
	record_t **extra = NULL;
	size_t nextra = 0;
	model_t *ck = model_load(opt.checkpoint, &extra, &nextra);
	int found = 0;
	for (size_t i = 0; i < nextra; i++) {
		if (!found && rec_is(extra[i], "train_state")) {
			*total = (long)rec_need_int(extra[i], "steps");
			*every = (long)rec_need_int(extra[i], "valid_every");
			if (opt.warmup < 0)
				opt.warmup = (long)rec_need_int(extra[i], "warmup");
			found = 1;
		}
		rec_free(extra[i]);
	}
	free(extra);
	model_free(ck);
	if (!found)
		die(EX_DATA, "%s: not a checkpoint (no train_state record)", opt.checkpoint);
	return 1;
}

/* --then-predict: the seconds the predictions after the training will
 * take, when a validation takes t_eval: X times the valid split's reading
 * and validation (sage-predict reads its split and scores every config, as
 * a validation does).  0 without the option. */
static double after_seconds(double t_eval)
{
	/* without validations (--valid-share), the rounds time none: the
	 * calibration's is the only measure of scoring the whole split */
	if (valid_off)
		t_eval = calib_eval_s;
	return opt.then_predict * (valid_read_s + t_eval);
}

/* --seconds: the seconds of one validation of the whole valid split, timed
 * on its first graphs that hold at least 1/CALIB_VALID_PART of its work
 * (configs x nodes) and scaled to the whole: a full-size valid split takes
 * minutes to validate (docs/bench/fullscale.md), and the plan needs its
 * rate, not its score.  *k: the graphs timed. */
static double time_validation(trainer_t *tr, const model_set_t *valid, size_t *k)
{
	double total = 0.0, part = 0.0;
	for (size_t i = 0; i < valid->n; i++)
		total += (double)valid->g[i].nconf * (double)valid->g[i].n;
	model_set_t sub = *valid;
	/* untimed: a first batch of the first graph (the first allocations,
	 * the threads' start; a tiny split's validation is mostly those) */
	if (valid->n) {
		model_graph_t g0 = valid->g[0];
		if (g0.nconf > (size_t)tr->m->hp.batch)
			g0.nconf = (size_t)tr->m->hp.batch;
		sub.g = &g0;
		sub.n = 1;
		(void)evaluate(tr->m, tr->w, &sub);
		sub.g = valid->g;
	}
	for (sub.n = 0; sub.n < valid->n && part * CALIB_VALID_PART < total; sub.n++)
		part += (double)valid->g[sub.n].nconf * (double)valid->g[sub.n].n;
	*k = sub.n;
	double te = now();
	(void)evaluate(tr->m, tr->w, &sub);
	double t = now() - te;
	return part > 0 ? t * total / part : t;
}

/* Calibration steps of --seconds: an epoch's steps, at least 8, at most 32. */
#define CALIB_MIN 8
#define CALIB_MAX 32

/* --seconds: time some steps (forward and backward; no update, so the
 * weights stay the seed's) and one validation, then plan the steps and
 * the rounds that fill what is left of the budget counted from t0, with
 * validation taking --valid-share of it (when the rounds are not given: with
 * no --valid, MAX_AUTO_ROUNDS rounds, for the log and the checkpoints).  Returns the steps; *every
 * (when 0) becomes the steps per round.  replan() revises the steps after
 * each round. */
static long plan_seconds(trainer_t *tr, const model_set_t *valid, double t0, long *every)
{
	long k = plan.spe < CALIB_MIN ? CALIB_MIN : plan.spe > CALIB_MAX ? CALIB_MAX : plan.spe;
	(void)train_grads(tr, 0);   /* untimed: the first allocations */
	double tc = now();
	for (long i = 1; i <= k; i++)
		(void)train_grads(tr, i);
	model_zero_grad(tr->m);
	double t_step = (now() - tc) / (double)k, t_eval = 0.0;
	size_t ktimed = 0;
	if (valid)
		t_eval = time_validation(tr, valid, &ktimed);
	calib_eval_s = t_eval;
	/* 2%: saving, the last log; then the predictions (--then-predict) */
	double left = 0.98 * (opt.seconds - (now() - t0)) - after_seconds(t_eval);
	long rounds = MAX_AUTO_ROUNDS;
	if (*every == 0 && valid) {
		double fit = t_eval > 0 ? opt.valid_share * left / t_eval : MAX_TIMED_ROUNDS;
		if (fit < 1.0) {
			/* not even one validation fits its share: none, and the
			 * last weights are the model (with one round, the only
			 * choice a validation could make) */
			valid_off = 1;
			fprintf(stderr, "%s: --seconds %g: a validation would take %.1f s, more "
				"than %g of the %.0f s left: no validation, the last weights "
				"are kept\n", argv0, opt.seconds, t_eval, opt.valid_share, left);
		} else {
			rounds = fit > MAX_TIMED_ROUNDS ? MAX_TIMED_ROUNDS : (long)fit;
		}
	}
	double for_steps = left - (valid && !valid_off ? (double)rounds * t_eval : 0.0);
	long total = for_steps > t_step ? (long)(for_steps / t_step) : 1;
	if (for_steps <= t_step)
		fprintf(stderr, "%s: warning: --seconds %g: %.1f s are gone before training "
			"(reading, one step %.3f s, one validation %.1f s): training 1 step\n",
			argv0, opt.seconds, now() - t0, t_step, t_eval);
	if (*every == 0)
		*every = (total + rounds - 1) / rounds;
	if (!opt.quiet) {
		fprintf(stderr, "%s: --seconds %g: a step takes %.3f s, a validation %.2f s",
			argv0, opt.seconds, t_step, t_eval);
		if (valid)
			fprintf(stderr, " (timed on %zu of %zu valid graphs)", ktimed, valid->n);
		fprintf(stderr, ": %ld steps (%.1f epochs) in rounds of %ld, revised after each round",
			total, (double)total / (double)plan.spe, *every);
		if (opt.then_predict > 0)
			fprintf(stderr, "; %.1f s left for the predictions after (--then-predict %g: "
				"the valid split read in %.3f s, validated in %.3f s)",
				after_seconds(t_eval), opt.then_predict, valid_read_s, t_eval);
		fputc('\n', stderr);
	}
	return total;
}

/* --seconds, after each round: fit the rest of the plan to the time left at
 * the speed this process measured so far (steps, train seconds, rounds and
 * their validation seconds), so that the budget is spent: the first plan
 * comes from a few cold steps and is often 10-30% off.  The steps already
 * run stay; the learning-rate schedule stretches or shrinks to the new end. */
static void replan(trainer_t *tr, state_t *st, double t0, long steps, double train_s,
		   long rounds, double eval_s)
{
	if (steps <= 0 || rounds <= 0)
		return;
	double t_step = train_s / (double)steps, t_eval = eval_s / (double)rounds;
	double left = 0.98 * opt.seconds - (now() - t0) - after_seconds(t_eval);
	long total = tr->step;
	if (left > 0 && t_step > 0) {
		/* n more steps: n t_step, and a validation for each round begun */
		double n = left / (t_step + t_eval / (double)plan.every);
		double k = ceil(n / (double)plan.every);
		n = (left - k * t_eval) / t_step;
		if (n > 0)
			total += (long)n;
	}
	long nr = (total + plan.every - 1) / plan.every;
	if (nr <= st->round) {   /* no round left to run the new steps in: stop */
		nr = st->round;
		total = tr->step;
	}
	if (total == plan.total && nr == plan.nrounds)
		return;
	if (nr > plan.nrounds) {
		st->hist = xreallocarray(st->hist, (size_t)nr * NHIST, sizeof *st->hist);
		memset(st->hist + plan.nrounds * NHIST, 0,
		       (size_t)(nr - plan.nrounds) * NHIST * sizeof *st->hist);
	}
	if (!opt.quiet && labs(total - plan.total) * 20 > plan.total)
		fprintf(stderr, "%s: --seconds %g: at %.3f s a step, %.2f s a validation: "
			"%ld steps in all, not %ld\n", argv0, opt.seconds, t_step, t_eval, total,
			plan.total);
	plan.total = tr->o.total = total;
	plan.nrounds = nr;
}

/* --seconds: the steps of a round, until t->step reaches end or the clock
 * reaches until (the time left holds only the round's validation and the
 * predictions after): the plan comes from timed steps and validations, and
 * a step that takes longer than those (graphs of other sizes, a busy
 * machine) would otherwise overrun the budget by the rest of the round.
 * At least one step when first.  Returns their mean loss (NaN: none). */
static double steps_until(trainer_t *t, long end, double until, int first)
{
	long n = 0;
	double sum = 0.0;
	while (t->step < end && ((first && n == 0) || now() < until)) {
		sum += train_step(t);
		n++;
	}
	return n ? sum / (double)n : NAN;
}

/* --patience: after a round, whether to stop.  The best valid score must
 * be opt.patience rounds old, and as old as the run was when it was reached
 * (a best at round 30 waits until round 60): a model that peaks late gets
 * the time to show it, and one that peaked early stops. */
static int patience_spent(const state_t *st)
{
	if (!opt.patience || st->best_round == 0 || st->round >= plan.nrounds)
		return 0;
	long age = st->round - st->best_round;
	return age >= opt.patience && age >= st->best_round;
}

/* ---- training ---- */

/* Every output path (model, checkpoint, log) writable before the data is
 * read and the first epoch runs: finding out at the end loses the run. */
static void check_outputs(void)
{
	const char *paths[] = {opt.out, opt.checkpoint, opt.log};
	char why[512];
	if (opt.checkpoint && strcmp(opt.checkpoint, "-") == 0)
		usage_error("%s", "--checkpoint needs a file name (--resume reads it back)");
	if (opt.log && strcmp(opt.out, "-") == 0 && strcmp(opt.log, "-") == 0)
		usage_error("%s", "--out - and --log -: only one of them can go to stdout");
	for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
		if (paths[i] && of_check(paths[i], why, sizeof why) != 0)
			die(EX_IO, "%s: %s", paths[i], why);
	if (strcmp(opt.out, "-") == 0)
		stream_refuse_tty(1, opt.force_tty, "--force-tty");
}

/* ---- the command line ---- */

/* Parse the options into opt; returns the input path ("-": stdin). */
static const char *parse_args(int argc, char **argv)
{
	enum { O_VALID_CONFIGS = 256, O_CHECKPOINT, O_RESUME, O_LOG, O_HIDDEN, O_LAYERS,
	       O_OP_DIM, O_CFG_DIM, O_POOL, O_SE, O_SE_DIM, O_XATTN, O_TILE_JOIN, O_NORM, O_GPS, O_LOSS, O_MIX,
	       O_MARGIN, O_LR, O_LR_MIN, O_WARMUP, O_WD, O_CLIP, O_MEM, O_STOP, O_ARCH, O_HEADS,
	       O_APPNP_K, O_APPNP_A, O_PE, O_MAPE, O_DROP_EDGE, O_SWA, O_EMA, O_OVERSAMPLE, O_INIT,
	       O_EXCLUDE, O_STEPS, O_SECONDS, O_THEN_PREDICT, O_VALID_SHARE, O_VALID_EVERY, O_PATIENCE, O_FORCE_TTY };
	static const struct option longopts[] = {
		{"appnp-alpha", required_argument, NULL, O_APPNP_A},
		{"appnp-steps", required_argument, NULL, O_APPNP_K},
		{"arch", required_argument, NULL, O_ARCH},
		{"cfg-dim", required_argument, NULL, O_CFG_DIM},
		{"checkpoint", required_argument, NULL, O_CHECKPOINT},
		{"clip", required_argument, NULL, O_CLIP},
		{"configs-per-graph", required_argument, NULL, 'b'},
		{"drop-edge", required_argument, NULL, O_DROP_EDGE},
		{"epochs", required_argument, NULL, 'e'},
		{"exclude", required_argument, NULL, O_EXCLUDE},
		{"force-tty", no_argument, NULL, O_FORCE_TTY},
		{"graphs-per-step", required_argument, NULL, O_GPS},
		{"heads", required_argument, NULL, O_HEADS},
		{"help", no_argument, NULL, 'h'},
		{"hidden", required_argument, NULL, O_HIDDEN},
		{"init", required_argument, NULL, O_INIT},
		{"layers", required_argument, NULL, O_LAYERS},
		{"log", required_argument, NULL, O_LOG},
		{"loss", required_argument, NULL, O_LOSS},
		{"lr", required_argument, NULL, O_LR},
		{"lr-min", required_argument, NULL, O_LR_MIN},
		{"mape", required_argument, NULL, O_MAPE},
		{"margin", required_argument, NULL, O_MARGIN},
		{"mem", required_argument, NULL, O_MEM},
		{"mix", required_argument, NULL, O_MIX},
		{"op-dim", required_argument, NULL, O_OP_DIM},
		{"out", required_argument, NULL, 'o'},
		{"oversample", no_argument, NULL, O_OVERSAMPLE},
		{"pe", required_argument, NULL, O_PE},
		{"pool", required_argument, NULL, O_POOL},
		{"quiet", no_argument, NULL, 'q'},
		{"resume", no_argument, NULL, O_RESUME},
		{"se", required_argument, NULL, O_SE},
		{"se-dim", required_argument, NULL, O_SE_DIM},
		{"seconds", required_argument, NULL, O_SECONDS},
		{"seed", required_argument, NULL, 's'},
		{"steps", required_argument, NULL, O_STEPS},
		{"patience", required_argument, NULL, O_PATIENCE},
		{"stop-after", required_argument, NULL, O_STOP},
		{"then-predict", required_argument, NULL, O_THEN_PREDICT},
		{"valid-share", required_argument, NULL, O_VALID_SHARE},
		{"swa", required_argument, NULL, O_SWA},
		{"ema", required_argument, NULL, O_EMA},
		{"threads", required_argument, NULL, 't'},
		{"valid", required_argument, NULL, 'v'},
		{"valid-configs", required_argument, NULL, O_VALID_CONFIGS},
		{"valid-every", required_argument, NULL, O_VALID_EVERY},
		{"version", no_argument, NULL, 'V'},
		{"warmup", required_argument, NULL, O_WARMUP},
		{"weight-decay", required_argument, NULL, O_WD},
		{"xattn", required_argument, NULL, O_XATTN},
		{"tile-join", required_argument, NULL, O_TILE_JOIN},
		{"norm", required_argument, NULL, O_NORM},
		{NULL, 0, NULL, 0},
	};
	const char *path = "-";
	int c;

	model_hp_default(&opt.hp, MODEL_LAYOUT);
	opt.epochs = 10;
	opt.cpg = 64;
	opt.gps = 0;
	opt.warmup = -1;
	opt.mem_mb = 4096;
	opt.valid_share = VALID_SHARE;
	opt.loss = (train_loss_t){ .kind = TRAIN_LOSS_MIXED, .margin = 0.1, .mix = 0.5 };
	opt.lr = 3e-3;
	opt.lr_min = 1e-5;
	opt.wd = 1e-4;
	opt.clip = 1.0;
	opt.seed = 1;
	int li = -1;
	while ((c = getopt_long(argc, argv, "b:e:ho:qs:t:V", longopts, &li)) != -1) {
		switch (c) {   /* the model's own options: not with --init */
		case O_ARCH: case O_HEADS: case O_APPNP_K: case O_APPNP_A: case O_PE:
		case O_HIDDEN: case O_LAYERS: case O_OP_DIM: case O_CFG_DIM: case O_POOL:
		case O_SE: case O_SE_DIM: case O_XATTN: case O_TILE_JOIN: case O_NORM:
			if (!opt.arch_opt && li >= 0)
				opt.arch_opt = longopts[li].name;
			break;
		default:
			break;
		}
		li = -1;
		switch (c) {
		case 'b': opt.cpg = parse_ll("--configs-per-graph", optarg, 2, 100000); break;
		case 'e':
			opt.epochs = parse_ll("--epochs", optarg, 1, 1000000);
			opt.epochs_given = 1;
			break;
		case O_STEPS: opt.steps = parse_ll("--steps", optarg, 1, 1000000000); break;
		case O_SECONDS: opt.seconds = parse_double("--seconds", optarg, 1, 1e9); break;
		case O_THEN_PREDICT:
			opt.then_predict = parse_double("--then-predict", optarg, 0, 1e6);
			break;
		case O_VALID_SHARE:
			opt.valid_share = parse_double("--valid-share", optarg, 1e-9, 1);
			break;
		case O_VALID_EVERY:
			opt.valid_every = parse_ll("--valid-every", optarg, 1, 1000000000);
			break;
		case 'h': usage_help(help_text);
		case 'o': opt.out = optarg; break;
		case 'q': opt.quiet = 1; break;
		case 's': opt.seed = (uint64_t)parse_ll("--seed", optarg, 0, INT64_MAX); break;
		case 't': opt.threads = (int)parse_ll("--threads", optarg, 1, 1024); break;
		case 'v': opt.valid = optarg; break;
		case 'V': print_version();
		case O_VALID_CONFIGS:
			opt.valid_configs = parse_ll("--valid-configs", optarg, 0, INT64_MAX);
			break;
		case O_CHECKPOINT: opt.checkpoint = optarg; break;
		case O_RESUME: opt.resume = 1; break;
		case O_LOG: opt.log = optarg; break;
		case O_FORCE_TTY: opt.force_tty = 1; break;
		case O_ARCH:
			opt.hp.arch = model_arch_parse(optarg);
			if (opt.hp.arch < 0)
				usage_error("--arch %s: want sage, gat, gin, appnp, gps or mlp", optarg);
			break;
		case O_HEADS: opt.hp.heads = (int)parse_ll("--heads", optarg, 1, 4096); break;
		case O_APPNP_K: opt.hp.appnp_k = (int)parse_ll("--appnp-steps", optarg, 0, 1000); break;
		case O_APPNP_A:
			opt.hp.appnp_alpha = (float)parse_double("--appnp-alpha", optarg, 1e-6, 1);
			break;
		case O_PE: {
			char *end = NULL;
			long k = strncmp(optarg, "rwpe:", 5) == 0 ? strtol(optarg + 5, &end, 10) : 0;
			if (!end || *end || end == optarg + 5 || k < 1 || k > MODEL_MAX_PE)
				usage_error("--pe %s: want rwpe:K with K in 1..64", optarg);
			opt.hp.pe_k = (int)k;
			break;
		}
		case O_MAPE: opt.loss.mape = parse_double("--mape", optarg, 0, 1e6); break;
		case O_DROP_EDGE: opt.drop_edge = parse_double("--drop-edge", optarg, 0, 0.99); break;
		case O_SWA: opt.swa = parse_ll("--swa", optarg, 0, 1000000); break;
		case O_EMA: opt.ema = parse_double("--ema", optarg, 0.0, 0.999999); break;
		case O_OVERSAMPLE: opt.oversample = 1; break;
		case O_INIT: opt.init = optarg; break;
		case O_EXCLUDE:
			opt.exclude = xreallocarray(opt.exclude, opt.nexclude + 1, sizeof *opt.exclude);
			opt.exclude[opt.nexclude++] = optarg;
			break;
		case O_HIDDEN: opt.hp.hidden = (int)parse_ll("--hidden", optarg, 1, 4096); break;
		case O_LAYERS: opt.hp.layers = (int)parse_ll("--layers", optarg, 0, MODEL_MAX_LAYERS); break;
		case O_OP_DIM: opt.hp.op_dim = (int)parse_ll("--op-dim", optarg, 1, 1024); break;
		case O_CFG_DIM: opt.hp.cfg_dim = (int)parse_ll("--cfg-dim", optarg, 1, 256); break;
		case O_POOL:
			if (strcmp(optarg, "mean") == 0)
				opt.hp.pool_max = 0;
			else if (strcmp(optarg, "mean+max") == 0)
				opt.hp.pool_max = 1;
			else
				usage_error("%s: want mean or mean+max", "--pool");
			break;
		case O_SE: opt.hp.se = parse_onoff("--se", optarg); break;
		case O_SE_DIM: opt.hp.se_dim = (int)parse_ll("--se-dim", optarg, 1, 4096); break;
		case O_XATTN: opt.hp.xattn = parse_onoff("--xattn", optarg); break;
		case O_TILE_JOIN:
			if (strcmp(optarg, "early") && strcmp(optarg, "late"))
				usage_error("--tile-join: want early or late, not '%s'", optarg);
			opt.hp.tile_late = !strcmp(optarg, "late");
			break;
		case O_NORM:
			if (strcmp(optarg, "instance") && strcmp(optarg, "layer"))
				usage_error("--norm: want instance or layer, not '%s'", optarg);
			opt.hp.norm = strcmp(optarg, "layer") ? MODEL_NORM_INSTANCE : MODEL_NORM_LAYER;
			break;
		case O_GPS: opt.gps = parse_ll("--graphs-per-step", optarg, 1, 100000); break;
		case O_LOSS:
			opt.loss.kind = train_loss_parse(optarg);
			if (opt.loss.kind < 0)
				usage_error("%s: want hinge, listmle, mixed or diffmat", "--loss");
			break;
		case O_MIX: opt.loss.mix = parse_double("--mix", optarg, 0, 1); break;
		case O_MARGIN: opt.loss.margin = parse_double("--margin", optarg, 0, 1e6); break;
		case O_LR: opt.lr = parse_double("--lr", optarg, 0, 10); break;
		case O_LR_MIN: opt.lr_min = parse_double("--lr-min", optarg, 0, 10); break;
		case O_WARMUP: opt.warmup = parse_ll("--warmup", optarg, 0, INT64_MAX); break;
		case O_WD: opt.wd = parse_double("--weight-decay", optarg, 0, 10); break;
		case O_CLIP: opt.clip = parse_double("--clip", optarg, 0, 1e12); break;
		case O_MEM: opt.mem_mb = parse_ll("--mem", optarg, 1, 1L << 30); break;
		case O_STOP: opt.stop_after = parse_ll("--stop-after", optarg, 1, INT64_MAX); break;
		case O_PATIENCE: opt.patience = parse_ll("--patience", optarg, 0, 1000000); break;
		default: usage_error(NULL);
		}
	}
	if (!opt.out)
		usage_error("%s", "--out MODEL is required");
	if (opt.resume && !opt.checkpoint)
		usage_error("%s", "--resume needs --checkpoint FILE");
	if (opt.stop_after && !opt.checkpoint)
		usage_error("%s", "--stop-after needs --checkpoint FILE");
	if (argc - optind > 1)
		usage_error("%s", "at most one input stream");
	if (opt.init && opt.arch_opt)
		usage_error("--%s: the architecture comes from the --init model", opt.arch_opt);
	if (opt.epochs_given + (opt.steps > 0) + (opt.seconds > 0) > 1)
		usage_error("%s", "--epochs, --steps and --seconds: give one of them");
	if (opt.swa > opt.epochs && !opt.steps && !opt.seconds && !opt.valid_every)
		usage_error("%s", "--swa N: N must not exceed --epochs");
	if (opt.then_predict > 0 && !(opt.seconds > 0 && opt.valid))
		usage_error("%s", "--then-predict needs --seconds and --valid FILE (it counts "
			    "the predictions in the budget by the valid split's seconds)");
	if (opt.patience && !opt.valid)
		usage_error("%s", "--patience needs --valid FILE (it watches the valid score)");
	if (opt.ema > 0 && opt.swa)
		usage_error("%s", "--ema and --swa: give one of them (both average weights)");
	if (opt.patience && opt.swa)
		usage_error("%s", "--patience and --swa: give one of them (SWA averages the "
			    "last rounds, which a stopped run never reaches)");
	if (optind < argc)
		path = argv[optind];
	opt.hp.batch = (int)opt.cpg;
	return path;
}

/* ---- the data and the model ---- */

/* Read the training stream at path (less --exclude's graphs) and --valid,
 * into train and valid; make the model (from --init, or new with the
 * training set's feature statistics) and standardise both sets with its
 * statistics.  Returns the model with its initial weights: --init's, or
 * the seed's. */
static model_t *read_data(const char *path, model_set_t *train, model_set_t *valid,
			       double t0)
{
	model_set_read(train, path, -1, 0, opt.seed);
	if (train->n == 0)
		die(EX_DATA, "%s: no graphs in the training stream", strcmp(path, "-") ? path : "stdin");
	size_t nexcluded = exclude_graphs(train);
	if (train->n == 0)
		die(EX_DATA, "--exclude dropped every training graph");
	opt.hp.kind = train->kind;
	if (opt.gps == 0)   /* small tile kernels: several per step */
		opt.gps = train->kind == MODEL_TILE ? 8 : 1;
	model_t *init = NULL;
	if (opt.init) {
		init = model_load(opt.init, NULL, NULL);
		if (init->hp.kind != train->kind)
			die(EX_USAGE, "%s: a %s model; the training graphs are %s graphs", opt.init,
			    init->hp.kind == MODEL_TILE ? "tile" : "layout",
			    train->kind == MODEL_TILE ? "tile" : "layout");
		opt.hp = init->hp;
		opt.hp.batch = (int)opt.cpg;
	}
	if (opt.hp.tile_late && train->kind != MODEL_TILE)
		die(EX_USAGE, "--tile-join: the training graphs are layout graphs; it is for tile models");
	const char *err = NULL;
	model_t *m = model_new(&opt.hp, &err);
	if (!m)
		die(EX_USAGE, "%s", err);
	if (init) {   /* its statistics, so that its weights mean what they meant */
		memcpy(m->params, init->params, m->nparams * sizeof *m->params);
		memcpy(m->feat_mean, init->feat_mean, sizeof m->feat_mean);
		memcpy(m->feat_std, init->feat_std, sizeof m->feat_std);
		memcpy(m->tile_mean, init->tile_mean, sizeof m->tile_mean);
		memcpy(m->tile_std, init->tile_std, sizeof m->tile_std);
		model_free(init);
	} else {
		model_init(m, opt.seed);
		model_set_fit_stats(train, m);
	}
	model_set_standardize(train, m);
	if (opt.valid) {
		double tv = now();
		model_set_read(valid, opt.valid, train->kind, (size_t)opt.valid_configs, opt.seed);
		model_set_standardize(valid, m);
		valid_read_s = now() - tv;
	}
	if (opt.hp.pe_k) {
		double tp = now();
		for (size_t i = 0; i < train->n; i++)
			model_graph_set_pe(&train->g[i], opt.hp.pe_k);
		for (size_t i = 0; opt.valid && i < valid->n; i++)
			model_graph_set_pe(&valid->g[i], opt.hp.pe_k);
		if (!opt.quiet)
			fprintf(stderr, "%s: random-walk encoding (%d steps) in %.1f s\n", argv0,
				opt.hp.pe_k, now() - tp);
	}
	{	/* said even with --quiet: the scores that follow mean little */
		size_t ranked = 0, ng = 0;
		for (size_t i = 0; i < train->n; i++)
			if (train->g[i].nconf >= 2) {
				ranked += train->g[i].nconf;
				ng++;
			}
		if (ranked > 0 && ranked < SMALL_TRAIN_CONFIGS)   /* 0: said below, untrained */
			fprintf(stderr, "%s: warning: the training split has %zu configs to rank "
				"(in %zu graphs), fewer than %d: too small to learn from; "
				"the model and its scores mean little\n", argv0, ranked, ng, SMALL_TRAIN_CONFIGS);
	}
	if (!opt.quiet) {
		fprintf(stderr, "%s: train: %zu %s graphs, %zu configs, %.1f MiB in memory "
			"(packed; %.1f MiB as floats)", argv0, train->n,
			train->kind == MODEL_TILE ? "tile" : "layout", train->nconf,
			(double)model_set_bytes(train) / 1048576.0,
			(double)model_set_float_bytes(train) / 1048576.0);
		if (opt.valid)
			fprintf(stderr, "; valid: %zu graphs, %zu configs", valid->n, valid->nconf);
		fprintf(stderr, "; read in %.1f s\n", now() - t0);
		if (nexcluded)
			fprintf(stderr, "%s: --exclude dropped %zu training graphs\n", argv0, nexcluded);
		fprintf(stderr, "%s: model: %s, %zu parameters, %d threads%s%s\n", argv0,
			model_arch_name(m->hp.arch), m->nparams, opt.threads,
			opt.init ? ", from " : "", opt.init ? opt.init : "");
	}
	return m;
}

/* ---- the plan ---- */

/* Plan the steps and the rounds (plan, and the trainer's schedule). */
static void make_plan(trainer_t *tr, const model_set_t *valid, double t0)
{
	long every = opt.valid_every;
	if (tr->nvisit == 0) {   /* untrained */
		plan.total = 0;
	} else if (opt.steps) {
		plan.total = opt.steps;
	} else if (opt.seconds > 0) {
		/* a resumed run keeps the plan it made; a new one times itself */
		if (!(opt.resume && checkpoint_plan(&plan.total, &every)))
			plan.total = plan_seconds(tr, valid, t0, &every);
	} else {
		plan.total = plan.spe * opt.epochs;
	}
	if (every == 0) {   /* an epoch, or as many as keep to MAX_AUTO_ROUNDS rounds */
		every = (plan.total + MAX_AUTO_ROUNDS - 1) / MAX_AUTO_ROUNDS;
		if (every < plan.spe)
			every = plan.spe;
	}
	if (every > plan.total)
		every = plan.total;
	plan.every = every > 0 ? every : 1;
	plan.nrounds = plan.total ? (plan.total + plan.every - 1) / plan.every : 0;
	if (opt.swa > plan.nrounds && tr->nvisit) {
		if (!opt.seconds)
			die(EX_USAGE, "--swa %ld: there are only %ld rounds (--valid-every %ld of %ld "
			    "steps)", opt.swa, plan.nrounds, plan.every, plan.total);
		fprintf(stderr, "%s: warning: --swa %ld: the budget has room for %ld rounds: "
			"averaging those\n", argv0, opt.swa, plan.nrounds);
		opt.swa = plan.nrounds;
	}
	if (opt.warmup < 0)
		opt.warmup = plan.total / 20;
	tr->o.total = plan.total;
	tr->o.warmup = opt.warmup;
}

/* ---- after each round ---- */

/* The progress line of round r (h: its history row). */
static void report_round(const state_t *st, const double *h, int by_epoch, const char *metric)
{
	if (by_epoch)
		fprintf(stderr, "%s: epoch %ld/%ld  loss %.4f", argv0, epoch_of((long)h[H_STEP]),
			epoch_of(plan.total), h[H_LOSS]);
	else
		fprintf(stderr, "%s: round %ld/%ld  step %ld/%ld (epoch %ld)  loss %.4f",
			argv0, st->round, plan.nrounds, (long)h[H_STEP], plan.total,
			epoch_of((long)h[H_STEP]), h[H_LOSS]);
	if (opt.valid && !valid_off)
		fprintf(stderr, "  valid %s %.4f (best %.4f @%s%ld)", metric, h[H_VALID],
			st->best, by_epoch ? "" : "round ", st->best_round);
	fprintf(stderr, "  %.1f s  %.0f configs/s\n", h[H_SECONDS], h[H_CPS]);
}

/* Keep the weights of the round just ended when they are the best so far
 * (without --valid: the last), and add them to the SWA sum when it is one
 * of the last --swa rounds. */
static void keep_weights(const model_t *m, state_t *st, double score)
{
	long r = st->round - 1;
	if (opt.swa && r >= plan.nrounds - opt.swa) {
		for (size_t i = 0; i < m->nparams; i++)
			st->swa[i] += m->params[i];
		st->nswa++;
	}
	int judged = opt.valid && !valid_off;
	if (!judged || (!isnan(score) && (isnan(st->best) || score > st->best))) {
		st->best = judged ? score : NAN;
		st->best_round = st->round;
		memcpy(st->best_params, m->params, m->nparams * sizeof *m->params);
	}
}

/* ---- the model file ---- */

/* Write the kept weights (the best round's, or the SWA average) to --out,
 * with a `training` record of what ran. */
static void save_model(const trainer_t *tr, state_t *st, const model_set_t *valid, long stopped,
		       int by_epoch, int argc, char **argv, double t0)
{
	model_t *m = tr->m;
	model_work_t *w = tr->w;
	const model_set_t *train = tr->set;
	const char *metric = train->kind == MODEL_TILE ? "top-5 score" : "kendall";
	int untrained = tr->nvisit == 0;
	if (st->best_round == 0)   /* resumed after the last round without a best */
		memcpy(st->best_params, tr->ema ? tr->ema : m->params,
		       m->nparams * sizeof *m->params);
	double swa_score = NAN;
	long best_epoch = st->best_round ? epoch_of(round_end(st, st->best_round)) : 0;
	if (opt.swa) {   /* the average of the last rounds replaces the best */
		for (size_t i = 0; i < m->nparams; i++)
			st->best_params[i] = (float)(st->swa[i] / (double)st->nswa);
		if (opt.valid) {
			memcpy(m->params, st->best_params, m->nparams * sizeof *m->params);
			swa_score = evaluate(m, w, valid);
		}
		if (!opt.quiet) {
			fprintf(stderr, "%s: SWA over the last %ld %s", argv0, st->nswa,
				by_epoch ? "epochs" : "rounds");
			if (opt.valid)
				fprintf(stderr, ": valid %s %.4f (best single %s %.4f @%ld)", metric,
					swa_score, by_epoch ? "epoch" : "round", st->best, st->best_round);
			fprintf(stderr, "\n");
		}
	}
	record_t *info = rec_new("training");
	rec_set_str(info, "arch", model_arch_name(m->hp.arch));
	rec_set_int(info, "epochs", epoch_of(plan.total));
	rec_set_int(info, "best_epoch", best_epoch);
	if (untrained)
		rec_set_bool(info, "untrained", 1);
	rec_set_str(info, "metric", train->kind == MODEL_TILE ? "top5_score" : "kendall");
	if (opt.valid && !valid_off)
		rec_set_float(info, "valid", opt.swa ? swa_score : st->best);
	if (valid_off)   /* --seconds: a validation would not fit its share */
		rec_set_bool(info, "valid_skipped", 1);
	if (opt.swa) {
		rec_set_int(info, "swa_epochs", st->nswa);
		if (opt.valid)
			rec_set_float(info, "best_epoch_valid", st->best);
	}
	if (opt.init)
		rec_set_str(info, "init", opt.init);
	if (opt.ema > 0)
		rec_set_float(info, "ema", opt.ema);
	rec_set_int(info, "steps", plan.total);
	rec_set_int(info, "valid_every", plan.every);
	rec_set_int(info, "best_round", st->best_round);
	if (opt.patience) {
		rec_set_int(info, "patience", opt.patience);
		rec_set_int(info, "stopped_after_round", stopped);   /* 0: ran to the end */
	}
	rec_set_int(info, "best_step", st->best_round ? round_end(st, st->best_round) : 0);
	if (opt.seconds > 0)
		rec_set_float(info, "seconds_budget", opt.seconds);
	if (opt.then_predict > 0)
		rec_set_float(info, "then_predict", opt.then_predict);
	rec_set_int(info, "train_graphs", (int64_t)train->n);
	rec_set_int(info, "train_configs", (int64_t)train->nconf);
	rec_set_int(info, "seed", (int64_t)opt.seed);
	rec_set_int(info, "threads", opt.threads);
	/* how the training data was prepared: sage-predict compares (lib/history.h) */
	rec_set_raw(info, "data_history", train->history, train->history_len);
	model_save(opt.out, m, st->best_params, &info, 1, argv0, argc, argv);
	rec_free(info);
	if (!opt.quiet)
		fprintf(stderr, "%s: wrote %s (%s %ld%s%s); activations %.1f MiB; total %.1f s\n",
			argv0, opt.out, opt.swa ? "SWA of the last rounds:" : by_epoch ? "epoch" : "round",
			opt.swa ? st->nswa : by_epoch ? best_epoch : st->best_round,
			opt.valid && !valid_off && !opt.swa ? ", best valid " : "",
			opt.valid && !valid_off && !opt.swa ? metric : "", (double)model_work_bytes(w) / 1048576.0,
			now() - t0);
}

/* ---- main: read, plan, then rounds of training steps and a validation ---- */

int main(int argc, char **argv)
{
	nn_exec_env(argv);   /* may execute the program again, see nn.h */
	setprogname_argv(argv);
	usage_init(usage_line);
	const char *path = parse_args(argc, argv);
	check_outputs();
	opt.threads = nn_set_threads(opt.threads);

	double t0 = now();
	model_set_t train, valid;
	model_t *m = read_data(path, &train, &valid, t0);
	const model_set_t *vs = opt.valid ? &valid : NULL;
	model_work_t *w = model_work_new((size_t)opt.mem_mb);
	trainer_t tr;
	train_init(&tr, m, w, &train, &(train_opts_t){
		.seed = opt.seed, .configs_per_graph = (size_t)opt.cpg,
		.graphs_per_step = (size_t)opt.gps, .loss = opt.loss, .drop_edge = opt.drop_edge,
		.oversample = opt.oversample, .adam = { opt.lr, 0.9, 0.999, 1e-8, opt.wd },
		.lr_min = opt.lr_min, .clip = opt.clip, .ema = opt.ema, .quiet = opt.quiet });
	/* Nothing to rank (every graph has one distinct config, as the real
	 * openai_v0_rnn file after --dedup): the model keeps its initial
	 * weights, so that a pipeline can still predict and submit, and says so. */
	if (tr.nvisit == 0)
		fprintf(stderr, "%s: warning: no training graph has two or more configs to rank: "
			"nothing to learn; the model keeps its initial weights (its rankings are arbitrary)\n",
			argv0);
	plan.spe = tr.steps_per_epoch;
	make_plan(&tr, vs, t0);

	state_t st = { .best = NAN };
	st.best_params = xcalloc(m->nparams, sizeof *st.best_params);
	st.swa = xcalloc(m->nparams, sizeof *st.swa);
	st.hist = xcalloc((size_t)(plan.nrounds ? plan.nrounds : 1) * NHIST, sizeof *st.hist);
	/* rounds that are epochs say so, as they always did */
	int by_epoch = !opt.seconds && plan.every == plan.spe && plan.total % plan.spe == 0;
	const char *metric = train.kind == MODEL_TILE ? "top-5 score" : "kendall";
	if (opt.resume && load_checkpoint(&tr, &st, vs)) {
		if (!opt.quiet)
			fprintf(stderr, "%s: resuming from %s after %s %ld (step %ld)\n", argv0,
				opt.checkpoint, by_epoch ? "epoch" : "round", st.round, tr.step);
	} else if (opt.resume && !opt.quiet) {
		fprintf(stderr, "%s: %s does not exist yet: starting afresh\n", argv0, opt.checkpoint);
	}
	write_log(&st, st.round);

	long run_steps = 0, run_rounds = 0;   /* this process's, for replan() */
	double run_train = 0.0, run_eval = 0.0;   /* run_eval: all but the steps */
	long stopped = 0;   /* --patience: the round it stopped after */
	long r0 = st.round;   /* this process's first round */
	for (long r = r0; r < plan.nrounds; r++) {
		double te = now();
		size_t nconf0 = tr.nconfigs;
		long end = (r + 1) * plan.every < plan.total ? (r + 1) * plan.every : plan.total;
		long step0 = tr.step;
		double loss;
		if (opt.seconds > 0) {
			/* a validation's seconds: the rounds' so far, or the calibration's */
			double tv = run_rounds ? run_eval / (double)run_rounds
					       : valid_off ? 0.0 : calib_eval_s;
			loss = steps_until(&tr, end, t0 + 0.98 * opt.seconds - tv - after_seconds(tv),
					   r == r0);
		} else {
			loss = train_round(&tr, end);
		}
		long nsteps = tr.step - step0;
		if (nsteps == 0 && r > r0) {   /* the time was up before the round */
			if (!opt.quiet)
				fprintf(stderr, "%s: --seconds %g: the time is up before round %ld: "
					"round %ld is the last\n", argv0, opt.seconds, r + 1, r);
			plan.total = tr.o.total = tr.step;
			plan.nrounds = r;
			break;
		}
		int cut = tr.step < end;   /* the time was up within the round */
		double ttrain = now() - te;
		train_ema_swap(&tr);   /* --ema: the average is what is judged and kept */
		double score = opt.valid && !valid_off ? evaluate(m, w, &valid) : NAN;
		double *h = st.hist + r * NHIST;
		h[H_LOSS] = loss;
		h[H_VALID] = score;
		h[H_SECONDS] = now() - te;
		h[H_TRAIN] = ttrain;
		h[H_CPS] = ttrain > 0 ? (double)(tr.nconfigs - nconf0) / ttrain : 0.0;
		h[H_LR] = tr.lr;
		h[H_STEP] = (double)tr.step;
		st.round = r + 1;
		if (opt.seconds > 0) {
			run_steps += nsteps;
			run_train += ttrain;
			run_rounds++;
			run_eval += h[H_SECONDS] - ttrain;
			if (cut) {   /* this round is the last */
				if (!opt.quiet)
					fprintf(stderr, "%s: --seconds %g: the time is up at step %ld "
						"of %ld: round %ld is the last\n", argv0, opt.seconds,
						tr.step, plan.total, st.round);
				plan.total = tr.o.total = tr.step;
				plan.nrounds = st.round;
			} else {
				replan(&tr, &st, t0, run_steps, run_train, run_rounds, run_eval);
			}
			h = st.hist + r * NHIST;   /* it may have moved */
		}
		keep_weights(m, &st, score);
		train_ema_swap(&tr);
		if (!opt.quiet)
			report_round(&st, h, by_epoch, metric);
		double tk = now();
		if (opt.checkpoint)
			save_checkpoint(&tr, &st, vs, argc, argv);
		write_log(&st, st.round);
		run_eval += now() - tk;   /* the next replan() counts the saving too */
		if (patience_spent(&st)) {
			stopped = st.round;
			if (!opt.quiet)
				fprintf(stderr, "%s: --patience %ld: the best valid score is %ld "
					"rounds old (round %ld): stopping after round %ld of %ld\n",
					argv0, opt.patience, st.round - st.best_round, st.best_round,
					st.round, plan.nrounds);
			plan.total = tr.step;   /* the record says what ran */
			plan.nrounds = st.round;
			break;
		}
		if (opt.stop_after && st.round >= opt.stop_after && st.round < plan.nrounds) {
			if (!opt.quiet)
				fprintf(stderr, "%s: stopping after %s %ld; continue with --resume\n",
					argv0, by_epoch ? "epoch" : "round", st.round);
			exit(EX_OK);
		}
	}
	save_model(&tr, &st, vs, stopped, by_epoch, argc, argv, t0);

	train_free(&tr);
	free(st.best_params);
	free(st.hist);
	free(st.swa);
	free(opt.exclude);
	model_work_free(w);
	model_free(m);
	model_set_free(&train);
	if (opt.valid)
		model_set_free(&valid);
	close_stdout();
	return EX_OK;
}
