#!/usr/bin/env bash
# Runs a command with a headless Chromium for the /docs browser test.
#
# Uses KEYGATE_CHROMIUM or Debian's /usr/bin/chromium; when neither is there, installs Debian's
# `chromium` package (as root, or through sudo without a password). When that is impossible it
# fails, saying why: a test that cannot run is never reported as passed or quietly skipped.
set -euo pipefail

have_chromium() {
  [ -n "${KEYGATE_CHROMIUM:-}" ] && [ -x "$KEYGATE_CHROMIUM" ] && return 0
  [ -x /usr/bin/chromium ]
}

install_chromium() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || return 1
    sudo=(sudo -n)
  fi
  command -v apt-get >/dev/null 2>&1 || return 1
  echo "with-chromium: installing Debian's chromium for the /docs browser test" >&2
  "${sudo[@]}" apt-get update -qq >&2 &&
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium >&2
}

if ! have_chromium && ! install_chromium; then
  {
    echo "with-chromium: no Chromium, and it could not be installed (that needs root or"
    echo "passwordless sudo, and apt-get). The /docs browser test needs one: install Debian's"
    echo "chromium, or point KEYGATE_CHROMIUM at a Chromium binary, and run make test again."
  } >&2
  exit 1
fi
exec "$@"
