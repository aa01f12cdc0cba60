#!/usr/bin/env bash
# Serve-mode load on loopback: order submissions and position reads against
# `raxx-sim serve alpaca --no-rate-limits`, measured with wrk (Debian: apt-get install wrk).
# Usage: scripts/load/serve-load.sh [seconds] [connections]
# wrk's percentiles are corrected for coordinated omission (see
# scripts/side-by-side/run.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
secs="${1:-10}"; conns="${2:-32}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
out="$(mktemp)"
"$root/target/release/raxx-sim" serve alpaca --no-rate-limits --seed 5 > "$out" &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
for _ in $(seq 50); do [ -s "$out" ] && break; sleep 0.1; done
read -r url key secret < <(python3 -c "import json,sys; d=json.loads(open(sys.argv[1]).readline()); print(d['base_url'], d['credentials']['key_id'], d['credentials']['secret_key'])" "$out")
auth=(-H "APCA-API-KEY-ID: $key" -H "APCA-API-SECRET-KEY: $secret")
echo "== POST /v2/orders (market buys and sells), ${conns} connections, ${secs}s"
wrk -t2 -c"$conns" -d"${secs}s" --latency "${auth[@]}" -s "$root/scripts/load/alpaca-submit.lua" "$url/v2/orders"
echo "== GET /v2/positions, ${conns} connections, ${secs}s"
wrk -t2 -c"$conns" -d"${secs}s" --latency "${auth[@]}" "$url/v2/positions"
