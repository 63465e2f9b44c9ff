#!/bin/sh
# Text metrics benchmark: evalua's readability, ROUGE, exact match and
# retrieval metrics over N texts (default 100000), next to the same metrics
# computed the way MLflow's Python stack does (see py_ref.py), measured in
# the same run on the first PY_N texts (default 10000; Python is slow).
# Prints texts/s per metric, the speed-up, and whether the score sums agree.
#   contrib/bench/text/run.sh [N]     (EVALUA_BIN=path, PY_N=count,
#                                      TEXTSTAT_SRC=textstat-0.7.3 checkout)
# Needs /usr/bin/python3 with python3-pyphen (and python3-nltk,
# python3-sklearn for the stemmer and ndcg rows).
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
N=${1:-100000}
PY_N=${PY_N:-10000}
BIN=${EVALUA_BIN:-$root/build/evalua}
PY=${PYTHON:-/usr/bin/python3}
[ -x "$BIN" ] || { echo "run.sh: $BIN not found (build first: make)" >&2; exit 2; }
work=$(mktemp -d /tmp/evalua-bench-text.XXXXXX)
trap 'rm -rf "$work"' EXIT

"$PY" "$here/gen.py" "$N" "$work"
head -n "$PY_N" "$work/preds.txt" > "$work/p.txt"
echo "data: $N prediction/target pairs ($(du -h "$work/preds.txt" | cut -f1) of predictions), $N retrieval rows; $(nproc) cores"
"$BIN" "$here/bench.lua" "$work" > "$work/evalua.out"
# the same evalua run on the Python subset, for the checksum comparison
mkdir "$work/sub"
for f in preds.txt targets.txt retrieved.jsonl relevant.jsonl; do head -n "$PY_N" "$work/$f" > "$work/sub/$f"; done
"$BIN" "$here/bench.lua" "$work/sub" > "$work/evalua_sub.out"
if "$PY" -c 'import pyphen' 2>/dev/null; then
  "$PY" "$here/py_ref.py" "$work" "$PY_N" > "$work/py.out"
else
  echo "(python3-pyphen missing: no Python comparison)"; : > "$work/py.out"
fi
label=$(sed -n 's/^label //p' "$work/py.out")
echo "python reference: ${label:-none} on the first $PY_N texts"
echo
printf '%-28s %14s %14s %9s %s\n' metric "evalua texts/s" "python texts/s" speed-up "scores (first $PY_N)"
while read -r name rate sum; do
  py=$(awk -v n="$name" '$1 == n { print $2, $3 }' "$work/py.out")
  sub=$(awk -v n="$name" '$1 == n { print $3 }' "$work/evalua_sub.out")
  if [ -n "$py" ]; then
    set -- $py
    awk -v name="$name" -v r="$rate" -v pr="$1" -v ps="$2" -v es="$sub" 'BEGIN {
      d = es - ps; if (d < 0) d = -d; s = ps < 0 ? -ps : ps; if (s < 1) s = 1
      printf "%-28s %14d %14d %8.1fx %s\n", name, r, pr, r / pr, (d / s < 1e-9 ? "same" : "DIFFER: " es " vs " ps) }'
  else
    printf '%-28s %14d %14s %9s\n' "$name" "$rate" "-" "-"
  fi
done < "$work/evalua.out"
