/* history: a stream's preparation from its header history (history.h). */
#include "history.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* One option of a stage, as its getopt_long table has it. */
typedef struct {
	char shrt;          /* short letter, 0: none */
	const char *lng;    /* long name, NULL: none */
	int arg;            /* takes an argument */
	int counts;         /* changes the graphs: part of the preparation */
	int isint;          /* the value is an integer ("01" is "1") */
	int shown;          /* always named; else only when not the default */
	const char *dflt;   /* the value when not given (flags: off) */
	const char *as;     /* how the canonical form names it */
} hopt_t;

typedef struct {
	const char *name;
	int always;         /* a step even with every option at its default */
	int layout_only;    /* changes only graphs with configurable nodes */
	hopt_t opt[10];
} hstage_t;

/* Every option of each stage is listed, counted or not, so that an option's
 * argument is never read as an option ("--collection -k" is one option). */
static const hstage_t stages[] = {
	{ "prune-hop", 1, 1, {
		{ 'k', "hops", 1, 1, 1, 1, "1", "-k" },
		{ 'd', "direction", 1, 1, 0, 0, "both", "-d" },
	} },
	{ "dijkstra-compress", 1, 1, {
		{ 'w', "weight", 1, 1, 0, 1, "unit", "-w" },
	} },
	{ "encode-base7", 0, 1, {
		{ 'c', "drop-constant", 0, 1, 0, 0, NULL, "-c" },
		{ 'd', "decode", 0, 0, 0, 0, NULL, NULL },
		{ 'u', "dedup", 0, 0, 0, 0, NULL, NULL },
		{ 'k', "keep", 1, 0, 0, 0, NULL, NULL },
		{ 'f', "force", 0, 0, 0, 0, NULL, NULL },
	} },
	{ "hlo2mp", 0, 0, {
		{ 'p', "pad", 1, 1, 1, 0, "0", "--pad" },
		{ 'c', "chunk", 1, 0, 0, 0, NULL, NULL },
		{ 0, "collection", 1, 0, 0, 0, NULL, NULL },
		{ 0, "split", 1, 0, 0, 0, NULL, NULL },
		{ 'q', "quiet", 0, 0, 0, 0, NULL, NULL },
	} },
	/* known, and never a step: they read, sample, concatenate or score */
	{ "npz2mp", 0, 0, {
		{ 'c', "chunk", 1, 0, 0, 0, NULL, NULL },
		{ 'n', "max-configs", 1, 0, 0, 0, NULL, NULL },
		{ 's', "seed", 1, 0, 0, 0, NULL, NULL },
		{ 0, "collection", 1, 0, 0, 0, NULL, NULL },
		{ 0, "split", 1, 0, 0, 0, NULL, NULL },
		{ 'q', "quiet", 0, 0, 0, 0, NULL, NULL },
	} },
	{ "mp-cat", 0, 0, { { 0 } } },
	{ "mp-dump", 0, 0, { { 0 } } },
	{ "tpugen", 0, 0, { { 0 } } },
	{ "sage-train", 0, 0, { { 0 } } },
	{ "sage-predict", 0, 0, { { 0 } } },
	{ "rank-ensemble", 0, 0, { { 0 } } },
	{ "rank-eval", 0, 0, { { 0 } } },
};

#define NOPT 10

static const hstage_t *find_stage(const char *name)
{
	for (size_t i = 0; i < sizeof stages / sizeof *stages; i++)
		if (strcmp(stages[i].name, name) == 0)
			return &stages[i];
	return NULL;
}

static int nopts(const hstage_t *s)
{
	int n = 0;
	while (n < NOPT && (s->opt[n].shrt || s->opt[n].lng))
		n++;
	return n;
}

/* The option --NAME (len bytes) names: exact, else a unique prefix. */
static int find_long(const hstage_t *s, const char *name, size_t len)
{
	int hit = -1, n = nopts(s);
	for (int i = 0; i < n; i++) {
		const char *l = s->opt[i].lng;
		if (!l || strncmp(l, name, len) != 0)
			continue;
		if (l[len] == '\0')
			return i;
		hit = hit == -1 ? i : -2;
	}
	return hit >= 0 ? hit : -1;
}

