//! Order updates, written once for every adapter: each `order_updates`
//! stream is a [`Feed`] that takes order states from wherever the adapter
//! learns them — the vendor's stream, a catch-up read after a reconnect, a
//! poll while the stream is quiet, and the adapter's own REST answers
//! (submit, get, replace) — and hands each order's progress out once and
//! in order. Duplicates, an older state after a newer one, and anything
//! after a terminal state are dropped.
//!
//! Why REST answers feed the streams too: a vendor stream only carries what
//! happens after the vendor has taken the subscription, and some vendors
//! (Tradier) never say when that is. A fill the adapter has already read
//! back must not be missing from the updates just because the stream had
//! not started listening yet.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use rust_decimal::Decimal;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::adapter::OrderUpdates;
use crate::contract::{OrderResult, OrderStatus};
use crate::error::Result;

/// Each order's furthest reported progress: (cumulative fill, stage).
#[derive(Default)]
pub struct Tracker {
    seen: BTreeMap<String, (Decimal, u8)>,
}

/// How far along its life an order is; a later stage is news even at the
/// same fill (an accepted order canceled), a lower one never is.
fn stage(s: OrderStatus) -> u8 {
    match s {
        OrderStatus::Pending => 0,
        OrderStatus::Accepted | OrderStatus::PartiallyFilled => 1,
        OrderStatus::PendingCancel => 2,
        _ => 3,
    }
}

impl Tracker {
    /// Records `r`; true when it is news (further than anything reported).
    pub fn advance(&mut self, r: &OrderResult) -> bool {
        let progress = (r.filled_quantity, stage(r.status));
        match self.seen.get(&r.broker_order_id) {
            Some(prev) if *prev >= progress => false,
            _ => {
                self.seen.insert(r.broker_order_id.clone(), progress);
                true
            }
        }
    }

    /// Whether `broker_order_id` was seen in a terminal state.
    pub fn finished(&self, broker_order_id: &str) -> bool {
        self.seen
            .get(broker_order_id)
            .is_some_and(|(_, stage)| *stage == 3)
    }

