/* Unit tests for lib/graph: CSR, BFS, Dijkstra (against Bellman-Ford),
 * renumbering and the graph-record subset. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "graph.h"
#include "stream.h"
#include "ut.h"

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;
static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/*   0 (param)   1 (param)
 *     \        /
 *      2 = f(0, 1)      row [2,0], [2,1]
 *      |
 *      3 = g(2)         row [3,2]
 *     / \
 *    4   5              rows [4,3], [5,3]
 *     \ /
 *      6 (root)         rows [6,4], [6,5]            */
static const int32_t E7[] = {2, 0, 2, 1, 3, 2, 4, 3, 5, 3, 6, 4, 6, 5};
enum { N7 = 7, M7 = 7 };

static void test_csr(void)
{
	graph_t g;
	char err[128];
	UT_EQ_INT(graph_build(&g, N7, E7, M7, err, sizeof err), 0);
	UT_EQ_INT(graph_n_operands(&g, 2), 2);
	UT_EQ_INT(g.op_node[g.op_off[2]], 0);
	UT_EQ_INT(g.op_node[g.op_off[2] + 1], 1);
	UT_EQ_INT(g.op_edge[g.op_off[2] + 1], 1);
	UT_EQ_INT(graph_n_users(&g, 3), 2);
	UT_EQ_INT(g.us_node[g.us_off[3]], 4);
	UT_EQ_INT(g.us_edge[g.us_off[3] + 1], 4);
	UT_EQ_INT(graph_n_users(&g, 6), 0);
	UT_EQ_INT(graph_n_operands(&g, 0), 0);
	graph_free(&g);

	int32_t bad[] = {0, 1, 1, 7};
	UT_EQ_INT(graph_build(&g, N7, bad, 2, err, sizeof err), -1);
	UT_CHECK(strstr(err, "row 1") != NULL);
	bad[3] = -1;
	UT_EQ_INT(graph_build(&g, N7, bad, 2, err, sizeof err), -1);
}

static void test_bfs(void)
{
	graph_t g;
	char err[128];
	int32_t d[N7], src = 3;
	graph_build(&g, N7, E7, M7, err, sizeof err);
	/* out: to users */
	UT_EQ_INT(graph_bfs(&g, &src, 1, GRAPH_OUT, -1, d), 4);
	UT_EQ_INT(d[3], 0); UT_EQ_INT(d[4], 1); UT_EQ_INT(d[5], 1); UT_EQ_INT(d[6], 2);
	UT_EQ_INT(d[2], -1); UT_EQ_INT(d[0], -1);
	/* in: to operands */
	UT_EQ_INT(graph_bfs(&g, &src, 1, GRAPH_IN, -1, d), 4);
	UT_EQ_INT(d[2], 1); UT_EQ_INT(d[0], 2); UT_EQ_INT(d[1], 2); UT_EQ_INT(d[4], -1);
	/* both, limited to 1 hop */
	UT_EQ_INT(graph_bfs(&g, &src, 1, GRAPH_BOTH, 1, d), 4);
	UT_EQ_INT(d[2], 1); UT_EQ_INT(d[4], 1); UT_EQ_INT(d[5], 1); UT_EQ_INT(d[6], -1);
	UT_EQ_INT(d[0], -1);
	/* 0 hops: the sources only; several sources, one repeated */
	int32_t s2[] = {0, 6, 0};
	UT_EQ_INT(graph_bfs(&g, s2, 3, GRAPH_BOTH, 0, d), 2);
	UT_EQ_INT(graph_bfs(&g, s2, 3, GRAPH_BOTH, -1, d), 7);
	UT_EQ_INT(d[3], 2); /* 0-2-3 and 6-4-3 */
	graph_free(&g);
}

