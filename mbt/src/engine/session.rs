//! The trading session calendar: when the market is open, and when each
//! session closes (day orders expire and options settle at the close).
//!
//! The default is the New York Stock Exchange's: 09:30-16:00 New York time,
//! daylight saving time included (chrono-tz's America/New_York), weekdays
//! except the exchange's holidays, and 13:00 closes on its early-close days
//! (the days are data: `nyse_days.rs`, written by `scripts/nyse_calendar.py`
//! for 2000-2040; outside those years only weekends are closed).

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, Offset, TimeZone, Weekday};
use chrono_tz::America::New_York;
use serde::{Deserialize, Serialize};

use super::nyse_days::{CLOSED, EARLY_CLOSE};
use crate::time::Timestamp;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Session {
    /// The New York Stock Exchange's regular session.
    #[default]
    Nyse,
    /// A session that never closes: for tests and benchmarks that ignore the calendar.
    AlwaysOpen,
}

/// One trading day's session, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    pub open: Timestamp,
    pub close: Timestamp,
    /// The exchange closes at 13:00 New York time this day.
    pub early_close: bool,
}

/// Far enough for the longest run of days without a session (a holiday
/// beside a weekend, or the four days of September 2001).
const SEARCH_DAYS: usize = 12;

/// `t` in New York, with the offset of that instant (-05:00 or -04:00).
pub fn new_york(t: Timestamp) -> DateTime<FixedOffset> {
    let at = t.to_datetime().with_timezone(&New_York);
    at.with_timezone(&at.offset().fix())
}

fn listed(days: &[(i32, u32, u32)], d: NaiveDate) -> bool {
    days.binary_search(&(d.year(), d.month(), d.day())).is_ok()
}

/// `time` on `date` in New York as a Timestamp; None where a Timestamp
/// cannot hold it (before 1677 or after 2262-04-11).
fn at_new_york(date: NaiveDate, time: NaiveTime) -> Option<Timestamp> {
    // Sessions open and close far from the 02:00 switch: never ambiguous.
    let local = New_York
        .from_local_datetime(&date.and_time(time))
        .earliest()?;
    let nanos = local.timestamp_nanos_opt()?;
    Some(Timestamp::from_nanos(nanos))
}

fn utc_midnight(date: NaiveDate) -> Option<Timestamp> {
    let nanos = date
        .and_time(NaiveTime::MIN)
        .and_utc()
        .timestamp_nanos_opt()?;
    Some(Timestamp::from_nanos(nanos))
}

impl Session {
    pub fn always_open() -> Self {
        Self::AlwaysOpen
    }

    /// The trading day `t` belongs to: the New York date (the UTC date for a
    /// session that never closes).
    pub fn trading_date(&self, t: Timestamp) -> NaiveDate {
        match self {
            Session::Nyse => new_york(t).date_naive(),
            Session::AlwaysOpen => t.date(),
        }
    }

    /// Whether `date` has a session at all.
    pub fn trades_on(&self, date: NaiveDate) -> bool {
        match self {
            Session::Nyse => {
                !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !listed(CLOSED, date)
            }
            Session::AlwaysOpen => true,
        }
    }

    /// `date`'s session, or None on a day without one.
    pub fn hours(&self, date: NaiveDate) -> Option<Hours> {
        if !self.trades_on(date) {
            return None;
        }
        match self {
            Session::Nyse => {
                let early_close = listed(EARLY_CLOSE, date);
                let close = match early_close {
                    true => NaiveTime::from_hms_opt(13, 0, 0)?,
                    false => NaiveTime::from_hms_opt(16, 0, 0)?,
                };
                Some(Hours {
                    open: at_new_york(date, NaiveTime::from_hms_opt(9, 30, 0)?)?,
                    close: at_new_york(date, close)?,
                    early_close,
                })
            }
            Session::AlwaysOpen => Some(Hours {
                open: utc_midnight(date)?,
                close: utc_midnight(date.succ_opt()?)?,
                early_close: false,
            }),
        }
    }

    pub fn is_open(&self, t: Timestamp) -> bool {
        self.hours(self.trading_date(t))
            .is_some_and(|h| h.open <= t && t < h.close)
    }

    /// The first day after `date` with a session, or None when none is in
    /// sight (a calendar searched past its data).
    pub fn next_trading_day(&self, date: NaiveDate) -> Option<NaiveDate> {
        date.iter_days()
            .skip(1)
            .take(SEARCH_DAYS)
            .find(|d| self.trades_on(*d))
    }

