/* mp-cat: concatenate record streams into one.
 *
 * The output has one header (the first input's, with mp-cat appended to its
 * history), every record of every input in order except their headers and
 * ends, and one end.  Each input must be complete (end record and all); a
 * graph or pred id met twice is an error unless --allow-duplicates.
 * See docs/man/mp-cat.1. */
#include "err.h"
#include "stream.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_line[] = "usage: mp-cat [--allow-duplicates] [FILE...]";

_Noreturn static void help(void)
{
	printf("%s\n\n"
	       "Concatenate tpugraphs-mp streams (FILE, or stdin for none or '-') into one\n"
	       "stream on stdout: the first input's header, every other record in order,\n"
	       "one end.  Every input must be a complete stream.\n\n"
	       "      --allow-duplicates  let a graph (or pred) id appear twice\n"
	       "  -h, --help              this help\n"
	       "  -V, --version           print the version\n\n"
	       "Exit status: 0 ok, 1 bad data, 2 bad usage, 3 I/O error.\n",
	       usage_line);
	close_stdout();
	exit(EX_OK);
}

/* A set of strings (graph ids), open addressing. */
typedef struct {
	char **slot;
	size_t cap, n;
} strset_t;

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* 1 if added, 0 if it was there. */
static int set_add(strset_t *st, const char *s)
{
	size_t i;
	if (2 * (st->n + 1) > st->cap) {
		strset_t b = {xcalloc(st->cap ? 2 * st->cap : 1024, sizeof(char *)), st->cap ? 2 * st->cap : 1024, 0};
		for (size_t k = 0; k < st->cap; k++)
			if (st->slot[k])
				for (i = hash(st->slot[k]) & (b.cap - 1);; i = (i + 1) & (b.cap - 1))
					if (!b.slot[i]) {
						b.slot[i] = st->slot[k];
						b.n++;
						break;
					}
		free(st->slot);
		*st = b;
	}
	for (i = hash(s) & (st->cap - 1); st->slot[i]; i = (i + 1) & (st->cap - 1))
		if (strcmp(st->slot[i], s) == 0)
			return 0;
	st->slot[i] = xstrdup(s);
	st->n++;
	return 1;
}

static void set_free(strset_t *st)
{
	for (size_t k = 0; k < st->cap; k++)
		free(st->slot[k]);
	free(st->slot);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"allow-duplicates", no_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int ch, allow_dup = 0, nin;
	char *stdin_only[] = {"-"};
	char **in;
	swriter_t *sw;
	strset_t graph_ids = {0}, pred_ids = {0};

	setprogname(argv[0]);
	while ((ch = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'D': allow_dup = 1; break;
		case 'h': help();
		case 'V': print_version();
		default: fprintf(stderr, "%s\n", usage_line); return EX_USAGE;
		}
	}
	in = optind < argc ? argv + optind : stdin_only;
	nin = optind < argc ? argc - optind : 1;

	sw = sw_open_fd(1, "stdout");
	for (int i = 0; i < nin; i++) {
		sreader_t *sr = sr_open(in[i]);
		record_t *r;
		while ((r = sr_next(sr))) {
			if (rec_is(r, "header")) {
				if (i == 0) {
					header_append(r, argv0, argc, argv);
					sw_write(sw, r);
				}
			} else if (!rec_is(r, "end")) {
				const char *id = rec_str(r, "id");
				strset_t *set = rec_is(r, "graph") ? &graph_ids : rec_is(r, "pred") ? &pred_ids : NULL;
				if (set && id && !allow_dup && !set_add(set, id))
					rec_die(r, "%s id seen before (--allow-duplicates to keep both)", r->type);
				sw_write(sw, r);
			}
			rec_free(r);
		}
		sr_close(sr);
	}
	sw_end(sw);
	sw_close(sw);
	set_free(&graph_ids);
	set_free(&pred_ids);
	return EX_OK;
}
