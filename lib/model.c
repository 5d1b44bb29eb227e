/* model: the hyper-parameters, the parameter table and the model files
 * (model.h, docs/model.md); the inputs are model_data.c, the layers
 * model_layers.c, the forward and backward model_forward.c. */
#include "model.h"
#include "err.h"
#include "outfile.h"
#include "rng.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* hyper-parameters and the size table */

void model_hp_default(model_hp_t *hp, int kind)
{
	memset(hp, 0, sizeof *hp);
	hp->kind = kind;
	hp->hidden = 64;
	hp->layers = 3;
	hp->op_dim = 16;
	hp->cfg_dim = 4;
	hp->pool_max = 1;
	hp->se = 1;
	hp->se_dim = 16;
	hp->xattn = 0;
	hp->batch = 64;
	hp->arch = MODEL_ARCH_SAGE;
	hp->heads = 4;
	hp->appnp_k = 10;
	hp->appnp_alpha = 0.1f;
	hp->pe_k = 0;
}

static const char *const arch_names[MODEL_NARCH] = { "sage", "gat", "gin", "appnp", "gps", "mlp" };

const char *model_arch_name(int arch)
{
	return arch >= 0 && arch < MODEL_NARCH ? arch_names[arch] : NULL;
}

int model_arch_parse(const char *s)
{
	for (int i = 0; i < MODEL_NARCH; i++)
		if (strcmp(s, arch_names[i]) == 0)
			return i;
	return -1;
}

const char *model_hp_check(const model_hp_t *hp)
{
	if (hp->kind != MODEL_LAYOUT && hp->kind != MODEL_TILE)
		return "kind must be layout or tile";
	if (hp->hidden < 1 || hp->hidden > 4096)
		return "hidden size must be in 1..4096";
	if (hp->layers < 0 || hp->layers > MODEL_MAX_LAYERS)
		return "layers must be in 0..16";
	if (hp->op_dim < 1 || hp->op_dim > 1024)
		return "opcode embedding size must be in 1..1024";
	if (hp->cfg_dim < 1 || hp->cfg_dim > 256)
		return "config embedding size must be in 1..256";
	if (hp->se && (hp->se_dim < 1 || hp->se_dim > 4096))
		return "squeeze-excitation size must be in 1..4096";
	if (hp->batch < 1 || hp->batch > 1000000)
		return "batch must be in 1..1000000";
	if (hp->arch < 0 || hp->arch >= MODEL_NARCH)
		return "unknown arch";
	if ((hp->arch == MODEL_ARCH_GAT || hp->arch == MODEL_ARCH_GPS) &&
	    (hp->heads < 1 || hp->hidden % hp->heads != 0))
		return "heads must be at least 1 and divide the hidden size";
	if (hp->arch == MODEL_ARCH_APPNP) {
		if (hp->appnp_k < 0 || hp->appnp_k > 1000)
			return "APPNP steps must be in 0..1000";
		if (!(hp->appnp_alpha > 0.0f && hp->appnp_alpha <= 1.0f))
			return "APPNP alpha must be in (0, 1]";
	}
	if (hp->pe_k < 0 || hp->pe_k > MODEL_MAX_PE)
		return "positional encoding size must be in 0..64";
	if (hp->tile_late && hp->kind != MODEL_TILE)
		return "the late config join is for tile models only";
	if (hp->norm != MODEL_NORM_INSTANCE && hp->norm != MODEL_NORM_LAYER)
		return "norm must be instance or layer";
	return NULL;
}

size_t model_pooled_dim(const model_hp_t *hp)
{
	return (size_t)hp->hidden * (hp->pool_max ? 2 : 1);
}

typedef struct {
	model_ptab_t *t;
	size_t n, cap;
} tabb_t;

/* The parameter list, in file order.  Walks it once: appends each tensor
 * to the table tb (when not NULL) and points the view v into base (when not
 * NULL) at its offset. */
