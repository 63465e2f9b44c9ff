#!/bin/sh
# Agreement statistics with bootstrap intervals: evalua.stats.agreement (all
# eight statistics per resample, O(n + k^2) each from category counts, Kendall
# by a Fenwick tree) against sklearn/scipy called in a resampling loop, on the
# same sizes in the same run.
#   contrib/bench/agreement/run.sh [B]     (default 2000 resamples; EVALUA_BIN=path)
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
B=${1:-2000}
BIN=${EVALUA_BIN:-$root/build/evalua}
[ -x "$BIN" ] || { echo "run.sh: $BIN not found (build first)" >&2; exit 2; }
PY=/usr/bin/python3
echo "agreement, $B resamples; load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
for n in 100 1000 10000; do
  printf 'n=%-6s evalua         %s\n' "$n" "$("$BIN" "$here/bench.lua" "$n" "$B")"
  if $PY -c "import scipy, sklearn" 2>/dev/null; then
    printf 'n=%-6s sklearn+scipy  %s\n' "$n" "$($PY "$here/py.py" "$n" "$B")"
  else
    printf 'n=%-6s sklearn+scipy  (not installed: contrib/install-deps.sh --regen)\n' "$n"
  fi
done
