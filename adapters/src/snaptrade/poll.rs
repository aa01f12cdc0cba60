//! Order updates by polling. SnapTrade pushes order states only through
//! webhooks (reference §9), which an adapter cannot receive, so it reads
//! them itself: `recentOrders` (real-time, the last 24 hours, §8.1) on a
//! fixed interval, and each working order the list no longer covers by its
//! detail. The shared [`Feed`](crate::updates::Feed) hands each order's
//! progress out once and in order, REST answers of the adapter included.

use std::sync::Arc;
use std::time::Duration;

use super::Inner;
use crate::adapter::OrderUpdates;
use crate::error::Result;
use crate::reconcile::retry_read;
use crate::updates;

/// How often the orders are read: 12 reads a minute stays far below the
/// 250 requests a minute of a client id (§8.3) while keeping fills prompt.
const EVERY: Duration = Duration::from_secs(5);

/// Opens the updates now (so a refusal surfaces here) and polls in a task.
pub async fn open(inner: Arc<Inner>) -> Result<OrderUpdates> {
    let (feed, updates) = inner.updates.open();
    // Orders as they stand are not news; changes after this are.
    for o in retry_read(&inner.backoff, || inner.recent()).await? {
        if let Ok(r) = inner.to_result(&o) {
            feed.know(&r);
        }
    }
    let recent = {
        let inner = inner.clone();
        move || {
            let inner = inner.clone();
            async move {
                let orders = retry_read(&inner.backoff, || inner.recent()).await?;
                Ok(orders.iter().map(|o| inner.to_result(o)).collect())
            }
        }
    };
    let one = move |id: String| {
        let inner = inner.clone();
        async move { inner.get_order(&id).await }
    };
    tokio::spawn(updates::poll(feed, EVERY, recent, one));
    Ok(updates)
}
