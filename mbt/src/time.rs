//! Simulated time. MBT has no clock of its own: whoever drives the engine says
//! what time it is, in nanoseconds since the Unix epoch (UTC).

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const NANOS_PER_SEC: i64 = 1_000_000_000;
    pub const NANOS_PER_MILLI: i64 = 1_000_000;

    pub const fn from_nanos(nanos: i64) -> Self {
        Self(nanos)
    }
    /// Saturating, like `plus_nanos`: i64 nanoseconds reach years 1677 to 2262.
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis.saturating_mul(Self::NANOS_PER_MILLI))
    }
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs.saturating_mul(Self::NANOS_PER_SEC))
    }
    pub const fn nanos(self) -> i64 {
        self.0
    }
    pub const fn millis(self) -> i64 {
        self.0.div_euclid(Self::NANOS_PER_MILLI)
    }
    pub fn plus_nanos(self, nanos: i64) -> Self {
        Self(self.0.saturating_add(nanos))
    }
    pub fn plus_millis(self, millis: i64) -> Self {
        self.plus_nanos(millis.saturating_mul(Self::NANOS_PER_MILLI))
    }
    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.0)
    }
    pub fn from_datetime(dt: DateTime<Utc>) -> Self {
        Self(dt.timestamp_nanos_opt().unwrap_or(i64::MAX))
    }
    /// The UTC calendar date this instant falls on.
    pub fn date(self) -> NaiveDate {
        self.to_datetime().date_naive()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}",
            self.to_datetime()
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        )
    }
}
