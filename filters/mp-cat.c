/* mp-cat: concatenate record streams into one.
 *
 * The output has one header (the first input's, with mp-cat appended to its
 * history), every record of every input in order except their headers and
 * ends, and one end.  Each input must be complete (end record and all); a
 * graph or pred id met twice is an error unless --allow-duplicates.
 * See docs/man/mp-cat.1. */
#include "err.h"
#include "stream.h"
#include "strset.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_line[] =
	"usage: mp-cat [-f] [--allow-duplicates] [FILE...]\n";

static const char help_text[] =
	"\n"
	"Concatenate tpugraphs-mp streams (FILE, or stdin for none or '-') into one\n"
	"stream on stdout: the first input's header, every other record in order,\n"
	"one end.  Every input must be a complete stream.\n"
	"\n"
	"      --allow-duplicates  let a graph (or pred) id appear twice\n"
	"  -f, --force             write the stream even to a terminal\n"
	"  -h, --help              this help\n"
	"  -V, --version           print the version\n"
	"\n"
	"Exit status: 0 ok, 1 bad data, 2 bad usage, 3 I/O error.\n";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"allow-duplicates", no_argument, NULL, 'D'},
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int ch, allow_dup = 0, force = 0, nin;
	char *stdin_only[] = {"-"};
	char **in;
	swriter_t *sw;
	strset_t graph_ids = {0}, pred_ids = {0};

	setprogname_argv(argv);
	usage_init(usage_line);
	while ((ch = getopt_long(argc, argv, "fhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'D': allow_dup = 1; break;
		case 'f': force = 1; break;
		case 'h': usage_help(help_text);
		case 'V': print_version();
		default: usage_error(NULL);
		}
	}
	in = optind < argc ? argv + optind : stdin_only;
	nin = optind < argc ? argc - optind : 1;

	stream_refuse_tty(1, force, "-f");
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
				if (set && id && !allow_dup && !strset_add(set, id))
					rec_die(r, "%s id seen before (--allow-duplicates to keep both)", r->type);
				sw_write(sw, r);
			}
			rec_free(r);
		}
		sr_close(sr);
	}
	sw_end(sw);
	sw_close(sw);
	strset_free(&graph_ids);
	strset_free(&pred_ids);
	return EX_OK;
}
