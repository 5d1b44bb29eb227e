/* hlo2mp: featurize XLA programs from their HLO tuning protobufs.
 *
 * Reads TpuGraphs tuning records (TuningData or ModuleTuningData, each an
 * XLA HloModuleProto with measured runs) and writes the records npz2mp
 * writes: per module one graph record, then its kept runs as configs
 * chunks.  lib/hlo.c does the featurizing; docs/hlo2mp.md and
 * docs/man/hlo2mp.1 say what every key holds. */
#include "err.h"
#include "hlo.h"
#include "stream.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_line[] =
	"usage: hlo2mp [-fq] [--chunk N] [--collection C] [--split S] [--pad -1|0] [FILE.pb...]\n";

static struct {
	long long chunk;
	const char *collection, *split;
	int pad;
	int quiet;
	int force;    /* -f: a binary stream to a terminal too */
} opt = {1024, NULL, "valid", 0, 0, 0};

static const char help_text[] =
	"\n"
	"Featurize XLA programs from their HLO tuning protobufs (TpuGraphs TuningData\n"
	"or ModuleTuningData messages) into a tpugraphs-mp record stream on stdout:\n"
	"a header, then per module a graph record (140 node features, opcodes, edges,\n"
	"configurable nodes) and its measured runs as configs chunks, then an end\n"
	"record.  Runs with an error, or without a runtime, are dropped and counted.\n"
	"With no FILE, or FILE -, reads standard input.\n"
	"\n"
	"  -c, --chunk N          configs per chunk record (default 1024)\n"
	"      --collection C     collection of the graphs (default: tile:xla for\n"
	"                         tile runs, layout:xla:random for layout runs)\n"
	"      --split S          train, valid or test (default valid: the runs carry\n"
	"                         real runtimes to score against)\n"
	"  -p, --pad V            value of the layout minor_to_major node features\n"
	"                         (134-139) past the tensor's rank: 0 as in the\n"
	"                         published dataset (default), or -1 so that padding\n"
	"                         cannot be read as dimension 0\n"
	"  -q, --quiet            no progress on stderr\n"
	"  -f, --force            write the stream even to a terminal\n"
	"  -h, --help             this help\n"
	"  -V, --version          print the version\n"
	"\n"
	"The graph id is COLLECTION:STEM (STEM: the file name without .pb), or\n"
	"COLLECTION:STEM:MODULE when a file holds several modules.\n"
	"Exit status: 0 ok, 1 bad data, 2 bad usage, 3 I/O error.\n";

/* Whole file (or stdin) into memory: the graph needs all of it anyway. */
static uint8_t *slurp(const char *path, size_t *len)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY) : 0;
	size_t n = 0, cap = 1 << 16;
	uint8_t *buf;
	if (fd < 0)
		edie(EX_IO, "%s", path);
	buf = xmalloc(cap);
	for (;;) {
		ssize_t r;
		if (n == cap)
			buf = xrealloc(buf, cap *= 2);
		r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			edie(EX_IO, "%s", path);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (fd != 0)
		close(fd);
	*len = n;
	return buf;
}

static char *stem(const char *path)
{
	const char *b = strrchr(path, '/');
	char *s;
	if (!strcmp(path, "-"))
		return xstrdup("stdin");
	s = xstrdup(b ? b + 1 : path);
	size_t n = strlen(s);
	if (n > 3 && !strcmp(s + n - 3, ".pb"))
		s[n - 3] = 0;
	return s;
}

static tensor_t *tensor_from(dtype_t dt, int ndim, const int64_t *shape, const void *src)
{
	tensor_t *t = tensor_new(dt, ndim, shape);
	if (t->nbytes)
		memcpy(t->data, src, t->nbytes);
	return t;
}

