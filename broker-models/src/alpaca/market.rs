//! The market's hours as Alpaca tells them: `GET /v2/clock` and
//! `GET /v2/calendar` (reference §2.11), from the engine's session calendar.

use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;

use mbt::engine::{new_york, Session};
use mbt::Timestamp;

use super::auth::AlpacaAuth;
use super::errors::AlpacaError;
use super::extract::Params;
use super::wire::{CalendarDay, Clock};
use crate::face::Shared;

/// `t` in New York, with that instant's offset (-05:00, or -04:00 in daylight time).
fn eastern_time(t: Timestamp) -> String {
    new_york(t).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
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

/// A session time as New York `HH:MM`.
fn hh_mm(t: Timestamp) -> String {
    new_york(t).format("%H:%M").to_string()
}

/// The next day with a session (the day itself when none is in sight).
fn next_trading_day(session: &Session, d: NaiveDate) -> NaiveDate {
    session.next_trading_day(d).unwrap_or(d)
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
    let days = start
        .iter_days()
        .take_while(|d| *d <= end)
        .filter_map(|d| session.hours(d).map(|h| (d, h)))
        .map(|(d, h)| CalendarDay {
            date: d.to_string(),
            open: hh_mm(h.open),
            close: hh_mm(h.close),
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
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        let winter = s.hours(day(1, 5)).unwrap();
        assert_eq!(
            (hh_mm(winter.open), hh_mm(winter.close)),
            ("09:30".into(), "16:00".into())
        );
        // Daylight time: the same hours in New York.
        let summer = s.hours(day(7, 6)).unwrap();
        assert_eq!(
            (hh_mm(summer.open), hh_mm(summer.close)),
            ("09:30".into(), "16:00".into())
        );
        assert!(eastern_time(summer.open).ends_with("-04:00"));
        // The day after Thanksgiving closes early.
        assert_eq!(hh_mm(s.hours(day(11, 27)).unwrap().close), "13:00");
        // Friday before Martin Luther King Jr. Day settles on Tuesday.
        assert_eq!(next_trading_day(&s, day(1, 16)).to_string(), "2026-01-20");
    }
}
