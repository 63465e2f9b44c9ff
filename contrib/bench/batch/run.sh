#!/bin/sh
# contrib/bench/batch/run.sh: one evaluation of ROWS rows (a model and a
# judge: 2 x ROWS calls) through the batch path (--batch) against the loopback
# test server's OpenAI Batch endpoints, beside the same rows sent directly
# (POST /chat/completions, --concurrency 32) when DIRECT=1. Prints wall and
# CPU time, peak RSS, the store size, and what crossed the wire: files,
# bytes, batches, polls, downloads and HTTP requests.
# The batch server answers each batch BATCH_MS after it is created and fails
# FAIL_RATE of the lines once (they go into a retry batch).
# Usage: contrib/bench/batch/run.sh [BUILD_DIR] [ROWS] [BATCH_MS] [FAIL_RATE]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-$root/build}
rows=${2:-100000}
batch_ms=${3:-2000}
fail=${4:-0.01}
bin=$build/evalua
ts=$build/evalua-testserver
[ -x "$bin" ] && [ -x "$ts" ] || { echo "build first: cmake --build $build" >&2; exit 1; }
tmp=$(mktemp -d /tmp/evalua-bench-batch.XXXXXX)
cleanup() { [ -f "$tmp/pid" ] && kill "$(cat "$tmp/pid")" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
"$ts" --port 0 --port-file "$tmp/port" --pid-file "$tmp/pid" --batch-ms "$batch_ms" \
  --batch-fail-rate "$fail" --max-seconds 3600 >/dev/null 2>&1 &
for _ in $(seq 1 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$tmp/port")"
echo "evalua batch benchmark: $rows rows (model + judge), batch-ms $batch_ms, fail rate $fail, $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"

measure() { # label, store, flags...
  label=$1 store=$2
  shift 2
  curl -s -X POST "$url/reset" >/dev/null
  ROWS=$rows OPENAI_API_KEY=bench-key OPENAI_BASE_URL="$url/v1" EVALUA_BATCH_POLL_S=0.5 \
    EVALUA_BATCH_POLL_MAX_S=5 /usr/bin/time -f "%e %U %S %M" -o "$tmp/time" \
    "$bin" --no-cache --store "$store" "$@" "$here/eval.lua" > "$tmp/out" 2> "$tmp/err" || {
      echo "$label: failed"; tail -n 5 "$tmp/err"; exit 1; }
  read -r wall user sys rss < "$tmp/time"
  stats=$(curl -s "$url/stats")
  bstats=$(curl -s "$url/batch-stats")
  direct=$(echo "$stats" | sed -n 's/^{"requests":\([0-9]*\).*/\1/p')
  other=$(echo "$stats" | sed -n 's/.*"other_requests":\([0-9]*\).*/\1/p')
  field() { echo "$bstats" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
  printf '%-8s wall %7.1f s  cpu %6.1f s  peak RSS %5d MB  store %5d MB  | %s\n' "$label" "$wall" \
    "$(echo "$user + $sys" | bc)" $((rss / 1024)) $(( $(stat -c %s "$store") / 1048576 )) "$(cat "$tmp/out")"
  printf '         HTTP requests: %d chat + %d batch API (%d files uploaded, %d MB, %d batches, %d polls, %d downloads; %d lines, %d failed once, largest file %d lines)\n' \
    "$direct" "$(field requests)" "$(field uploads)" $(( $(field upload_bytes) / 1048576 )) "$(field batches)" \
    "$(field polls)" "$(field downloads)" "$(field lines)" "$(field failed_lines)" "$(field max_lines)"
  grep -c "submitted" "$tmp/err" | sed 's/^/         batches submitted (progress lines): /'
}
measure batch "$tmp/batch.db" --batch
[ "${DIRECT:-0}" = 1 ] && measure direct "$tmp/direct.db" --concurrency 32
exit 0
