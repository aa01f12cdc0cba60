//! Schwab's order object (reference §2.4, §3) from the brokerage's book.
//!
//! A Schwab order has no PARTIALLY_FILLED: a partly filled order stays
//! WORKING, and its fills show as `filledQuantity` and one EXECUTION
//! activity per execution (§3, §8.8). A child of a TRIGGER reads
//! AWAITING_PARENT_ORDER until its parent fills. A replaced order ends
//! REPLACED and lists its replacement in `replacingOrderCollection` (§2.7).
//! The words SELL_SHORT and BUY_TO_COVER come back from the position
//! effect the request's instruction carried (see `requests`).

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use mbt::{Instrument, OptionRight, OrderRequest, OrderType, PositionEffect, Side, TimeInForce};

use super::wire::{
    order_id, time, AccountInstrument, Double, ExecutionLeg, Order, OrderActivity, OrderLeg,
};
use crate::brokerage::{BrokerEvent, BrokerEventKind, BrokerOrder, SimBrokerage};
use crate::ids::stable_int;

/// Activity ids count up from here with the broker's event sequence, so
/// sorting activities by id sorts them by time (§3 advises clients to).
const ACTIVITY_BASE: u64 = 93_918_428_795;

/// The instrument id Schwab gives a symbol: stable, derived from it.
pub fn instrument_id(i: &Instrument) -> u64 {
    stable_int(&["schwab-instrument", &i.to_string()])
}

/// An instrument as order legs and positions show it (§2.1, §7);
/// positions add `netChange` and `optionMultiplier`.
pub fn instrument(i: &Instrument, for_position: bool) -> AccountInstrument {
    let mut out = AccountInstrument {
        asset_type: "EQUITY",
        symbol: i.to_string(),
        instrument_id: instrument_id(i),
        net_change: for_position.then_some(Double(Decimal::ZERO)),
        description: None,
        kind: None,
        put_call: None,
        underlying_symbol: None,
        option_multiplier: None,
    };
    if let Instrument::Option { occ } = i {
        let right = match occ.right() {
            OptionRight::Call => "Call",
            OptionRight::Put => "Put",
        };
        out.asset_type = "OPTION";
        out.description = Some(format!(
            "{} {} ${} {right}",
            occ.root(),
            occ.expiry().format("%m/%d/%Y"),
            occ.strike().normalize()
        ));
        out.kind = Some("VANILLA");
        out.put_call = Some(if right == "Call" { "CALL" } else { "PUT" });
        out.underlying_symbol = Some(occ.root().to_string());
        out.option_multiplier = for_position.then_some(100);
    }
    out
}

pub fn duration_word(t: TimeInForce) -> &'static str {
    match t {
        TimeInForce::Day => "DAY",
        TimeInForce::Gtc => "GOOD_TILL_CANCEL",
        TimeInForce::Ioc => "IMMEDIATE_OR_CANCEL",
        TimeInForce::Fok => "FILL_OR_KILL",
    }
}

pub fn type_word(r: &OrderRequest) -> &'static str {
    if r.is_multi_leg() {
        return match r.side {
            Side::Buy => "NET_DEBIT",
            Side::Sell => "NET_CREDIT",
        };
    }
    match r.order_type {
        OrderType::Market => "MARKET",
        OrderType::Limit => "LIMIT",
        OrderType::Stop => "STOP",
        OrderType::StopLimit => "STOP_LIMIT",
    }
}

/// The instruction a leg was sent with.
pub fn instruction_word(side: Side, effect: Option<PositionEffect>, option: bool) -> &'static str {
    let close = effect == Some(PositionEffect::Close);
    match (option, side, close) {
        (false, Side::Buy, false) => "BUY",
        (false, Side::Buy, true) => "BUY_TO_COVER",
        (false, Side::Sell, true) => "SELL",
        (false, Side::Sell, false) => "SELL_SHORT",
        (true, Side::Buy, false) => "BUY_TO_OPEN",
        (true, Side::Buy, true) => "BUY_TO_CLOSE",
        (true, Side::Sell, false) => "SELL_TO_OPEN",
        (true, Side::Sell, true) => "SELL_TO_CLOSE",
    }
}

