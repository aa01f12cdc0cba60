#!/usr/bin/env bash
# Runs the vendor-SDK fidelity tests against `raxx-sim serve`.
# Usage: scripts/sdk-tests.sh [path/to/raxx-sim]   (or RAXX_SIM_BIN)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export RAXX_SIM_BIN="${1:-${RAXX_SIM_BIN:-$root/target/debug/raxx-sim}}"
python="$("$root/scripts/sdk-venv.sh")"
set +e
"$python" -m pytest -q -p no:cacheprovider "$root/tests/sdk"
status=$?
set -e
# pytest exits 5 when it collected nothing: that is a failure here.
if [ "$status" -eq 5 ]; then echo "no SDK tests were collected" >&2; exit 1; fi
exit "$status"
