//! Orders (reference §4.4, §4.5, §5): place (`/trade/place`; the checked
//! place by trade id is `checked`'s), replace, cancel (the
//! current `/trading/cancel` and SDK 11's `/orders/cancel`), one order's
//! detail, and the lists. Every order goes to the brokerage behind the
//! account: a brokerage that does not trade through SnapTrade refuses it
//! (403, code 1066), a broken connection refuses it (402, code 3003), a
//! brokerage that is down fails it (503, code 3002).
//!
//! A place answers the brokerage's first state (`PENDING` until the
//! brokerage accepts it), never a fill. SnapTrade does not de-duplicate on
//! `client_order_id` (§4.5), so a resend is a second order.

use axum::extract::{OriginalUri, Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rust_decimal::Decimal;
use serde_json::json;

use mbt::{Instrument, OrderRequest, OrderType, PositionEffect, ReplaceRequest, Side, TimeInForce};

use super::accounts::{reach, Reach};
use super::auth::{Signed, UserCall};
use super::errors::SnapTradeError;
use super::view;
use super::wire::{
    AccountOrderRecord, AccountOrderRecordV2, CancelAnswer, ManualTradeFormWithOptions,
    ManualTradeReplaceForm, OrderRef, OrdersV2, RecentOrders,
};
use crate::brokerage::{BrokerError, BrokerOrder, SimBrokerage};
use crate::face::{LoseThisResponse, Shared};
use crate::faults::Operation;

/// How far back the recent orders reach (§4.4: the last 24 hours).
const RECENT_MS: i64 = 86_400_000;
/// `days` of the order list: 30 unless asked, at most 90 (§4.4).
const DEFAULT_DAYS: i64 = 30;
const MAX_DAYS: i64 = 90;

/// The instrument a place form names: an equity by `symbol` or by
/// `universal_symbol_id` (exactly one of them, §4.5), or, for a `*_TO_*`
/// action, an option by its OCC symbol in `symbol` (padded to 21
/// characters, or compact).
fn security(
    b: &SimBrokerage,
    form: &ManualTradeFormWithOptions,
) -> Result<Instrument, SnapTradeError> {
    let option = side_of(&form.action)?.1.is_some();
    match (&form.symbol, &form.universal_symbol_id) {
        (Some(s), None) if option => option_named(s),
        (Some(s), None) if mbt::instrument::is_ticker(s) => Ok(Instrument::equity(s)),
        (Some(s), None) => Err(SnapTradeError::invalid(format!(
            "Unable to verify data sent: {s:.32} is not a symbol"
        ))),
        (None, Some(_)) if option => Err(SnapTradeError::not_simulated(
            "an option named by universal_symbol_id (name it by its OCC symbol)",
        )),
        (None, Some(id)) => by_symbol_id(b, id).map(Instrument::equity),
        _ => Err(SnapTradeError::invalid(
            "Unable to verify data sent: exactly one of universal_symbol_id and symbol is required",
        )),
    }
}

/// The option contract an OCC symbol names.
pub(super) fn option_named(symbol: &str) -> Result<Instrument, SnapTradeError> {
    symbol
        .parse::<mbt::OccSymbol>()
        .map(Instrument::option)
        .map_err(|_| {
            SnapTradeError::invalid(format!(
                "Unable to verify data sent: {symbol:.32} is not an option symbol in the OCC format"
            ))
        })
}

/// The security whose universal symbol id is `id` among those the
/// brokerage trades (what symbol search and holdings show); any other id is
/// refused as data SnapTrade cannot verify.
pub(super) fn by_symbol_id(b: &SimBrokerage, id: &str) -> Result<String, SnapTradeError> {
    let canonical = crate::ids::canonical_uuid(id).ok_or_else(|| {
        SnapTradeError::invalid(format!(
            "Unable to verify data sent: universal_symbol_id {id:.40} is not a UUID"
        ))
    })?;
    b.engine()
        .market()
        .equities()
        .find(|s| view::symbol_id(s) == canonical)
        .map(str::to_string)
        .ok_or_else(|| {
            SnapTradeError::invalid(format!(
                "Unable to verify data sent: no security this brokerage trades has universal_symbol_id {canonical}"
            ))
        })
}

/// The engine's order for a place form naming `symbol`, or SnapTrade's
/// refusal of it.
pub(super) fn request(
    form: &ManualTradeFormWithOptions,
    instrument: Instrument,
    client_order_id: String,
) -> Result<OrderRequest, SnapTradeError> {
    let (side, position_effect) = side_of(&form.action)?;
    let order_type = order_type_of(&form.order_type)?;
    let time_in_force = tif_of(&form.time_in_force)?;
    if form
        .trading_session
        .as_deref()
        .is_some_and(|s| s != "REGULAR")
    {
        return Err(SnapTradeError::not_simulated(
            "an extended-hours trading_session",
        ));
    }
    let quantity =
        match (form.units, form.notional_value) {
            (Some(u), None) => positive_units(u.0)?,
            (None, Some(_)) => return Err(SnapTradeError::not_simulated("a notional_value order")),
            _ => return Err(SnapTradeError::invalid(
                "Unable to verify data sent: exactly one of units and notional_value is required",
            )),
        };
    let price = form.price.map(|p| p.0);
    let stop = form.stop.map(|p| p.0);
    priced(order_type, price, stop)?;
    Ok(OrderRequest {
        account_id: form.account_id.clone(),
        client_order_id,
        instrument,
        side,
        position_effect,
        quantity,
        order_type,
        limit_price: price,
        stop_price: stop,
        time_in_force,
        legs: None,
        trail: None,
    })
}

/// An action's side, and for an option's `*_TO_*` action whether it opens
/// or closes (`ActionStrictWithOptions`, `MlegActionStrict`).
pub(super) fn side_of(action: &str) -> Result<(Side, Option<PositionEffect>), SnapTradeError> {
    use PositionEffect::{Close, Open};
    Ok(match action {
        "BUY" => (Side::Buy, None),
        "SELL" => (Side::Sell, None),
        "BUY_TO_OPEN" => (Side::Buy, Some(Open)),
        "BUY_TO_CLOSE" => (Side::Buy, Some(Close)),
        "SELL_TO_OPEN" => (Side::Sell, Some(Open)),
        "SELL_TO_CLOSE" => (Side::Sell, Some(Close)),
        other => {
            return Err(SnapTradeError::invalid(format!(
            "Unable to verify data sent: action {other:.20} is not one of BUY, SELL, BUY_TO_OPEN, BUY_TO_CLOSE, SELL_TO_OPEN, SELL_TO_CLOSE"
        )))
        }
    })
}

// The words are `view`'s, read back: one table for both directions.
fn order_type_of(word: &str) -> Result<OrderType, SnapTradeError> {
    OrderType::ALL
        .into_iter()
        .find(|t| view::type_word(*t) == word)
        .ok_or_else(|| {
            SnapTradeError::invalid(format!(
                "Unable to verify data sent: order_type {word:.20} is not one of Market, Limit, Stop, StopLimit"
            ))
        })
}

pub(super) fn tif_of(word: &str) -> Result<TimeInForce, SnapTradeError> {
    if word == "GTD" {
        return Err(SnapTradeError::not_simulated("time_in_force GTD"));
    }
    TimeInForce::ALL
        .into_iter()
        .find(|t| view::tif_word(*t) == word)
        .ok_or_else(|| {
            SnapTradeError::invalid(format!(
                "Unable to verify data sent: time_in_force {word:.20} is not one of FOK, Day, GTC, IOC, GTD"
            ))
        })
}

pub(super) fn positive_units(units: Decimal) -> Result<Decimal, SnapTradeError> {
    if units <= Decimal::ZERO {
        return Err(SnapTradeError::invalid(
            "Unable to verify data sent: units must be positive",
        ));
    }
    Ok(units)
}

/// `price` for `Limit` and `StopLimit`, `stop` for `Stop` and `StopLimit`,
/// and neither where the type takes none.
fn priced(
    order_type: OrderType,
    price: Option<Decimal>,
    stop: Option<Decimal>,
) -> Result<(), SnapTradeError> {
    let wants_price = matches!(order_type, OrderType::Limit | OrderType::StopLimit);
    let wants_stop = matches!(order_type, OrderType::Stop | OrderType::StopLimit);
    let wrong = match (wants_price, price.is_some(), wants_stop, stop.is_some()) {
        (true, false, ..) => "price is required for Limit and StopLimit orders",
        (false, true, ..) => "price is only for Limit and StopLimit orders",
        (_, _, true, false) => "stop is required for Stop and StopLimit orders",
        (_, _, false, true) => "stop is only for Stop and StopLimit orders",
        _ => return Ok(()),
    };
    Err(SnapTradeError::invalid(format!(
        "Unable to verify data sent: {wrong}"
    )))
}

/// `POST /trade/place` (or `/api/v1/trade/place`, SDK 11's).
pub async fn place(
    State(s): State<Shared>,
    OriginalUri(uri): OriginalUri,
    UserCall(call): UserCall,
) -> Result<Response, SnapTradeError> {
    let form: ManualTradeFormWithOptions = call.form()?;
    let mut b = s.lock();
    b.sync();
    let d = reach(&b, &form.account_id, &call, Reach::Live)?;
    if !d.trading {
        // An order reached a brokerage with no way to trade: the read-only
        // tier's ground truth, refused or not.
        b.record_order_attempt(Operation::SubmitOrder, "POST", uri.path());
        return Err(SnapTradeError::no_trading(&d.name));
    }
    let instrument = security(&b, &form)?;
    let mut r = request(&form, instrument, String::new())?;
    // Drawn only for a form that passed: a refused one leaves the ids as they were.
    r.client_order_id = match &form.client_order_id {
        Some(c) => c.clone(),
        None => b.generate_client_id(),
    };
    submit(&mut b, r, &call)
}

/// Sends `r` to the brokerage: the order record in its first state, or
/// the brokerage's refusal.
pub(super) fn submit(
    b: &mut SimBrokerage,
    r: OrderRequest,
    call: &Signed,
) -> Result<Response, SnapTradeError> {
    submitted(b, r, call, |b, o| Json(view::order(b, o)).into_response())
}

/// Sends `r` to the brokerage: `answer` of the order taken, or the
/// brokerage's refusal.
pub(super) fn submitted(
    b: &mut SimBrokerage,
    r: OrderRequest,
    call: &Signed,
    answer: impl FnOnce(&SimBrokerage, &BrokerOrder) -> Response,
) -> Result<Response, SnapTradeError> {
    let symbol = r.instrument.to_string();
    match b.submit(r, &call.decision) {
        Ok(o) if o.lose_response => Ok(LoseThisResponse.into_response()),
        Ok(o) => {
            let o = o.clone();
            Ok(answer(b, &o))
        }
        Err((_, rejection)) => Err(SnapTradeError::declined(&rejection, &symbol)),
    }
}

/// The account's order `id`, if SnapTrade would show it (one the brokerage
/// took: a refused place never became an order).
fn order_of<'a>(
    b: &'a SimBrokerage,
    account: &str,
    id: &str,
) -> Result<&'a BrokerOrder, SnapTradeError> {
    b.order(id)
        .filter(|o| o.account == account && o.taken)
        .ok_or_else(SnapTradeError::not_found)
}

