#!/usr/bin/env bash
# collect.sh: assemble docs/benchmarks.md from the per-stage pages in
# docs/bench/ (each written by its bench/NAME.sh run).  Run after `make bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/benchmarks.md
# a page's headings one level down (not inside code fences)
demote() { awk '/^```/ { f = !f } !f && /^#/ { $0 = "#" $0 } { print }' "$1"; }
{
	cat <<'HEAD'
# Benchmarks

Every figure here was measured by a script in `bench/` that anyone can rerun
(`make bench` runs them all, then this page is rebuilt from the pages in
`docs/bench/` by `bench/collect.sh`).  Each section names its machine, its
command and the conditions (on the team's 2-core machines other jobs were
often running: the tools compared in one table were measured in the same run,
back to back).  Speed and memory targets are checked here, never by timed tests.

HEAD
	for f in generalization npz2mp tpugen fullscale reduce rank-eval sage arch variants pretrain hlo2mp torch-baseline; do
		[ -f "docs/bench/$f.md" ] || continue
		echo "---"
		echo
		demote "docs/bench/$f.md"
		echo
	done
	for f in docs/bench/*.md; do
		n=$(basename "$f" .md)
		case " generalization npz2mp tpugen fullscale reduce rank-eval sage arch variants pretrain hlo2mp torch-baseline " in *" $n "*) continue ;; esac
		echo "---"
		echo
		demote "$f"
		echo
	done
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "collect: wrote $out" >&2
