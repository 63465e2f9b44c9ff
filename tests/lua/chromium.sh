#!/bin/sh
# chromium.sh dom|shot URL OUT LOG: loads URL in headless Chromium with a
# fresh profile and no network services, bounded by a timeout.
#   dom   writes the DOM after load (scripts run) to OUT
#   shot  writes a 1280x2000 screenshot PNG to OUT
# Chromium's log (console messages included) goes to LOG. Exit status is
# Chromium's, or 124 on timeout. Used by tests/lua/test_report.lua.
set -u
mode=$1 url=$2 out=$3 log=$4
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
case "$mode" in
  dom) timeout -k 5 60 "$bin" "$@" --dump-dom "$url" >"$out" 2>"$log" ;;
  shot) timeout -k 5 60 "$bin" "$@" --hide-scrollbars --window-size=1280,2000 \
          --screenshot="$out" "$url" >/dev/null 2>"$log" ;;
  *) echo "chromium.sh: unknown mode '$mode'" >&2; exit 2 ;;
esac