/// Cancels `id` at the brokerage; the order as it stands after.
fn cancel_order(
    b: &mut SimBrokerage,
    account: &str,
    call: &Signed,
) -> Result<BrokerOrder, SnapTradeError> {
    reach(b, account, call, Reach::Live)?;
    let OrderRef {
        brokerage_order_id: id,
    } = call.form()?;
    order_of(b, account, &id)?;
    match b.cancel(&id) {
        Ok(()) => {}
        Err(BrokerError::NotCancelable(status)) => {
            return Err(SnapTradeError::not_cancelable(
                b.profile().vendor_status(status),
            ))
        }
        Err(BrokerError::NotFound | BrokerError::UnknownAccount) => {
            return Err(SnapTradeError::not_found())
        }
        Err(BrokerError::Rejected(r)) => return Err(SnapTradeError::invalid(r.message)),
    }
    order_of(b, account, &id).cloned()
}

/// `POST /accounts/{id}/trading/replace`: a working order replaced by a
/// new one under a new `brokerage_order_id` (E*TRADE's change places a new
/// order; the spec: "may or may not change"); the replacement's record in
/// its first state. The form restates the order: its type, duration,
/// prices and units may change; a different action or security is a new
/// order, not a replacement, and is refused loudly.
pub async fn replace(
    Path(account): Path<String>,
    State(s): State<Shared>,
    UserCall(call): UserCall,
) -> Result<Json<AccountOrderRecord>, SnapTradeError> {
    let form: ManualTradeReplaceForm = call.form()?;
    let mut b = s.lock();
    b.sync();
    let d = reach(&b, &account, &call, Reach::Live)?;
    if !d.trading {
        return Err(SnapTradeError::no_trading(&d.name));
    }
    let old = order_of(&b, &account, &form.brokerage_order_id)?;
    let symbol = old.request.instrument.to_string();
    if side_of(&form.action)?.0 != old.request.side {
        return Err(SnapTradeError::not_simulated(
            "a replacement with another action (place a new order)",
        ));
    }
    if form.symbol.as_deref().is_some_and(|s| s != symbol) {
        return Err(SnapTradeError::not_simulated(
            "a replacement for another security (place a new order)",
        ));
    }
    let order_type = order_type_of(&form.order_type)?;
    let price = form.price.map(|p| p.0);
    let stop = form.stop.map(|p| p.0);
    priced(order_type, price, stop)?;
    let changes = ReplaceRequest {
        quantity: form.units.map(|u| positive_units(u.0)).transpose()?,
        limit_price: price,
        stop_price: stop,
        time_in_force: Some(tif_of(&form.time_in_force)?),
        client_order_id: None,
        trail: None,
        order_type: Some(order_type),
    };
    let id = old.vendor_id.clone();
    let new_id = match b.replace(&id, changes) {
        Ok(new_id) => new_id,
        Err(BrokerError::NotCancelable(status)) => {
            return Err(SnapTradeError::invalid(format!(
                "Order could not be replaced: it is {}.",
                b.profile().vendor_status(status)
            )))
        }
        Err(BrokerError::NotFound | BrokerError::UnknownAccount) => {
            return Err(SnapTradeError::not_found())
        }
        Err(BrokerError::Rejected(r)) => return Err(SnapTradeError::declined(&r, &symbol)),
    };
    let replacement = order_of(&b, &account, &new_id)?;
    Ok(Json(view::order(&b, replacement)))
}

