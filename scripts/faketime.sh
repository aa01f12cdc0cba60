#!/usr/bin/env bash
# Builds (once) what runs an unchanged bridged adapter faster than real time
# (harness/src/faketime.rs): libfaketime 0.9.10 with sleep and timeout faking,
# from the source the PyPI sdist `libfaketime==3.0.1` vendors (no root, no
# apt), and the clockwait shim beside it, into target/faketime/. Needs gcc,
# make and pip (python3). Prints the directory.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/target/faketime"
shim_src="$root/scripts/faketime/clockwait_shim.c"
if [ -f "$out/libfaketime.so.1" ] && [ -f "$out/clockwait_shim.so" ] \
   && [ "$out/clockwait_shim.so" -nt "$shim_src" ]; then
  echo "$out"
  exit 0
fi
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --disable-pip-version-check --no-deps \
  --no-binary :all: -d "$work" libfaketime==3.0.1 >&2
tar -xzf "$work"/libfaketime-3.0.1.tar.gz -C "$work"
src="$work/libfaketime-3.0.1/libfaketime/vendor/libfaketime/src"
# The default flags fake sleeps, poll/select and timeouts (-DFAKE_SLEEP);
# the wheel's prebuilt library leaves them out.
make -s -C "$src" libfaketime.so.1 >&2
cp "$src/libfaketime.so.1" "$out/libfaketime.so.1"
gcc -shared -fPIC -O2 -Wall -Wextra -o "$out/clockwait_shim.so" "$shim_src" -ldl
echo "$out"
