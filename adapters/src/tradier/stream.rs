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
//! What the stream can miss is read back as for every streaming vendor
//! ([`crate::order_socket`]): Tradier never acknowledges a subscription, so
//! a change between sending it and Tradier taking it is on no stream.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::SinkExt;
use http::Method;
use tokio_tungstenite::tungstenite::Message;

use super::models::{SessionBody, StreamEvent};
use super::{parse, Inner};
use crate::adapter::OrderUpdates;
use crate::contract::{OrderResult, OrderStatus};
use crate::error::{AdapterError, Result};
use crate::http::Backoff;
use crate::order_socket::{self, OrderSocket, Ws};
use crate::reconcile::retry_read;

/// Tradier sends a heartbeat about once a minute; silence much longer than
/// that means the connection is dead even if TCP has not noticed.
const IDLE: Duration = Duration::from_secs(150);

/// Opens the stream now (so a refusal surfaces here) and follows it in a task.
pub async fn open(inner: Arc<Inner>) -> Result<OrderUpdates> {
    order_socket::open(inner.clone(), &inner.updates).await
}

#[async_trait]
impl OrderSocket for Inner {
    type Conn = Ws;
    const IDLE: Duration = IDLE;

    fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    async fn connect(&self) -> Result<Ws> {
        connect(self).await
    }

    fn ws(conn: &mut Ws) -> &mut Ws {
        conn
    }

    async fn order_event(&self, data: &[u8]) -> Option<Result<OrderResult>> {
        let event: StreamEvent = match serde_json::from_slice(data) {
            Ok(e) => e,
            Err(e) => {
                return Some(Err(AdapterError::unknown(format!(
                    "malformed Tradier stream message: {e}"
                ))))
            }
        };
        if event.event != "order" {
            return None; // heartbeats and anything newer
        }
        let item = parse::event(&event, self.client_order_id(event.tag.as_deref()));
        // The event has no rejection text: read the order for its reason.
        if let Ok(r) = &item {
            if r.status == OrderStatus::Rejected {
                if let Ok(full) = self.get_order(&r.broker_order_id).await {
                    return Some(Ok(full));
                }
            }
        }
        Some(item)
    }

    /// The day's orders.
    async fn recent(&self) -> Result<Vec<Result<OrderResult>>> {
        let orders = self.list_orders().await?;
        Ok(orders.iter().map(|o| self.to_result(o)).collect())
    }

    async fn order(&self, id: &str) -> Result<OrderResult> {
        self.get_order(id).await
    }
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
        // The URL is the one Tradier's session answer gave.
        let mut ws = order_socket::dial(
            inner.setup.dialer.as_ref(),
            &url,
            "the Tradier stream",
            AdapterError::unknown,
        )
        .await?;
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
