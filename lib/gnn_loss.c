/* gnn_loss: the difference-matrix margin loss and the MAPE auxiliary loss
 * (see gnn.h).  Both compute in double, like nn.c's losses. */
#include "gnn.h"
#include "err.h"

#include <math.h>
#include <stdlib.h>

/* Logs of the runtimes (y > 0; anything else is clamped to the smallest
 * positive double, so a zero runtime cannot make a NaN). */
static double *log_runtimes(const double *y, size_t n)
{
	double *ly = xmallocarray(n ? n : 1, sizeof *ly);
	for (size_t i = 0; i < n; i++)
		ly[i] = log(y[i] > 0.0 ? y[i] : 2.2250738585072014e-308);
	return ly;
}

double nn_diffmat_loss(float *ds, const float *s, const double *y, size_t n,
		       double margin, double weight)
{
	size_t pairs = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			if (y[i] < y[j])
				pairs++;
	if (pairs == 0)
		return 0.0;
	double *ly = log_runtimes(y, n);
	double *acc = xcalloc(n, sizeof *acc);
	double loss = 0.0, g = weight / (double)pairs;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			if (!(y[i] < y[j]))
				continue;
			/* i is faster: want s_j - s_i >= margin (log y_j - log y_i) */
			double l = margin * (ly[j] - ly[i]) - ((double)s[j] - (double)s[i]);
			if (l > 0.0) {
				loss += l;
				acc[i] += g;
				acc[j] -= g;
			}
		}
	if (ds)
		for (size_t i = 0; i < n; i++)
			ds[i] += (float)acc[i];
	free(acc);
	free(ly);
	return loss / (double)pairs;
}

#define MAPE_CLAMP 30.0

double nn_mape_loss(float *ds, const float *s, const double *y, size_t n, double weight)
{
	if (n == 0)
		return 0.0;
	double *ly = log_runtimes(y, n);
	double ms = 0.0, my = 0.0;
	for (size_t i = 0; i < n; i++) {
		ms += (double)s[i];
		my += ly[i];
	}
	ms /= (double)n;
	my /= (double)n;
	/* g_i = d loss / d d_i; d_i depends on every s through the mean, so
	 * d loss / d s_k = g_k - mean(g) */
	double *g = xmallocarray(n, sizeof *g);
	double loss = 0.0, gm = 0.0;
	for (size_t i = 0; i < n; i++) {
		double d = ((double)s[i] - ms) - (ly[i] - my);
		double dc = d > MAPE_CLAMP ? MAPE_CLAMP : d;
		double e = exp(dc);
		loss += fabs(e - 1.0);
		/* the clamp has no gradient; |e - 1| has sign(d) e */
		g[i] = d > MAPE_CLAMP || d == 0.0 ? 0.0 : (d > 0.0 ? e : -e) / (double)n;
		gm += g[i];
	}
	gm /= (double)n;
	if (ds)
		for (size_t i = 0; i < n; i++)
			ds[i] += (float)(weight * (g[i] - gm));
	free(g);
	free(ly);
	return loss / (double)n;
}
