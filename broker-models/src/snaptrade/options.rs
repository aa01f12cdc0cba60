//! Option orders through SnapTrade (§4.5): `POST /accounts/{id}/trading/options`
//! (placeMlegOrder: one leg, an option or an equity, or a spread of two to
//! four option legs on one underlying) and `…/trading/options/impact` (the
//! order's estimated cash change and fees; nothing is placed). A single
//! option also goes through `/trade/place` by its OCC symbol
//! (`trading::request`).
//!
//! What the engine cannot carry out is refused loudly (400, "not simulated
//! by raxx-sim"): a net-even spread, a spread with a stop or an equity leg.

use axum::extract::{OriginalUri, Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rust_decimal::Decimal;

use mbt::checked::{self, Checked};
use mbt::{Instrument, Leg, OrderRequest, OrderType, Side};

use super::accounts::{reach, Reach};
use super::auth::UserCall;
use super::errors::SnapTradeError;
use super::trading::{option_named, positive_units, side_of, submitted, tif_of};
use super::view;
use super::wire::{MlegLeg, MlegOrderResponse, MlegTradeForm, OptionImpact};
use crate::brokerage::SimBrokerage;
use crate::face::Shared;
use crate::faults::Operation;
use crate::profile::Downstream;

/// `POST /accounts/{id}/trading/options`: the brokerage's id and the
/// order's v1 record in its first state (v1 has no legs: a spread's record
/// names its underlying, net side and price; `orders/v2` lists its legs).
pub async fn place(
    Path(account): Path<String>,
    State(s): State<Shared>,
    OriginalUri(uri): OriginalUri,
    UserCall(call): UserCall,
) -> Result<Response, SnapTradeError> {
    let form: MlegTradeForm = call.form()?;
    let mut b = s.lock();
    b.sync();
    let d = reach(&b, &account, &call, Reach::Live)?;
    if !d.trading {
        // An order reached a brokerage with no way to trade: the
        // read-only tier's ground truth, refused or not.
        b.record_order_attempt(Operation::SubmitOrder, "POST", uri.path());
        return Err(SnapTradeError::no_trading(&d.name));
    }
    options_traded(&b, &d)?;
    let mut r = request(&account, &form, String::new())?;
    // Drawn only for a form that passed: a refused one leaves the ids as they were.
    r.client_order_id = b.generate_client_id();
    submitted(&mut b, r, &call, |b, o| {
        Json(MlegOrderResponse {
            brokerage_order_id: o.vendor_id.clone(),
            orders: vec![view::order(b, o)],
        })
        .into_response()
    })
}

/// `POST /accounts/{id}/trading/options/impact`: what the order would
/// move in cash at its limit (a market order's at the touch of each leg;
/// `UNKNOWN` without a quote) and its commission and fees, after the
/// brokerage's checks; nothing is placed.
pub async fn impact(
    Path(account): Path<String>,
    State(s): State<Shared>,
    UserCall(call): UserCall,
) -> Result<Json<OptionImpact>, SnapTradeError> {
    let form: MlegTradeForm = call.form()?;
    let mut b = s.lock();
    b.sync();
    let d = reach(&b, &account, &call, Reach::Live)?;
    if !d.trading {
        return Err(SnapTradeError::no_trading(&d.name));
    }
    options_traded(&b, &d)?;
    let r = request(&account, &form, String::new())?;
    let symbol = r.instrument.to_string();
    b.engine()
        .validate(&r)
        .map_err(|rejection| SnapTradeError::declined(&rejection, &symbol))?;
    let (cash, fees) = estimate(&b, &r).map_err(|_| {
        SnapTradeError::invalid("Unable to verify data sent: the trade's value is out of range")
    })?;
    let direction = match cash {
        None => "UNKNOWN",
        Some(c) if c > Decimal::ZERO => "CREDIT",
        Some(c) if c < Decimal::ZERO => "DEBIT",
        Some(_) => "EVEN",
    };
    Ok(Json(OptionImpact {
        estimated_cash_change: cents(cash.unwrap_or_default().abs()),
        cash_change_direction: direction,
        estimated_fee_total: cents(fees),
    }))
}

fn cents(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

/// Whether the brokerage trades options through SnapTrade (§4.5: one that
/// does not is refused with a 400).
fn options_traded(b: &SimBrokerage, d: &Downstream) -> Result<(), SnapTradeError> {
    if !b.profile().capabilities.options {
        return Err(SnapTradeError::invalid(format!(
            "Option trading is not supported for {:.40} through SnapTrade.",
            d.name
        )));
    }
    Ok(())
}

/// A leg as the form names it: the instrument, its side, whether it opens
/// or closes (options only), and its units.
type FormLeg = (Instrument, Side, Option<mbt::PositionEffect>, Decimal);

fn leg_of(leg: &MlegLeg) -> Result<FormLeg, SnapTradeError> {
    let (side, effect) = side_of(&leg.action)?;
    let instrument = match leg.instrument.instrument_type.as_str() {
        "OPTION" if effect.is_none() => {
            return Err(SnapTradeError::invalid(
                "Unable to verify data sent: an option leg's action is one of BUY_TO_OPEN, BUY_TO_CLOSE, SELL_TO_OPEN, SELL_TO_CLOSE",
            ))
        }
        "OPTION" => option_named(&leg.instrument.symbol)?,
        "EQUITY" if effect.is_some() => {
            return Err(SnapTradeError::invalid(
                "Unable to verify data sent: an equity leg's action is BUY or SELL",
            ))
        }
        "EQUITY" if mbt::instrument::is_ticker(&leg.instrument.symbol) => {
            Instrument::equity(&leg.instrument.symbol)
        }
        "EQUITY" => {
            return Err(SnapTradeError::invalid(format!(
                "Unable to verify data sent: {:.32} is not a symbol",
                leg.instrument.symbol
            )))
        }
        other => {
            return Err(SnapTradeError::invalid(format!(
                "Unable to verify data sent: instrument_type {other:.20} is not one of OPTION, EQUITY"
            )))
        }
    };
    let units = positive_units(leg.units.0)?;
    if !units.fract().is_zero() {
        return Err(SnapTradeError::invalid(
            "Unable to verify data sent: a leg's units are a whole number",
        ));
    }
    Ok((instrument, side, effect, units))
}

/// The engine's order for an `MlegTradeForm` on `account`, or SnapTrade's
/// refusal of it.
fn request(
    account: &str,
    form: &MlegTradeForm,
    client_order_id: String,
) -> Result<OrderRequest, SnapTradeError> {
    if !(1..=4).contains(&form.legs.len()) {
        return Err(SnapTradeError::invalid(
            "Unable to verify data sent: legs holds 1 to 4 legs",
        ));
    }
    let order_type = match form.order_type.as_str() {
        "MARKET" => OrderType::Market,
        "LIMIT" => OrderType::Limit,
        "STOP_LOSS_MARKET" => OrderType::Stop,
        "STOP_LOSS_LIMIT" => OrderType::StopLimit,
        other => {
            return Err(SnapTradeError::invalid(format!(
                "Unable to verify data sent: order_type {other:.20} is not one of MARKET, LIMIT, STOP_LOSS_MARKET, STOP_LOSS_LIMIT"
            )))
        }
    };
    // TimeInForceStrict: no GTD here.
    if form.time_in_force == "GTD" {
        return Err(SnapTradeError::invalid(
            "Unable to verify data sent: time_in_force GTD is not one of FOK, Day, GTC, IOC",
        ));
    }
    let time_in_force = tif_of(&form.time_in_force)?;
    let even = form.price_effect.as_deref() == Some("EVEN");
    if even {
        return Err(SnapTradeError::not_simulated("a net-even (EVEN) order"));
    }
    let limit = form.limit_price.as_ref().map(|p| p.0);
    let stop = form.stop_price.as_ref().map(|p| p.0);
    let wants_limit = matches!(order_type, OrderType::Limit | OrderType::StopLimit);
    let wants_stop = matches!(order_type, OrderType::Stop | OrderType::StopLimit);
    if wants_limit && limit.is_none() {
        return Err(SnapTradeError::invalid(
            "Unable to verify data sent: limit_price is required for LIMIT and STOP_LOSS_LIMIT orders",
        ));
    }
    if wants_stop && stop.is_none() {
        return Err(SnapTradeError::invalid(
            "Unable to verify data sent: stop_price is required for STOP_LOSS_MARKET and STOP_LOSS_LIMIT orders",
        ));
    }
    let legs = form
        .legs
        .iter()
        .map(leg_of)
        .collect::<Result<Vec<_>, _>>()?;
    let base = OrderRequest {
        account_id: account.to_string(),
        client_order_id,
        instrument: Instrument::equity("-"),
        side: Side::Buy,
        position_effect: None,
        quantity: Decimal::ONE,
        order_type,
        limit_price: limit.filter(|_| wants_limit),
        stop_price: stop.filter(|_| wants_stop),
        time_in_force,
        legs: None,
        trail: None,
    };
    if let [(instrument, side, position_effect, units)] = legs.as_slice() {
        return Ok(OrderRequest {
            instrument: instrument.clone(),
            side: *side,
            position_effect: *position_effect,
            quantity: *units,
            ..base
        });
    }
    spread(legs, form.price_effect.as_deref(), base)
}

/// Two to four option legs on one underlying: the engine's multi-leg
/// order of `units` spreads (the smallest leg), each leg its whole ratio,
/// on the side of its net price.
fn spread(
    legs: Vec<FormLeg>,
    price_effect: Option<&str>,
    base: OrderRequest,
) -> Result<OrderRequest, SnapTradeError> {
    if legs.iter().any(|l| !l.0.is_option()) {
        return Err(SnapTradeError::not_simulated(
            "a multi-leg order with an equity leg",
        ));
    }
    if !matches!(base.order_type, OrderType::Market | OrderType::Limit) {
        return Err(SnapTradeError::not_simulated("a multi-leg stop order"));
    }
    let side = match (price_effect, base.order_type) {
        (Some("CREDIT"), _) => Side::Sell,
        (Some("DEBIT"), _) => Side::Buy,
        (None, OrderType::Market) => Side::Buy,
        (None, _) => {
            return Err(SnapTradeError::invalid(
                "Unable to verify data sent: price_effect (CREDIT or DEBIT) is required for a multi-leg LIMIT order",
            ))
        }
        (Some(other), _) => {
            return Err(SnapTradeError::invalid(format!(
                "Unable to verify data sent: price_effect {other:.20} is not one of CREDIT, DEBIT, EVEN"
            )))
        }
    };
    let underlying = legs
        .first()
        .map(|l| l.0.underlying().to_string())
        .unwrap_or_default();
    let (units, legs) = mbt::spreads_of(legs).ok_or_else(|| {
        SnapTradeError::invalid(
            "Unable to verify data sent: every leg's units are a whole multiple of the smallest leg's",
        )
    })?;
    Ok(OrderRequest {
        instrument: Instrument::equity(&underlying),
        side,
        quantity: units,
        legs: Some(legs),
        ..base
    })
}

/// The cash the order would move (positive: received) and its commission
/// and regulatory fees. At its limit when it has one (a spread's net
/// price per spread), else each leg at the side of its quote it would
/// take; the cash is None when a leg has no quote.
fn estimate(b: &SimBrokerage, r: &OrderRequest) -> Checked<(Option<Decimal>, Decimal)> {
    let legs = r.each_leg();
    let fees = b.engine().config().fees_for(&r.account_id);
    let touch = |leg: &Leg| {
        b.engine().quote(&leg.instrument).map(|q| match leg.side {
            Side::Buy => q.ask,
            Side::Sell => q.bid,
        })
    };
    let mut contracts = Decimal::ZERO;
    let mut total_fees = Decimal::ZERO;
    let mut at_touch = Some(Decimal::ZERO);
    for leg in &legs {
        let qty = checked::mul(r.quantity, leg.ratio_quantity)?;
        contracts = checked::add(contracts, qty)?;
        let price = touch(leg);
        let regulatory =
            fees.regulatory(&leg.instrument, leg.side, qty, price.unwrap_or_default())?;
        total_fees = checked::add(total_fees, regulatory)?;
        at_touch = match (at_touch, price) {
            (Some(sum), Some(p)) => {
                let value = checked::mul(checked::mul(qty, p)?, leg.instrument.multiplier())?;
                Some(checked::add(sum, checked::mul(leg.side.sign(), value)?)?)
            }
            _ => None,
        };
    }
    let first = legs.first().map_or(&r.instrument, |l| &l.instrument);
    total_fees = checked::add(total_fees, fees.commission_for(first, contracts)?)?;
    // What a leg's fill moves is the opposite of its signed quantity.
    let at_touch = at_touch.map(checked::neg);
    let cash = match r.limit_price {
        Some(limit) => {
            let value = checked::mul(checked::mul(r.quantity, limit)?, first.multiplier())?;
            Some(match r.side {
                Side::Buy => checked::neg(value),
                Side::Sell => value,
            })
        }
        None => at_touch,
    };
    Ok((cash, total_fees))
}
