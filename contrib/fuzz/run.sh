#!/bin/sh
# Runs the libFuzzer targets for the table readers and the judge-answer
# parser, each for SECONDS (default 60): configures a clang build in
# build-fuzz/ (EVALUA_FUZZ=ON), builds fuzz_csv, fuzz_json and fuzz_judge, and
# runs them on a copy of the committed seed corpus. Exits non-zero when a
# target finds a crash.
#   contrib/fuzz/run.sh [SECONDS]   (needs clang and libclang-rt-14-dev;
#                                    installed with apt-get when root)
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-60}
build=${EVALUA_FUZZ_BUILD:-$root/build-fuzz}
# only the fuzz run needs clang and its fuzzer/ASan runtime, so they are
# installed here, not by install-deps.sh
have_runtime() {
  command -v clang >/dev/null &&
    [ -f "$(clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer-x86_64.a" ]
}
if ! have_runtime; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "fuzz: installing clang and libclang-rt-14-dev" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      clang libclang-rt-14-dev >&2
  fi
  have_runtime || { echo "fuzz: clang with its fuzzer runtime not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
fi
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DEVALUA_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" --target fuzz_csv fuzz_json fuzz_judge -j "$(nproc 2>/dev/null || echo 2)"
work=$(mktemp -d /tmp/evalua-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
status=0
for t in csv json judge; do
  mkdir -p "$work/$t" "$work/$t-artifacts"
  cp "$here/corpus/$t/"* "$work/$t/"
  echo "fuzz: fuzz_$t for ${secs}s"
  if ! "$build/contrib/fuzz/fuzz_$t" -max_total_time="$secs" -max_len=4096 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/$t-artifacts/" \
      "$work/$t" >"$work/$t.log" 2>&1; then
    tail -40 "$work/$t.log" >&2
    mkdir -p "$root/build-fuzz/crashes"
    cp "$work/$t-artifacts/"* "$root/build-fuzz/crashes/" 2>/dev/null || true
    echo "fuzz: fuzz_$t FAILED; inputs saved in build-fuzz/crashes/" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$work/$t.log" | tail -1
  fi
done
exit $status
