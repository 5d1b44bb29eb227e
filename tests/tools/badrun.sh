#!/usr/bin/env bash
# badrun.sh ROLE FILE OUTDIR: run one filter role (tests/fixtures/bad/stream/
# EXPECTED lists them) on FILE with bounded time (timeout, 30 s) and memory
# (ulimit -v 4 GiB, not under ASan, which reserves terabytes of shadow),
# stdout to OUTDIR/out, stderr to OUTDIR/err.  Prints the filter's name and
# exits with its status (124 = timed out); 200 when the filter is not built.
# sage-predict uses the model SAGE_MODEL (tests/cli/bad-input.bats trains one).
set -u
role=$1 f=$2 o=$3
ok=$(cd "$(dirname "$0")/../fixtures/bad/stream" && pwd)
bin=${TPU_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/bin}
case $role in
	encode-base7-dedup) name=encode-base7; args=(--dedup "$f");;
	sage-train) name=sage-train; args=(-q -e 1 -t 1 --hidden 8 --layers 1 --out "$o/model" "$f");;
	sage-predict) name=sage-predict; args=(--model "${SAGE_MODEL:-$o/no-model}" "$f");;
	rank-eval-truth) name=rank-eval; args=(-t "$f" "$ok/ok-preds.mp");;
	rank-eval-pred) name=rank-eval; args=(-t "$ok/ok-graphs.mp" "$f");;
	*) name=$role; args=("$f");;
esac
echo "$name"
[ "$f" = --name ] && exit 0   # badrun.sh ROLE --name: the filter's name only
[ -x "$bin/$name" ] || exit 200
limit=()
if ! ldd "$bin/$name" 2>/dev/null | grep -q libasan; then
	limit=(ulimit -v 4194304 '&&')
fi
bash -c "${limit[*]} exec timeout -k 5 30 \"\$@\"" _ "$bin/$name" "${args[@]}" \
	<"$ok/ok-graphs.mp" >"$o/out" 2>"$o/err"
