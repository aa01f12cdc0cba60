//! The brokerage's clock: simulated time read from tokio's clock, which
//! turmoil drives in a simulation and the OS drives when served for real.
//! Time starts at a pinned epoch and `/_sim/advance` can jump it forward.

use mbt::Timestamp;
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct SimClock {
    epoch: Timestamp,
    started: Instant,
    /// Simulated time added by `advance`.
    skipped_ms: i64,
}

impl SimClock {
    pub fn new(epoch: Timestamp) -> Self {
        Self {
            epoch,
            started: Instant::now(),
            skipped_ms: 0,
        }
    }

    pub fn now(&self) -> Timestamp {
        let elapsed = Instant::now().duration_since(self.started);
        self.epoch
            .plus_nanos(i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX))
            .plus_millis(self.skipped_ms)
    }

    /// Jumps simulated time forward.
    pub fn advance(&mut self, ms: i64) {
        self.skipped_ms = self.skipped_ms.saturating_add(ms.max(0));
    }

    /// Starts over at the epoch.
    pub fn reset(&mut self) {
        *self = Self::new(self.epoch);
    }
}

/// Monday 2026-01-05 15:00:00 UTC (10:00 in New York): the default epoch,
/// chosen so that a fresh model's market is open.
pub const DEFAULT_EPOCH: Timestamp = Timestamp::from_secs(1_767_625_200);