static void test_dijkstra_small(void)
{
	graph_t g;
	char err[128];
	double w[M7] = {1, 1, 1, 1, 1, 1, 1}, dist[N7];
	int32_t par[N7], src[] = {0, 1};
	int64_t pe[N7];
	graph_build(&g, N7, E7, M7, err, sizeof err);
	graph_dijkstra(&g, src, 2, GRAPH_OUT, w, dist, par, pe);
	UT_NEAR(dist[2], 1, 0); UT_NEAR(dist[6], 4, 0);
	UT_EQ_INT(par[2], 0);   /* tie between 0 and 1: the smaller id */
	UT_EQ_INT(pe[2], 0);
	UT_EQ_INT(par[6], 4);   /* tie between 4 and 5 */
	UT_EQ_INT(pe[6], 5);
	UT_EQ_INT(par[0], -1);
	/* a heavy edge moves the tie */
	w[5] = 3;               /* row [6,4] */
	graph_dijkstra(&g, src, 2, GRAPH_OUT, w, dist, par, pe);
	UT_EQ_INT(par[6], 5);
	UT_NEAR(dist[6], 4, 0);
	/* backwards from the root */
	int32_t root = 6;
	graph_dijkstra(&g, &root, 1, GRAPH_IN, w, dist, par, pe);
	UT_NEAR(dist[3], 2, 0);  /* through 5: 1 + 1 */
	UT_EQ_INT(par[3], 5);
	UT_NEAR(dist[0], 4, 0);
	UT_EQ_INT(par[0], 2);
	UT_CHECK(isinf(dist[6]) == 0 && par[6] == -1);
	/* unreachable */
	int32_t s4 = 4;
	graph_dijkstra(&g, &s4, 1, GRAPH_OUT, w, dist, par, pe);
	UT_CHECK(isinf(dist[5]) && par[5] == -1 && pe[5] == -1);
	graph_free(&g);
}

static void test_dijkstra_random(void)
{
	int trial, ok_d = 1, ok_p = 1;
	for (trial = 0; trial < 60; trial++) {
		int32_t n = 1 + (int32_t)rnd(200), x;
		int64_t m = (int64_t)rnd((uint32_t)(4 * n + 1)), e;
		int32_t *ei = malloc((size_t)(2 * m + 2) * sizeof *ei);
		double *w = malloc((size_t)(m + 1) * sizeof *w);
		double *d1 = malloc((size_t)n * sizeof *d1), *d2 = malloc((size_t)n * sizeof *d2);
		int32_t *p1 = malloc((size_t)n * sizeof *p1), *p2 = malloc((size_t)n * sizeof *p2);
		int64_t *e1 = malloc((size_t)n * sizeof *e1), *e2 = malloc((size_t)n * sizeof *e2);
		int32_t src[5];
		size_t nsrc = 1 + rnd(4);
		graph_t g;
		char err[64];
		int dir = trial % 2 ? GRAPH_IN : GRAPH_OUT;
		for (e = 0; e < m; e++) {
			ei[2 * e] = (int32_t)rnd((uint32_t)n);
			ei[2 * e + 1] = (int32_t)rnd((uint32_t)n);  /* cycles too */
			/* integer weights: many ties; every third trial real ones */
			w[e] = trial % 3 == 2 ? (double)rnd(1000) / 7.0 : (double)rnd(4);
		}
		for (size_t i = 0; i < nsrc; i++)
			src[i] = (int32_t)rnd((uint32_t)n);
		graph_build(&g, n, ei, m, err, sizeof err);
		graph_dijkstra(&g, src, nsrc, dir, w, d1, p1, e1);
		graph_dijkstra_naive(&g, src, nsrc, dir, w, d2, p2, e2);
		for (x = 0; x < n; x++) {
			if (!(d1[x] == d2[x] || (isinf(d1[x]) && isinf(d2[x]))))
				ok_d = 0;
			if (p1[x] != p2[x] || e1[x] != e2[x])
				ok_p = 0;
		}
		graph_free(&g);
		free(ei); free(w); free(d1); free(d2); free(p1); free(p2); free(e1); free(e2);
	}
	UT_CHECK(ok_d);
	UT_CHECK(ok_p);
}

static void test_renumber_and_splits(void)
{
	uint8_t keep[N7] = {1, 0, 1, 0, 0, 1, 1};
	int32_t newid[N7], out[2 * M7];
	int64_t rows[M7];
	UT_EQ_INT(graph_renumber(keep, N7, newid), 4);
	UT_EQ_INT(newid[0], 0); UT_EQ_INT(newid[1], -1); UT_EQ_INT(newid[2], 1);
	UT_EQ_INT(newid[5], 2); UT_EQ_INT(newid[6], 3);
	/* kept rows: [2,0] and [6,5] */
	UT_EQ_INT(graph_subset_edges(E7, M7, newid, out, rows), 2);
	UT_EQ_INT(out[0], 1); UT_EQ_INT(out[1], 0); UT_EQ_INT(out[2], 3); UT_EQ_INT(out[3], 2);
	UT_EQ_INT(rows[0], 0); UT_EQ_INT(rows[1], 6);
	int32_t splits[] = {0, 1, 3, 4, 6};
	graph_remap_splits(splits, 5, newid, N7);
	UT_EQ_INT(splits[0], 0);
	UT_EQ_INT(splits[1], 1);  /* node 1 dropped: next kept is 2 -> 1 */
	UT_EQ_INT(splits[2], 2);  /* 3, 4 dropped: next kept is 5 -> 2 */
	UT_EQ_INT(splits[3], 2);  /* an emptied computation */
	UT_EQ_INT(splits[4], 3);
	uint8_t none[N7] = {0};
	int32_t s1[] = {0, 5};
	graph_renumber(none, N7, newid);
	graph_remap_splits(s1, 2, newid, N7);
	UT_EQ_INT(s1[0], 0); UT_EQ_INT(s1[1], 0);
}

