//! The checks Alpaca makes against the account before it takes an order,
//! and the rendering of the engine's own refusals in Alpaca's words.
//!
//! - A sell against a long position (or a buy against a short) may not ask
//!   for more than the position has free of open orders: no single order
//!   flips a position through zero (403 "insufficient qty available", with
//!   the context keys of §2.9's example body).
//! - An order that opens or adds to a position must fit the buying power:
//!   a buy at its limit (or stop, or the ask), a short sale at the larger of
//!   its limit and 3% above the ask ("Orders at Alpaca", Buying Power; the
//!   reference's §5.2 row gives the 403 body). Options and spreads are left
//!   to the engine's collateral rules.

use rust_decimal::Decimal;

use mbt::{AccountKind, Instrument, OrderRequest, RejectReason, Rejection, Side};

use super::errors::{AlpacaError, QtyShortfall};
use super::rules::Context;
use super::wire;
use crate::brokerage::{BrokerOrder, SimBrokerage, WorkingOf};

/// A short sale is costed at least 3% above the ask.
const SHORT_MARKUP: Decimal = Decimal::from_parts(103, 0, 0, false, 2);

fn not_allowed_to_short() -> AlpacaError {
    AlpacaError::forbidden_trade("account is not allowed to short")
}

/// Open orders whose shares and buying power an order may count as free:
/// the order a replace replaces, or the orders a close-all just canceled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Freed {
    pub orders: Vec<String>,
    pub hold: Decimal,
    /// The group of the order a replace replaces: its replacement shares
    /// the group's one hold on the shares (`BrokerOrder::hold_group`).
    pub group: Option<String>,
}

impl Freed {
    /// The order `o` and what it holds of the buying power.
    pub fn order(b: &SimBrokerage, o: &BrokerOrder) -> Self {
        Freed {
            orders: vec![o.vendor_id.clone()],
            hold: o.engine_id.map_or(Decimal::ZERO, |id| b.engine().hold(id)),
            group: o.hold_group().map(str::to_string),
        }
    }
}

/// Every account check for an order, with what `freed` holds counted as free.
pub fn check(cx: &Context, r: &OrderRequest, freed: &Freed) -> Result<(), AlpacaError> {
    if cx.config.suspend_trade {
        // Wording from a third-party capture of Alpaca's 403s (§5.2 lists the code only).
        return Err(AlpacaError::forbidden_trade(
            "account is not authorized to trade",
        ));
    }
    listed(cx, r)?;
    if r.is_multi_leg() || r.instrument.is_option() {
        return Ok(());
    }
    let position =
        cx.b.engine()
            .account(cx.account)
            .map_or(Decimal::ZERO, |a| a.position_quantity(&r.instrument));
    let closing = match r.side {
        Side::Sell => position > Decimal::ZERO,
        Side::Buy => position < Decimal::ZERO,
    };
    if closing {
        return shares_free(cx, r, position, freed);
    }
    if r.side == Side::Sell {
        shorting(cx, r)?;
    }
    buying_power(cx, r, freed)
}

fn listed(cx: &Context, r: &OrderRequest) -> Result<(), AlpacaError> {
    let legs = r.legs.iter().flatten().map(|l| &l.instrument);
    let single = (!r.is_multi_leg()).then_some(&r.instrument);
    match legs.chain(single).find(|i| !cx.b.engine().is_listed(i)) {
        Some(i) => Err(unknown_asset(i)),
        None => Ok(()),
    }
}

fn unknown_asset(i: &Instrument) -> AlpacaError {
    AlpacaError::unprocessable(format!("asset \"{}\" not found", wire::symbol(i)))
}

/// What an account's open single-leg orders on one side of one instrument
/// still have to trade: what they hold of a position they would close (a
/// group's exits once, at the most any of them has left).
pub fn held_for_orders(
    b: &SimBrokerage,
    account: &str,
    instrument: &Instrument,
    side: Side,
    freed: &Freed,
) -> Decimal {
    b.working_quantity(&WorkingOf {
        account,
        instrument,
        side,
        except: &freed.orders,
        except_group: freed.group.as_deref(),
    })
}

