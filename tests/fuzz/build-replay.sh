#!/usr/bin/env bash
# tests/fuzz/build-replay.sh BUILD OUT: build every harness as a plain
# corpus-replay program OUT/replay-NAME with the project's compiler,
# linked with BUILD/libtpu.a.  When that library was built with ASan/UBSan
# (make SAN=1: build-asan) the replay programs are too.  Used by
# tests/cli/fuzz-replay.bats and make valgrind.
set -eu
cd "$(dirname "$0")/../.."
build=${1:?BUILD dir}; out=${2:?output dir}
lib=$build/libtpu.a
[ -f "$lib" ] || { echo "build-replay: $lib missing (run make first)" >&2; exit 3; }
flags=(-std=c11 -O1 -g -Wall -Wextra -Wno-unused-parameter -D_DEFAULT_SOURCE
	-D_FILE_OFFSET_BITS=64 -DFUZZ_REPLAY -Ilib -Itests/fuzz)
[ "${CI:-}" = true ] && flags+=(-Werror)
if nm "$lib" 2>/dev/null | grep -q '__asan_report'; then
	flags+=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
fi
# lib/npz built with ISA-L (make's ISAL=1, the default where it is installed)
libs=(-lmsgpackc -lz -lopenblas -lm -fopenmp)
if nm "$lib" 2>/dev/null | grep -q ' U isal_inflate'; then
	libs=(-lmsgpackc -lisal -lz -lopenblas -lm -fopenmp)
fi
mkdir -p "$out"
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c); name=${name#fuzz_}
	${CC:-cc} "${flags[@]}" -o "$out/replay-$name" "$src" tests/fuzz/replay.c \
		tests/fuzz/util.c "$lib" "${libs[@]}"
done
