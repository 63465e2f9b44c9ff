#!/bin/sh
# contrib/bench/models/run.sh: what the model adapters and the response cache
# cost on top of the bare HTTP engine. ROWS calls against the loopback test
# server at zero latency, one line per case, all in this run:
#   raw          evalua.http.request with a hand-built body (the floor)
#   no cache     evalua.openai.model:predict with --no-cache
#   cold cache   the same, every answer written to a fresh cache file
#   warm cache   the same again: every answer replayed, nothing sent
#   offline      warm cache with --offline
# cpu_us_per_row is the client's own CPU time per row (the figure that
# does not depend on how busy the machine is).
# Usage: contrib/bench/models/run.sh [BUILD_DIR] [ROWS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-$root/build}
rows=${2:-10000}
bin=$build/evalua
server=$build/evalua-testserver
[ -x "$bin" ] && [ -x "$server" ] || { echo "build first: cmake --build $build" >&2; exit 1; }
tmp=$(mktemp -d /tmp/evalua-bench-models.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
"$server" --port 0 --port-file "$tmp/port" --max-seconds 600 &
pid=$!
i=0
while [ ! -s "$tmp/port" ]; do i=$((i+1)); [ $i -gt 500 ] && { echo "server did not start" >&2; exit 1; }; sleep 0.01; done
export OPENAI_BASE_URL="http://127.0.0.1:$(cat "$tmp/port")/v1" OPENAI_API_KEY=sk-bench HOME="$tmp"
echo "evalua models/cache benchmark: $rows rows, load: $(cut -d' ' -f1-3 /proc/loadavg)"
run() { # name, flags...
  name=$1; shift
  printf '%-12s %s\n' "$name" "$("$bin" "$@" 2>&1 | tr '\n' ' ')"
}
run "raw" --no-cache "$here/bench.lua" raw "$rows"
run "no cache" --no-cache "$here/bench.lua" adapter "$rows"
run "cold cache" --cache "$tmp/cache.db" "$here/bench.lua" adapter "$rows"
run "warm cache" --cache "$tmp/cache.db" "$here/bench.lua" adapter "$rows"
run "offline" --cache "$tmp/cache.db" --offline "$here/bench.lua" adapter "$rows"
echo "cache file: $(du -k "$tmp/cache.db" | cut -f1) KiB for $rows answers"
