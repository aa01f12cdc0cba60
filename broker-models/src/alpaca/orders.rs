//! Between Alpaca's order JSON and the brokerage: requests in, Order objects out.

use rust_decimal::Decimal;

use mbt::fill::on_tick;
use mbt::{Instrument, Leg, OrderRequest, OrderType, PositionEffect, Side, TimeInForce};

use super::errors::AlpacaError;
use super::wire::{self, Order};
use crate::brokerage::{BrokerEventKind, BrokerOrder, SimBrokerage};

const MAX_CLIENT_ORDER_ID: usize = 128;

fn side_of(word: &str) -> Result<Side, AlpacaError> {
    match word {
        "buy" => Ok(Side::Buy),
        "sell" => Ok(Side::Sell),
        other => Err(AlpacaError::invalid(format!("invalid side {other:?}"))),
    }
}

/// `buy_to_open` and friends: the side and position effect they name.
fn intent(word: &str) -> Result<(Side, PositionEffect), AlpacaError> {
    match word {
        "buy_to_open" => Ok((Side::Buy, PositionEffect::Open)),
        "buy_to_close" => Ok((Side::Buy, PositionEffect::Close)),
        "sell_to_open" => Ok((Side::Sell, PositionEffect::Open)),
        "sell_to_close" => Ok((Side::Sell, PositionEffect::Close)),
        other => Err(AlpacaError::invalid(format!(
            "invalid position_intent {other:?}"
        ))),
    }
}

fn intent_word(side: Side, effect: Option<PositionEffect>) -> Option<String> {
    let w = match (side, effect?) {
        (Side::Buy, PositionEffect::Open) => "buy_to_open",
        (Side::Buy, PositionEffect::Close) => "buy_to_close",
        (Side::Sell, PositionEffect::Open) => "sell_to_open",
        (Side::Sell, PositionEffect::Close) => "sell_to_close",
    };
    Some(w.to_string())
}

pub fn type_word(t: OrderType) -> &'static str {
    match t {
        OrderType::Market => "market",
        OrderType::Limit => "limit",
        OrderType::Stop => "stop",
        OrderType::StopLimit => "stop_limit",
    }
}

fn type_of(word: &str) -> Result<OrderType, AlpacaError> {
    match word {
        "market" => Ok(OrderType::Market),
        "limit" => Ok(OrderType::Limit),
        "stop" => Ok(OrderType::Stop),
        "stop_limit" => Ok(OrderType::StopLimit),
        "trailing_stop" => Err(AlpacaError::unprocessable(
            "trailing_stop orders are not simulated by raxx-sim",
        )),
        other => Err(AlpacaError::invalid(format!(
            "invalid order type {other:?}"
        ))),
    }
}

pub fn tif_word(t: TimeInForce) -> &'static str {
    match t {
        TimeInForce::Day => "day",
        TimeInForce::Gtc => "gtc",
        TimeInForce::Ioc => "ioc",
        TimeInForce::Fok => "fok",
    }
}

pub fn tif_of(word: &str) -> Result<TimeInForce, AlpacaError> {
    match word {
        "day" => Ok(TimeInForce::Day),
        "gtc" => Ok(TimeInForce::Gtc),
        "ioc" => Ok(TimeInForce::Ioc),
        "fok" => Ok(TimeInForce::Fok),
        "opg" | "cls" => Err(AlpacaError::unprocessable(format!(
            "{word} orders are not simulated by raxx-sim"
        ))),
        other => Err(AlpacaError::invalid(format!(
            "invalid time_in_force {other:?}"
        ))),
    }
}

fn check_tick(name: &str, price: Option<Decimal>) -> Result<(), AlpacaError> {
    match price {
        Some(p) if !on_tick(p.abs()) => Err(AlpacaError::unprocessable(format!(
            "invalid {name} {p}. sub-penny increment does not fulfill minimum pricing criteria"
        ))),
        _ => Ok(()),
    }
}

/// The position effect Alpaca infers when an option order names none:
/// closing when it trades against a held position.
fn inferred_effect(
    b: &SimBrokerage,
    account: &str,
    instrument: &Instrument,
    side: Side,
) -> PositionEffect {
    let held = b
        .engine()
        .account(account)
        .map_or(Decimal::ZERO, |a| a.position_quantity(instrument));
    match side {
        Side::Sell if held > Decimal::ZERO => PositionEffect::Close,
        Side::Buy if held < Decimal::ZERO => PositionEffect::Close,
        _ => PositionEffect::Open,
    }
}

