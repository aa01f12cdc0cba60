//! Order updates from Tradier's account-events stream (reference §2.9):
//! `POST /v1/accounts/events/session` gives a session id and a URL; the
//! WebSocket (over the injected dialer) is subscribed with
//! `{"events":["order"],"sessionid":…}` and pushes one JSON message per
//! order status change, plus heartbeats.
//!
//! Why the stream and not polling: the reference's CONFLICT is about paper
//! accounts (older docs and Lumibot say they cannot stream; current docs
//! list account streaming for paper). Raxx never uses Tradier paper (paper
//! is always MBT), and live accounts stream in every source, so the stream
//! is the right default.
//!
//! What the stream can miss is read back: Tradier never acknowledges a
//! subscription, so a change between sending it and Tradier taking it is on
//! no stream; neither is a change while the connection is down. So the
//! day's orders are re-read right after every (re)subscription, and while
//! orders are still working and the stream says nothing about them, they are
//! re-read at growing intervals. The shared [`Feed`] keeps every order's
//! updates monotonic whatever their source.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http::Method;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::models::{SessionBody, StreamEvent};
use super::{parse, Inner};
use crate::adapter::OrderUpdates;
use crate::contract::OrderStatus;
use crate::error::{AdapterError, Result};
use crate::http::dial::{endpoint, BoxIo};
use crate::reconcile::retry_read;
use crate::updates::{self, Feed, Recheck};

type Ws = WebSocketStream<BoxIo>;

/// Tradier sends a heartbeat about once a minute; silence much longer than
/// that means the connection is dead even if TCP has not noticed.
const IDLE: Duration = Duration::from_secs(150);

/// Opens the stream now (so a refusal surfaces here) and follows it in a task.
pub async fn open(inner: Arc<Inner>) -> Result<OrderUpdates> {
    let (feed, updates) = inner.updates.open();
    // The day's orders as they stand are not news; changes after this are.
    for o in inner.list_orders().await? {
        if let Ok(r) = inner.to_result(&o) {
            feed.know(&r);
        }
    }
    let ws = connect(&inner).await?;
    catch_up(&inner, &feed).await;
    tokio::spawn(follow(inner, ws, feed));
    Ok(updates)
}

async fn session(inner: &Inner) -> Result<(String, String)> {
    let url = format!("{}/accounts/events/session", inner.config.base_url);
    // Creating a session has no effect besides the session: safe to retry.
    let resp = retry_read(&inner.backoff, || inner.call(Method::POST, &url, Some(""))).await?;
    let body: SessionBody = resp.json()?;
    let ws_url = body
        .stream
        .url
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| {
            // The documented REST base with the WebSocket scheme.
            let base = &inner.config.base_url;
            let ws = base
                .strip_prefix("https://")
                .map(|rest| format!("wss://{rest}"))
                .or_else(|| {
                    base.strip_prefix("http://")
                        .map(|rest| format!("ws://{rest}"))
                })
                .unwrap_or_else(|| base.clone());
            format!("{ws}/accounts/events")
        });
    Ok((ws_url, body.stream.sessionid))
}

async fn connect(inner: &Inner) -> Result<Ws> {
    let (url, sessionid) = session(inner).await?;
    let handshake = async {
        let uri: http::Uri = url.parse().map_err(|_| {
            AdapterError::unknown(format!("Tradier gave an invalid stream URL {url:.80}"))
        })?;
        let (host, port, tls) = endpoint(&uri)
            .map_err(|e| AdapterError::unknown(format!("Tradier stream URL: {e}")))?;
        let io = inner
            .setup
            .dialer
            .dial(&host, port, tls)
            .await
            .map_err(|e| {
                AdapterError::unavailable(format!("cannot reach the Tradier stream: {e}"))
            })?;
        let (mut ws, _) = tokio_tungstenite::client_async(url.as_str(), io)
            .await
            .map_err(|e| {
                AdapterError::unavailable(format!("Tradier stream handshake failed: {e}"))
            })?;
        let subscribe = serde_json::json!({
            "events": ["order"],
            "sessionid": sessionid,
            "excludeAccounts": [],
        });
        ws.send(Message::Text(subscribe.to_string().into()))
            .await
            .map_err(|e| {
                AdapterError::unavailable(format!("cannot subscribe to the Tradier stream: {e}"))
            })?;
        Ok::<_, AdapterError>(ws)
    };
    tokio::time::timeout(inner.setup.request_timeout, handshake)
        .await
        .unwrap_or_else(|_| {
            Err(AdapterError::timeout(
                "the Tradier stream did not open in time",
            ))
        })
}

async fn follow(inner: Arc<Inner>, mut ws: Ws, feed: Arc<Feed>) {
    loop {
        if !pump(&inner, &mut ws, &feed).await {
            return;
        }
        let _ = ws.close(None).await;
        match reconnect(&inner, &feed).await {
            Some(fresh) => ws = fresh,
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
        let orders = inner.list_orders().await?;
        Ok(orders.iter().map(|o| inner.to_result(o)).collect())
    };
    updates::catch_up(feed, recent, |id| async move { inner.get_order(&id).await }).await
}

/// Reads messages until the connection ends (true) or nobody listens (false).
async fn pump(inner: &Inner, ws: &mut Ws, feed: &Feed) -> bool {
    let mut last_frame = Instant::now();
    let mut recheck = Recheck::new();
    loop {
        let msg = tokio::select! {
            biased;
            _ = feed.closed() => return false,
            _ = tokio::time::sleep_until(recheck.due().min(last_frame + IDLE)) => {
                if last_frame.elapsed() >= IDLE {
                    return true;
                }
                if Instant::now() >= recheck.due() {
                    if !feed.open_orders().is_empty() && !catch_up(inner, feed).await {
                        return false;
                    }
                    recheck.done();
                }
                continue;
            }
            m = ws.next() => m,
        };
        last_frame = Instant::now();
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(_)) | Err(_)) | None => return true,
            Some(Ok(_)) => continue,
        };
        let event: StreamEvent = match serde_json::from_str(text.as_str()) {
            Ok(e) => e,
            Err(e) => {
                let err = AdapterError::unknown(format!("malformed Tradier stream message: {e}"));
                if !feed.offer(Err(err)) {
                    return false;
                }
                continue;
            }
        };
        if event.event != "order" {
            continue; // heartbeats and anything newer
        }
        recheck.heard();
        let mut item = parse::event(&event, inner.client_order_id(event.tag.as_deref()));
        // The event has no rejection text: read the order for its reason.
        if let Ok(r) = &item {
            if r.status == OrderStatus::Rejected {
                if let Ok(full) = inner.get_order(&r.broker_order_id).await {
                    item = Ok(full);
                }
            }
        }
        if !feed.offer(item) {
            return false;
        }
    }
}

/// A new session and connection, with the shared back-off; None when it
/// cannot be had (the error is the stream's last item) or nobody listens.
async fn reconnect(inner: &Inner, feed: &Feed) -> Option<Ws> {
    match retry_read(&inner.backoff, || connect(inner)).await {
        Ok(ws) => Some(ws),
        Err(e) => {
            feed.offer(Err(e));
            None
        }
    }
}
