#!/usr/bin/env bash
# Creates (once) a Python venv with the vendors' own SDKs, pinned in
# <dir>/requirements.txt, and prints its python. With no argument the dir is
# tests/sdk (every vendor's current SDK, venv target/sdk-venv); an SDK
# generation that cannot share that venv has its own dir, e.g. tests/sdk/sdk11
# (snaptrade-python-sdk 11, venv target/sdk-venv-sdk11).
# Reinstalls only when the requirements change.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-tests/sdk}"
req="$root/$dir/requirements.txt"
name="$(basename "$dir")"
if [ "$dir" = "tests/sdk" ]; then venv="$root/target/sdk-venv"; else venv="$root/target/sdk-venv-$name"; fi
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
  echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
