//! `/v2/positions` (reference §2.9): read, close one, close all, exercise.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use rust_decimal::{Decimal, RoundingStrategy};

use mbt::engine::PositionView;
use mbt::{Instrument, OrderRequest, OrderType, PositionEffect, Side, TimeInForce};

use super::assets;
use super::auth::AlpacaAuth;
use super::errors::AlpacaError;
use super::extract::{Params, Seg};
use super::num::{self, WireNumber};
use super::order_routes::place;
use super::orders::to_wire;
use super::pretrade::{held_for_orders, Freed};
use super::rules::{self, Context, Placement};
use super::state::{FaceState, OrderExtras, Tables};
use super::wire::{self, CloseBody, CloseResult, Order};
use crate::brokerage::SimBrokerage;
use crate::face::Shared;
use crate::faults::Decision;
use crate::ids::canonical_uuid;

/// Quantities are cut to Alpaca's 9 places (§6); contracts to whole ones.
const QTY_DP: u32 = 9;

/// The Position object for one of an account's positions.
fn position(b: &SimBrokerage, account: &str, p: &PositionView) -> wire::Position {
    let symbol = wire::symbol(&p.instrument);
    let current = p.mark.unwrap_or(p.average_price);
    let plpc = p
        .unrealized_pnl
        .checked_div(p.cost_basis.abs())
        .map_or(Decimal::ZERO, |r| r.round_dp(6));
    // Shares that open orders on the closing side still have to trade are not available.
    let closing_side = if p.quantity < Decimal::ZERO {
        Side::Buy
    } else {
        Side::Sell
    };
    let held = held_for_orders(b, account, &p.instrument, closing_side, &Freed::default());
    let available = (p.quantity.abs().saturating_sub(held)).max(Decimal::ZERO);
    // The change since the latest close, as a fraction (Alpaca's
    // `change_today`). Before the world's first close there is no last day:
    // the last day's price is the current one and the change zero, never
    // invented.
    let lastday = b.engine().previous_close(&p.instrument).unwrap_or(current);
    let change_today = current
        .checked_sub(lastday)
        .and_then(|d| d.checked_div(lastday))
        .map_or(Decimal::ZERO, |r| r.round_dp(6));
    wire::Position {
        asset_id: wire::asset_id(&symbol),
        exchange: assets::exchange(&p.instrument).to_string(),
        asset_class: wire::asset_class(&p.instrument).to_string(),
        asset_marginable: !p.instrument.is_option(),
        avg_entry_price: wire::dec(p.average_price),
        qty: wire::dec(p.quantity),
        qty_available: wire::dec(if p.quantity < Decimal::ZERO {
            -available
        } else {
            available
        }),
        side: if p.quantity < Decimal::ZERO {
            "short"
        } else {
            "long"
        }
        .to_string(),
        market_value: wire::money(p.market_value),
        cost_basis: wire::money(p.cost_basis),
        unrealized_pl: wire::money(p.unrealized_pnl),
        unrealized_plpc: wire::dec(plpc),
        unrealized_intraday_pl: wire::money(p.unrealized_pnl),
        unrealized_intraday_plpc: wire::dec(plpc),
        current_price: wire::dec(current),
        lastday_price: wire::dec(lastday),
        change_today: wire::dec(change_today),
        symbol,
    }
}

/// `GET /v2/positions`: `[]` when flat.
pub async fn list(
    State(s): State<Shared>,
    AlpacaAuth(account): AlpacaAuth,
) -> Result<Json<Vec<wire::Position>>, AlpacaError> {
    let mut b = s.lock();
    b.sync();
    let view = b.account(&account).ok_or_else(AlpacaError::unauthorized)?;
    Ok(Json(
        view.positions
            .iter()
            .map(|p| position(&b, &account, p))
            .collect(),
    ))
}

