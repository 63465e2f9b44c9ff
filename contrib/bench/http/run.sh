#!/bin/sh
# contrib/bench/http/run.sh: evalua's scheduler and transfers against the
# loopback test server. 10,000 rows x 2 sequential calls (model, then judge)
# with 50 ms server latency at concurrency 64 and 256, compared with the
# ideal throughput (concurrency / latency); then requests/s at zero latency;
# peak RSS of the evalua process. evalua is single-threaded: req_per_cpu_s
# (requests per second of the client's own CPU time) is its rate on one
# dedicated core; req_per_s is wall clock and suffers on a busy machine.
# PIN=1 pins the client to CPU 0 and the server to CPU 1.
# Usage: contrib/bench/http/run.sh [BUILD_DIR] [ROWS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-$root/build}
rows=${2:-10000}
bin=$build/evalua
server=$build/evalua-testserver
[ -x "$bin" ] && [ -x "$server" ] || { echo "build first: cmake --build $build" >&2; exit 1; }
tmp=$(mktemp -d /tmp/evalua-bench-http.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
cpus=$(nproc)
pin_client=; pin_server=
if [ "${PIN:-0}" = 1 ] && [ "$cpus" -ge 2 ] && command -v taskset >/dev/null; then pin_client="taskset -c 0"; pin_server="taskset -c 1"; fi

start_server() { # latency_ms
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -f "$tmp/port"
  $pin_server "$server" --port 0 --port-file "$tmp/port" --latency-ms "$1" --max-seconds 600 &
  pid=$!
  i=0
  while [ ! -s "$tmp/port" ]; do i=$((i+1)); [ $i -gt 500 ] && { echo "server did not start" >&2; exit 1; }; sleep 0.01; done
  url="http://127.0.0.1:$(cat "$tmp/port")"
}

echo "evalua http benchmark: $rows rows x 2 calls, client pinned: ${pin_client:-no}, load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s %s\n' "case" "figures"
start_server 50
for c in 64 256; do
  out=$($pin_client "$bin" "$here/bench.lua" "$url" "$rows" "$c" 50 2>&1 | tr '\n' ' ')
  printf '%-28s %s\n' "latency 50ms, conc $c" "$out"
done
start_server 0
for c in 64 256; do
  out=$($pin_client "$bin" "$here/bench.lua" "$url" "$rows" "$c" 0 2>&1 | tr '\n' ' ')
  printf '%-28s %s\n' "latency 0, conc $c" "$out"
done
echo "targets: pct_ideal >= 90 at conc 256; >= 5000 req/s at latency 0 on one core (req_per_cpu_s); rss_mb < 50"
