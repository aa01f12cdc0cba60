//! The market clock and calendar (reference §2.10), in New York time.
//!
//! The venue's session is the NYSE calendar (daylight time, holidays and
//! early closes included); Tradier speaks New York local time. Around the regular session
//! Tradier's calendar shows premarket 07:00–09:24 and postmarket to 20:00
//! (docs.tradier.com `docs/calendar`); the model trades neither.

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{Datelike, NaiveDate, Timelike};
use serde::Deserialize;

use mbt::engine::{new_york, Session};
use mbt::Timestamp;

use super::auth::TradierAuth;
use super::errors::TradierError;
use super::format::Format;
use super::wire::{Calendar, CalendarDay, CalendarDoc, Clock, ClockDoc, Hours, Listing};
use crate::brokerage::SimBrokerage;
use crate::face::Shared;

const OPEN_LOCAL: i64 = 9 * 3600 + 30 * 60;
const CLOSE_LOCAL: i64 = 16 * 3600;
const PREMARKET: i64 = 7 * 3600;
const PREMARKET_END: i64 = 9 * 3600 + 24 * 60;
const POSTMARKET_END: i64 = 20 * 3600;
const DAY: i64 = 86_400;

fn session(b: &SimBrokerage) -> &Session {
    &b.engine().config().session
}

/// New York second-of-day of `t`.
fn local_secs(t: Timestamp) -> i64 {
    i64::from(new_york(t).num_seconds_from_midnight())
}

/// The New York date `t` falls on: Tradier's trading day (§2.4).
pub fn trading_date(b: &SimBrokerage, t: Timestamp) -> NaiveDate {
    session(b).trading_date(t)
}

fn hhmm(secs: i64) -> String {
    let s = secs.rem_euclid(DAY);
    format!("{:02}:{:02}", s / 3600, s % 3600 / 60)
}

/// New York second-of-day of `date`'s close (13:00 on an early-close day),
/// or None on a day without a session.
fn close_local(s: &Session, date: NaiveDate) -> Option<i64> {
    s.hours(date).map(|h| local_secs(h.close))
}

/// The clock's state at New York second-of-day `secs` of a trading day, or
/// of any day when `close` is None (no session that day): (state,
/// description, next change, next state). The texts other than the open
/// one are not documented (UNVERIFIED, §2.10).
fn state_at(
    secs: i64,
    open_now: bool,
    close: Option<i64>,
) -> (&'static str, String, i64, &'static str) {
    let trading = close.is_some();
    let close = close.unwrap_or(CLOSE_LOCAL);
    if open_now {
        let text = format!(
            "Market is open from {} to {}",
            hhmm(OPEN_LOCAL),
            hhmm(close)
        );
        return ("open", text, close, "postmarket");
    }
    let closed = (
        "closed",
        "Market is closed.".to_string(),
        PREMARKET,
        "premarket",
    );
    if !trading {
        return closed;
    }
    if (PREMARKET..OPEN_LOCAL).contains(&secs) {
        let text = format!(
            "Market is in premarket hours from {} to {}",
            hhmm(PREMARKET),
            hhmm(PREMARKET_END)
        );
        return ("premarket", text, OPEN_LOCAL, "open");
    }
    if (close..POSTMARKET_END).contains(&secs) {
        let text = format!(
            "Market is in postmarket hours from {} to {}",
            hhmm(close),
            hhmm(POSTMARKET_END)
        );
        return ("postmarket", text, POSTMARKET_END, "closed");
    }
    closed
}

/// `GET /v1/markets/clock`: the market's state now.
pub async fn clock(_: TradierAuth, format: Format, State(s): State<Shared>) -> Response {
    let mut b = s.lock();
    b.sync();
    let now = b.now();
    let date = trading_date(&b, now);
    let (state, description, next, next_state) = state_at(
        local_secs(now),
        b.engine().is_open(),
        close_local(session(&b), date),
    );
    format.answer(Ok(ClockDoc {
        clock: Clock {
            date: date.to_string(),
            description,
            state,
            timestamp: now.millis().div_euclid(1000),
            next_change: hhmm(next),
            next_state,
        },
    }))
}

