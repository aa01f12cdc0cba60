//! Order updates from tastytrade's account streamer (reference §2.11): a
//! websocket (over the injected dialer) at the streamer host, no auth on
//! the upgrade; the `connect` message carries the access token and the
//! account, and is acknowledged with its `request-id`. Each order change
//! arrives as a full `Order` object; heartbeats keep a quiet connection
//! alive (and tell a dead one).
//!
//! What the stream can miss is read back as for every streaming vendor
//! ([`crate::order_socket`]): changes before the `connect` was taken and
//! while the connection was down.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio_tungstenite::tungstenite::Message;

use super::client::Inner;
use super::models::{Order, StreamFrame};
use super::parse;
use crate::adapter::OrderUpdates;
use crate::contract::OrderResult;
use crate::error::{AdapterError, ErrorKind, Result};
use crate::http::Backoff;
use crate::order_socket::{self, OrderSocket, Ws};

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
pub struct Conn {
    ws: Ws,
    next_request: u64,
}

/// Opens the stream now (so a refusal surfaces here) and follows it in a task.
pub async fn open(inner: Arc<Inner>) -> Result<OrderUpdates> {
    order_socket::open(inner.clone(), &inner.updates).await
}

#[async_trait]
impl OrderSocket for Inner {
    type Conn = Conn;
    const IDLE: Duration = IDLE;
    const HEARTBEAT: Option<Duration> = Some(HEARTBEAT);

    fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    async fn connect(&self) -> Result<Conn> {
        connect(self).await
    }

    fn ws(conn: &mut Conn) -> &mut Ws {
        &mut conn.ws
    }

    /// A heartbeat with the current token.
    async fn heartbeat(&self, conn: &mut Conn) -> bool {
        let Ok(token) = self.tokens.access() else {
            return false;
        };
        let id = conn.next_request;
        conn.next_request += 1;
        let Ok(text) = message("heartbeat", None, &token, id) else {
            return false;
        };
        conn.ws.send(Message::Text(text.into())).await.is_ok()
    }

    async fn order_event(&self, data: &[u8]) -> Option<Result<OrderResult>> {
        let frame: StreamFrame = match serde_json::from_slice(data) {
            Ok(f) => f,
            Err(e) => {
                return Some(Err(AdapterError::unknown(format!(
                    "malformed streamer message: {e}"
                ))))
            }
        };
        if frame.kind.as_deref() != Some("Order") {
            // Acknowledgements, balances, positions, complex orders (their
            // members come as `Order`s too) and anything newer.
            return None;
        }
        let order = frame
            .data
            .ok_or_else(|| AdapterError::unknown("an Order notification without data"))
            .and_then(|raw| {
                serde_json::from_str::<Order>(raw.get()).map_err(|e| {
                    AdapterError::unknown(format!("malformed Order notification: {e}"))
                })
            });
        match order {
            Ok(o) if o.account_number != self.config.account_id => None,
            Ok(o) => Some(parse::order(&o)),
            Err(e) => Some(Err(e)),
        }
    }

    /// The day's orders and the working ones.
    async fn recent(&self) -> Result<Vec<Result<OrderResult>>> {
        let orders = self.live_orders().await?;
        Ok(orders.iter().map(parse::order).collect())
    }

    async fn order(&self, id: &str) -> Result<OrderResult> {
        self.get_order(id).await
    }
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
    let mut ws = order_socket::dial(
        inner.setup.dialer.as_ref(),
        &inner.config.streamer_url,
        "the tastytrade streamer",
        AdapterError::invalid_request,
    )
    .await?;
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
