//! `GET /v2/account/activities[/{activity_type}]`: the account's fills
//! (`FILL`, from the broker's fill events, §3.3) and its option expiries
//! (`OPEXP`, `OPEXC`, `OPASN`, from the engine's settlement records).
//! Other activity types (dividends, fees, transfers) have nothing behind
//! them in the model, so they list nothing.

use axum::extract::State;
use axum::Json;
use rust_decimal::Decimal;

use mbt::{EngineEvent, Instrument, LogEntry, Side};

use super::account::account_uuid;
use super::auth::AlpacaAuth;
use super::errors::AlpacaError;
use super::extract::{Params, Seg};
use super::orders::side_word;
use super::wire::{self, Activity, NonTradeActivity, TradeActivity};
use crate::brokerage::{BrokerEvent, BrokerEventKind, SimBrokerage};
use crate::face::Shared;

/// Alpaca pages activities 100 at a time at most (the default too).
const MAX_PAGE: usize = 100;

/// An activity with what the filters read.
struct Dated {
    time: mbt::Timestamp,
    kind: &'static str,
    activity: Activity,
}

/// Activity ids look like `20220203000000000::<uuid>` (§6): the time, then a UUID.
fn activity_id(time: mbt::Timestamp, parts: &[&str]) -> String {
    let stamp = time.to_datetime().format("%Y%m%d%H%M%S%3f");
    format!("{stamp}::{}", wire::uuid_from(parts))
}

/// The fill's leg of a multi-leg order, if it is one: its id, side and ratio.
fn leg_of<'a>(
    b: &'a SimBrokerage,
    e: &BrokerEvent,
    instrument: &Instrument,
) -> Option<(&'a str, Side, Decimal)> {
    let o = b.order(&e.vendor_id)?;
    let legs = o.request.legs.as_ref()?;
    legs.iter()
        .zip(&o.leg_ids)
        .find(|(l, _)| l.instrument == *instrument)
        .map(|(l, id)| (id.as_str(), l.side, l.ratio_quantity))
}

fn fill(b: &SimBrokerage, account: &str, e: &BrokerEvent) -> Option<Dated> {
    let BrokerEventKind::Fill {
        instrument,
        quantity,
        price,
        ..
    } = &e.kind
    else {
        return None;
    };
    let o = b.order(&e.vendor_id)?;
    // A leg reports its own id, side and share of the spread's quantities.
    let (order_id, side, ratio) =
        leg_of(b, e, instrument).unwrap_or((o.vendor_id.as_str(), o.request.side, Decimal::ONE));
    let ordered = o.request.quantity.checked_mul(ratio)?;
    let cum = e.state.filled_quantity.checked_mul(ratio)?;
    let filled = e.state.status == mbt::OrderStatus::Filled;
    Some(Dated {
        time: e.time,
        kind: "FILL",
        activity: Activity::Trade(TradeActivity {
            id: activity_id(e.time, &["activity", &e.seq.to_string()]),
            account_id: account_uuid(account),
            activity_type: "FILL",
            transaction_time: wire::time(e.time),
            kind: if filled { "fill" } else { "partial_fill" },
            price: wire::dec(*price),
            qty: wire::dec(*quantity),
            side: side_word(side),
            symbol: wire::symbol(instrument),
            leaves_qty: wire::dec(ordered.saturating_sub(cum).max(Decimal::ZERO)),
            order_id: order_id.to_string(),
            cum_qty: wire::dec(cum),
            order_status: b.profile().vendor_status(e.state.status).to_string(),
        }),
    })
}

