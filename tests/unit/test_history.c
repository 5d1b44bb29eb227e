/* Unit tests for lib/history: which stages and options make a stream's
 * preparation, and how two preparations' first difference is named. */
#include "ut.h"
#include "err.h"
#include "history.h"
#include "stream.h"

#include <stdlib.h>
#include <string.h>

/* A header whose history is the stages of cmd, "a -x 1 | b c" (argv split
 * on spaces, argv[0] a path as a shell would give it). */
static record_t *header_of(const char *cmd)
{
	record_t *h = header_new();
	char *s = xstrdup(cmd), *save = NULL;
	for (char *st = strtok_r(s, "|", &save); st; st = strtok_r(NULL, "|", &save)) {
		char *argv[32], *save2 = NULL, path[64];
		int argc = 0;
		for (char *a = strtok_r(st, " ", &save2); a && argc < 31; a = strtok_r(NULL, " ", &save2))
			argv[argc++] = a;
		if (!argc)
			continue;
		snprintf(path, sizeof path, "/usr/local/bin/%s", argv[0]);
		const char *name = argv[0];
		argv[0] = path;
		header_append(h, name, argc, argv);
	}
	free(s);
	return h;
}

/* The preparation of cmd, as "step | step" ("" for none). */
static const char *prep_of_kind(const char *cmd, int tile)
{
	static char buf[512];
	char err[128];
	hist_prep_t p;
	record_t *h = header_of(cmd);
	buf[0] = '\0';
	if (hist_prep_of_header(&p, h, tile, err, sizeof err) != 0) {
		snprintf(buf, sizeof buf, "error: %s", err);
	} else {
		for (size_t i = 0; i < p.n; i++) {
			if (i)
				strcat(buf, " | ");
			strcat(buf, p.step[i].desc);
		}
		hist_prep_free(&p);
	}
	rec_free(h);
	return buf;
}

static const char *prep_of(const char *cmd) { return prep_of_kind(cmd, 0); }

/* The difference hist_prep_diff names ("" when none). */
static const char *diff_of(const char *model, const char *data)
{
	static char buf[1024];
	char err[128];
	hist_prep_t a, b;
	record_t *ha = header_of(model), *hb = header_of(data);
	UT_EQ_INT(hist_prep_of_header(&a, ha, 0, err, sizeof err), 0);
	UT_EQ_INT(hist_prep_of_header(&b, hb, 0, err, sizeof err), 0);
	if (!hist_prep_diff(&a, &b, buf, sizeof buf))
		buf[0] = '\0';
	hist_prep_free(&a);
	hist_prep_free(&b);
	rec_free(ha);
	rec_free(hb);
	return buf;
}

static void test_steps(void)
{
	/* sources, sampling and file names are no step; defaults filled in */
	UT_EQ_STR(prep_of("npz2mp -q --max-configs 256 --seed 1 d/train"), "");
	UT_EQ_STR(prep_of("npz2mp d | prune-hop"), "prune-hop -k 1");
	UT_EQ_STR(prep_of("npz2mp d | prune-hop -k 1 -d both f.mp"), "prune-hop -k 1");
	/* getopt's spellings: --opt=V, -kV, abbreviations, options after operands */
	UT_EQ_STR(prep_of("prune-hop --hops=2"), "prune-hop -k 2");
	UT_EQ_STR(prep_of("prune-hop -k2"), "prune-hop -k 2");
	UT_EQ_STR(prep_of("prune-hop --ho 02"), "prune-hop -k 2");
	UT_EQ_STR(prep_of("prune-hop f.mp -k 3 --direction in"), "prune-hop -k 3 -d in");
	UT_EQ_STR(prep_of("prune-hop -k 1 -k 4"), "prune-hop -k 4");   /* the last wins */
	UT_EQ_STR(prep_of("prune-hop -- -k 4"), "prune-hop -k 1");    /* an operand */
	UT_EQ_STR(prep_of("dijkstra-compress"), "dijkstra-compress -w unit");
	UT_EQ_STR(prep_of("dijkstra-compress --weight bytes"), "dijkstra-compress -w bytes");
	/* encode-base7: a step only with -c; --keep's argument is not an option */
	UT_EQ_STR(prep_of("encode-base7 --dedup --keep first --force"), "");
	UT_EQ_STR(prep_of("encode-base7 -d"), "");
	UT_EQ_STR(prep_of("encode-base7 -uc"), "encode-base7 -c");
	UT_EQ_STR(prep_of("encode-base7 --drop-constant"), "encode-base7 -c");
	UT_EQ_STR(prep_of("encode-base7 -kc"), "");   /* -k takes "c" */
	/* hlo2mp: a step only when the padding is not 0 */
	UT_EQ_STR(prep_of("hlo2mp -q --pad 0 x.pb"), "");
	UT_EQ_STR(prep_of("hlo2mp --pad -1 x.pb"), "hlo2mp --pad -1");
	UT_EQ_STR(prep_of("hlo2mp -p-1 x.pb"), "hlo2mp --pad -1");
	/* the npz2mp option whose argument looks like prune-hop's is not read */
	UT_EQ_STR(prep_of("npz2mp --collection -k d | prune-hop -k 2"), "prune-hop -k 2");
	/* the stages that concatenate or score are no step; a stranger is, by name */
	UT_EQ_STR(prep_of("npz2mp d | mp-cat a b | sage-predict --model m"), "");
	UT_EQ_STR(prep_of("npz2mp d | mystage --x 1 | prune-hop"), "mystage | prune-hop -k 1");
	/* tile graphs pass through the reducers and encode-base7, not hlo2mp */
	UT_EQ_STR(prep_of_kind("npz2mp d | prune-hop -k 2 | dijkstra-compress | encode-base7 -c", 1), "");
	UT_EQ_STR(prep_of_kind("hlo2mp --pad -1 | prune-hop", 1), "hlo2mp --pad -1");
}