static tensor_t *t_i32(int64_t n, const int32_t *v)
{
	tensor_t *t = tensor_new1(DT_I32, n);
	memcpy(t->data, v, (size_t)n * sizeof *v);
	return t;
}

static record_t *graph7(void)
{
	record_t *r = rec_new("graph");
	tensor_t *nf = tensor_new2(DT_F32, N7, 3), *ei = tensor_new2(DT_I32, M7, 2);
	tensor_t *ef = tensor_new2(DT_F32, M7, 1), *nx = tensor_new1(DT_U8, N7);
	tensor_t *other = tensor_new1(DT_I32, N7);
	int32_t op[N7] = {63, 63, 2, 75, 2, 2, 100}, cfg[] = {3, 2}, spl[] = {0, 3};
	int i;
	for (i = 0; i < N7 * 3; i++)
		((float *)nf->data)[i] = (float)i;
	for (i = 0; i < M7; i++)
		((float *)ef->data)[i] = (float)(10 + i);
	for (i = 0; i < N7; i++)
		((uint8_t *)nx->data)[i] = (uint8_t)(100 + i);
	memcpy(ei->data, E7, sizeof E7);
	rec_set_str(r, "id", "layout:xla:random:g7");
	rec_set_int(r, "n_nodes", N7);
	rec_set_int(r, "n_edges", M7);
	rec_set_tensor(r, "node_feat", nf);
	rec_set_tensor(r, "node_opcode", t_i32(N7, op));
	rec_set_tensor(r, "edge_index", ei);
	rec_set_tensor(r, "node_config_ids", t_i32(2, cfg));
	rec_set_tensor(r, "node_splits", t_i32(2, spl));
	rec_set_tensor(r, "edge_feat", ef);
	rec_set_tensor(r, "node_extra", nx);      /* node_* with n rows: subset */
	rec_set_tensor(r, "unrelated", other);    /* other keys: untouched */
	return r;
}

static void test_rec_subset(void)
{
	record_t *r = graph7();
	uint8_t keep[N7] = {0, 0, 1, 1, 1, 0, 1};
	uint8_t keep2[4] = {1, 1, 0, 1};
	graph_rec_t gr;
	tensor_t *t;
	int64_t v;

	graph_rec_check(r, &gr);
	UT_EQ_INT(gr.n, N7);
	UT_EQ_INT(gr.m, M7);
	UT_EQ_INT(gr.nc, 2);
	char err[1024];
	uint8_t drop3[N7] = {0, 0, 1, 0, 1, 0, 1};   /* drops configurable node 3 */
	UT_EQ_INT(graph_rec_subset(r, drop3, N7, err, sizeof err), -1);
	UT_CHECK(strstr(err, "(layout:xla:random:g7): node_config_ids[0] = 3 dropped") != NULL);
	UT_EQ_INT(rec_tensor(r, "node_feat")->shape[0], N7);   /* unchanged */
	UT_CHECK(rec_tensor(r, "orig_node_id") == NULL);
	UT_EQ_INT(graph_rec_subset(r, keep, N7, err, sizeof err), 0);  /* keeps 2 3 4 6 */
	t = rec_tensor(r, "node_feat");
	UT_EQ_INT(t->shape[0], 4);
	UT_NEAR(((float *)t->data)[3], 9, 0);   /* row of node 3, col 0 */
	t = rec_tensor(r, "node_opcode");
	UT_EQ_INT(((int32_t *)t->data)[1], 75);
	t = rec_tensor(r, "node_extra");
	UT_EQ_INT(t->shape[0], 4);
	UT_EQ_INT(((uint8_t *)t->data)[3], 106);
	t = rec_tensor(r, "unrelated");
	UT_EQ_INT(t->shape[0], N7);
	t = rec_tensor(r, "node_config_ids");
	UT_EQ_INT(((int32_t *)t->data)[0], 1);
	UT_EQ_INT(((int32_t *)t->data)[1], 0);
	t = rec_tensor(r, "node_splits");
	UT_EQ_INT(((int32_t *)t->data)[0], 0);
	UT_EQ_INT(((int32_t *)t->data)[1], 1);
	t = rec_tensor(r, "edge_index");  /* kept rows [3,2] [4,3] [6,4] */
	UT_EQ_INT(t->shape[0], 3);
	UT_EQ_INT(((int32_t *)t->data)[0], 1); UT_EQ_INT(((int32_t *)t->data)[1], 0);
	UT_EQ_INT(((int32_t *)t->data)[4], 3); UT_EQ_INT(((int32_t *)t->data)[5], 2);
	t = rec_tensor(r, "edge_feat");
	UT_EQ_INT(t->shape[0], 3);
	UT_NEAR(((float *)t->data)[2], 15, 0);
	t = rec_tensor(r, "orig_node_id");
	UT_EQ_INT(t->shape[0], 4);
	UT_EQ_INT(((int32_t *)t->data)[0], 2); UT_EQ_INT(((int32_t *)t->data)[3], 6);
	UT_CHECK(rec_int(r, "n_nodes", &v) && v == 4);
	UT_CHECK(rec_int(r, "n_edges", &v) && v == 3);
	/* a second subset (dropping node 4) composes orig_node_id */
	UT_EQ_INT(graph_rec_subset(r, keep2, 4, err, sizeof err), 0);
	t = rec_tensor(r, "orig_node_id");
	UT_EQ_INT(t->shape[0], 3);
	UT_EQ_INT(((int32_t *)t->data)[0], 2); UT_EQ_INT(((int32_t *)t->data)[1], 3);
	UT_EQ_INT(((int32_t *)t->data)[2], 6);
	t = rec_tensor(r, "node_config_ids");
	UT_EQ_INT(((int32_t *)t->data)[0], 1); UT_EQ_INT(((int32_t *)t->data)[1], 0);
	t = rec_tensor(r, "edge_index");   /* only [3,2] is left: [1,0] */
	UT_EQ_INT(t->shape[0], 1);
	UT_EQ_INT(((int32_t *)t->data)[0], 1); UT_EQ_INT(((int32_t *)t->data)[1], 0);
	t = rec_tensor(r, "edge_feat");
	UT_NEAR(((float *)t->data)[0], 12, 0);
	rec_free(r);
}

