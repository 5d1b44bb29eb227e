/* base7: see base7.h */
#include "base7.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

int64_t b7_pack(uint32_t *codes, const float *vals, size_t nblocks)
{
	size_t b;
	int s;
	for (b = 0; b < nblocks; b++) {
		const float *v = vals + b * B7_SLOTS;
		uint32_t c = 0;
		for (s = B7_SLOTS - 1; s >= 0; s--) {
			float x = v[s];
			/* the comparisons are false for NaN */
			if (!(x >= -1.0f && x <= 5.0f) || x != (float)(int)x)
				return (int64_t)(b * B7_SLOTS + (size_t)s);
			c = c * 7 + (uint32_t)((int)x + 1);
		}
		codes[b] = c;
	}
	return -1;
}

int64_t b7_symbols(uint8_t *sym, const uint32_t *codes, size_t ncodes)
{
	for (size_t b = 0; b < ncodes; b++) {
		uint32_t c = codes[b];
		if (c >= B7_NCODES)
			return (int64_t)b;
		for (int s = 0; s < B7_SLOTS; s++) {
			sym[b * B7_SLOTS + s] = (uint8_t)(c % 7);
			c /= 7;
		}
	}
	return -1;
}

int64_t b7_unpack(float *vals, const uint32_t *codes, size_t ncodes)
{
	for (size_t b = 0; b < ncodes; b++) {
		uint8_t sym[B7_SLOTS];
		if (b7_symbols(sym, codes + b, 1) >= 0)
			return (int64_t)b;
		for (int s = 0; s < B7_SLOTS; s++)
			vals[b * B7_SLOTS + s] = (float)((int)sym[s] - 1);
	}
	return -1;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

uint64_t b7_hash(const uint32_t *row, size_t width)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)width;
	size_t i = 0;
	for (; i + 1 < width; i += 2)
		h = mix64(h ^ ((uint64_t)row[i] | (uint64_t)row[i + 1] << 32));
	if (i < width)
		h = mix64(h ^ (uint64_t)row[i]);
	return mix64(h);
}

size_t b7_group_rows(const uint32_t *rows, size_t nrows, size_t width,
		     int64_t *first)
{
	size_t cap = 16, mask, i, distinct = 0;
	int64_t *slot;
	uint64_t *hash;
	while (cap < 2 * nrows)
		cap *= 2;
	mask = cap - 1;
	slot = xmallocarray(cap, sizeof *slot);
	hash = xmallocarray(nrows + 1, sizeof *hash);
	for (i = 0; i < cap; i++)
		slot[i] = -1;
	for (i = 0; i < nrows; i++) {
		const uint32_t *row = rows + i * width;
		uint64_t h = b7_hash(row, width);
		size_t p = (size_t)h & mask;
		hash[i] = h;
		for (;;) {
			int64_t j = slot[p];
			if (j < 0) {
				slot[p] = (int64_t)i;
				first[i] = (int64_t)i;
				distinct++;
				break;
			}
			if (hash[j] == h &&
			    memcmp(rows + (size_t)j * width, row, width * sizeof *row) == 0) {
				first[i] = j;
				break;
			}
			p = (p + 1) & mask;
		}
	}
	free(hash);
	free(slot);
	return distinct;
}

size_t b7_group_rows_naive(const uint32_t *rows, size_t nrows, size_t width,
			   int64_t *first)
{
	size_t i, j, distinct = 0;
	for (i = 0; i < nrows; i++) {
		first[i] = (int64_t)i;
		for (j = 0; j < i; j++) {
			if (memcmp(rows + j * width, rows + i * width,
				   width * sizeof *rows) == 0) {
				first[i] = (int64_t)j;
				break;
			}
		}
		if (first[i] == (int64_t)i)
			distinct++;
	}
	return distinct;
}
