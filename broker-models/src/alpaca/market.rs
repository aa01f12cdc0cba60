//! The market's hours as Alpaca tells them: `GET /v2/clock` and
//! `GET /v2/calendar` (reference §2.11), from the engine's session calendar.

use axum::extract::State;
use axum::Json;
use chrono::{Datelike, FixedOffset, NaiveDate, Offset, Weekday};

use mbt::engine::Session;
use mbt::Timestamp;

use super::auth::AlpacaAuth;
use super::errors::AlpacaError;
use super::extract::Params;
use super::wire::{CalendarDay, Clock};
use crate::face::Shared;

/// New York in winter, the offset the engine's default session is set in
/// (14:30–21:00 UTC is 09:30–16:00 there). Daylight time is not modelled,
/// as the session itself does not model it.
pub fn eastern() -> FixedOffset {
    FixedOffset::west_opt(5 * 3600).unwrap_or_else(|| chrono::Utc.fix())
}

fn eastern_time(t: Timestamp) -> String {
    t.to_datetime()
        .with_timezone(&eastern())
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
}

/// `GET /v2/clock`: all four fields, with the Eastern offset.
pub async fn clock(State(s): State<Shared>, AlpacaAuth(_): AlpacaAuth) -> Json<Clock> {
    let (now, session, is_open) = {
        let mut b = s.lock();
        b.sync();
        (
            b.now(),
            b.engine().config().session.clone(),
            b.engine().is_open(),
        )
    };
    Json(Clock {
        timestamp: eastern_time(now),
        is_open,
        next_open: eastern_time(session.next_open(now).unwrap_or(now)),
        next_close: eastern_time(session.next_close(now).unwrap_or(now)),
    })
}

/// The span Alpaca's calendar covers (unverified: the reference gives no
/// defaults for `start`/`end`, §2.11); a request's range is clamped to it.
fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2029, 12, 31).unwrap_or_default()
}

fn trades_on(session: &Session, d: NaiveDate) -> bool {
    !session.weekdays_only || !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// A session time (UTC seconds of the day) as Eastern `HH:MM`.
fn hh_mm(utc_secs: u32) -> String {
    let secs = (i64::from(utc_secs) - 5 * 3600).rem_euclid(86_400);
    format!("{:02}:{:02}", secs / 3600, secs % 3600 / 60)
}

/// The next day with a session (a week at most away; the day itself at the
/// end of the calendar).
fn next_trading_day(session: &Session, d: NaiveDate) -> NaiveDate {
    d.iter_days()
        .skip(1)
        .take(7)
        .find(|n| trades_on(session, *n))
        .unwrap_or(d)
}

fn date_param(q: &Params, key: &str, default: NaiveDate) -> Result<NaiveDate, AlpacaError> {
    match q.get(key) {
        None => Ok(default),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            // Message not in the reference.
            .map_err(|_| AlpacaError::invalid(format!("invalid {key}"))),
    }
}

/// `GET /v2/calendar?start=&end=`: every trading day of the range, with
/// `open`/`close` exactly `HH:MM` (alpaca-py parses them with that format).
pub async fn calendar(
    State(s): State<Shared>,
    AlpacaAuth(_): AlpacaAuth,
    q: Params,
) -> Result<Json<Vec<CalendarDay>>, AlpacaError> {
    let start = date_param(&q, "start", first_day())?.max(first_day());
    let end = date_param(&q, "end", last_day())?.min(last_day());
    let session = s.lock().engine().config().session.clone();
    let (open, close) = (hh_mm(session.open_utc_secs), hh_mm(session.close_utc_secs));
    let days = start
        .iter_days()
        .take_while(|d| *d <= end)
        .filter(|d| trades_on(&session, *d))
        .map(|d| CalendarDay {
            date: d.to_string(),
            open: open.clone(),
            close: close.clone(),
            session_open: "0400".into(),
            session_close: "2000".into(),
            settlement_date: next_trading_day(&session, d).to_string(),
        })
        .collect();
    Ok(Json(days))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_times_read_in_new_york() {
        let s = Session::default();
        assert_eq!(
            (hh_mm(s.open_utc_secs), hh_mm(s.close_utc_secs)),
            ("09:30".into(), "16:00".into())
        );
        let friday = NaiveDate::from_ymd_opt(2026, 1, 9).unwrap();
        assert_eq!(next_trading_day(&s, friday).to_string(), "2026-01-12");
    }
}
