//! `adapters::fuzz::bridge_lines` under libFuzzer (see `scripts/fuzz.sh`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    adapters::fuzz::bridge_lines(data);
});
