#!/usr/bin/env bash
# Coverage-guided fuzzing of one wire face with libFuzzer (libfuzzer-sys) on
# the stable toolchain: the coverage instrumentation is rustc's stable
# `-Cpasses=sancov-module` (what cargo-fuzz passes; only its sanitizers need
# nightly, and a panic is what we look for). Inputs are request sessions
# (broker-models/src/fuzz.rs); new ones go to target/fuzz/corpus/<broker>,
# failures to fuzz/artifacts/. Commit a failure into fuzz/corpus/<broker>/
# once fixed: `cargo test` replays that directory.
#
#   scripts/fuzz.sh alpaca                          # until stopped
#   scripts/fuzz.sh tradier -max_total_time=600     # any libFuzzer option
#   scripts/fuzz.sh schwab -runs=1000000 -jobs=2 -workers=2
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
broker="${1:?usage: scripts/fuzz.sh <alpaca|tradier|tastytrade|schwab|snaptrade|plaid> [libFuzzer options]}"
shift
[ -d "fuzz/corpus/$broker" ] || { echo "fuzz: no corpus for $broker" >&2; exit 2; }
host="$(rustc -vV | sed -n 's/^host: //p')"
target_dir="${CARGO_TARGET_DIR:-$root/target}/fuzz"
# An explicit --target keeps the flags off build scripts and proc macros.
RUSTFLAGS="-Cpasses=sancov-module \
  -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
  -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares \
  --cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
  cargo build --release --quiet --manifest-path fuzz/Cargo.toml \
    --target "$host" --target-dir "$target_dir" --bin wire_face
mkdir -p "$target_dir/corpus/$broker" fuzz/artifacts
RAXX_FUZZ_BROKER="$broker" exec "$target_dir/$host/release/wire_face" \
  "$target_dir/corpus/$broker" "fuzz/corpus/$broker" \
  -artifact_prefix="fuzz/artifacts/$broker-" -max_len=4096 "$@"