/// `POST /accounts/{id}/trading/cancel` (SDK 13): the id and the
/// brokerage's raw answer.
pub async fn cancel(
    Path(account): Path<String>,
    State(s): State<Shared>,
    UserCall(call): UserCall,
) -> Result<Json<CancelAnswer>, SnapTradeError> {
    let mut b = s.lock();
    b.sync();
    let o = cancel_order(&mut b, &account, &call)?;
    let status = b.profile().vendor_status(b.state(&o).status).to_string();
    Ok(Json(CancelAnswer {
        brokerage_order_id: o.vendor_id,
        raw_response: Some(json!({ "status": status })),
    }))
}

/// `POST /accounts/{id}/orders/cancel` (legacy, SDK 11): the order record.
pub async fn cancel_legacy(
    Path(account): Path<String>,
    State(s): State<Shared>,
    UserCall(call): UserCall,
) -> Result<Json<AccountOrderRecord>, SnapTradeError> {
    let mut b = s.lock();
    b.sync();
    let o = cancel_order(&mut b, &account, &call)?;
    Ok(Json(view::order(&b, &o)))
}

/// `POST /accounts/{id}/orders/details`: one order, real-time.
pub async fn detail(
    Path(account): Path<String>,
    State(s): State<Shared>,
    UserCall(call): UserCall,
) -> Result<Json<AccountOrderRecord>, SnapTradeError> {
    let mut b = s.lock();
    b.sync();
    reach(&b, &account, &call, Reach::Live)?;
    let OrderRef {
        brokerage_order_id: id,
    } = call.form()?;
    let o = order_of(&b, &account, &id)?;
    Ok(Json(view::order(&b, o)))
}

