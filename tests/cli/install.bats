#!/usr/bin/env bats
# make install: the installed scripts find the installed filters from a
# clean environment (no TPU_BIN, PREFIX/bin not on PATH), wherever PREFIX
# is, and a DESTDIR staged install works once moved to its PREFIX.

load helper

setup_file() { tiny_data_setup_file; }

setup() { T="$BATS_TEST_TMPDIR"; }
BINREL() { realpath --relative-to="$ROOT" "$BIN"; }

@test "install: tpurank-collection runs under env -i PATH=/usr/bin:/bin" {
	run make -C "$ROOT" install PREFIX="$T/inst dir" BINDIR="$(BINREL)"
	assert_success
	cd "$T"
	run env -i PATH=/usr/bin:/bin "$T/inst dir/bin/tpurank-collection" \
		--data "$D" --out "$T/io" --set "$QUICK" tile:xla
	assert_success
	refute_output --partial "command not found"
	[ -s "$T/io/tile_xla/main/pred-test.mp" ]
	run --separate-stderr env -i PATH=/usr/bin:/bin "$T/inst dir/bin/tpurank-predict" --csv \
		"$T/io/tile_xla/main" "$D/npz/tile/xla/test"
	assert_success
	[ "${lines[0]}" = "ID,TopConfigs" ]
	[ "${#lines[@]}" -eq $(($(ls "$D"/npz/tile/xla/test/*.npz | wc -l) + 1)) ]
	run make -C "$ROOT" uninstall PREFIX="$T/inst dir" BINDIR="$(BINREL)"
	assert_success
	[ -z "$(find "$T/inst dir" -type f -o -type l)" ]
}

@test "install: a DESTDIR staged install works once moved to its PREFIX" {
	run make -C "$ROOT" install DESTDIR="$T/stage" PREFIX=/opt/tpurank BINDIR="$(BINREL)"
	assert_success
	mv "$T/stage/opt/tpurank" "$T/moved"
	cd "$T"
	run env -i PATH=/usr/bin:/bin "$T/moved/bin/tpurank-collection" \
		--data "$D" --out "$T/io" --set "$QUICK" tile:xla
	assert_success
	[ -s "$T/io/tile_xla/main/pred-test.mp" ]
}
