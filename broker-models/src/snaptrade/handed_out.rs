//! What SnapTrade hands out for five minutes under an id it mints: a
//! checked trade (`/trade/impact`, spec: "expires after 5 minutes") and a
//! connection portal session (`/snapTrade/login`: "the returned URL
//! expires in 5 minutes"). Shared by the face's handlers behind one lock;
//! lock it after the brokerage, never across an await. Everything handed
//! out before `/_sim/reset` belongs to a brokerage day that is gone and is
//! forgotten; expired entries are dropped whenever a new one is handed out,
//! so a table holds at most five minutes of them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use mbt::Timestamp;

use crate::brokerage::SimBrokerage;
use crate::ids::stable_uuid;

/// How long an id stays good.
const LIFETIME_MS: i64 = 5 * 60 * 1000;

pub struct HandedOut<T>(Arc<Mutex<Table<T>>>);

impl<T> Clone for HandedOut<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> Default for HandedOut<T> {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(Table {
            open: BTreeMap::new(),
            issued: 0,
            resets: 0,
        })))
    }
}

impl<T> HandedOut<T> {
    /// Every change is one insert or remove, so a poisoned lock is recovered.
    pub fn lock(&self) -> MutexGuard<'_, Table<T>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct Table<T> {
    open: BTreeMap<String, (Timestamp, T)>,
    /// Ids minted so far: each new one is drawn from the count.
    issued: u64,
    /// The brokerage's reset count the entries belong to.
    resets: u64,
}

/// An entry found by its id.
pub enum Found<'a, T> {
    Good(&'a T),
    /// Handed out more than five minutes ago.
    Expired(&'a T),
}

fn expired(handed_at: Timestamp, now: Timestamp) -> bool {
    now > handed_at.plus_millis(LIFETIME_MS)
}

impl<T> Table<T> {
    /// Forgets what was handed out before the brokerage was last reset.
    fn follow(&mut self, b: &SimBrokerage) {
        if self.resets != b.resets() {
            self.open.clear();
            self.resets = b.resets();
        }
    }

    /// Hands `item` out now under a new id (a UUID derived from `kind`, the
    /// partner's client id and the count, so a seed's run repeats it).
    pub fn hand_out(&mut self, b: &SimBrokerage, kind: &str, item: T) -> String {
        self.follow(b);
        let now = b.now();
        self.open.retain(|_, (at, _)| !expired(*at, now));
        self.issued = self.issued.saturating_add(1);
        let client = b.credentials().get("client_id").unwrap_or_default();
        let id = stable_uuid(&[
            kind,
            client,
            &self.resets.to_string(),
            &self.issued.to_string(),
        ]);
        self.open.insert(id.clone(), (now, item));
        id
    }

    /// The entry `id`, if it was handed out (and not taken) this brokerage day.
    pub fn find(&mut self, b: &SimBrokerage, id: &str) -> Option<Found<'_, T>> {
        self.follow(b);
        let now = b.now();
        self.open.get(id).map(|(at, item)| match expired(*at, now) {
            true => Found::Expired(item),
            false => Found::Good(item),
        })
    }

    /// Takes `id` out: it is used once only.
    pub fn take(&mut self, id: &str) -> Option<T> {
        self.open.remove(id).map(|(_, item)| item)
    }
}
