//! `adapters::fuzz::bridge_reader` under libFuzzer (see `scripts/fuzz.sh`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    adapters::fuzz::bridge_reader(data);
});
