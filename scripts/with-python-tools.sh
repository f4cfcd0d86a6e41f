#!/usr/bin/env bash
# Runs a command with KEYGATE_TEST_PYTHON pointing at a Python that has the independent
# libraries the black-box tests check Keygate against: PyJWT with `cryptography` (a JOSE
# implementation that knows nothing of Keygate, reading only its JWKS) and aiosmtpd (a real
# SMTP server the email tests start and stop on free loopback ports), the earlier systems' own
# hashing libraries (werkzeug, bcrypt, flask-bcrypt, passlib) for the import tests' fixtures,
# pyotp, an independent TOTP implementation for the second-factor tests, and fido2 (Yubico's
# python-fido2), whose CBOR and COSE encodings the software passkey authenticator
# (tests/fixtures/soft_authenticator.py) is built on, and websocket-client, which drives
# Chromium's DevTools protocol for the browser passkey test (tests/fixtures/cdp_webauthn.py).
#
# Installs them from PyPI into .pytools/venv when they are missing; the tests that need them
# fail (never skip) without KEYGATE_TEST_PYTHON.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.pytools/venv"
requirements=("PyJWT[crypto]==2.10.1" "aiosmtpd==1.4.6" "werkzeug==3.1.3" "bcrypt==4.3.0" "passlib==1.7.4" "flask-bcrypt==1.0.1" "pyotp==2.9.0" "fido2==2.2.1" "websocket-client==1.9.2")

if ! "$venv/bin/python" -c 'import jwt, cryptography, aiosmtpd, werkzeug, bcrypt, passlib, flask_bcrypt, pyotp, fido2, websocket' >/dev/null 2>&1; then
  echo "with-python-tools: installing ${requirements[*]} into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${requirements[@]}"
fi
export KEYGATE_TEST_PYTHON="$venv/bin/python"
exec "$@"