fn effect_word(effect: Option<PositionEffect>) -> Option<&'static str> {
    effect.map(|e| match e {
        PositionEffect::Open => "OPENING",
        PositionEffect::Close => "CLOSING",
    })
}

/// The combination a multi-leg order names: two calls (or two puts) of
/// one expiry at two strikes, one bought and one sold, is a VERTICAL; the
/// model names anything else CUSTOM (the request's own word is not kept).
pub fn complex_word(r: &OrderRequest) -> String {
    let legs = r.legs.as_deref().unwrap_or_default();
    let vertical = match legs {
        [a, b] => match (&a.instrument, &b.instrument) {
            (Instrument::Option { occ: x }, Instrument::Option { occ: y }) => {
                x.expiry() == y.expiry()
                    && x.right() == y.right()
                    && x.strike() != y.strike()
                    && a.side != b.side
                    && a.ratio_quantity == b.ratio_quantity
            }
            _ => false,
        },
        _ => false,
    };
    match (legs.is_empty(), vertical) {
        (true, _) => "NONE",
        (false, true) => "VERTICAL",
        (false, false) => "CUSTOM",
    }
    .to_string()
}

/// The legs of an order as `orderLegCollection` lists them.
fn legs(r: &OrderRequest) -> Vec<OrderLeg> {
    let one = |leg_id, traded: &Instrument, side, effect, quantity| OrderLeg {
        order_leg_type: if traded.is_option() {
            "OPTION"
        } else {
            "EQUITY"
        },
        leg_id,
        instrument: instrument(traded, false),
        instruction: instruction_word(side, effect, traded.is_option()),
        position_effect: effect_word(effect),
        quantity: Double(quantity),
    };
    match &r.legs {
        Some(legs) if !legs.is_empty() => (1u32..)
            .zip(legs)
            .map(|(id, l)| {
                let qty = l.ratio_quantity.saturating_mul(r.quantity);
                one(id, &l.instrument, l.side, l.position_effect, qty)
            })
            .collect(),
        _ => vec![one(1, &r.instrument, r.side, r.position_effect, r.quantity)],
    }
}

/// Renders orders against one reading of the brokerage: each order's fill
/// events are gathered once per answer, however many orders it lists.
pub struct View<'a> {
    b: &'a SimBrokerage,
    fills: BTreeMap<&'a str, Vec<&'a BrokerEvent>>,
}

impl<'a> View<'a> {
    pub fn new(b: &'a SimBrokerage) -> Self {
        let mut fills: BTreeMap<&str, Vec<&BrokerEvent>> = BTreeMap::new();
        for e in b.events_since(0) {
            if matches!(e.kind, BrokerEventKind::Fill { .. }) {
                fills.entry(e.vendor_id.as_str()).or_default().push(e);
            }
        }
        Self { b, fills }
    }

    /// The word Schwab shows for `o` now.
    pub fn status(&self, o: &BrokerOrder) -> String {
        let state = self.b.state(o);
        if o.held && !state.status.is_terminal() {
            return "AWAITING_PARENT_ORDER".to_string();
        }
        self.b.profile().vendor_status(state.status).to_string()
    }

    /// An order with its replacement and children.
    pub fn order(&self, o: &BrokerOrder) -> Order {
        let mut out = self.bare(o);
        if let Some(next) = o.replaced_by.as_deref().and_then(|id| self.b.order(id)) {
            out.replacing_order_collection = vec![self.bare(next)];
        }
        out.child_order_strategies = self
            .b
            .orders_of(&o.account)
            .filter(|c| c.parent.as_deref() == Some(o.vendor_id.as_str()))
            .map(|c| self.bare(c))
            .collect();
        if !out.child_order_strategies.is_empty() {
            out.order_strategy_type = "TRIGGER";
        }
        out
    }