/// The position a path names, by symbol or asset id in any form.
fn find(b: &SimBrokerage, account: &str, text: &str) -> Result<PositionView, AlpacaError> {
    let view = b.account(account).ok_or_else(AlpacaError::unauthorized)?;
    let by_id = canonical_uuid(text);
    let by_symbol = assets::resolve(b, text);
    view.positions
        .into_iter()
        .find(|p| {
            Some(&p.instrument) == by_symbol.as_ref()
                || by_id.as_deref() == Some(wire::asset_id(&wire::symbol(&p.instrument)).as_str())
        })
        .ok_or_else(AlpacaError::position_not_found)
}

/// `GET /v2/positions/{symbol_or_asset_id}`.
pub async fn one(
    State(s): State<Shared>,
    AlpacaAuth(account): AlpacaAuth,
    Seg(text): Seg,
) -> Result<Json<wire::Position>, AlpacaError> {
    let mut b = s.lock();
    b.sync();
    let p = find(&b, &account, &text)?;
    Ok(Json(position(&b, &account, &p)))
}

/// How much of a position to close: `qty`, or `percentage` of it, or all.
/// Refusal wordings here are not in the reference (§2.9 names the parameters only).
fn close_quantity(q: &Params, p: &PositionView) -> Result<Decimal, AlpacaError> {
    let number = |key: &str| -> Result<Option<Decimal>, AlpacaError> {
        match q.get(key).map(num::parse) {
            None => Ok(None),
            Some(Some(WireNumber::Value(d))) => Ok(Some(d)),
            Some(_) => Err(AlpacaError::invalid(format!("invalid {key}"))),
        }
    };
    let held = p.quantity.abs();
    let qty = match (number("qty")?, number("percentage")?) {
        (Some(_), Some(_)) => {
            return Err(AlpacaError::invalid(
                "only one of qty or percentage is accepted",
            ))
        }
        (Some(q), None) => q,
        (None, Some(pct)) if pct > Decimal::ZERO && pct <= Decimal::ONE_HUNDRED => held
            .checked_mul(pct)
            .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
            .unwrap_or(held),
        (None, Some(_)) => {
            return Err(AlpacaError::invalid("percentage must be between 0 and 100"))
        }
        (None, None) => held,
    };
    let places = if p.instrument.is_option() { 0 } else { QTY_DP };
    Ok(qty.round_dp_with_strategy(places, RoundingStrategy::ToZero))
}

/// The market order that closes `qty` of a position: the other side, for
/// the day, closing an option (§2.9: the answer is this order).
fn closing_order(
    account: &str,
    client_order_id: String,
    p: &PositionView,
    qty: Decimal,
) -> OrderRequest {
    OrderRequest {
        account_id: account.to_string(),
        client_order_id,
        instrument: p.instrument.clone(),
        side: if p.quantity < Decimal::ZERO {
            Side::Buy
        } else {
            Side::Sell
        },
        position_effect: p.instrument.is_option().then_some(PositionEffect::Close),
        quantity: qty,
        order_type: OrderType::Market,
        limit_price: None,
        stop_price: None,
        time_in_force: TimeInForce::Day,
        legs: None,
        trail: None,
    }
}

/// Closes `qty` of a position through the same rules and checks as any order.
fn close(
    b: &mut SimBrokerage,
    t: &mut Tables,
    account: &str,
    p: &PositionView,
    qty: Decimal,
    freed: &Freed,
    decision: &Decision,
) -> Result<Order, AlpacaError> {
    let client_order_id = b.generate_client_id();
    let request = closing_order(account, client_order_id, p, qty);
    let extras = OrderExtras::default();
    let config = t.configurations(account);
    rules::check(
        &Context {
            b: &*b,
            account,
            config: &config,
        },
        &request,
        &extras,
    )?;
    let vendor_id = place(
        b,
        t,
        account,
        Placement {
            request,
            extras,
            exits: None,
        },
        freed,
        decision,
    )?;
    let o = b
        .order(&vendor_id)
        .ok_or_else(AlpacaError::order_not_found)?;
    Ok(to_wire(b, t, o))
}

