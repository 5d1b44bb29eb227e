#!/usr/bin/env bats
# The same seed and threads give the same model bytes, before and after a
# change that is not meant to change them (issue 16): the parameters of a
# grid of small models (tests/tools/model_digests.sh: every arch, both
# kinds, every loss, the step options) against the digests recorded in
# tests/fixtures/model_digests.txt.  The kernels sum in one order on every
# x86-64 CPU (tests/cli/determinism.bats), so the file holds on any of
# them; the grid's two OpenBLAS cases (NN_GEMM=blas) are the CPU's own and
# left out.  A change that is meant to change the models records the file
# again (tests/tools/model_digests.sh DIR | grep -v -- -blas > ...) and
# says why in its commit.

load helper

@test "model-digests: the grid of small models has the recorded parameters, bit for bit" {
	run bash -c "'$ROOT/tests/tools/model_digests.sh' '$BATS_TEST_TMPDIR/md' | grep -v -- '-blas '"
	assert_success
	diff <(printf '%s\n' "$output") "$ROOT/tests/fixtures/model_digests.txt"
}
