//! The trading session calendar: when the market is open, and when each
//! session closes (day orders expire and options settle at the close).
//!
//! Times are UTC seconds of the day; the default 14:30–21:00 is the New York
//! regular session in winter. Holidays are not modelled: a scenario that
//! needs one sets the clock past it.

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Session {
    pub open_utc_secs: u32,
    pub close_utc_secs: u32,
    /// Saturdays and Sundays have no session.
    pub weekdays_only: bool,
}

impl Default for Session {
    fn default() -> Self {
        Self {
            open_utc_secs: 14 * 3600 + 30 * 60,
            close_utc_secs: 21 * 3600,
            weekdays_only: true,
        }
    }
}

impl Session {
    /// A session that never closes: for tests and benchmarks that ignore the calendar.
    pub fn always_open() -> Self {
        Self {
            open_utc_secs: 0,
            close_utc_secs: 86_400,
            weekdays_only: false,
        }
    }

    fn trades_on(&self, date: NaiveDate) -> bool {
        !self.weekdays_only || !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// `secs` after midnight of `date`; None beyond what a `Timestamp` can
    /// hold (after 2262-04-11), where there are no sessions.
    fn at(date: NaiveDate, secs: u32) -> Option<Timestamp> {
        let midnight = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp();
        midnight
            .checked_add(i64::from(secs))?
            .checked_mul(Timestamp::NANOS_PER_SEC)
            .map(Timestamp::from_nanos)
    }

    pub fn is_open(&self, t: Timestamp) -> bool {
        let date = t.date();
        self.trades_on(date)
            && Self::at(date, self.open_utc_secs).is_some_and(|open| t >= open)
            && Self::at(date, self.close_utc_secs).is_some_and(|close| t < close)
    }

    /// The first session open at or after `t`, or None for a calendar that never closes.
    pub fn next_open(&self, t: Timestamp) -> Option<Timestamp> {
        if self.close_utc_secs >= 86_400 && !self.weekdays_only {
            return None;
        }
        let mut date = t.date();
        for _ in 0..8 {
            let open = Self::at(date, self.open_utc_secs)?;
            if self.trades_on(date) && open >= t {
                return Some(open);
            }
            date = date.succ_opt()?;
        }
        None
    }

    /// The first session close at or after `t`, or None for a calendar that
    /// never closes.
    pub fn next_close(&self, t: Timestamp) -> Option<Timestamp> {
        if self.close_utc_secs >= 86_400 && !self.weekdays_only {
            return None;
        }
        let mut date = t.date();
        for _ in 0..8 {
            let close = Self::at(date, self.close_utc_secs)?;
            if self.trades_on(date) && close >= t {
                return Some(close);
            }
            date = date.succ_opt()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::from_datetime(chrono::DateTime::parse_from_rfc3339(s).unwrap().into())
    }

    #[test]
    fn regular_session_hours_and_weekends() {
        let s = Session::default();
        assert!(!s.is_open(ts("2026-01-05T14:29:59Z")));
        assert!(s.is_open(ts("2026-01-05T14:30:00Z")));
        assert!(s.is_open(ts("2026-01-05T20:59:59Z")));
        assert!(!s.is_open(ts("2026-01-05T21:00:00Z")));
        assert!(!s.is_open(ts("2026-01-10T15:00:00Z")), "Saturday");
    }

    #[test]
    fn next_close_skips_weekends() {
        let s = Session::default();
        assert_eq!(
            s.next_close(ts("2026-01-05T15:00:00Z")),
            Some(ts("2026-01-05T21:00:00Z"))
        );
        assert_eq!(
            s.next_close(ts("2026-01-05T21:00:00Z")),
            Some(ts("2026-01-05T21:00:00Z"))
        );
        assert_eq!(
            s.next_close(ts("2026-01-09T22:00:00Z")),
            Some(ts("2026-01-12T21:00:00Z"))
        );
        assert_eq!(
            Session::always_open().next_close(ts("2026-01-05T15:00:00Z")),
            None
        );
        assert_eq!(
            s.next_open(ts("2026-01-09T22:00:00Z")),
            Some(ts("2026-01-12T14:30:00Z"))
        );
    }

    #[test]
    fn time_ends_without_sessions() {
        let s = Session {
            weekdays_only: false,
            ..Session::default()
        };
        let end = Timestamp::from_nanos(i64::MAX);
        assert_eq!(s.next_close(end), None);
        assert_eq!(s.next_open(end), None);
        assert!(!s.is_open(end));
        // The last close a Timestamp can hold.
        assert_eq!(
            s.next_close(ts("2262-04-11T00:00:00Z")),
            Some(ts("2262-04-11T21:00:00Z"))
        );
    }
}
