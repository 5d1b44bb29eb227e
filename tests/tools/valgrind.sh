#!/usr/bin/env bash
# valgrind.sh: `make valgrind`.  Runs under valgrind memcheck (exit 99 on any
# error: invalid read/write, use of uninitialised values, a definite or
# indirect leak):
#  1. every fuzz harness as a corpus-replay program over its committed corpus;
#  2. a tiny pipeline of the filters that exist, stage by stage:
#     tpugen -> npz2mp -> prune-hop -> dijkstra-compress -> encode-base7
#     (-> --decode) -> mp-dump; sage-train (-> sage-predict) ; rank-ensemble,
#     rank-eval; and a few bad inputs, so the error paths are checked too.
# Prints one line per run and a summary; exits 1 if any run failed.
# VALGRIND_CORPUS_MAX=N replays at most N files per corpus (default all).
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=${BINDIR:-bin}
W=$(mktemp -d "${TMPDIR:-/tmp}/tpu-valgrind.XXXXXX")
trap 'rm -rf "$W"' EXIT
command -v valgrind >/dev/null || { echo "valgrind: not installed (apt-get install valgrind)" >&2; exit 3; }
VG=(valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --num-callers=30)
fail=0 runs=0

# vg WANT NAME CMD...: run CMD under memcheck; WANT is the expected exit status.
vg() {
	local want=$1 name=$2; shift 2
	local rc=0
	runs=$((runs + 1))
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "${VG[@]}" --log-file="$W/vg.log" "$@" \
		>"$W/out" 2>"$W/err" || rc=$?
	if [ "$rc" -ne "$want" ] || [ -s "$W/vg.log" ]; then
		echo "valgrind $name: FAILED (exit $rc, want $want)"
		head -n 60 "$W/vg.log"; head -n 5 "$W/err"
		fail=1
	else
		echo "valgrind $name: ok"
	fi
}

# 1. corpus replays
bash tests/fuzz/build-replay.sh build "$W/replay" || exit 3
for src in tests/fuzz/fuzz_*.c; do
	h=$(basename "$src" .c); h=${h#fuzz_}
	files=$(find "tests/fuzz/corpus/$h" -maxdepth 1 -type f | sort | head -n "${VALGRIND_CORPUS_MAX:-100000}")
	# shellcheck disable=SC2086
	vg 0 "replay-$h ($(echo "$files" | wc -l) inputs)" "$W/replay/replay-$h" $files
done

# 2. the tiny pipeline, stage by stage
has() { [ -x "$BIN/$1" ]; }
S=$W/s
mkdir -p "$S"
if has tpugen; then
	vg 0 "tpugen" "$BIN/tpugen" --out "$S/tg" --scale tiny -c layout:xla:random,tile:xla --limit 2
fi
if has npz2mp && [ -d "$S/tg" ]; then
	vg 0 "npz2mp" "$BIN/npz2mp" -q "$S/tg/npz"
	"$BIN/npz2mp" -q "$S/tg/npz/layout/xla/random/train" > "$S/layout.mp"
	"$BIN/npz2mp" -q "$S/tg/npz/tile/xla/train" > "$S/tile.mp"
	vg 0 "npz2mp (every fixture)" "$BIN/npz2mp" -q tests/fixtures/npz
	# the published files: Fortran-order edge_index, hidden test runtimes
	[ -d ../shared/data/real/npz ] && vg 0 "npz2mp (the real files)" "$BIN/npz2mp" -q ../shared/data/real/npz
	vg 1 "npz2mp (a bad file)" "$BIN/npz2mp" -q --collection tile:xla --split train tests/fixtures/bad/npz/bomb.npz
fi
L=$S/layout.mp
if [ -s "$L" ]; then
	has prune-hop && { "$BIN/prune-hop" -k 2 "$L" > "$S/p.mp"; vg 0 "prune-hop" "$BIN/prune-hop" -k 2 "$L"; }
	has dijkstra-compress && vg 0 "dijkstra-compress" "$BIN/dijkstra-compress" "$L"
	if has encode-base7; then
		vg 0 "encode-base7 --dedup" "$BIN/encode-base7" --dedup "$L"
		"$BIN/encode-base7" "$L" > "$S/e.mp"
		vg 0 "encode-base7 --decode" "$BIN/encode-base7" --decode "$S/e.mp"
	fi
	has mp-dump && vg 0 "mp-dump -f" "$BIN/mp-dump" -f "$L"
	has mp-dump && vg 1 "mp-dump (a cut stream)" "$BIN/mp-dump" tests/fixtures/bad/stream/cut-mid-record.mp
	if has sage-train; then
		vg 0 "sage-train" "$BIN/sage-train" -q -e 2 -t 1 --hidden 8 --layers 1 \
			--checkpoint "$S/ck" --out "$S/model" "$L"
		vg 1 "sage-train (a bad stream)" "$BIN/sage-train" -q -e 1 -t 1 --hidden 8 --layers 1 \
			--out "$S/model2" tests/fixtures/bad/stream/layout-value.mp
		# the other archs' kernels and the training variants
		vg 0 "sage-train --arch gat --pe --drop-edge" "$BIN/sage-train" -q -e 2 -t 1 --hidden 8 \
			--layers 1 --arch gat --heads 2 --pe rwpe:3 --drop-edge 0.2 --out "$S/m-gat" "$L"
		vg 0 "sage-train --arch gps --loss diffmat --mape" "$BIN/sage-train" -q -e 1 -t 1 \
			--hidden 8 --layers 1 --arch gps --heads 2 --loss diffmat --mape 0.5 --out "$S/m-gps" "$L"
		for a in gin appnp mlp; do
			vg 0 "sage-train --arch $a --swa" "$BIN/sage-train" -q -e 2 -t 1 --hidden 8 \
				--layers 1 --arch $a --swa 2 --out "$S/m-$a" "$L"
		done
		[ -s "$S/m-gin" ] && vg 0 "sage-train --init" "$BIN/sage-train" -q -e 1 -t 1 \
			--init "$S/m-gin" --out "$S/m-ft" "$L"
		[ -s "$S/m-gat" ] && vg 0 "sage-predict (gat, pe)" "$BIN/sage-predict" --model "$S/m-gat" "$L"
	fi
	if has sage-predict && [ -s "$S/model" ]; then
		vg 0 "sage-predict" "$BIN/sage-predict" --model "$S/model" "$L"
	fi
fi
OKP=tests/fixtures/bad/stream/ok-preds.mp OKG=tests/fixtures/bad/stream/ok-graphs.mp
if has rank-ensemble; then
	vg 0 "rank-ensemble" "$BIN/rank-ensemble" -c "$S/sub.csv" "$OKP" "$OKP"
	vg 1 "rank-ensemble (a NaN score)" "$BIN/rank-ensemble" "$OKP" tests/fixtures/bad/stream/pred-nan.mp
fi
if has rank-eval; then
	vg 0 "rank-eval" "$BIN/rank-eval" -t "$OKG" "$OKP"
	[ -s "$S/sub.csv" ] && vg 0 "rank-eval --csv" "$BIN/rank-eval" -t "$OKG" -c "$S/sub.csv"
fi
if has hlo2mp; then
	vg 0 "hlo2mp" "$BIN/hlo2mp" -q --collection tile:xla --split train tests/fixtures/hlo/op_tuning_data.pb
fi
echo "valgrind: $runs runs, $([ $fail -eq 0 ] && echo 'all clean' || echo 'FAILURES')"
exit $fail
