//! One wire face under libFuzzer: the face is `RAXX_FUZZ_BROKER`'s (set by
//! `scripts/fuzz.sh`), the input a session of requests
//! (`broker_models::fuzz` reads it).
#![no_main]

use std::sync::OnceLock;

static BROKER: OnceLock<String> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let broker = BROKER.get_or_init(|| {
        std::env::var("RAXX_FUZZ_BROKER").unwrap_or_else(|_| "alpaca".to_string())
    });
    broker_models::fuzz::wire_face(broker, data);
});