static size_t walk_params(const model_hp_t *hp, tabb_t *tb, float *base, model_params_t *v)
{
	int64_t H = hp->hidden, E = hp->op_dim, C = hp->cfg_dim, R = hp->se_dim;
	int64_t P = (int64_t)model_pooled_dim(hp);
	size_t off = 0;
	char nm[24];
	model_params_t dummy;
	if (!v)
		v = &dummy;
	memset(v, 0, sizeof *v);
#define ADD(field, name_, d0, d1, init_, scale_) do { \
		size_t sz_ = (size_t)(d0) * (size_t)((d1) > 0 ? (d1) : 1); \
		if (tb) { \
			if (tb->n == tb->cap) { \
				tb->cap = tb->cap ? 2 * tb->cap : 32; \
				tb->t = xreallocarray(tb->t, tb->cap, sizeof *tb->t); \
			} \
			model_ptab_t *e_ = &tb->t[tb->n++]; \
			memset(e_, 0, sizeof *e_); \
			snprintf(e_->name, sizeof e_->name, "%s", (name_)); \
			e_->ndim = (d1) > 0 ? 2 : 1; \
			e_->shape[0] = (d0); \
			e_->shape[1] = (d1) > 0 ? (d1) : 0; \
			e_->size = sz_; \
			e_->off = off; \
			e_->init = (init_); \
			e_->scale = (float)(scale_); \
			e_->decay = e_->ndim == 2; \
		} \
		if (base) \
			v->field = base + off; \
		off += sz_; \
	} while (0)
	ADD(op_emb, "op_emb", MODEL_NOPS, E, MODEL_INIT_NORMAL, 1.0);
	ADD(op_w, "op_w", H, E, MODEL_INIT_NORMAL, 1.0 / sqrt((double)E));
	ADD(in_w, "in_w", H, MODEL_NFEAT, MODEL_INIT_NORMAL, 1.0 / sqrt(MODEL_NFEAT));
	ADD(in_b, "in_b", H, 0, MODEL_INIT_ZERO, 0);
	if (hp->pe_k > 0)
		ADD(pe_w, "pe_w", H, hp->pe_k, MODEL_INIT_NORMAL, 1.0 / sqrt((double)hp->pe_k));
	if (hp->kind == MODEL_LAYOUT) {
		ADD(cfg_emb, "cfg_emb", MODEL_NSYM, C, MODEL_INIT_NORMAL, 1.0);
		ADD(cfg_w, "cfg_w", H, MODEL_NSLOT * C, MODEL_INIT_NORMAL,
		    1.0 / sqrt((double)(MODEL_NSLOT * C)));
	} else {
		ADD(cfg_w, "cfg_w", hp->tile_late ? P : H, MODEL_NTILE, MODEL_INIT_NORMAL,
		    1.0 / sqrt(MODEL_NTILE));
	}
	for (int l = 0; l < hp->layers; l++) {
		double sH = 1.0 / sqrt((double)H);
#define LADD(field, d0, d1, init_, scale_) do { \
		snprintf(nm, sizeof nm, "l%d.%s", l, #field); \
		ADD(layer[l].field, nm, d0, d1, init_, scale_); \
	} while (0)
		LADD(norm_g, H, 0, MODEL_INIT_ONE, 0);
		LADD(norm_b, H, 0, MODEL_INIT_ZERO, 0);
		switch (hp->arch) {
		case MODEL_ARCH_SAGE:
		case MODEL_ARCH_GPS:
			LADD(sage_w, 3 * H, H, MODEL_INIT_NORMAL, sH);
			LADD(sage_b, H, 0, MODEL_INIT_ZERO, 0);
			if (hp->arch == MODEL_ARCH_SAGE)
				break;
			LADD(la_w, 3 * H, H, MODEL_INIT_NORMAL, sH);
			LADD(la_b, 3 * H, 0, MODEL_INIT_ZERO, 0);
			LADD(la_o, H, H, MODEL_INIT_NORMAL, sH);
			LADD(la_ob, H, 0, MODEL_INIT_ZERO, 0);
			break;
		case MODEL_ARCH_GAT:
			LADD(gat_w, H, H, MODEL_INIT_NORMAL, sH);
			LADD(gat_a, 4, H, MODEL_INIT_NORMAL, 1.0 / sqrt((double)(H / hp->heads)));
			LADD(gat_b, H, 0, MODEL_INIT_ZERO, 0);
			break;
		case MODEL_ARCH_GIN:
			LADD(gin_eps, 1, 0, MODEL_INIT_ZERO, 0);
			LADD(gin_w1, H, H, MODEL_INIT_NORMAL, sH);
			LADD(gin_b1, H, 0, MODEL_INIT_ZERO, 0);
			LADD(gin_w2, H, H, MODEL_INIT_NORMAL, sH);
			LADD(gin_b2, H, 0, MODEL_INIT_ZERO, 0);
			break;
		default:   /* appnp, mlp: a node-wise Linear */
			LADD(lin_w, H, H, MODEL_INIT_NORMAL, sH);
			LADD(lin_b, H, 0, MODEL_INIT_ZERO, 0);
			break;
		}
		if (hp->se) {
			LADD(se_w1, R, H, MODEL_INIT_NORMAL, 1.0 / sqrt((double)H));
			LADD(se_b1, R, 0, MODEL_INIT_ZERO, 0);
			LADD(se_w2, H, R, MODEL_INIT_NORMAL, 1.0 / sqrt((double)R));
			LADD(se_b2, H, 0, MODEL_INIT_ZERO, 0);
		}
#undef LADD
	}
	if (hp->xattn) {
		ADD(xa_w, "xa_w", 3 * P, P, MODEL_INIT_NORMAL, 1.0 / sqrt((double)P));
		ADD(xa_b, "xa_b", 3 * P, 0, MODEL_INIT_ZERO, 0);
	}
	ADD(head_w1, "head_w1", H, P, MODEL_INIT_NORMAL, 1.0 / sqrt((double)P));
	ADD(head_b1, "head_b1", H, 0, MODEL_INIT_ZERO, 0);
	ADD(head_w2, "head_w2", 1, H, MODEL_INIT_NORMAL, 1.0 / sqrt((double)H));
	ADD(head_b2, "head_b2", 1, 0, MODEL_INIT_ZERO, 0);
