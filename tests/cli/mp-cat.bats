#!/usr/bin/env bats
# mp-cat: joins complete streams; refuses truncated inputs and repeated ids.

load helper

setup() {
	T="$BATS_TEST_TMPDIR"
	npz2mp -q "$FIX/npz/npz/tile/xla/train" > "$T/a.mp"
	npz2mp -q "$FIX/npz/npz/tile/xla/valid" > "$T/b.mp"
}

@test "mp-cat --help, --version, man page" {
	run mp-cat --help
	assert_success
	assert_output --partial "usage: mp-cat"
	run mp-cat --version
	assert_success
	assert_output --regexp '^mp-cat [0-9.]+$'
	check_man_matches_help mp-cat
}

@test "mp-cat: usage error exits 2" {
	run mp-cat --nope
	assert_failure 2
	assert_output --partial "usage: mp-cat"
}

@test "mp-cat: two streams become one with every record, one header, one end" {
	need_py msgpack
	mp-cat "$T/a.mp" "$T/b.mp" > "$T/ab.mp"
	run "$PY" -c '
import msgpack, sys
rs = list(msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False))
print([r["t"] for r in rs].count("header"), [r["t"] for r in rs].count("graph"), rs[-1]["records"], rs[-1]["configs"])
print([h["name"] for h in rs[0]["history"]])' "$T/ab.mp"
	assert_success
	assert_line --index 0 "1 3 7 21"
	assert_line --index 1 "['npz2mp', 'mp-cat']"
}

@test "mp-cat: stdin and a single file give the same records" {
	mp-cat < "$T/a.mp" > "$T/x1.mp"
	mp-cat - < "$T/a.mp" > "$T/x2.mp"
	# the same records but for the header's argv
	cmp <(mp-dump --type graph,configs,end "$T/x1.mp") <(mp-dump --type graph,configs,end "$T/x2.mp")
	run mp-dump --count "$T/x1.mp"
	assert_success
	assert_output --partial "graph                 2"
}

@test "mp-cat: empty input is bad data (1), said as such" {
	run mp-cat < /dev/null
	assert_failure 1
	assert_output "mp-cat: stdin: empty input (no header record)"
}

@test "mp-cat: a truncated input stops it without an end record" {
	head -c 2000 "$T/b.mp" > "$T/cut.mp"
	run --separate-stderr mp-cat "$T/a.mp" "$T/cut.mp"
	assert_failure 1
	[[ "$stderr" == *"cut.mp: truncated stream"* ]]
	mp-cat "$T/a.mp" "$T/cut.mp" > "$T/o.mp" 2>/dev/null || true
	run mp-dump "$T/o.mp"
	assert_failure 1
}

@test "mp-cat: a repeated graph id is an error unless allowed" {
	run mp-cat "$T/a.mp" "$T/a.mp"
	assert_failure 1
	assert_output --partial "graph id seen before"
	run mp-cat --allow-duplicates "$T/a.mp" "$T/a.mp"
	assert_success
}
