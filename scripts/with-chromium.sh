#!/usr/bin/env bash
# Runs a command with a headless Chromium for the /docs browser test.
#
# Uses KEYGATE_CHROMIUM or Debian's /usr/bin/chromium; when neither is there, installs Debian's
# `chromium` package (as root, or through sudo without a password). Only when that is impossible
# does it say so loudly and export KEYGATE_BROWSER_TESTS=skip, which the test obeys with a
# message of its own; without that variable a missing browser fails the test.
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
    echo
    echo "************************************************************************"
    echo "with-chromium: NO CHROMIUM, AND IT COULD NOT BE INSTALLED (needs root or"
    echo "passwordless sudo, and apt-get). THE /docs BROWSER TEST WILL BE SKIPPED."
    echo "************************************************************************"
    echo
  } >&2
  export KEYGATE_BROWSER_TESTS=skip
fi
exec "$@"