#undef ADD
	return off;
}

void model_params_view(const model_hp_t *hp, float *base, model_params_t *v)
{
	walk_params(hp, NULL, base, v);
}

model_t *model_new(const model_hp_t *hp, const char **err)
{
	const char *e = model_hp_check(hp);
	if (e) {
		if (err)
			*err = e;
		return NULL;
	}
	model_t *m = xcalloc(1, sizeof *m);
	tabb_t tb = { 0 };
	m->hp = *hp;
	m->nparams = walk_params(hp, &tb, NULL, NULL);
	m->tab = tb.t;
	m->ntab = tb.n;
	m->params = xcalloc(m->nparams, sizeof *m->params);
	m->grads = xcalloc(m->nparams, sizeof *m->grads);
	walk_params(hp, NULL, m->params, &m->p);
	walk_params(hp, NULL, m->grads, &m->g);
	for (int i = 0; i < MODEL_NFEAT; i++)
		m->feat_std[i] = 1.0f;
	for (int i = 0; i < MODEL_NTILE; i++)
		m->tile_std[i] = 1.0f;
	for (size_t i = 0; i < m->ntab; i++)
		if (m->tab[i].init == MODEL_INIT_ONE)
			for (size_t k = 0; k < m->tab[i].size; k++)
				m->params[m->tab[i].off + k] = 1.0f;
	return m;
}

void model_free(model_t *m)
{
	if (!m)
		return;
	free(m->tab);
	free(m->params);
	free(m->grads);
	free(m);
}

