/* fuzz.h: shared by the fuzz harnesses (tests/fuzz/fuzz_*.c).
 *
 * Each harness defines LLVMFuzzerTestOneInput and is built two ways:
 *  - with clang -fsanitize=fuzzer (make fuzz / make fuzz-smoke), libFuzzer
 *    supplies main();
 *  - with the project's cc and -DFUZZ_REPLAY, replay.c supplies a main()
 *    that runs every file of the corpus directories given on the command
 *    line once (tests/cli/fuzz-replay.bats), so the corpus is a regression
 *    suite under plain, ASan and valgrind builds.
 *
 * A harness calls only the functions the filters call that return errors
 * instead of dying: a die() or exit() inside them is itself a finding
 * (libFuzzer reports "fuzz target exited").  FUZZ_CHECK aborts on a broken
 * invariant, which both builds report as a crash. */
#ifndef TPU_FUZZ_H
#define TPU_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c); \
	abort(); } } while (0)

/* An anonymous in-memory file holding data[0..size), rewound; its path
 * (/proc/self/fd/N) in path.  Returns the fd, or -1 (the input is then
 * skipped: a failure of the host, not of the code under test). */
int fuzz_memfd(const uint8_t *data, size_t size, char *path, size_t pathlen);

#endif