/// `GET /accounts/{id}/orders/details/v2/{brokerageOrderId}`: the same, V2.
pub async fn detail_v2(
    Path((account, id)): Path<(String, String)>,
    State(s): State<Shared>,
    UserCall(call): UserCall,
) -> Result<Json<AccountOrderRecordV2>, SnapTradeError> {
    let mut b = s.lock();
    b.sync();
    reach(&b, &account, &call, Reach::Live)?;
    let o = order_of(&b, &account, &id)?;
    Ok(Json(view::order_v2(&b, o)))
}

/// The account's orders placed within `reach_ms` of now, newest first.
fn placed_within<'a>(b: &'a SimBrokerage, account: &'a str, reach_ms: i64) -> Vec<&'a BrokerOrder> {
    let since = b.now().plus_millis(-reach_ms);
    let mut orders: Vec<&BrokerOrder> = b
        .orders_of(account)
        .filter(|o| o.taken && o.submitted_at >= since)
        .collect();
    orders.reverse();
    orders
}

fn executed(b: &SimBrokerage, o: &BrokerOrder) -> bool {
    !b.state(o).filled_quantity.is_zero()
}

fn bool_param(call: &Signed, name: &str, default: bool) -> Result<bool, SnapTradeError> {
    match call.param(name) {
        None => Ok(default),
        Some("true" | "True") => Ok(true),
        Some("false" | "False") => Ok(false),
        Some(other) => Err(SnapTradeError::invalid(format!(
            "Unable to verify data sent: {name} must be true or false, not {other:.10}"
        ))),
    }
}