void model_init(model_t *m, uint64_t seed)
{
	for (size_t i = 0; i < m->ntab; i++) {
		const model_ptab_t *t = &m->tab[i];
		float *p = m->params + t->off;
		rng_t r;
		/* one stream per tensor, by its position in the table */
		rng_derive(&r, seed, 0x5a6e, i, 0);
		for (size_t k = 0; k < t->size; k++)
			p[k] = t->init == MODEL_INIT_ONE ? 1.0f :
			       t->init == MODEL_INIT_ZERO ? 0.0f :
			       (float)(t->scale * rng_normal(&r));
	}
}

void model_zero_grad(model_t *m)
{
	memset(m->grads, 0, m->nparams * sizeof *m->grads);
}

const model_ptab_t *model_find(const model_t *m, const char *name)
{
	for (size_t i = 0; i < m->ntab; i++)
		if (strcmp(m->tab[i].name, name) == 0)
			return &m->tab[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* model files */

static tensor_t *tensor_of(const float *x, int ndim, const int64_t *shape)
{
	tensor_t *t = tensor_new(DT_F32, ndim, shape);
	memcpy(t->data, x, t->nbytes);
	return t;
}

void model_write(swriter_t *sw, const model_t *m, const float *params)
{
	const model_hp_t *hp = &m->hp;
	record_t *r = rec_new("model");
	rec_set_str(r, "format", MODEL_FORMAT);
	rec_set_int(r, "version", MODEL_VERSION);
	rec_set_str(r, "kind", hp->kind == MODEL_TILE ? "tile" : "layout");
	rec_set_int(r, "hidden", hp->hidden);
	rec_set_int(r, "layers", hp->layers);
	rec_set_int(r, "op_dim", hp->op_dim);
	rec_set_int(r, "cfg_dim", hp->cfg_dim);
	rec_set_str(r, "pool", hp->pool_max ? "mean+max" : "mean");
	rec_set_bool(r, "se", hp->se);
	rec_set_int(r, "se_dim", hp->se_dim);
	rec_set_bool(r, "xattn", hp->xattn);
	rec_set_int(r, "batch", hp->batch);
	rec_set_str(r, "arch", model_arch_name(hp->arch));
	rec_set_int(r, "heads", hp->heads);
	rec_set_int(r, "appnp_k", hp->appnp_k);
	rec_set_float(r, "appnp_alpha", hp->appnp_alpha);
	rec_set_int(r, "pe_k", hp->pe_k);
	if (hp->kind == MODEL_TILE)
		rec_set_str(r, "tile_join", hp->tile_late ? "late" : "early");
	if (hp->norm == MODEL_NORM_LAYER)   /* absent: instance (every older file) */
		rec_set_str(r, "norm", "layer");
	rec_set_int(r, "nfeat", MODEL_NFEAT);
	rec_set_int(r, "nops", MODEL_NOPS);
	rec_set_int(r, "nparams", (int64_t)m->nparams);
	int64_t nf = MODEL_NFEAT, nt = MODEL_NTILE;
	rec_set_tensor(r, "feat_mean", tensor_of(m->feat_mean, 1, &nf));
	rec_set_tensor(r, "feat_std", tensor_of(m->feat_std, 1, &nf));
	rec_set_tensor(r, "tile_mean", tensor_of(m->tile_mean, 1, &nt));
	rec_set_tensor(r, "tile_std", tensor_of(m->tile_std, 1, &nt));
	sw_write(sw, r);
	rec_free(r);
	for (size_t i = 0; i < m->ntab; i++) {
		const model_ptab_t *t = &m->tab[i];
		r = rec_new("param");
		rec_set_str(r, "name", t->name);
		rec_set_tensor(r, "value", tensor_of(params + t->off, t->ndim, t->shape));
		sw_write(sw, r);
		rec_free(r);
	}
}

/* The model record's integer (or boolean) key into *v: 0, or -1 with err. */
static int hp_int(const record_t *r, const char *key, int *v, char *err, size_t errlen)
{
	const field_t *f = rec_get(r, key);
	int64_t x;
	if (f && f->kind == V_BOOL)
		x = f->v.b;
	else if (!rec_int(r, key, &x))
		return rec_err(r, err, errlen, "missing integer '%s'", key);
	if (x < INT_MIN || x > INT_MAX)
		return rec_err(r, err, errlen, "%s %lld out of range", key, (long long)x);
	*v = (int)x;
	return 0;
}

static int stats_from(record_t *r, const char *key, float *dst, int64_t n, char *err,
		      size_t errlen)
{
	tensor_t *t;
	if (rec_get_tensor(r, key, DT_F32, 1, 1, &t, err, errlen) != 0)
		return -1;
	if (t->shape[0] != n)
		return rec_err(r, err, errlen, "%s has %lld values, want %lld", key,
			       (long long)t->shape[0], (long long)n);
	memcpy(dst, t->data, t->nbytes);
	return 0;
}

/* The hyper-parameters of a `model` record. */
static int hp_from(record_t *r, model_hp_t *hp, char *err, size_t errlen)
{
	const char *fmt = rec_str(r, "format");
	int64_t ver;
	int nfeat, nops;
	memset(hp, 0, sizeof *hp);
	if (!fmt || strcmp(fmt, MODEL_FORMAT) != 0)
		return rec_err(r, err, errlen, "not a %s model (format '%s')", MODEL_FORMAT,
			       fmt ? fmt : "");
	if (!rec_int(r, "version", &ver))
		return rec_err(r, err, errlen, "missing integer 'version'");
	if (ver < 1 || ver > MODEL_VERSION)
		return rec_err(r, err, errlen, "model version %lld; this program reads versions "
			       "1 to %d (retrain or use the matching release)", (long long)ver,
			       MODEL_VERSION);
	if (hp_int(r, "nfeat", &nfeat, err, errlen) || hp_int(r, "nops", &nops, err, errlen))
		return -1;
	if (nfeat != MODEL_NFEAT || nops != MODEL_NOPS)
		return rec_err(r, err, errlen, "model made for %d node features and %d opcodes, "
			       "this program uses %d and %d", nfeat, nops, MODEL_NFEAT, MODEL_NOPS);
	const char *kind = rec_str(r, "kind"), *pool = rec_str(r, "pool");
	if (!kind || !pool)
		return rec_err(r, err, errlen, "missing string '%s'", kind ? "pool" : "kind");
	if (strcmp(kind, "layout") == 0)
		hp->kind = MODEL_LAYOUT;
	else if (strcmp(kind, "tile") == 0)
		hp->kind = MODEL_TILE;
	else
		return rec_err(r, err, errlen, "unknown model kind '%s'", kind);
	if (strcmp(pool, "mean+max") == 0)
		hp->pool_max = 1;
	else if (strcmp(pool, "mean") != 0)
		return rec_err(r, err, errlen, "unknown pooling '%s'", pool);
	if (hp_int(r, "hidden", &hp->hidden, err, errlen) ||
	    hp_int(r, "layers", &hp->layers, err, errlen) ||
	    hp_int(r, "op_dim", &hp->op_dim, err, errlen) ||
	    hp_int(r, "cfg_dim", &hp->cfg_dim, err, errlen) ||
	    hp_int(r, "se", &hp->se, err, errlen) ||
	    hp_int(r, "se_dim", &hp->se_dim, err, errlen) ||
	    hp_int(r, "xattn", &hp->xattn, err, errlen) ||
	    hp_int(r, "batch", &hp->batch, err, errlen))
		return -1;
	/* version 1 models are GraphSAGE without positional encoding */
	model_hp_t dflt;
	model_hp_default(&dflt, hp->kind);
	hp->arch = dflt.arch;
	hp->heads = dflt.heads;
	hp->appnp_k = dflt.appnp_k;
	hp->appnp_alpha = dflt.appnp_alpha;
	if (ver >= 2) {
		const char *arch = rec_str(r, "arch");
		if (!arch)
			return rec_err(r, err, errlen, "missing string 'arch'");
		hp->arch = model_arch_parse(arch);
		if (hp->arch < 0)
			return rec_err(r, err, errlen, "unknown arch '%s'", arch);
		double alpha;
		if (hp_int(r, "heads", &hp->heads, err, errlen) ||
		    hp_int(r, "appnp_k", &hp->appnp_k, err, errlen) ||
		    hp_int(r, "pe_k", &hp->pe_k, err, errlen))
			return -1;
		if (!rec_float(r, "appnp_alpha", &alpha))
			return rec_err(r, err, errlen, "appnp_alpha missing or not a number");
		hp->appnp_alpha = (float)alpha;
	}
	/* tile_join: absent in models written before it existed (early) */
	const char *join = rec_str(r, "tile_join");
	if (join) {
		if (hp->kind != MODEL_TILE || (strcmp(join, "early") && strcmp(join, "late")))
			return rec_err(r, err, errlen,
				       "tile_join '%s' is not early or late of a tile model", join);
		hp->tile_late = !strcmp(join, "late");
	}
	/* norm: written only when it is not the instance norm */
	const char *norm = rec_str(r, "norm");
	if (norm) {
		if (strcmp(norm, "instance") && strcmp(norm, "layer"))
			return rec_err(r, err, errlen, "norm '%s' is not instance or layer", norm);
		hp->norm = strcmp(norm, "layer") ? MODEL_NORM_INSTANCE : MODEL_NORM_LAYER;
	}
	return 0;
}

/* The model record: a model with its statistics, parameters zeroed. */
static model_t *model_from(record_t *r, char *err, size_t errlen)
{
	model_hp_t hp;
	const char *why = NULL;
	int np;
	if (hp_from(r, &hp, err, errlen) != 0)
		return NULL;
	model_t *m = model_new(&hp, &why);
	if (!m) {
		rec_err(r, err, errlen, "bad hyper-parameters: %s", why);
		return NULL;
	}
	if (hp_int(r, "nparams", &np, err, errlen) != 0)
		goto fail;
	if ((size_t)np != m->nparams || np < 0) {
		rec_err(r, err, errlen, "nparams %d does not match the hyper-parameters (%zu)", np,
			m->nparams);
		goto fail;
	}
	if (stats_from(r, "feat_mean", m->feat_mean, MODEL_NFEAT, err, errlen) ||
	    stats_from(r, "feat_std", m->feat_std, MODEL_NFEAT, err, errlen) ||
	    stats_from(r, "tile_mean", m->tile_mean, MODEL_NTILE, err, errlen) ||
	    stats_from(r, "tile_std", m->tile_std, MODEL_NTILE, err, errlen))
		goto fail;
	return m;
fail:
	model_free(m);
	return NULL;
}

/* A `param` record into m (seen: the tensors given so far). */
static int param_from(model_t *m, uint8_t *seen, record_t *r, char *err, size_t errlen)
{
	const char *name = rec_str(r, "name");
	if (!name)
		return rec_err(r, err, errlen, "missing string 'name'");
	const model_ptab_t *t = model_find(m, name);
	if (!t)
		return rec_err(r, err, errlen, "unknown parameter '%s' for these hyper-parameters",
			       name);
	size_t i = (size_t)(t - m->tab);
	if (seen[i])
		return rec_err(r, err, errlen, "parameter '%s' given twice", name);
	tensor_t *v;
	if (rec_get_tensor(r, "value", DT_F32, t->ndim, 1, &v, err, errlen) != 0)
		return -1;
	if (v->shape[0] != t->shape[0] || (t->ndim == 2 && v->shape[1] != t->shape[1])) {
		char sh[64];
		return rec_err(r, err, errlen, "parameter '%s' has shape %s, want (%lld%s%lld)",
			       name, tensor_shape_str(v, sh, sizeof sh), (long long)t->shape[0],
			       t->ndim == 2 ? ", " : "",
			       t->ndim == 2 ? (long long)t->shape[1] : 0LL);
	}
	memcpy(m->params + t->off, v->data, v->nbytes);
	seen[i] = 1;
	return 0;
}

static void free_extra(record_t **extra, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rec_free(extra[i]);
	free(extra);
}

int model_parse(sreader_t *sr, model_t **out, record_t ***extra, size_t *nextra, char *err,
		size_t errlen)
{
	record_t *r = NULL, **ex = NULL;
	size_t nex = 0;
	model_t *m = NULL;
	uint8_t *seen = NULL;
	int got, rc = EX_DATA;
	*out = NULL;
	while ((got = sr_read(sr, &r, err, errlen)) == SR_OK && rec_is(r, "header"))
		rec_free(r);
	if (got != SR_OK) {
		if (got == SR_DONE)
			snprintf(err, errlen, "%s: not a model file (no model record)", sr_name(sr));
		return got == SR_EIO ? EX_IO : EX_DATA;
	}
	if (!rec_is(r, "model")) {
		rec_err(r, err, errlen, "not a model file: first record is '%s', want 'model'",
			r->type);
		goto fail;
	}
	if (!(m = model_from(r, err, errlen)))
		goto fail;
	rec_free(r);
	r = NULL;
	seen = xcalloc(m->ntab, 1);
	while ((got = sr_read(sr, &r, err, errlen)) == SR_OK) {
		if (rec_is(r, "param")) {
			if (param_from(m, seen, r, err, errlen) != 0)
				goto fail;
			rec_free(r);
		} else if (extra && !rec_is(r, "end")) {   /* training info ... */
			ex = xreallocarray(ex, nex + 1, sizeof *ex);
			ex[nex++] = r;
		} else {
			rec_free(r);
		}
		r = NULL;
	}
	if (got != SR_DONE) {
		rc = got == SR_EIO ? EX_IO : EX_DATA;
		goto fail;
	}
	for (size_t i = 0; i < m->ntab; i++)
		if (!seen[i]) {
			snprintf(err, errlen, "%s: parameter '%s' missing", sr_name(sr),
				 m->tab[i].name);
			goto fail;
		}
	free(seen);
	if (extra) {
		*extra = ex;
		*nextra = nex;
	}
	*out = m;
	return 0;
fail:
	rec_free(r);
	free(seen);
	free_extra(ex, nex);
	model_free(m);
	return rc;
}

model_t *model_read(sreader_t *sr, record_t ***extra, size_t *nextra)
{
	char err[1024];
	model_t *m;
	int rc = model_parse(sr, &m, extra, nextra, err, sizeof err);
	if (rc)
		die(rc, "%s", err);
	return m;
}

void model_save(const char *path, const model_t *m, const float *params,
	       record_t *const *extra, size_t nextra, const char *prog,
	       int argc, char **argv)
{
	outfile_t *of = of_open(path);
	swriter_t *sw = sw_open_fd(of->fd, path);
	record_t *hdr = header_new();
	header_append(hdr, prog, argc, argv);
	sw_write(sw, hdr);
	rec_free(hdr);
	model_write(sw, m, params);
	for (size_t i = 0; i < nextra; i++)
		sw_write(sw, extra[i]);
	sw_end(sw);
	sw_release(sw);
	of_commit(of);  /* fsync, rename over path (a regular file) */
}

int model_try_load(const char *path, model_t **out, record_t ***extra, size_t *nextra,
		   char *err, size_t errlen)
{
	*out = NULL;
	sreader_t *sr = sr_try_open(path, err, errlen);
	if (!sr)
		return EX_IO;
	int rc = model_parse(sr, out, extra, nextra, err, errlen);
	sr_close(sr);
	return rc;
}

model_t *model_load(const char *path, record_t ***extra, size_t *nextra)
{
	char err[1024];
	model_t *m;
	int rc = model_try_load(path, &m, extra, nextra, err, sizeof err);
	if (rc)
		die(rc, "%s", err);
	return m;
}
