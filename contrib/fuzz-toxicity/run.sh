#!/bin/sh
# Runs the toxicity fuzz target for SECONDS (default 60) in build-fuzz-toxicity.
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-60}
cmake -S . -B build-fuzz-toxicity -DCMAKE_C_COMPILER=clang -DEVALUA_FUZZ=ON >/dev/null
cmake --build build-fuzz-toxicity -j 2 --target fuzz_toxicity
mkdir -p build-fuzz-toxicity/corpus
cp contrib/fuzz-toxicity/seeds/* build-fuzz-toxicity/corpus/ 2>/dev/null || true
build-fuzz-toxicity/contrib/fuzz-toxicity/fuzz_toxicity -max_total_time="$secs" -max_len=4096 \
  build-fuzz-toxicity/corpus
