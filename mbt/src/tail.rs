//! An append-only list whose oldest items can be dropped cheaply: what a
//! long-running server keeps of a log.
//!
//! Dropping the oldest items of a `Vec` moves every item kept, so a
//! served model forgetting a few old orders at a time paid for all that it
//! keeps each time (a millisecond and more per forgetting under `wrk`).
//! Here dropped items only move the start; the list is compacted once as
//! many items are dropped as are kept, so each item is moved at most once
//! per item dropped after it, and memory stays within twice what is kept.

/// Items from `dead` on are the list; those before it were dropped.
#[derive(Debug, Clone)]
pub struct Tail<T> {
    items: Vec<T>,
    dead: usize,
}

impl<T> Default for Tail<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            dead: 0,
        }
    }
}

impl<T: PartialEq> PartialEq for Tail<T> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: Eq> Eq for Tail<T> {}

impl<T> Tail<T> {
    pub fn push(&mut self, item: T) {
        self.items.push(item);
    }

    /// The items kept, oldest first.
    pub fn as_slice(&self) -> &[T] {
        self.items.get(self.dead..).unwrap_or_default()
    }

    /// How many items are kept.
    pub fn len(&self) -> usize {
        self.items.len().saturating_sub(self.dead)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the oldest `n` items kept (all of them, if fewer).
    pub fn drop_front(&mut self, n: usize) {
        self.dead = self.dead.saturating_add(n.min(self.len()));
        if self.dead >= self.len() {
            self.items.drain(..self.dead);
            self.dead = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_items_leave_the_rest_in_order() {
        let mut t = Tail::default();
        for i in 0..10 {
            t.push(i);
        }
        t.drop_front(3);
        assert_eq!(t.as_slice(), &[3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(t.len(), 7);
        t.push(10);
        t.drop_front(2);
        assert_eq!(t.as_slice(), &[5, 6, 7, 8, 9, 10]);
        t.drop_front(100);
        assert!(t.is_empty());
        t.push(11);
        assert_eq!(t.as_slice(), &[11]);
    }

    #[test]
    fn memory_stays_within_twice_what_is_kept() {
        let mut t = Tail::default();
        for i in 0..100_000 {
            t.push(i);
            if t.len() > 1_000 {
                t.drop_front(10);
            }
            assert!(
                t.items.len() <= 2 * t.len() + 10,
                "{} held for {}",
                t.items.len(),
                t.len()
            );
        }
        assert_eq!(t.as_slice().first(), Some(&(100_000 - t.len())));
    }

    #[test]
    fn equality_reads_only_what_is_kept() {
        let mut a = Tail::default();
        let mut b = Tail::default();
        for i in 0..6 {
            a.push(i);
        }
        for i in 2..6 {
            b.push(i);
        }
        assert_ne!(a, b);
        a.drop_front(2);
        assert_eq!(a, b);
    }
}
