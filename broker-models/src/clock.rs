//! The brokerage's clock: simulated time read from tokio's clock, which
//! turmoil drives in a simulation and the OS drives when served for real.
//! Time starts at a pinned epoch and `/_sim/advance` can jump it forward.
//! Served for a client that runs faster than real time, the clock runs at
//! that client's pace.

use std::time::Duration;

use mbt::Timestamp;
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct SimClock {
    /// Where the clock starts, and starts again on a reset.
    epoch: Timestamp,
    /// The simulated time at `started`.
    base: Timestamp,
    started: Instant,
    /// Simulated time added by `advance`.
    skipped_ms: i64,
    /// Simulated seconds per second of tokio time: 1 in a simulated world
    /// (turmoil drives tokio's clock) and when served at real speed; more
    /// when a client is run that many times faster than real time.
    pace: u32,
}

impl SimClock {
    pub fn new(epoch: Timestamp) -> Self {
        Self {
            epoch,
            base: epoch,
            started: Instant::now(),
            skipped_ms: 0,
            pace: 1,
        }
    }

    pub fn now(&self) -> Timestamp {
        let elapsed = Instant::now().duration_since(self.started) * self.pace;
        self.base
            .plus_nanos(i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX))
            .plus_millis(self.skipped_ms)
    }

    /// Jumps simulated time forward.
    pub fn advance(&mut self, ms: i64) {
        self.skipped_ms = self.skipped_ms.saturating_add(ms.max(0));
    }

    /// Runs `pace` times faster than tokio's clock from now on; the
    /// simulated time so far is kept.
    pub fn set_pace(&mut self, pace: u32) {
        self.base = self.now();
        self.started = Instant::now();
        self.skipped_ms = 0;
        self.pace = pace.max(1);
    }

    /// The tokio time `simulated` takes at this clock's pace.
    pub fn real(&self, simulated: Duration) -> Duration {
        simulated / self.pace
    }

    /// Starts over at the epoch, at the same pace.
    pub fn reset(&mut self) {
        let pace = self.pace;
        *self = Self::new(self.epoch);
        self.pace = pace;
    }
}

/// Monday 2026-01-05 15:00:00 UTC (10:00 in New York): the default epoch,
/// chosen so that a fresh model's market is open.
pub const DEFAULT_EPOCH: Timestamp = Timestamp::from_secs(1_767_625_200);
