//! Order updates from tastytrade's account streamer (reference §2.11): a
//! websocket (over the injected dialer) at the streamer host, no auth on
//! the upgrade; the `connect` message carries the access token and the
//! account, and is acknowledged with its `request-id`. Each order change
//! arrives as a full `Order` object; heartbeats keep a quiet connection
//! alive (and tell a dead one).
//!
//! What the stream can miss is read back: changes before the `connect` was
//! taken and while the connection was down. So the day's orders are re-read
//! after every (re)connection, and working orders the stream is quiet about
//! are re-read at growing intervals (`updates::Recheck`). The shared
//! [`Feed`] keeps every order's updates monotonic whatever their source.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::client::Inner;
use super::models::{Order, StreamFrame};
use super::parse;
use crate::adapter::OrderUpdates;
use crate::error::{AdapterError, ErrorKind, Result};
use crate::http::dial::{endpoint, BoxIo};
use crate::reconcile::retry_read;
use crate::updates::{self, Feed, Recheck};

type Ws = WebSocketStream<BoxIo>;

/// A heartbeat goes out after this much silence; the TypeScript SDK's
/// cadence is seconds, the server answers each one.
const HEARTBEAT: Duration = Duration::from_secs(20);
/// Silence this long, heartbeats unanswered, means the connection is dead.
const IDLE: Duration = Duration::from_secs(60);

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ClientMessage<'a> {
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<[&'a str; 1]>,
    auth_token: String,
    request_id: u64,
    source: &'static str,
}

/// One connection and the request ids it has used.
struct Conn {
    ws: Ws,
    next_request: u64,
}

/// Opens the stream now (so a refusal surfaces here) and follows it in a task.
pub async fn open(inner: Arc<Inner>) -> Result<OrderUpdates> {
    let (feed, updates) = inner.updates.open();
    // The day's orders as they stand are not news; changes after this are.
    for o in inner.live_orders().await? {
        if let Ok(r) = parse::order(&o) {
            feed.know(&r);
        }
    }
    let conn = connect(&inner).await?;
    catch_up(&inner, &feed).await;
    tokio::spawn(follow(inner, conn, feed));
    Ok(updates)
}

fn message(action: &'static str, account: Option<&str>, token: &str, id: u64) -> Result<String> {
    serde_json::to_string(&ClientMessage {
        action,
        value: account.map(|a| [a]),
        auth_token: format!("Bearer {token}"),
        request_id: id,
        source: "raxx-adapters",
    })
    .map_err(|e| AdapterError::unknown(format!("cannot encode a streamer message: {e}")))
}

