//! What the broker does later on its own: a cancel that lands some time
//! after it was asked for. Actions are due at simulated instants and are
//! carried out, in time order, when the brokerage syncs to its clock.

use std::collections::BTreeMap;

use mbt::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A requested cancel takes effect (unless a fill finished the order first).
    Cancel,
}

/// Actions keyed by when they are due and the vendor id of their order, so
/// that two due at the same instant run in one fixed order.
#[derive(Default)]
pub struct Schedule {
    due: BTreeMap<(Timestamp, String), Action>,
}

impl Schedule {
    /// Schedules `action` for `vendor_id` at `at`, unless the same action is
    /// already waiting for it (asking twice changes nothing).
    pub fn add(&mut self, at: Timestamp, vendor_id: &str, action: Action) {
        if !self.waiting(vendor_id, action) {
            self.due.insert((at, vendor_id.to_string()), action);
        }
    }

    pub fn waiting(&self, vendor_id: &str, action: Action) -> bool {
        self.due
            .iter()
            .any(|((_, id), a)| id == vendor_id && *a == action)
    }

    /// The earliest action due at or before `now`, taken off the schedule.
    pub fn next_due(&mut self, now: Timestamp) -> Option<(Timestamp, String, Action)> {
        let key = self.due.keys().next().filter(|(t, _)| *t <= now)?.clone();
        let action = self.due.remove(&key)?;
        Some((key.0, key.1, action))
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
        assert!(s.waiting("a", Action::Cancel));
        assert_eq!(s.next_due(t.plus_millis(20)), None);
        let order: Vec<_> = std::iter::from_fn(|| s.next_due(t.plus_millis(100)))
            .map(|(_, id, _)| id)
            .collect();
        assert_eq!(order, ["c", "a", "b"]);
        assert!(!s.waiting("a", Action::Cancel));
    }
}
