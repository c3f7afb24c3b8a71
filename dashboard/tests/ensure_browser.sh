#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the dashboard's browser tests (no browser download:
# Playwright drives this system binary). Exit 0 when /usr/bin/chromium is there (or was installed),
# 3 when it is missing and apt-get cannot install it here (not Debian, or not root and no sudo).
set -euo pipefail
BROWSER=/usr/bin/chromium
if [ -x "$BROWSER" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_browser: apt-get is not available; install Debian's chromium by hand" >&2
  exit 3
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "ensure_browser: not root and no password-less sudo; cannot apt-get install chromium" >&2
    exit 3
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
test -x "$BROWSER"
