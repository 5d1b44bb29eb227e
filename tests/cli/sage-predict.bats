#!/usr/bin/env bats
# sage-predict: options, bad input, one pred per graph covering every
# original config index (dedup'd streams expanded), the trainer's valid score
# reproduced by rank-eval, independence from chunking and encoding.

load helper

Q=(--hidden 8 --layers 2 --op-dim 4 --cfg-dim 2 --se-dim 4 --configs-per-graph 16 --threads 1)

setup_file() {
	local D="$BATS_FILE_TMPDIR"
	tpugen --out "$D/tg" --scale tiny --collections layout:xla:random,tile:xla >/dev/null
	for s in train valid test; do
		npz2mp -q "$D/tg/npz/layout/xla/random/$s" > "$D/lraw_$s.mp"
		encode-base7 "$D/lraw_$s.mp" > "$D/l_$s.mp"
		npz2mp -q "$D/tg/npz/tile/xla/$s" > "$D/t_$s.mp"
	done
	sage-train "${Q[@]}" -q --epochs 2 --valid "$D/l_valid.mp" --log "$D/l.log" \
		--out "$D/l.mp" "$D/l_train.mp"
	sage-train "${Q[@]}" -q --epochs 2 --valid "$D/t_valid.mp" --log "$D/t.log" \
		--out "$D/t.mp" "$D/t_train.mp"
	sage-train "${Q[@]}" -q --epochs 1 --xattn on --out "$D/lx.mp" "$D/l_train.mp"
}

setup() {
	D="$BATS_FILE_TMPDIR"
	T="$BATS_TEST_TMPDIR"
}

# pred records as "id config_index score" lines, sorted
preds() {
	"$PY" -c '
import sys, msgpack, numpy as np
for r in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False):
    if r["t"] == "pred":
        ix = np.frombuffer(r["config_index"]["data"], "<i8")
        sc = np.frombuffer(r["score"]["data"], "<f4")
        for i, s in zip(ix, sc):
            print(r["id"], i, repr(float(s)))' "$1" | sort
}

@test "sage-predict --help and --version" {
	run sage-predict --help
	assert_success
	assert_output --partial "usage: sage-predict"
	run sage-predict --version
	assert_success
	assert_output --regexp '^sage-predict [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "sage-predict man page matches --help" {
	check_man_matches_help sage-predict
}

@test "sage-predict: usage errors exit 2" {
	run sage-predict "$D/l_valid.mp"
	assert_failure 2
	assert_output --partial "--model MODEL is required"
	run sage-predict --model "$D/l.mp" --batch 0 "$D/l_valid.mp"
	assert_failure 2
	run sage-predict --model "$D/l.mp" a b
	assert_failure 2
	run sage-predict --bogus
	assert_failure 2
	assert_output --partial "usage: sage-predict"
}

@test "sage-predict: a bad model file is an error naming it" {
	run sage-predict --model "$T/nope.mp" "$D/l_valid.mp"
	assert_failure 3
	assert_output --partial "nope.mp"
	run sage-predict --model "$D/l_valid.mp" "$D/l_valid.mp"
	assert_failure 1
	assert_output --partial "not a model file"
	head -c 3000 "$D/l.mp" > "$T/cut.mp"
	run sage-predict --model "$T/cut.mp" "$D/l_valid.mp"
	assert_failure 1
	assert_output --partial "truncated"
}

@test "sage-predict: truncated input exits 1 without an end; empty input is fine" {
	head -c 5000 "$D/l_valid.mp" > "$T/cut.mp"
	run sage-predict --model "$D/l.mp" "$T/cut.mp"
	assert_failure 1
	assert_output --partial "truncated"
	need_py msgpack
	"$PY" -c '
import msgpack, sys
w = sys.stdout.buffer.write
w(msgpack.packb({"t": "header", "format": "tpugraphs-mp", "version": 1, "history": []}))
w(msgpack.packb({"t": "end", "records": 1, "graphs": 0, "chunks": 0, "configs": 0, "preds": 0}))' > "$T/empty.mp"
	sage-predict --model "$D/l.mp" "$T/empty.mp" > "$T/p.mp"
	run mp-dump "$T/p.mp"
	assert_success
	assert_line --index 1 --partial '"t": "end", "records": 1'
}

@test "sage-predict: the model's kind must match the graphs'" {
	run sage-predict --model "$D/l.mp" "$D/t_valid.mp"
	assert_failure 1
	assert_output --partial "a tile graph, but the model is for layout graphs"
}

@test "sage-predict: rank-eval of the predictions gives the trainer's best valid score" {
	for k in l t; do
		sage-predict --model "$D/$k.mp" "$D/${k}_valid.mp" > "$T/p.mp"
		best=$(tail -n 1 "$D/$k.log" | sed 's/.*"best": \([-0-9.e]*\).*/\1/')
		run rank-eval --json --truth "$D/${k}_valid.mp" "$T/p.mp"
		assert_success
		score=$(printf '%s\n' "$output" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["overall"]["score"])')
		echo "$k: trainer $best, rank-eval $score" >&3
		"$PY" -c "import sys; sys.exit(0 if abs($best - $score) < 1e-5 else 1)"
	done
}

