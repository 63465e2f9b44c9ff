#!/bin/sh
# chromium.sh URL DOM LOG [SHOT]: loads URL in headless Chromium with a fresh
# profile and no network services, bounded by a timeout; writes the DOM after
# load (scripts run) to DOM, Chromium's log (console messages included) to
# LOG, and with SHOT a screenshot PNG of the window (CHROMIUM_WINDOW=W,H,
# default 1280,2000). Exit status is Chromium's,
# 124 on timeout, 127 without Chromium. Used by tests/lua/test_report.lua.
set -u
url=$1 dom=$2 log=$3 shot=${4:-}
bin=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$bin" ]; then
  echo "chromium.sh: chromium not found (contrib/install-deps.sh installs it)" >&2
  exit 127
fi
profile=$(mktemp -d /tmp/evalua-chromium.XXXXXX)
trap 'rm -rf "$profile"' EXIT
export HOME="$profile"
set -- --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --disable-default-apps --disable-extensions --no-default-browser-check \
  --user-data-dir="$profile/data" --enable-logging=stderr --v=0
# the window: CHROMIUM_WINDOW=WIDTH,HEIGHT (default 1280,2000)
win=${CHROMIUM_WINDOW:-1280,2000}
set -- "$@" --window-size="$win"
[ -n "$shot" ] && set -- "$@" --hide-scrollbars --screenshot="$shot"
timeout -k 5 60 "$bin" "$@" --dump-dom "$url" >"$dom" 2>"$log"
