//! The broker's own book of orders: every order it received under its
//! vendor id, indexed by vendor id, by the engine order behind it, and by
//! (account, client order id). A served model under sustained load may
//! forget orders that ended long ago (`OrderBook::forget_ended`).

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use mbt::window::Window;
use mbt::{OrderId, OrderRequest, Rejection, Timestamp};

use super::groups::OrderClass;
use super::working::Working;
use crate::faults::OrderFaults;

/// An order as the broker knows it.
#[derive(Debug, Clone)]
pub struct BrokerOrder {
    pub vendor_id: String,
    pub account: String,
    pub client_order_id: String,
    /// The client intent the order serves, the referee's label: what the
    /// harness declared when it arrived (`declare_intent`), else its own
    /// client order id. The wire's label can differ from it: a vendor tag
    /// that cannot hold the caller's id carries an encoding of it.
    pub intent: String,
    pub request: OrderRequest,
    pub submitted_at: Timestamp,
    /// The engine order currently behind this vendor id (a modify that keeps
    /// the id moves it to the replacement); None for an order refused, or
    /// taken and not accepted yet (or never: rejected or canceled first).
    pub engine_id: Option<OrderId>,
    /// The broker took the order (it answered with an order, not a
    /// refusal); a taken order may still be rejected at its acceptance.
    pub taken: bool,
    /// Why it was refused at the submit, or rejected after it was taken.
    pub rejection: Option<Rejection>,
    /// When a taken order was rejected.
    pub failed_at: Option<Timestamp>,
    /// What the fault plan does to it when it is accepted.
    pub steer: OrderFaults,
    /// Vendor ids of the order this one replaced, and of its replacement.
    pub replaces: Option<String>,
    pub replaced_by: Option<String>,
    /// Vendor ids of each leg of a multi-leg order, in leg order.
    pub leg_ids: Vec<String>,
    /// The group this order belongs to (bracket, OTO, OCO), and the vendor
    /// id of its parent when it is an exit.
    pub class: Option<OrderClass>,
    pub parent: Option<String>,
    /// An exit waiting for its entry to fill (Alpaca's `held`).
    pub held: bool,
    pub filled_at: Option<Timestamp>,
    pub canceled_at: Option<Timestamp>,
    pub expired_at: Option<Timestamp>,
    pub replaced_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    /// The latest execution: quantity and price.
    pub last_fill: Option<(Decimal, Decimal)>,
    /// The fault plan lost this order's submit response after the commit:
    /// the face drops the connection instead of answering.
    pub lose_response: bool,
}

impl BrokerOrder {
    /// The group whose orders hold one position's shares once: a bracket's
    /// or an OCO's exits sell the same shares, and the first to fill
    /// cancels the others. Keyed by the group's lead order.
    pub fn hold_group(&self) -> Option<&str> {
        self.class?;
        Some(self.parent.as_deref().unwrap_or(&self.vendor_id))
    }

    /// Taken, not at the venue yet, and not ended before it got there.
    pub fn before_venue(&self) -> bool {
        self.taken
            && self.engine_id.is_none()
            && self.rejection.is_none()
            && self.canceled_at.is_none()
            && self.replaced_by.is_none()
    }

    /// A freshly received order (accepted when `engine_id` is set).
    pub fn received(
        vendor_id: String,
        request: OrderRequest,
        at: Timestamp,
        engine_id: Option<OrderId>,
        rejection: Option<Rejection>,
    ) -> Self {
        Self {
            vendor_id,
            account: request.account_id.clone(),
            client_order_id: request.client_order_id.clone(),
            intent: request.client_order_id.clone(),
            request,
            submitted_at: at,
            engine_id,
            taken: rejection.is_none(),
            rejection,
            failed_at: None,
            steer: OrderFaults::default(),
            replaces: None,
            replaced_by: None,
            leg_ids: Vec::new(),
            class: None,
            parent: None,
            held: false,
            filled_at: None,
            canceled_at: None,
            expired_at: None,
            replaced_at: None,
            updated_at: at,
            last_fill: None,
            lose_response: false,
        }
    }
}

#[derive(Default)]
pub struct OrderBook {
    /// Numbered in arrival order; an order's number is its index.
    orders: Window<BrokerOrder>,
    by_vendor_id: BTreeMap<String, usize>,
    by_engine_id: BTreeMap<OrderId, usize>,
    /// The latest accepted order per account and client order id: keyed
    /// account first, so a lookup borrows both (a tuple key made every
    /// submit's duplicate check copy them).
    by_client_id: BTreeMap<String, BTreeMap<String, usize>>,
    /// Every taken order not known to have ended: a superset of the open
    /// ones (see [`OrderBook::close`]), so that what open orders hold is
    /// read from the few still working, not from every order ever placed.
    open: std::collections::BTreeSet<usize>,
    /// Orders changed since the broker last looked for ended ones (every
    /// mutable access, `take_touched`): the only ones that can have ended
    /// since, but for what the venue did unseen (a full sweep catches that).
    touched: Vec<usize>,
    /// What open orders have left, per account, instrument and side, as
    /// of each order's latest recount.
    working: Working,
}

impl OrderBook {
    /// Records an order; a taken one is findable by its client order id, a
    /// refused one only by its vendor id.
    pub fn insert(&mut self, order: BrokerOrder) -> usize {
        let idx = self.orders.len();
        self.by_vendor_id.insert(order.vendor_id.clone(), idx);
        if let Some(id) = order.engine_id {
            self.by_engine_id.insert(id, idx);
        }
        if order.taken {
            let ids = match self.by_client_id.get_mut(&order.account) {
                Some(ids) => ids,
                None => self.by_client_id.entry(order.account.clone()).or_default(),
            };
            ids.insert(order.client_order_id.clone(), idx);
            self.open.insert(idx);
            self.touched.push(idx);
        }
        self.orders.push(order);
        idx
    }