/// `GET /accounts/{id}/recentOrders`: the last 24 hours, real-time;
/// `only_executed` (default true) keeps the orders with fills (§4.4).
pub async fn recent(
    Path(account): Path<String>,
    State(s): State<Shared>,
    UserCall(call): UserCall,
) -> Result<Json<RecentOrders>, SnapTradeError> {
    let mut b = s.lock();
    b.sync();
    let orders = recent_of(&b, &account, &call)?;
    let orders = orders.into_iter().map(|o| view::order(&b, o)).collect();
    Ok(Json(RecentOrders { orders }))
}

/// `GET /accounts/{id}/recentOrders/v2`: the same orders, V2.
pub async fn recent_v2(
    Path(account): Path<String>,
    State(s): State<Shared>,
    UserCall(call): UserCall,
) -> Result<Json<OrdersV2>, SnapTradeError> {
    let mut b = s.lock();
    b.sync();
    let orders = recent_of(&b, &account, &call)?;
    let orders = orders.into_iter().map(|o| view::order_v2(&b, o)).collect();
    Ok(Json(OrdersV2 { orders }))
}

/// The orders `recentOrders` answers.
fn recent_of<'a>(
    b: &'a SimBrokerage,
    account: &'a str,
    call: &Signed,
) -> Result<Vec<&'a BrokerOrder>, SnapTradeError> {
    reach(b, account, call, Reach::Live)?;
    let only_executed = bool_param(call, "only_executed", true)?;
    Ok(placed_within(b, account, RECENT_MS)
        .into_iter()
        .filter(|o| !only_executed || executed(b, o))
        .collect())
}

/// `GET /accounts/{id}/orders`: `state` all (default), open or executed,
/// over `days` (default 30, at most 90).
pub async fn list(
    Path(account): Path<String>,
    State(s): State<Shared>,
    UserCall(call): UserCall,
) -> Result<Json<Vec<AccountOrderRecord>>, SnapTradeError> {
    let mut b = s.lock();
    b.sync();
    let orders = listed(&b, &account, &call)?;
    Ok(Json(
        orders.into_iter().map(|o| view::order(&b, o)).collect(),
    ))
}

/// `GET /accounts/{id}/orders/v2`: the same orders, V2.
pub async fn list_v2(
    Path(account): Path<String>,
    State(s): State<Shared>,
    UserCall(call): UserCall,
) -> Result<Json<OrdersV2>, SnapTradeError> {
    let mut b = s.lock();
    b.sync();
    let orders = listed(&b, &account, &call)?;
    let orders = orders.into_iter().map(|o| view::order_v2(&b, o)).collect();
    Ok(Json(OrdersV2 { orders }))
}

/// The orders `orders` answers.
fn listed<'a>(
    b: &'a SimBrokerage,
    account: &'a str,
    call: &Signed,
) -> Result<Vec<&'a BrokerOrder>, SnapTradeError> {
    reach(b, account, call, Reach::Read)?;
    let days = match call.param("days") {
        None => DEFAULT_DAYS,
        Some(d) => d
            .parse::<i64>()
            .ok()
            .filter(|d| *d >= 1)
            .ok_or_else(|| {
                SnapTradeError::invalid(
                    "Unable to verify data sent: days must be a positive integer",
                )
            })?
            .min(MAX_DAYS),
    };
    let state = call.param("state").unwrap_or("all").to_string();
    let keep = |o: &BrokerOrder| -> Result<bool, SnapTradeError> {
        Ok(match state.as_str() {
            "all" => true,
            "open" => !b.state(o).status.is_terminal(),
            "executed" => executed(b, o),
            other => {
                return Err(SnapTradeError::invalid(format!(
                "Unable to verify data sent: state must be all, open or executed, not {other:.10}"
            )))
            }
        })
    };
    let mut out = Vec::new();
    for o in placed_within(b, account, days.saturating_mul(86_400_000)) {
        if keep(o)? {
            out.push(o);
        }
    }
    Ok(out)
}
