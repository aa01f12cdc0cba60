#!/usr/bin/env bash
# raxx-sim side by side with the tools a user would pick instead, interleaved:
#   `raxx-sim bench mbt`           vs NautilusTrader's BacktestEngine on the same workload
#                                     (nautilus_mbt.py: with strategy and orders, and pure replay)
#   `raxx-sim serve alpaca`        vs Prism mocking the same two operations with static examples
#                                     (alpaca-orders-positions.yaml), same wrk load
# then a table (min / median / max of each, ratio of medians) and one JSON line of ratios.
#
# Usage: scripts/side-by-side/run.sh [rounds] [--quotes N] [--secs S] [--conns C]
#                                    [--wrk-threads T] [--no-build] [--only mbt|serve]
#   rounds      interleaved rounds (default 3)
#   --quotes    quotes streamed by both engines (default 2,000,000, bench mbt's own)
#   --secs      seconds of each wrk run (default 10); --conns its connections (default 32)
#   --wrk-threads  wrk's threads (default 2)
#   --no-build  use the existing target/release/raxx-sim (or $RAXX_SIM_BIN) without cargo build
#   --only      run one half
# Sets up everything under target/side-by-side/: a venv with requirements.txt (pinned
# nautilus_trader), Prism from package-lock.json (npm ci), and wrk (apt-get) if missing.
# wrk's percentiles are corrected for coordinated omission: a response that took n times the
# mean interval between a connection's requests also counts n-1 shorter ones, the requests a
# client sending at a steady rate would have had waiting meanwhile. A 20 ms stall of the
# server is a thousand samples, not 32.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$root/target/side-by-side"

rounds=3 quotes=2000000 secs=10 conns=32 build=1 only=all
wrk_threads=2
while [ $# -gt 0 ]; do
  case "$1" in
    --quotes) quotes="$2"; shift 2 ;;
    --secs) secs="$2"; shift 2 ;;
    --conns) conns="$2"; shift 2 ;;
    --wrk-threads) wrk_threads="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --only) only="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    [0-9]*) rounds="$1"; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
started=$(date +%s)
mkdir -p "$work"

# ---- setup ------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
  log "installing wrk"
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else sudo apt-get install -y wrk >/dev/null; fi
fi

py="$work/venv/bin/python"
req_sum="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$py" ] || [ "$(cat "$work/venv/.requirements" 2>/dev/null)" != "$req_sum" ]; then
  log "creating $work/venv (requirements.txt)"
  pybin="$(command -v python3.11 || command -v python3)"
  rm -rf "$work/venv"
  "$pybin" -m venv "$work/venv"
  "$py" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  echo "$req_sum" > "$work/venv/.requirements"
fi

prism="$work/prism/node_modules/.bin/prism"
lock_sum="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$prism" ] || [ "$(cat "$work/prism/.lock" 2>/dev/null)" != "$lock_sum" ]; then
  log "installing Prism into $work/prism (npm ci)"
  mkdir -p "$work/prism"
  cp "$here/package.json" "$here/package-lock.json" "$work/prism/"
  npm ci --prefix "$work/prism" --no-audit --no-fund --loglevel=error >/dev/null
  echo "$lock_sum" > "$work/prism/.lock"
fi

bin="${RAXX_SIM_BIN:-$root/target/release/raxx-sim}"
if [ "$build" = 1 ]; then
  log "cargo build --release"
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
fi
[ -x "$bin" ] || { echo "no raxx-sim binary at $bin (run without --no-build)" >&2; exit 1; }

run="$work/run-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$run"
results="$run/results.jsonl"
: > "$results"
log "results in $run"

