#!/usr/bin/env bats
# Crash safety: a dead downstream stage (SIGPIPE) makes the upstream exit
# promptly and quietly with 141 (as a program killed by SIGPIPE), never 0; a killed upstream stage makes the
# downstream exit 1 without an `end`; named output files are written to a
# temporary name and renamed (a failed or killed run leaves the old file
# intact, a good run leaves no temporary); sage-train killed with SIGKILL
# mid-epoch and resumed from its checkpoint writes the same model bytes as
# an uninterrupted run.  Filters not built yet are skipped with the reason.

load helper

setup_file() {
	local d="$BATS_FILE_TMPDIR"
	if [ -x "$BIN/tpugen" ] && [ -x "$BIN/npz2mp" ]; then
		tpugen --out "$d/tg" --scale tiny -c layout:xla:random,tile:xla --limit 3
		# train and valid: the test split hides its runtimes (nothing trains on it)
		npz2mp -q "$d"/tg/npz/layout/*/*/{train,valid} > "$d/layout.mp"
		npz2mp -q "$d"/tg/npz/tile/*/{train,valid} > "$d/tile.mp"
		# a stream larger than a pipe's buffer, for the dead-reader test
		tpugen --out "$d/tgs" --scale small -c layout:xla:random --limit 2
		npz2mp -q "$d"/tgs/npz/layout/xla/random/{train,valid} > "$d/big.mp"
	fi
}

setup() { T="$BATS_TEST_TMPDIR"; D="$BATS_FILE_TMPDIR"; }

need_bin() {
	local b
	for b in "$@"; do [ -x "$BIN/$b" ] || skip "$b not built yet"; done
}

has_end() {
	LC_ALL=C grep -qaF $'\xa1t\xa3end' "$1" || LC_ALL=C grep -qaE '"t": ?"end"' "$1"
}

# upstream_of_dead_reader CMD...: run CMD into a reader that takes 100
# bytes and exits; prints CMD's exit status (124: it hung).
upstream_of_dead_reader() {
	bash -c 'timeout -k 5 20 "$@" 2>"'"$T"'/err" | head -c 100 >/dev/null
		echo "${PIPESTATUS[0]}"' _ "$@"
}

@test "crash-safety: a dead reader (SIGPIPE) ends every stream writer quietly with 141" {
	need_bin tpugen npz2mp
	local n=0 st f
	[ "$(wc -c < "$D/big.mp")" -gt 300000 ] || { echo "test stream too small"; return 1; }
	for f in "npz2mp -q $D/tgs/npz/layout/xla/random/train" "mp-dump -f $D/big.mp" "prune-hop $D/big.mp" \
		 "dijkstra-compress $D/big.mp" "encode-base7 $D/big.mp" \
		 "encode-base7 --dedup $D/big.mp"; do
		set -- $f
		[ -x "$BIN/$1" ] || { echo "# $1 not built yet" >&3; continue; }
		st=$(upstream_of_dead_reader "$BIN/$1" "${@:2}")
		# mp-dump dies by SIGPIPE, the others see EPIPE and exit 141 (the
		# shell's status for SIGPIPE): no message, and not a success
		[ "$st" -eq 141 ] || { echo "$f: exit $st after its reader died, want 141: $(cat "$T/err")"; return 1; }
		[ ! -s "$T/err" ] || { echo "$f: message '$(cat "$T/err")'"; return 1; }
		n=$((n + 1))
	done
	[ "$n" -ge 2 ]
}

@test "crash-safety: a dead reader of rank-ensemble and hlo2mp output: quiet 141" {
	need_bin rank-ensemble
	# a big pred stream: one pred of 300000 configs
	need_py numpy msgpack
	"$PY" -c '
import sys; sys.path.insert(0, sys.argv[1])
import numpy as np, mkstream as ms
ms.write_stream(sys.stdout.buffer, [{"t": "pred", "id": "tile:xla:big",
    "config_index": np.arange(300000, dtype=np.int64),
    "score": np.random.default_rng(1).random(300000).astype(np.float32)}])' \
		"$ROOT/tests/tools" > "$T/p.mp"
	st=$(upstream_of_dead_reader "$BIN/rank-ensemble" "$T/p.mp")
	[ "$st" -eq 141 ] && [ ! -s "$T/err" ] ||
		{ echo "rank-ensemble: exit $st, want 141: $(cat "$T/err")"; return 1; }
	[ -x "$BIN/hlo2mp" ] || skip "hlo2mp not built yet"
	st=$(upstream_of_dead_reader "$BIN/hlo2mp" -q --collection layout:xla:random --split train \
		"$FIX/hlo/module_tuning_data_layout.pb")
	[ "$st" -eq 141 ] && [ ! -s "$T/err" ] ||
		{ echo "hlo2mp: exit $st, want 141: $(cat "$T/err")"; return 1; }
}

@test "crash-safety: an upstream killed mid-stream: every reader exits 1, no end" {
	need_bin tpugen npz2mp
	local f half
	half=$(( $(wc -c < "$D/layout.mp") / 2 ))
	for f in mp-dump prune-hop dijkstra-compress encode-base7 sage-train rank-ensemble; do
		[ -x "$BIN/$f" ] || { echo "# $f not built yet" >&3; continue; }
		case $f in
			sage-train) args=(-q -e 1 -t 1 --hidden 8 --layers 1 --out "$T/model");;
			*) args=();;
		esac
		# the upstream writes half the stream, then dies by SIGKILL
		run bash -c 'set -o pipefail
			{ head -c '"$half"' "$1"; kill -9 $BASHPID; } | timeout -k 5 20 "${@:2}" >"'"$T"'/out"' \
			_ "$D/layout.mp" "$BIN/$f" "${args[@]}"
		[ "$status" -ne 0 ] || { echo "$f: the pipeline succeeded"; return 1; }
		# the reader itself: run it on the same cut stream
		head -c "$half" "$D/layout.mp" > "$T/cut.mp"
		run --separate-stderr timeout -k 5 20 "$BIN/$f" "${args[@]}" "$T/cut.mp"
		[ "$status" -eq 1 ] || { echo "$f: exit $status on a cut stream: $stderr"; return 1; }
		[[ "$stderr" == *"truncated stream"* ]] || { echo "$f: message '$stderr'"; return 1; }
		! has_end "$T/out" || { echo "$f: end record written"; return 1; }
		[ ! -e "$T/model" ] || { echo "$f: model file written"; return 1; }
	done
}

@test "crash-safety: rank-ensemble -o / -c: a failed run leaves the old files intact, no temporary" {
	need_bin rank-ensemble
	local bad="$FIX/bad/stream/pred-nan.mp" ok="$FIX/bad/stream/ok-preds.mp"
	echo old-stream > "$T/out.mp"
	echo old-csv > "$T/out.csv"
	run rank-ensemble -o "$T/out.mp" "$ok" "$bad"
	assert_failure 1
	run rank-ensemble -c "$T/out.csv" "$ok" "$bad"
	assert_failure 1
	[ "$(cat "$T/out.mp")" = old-stream ] || { echo "out.mp was overwritten"; return 1; }
	[ "$(cat "$T/out.csv")" = old-csv ] || { echo "out.csv was overwritten"; return 1; }
	[ "$(ls "$T" | sort | tr '\n' ' ')" = "out.csv out.mp " ] || { echo "left behind: $(ls "$T")"; return 1; }
	# a good run replaces them, and leaves nothing else
	run rank-ensemble -o "$T/out.mp" -c "$T/out.csv" "$ok" "$ok"
	assert_success
	has_end "$T/out.mp"
	head -n 1 "$T/out.csv" | grep -qx 'ID,TopConfigs'
	[ "$(ls "$T" | sort | tr '\n' ' ')" = "out.csv out.mp " ] || { echo "left behind: $(ls "$T")"; return 1; }
}

@test "crash-safety: sage-train: a failed run leaves the old model intact, a good one no temporary" {
	need_bin sage-train
	echo old-model > "$T/m"
	run sage-train -q -e 1 -t 1 --hidden 8 --layers 1 --out "$T/m" "$FIX/bad/stream/cut-mid-record.mp"
	assert_failure 1
	[ "$(cat "$T/m")" = old-model ] || { echo "model overwritten"; return 1; }
	run sage-train -q -e 1 -t 1 --hidden 8 --layers 1 --out "$T/m" --checkpoint "$T/ck" \
		"$FIX/bad/stream/ok-graphs.mp"
	assert_success
	[ "$(cat "$T/m")" != old-model ]
	[ "$(ls "$T" | sort | tr '\n' ' ')" = "ck m " ] || { echo "left behind: $(ls "$T")"; return 1; }
}

@test "crash-safety: sage-train SIGKILLed mid-epoch and resumed writes the same model bytes" {
	need_bin sage-train
	need_py numpy msgpack
	local opts=(-q -e 5 -t 1 -s 7 --hidden 48 --layers 3) pid i
	"$PY" "$ROOT/tests/tools/mkstream.py" layout --graphs 6 --nodes 300 --nc 20 --configs 60 \
		--chunk 20 --seed 3 > "$T/train.mp"
	"$PY" "$ROOT/tests/tools/mkstream.py" layout --graphs 2 --nodes 200 --nc 10 --configs 30 \
		--chunk 30 --seed 4 > "$T/valid.mp"
	sage-train "${opts[@]}" --valid "$T/valid.mp" --out "$T/whole" "$T/train.mp"
	echo old-model > "$T/killed"
	sage-train "${opts[@]}" --valid "$T/valid.mp" --out "$T/killed" --checkpoint "$T/ck" \
		--log "$T/log" "$T/train.mp" & pid=$!
	# wait for the first checkpoint (epoch 1 done), then kill inside epoch 2
	for i in $(seq 1 400); do [ -s "$T/ck" ] && break; sleep 0.05; done
	[ -s "$T/ck" ] || { kill -9 "$pid"; echo "no checkpoint after 20 s"; return 1; }
	sleep 0.2
	kill -9 "$pid" || { echo "sage-train ended before the kill: make the run longer"; return 1; }
	wait "$pid" || true
	[ "$(cat "$T/killed")" = old-model ] || { echo "model written before the end"; return 1; }
	epochs=$(wc -l < "$T/log")
	[ "$epochs" -lt 5 ] || { echo "all epochs ran before the kill"; return 1; }
	run sage-train "${opts[@]}" --valid "$T/valid.mp" --out "$T/killed" --checkpoint "$T/ck" \
		--resume "$T/train.mp"
	assert_success
	# byte for byte after the header record, whose history holds each run's argv
	run "$PY" -c '
import msgpack, sys
def body(p):
    data = open(p, "rb").read()
    u = msgpack.Unpacker(raw=False, max_buffer_size=len(data) + 1)
    u.feed(data)
    assert u.unpack()["t"] == "header"
    return data[u.tell():]
a, b = body(sys.argv[1]), body(sys.argv[2])
print(len(a), "bytes", "same" if a == b else "differ")' "$T/whole" "$T/killed"
	assert_success
	[[ "$output" == *" bytes same" ]] || { echo "resumed model differs (killed after $epochs epochs): $output"; return 1; }
}

@test "crash-safety: tpugen leaves no temporary files, and its .npz files are complete" {
	need_bin tpugen npz2mp
	[ -z "$(find "$D/tg" -name '*.tmp*')" ] || { echo "temporaries: $(find "$D/tg" -name '*.tmp*')"; return 1; }
	run npz2mp -q "$D/tg/npz"
	assert_success
}
