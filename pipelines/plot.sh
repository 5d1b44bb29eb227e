#!/usr/bin/env bash
# plot.sh: PNG pictures of a pipeline run, with gnuplot.
#   OUT/plots/train-SLUG.png  training loss and valid score per epoch, one line per seed
#   OUT/plots/train-SLUG-TAG.tsv  the numbers behind it: epoch, loss, valid
#                             (NaN where the log has null or a non-finite value)
#   OUT/plots/ranks-SLUG.png  predicted vs true rank of every valid config
#                             (from OUT/SLUG/ranks-valid.tsv, written by all.sh)
# The training logs (train-log.jsonl, one JSON object a line) are read with
# jq, by key: their key order and spacing do not matter.
set -euo pipefail
PROG=plot.sh
. "$(dirname "$(readlink -f "$0")")/lib.sh"

if [ $# -ne 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	echo "usage: plot.sh OUT   (the output root of all.sh or collection.sh)"
	[ $# -eq 1 ] && exit 0 || exit 2
fi
OUT=$1
[ -d "$OUT" ] || die "no such directory: $OUT" 2
command -v gnuplot >/dev/null || die "gnuplot is not installed (make deps)" 3
command -v jq >/dev/null || die "jq is not installed (make deps)" 3
mkdir -p "$OUT/plots"
# gq S: S as a gnuplot string: single quotes, a quote inside doubled
gq() { local q="'"; printf "'%s'" "${1//$q/$q$q}"; }
n=0
for cdir in "$OUT"/*/; do
	slug=$(basename "$cdir")
	[ "$slug" = plots ] && continue
	logs=("$cdir"*/train-log.jsonl)
	[ -f "${logs[0]}" ] || continue
	# one TSV per seed: epoch loss valid.  sage-train writes a non-finite
	# loss as nan or inf, which is not JSON: those values become null
	# (NaN in the TSV, a gap in the plot) before jq reads the line.
	plots_loss="" plots_valid="" metric="" maxep=1
	for lg in "${logs[@]}"; do
		tag=$(basename "$(dirname "$lg")")
		tsv="$OUT/plots/train-$slug-$tag.tsv"
		clean="$OUT/plots/.train-$slug-$tag.jsonl"
		sed -E 's/(:[[:space:]]*)[-+]?(nan|inf|infinity)([[:space:]]*[,}])/\1null\3/gI' "$lg" > "$clean"
		jq -r 'select(.epoch != null) | [.epoch, (.loss // "NaN"), (.valid // "NaN")] | @tsv' \
			"$clean" > "$tsv.tmp" || die "$lg: not a training log (one JSON object a line)" 1
		mv -f "$tsv.tmp" "$tsv"
		[ -n "$metric" ] || metric=$(jq -rn 'first(inputs | .metric // empty)' "$clean")
		maxep=$(awk -F '\t' -v m="$maxep" '$1 > m { m = $1 } END { print int(m) }' "$tsv")
		plots_loss="$plots_loss${plots_loss:+, }$(gq "$tsv") using 1:2 with linespoints title $(gq "$tag")"
		plots_valid="$plots_valid${plots_valid:+, }$(gq "$tsv") using 1:3 with linespoints title $(gq "$tag")"
	done
	# integer epoch ticks, about ten of them
	xstep=$(( (maxep + 9) / 10 ))
	gnuplot <<GP
set terminal pngcairo size 1000,420 noenhanced
set output $(gq "$OUT/plots/train-$slug.png")
set multiplot layout 1,2 title $(gq "$slug: training")
set xlabel 'epoch'
set xtics $xstep
set format x '%.0f'
set ylabel 'training loss'
set grid
plot $plots_loss
set ylabel $(gq "valid ${metric:-score}")
plot $plots_valid
unset multiplot
GP
	n=$((n + 1))
	if [ -s "$cdir/ranks-valid.tsv" ]; then
		gnuplot <<GP
set terminal pngcairo size 600,600 noenhanced
set output $(gq "$OUT/plots/ranks-$slug.png")
set title $(gq "$slug: valid, predicted vs true rank")
set xlabel 'true rank (fraction)'
set ylabel 'predicted rank (fraction)'
set xrange [0:1]
set yrange [0:1]
set size square
set grid
plot $(gq "$cdir/ranks-valid.tsv") using 2:3 with points pt 7 ps 0.3 notitle, x with lines lt 2 notitle
GP
		n=$((n + 1))
	fi
done
rm -f "$OUT"/plots/.train-*.jsonl
log "$n plots in $OUT/plots"
