//! tastytrade's order object (reference §2.5, §3) from the brokerage's book,
//! as it stands now or as it stood at one broker event (the streamer's
//! notifications are full objects at their own moment, §2.11).
//!
//! Fills are per leg: a leg's `fills[]` grows by one execution at a time and
//! its `remaining-quantity` shrinks, while the order stays `Live` until it
//! is filled (§3: there is no partially-filled status).

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use mbt::{EngineEvent, Instrument, OrderRequest, OrderStatus, OrderType, PositionEffect, Side};

use super::num::{epoch_ms, iso, Amount, Number};
use super::wire::{Effect, Fill, Leg, Order};
use super::words;
use crate::brokerage::{BrokerOrder, OrderClass, OrderState, SimBrokerage};

/// Ids are the model's own integers (the profile's integer id format).
pub fn numeric(id: &str) -> u64 {
    id.parse().unwrap_or_default()
}

/// The direction of an order's price: a buy (or a spread bought) pays, a
/// sell (or a spread sold) receives.
pub fn price_effect(r: &OrderRequest) -> Effect {
    match r.side {
        Side::Buy => Effect::Debit,
        Side::Sell => Effect::Credit,
    }
}

/// The id of the complex order whose first order is `leader` (a number of
/// its own, derived so that it never shifts a random stream).
pub fn complex_id(leader: &str) -> u64 {
    crate::ids::stable_int(&["tastytrade/complex-order", leader])
}

/// tastytrade's word for a complex order's kind.
pub fn complex_kind(class: OrderClass) -> &'static str {
    match class {
        OrderClass::Bracket => "OTOCO",
        OrderClass::Oto => "OTO",
        OrderClass::Oco => "OCO",
    }
}

/// The first order of the complex order `o` belongs to, if it belongs to one.
pub fn leader(o: &BrokerOrder) -> Option<&str> {
    o.class?;
    Some(o.parent.as_deref().unwrap_or(&o.vendor_id))
}

/// The status word of `o` in `state`: the profile's word, except that an
/// order waiting for its trigger is `Contingent` and one not yet routed
/// while the market is closed is `Received` (§3).
pub fn status_word(b: &SimBrokerage, o: &BrokerOrder, state: &OrderState) -> String {
    match state.status {
        OrderStatus::Pending if o.held => "Contingent".to_string(),
        OrderStatus::Pending if !b.engine().is_open() => "Received".to_string(),
        s => b.profile().vendor_status(s).to_string(),
    }
}

fn working(s: OrderStatus) -> bool {
    matches!(
        s,
        OrderStatus::Pending | OrderStatus::Accepted | OrderStatus::PartiallyFilled
    )
}

/// Each leg's executions of the engine order behind `o`, oldest first, no
/// more per leg than the order had filled in `state`.
fn leg_fills(
    b: &SimBrokerage,
    o: &BrokerOrder,
    state: &OrderState,
) -> BTreeMap<Instrument, Vec<Fill>> {
    let mut out: BTreeMap<Instrument, Vec<Fill>> = BTreeMap::new();
    let Some(engine_id) = o.engine_id else {
        return out;
    };
    let ratio = |i: &Instrument| {
        o.request
            .legs
            .iter()
            .flatten()
            .find(|l| &l.instrument == i)
            .map_or(Decimal::ONE, |l| l.ratio_quantity)
    };
    let mut taken: BTreeMap<Instrument, Decimal> = BTreeMap::new();
    for entry in b.engine().log().entries() {
        let EngineEvent::Fill {
            order_id,
            instrument,
            quantity,
            price,
            ..
        } = &entry.event
        else {
            continue;
        };
        if *order_id != engine_id {
            continue;
        }
        let cap = state.filled_quantity.saturating_mul(ratio(instrument));
        let so_far = taken.entry(instrument.clone()).or_default();
        if so_far.saturating_add(*quantity) > cap {
            continue;
        }
        *so_far = so_far.saturating_add(*quantity);
        out.entry(instrument.clone()).or_default().push(Fill {
            fill_id: crate::ids::stable_uuid(&[
                "tastytrade/fill",
                &o.vendor_id,
                &entry.seq.to_string(),
            ]),
            quantity: Number(*quantity),
            fill_price: Amount(*price),
            filled_at: iso(entry.time),
        });
    }
    out
}

fn legs(b: &SimBrokerage, o: &BrokerOrder, state: &OrderState) -> Vec<Leg> {
    let r = &o.request;
    let mut fills = leg_fills(b, o, state);
    let unfilled = r.quantity.saturating_sub(state.filled_quantity);
    let one = |instrument: &Instrument, side, effect, ratio: Decimal, fills| Leg {
        instrument_type: words::instrument_type(instrument),
        symbol: words::symbol(instrument),
        quantity: Number(r.quantity.saturating_mul(ratio)),
        remaining_quantity: Number(unfilled.saturating_mul(ratio)),
        action: words::action_word(side, effect),
        fills,
    };
    match &r.legs {
        Some(legs) if !legs.is_empty() => legs
            .iter()
            .map(|l| {
                let effect = l.position_effect.unwrap_or(PositionEffect::Open);
                let f = fills.remove(&l.instrument).unwrap_or_default();
                one(&l.instrument, l.side, effect, l.ratio_quantity, f)
            })
            .collect(),
        _ => {
            let effect = r.position_effect.unwrap_or(PositionEffect::Open);
            let f = fills.remove(&r.instrument).unwrap_or_default();
            vec![one(&r.instrument, r.side, effect, Decimal::ONE, f)]
        }
    }
}

