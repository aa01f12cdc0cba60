//! The order endpoints (reference §2.2–§2.7, §4): place and replace answer
//! 201 with an empty body and the order's id only in `Location` (with
//! Schwab's production host, whatever address the model is served on:
//! schwab-py's `Utils.extract_order_id` matches nothing else); cancel
//! answers 200, empty; preview answers 200 even for an order that would be
//! rejected; lists need an entry-time window.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;

use mbt::engine::ReplaceRequest;
use mbt::{OrderRequest, Timestamp};

use super::auth::{account_hash, Account, OrderPath, SchwabAuth};
use super::errors::{refusal, SchwabError};
use super::orders::{listed, type_word, visible, View};
use super::requests::{self, Placement};
use super::wire::{self, Order};
use crate::brokerage::{BrokerError, BrokerOrder, OrderClass, SimBrokerage};
use crate::face::{LoseThisResponse, Shared};
use crate::faults::Decision;

/// The host every `Location` names (§1.3, §4, §8.2).
const PRODUCTION: &str = "https://api.schwabapi.com/trader/v1";

/// `maxResults` when a list names none (§2.5).
const DEFAULT_MAX_RESULTS: usize = 3000;
/// The longest window a list takes (§2.5: one year), and how far back the
/// all-accounts list reaches (§8.6: 60 days), in ms.
const MAX_WINDOW_MS: i64 = 366 * 86_400_000;
const ALL_ACCOUNTS_REACH_MS: i64 = 60 * 86_400_000;

/// 201, no body, `Location` naming the order under the path's hash.
fn created(b: &SimBrokerage, account: &str, vendor_id: &str) -> Response {
    let location = format!(
        "{PRODUCTION}/accounts/{}/orders/{vendor_id}",
        account_hash(b, account)
    );
    let mut r = StatusCode::CREATED.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The symbol a refusal names: the first leg the venue does not list, else the order's own.
fn named_symbol(b: &SimBrokerage, r: &OrderRequest) -> String {
    let legs = r.legs.iter().flatten().map(|l| &l.instrument);
    let single = (!r.is_multi_leg()).then_some(&r.instrument);
    legs.chain(single)
        .find(|i| !b.engine().is_listed(i))
        .unwrap_or(&r.instrument)
        .to_string()
}

/// Places what a request came to; answers the order's vendor id, or
/// `None` when the fault plan lost the answer after the broker committed.
fn place(
    b: &mut SimBrokerage,
    placement: Placement,
    decision: &Decision,
) -> Result<Option<String>, SchwabError> {
    let symbol = named_symbol(b, placement.first());
    let placed = match placement {
        Placement::Single(r) => b.submit(r, decision),
        Placement::Trigger { first, then } => {
            b.submit_group(OrderClass::Oto, first, vec![then], decision)
        }
    };
    match placed {
        Ok(o) if o.lose_response => Ok(None),
        Ok(o) => Ok(Some(o.vendor_id.clone())),
        Err((_, rejection)) => Err(refusal(&rejection, &symbol)),
    }
}

/// `POST /accounts/{hash}/orders`.
pub async fn submit(
    Account(account): Account,
    State(s): State<Shared>,
    Extension(decision): Extension<Decision>,
    body: Bytes,
) -> Result<Response, SchwabError> {
    let placement = requests::parse(&account, &body)?;
    let mut b = s.lock();
    b.sync();
    match place(&mut b, placement, &decision)? {
        Some(id) => Ok(created(&b, &account, &id)),
        None => Ok(LoseThisResponse.into_response()),
    }
}

/// The account's order `id`, if Schwab would show it.
fn order_of<'a>(b: &'a SimBrokerage, path: &OrderPath) -> Result<&'a BrokerOrder, SchwabError> {
    b.order(&path.id)
        .filter(|o| o.account == path.account && visible(o))
        .ok_or_else(|| SchwabError::order_not_found(&path.id))
}

/// `GET /accounts/{hash}/orders/{id}`.
pub async fn get_order(
    path: OrderPath,
    State(s): State<Shared>,
) -> Result<Json<Order>, SchwabError> {
    let mut b = s.lock();
    b.sync();
    let o = order_of(&b, &path)?;
    Ok(Json(View::new(&b).order(o)))
}

