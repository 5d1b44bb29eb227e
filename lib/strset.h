/* strset: a set of strings (open addressing, FNV-1a), e.g. graph ids seen. */
#ifndef TPU_STRSET_H
#define TPU_STRSET_H

#include <stddef.h>

typedef struct {
	char **slot;
	size_t cap, n;
} strset_t;

/* Add a copy of s: 1 if it was new, 0 if it was there already. */
int strset_add(strset_t *st, const char *s);
int strset_has(const strset_t *st, const char *s);
void strset_free(strset_t *st);  /* leaves an empty set */

#endif
