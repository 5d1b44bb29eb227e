/* strset: a set of strings (open addressing), e.g. graph ids seen. */
#ifndef TPU_STRSET_H
#define TPU_STRSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	char **slot;
	size_t cap, n;
} strset_t;

/* Add a copy of s: 1 if it was new, 0 if it was there already. */
int strset_add(strset_t *st, const char *s);
void strset_free(strset_t *st);  /* leaves an empty set */

/* The 64-bit hash of s, the one string hash of the project (the set's,
 * metrics' by-id table's, npz2mp's per-graph sample stream's): FNV-1a's
 * xor-multiply step with the offset basis 1469598103934665603, FNV's
 * 14695981039346656037 with its last digit lost when it was first typed.
 * It hashes as well; it stays, so that npz2mp --max-configs keeps drawing
 * the samples it always drew. */
uint64_t str_hash(const char *s);

#endif