#[derive(Deserialize)]
pub struct CalendarQuery {
    month: Option<String>,
    year: Option<String>,
}

fn calendar_day(s: &Session, date: NaiveDate) -> CalendarDay {
    let hours = |start: i64, end: i64| {
        Some(Hours {
            start: hhmm(start),
            end: hhmm(end),
        })
    };
    let Some(close) = close_local(s, date) else {
        return CalendarDay {
            date: date.to_string(),
            status: "closed",
            description: "Market is closed",
            premarket: None,
            open: None,
            postmarket: None,
        };
    };
    CalendarDay {
        date: date.to_string(),
        status: "open",
        description: "Market is open",
        premarket: hours(PREMARKET, PREMARKET_END),
        open: hours(OPEN_LOCAL, close),
        postmarket: hours(close, POSTMARKET_END),
    }
}

/// A number from the query within `range`, or the default.
fn query_number<T: std::str::FromStr + PartialOrd>(
    key: &str,
    v: Option<&str>,
    range: std::ops::RangeInclusive<T>,
    default: T,
) -> Result<T, TradierError> {
    match v.filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| TradierError::parameter(key, v)),
    }
}

/// `GET /v1/markets/calendar?month=MM&year=YYYY`: every day of a month
/// (the current one by default), closed days with no hours.
pub async fn calendar(
    _: TradierAuth,
    format: Format,
    State(s): State<Shared>,
    Query(q): Query<CalendarQuery>,
) -> Response {
    let b = s.lock();
    let today = trading_date(&b, b.now());
    let days = query_number("month", q.month.as_deref(), 1..=12, today.month())
        .and_then(|month| {
            let year = query_number("year", q.year.as_deref(), 1970..=2261, today.year())?;
            NaiveDate::from_ymd_opt(year, month, 1)
                .map(|first| (month, year, first))
                .ok_or_else(|| TradierError::parameter("year", year))
        })
        .map(|(month, year, first)| {
            let days = first
                .iter_days()
                .take_while(|d| d.month() == month)
                .map(|d| calendar_day(session(&b), d))
                .collect();
            CalendarDoc {
                calendar: Calendar {
                    month,
                    year,
                    days: Listing::new(days),
                },
            }
        });
    format.answer(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_through_a_trading_day() {
        let at = |h: i64, m: i64, open| state_at(h * 3600 + m * 60, open, Some(CLOSE_LOCAL));
        assert_eq!(at(6, 59, false).0, "closed");
        let pre = at(7, 0, false);
        assert_eq!(
            (pre.0, hhmm(pre.2), pre.3),
            ("premarket", "09:30".into(), "open")
        );
        let open = at(10, 0, true);
        assert_eq!(
            (open.0, open.1.as_str(), hhmm(open.2), open.3),
            (
                "open",
                "Market is open from 09:30 to 16:00",
                "16:00".into(),
                "postmarket"
            )
        );
        let post = at(16, 0, false);
        assert_eq!(
            (post.0, hhmm(post.2), post.3),
            ("postmarket", "20:00".into(), "closed")
        );
        assert_eq!(at(20, 0, false).0, "closed");
        assert_eq!(state_at(10 * 3600, false, None).0, "closed");
        // An early close: open until 13:00, then postmarket.
        let early = state_at(12 * 3600, true, Some(13 * 3600));
        assert_eq!(early.1, "Market is open from 09:30 to 13:00");
    }

    #[test]
    fn the_calendar_shows_holidays_and_early_closes() {
        let s = Session::default();
        let day = |m, d| calendar_day(&s, NaiveDate::from_ymd_opt(2026, m, d).unwrap());
        assert_eq!(day(1, 19).status, "closed");
        assert_eq!(day(11, 27).open.map(|h| h.end), Some("13:00".to_string()));
        let summer = day(7, 6).open.unwrap();
        assert_eq!(
            (summer.start, summer.end),
            ("09:30".to_string(), "16:00".to_string())
        );
    }
}
