#!/usr/bin/env bats
# mp-dump: streams written by python3-msgpack + numpy (tests/fixtures/stream/
# mp-dump.py), JSON checked against python3-msgpack reading the same stream,
# and a committed golden stream with its expected outputs.

load helper

GEN="$FIX/stream/mp-dump.py"
GOLD="$FIX/stream/mp-dump-golden"

setup() {
	T="$BATS_TEST_TMPDIR"
}

# byte offset of record N of a stream (from mp-dump's own --offsets, checked
# against python3-msgpack in its own test)
offset_of() {
	mp-dump --offsets "$1" | sed -n "$(($2 + 1))p" | sed -E 's/.*"_offset": ([0-9]+).*/\1/'
}

# ---- the interface ----

@test "mp-dump: --help prints the usage on stdout and exits 0; the man page matches" {
	run mp-dump --help
	assert_success
	assert_line --index 0 --partial 'usage: mp-dump'
	assert_output --partial '--full'
	assert_output --partial '--count'
	run -0 bash -c 'mp-dump -h 2>&1 >/dev/null'
	assert_output ''
	run check_man_matches_help mp-dump
	assert_success
}

@test "mp-dump: --version" {
	run mp-dump --version
	assert_success
	assert_output --regexp '^mp-dump [0-9]+\.[0-9]+\.[0-9]+$'
	run mp-dump -V
	assert_success
}

@test "mp-dump: unknown option: one message and the usage line on stderr, exit 2" {
	run --separate-stderr mp-dump --bogus "$GOLD.mp"
	assert_failure 2
	assert_output ''
	[ "${stderr_lines[0]}" = "mp-dump: unknown or ambiguous option '--bogus'" ]
	[[ "${stderr_lines[1]}" == "usage: mp-dump "* ]]
	[ "${#stderr_lines[@]}" -eq 2 ]
	run --separate-stderr mp-dump -x "$GOLD.mp"
	assert_failure 2
	[ "${stderr_lines[0]}" = "mp-dump: unknown option '-x'" ]
}

@test "mp-dump: an option without its argument or with a bad value: exit 2" {
	run mp-dump --head
	assert_failure 2
	assert_line --index 0 "mp-dump: option '--head' needs an argument"
	run mp-dump -n -3 "$GOLD.mp"
	assert_failure 2
	assert_output --partial "mp-dump: --head: bad value '-3'"
	run mp-dump --head 2x "$GOLD.mp"
	assert_failure 2
	assert_output --partial "mp-dump: --head: bad value '2x'"
	run mp-dump --type 'graph,,pred' "$GOLD.mp"
	assert_failure 2
	assert_line --index 0 "mp-dump: --type: bad record type in 'graph,,pred' (want names like graph,configs)"
	assert_line --index 1 --partial "usage: mp-dump "
	run mp-dump -t '' "$GOLD.mp"
	assert_failure 2
}

# ---- golden outputs (committed; no python needed) ----

@test "mp-dump: golden stream, default output" {
	run mp-dump "$GOLD.mp"
	assert_success
	diff -u "$GOLD.jsonl" <(mp-dump "$GOLD.mp")
	[ "${#lines[@]}" -eq 7 ]
}

@test "mp-dump: golden stream, --full --pretty" {
	diff -u "$GOLD.full.json" <(mp-dump --full --pretty "$GOLD.mp")
}

@test "mp-dump: golden stream, --count" {
	diff -u "$GOLD.count.txt" <(mp-dump --count "$GOLD.mp")
}

@test "mp-dump: golden outputs are strict JSON and match python3-msgpack" {
	need_py msgpack numpy
	run "$PY" "$GEN" check "$GOLD.mp" "$GOLD.jsonl"
	assert_success
	assert_output 'ok: 7 records'
	run "$PY" "$GEN" check "$GOLD.mp" "$GOLD.full.json" --full
	assert_success
	# and the fixture is what the generator writes
	"$PY" "$GEN" golden "$T/g.mp"
	cmp "$T/g.mp" "$GOLD.mp"
}

