/* strset: see strset.h */
#include "strset.h"
#include "err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* The slot holding s, or the empty slot where it would go. */
static size_t find(const strset_t *st, const char *s)
{
	size_t i = (size_t)str_hash(s) & (st->cap - 1);
	while (st->slot[i] && strcmp(st->slot[i], s) != 0)
		i = (i + 1) & (st->cap - 1);
	return i;
}

int strset_add(strset_t *st, const char *s)
{
	size_t i;
	if (2 * (st->n + 1) > st->cap) {
		strset_t b = {xcalloc(st->cap ? 2 * st->cap : 64, sizeof(char *)),
			      st->cap ? 2 * st->cap : 64, 0};
		for (size_t k = 0; k < st->cap; k++)
			if (st->slot[k]) {
				b.slot[find(&b, st->slot[k])] = st->slot[k];
				b.n++;
			}
		free(st->slot);
		*st = b;
	}
	i = find(st, s);
	if (st->slot[i])
		return 0;
	st->slot[i] = xstrdup(s);
	st->n++;
	return 1;
}

void strset_free(strset_t *st)
{
	for (size_t k = 0; k < st->cap; k++)
		free(st->slot[k]);
	free(st->slot);
	st->slot = NULL;
	st->cap = st->n = 0;
}
