#!/bin/sh
# run.sh [BYTES] [REPEAT]: token counting speed, single thread, in one run:
# evalua's C tokenizer against npm tiktoken@1.0.22 (OpenAI's Rust core
# built to wasm) and gpt-tokenizer@4.0.0 (pure JS) on the same corpus (a few
# MB of English licences, C code and multilingual lines; make_corpus.lua).
# Prints MB/s (best of REPEAT, wall clock and CPU time), the ratios to npm
# tiktoken, and checks that the token counts agree.
# EVALUA_BIN selects the binary (default build/evalua); needs node and npm.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin=${EVALUA_BIN:-$root/build/evalua}
bytes=${1:-4000000}
rep=${2:-3}
[ -x "$bin" ] || { echo "run.sh: no evalua binary at $bin (make, or set EVALUA_BIN)" >&2; exit 2; }
[ -d "$here/node_modules/tiktoken" ] && [ -d "$here/node_modules/gpt-tokenizer" ] ||
  (cd "$here" && npm install --silent --no-audit --no-fund)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" "$here/make_corpus.lua" "$tmp/corpus.txt" "$bytes"
"$bin" "$here/bench.lua" "$tmp/corpus.txt" "$rep" > "$tmp/evalua.jsonl"
node "$here/bench.js" "$tmp/corpus.txt" "$rep" > "$tmp/node.jsonl"
cat "$tmp/evalua.jsonl" "$tmp/node.jsonl" | "$bin" "$here/report.lua"
