//! Broker events: what happened to each order, in the order the broker saw
//! it, turned from the engine's log. Streams, the control surface and the
//! invariants read these; each carries the order's state at its own
//! moment, not the order's state when it was collected.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use mbt::tail::{self, Tail};
use mbt::{Engine, EngineEvent, Instrument, LogEntry, OrderId, OrderStatus, Timestamp};

use super::book::{BrokerOrder, OrderBook};

/// An order's state at one moment, for responses and stream events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderState {
    pub status: OrderStatus,
    pub filled_quantity: Decimal,
    pub average_fill_price: Option<Decimal>,
    /// A trailing stop's stop and mark, as they stood.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trailing: Option<Trailing>,
}

/// Where a trailing stop's stop price and water mark stand: the engine
/// moves them with the market, so they are read from it, not the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trailing {
    pub stop_price: Decimal,
    pub hwm: Decimal,
}

impl Trailing {
    /// Where an engine order's trail stands; None for an order that does not trail.
    pub fn of(o: &mbt::Order) -> Option<Self> {
        o.request.trail?;
        Some(Self {
            stop_price: o.request.stop_price?,
            hwm: o.hwm?,
        })
    }
}

/// What happened to an order, in the order the broker saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BrokerEventKind {
    New,
    Fill {
        instrument: Instrument,
        quantity: Decimal,
        price: Decimal,
        /// The account's position in the instrument after the fill.
        position_quantity: Decimal,
    },
    Canceled,
    Expired,
    Replaced {
        replacement: String,
    },
    Rejected {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerEvent {
    pub seq: u64,
    pub time: Timestamp,
    pub vendor_id: String,
    pub account: String,
    pub kind: BrokerEventKind,
    /// The order's state just after this event.
    pub state: OrderState,
}

/// Turns the engine's log into broker events, as far as it has been read.
#[derive(Default)]
pub struct Events {
    /// How far the engine log has been read.
    cursor: usize,
    /// Each engine order's state as of its last event.
    states: BTreeMap<OrderId, OrderState>,
    /// Numbered by sequence: an event's number is its `seq`.
    list: Tail<BrokerEvent>,
}

impl Events {
    /// Broker events from sequence number `seq` on (those kept, when the
    /// reader fell behind what was forgotten).
    pub fn since(&self, seq: u64) -> tail::Iter<'_, BrokerEvent> {
        self.list.since(seq)
    }

    /// The next event's sequence number: how many there ever were.
    pub fn next_seq(&self) -> u64 {
        self.list.next_number()
    }

    /// How far the engine log has been read: entries before it may go.
    pub fn cursor(&self) -> u64 {
        self.cursor as u64
    }

    /// Forgets every event but the latest `keep`.
    pub fn keep_latest(&mut self, keep: usize) {
        self.list.keep_latest(keep);
    }

    /// Forgets what was kept of a forgotten engine order's state.
    pub fn forget_order(&mut self, id: OrderId) {
        self.states.remove(&id);
    }

    /// An event of an order the engine never held (rejected or canceled
    /// before its acceptance).
    pub fn push(
        &mut self,
        time: Timestamp,
        order: &BrokerOrder,
        kind: BrokerEventKind,
        state: OrderState,
    ) {
        self.list.push(BrokerEvent {
            seq: self.next_seq(),
            time,
            vendor_id: order.vendor_id.clone(),
            account: order.account.clone(),
            kind,
            state,
        });
    }

    /// Reads the engine log's new entries into events and stamps the orders'
    /// timestamps in `book`.
    pub fn collect(&mut self, engine: &Engine, book: &mut OrderBook) {
        let entries = engine.log().since(self.cursor as u64);
        self.cursor += entries.len();
        let positions = positions_after_fills(engine, entries.clone());
        for (entry, position_after) in entries.zip(positions) {
            let Some((engine_id, kind)) = event_kind(entry, position_after, book) else {
                continue;
            };
            // Accepted inside a submit before the broker recorded the id: it
            // is recorded right after, and the submit's own answer says so.
            let Some(idx) = book.by_engine(engine_id) else {
                continue;
            };
            let Some(engine_order) = engine.order(engine_id) else {
                continue;
            };
            let state = if engine_order.request.is_multi_leg() {
                // Spreads fill atomically: every event of one sees the same state.
                OrderState {
                    status: engine_order.status,
                    filled_quantity: engine_order.filled_quantity,
                    average_fill_price: engine_order.average_fill_price,
                    trailing: None,
                }
            } else {
                OrderState {
                    trailing: Trailing::of(engine_order),
                    ..state_after(self.states.remove(&engine_id), &kind, &entry.event)
                }
            };
            self.states.insert(engine_id, state.clone());
            let Some(order) = book.at_mut(idx) else {
                continue;
            };
            order.updated_at = entry.time;
            match &kind {
                BrokerEventKind::Fill {
                    quantity, price, ..
                } => {
                    order.last_fill = Some((*quantity, *price));
                    if state.status == OrderStatus::Filled {
                        order.filled_at = Some(entry.time);
                    }
                }
                BrokerEventKind::Canceled => order.canceled_at = Some(entry.time),
                BrokerEventKind::Expired => order.expired_at = Some(entry.time),
                BrokerEventKind::Replaced { .. } => order.replaced_at = Some(entry.time),
                _ => {}
            }
            self.list.push(BrokerEvent {
                seq: self.next_seq(),
                time: entry.time,
                vendor_id: order.vendor_id.clone(),
                account: order.account.clone(),
                kind,
                state,
            });
        }
    }
}

