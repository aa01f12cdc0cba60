//! The engine's accounts, each with the valuation of its positions kept
//! while nothing it depends on changes.
//!
//! Every order's buying-power check needs what the account's positions are
//! worth and require, and computing that marks every position: with a
//! hundred symbols held it was nearly half of an order's cost (`bench mbt`).
//! The valuation depends only on the positions and their marks, so it is
//! kept beside the account and computed again only after a fill or a
//! settlement changed the positions (`get_mut` forgets it), the market
//! moved (`Market::epoch`), or, for an account holding options, whose marks
//! are priced from time to expiry, the clock moved. A hold (`set_reserved`)
//! changes neither, so placing orders keeps it.
//!
//! Every quote moves the epoch, so with a new order every few dozen quotes
//! the whole valuation rarely holds; each position's part of it mostly
//! does. A margin account holding stock only keeps each position's term
//! (`buying_power::margin_term`) beside the instrument's market version and
//! the quantity and cost it was computed from, marks again only the
//! positions whose instrument moved or which a fill changed, and sums the
//! terms in position order: exactly the sum `buying_power::valuation` makes.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::buying_power::{self, MarginTerm, Valuation};
use crate::account::{Account, AccountKind, Position};
use crate::checked::Checked;
use crate::instrument::Instrument;
use crate::market::{InstrumentId, Market};
use crate::time::Timestamp;

/// What the marks were when a valuation was computed.
#[derive(Debug, Clone, Copy)]
pub(super) struct MarksAt {
    /// `Market::epoch`: any stored quote, trade or bar moves it.
    pub epoch: u64,
    pub now: Timestamp,
}

#[derive(Debug, Clone, Copy)]
struct Valued {
    epoch: u64,
    /// The clock it was computed at, for an account whose marks read it.
    at: Option<Timestamp>,
    value: Checked<Valuation>,
}

impl Valued {
    fn holds_at(&self, marks: MarksAt) -> bool {
        self.epoch == marks.epoch && self.at.is_none_or(|at| at == marks.now)
    }
}

/// One position's margin term and what it was computed from.
#[derive(Debug, Clone)]
struct KeptTerm {
    instrument: Instrument,
    /// None for an instrument the market has not interned: valued at cost
    /// until it is, so it never holds.
    id: Option<InstrumentId>,
    /// `InstrumentState::version` when it was marked.
    version: u64,
    /// The position's quantity and cost basis, to the digit (a fill that
    /// changed either, even only its scale, marks it again).
    quantity: [u8; 16],
    cost_basis: [u8; 16],
    term: Checked<MarginTerm>,
}

impl KeptTerm {
    fn holds_for(&self, p: &Position, market: &Market) -> bool {
        self.instrument == p.instrument
            && self.quantity == p.quantity.serialize()
            && self.cost_basis == p.cost_basis.serialize()
            && self
                .id
                .is_some_and(|id| market.state(id).version == self.version)
    }

    /// `p`'s term at its mark now.
    fn marked(p: &Position, market: &Market) -> Self {
        let mut fresh = Self {
            instrument: p.instrument.clone(),
            id: None,
            version: 0,
            quantity: [0; 16],
            cost_basis: [0; 16],
            term: Ok(MarginTerm::default()),
        };
        let _ = fresh.mark(p, market);
        fresh
    }

    /// Marks the same instrument's position again (an id, once there,
    /// still holds: the market never forgets an instrument).
    fn mark(&mut self, p: &Position, market: &Market) -> Checked<MarginTerm> {
        if self.id.is_none() {
            self.id = market.id(&p.instrument);
        }
        let state = self.id.map(|id| market.state(id));
        self.version = state.map_or(0, |s| s.version);
        self.quantity = p.quantity.serialize();
        self.cost_basis = p.cost_basis.serialize();
        self.term = buying_power::margin_term(p, state.and_then(|s| s.mark()));
        self.term
    }
}

#[derive(Debug, Default)]
struct Kept {
    valued: Cell<Option<Valued>>,
    /// A stock-only margin account's terms, in position order.
    terms: RefCell<Vec<KeptTerm>>,
}

#[derive(Debug, Default)]
pub(super) struct Accounts {
    map: BTreeMap<String, (Account, Kept)>,
}

impl Accounts {
    pub fn contains_key(&self, id: &str) -> bool {
        self.map.contains_key(id)
    }

    pub fn insert(&mut self, account: Account) {
        self.map
            .insert(account.id.clone(), (account, Kept::default()));
    }

    pub fn get(&self, id: &str) -> Option<&Account> {
        self.map.get(id).map(|(a, _)| a)
    }

    pub fn values(&self) -> impl Iterator<Item = &Account> {
        self.map.values().map(|(a, _)| a)
    }

    /// The account to change its cash or positions (a fill, a settlement):
    /// its valuation is computed again on next use.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut Account> {
        let (account, kept) = self.map.get_mut(id)?;
        kept.valued.set(None);
        Some(account)
    }

    /// Sets what the account's working orders hold, which no valuation reads.
    pub fn set_reserved(&mut self, id: &str, reserved: impl FnOnce(Decimal) -> Decimal) {
        if let Some((account, _)) = self.map.get_mut(id) {
            account.reserved = reserved(account.reserved);
        }
    }

    /// The account's valuation at `marks`: the one kept when it still
    /// holds, else one made from the kept terms (a stock-only margin
    /// account) or `value`'s, kept for next time.
    pub fn valued(
        &self,
        id: &str,
        marks: MarksAt,
        market: &Market,
        value: impl FnOnce(&Account) -> Checked<Valuation>,
    ) -> Option<Checked<Valuation>> {
        let (account, kept) = self.map.get(id)?;
        if let Some(v) = kept.valued.get().filter(|v| v.holds_at(marks)) {
            return Some(v.value);
        }
        let reads_clock = account.positions.keys().any(|i| i.is_option());
        let value = if account.kind == AccountKind::Margin && !reads_clock {
            // No option: no collateral, and every mark is the market's.
            let mut terms = kept.terms.borrow_mut();
            buying_power::margin_valuation(Decimal::ZERO, refreshed(&mut terms, account, market))
        } else {
            value(account)
        };
        let v = Valued {
            epoch: marks.epoch,
            at: reads_clock.then_some(marks.now),
            value,
        };
        kept.valued.set(Some(v));
        Some(v.value)
    }
}

/// `account`'s terms in position order, each kept one that still holds
/// reused and the others marked again and kept.
fn refreshed<'a>(
    terms: &'a mut Vec<KeptTerm>,
    account: &'a Account,
    market: &'a Market,
) -> impl Iterator<Item = Checked<MarginTerm>> + 'a {
    terms.truncate(account.positions.len());
    account.positions.values().enumerate().map(move |(i, p)| {
        if let Some(k) = terms.get(i).filter(|k| k.holds_for(p, market)) {
            return k.term;
        }
        // Slot i is position i's: every slot before it was visited on the
        // way here, so there are at least i of them.
        match terms.get_mut(i) {
            Some(k) if k.instrument == p.instrument => k.mark(p, market),
            Some(slot) => {
                *slot = KeptTerm::marked(p, market);
                slot.term
            }
            None => {
                let fresh = KeptTerm::marked(p, market);
                let term = fresh.term;
                terms.push(fresh);
                term
            }
        }
    })
}