@test "mp-dump: summaries hold what a person looks for" {
	run mp-dump -t graph -i 'tile:*' "$GOLD.mp"
	assert_success
	# NaN counted, +inf as a string, mean over the finite values
	assert_output --partial '"node_feat": {"dtype": "f32", "shape": [3, 4], "min": -2.25, "max": "Infinity", "mean": 1.1850000011490116, "nan": 1, "inf": 1}'
	run mp-dump -t graph -i 'layout:*' "$GOLD.mp"
	assert_output --partial '"edge_index": {"dtype": "i32", "shape": [0, 2], "min": null, "max": null, "mean": null}'
	assert_output --partial '"big": {"dtype": "u64", "shape": [2], "min": 0, "max": 18446744073709551615,'
	assert_output --partial '"flags": {"dtype": "bool", "shape": [3], "min": false, "max": true,'
	assert_output --partial '"extra": {"nested": [1, -2, 3.5, null, true, "s"], "blob": {"bin": 3}, "m": {"k": [[1, 2], []]}}'
	assert_output --partial '"note": "line1\nline2\u0001\u007f", "ratio": 0.1'
}

# ---- input handling ----

@test "mp-dump: stdin, '-' and a file argument give the same output" {
	mp-dump "$GOLD.mp" >"$T/file"
	mp-dump <"$GOLD.mp" >"$T/stdin"
	mp-dump - <"$GOLD.mp" >"$T/dash"
	cat "$GOLD.mp" | mp-dump >"$T/pipe"
	cmp "$T/file" "$T/stdin"
	cmp "$T/file" "$T/dash"
	cmp "$T/file" "$T/pipe"
	cmp "$T/file" "$GOLD.jsonl"
}

@test "mp-dump: several files are dumped in turn" {
	run -0 bash -c "mp-dump '$GOLD.mp' - '$GOLD.mp' <'$GOLD.mp' | wc -l"
	assert_output 21
	diff <(cat "$GOLD.jsonl" "$GOLD.jsonl") <(mp-dump "$GOLD.mp" "$GOLD.mp")
}

@test "mp-dump: empty input: the reader's error, exit 1, no output" {
	run --separate-stderr mp-dump </dev/null
	assert_failure 1
	assert_output ''
	[ "$stderr" = "mp-dump: stdin: empty input (no header record)" ]
	: >"$T/empty.mp"
	run mp-dump "$T/empty.mp"
	assert_failure 1
	assert_output "mp-dump: $T/empty.mp: empty input (no header record)"
}

@test "mp-dump: a stream cut in the middle of a record: what was read, then the error (1)" {
	off=$(offset_of "$GOLD.mp" 3)
	cut=$((off + 17))
	head -c "$cut" "$GOLD.mp" >"$T/cut.mp"
	run --separate-stderr mp-dump "$T/cut.mp"
	assert_failure 1
	[ "$stderr" = "mp-dump: $T/cut.mp: truncated stream: record 3 cut off at byte offset $cut" ]
	diff <(head -n 3 "$GOLD.jsonl") <(printf '%s\n' "$output")
	# from stdin, the same
	run --separate-stderr mp-dump <"$T/cut.mp"
	assert_failure 1
	[ "$stderr" = "mp-dump: stdin: truncated stream: record 3 cut off at byte offset $cut" ]
	[ "${#lines[@]}" -eq 3 ]
}

@test "mp-dump: a stream without its end record: every record, then the error (1)" {
	off=$(offset_of "$GOLD.mp" 6)
	head -c "$off" "$GOLD.mp" >"$T/noend.mp"
	run --separate-stderr mp-dump "$T/noend.mp"
	assert_failure 1
	[ "$stderr" = "mp-dump: $T/noend.mp: truncated stream: no end record after 6 records (byte offset $off)" ]
	diff <(head -n 6 "$GOLD.jsonl") <(printf '%s\n' "$output")
}

@test "mp-dump: malformed streams are reported with record and offset (1)" {
	# no header: start at the first graph record
	off=$(offset_of "$GOLD.mp" 1)
	tail -c +"$((off + 1))" "$GOLD.mp" >"$T/nohdr.mp"
	run mp-dump "$T/nohdr.mp"
	assert_failure 1
	assert_output "mp-dump: $T/nohdr.mp: record 0 (byte offset 0): first record is 'graph', not a header"
	# 0xc1 is never used by msgpack
	run bash -c "printf '\\xc1' | mp-dump"
	assert_failure 1
	assert_output "mp-dump: stdin: record 0 (byte offset 0): malformed msgpack"
	# garbage after the end record
	{ cat "$GOLD.mp"; printf '\x01'; } >"$T/trail.mp"
	run --separate-stderr mp-dump "$T/trail.mp"
	assert_failure 1
	[[ "$stderr" == "mp-dump: $T/trail.mp: data after the end record"* ]]
	[ "${#lines[@]}" -eq 7 ]
}

