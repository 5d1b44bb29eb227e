# Shared set-up for the bats suites: PATH to the built filters, bats-assert,
bats_require_minimum_version 1.5.0
# a scratch directory, and small helpers.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
BIN="${TPU_BIN:-$ROOT/bin}"
FIX="$ROOT/tests/fixtures"
export PATH="$BIN:$ROOT/pipelines:$PATH"
PY=/usr/bin/python3

# Skip (with the reason) when a Python module is missing; under CI a missing
# oracle is a failure, not a skip, unless the suite is documented optional.
need_py() {
	local m
	for m in "$@"; do
		if ! "$PY" -c "import $m" 2>/dev/null; then
			if [ "${CI:-}" = true ] && [ "${OPTIONAL_SUITE:-}" != 1 ]; then
				echo "python3 module $m missing under CI" >&2
				return 1
			fi
			skip "python3-$m not installed"
		fi
	done
}

# run a pipeline with pipefail, capturing status/output as `run` does
runp() { run bash -o pipefail -c "$*"; }

# Every long option that `FILTER --help` prints must appear in its man page
# docs/man/FILTER.1, and every option of its OPTIONS section in --help.
check_man_matches_help() {
	local f=$1 man="$ROOT/docs/man/$1.1" o text help
	[ -f "$man" ] || { echo "no man page $man"; return 1; }
	help=$("$f" --help) || return 1
	text=$(sed 's/\\-/-/g' "$man")
	for o in $(printf '%s\n' "$help" | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
		printf '%s\n' "$text" | grep -qF -- "$o" ||
			{ echo "$f: $o in --help but not in $man"; return 1; }
	done
	# the other way round, within the OPTIONS section only (EXAMPLES may
	# show other commands' options)
	for o in $(printf '%s\n' "$text" | sed -n '/^\.SH OPTIONS/,/^\.SH [^O]/p' |
		grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
		printf '%s\n' "$help" | grep -qF -- "$o" ||
			{ echo "$f: $o in $man but not in --help"; return 1; }
	done
}

# The pipeline suites (pipelines.bats, install.bats): one tiny tpugen
# dataset per file in $D, a scratch directory per test in $T, and conf
# settings that train in a second.
tiny_data_setup_file() {
	export D="$BATS_FILE_TMPDIR/data"
	tpugen --out "$D" --scale tiny --seed 3 >/dev/null 2>&1
}
QUICK='TRAIN_OPTS=--epochs 1 --hidden 16 --layers 1 --configs-per-graph 16'