/// `DELETE /accounts/{hash}/orders/{id}`: 200, empty; the cancel lands
/// shortly after (PENDING_CANCEL meanwhile, §2.6).
pub async fn cancel(path: OrderPath, State(s): State<Shared>) -> Result<Response, SchwabError> {
    let mut b = s.lock();
    b.sync();
    order_of(&b, &path)?;
    match b.cancel(&path.id) {
        Ok(()) => Ok(StatusCode::OK.into_response()),
        Err(BrokerError::NotCancelable(status)) => Err(SchwabError::terminal(
            &path.id,
            "canceled",
            b.profile().vendor_status(status),
        )),
        Err(_) => Err(SchwabError::order_not_found(&path.id)),
    }
}

/// A complete new order as the changes the engine can make to `old`:
/// quantity, prices and duration. A replace that would change what is
/// traded, the instruction or the order type is refused loudly.
fn changes(old: &OrderRequest, new: &OrderRequest) -> Result<ReplaceRequest, SchwabError> {
    let same_kind = old.instrument == new.instrument
        && old.side == new.side
        && old.position_effect == new.position_effect
        && old.legs == new.legs
        && type_word(old) == type_word(new)
        && old.order_type == new.order_type;
    if !same_kind {
        return Err(SchwabError::not_simulated(
            "A replace that changes the instrument, instruction or order type",
        ));
    }
    Ok(ReplaceRequest {
        quantity: Some(new.quantity),
        limit_price: new.limit_price,
        stop_price: new.stop_price,
        time_in_force: Some(new.time_in_force),
        client_order_id: None,
        trail: None,
        order_type: None,
    })
}

/// `PUT /accounts/{hash}/orders/{id}`: a complete order replaces the old
/// one under a new id, answered as a placement is (201, `Location`, §2.7).
pub async fn replace(
    path: OrderPath,
    State(s): State<Shared>,
    body: Bytes,
) -> Result<Response, SchwabError> {
    let Placement::Single(new) = requests::parse(&path.account, &body)? else {
        return Err(SchwabError::not_simulated(
            "Replacing an order with a TRIGGER",
        ));
    };
    let mut b = s.lock();
    b.sync();
    let old = order_of(&b, &path)?;
    let view = View::new(&b);
    let state = b.state(old);
    if state.status.is_terminal() || state.status == mbt::OrderStatus::PendingCancel {
        return Err(SchwabError::terminal(
            &path.id,
            "replaced",
            &view.status(old),
        ));
    }
    let changes = changes(&old.request, &new)?;
    let symbol = named_symbol(&b, &new);
    match b.replace(&path.id, changes) {
        Ok(new_id) => Ok(created(&b, &path.account, &new_id)),
        Err(BrokerError::NotCancelable(status)) => Err(SchwabError::terminal(
            &path.id,
            "replaced",
            b.profile().vendor_status(status),
        )),
        Err(BrokerError::Rejected(r)) => Err(refusal(&r, &symbol)),
        Err(_) => Err(SchwabError::order_not_found(&path.id)),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    from_entered_time: Option<String>,
    to_entered_time: Option<String>,
    max_results: Option<String>,
    status: Option<String>,
}

/// A query time: `2024-03-29T00:00:00.000Z` as documented, without the
/// millis as schwab-py sends it, or with an offset (§2.5, §6).
fn query_time(text: &str) -> Option<Timestamp> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(Timestamp::from_datetime(t.with_timezone(&Utc)));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(Timestamp::from_datetime(t.with_timezone(&Utc)));
        }
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| Timestamp::from_datetime(t.and_utc()))
}

/// What a list asks for, checked.
struct Listing {
    from: Timestamp,
    to: Timestamp,
    max: usize,
    status: Option<String>,
}

