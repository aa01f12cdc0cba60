//! An account's history and closed positions (reference §2.11;
//! docs.tradier.com `docs/history`, `docs/gainloss`).
//!
//! Both come from Tradier's clearing firm and are "updated nightly (not
//! intraday)" (documentation.tradier.com `get-account-history`,
//! `get-account-gainloss`): what happened today shows tomorrow. They are
//! made from the engine's executions and option expiries; other activity
//! (deposits, dividends, exercise and assignment) is not rendered.

use std::collections::{BTreeMap, VecDeque};

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use mbt::{EngineEvent, Instrument, LogEntry, OptionRight, Side};

use super::auth::TradierAccount;
use super::errors::TradierError;
use super::format::Format;
use super::markets::trading_date;
use super::wire::{
    symbol, ClosedPosition, GainLossDoc, HistoryDetail, HistoryDoc, HistoryEvent, HistoryOption,
    HistoryTrade, Listing, Number,
};
use crate::brokerage::SimBrokerage;
use crate::face::Shared;

/// One execution or expiry of the account, on its trading day.
struct Activity<'a> {
    date: NaiveDate,
    instrument: &'a Instrument,
    /// Signed: negative for a sale.
    quantity: Decimal,
    price: Decimal,
    fee: Decimal,
    expiry: bool,
}

/// The account's activity up to yesterday (the nightly batch), oldest first.
fn activities<'a>(b: &'a SimBrokerage, acct: &str) -> Vec<Activity<'a>> {
    let today = trading_date(b, b.now());
    b.engine()
        .log()
        .entries()
        .filter_map(|e| activity(b, acct, e))
        .filter(|a| a.date < today)
        .collect()
}

fn activity<'a>(b: &SimBrokerage, acct: &str, e: &'a LogEntry) -> Option<Activity<'a>> {
    let date = trading_date(b, e.time);
    match &e.event {
        EngineEvent::Fill {
            account_id,
            instrument,
            side,
            quantity,
            price,
            fee,
            ..
        } if account_id == acct => Some(Activity {
            date,
            instrument,
            quantity: if *side == Side::Sell {
                -*quantity
            } else {
                *quantity
            },
            price: *price,
            fee: *fee,
            expiry: false,
        }),
        EngineEvent::OptionExpiredWorthless {
            account_id,
            instrument,
            quantity,
        } if account_id == acct => Some(Activity {
            date,
            instrument,
            // The position the expiry removes, signed as a trade closing it.
            quantity: -*quantity,
            price: Decimal::ZERO,
            fee: Decimal::ZERO,
            expiry: true,
        }),
        _ => None,
    }
}

struct DateRange {
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
}

impl DateRange {
    fn contains(&self, date: NaiveDate) -> bool {
        self.start.is_none_or(|s| date >= s) && self.end.is_none_or(|e| date <= e)
    }
}

#[derive(Deserialize)]
pub struct ActivityQuery {
    page: Option<String>,
    limit: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    start: Option<String>,
    end: Option<String>,
    symbol: Option<String>,
    #[serde(rename = "exactMatch")]
    exact_match: Option<String>,
    #[serde(rename = "sortBy")]
    sort_by: Option<String>,
    sort: Option<String>,
}

impl ActivityQuery {
    fn date(key: &str, v: &Option<String>) -> Result<Option<NaiveDate>, TradierError> {
        v.as_deref()
            .filter(|v| !v.is_empty())
            .map(|v| {
                NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map_err(|_| TradierError::parameter(key, v))
            })
            .transpose()
    }

    /// The `start`..=`end` dates asked for (either open).
    fn range(&self) -> Result<DateRange, TradierError> {
        Ok(DateRange {
            start: Self::date("start", &self.start)?,
            end: Self::date("end", &self.end)?,
        })
    }

    /// `symbol=SPY` matches SPY and, unless `exactMatch=true`, SPY's options.
    fn matches(&self, i: &Instrument) -> bool {
        let exact = self
            .exact_match
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        match self.symbol.as_deref().filter(|s| !s.is_empty()) {
            None => true,
            Some(s) if exact => symbol(i) == s,
            Some(s) => symbol(i) == s || i.underlying() == s,
        }
    }

    /// The page asked for, `limit` items long (`default_limit` when none is asked).
    fn page<T>(&self, items: Vec<T>, default_limit: usize) -> Vec<T> {
        let count = |v: &Option<String>| {
            v.as_deref()
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|n| *n > 0)
        };
        let page = count(&self.page).unwrap_or(1);
        let limit = count(&self.limit).unwrap_or(default_limit);
        items
            .into_iter()
            .skip(page.saturating_sub(1).saturating_mul(limit))
            .take(limit)
            .collect()
    }
}