/// `DELETE /v2/positions/{symbol_or_asset_id}?qty=|percentage=`: the closing order.
pub async fn close_one(
    State(s): State<Shared>,
    Extension(face): Extension<FaceState>,
    Extension(decision): Extension<Decision>,
    AlpacaAuth(account): AlpacaAuth,
    Seg(text): Seg,
    q: Params,
) -> Result<Json<Order>, AlpacaError> {
    let mut b = s.lock();
    b.sync();
    let mut t = face.tables(&b);
    let p = find(&b, &account, &text)?;
    let qty = close_quantity(&q, &p)?;
    close(
        &mut b,
        &mut t,
        &account,
        &p,
        qty,
        &Freed::default(),
        &decision,
    )
    .map(Json)
}

/// `DELETE /v2/positions?cancel_orders=`: 207, one entry per position, the
/// closing order or the refusal (§2.9). With `cancel_orders`, every open
/// order is canceled first and what they held counts as free.
pub async fn close_all(
    State(s): State<Shared>,
    Extension(face): Extension<FaceState>,
    Extension(decision): Extension<Decision>,
    AlpacaAuth(account): AlpacaAuth,
    q: Params,
) -> Result<(StatusCode, Json<Vec<CloseResult>>), AlpacaError> {
    let cancel_orders = q.flag("cancel_orders")?.unwrap_or(false);
    let mut b = s.lock();
    b.sync();
    let mut t = face.tables(&b);
    let freed = if cancel_orders {
        cancel_open(&mut b, &account)
    } else {
        Freed::default()
    };
    let positions = b.account(&account).map(|v| v.positions).unwrap_or_default();
    let results = positions
        .iter()
        .map(|p| {
            let symbol = wire::symbol(&p.instrument);
            match close(
                &mut b,
                &mut t,
                &account,
                p,
                p.quantity.abs(),
                &freed,
                &decision,
            ) {
                Ok(order) => CloseResult {
                    symbol,
                    status: 200,
                    body: CloseBody::Order(Box::new(order)),
                },
                Err(e) => CloseResult {
                    symbol,
                    status: e.status.as_u16(),
                    body: CloseBody::Error(e.body),
                },
            }
        })
        .collect();
    Ok((StatusCode::MULTI_STATUS, Json(results)))
}

/// Cancels every open order of the account; they and their holds are free.
fn cancel_open(b: &mut SimBrokerage, account: &str) -> Freed {
    let open: Vec<(String, Decimal)> = b
        .orders_of(account)
        .filter(|o| !b.state(o).status.is_terminal())
        .map(|o| {
            // An order not accepted yet holds nothing at the venue.
            let hold = o.engine_id.map_or(Decimal::ZERO, |id| b.engine().hold(id));
            (o.vendor_id.clone(), hold)
        })
        .collect();
    let mut freed = Freed::default();
    for (id, hold) in open {
        // A cancel that comes too late leaves the order as it is.
        if b.cancel(&id).is_ok() {
            freed.hold = freed.hold.saturating_add(hold);
            freed.orders.push(id);
        }
    }
    freed
}

/// `POST /v2/positions/{symbol_or_contract_id}/exercise`. Alpaca exercises
/// a long option position during market hours; the engine exercises only at
/// expiry, so an exercise it would take is refused loudly. The refusal
/// wordings are not in the reference (§2.9 names the endpoint; §5.2 says
/// exercise outside hours is refused).
pub async fn exercise(
    State(s): State<Shared>,
    AlpacaAuth(account): AlpacaAuth,
    Seg(text): Seg,
) -> AlpacaError {
    let mut b = s.lock();
    b.sync();
    match find(&b, &account, &text) {
        Err(e) => e,
        Ok(p)
            if !matches!(p.instrument, Instrument::Option { .. })
                || p.quantity <= Decimal::ZERO =>
        {
            AlpacaError::forbidden_trade("only long option positions can be exercised")
        }
        Ok(_) if !b.engine().is_open() => {
            AlpacaError::forbidden_trade("exercise requests are only accepted during market hours")
        }
        Ok(_) => AlpacaError::not_simulated("early exercise of options is"),
    }
}
