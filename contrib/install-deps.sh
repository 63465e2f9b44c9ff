#!/bin/sh
# Installs the Debian packages evalua needs to build and run (and, with
# --test, to run its tests); a no-op when they are all present. Needs root
# (or sudo) only when something is missing.
#   contrib/install-deps.sh [--test]
set -e
PKGS="cmake make gcc lua5.4 liblua5.4-dev lua-cjson-dev lua-filesystem-dev libcurl4-openssl-dev
libplplot-dev plplot-driver-cairo libsqlite3-dev sqlite3 hyphen-en-us libopenblas-dev
fonts-dejavu-core"
# the tests also need: curl (the test server kit), python3 with numpy and regex (the
# RoBERTa reference, a fake MLflow server), Chromium (the report), Slurm and munge (a
# one-node cluster for the job-array test, skipped where its daemons cannot start)
[ "${1:-}" = "--test" ] && PKGS="$PKGS curl python3 python3-numpy python3-regex chromium
slurmctld slurmd slurm-client munge"
# --regen: what regenerates committed reference values (tests/data/agreement/gen_expected.py)
[ "${1:-}" = "--regen" ] && PKGS="$PKGS python3 python3-scipy python3-sklearn"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
