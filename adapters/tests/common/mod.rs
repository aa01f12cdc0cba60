//! What every vendor's wiremock test needs, written once: an HTTP set-up
//! with short timeouts and quick retries, a clock stopped at one instant,
//! the vendor's bodies from `test_data/<vendor>/` (the same files the
//! model's face tests check the simulated vendor against), and answers
//! carrying a raw JSON body exactly as the vendor sends it.
//!
//! Each test binary uses what its vendor needs of this.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use adapters::http::{Clock, HttpSetup, RetryPolicy, TcpDialer};
use serde_json::Value;
use wiremock::ResponseTemplate;

/// 2026-01-05T15:00:00Z: just before the fixtures' orders were entered.
pub const NOW_MS: i64 = 1_767_625_200_000;

/// A clock that never moves: timestamps the adapter derives are exact.
pub struct Stopped(pub i64);

impl Clock for Stopped {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

/// Three attempts 10-50 ms apart, each given `request_timeout`.
pub fn setup(clock: impl Clock + 'static, request_timeout: Duration) -> HttpSetup {
    HttpSetup {
        dialer: Arc::new(TcpDialer::new().expect("a TCP dialer")),
        clock: Arc::new(clock),
        request_timeout,
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_wait: Duration::from_secs(5),
        },
        jitter_seed: 1,
    }
}

/// A vendor body from `test_data/<vendor>/`, as text.
pub fn fixture(vendor: &str, name: &str) -> String {
    let path = format!(
        "{}/../test_data/{vendor}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A vendor body from `test_data/<vendor>/`, parsed.
pub fn fixture_json(vendor: &str, name: &str) -> Value {
    let text = fixture(vendor, name);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("test_data/{vendor}/{name}: {e}"))
}

/// An answer with `body` sent as is, as `application/json`.
pub fn json_body(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string(), "application/json")
}
