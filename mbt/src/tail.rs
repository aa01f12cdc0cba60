//! A numbered append-only list whose oldest items can be forgotten: what a
//! long-running server keeps of a log.
//!
//! Items are numbered from 0 in the order pushed, and keep their numbers
//! when older ones are forgotten, so a reader follows the list by the next
//! number it wants (`since`) whatever was forgotten meanwhile.
//!
//! The items live in a ring buffer: forgetting one frees it at once and
//! moves nothing. A `Vec` whose front was dropped by a start index and
//! compacted now and then paid, in the one request that compacted, for every
//! item dropped since the last time (10–20 ms in a served model under `wrk`,
//! once per ~30,000 entries): a stall of all 32 connections that wrk's
//! coordinated-omission correction spreads over a thousand samples, most
//! of the p99's excess.

use std::collections::VecDeque;

/// The items kept, oldest first.
pub type Iter<'a, T> = std::collections::vec_deque::Iter<'a, T>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail<T> {
    items: VecDeque<T>,
    /// The number of `items[0]`: how many items were forgotten.
    base: u64,
}

impl<T> Default for Tail<T> {
    fn default() -> Self {
        Self {
            items: VecDeque::new(),
            base: 0,
        }
    }
}

impl<T> Tail<T> {
    /// Appends `item`; returns its number.
    pub fn push(&mut self, item: T) -> u64 {
        let number = self.next_number();
        self.items.push_back(item);
        number
    }

    /// The number the next item pushed gets: how many there ever were.
    pub fn next_number(&self) -> u64 {
        self.base.saturating_add(self.items.len() as u64)
    }

    /// How many items were forgotten.
    pub fn forgotten(&self) -> u64 {
        self.base
    }

    /// How many items are kept.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items kept, oldest first.
    pub fn iter(&self) -> Iter<'_, T> {
        self.items.iter()
    }

    /// The items numbered `number` and after: every item kept when the
    /// reader fell behind what was forgotten, none when it is ahead.
    pub fn since(&self, number: u64) -> Iter<'_, T> {
        self.items.range(self.offset(number)..)
    }

    /// Forgets the items numbered before `number`.
    pub fn forget_before(&mut self, number: u64) {
        let n = self.offset(number);
        self.items.drain(..n);
        self.base = self.base.saturating_add(n as u64);
    }

    /// Where the item numbered `number` is kept, or would be: 0 for one
    /// forgotten, the end for one not pushed yet.
    fn offset(&self, number: u64) -> usize {
        usize::try_from(number.saturating_sub(self.base))
            .unwrap_or(usize::MAX)
            .min(self.items.len())
    }

    /// Forgets every item but the latest `keep`.
    pub fn keep_latest(&mut self, keep: usize) {
        let n = self.items.len().saturating_sub(keep);
        self.forget_before(self.base.saturating_add(n as u64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(t: &Tail<u32>) -> Vec<u32> {
        t.iter().copied().collect()
    }

    #[test]
    fn forgotten_items_leave_the_rest_with_their_numbers() {
        let mut t = Tail::default();
        for i in 0..10 {
            assert_eq!(t.push(i), u64::from(i));
        }
        t.forget_before(3);
        assert_eq!(kept(&t), [3, 4, 5, 6, 7, 8, 9]);
        assert_eq!((t.len(), t.forgotten(), t.next_number()), (7, 3, 10));
        assert_eq!(t.push(10), 10);
        t.keep_latest(6);
        assert_eq!(kept(&t), [5, 6, 7, 8, 9, 10]);
        assert_eq!(t.since(8).copied().collect::<Vec<_>>(), [8, 9, 10]);
        // A reader behind what was forgotten gets what is kept; one ahead, nothing.
        assert_eq!(t.since(0).len(), 6);
        assert_eq!(t.since(11).len(), 0);
        t.forget_before(100);
        assert!(t.is_empty());
        assert_eq!(
            t.push(11),
            11,
            "numbers go on after everything was forgotten"
        );
        assert_eq!(kept(&t), [11]);
    }

    #[test]
    fn memory_is_bounded_by_what_is_kept() {
        let mut t = Tail::default();
        for i in 0..100_000 {
            t.push(i);
            if t.len() > 1_000 {
                t.keep_latest(990);
            }
        }
        assert!(
            t.items.capacity() <= 2 * 1_001,
            "{} held",
            t.items.capacity()
        );
        assert_eq!(t.iter().next(), Some(&(100_000 - t.len() as u32)));
    }

    #[test]
    fn equality_compares_numbers_as_well_as_items() {
        let mut a = Tail::default();
        let mut b = Tail::default();
        for i in 0..6 {
            a.push(i);
            b.push(i);
        }
        a.forget_before(2);
        assert_ne!(a, b);
        b.forget_before(2);
        assert_eq!(a, b);
        let mut c = Tail::default();
        for i in 2..6 {
            c.push(i);
        }
        assert_ne!(a, c, "the same items under other numbers");
    }
}
