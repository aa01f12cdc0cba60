//! Order updates by polling. Schwab's streamer sends account activity
//! messages but no order state (reference §3: "adapters poll GET
//! …/orders/{id} for state"), so the adapter reads the state itself: the
//! account's orders entered since the updates began, and each working
//! order the list does not cover, on a fixed interval. The shared
//! [`Feed`](crate::updates::Feed) hands each order's progress out once and
//! in order, REST answers of the adapter included.

use std::sync::Arc;
use std::time::Duration;

use super::{Inner, CLOCK_SKEW_MS};
use crate::adapter::OrderUpdates;
use crate::error::Result;
use crate::updates::{self, Feed};

/// How often the orders are read. Schwab publishes no quota for reads
/// (§5); one list every two seconds keeps updates prompt and cheap.
const EVERY: Duration = Duration::from_secs(2);

/// Opens the updates now (so a refusal surfaces here) and polls in a task.
pub async fn open(inner: Arc<Inner>) -> Result<OrderUpdates> {
    let (feed, updates) = inner.updates.open();
    let since = inner.now_ms().saturating_sub(CLOCK_SKEW_MS);
    // Orders as they stand are not news; changes after this are.
    for o in inner
        .list(since, inner.now_ms().saturating_add(CLOCK_SKEW_MS))
        .await?
    {
        if let Ok(r) = inner.to_result(&o) {
            feed.know(&r);
        }
    }
    tokio::spawn(follow(inner, feed, since));
    Ok(updates)
}

async fn follow(inner: Arc<Inner>, feed: Arc<Feed>, since: i64) {
    let recent = {
        let inner = inner.clone();
        move || {
            let inner = inner.clone();
            async move {
                let to = inner.now_ms().saturating_add(CLOCK_SKEW_MS);
                let orders = inner.list(since, to).await?;
                Ok(orders.iter().map(|o| inner.to_result(o)).collect())
            }
        }
    };
    let one = move |id: String| {
        let inner = inner.clone();
        async move { inner.get_order(&id).await }
    };
    updates::poll(feed, EVERY, recent, one).await
}
