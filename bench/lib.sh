# shellcheck shell=bash disable=SC2034
# bench/lib.sh: what the training benchmarks (arch.sh, variants.sh,
# pretrain.sh) share; sourced, with PROG set.
#   bench_setup W SCALE   the work directory (absolute, in W_ABS), the
#                         filters built (unless TPU_BIN names them) and first
#                         on PATH (BIN), the machine (CPU, LOAD), DATE, T0,
#                         and the tpugen dataset of SCALE and WORLD (default
#                         tpu) in W/data (made once)
#   bench_link_ingest SRC DIR  DIR/data/{train,valid}.mp linked to SRC's, so
#                         that `collection.sh --from train` reuses one ingest
#   bench_score DIR COLL  rank-eval's valid score of a collection.sh run
#   bench_pred_score PRED TRUTH COLL  rank-eval's score of one collection
#                         of a pred stream against a truth stream
#   bench_cmd SCRIPT "VARS" ARGS...  CMD: the command as given, for the page
#                         (the VARS the caller's environment set, then
#                         SCRIPT and its arguments; before defaults fill in)
#   bench_test_data DIR WORLD SEED SCALE  a tpugen dataset scored on its test
#                         split (generalization.sh, ab.sh): made once in DIR,
#                         with the hidden truth restored (DIR/unhidden) and
#                         every collection's test truth in DIR/test-truth.mp

bench_cmd() {
	local script=$1 v
	shift 1
	local vars=$1
	shift 1
	CMD=""
	for v in $vars; do
		[ -n "${!v+x}" ] || continue
		case ${!v} in
		*[!A-Za-z0-9_:.,/=+-]*) CMD="$CMD$v=\"${!v}\" " ;;
		*) CMD="$CMD$v=${!v} " ;;
		esac
	done
	CMD="${CMD}$script${*:+ $*}"
}

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { say "$1"; exit "${2:-1}"; }

bench_setup() {
	local w=$1 scale=$2 f bins=()
	mkdir -p "$w"
	W_ABS=$(cd "$w" && pwd)
	# the filters (not the unit tests: `make bench` builds those); with
	# TPU_BIN set, that directory's filters are used as they are
	if [ -z "${TPU_BIN:-}" ]; then
		for f in filters/*.c; do f=${f#filters/}; bins+=("bin/${f%.c}"); done
		make -s "${bins[@]}" >/dev/null
	fi
	BIN=$(cd "${TPU_BIN:-$PWD/bin}" && pwd)
	export PATH="$BIN:$PATH"
	LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
	CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
	DATE=$(date -u +%Y-%m-%d)
	T0=$(date +%s)
	# WORLD (default tpu): the tpugen world of the data (docs/tpugen.md); a
	# default is chosen on several (run the script once per world, each in
	# its own WORKDIR) and checked on one kept out
	WORLD=${WORLD:-tpu}
	if [ ! -d "$W_ABS/data/npz" ]; then
		say "tpugen --scale $scale --world $WORLD --seed 1 -> $W_ABS/data"
		tpugen --out "$W_ABS/data" --scale "$scale" --world "$WORLD" >/dev/null
		echo "$WORLD" > "$W_ABS/data/world"
	elif [ "$(cat "$W_ABS/data/world" 2>/dev/null || echo tpu)" != "$WORLD" ]; then
		die "$W_ABS/data holds another world's data ($(cat "$W_ABS/data/world" 2>/dev/null || echo tpu)); WORLD=$WORLD needs a WORKDIR of its own" 2
	fi
	mkdir -p "$W_ABS/logs"
}

bench_link_ingest() {
	mkdir -p "$2/data"
	ln -s "$1/train.mp" "$2/data/train.mp"
	ln -s "$1/valid.mp" "$2/data/valid.mp"
}

bench_score() {
	/usr/bin/python3 -c 'import json, sys; print("%.6f" % [c["score"] for c in json.load(open(sys.argv[1] + "/eval-valid.json"))["collections"] if c["collection"] == sys.argv[2]][0])' "$1" "$2"
}

bench_pred_score() {
	rank-eval --allow-missing --json --truth "$2" "$1" 2>/dev/null |
		jq -r --arg c "$3" '.collections[] | select(.collection == $c) | .score'
}

bench_test_data() {
	local ds=$1 world=$2 seed=$3 scale=$4
	[ ! -f "$ds/.complete" ] || return 0
	say "generating $world seed $seed ($scale)"
	rm -rf "$ds"
	tpugen --out "$ds" --scale "$scale" --world "$world" --seed "$seed" >&2
	/usr/bin/python3 tests/tools/tpugen_unhide.py "$ds" "$ds/unhidden" >&2
	npz2mp -q "$ds/unhidden/npz/tile/xla/test" "$ds"/unhidden/npz/layout/*/*/test > "$ds/test-truth.mp"
	touch "$ds/.complete"
}
