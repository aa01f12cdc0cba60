//! The user's connections at an aggregator (SnapTrade's brokerage
//! authorizations): one per brokerage behind it (the profile's
//! `[[downstream]]`). A connection can break on its own (the user changed
//! their password, the brokerage revoked the grant); while broken the
//! aggregator still answers reads from what it last synced, and refuses
//! anything that needs the brokerage live, until the user reconnects.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use mbt::Timestamp;

use crate::profile::Downstream;

/// Which connections are broken, and since when, and every break and repair.
#[derive(Debug, Clone, Default)]
pub struct Connections {
    broken: BTreeMap<String, Timestamp>,
    changes: Vec<ConnectionChange>,
}

/// A connection broke or was repaired: what an aggregator's webhooks
/// announce (SnapTrade's `CONNECTION_BROKEN` and `CONNECTION_FIXED`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionChange {
    /// The aggregator's slug for the brokerage.
    pub brokerage: String,
    pub broken: bool,
    pub at: Timestamp,
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
                broken,
                at: now,
            });
        }
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
}
