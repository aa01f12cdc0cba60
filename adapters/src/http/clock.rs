//! The adapters' clock. Waiting (timeouts, back-off) uses tokio's timer,
//! which the runtime owns: the OS in production, turmoil in a simulation.
//! Reading absolute time (to turn a vendor's reset timestamp into a wait)
//! goes through [`Clock`], which whoever builds the adapter injects.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Absolute time, in Unix milliseconds.
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> i64;
}

/// The wall clock, for production.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // production adapters talk to real brokers in real time
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// Time that starts at a pinned epoch and moves with tokio's timer: under
/// turmoil (or a paused tokio runtime) it is simulated time.
/// Clones share one clock: a jump ([`EpochClock::skip`]) moves them all.
#[derive(Debug, Clone)]
pub struct EpochClock {
    epoch_ms: i64,
    started: tokio::time::Instant,
    skipped_ms: Arc<AtomicI64>,
}

impl EpochClock {
    pub fn new(epoch_ms: i64) -> Self {
        Self {
            epoch_ms,
            started: tokio::time::Instant::now(),
            skipped_ms: Arc::default(),
        }
    }

    /// Jumps forward `ms` (never back): a replay that moves the whole
    /// world to its next bar moves the adapters' clocks with the brokers'.
    pub fn skip(&self, ms: i64) {
        self.skipped_ms.fetch_add(ms.max(0), Ordering::SeqCst);
    }
}

impl Clock for EpochClock {
    fn now_ms(&self) -> i64 {
        let elapsed = tokio::time::Instant::now().duration_since(self.started);
        self.epoch_ms
            .saturating_add(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
            .saturating_add(self.skipped_ms.load(Ordering::SeqCst))
    }
}

/// How long until `at_ms` (Unix ms), never negative.
pub fn until(clock: &dyn Clock, at_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(at_ms.saturating_sub(clock.now_ms())).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn epoch_clock_moves_with_tokio_time() {
        let c = EpochClock::new(1_000);
        assert_eq!(c.now_ms(), 1_000);
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(c.now_ms(), 1_250);
        assert_eq!(until(&c, 2_000), Duration::from_millis(750));
        assert_eq!(until(&c, 0), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_skip_moves_every_clone_forward_never_back() {
        let c = EpochClock::new(1_000);
        let adapter = c.clone();
        c.skip(3_600_000);
        c.skip(-5);
        assert_eq!(adapter.now_ms(), 3_601_000);
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(adapter.now_ms(), 3_601_250);
    }
}