/// `CALL GE     06/22/18    14`, the docs' description of an option.
fn description(i: &Instrument) -> String {
    match i {
        Instrument::Equity { symbol } => symbol.clone(),
        Instrument::Option { occ } => format!(
            "{} {:<7}{}    {}",
            match occ.right() {
                OptionRight::Call => "CALL",
                OptionRight::Put => "PUT",
            },
            occ.root(),
            occ.expiry().format("%m/%d/%y"),
            occ.strike().normalize()
        ),
    }
}

/// Cash the activity moved: a purchase costs price × quantity × multiplier plus fees.
fn amount(a: &Activity) -> Option<Decimal> {
    let gross = a
        .price
        .checked_mul(a.quantity)?
        .checked_mul(a.instrument.multiplier())?;
    Decimal::ZERO.checked_sub(gross)?.checked_sub(a.fee)
}

fn history_event(a: &Activity) -> Option<HistoryEvent> {
    let date = format!("{}T00:00:00Z", a.date);
    let amount = Number(amount(a)?);
    if a.expiry {
        return Some(HistoryEvent {
            amount,
            date,
            kind: "option",
            detail: HistoryDetail::Option(HistoryOption {
                option_type: "OPTEXP",
                description: "Expired",
                quantity: Number(a.quantity),
            }),
        });
    }
    Some(HistoryEvent {
        amount,
        date,
        kind: "trade",
        detail: HistoryDetail::Trade(HistoryTrade {
            commission: Number(a.fee),
            description: description(a.instrument),
            price: Number(a.price),
            quantity: Number(a.quantity),
            symbol: symbol(a.instrument),
            trade_type: if a.instrument.is_option() {
                "Option"
            } else {
                "Equity"
            },
        }),
    })
}

