#!/usr/bin/env bash
# Runs a command with MONGODB_URI pointing at a MongoDB-compatible server.
#
# Unless MONGODB_URI is already set, installs SecantusDB (a single-node server speaking the
# MongoDB wire protocol, from PyPI) into .mongo/venv, starts it in memory on a free loopback
# port, runs the command, and stops the server afterwards, also when the command fails.
# The outage tests start servers of their own from the same venv, so it is installed either way
# and its python is exported as KEYGATE_TEST_SECANTUS_PYTHON.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
version=0.7.0b3
venv="$root/.mongo/venv"
mkdir -p "$root/.mongo"

if ! "$venv/bin/python" -c 'import secantus' >/dev/null 2>&1; then
  echo "with-mongodb: installing SecantusDB $version into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "SecantusDB==$version"
fi
export KEYGATE_TEST_SECANTUS_PYTHON="$venv/bin/python"

if [ -n "${MONGODB_URI:-}" ]; then
  echo "with-mongodb: using the server at MONGODB_URI" >&2
  "$@"
  exit $?
fi

port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log="$root/.mongo/secantus.log"
"$venv/bin/python" -m secantus --host 127.0.0.1 --port "$port" --storage-path :memory: --log-level WARNING >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT

for _ in $(seq 1 150); do
  if "$venv/bin/python" -c "import socket, sys; s = socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1', $port)))"; then
    break
  fi
  if ! kill -0 "$server" 2>/dev/null; then
    echo "with-mongodb: SecantusDB exited before it listened:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.2
done

export MONGODB_URI="mongodb://127.0.0.1:$port/?directConnection=true"
echo "with-mongodb: SecantusDB $version listening on 127.0.0.1:$port" >&2
"$@"
