//! What an account's open orders still have to trade, per instrument and
//! side: what a closing order finds held (Alpaca's `held_for_orders`,
//! a position's `qty_available`). Kept as orders change, not summed over
//! every working order at each request: under load a thousand sells work
//! at once, and every sell and every position read used to walk them all
//! (a quarter of a served POST's CPU, `scripts/side-by-side --only serve`).
//!
//! A group's orders (bracket, OTO, OCO) hold the same shares once, at the
//! most any of them has left, so they are not summed: they are kept by key
//! and read one by one (a group has two or three).

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;

use mbt::{Instrument, Side};

use super::book::BrokerOrder;

/// What one account holds on one side of one instrument.
#[derive(Debug)]
pub struct Held {
    /// What the counted orders outside any group have left; None once the
    /// sum left `Decimal`'s range (the key is then summed order by order).
    pub alone: Option<Decimal>,
    /// The orders of a group, by number.
    pub grouped: BTreeSet<usize>,
}

impl Default for Held {
    fn default() -> Self {
        Held {
            alone: Some(Decimal::ZERO),
            grouped: BTreeSet::new(),
        }
    }
}

/// One counted order: where it is counted, and what it added.
#[derive(Debug)]
struct Counted {
    account: String,
    instrument: Instrument,
    side: Side,
    grouped: bool,
    left: Decimal,
}

impl Counted {
    fn of(&self, account: &str, instrument: &Instrument, side: Side) -> bool {
        self.side == side && self.instrument == *instrument && self.account == account
    }
}

#[derive(Debug, Default)]
pub struct Working {
    held: BTreeMap<String, BTreeMap<Instrument, [Held; 2]>>,
    counted: BTreeMap<usize, Counted>,
}

fn side_slot(side: Side) -> usize {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

impl Working {
    /// Counts order `idx` at what it has left now: None when it holds
    /// nothing any more (ended, refused, or a multi-leg order).
    pub fn recount(&mut self, idx: usize, order: &BrokerOrder, left: Option<Decimal>) {
        if let Some(old) = self.counted.remove(&idx) {
            if let Some(held) = self.slot(&old.account, &old.instrument, old.side) {
                if old.grouped {
                    held.grouped.remove(&idx);
                } else {
                    held.alone = held.alone.and_then(|sum| sum.checked_sub(old.left));
                }
            }
        }
        let Some(left) = left else {
            return;
        };
        let r = &order.request;
        let grouped = order.hold_group().is_some();
        if self.slot(&order.account, &r.instrument, r.side).is_none() {
            self.held
                .entry(order.account.clone())
                .or_default()
                .insert(r.instrument.clone(), Default::default());
        }
        if let Some(held) = self.slot(&order.account, &r.instrument, r.side) {
            if grouped {
                held.grouped.insert(idx);
            } else {
                held.alone = held.alone.and_then(|sum| sum.checked_add(left));
            }
        }
        self.counted.insert(
            idx,
            Counted {
                account: order.account.clone(),
                instrument: r.instrument.clone(),
                side: r.side,
                grouped,
                left,
            },
        );
    }

    /// What `account` holds on `side` of `instrument` as last counted.
    pub fn held(&self, account: &str, instrument: &Instrument, side: Side) -> Option<&Held> {
        self.held
            .get(account)?
            .get(instrument)
            .map(|sides| &sides[side_slot(side)])
    }

    /// What order `idx` added to the sum of `account`'s orders outside a
    /// group on `side` of `instrument` when last counted (zero when it
    /// is counted elsewhere or not at all).
    pub fn counted_alone(
        &self,
        idx: usize,
        account: &str,
        instrument: &Instrument,
        side: Side,
    ) -> Decimal {
        self.counted
            .get(&idx)
            .filter(|c| !c.grouped && c.of(account, instrument, side))
            .map_or(Decimal::ZERO, |c| c.left)
    }

    fn slot(&mut self, account: &str, instrument: &Instrument, side: Side) -> Option<&mut Held> {
        self.held
            .get_mut(account)?
            .get_mut(instrument)
            .map(|sides| &mut sides[side_slot(side)])
    }
}

/// Whose working quantity: an account's orders on one side of one
/// instrument, leaving out the orders `except` (vendor ids) and the group
/// `except_group` (a replace's own order and its group, a close-all's
/// canceled orders).
#[derive(Debug, Clone, Copy)]
pub struct WorkingOf<'a> {
    pub account: &'a str,
    pub instrument: &'a Instrument,
    pub side: Side,
    pub except: &'a [String],
    pub except_group: Option<&'a str>,
}

