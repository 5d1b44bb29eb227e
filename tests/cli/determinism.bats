#!/usr/bin/env bats
# The same seed and threads train the same model on any x86-64 CPU: the
# kernels have one summation order whatever the instruction set (lib/nn.c,
# "One summation order on every CPU").  Every code path is forced in turn:
# the dense products' kernels by NN_GEMM=sse|avx2|avx512, the other kernels'
# clones by a build of their own (-DNN_NO_CLONES -march=...: baseline
# x86-64, x86-64-v3 with AVX2 and FMA, x86-64-v4 with AVX-512 where this CPU
# runs it).  Every arch, both kinds and one and two threads must give the
# model bytes of the default build (target_clones and the widest GEMM
# kernels, the loader's pick for this CPU).  OpenBLAS (NN_GEMM=blas) is
# CPU-specific by design and is not compared.

load helper

setup_file() {
	local D="$BATS_FILE_TMPDIR"
	tpugen --out "$D/tg" --scale tiny --collections layout:xla:random,tile:xla >/dev/null
	for s in train valid; do
		npz2mp -q "$D/tg/npz/layout/xla/random/$s" | encode-base7 > "$D/l_$s.mp"
		npz2mp -q "$D/tg/npz/tile/xla/$s" > "$D/t_$s.mp"
	done
}

setup() {
	D="$BATS_FILE_TMPDIR"
	T="$BATS_TEST_TMPDIR"
}

# digests BINDIR: one line per model, its parameters' SHA-256
digests() {
	local b=$1 kind arch th
	for kind in l t; do
		for arch in sage gat gin appnp gps mlp; do
			for th in 1 2; do
				"$b/sage-train" -q --hidden 16 --layers 2 --op-dim 4 --cfg-dim 2 \
					--se-dim 4 --heads 2 --configs-per-graph 16 --epochs 3 \
					--arch "$arch" --threads "$th" --out "$T/m.mp" \
					--valid "$D/${kind}_valid.mp" "$D/${kind}_train.mp" 2>/dev/null
				echo "$kind $arch $th $(mp-dump --full --type param "$T/m.mp" | sha256sum)"
			done
		done
	done
}

@test "determinism: the SSE, AVX2 and AVX-512 GEMM kernels train the default's models, bit for bit" {
	local want g
	want=$(digests "$BIN")
	[ "$(printf '%s\n' "$want" | sort -u -k4 | wc -l)" -gt 20 ]   # the models do differ
	for g in sse avx2 avx512; do
		run diff <(printf '%s\n' "$want") <(NN_GEMM=$g digests "$BIN")
		echo "NN_GEMM=$g: $output" >&3
		assert_success
	done
}

@test "determinism: baseline x86-64, AVX2 and AVX-512 builds train the default build's models, bit for bit" {
	local want v n=0
	want=$(digests "$BIN")
	for v in x86-64 x86-64-v3 x86-64-v4; do
		case $v in
		x86-64-v3) grep -qw avx2 /proc/cpuinfo || { echo "# no AVX2: $v skipped" >&3; continue; } ;;
		x86-64-v4) grep -qw avx512bw /proc/cpuinfo || { echo "# no AVX-512: $v skipped" >&3; continue; } ;;
		esac
		make -s -C "$ROOT" BUILD="$T/$v/build" BINDIR="$T/$v/bin" \
			CFLAGS="-DNN_NO_CLONES -march=$v" "$T/$v/bin/sage-train" >/dev/null
		run diff <(printf '%s\n' "$want") <(digests "$T/$v/bin")
		echo "$v: $output" >&3
		assert_success
		n=$((n + 1))
	done
	[ "$n" -ge 1 ]
}
