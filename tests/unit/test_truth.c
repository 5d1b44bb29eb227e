/* test_truth: the truth reader returns its errors (lib/README.md's policy),
 * each naming the file, record and graph, and sorts a graph's configs by
 * config index. */
#include "ut.h"
#include "ut_files.h"
#include "truth.h"
#include "err.h"

#include <stdlib.h>

static record_t *graph(const char *id, int hidden)
{
	record_t *r = rec_new("graph");
	rec_set_str(r, "id", id);
	rec_set_tensor(r, "node_opcode", tensor_new1(DT_I32, 2));
	if (hidden)
		rec_set_bool(r, "runtimes_hidden", 1);
	return r;
}

/* configs with these indices; runtime 10 * (index + 1), normalizer 2 */
static record_t *configs(const char *id, const int64_t *ix, int64_t n, int tile)
{
	record_t *r = rec_new("configs");
	rec_set_str(r, "id", id);
	rec_set_int(r, "count", n);
	tensor_t *ti = tensor_new1(DT_I64, n), *rt = tensor_new1(DT_I64, n);
	tensor_t *nm = tensor_new1(DT_I64, n);
	for (int64_t i = 0; i < n; i++) {
		((int64_t *)ti->data)[i] = ix[i];
		((int64_t *)rt->data)[i] = 10 * (ix[i] + 1);
		((int64_t *)nm->data)[i] = 2;
	}
	rec_set_tensor(r, "config_index", ti);
	rec_set_tensor(r, "config_runtime", rt);
	if (tile)
		rec_set_tensor(r, "config_runtime_normalizers", nm);
	else
		tensor_free(nm);
	return r;
}

static void test_load(void)
{
	char err[1024], path[] = "/tmp/test_truth_XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	truth_t *t;
	UT_EQ_INT(truth_load("/nonexistent/t.mp", &t, err, sizeof err), EX_IO);
	UT_CHECK(t == NULL && strstr(err, "/nonexistent/t.mp: No such file") != NULL);

	/* two graphs, chunks out of order: sorted, tile divided */
	int64_t a[3] = { 2, 0, 1 }, b[2] = { 4, 3 };
	record_t *recs[4] = { graph("tile:xla:k1", 0), configs("tile:xla:k1", a, 3, 1),
			      graph("layout:nlp:random:p", 0), configs("layout:nlp:random:p", b, 2, 0) };
	ut_write_stream(path, recs, 4, 0);
	UT_EQ_INT(truth_load(path, &t, err, sizeof err), 0);
	UT_EQ_INT(t->n, 2);
	const truth_graph_t *g = truth_get(t, "tile:xla:k1");
	UT_CHECK(g && g->tile && g->n == 3 && strcmp(g->coll, "tile:xla") == 0);
	UT_CHECK(g && g->idx[0] == 0 && g->idx[2] == 2 && g->y[0] == 5.0 && g->y[2] == 15.0);
	g = truth_get(t, "layout:nlp:random:p");
	UT_CHECK(g && !g->tile && g->idx[0] == 3 && g->y[0] == 40.0);
	UT_CHECK(g && strcmp(g->coll, "layout:nlp:random") == 0);
	truth_free(t);

	/* a config index twice */
	int64_t d[2] = { 1, 1 };
	recs[0] = graph("tile:xla:k1", 0);
	recs[1] = configs("tile:xla:k1", d, 2, 1);
	ut_write_stream(path, recs, 2, 0);
	UT_EQ_INT(truth_load(path, &t, err, sizeof err), EX_DATA);
	UT_CHECK(t == NULL && strstr(err, "graph tile:xla:k1: config_index 1 appears twice") != NULL);

	/* hidden runtimes (a test split) */
	recs[0] = graph("tile:xla:k1", 1);
	ut_write_stream(path, recs, 1, 0);
	UT_EQ_INT(truth_load(path, &t, err, sizeof err), EX_DATA);
	UT_CHECK(strstr(err, "record 1 (tile:xla:k1): its runtimes are hidden") != NULL);

	/* a tile chunk without normalizers; an id that names no collection */
	recs[0] = graph("tile:xla:k1", 0);
	recs[1] = configs("tile:xla:k1", a, 3, 0);
	ut_write_stream(path, recs, 2, 0);
	UT_EQ_INT(truth_load(path, &t, err, sizeof err), EX_DATA);
	UT_CHECK(strstr(err, "record 2 (tile:xla:k1): no config_runtime_normalizers") != NULL);
	recs[0] = graph("k1", 0);
	ut_write_stream(path, recs, 1, 0);
	UT_EQ_INT(truth_load(path, &t, err, sizeof err), EX_DATA);
	UT_CHECK(strstr(err, "the id does not start with tile: or layout:") != NULL);

	/* a truncated file, and no graphs at all */
	recs[0] = graph("tile:xla:k1", 0);
	recs[1] = configs("tile:xla:k1", a, 3, 1);
	ut_write_stream(path, recs, 2, 1);
	UT_EQ_INT(truth_load(path, &t, err, sizeof err), EX_DATA);
	UT_CHECK(strstr(err, "truncated") != NULL);
	ut_write_stream(path, recs, 0, 0);
	UT_EQ_INT(truth_load(path, &t, err, sizeof err), EX_DATA);
	UT_CHECK(strstr(err, "no graphs in the truth") != NULL);
	unlink(path);
}

int main(int argc, char **argv)
{
	(void)argc;
	setprogname(argv[0]);
	UT_RUN(test_load);
	return ut_done("test_truth");
}
