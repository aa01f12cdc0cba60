//! Documented rate limits: fixed windows per bucket that start with the
//! first request (as Tradier documents; Alpaca's per-minute limit behaves
//! the same to a client), counted in simulated time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::faults::Operation;
use mbt::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// The vendor's name for the bucket (Tradier: standard, trading, market_data).
    pub bucket: String,
    /// Operations counted in this bucket; empty means all.
    #[serde(default)]
    pub operations: Vec<Operation>,
    pub requests: u32,
    pub window_ms: u64,
}

/// A bucket's state after counting one request, for the vendor's headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateState {
    pub allowed: bool,
    pub limit: u32,
    pub used: u32,
    pub remaining: u32,
    /// When the window ends.
    pub resets_at: Timestamp,
    /// When the request was counted: a face that says its reset as a wait
    /// (SnapTrade) measures it from here.
    pub counted_at: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct RateLimiter {
    limits: Vec<RateLimit>,
    /// Per (bucket, credential scope): window start and count.
    windows: BTreeMap<(String, String), (Timestamp, u32)>,
}

impl RateLimiter {
    pub fn new(limits: Vec<RateLimit>) -> Self {
        Self {
            limits,
            windows: BTreeMap::new(),
        }
    }

    /// Counts one request of `op` by `scope` (an API key or token) at `now`.
    /// None when no documented limit covers the operation.
    pub fn count(&mut self, op: Operation, scope: &str, now: Timestamp) -> Option<RateState> {
        let limit = self
            .limits
            .iter()
            .find(|l| l.operations.is_empty() || l.operations.contains(&op))?;
        let key = (limit.bucket.clone(), scope.to_string());
        let window = i64::try_from(limit.window_ms).unwrap_or(i64::MAX);
        let entry = self.windows.entry(key).or_insert((now, 0));
        if now >= entry.0.plus_millis(window) {
            *entry = (now, 0);
        }
        let allowed = entry.1 < limit.requests;
        if allowed {
            entry.1 += 1;
        }
        Some(RateState {
            allowed,
            limit: limit.requests,
            used: entry.1,
            remaining: limit.requests - entry.1,
            resets_at: entry.0.plus_millis(window),
            counted_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_fill_refuse_and_reset() {
        let mut r = RateLimiter::new(vec![RateLimit {
            bucket: "trading".into(),
            operations: vec![Operation::SubmitOrder],
            requests: 2,
            window_ms: 60_000,
        }]);
        let t0 = Timestamp::from_secs(100);
        assert!(r.count(Operation::GetOrder, "k", t0).is_none());
        let a = r.count(Operation::SubmitOrder, "k", t0).unwrap();
        assert_eq!((a.allowed, a.used, a.remaining), (true, 1, 1));
        assert!(
            r.count(Operation::SubmitOrder, "k", t0.plus_millis(10))
                .unwrap()
                .allowed
        );
        let refused = r
            .count(Operation::SubmitOrder, "k", t0.plus_millis(20))
            .unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.resets_at, t0.plus_millis(60_000));
        // Another key has its own window; the first key's resets after a minute.
        assert!(
            r.count(Operation::SubmitOrder, "other", t0.plus_millis(30))
                .unwrap()
                .allowed
        );
        assert!(
            r.count(Operation::SubmitOrder, "k", t0.plus_millis(60_000))
                .unwrap()
                .allowed
        );
    }
}
