#!/usr/bin/env bash
# cluster.sh: all.sh over ssh on a cluster of two hosts made on this machine
# (this machine, ":", and a private sshd on a loopback port, as
# tests/cli/cluster.bats makes it), every filter profiled; optionally one
# host dies mid-run (its sshd and every process of its jobs killed) and the
# run is finished with --resume-failed on the hosts left; then the makespan
# on 1, 2, 4 and 8 hosts from the measured job times (bench/makespan.sh).
# usage: bench/cluster.sh DATA WORKDIR [all.sh options...]
#   DATA      a dataset root (npz/), e.g. a tpugen --scale full tree
#   WORKDIR   scratch: WORKDIR/ssh (keys, configs, the sshd's log),
#             WORKDIR/out (all.sh --out), WORKDIR/report.txt
#   all.sh options: e.g. --collections ... --seeds 1,2 --set TRAIN_OPTS=...
#             (--budget none, --threads 1, --profile, --no-plots and the
#             --sshloginfile are given here)
# Environment: KILL_AFTER=S  the ssh host dies S seconds into the run (its
#             jobs fail with ssh's 255), then all.sh --resume-failed reruns
#             them on this machine alone; JOBS_LOCAL=1, JOBS_SSH=1: the jobs
#             per host.
# Needs openssh-server and openssh-client (tests/deps.sh installs them);
# /run/sshd is created when missing (root).  Nothing in ~/.ssh is read or
# written.
set -euo pipefail
PROG=cluster.sh
cd "$(dirname "$0")/.."
ROOT=$PWD
[ $# -ge 2 ] || { echo "usage: bench/cluster.sh DATA WORKDIR [all.sh options...]" >&2; exit 2; }
DATA=$1 W=$2
shift 2
KILL_AFTER=${KILL_AFTER:-}
JOBS_LOCAL=${JOBS_LOCAL:-1} JOBS_SSH=${JOBS_SSH:-1}
[ -d "$DATA/npz" ] || { echo "$PROG: no dataset at $DATA" >&2; exit 2; }
for c in /usr/sbin/sshd ssh ssh-keygen; do
	command -v "$c" >/dev/null || { echo "$PROG: $c is missing (make deps)" >&2; exit 3; }
done
mkdir -p "$W"
W=$(cd "$W" && pwd) DATA=$(cd "$DATA" && pwd)
make -s all >/dev/null
export PATH="$ROOT/bin:$PATH"
S=$W/ssh
rm -rf "$S" && mkdir -p "$S"
[ -d /run/sshd ] || mkdir -m 0755 /run/sshd
. "$ROOT/tests/tools/sshd-configs.sh"
sshd_keys "$S"
SSHD_PID=""

# start_sshd: the private sshd on a free loopback port; S/ssh_config points
# "tpuhost" at it
start_sshd() {
	local port i
	port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	sshd_configs "$S" "$port"
	/usr/sbin/sshd -D -E "$S/sshd.log" -f "$S/sshd_config" </dev/null >/dev/null 2>&1 &
	SSHD_PID=$!
	for i in $(seq 50); do
		grep -q "Server listening on 127.0.0.1 port $port" "$S/sshd.log" 2>/dev/null && break
		sleep 0.1
	done
	grep -q "Server listening on 127.0.0.1 port $port" "$S/sshd.log" ||
		{ echo "$PROG: sshd did not start" >&2; cat "$S/sshd.log" >&2; exit 3; }
	ssh -F "$S/ssh_config" tpuhost true
}

# kill_tree PID: PID and every process under it, KILL (a host that dies
# takes its processes with it)
kill_tree() {
	local k
	for k in $(pgrep -P "$1" 2>/dev/null || true); do kill_tree "$k"; done
	kill -KILL "$1" 2>/dev/null || true
}
stop_sshd() { [ -z "$SSHD_PID" ] || kill_tree "$SSHD_PID"; wait "$SSHD_PID" 2>/dev/null || true; SSHD_PID=""; }
trap stop_sshd EXIT

start_sshd
SSHLOGIN="ssh -F $S/ssh_config tpuhost"
printf '%s/:\n%s/%s\n' "$JOBS_LOCAL" "$JOBS_SSH" "$SSHLOGIN" > "$W/hosts"
printf '%s/:\n' "$JOBS_LOCAL" > "$W/hosts-left"
R=$W/report.txt
{
	echo "# bench/cluster.sh on $(date -u +%Y-%m-%d) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "# hosts: $JOBS_LOCAL job(s) on this machine (:), $JOBS_SSH through the private sshd (tpuhost)"
	echo "# all.sh --budget none --threads 1 --profile --no-plots --sshloginfile HOSTS $*"
} > "$R"
ALL=("$ROOT/pipelines/all.sh" --budget none --data "$DATA" --out "$W/out" --threads 1 --profile --no-plots "$@")
T0=$(date +%s)
set +e
if [ -n "$KILL_AFTER" ]; then
	# the ssh host dies KILL_AFTER seconds in: its sshd and every job under it
	( sleep "$KILL_AFTER"; echo "$PROG: the ssh host dies now ($(( $(date +%s) - T0 )) s in)" >&2; kill_tree "$SSHD_PID" ) &
	killer=$!
fi
"${ALL[@]}" --sshloginfile "$W/hosts" 2> "$W/run1.err"
rc1=$?
[ -z "$KILL_AFTER" ] || { kill "$killer" 2>/dev/null; wait "$killer" 2>/dev/null; }
T1=$(date +%s)
echo "first run: exit $rc1 in $(( T1 - T0 )) s" >> "$R"
cp "$W/out/joblog" "$W/joblog-run1"
if [ "$rc1" -ne 0 ]; then
	# the dead host's line goes; the jobs it lost run again on what is left
	"${ALL[@]}" --sshloginfile "$W/hosts-left" --resume-failed 2> "$W/run2.err"
	rc2=$?
	echo "--resume-failed on the hosts left: exit $rc2 in $(( $(date +%s) - T1 )) s" >> "$R"
fi
set -e
{
	echo
	echo "## The joblog (host, seconds, exit, signal, collection)"
	awk -F'\t' 'NR > 1 { n = split($9, w, " "); c = w[n]; gsub("\047", "", c)
		h = $2; if (h != ":") h = "tpuhost"
		printf "  job %-3s %-8s %8.1f s  exit %-3s signal %-2s %s\n", $1, h, $4, $7, $8, c }' "$W/out/joblog"
	echo
	echo "## The makespan from the measured job times (bench/makespan.sh)"
	bench/makespan.sh "$W/out/joblog"
	echo
	echo "## Every filter (all.sh --profile, OUT/profile.txt)"
	cat "$W/out/profile.txt" 2>/dev/null || echo "(no profile: the run did not finish)"
	echo
	cat "$W/out/scores-valid.txt" 2>/dev/null || true
} >> "$R"
cat "$R"
