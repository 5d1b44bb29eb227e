# shellcheck shell=bash
# tests/tools/sshd-configs.sh: the configs of a private sshd on a loopback
# port, run as the current user with throwaway keys, and of the ssh client
# that reaches it as host "tpuhost" (nothing in ~/.ssh is read or written).
# Sourced by tests/cli/cluster.bats and bench/cluster.sh.
#   sshd_configs DIR PORT   writes DIR/sshd_config and DIR/ssh_config; the
#                           keys are DIR/host_key and DIR/client_key,
#                           DIR/authorized_keys and DIR/known_hosts (as
#                           sshd_keys makes them); the sshd's pid file
#                           DIR/sshd.pid
#   sshd_keys DIR           makes those keys (ed25519, no passphrase)

sshd_keys() {
	local S=$1
	ssh-keygen -q -t ed25519 -N '' -C throwaway-host -f "$S/host_key"
	ssh-keygen -q -t ed25519 -N '' -C throwaway-client -f "$S/client_key"
	cp "$S/client_key.pub" "$S/authorized_keys"
	# the client trusts exactly the throwaway host key
	printf 'tpuhost %s\n' "$(cut -d' ' -f1,2 "$S/host_key.pub")" > "$S/known_hosts"
}

sshd_configs() {
	local S=$1 port=$2
	cat > "$S/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $S/host_key
PidFile $S/sshd.pid
AuthorizedKeysFile $S/authorized_keys
# the temporary directories are under the world-writable /tmp
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $(id -un)
AllowTcpForwarding no
X11Forwarding no
UseDNS no
PrintMotd no
PrintLastLog no
# GNU parallel opens one connection per job, several at once
MaxStartups 100
LogLevel VERBOSE
EOF
	cat > "$S/ssh_config" <<EOF
Host tpuhost
	HostName 127.0.0.1
	Port $port
	User $(id -un)
	IdentityFile $S/client_key
	IdentitiesOnly yes
	HostKeyAlias tpuhost
	UserKnownHostsFile $S/known_hosts
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	BatchMode yes
	LogLevel ERROR
EOF
}
