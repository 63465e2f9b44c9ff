#!/bin/sh
# evalua's RoBERTa against Debian's python3-torch on the same random
# roberta-base-sized weights and the same token ids: texts of 20 and of 256
# ids, 1 thread (both pinned to core 0) and 2 threads, several batch sizes.
# Each evalua run is followed at once by the matching torch run, so both see
# the same machine load. Bench only (needs python3-torch; not a test).
# Usage: contrib/bench/toxicity/roberta_vs_torch.sh [BUILD_DIR]
#   ROBERTA_DIR=DIR reuses a model written by tests/roberta_ref.py --big
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-$root/build}
cd "$root"
py=/usr/bin/python3; [ -x "$py" ] || py=python3
tmp=$(mktemp -d /tmp/evalua-bench-torch.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
dir=${ROBERTA_DIR:-}
if [ -z "$dir" ]; then
  "$py" tests/roberta_ref.py "$tmp/m" --big
  dir=$tmp/m/f32
fi
"$py" -c 'import torch; print("torch", torch.__version__, "BLAS_INFO=" + torch.__config__.show().split("BLAS_INFO=")[1].split(",")[0])'
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
# SPECS="TOKENS TEXTS BATCHES;..." (default below), THREADS="1 2"
echo "${SPECS:-20 64 1,8,32;256 16 1,8}" | tr ';' '\n' | while read -r ntok count batches; do
  for threads in ${THREADS:-1 2}; do
    pin=""; [ "$threads" = 1 ] && pin="taskset -c 0"
    ROBERTA_DIR=$dir ROBERTA_THREADS=$threads ROBERTA_TOKENS=$ntok ROBERTA_TEXTS=$count \
      ROBERTA_BATCHES=$batches ROBERTA_IDS=$tmp/ids.json $pin "$build/evalua" "$here/roberta_speed.lua"
    $pin "$py" "$here/roberta_torch.py" "$dir" "$tmp/ids.json" "$threads" "$batches"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
