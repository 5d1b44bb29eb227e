/* fuzz_hlo: the HLO tuning-protobuf reader of hlo2mp (lib/hlo.c over
 * lib/pb.c): hlo_file_parse, then for every module hlo_module_build and
 * hlo_run_config on its kept runs, both padding modes. */
#include "fuzz.h"
#include "hlo.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hlo_file_t hf;
	char err[512];

	err[0] = 0;
	if (hlo_file_parse(&hf, data, size, err, sizeof err) < 0) {
		FUZZ_CHECK(err[0] != 0);
		return 0;
	}
	for (size_t k = 0; k < hf.n_modules && k < 16; k++) {
		for (int pad = -1; pad <= 0; pad++) {
			hlo_opts_t ho = {pad};
			hlo_module_t m;
			size_t w;
			float *cf;

			err[0] = 0;
			if (hlo_module_build(&hf, k, &ho, &m, err, sizeof err) < 0) {
				FUZZ_CHECK(err[0] != 0);
				continue;
			}
			for (size_t e = 0; e < m.n_edges * 2; e++)
				FUZZ_CHECK(m.edge_index[e] >= 0 && (size_t)m.edge_index[e] < m.n_nodes);
			for (size_t i = 0; i < m.n_config_nodes; i++)
				FUZZ_CHECK(m.config_node_ids[i] >= 0 &&
					   (size_t)m.config_node_ids[i] < m.n_nodes);
			FUZZ_CHECK(m.n_kept <= m.n_runs);
			w = hlo_config_width(&m);
			if (w && w < ((size_t)1 << 24)) {
				cf = malloc(w * sizeof *cf);
				FUZZ_CHECK(cf != NULL);
				for (size_t i = 0; i < m.n_kept && i < 64; i++)
					(void)hlo_run_config(&m, i, cf, err, sizeof err);
				free(cf);
			}
			hlo_module_free(&m);
		}
	}
	hlo_file_free(&hf);
	return 0;
}
