#!/usr/bin/env bash
# RUSTC_WRAPPER for scripts/fuzz.sh: adds the coverage instrumentation to the
# project's own crates and the fuzz targets only. Instrumenting the whole
# dependency graph (tokio, hyper, serde, chrono-tz, …) put about two thirds
# of a wire-face execution into libFuzzer's feature collection over their
# counters; what the fuzzer is after is our code's paths (a panic in a
# dependency still fails the input: panics are caught whatever is
# instrumented).
rustc="$1"; shift
crate=""
prev=""
for arg in "$@"; do
  [ "$prev" = "--crate-name" ] && crate="$arg"
  prev="$arg"
done
case "$crate" in
  mbt|broker_models|adapters|harness|gateway|wire_face|adapter_response|bridge_lines|bridge_reader|scenario_file)
    exec "$rustc" "$@" -Cpasses=sancov-module \
      -Cllvm-args=-sanitizer-coverage-level=4 \
      -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
      -Cllvm-args=-sanitizer-coverage-pc-table \
      -Cllvm-args=-sanitizer-coverage-trace-compares ;;
  *) exec "$rustc" "$@" ;;
esac
