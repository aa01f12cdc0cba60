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

use std::cell::Cell;
use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::buying_power::Valuation;
use crate::account::Account;
use crate::checked::Checked;
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

#[derive(Debug, Default)]
pub(super) struct Accounts {
    map: BTreeMap<String, (Account, Cell<Option<Valued>>)>,
}

impl Accounts {
    pub fn contains_key(&self, id: &str) -> bool {
        self.map.contains_key(id)
    }

    pub fn insert(&mut self, account: Account) {
        self.map
            .insert(account.id.clone(), (account, Cell::new(None)));
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
        let (account, valued) = self.map.get_mut(id)?;
        valued.set(None);
        Some(account)
    }

    /// Sets what the account's working orders hold, which no valuation reads.
    pub fn set_reserved(&mut self, id: &str, reserved: impl FnOnce(Decimal) -> Decimal) {
        if let Some((account, _)) = self.map.get_mut(id) {
            account.reserved = reserved(account.reserved);
        }
    }

    /// The account's valuation at `marks`: the one kept when it still
    /// holds, else `value`'s, kept for next time.
    pub fn valued(
        &self,
        id: &str,
        marks: MarksAt,
        value: impl FnOnce(&Account) -> Checked<Valuation>,
    ) -> Option<Checked<Valuation>> {
        let (account, kept) = self.map.get(id)?;
        if let Some(v) = kept.get().filter(|v| v.holds_at(marks)) {
            return Some(v.value);
        }
        let reads_clock = account.positions.keys().any(|i| i.is_option());
        let v = Valued {
            epoch: marks.epoch,
            at: reads_clock.then_some(marks.now),
            value: value(account),
        };
        kept.set(Some(v));
        Some(v.value)
    }
}
