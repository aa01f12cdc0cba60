//! Tradier's order object (reference §2.2, §3) from the brokerage's book.
//!
//! A Tradier order keeps its id for its whole life, modifies included
//! (§2.5, §8.8), while the engine replaces a modified order with a new one
//! for what was left unfilled. So the object is rendered from the chain of
//! engine orders behind the vendor id: the quantity first ordered, every
//! fill of every link, and the status of the link working now.

use rust_decimal::Decimal;

use mbt::{Engine, Instrument, OrderId, OrderStatus, OrderType, PositionEffect, Side, TimeInForce};

use super::errors::reason_text;
use super::wire::{symbol, time, Fills, Leg, Number, OneOrMany, Order};
use crate::brokerage::{BrokerOrder, OrderState, SimBrokerage};

/// Whether Tradier gave this order an id: a refusal answered the POST with
/// an `errors` body instead, and Tradier never shows it again.
pub fn acknowledged(o: &BrokerOrder) -> bool {
    o.taken
}

/// The engine orders behind `o`, first to current (one unless modified).
pub fn chain<'a>(engine: &'a Engine, o: &BrokerOrder) -> Vec<&'a mbt::Order> {
    let mut links = Vec::new();
    let mut next = o.engine_id;
    while let Some(order) = next.and_then(|id| engine.order(id)) {
        links.push(order);
        next = order.replaces;
    }
    links.reverse();
    links
}

/// The vendor order over its whole life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Life {
    pub quantity: Decimal,
    pub filled: Decimal,
    pub average: Option<Decimal>,
    pub status: OrderStatus,
}

impl Life {
    pub fn remaining(&self) -> Decimal {
        if self.status.is_terminal() {
            Decimal::ZERO
        } else {
            self.quantity.saturating_sub(self.filled)
        }
    }
}

/// The life of `o` as it stood when its `link`-th engine order was in
/// `state`: fills of the earlier links count, later ones had not happened.
pub fn life(
    links: &[&mbt::Order],
    fallback: &BrokerOrder,
    link: usize,
    state: &OrderState,
) -> Life {
    let earlier = links.get(..link).unwrap_or_default();
    let (filled, cost) = earlier.iter().fold(
        (
            state.filled_quantity,
            cost_of(state.filled_quantity, state.average_fill_price),
        ),
        |(q, c), o| {
            (
                q.saturating_add(o.filled_quantity),
                c.saturating_add(cost_of(o.filled_quantity, o.average_fill_price)),
            )
        },
    );
    let status = match state.status {
        // A modified order keeps what it filled before: still partly filled.
        OrderStatus::Accepted | OrderStatus::Pending if !filled.is_zero() => {
            OrderStatus::PartiallyFilled
        }
        s => s,
    };
    Life {
        quantity: links
            .first()
            .map_or(fallback.request.quantity, |o| o.request.quantity),
        filled,
        average: cost.checked_div(filled).map(|a| a.normalize()),
        status,
    }
}

fn cost_of(quantity: Decimal, average: Option<Decimal>) -> Decimal {
    average.map_or(Decimal::ZERO, |a| a.saturating_mul(quantity))
}

fn duration_word(t: TimeInForce) -> &'static str {
    match t {
        TimeInForce::Gtc => "gtc",
        _ => "day",
    }
}

/// The `type` Tradier shows: multileg orders are market, debit or credit (§2.2).
pub fn type_word(r: &mbt::OrderRequest) -> &'static str {
    match (r.is_multi_leg(), r.order_type, r.side) {
        (true, OrderType::Market, _) => "market",
        (true, _, Side::Buy) => "debit",
        (true, _, Side::Sell) => "credit",
        (false, OrderType::Market, _) => "market",
        (false, OrderType::Limit, _) => "limit",
        (false, OrderType::Stop, _) => "stop",
        (false, OrderType::StopLimit, _) => "stop_limit",
    }
}

fn equity_side_word(side: Side, effect: Option<PositionEffect>) -> &'static str {
    match (side, effect) {
        (Side::Buy, Some(PositionEffect::Close)) => "buy_to_cover",
        (Side::Buy, _) => "buy",
        (Side::Sell, Some(PositionEffect::Open)) => "sell_short",
        (Side::Sell, _) => "sell",
    }
}

fn option_side_word(side: Side, effect: Option<PositionEffect>) -> &'static str {
    match (side, effect.unwrap_or(PositionEffect::Open)) {
        (Side::Buy, PositionEffect::Open) => "buy_to_open",
        (Side::Buy, PositionEffect::Close) => "buy_to_close",
        (Side::Sell, PositionEffect::Open) => "sell_to_open",
        (Side::Sell, PositionEffect::Close) => "sell_to_close",
    }
}

fn side_word(r: &mbt::OrderRequest) -> &'static str {
    if r.is_multi_leg() {
        // A multileg parent reads `buy` in every documented example (§2.2).
        "buy"
    } else if r.instrument.is_option() {
        option_side_word(r.side, r.position_effect)
    } else {
        equity_side_word(r.side, r.position_effect)
    }
}