@test "sage-predict: stdin and file, chunk sizes and raw configs give the same predictions" {
	need_py numpy msgpack
	sage-predict --model "$D/l.mp" "$D/l_valid.mp" > "$T/a.mp"
	sage-predict --model "$D/l.mp" < "$D/l_valid.mp" > "$T/b.mp"
	diff <(preds "$T/a.mp") <(preds "$T/b.mp")
	# raw node_config_feat, cut into chunks of 7
	npz2mp -q --chunk 7 "$D/tg/npz/layout/xla/random/valid" > "$T/raw7.mp"
	sage-predict --model "$D/l.mp" "$T/raw7.mp" > "$T/c.mp"
	diff <(preds "$T/a.mp") <(preds "$T/c.mp")
	# with cross-config attention too: batches do not follow the chunks
	sage-predict --model "$D/lx.mp" "$D/l_valid.mp" > "$T/x1.mp"
	sage-predict --model "$D/lx.mp" "$T/raw7.mp" > "$T/x2.mp"
	diff <(preds "$T/x1.mp") <(preds "$T/x2.mp")
	# without it, the batch size does not matter (up to float rounding)
	sage-predict --model "$D/l.mp" --batch 5 --threads 2 "$D/l_valid.mp" > "$T/d.mp"
	"$PY" - "$T/a.mp" "$T/d.mp" <<'EOF'
import sys, msgpack, numpy as np
def load(p):
    out = {}
    for r in msgpack.Unpacker(open(p, "rb"), raw=False):
        if r["t"] == "pred":
            ix = np.frombuffer(r["config_index"]["data"], "<i8")
            out[r["id"]] = np.frombuffer(r["score"]["data"], "<f4")[np.argsort(ix)]
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a.keys() == b.keys()
for k in a:
    assert np.allclose(a[k], b[k], rtol=1e-5, atol=1e-6), k
EOF
}

@test "sage-predict: dedup'd configs are expanded to every original index" {
	need_py numpy msgpack
	npz2mp -q "$D/tg/npz/layout/xla/random/test" > "$T/test.mp"
	encode-base7 --dedup --force "$T/test.mp" > "$T/dd.mp"
	sage-predict --model "$D/l.mp" "$T/test.mp" > "$T/full.mp"
	sage-predict --model "$D/l.mp" "$T/dd.mp" > "$T/dd_p.mp"
	# same indices, each once; duplicates get their kept row's score, which
	# is the score of the identical config (up to the batch it was in)
	"$PY" - "$T/full.mp" "$T/dd_p.mp" "$T/test.mp" <<'EOF'
import sys, msgpack, numpy as np
def load(p):
    out = {}
    for r in msgpack.Unpacker(open(p, "rb"), raw=False):
        if r["t"] == "pred":
            ix = np.frombuffer(r["config_index"]["data"], "<i8")
            sc = np.frombuffer(r["score"]["data"], "<f4")
            assert len(set(ix.tolist())) == len(ix), "an index twice"
            out[r["id"]] = dict(zip(ix.tolist(), sc.tolist()))
    return out
full, dd = load(sys.argv[1]), load(sys.argv[2])
n = {r["id"]: r["n_configs"] for r in msgpack.Unpacker(open(sys.argv[3], "rb"), raw=False) if r["t"] == "graph"}
assert full.keys() == dd.keys() == n.keys()
for g in full:
    assert sorted(dd[g]) == list(range(n[g])), g
    for i in full[g]:
        assert abs(full[g][i] - dd[g][i]) <= 1e-5 * (1 + abs(full[g][i])), (g, i)
print("ok", sum(n.values()), "configs")
EOF
	# rank-ensemble takes it for a submission
	rank-ensemble --csv "$T/sub.csv" "$T/dd_p.mp" > /dev/null
	grep -q '^ID,TopConfigs' "$T/sub.csv"
}

@test "sage-predict: a model from a raw stream scores an encoded one the same" {
	need_py numpy msgpack
	sage-train "${Q[@]}" -q --epochs 1 --out "$T/raw.mp" "$D/lraw_train.mp"
	sage-predict --model "$T/raw.mp" "$D/l_valid.mp" > "$T/a.mp"
	sage-predict --model "$D/l.mp" "$D/l_valid.mp" > /dev/null
	sage-train "${Q[@]}" -q --epochs 1 --out "$T/enc.mp" "$D/l_train.mp"
	sage-predict --model "$T/enc.mp" "$D/lraw_valid.mp" > "$T/b.mp"
	diff <(preds "$T/a.mp") <(preds "$T/b.mp")
}

@test "sage-predict: a model that gives a non-finite score is bad data, named once" {
	need_py msgpack numpy
	"$PY" -c '
import sys, msgpack, numpy as np
out = open(sys.argv[2], "wb")
for r in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False):
    if r["t"] == "param" and r["name"] == "head_b2":
        r["value"]["data"] = np.array([np.nan], "<f4").tobytes()
    out.write(msgpack.packb(r, use_bin_type=True))' "$D/l.mp" "$T/nan.mp"
	run --separate-stderr sage-predict --model "$T/nan.mp" "$D/l_valid.mp"
	assert_failure 1
	[[ "$stderr" == "sage-predict: graph "*": the model gave a non-finite score (a broken model file?)" ]]
}
