#!/usr/bin/env bats
# lib/ is in layers (lib/README.md, the Makefile's LIB_BASE ... LIB_GEN): a
# module may include its own layer's headers and the earlier layers', never
# a later layer's.  Headers without a .c of their own belong to the layer of
# their module (gnn.h, nn_gemm.h, nn_exp.h: model; tpugen.h: gen).

load helper

# LAYER[name]: its layer's index, from `make lib-layers`
read_layers() {
	local i=0 line m
	declare -gA LAYER
	while IFS= read -r line; do
		for m in ${line#*: }; do LAYER[$m]=$i; done
		i=$((i + 1))
	done < <(make -s -C "$ROOT" lib-layers)
}

# layer index of a header or source name (without .c/.h), or -1
layer_of() {
	local name=$1
	case $name in
	gnn | nn_gemm | nn_exp) name=nn ;;
	tpugen) name=tpugen_graph ;;
	esac
	echo "${LAYER[$name]:--1}"
}

@test "lib-layers: every lib file is in a layer, and includes only its own or earlier layers" {
	local f base me inc it bad=0 n=0
	read_layers
	for f in "$ROOT"/lib/*.c "$ROOT"/lib/*.h; do
		base=$(basename "$f")
		base=${base%.*}
		me=$(layer_of "$base")
		[ "$me" -ge 0 ] || { echo "$f: in no layer"; bad=1; continue; }
		for inc in $(grep -o '^#include "[a-z_0-9]*\.h"' "$f" | sed 's/.*"\(.*\)\.h"/\1/'); do
			it=$(layer_of "$inc")
			n=$((n + 1))
			if [ "$it" -lt 0 ] || [ "$it" -gt "$me" ]; then
				echo "$f (layer $me) includes $inc.h (layer $it)"
				bad=1
			fi
		done
	done
	[ "$n" -gt 40 ]   # the includes were read
	[ "$bad" = 0 ]
}

@test "lib-layers: the Makefile refuses a lib/*.c in no layer" {
	cp -r "$ROOT/Makefile" "$ROOT/lib" "$BATS_TEST_TMPDIR/"
	touch "$BATS_TEST_TMPDIR/lib/stray.c"
	run make -s -C "$BATS_TEST_TMPDIR" -n all
	assert_failure
	assert_output --partial "lib/*.c and the layers of the Makefile differ: lib/stray.c"
}
