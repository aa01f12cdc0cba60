//! Records numbered densely from 0 in arrival order, of which some can be
//! forgotten: what a long-running server keeps of its orders.
//!
//! A simulation run keeps everything (nothing is forgotten unless asked).
//! A served model under sustained load forgets orders that ended long ago
//! (see `SimBrokerage::set_retention`), and its memory must then follow
//! what is kept, not what was ever placed. Recent records sit in a deque
//! indexed by number, so a lookup stays O(1); a record that must outlive
//! its neighbours (an order still working when those around it have been
//! forgotten) moves to a small ordered map instead of pinning every slot
//! after it.

use std::collections::{BTreeMap, VecDeque};

#[derive(Debug, Clone)]
pub struct Window<T> {
    /// The number of `recent`'s first slot.
    base: usize,
    /// Slots from `base` on; None where a record was forgotten.
    recent: VecDeque<Option<T>>,
    /// How many of `recent`'s slots are None.
    holes: usize,
    /// Records numbered below `base` that are still kept.
    older: BTreeMap<usize, T>,
}

impl<T> Default for Window<T> {
    fn default() -> Self {
        Self {
            base: 0,
            recent: VecDeque::new(),
            holes: 0,
            older: BTreeMap::new(),
        }
    }
}

impl<T> Window<T> {
    /// Appends a record; returns its number.
    pub fn push(&mut self, record: T) -> usize {
        let n = self.len();
        self.recent.push_back(Some(record));
        n
    }

    /// How many records were ever pushed: the next one's number.
    pub fn len(&self) -> usize {
        self.base.saturating_add(self.recent.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many records are kept.
    pub fn kept(&self) -> usize {
        self.recent
            .len()
            .saturating_sub(self.holes)
            .saturating_add(self.older.len())
    }

    pub fn get(&self, n: usize) -> Option<&T> {
        match n.checked_sub(self.base) {
            Some(i) => self.recent.get(i)?.as_ref(),
            None => self.older.get(&n),
        }
    }

    pub fn get_mut(&mut self, n: usize) -> Option<&mut T> {
        match n.checked_sub(self.base) {
            Some(i) => self.recent.get_mut(i)?.as_mut(),
            None => self.older.get_mut(&n),
        }
    }

    /// Kept records with their numbers, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (usize, &T)> + '_ {
        let base = self.base;
        self.older.iter().map(|(n, r)| (*n, r)).chain(
            self.recent
                .iter()
                .enumerate()
                .filter_map(move |(i, r)| Some((base.saturating_add(i), r.as_ref()?))),
        )
    }

    /// Forgets record `n`; returns it, or None when it was not kept.
    pub fn forget(&mut self, n: usize) -> Option<T> {
        let gone = match n.checked_sub(self.base) {
            Some(i) => {
                let gone = self.recent.get_mut(i)?.take()?;
                self.holes = self.holes.saturating_add(1);
                gone
            }
            None => self.older.remove(&n)?,
        };
        self.settle();
        Some(gone)
    }

    /// Frees the slots of forgotten records: leading holes go, and once
    /// half the deque is holes, the kept records at its front move to
    /// `older` so that the holes behind them can go too. Each record
    /// moves at most once, so pushes and forgets stay O(1) amortized.
    fn settle(&mut self) {
        while let Some(front) = self.recent.front() {
            if front.is_none() {
                self.holes = self.holes.saturating_sub(1);
            } else if self.holes.saturating_mul(2) <= self.recent.len() {
                break;
            }
            if let Some(Some(kept)) = self.recent.pop_front() {
                self.older.insert(self.base, kept);
            }
            self.base = self.base.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_stay_put_as_records_are_forgotten() {
        let mut w = Window::default();
        for i in 0..10 {
            assert_eq!(w.push(i * 10), i);
        }
        assert_eq!(w.forget(3), Some(30));
        assert_eq!(w.forget(3), None, "forgotten once");
        assert_eq!(w.get(3), None);
        assert_eq!(w.get(4), Some(&40));
        *w.get_mut(9).unwrap() = 99;
        assert_eq!(w.len(), 10);
        assert_eq!(w.kept(), 9);
        assert_eq!(w.push(100), 10, "numbering goes on");
    }

    #[test]
    fn a_record_kept_among_forgotten_ones_does_not_pin_their_slots() {
        let mut w = Window::default();
        for i in 0..1000 {
            w.push(i);
        }
        // Record 0 stays (an order still working); every other goes.
        for i in 1..1000 {
            w.forget(i);
        }
        assert!(w.recent.len() <= 1, "slots left: {}", w.recent.len());
        assert_eq!(w.get(0), Some(&0));
        assert_eq!(w.kept(), 1);
        assert_eq!(w.iter().collect::<Vec<_>>(), vec![(0, &0)]);
        assert_eq!(w.forget(0), Some(0));
        assert_eq!(w.kept(), 0);
        assert_eq!(w.push(7), 1000);
        assert_eq!(w.iter().collect::<Vec<_>>(), vec![(1000, &7)]);
    }

    #[test]
    fn iteration_is_in_number_order_across_both_parts() {
        let mut w = Window::default();
        for i in 0..8 {
            w.push(i);
        }
        for i in [1, 2, 3, 5, 6] {
            w.forget(i);
        }
        let seen: Vec<usize> = w.iter().map(|(n, _)| n).collect();
        assert_eq!(seen, vec![0, 4, 7]);
        assert!(!w.older.is_empty(), "the front moved aside");
    }
}
