#!/usr/bin/env bats
# tpugen: the synthetic dataset is in the published format (numpy reads it;
# keys, dtypes and shapes as published; features consistent with opcodes;
# DAG in topological order), deterministic, and npz2mp reads it back exactly.
# Only the tiny scale here (seconds); bench/tpugen.sh measures the others.

load helper

setup() { T="$BATS_TEST_TMPDIR"; }

@test "tpugen --help and --version" {
	run tpugen --help
	assert_success
	assert_output --partial "usage: tpugen"
	assert_output --partial "--collections"
	run tpugen --version
	assert_success
	assert_output --regexp '^tpugen [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "tpugen man page matches --help" {
	check_man_matches_help tpugen
}

@test "tpugen: bad arguments exit 2 with a message" {
	run tpugen
	assert_failure 2
	assert_output --partial "--out DIR is required"
	run tpugen --out "$T/o" --scale huge
	assert_failure 2
	assert_output --partial "--scale: want tiny, small or full"
	run tpugen --out "$T/o" --compress lzma
	assert_failure 2
	assert_output --partial "--compress"
	run tpugen --out "$T/o" --collections tile:xla,layout:foo
	assert_failure 2
	assert_output --partial "unknown collection 'layout:foo'"
	run tpugen --out "$T/o" --seed -1
	assert_failure 2
	assert_output --partial "--seed: bad value '-1'"
	run tpugen --out "$T/o" --jobs 0
	assert_failure 2
	run tpugen --out "$T/o" --bogus
	assert_failure 2
	assert_output --partial "unknown option --bogus"
	run tpugen --out "$T/o" extra
	assert_failure 2
	run tpugen --out
	assert_failure 2
	assert_output --partial "needs a value"
	[ ! -e "$T/o" ]
}

@test "tpugen: an output directory that cannot be made is an I/O error (3)" {
	touch "$T/file"
	run tpugen --out "$T/file/sub" --scale tiny
	assert_failure 3
	assert_output --partial "mkdir"
}

@test "tpugen --scale tiny: every collection, valid files in the published format" {
	need_py numpy
	run tpugen --out "$T/d" --scale tiny --seed 7
	assert_success
	assert_output ""
	for d in tile/xla layout/xla/random layout/xla/default layout/nlp/random layout/nlp/default; do
		for s in train valid test; do
			n=$(ls "$T/d/npz/$d/$s" | grep -c '\.npz$')
			[ "$n" -ge 1 ] || { echo "no files in $d/$s"; false; }
		done
	done
	[ -z "$(find "$T/d" -name '*.tmp.*')" ]
	run "$PY" "$ROOT/tests/tools/tpugen_check.py" "$T/d" --expect-files 23
	assert_success
	assert_output "ok: 23 files"
}

@test "tpugen: random and default collections hold the same programs" {
	run tpugen --out "$T/d" --scale tiny --collections layout:nlp:random,layout:nlp:default
	assert_success
	diff <(cd "$T/d/npz/layout/nlp/random" && find . -name '*.npz' | sort) \
	     <(cd "$T/d/npz/layout/nlp/default" && find . -name '*.npz' | sort)
	[ ! -e "$T/d/npz/tile" ] && [ ! -e "$T/d/npz/layout/xla" ]
}

@test "tpugen: same seed gives byte-identical output, whatever the thread count" {
	tpugen --out "$T/a" --scale tiny --seed 3 --jobs 1
	tpugen --out "$T/b" --scale tiny --seed 3 --jobs 4
	diff -r "$T/a" "$T/b"
	tpugen --out "$T/c" --scale tiny --seed 4 --collections tile:xla
	run diff -r "$T/a/npz/tile" "$T/c/npz/tile"
	assert_failure
}

@test "tpugen --compress: stored, deflate and mixed members, all readable" {
	need_py numpy
	for z in stored deflate mixed; do
		tpugen --out "$T/$z" --scale tiny --compress "$z" --collections tile:xla,layout:xla:random
	done
	run "$PY" - "$T" <<-'PY'
		import sys, glob, zipfile, numpy as np
		for z, want in (("stored", {0}), ("deflate", {8}), ("mixed", {0, 8})):
		    kinds = set()
		    for p in glob.glob(sys.argv[1] + "/" + z + "/npz/**/*.npz", recursive=True):
		        with zipfile.ZipFile(p) as f:
		            assert f.testzip() is None, p
		            k = {i.compress_type for i in f.infolist()}
		            assert len(k) == 1, (p, k)
		            kinds |= k
		        np.load(p)["node_feat"]
		    assert kinds == want, (z, kinds)
		print("ok")
	PY
	assert_success
	assert_output "ok"
	# the arrays do not depend on the compression
	"$PY" -c '
import sys, glob, numpy as np
a = sorted(glob.glob(sys.argv[1] + "/stored/npz/**/*.npz", recursive=True))
b = sorted(glob.glob(sys.argv[1] + "/deflate/npz/**/*.npz", recursive=True))
assert len(a) == len(b) > 0
for x, y in zip(a, b):
    fx, fy = np.load(x), np.load(y)
    for k in fx.files:
        assert np.array_equal(fx[k], fy[k]), (x, k)
' "$T"
}

@test "tpugen: --limit caps the graphs per split" {
	tpugen --out "$T/d" --scale small --collections tile:xla --limit 2
	for s in train valid test; do
		[ "$(ls "$T/d/npz/tile/xla/$s" | wc -l)" -eq 2 ]
	done
}

@test "tpugen --scale small and full (one graph per split): valid files" {
	need_py numpy
	tpugen --out "$T/s" --scale small --limit 1
	run "$PY" "$ROOT/tests/tools/tpugen_check.py" "$T/s" --expect-files 15
	assert_success
	assert_output "ok: 15 files"
	tpugen --out "$T/f" --scale full --limit 1 --collections tile:xla
	run "$PY" "$ROOT/tests/tools/tpugen_check.py" "$T/f" --expect-files 3
	assert_success
}

@test "tpugen: npz2mp reads the output back exactly" {
	need_py numpy msgpack
	[ -x "$BIN/npz2mp" ] || skip "npz2mp not built"
	tpugen --out "$T/d" --scale tiny --compress mixed
	npz2mp -q --chunk 7 "$T/d/npz" > "$T/all.mp"
	run "$PY" "$ROOT/tests/tools/npz_vs_mp.py" "$T/all.mp" --expect-graphs 23
	assert_success
	assert_output "ok: 23 graphs"
}

@test "tpugen: the trivial rankers script runs on the output" {
	need_py numpy scipy
	tpugen --out "$T/d" --scale tiny
	run "$PY" "$ROOT/tests/tools/trivial_rankers.py" --split all "$T/d"
	assert_success
	assert_output --partial "layout:nlp:default"
	assert_output --partial "fewest-set"
	assert_output --partial "largest-tile"
}
