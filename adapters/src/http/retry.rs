//! Retry with exponential back-off and jitter. The jitter is drawn from a
//! seeded ChaCha generator that the adapter's builder provides: in the
//! harness the world's seed, in production whatever seed the host chooses.
//! A wait is never shorter than what the broker asked for (Retry-After, or
//! its rate-limit reset).

use std::sync::Mutex;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A broker asking for a longer wait than this is answered with
    /// `rate_limited` instead of a sleep: the caller decides.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_wait: Duration::from_secs(10),
        }
    }
}

/// Back-off delays for one adapter, and the wait its broker last asked for:
/// every call of the adapter shares them, so a throttle told to one call
/// holds back the next call too.
#[derive(Debug)]
pub struct Backoff {
    pub policy: RetryPolicy,
    rng: Mutex<ChaCha8Rng>,
    /// No request before this instant (tokio time): a broker's 429 said so.
    held_until: Mutex<Option<tokio::time::Instant>>,
}

impl Backoff {
    pub fn new(policy: RetryPolicy, seed: u64) -> Self {
        Self {
            policy,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
            held_until: Mutex::new(None),
        }
    }

    /// The broker asked for no request during `wait` from now.
    pub fn hold_for(&self, wait: Duration) {
        let until = tokio::time::Instant::now() + wait;
        let mut held = self.held_until.lock().unwrap_or_else(|p| p.into_inner());
        *held = Some(held.map_or(until, |h| h.max(until)));
    }

    /// How long requests are still held back, if at all.
    pub fn held_for(&self) -> Option<Duration> {
        let held = *self.held_until.lock().unwrap_or_else(|p| p.into_inner());
        held.and_then(|h| h.checked_duration_since(tokio::time::Instant::now()))
            .filter(|d| !d.is_zero())
    }

    /// The wait before retry number `retry` (1 for the first retry): "equal
    /// jitter", half of the capped exponential step fixed and half drawn, and
    /// never less than `at_least` (what the broker asked for).
    pub fn delay(&self, retry: u32, at_least: Option<Duration>) -> Duration {
        let step = self
            .policy
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
            .min(self.policy.max_delay);
        let half = step / 2;
        let half_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        let drawn = {
            let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
            rng.gen_range(0..=half_ms)
        };
        let jittered = half + Duration::from_millis(drawn);
        at_least.map_or(jittered, |w| jittered.max(w))
    }

    /// Whether another attempt is allowed after `attempts` have been made.
    pub fn may_retry(&self, attempts: u32) -> bool {
        attempts < self.policy.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_are_capped_and_same_seed_same_delays() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1_000),
            max_wait: Duration::from_secs(10),
        };
        let a = Backoff::new(policy, 7);
        let b = Backoff::new(policy, 7);
        let da: Vec<_> = (1..=8).map(|r| a.delay(r, None)).collect();
        let db: Vec<_> = (1..=8).map(|r| b.delay(r, None)).collect();
        assert_eq!(da, db);
        assert!((50..=100).contains(&da[0].as_millis()), "{da:?}");
        assert!((200..=400).contains(&da[2].as_millis()), "{da:?}");
        assert!(da.iter().all(|d| d.as_millis() <= 1_000), "{da:?}");
        let c = Backoff::new(policy, 8);
        let dc: Vec<_> = (1..=8).map(|r| c.delay(r, None)).collect();
        assert_ne!(da, dc);
    }

    #[tokio::test(start_paused = true)]
    async fn holds_are_shared_and_only_ever_extended() {
        let b = Backoff::new(RetryPolicy::default(), 1);
        assert_eq!(b.held_for(), None);
        b.hold_for(Duration::from_millis(1500));
        b.hold_for(Duration::from_millis(500));
        assert_eq!(b.held_for(), Some(Duration::from_millis(1500)));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(b.held_for(), None);
    }

    #[test]
    fn a_broker_requested_wait_is_a_floor() {
        let b = Backoff::new(RetryPolicy::default(), 1);
        assert!(b.delay(1, Some(Duration::from_secs(3))) >= Duration::from_secs(3));
        assert!(b.may_retry(3));
        assert!(!b.may_retry(4));
    }
}
