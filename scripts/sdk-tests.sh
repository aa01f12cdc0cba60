#!/usr/bin/env bash
# Runs the vendor-SDK fidelity tests against `raxx-sim serve`: tests/sdk with
# every vendor's current SDK, then tests/sdk/sdk11 (snaptrade-python-sdk 11)
# in its own venv. Fails when either fails or collects nothing.
# Usage: scripts/sdk-tests.sh [path/to/raxx-sim]   (or RAXX_SIM_BIN)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export RAXX_SIM_BIN="${1:-${RAXX_SIM_BIN:-$root/target/debug/raxx-sim}}"
status=0
run() {
  local python
  python="$("$root/scripts/sdk-venv.sh" "$1")"
  shift
  set +e
  "$python" -m pytest -q -p no:cacheprovider "$@"
  local s=$?
  set -e
  # pytest exits 5 when it collected nothing: that is a failure here.
  if [ "$s" -eq 5 ]; then echo "no SDK tests were collected in $*" >&2; fi
  if [ "$s" -ne 0 ]; then status=1; fi
}
run tests/sdk "$root/tests/sdk" --ignore="$root/tests/sdk/sdk11"
run tests/sdk/sdk11 "$root/tests/sdk/sdk11"
exit "$status"
