#!/bin/sh
# Toxicity throughput on this machine, one core (taskset -c 0):
#   the embedded classifier (short texts, one C call per column and one call
#   per text), and a roberta-base-sized RoBERTa with random weights (12 layers,
#   hidden 768, intermediate 3072, vocab 50265) written to a temp dir.
# Usage: contrib/bench/toxicity/run.sh [BUILD_DIR]   (ROBERTA=0 skips RoBERTa)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-$root/build}
cd "$root"
exec taskset -c 0 "$build/evalua" "$here/bench.lua"
