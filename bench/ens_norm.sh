#!/usr/bin/env bash
# How rank-ensemble should put members on one scale: for every ensemble of
# two or more models that earlier benchmarks left, the test score of the
# equal-weight ensemble under each --norm (rank, zscore, minmax).  It reads
# what the runs left; it trains nothing.
#
# usage: bench/ens_norm.sh WORKDIR...
#   WORKDIR  a bench/ab.sh work directory (the seeds of each variant:
#            ab/WORLD-dD-sS-V/SLUG/seedS/pred-test.mp, truth in
#            data/WORLD-sD/test-truth-SLUG.mp) or a bench/generalization.sh
#            one (the models of each collection of each run:
#            runs/WORLD-sD-RUN/SLUG/*/pred-test.mp, truth in
#            data/WORLD-sD/test-truth.mp)
# Environment: HELDOUT=membound (the world kept out of every choice)
# A tab-separated table goes to stdout (source, world, collection, models,
# the score under each norm), then per kind of collection (tile, layout)
# the mean and standard deviation of zscore - rank and minmax - rank, over
# the choice worlds and over the held-out one.  Sets of predictions seen
# before (a run copied into another work directory) are counted once.
set -euo pipefail
cd "$(dirname "$0")/.."
PROG=ens_norm.sh
. bench/lib.sh
[ $# -gt 0 ] || { echo "usage: bench/ens_norm.sh WORKDIR..." >&2; exit 2; }
HELDOUT=${HELDOUT:-membound}
make -s -j2 all >&2
PATH="$PWD/bin:$PATH"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: > "$tmp/seen"

# row SOURCE WORLD COLL TRUTH PRED...: one line of the table
row() {
	local src=$1 world=$2 coll=$3 truth=$4 sum line v
	shift 4
	[ $# -gt 1 ] && [ -f "$truth" ] || return 0
	sum=$(cat "$@" | md5sum | cut -c1-32)
	grep -qx "$sum" "$tmp/seen" && return 0
	echo "$sum" >> "$tmp/seen"
	line="$src\t$world\t$coll\t$#"
	for n in rank zscore minmax; do
		rank-ensemble --norm "$n" --out "$tmp/e.mp" "$@"
		v=$(bench_pred_score "$tmp/e.mp" "$truth" "$coll")
		line="$line\t${v:+$(printf '%.3f' "$v")}"
	done
	printf '%b\n' "$line"
}

printf 'source\tworld\tcollection\tmodels\trank\tzscore\tminmax\n'
for w in "$@"; do
	w=${w%/}
	if [ -d "$w/ab" ]; then
		for e in "$w"/ab/*-ens-*/; do
			e=$(basename "$e")
			v=${e##*-ens-} wd=${e%-ens-*}
			world=${wd%-d*} ds=${wd##*-d}
			preds=()
			for run in "$w/ab/$wd"-s*-"$v"; do
				[ -d "$run" ] || continue
				for p in "$run"/*/seed*/pred-test.mp; do
					[ -f "$p" ] && preds+=("$p")
				done
			done
			[ "${#preds[@]}" -gt 1 ] || continue
			slug=$(basename "$(dirname "$(dirname "${preds[0]}")")")
			row "$(basename "$w")/$v" "$world" "${slug//_/:}" "$w/data/$world-s$ds/test-truth-$slug.mp" "${preds[@]}"
		done
	elif [ -d "$w/runs" ]; then
		for r in "$w"/runs/*/; do
			r=${r%/}
			name=$(basename "$r")
			for c in "$r"/*/; do
				c=${c%/}
				preds=("$c"/*/pred-test.mp)
				[ -f "${preds[0]}" ] || continue
				slug=$(basename "$c")
				row "$(basename "$w")/$name" "${name%%-*}" "${slug//_/:}" "$w/data/${name%-*}/test-truth.mp" "${preds[@]}"
			done
		done
	else
		die "$w: neither ab/ (bench/ab.sh) nor runs/ (bench/generalization.sh)" 2
	fi
done | tee "$tmp/table"
awk -F'\t' -v held="$HELDOUT" '$5 != "" && $6 != "" && $7 != "" {
		k = ($3 ~ /^tile/ ? "tile" : "layout") " " ($2 == held ? "held out (" held ")" : "choice worlds")
		n[k]++; z[k] += $6 - $5; zz[k] += ($6 - $5)^2; m[k] += $7 - $5; mm[k] += ($7 - $5)^2
	}
	function sd(s, ss, c) { return c > 1 ? sqrt((ss - s * s / c) / (c - 1)) : 0 }
	END {
		print ""
		for (k in n)
			printf "%s, %d ensembles: zscore - rank %+.3f (sd %.3f), minmax - rank %+.3f (sd %.3f)\n",
				k, n[k], z[k] / n[k], sd(z[k], zz[k], n[k]), m[k] / n[k], sd(m[k], mm[k], n[k])
	}' "$tmp/table" | sort
