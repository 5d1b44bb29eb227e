#!/usr/bin/env bash
# Fitted against equal ensemble weights, on test: for every all.sh run of
# bench/generalization.sh's work directories whose collection ensembled
# more than one model with `rank-ensemble --fit` (an ens-weights.json),
# the test score of each member, of the members with equal weights, and of
# the weights the run used.  It reads what the runs left; it trains nothing.
#
# usage: bench/ens_fit.sh WORKDIR...
#   WORKDIR  a bench/generalization.sh work directory: runs in
#            WORKDIR/runs/WORLD-sSEED-RUN, datasets in WORKDIR/data/WORLD-sSEED
#            (their test truth: test-truth.mp)
# A tab-separated table goes to stdout (run, collection, weights, members,
# equal, used, the fit's decision, the members' valid scores, the fit of
# today's rank-ensemble on the same valid predictions and its test score),
# then the mean gain over equal weights of the fits that changed them.
set -euo pipefail
cd "$(dirname "$0")/.."
PROG=ens_fit.sh
. bench/lib.sh
[ $# -gt 0 ] || { echo "usage: bench/ens_fit.sh WORKDIR..." >&2; exit 2; }
make -s -j2 all >&2
PATH="$PWD/bin:$PATH"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

score() { bench_pred_score "$@"; }

printf 'run\tcollection\tweights\tmembers (test)\tequal\tused\tdecision\tmembers (valid)\tfit now\tfit now (test)\n'
for w in "$@"; do
	[ -d "$w/runs" ] || die "$w: no runs/ (not a bench/generalization.sh work directory)" 2
	for r in "$w"/runs/*/; do
		r=${r%/}
		name=$(basename "$r")
		ds="$w/data/${name%-*}"
		[ -f "$ds/test-truth.mp" ] || continue
		for report in "$r"/*/ens-weights.json; do
			[ -f "$report" ] || continue
			cdir=$(dirname "$report")
			coll=$(basename "$cdir" | sed 's/_/:/g')
			mapfile -t preds < <(jq -r '.preds[]' "$report" | sed 's/pred-valid\.mp$/pred-test.mp/')
			members=""
			for p in "${preds[@]}"; do
				members="$members $(printf '%.3f' "$(score "$p" "$ds/test-truth.mp" "$coll")")"
			done
			rank-ensemble --norm rank --out "$tmp/equal.mp" "${preds[@]}"
			# the fit again, by today's rank-ensemble (its guard may have
			# changed since the run), applied to test
			mapfile -t vpreds < <(jq -r '.preds[]' "$report")
			rank-ensemble --norm rank --fit "$(jq -r .truth "$report")" --fit-report "$tmp/now.json" \
				--out /dev/null "${vpreds[@]}" 2>/dev/null
			rank-ensemble --norm rank --weights "$(jq -r .weights_arg "$tmp/now.json")" --out "$tmp/now.mp" "${preds[@]}"
			printf '%s\t%s\t%s\t%s\t%.3f\t%.3f\t%s\t%s\t%s\t%.3f\n' "$(basename "$w")/$name" "$coll" "$(jq -r .weights_arg "$report")" \
				"${members# }" "$(score "$tmp/equal.mp" "$ds/test-truth.mp" "$coll")" \
				"$(score "$cdir/ens-test.mp" "$ds/test-truth.mp" "$coll")" "$(jq -r .decision "$report")" \
				"$(jq -r '.pred_scores | map(. * 1000 | round / 1000) | map(tostring) | join(" ")' "$report")" \
				"$(jq -r '.decision + " " + .weights_arg' "$tmp/now.json")" "$(score "$tmp/now.mp" "$ds/test-truth.mp" "$coll")"
		done
	done
done | tee "$tmp/table"
awk -F'\t' 'NR > 1 { n++ } NR > 1 && $7 == "fitted" { f++; s += $6 - $5 }
	NR > 1 && $9 ~ /^fitted/ { g++; t += $10 - $5 }
	END { printf "\n%d ensembles; %d used fitted weights", n, f;
	      if (f) printf " (used - equal: %+.3f on average)", s / f;
	      printf "; %d fitted by today'"'"'s rank-ensemble", g;
	      if (g) printf " (fit now - equal: %+.3f on average)", t / g; printf "\n" }' "$tmp/table"