    /// Forgets the orders that ended, except the latest `keep` received,
    /// and returns the engine orders behind those forgotten. A forgotten
    /// order is not found by any id any more; its number is never reused.
    pub fn forget_ended(&mut self, keep: usize) -> Vec<OrderId> {
        let before = self.orders.len().saturating_sub(keep);
        let ended: Vec<usize> = self
            .orders
            .iter()
            .map(|(n, _)| n)
            .take_while(|n| *n < before)
            .filter(|n| !self.open.contains(n))
            .collect();
        let mut engine_ids = Vec::new();
        for n in ended {
            let Some(o) = self.orders.forget(n) else {
                continue;
            };
            // Each index usually names this order; where a later one took
            // the key over, it is put back (one lookup in the usual case:
            // these keys are cold by now).
            if let Some(later) = self.by_vendor_id.remove(&o.vendor_id).filter(|i| *i != n) {
                self.by_vendor_id.insert(o.vendor_id, later);
            }
            if let Some(ids) = self.by_client_id.get_mut(&o.account) {
                if let Some(later) = ids.remove(&o.client_order_id).filter(|i| *i != n) {
                    ids.insert(o.client_order_id, later);
                }
                if ids.is_empty() {
                    self.by_client_id.remove(&o.account);
                }
            }
            if let Some(id) = o.engine_id {
                if let Some(later) = self.by_engine_id.remove(&id).filter(|i| *i != n) {
                    self.by_engine_id.insert(id, later);
                }
                engine_ids.push(id);
            }
        }
        engine_ids
    }

    /// How many orders are kept.
    pub fn kept(&self) -> usize {
        self.orders.kept()
    }

    /// How many orders were forgotten.
    pub fn forgotten(&self) -> usize {
        self.orders.len().saturating_sub(self.orders.kept())
    }

    /// A taken order reached the engine as `id`.
    pub fn bind(&mut self, idx: usize, id: OrderId) {
        self.by_engine_id.insert(id, idx);
        if let Some(o) = self.at_mut(idx) {
            o.engine_id = Some(id);
        }
    }

    pub fn get(&self, vendor_id: &str) -> Option<&BrokerOrder> {
        self.index(vendor_id).and_then(|i| self.orders.get(i))
    }

    pub fn get_mut(&mut self, vendor_id: &str) -> Option<&mut BrokerOrder> {
        self.index(vendor_id).and_then(|i| self.at_mut(i))
    }

    pub fn index(&self, vendor_id: &str) -> Option<usize> {
        self.by_vendor_id.get(vendor_id).copied()
    }

    pub fn at(&self, idx: usize) -> Option<&BrokerOrder> {
        self.orders.get(idx)
    }

    pub fn at_mut(&mut self, idx: usize) -> Option<&mut BrokerOrder> {
        self.touched.push(idx);
        self.orders.get_mut(idx)
    }

    /// The order behind an engine order, by position.
    pub fn by_engine(&self, id: OrderId) -> Option<usize> {
        self.by_engine_id.get(&id).copied()
    }

    pub fn by_client_id(&self, account: &str, client_order_id: &str) -> Option<&BrokerOrder> {
        self.by_client_id
            .get(account)
            .and_then(|ids| ids.get(client_order_id))
            .and_then(|i| self.orders.get(*i))
    }

    /// Moves `vendor_id` to the engine order `to` (a modify that keeps the
    /// id): events of the engine order it leaves no longer reach it.
    pub fn rebind(&mut self, idx: usize, from: OrderId, to: OrderId) {
        self.by_engine_id.remove(&from);
        self.by_engine_id.insert(to, idx);
        if let Some(o) = self.at_mut(idx) {
            o.engine_id = Some(to);
        }
    }

    /// Every order kept, oldest first.
    pub fn all(&self) -> impl DoubleEndedIterator<Item = &BrokerOrder> + '_ {
        self.orders.iter().map(|(_, o)| o)
    }

    /// Taken orders not known to have ended, oldest first (some may have
    /// ended since the last [`OrderBook::close`]: callers still ask).
    pub fn maybe_open(&self) -> impl Iterator<Item = (usize, &BrokerOrder)> + '_ {
        self.open
            .iter()
            .filter_map(|&i| self.orders.get(i).map(|o| (i, o)))
    }

    /// The order at `idx` has ended for good.
    pub fn close(&mut self, idx: usize) {
        self.open.remove(&idx);
    }

    /// Whether an order changed since the last `take_touched`.
    pub fn has_touched(&self) -> bool {
        !self.touched.is_empty()
    }

    /// Counts what order `idx` has left now (None: nothing, it ended).
    pub fn recount(&mut self, idx: usize, left: Option<Decimal>) {
        if let Some(order) = self.orders.get(idx) {
            self.working.recount(idx, order, left);
        }
    }

    pub fn working(&self) -> &Working {
        &self.working
    }

    /// How many taken orders are not known to have ended.
    pub fn maybe_open_len(&self) -> usize {
        self.open.len()
    }

    /// The orders changed since the last call that are not known to have
    /// ended, each once.
    pub fn take_touched(&mut self) -> Vec<usize> {
        let mut touched = std::mem::take(&mut self.touched);
        touched.sort_unstable();
        touched.dedup();
        touched.retain(|i| self.open.contains(i));
        touched
    }
}