@test "mp-dump: a file that cannot be read is reported, the others still dumped, worst status" {
	run --separate-stderr mp-dump "$GOLD.mp" "$T/missing.mp" "$GOLD.mp"
	assert_failure 3
	[ "$stderr" = "mp-dump: $T/missing.mp: No such file or directory" ]
	[ "${#lines[@]}" -eq 14 ]
	run --separate-stderr mp-dump "$T"
	assert_failure 3
	[ "$stderr" = "mp-dump: $T: read error: Is a directory" ]
	head -c "$(($(offset_of "$GOLD.mp" 2) + 5))" "$GOLD.mp" >"$T/cut.mp"
	run --separate-stderr mp-dump "$T/cut.mp" "$GOLD.mp"
	assert_failure 1
	[ "${#lines[@]}" -eq 9 ]
	[[ "$stderr" == "mp-dump: $T/cut.mp: truncated stream: record 2 cut off"* ]]
}

@test "mp-dump: a write error on stdout is exit 3" {
	[ -w /dev/full ] || skip "no /dev/full"
	run bash -c "mp-dump '$GOLD.mp' >/dev/full"
	assert_failure 3
	assert_output --partial 'mp-dump: stdout: write error'
	run bash -c "mp-dump --count '$GOLD.mp' >/dev/full"
	assert_failure 3
}

# ---- selection ----

@test "mp-dump: --type keeps the records of the listed types, in order" {
	diff <(grep -E '^\{"t": "graph"' "$GOLD.jsonl") <(mp-dump --type graph "$GOLD.mp")
	diff <(grep -E '^\{"t": "(graph|pred)"' "$GOLD.jsonl") <(mp-dump -t graph,pred "$GOLD.mp")
	diff <(grep -E '^\{"t": "(graph|pred)"' "$GOLD.jsonl") <(mp-dump -t pred -t graph "$GOLD.mp")
	run -0 mp-dump -t nosuchtype "$GOLD.mp"
	assert_output ''
}

@test "mp-dump: --id filters by glob; records without an id are left out" {
	diff <(grep -F '"id": "tile:xla:alexnet"' "$GOLD.jsonl") <(mp-dump --id 'tile:*' "$GOLD.mp")
	run -0 mp-dump -i '*alexnet' "$GOLD.mp"
	[ "${#lines[@]}" -eq 4 ]
	run -0 mp-dump -i 'layout:nlp:random:b*rt*' "$GOLD.mp"
	[ "${#lines[@]}" -eq 1 ]
	run -0 mp-dump -i 'tile:xla:al?x[mn]et' "$GOLD.mp"
	[ "${#lines[@]}" -eq 4 ]
	run -0 mp-dump -i 'tile:xla:alex' "$GOLD.mp"
	assert_output ''       # the whole id must match
	run -0 mp-dump -i 'tile:*' -i 'layout:*' "$GOLD.mp"
	[ "${#lines[@]}" -eq 5 ]
	run -0 mp-dump -i '*' "$GOLD.mp"
	[ "${#lines[@]}" -eq 5 ]       # not header, not end
	run -0 mp-dump -i 'tile:*' -t configs "$GOLD.mp"
	[ "${#lines[@]}" -eq 2 ]
	run -0 mp-dump -i 'nothing*' "$GOLD.mp"
	assert_output ''
}

@test "mp-dump: --head N prints the first N matching records and stops reading" {
	diff <(head -n 2 "$GOLD.jsonl") <(mp-dump --head 2 "$GOLD.mp")
	diff <(grep -F '"t": "configs"' "$GOLD.jsonl" | head -n 1) <(mp-dump -n 1 -t configs "$GOLD.mp")
	run -0 mp-dump -n 0 "$GOLD.mp"
	assert_output ''
	# over several files
	run -0 mp-dump -n 9 "$GOLD.mp" "$GOLD.mp"
	[ "${#lines[@]}" -eq 9 ]
	# the cut-off part of a truncated stream is never reached
	head -c "$(offset_of "$GOLD.mp" 3)" "$GOLD.mp" >"$T/cut.mp"
	run -0 mp-dump -n 3 "$T/cut.mp"
	[ "${#lines[@]}" -eq 3 ]
	run mp-dump -n 4 "$T/cut.mp"
	assert_failure 1
}