/// An option settled at expiry. Its cash moves in the underlying's trade at
/// the strike, so the activity itself carries no amount (the reference gives
/// no example of these bodies, §3.3).
fn expiry(account: &str, entry: &LogEntry) -> Option<Dated> {
    let (kind, description, instrument, quantity) = match &entry.event {
        EngineEvent::OptionExpiredWorthless {
            account_id,
            instrument,
            quantity,
        } if account_id == account => ("OPEXP", "Option Expiry", instrument, quantity),
        EngineEvent::OptionExercised {
            account_id,
            instrument,
            quantity,
            assigned,
        } if account_id == account => {
            if *assigned {
                ("OPASN", "Option Assignment", instrument, quantity)
            } else {
                ("OPEXC", "Option Exercise", instrument, quantity)
            }
        }
        _ => return None,
    };
    Some(Dated {
        time: entry.time,
        kind,
        activity: Activity::NonTrade(NonTradeActivity {
            id: activity_id(entry.time, &["activity", "engine", &entry.seq.to_string()]),
            account_id: account_uuid(account),
            activity_type: kind,
            date: entry.time.date().to_string(),
            net_amount: "0".into(),
            description: description.into(),
            status: "executed",
            symbol: wire::symbol(instrument),
            qty: wire::dec(*quantity),
        }),
    })
}

/// Every activity of the account, oldest first.
fn all(b: &SimBrokerage, account: &str) -> Vec<Dated> {
    let fills = b
        .events_since(0)
        .filter(|e| e.account == account)
        .filter_map(|e| fill(b, account, e));
    let expiries = b
        .engine()
        .log()
        .entries()
        .filter_map(|e| expiry(account, e));
    let mut out: Vec<Dated> = fills.chain(expiries).collect();
    // Stable: events of one moment keep the order they happened in.
    out.sort_by_key(|d| d.time);
    out
}

fn time_param(q: &Params, key: &str) -> Result<Option<mbt::Timestamp>, AlpacaError> {
    q.get(key)
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| mbt::Timestamp::from_datetime(d.into()))
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|d| mbt::Timestamp::from_datetime(d.and_utc()))
                        .ok_or(())
                })
                // Message not in the reference.
                .map_err(|_| AlpacaError::invalid(format!("invalid {key}")))
        })
        .transpose()
}

fn id_of(a: &Activity) -> &str {
    match a {
        Activity::Trade(t) => &t.id,
        Activity::NonTrade(n) => &n.id,
    }
}

/// The activities a query asks for: types, `date` (one day), `after` and
/// `until`, `direction` (newest first by default), `page_size` and
/// `page_token` (the id of the last activity of the previous page).
fn select(
    mut list: Vec<Dated>,
    types: &[String],
    q: &Params,
) -> Result<Vec<Activity>, AlpacaError> {
    let after = time_param(q, "after")?;
    let until = time_param(q, "until")?;
    let date = q.get("date").map(str::to_string);
    let page_size = match q.get("page_size") {
        None => MAX_PAGE,
        Some(p) => p
            .parse::<usize>()
            .map_err(|_| AlpacaError::invalid("invalid page_size"))?
            .clamp(1, MAX_PAGE),
    };
    if !q
        .get("direction")
        .is_some_and(|d| d.eq_ignore_ascii_case("asc"))
    {
        list.reverse();
    }
    let kept = list.into_iter().filter(|d| {
        (types.is_empty() || types.iter().any(|t| t.eq_ignore_ascii_case(d.kind)))
            && after.is_none_or(|a| d.time > a)
            && until.is_none_or(|u| d.time < u)
            && date
                .as_deref()
                .is_none_or(|day| d.time.date().to_string() == day)
    });
    let mut activities = kept.map(|d| d.activity).peekable();
    if let Some(token) = q.get("page_token") {
        while activities.next_if(|a| id_of(a) != token).is_some() {}
        // Skip the token's own activity: the page starts after it.
        activities.next();
    }
    Ok(activities.take(page_size).collect())
}

/// `GET /v2/account/activities?activity_types=`.
pub async fn list(
    State(s): State<Shared>,
    AlpacaAuth(account): AlpacaAuth,
    q: Params,
) -> Result<Json<Vec<Activity>>, AlpacaError> {
    let list = {
        let mut b = s.lock();
        b.sync();
        all(&b, &account)
    };
    select(list, &q.list("activity_types"), &q).map(Json)
}

/// `GET /v2/account/activities/{activity_type}`.
pub async fn of_type(
    State(s): State<Shared>,
    AlpacaAuth(account): AlpacaAuth,
    Seg(kind): Seg,
    q: Params,
) -> Result<Json<Vec<Activity>>, AlpacaError> {
    let list = {
        let mut b = s.lock();
        b.sync();
        all(&b, &account)
    };
    select(list, &[kind], &q).map(Json)
}
