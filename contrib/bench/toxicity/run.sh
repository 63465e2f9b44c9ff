#!/bin/sh
# Toxicity throughput on this machine, measured in one run:
#   the embedded classifier on one core (taskset -c 0), short texts, one C
#   call per column and one call per text; then a roberta-base-sized RoBERTa
#   with random weights (12 layers, hidden 768, intermediate 3072, vocab
#   50265; written by tests/roberta_ref.py --big to a temp dir, removed at
#   exit) on the same kind of texts, on one core and on every core.
# Usage: contrib/bench/toxicity/run.sh [BUILD_DIR]   (ROBERTA=0 skips RoBERTa)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-$root/build}
cd "$root"
taskset -c 0 "$build/evalua" "$here/bench.lua"
[ "${ROBERTA:-1}" = 0 ] && exit 0
tmp=$(mktemp -d /tmp/evalua-bench-roberta.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3; [ -x "$py" ] || py=python3
"$py" tests/roberta_ref.py "$tmp" --big
ROBERTA_DIR="$tmp/f32" ROBERTA_THREADS=1 taskset -c 0 "$build/evalua" "$here/bench.lua"
ROBERTA_DIR="$tmp/f32" ROBERTA_THREADS=$(nproc) "$build/evalua" "$here/bench.lua"
