#!/bin/sh
# Sandbox overhead benchmark: one metric pack run trusted and untrusted over
# N rows (default 200000) in the same process; prints rows/s and the ratio.
#   contrib/bench/sandbox/run.sh [N]     (EVALUA_BIN=path)
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
BIN=${EVALUA_BIN:-$root/build/evalua}
[ -x "$BIN" ] || { echo "run.sh: $BIN not found (build first: make)" >&2; exit 2; }
echo "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
cd "$(mktemp -d /tmp/evalua-bench-sandbox.XXXXXX)"
"$BIN" --store ./evalua.db --quiet "$here/bench.lua" "${1:-200000}"