static int find_short(const hstage_t *s, char c)
{
	int n = nopts(s);
	for (int i = 0; i < n; i++)
		if (s->opt[i].shrt == c)
			return i;
	return -1;
}

static void append(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t k = strlen(s);
	while (*len + k + 1 > *cap) {
		*cap = *cap ? 2 * *cap : 64;
		*buf = xrealloc(*buf, *cap);
	}
	memcpy(*buf + *len, s, k + 1);
	*len += k;
}

/* "1" for "01"; the value itself when it is not an integer. */
static const char *norm(const hopt_t *o, const char *v, char *tmp, size_t n)
{
	if (!o->isint || !v)
		return v;
	char *end;
	long long x = strtoll(v, &end, 10);
	if (end == v || *end)
		return v;
	snprintf(tmp, n, "%lld", x);
	return tmp;
}

/* The step a stage's argv (argv[0] its path) makes, or 0 when none. */
static int make_step(hist_step_t *st, const char *name, int argc, char **argv, int tile)
{
	const hstage_t *s = find_stage(name);
	if (s && s->layout_only && tile)
		return 0;   /* tile graphs pass through it unchanged */
	if (!s) {   /* unknown: counts by name */
		st->name = xstrdup(name);
		st->desc = xstrdup(name);
		return 1;
	}
	const char *val[NOPT] = { 0 };
	int set[NOPT] = { 0 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			break;
		if (a[0] != '-' || a[1] == '\0')
			continue;   /* an operand: getopt_long permutes */
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			int k = find_long(s, a + 2, len);
			if (k < 0)
				continue;   /* not this version's option: ignored */
			set[k] = 1;
			if (s->opt[k].arg)
				val[k] = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
			continue;
		}
		for (int j = 1; a[j]; j++) {
			int k = find_short(s, a[j]);
			if (k < 0)
				continue;
			set[k] = 1;
			if (s->opt[k].arg) {
				val[k] = a[j + 1] ? a + j + 1 : i + 1 < argc ? argv[++i] : NULL;
				break;
			}
		}
	}
	char *buf = NULL, tmp[32], dtmp[32];
	size_t len = 0, cap = 0;
	int step = s->always, n = nopts(s);
	append(&buf, &len, &cap, name);
	for (int k = 0; k < n; k++) {
		const hopt_t *o = &s->opt[k];
		if (!o->counts)
			continue;
		if (!o->arg) {
			if (set[k]) {
				append(&buf, &len, &cap, " ");
				append(&buf, &len, &cap, o->as);
				step = 1;
			}
			continue;
		}
		const char *v = norm(o, set[k] && val[k] ? val[k] : o->dflt, tmp, sizeof tmp);
		const char *d = norm(o, o->dflt, dtmp, sizeof dtmp);
		int dflt = d && v && strcmp(v, d) == 0;
		if (!dflt)
			step = 1;
		if (v && (o->shown || !dflt)) {
			append(&buf, &len, &cap, " ");
			append(&buf, &len, &cap, o->as);
			append(&buf, &len, &cap, " ");
			append(&buf, &len, &cap, v);
		}
	}
	if (!step) {
		free(buf);
		return 0;
	}
	st->name = xstrdup(name);
	st->desc = buf;
	return 1;
}

static char *str_of(const msgpack_object *o)
{
	char *s = xmalloc(o->via.str.size + 1);
	memcpy(s, o->via.str.ptr, o->via.str.size);
	s[o->via.str.size] = '\0';
	return s;
}