/// Opens a websocket and connects the account with `token`; a refusal of
/// the `connect` is `auth_expired` (the token is what it checks).
async fn connect_with(inner: &Inner, token: &str) -> Result<Conn> {
    let url = inner.config.streamer_url.clone();
    let uri: http::Uri = url
        .parse()
        .map_err(|_| AdapterError::invalid_request(format!("bad streamer URL {url:.80}")))?;
    let (host, port, tls) =
        endpoint(&uri).map_err(|e| AdapterError::invalid_request(format!("streamer URL: {e}")))?;
    let io = inner
        .setup
        .dialer
        .dial(&host, port, tls)
        .await
        .map_err(|e| {
            AdapterError::unavailable(format!("cannot reach the tastytrade streamer: {e}"))
        })?;
    let (mut ws, _) = tokio_tungstenite::client_async(url.as_str(), io)
        .await
        .map_err(|e| AdapterError::unavailable(format!("streamer handshake failed: {e}")))?;
    let connect = message("connect", Some(&inner.config.account_id), token, 1)?;
    ws.send(Message::Text(connect.into()))
        .await
        .map_err(|e| AdapterError::unavailable(format!("cannot connect the account: {e}")))?;
    // The acknowledgement carries the same request-id (§2.11).
    while let Some(msg) = ws.next().await {
        let text = match msg {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        let Ok(frame) = serde_json::from_str::<StreamFrame>(text.as_str()) else {
            continue;
        };
        let ours = frame
            .request_id
            .as_ref()
            .is_some_and(|v| v.as_u64() == Some(1) || v.as_str() == Some("1"));
        if frame.kind.is_some() || !ours {
            continue;
        }
        return match frame.status.as_deref() {
            Some("ok") => Ok(Conn {
                ws,
                next_request: 2,
            }),
            _ => Err(AdapterError::new(
                ErrorKind::AuthExpired,
                format!(
                    "the streamer refused the connection: {:.80}",
                    frame.message.unwrap_or_default()
                ),
            )),
        };
    }
    Err(AdapterError::unavailable(
        "the streamer closed before acknowledging the connection",
    ))
}

/// Connects within the request timeout, renewing the token once if the
/// streamer refuses it.
async fn connect(inner: &Inner) -> Result<Conn> {
    let attempt = |token: String| async move {
        tokio::time::timeout(inner.setup.request_timeout, connect_with(inner, &token))
            .await
            .unwrap_or_else(|_| {
                Err(AdapterError::timeout(
                    "the streamer did not connect in time",
                ))
            })
    };
    inner.tokens.authorized(attempt).await
}

async fn follow(inner: Arc<Inner>, mut conn: Conn, feed: Arc<Feed>) {
    loop {
        if !pump(&inner, &mut conn, &feed).await {
            return;
        }
        let _ = conn.ws.close(None).await;
        match reconnect(&inner, &feed).await {
            Some(fresh) => conn = fresh,
            None => return,
        }
        if !catch_up(&inner, &feed).await {
            return;
        }
    }
}

/// The day's orders, and any working order not among them by id.
async fn catch_up(inner: &Inner, feed: &Feed) -> bool {
    let recent = || async {
        let orders = inner.live_orders().await?;
        Ok(orders.iter().map(parse::order).collect())
    };
    updates::catch_up(feed, recent, |id| async move { inner.get_order(&id).await }).await
}

/// Reads frames until the connection ends (true) or nobody listens (false).
async fn pump(inner: &Inner, conn: &mut Conn, feed: &Feed) -> bool {
    let mut last_frame = Instant::now();
    let mut next_beat = last_frame + HEARTBEAT;
    let mut recheck = Recheck::new();
    loop {
        let msg = tokio::select! {
            biased;
            _ = feed.closed() => return false,
            _ = tokio::time::sleep_until(recheck.due().min(next_beat)) => {
                if last_frame.elapsed() >= IDLE {
                    return true;
                }
                if Instant::now() >= next_beat {
                    if !heartbeat(inner, conn).await {
                        return true;
                    }
                    next_beat = Instant::now() + HEARTBEAT;
                }
                if Instant::now() >= recheck.due() {
                    if !feed.open_orders().is_empty() && !catch_up(inner, feed).await {
                        return false;
                    }
                    recheck.done();
                }
                continue;
            }
            m = conn.ws.next() => m,
        };
        last_frame = Instant::now();
        next_beat = last_frame + HEARTBEAT;
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(_)) | Err(_)) | None => return true,
            Some(Ok(_)) => continue,
        };
        let frame: StreamFrame = match serde_json::from_str(text.as_str()) {
            Ok(f) => f,
            Err(e) => {
                let err = AdapterError::unknown(format!("malformed streamer message: {e}"));
                if !feed.offer(Err(err)) {
                    return false;
                }
                continue;
            }
        };
        if frame.kind.as_deref() != Some("Order") {
            // Acknowledgements, balances, positions, complex orders (their
            // members come as `Order`s too) and anything newer.
            continue;
        }
        recheck.heard();
        let item = frame
            .data
            .ok_or_else(|| AdapterError::unknown("an Order notification without data"))
            .and_then(|raw| {
                serde_json::from_str::<Order>(raw.get()).map_err(|e| {
                    AdapterError::unknown(format!("malformed Order notification: {e}"))
                })
            })
            .and_then(|o| {
                if o.account_number == inner.config.account_id {
                    parse::order(&o).map(Some)
                } else {
                    Ok(None)
                }
            });
        let item = match item {
            Ok(Some(r)) => Ok(r),
            Ok(None) => continue,
            Err(e) => Err(e),
        };
        if !feed.offer(item) {
            return false;
        }
    }
}

/// Sends a heartbeat with the current token; false when the socket is gone.
async fn heartbeat(inner: &Inner, conn: &mut Conn) -> bool {
    let Ok(token) = inner.tokens.access() else {
        return false;
    };
    let id = conn.next_request;
    conn.next_request += 1;
    let Ok(text) = message("heartbeat", None, &token, id) else {
        return false;
    };
    conn.ws.send(Message::Text(text.into())).await.is_ok()
}

/// A new connection, with the shared back-off; None when it cannot be had
/// (the stream ends with the error, once) or nobody listens.
async fn reconnect(inner: &Inner, feed: &Feed) -> Option<Conn> {
    match retry_read(&inner.backoff, || connect(inner)).await {
        Ok(c) => Some(c),
        Err(e) => {
            feed.end(e);
            None
        }
    }
}