/// `GET /v1/accounts/{id}/history`: newest first, 25 a page by default.
pub async fn history(
    TradierAccount(acct): TradierAccount,
    format: Format,
    State(s): State<Shared>,
    Query(q): Query<ActivityQuery>,
) -> Response {
    let range = match q.range() {
        Ok(r) => r,
        Err(e) => return e.render(format),
    };
    let kinds: Vec<&str> = q
        .kind
        .as_deref()
        .map(|k| k.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let mut b = s.lock();
    b.sync();
    let events = activities(&b, &acct)
        .iter()
        .rev()
        .filter(|a| {
            let kind = if a.expiry { "option" } else { "trade" };
            (kinds.is_empty() || kinds.contains(&kind))
                && range.contains(a.date)
                && q.matches(a.instrument)
        })
        .filter_map(history_event)
        .collect();
    format.answer(Ok(HistoryDoc {
        history: Listing::new(q.page(events, 25)),
    }))
}

/// An open lot: signed quantity, and per unit its price and fee.
struct Lot {
    quantity: Decimal,
    price: Decimal,
    fee: Decimal,
    opened: NaiveDate,
}

/// A closed position and its dates, to filter and sort by.
struct Closed {
    open: NaiveDate,
    close: NaiveDate,
    body: ClosedPosition,
}

/// `m` units of `lot` closed by `close` (at its price, with its fee per unit).
fn closed(lot: &Lot, close: &Activity, m: Decimal) -> Option<Closed> {
    let mult = close.instrument.multiplier();
    let close_fee = close
        .fee
        .checked_div(close.quantity.abs())
        .unwrap_or_default();
    // What was paid (with fees) and what was received (less fees), per unit.
    let (buy, buy_fee, sell, sell_fee) = if lot.quantity > Decimal::ZERO {
        (lot.price, lot.fee, close.price, close_fee)
    } else {
        (close.price, close_fee, lot.price, lot.fee)
    };
    let cost = buy
        .checked_mul(mult)?
        .checked_add(buy_fee)?
        .checked_mul(m)?;
    let proceeds = sell
        .checked_mul(mult)?
        .checked_sub(sell_fee)?
        .checked_mul(m)?;
    let gain = proceeds.checked_sub(cost)?;
    let percent = gain
        .checked_mul(Decimal::ONE_HUNDRED)?
        .checked_div(cost)
        .unwrap_or_default()
        .round_dp(4);
    let at = |d: NaiveDate| format!("{d}T00:00:00.000Z");
    Some(Closed {
        open: lot.opened,
        close: close.date,
        body: ClosedPosition {
            close_date: at(close.date),
            cost: Number(cost.normalize()),
            gain_loss: Number(gain.normalize()),
            gain_loss_percent: Number(percent.normalize()),
            open_date: at(lot.opened),
            proceeds: Number(proceeds.normalize()),
            quantity: Number(m),
            symbol: symbol(close.instrument),
            term: (close.date - lot.opened).num_days(),
        },
    })
}

/// `x` moved `m` toward zero (`m` ≤ |x|: exact, no overflow).
fn toward_zero(x: Decimal, m: Decimal) -> Decimal {
    if x.is_sign_negative() {
        x + m
    } else {
        x - m
    }
}

/// Positions closed by the activity, lots matched first in, first out.
fn closed_positions(activities: &[Activity]) -> Vec<Closed> {
    let mut lots: BTreeMap<&Instrument, VecDeque<Lot>> = BTreeMap::new();
    let mut out = Vec::new();
    for a in activities {
        let open = lots.entry(a.instrument).or_default();
        let mut left = a.quantity;
        while let Some(lot) = open
            .front_mut()
            .filter(|l| l.quantity.is_sign_positive() != left.is_sign_positive())
        {
            let m = left.abs().min(lot.quantity.abs());
            if m.is_zero() {
                break;
            }
            out.extend(closed(lot, a, m));
            lot.quantity = toward_zero(lot.quantity, m);
            left = toward_zero(left, m);
            if lot.quantity.is_zero() {
                open.pop_front();
            }
        }
        if !left.is_zero() {
            open.push_back(Lot {
                quantity: left,
                price: a.price,
                fee: a.fee.checked_div(a.quantity.abs()).unwrap_or_default(),
                opened: a.date,
            });
        }
    }
    out
}

/// `GET /v1/accounts/{id}/gainloss`: by close date (or `sortBy=openDate`),
/// newest first unless `sort=asc`.
pub async fn gainloss(
    TradierAccount(acct): TradierAccount,
    format: Format,
    State(s): State<Shared>,
    Query(q): Query<ActivityQuery>,
) -> Response {
    let range = match q.range() {
        Ok(r) => r,
        Err(e) => return e.render(format),
    };
    let mut b = s.lock();
    b.sync();
    let mut positions: Vec<Closed> = closed_positions(&activities(&b, &acct))
        .into_iter()
        .filter(|p| {
            range.contains(p.close)
                && q.symbol
                    .as_deref()
                    .is_none_or(|s| s.is_empty() || s == p.body.symbol)
        })
        .collect();
    let by_open = q.sort_by.as_deref() == Some("openDate");
    // Stable: positions closed the same day keep the order they closed in.
    positions.sort_by_key(|p| if by_open { p.open } else { p.close });
    if q.sort.as_deref() != Some("asc") {
        positions.reverse();
    }
    let page = q
        .page(positions, usize::MAX)
        .into_iter()
        .map(|p| p.body)
        .collect();
    format.answer(Ok(GainLossDoc {
        gainloss: Listing::new(page),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act<'a>(i: &'a Instrument, day: u32, quantity: i64, price: &str, fee: &str) -> Activity<'a> {
        Activity {
            date: NaiveDate::from_ymd_opt(2018, 9, day).unwrap(),
            instrument: i,
            quantity: Decimal::from(quantity),
            price: price.parse().unwrap(),
            fee: fee.parse().unwrap(),
            expiry: false,
        }
    }

    #[test]
    fn lots_close_first_in_first_out() {
        let snap = Instrument::equity("SNAP");
        // The docs' SNAP example: 100 bought at 9.1395, sold at 9.20 the next day.
        let closes = closed_positions(&[
            act(&snap, 18, 100, "9.1395", "0"),
            act(&snap, 19, -100, "9.20", "0"),
        ]);
        let c = serde_json::to_value(closes.iter().map(|c| &c.body).collect::<Vec<_>>()).unwrap();
        assert_eq!(
            c,
            serde_json::json!([{"close_date":"2018-09-19T00:00:00.000Z","cost":913.95,"gain_loss":6.05,
                "gain_loss_percent":0.662,"open_date":"2018-09-18T00:00:00.000Z","proceeds":920,
                "quantity":100,"symbol":"SNAP","term":1}])
        );
        // A short opened by a sale and covered in two buys.
        let closes = closed_positions(&[
            act(&snap, 3, -10, "10", "0"),
            act(&snap, 4, 4, "9", "0"),
            act(&snap, 5, 6, "11", "0"),
        ]);
        let gains: Vec<String> = closes
            .iter()
            .map(|c| serde_json::to_string(&c.body.gain_loss).unwrap())
            .collect();
        assert_eq!(gains, ["4", "-6"]);
        let call = Instrument::parse_symbol("GE180622C00014000");
        assert_eq!(description(&call), "CALL GE     06/22/18    14");
    }
}
