#!/bin/sh
# contrib/bench/store/run.sh: the run store's per-row writes and the paired
# bootstrap, each beside a Python baseline measured in the same run.
# 1. ROWS judge-like cells ({score, justification}) written one per
#    transaction with evalua's run:put_cell, then in one transaction with
#    run:put_cells, and read back with run:cells; Python's sqlite3 doing the
#    same per-row INSERT + COMMIT of json.dumps text (WAL, synchronous=NORMAL).
# 2. The paired bootstrap (B = 2000) over N differences: evalua's C loop
#    against numpy (rng.integers(0, n, (B, n)), then means and percentiles).
# CPU time (user+sys) is printed next to wall time: the machine may be busy.
# Usage: contrib/bench/store/run.sh [BUILD_DIR] [ROWS] [N]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-$root/build}
rows=${2:-20000}
n=${3:-10000}
bin=$build/evalua
[ -x "$bin" ] || { echo "build first: cmake --build $build" >&2; exit 1; }
tmp=$(mktemp -d /tmp/evalua-bench-store.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
echo "evalua store benchmark: $rows cells, bootstrap over $n rows, load: $(cut -d' ' -f1-3 /proc/loadavg)"

"$bin" --store "$tmp/e.db" -e '
local t = require "evalua.tracking"
local core = require "evalua.core"
local rows, n = '"$rows"', '"$n"'
local function cpu() return os.clock() end
local run = t.start_run{}
local function measure(label, f)
  local w, c = core.clock(), cpu()
  f()
  w, c = core.clock() - w, cpu() - c
  print(string.format("%-34s %8.1f us/row wall %8.1f us/row cpu", label, w / rows * 1e6, c / rows * 1e6))
end
local function cell(i) return { score = i % 5 + 1, justification = "the answer follows the context, row " .. i } end
measure("evalua put_cell (1 tx per row)", function() for i = 1, rows do run:put_cell("judge", i, cell(i)) end end)
local all = { n = rows }
for i = 1, rows do all[i] = cell(i) end
measure("evalua put_cells (1 tx)", function() run:put_cells("judge2", all) end)
measure("evalua cells() read back", function() local c = run:cells("judge") assert(c[rows].score) end)
run:finish()
local diffs = {}
for i = 1, n do diffs[i] = (i * 7919 % 5) - 2 end
local w, c = core.clock(), cpu()
local r = require("evalua.stats").paired_bootstrap(diffs)
print(string.format("%-34s %8.1f ms wall %8.1f ms cpu  [%.4f, %.4f]", "evalua paired bootstrap B=2000",
  (core.clock() - w) * 1e3, (cpu() - c) * 1e3, r.lo, r.hi))
'

py=python3; [ -x /usr/bin/python3 ] && py=/usr/bin/python3 # Debian's python3-numpy lives there
"$py" - "$tmp/p.db" "$rows" "$n" <<'PY'
import json, sqlite3, sys, time
path, rows, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL")
db.execute("CREATE TABLE cells(run_id TEXT, key TEXT, row INTEGER, kind TEXT, value, PRIMARY KEY(run_id, key, row)) WITHOUT ROWID")
w, c = time.perf_counter(), time.process_time()
for i in range(1, rows + 1):
    db.execute("BEGIN")
    db.execute("INSERT OR REPLACE INTO cells VALUES (?,?,?,?,?)", ("r", "judge", i, "j",
               json.dumps({"score": i % 5 + 1, "justification": "the answer follows the context, row %d" % i})))
    db.execute("COMMIT")
w, c = time.perf_counter() - w, time.process_time() - c
print("%-34s %8.1f us/row wall %8.1f us/row cpu" % ("python sqlite3 (1 tx per row)", w / rows * 1e6, c / rows * 1e6))
try:
    import numpy as np
    d = np.array([(i * 7919 % 5) - 2 for i in range(1, n + 1)], dtype=float)
    w, c = time.perf_counter(), time.process_time()
    rng = np.random.default_rng(42)
    idx = rng.integers(0, n, size=(2000, n))
    means = d[idx].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    print("%-34s %8.1f ms wall %8.1f ms cpu  [%.4f, %.4f]" % ("numpy paired bootstrap B=2000",
          (time.perf_counter() - w) * 1e3, (time.process_time() - c) * 1e3, lo, hi))
except ImportError:
    print("numpy not installed: no bootstrap baseline")
PY
