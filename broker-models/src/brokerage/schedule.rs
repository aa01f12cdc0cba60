//! What the broker does later on its own: accepting an order it took, a
//! cancel that lands some time after it was asked for. Actions are due at
//! simulated instants and are carried out, in time order, when the
//! brokerage syncs to its clock.

use std::collections::BTreeSet;

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
#[derive(Default)]
pub struct Schedule {
    due: BTreeSet<(Timestamp, String, Action)>,
}

impl Schedule {
    /// Schedules `action` for `vendor_id` at `at`, unless the same action is
    /// already waiting for it (asking twice changes nothing).
    pub fn add(&mut self, at: Timestamp, vendor_id: &str, action: Action) {
        if !self.waiting(vendor_id, action) {
            self.due.insert((at, vendor_id.to_string(), action));
        }
    }

    pub fn waiting(&self, vendor_id: &str, action: Action) -> bool {
        self.due
            .iter()
            .any(|(_, id, a)| id == vendor_id && *a == action)
    }

    /// Takes `action` for `vendor_id` off the schedule, if it is waiting.
    pub fn remove(&mut self, vendor_id: &str, action: Action) {
        self.due
            .retain(|(_, id, a)| !(id == vendor_id && *a == action));
    }

    /// The earliest action due at or before `now`, taken off the schedule.
    pub fn next_due(&mut self, now: Timestamp) -> Option<(Timestamp, String, Action)> {
        let first = self.due.first().filter(|(t, _, _)| *t <= now)?.clone();
        self.due.remove(&first);
        Some(first)
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
