#!/usr/bin/env bash
# predict.sh (installed as tpurank-predict): rank the configs of new graphs
# with a model that collection.sh (or all.sh) trained.
#   npz2mp FILE.npz... -> the model's reduction -> sage-predict ->
#   rank-ensemble --csv -> the config indices of each graph, best first.
set -euo pipefail
PROG=tpurank-predict
. "$(dirname "$(readlink -f "$0")")/lib.sh"

usage_line="usage: tpurank-predict [options] MODEL_DIR FILE.npz..."
usage() {
	cat <<EOF
$usage_line

Rank the configs of one or more graphs (TpuGraphs .npz files, tile or
layout, with or without runtimes) with a model trained by collection.sh or
all.sh, and print for each graph its config indices, best (predicted
fastest) first.

MODEL_DIR is a run directory OUT/SLUG/TAG of collection.sh or all.sh
(out/demo/tile_xla/seed1 after make demo): it holds model.mp.  The graphs
go through the same reduction as the model's valid and test splits did
(prune-hop, dijkstra-compress, encode-base7, with their options), read from
the history of MODEL_DIR/data/test.mp or data/valid.mp; without those, from
the collection's conf file as collection.sh reads it (REDUCE, PRUNE_OPTS,
DIJKSTRA_OPTS, ENCODE_EVAL_OPTS).

  -c, --csv             the Kaggle form: a header ID,TopConfigs, then one
                        row per graph, indices joined by ';' (tile rows:
                        the top 5, or --top K; layout rows: every config)
  -k, --top K           configs per tile graph (default: every config;
                        with --csv, 5)
      --collection C    the model's collection (default: from the name of
                        MODEL_DIR's parent, SLUG: tile_xla -> tile:xla)
      --threads N       threads for sage-predict (default 1)
  -v, --verbose         say on stderr where the reduction comes from and
                        the chain that runs
  -h, --help            this help

Output (stdout), without --csv: one line per graph,
  ID<TAB>I1 I2 I3 ...
ID is COLLECTION:NAME (NAME: the file name without .npz), in the order of
the files given (a directory is searched for *.npz, sorted).
Exit: 0 ok, 1 bad data (a file that is not a TpuGraphs .npz, a model of
the other kind), 2 usage (no model.mp in MODEL_DIR), 3 I/O (a file that
cannot be read, a write error).
EOF
}

CSV="" TOP="" COLL="" THREADS=1 VERBOSE=""
while [ $# -gt 0 ]; do
	case $1 in
	-c|--csv) CSV=1; shift ;;
	-k|--top) [ $# -ge 2 ] || die "--top needs a value" 2; TOP=$2; shift 2 ;;
	--collection) [ $# -ge 2 ] || die "--collection needs a value" 2; COLL=$2; shift 2 ;;
	--threads) [ $# -ge 2 ] || die "--threads needs a value" 2; THREADS=$2; shift 2 ;;
	-v|--verbose) VERBOSE=1; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; break ;;
	-*) printf '%s: unknown option %s\n%s\n' "$PROG" "$1" "$usage_line" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -ge 2 ] || { echo "$usage_line" >&2; exit 2; }
DIR=$1
shift
case $THREADS in ''|*[!0-9]*|0) die "--threads: '$THREADS' is not a positive number" 2 ;; esac
case $TOP in *[!0-9]*|0) die "--top: '$TOP' is not a positive number" 2 ;; esac
[ -d "$DIR" ] || die "$DIR: no such directory (want a run directory OUT/SLUG/TAG)" 2
MODEL="$DIR/model.mp"
[ -f "$MODEL" ] || die "$DIR: no model.mp: not a run directory of collection.sh or all.sh" 2
if [ -z "$COLL" ]; then
	slug=$(basename "$(dirname "$(readlink -f "$DIR")")")
	for c in $ALL_COLLECTIONS; do
		[ "$(coll_slug "$c")" = "$slug" ] && COLL=$c
	done
	[ -n "$COLL" ] || die "$DIR: its parent '$slug' names no collection: give --collection C" 2
fi
case " $ALL_COLLECTIONS " in *" $COLL "*) ;; *) die "--collection: unknown collection '$COLL'" 2 ;; esac
for f in "$@"; do
	[ -r "$f" ] || die "$f: cannot read it" 3
done

# The reduction, as a list of shell-quoted commands (one a line).
stages=()
hist=""
for s in test valid; do
	if [ -f "$DIR/data/$s.mp" ]; then hist="$DIR/data/$s.mp"; break; fi
done
if [ -n "$hist" ]; then
	# The stages after npz2mp in the stream's history, each with its argv
	# (argv[0] replaced by the stage's name: the filters found here run).
	header=$(mp-dump -t header -n 1 "$hist") || die "$hist: cannot read its header" 1
	while IFS= read -r line; do
		[ -n "$line" ] && stages+=("$line")
	done < <(printf '%s\n' "$header" | jq -r '
		.history | (map(.name) | index("npz2mp")) as $i |
		if $i == null then error("no npz2mp in the history") else .[$i + 1:][] end |
		([.name] + .argv[1:]) | @sh') || die "$hist: its history says no reduction (no npz2mp stage)" 1
	for s in "${stages[@]+"${stages[@]}"}"; do
		case $s in
		"'prune-hop'"*|"'dijkstra-compress'"*|"'encode-base7'"*) ;;
		*) die "$hist: stage $s of its history is not a reduction this script replays" 1 ;;
		esac
	done
	src="the history of $hist"
else
	conf="$PIPELINES_DIR/conf/$(coll_slug "$COLL").conf"
	[ -f "$conf" ] || die "no $DIR/data/{test,valid}.mp and no conf file $conf: the reduction is unknown" 2
	# shellcheck disable=SC1090
	. "$conf"
	case ${REDUCE:-none} in
	prune) stages+=("prune-hop ${PRUNE_OPTS:-}") ;;
	dijkstra) stages+=("dijkstra-compress ${DIJKSTRA_OPTS:-}") ;;
	none) ;;
	*) die "$conf: REDUCE: '$REDUCE' is not prune, dijkstra or none" 2 ;;
	esac
	stages+=("encode-base7 ${ENCODE_EVAL_OPTS:-}")
	src=$conf
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/tpurank-predict.XXXXXX") || die "cannot make a temporary directory" 3
trap 'rm -rf "$W"' EXIT
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=1

cmd="npz2mp -q --collection $(printf '%q' "$COLL") --split test"
for f in "$@"; do cmd="$cmd $(printf '%q' "$f")"; done
for s in "${stages[@]+"${stages[@]}"}"; do cmd="$cmd | $s"; done
cmd="$cmd | sage-predict --threads $THREADS --model $(printf '%q' "$MODEL")"
if [ -n "$VERBOSE" ]; then log "reduction from $src"; log "$cmd"; fi
set +e
bash -o pipefail -c "$cmd" > "$W/pred.mp"
rc=$?
set -e
[ "$rc" -eq 0 ] || die "the prediction failed (exit $rc): $cmd" "$rc"

top=${TOP:-}
if [ -z "$top" ]; then
	if [ -n "$CSV" ]; then top=5; else top=1099511627776; fi
fi
rank-ensemble -k "$top" -c "$W/order.csv" "$W/pred.mp" ||
	{ rc=$?; die "ordering the predictions failed (exit $rc)" "$rc"; }
if [ -n "$CSV" ]; then
	cat "$W/order.csv"
else
	tail -n +2 "$W/order.csv" | sed -e 's/,/\t/' -e 's/;/ /g'
fi || die "write error on stdout" 3
