#!/bin/sh
# report-demo: makes the report screenshots in docs/img/ (docs/plots.md
# links them). Runs the rag_faithfulness and compare_models walkthroughs
# against the loopback test server in a temporary directory, writes the
# reports, and has headless Chromium shoot them at 1400 px (desktop) and
# 390 px (phone) wide. Usage: sh contrib/report-demo/run.sh [BUILD_DIR]
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
out=$src/docs/img
mkdir -p "$out"
work=$(mktemp -d /tmp/evalua-report-demo.XXXXXX)
trap 'kill "$(cat "$work/pid" 2>/dev/null)" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
ln -s "$src/scripts" scripts
"$build/evalua-testserver" --port 0 --port-file port --pid-file pid --max-seconds 600 \
  --replies "$src/tests/data/scripts/replies.jsonl" >/dev/null 2>&1 &
for _ in $(seq 100); do [ -s port ] && break; sleep 0.1; done
export OPENAI_BASE_URL="http://127.0.0.1:$(cat port)/v1" OPENAI_API_KEY=sk-demo EVALUA_LUA_PATH=
ev() { "$build/evalua" --store demo.db --cache cache.db --quiet "$@"; }
ev scripts/rag_faithfulness.lua >/dev/null
rag=$(ev runs list --limit 1 | awk 'NR == 2 { print $1 }') # its built-in faithfulness run
ev scripts/compare_models.lua >/dev/null
ev report "$rag" -o run.html
ev report judge-gpt-4 judge-gpt-4o-mini -o compare.html
shot() { # page width height png
  timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --user-data-dir="$work/profile" --window-size="$2,$3" --screenshot="$out/$4" "file://$work/$1" 2>/dev/null
}
shot "run.html#open=1" 1400 1800 report-run-1400.png
shot "run.html#open=1" 390 2600 report-run-390.png
shot "compare.html#open=3" 1400 2400 report-compare-1400.png
shot "compare.html#open=3" 390 3600 report-compare-390.png
# the charts of the report, as PNGs
ev -e '
local plot = require "evalua.plot"
plot.gauges{ file = "'"$out"'/gauges.png",
  { value = 3.75, min = 1, max = 5, title = "answer relevance (judge: gpt-4o, 40 rows)" },
  { value = 0.0564, max = 1, title = "toxicity (mean)" },
  { value = 97.5, max = 100, title = "Non-toxicity %" } }
plot.histogram{ file = "'"$out"'/histogram.png", title = "How the rows scored, per metric",
  values = { faithfulness = { 5, 4, 4, 2, 5, 3 }, toxicity = { 0.01, 0.02, 0.09, 0.1, 0.03, 0.02 },
    flesch_kincaid_grade_level = { 5.2, 9.2, -2.7, 0.5, 7.1, 8 } } }
plot.compare{ file = "'"$out"'/compare.png", title = "Mean of each metric, A and B",
  runs = { "A: judge-gpt-4 (5858ac2e)", "B: judge-gpt-4o-mini (7b968c1a)" },
  metrics = { "cultural_sensitivity/v1/mean", "flesch_kincaid_grade_level/v1/mean", "toxicity/v1/mean" },
  values = { { 3.75, 3.05, 0.056 }, { 2.75, 3.05, 0.056 } },
  intervals = { { { 3.2, 4.2 } }, { { 2.0, 3.5 } } } }'
ls -l "$out"
