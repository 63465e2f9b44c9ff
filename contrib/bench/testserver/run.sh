#!/bin/sh
# contrib/bench/testserver/run.sh: how many requests/s evalua-testserver
# answers at zero latency on one core (it is single-threaded), driven by a
# small closed-loop keep-alive load generator (loadgen.c, built here). The
# server's own CPU time gives its one-core rate (req_per_server_cpu_s), which
# holds even when the machine is busy; the target is well over 10,000.
# Usage: contrib/bench/testserver/run.sh [BUILD_DIR] [REQUESTS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-$root/build}
n=${2:-200000}
server=$build/evalua-testserver
[ -x "$server" ] || { echo "build first: cmake --build $build" >&2; exit 1; }
tmp=$(mktemp -d /tmp/evalua-bench-ts.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
cc -O2 -o "$tmp/loadgen" "$here/loadgen.c"
echo "evalua-testserver benchmark: $n requests, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for conns in 16 128; do
  rm -f "$tmp/port"
  "$server" --port 0 --port-file "$tmp/port" --max-seconds 300 &
  pid=$!
  while [ ! -s "$tmp/port" ]; do sleep 0.01; done
  out=$("$tmp/loadgen" "$(cat "$tmp/port")" "$conns" "$n")
  # utime + stime of the server, in clock ticks (fields 14 and 15)
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  hz=$(getconf CLK_TCK)
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  cpu=$(echo "$ticks $hz" | awk '{printf "%.2f", $1 / $2}')
  rate=$(echo "$n $ticks $hz" | awk '{ if ($2 > 0) printf "%.0f", $1 / ($2 / $3); else print "inf" }')
  echo "$out server_cpu_s=$cpu req_per_server_cpu_s=$rate"
done