static void test_take_rows(void)
{
	tensor_t *t = tensor_new3(DT_I16, 4, 2, 3), *o;
	int64_t rows[] = {3, 0, 3};
	int i;
	for (i = 0; i < 24; i++)
		((int16_t *)t->data)[i] = (int16_t)i;
	o = tensor_take_rows(t, rows, 3);
	UT_EQ_INT(o->shape[0], 3); UT_EQ_INT(o->shape[1], 2); UT_EQ_INT(o->shape[2], 3);
	UT_EQ_INT(((int16_t *)o->data)[0], 18);
	UT_EQ_INT(((int16_t *)o->data)[6], 0);
	UT_EQ_INT(((int16_t *)o->data)[17], 23);
	tensor_free(o);
	o = tensor_take_rows(t, rows, 0);
	UT_EQ_INT(o->shape[0], 0);
	UT_EQ_INT(o->numel, 0);
	tensor_free(o);
	tensor_free(t);
}

static void test_big_chain_is_linear(void)
{
	/* a 1e6-node chain: BFS and Dijkstra finish and agree */
	int32_t n = 1000000, x, src = 0;
	int32_t *ei = malloc((size_t)2 * (size_t)(n - 1) * sizeof *ei), *d = malloc((size_t)n * sizeof *d);
	double *w = malloc((size_t)n * sizeof *w), *dist = malloc((size_t)n * sizeof *dist);
	graph_t g;
	char err[64];
	int ok = 1;
	for (x = 1; x < n; x++) {
		ei[2 * (x - 1)] = x;
		ei[2 * (x - 1) + 1] = x - 1;
		w[x - 1] = 1;
	}
	graph_build(&g, n, ei, n - 1, err, sizeof err);
	UT_EQ_INT(graph_bfs(&g, &src, 1, GRAPH_OUT, -1, d), n);
	graph_dijkstra(&g, &src, 1, GRAPH_OUT, w, dist, NULL, NULL);
	for (x = 0; x < n; x++)
		ok &= d[x] == x && dist[x] == x;
	UT_CHECK(ok);
	graph_free(&g);
	free(ei); free(d); free(w); free(dist);
}

int main(int argc, char **argv)
{
	setprogname(argv[0]);
	UT_RUN(test_csr);
	UT_RUN(test_bfs);
	UT_RUN(test_dijkstra_small);
	UT_RUN(test_dijkstra_random);
	UT_RUN(test_renumber_and_splits);
	UT_RUN(test_rec_subset);
	UT_RUN(test_take_rows);
	UT_RUN(test_big_chain_is_linear);
	return ut_done("test_graph");
}
