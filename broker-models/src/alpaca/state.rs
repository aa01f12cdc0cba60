//! What Alpaca remembers that the brokerage core has no field for yet: an
//! order's `extended_hours` flag and `notional` amount, and each account's
//! configurations (`PATCH /v2/account/configurations`). Kept beside the
//! brokerage by the face until the core carries vendor fields of its own;
//! lock it only while holding the brokerage's lock, never across an await.
//!
//! The control surface's reset starts the brokerage over without telling
//! the face, so these tables notice it themselves: a reset brings the
//! clock back to the start and the broker events back to none, and either
//! going backwards clears them. Entries are also stamped with their
//! order's client id and submission time, so a new order that reuses a
//! seeded vendor id never inherits an old one's fields.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use rust_decimal::Decimal;

use mbt::Timestamp;

use super::wire::Configurations;
use crate::brokerage::{BrokerOrder, SimBrokerage};

/// An order's Alpaca fields the engine's request has no place for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderExtras {
    pub extended_hours: bool,
    /// The dollar amount of a notional order (its quantity is derived).
    pub notional: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamped {
    client_order_id: String,
    submitted_at: Timestamp,
    extras: OrderExtras,
}

/// How far the brokerage had come when the tables were last used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Seen {
    now: Option<Timestamp>,
    events: u64,
    /// Orders the brokerage had forgotten (`SimBrokerage::set_retention`).
    forgotten: u64,
}

#[derive(Debug, Default)]
pub struct Tables {
    seen: Seen,
    orders: BTreeMap<String, Stamped>,
    configurations: BTreeMap<String, Configurations>,
}

/// The face's tables, shared by its handlers and streams.
#[derive(Debug, Clone, Default)]
pub struct FaceState(Arc<Mutex<Tables>>);

impl FaceState {
    /// The tables as of `b`: cleared when `b` was reset since last time,
    /// and rid of the orders `b` forgot.
    pub fn tables(&self, b: &SimBrokerage) -> MutexGuard<'_, Tables> {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = Seen {
            now: Some(b.now()),
            events: b.next_event_seq(),
            forgotten: b.orders_forgotten(),
        };
        let went_back =
            t.seen.now.is_some_and(|seen| now.now < Some(seen)) || now.events < t.seen.events;
        if went_back {
            *t = Tables::default();
        } else if now.forgotten != t.seen.forgotten {
            t.orders.retain(|vendor_id, _| b.order(vendor_id).is_some());
        }
        t.seen = now;
        t
    }
}

impl Tables {
    pub fn extras(&self, o: &BrokerOrder) -> OrderExtras {
        self.orders
            .get(&o.vendor_id)
            .filter(|s| s.client_order_id == o.client_order_id && s.submitted_at == o.submitted_at)
            .map(|s| s.extras.clone())
            .unwrap_or_default()
    }

    /// Keeps an order's extras; an order without any leaves no entry (most
    /// do), and drops the entry of an earlier order under its vendor id.
    pub fn record(&mut self, o: &BrokerOrder, extras: OrderExtras) {
        if extras == OrderExtras::default() {
            self.orders.remove(&o.vendor_id);
            return;
        }
        self.orders.insert(
            o.vendor_id.clone(),
            Stamped {
                client_order_id: o.client_order_id.clone(),
                submitted_at: o.submitted_at,
                extras,
            },
        );
    }

    pub fn configurations(&self, account: &str) -> Configurations {
        self.configurations
            .get(account)
            .cloned()
            .unwrap_or_default()
    }

    pub fn set_configurations(&mut self, account: &str, c: Configurations) {
        self.configurations.insert(account.to_string(), c);
    }
}