/// Translates a submit body into an engine request, with Alpaca's validation errors.
pub fn to_request(
    b: &SimBrokerage,
    account: &str,
    req: wire::OrderRequest,
    generated_id: impl FnOnce() -> String,
) -> Result<OrderRequest, AlpacaError> {
    let client_order_id = req.client_order_id.clone().unwrap_or_else(generated_id);
    if client_order_id.len() > MAX_CLIENT_ORDER_ID {
        return Err(AlpacaError::invalid(
            "client_order_id must be no more than 128 characters",
        ));
    }
    let qty = match (req.qty, req.notional) {
        (Some(_), Some(_)) => {
            return Err(AlpacaError::invalid(
                "only one of qty or notional is accepted",
            ))
        }
        (None, None) => return Err(AlpacaError::invalid("qty or notional is required")),
        (None, Some(_)) => {
            return Err(AlpacaError::unprocessable(
                "notional orders are not simulated by raxx-sim",
            ))
        }
        (Some(q), None) => q,
    };
    if qty <= Decimal::ZERO {
        return Err(AlpacaError::invalid("qty must be > 0"));
    }
    let order_type = type_of(
        req.kind
            .as_deref()
            .ok_or_else(|| AlpacaError::invalid("type is required"))?,
    )?;
    let time_in_force = tif_of(
        req.time_in_force
            .as_deref()
            .ok_or_else(|| AlpacaError::invalid("time_in_force is required"))?,
    )?;
    match order_type {
        OrderType::Limit | OrderType::StopLimit if req.limit_price.is_none() => {
            return Err(AlpacaError::invalid("limit orders require a limit price"))
        }
        OrderType::Stop | OrderType::StopLimit if req.stop_price.is_none() => {
            return Err(AlpacaError::invalid("stop orders require a stop price"))
        }
        _ => {}
    }
    check_tick("limit_price", req.limit_price)?;
    check_tick("stop_price", req.stop_price)?;
    // Prices an order type does not use are ignored, as Alpaca does.
    let limit_price = req
        .limit_price
        .filter(|_| matches!(order_type, OrderType::Limit | OrderType::StopLimit));
    let stop_price = req
        .stop_price
        .filter(|_| matches!(order_type, OrderType::Stop | OrderType::StopLimit));
    let base = OrderRequest {
        account_id: account.to_string(),
        client_order_id,
        instrument: Instrument::equity(""),
        side: Side::Buy,
        position_effect: None,
        quantity: qty,
        order_type,
        limit_price,
        stop_price,
        time_in_force,
        legs: None,
    };
    if req.order_class.as_deref() == Some("mleg") {
        return multi_leg(b, account, req, base);
    }
    let symbol = req
        .symbol
        .ok_or_else(|| AlpacaError::invalid("symbol is required"))?;
    let instrument = Instrument::parse_symbol(&symbol);
    let (side, effect) = match (&req.side, &req.position_intent) {
        (_, Some(i)) if instrument.is_option() => {
            let (s, e) = intent(i)?;
            (s, Some(e))
        }
        (Some(s), _) => (side_of(s)?, None),
        (None, _) => return Err(AlpacaError::invalid("side is required")),
    };
    if instrument.is_option() && !qty.fract().is_zero() {
        return Err(AlpacaError::invalid("qty must be integer"));
    }
    let position_effect = match (&instrument, effect) {
        (Instrument::Option { .. }, Some(e)) => Some(e),
        (Instrument::Option { .. }, None) => Some(inferred_effect(b, account, &instrument, side)),
        _ => None,
    };
    Ok(OrderRequest {
        instrument,
        side,
        position_effect,
        ..base
    })
}

fn multi_leg(
    b: &SimBrokerage,
    account: &str,
    req: wire::OrderRequest,
    base: OrderRequest,
) -> Result<OrderRequest, AlpacaError> {
    if req.symbol.is_some() {
        return Err(AlpacaError::invalid("symbol is not allowed for mleg order"));
    }
    let legs_in = req.legs.unwrap_or_default();
    if !(2..=4).contains(&legs_in.len()) {
        return Err(AlpacaError::invalid("mleg orders require 2 to 4 legs"));
    }
    let mut legs = Vec::with_capacity(legs_in.len());
    for l in legs_in {
        let symbol = l
            .symbol
            .ok_or_else(|| AlpacaError::invalid("leg symbol is required"))?;
        let instrument = Instrument::parse_symbol(&symbol);
        let (side, effect) = match (&l.position_intent, &l.side) {
            (Some(i), _) => {
                let (s, e) = intent(i)?;
                (s, e)
            }
            (None, Some(s)) => {
                let s = side_of(s)?;
                (s, inferred_effect(b, account, &instrument, s))
            }
            (None, None) => {
                return Err(AlpacaError::invalid(
                    "leg side or position_intent is required",
                ))
            }
        };
        legs.push(Leg {
            instrument,
            side,
            position_effect: Some(effect),
            ratio_quantity: l.ratio_qty.unwrap_or(Decimal::ONE),
        });
    }
    let underlying = legs[0].instrument.underlying().to_string();
    // Alpaca's mleg limit is signed: positive pays a debit, negative takes a credit.
    let (side, limit_price) = match base.limit_price {
        Some(p) if p < Decimal::ZERO => (Side::Sell, Some(-p)),
        other => (Side::Buy, other),
    };
    Ok(OrderRequest {
        instrument: Instrument::equity(underlying),
        side,
        limit_price,
        legs: Some(legs),
        ..base
    })
}

