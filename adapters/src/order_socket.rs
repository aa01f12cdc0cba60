//! Order updates over a vendor's WebSocket, followed the same way for every
//! vendor that pushes them this way (Tradier's account events, tastytrade's
//! account streamer): what the account already has when the stream opens is
//! not news; frames are read as they come; silence longer than the vendor's
//! own heartbeat means a dead connection even when TCP has not noticed;
//! working orders a quiet stream says nothing about are re-read at growing
//! intervals ([`Recheck`]: a subscription the vendor never took looks just
//! like a quiet one); and after a drop the adapter reconnects with the
//! shared back-off and reads back what the gap hid. When no connection can
//! be had, the stream ends with the error, once. What differs per vendor —
//! the handshake, a keep-alive, what a frame says — is an [`OrderSocket`].
//! The shared [`Feed`] keeps every order's updates monotonic whatever their
//! source.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::adapter::OrderUpdates;
use crate::contract::OrderResult;
use crate::error::{AdapterError, Result};
use crate::http::dial::endpoint;
use crate::http::{Backoff, BoxIo, Dialer};
use crate::reconcile::retry_read;
use crate::updates::{self, Feed, Recheck, UpdateHub};

/// A WebSocket over the injected dialer.
pub type Ws = WebSocketStream<BoxIo>;

/// Opens a WebSocket to `url` over the injected dialer (TLS for `wss`):
/// the host and port, then the upgrade. `stream` names it in errors ("the
/// Tradier stream"); a URL that cannot be used is `bad_url`'s kind of error,
/// for a URL from the adapter's configuration is another fault than one the
/// vendor handed out.
pub async fn dial(
    dialer: &dyn Dialer,
    url: &str,
    stream: &str,
    bad_url: fn(String) -> AdapterError,
) -> Result<Ws> {
    let uri: http::Uri = url
        .parse()
        .map_err(|_| bad_url(format!("{stream} URL {url:.80} is not a URL")))?;
    let (host, port, tls) = endpoint(&uri).map_err(|e| bad_url(format!("{stream} URL: {e}")))?;
    let io = dialer
        .dial(&host, port, tls)
        .await
        .map_err(|e| AdapterError::unavailable(format!("cannot reach {stream}: {e}")))?;
    let (ws, _) = tokio_tungstenite::client_async(url, io)
        .await
        .map_err(|e| AdapterError::unavailable(format!("{stream}: the upgrade failed: {e}")))?;
    Ok(ws)
}

/// One vendor's order stream.
#[async_trait]
pub trait OrderSocket: Send + Sync + 'static {
    /// A connection: its socket and whatever the vendor counts on it.
    type Conn: Send;
    /// Silence longer than this means the connection is dead.
    const IDLE: Duration;
    /// How often the client must send a keep-alive, where the vendor asks
    /// for one (after this much silence in either direction).
    const HEARTBEAT: Option<Duration> = None;

    /// The back-off between reconnects.
    fn backoff(&self) -> &Backoff;
    /// A new connection, subscribed to the account's orders, within the
    /// request timeout.
    async fn connect(&self) -> Result<Self::Conn>;
    fn ws(conn: &mut Self::Conn) -> &mut Ws;
    /// Sends a keep-alive; false when the socket is gone.
    async fn heartbeat(&self, _conn: &mut Self::Conn) -> bool {
        true
    }
    /// What a data frame (text or binary) says about an order of the
    /// account; None for anything else (heartbeats, acknowledgements, other
    /// accounts, kinds newer than this adapter).
    async fn order_event(&self, data: &[u8]) -> Option<Result<OrderResult>>;
    /// The account's recent orders, oldest first, as a catch-up reads them.
    async fn recent(&self) -> Result<Vec<Result<OrderResult>>>;
    /// One order, read by id.
    async fn order(&self, id: &str) -> Result<OrderResult>;
}

/// Opens a stream of `hub` now (so a refusal surfaces here) and follows it
/// in a task.
pub async fn open<S: OrderSocket>(s: Arc<S>, hub: &UpdateHub) -> Result<OrderUpdates> {
    let (feed, updates) = hub.open();
    // The orders as they stand are not news; changes after this are.
    for r in s.recent().await?.iter().flatten() {
        feed.know(r);
    }
    let conn = s.connect().await?;
    // A change between the read above and the vendor taking the
    // subscription is on no stream.
    catch_up(s.as_ref(), &feed).await;
    tokio::spawn(follow(s, conn, feed));
    Ok(updates)
}