/// When `o` reached the state it is in, for a terminal state.
fn ended_at(o: &BrokerOrder, status: OrderStatus) -> Option<mbt::Timestamp> {
    match status {
        OrderStatus::Filled => o.filled_at,
        OrderStatus::Canceled => o.canceled_at,
        OrderStatus::Expired => o.expired_at,
        OrderStatus::Rejected => o.failed_at.or(Some(o.submitted_at)),
        OrderStatus::Replaced => o.replaced_at,
        _ => None,
    }
    .or((status.is_terminal()).then_some(o.updated_at))
}

/// The complex-order tag of a member (§2.4: the format is UNVERIFIED; the
/// captured `OTOCO::trigger-order` / `OTOCO::oco-1-order` is followed).
fn complex_tag(b: &SimBrokerage, o: &BrokerOrder) -> Option<String> {
    let class = o.class?;
    let lead = leader(o)?;
    let kind = complex_kind(class);
    if o.parent.is_none() {
        return Some(match class {
            OrderClass::Oco => format!("{kind}::oco-1-order"),
            _ => format!("{kind}::trigger-order"),
        });
    }
    let nth = b
        .orders_of(&o.account)
        .filter(|x| x.parent.as_deref() == Some(lead))
        .position(|x| x.vendor_id == o.vendor_id)
        .map_or(1, |i| i + 1);
    Some(match class {
        OrderClass::Oco => format!("{kind}::oco-{}-order", nth + 1),
        OrderClass::Bracket => format!("{kind}::oco-{nth}-order"),
        OrderClass::Oto => format!("{kind}::order-{nth}"),
    })
}

/// The order as it stands now.
pub fn render(b: &SimBrokerage, o: &BrokerOrder) -> Order {
    render_at(b, o, &b.state(o))
}

/// The order as it stood in `state` (a broker event's).
pub fn render_at(b: &SimBrokerage, o: &BrokerOrder, state: &OrderState) -> Order {
    let r = &o.request;
    let status = state.status;
    let priced = matches!(r.order_type, OrderType::Limit | OrderType::StopLimit);
    let legs = legs(b, o, state);
    let pending_cancel = status == OrderStatus::PendingCancel;
    let ended = ended_at(o, status);
    Order {
        id: Some(numeric(&o.vendor_id)),
        account_number: o.account.clone(),
        time_in_force: words::tif_word(r.time_in_force),
        order_type: words::type_word(r.order_type),
        size: Number(r.quantity),
        underlying_symbol: r.instrument.underlying().to_string(),
        underlying_instrument_type: words::EQUITY,
        price: r.limit_price.filter(|_| priced).map(Amount),
        price_effect: r.limit_price.filter(|_| priced).map(|_| price_effect(r)),
        stop_trigger: r.stop_price.map(Amount),
        status: status_word(b, o, state),
        contingent_status: (o.held && status == OrderStatus::Pending).then_some("Pending Order"),
        cancellable: working(status) && !pending_cancel,
        editable: working(status) && !pending_cancel,
        edited: o.replaced_by.is_some(),
        received_at: Some(iso(o.submitted_at)),
        updated_at: epoch_ms(o.updated_at),
        leg_count: legs.len(),
        legs,
        external_identifier: (!o.client_order_id.is_empty()).then(|| o.client_order_id.clone()),
        reject_reason: (status == OrderStatus::Rejected)
            .then(|| o.rejection.as_ref().map(|r| r.message.clone()))
            .flatten(),
        replaces_order_id: o.replaces.as_deref().map(numeric),
        replacing_order_id: o.replaced_by.as_deref().map(numeric),
        complex_order_id: leader(o).map(complex_id),
        complex_order_tag: complex_tag(b, o),
        cancelled_at: matches!(status, OrderStatus::Canceled | OrderStatus::Replaced)
            .then_some(ended)
            .flatten()
            .map(iso),
        terminal_at: ended.map(iso),
    }
}

/// A dry run's order (§2.3): no id, `Received`, `updated-at` 0, no fills.
pub fn unplaced(r: &OrderRequest) -> Order {
    let priced = matches!(r.order_type, OrderType::Limit | OrderType::StopLimit);
    let one = |instrument: &Instrument, side, effect: Option<PositionEffect>, ratio| Leg {
        instrument_type: words::instrument_type(instrument),
        symbol: words::symbol(instrument),
        quantity: Number(r.quantity.saturating_mul(ratio)),
        remaining_quantity: Number(r.quantity.saturating_mul(ratio)),
        action: words::action_word(side, effect.unwrap_or(PositionEffect::Open)),
        fills: Vec::new(),
    };
    let legs: Vec<Leg> = match &r.legs {
        Some(legs) if !legs.is_empty() => legs
            .iter()
            .map(|l| one(&l.instrument, l.side, l.position_effect, l.ratio_quantity))
            .collect(),
        _ => vec![one(&r.instrument, r.side, r.position_effect, Decimal::ONE)],
    };
    Order {
        id: None,
        account_number: r.account_id.clone(),
        time_in_force: words::tif_word(r.time_in_force),
        order_type: words::type_word(r.order_type),
        size: Number(r.quantity),
        underlying_symbol: r.instrument.underlying().to_string(),
        underlying_instrument_type: words::EQUITY,
        price: r.limit_price.filter(|_| priced).map(Amount),
        price_effect: r.limit_price.filter(|_| priced).map(|_| price_effect(r)),
        stop_trigger: r.stop_price.map(Amount),
        status: "Received".to_string(),
        contingent_status: None,
        cancellable: true,
        editable: true,
        edited: false,
        received_at: None,
        updated_at: 0,
        leg_count: legs.len(),
        legs,
        external_identifier: (!r.client_order_id.is_empty()).then(|| r.client_order_id.clone()),
        reject_reason: None,
        replaces_order_id: None,
        replacing_order_id: None,
        complex_order_id: None,
        complex_order_tag: None,
        cancelled_at: None,
        terminal_at: None,
    }
}