@test "mp-dump: --count honours the filters and counts what a truncated stream holds" {
	run -0 mp-dump --count -i 'tile:*' "$GOLD.mp"
	assert_line --index 2 --regexp '^graph +1 +3$'
	assert_line --index 3 --regexp '^configs +2 +3$'
	assert_line --index 6 --regexp '^total +4 +3$'
	run -0 mp-dump -c "$GOLD.mp" "$GOLD.mp"
	assert_line --index 6 --regexp '^total +14 +6$'
	head -c "$(offset_of "$GOLD.mp" 3)" "$GOLD.mp" >"$T/cut.mp"
	run --separate-stderr mp-dump -c "$T/cut.mp"
	assert_failure 1
	assert_line --index 3 --regexp '^configs +1 +2$'
	[[ "$stderr" == *"no end record after 3 records"* ]]
}

@test "mp-dump: --offsets gives each record's index and byte offset" {
	need_py msgpack
	mp-dump -o "$GOLD.mp" >"$T/o.jsonl"
	run "$PY" -c '
import json, sys, msgpack
u = msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False, unicode_errors="replace")
offs = []
while True:
    offs.append(u.tell())
    try:
        u.unpack()
    except msgpack.OutOfData:
        break
got = [json.loads(l) for l in open(sys.argv[2])]
assert [g["_record"] for g in got] == list(range(len(got))), got
assert [g["_offset"] for g in got] == offs[:len(got)], ([g["_offset"] for g in got], offs)
assert all(list(g)[:3] == ["t", "_record", "_offset"] for g in got)
print(len(got))' "$GOLD.mp" "$T/o.jsonl"
	assert_success
	assert_output 7
}

# ---- values against python3-msgpack + numpy ----

@test "mp-dump: random streams match python3-msgpack + numpy (summary, --full, --pretty, --ascii)" {
	need_py msgpack numpy
	for seed in 11 12 13 14; do
		"$PY" "$GEN" random "$seed" "$T/r.mp"
		mp-dump "$T/r.mp" >"$T/r.jsonl"
		run "$PY" "$GEN" check "$T/r.mp" "$T/r.jsonl"
		assert_success
		mp-dump --full "$T/r.mp" >"$T/r.full"
		run "$PY" "$GEN" check "$T/r.mp" "$T/r.full" --full
		assert_success
		mp-dump --full --pretty --ascii "$T/r.mp" >"$T/r.pa"
		run "$PY" "$GEN" check "$T/r.mp" "$T/r.pa" --full
		assert_success
		mp-dump --pretty "$T/r.mp" >"$T/r.p"
		run "$PY" "$GEN" check "$T/r.mp" "$T/r.p"
		assert_success
		# one JSON object per line, each on its own
		"$PY" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/r.jsonl"
		# --ascii: nothing past 0x7f
		run -1 grep -qP '[^\x00-\x7f]' "$T/r.pa"
	done
}

@test "mp-dump: the oracle catches a wrong value" {
	need_py msgpack numpy
	sed 's/"max": 1.25/"max": 1.5/' "$GOLD.jsonl" >"$T/bad1"
	run "$PY" "$GEN" check "$GOLD.mp" "$T/bad1"
	assert_failure 1
	assert_output --partial 'mismatch: record 2.config_feat: max'
	sed 's/-2.25, 0.1\]/-2.25, 0.2]/' "$GOLD.full.json" >"$T/bad2"
	! cmp -s "$T/bad2" "$GOLD.full.json"
	run "$PY" "$GEN" check "$GOLD.mp" "$T/bad2" --full
	assert_failure 1
	sed 's/"Infinity", -0, 7/"Infinity", 0, 7/' "$GOLD.full.json" >"$T/bad3"
	run "$PY" "$GEN" check "$GOLD.mp" "$T/bad3" --full
	assert_failure 1
	assert_output --partial 'signs differ'
	sed 's/"nan": 1, //' "$GOLD.jsonl" >"$T/bad4"
	run "$PY" "$GEN" check "$GOLD.mp" "$T/bad4"
	assert_failure 1
	sed 's/"blob": {"bin": 3}/"blob": {"bin": 4}/' "$GOLD.jsonl" >"$T/bad5"
	run "$PY" "$GEN" check "$GOLD.mp" "$T/bad5"
	assert_failure 1
	sed 's/"max": "Infinity"/"max": Infinity/' "$GOLD.jsonl" >"$T/bad6"
	run "$PY" "$GEN" check "$GOLD.mp" "$T/bad6"
	assert_failure 1
	assert_output --partial 'not strict JSON'
}

