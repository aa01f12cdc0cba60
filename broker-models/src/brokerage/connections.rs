//! The user's connections at an aggregator (SnapTrade's brokerage
//! authorizations): one per brokerage behind it (the profile's
//! `[[downstream]]`). A connection can break on its own (the user changed
//! their password, the brokerage revoked the grant); while broken the
//! aggregator still answers reads from what it last synced, and refuses
//! anything that needs the brokerage live, until the user reconnects.
//! A connection the user deletes (SnapTrade's `DELETE /connection/{id}`) is
//! gone for good: it and its accounts answer as never known.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use mbt::Timestamp;

use crate::profile::Downstream;

/// Which connections are broken, and since when, and every break and repair.
#[derive(Debug, Clone, Default)]
pub struct Connections {
    broken: BTreeMap<String, Timestamp>,
    deleted: BTreeMap<String, Timestamp>,
    changes: Vec<ConnectionChange>,
}

/// A connection broke, was repaired or was deleted: what an aggregator's
/// webhooks announce (SnapTrade's `CONNECTION_BROKEN`, `CONNECTION_FIXED`
/// and `CONNECTION_DELETED`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionChange {
    /// The aggregator's slug for the brokerage.
    pub brokerage: String,
    pub what: Change,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Broken,
    Fixed,
    Deleted,
}

impl Connections {
    pub fn broken_since(&self, brokerage: &str) -> Option<Timestamp> {
        self.broken.get(brokerage).copied()
    }

    /// Breaks (or repairs) a brokerage's connection; breaking a broken one
    /// keeps the time it first broke.
    pub fn set(&mut self, brokerage: &str, broken: bool, now: Timestamp) {
        let changed = if broken {
            let first = !self.broken.contains_key(brokerage);
            self.broken.entry(brokerage.to_string()).or_insert(now);
            first
        } else {
            self.broken.remove(brokerage).is_some()
        };
        if changed {
            self.changes.push(ConnectionChange {
                brokerage: brokerage.to_string(),
                what: if broken {
                    Change::Broken
                } else {
                    Change::Fixed
                },
                at: now,
            });
        }
    }

    pub fn deleted_at(&self, brokerage: &str) -> Option<Timestamp> {
        self.deleted.get(brokerage).copied()
    }

    /// Deletes a brokerage's connection; false when it was already gone.
    pub fn delete(&mut self, brokerage: &str, now: Timestamp) -> bool {
        if self.deleted.contains_key(brokerage) {
            return false;
        }
        self.deleted.insert(brokerage.to_string(), now);
        self.changes.push(ConnectionChange {
            brokerage: brokerage.to_string(),
            what: Change::Deleted,
            at: now,
        });
        true
    }

    /// Every break and repair so far, oldest first.
    pub fn changes(&self) -> &[ConnectionChange] {
        &self.changes
    }

    pub fn view(&self, d: &Downstream) -> ConnectionView {
        ConnectionView {
            brokerage: d.slug.clone(),
            trading: d.trading,
            accounts: d.accounts.clone(),
            broken_since: self.broken_since(&d.slug),
            deleted_at: self.deleted_at(&d.slug),
        }
    }
}

/// One connection as the ledger shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    /// The aggregator's slug for the brokerage.
    pub brokerage: String,
    /// Orders can be placed through it.
    pub trading: bool,
    pub accounts: Vec<String>,
    /// Broken since then (None: healthy).
    pub broken_since: Option<Timestamp>,
    /// Deleted by the user then: gone for good.
    #[serde(default)]
    pub deleted_at: Option<Timestamp>,
}
