#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (libfuzzer-sys) on the stable
# toolchain: the coverage instrumentation is rustc's stable
# `-Cpasses=sancov-module` (what cargo-fuzz passes; only its sanitizers need
# nightly, and a panic is what we look for), on the project's own crates
# only (scripts/fuzz-rustc.sh). The first argument is a wire
# face (a broker: inputs are request sessions, broker-models/src/fuzz.rs) or
# a parser target: `adapter_response` (a broker's answer through an
# adapter's classification, decoders and parsers), `bridge_lines` (what an
# adapter process prints on the bridge), `bridge_reader` (the bridge's
# line reader over a pipe that delivers in pieces and pauses),
# `scenario_file` (a scenario or fault plan; adapters/src/fuzz.rs,
# harness/src/fuzz.rs). New inputs go to
# target/fuzz/corpus/<name>, failures to fuzz/artifacts/. Commit a failure
# into fuzz/corpus/<name>/ once fixed: `cargo test` replays that directory.
#
#   scripts/fuzz.sh alpaca                          # until stopped
#   scripts/fuzz.sh tradier -max_total_time=600     # any libFuzzer option
#   scripts/fuzz.sh schwab -runs=1000000 -jobs=2 -workers=2
#   scripts/fuzz.sh adapter_response -max_total_time=300
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
name="${1:?usage: scripts/fuzz.sh <alpaca|tradier|tastytrade|schwab|snaptrade|plaid|adapter_response|bridge_lines|bridge_reader|scenario_file> [libFuzzer options]}"
shift
[ -d "fuzz/corpus/$name" ] || { echo "fuzz: no corpus for $name" >&2; exit 2; }
max_len=4096
case "$name" in
  adapter_response|bridge_lines|bridge_reader) bin="$name" ;;
  scenario_file) bin="$name"; max_len=16384 ;;
  *) bin=wire_face ;;
esac
host="$(rustc -vV | sed -n 's/^host: //p')"
target_dir="${CARGO_TARGET_DIR:-$root/target}/fuzz"
# An explicit --target keeps the flags off build scripts and proc macros;
# the wrapper instruments only the project's crates (see fuzz-rustc.sh).
RUSTC_WRAPPER="$root/scripts/fuzz-rustc.sh" \
RUSTFLAGS="--cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
  cargo build --release --quiet --manifest-path fuzz/Cargo.toml \
    --target "$host" --target-dir "$target_dir" --bin "$bin"
mkdir -p "$target_dir/corpus/$name" fuzz/artifacts
RAXX_FUZZ_BROKER="$name" exec "$target_dir/$host/release/$bin" \
  "$target_dir/corpus/$name" "fuzz/corpus/$name" \
  -artifact_prefix="fuzz/artifacts/$name-" -max_len="$max_len" "$@"
