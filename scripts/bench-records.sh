#!/usr/bin/env bash
# Measures record writes (POST /api/{api_name}/{endpoint} with an API key) on the release build,
# with wrk at 1 and 32 connections, on the embedded store (default) or on MongoDB when
# MONGODB_URI is set (e.g. `./scripts/with-mongodb.sh ./scripts/bench-records.sh`).
# Prints wrk's summary for each run. Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${BENCH_SECONDS:-10}
command -v wrk >/dev/null || { echo "bench-records: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
cargo build --release -q -p keygate-server --bin keygate --manifest-path "$root/Cargo.toml"

data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The load writes more than the default per-account quota (100 000 records) holds.
env=(KEYGATE__ENVIRONMENT=development KEYGATE__DATABASE__PATH="$data" KEYGATE__SERVER__PORT="$port" RUST_LOG=warn
     KEYGATE__LIMITS__MAX_ENTRIES_PER_ACCOUNT=100000000 KEYGATE__LIMITS__MAX_BYTES_PER_ACCOUNT=100000000000)
if [ -n "${MONGODB_URI:-}" ]; then
  env+=(KEYGATE__DATABASE__URL="$MONGODB_URI" KEYGATE__DATABASE__NAME="bench_$$")
fi
env "${env[@]}" "$root/target/release/keygate" serve >"$data/log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$data"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -fs "$base/health" >/dev/null 2>&1 && break; sleep 0.1; done

json='Content-Type: application/json'
curl -fs -X POST "$base/register" -H "$json" -d '{"username":"bench","password":"vivid-otter-42-lamp"}' >/dev/null
token=$(curl -fs -X POST "$base/login" -H "$json" -d '{"username":"bench","password":"vivid-otter-42-lamp"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
key=$(curl -fs -X POST "$base/create_api" -H "$json" -H "Authorization: Bearer $token" \
  -d '{"api_name":"bench","endpoints":["orders"],"json_schema":{"orders":{"type":"object","required":["qty"],
       "properties":{"qty":{"type":"integer","minimum":1},"item":{"type":"string","maxLength":64}}}}}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')

script="$data/post.lua"
cat >"$script" <<LUA
wrk.method = "POST"
wrk.body = '{"item":"tea","qty":2,"note":"a record of a realistic size, with a few fields"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "$key"
LUA
store=${MONGODB_URI:+MongoDB}
echo "records: POST $base/api/bench/orders, ${store:-embedded store}, release build, ${seconds}s per run, $(nproc) cores"
for connections in 1 32; do
  threads=$(( connections < 2 ? 1 : 2 ))
  echo "--- $connections connection(s)"
  wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s "$script" "$base/api/bench/orders" \
    | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx|Socket errors'
done
echo "--- resident memory of the server: $(awk '/VmRSS/ {print $2 " kB"}' /proc/$server/status)"
