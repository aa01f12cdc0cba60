//! `harness::fuzz::scenario_file` under libFuzzer (see `scripts/fuzz.sh`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = harness::fuzz::scenario_file(data);
});
