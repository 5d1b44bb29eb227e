#!/bin/sh
# Install the Debian packages the project needs, only those missing.
# As root: apt-get install.  Otherwise: print the exact command to run.
PKGS="gcc make jq time libmsgpack-dev zlib1g-dev libisal-dev libopenblas-dev parallel bats bats-support bats-assert python3 python3-numpy python3-msgpack python3-scipy python3-networkx protobuf-compiler gnuplot-nox openssh-server clang-14 libclang-rt-14-dev valgrind"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 || { echo "deps: apt-get update failed" >&2; exit 3; }
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >&2 || { echo "deps: apt-get install failed" >&2; exit 3; }
else
	echo "deps: missing packages; run as root:" >&2
	echo "  apt-get install -y$missing" >&2
	exit 3
fi