impl WorkingOf<'_> {
    fn leaves_out(&self, o: &BrokerOrder) -> bool {
        self.except.contains(&o.vendor_id)
            || (self.except_group.is_some() && o.hold_group() == self.except_group)
    }
}

impl super::SimBrokerage {
    /// What a taken single-leg order still has to trade, while it works;
    /// None once it ended (and always for a multi-leg order, which the
    /// engine's collateral rules cover instead).
    pub(super) fn holds(&self, o: &BrokerOrder) -> Option<Decimal> {
        Self::holds_having_filled(o, self.live_filled(o))
    }

    /// [`Self::holds`] for an order whose `live_filled` was read already.
    pub(super) fn holds_having_filled(o: &BrokerOrder, filled: Option<Decimal>) -> Option<Decimal> {
        if !o.taken || o.request.is_multi_leg() {
            return None;
        }
        Some(
            o.request
                .quantity
                .saturating_sub(filled?)
                .max(Decimal::ZERO),
        )
    }

    /// What the open single-leg orders `of` still have to trade, a group's
    /// orders once (at the most any of them has left): what a closing
    /// order finds held.
    ///
    /// Read from the sums kept as orders change (`Working`), it is what
    /// summing every open order now gives ([`Self::working_quantity_scan`],
    /// which debug builds compare it with).
    pub fn working_quantity(&self, of: &WorkingOf) -> Decimal {
        let held = self
            .working_quantity_counted(of)
            .unwrap_or_else(|| self.working_quantity_scan(of));
        debug_assert_eq!(
            held,
            self.working_quantity_scan(of),
            "working quantity of {of:?} drifted from its orders"
        );
        held
    }

    /// [`Self::working_quantity`] from the counted sums; None where a sum
    /// left `Decimal`'s range, or where an order changed since the broker
    /// last counted (every request ends with a count, so only a step
    /// between a change and its count would sum afresh).
    fn working_quantity_counted(&self, of: &WorkingOf) -> Option<Decimal> {
        if self.book.has_touched() {
            return None;
        }
        let working = self.book.working();
        let Some(held) = working.held(of.account, of.instrument, of.side) else {
            return Some(Decimal::ZERO);
        };
        let mut alone = held.alone?;
        for i in of.except.iter().filter_map(|id| self.book.index(id)) {
            alone =
                alone.checked_sub(working.counted_alone(i, of.account, of.instrument, of.side))?;
        }
        let grouped = held.grouped.iter().filter_map(|&i| self.book.at(i));
        self.most_per_group(grouped, of)
            .into_values()
            .try_fold(alone, |sum, m| sum.checked_add(m))
    }

    /// [`Self::working_quantity`] summed over every order that may be open.
    pub fn working_quantity_scan(&self, of: &WorkingOf) -> Decimal {
        let open: Vec<&BrokerOrder> = self
            .maybe_open_orders_of(of.account)
            .filter(|o| o.request.side == of.side && o.request.instrument == *of.instrument)
            .collect();
        let alone = open
            .iter()
            .filter(|o| o.hold_group().is_none() && !of.leaves_out(o))
            .filter_map(|o| self.holds(o))
            .fold(Decimal::ZERO, Decimal::saturating_add);
        self.most_per_group(open.into_iter(), of)
            .into_values()
            .fold(alone, Decimal::saturating_add)
    }

    /// The most any order of each group among `orders` has left.
    fn most_per_group<'o>(
        &self,
        orders: impl Iterator<Item = &'o BrokerOrder>,
        of: &WorkingOf,
    ) -> BTreeMap<&'o str, Decimal> {
        let mut most: BTreeMap<&str, Decimal> = BTreeMap::new();
        for o in orders.filter(|o| !of.leaves_out(o)) {
            if let (Some(group), Some(left)) = (o.hold_group(), self.holds(o)) {
                let m = most.entry(group).or_default();
                *m = (*m).max(left);
            }
        }
        most
    }
}
