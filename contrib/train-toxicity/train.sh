#!/bin/sh
# Retrains engine/data/toxicity.bin exactly as committed (see docs/toxicity.md).
# Usage: contrib/train-toxicity/train.sh [BUILD_DIR] [SHARED_DATA_DIR]
# Needs the Debian packages base-files (common-licenses), vim-runtime (tutor)
# and gnupg-l10n (help texts): their sentences are the neutral, non-toxic
# examples (read at training time, never copied into the tree).
# DynaHate and Stormfront are only measured (their numbers go into the
# file's metadata); the model is never trained on them.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
data=${2:-$root/../shared/data}
set -- --neutral /usr/share/common-licenses
for f in /usr/share/vim/vim90/tutor/tutor*.utf-8 /usr/share/gnupg/help*.txt; do
  set -- "$@" --neutral "$f"
done
exec "$build/evalua-train-toxicity" train --seed 20240601 --epochs 8 --bits 20 --features 255 \
  --hate-weight 3 --implicit-weight 3 --identity-templates 1 \
  --davidson "$data/toxicity/davidson/labeled_data.csv" \
  --implicit-hate "$data/toxicity/implicit_hate/implicit_hate_v1_stg1_posts.tsv" \
  --stormfront "$data/toxicity/stormfront/stormfront.csv" \
  --dynahate "$data/toxicity/dynahate_eval/dev.csv" \
  --dynahate "$data/toxicity/dynahate_eval/test.csv" \
  --functional "$root/tests/data/toxicity/functional.tsv" \
  "$@" --out "$root/engine/data/toxicity.bin"
