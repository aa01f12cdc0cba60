//! What the broker does later on its own: accepting an order it took, a
//! cancel that lands some time after it was asked for. Actions are due at
//! simulated instants and are carried out, in time order, when the
//! brokerage syncs to its clock.

use std::collections::{BTreeMap, BTreeSet};

use mbt::Timestamp;

/// At one instant, an order is accepted before a cancel of it lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// A taken order is accepted (or rejected after all).
    Accept,
    /// A requested cancel takes effect (unless a fill finished the order first).
    Cancel,
}

/// Actions in the order they fall due: by time, then vendor id, then
/// action, so that two due at the same instant run in one fixed order.
/// Indexed by vendor id too: every read of an order asks whether a cancel
/// is waiting for it, and under a steady load hundreds of acceptances are
/// (a scan of them was most of a served POST's cost).
#[derive(Default)]
pub struct Schedule {
    due: BTreeSet<(Timestamp, String, Action)>,
    waiting: BTreeMap<String, Waiting>,
}

/// When each action waiting for one order falls due.
#[derive(Default)]
struct Waiting {
    accept: Option<Timestamp>,
    cancel: Option<Timestamp>,
}

impl Waiting {
    fn get(&self, action: Action) -> Option<Timestamp> {
        match action {
            Action::Accept => self.accept,
            Action::Cancel => self.cancel,
        }
    }

    fn at(&mut self, action: Action) -> &mut Option<Timestamp> {
        match action {
            Action::Accept => &mut self.accept,
            Action::Cancel => &mut self.cancel,
        }
    }
}

impl Schedule {
    /// Schedules `action` for `vendor_id` at `at`, unless the same action is
    /// already waiting for it (asking twice changes nothing).
    pub fn add(&mut self, at: Timestamp, vendor_id: &str, action: Action) {
        if self.waiting(vendor_id, action) {
            return;
        }
        *self
            .waiting
            .entry(vendor_id.to_string())
            .or_default()
            .at(action) = Some(at);
        self.due.insert((at, vendor_id.to_string(), action));
    }

    pub fn waiting(&self, vendor_id: &str, action: Action) -> bool {
        self.waiting
            .get(vendor_id)
            .is_some_and(|w| w.get(action).is_some())
    }

    /// Takes `action` for `vendor_id` off the schedule, if it is waiting.
    pub fn remove(&mut self, vendor_id: &str, action: Action) {
        if let Some(at) = self.unindex(vendor_id, action) {
            self.due.remove(&(at, vendor_id.to_string(), action));
        }
    }

    /// The earliest action due at or before `now`, taken off the schedule.
    pub fn next_due(&mut self, now: Timestamp) -> Option<(Timestamp, String, Action)> {
        let first = self.due.first().filter(|(t, _, _)| *t <= now)?.clone();
        self.due.remove(&first);
        self.unindex(&first.1, first.2);
        Some(first)
    }

    /// Forgets when `action` for `vendor_id` was due, and says when.
    fn unindex(&mut self, vendor_id: &str, action: Action) -> Option<Timestamp> {
        let w = self.waiting.get_mut(vendor_id)?;
        let at = w.at(action).take();
        if w.accept.is_none() && w.cancel.is_none() {
            self.waiting.remove(vendor_id);
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_in_time_order_once_each() {
        let t = Timestamp::from_secs(100);
        let mut s = Schedule::default();
        s.add(t.plus_millis(100), "b", Action::Cancel);
        s.add(t.plus_millis(50), "c", Action::Cancel);
        s.add(t.plus_millis(100), "a", Action::Cancel);
        s.add(t.plus_millis(10), "a", Action::Cancel); // already waiting
        s.add(t.plus_millis(100), "a", Action::Accept);
        assert!(s.waiting("a", Action::Cancel));
        assert_eq!(s.next_due(t.plus_millis(20)), None);
        let order: Vec<_> = std::iter::from_fn(|| s.next_due(t.plus_millis(100)))
            .map(|(_, id, a)| (id, a))
            .collect();
        assert_eq!(
            order,
            [
                ("c".into(), Action::Cancel),
                ("a".into(), Action::Accept),
                ("a".into(), Action::Cancel),
                ("b".into(), Action::Cancel)
            ]
        );
        assert!(!s.waiting("a", Action::Cancel));
        s.add(t, "d", Action::Accept);
        s.remove("d", Action::Accept);
        assert_eq!(s.next_due(t), None);
    }
}
