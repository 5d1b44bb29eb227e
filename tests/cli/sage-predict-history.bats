#!/usr/bin/env bats
# sage-predict against the model's training-data history: the model records
# how its data was prepared (sage-train), sage-predict refuses a stream
# prepared otherwise unless --force, accepts the differences that do not
# change the graphs (config sampling, --dedup), and does not check a model
# written before the history was recorded.

load helper

Q=(--hidden 8 --layers 1 --op-dim 4 --cfg-dim 2 --se-dim 4 --configs-per-graph 8 --threads 1 -q)

setup_file() {
	local D="$BATS_FILE_TMPDIR"
	tpugen --out "$D/tg" --scale tiny --collections layout:xla:random,tile:xla >/dev/null
	for s in train valid; do
		npz2mp -q "$D/tg/npz/layout/xla/random/$s" > "$D/raw_$s.mp"
		prune-hop -k 1 "$D/raw_$s.mp" | encode-base7 > "$D/k1_$s.mp"
	done
	sage-train "${Q[@]}" --epochs 1 --out "$D/k1.mp" "$D/k1_train.mp" 2>/dev/null
}

setup() {
	D="$BATS_FILE_TMPDIR"
	T="$BATS_TEST_TMPDIR"
}

@test "sage-predict history: the model records its training stream's history (mp-dump shows it)" {
	run mp-dump "$D/k1.mp"
	assert_success
	assert_line --partial '"t": "training"'
	assert_output --partial '"data_history": [{"name": "npz2mp"'
	assert_output --partial '{"name": "prune-hop", "version": '
	assert_output --partial '"argv": ["prune-hop", "-k", "1", '
}

@test "sage-predict history: a model trained on prune-hop -k 1 output refuses an unpruned stream, naming the difference" {
	run --separate-stderr sage-predict --model "$D/k1.mp" "$D/raw_valid.mp"
	assert_failure 1
	[ -z "$output" ]
	[ "$stderr" = "sage-predict: $D/raw_valid.mp: prepared differently from the model's training data: the model's data went through prune-hop -k 1, this stream did not (--force scores it anyway)" ]
	# stdin, other hops, an extra stage
	run sage-predict --model "$D/k1.mp" < "$D/raw_valid.mp"
	assert_failure 1
	assert_output --partial "sage-predict: stdin: prepared differently"
	prune-hop -k 2 "$D/raw_valid.mp" > "$T/k2.mp"
	run sage-predict --model "$D/k1.mp" "$T/k2.mp"
	assert_failure 1
	assert_output --partial "the model's data went through prune-hop -k 1, this stream through prune-hop -k 2"
	dijkstra-compress "$D/k1_valid.mp" > "$T/k1d.mp"
	run sage-predict --model "$D/k1.mp" "$T/k1d.mp"
	assert_failure 1
	assert_output --partial "this stream went through dijkstra-compress -w unit, the model's data did not"
}

@test "sage-predict history: --force scores a differently prepared stream with one warning" {
	run --separate-stderr sage-predict --force --model "$D/k1.mp" "$D/raw_valid.mp"
	assert_success
	[ "$stderr" = "sage-predict: $D/raw_valid.mp: prepared differently from the model's training data: the model's data went through prune-hop -k 1, this stream did not (--force: scoring it anyway)" ]
	sage-predict --force --model "$D/k1.mp" "$D/raw_valid.mp" 2>/dev/null > "$T/p.mp"
	run mp-dump "$T/p.mp"
	assert_success
	assert_line --partial '"t": "pred"'
	assert_line --partial '"t": "end"'
	# no -f: that letter belongs to another option of the filters
	run sage-predict -f --model "$D/k1.mp" "$D/raw_valid.mp"
	assert_failure 2
}

