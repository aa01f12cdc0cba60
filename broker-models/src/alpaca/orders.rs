//! Order objects out: a broker order as Alpaca's Order (§2.2), as it stands
//! now, with the vendor words for sides, types, times in force and intents.

use rust_decimal::Decimal;

use mbt::{Leg, OrderStatus, OrderType, PositionEffect, Side, TimeInForce, Trail};

use super::exits::class_word;
use super::state::Tables;
use super::wire::{self, Order};
use crate::brokerage::{BrokerEventKind, BrokerOrder, SimBrokerage};

pub fn side_word(s: Side) -> &'static str {
    match s {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

pub fn type_word(t: OrderType) -> &'static str {
    match t {
        OrderType::Market => "market",
        OrderType::Limit => "limit",
        OrderType::Stop => "stop",
        OrderType::StopLimit => "stop_limit",
    }
}

/// The type an order shows: a stop with a trail is Alpaca's `trailing_stop`.
fn kind_word(r: &mbt::OrderRequest) -> &'static str {
    match r.trail {
        Some(_) => "trailing_stop",
        None => type_word(r.order_type),
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

pub fn intent_word(side: Side, effect: Option<PositionEffect>) -> Option<String> {
    let w = match (side, effect?) {
        (Side::Buy, PositionEffect::Open) => "buy_to_open",
        (Side::Buy, PositionEffect::Close) => "buy_to_close",
        (Side::Sell, PositionEffect::Open) => "sell_to_open",
        (Side::Sell, PositionEffect::Close) => "sell_to_close",
    };
    Some(w.to_string())
}

/// The Order object for a broker order, as it stands now: its status is
/// whatever the brokerage says (`b.state`), never assumed from the request.
pub fn to_wire(b: &SimBrokerage, t: &Tables, o: &BrokerOrder) -> Order {
    let extras = t.extras(o);
    let state = b.state(o);
    let r = &o.request;
    let time = wire::time;
    let mut order = Order {
        id: o.vendor_id.clone(),
        client_order_id: o.client_order_id.clone(),
        created_at: time(o.submitted_at),
        updated_at: time(o.updated_at),
        submitted_at: time(o.submitted_at),
        filled_at: o.filled_at.map(time),
        expired_at: o.expired_at.map(time),
        canceled_at: o.canceled_at.map(time),
        failed_at: o.failed_at.map(time),
        replaced_at: o.replaced_at.map(time),
        replaced_by: o.replaced_by.clone(),
        replaces: o.replaces.clone(),
        asset_id: wire::asset_id(&wire::symbol(&r.instrument)),
        symbol: wire::symbol(&r.instrument),
        asset_class: wire::asset_class(&r.instrument).to_string(),
        notional: extras.notional.map(wire::dec),
        // A notional order has no quantity of its own (§8.11).
        qty: extras.notional.is_none().then(|| wire::dec(r.quantity)),
        filled_qty: wire::dec(state.filled_quantity),
        filled_avg_price: state.average_fill_price.map(wire::dec),
        order_class: o.class.map_or("simple", class_word).to_string(),
        order_type: kind_word(r).to_string(),
        kind: kind_word(r).to_string(),
        side: side_word(r.side).to_string(),
        position_intent: if r.instrument.is_option() {
            intent_word(r.side, r.position_effect)
        } else {
            None
        },
        time_in_force: tif_word(r.time_in_force).to_string(),
        limit_price: r.limit_price.map(wire::dec),
        // A trailing stop's stop moves with its mark: the engine's, not the request's.
        stop_price: state
            .trailing
            .map(|t| t.stop_price)
            .or(r.stop_price)
            .map(wire::dec),
        // An exit waiting for its entry is Alpaca's `held` (§3.1).
        status: if o.held && state.status == OrderStatus::Pending {
            "held".to_string()
        } else {
            b.profile().vendor_status(state.status).to_string()
        },
        extended_hours: extras.extended_hours,
        legs: None,
        trail_percent: match r.trail {
            Some(Trail::Percent(p)) => Some(wire::dec(p)),
            _ => None,
        },
        trail_price: match r.trail {
            Some(Trail::Price(p)) => Some(wire::dec(p)),
            _ => None,
        },
        hwm: state.trailing.map(|t| wire::dec(t.hwm)),
        ratio_qty: None,
    };
    if let Some(legs) = r.legs.as_ref().filter(|l| !l.is_empty()) {
        mleg_parent(b, o, &mut order, legs, state.filled_quantity);
    }
    order
}

/// The Order object with a bracket's, OTO's or OCO's exits under `legs`,
/// as Alpaca answers the submit and `nested=true` reads (§2.2, §2.5).
pub fn to_wire_nested(b: &SimBrokerage, t: &Tables, o: &BrokerOrder) -> Order {
    let mut order = to_wire(b, t, o);
    if o.class.is_some() && o.parent.is_none() {
        let exits: Vec<Order> = b
            .orders_of(&o.account)
            // A replaced exit has handed its place to its replacement.
            .filter(|x| x.parent.as_deref() == Some(o.vendor_id.as_str()))
            .filter(|x| x.replaced_by.is_none())
            .map(|x| to_wire(b, t, x))
            .collect();
        order.legs = Some(exits);
    }
    order
}

/// An mleg parent: empty asset fields, signed net limit, legs inline (§2.2).
fn mleg_parent(
    b: &SimBrokerage,
    o: &BrokerOrder,
    order: &mut Order,
    legs: &[Leg],
    units_filled: Decimal,
) {
    let r = &o.request;
    order.order_class = "mleg".to_string();
    order.asset_id = String::new();
    order.symbol = String::new();
    order.asset_class = String::new();
    order.side = String::new();
    order.limit_price = r
        .limit_price
        .map(|p| wire::dec(if r.side == Side::Sell { -p } else { p }));
    let parent = order.clone();
    order.legs = Some(
        legs.iter()
            .zip(&o.leg_ids)
            .map(|(leg, id)| leg_wire(b, o, &parent, leg, id, units_filled))
            .collect(),
    );
}

/// The quantity and average price of the fills an order made in one instrument.
fn fills_in(b: &SimBrokerage, o: &BrokerOrder, leg: &Leg) -> (Decimal, Option<Decimal>) {
    let fills: Vec<(Decimal, Decimal)> = b
        .events_since(0)
        .filter(|e| e.vendor_id == o.vendor_id)
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
    let qty = fills
        .iter()
        .try_fold(Decimal::ZERO, |sum, f| sum.checked_add(f.0));
    let cost = fills.iter().try_fold(Decimal::ZERO, |sum, f| {
        f.0.checked_mul(f.1).and_then(|c| sum.checked_add(c))
    });
    match (qty, cost) {
        (Some(q), Some(c)) if !q.is_zero() => (q, c.checked_div(q)),
        (Some(q), _) => (q, None),
        _ => (Decimal::ZERO, None),
    }
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
    let (_, avg) = fills_in(b, parent, leg);
    let symbol = wire::symbol(&leg.instrument);
    let times = |units: Decimal| units.checked_mul(leg.ratio_quantity).map(wire::dec);
    Order {
        id: id.to_string(),
        client_order_id: wire::uuid_from(&["leg", id]),
        asset_id: wire::asset_id(&symbol),
        symbol,
        asset_class: "us_option".to_string(),
        qty: times(parent.request.quantity),
        filled_qty: times(units_filled).unwrap_or_else(|| wire::dec(units_filled)),
        filled_avg_price: avg.map(wire::dec),
        order_type: String::new(),
        kind: String::new(),
        side: side_word(leg.side).to_string(),
        position_intent: intent_word(leg.side, leg.position_effect),
        limit_price: None,
        stop_price: None,
        legs: None,
        ratio_qty: Some(wire::dec(leg.ratio_quantity)),
        ..p.clone()
    }
}
