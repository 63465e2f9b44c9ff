#!/bin/sh
# vectors.sh: regenerates tests/data/tokenize/*.tsv with npm tiktoken@1.0.22
# as the reference (installs the packages of package.json here first).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
[ -d "$here/node_modules/tiktoken" ] || (cd "$here" && npm install --silent --no-audit --no-fund)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent gpt-tokenizer@4.0.0 >/dev/null && tar xzf gpt-tokenizer-4.0.0.tgz package/data/TestPlans.txt)
node "$root/tests/data/tokenize/gen_vectors.mjs" "$here" "$tmp/package/data/TestPlans.txt" "$root/tests/data/tokenize"