static void test_diff(void)
{
	const char *k1 = "npz2mp -q --max-configs 256 --seed 1 t | prune-hop -k 1 | encode-base7 --dedup";
	/* collection.sh's valid and test streams: other sampling, no dedup */
	UT_EQ_STR(diff_of(k1, "npz2mp -q v | prune-hop -k 1 | encode-base7"), "");
	UT_EQ_STR(diff_of(k1, "npz2mp -q v | prune-hop | encode-base7 -d"), "");
	UT_EQ_STR(diff_of(k1, "npz2mp v | encode-base7"),
		  "the model's data went through prune-hop -k 1, this stream did not");
	UT_EQ_STR(diff_of(k1, "npz2mp v | prune-hop -k 2"),
		  "the model's data went through prune-hop -k 1, this stream through prune-hop -k 2");
	UT_EQ_STR(diff_of(k1, "npz2mp v | prune-hop -k 1 | encode-base7 -c"),
		  "this stream went through encode-base7 -c, the model's data did not");
	UT_EQ_STR(diff_of("npz2mp t", "npz2mp v | dijkstra-compress"),
		  "this stream went through dijkstra-compress -w unit, the model's data did not");
	/* the same stages in another order: both chains named */
	UT_EQ_STR(diff_of("prune-hop | dijkstra-compress", "dijkstra-compress | prune-hop"),
		  "the model's data went through prune-hop -k 1 | dijkstra-compress -w unit, "
		  "this stream through dijkstra-compress -w unit | prune-hop -k 1");
}

static void test_malformed(void)
{
	char err[128];
	hist_prep_t p;
	static const unsigned char not_list[] = { 0xa1, 'x' };        /* "x" */
	static const unsigned char no_name[] = { 0x91, 0x80 };        /* [{}] */
	static const unsigned char empty[] = { 0x90 };                /* [] */
	UT_EQ_INT(hist_prep_parse(&p, not_list, sizeof not_list, 0, err, sizeof err), -1);
	UT_EQ_STR(err, "history is not a list");
	UT_EQ_INT(hist_prep_parse(&p, no_name, sizeof no_name, 0, err, sizeof err), -1);
	UT_EQ_STR(err, "history entry 0 is not a {name, version, argv} map");
	UT_EQ_INT(hist_prep_parse(&p, empty, sizeof empty, 0, err, sizeof err), 0);
	UT_EQ_INT(p.n, 0);
	hist_prep_free(&p);
	/* a header without history reads as [] */
	record_t *h = rec_new("header");
	UT_EQ_INT(hist_prep_of_header(&p, h, 0, err, sizeof err), 0);
	UT_EQ_INT(p.n, 0);
	hist_prep_free(&p);
	rec_set_int(h, "history", 3);
	UT_EQ_INT(hist_prep_of_header(&p, h, 0, err, sizeof err), -1);
	rec_free(h);
}

int main(void)
{
	setprogname("test_history");
	UT_RUN(test_steps);
	UT_RUN(test_diff);
	UT_RUN(test_malformed);
	return ut_done("test_history");
}
