/* base7: layout config values packed six to a base-7 code, and row hashing.
 *
 * A layout config gives every configurable node 18 values, three blocks of
 * six (output, input, kernel layout), each value in -1..5.  A block packs
 * into one code:
 *     code = sum over slot s = 0..5 of (value[s] + 1) * 7^s
 * slot 0 is the least significant digit; every code is < 7^6 = 117649.  The
 * packing is exact both ways: b7_unpack(b7_pack(x)) == x bit for bit for
 * every valid x, and b7_pack(b7_unpack(c)) == c for every c < 7^6. */
#ifndef TPU_BASE7_H
#define TPU_BASE7_H

#include <stddef.h>
#include <stdint.h>

#define B7_SLOTS 6
#define B7_NCODES 117649u /* 7^6 */

/* Pack nblocks blocks of six floats into nblocks codes.  Returns -1, or the
 * flat index (into vals) of the first value that is not an integer in -1..5
 * (NaN included); codes up to that block are then unspecified. */
int64_t b7_pack(uint32_t *codes, const float *vals, size_t nblocks);

/* Unpack ncodes codes into 6 * ncodes floats.  Returns -1, or the index of
 * the first code >= 7^6. */
int64_t b7_unpack(float *vals, const uint32_t *codes, size_t ncodes);

/* The digits of ncodes codes, 6 * ncodes symbols 0..6 (value + 1, slot 0
 * first): the model's embedding indices (lib/model.c).  Returns -1, or the
 * index of the first code >= 7^6. */
int64_t b7_symbols(uint8_t *sym, const uint32_t *codes, size_t ncodes);

/* A 64-bit hash of a row of codes (for finding duplicate rows). */
uint64_t b7_hash(const uint32_t *row, size_t width);

/* Group identical rows: rows is (nrows, width) row-major.  first[i] = index
 * of the first row equal to row i (i itself for a first occurrence).
 * Expected O(nrows * width) with a hash table of 2 * nrows slots.  Returns
 * the number of distinct rows. */
size_t b7_group_rows(const uint32_t *rows, size_t nrows, size_t width,
		     int64_t *first);

/* The same, by comparing every pair (for tests). */
size_t b7_group_rows_naive(const uint32_t *rows, size_t nrows, size_t width,
			   int64_t *first);

#endif