impl ListQuery {
    fn checked(&self, now: Timestamp, all_accounts: bool) -> Result<Listing, SchwabError> {
        let (Some(from), Some(to)) = (&self.from_entered_time, &self.to_entered_time) else {
            return Err(SchwabError::bad_window(
                "fromEnteredTime and toEnteredTime are required",
            ));
        };
        let parse = |name: &str, text: &str| {
            query_time(text).ok_or_else(|| {
                SchwabError::bad_window(format!(
                    "{name} must be an ISO-8601 date-time (yyyy-MM-dd'T'HH:mm:ss.SSSZ)"
                ))
            })
        };
        let (from, to) = (parse("fromEnteredTime", from)?, parse("toEnteredTime", to)?);
        if to.millis() < from.millis() {
            return Err(SchwabError::bad_window(
                "toEnteredTime must not be before fromEnteredTime",
            ));
        }
        if to.millis().saturating_sub(from.millis()) > MAX_WINDOW_MS {
            return Err(SchwabError::bad_window(
                "The date range may not exceed one year",
            ));
        }
        if all_accounts && now.millis().saturating_sub(from.millis()) > ALL_ACCOUNTS_REACH_MS {
            return Err(SchwabError::bad_window(
                "fromEnteredTime must be within 60 days from today",
            ));
        }
        let max = match self.max_results.as_deref() {
            None => DEFAULT_MAX_RESULTS,
            Some(m) => m
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| SchwabError::invalid("maxResults must be a positive integer"))?,
        };
        Ok(Listing {
            from,
            to,
            max,
            status: self.status.clone(),
        })
    }
}

/// The orders of `accounts` a listing covers, newest first.
fn listing(b: &SimBrokerage, accounts: &[String], l: &Listing) -> Vec<Order> {
    let view = View::new(b);
    let mut orders: Vec<&BrokerOrder> = accounts
        .iter()
        .flat_map(|a| b.orders_of(a))
        .filter(|o| listed(o))
        .filter(|o| o.submitted_at >= l.from && o.submitted_at <= l.to)
        .filter(|o| l.status.as_ref().is_none_or(|s| *s == view.status(o)))
        .collect();
    // Newest first; ids break ties (they count up).
    orders.sort_by_key(|o| (o.submitted_at, wire::order_id(&o.vendor_id)));
    orders.reverse();
    orders
        .into_iter()
        .take(l.max)
        .map(|o| view.order(o))
        .collect()
}

/// `GET /accounts/{hash}/orders?fromEnteredTime=…&toEnteredTime=…`.
pub async fn list(
    Account(account): Account,
    State(s): State<Shared>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Order>>, SchwabError> {
    let mut b = s.lock();
    b.sync();
    let l = q.checked(b.now(), false)?;
    Ok(Json(listing(&b, &[account], &l)))
}

/// `GET /orders?…`: every linked account's orders.
pub async fn list_all(
    _: SchwabAuth,
    State(s): State<Shared>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Order>>, SchwabError> {
    let mut b = s.lock();
    b.sync();
    let l = q.checked(b.now(), true)?;
    let accounts = b.account_numbers();
    Ok(Json(listing(&b, &accounts, &l)))
}

/// What the order is worth at its price, or at the quote it would take
/// (the preview's `orderValue`).
fn order_value(b: &SimBrokerage, r: &OrderRequest) -> Decimal {
    let price = r.limit_price.or(r.stop_price).unwrap_or_else(|| {
        b.engine()
            .quote(&r.instrument)
            .map_or(Decimal::ZERO, |q| match r.side {
                mbt::Side::Buy => q.ask,
                mbt::Side::Sell => q.bid,
            })
    });
    price
        .saturating_mul(r.quantity)
        .saturating_mul(r.instrument.multiplier())
}

/// `POST /accounts/{hash}/previewOrder`: what the order would come to,
/// 200 even when it would be rejected (§2.3, §8.7). Nothing is placed.
pub async fn preview(
    Account(account): Account,
    State(s): State<Shared>,
    body: Bytes,
) -> Result<Json<wire::PreviewOrder>, SchwabError> {
    let placement = requests::parse(&account, &body)?;
    let advanced = match placement {
        Placement::Single(_) => "NONE",
        Placement::Trigger { .. } => "OTO",
    };
    let mut b = s.lock();
    b.sync();
    let r = placement.first();
    let verdict = b.engine().validate(r);
    let symbol = named_symbol(&b, r);
    let value = order_value(&b, r);
    Ok(Json(super::preview::answer(
        &b,
        &account,
        r,
        advanced,
        value,
        verdict.err().map(|rej| (rej, symbol)),
    )))
}
