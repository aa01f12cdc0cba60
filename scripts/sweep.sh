#!/usr/bin/env bash
# A conformance sweep: every case of every in-process adapter (the registry's,
# as `raxx-sim brokers` lists them) under seeds 1..=SEEDS (default 512), the
# worlds spread over every CPU, one JSON report per adapter under target/sweep/.
# Prints each adapter's summary and, per case, the seeds that failed; exits 1
# when anything failed.
#
#   scripts/sweep.sh                 # 512 seeds: a 1 % per-seed failure rate in
#                                    # any case fails it with probability 0.994
#   scripts/sweep.sh 10000           # the long sweep
#   SHARD=2/4 scripts/sweep.sh 10000 # this runner's quarter of the seeds
#   scripts/sweep.sh 256 tradier     # one adapter
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seeds="${1:-512}"
shift || true
adapters=("$@")
cargo build --release --quiet
# Where cargo put it (CARGO_TARGET_DIR moves the build out of the tree).
sim="${CARGO_TARGET_DIR:-$root/target}/release/raxx-sim"
if [ ${#adapters[@]} -eq 0 ]; then
  # Every adapter the registry knows (`raxx-sim brokers`, its first column).
  mapfile -t adapters < <("$sim" brokers | awk 'NR > 1 { print $1 }')
  # An empty list would be a green sweep of nothing.
  if [ ${#adapters[@]} -eq 0 ]; then
    echo "sweep: \`raxx-sim brokers\` listed no adapters" >&2
    exit 1
  fi
fi
shard=()
if [ -n "${SHARD:-}" ]; then
  shard=(--shard "$SHARD")
fi
out="$root/target/sweep"
mkdir -p "$out"
status=0
for adapter in "${adapters[@]}"; do
  report="$out/$adapter${SHARD:+-${SHARD/\//of}}.json"
  start=$(date +%s)
  if ! "$sim" conform --adapter "$adapter" --seeds "$seeds" \
      "${shard[@]}" --format json --out "$report" >/dev/null; then
    status=1
  fi
  python3 - "$report" "$adapter" "$seeds" "$(( $(date +%s) - start ))" <<'PY'
import json, sys
path, adapter, seeds, secs = sys.argv[1:]
r = json.load(open(path))
print(f"{adapter}: {r['passed']} passed, {r['failed']} failed, {r['skipped']} skipped "
      f"({seeds} seeds, {secs} s)")
for case, c in r["cases"].items():
    if c["failed"]:
        shown = ", ".join(map(str, c["failed_seeds"][:20]))
        more = " …" if len(c["failed_seeds"]) > 20 else ""
        print(f"  FAILED {case}: {c['failed']} seeds ({shown}{more})")
PY
done
exit $status