/// The Order object for a broker order, as it stands now.
pub fn to_wire(b: &SimBrokerage, o: &BrokerOrder) -> Order {
    let state = b.state(o);
    let r = &o.request;
    let avg = state.average_fill_price.map(wire::dec);
    let status = b.profile().vendor_status(state.status).to_string();
    let t = wire::time;
    let mut order = Order {
        id: o.vendor_id.clone(),
        client_order_id: o.client_order_id.clone(),
        created_at: t(o.submitted_at),
        updated_at: t(o.updated_at),
        submitted_at: t(o.submitted_at),
        filled_at: o.filled_at.map(t),
        expired_at: o.expired_at.map(t),
        canceled_at: o.canceled_at.map(t),
        failed_at: o.failed_at.map(t),
        replaced_at: o.replaced_at.map(t),
        replaced_by: o.replaced_by.clone(),
        replaces: o.replaces.clone(),
        asset_id: wire::asset_id(&wire::symbol(&r.instrument)),
        symbol: wire::symbol(&r.instrument),
        asset_class: wire::asset_class(&r.instrument).to_string(),
        notional: None,
        qty: Some(wire::dec(r.quantity)),
        filled_qty: wire::dec(state.filled_quantity),
        filled_avg_price: avg,
        order_class: "simple".to_string(),
        order_type: type_word(r.order_type).to_string(),
        kind: type_word(r.order_type).to_string(),
        side: match r.side {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
        .to_string(),
        position_intent: if r.instrument.is_option() {
            intent_word(r.side, r.position_effect)
        } else {
            None
        },
        time_in_force: tif_word(r.time_in_force).to_string(),
        limit_price: r.limit_price.map(wire::dec),
        stop_price: r.stop_price.map(wire::dec),
        status,
        extended_hours: false,
        legs: None,
        trail_percent: None,
        trail_price: None,
        hwm: None,
        ratio_qty: None,
    };
    if let Some(legs) = r.legs.as_ref().filter(|l| !l.is_empty()) {
        // mleg parent: empty asset fields, signed net limit, legs inline (§2.2).
        order.order_class = "mleg".to_string();
        order.asset_id = String::new();
        order.symbol = String::new();
        order.asset_class = String::new();
        order.side = String::new();
        order.limit_price = r
            .limit_price
            .map(|p| wire::dec(if r.side == Side::Sell { -p } else { p }));
        order.legs = Some(
            legs.iter()
                .zip(&o.leg_ids)
                .map(|(leg, id)| leg_wire(b, o, &order, leg, id, state.filled_quantity))
                .collect(),
        );
    }
    order
}

fn leg_wire(
    b: &SimBrokerage,
    parent: &BrokerOrder,
    p: &Order,
    leg: &Leg,
    id: &str,
    units_filled: Decimal,
) -> Order {
    // A leg's price is what its own fills paid.
    let fills: Vec<(Decimal, Decimal)> = b
        .events_since(0)
        .iter()
        .filter(|e| e.vendor_id == parent.vendor_id)
        .filter_map(|e| match &e.kind {
            BrokerEventKind::Fill {
                instrument,
                quantity,
                price,
                ..
            } if *instrument == leg.instrument => Some((*quantity, *price)),
            _ => None,
        })
        .collect();
    let qty: Decimal = fills.iter().map(|f| f.0).sum();
    let avg =
        (!qty.is_zero()).then(|| wire::dec(fills.iter().map(|f| f.0 * f.1).sum::<Decimal>() / qty));
    let symbol = wire::symbol(&leg.instrument);
    Order {
        id: id.to_string(),
        client_order_id: wire::uuid_from(&["leg", id]),
        asset_id: wire::asset_id(&symbol),
        symbol,
        asset_class: "us_option".to_string(),
        qty: Some(wire::dec(parent.request.quantity * leg.ratio_quantity)),
        filled_qty: wire::dec(units_filled * leg.ratio_quantity),
        filled_avg_price: avg,
        order_type: String::new(),
        kind: String::new(),
        side: match leg.side {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
        .to_string(),
        position_intent: intent_word(leg.side, leg.position_effect),
        limit_price: None,
        stop_price: None,
        legs: None,
        ratio_qty: Some(wire::dec(leg.ratio_quantity)),
        ..p.clone()
    }
}
