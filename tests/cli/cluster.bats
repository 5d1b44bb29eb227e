#!/usr/bin/env bats
# all.sh --sshloginfile on a "cluster" of two hosts: this machine (":") and a
# private sshd on a loopback port, started by the test as the current user
# with a throwaway host key and client key (nothing in ~/.ssh is read or
# written: ssh -F uses the test's own config and known_hosts).  Checks that
# the jobs really ran through the sshd, that the result is byte for byte the
# local run's, that a job failing on the ssh host is rerun by
# --resume-failed, and that teardown kills every sshd the tests started.

load helper
. "$ROOT/tests/tools/sshd-configs.sh"

SSHD=${TEST_SSHD:-/usr/sbin/sshd}   # overridable to check the skip

# Skip with the reason, except under CI where openssh-server is a dependency
# (tests/deps.sh) and a missing piece is a failure.
need() {
	if [ "${CI:-}" = true ]; then
		echo "under CI: $1" >&2
		return 1
	fi
	skip "$1"
}

setup_file() {
	# the tests share the sshd pid list and run in order (the last checks
	# what the teardowns of the others did)
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	export D="$BATS_FILE_TMPDIR/data"
	tpugen --out "$D" --scale tiny --seed 5 >/dev/null 2>&1
	# the filters of every run go through wrappers that log where they ran:
	# a sage-train run by a job that came through the test's sshd sees
	# SSH_CONNECTION ending with that sshd's port
	export W="$BATS_FILE_TMPDIR/bin"
	mkdir -p "$W"
	for f in "$BIN"/*; do ln -s "$f" "$W/"; done
	rm "$W/sage-train" "$W/sage-predict"
	cat > "$W/sage-train" <<EOF
#!/bin/sh
# log: the server port of the ssh connection (or "local"), two variables
# all.sh must forward to the ssh hosts, then the arguments
port=\${SSH_CONNECTION##* }
printf '%s\t%s %s\t%s\n' "\${port:-local}" "\${TPU_TEST_MARK-unset}" "\${OPENBLAS_VERBOSE-unset}" "\$*" >> "$BATS_FILE_TMPDIR/where.log"
exec "$BIN/sage-train" "\$@"
EOF
	# sage-predict fails when run through the sshd whose port the file
	# fail-on-ssh holds
	cat > "$W/sage-predict" <<EOF
#!/bin/sh
port=\${SSH_CONNECTION##* }
if [ -n "\$port" ] && [ -e "$BATS_FILE_TMPDIR/fail-on-ssh" ] &&
	[ "\$port" = "\$(cat "$BATS_FILE_TMPDIR/fail-on-ssh")" ]; then
	echo "sage-predict: failing on purpose on the ssh host" >&2
	exit 3
fi
exec "$BIN/sage-predict" "\$@"
EOF
	chmod +x "$W/sage-train" "$W/sage-predict"
	: > "$BATS_FILE_TMPDIR/sshd.pids"
}

# A private sshd on a free loopback port, its keys and configs in $S.
start_sshd() {
	[ -x "$SSHD" ] || need "openssh-server not installed ($SSHD missing; tests/deps.sh installs it)"
	if ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then
		need "ssh or ssh-keygen not installed (openssh-client)"
	fi
	# sshd checks for its privilege separation directory even when it will
	# not use it (the service's RuntimeDirectory; absent in a container)
	if [ ! -d /run/sshd ]; then
		if [ "$(id -u)" = 0 ]; then
			mkdir -m 0755 /run/sshd
		else
			need "/run/sshd is missing and only root can create it"
		fi
	fi
	S="$BATS_TEST_TMPDIR/ssh"
	mkdir -p "$S"
	sshd_keys "$S"
	local try port
	for try in 1 2 3; do
		port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		sshd_configs "$S" "$port"
		"$SSHD" -t -f "$S/sshd_config" || { echo "sshd -t rejects the config" >&2; return 1; }
		# -D: no daemon, so $! is the sshd itself and teardown knows it
		# from the start; -E: its log; no inherited fds (bats waits on 3)
		"$SSHD" -D -E "$S/sshd.log" -f "$S/sshd_config" </dev/null >/dev/null 2>&1 3>&- &
		SSHD_PID=$!
		# "PID PORT CONFIG"; PORT "-" until it listens there
		echo "$SSHD_PID - $S/sshd_config" >> "$BATS_FILE_TMPDIR/sshd.pids"
		local i
		for i in $(seq 50); do
			grep -q "Server listening on 127.0.0.1 port $port" "$S/sshd.log" 2>/dev/null && break
			kill -0 "$SSHD_PID" 2>/dev/null || break
			sleep 0.1
		done
		if grep -q "Server listening on 127.0.0.1 port $port" "$S/sshd.log" 2>/dev/null; then
			PORT=$port
			echo "$SSHD_PID $port $S/sshd_config" >> "$BATS_FILE_TMPDIR/sshd.pids"
			break
		fi
		stop_sshd   # lost the port to someone else, or did not come up
	done
	[ -n "${PORT:-}" ] || { echo "sshd did not start:" >&2; cat "$S/sshd.log" >&2; return 1; }
	# a cluster of two: this machine (1 job) and the sshd (2 jobs)
	printf '1/:\n2/ssh -F %s tpuhost\n' "$S/ssh_config" > "$S/hosts"
	SSHLOGIN="ssh -F $S/ssh_config tpuhost"
	run ssh -F "$S/ssh_config" tpuhost 'echo "via $SSH_CONNECTION"'
	assert_success
	assert_output --regexp "^via 127\.0\.0\.1 [0-9]+ 127\.0\.0\.1 $PORT\$"
}

# Stop the sshd and whatever sessions it still has: TERM, then KILL.
stop_sshd() {
	[ -n "${SSHD_PID:-}" ] || return 0
	local kids i
	kids=$(pgrep -P "$SSHD_PID" 2>/dev/null || true)
	# shellcheck disable=SC2086
	kill -TERM "$SSHD_PID" $kids 2>/dev/null || true
	for i in $(seq 30); do
		kill -0 "$SSHD_PID" 2>/dev/null || break
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL "$SSHD_PID" $kids 2>/dev/null || true
	wait "$SSHD_PID" 2>/dev/null || true
	SSHD_PID=""
}

setup() {
	T="$BATS_TEST_TMPDIR"
	PORT=""
	SSHD_PID=""
	: > "$BATS_FILE_TMPDIR/where.log"
	rm -f "$BATS_FILE_TMPDIR/fail-on-ssh"
}

teardown() {
	stop_sshd
}

# Is PID still an sshd of ours (the pid not reused since; a zombie is dead)?
our_sshd_alive() {
	if [ -d /proc ]; then
		tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF -- "-f $2"
	else
		kill -0 "$1" 2>/dev/null
	fi
}

teardown_file() {
	# belt and braces: any sshd of this file still alive (a teardown that
	# could not run) goes now
	local pid port cfg
	while read -r pid port cfg; do
		if our_sshd_alive "$pid" "$cfg"; then kill -KILL "$pid" 2>/dev/null || true; fi
	done < "$BATS_FILE_TMPDIR/sshd.pids"
}

# the collection of each job in a joblog, with its host: "HOST<TAB>COLL"
joblog_hosts() {
	awk -F'\t' 'NR > 1 { n = split($9, w, " "); c = w[n]; gsub("\047", "", c); print $2 "\t" c }' "$1"
}

# the most jobs that ran at the same time on HOST, from a joblog's start
# times and run times
max_concurrent() {
	awk -F'\t' -v h="$2" 'NR > 1 && $2 == h { s[++n] = $3; e[n] = $3 + $4 }
		END { for (i = 1; i <= n; i++) { c = 0
			for (j = 1; j <= n; j++) if (s[j] <= s[i] && s[i] < e[j]) c++
			if (c > m) m = c }
			print m + 0 }' "$1"
}

# where sage-train ran for each collection: "PORT-or-local<TAB>SLUG"
where_ran() {
	awk -F'\t' 'match($3, /--out [^ ]*\/[a-z_]+\/seed[0-9]+\/model\.mp/) {
		n = split(substr($3, RSTART, RLENGTH), p, "/"); print $1 "\t" p[n - 2] }' "$BATS_FILE_TMPDIR/where.log"
}

# every stream, the submission and the scores of two all.sh outputs agree
# byte for byte (the runs used the same --out path, so even the headers do)
same_results() {
	local a=$1 b=$2 f n=0
	for f in $(cd "$a" && find . -name '*.mp' | sort) ./submission.csv ./scores-valid.json ./scores-valid.txt; do
		cmp "$a/$f" "$b/$f" || { echo "differs: $f"; return 1; }
		n=$((n + 1))
	done
	[ "$(cd "$a" && find . -name '*.mp' | wc -l)" = "$(cd "$b" && find . -name '*.mp' | wc -l)" ] ||
		{ echo "not the same streams"; return 1; }
	# predictions of every collection, valid and test, and the ensembles
	[ "$(cd "$b" && find . -name 'pred-*.mp' | wc -l)" -eq 10 ] || { echo "missing predictions"; return 1; }
	[ "$(cd "$b" && find . -name 'ens-*.mp' | wc -l)" -ge 10 ] || { echo "missing ensembles"; return 1; }
	echo "$n files identical"
}

@test "all.sh --sshloginfile: jobs run on this machine and through a local sshd; the result is the local run's, byte for byte" {
	start_sshd
	# the local run, then the cluster run into the same --out path
	TPU_BIN="$W" run all.sh --budget none --data "$D" --out "$T/o" --jobs 2 --threads 1 --set "$QUICK" --no-plots
	assert_success
	mv "$T/o" "$T/local"
	: > "$BATS_FILE_TMPDIR/where.log"
	# TPU_* and OPENBLAS_* variables reach the ssh host (sshd starts its
	# sessions with a bare environment)
	TPU_TEST_MARK=mark-$$ OPENBLAS_VERBOSE=0 TPU_BIN="$W" run all.sh --budget none --data "$D" --out "$T/o" \
		--threads 1 --set "$QUICK" --no-plots --sshloginfile "$S/hosts"
	assert_success
	assert_output --partial "overall score"
	[ -s "$T/o/submission.csv" ]

	# (1) the joblog: all five jobs, each once, on one of the two hosts,
	# both hosts used
	joblog_hosts "$T/o/joblog" > "$T/hosts.tsv"
	cat "$T/hosts.tsv"
	[ "$(wc -l < "$T/hosts.tsv")" -eq 5 ]
	[ "$(cut -f2 "$T/hosts.tsv" | sort -u | wc -l)" -eq 5 ]
	awk -F'\t' 'NR > 1 && $7 != 0 { exit 1 }' "$T/o/joblog"
	n_ssh=$(awk -F'\t' -v h="$SSHLOGIN" '$1 == h' "$T/hosts.tsv" | wc -l)
	n_local=$(awk -F'\t' '$1 == ":"' "$T/hosts.tsv" | wc -l)
	[ "$n_ssh" -ge 1 ]
	[ "$n_local" -ge 1 ]
	[ $((n_ssh + n_local)) -eq 5 ]
	# ... and at most as many at a time on a host as its line says (1/: and
	# 2/ssh ...): all.sh's default --jobs 2 does not override the file
	run max_concurrent "$T/o/joblog" :
	assert_output 1
	run max_concurrent "$T/o/joblog" "$SSHLOGIN"
	assert_output --regexp '^[12]$'
	# ... and each job ran where the joblog says: the ssh host's jobs saw
	# SSH_CONNECTION to the test's sshd, this machine's did not
	where_ran > "$T/where.tsv"
	cat "$T/where.tsv"
	[ "$(wc -l < "$T/where.tsv")" -eq 5 ]
	[ "$(cut -f2 "$BATS_FILE_TMPDIR/where.log" | sort -u)" = "mark-$$ 0" ]
	while IFS=$'\t' read -r host coll; do
		slug=$(printf '%s' "$coll" | tr : _)
		# (a test run from an ssh session has SSH_CONNECTION to port 22)
		if [ "$host" = : ]; then
			awk -F'\t' -v p="$PORT" -v s="$slug" '$2 == s && $1 != p { ok = 1 } END { exit !ok }' "$T/where.tsv"
		else
			grep -qxF "$PORT	$slug" "$T/where.tsv"
		fi || { echo "$coll: did not run on $host"; return 1; }
	done < "$T/hosts.tsv"
	# ... and the sshd logged one key login and one command session per
	# ssh job (GNU parallel opens one connection per job)
	[ "$(grep -c "Accepted publickey for $(id -un) from 127.0.0.1" "$S/sshd.log")" -ge "$n_ssh" ]
	[ "$(grep -c "Starting session: command for $(id -un) from 127.0.0.1" "$S/sshd.log")" -ge "$n_ssh" ]

	# (2) the same result as the local run: every stream (headers
	# included), the submission and the scores
	run same_results "$T/local" "$T/o"
	assert_success
	assert_output --regexp '^[0-9]+ files identical$'
}

@test "all.sh --sshloginfile: a job failing on the ssh host leaves no submission; --resume-failed reruns only it" {
	start_sshd
	echo "$PORT" > "$BATS_FILE_TMPDIR/fail-on-ssh"
	TPU_BIN="$W" run all.sh --budget none --data "$D" --out "$T/o" --collections tile:xla,layout:xla:random,layout:nlp:default \
		--threads 1 --set "$QUICK" --no-plots --sshloginfile "$S/hosts"
	assert_failure 1
	assert_output --partial "failing on purpose on the ssh host"
	assert_output --partial "job(s) failed"
	[ ! -e "$T/o/submission.csv" ]
	# exactly the jobs of the ssh host failed
	joblog_hosts "$T/o/joblog" > "$T/hosts.tsv"
	n_ssh=$(awk -F'\t' -v h="$SSHLOGIN" '$1 == h' "$T/hosts.tsv" | wc -l)
	[ "$n_ssh" -ge 1 ]
	[ "$(awk -F'\t' -v h="$SSHLOGIN" 'NR > 1 && ($7 != 0) != ($2 == h)' "$T/o/joblog" | wc -l)" -eq 0 ]
	# the rerun: only the failed jobs run again (wherever), then the rest
	rm "$BATS_FILE_TMPDIR/fail-on-ssh"
	: > "$BATS_FILE_TMPDIR/where.log"
	TPU_BIN="$W" run all.sh --budget none --data "$D" --out "$T/o" --collections tile:xla,layout:xla:random,layout:nlp:default \
		--threads 1 --set "$QUICK" --no-plots --sshloginfile "$S/hosts" --resume-failed
	assert_success
	[ -s "$T/o/submission.csv" ]
	[ "$(wc -l < "$BATS_FILE_TMPDIR/where.log")" -eq "$n_ssh" ]
	# the same submission as a local run of those collections
	TPU_BIN="$W" run all.sh --budget none --data "$D" --out "$T/l" --collections tile:xla,layout:xla:random,layout:nlp:default \
		--threads 1 --set "$QUICK" --no-plots
	assert_success
	cmp "$T/o/submission.csv" "$T/l/submission.csv"
}

@test "all.sh --sshloginfile: a missing file is a usage error" {
	run all.sh --data "$D" --out "$T/o" --sshloginfile "$T/nope"
	assert_failure 2
	assert_output --partial "no such file: $T/nope"
}

@test "teardown killed every sshd the tests started, and their ports are closed" {
	[ -s "$BATS_FILE_TMPDIR/sshd.pids" ] || skip "no sshd was started (run the whole file)"
	n=0
	while read -r pid port cfg; do
		if our_sshd_alive "$pid" "$cfg"; then echo "sshd $pid still running"; return 1; fi
		[ "$port" != - ] || continue
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "port $port still accepts connections"; return 1
		fi
		n=$((n + 1))
	done < "$BATS_FILE_TMPDIR/sshd.pids"
	# at least the sshd of one of the tests above
	[ "$n" -ge 1 ]
}