@test "mp-dump: a big tensor round-trips bit for bit under --full" {
	need_py msgpack numpy
	"$PY" - "$T/big.mp" <<'EOF'
import sys, msgpack, numpy as np
rng = np.random.default_rng(5)
def t(a, dt):
    return {"dtype": dt, "shape": list(a.shape), "data": a.tobytes()}
a = (rng.standard_normal((600, 140)) * 10.0 ** rng.integers(-30, 30, size=(600, 140))).astype("<f4")
b = rng.standard_normal(5000) * 1e-300
c = rng.integers(-2**63, 2**63 - 1, size=(50, 20), dtype="<i8")
recs = [{"t": "header", "format": "tpugraphs-mp", "version": 1, "history": []},
        {"t": "graph", "id": "tile:xla:big", "node_feat": t(a, "f32"), "d": t(b, "f64"), "c": t(c, "i64")},
        {"t": "end", "records": 2, "graphs": 1, "chunks": 0, "configs": 0, "preds": 0}]
with open(sys.argv[1], "wb") as f:
    for r in recs:
        f.write(msgpack.packb(r))
EOF
	mp-dump --full "$T/big.mp" >"$T/big.json"
	run "$PY" "$GEN" check "$T/big.mp" "$T/big.json" --full
	assert_success
	mp-dump "$T/big.mp" >"$T/big.sum"
	run "$PY" "$GEN" check "$T/big.mp" "$T/big.sum"
	assert_success
}

# ---- robustness ----

@test "mp-dump: every truncation of the golden stream: the records before the cut, then exit 1" {
	size=$(wc -c <"$GOLD.mp")
	mapfile -t offs < <(mp-dump -o "$GOLD.mp" | sed -E 's/.*"_offset": ([0-9]+).*/\1/')
	[ "${#offs[@]}" -eq 7 ]
	offs+=("$size")
	for ((cut = 0; cut < size; cut += 7)); do
		n=0 boundary=0
		for ((i = 0; i < 7; i++)); do
			[ "${offs[i + 1]}" -le "$cut" ] && n=$((i + 1))
			[ "${offs[i]}" -eq "$cut" ] && boundary=1
		done
		head -c "$cut" "$GOLD.mp" >"$T/c.mp"
		rc=0
		mp-dump <"$T/c.mp" >"$T/c.out" 2>"$T/c.err" || rc=$?
		[ "$rc" -eq 1 ] || { echo "cut $cut: exit $rc"; return 1; }
		if [ "$cut" -eq 0 ]; then
			want="mp-dump: stdin: empty input (no header record)"
		elif [ "$boundary" = 1 ]; then
			want="mp-dump: stdin: truncated stream: no end record after $n records (byte offset $cut)"
		else
			want="mp-dump: stdin: truncated stream: record $n cut off at byte offset $cut"
		fi
		[ "$(cat "$T/c.err")" = "$want" ] || { echo "cut $cut: $(cat "$T/c.err") / want $want"; return 1; }
		diff <(head -n "$n" "$GOLD.jsonl") "$T/c.out" || { echo "cut $cut"; return 1; }
	done
}

@test "mp-dump: corrupted streams: a clear error or valid JSON, never a crash" {
	need_py numpy
	"$PY" - "$GOLD.mp" "$T" <<'EOF2'
import sys, numpy as np
data = bytearray(open(sys.argv[1], "rb").read())
rng = np.random.default_rng(7)
for k in range(150):
    d = bytearray(data)
    for _ in range(rng.integers(1, 4)):
        i = int(rng.integers(len(d)))
        op = rng.integers(3)
        if op == 0:
            d[i] = int(rng.integers(256))
        elif op == 1:
            del d[i]
        else:
            d.insert(i, int(rng.integers(256)))
    open("%s/m%03d.mp" % (sys.argv[2], k), "wb").write(d)
EOF2
	for f in "$T"/m*.mp; do
		rc=0
		mp-dump --full "$f" >"$f.out" 2>"$f.err" || rc=$?
		case $rc in
		0) [ ! -s "$f.err" ] || { echo "$f: exit 0 with $(cat "$f.err")"; return 1; } ;;
		1) [ "$(wc -l <"$f.err")" -eq 1 ] && grep -q "^mp-dump: $f: " "$f.err" ||
			{ echo "$f: $(cat "$f.err")"; return 1; } ;;
		*) echo "$f: exit $rc: $(cat "$f.err")"; return 1 ;;
		esac
	done
	"$PY" -c '
import json, sys
def bad(c):
    raise ValueError(c)
for p in sys.argv[1:]:
    for line in open(p, encoding="utf-8"):
        json.loads(line, parse_constant=bad)' "$T"/m*.mp.out
}
