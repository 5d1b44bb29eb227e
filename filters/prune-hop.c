/* prune-hop: keep the configurable nodes and their k-hop neighbourhood.
 *
 * Reads a stream, and for every graph with configurable nodes
 * (node_config_ids) keeps the nodes within K hops of one of them, renumbers
 * them in their original order and remaps edge_index, node_config_ids and
 * node_splits; orig_node_id traces each node back.  Graphs without
 * configurable nodes (tile graphs) and every other record pass through.
 * See docs/man/prune-hop.1. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "graph.h"
#include "stream.h"

static struct {
	int dir;      /* GRAPH_IN / GRAPH_OUT / GRAPH_BOTH */
	int32_t hops; /* -k */
	int force;    /* -f: a binary stream to a terminal too */
} opt = {GRAPH_BOTH, 1, 0};

static const char usage_line[] =
	"usage: prune-hop [-f] [-k K] [-d in|out|both] [FILE]\n";

static const char help_text[] =
	"Keep the configurable nodes of each graph and every node within K hops\n"
	"of them; renumber, remap edges, node_config_ids and node_splits, add\n"
	"orig_node_id.  Graphs without configurable nodes pass through.\n"
	"\n"
	"  -k, --hops K          hops to keep around configurable nodes (default 1;\n"
	"                        0 keeps only the configurable nodes)\n"
	"  -d, --direction DIR   in: towards operands (producers), out: towards\n"
	"                        users (consumers), both (default)\n"
	"  -f, --force           write the stream even to a terminal\n"
	"  -h, --help            this help\n"
	"  -V, --version         print the version\n"
	"\n"
	"FILE is a stream (default or '-': stdin); the stream goes to stdout.\n"
	"Exit status: 0 ok, 1 bad data, 2 bad usage, 3 I/O error.\n";

static void prune(record_t *r)
{
	graph_rec_t gr;
	graph_t g;
	char err[1024];
	int32_t *dist;
	uint8_t *keep;
	int32_t x;

	graph_rec_check(r, &gr);
	if (!gr.node_config_ids || gr.nc == 0)
		return;  /* tile graph: nothing to centre on */
	if (graph_build(&g, gr.n, gr.edge_index->data, gr.m, err, sizeof err) != 0)
		rec_die(r, "%s", err);
	dist = xmallocarray((size_t)gr.n, sizeof *dist);
	keep = xmalloc((size_t)gr.n);
	graph_bfs(&g, gr.node_config_ids->data, (size_t)gr.nc, opt.dir, opt.hops, dist);
	for (x = 0; x < gr.n; x++)
		keep[x] = dist[x] >= 0;
	graph_free(&g);
	free(dist);
	if (graph_rec_subset(r, keep, gr.n, err, sizeof err) != 0)
		die(EX_DATA, "%s", err);
	free(keep);
}

/* stream_filter's callback: prune graph records, pass the rest. */
static int filter_record(record_t *r, swriter_t *sw, void *ctx)
{
	(void)sw;
	(void)ctx;
	if (rec_is(r, "graph"))
		prune(r);
	return SF_WRITE;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"direction", required_argument, NULL, 'd'},
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"hops", required_argument, NULL, 'k'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *path = "-";
	int c;

	setprogname_argv(argv);
	usage_init(usage_line);
	while ((c = getopt_long(argc, argv, "d:fhk:V", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (strcmp(optarg, "in") == 0)
				opt.dir = GRAPH_IN;
			else if (strcmp(optarg, "out") == 0)
				opt.dir = GRAPH_OUT;
			else if (strcmp(optarg, "both") == 0)
				opt.dir = GRAPH_BOTH;
			else
				usage_error("--direction: want in, out or both");
			break;
		case 'f': opt.force = 1; break;
		case 'h': usage_help(help_text);
		case 'k':
			opt.hops = (int32_t)parse_ll("--hops", optarg, 0, INT32_MAX - 1);
			break;
		case 'V':
			print_version();
		default:
			usage_error(NULL);
		}
	}
	if (argc - optind > 1)
		usage_error("at most one input stream");
	if (optind < argc)
		path = argv[optind];

	stream_refuse_tty(1, opt.force, "-f");
	stream_filter(path, argc, argv, &(stream_hooks_t){ .record = filter_record });
	return EX_OK;
}
