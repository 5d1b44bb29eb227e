# Shared shell functions for the pipeline scripts (sourced, not run).
# Finds the filters: in $TPU_BIN when it is set (the test suites point it at
# bin-asan/, say), else beside the scripts: bin/ of a checkout
# (pipelines/../bin), or PREFIX/bin of an install (the scripts live in
# PREFIX/share/tpurank/pipelines, so ../../../bin: relative, so that a
# DESTDIR staged install still works once moved to PREFIX), else on PATH.

_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -n "${TPU_BIN:-}" ]; then
	PATH="$TPU_BIN:$PATH"
elif [ -x "$_here/../bin/npz2mp" ]; then
	PATH="$(cd "$_here/../bin" && pwd):$PATH"
elif [[ $_here == */share/tpurank/pipelines ]] && [ -x "$_here/../../../bin/npz2mp" ]; then
	PATH="$(cd "$_here/../../../bin" && pwd):$PATH"
elif [ -x "$_here/npz2mp" ]; then
	PATH="$_here:$PATH"
fi
export PATH
PIPELINES_DIR=$_here

log() { printf '%s: %s\n' "${PROG:-pipeline}" "$*" >&2; }
die() { printf '%s: %s\n' "${PROG:-pipeline}" "$1" >&2; exit "${2:-1}"; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# collection name -> file-safe name: layout:xla:random -> layout_xla_random
coll_slug() { printf '%s' "$1" | tr ':' '_'; }
# collection name -> its directory under npz/: layout:xla:random -> layout/xla/random
coll_dir() { printf '%s' "$1" | tr ':' '/'; }
# rm_model DIR: what training and prediction leave in a model's directory
# (OUT/SLUG/TAG), gone; its data link stays
rm_model() {
	rm -f "$1/model.mp" "$1/checkpoint.mp" "$1/train-log.jsonl" "$1/pred-valid.mp" \
		"$1/pred-test.mp" "$1/eval-valid.json" "$1/eval-valid.txt" "$1/profile.tsv" \
		"$1/predict-seconds"
}

ALL_COLLECTIONS="tile:xla layout:xla:random layout:xla:default layout:nlp:random layout:nlp:default"

# q ARG...: the arguments quoted for the shell (printf %q), space-separated:
# a path with spaces or quotes in a command string of run_stage reads back
# as one word, as it was
q() { local s; printf -v s '%q ' "$@"; printf '%s' "${s% }"; }
# qw STRING: the words of an options string (a conf file's TRAIN_OPTS, say),
# each quoted as q does: split at blanks only, never globbed or run
qw() {
	local -a w=()
	read -r -d '' -a w <<< "$1" || true
	[ ${#w[@]} -eq 0 ] || q "${w[@]}"
}

# run_stage NAME OUTPUT CMD: run a shell pipeline (pipefail) with its stdout
# to OUTPUT.tmp (quote the paths in CMD with q), renamed to OUTPUT only when every command of it succeeded.
# OUTPUT "-": the command writes its own files (atomically) and stdout is
# left alone.
run_stage() {
	local name=$1 out=$2 cmd=$3 t0 rc
	t0=$(now)
	log "$name: start"
	set +e
	if [ "$out" = - ]; then
		bash -o pipefail -c "$cmd"
	else
		bash -o pipefail -c "$cmd" > "$out.tmp"
	fi
	rc=$?
	set -e
	if [ "$rc" -ne 0 ]; then
		[ "$out" = - ] || rm -f "$out.tmp"
		die "$name: failed (exit $rc)" "$rc"
	fi
	[ "$out" = - ] || mv -f "$out.tmp" "$out"
	log "$name: done in $(elapsed "$t0") s"
}

# parse_duration D: 90, 90s, 20m, 1h30m, 2h -> seconds on stdout; 1 when D
# is not a duration.
parse_duration() {
	local d=$1 n=0 total=0
	case $d in ''|*[!0-9hms]*|[hms]*) return 1 ;; esac
	if [[ $d =~ ^[0-9]+$ ]]; then echo "$d"; return 0; fi
	[[ $d =~ ^([0-9]+h)?([0-9]+m)?([0-9]+s)?$ ]] || return 1
	while [[ $d =~ ^([0-9]+)([hms])(.*)$ ]]; do
		n=${BASH_REMATCH[1]}
		case ${BASH_REMATCH[2]} in h) n=$((n * 3600)) ;; m) n=$((n * 60)) ;; esac
		total=$((total + 10#$n))
		d=${BASH_REMATCH[3]}
	done
	echo "$total"
}
