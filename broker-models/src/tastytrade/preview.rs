//! What a placed order's answer says it will cost (reference §2.2): the
//! `buying-power-effect` and the `fee-calculation`. tastytrade's margin
//! engine is not simulated: the model estimates both from the order's
//! notional at its limit (or stop, or the current quote) and its profile's
//! fee schedule, in the directions tastytrade writes them.

use rust_decimal::Decimal;

use mbt::{Instrument, OrderRequest, Side};

use super::num::Amount;
use super::orders::price_effect;
use super::wire::{BuyingPowerEffect, Effect, FeeCalculation};
use crate::brokerage::SimBrokerage;

/// One traded instrument of an order: what, which way, how many, at what price.
struct Part {
    instrument: Instrument,
    side: Side,
    quantity: Decimal,
    price: Decimal,
}

/// The price an instrument is estimated at for a side: the quote it would take, else its mark.
fn quoted(b: &SimBrokerage, i: &Instrument, side: Side) -> Decimal {
    let q = b.engine().quote(i);
    match side {
        Side::Buy => q.map(|q| q.ask),
        Side::Sell => q.map(|q| q.bid),
    }
    .or_else(|| b.engine().mark(i))
    .unwrap_or_default()
}

fn parts(b: &SimBrokerage, r: &OrderRequest) -> Vec<Part> {
    match &r.legs {
        Some(legs) if !legs.is_empty() => legs
            .iter()
            .map(|l| Part {
                instrument: l.instrument.clone(),
                side: l.side,
                quantity: r.quantity.saturating_mul(l.ratio_quantity),
                price: quoted(b, &l.instrument, l.side),
            })
            .collect(),
        _ => vec![Part {
            instrument: r.instrument.clone(),
            side: r.side,
            quantity: r.quantity,
            price: r
                .limit_price
                .or(r.stop_price)
                .unwrap_or_else(|| quoted(b, &r.instrument, r.side)),
        }],
    }
}

/// The order's net notional: positive for what it pays, negative for what it receives.
fn net_notional(b: &SimBrokerage, r: &OrderRequest) -> Decimal {
    if let (true, Some(limit)) = (r.is_multi_leg(), r.limit_price) {
        let per_spread = limit.saturating_mul(mbt::instrument::OPTION_MULTIPLIER);
        let total = per_spread.saturating_mul(r.quantity);
        return match r.side {
            Side::Buy => total,
            Side::Sell => -total,
        };
    }
    parts(b, r).iter().fold(Decimal::ZERO, |acc, p| {
        let value = p
            .quantity
            .saturating_mul(p.price)
            .saturating_mul(p.instrument.multiplier());
        match p.side {
            Side::Buy => acc.saturating_add(value),
            Side::Sell => acc.saturating_sub(value),
        }
    })
}

fn effect_of(amount: Decimal, nonzero: Effect) -> Effect {
    if amount.is_zero() {
        Effect::None
    } else {
        nonzero
    }
}

/// The order's estimated effect on the account's buying power.
pub fn buying_power(b: &SimBrokerage, r: &OrderRequest) -> BuyingPowerEffect {
    let current = b
        .account(&r.account_id)
        .map_or(Decimal::ZERO, |a| a.buying_power);
    let net = net_notional(b, r);
    let impact = net.abs();
    let direction = if net.is_sign_negative() {
        Effect::Credit
    } else {
        price_effect(r)
    };
    let debit = direction == Effect::Debit;
    let new = if debit {
        current.saturating_sub(impact)
    } else {
        current.saturating_add(impact)
    };
    let requirement = if debit { impact } else { Decimal::ZERO };
    BuyingPowerEffect {
        change_in_margin_requirement: Amount(requirement),
        change_in_margin_requirement_effect: effect_of(requirement, Effect::Debit),
        change_in_buying_power: Amount(impact),
        change_in_buying_power_effect: effect_of(impact, direction),
        current_buying_power: Amount(current.abs()),
        current_buying_power_effect: effect_of(current, Effect::Credit),
        new_buying_power: Amount(new.abs()),
        new_buying_power_effect: effect_of(new, Effect::Credit),
        isolated_order_margin_requirement: Amount(requirement),
        isolated_order_margin_requirement_effect: effect_of(requirement, Effect::Debit),
        is_spread: r.is_multi_leg(),
        impact: Amount(impact),
        effect: effect_of(impact, direction),
    }
}

/// The order's estimated fees, from the profile's schedule.
pub fn fees(b: &SimBrokerage, r: &OrderRequest) -> FeeCalculation {
    let schedule = &b.profile().fees;
    let parts = parts(b, r);
    let regulatory = parts.iter().fold(Decimal::ZERO, |acc, p| {
        acc.saturating_add(
            schedule
                .regulatory(&p.instrument, p.side, p.quantity, p.price)
                .unwrap_or_default(),
        )
    });
    let units = parts
        .iter()
        .fold(Decimal::ZERO, |acc, p| acc.saturating_add(p.quantity));
    let commission = parts
        .first()
        .map(|p| {
            schedule
                .commission_for(&p.instrument, units)
                .unwrap_or_default()
        })
        .unwrap_or_default();
    let total = regulatory.saturating_add(commission);
    FeeCalculation {
        regulatory_fees: Amount(regulatory),
        regulatory_fees_effect: effect_of(regulatory, Effect::Debit),
        clearing_fees: Amount(Decimal::ZERO),
        clearing_fees_effect: Effect::None,
        commission: Amount(commission),
        commission_effect: effect_of(commission, Effect::Debit),
        proprietary_index_option_fees: Amount(Decimal::ZERO),
        proprietary_index_option_fees_effect: Effect::None,
        total_fees: Amount(total),
        total_fees_effect: effect_of(total, Effect::Debit),
        per_quantity: false,
    }
}