static void do_module(swriter_t *sw, const char *path, const hlo_file_t *hf, size_t k,
		      const char *fstem)
{
	const char *name = strcmp(path, "-") ? path : "stdin";
	hlo_opts_t ho = {opt.pad};
	hlo_module_t m;
	char err[512], coll[128], *id;
	int tile;

	if (hlo_module_build(hf, k, &ho, &m, err, sizeof err) < 0) {
		if (hf->n_modules > 1)
			die(EX_DATA, "%s: module %zu: %s", name, k, err);
		die(EX_DATA, "%s: %s", name, err);
	}
	if (opt.collection)
		snprintf(coll, sizeof coll, "%s", opt.collection);
	else if (m.runs_kind == HLO_RUNS_LAYOUT ||
		 (m.runs_kind == HLO_RUNS_NONE && m.n_config_nodes > 0))
		snprintf(coll, sizeof coll, "layout:xla:random");
	else
		snprintf(coll, sizeof coll, "tile:xla");
	tile = strncmp(coll, "tile:", 5) == 0;
	if (tile && m.runs_kind == HLO_RUNS_LAYOUT)
		die(EX_DATA, "%s: module %s: layout runs do not fit collection %s", name, m.name, coll);
	if (!tile && m.runs_kind == HLO_RUNS_TILE)
		die(EX_DATA, "%s: module %s: tile runs do not fit collection %s", name, m.name, coll);
	if (tile && m.n_kept > 0 && m.default_index < 0)
		die(EX_DATA, "%s: module %s: no kept run is marked is_default, so the tile "
			     "runtimes have no normalizer", name, m.name);
	if (m.n_unknown_opcodes)
		warnx("%s: module %s: %zu instruction%s with an opcode not in the table "
		      "(first: '%s') get opcode id 0", name, m.name, m.n_unknown_opcodes,
		      m.n_unknown_opcodes == 1 ? "" : "s", m.unknown_opcode);

	if (hf->n_modules > 1) {
		size_t n = strlen(coll) + strlen(fstem) + strlen(m.name) + 3;
		id = xmalloc(n);
		snprintf(id, n, "%s:%s:%s", coll, fstem, m.name);
	} else {
		size_t n = strlen(coll) + strlen(fstem) + 2;
		id = xmalloc(n);
		snprintf(id, n, "%s:%s", coll, fstem);
	}

	record_t *g = rec_new("graph");
	char fp[32];
	int64_t shape[2];
	snprintf(fp, sizeof fp, "%llu", (unsigned long long)m.fingerprint);
	rec_set_str(g, "id", id);
	rec_set_str(g, "collection", coll);
	rec_set_str(g, "split", opt.split);
	rec_set_str(g, "source", name);
	rec_set_int(g, "n_nodes", (int64_t)m.n_nodes);
	rec_set_int(g, "n_edges", (int64_t)m.n_edges);
	rec_set_int(g, "n_configs", (int64_t)m.n_kept);
	rec_set_int(g, "n_configs_total", (int64_t)m.n_kept);
	shape[0] = (int64_t)m.n_nodes;
	shape[1] = HLO_NFEAT;
	rec_set_tensor(g, "node_feat", tensor_from(DT_F32, 2, shape, m.node_feat));
	rec_set_tensor(g, "node_opcode", tensor_from(DT_I32, 1, shape, m.node_opcode));
	shape[0] = (int64_t)m.n_edges;
	shape[1] = 2;
	rec_set_tensor(g, "edge_index", tensor_from(DT_I32, 2, shape, m.edge_index));
	if (!tile) {  /* layout keys, as in a dataset layout file */
		shape[0] = (int64_t)m.n_config_nodes;
		rec_set_tensor(g, "node_config_ids", tensor_from(DT_I32, 1, shape, m.config_node_ids));
		shape[0] = (int64_t)m.n_splits;
		rec_set_tensor(g, "node_splits", tensor_from(DT_I32, 1, shape, m.node_splits));
	}
	rec_set_str(g, "module", m.name);
	rec_set_str(g, "fingerprint", fp);
	rec_set_int(g, "default_index", m.default_index);
	rec_set_int(g, "n_runs", (int64_t)m.n_runs);
	rec_set_int(g, "n_runs_error", (int64_t)m.n_error);
	rec_set_int(g, "n_runs_no_runtime", (int64_t)m.n_no_profile);
	rec_set_int(g, "pad", opt.pad);
	sw_write(sw, g);
	rec_free(g);

	size_t width = hlo_config_width(&m);
	for (size_t off = 0; off < m.n_kept; off += (size_t)opt.chunk) {
		size_t cnt = m.n_kept - off < (size_t)opt.chunk ? m.n_kept - off : (size_t)opt.chunk;
		record_t *r = rec_new("configs");
		tensor_t *cf = tile ? tensor_new2(DT_F32, (int64_t)cnt, HLO_TILE_NFEAT)
				    : tensor_new3(DT_F32, (int64_t)cnt, (int64_t)m.n_config_nodes,
						  HLO_LAYOUT_NFEAT);
		tensor_t *ix = tensor_new1(DT_I64, (int64_t)cnt);
		tensor_t *ri = tensor_new1(DT_I64, (int64_t)cnt);
		tensor_t *rt = tensor_new1(DT_I64, (int64_t)cnt);
		for (size_t i = 0; i < cnt; i++) {
			if (hlo_run_config(&m, off + i, (float *)cf->data + i * width, err,
					   sizeof err) < 0)
				die(EX_DATA, "%s: module %s: %s", name, m.name, err);
			((int64_t *)ix->data)[i] = (int64_t)(off + i);
			((int64_t *)ri->data)[i] = m.run_index[off + i];
			((int64_t *)rt->data)[i] = m.runtime[off + i];
		}
		rec_set_str(r, "id", id);
		rec_set_int(r, "offset", (int64_t)off);
		rec_set_int(r, "count", (int64_t)cnt);
		rec_set_tensor(r, "config_index", ix);
		rec_set_tensor(r, tile ? "config_feat" : "node_config_feat", cf);
		rec_set_tensor(r, "config_runtime", rt);
		if (tile) {
			tensor_t *nz = tensor_new1(DT_I64, (int64_t)cnt);
			for (size_t i = 0; i < cnt; i++)
				((int64_t *)nz->data)[i] = m.runtime[m.default_index];
			rec_set_tensor(r, "config_runtime_normalizers", nz);
		}
		rec_set_tensor(r, "run_index", ri);
		sw_write(sw, r);
		rec_free(r);
	}
	if (!opt.quiet)
		fprintf(stderr, "hlo2mp: %s: %s: %zu nodes, %zu edges, %zu of %zu runs kept "
			"(%zu with error, %zu without runtime)\n", name, id, m.n_nodes, m.n_edges,
			m.n_kept, m.n_runs, m.n_error, m.n_no_profile);
	free(id);
	hlo_module_free(&m);
}