    /// Orders seen and not yet in a terminal state.
    pub fn open_orders(&self) -> BTreeSet<String> {
        self.seen
            .iter()
            .filter(|(_, (_, s))| *s < 3)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

/// The sending side of one `order_updates` stream.
pub struct Feed {
    tracker: Mutex<Tracker>,
    // Unbounded so a REST answer can be offered without waiting on the
    // consumer; the tracker bounds it to one item per order state.
    tx: mpsc::UnboundedSender<Result<OrderResult>>,
    /// The source of updates is gone for good and the stream was told.
    ended: std::sync::atomic::AtomicBool,
}

impl Feed {
    fn tracker(&self) -> MutexGuard<'_, Tracker> {
        self.tracker.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks `r` as already known, without handing it out (a baseline read
    /// before the stream began).
    pub fn know(&self, r: &OrderResult) {
        self.tracker().advance(r);
    }

    /// Hands `item` out when it is news (errors always are); false when
    /// nobody listens any more.
    pub fn offer(&self, item: Result<OrderResult>) -> bool {
        if self.ended.load(std::sync::atomic::Ordering::SeqCst) {
            return false;
        }
        if let Ok(r) = &item {
            if !self.tracker().advance(r) {
                return !self.tx.is_closed();
            }
        }
        self.tx.send(item).is_ok()
    }

    /// The source of updates is gone for good: says so once, however many
    /// parts of the adapter notice it; later offers are not delivered.
    pub fn end(&self, e: crate::error::AdapterError) {
        if !self.ended.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let _ = self.tx.send(Err(e));
        }
    }

    /// Orders this stream has reported that are not finished yet.
    pub fn open_orders(&self) -> BTreeSet<String> {
        self.tracker().open_orders()
    }

    /// Whether this stream has seen `broker_order_id` reach a final state.
    pub fn finished(&self, broker_order_id: &str) -> bool {
        self.tracker().finished(broker_order_id)
    }

    /// Resolves when the consumer has dropped the stream.
    pub async fn closed(&self) {
        self.tx.closed().await
    }

    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// Every open `order_updates` stream of one adapter.
#[derive(Default)]
pub struct UpdateHub {
    feeds: Mutex<Vec<Weak<Feed>>>,
}

impl UpdateHub {
    /// A new stream: the task that follows the vendor keeps the `Feed`; the
    /// stream ends when that task drops it.
    pub fn open(&self) -> (Arc<Feed>, OrderUpdates) {
        let (tx, rx) = mpsc::unbounded_channel();
        let feed = Arc::new(Feed {
            tracker: Mutex::new(Tracker::default()),
            tx,
            ended: Default::default(),
        });
        self.feeds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::downgrade(&feed));
        let updates = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
        .boxed();
        (feed, updates)
    }

    /// An order state the adapter learnt by itself (a REST answer): news
    /// for any open stream that has not reported it yet.
    pub fn observe(&self, r: &OrderResult) {
        let mut feeds = self.feeds.lock().unwrap_or_else(|p| p.into_inner());
        feeds.retain(|weak| match weak.upgrade() {
            Some(feed) => feed.offer(Ok(r.clone())),
            None => false,
        });
    }

    /// A failure of the adapter's source of updates: every open stream hears it.
    pub fn fail(&self, e: crate::error::AdapterError) {
        let mut feeds = self.feeds.lock().unwrap_or_else(|p| p.into_inner());
        feeds.retain(|weak| match weak.upgrade() {
            Some(feed) => feed.offer(Err(e.clone())),
            None => false,
        });
    }

    /// The adapter's source of updates is gone for good: every open stream
    /// hears it once and nothing after it.
    pub fn end(&self, e: crate::error::AdapterError) {
        let mut feeds = self.feeds.lock().unwrap_or_else(|p| p.into_inner());
        for feed in feeds.drain(..).filter_map(|w| w.upgrade()) {
            feed.end(e.clone());
        }
    }

    /// Passes a REST answer through, observing it on the way.
    pub fn seen(&self, r: Result<OrderResult>) -> Result<OrderResult> {
        if let Ok(r) = &r {
            self.observe(r);
        }
        r
    }
}

/// Reads back what a stream may have missed — `recent` (the vendor's list
/// of recent orders, oldest first), then each working order the list does
/// not cover by `one` — and hands out what changed. False when nobody
/// listens any more, or when the list cannot be read for good (the
/// connection needs a new authorization): the stream then ends with that
/// error, once, rather than repeating it at every read.
pub async fn catch_up<R, RF, O, OF>(feed: &Feed, recent: R, mut one: O) -> bool
where
    R: FnOnce() -> RF,
    RF: Future<Output = Result<Vec<Result<OrderResult>>>>,
    O: FnMut(String) -> OF,
    OF: Future<Output = Result<OrderResult>>,
{
    let mut open = feed.open_orders();
    match recent().await {
        Ok(orders) => {
            for r in orders {
                if let Ok(r) = &r {
                    open.remove(&r.broker_order_id);
                }
                if !feed.offer(r) {
                    return false;
                }
            }
        }
        Err(e) if e.kind == crate::error::ErrorKind::ReauthRequired => {
            feed.end(e);
            return false;
        }
        Err(e) => return feed.offer(Err(e)),
    }
    for id in open {
        if !feed.offer(one(id).await) {
            return false;
        }
    }
    true
}

/// Follows orders by polling, for vendors without a stream of order states:
/// every `every`, a [`catch_up`] with the vendor's list (`recent`) and its
/// single-order read (`one`), until nobody listens any more or the list is
/// lost for good.
pub async fn poll<R, RF, O, OF>(feed: Arc<Feed>, every: Duration, mut recent: R, mut one: O)
where
    R: FnMut() -> RF,
    RF: Future<Output = Result<Vec<Result<OrderResult>>>>,
    O: FnMut(String) -> OF,
    OF: Future<Output = Result<OrderResult>>,
{
    loop {
        tokio::select! {
            biased;
            _ = feed.closed() => return,
            _ = tokio::time::sleep(every) => {}
        }
        if !catch_up(&feed, &mut recent, &mut one).await {
            return;
        }
    }
}

/// When to re-read working orders a live stream is quiet about: a stream
/// can stop carrying order events without closing (a subscription the
/// vendor never took or silently dropped). The first re-read comes soon;
/// each quiet one after it waits twice as long, up to `MAX`, so a resting
/// order costs a request every few minutes rather than a steady poll.
pub struct Recheck {
    every: Duration,
    at: Instant,
}

impl Recheck {
    const FIRST: Duration = Duration::from_secs(5);
    const MAX: Duration = Duration::from_secs(300);

    pub fn new() -> Self {
        Self {
            every: Self::FIRST,
            at: Instant::now() + Self::FIRST,
        }
    }

    /// When the next re-read is due.
    pub fn due(&self) -> Instant {
        self.at
    }

    /// The stream spoke about orders: it is alive, start over.
    pub fn heard(&mut self) {
        *self = Self::new();
    }

    /// A re-read was done (or not needed): the next waits longer.
    pub fn done(&mut self) {
        self.every = (self.every * 2).min(Self::MAX);
        self.at = Instant::now() + self.every;
    }
}

impl Default for Recheck {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{AdapterError, ErrorKind};
    use futures_util::FutureExt;
    use rust_decimal_macros::dec;

    fn result(id: &str, status: OrderStatus, filled: Decimal) -> OrderResult {
        OrderResult {
            broker_order_id: id.into(),
            client_order_id: "c".into(),
            status,
            filled_quantity: filled,
            remaining_quantity: dec!(10) - filled,
            average_fill_price: None,
            reject_reason: None,
            broker_status: String::new(),
        }
    }

    #[test]
    fn progress_is_monotonic_and_duplicates_are_dropped() {
        let mut t = Tracker::default();
        assert!(t.advance(&result("a", OrderStatus::Accepted, dec!(0))));
        assert!(!t.advance(&result("a", OrderStatus::Accepted, dec!(0))));
        assert!(t.advance(&result("a", OrderStatus::PartiallyFilled, dec!(4))));
        assert!(t.advance(&result("a", OrderStatus::Filled, dec!(10))));
        // A late partial fill (reordered) is not news.
        assert!(!t.advance(&result("a", OrderStatus::PartiallyFilled, dec!(4))));
        assert!(t.advance(&result("b", OrderStatus::PendingCancel, dec!(0))));
        assert_eq!(
            t.open_orders().into_iter().collect::<Vec<_>>(),
            vec!["b".to_string()]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn rechecks_back_off_until_the_stream_speaks() {
        let start = Instant::now();
        let mut r = Recheck::new();
        assert_eq!(r.due() - start, Duration::from_secs(5));
        let mut waits = Vec::new();
        for _ in 0..8 {
            tokio::time::sleep_until(r.due()).await;
            let before = Instant::now();
            r.done();
            waits.push((r.due() - before).as_secs());
        }
        assert_eq!(waits, [10, 20, 40, 80, 160, 300, 300, 300]);
        r.heard();
        assert_eq!(r.due() - Instant::now(), Duration::from_secs(5));
    }

    #[tokio::test]
    async fn catch_up_reads_working_orders_the_list_misses() {
        let hub = UpdateHub::default();
        let (feed, mut updates) = hub.open();
        feed.know(&result("old-gtc", OrderStatus::Accepted, dec!(0)));
        feed.know(&result("listed", OrderStatus::Accepted, dec!(0)));
        let mut asked = Vec::new();
        let live = catch_up(
            &feed,
            || async { Ok(vec![Ok(result("listed", OrderStatus::Filled, dec!(10)))]) },
            |id| {
                asked.push(id.clone());
                async move { Ok(result(&id, OrderStatus::Canceled, dec!(0))) }
            },
        )
        .await;
        assert!(live);
        assert_eq!(asked, ["old-gtc"]);
        let first = updates.next().await.unwrap().unwrap();
        assert_eq!(
            (first.broker_order_id.as_str(), first.status),
            ("listed", OrderStatus::Filled)
        );
        let second = updates.next().await.unwrap().unwrap();
        assert_eq!(
            (second.broker_order_id.as_str(), second.status),
            ("old-gtc", OrderStatus::Canceled)
        );
    }

    #[tokio::test]
    async fn a_list_lost_for_good_ends_the_stream_once_a_passing_failure_does_not() {
        let hub = UpdateHub::default();
        let (feed, mut updates) = hub.open();
        let none = |_: String| async { Ok(result("x", OrderStatus::Filled, dec!(0))) };
        let down = || async { Err(AdapterError::unavailable("503")) };
        assert!(catch_up(&feed, down, none).await, "a 503 passes");
        let dead = || async {
            Err(AdapterError::new(
                ErrorKind::ReauthRequired,
                "refresh token refused",
            ))
        };
        assert!(
            !catch_up(&feed, dead, none).await,
            "dead credentials end it"
        );
        assert!(!catch_up(&feed, dead, none).await);
        let kinds: Vec<_> = std::iter::from_fn(|| updates.next().now_or_never().flatten())
            .map(|r| r.unwrap_err().kind)
            .collect();
        assert_eq!(kinds, [ErrorKind::Unavailable, ErrorKind::ReauthRequired]);
    }

    #[tokio::test]
    async fn rest_answers_reach_every_open_stream_once() {
        let hub = UpdateHub::default();
        let (feed, mut updates) = hub.open();
        let (other, other_updates) = hub.open();
        drop(other_updates);
        let filled = result("a", OrderStatus::Filled, dec!(10));
        hub.observe(&filled);
        // A stream whose consumer left is forgotten.
        assert!(other.is_closed());
        assert_eq!(hub.feeds.lock().unwrap().len(), 1);
        // The stream's own (late) copies of older states are not news.
        assert!(feed.offer(Ok(result("a", OrderStatus::Accepted, dec!(0)))));
        assert!(feed.offer(Ok(filled.clone())));
        drop(feed);
        assert_eq!(updates.next().await.unwrap().unwrap(), filled);
        assert!(updates.next().await.is_none());
    }
}
