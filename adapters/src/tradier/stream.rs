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
//! is the right default. What it might miss is covered anyway: after every
//! reconnect the day's orders are re-read and any change since the last
//! update is emitted, so a dropped connection loses no fill.
//!
//! Updates are kept monotonic per order: duplicates, an older state after
//! a newer one, and anything after a terminal state are dropped.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http::Method;
use rust_decimal::Decimal;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::models::{SessionBody, StreamEvent};
use super::{parse, Inner};
use crate::adapter::OrderUpdates;
use crate::contract::{OrderResult, OrderStatus};
use crate::error::{AdapterError, Result};
use crate::http::dial::{endpoint, BoxIo};
use crate::reconcile::retry_read;

type Ws = WebSocketStream<BoxIo>;

/// Tradier sends a heartbeat about once a minute; silence much longer than
/// that means the connection is dead even if TCP has not noticed.
const IDLE: Duration = Duration::from_secs(150);

/// Opens the stream now (so a refusal surfaces here) and follows it in a task.
pub async fn open(inner: Arc<Inner>) -> Result<OrderUpdates> {
    let ws = connect(&inner).await?;
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(follow(inner, ws, tx));
    Ok(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed())
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

/// The last state emitted per order: status and cumulative fill.
#[derive(Default)]
struct Seen(BTreeMap<String, (OrderStatus, Decimal)>);

impl Seen {
    /// Records `r` and says whether it is news.
    fn advance(&mut self, r: &OrderResult) -> bool {
        let next = (r.status, r.filled_quantity);
        match self.0.get(&r.broker_order_id) {
            Some((status, _)) if status.is_terminal() => return false,
            Some((_, filled)) if r.filled_quantity < *filled => return false,
            Some(prev) if *prev == next => return false,
            _ => {}
        }
        self.0.insert(r.broker_order_id.clone(), next);
        true
    }
}

type Tx = mpsc::Sender<Result<OrderResult>>;

/// Sends `item`; false when nobody listens any more.
async fn emit(tx: &Tx, item: Result<OrderResult>) -> bool {
    tx.send(item).await.is_ok()
}

async fn follow(inner: Arc<Inner>, mut ws: Ws, tx: Tx) {
    let mut seen = Seen::default();
    loop {
        if !pump(&inner, &mut ws, &tx, &mut seen).await {
            return;
        }
        let _ = ws.close(None).await;
        match reconnect(&inner, &tx).await {
            Some(fresh) => ws = fresh,
            None => return,
        }
        // Whatever changed while the connection was down.
        match inner.list_orders().await {
            Ok(orders) => {
                for o in &orders {
                    let item = inner.to_result(o);
                    if item.as_ref().is_ok_and(|r| !seen.advance(r)) {
                        continue;
                    }
                    if !emit(&tx, item).await {
                        return;
                    }
                }
            }
            Err(e) => {
                if !emit(&tx, Err(e)).await {
                    return;
                }
            }
        }
    }
}

/// Reads messages until the connection ends (true) or nobody listens (false).
async fn pump(inner: &Inner, ws: &mut Ws, tx: &Tx, seen: &mut Seen) -> bool {
    loop {
        let msg = tokio::select! {
            biased;
            _ = tx.closed() => return false,
            m = tokio::time::timeout(IDLE, ws.next()) => m,
        };
        let text = match msg {
            Ok(Some(Ok(Message::Text(t)))) => t,
            Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) | Err(_) => return true,
            Ok(Some(Ok(_))) => continue,
        };
        let event: StreamEvent = match serde_json::from_str(text.as_str()) {
            Ok(e) => e,
            Err(e) => {
                let err = AdapterError::unknown(format!("malformed Tradier stream message: {e}"));
                if !emit(tx, Err(err)).await {
                    return false;
                }
                continue;
            }
        };
        if event.event != "order" {
            continue; // heartbeats and anything newer
        }
        let mut item = parse::event(&event, inner.client_order_id(event.tag.as_deref()));
        // The event has no rejection text: read the order for its reason.
        if let Ok(r) = &item {
            if r.status == OrderStatus::Rejected {
                if let Ok(full) = inner.get_order(&r.broker_order_id).await {
                    item = Ok(full);
                }
            }
        }
        if item.as_ref().is_ok_and(|r| !seen.advance(r)) {
            continue;
        }
        if !emit(tx, item).await {
            return false;
        }
    }
}

/// A new session and connection, with the shared back-off; None when it
/// cannot be had (the error is the stream's last item) or nobody listens.
async fn reconnect(inner: &Inner, tx: &Tx) -> Option<Ws> {
    match retry_read(&inner.backoff, || connect(inner)).await {
        Ok(ws) => Some(ws),
        Err(e) => {
            let _ = tx.send(Err(e)).await;
            None
        }
    }
}
