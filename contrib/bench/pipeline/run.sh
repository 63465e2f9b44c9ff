#!/bin/sh
# contrib/bench/pipeline/run.sh: the judged run a user executes, end to end.
# 1. 2,000 rows x (model + 2 judges) = 6,000 calls at 200 ms server latency,
#    --concurrency 256: the whole `evalua` process (evaluate with its store,
#    ledger, judges, parsing, aggregates) against the scheduler alone doing
#    the same calls (sched.lua) and the ideal (calls x latency / 256 =
#    4.69 s), in the same run.
# 2. Memory: ROWS x (model + 1 judge) at zero latency for each ROWS in
#    MEM_ROWS (default "1000 10000 100000"; add 1000000 on a quiet machine),
#    peak RSS of the process and KB per row above the smallest run.
# The machine's load average is printed: wall-clock figures move with it;
# cpu_s (the evalua process's own CPU time) moves less.
# Usage: contrib/bench/pipeline/run.sh [BUILD_DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-$root/build}
bin=$build/evalua
server=$build/evalua-testserver
[ -x "$bin" ] && [ -x "$server" ] || { echo "build first: cmake --build $build" >&2; exit 1; }
tmp=$(mktemp -d /tmp/evalua-bench-pipeline.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

start_server() { # latency_ms
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -f "$tmp/port"
  "$server" --port 0 --port-file "$tmp/port" --latency-ms "$1" --max-seconds 3600 &
  pid=$!
  i=0
  while [ ! -s "$tmp/port" ]; do i=$((i+1)); [ $i -gt 500 ] && { echo "server did not start" >&2; exit 1; }; sleep 0.01; done
  url="http://127.0.0.1:$(cat "$tmp/port")"
}
now() { date +%s.%N; }

rows=${ROWS:-2000}
echo "evalua pipeline benchmark, $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
start_server 200
calls=$((rows * 3))
ideal=$(echo "$calls * 0.2 / 256" | bc -l)
t0=$(now)
s=$("$bin" "$here/sched.lua" "$url" "$rows" 2 256)
t1=$(now)
e=$(cd "$tmp" && OPENAI_API_KEY=sk-bench OPENAI_BASE_URL="$url/v1" "$bin" --quiet --no-cache \
  --store "$tmp/run.db" --concurrency 256 "$here/eval.lua" "$rows" 2)
t2=$(now)
ws=$(echo "$t1 - $t0" | bc -l); we=$(echo "$t2 - $t1" | bc -l)
printf '%-34s %s\n' "ideal ($calls calls x 200 ms / 256)" "$(printf '%.2f s' "$ideal")"
printf '%-34s %s\n' "scheduler only (sched.lua)" "process $(printf '%.2f' "$ws") s ($(printf '%.1f' "$(echo "100 * $ideal / $ws" | bc -l)")% of ideal)  $s"
printf '%-34s %s\n' "evalua evaluate (eval.lua)" "process $(printf '%.2f' "$we") s ($(printf '%.1f' "$(echo "100 * $ideal / $we" | bc -l)")% of ideal)  $e"
echo "target: evaluate process >= 85% of ideal (<= 5.5 s), rss <= 60 MB; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

start_server 0
base=
for n in ${MEM_ROWS:-1000 10000 100000}; do
  rm -f "$tmp/mem.db"*
  out=$(cd "$tmp" && OPENAI_API_KEY=sk-bench OPENAI_BASE_URL="$url/v1" "$bin" --quiet --no-cache \
    --store "$tmp/mem.db" --concurrency 256 "$here/eval.lua" "$n" 1)
  rss=$(echo "$out" | sed -n 's/.*rss_mb=\([0-9.]*\).*/\1/p')
  [ -z "$base" ] && { base=$rss; base_n=$n; }
  per=$( [ "$n" -gt "$base_n" ] && echo "$(echo "($rss - $base) * 1024 / ($n - $base_n)" | bc -l)" || echo 0)
  printf '%-34s %s\n' "memory: $n rows x (model + judge)" "$out  $(printf '%.2f' "$per") KB/row above $base_n rows"
done
echo "targets: <= 0.5 KB per row above the base, 100,000 rows <= 110 MB peak; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
