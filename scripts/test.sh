#!/usr/bin/env bash
# The README's test command: brings what the suite needs, then runs all of it.
#
#   bash scripts/test.sh [extra cargo test arguments]
#
# The suite runs qmkeys against the simulator on loopback, a real
# redis-server for the multi-instance tests, and headless Chromium through
# chromedriver for the web page (with a CJK font for its screenshots). Those
# come from Debian's packages: as root this script installs the missing ones
# with apt-get; otherwise it stops before building and prints the command.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
{ command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh | grep -q .; } || missing+=(fonts-noto-cjk)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing what the tests need: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "The tests need these Debian packages, which are not installed: ${missing[*]}" >&2
    echo "Install them, then run this script again:" >&2
    echo "" >&2
    echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# --no-fail-fast: a failing test binary must not hide the others' results.
exec cargo test --workspace --locked --no-fail-fast "$@"