    /// The sessions from `t`'s trading day on.
    fn sessions_from(&self, t: Timestamp) -> impl Iterator<Item = Hours> + '_ {
        self.trading_date(t)
            .iter_days()
            .take(SEARCH_DAYS)
            .filter_map(|d| self.hours(d))
    }

    /// The first session open at or after `t`, or None for a calendar that never closes.
    pub fn next_open(&self, t: Timestamp) -> Option<Timestamp> {
        match self {
            Session::AlwaysOpen => None,
            Session::Nyse => self.sessions_from(t).map(|h| h.open).find(|o| *o >= t),
        }
    }

    /// The first session close at or after `t`, or None for a calendar that
    /// never closes.
    pub fn next_close(&self, t: Timestamp) -> Option<Timestamp> {
        self.session_closing_from(t).map(|h| h.close)
    }

    /// The first session that closes at or after `t` (the one `t` is in, or
    /// the next), or None for a calendar that never closes. A clock that only
    /// moves forward keeps it and asks again once past its close: the time
    /// zone work is then once a session, not once a tick.
    pub fn session_closing_from(&self, t: Timestamp) -> Option<Hours> {
        match self {
            Session::AlwaysOpen => None,
            Session::Nyse => self.sessions_from(t).find(|h| h.close >= t),
        }
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
    fn daylight_time_moves_the_session_an_hour_in_utc() {
        let s = Session::default();
        // 2026-03-08 is the second Sunday of March: New York is at -04:00 from then.
        assert!(s.is_open(ts("2026-03-06T14:30:00Z")), "Friday, winter");
        assert!(!s.is_open(ts("2026-03-09T13:29:59Z")), "Monday, summer");
        assert!(s.is_open(ts("2026-03-09T13:30:00Z")));
        assert!(!s.is_open(ts("2026-03-09T20:00:00Z")));
        assert_eq!(
            new_york(ts("2026-03-09T13:30:00Z")).to_rfc3339(),
            "2026-03-09T09:30:00-04:00"
        );
        assert_eq!(
            new_york(ts("2026-01-05T14:30:00Z")).to_rfc3339(),
            "2026-01-05T09:30:00-05:00"
        );
        // Back to -05:00 after the first Sunday of November.
        assert_eq!(
            s.next_open(ts("2026-11-01T12:00:00Z")),
            Some(ts("2026-11-02T14:30:00Z"))
        );
    }

    #[test]
    fn holidays_are_closed_and_early_closes_end_at_one() {
        let s = Session::default();
        // Martin Luther King Jr. Day, then Good Friday.
        assert!(!s.trades_on(NaiveDate::from_ymd_opt(2026, 1, 19).unwrap()));
        assert_eq!(
            s.next_open(ts("2026-01-16T21:00:00Z")),
            Some(ts("2026-01-20T14:30:00Z"))
        );
        assert_eq!(s.hours(NaiveDate::from_ymd_opt(2026, 4, 3).unwrap()), None);
        // Independence Day on a Saturday is taken on Friday the 3rd.
        assert_eq!(s.hours(NaiveDate::from_ymd_opt(2026, 7, 3).unwrap()), None);
        // The day after Thanksgiving closes at 13:00 New York time.
        let friday = s
            .hours(NaiveDate::from_ymd_opt(2026, 11, 27).unwrap())
            .unwrap();
        assert!(friday.early_close);
        assert_eq!(friday.close, ts("2026-11-27T18:00:00Z"));
        assert_eq!(
            s.next_close(ts("2026-11-27T15:00:00Z")),
            Some(ts("2026-11-27T18:00:00Z"))
        );
        // A one-off closure.
        assert!(!s.trades_on(NaiveDate::from_ymd_opt(2025, 1, 9).unwrap()));
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
    fn the_data_is_sorted_for_its_binary_search() {
        assert!(CLOSED.windows(2).all(|w| w[0] < w[1]));
        assert!(EARLY_CLOSE.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn time_ends_without_sessions() {
        let s = Session::default();
        let end = Timestamp::from_nanos(i64::MAX);
        assert_eq!(s.next_close(end), None);
        assert_eq!(s.next_open(end), None);
        assert!(!s.is_open(end));
        // The last close a Timestamp can hold: Friday 2262-04-11, 16:00 in
        // New York (chrono-tz's transitions end in 2037, so at -05:00).
        assert_eq!(
            s.next_close(ts("2262-04-11T00:00:00Z")),
            Some(ts("2262-04-11T21:00:00Z"))
        );
    }
}
