#!/bin/sh
# Table I/O benchmark: evalua.table against stock lua5.4 (a naive CSV
# splitter, lua-cjson for JSONL) and Python's csv / json modules, all on the
# same generated files in the same run. Prints rows/s and peak RSS.
#   contrib/bench/table/run.sh [ROWS]      (default 1000000; EVALUA_BIN=path)
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
ROWS=${1:-1000000}
BIN=${EVALUA_BIN:-$root/build/evalua}
[ -x "$BIN" ] || { echo "run.sh: $BIN not found (build first: make)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "run.sh: python3 needed" >&2; exit 2; }
command -v lua5.4 >/dev/null || { echo "run.sh: lua5.4 needed" >&2; exit 2; }
work=$(mktemp -d /tmp/evalua-bench-table.XXXXXX)
trap 'rm -rf "$work"' EXIT

python3 "$here/gen.py" "$ROWS" "$work/data.csv" "$work/data.jsonl"
echo "data: $ROWS rows x 5 columns; csv $(du -h "$work/data.csv" | cut -f1), jsonl $(du -h "$work/data.jsonl" | cut -f1); $(nproc) cores"
echo
printf '%-34s %12s %12s %12s\n' "reader / writer" "read rows/s" "write rows/s" "peak RSS MB"
run() { # label, command...
  label=$1; shift
  out=$("$@") || { printf '%-34s %s\n' "$label" "failed"; return; }
  set -- $out
  printf '%-34s %12s %12s %12s\n' "$label" "$1" "$2" "$3"
}
run "evalua read_csv/write_csv" "$BIN" "$here/bench.lua" csv "$work/data.csv" "$work/out.csv"
run "evalua read_jsonl/write_jsonl" "$BIN" "$here/bench.lua" jsonl "$work/data.jsonl" "$work/out.jsonl"
run "lua5.4 naive CSV split" lua5.4 "$here/naive.lua" csv "$work/data.csv" "$work/out2.csv"
run "lua5.4 + lua-cjson JSONL" lua5.4 "$here/naive.lua" jsonl "$work/data.jsonl" "$work/out2.jsonl"
run "python3 csv module" python3 "$here/py.py" csv "$work/data.csv" "$work/out3.csv"
run "python3 json module (JSONL)" python3 "$here/py.py" jsonl "$work/data.jsonl" "$work/out3.jsonl"
# the evalua outputs must read back to the same number of rows
"$BIN" -e "local T = require 'evalua.table'
assert(#T.read_csv('$work/out.csv') == $ROWS, 'csv round trip lost rows')
assert(#T.read_jsonl('$work/out.jsonl') == $ROWS, 'jsonl round trip lost rows')"
echo
echo "evalua keeps cells typed in C columns; lua5.4 and python3 build a list of"
echo "row tables/lists of strings (python's json: dicts of typed values)."
echo "rows/s are per CPU second (user+sys) of each process, so other load on a"
echo "shared machine does not skew the comparison; peak RSS is the process's VmHWM."
