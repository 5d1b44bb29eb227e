#!/usr/bin/env bash
# next-model.sh: one job of a budgeted all.sh run.  It takes the next model
# from the run's queue, claims it so that no other job takes it, runs
# collection.sh for it and records how long it took.  The queue decides
# which collection gets the time that models stopping early hand back.
set -euo pipefail
PROG=next-model.sh
. "$(dirname "$(readlink -f "$0")")/lib.sh"

usage() {
	cat <<EOF
usage: next-model.sh --queue FILE --claims DIR [--by order|time] [--until T] [--job N] -- COMMAND [ARG...]

One job of a budgeted all.sh run (all.sh runs it; it is not meant to be run
by hand).  FILE lists the run's models, one per line:

  COLLECTION<TAB>TAG<TAB>SEED<TAB>ARCH<TAB>plan|more

The job takes the first model of the file that no job has claimed yet and
is marked "plan"; once every "plan" model is taken, the next "more" model
of the collection --by chooses:

  order   the first unclaimed one in the file's order (the collections in
          turn, as the file lists them; the default)
  time    the collection whose models have taken the fewest seconds so
          far (a running model counts its seconds up to now; ties go to
          the collection the file names first): a collection whose models
          stop early gets more of them, one whose models run their whole
          time keeps what it had

It claims the model by creating DIR/SLUG/TAG (mkdir, atomic: two jobs never
take one model), writes the start time there, runs

  COMMAND ARG... --tag TAG --seed SEED --arch ARCH COLLECTION

and writes its exit code (rc) and wall seconds (seconds) beside it.  The
job exits with the command's code; with nothing left to take it says so
and exits 0.

  --until T     at or after T (Unix time in seconds) take no model: say so,
                exit 0 (all.sh: when too little time is left to train one)
  --job N       the job's number, for the log (GNU parallel's {})
  -h, --help    this help
EOF
}

QUEUE="" CLAIMS="" BY=order JOB="" UNTIL=""
while [ $# -gt 0 ]; do
	case $1 in
	--queue) QUEUE=$2; shift 2 ;;
	--claims) CLAIMS=$2; shift 2 ;;
	--by) BY=$2; shift 2 ;;
	--job) JOB=$2; shift 2 ;;
	--until) UNTIL=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	--) shift; break ;;
	*) echo "next-model.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
	esac
done
[ -n "$QUEUE" ] || die "--queue FILE is required" 2
[ -n "$CLAIMS" ] || die "--claims DIR is required" 2
[ "$CLAIMS" = / ] || CLAIMS=${CLAIMS%/}   # as find names what is under it
[ $# -gt 0 ] || die "no COMMAND after --" 2
case $BY in order|time) ;; *) die "--by: '$BY' is not order or time" 2 ;; esac
case $UNTIL in *[!0-9]*) die "--until: '$UNTIL' is not a Unix time in seconds" 2 ;; esac
if [ -n "$UNTIL" ] && [ "$(printf '%(%s)T' -1)" -ge "$UNTIL" ]; then
	log "${JOB:+job $JOB: }no model: too little time is left to train one"
	exit 0
fi
[ -f "$QUEUE" ] || die "--queue: no such file: $QUEUE" 3
mkdir -p "$CLAIMS" || die "--claims: cannot create $CLAIMS" 3

# the candidates, best first, as "COLLECTION TAG SEED ARCH" lines: the
# unclaimed "plan" models in file order, then the unclaimed "more" models,
# in file order (--by order) or by the seconds their collection has taken
candidates() {
	local now_s
	now_s=$(date +%s)
	# the claimed models' directories first (stdin), then the queue
	find "$CLAIMS" -mindepth 2 -maxdepth 2 -type d 2>/dev/null |
	awk -F'\t' -v OFS='\t' -v by="$BY" -v claims="$CLAIMS" -v now="$now_s" '
	function slug(c) { gsub(/:/, "_", c); return c }
	function readnum(f,   v) { v = ""; if ((getline v < f) > 0) { close(f); return v + 0 } close(f); return -1 }
	FILENAME == "-" { claimed[$0] = 1; next }
	# (a queue of four columns, as all.sh wrote them before the fifth:
	# every model planned)
	NF == 4 { $5 = "plan" }
	NF < 4 || ($5 != "plan" && $5 != "more") {
		printf "next-model.sh: %s line %d: not COLLECTION TAG SEED ARCH plan|more\n", FILENAME, FNR > "/dev/stderr"
		bad = 1; exit 1
	}
	{
		n++; coll[n] = $1; tag[n] = $2; seed[n] = $3; arch[n] = $4; kind[n] = $5
		if (!($1 in first)) first[$1] = n
		d = claims "/" slug($1) "/" $2
		if (d in claimed) {
			taken[n] = 1
			s = readnum(d "/seconds")
			if (s < 0) {   # running (no start time yet: claimed a moment ago)
				st = readnum(d "/start")
				s = st >= 0 ? now - st : 0
			}
			spent[$1] += s
		}
	}
	END {
		if (bad) exit 1
		for (i = 1; i <= n; i++)
			if (!taken[i] && kind[i] == "plan") print coll[i], tag[i], seed[i], arch[i]
		for (i = 1; i <= n; i++) {
			if (taken[i] || kind[i] != "more") continue
			key = by == "time" ? sprintf("%012.1f %06d %06d", spent[coll[i]], first[coll[i]], i) : sprintf("%06d", i)
			more[key] = coll[i] OFS tag[i] OFS seed[i] OFS arch[i]
			keys[++m] = key
		}
		# insertion sort: a queue is tens of lines
		for (i = 2; i <= m; i++) {
			k = keys[i]
			for (j = i - 1; j >= 1 && keys[j] > k; j--) keys[j + 1] = keys[j]
			keys[j + 1] = k
		}
		for (i = 1; i <= m; i++) print more[keys[i]]
	}' - "$QUEUE"
}

# claim the first candidate no other job has claimed in the meantime
while :; do
	list=$(candidates) || die "$QUEUE: not a queue file" 1
	[ -n "$list" ] || { log "nothing left in the queue"; exit 0; }
	got=""
	while IFS='	' read -r c t s a; do
		d="$CLAIMS/$(coll_slug "$c")"
		mkdir -p "$d"
		if mkdir "$d/$t" 2>/dev/null; then
			date +%s > "$d/$t/start"
			got=1
			break
		fi
	done <<< "$list"
	[ -n "$got" ] && break
done
log "${JOB:+job $JOB: }$c: $t"
T0=$(now)
rc=0
"$@" --tag "$t" --seed "$s" --arch "$a" "$c" || rc=$?
echo "$rc" > "$d/$t/rc"
elapsed "$T0" > "$d/$t/seconds"
exit "$rc"
