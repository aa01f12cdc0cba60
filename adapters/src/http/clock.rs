//! The adapters' clock. Waiting (timeouts, back-off) uses tokio's timer,
//! which the runtime owns: the OS in production, turmoil in a simulation.
//! Reading absolute time (to turn a vendor's reset timestamp into a wait)
//! goes through [`Clock`], which whoever builds the adapter injects.

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
#[derive(Debug, Clone)]
pub struct EpochClock {
    epoch_ms: i64,
    started: tokio::time::Instant,
}

impl EpochClock {
    pub fn new(epoch_ms: i64) -> Self {
        Self {
            epoch_ms,
            started: tokio::time::Instant::now(),
        }
    }
}

impl Clock for EpochClock {
    fn now_ms(&self) -> i64 {
        let elapsed = tokio::time::Instant::now().duration_since(self.started);
        self.epoch_ms
            .saturating_add(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
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
}
