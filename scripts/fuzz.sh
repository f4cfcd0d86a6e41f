#!/usr/bin/env bash
# make fuzz: installs Schemathesis into .fuzz/venv (from PyPI), then runs scripts/fuzz.py
# against target/release/keygate on the embedded store and on a MongoDB-compatible server
# (scripts/with-mongodb.sh; MONGODB_URI when set). Bounded: FUZZ_EXAMPLES per operation
# (default 60), FUZZ_SECONDS for the main run (180) and FUZZ_ENDING_SECONDS for each
# ending operation (30); FUZZ_SEED fixes the examples. About 12 minutes in all.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
version=4.32.5
venv="$root/.fuzz/venv"

if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
  echo "fuzz: installing Schemathesis $version into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi
exec "$root/scripts/with-mongodb.sh" "$venv/bin/python" "$root/scripts/fuzz.py"