static const msgpack_object *map_get(const msgpack_object *m, const char *key)
{
	size_t k = strlen(key);
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *o = &m->via.map.ptr[i].key;
		if (o->type == MSGPACK_OBJECT_STR && o->via.str.size == k &&
		    memcmp(o->via.str.ptr, key, k) == 0)
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

int hist_prep_parse(hist_prep_t *p, const void *bytes, size_t len, int tile, char *err,
		    size_t errlen)
{
	msgpack_unpacked u;
	size_t off = 0;
	int rc = 0;
	memset(p, 0, sizeof *p);
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, bytes, len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    u.data.type != MSGPACK_OBJECT_ARRAY) {
		snprintf(err, errlen, "history is not a list");
		msgpack_unpacked_destroy(&u);
		return -1;
	}
	const msgpack_object_array *h = &u.data.via.array;
	for (uint32_t i = 0; i < h->size && rc == 0; i++) {
		const msgpack_object *e = &h->ptr[i];
		const msgpack_object *nm = e->type == MSGPACK_OBJECT_MAP ? map_get(e, "name") : NULL;
		if (!nm || nm->type != MSGPACK_OBJECT_STR) {
			snprintf(err, errlen, "history entry %u is not a {name, version, argv} map",
				 (unsigned)i);
			rc = -1;
			break;
		}
		const msgpack_object *av = map_get(e, "argv");
		uint32_t na = av && av->type == MSGPACK_OBJECT_ARRAY ? av->via.array.size : 0;
		char **argv = xmallocarray((size_t)na + 1, sizeof *argv);
		int argc = 0;
		for (uint32_t j = 0; j < na; j++)
			if (av->via.array.ptr[j].type == MSGPACK_OBJECT_STR)
				argv[argc++] = str_of(&av->via.array.ptr[j]);
		argv[argc] = NULL;
		char *name = str_of(nm);
		hist_step_t st;
		if (make_step(&st, name, argc, argv, tile)) {
			p->step = xreallocarray(p->step, p->n + 1, sizeof *p->step);
			p->step[p->n++] = st;
		}
		free(name);
		for (int j = 0; j < argc; j++)
			free(argv[j]);
		free(argv);
	}
	msgpack_unpacked_destroy(&u);
	if (rc)
		hist_prep_free(p);
	return rc;
}

int hist_prep_of_header(hist_prep_t *p, const record_t *hdr, int tile, char *err, size_t errlen)
{
	static const unsigned char empty = 0x90;
	const field_t *f = rec_get(hdr, "history");
	if (!f || f->kind == V_NIL)
		return hist_prep_parse(p, &empty, 1, tile, err, errlen);
	if (f->kind != V_RAW) {
		memset(p, 0, sizeof *p);
		snprintf(err, errlen, "history is not a list");
		return -1;
	}
	return hist_prep_parse(p, f->v.raw.bytes, f->v.raw.len, tile, err, errlen);
}

void hist_prep_free(hist_prep_t *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->step[i].name);
		free(p->step[i].desc);
	}
	free(p->step);
	memset(p, 0, sizeof *p);
}

static int has_name(const hist_prep_t *p, size_t from, const char *name)
{
	for (size_t i = from; i < p->n; i++)
		if (strcmp(p->step[i].name, name) == 0)
			return 1;
	return 0;
}

static void chain(const hist_prep_t *p, char *buf, size_t n)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < p->n && len < n; i++) {
		int k = snprintf(buf + len, n - len, "%s%s", i ? " | " : "", p->step[i].desc);
		if (k < 0)
			break;
		len += (size_t)k;
	}
	if (!p->n)
		snprintf(buf, n, "no preparing stage");
}

int hist_prep_diff(const hist_prep_t *model, const hist_prep_t *data, char *buf, size_t n)
{
	size_t i = 0;
	while (i < model->n && i < data->n && strcmp(model->step[i].desc, data->step[i].desc) == 0)
		i++;
	if (i == model->n && i == data->n)
		return 0;
	const hist_step_t *a = i < model->n ? &model->step[i] : NULL;
	const hist_step_t *b = i < data->n ? &data->step[i] : NULL;
	if (a && b && strcmp(a->name, b->name) == 0)
		snprintf(buf, n, "the model's data went through %s, this stream through %s",
			 a->desc, b->desc);
	else if (a && !has_name(data, i, a->name))
		snprintf(buf, n, "the model's data went through %s, this stream did not", a->desc);
	else if (b && !has_name(model, i, b->name))
		snprintf(buf, n, "this stream went through %s, the model's data did not", b->desc);
	else {
		char ca[512], cb[512];
		chain(model, ca, sizeof ca);
		chain(data, cb, sizeof cb);
		snprintf(buf, n, "the model's data went through %s, this stream through %s", ca, cb);
	}
	return 1;
}
