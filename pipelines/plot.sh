#!/usr/bin/env bash
# plot.sh: PNG pictures of a pipeline run, with gnuplot.
#   OUT/plots/train-SLUG.png  training loss and valid score per epoch, one line per seed
#   OUT/plots/ranks-SLUG.png  predicted vs true rank of every valid config
#                             (from OUT/SLUG/ranks-valid.tsv, written by all.sh)
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
mkdir -p "$OUT/plots"
n=0
for cdir in "$OUT"/*/; do
	slug=$(basename "$cdir")
	[ "$slug" = plots ] && continue
	logs=("$cdir"*/train-log.jsonl)
	[ -f "${logs[0]}" ] || continue
	# one TSV per seed: epoch loss valid
	plots_loss="" plots_valid=""
	for lg in "${logs[@]}"; do
		tag=$(basename "$(dirname "$lg")")
		tsv="$OUT/plots/.train-$slug-$tag.tsv"
		sed -E 's/.*"epoch": ([0-9]+).*"loss": ([-0-9.eE+naif]+).*"valid": ([-0-9.eE+]+|null).*/\1\t\2\t\3/' "$lg" |
			sed 's/\tnull$/\tNaN/' > "$tsv"
		plots_loss="$plots_loss${plots_loss:+, }'$tsv' using 1:2 with linespoints title '$tag'"
		plots_valid="$plots_valid${plots_valid:+, }'$tsv' using 1:3 with linespoints title '$tag'"
	done
	metric=$(grep -o '"metric": "[a-z0-9_]*"' "${logs[0]}" | head -1 | cut -d'"' -f4)
	gnuplot <<GP
set terminal pngcairo size 1000,420 noenhanced
set output '$OUT/plots/train-$slug.png'
set multiplot layout 1,2 title '$slug: training'
set xlabel 'epoch'
set ylabel 'training loss'
set grid
plot $plots_loss
set ylabel 'valid ${metric:-score}'
plot $plots_valid
unset multiplot
GP
	n=$((n + 1))
	if [ -s "$cdir/ranks-valid.tsv" ]; then
		gnuplot <<GP
set terminal pngcairo size 600,600 noenhanced
set output '$OUT/plots/ranks-$slug.png'
set title '$slug: valid, predicted vs true rank'
set xlabel 'true rank (fraction)'
set ylabel 'predicted rank (fraction)'
set xrange [0:1]
set yrange [0:1]
set size square
set grid
plot '$cdir/ranks-valid.tsv' using 2:3 with points pt 7 ps 0.3 notitle, x with lines lt 2 notitle
GP
		n=$((n + 1))
	fi
done
rm -f "$OUT"/plots/.train-*.tsv
log "$n plots in $OUT/plots"
