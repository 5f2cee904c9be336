#!/usr/bin/env bash
# System packages the test suite runs for real: nginx (static deployment test), headless
# Chromium with its driver (operator page tests), and the PostgreSQL server binaries (the tests
# start their own throwaway server with initdb/pg_ctl, tests/pg.py; never a system service);
# and a C compiler with Python's headers, for roku_feed's C scanner (roku_feed/_locate.c).
# Installs them with apt-get when missing;
# without root it says what to install and fails, rather than letting tests skip.
#
# `system-deps.sh build` (run before the package is installed) sees to the compiler only, and
# without root only warns: the package installs without its C scanner, and is slower.
set -euo pipefail
need=()
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
"${PYTHON:-python3}" -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
  || need+=(python3-dev)
if [ "${1:-}" != build ]; then
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
  pg_bin="$(pg_config --bindir 2>/dev/null || true)"
  [ -x "$pg_bin/initdb" ] || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  if [ "${1:-}" = build ]; then
    echo "system-deps: no ${need[*]}: roku_feed installs without its C scanner, and places findings" \
      "more slowly (Debian: sudo apt-get install ${need[*]})" >&2
    exit 0
  fi
  echo "system-deps: missing ${need[*]}; install them (Debian: sudo apt-get install ${need[*]})" >&2
  exit 1
fi
echo "system-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