async fn follow<S: OrderSocket>(s: Arc<S>, mut conn: S::Conn, feed: Arc<Feed>) {
    loop {
        if !pump(s.as_ref(), &mut conn, &feed).await {
            return;
        }
        let _ = S::ws(&mut conn).close(None).await;
        conn = match retry_read(s.backoff(), || s.connect()).await {
            Ok(fresh) => fresh,
            Err(e) => {
                feed.end(e);
                return;
            }
        };
        if !catch_up(s.as_ref(), &feed).await {
            return;
        }
    }
}

/// The recent orders, and any working order not among them by id.
async fn catch_up<S: OrderSocket>(s: &S, feed: &Feed) -> bool {
    updates::catch_up(feed, || s.recent(), |id| async move { s.order(&id).await }).await
}

/// Reads frames until the connection ends (true) or nobody listens (false).
async fn pump<S: OrderSocket>(s: &S, conn: &mut S::Conn, feed: &Feed) -> bool {
    let mut last_frame = Instant::now();
    let beat_after = |at: Instant| S::HEARTBEAT.map(|every| at + every);
    let mut next_beat = beat_after(last_frame);
    let mut recheck = Recheck::new();
    loop {
        let dead_at = last_frame + S::IDLE;
        let wake = next_beat.map_or(dead_at, |b| b.min(dead_at));
        let msg = tokio::select! {
            biased;
            _ = feed.closed() => return false,
            _ = tokio::time::sleep_until(recheck.due().min(wake)) => {
                if Instant::now() >= dead_at {
                    return true;
                }
                if next_beat.is_some_and(|b| Instant::now() >= b) {
                    if !s.heartbeat(conn).await {
                        return true;
                    }
                    next_beat = beat_after(Instant::now());
                }
                if Instant::now() >= recheck.due() {
                    if !feed.open_orders().is_empty() && !catch_up(s, feed).await {
                        return false;
                    }
                    recheck.done();
                }
                continue;
            }
            m = S::ws(conn).next() => m,
        };
        last_frame = Instant::now();
        next_beat = beat_after(last_frame);
        let msg = match msg {
            Some(Ok(Message::Close(_)) | Err(_)) | None => return true,
            Some(Ok(m)) => m,
        };
        let Some(data) = data(&msg) else { continue };
        let Some(item) = s.order_event(data).await else {
            continue;
        };
        if item.is_ok() {
            // The stream speaks about orders: it is alive.
            recheck.heard();
        }
        if !feed.offer(item) {
            return false;
        }
    }
}

/// The payload of a data frame (some vendors send JSON in binary frames:
/// Alpaca paper, §2.12a); None for control frames.
pub fn data(msg: &Message) -> Option<&[u8]> {
    match msg {
        Message::Text(t) => Some(t.as_bytes()),
        Message::Binary(b) => Some(b),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::http::TcpDialer;

    #[tokio::test]
    async fn dial_names_the_stream_and_types_each_failure() {
        let dialer = TcpDialer::new().expect("dialer");
        let kind = |r: Result<Ws>| r.err().map(|e| (e.kind, e.message));
        // Not a URL: the caller's kind (configuration here).
        let (k, m) = kind(
            dial(
                &dialer,
                "::not a url",
                "the X stream",
                AdapterError::invalid_request,
            )
            .await,
        )
        .expect("refused");
        assert_eq!(k, ErrorKind::InvalidRequest);
        assert!(m.contains("the X stream URL"), "{m}");
        // A URL the vendor handed out: its kind is the caller's too.
        let (k, _) = kind(dial(&dialer, "ws://", "the X stream", AdapterError::unknown).await)
            .expect("refused");
        assert_eq!(k, ErrorKind::Unknown);
        // Nobody listening: unavailable, whatever the URL's origin.
        let (k, m) = kind(
            dial(
                &dialer,
                "ws://127.0.0.1:1/x",
                "the X stream",
                AdapterError::unknown,
            )
            .await,
        )
        .expect("refused");
        assert_eq!(k, ErrorKind::Unavailable);
        assert!(m.starts_with("cannot reach the X stream"), "{m}");
    }
}