static void do_file(swriter_t *sw, const char *path)
{
	size_t len;
	uint8_t *buf = slurp(path, &len);
	hlo_file_t hf;
	char err[512], *fstem = stem(path);
	if (hlo_file_parse(&hf, buf, len, err, sizeof err) < 0)
		die(EX_DATA, "%s: %s", strcmp(path, "-") ? path : "stdin", err);
	for (size_t k = 0; k < hf.n_modules; k++)
		do_module(sw, path, &hf, k, fstem);
	hlo_file_free(&hf);
	free(fstem);
	free(buf);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"chunk", required_argument, NULL, 'c'},
		{"collection", required_argument, NULL, 'C'},
		{"split", required_argument, NULL, 'S'},
		{"pad", required_argument, NULL, 'p'},
		{"quiet", no_argument, NULL, 'q'},
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	swriter_t *sw;
	record_t *h;
	int ch, nstdin = 0;

	setprogname_argv(argv);
	usage_init(usage_line);
	while ((ch = getopt_long(argc, argv, "c:fhp:qV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': opt.chunk = parse_ll("--chunk", optarg, 1, 1LL << 30); break;
		case 'C':
			if (strncmp(optarg, "tile:", 5) && strncmp(optarg, "layout:", 7))
				usage_error("--collection: '%s' is neither tile:... nor layout:...", optarg);
			opt.collection = optarg;
			break;
		case 'S':
			if (strcmp(optarg, "train") && strcmp(optarg, "valid") && strcmp(optarg, "test"))
				usage_error("--split: '%s' is not train, valid or test", optarg);
			opt.split = optarg;
			break;
		case 'p': opt.pad = (int)parse_ll("--pad", optarg, -1, 0); break;
		case 'q': opt.quiet = 1; break;
		case 'f': opt.force = 1; break;
		case 'h': usage_help(help_text);
		case 'V': print_version();
		default: usage_error(NULL);
		}
	}
	for (int i = optind; i < argc; i++)
		nstdin += !strcmp(argv[i], "-");
	if (nstdin > 1)
		usage_error("standard input (-) given more than once");

	stream_refuse_tty(1, opt.force, "-f");
	sw = sw_open_fd(1, "stdout");
	h = header_new();
	header_append(h, argv0, argc, argv);
	sw_write(sw, h);
	rec_free(h);
	if (optind >= argc)
		do_file(sw, "-");
	for (int i = optind; i < argc; i++)
		do_file(sw, argv[i]);
	sw_end(sw);
	sw_close(sw);
	return EX_OK;
}
