//! How many times faster than real time a run's clients go. A simulated
//! world runs on turmoil's clock (pace 1: its time is already simulated);
//! an adapter in another process can be run faster than real time, its
//! clock sped up, with the model's clock and the case's own waits at the
//! same pace, so a 15-second wait the broker asks for costs 1.5 s at 10×.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace(u32);

impl Pace {
    /// Real time (and every simulated world).
    pub const REAL: Pace = Pace(1);

    pub fn new(factor: u32) -> Self {
        Self(factor.max(1))
    }

    pub fn factor(self) -> u32 {
        self.0
    }

    /// The tokio time `simulated` takes at this pace.
    pub fn real(self, simulated: Duration) -> Duration {
        simulated / self.0
    }

    /// Waits `simulated` time.
    pub async fn sleep(self, simulated: Duration) {
        tokio::time::sleep(self.real(simulated)).await;
    }

    /// The instant `simulated` time from now.
    pub fn deadline(self, simulated: Duration) -> Instant {
        Instant::now() + self.real(simulated)
    }
}