/// The broker event an engine log entry is, if it is one.
fn event_kind(
    entry: &LogEntry,
    position_after: Option<Decimal>,
    book: &OrderBook,
) -> Option<(OrderId, BrokerEventKind)> {
    Some(match &entry.event {
        EngineEvent::OrderAccepted { order_id, .. } => (*order_id, BrokerEventKind::New),
        EngineEvent::Fill {
            order_id,
            instrument,
            quantity,
            price,
            ..
        } => (
            *order_id,
            BrokerEventKind::Fill {
                instrument: instrument.clone(),
                quantity: *quantity,
                price: *price,
                position_quantity: position_after.unwrap_or_default(),
            },
        ),
        EngineEvent::OrderCanceled { order_id, .. } => (*order_id, BrokerEventKind::Canceled),
        EngineEvent::OrderExpired { order_id, .. } => (*order_id, BrokerEventKind::Expired),
        EngineEvent::OrderReplaced {
            order_id,
            replacement,
        } => {
            let replacement = book
                .by_engine(*replacement)
                .and_then(|i| book.at(i))
                .map(|o| o.vendor_id.clone())
                .unwrap_or_default();
            (*order_id, BrokerEventKind::Replaced { replacement })
        }
        _ => return None,
    })
}

/// The position each fill of `entries` left behind. Events are collected
/// in batches, after the fact, so the account's position now is that of
/// the batch's last fill: walking back, each earlier fill's position is the
/// later one's less the later fill. (Exercise and assignment happen at the
/// close, never between two fills of a batch.)
fn positions_after_fills<'a>(
    engine: &Engine,
    entries: tail::Iter<'a, LogEntry>,
) -> Vec<Option<Decimal>> {
    // Keyed by what the entries hold: no key is copied per fill.
    let mut running: BTreeMap<(&'a str, &'a Instrument), Decimal> = BTreeMap::new();
    let mut after = vec![None; entries.len()];
    for (slot, entry) in after.iter_mut().zip(entries).rev() {
        if let EngineEvent::Fill {
            account_id,
            instrument,
            side,
            quantity,
            ..
        } = &entry.event
        {
            let now = running.entry((account_id, instrument)).or_insert_with(|| {
                engine
                    .account(account_id)
                    .map_or(Decimal::ZERO, |a| a.position_quantity(instrument))
            });
            *slot = Some(*now);
            *now -= side.sign() * *quantity;
        }
    }
    after
}

/// An order's state just after one of its events, from the state before it.
fn state_after(
    prior: Option<OrderState>,
    kind: &BrokerEventKind,
    event: &EngineEvent,
) -> OrderState {
    let mut s = prior.unwrap_or(OrderState {
        status: OrderStatus::Accepted,
        filled_quantity: Decimal::ZERO,
        average_fill_price: None,
        trailing: None,
    });
    match (kind, event) {
        (
            BrokerEventKind::Fill {
                quantity, price, ..
            },
            EngineEvent::Fill { status, .. },
        ) => {
            let total = s.filled_quantity + quantity;
            let prior_cost = s.average_fill_price.unwrap_or_default() * s.filled_quantity;
            s.average_fill_price = Some(((prior_cost + price * quantity) / total).normalize());
            s.filled_quantity = total;
            s.status = *status;
        }
        (BrokerEventKind::New, _) => s.status = OrderStatus::Accepted,
        (BrokerEventKind::Canceled, _) => s.status = OrderStatus::Canceled,
        (BrokerEventKind::Expired, _) => s.status = OrderStatus::Expired,
        (BrokerEventKind::Replaced { .. }, _) => s.status = OrderStatus::Replaced,
        (BrokerEventKind::Rejected { .. }, _) => s.status = OrderStatus::Rejected,
        _ => {}
    }
    s
}