/// A closing order may take only what the position has free.
fn shares_free(
    cx: &Context,
    r: &OrderRequest,
    position: Decimal,
    freed: &Freed,
) -> Result<(), AlpacaError> {
    let held = held_for_orders(cx.b, cx.account, &r.instrument, r.side, freed);
    let available = position.abs().saturating_sub(held).max(Decimal::ZERO);
    if r.quantity <= available {
        return Ok(());
    }
    Err(AlpacaError::insufficient_qty(QtyShortfall {
        symbol: wire::symbol(&r.instrument),
        requested: wire::dec(r.quantity),
        available: wire::dec(available),
        existing_qty: wire::dec(position),
        held_for_orders: wire::dec(held),
    }))
}

/// Opening or adding to a short: a margin account that allows it, whole shares.
fn shorting(cx: &Context, r: &OrderRequest) -> Result<(), AlpacaError> {
    let cash =
        cx.b.engine()
            .account(cx.account)
            .is_some_and(|a| a.kind == AccountKind::Cash);
    if cash || cx.config.no_shorting {
        return Err(not_allowed_to_short());
    }
    if !r.quantity.fract().is_zero() {
        // A third-party catalogue lists this wording with HTTP 422 and no
        // code; 403 `40310000` follows §5.2's row for refused shorts (CONFLICT).
        return Err(AlpacaError::forbidden_trade(
            "fractional orders cannot be sold short",
        ));
    }
    Ok(())
}

/// What Alpaca counts an opening order against buying power at; an
/// amount beyond `Decimal` is `None`. No price known costs nothing (the
/// listing check refuses such an order first).
fn order_value(cx: &Context, r: &OrderRequest) -> Option<Decimal> {
    let quote = cx.b.engine().quote(&r.instrument);
    let price = match r.side {
        Side::Buy => r
            .limit_price
            .or(r.stop_price)
            .or(quote.map(|q| q.ask))
            .or_else(|| cx.b.engine().mark(&r.instrument)),
        Side::Sell => {
            let ask = match quote {
                Some(q) => q.ask.checked_mul(SHORT_MARKUP)?,
                None => Decimal::ZERO,
            };
            Some(r.limit_price.map_or(ask, |l| l.max(ask)))
        }
    }
    .unwrap_or_default();
    r.quantity
        .checked_mul(price)?
        .checked_mul(r.instrument.multiplier())
}

fn buying_power(cx: &Context, r: &OrderRequest, freed: &Freed) -> Result<(), AlpacaError> {
    let Some(view) = cx.b.account(cx.account) else {
        return Ok(());
    };
    let available = view.buying_power.saturating_add(freed.hold);
    match order_value(cx, r) {
        Some(v) if v <= available => Ok(()),
        value => Err(AlpacaError::insufficient_buying_power(
            wire::money(available),
            value.map(wire::money),
        )),
    }
}

/// The engine's refusal of an order the face's checks let through, in
/// Alpaca's words.
pub fn engine_refusal(cx: &Context, r: &OrderRequest, rejection: &Rejection) -> AlpacaError {
    // Alpaca has no size cap of its own: an order above the engine's is one
    // no account pays for.
    let too_large = rejection.reason == RejectReason::InvalidQuantity
        && r.quantity > cx.b.engine().config().max_order_quantity;
    if too_large || rejection.reason == RejectReason::InsufficientBuyingPower {
        let bp =
            cx.b.account(cx.account)
                .map_or(Decimal::ZERO, |v| v.buying_power);
        return AlpacaError::insufficient_buying_power(
            wire::money(bp),
            order_value(cx, r).map(wire::money),
        );
    }
    match rejection.reason {
        RejectReason::UnknownSymbol => unknown_asset(&r.instrument),
        RejectReason::ShortSellingNotAllowed => not_allowed_to_short(),
        RejectReason::NoPositionToClose => {
            let position =
                cx.b.engine()
                    .account(cx.account)
                    .map_or(Decimal::ZERO, |a| a.position_quantity(&r.instrument));
            AlpacaError::insufficient_qty(QtyShortfall {
                symbol: wire::symbol(&r.instrument),
                requested: wire::dec(r.quantity),
                available: wire::dec(position.abs()),
                existing_qty: wire::dec(position),
                held_for_orders: "0".into(),
            })
        }
        // Alpaca queues equity orders outside hours (§5.2) and the profile
        // says so, so only a profile that did not would reach this.
        RejectReason::MarketClosed => AlpacaError::forbidden_trade("market is closed"),
        RejectReason::UnknownAccount => AlpacaError::unauthorized(),
        RejectReason::InsufficientBuyingPower
        | RejectReason::InvalidPrice
        | RejectReason::InvalidQuantity
        | RejectReason::InvalidOrder => AlpacaError::invalid(rejection.message.clone()),
    }
}