    /// An order on its own (as it appears inside another).
    fn bare(&self, o: &BrokerOrder) -> Order {
        let b = self.b;
        let state = b.state(o);
        let r = &o.request;
        let terminal = state.status.is_terminal();
        let closed_at = o
            .filled_at
            .or(o.canceled_at)
            .or(o.expired_at)
            .or(o.replaced_at)
            .or(o.failed_at)
            .unwrap_or(o.updated_at);
        let working = !terminal && state.status != mbt::OrderStatus::PendingCancel;
        Order {
            session: Some("NORMAL"),
            duration: Some(duration_word(r.time_in_force)),
            order_type: Some(type_word(r)),
            complex_order_strategy_type: complex_word(r),
            quantity: Double(r.quantity),
            filled_quantity: Double(state.filled_quantity),
            remaining_quantity: Double(r.quantity.saturating_sub(state.filled_quantity)),
            requested_destination: "AUTO",
            price: r.limit_price.map(Double),
            stop_price: r.stop_price.map(Double),
            order_leg_collection: legs(r),
            order_strategy_type: "SINGLE",
            order_id: order_id(&o.vendor_id),
            cancelable: working,
            editable: working,
            status: self.status(o),
            entered_time: time(o.submitted_at),
            close_time: terminal.then(|| time(closed_at)),
            account_number: o.account.parse().unwrap_or_default(),
            order_activity_collection: self.activities(o),
            replacing_order_collection: Vec::new(),
            child_order_strategies: Vec::new(),
            status_description: o.rejection.as_ref().map(|r| r.message.clone()),
        }
    }

    /// One EXECUTION activity per execution, newest first as observed (§3);
    /// the legs of a spread that filled together are one execution.
    fn activities(&self, o: &BrokerOrder) -> Vec<OrderActivity> {
        let r = &o.request;
        let fills = self
            .fills
            .get(o.vendor_id.as_str())
            .map_or(&[][..], Vec::as_slice);
        let mut groups: Vec<Vec<&BrokerEvent>> = Vec::new();
        for e in fills {
            match groups.last_mut() {
                Some(g) if r.is_multi_leg() && g.first().is_some_and(|f| f.time == e.time) => {
                    g.push(e)
                }
                _ => groups.push(vec![e]),
            }
        }
        let mut filled_before = Decimal::ZERO;
        let mut out = Vec::new();
        for g in groups {
            let Some(last) = g.last() else { continue };
            let after = last.state.filled_quantity;
            let legs = g.iter().filter_map(|e| execution_leg(r, e)).collect();
            out.push(OrderActivity {
                activity_type: "EXECUTION",
                activity_id: ACTIVITY_BASE.saturating_add(last.seq),
                execution_type: "FILL",
                quantity: Double(after.saturating_sub(filled_before)),
                order_remaining_quantity: Double(r.quantity.saturating_sub(after)),
                execution_legs: legs,
            });
            filled_before = after;
        }
        out.reverse();
        out
    }
}

fn execution_leg(r: &OrderRequest, e: &BrokerEvent) -> Option<ExecutionLeg> {
    let BrokerEventKind::Fill {
        instrument: i,
        quantity,
        price,
        ..
    } = &e.kind
    else {
        return None;
    };
    let leg_id = r
        .legs
        .iter()
        .flatten()
        .position(|l| &l.instrument == i)
        .and_then(|n| u32::try_from(n + 1).ok())
        .unwrap_or(1);
    Some(ExecutionLeg {
        leg_id,
        quantity: Double(*quantity),
        mismarked_quantity: Double(Decimal::ZERO),
        price: Double(*price),
        time: time(e.time),
        instrument_id: instrument_id(i),
    })
}

/// Whether an order is the account's own top-level order as Schwab lists
/// it: taken (a refusal never became an order) and not a child, which is
/// listed inside its parent.
pub fn listed(o: &BrokerOrder) -> bool {
    o.taken && o.parent.is_none()
}

/// Whether an order was taken at all (what `GET …/orders/{id}` can show).
pub fn visible(o: &BrokerOrder) -> bool {
    o.taken
}