fn class_word(r: &mbt::OrderRequest) -> &'static str {
    if r.is_multi_leg() {
        "multileg"
    } else if r.instrument.is_option() {
        "option"
    } else {
        "equity"
    }
}

/// The vendor id as the integer Tradier writes (ids are the model's own integers).
pub fn numeric_id(id: &str) -> u64 {
    id.parse().unwrap_or_default()
}

/// The order object (§2.2), as it stands now.
pub fn render(b: &SimBrokerage, o: &BrokerOrder, include_tags: bool) -> Order {
    let links = chain(b.engine(), o);
    let life = life(&links, o, links.len().saturating_sub(1), &b.state(o));
    let r = &o.request;
    let (last_qty, last_price) = o.last_fill.unwrap_or_default();
    let status = b.profile().vendor_status(life.status).to_string();
    let fills = Fills {
        avg_fill_price: Number(life.average.unwrap_or_default()),
        exec_quantity: Number(life.filled),
        last_fill_price: Number(last_price),
        last_fill_quantity: Number(last_qty),
        remaining_quantity: Number(life.remaining()),
    };
    let legs = r.legs.as_deref().unwrap_or_default();
    let mut order = Order {
        id: numeric_id(&o.vendor_id),
        kind: type_word(r),
        symbol: r.instrument.underlying().to_string(),
        side: side_word(r),
        quantity: Number(life.quantity),
        status,
        duration: duration_word(r.time_in_force),
        // Absent numeric fields are omitted, never null (§8.11).
        price: r.limit_price.map(Number),
        stop_price: r.stop_price.map(Number),
        fills,
        create_date: time(o.submitted_at),
        transaction_date: time(o.updated_at),
        class: class_word(r),
        option_symbol: (!r.is_multi_leg() && r.instrument.is_option())
            .then(|| symbol(&r.instrument)),
        num_legs: (!legs.is_empty()).then_some(legs.len()),
        strategy: (!legs.is_empty()).then_some(if legs.len() == 2 { "spread" } else { "unknown" }),
        leg: None,
        reason_description: o.rejection.as_ref().map(reason_text),
        tag: (include_tags && !o.client_order_id.is_empty()).then(|| o.client_order_id.clone()),
    };
    order.leg = OneOrMany::from_vec(render_legs(b, o, &links, &order, &life));
    order
}

/// One leg's executions: how many contracts, at what average, and the latest.
#[derive(Default)]
struct LegFills {
    quantity: Decimal,
    cost: Decimal,
    last: Option<(Decimal, Decimal)>,
}

/// Each leg's executions, from the engine's fills of every link of the order.
fn leg_fills(engine: &Engine, links: &[&mbt::Order], instrument: &Instrument) -> LegFills {
    let ids: Vec<OrderId> = links.iter().map(|o| o.id).collect();
    let mut acc = LegFills::default();
    for entry in engine.log().entries() {
        if let mbt::EngineEvent::Fill {
            order_id,
            instrument: filled,
            quantity,
            price,
            ..
        } = &entry.event
        {
            if filled == instrument && ids.contains(order_id) {
                acc.quantity = acc.quantity.saturating_add(*quantity);
                acc.cost = acc.cost.saturating_add(quantity.saturating_mul(*price));
                acc.last = Some((*quantity, *price));
            }
        }
    }
    acc
}

/// The child orders of a multileg order, each with its own fills and id.
fn render_legs(
    b: &SimBrokerage,
    o: &BrokerOrder,
    links: &[&mbt::Order],
    parent: &Order,
    life: &Life,
) -> Vec<Leg> {
    let legs = o.request.legs.as_deref().unwrap_or_default();
    legs.iter()
        .zip(&o.leg_ids)
        .map(|(l, id)| {
            let f = leg_fills(b.engine(), links, &l.instrument);
            let (last_qty, last_price) = f.last.unwrap_or_default();
            Leg {
                id: numeric_id(id),
                kind: parent.kind,
                symbol: l.instrument.underlying().to_string(),
                side: option_side_word(l.side, l.position_effect),
                quantity: Number(life.quantity.saturating_mul(l.ratio_quantity)),
                status: parent.status.clone(),
                duration: parent.duration,
                // Each leg shows the order's net price (§2.2's multileg example).
                price: parent.price,
                fills: Fills {
                    avg_fill_price: Number(
                        f.cost
                            .checked_div(f.quantity)
                            .unwrap_or_default()
                            .normalize(),
                    ),
                    exec_quantity: Number(f.quantity),
                    last_fill_price: Number(last_price),
                    last_fill_quantity: Number(last_qty),
                    remaining_quantity: Number(life.remaining().saturating_mul(l.ratio_quantity)),
                },
                create_date: parent.create_date.clone(),
                transaction_date: parent.transaction_date.clone(),
                class: "option",
                option_symbol: symbol(&l.instrument),
            }
        })
        .collect()
}
