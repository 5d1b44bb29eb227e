#!/usr/bin/env bats
# plot.sh: the training logs are read by key with jq, whatever the key
# order and spacing; non-finite values are gaps; the numbers behind each
# training plot are kept as OUT/plots/train-SLUG-TAG.tsv.

load helper

setup() {
	command -v gnuplot >/dev/null || skip "gnuplot not installed"
	T="$BATS_TEST_TMPDIR"
}

@test "plot.sh: a training log with reordered keys, other spacing and a nan loss" {
	mkdir -p "$T/o/tile_xla/seed1" "$T/o/tile_xla/seed 2"
	cat > "$T/o/tile_xla/seed1/train-log.jsonl" <<'EOF'
{"round": 1, "step": 4, "epoch": 1, "loss": 0.5, "lr": 0.003, "metric": "top5_score", "valid": 0.25, "best": 0.25, "best_round": 1, "best_epoch": 1, "seconds": 0.1}
{"valid":0.5,"loss":0.25,"epoch":2,"metric":"top5_score","round":2}
{ "metric" : "top5_score" , "epoch" : 3 , "valid" : null , "loss" : nan }
{"epoch": 12, "loss": -inf, "valid": 0.75}
EOF
	printf '%s\n' '{"loss": 1e-3, "epoch": 1, "valid": 1}' > "$T/o/tile_xla/seed 2/train-log.jsonl"
	run plot.sh "$T/o"
	assert_success
	assert_output --partial "1 plots in $T/o/plots"
	[ "$(head -c 4 "$T/o/plots/train-tile_xla.png" | tail -c 3)" = PNG ]
	printf '1\t0.5\t0.25\n2\t0.25\t0.5\n3\tNaN\tNaN\n12\tNaN\t0.75\n' > "$T/want"
	diff "$T/want" "$T/o/plots/train-tile_xla-seed1.tsv"
	printf '1\t0.001\t1\n' | diff - "$T/o/plots/train-tile_xla-seed 2.tsv"
	[ -z "$(find "$T/o/plots" -name '.*')" ]
}

@test "plot.sh: a log that is not JSON fails, naming it" {
	mkdir -p "$T/o/tile_xla/seed1"
	printf 'epoch 1 loss 0.5\n' > "$T/o/tile_xla/seed1/train-log.jsonl"
	run plot.sh "$T/o"
	assert_failure 1
	assert_output --partial "plot.sh: $T/o/tile_xla/seed1/train-log.jsonl: not a training log"
}

@test "plot.sh: quotes in the output directory and the tags (gnuplot strings)" {
	O="$T/it's \"o\""
	mkdir -p "$O/tile_xla/seed'1"
	printf '%s\n' '{"loss": 0.5, "epoch": 1, "valid": 0.5}' '{"loss": 0.4, "epoch": 2, "valid": 0.6}' \
		> "$O/tile_xla/seed'1/train-log.jsonl"
	printf 'g\t0.1\t0.2\ng\t0.5\t0.4\n' > "$O/tile_xla/ranks-valid.tsv"
	run plot.sh "$O"
	assert_success
	assert_output --partial "2 plots in $O/plots"
	[ "$(head -c 4 "$O/plots/train-tile_xla.png" | tail -c 3)" = PNG ]
	[ "$(head -c 4 "$O/plots/ranks-tile_xla.png" | tail -c 3)" = PNG ]
}