# ---- helpers ----------------------------------------------------------------------------------
pids=()
cleanup() {
  local p
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

wait_http() {  # url: any HTTP answer within 15 s
  local i
  for i in $(seq 150); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  echo "no answer from $1" >&2; return 1
}

# wrk_run TOOL OP ROUND PID URL [wrk args...]: one wrk run, server CPU read from /proc around it
wrk_run() {
  local tool="$1" op="$2" rnd="$3" pid="$4" url="$5"; shift 5
  local out="$run/wrk-$tool-$op-$rnd.txt" before after ex="${extra:-}"
  [ -n "$ex" ] || ex='{}'
  before=$(python3 "$here/sbs.py" cputicks "$pid")
  wrk -t"$wrk_threads" -c"$conns" -d"${secs}s" --latency "$@" "$url" > "$out"
  after=$(python3 "$here/sbs.py" cputicks "$pid")
  python3 "$here/sbs.py" wrk "$out" "$tool" "$op" "$rnd" "$((after - before))" "$ex" | tee -a "$results" >&2
}

mbt_round() {
  local rnd="$1" line
  log "round $rnd: raxx-sim bench mbt --events $quotes"
  line=$("$bin" bench mbt --events "$quotes")
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(tool="raxx-sim", op="mbt", round=int(sys.argv[2])); print(json.dumps(d))' "$line" "$rnd" | tee -a "$results" >&2
  for mode in strategy replay; do
    log "round $rnd: NautilusTrader BacktestEngine, $mode"
    line=$("$py" "$here/nautilus_mbt.py" --mode "$mode" --quotes "$quotes")
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(tool="nautilus", op=d["mode"], round=int(sys.argv[2])); print(json.dumps(d))' "$line" "$rnd" | tee -a "$results" >&2
  done
}

# The same requests to both: Prism is sent the credentials raxx-sim issued
# (it checks that the security scheme's headers are there, not their values).
auth=()
serve_round() {
  local rnd="$1"
  raxx_serve_round "$rnd"
  prism_serve_round "$rnd"
}

# Each server is measured alone: the other is not running. An idle Prism's
# node process still wakes (timers, GC: 1.5% of a core), and on 2 cores
# each wake-up preempts the server under test or wrk: raxx-sim's POST p99
# was 2.1-2.5 ms beside an idle Prism, 1.1-1.3 ms alone (3 rounds each).
raxx_serve_round() {
  local rnd="$1" out="$run/raxx-serve-$rnd.json" rpid url key secret n i
  "$bin" serve alpaca --no-rate-limits --seed 5 > "$out" 2> "$run/raxx-serve-$rnd.err" &
  rpid=$!; pids+=("$rpid")
  for i in $(seq 100); do [ -s "$out" ] && break; sleep 0.1; done
  read -r url key secret < <(python3 -c "import json,sys; d=json.loads(open(sys.argv[1]).readline()); print(d['base_url'], d['credentials']['key_id'], d['credentials']['secret_key'])" "$out")
  auth=(-H "APCA-API-KEY-ID: $key" -H "APCA-API-SECRET-KEY: $secret")
  wait_http "$url/v2/clock"

  log "round $rnd: POST /v2/orders, raxx-sim (${secs}s, $conns connections)"
  extra='{}' wrk_run raxx-sim post "$rnd" "$rpid" "$url/v2/orders" "${auth[@]}" -s "$root/scripts/load/alpaca-submit.lua"

  # Prism answers one position; make raxx-sim hold at least one too (the buys and sells
  # of the POST run may net to flat), so that neither answers an empty list.
  n=$(curl -s "${auth[@]}" "$url/v2/positions" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  if [ "$n" = 0 ]; then
    curl -s -o /dev/null "${auth[@]}" -H 'Content-Type: application/json' \
      -d '{"symbol":"AAPL","qty":"1","side":"buy","type":"market","time_in_force":"day"}' "$url/v2/orders"
    for i in $(seq 50); do
      n=$(curl -s "${auth[@]}" "$url/v2/positions" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
      [ "$n" != 0 ] && break; sleep 0.1
    done
  fi
  log "round $rnd: GET /v2/positions, raxx-sim ($n positions)"
  extra="{\"positions\": $n}" wrk_run raxx-sim get "$rnd" "$rpid" "$url/v2/positions" "${auth[@]}"
  stop "$rpid"
}

prism_serve_round() {
  local rnd="$1" ppid port
  port=$((4010 + rnd))
  "$prism" mock --host 127.0.0.1 -p "$port" --errors -v error "$here/alpaca-orders-positions.yaml" > "$run/prism-$rnd.log" 2>&1 &
  ppid=$!; pids+=("$ppid")
  wait_http "http://127.0.0.1:$port/"
  log "round $rnd: POST /v2/orders, Prism (${secs}s, $conns connections)"
  extra='{}' wrk_run prism post "$rnd" "$ppid" "http://127.0.0.1:$port/v2/orders" "${auth[@]}" -s "$root/scripts/load/alpaca-submit.lua"
  log "round $rnd: GET /v2/positions, Prism (1 position)"
  extra='{"positions": 1}' wrk_run prism get "$rnd" "$ppid" "http://127.0.0.1:$port/v2/positions" "${auth[@]}"
  stop "$ppid"
}

stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  pids=()
}

# ---- rounds -----------------------------------------------------------------------------------
load_before="$(cut -d' ' -f1 /proc/loadavg)"
for rnd in $(seq 1 "$rounds"); do
  if [ "$only" != serve ]; then mbt_round "$rnd"; fi
  if [ "$only" != mbt ]; then serve_round "$rnd"; fi
done

# ---- table ------------------------------------------------------------------------------------
nt_version="$("$py" -c 'import nautilus_trader; print(nautilus_trader.__version__)')"
prism_version="$("$prism" --version)"
python3 - "$run/meta.json" <<EOF
import json, os, subprocess, sys
def out(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except Exception:
        return None
def wrk_version():
    r = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    words = (r.stdout + r.stderr).split()
    return words[1] if len(words) > 1 else None
json.dump({
    "rounds": $rounds, "quotes": $quotes, "secs": $secs, "conns": $conns,
    "wrk_threads": $wrk_threads,
    "nproc": os.cpu_count(), "load_before": "$load_before",
    "versions": {
        "raxx_sim_commit": out("git", "-C", "$root", "rev-parse", "--short", "HEAD"),
        "nautilus_trader": "$nt_version", "prism": "$prism_version",
        "python": out("$py", "--version"), "node": out("node", "--version"),
        "wrk": wrk_version(),
        "rustc": out("rustc", "--version"),
    },
}, open(sys.argv[1], "w"))
EOF
python3 "$here/sbs.py" table "$results" "$run/meta.json" | tee "$run/table.txt"
log "done in $(( $(date +%s) - started )) s; raw results in $run"