@test "sage-predict history: the same preparation written otherwise, with other sampling, dedup or file names, is accepted" {
	# --hops=1 is -k 1, -d both the default; --max-configs, --seed, --dedup,
	# the file names and -q do not change the graphs
	npz2mp -q --max-configs 3 --seed 7 "$D/tg/npz/layout/xla/random/valid" |
		prune-hop --hops=1 -d both | encode-base7 --dedup --keep first > "$T/v.mp"
	run --separate-stderr sage-predict --model "$D/k1.mp" "$T/v.mp"
	assert_success
	[ -z "$stderr" ]
	# encode-base7 alone is no step (the model reads plain configs too)
	prune-hop -k 01 "$D/raw_valid.mp" > "$T/plain.mp"
	run --separate-stderr sage-predict --model "$D/k1.mp" "$T/plain.mp"
	assert_success
	[ -z "$stderr" ]
}

@test "sage-predict history: a tile model is not held to the reducers (tile graphs pass through them)" {
	npz2mp -q "$D/tg/npz/tile/xla/train" > "$T/t_train.mp"
	sage-train "${Q[@]}" --epochs 1 --out "$T/t.mp" "$T/t_train.mp" 2>/dev/null
	npz2mp -q "$D/tg/npz/tile/xla/valid" | prune-hop -k 2 | dijkstra-compress |
		encode-base7 -c > "$T/t_valid.mp"
	run --separate-stderr sage-predict --model "$T/t.mp" "$T/t_valid.mp"
	assert_success
	[ -z "$stderr" ]
}

@test "sage-predict history: a model written before the history was recorded is not checked" {
	"$PY" -c '
import sys, msgpack
out = open(sys.argv[2], "wb")
for r in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False):
    if r["t"] == "training":
        del r["data_history"]
    out.write(msgpack.packb(r, use_bin_type=True))' "$D/k1.mp" "$T/old.mp"
	run mp-dump "$T/old.mp"
	refute_output --partial data_history
	run --separate-stderr sage-predict --model "$T/old.mp" "$D/raw_valid.mp"
	assert_success
	[ -z "$stderr" ]
	# its scores are the new model's (the check is all that differs)
	sage-predict --model "$T/old.mp" "$D/k1_valid.mp" > "$T/a.mp"
	sage-predict --model "$D/k1.mp" "$D/k1_valid.mp" > "$T/b.mp"
	diff <(mp-dump --full "$T/a.mp" | grep '"t": "pred"') <(mp-dump --full "$T/b.mp" | grep '"t": "pred"')
}

@test "sage-predict history: a malformed history is bad data naming the file" {
	"$PY" -c '
import sys, msgpack
out = open(sys.argv[2], "wb")
for r in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False):
    if r["t"] == "header":
        r["history"] = [{"argv": ["x"]}]
    out.write(msgpack.packb(r, use_bin_type=True))' "$D/k1_valid.mp" "$T/bad.mp"
	run sage-predict --model "$D/k1.mp" "$T/bad.mp"
	assert_failure 1
	assert_output --partial "sage-predict: $T/bad.mp: header: history entry 0 is not a {name, version, argv} map"
}

@test "sage-predict history: collection.sh's train, valid and test streams, sampled differently, are accepted" {
	run collection.sh --data "$D/tg" --out "$T/o" \
		--set 'TRAIN_OPTS=--epochs 1 --hidden 8 --layers 1 --configs-per-graph 8' \
		--set 'NPZ_TRAIN_OPTS=--max-configs 4' layout:xla:random
	assert_success
	W="$T/o/layout_xla_random/main"
	[ -s "$W/pred-valid.mp" ]
	[ -s "$W/pred-test.mp" ]
	# the splits were prepared with other options, and the model knows it
	run mp-dump "$W/model.mp"
	assert_output --partial '"--max-configs", "4"'
	assert_output --partial '"argv": ["encode-base7", "--dedup"]'
	run mp-dump "$W/data/valid.mp"
	refute_output --partial 'max-configs'
	refute_output --partial 'dedup'
}
