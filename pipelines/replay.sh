#!/usr/bin/env bash
# replay.sh: rerun one recorded stage from its recorded input.
set -euo pipefail
PROG=replay.sh
. "$(dirname "$(readlink -f "$0")")/lib.sh"

usage() {
	cat <<EOF2
usage: replay.sh [--cmd 'COMMAND'] DIR STAGE

Rerun the stage STAGE (e.g. prune-hop-train, encode-base7-valid) recorded by
collection.sh --record under DIR (DIR/SLUG, the collection's record folder),
feeding it its recorded input, and write its output to stdout.  --cmd runs
another command in its place (to try a change, or a swapped stage) on the
same input.  Compare with the recorded output: cmp - DIR/STAGE.mp.
EOF2
}
CMD=""
while [ $# -gt 0 ]; do
	case $1 in
	--cmd) CMD=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "usage: replay.sh [--cmd 'COMMAND'] DIR STAGE" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 2 ] || { echo "usage: replay.sh [--cmd 'COMMAND'] DIR STAGE" >&2; exit 2; }
DIR=$1 STAGE=$2
[ -f "$DIR/$STAGE.cmd" ] || die "no recorded stage $DIR/$STAGE (.cmd missing)" 1
{ read -r rec_cmd; read -r input || true; } < "$DIR/$STAGE.cmd"
[ -n "$CMD" ] || CMD=$rec_cmd
if [ -z "$input" ]; then
	# the first stage reads files, not a stream: rerun it as it was
	exec bash -o pipefail -c "$CMD"
fi
[ -f "$input" ] || die "recorded input $input is missing" 1
exec bash -o pipefail -c "$CMD" < "$input"
