#!/usr/bin/env bash
# Runs a command with KEYGATE_TEST_POSTGRES_URL pointing at a real PostgreSQL, for the import
# tests (earlier systems 002 and 004 kept their users there).
#
# Uses Debian's `postgresql` package, installing it when absent (as root, or through sudo
# without a password); then initialises a cluster in a temporary directory, runs it as the
# unprivileged `postgres` user on a free loopback port, runs the command, and stops it
# afterwards, also when the command fails. When that is impossible it fails, saying why.
set -euo pipefail

find_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

install_postgres() {
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || return 1
  fi
  command -v apt-get >/dev/null 2>&1 || return 1
  echo "with-postgres: installing Debian's postgresql for the import tests" >&2
  as_root apt-get update -qq >&2 &&
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >&2
}

bin=$(find_bin)
if [ -z "$bin" ]; then
  if ! install_postgres; then
    echo "with-postgres: no PostgreSQL, and it could not be installed (that needs root or" >&2
    echo "passwordless sudo, and apt-get). Install Debian's postgresql and run make test again." >&2
    exit 1
  fi
  bin=$(find_bin)
fi

# The server refuses to run as root: run it as the package's `postgres` user (or as us).
run_as=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  run_as=(runuser -u postgres --)
fi

data=$(mktemp -d /tmp/keygate-pg.XXXXXX)
chmod 0755 "$data"
[ ${#run_as[@]} -gt 0 ] && chown postgres "$data"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${run_as[@]}" "$bin/initdb" -D "$data/cluster" -A trust -U keygate >/dev/null
"${run_as[@]}" "$bin/postgres" -D "$data/cluster" -p "$port" -k "$data" -h 127.0.0.1 \
  >"$data/server.log" 2>&1 &
server=$!
trap '"${run_as[@]}" "$bin/pg_ctl" -D "$data/cluster" -m immediate stop >/dev/null 2>&1 || kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT

for _ in $(seq 1 150); do
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    break
  fi
  if ! kill -0 "$server" 2>/dev/null; then
    echo "with-postgres: PostgreSQL exited before it listened:" >&2
    cat "$data/server.log" >&2
    exit 1
  fi
  sleep 0.2
done
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') listening on 127.0.0.1:$port" >&2
export KEYGATE_TEST_POSTGRES_URL="postgresql://keygate@127.0.0.1:$port/postgres"
export KEYGATE_TEST_PSQL="$bin/psql"
"$@"
