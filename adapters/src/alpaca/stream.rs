//! Order updates from Alpaca's trade_updates WebSocket (alpaca.md §2.12a),
//! over a byte stream from the injected Dialer.
//!
//! Handshake: say nothing until we authenticate, expect `authorization`
//! `authorized`, send `listen` for `trade_updates`, expect `listening`. Each
//! `trade_updates` event carries the full order, which becomes one
//! OrderResult. The connection is followed as every vendor's is
//! ([`crate::order_socket`]): after a drop it reconnects with back-off and
//! re-reads the account's orders, so a fill that happened while it was
//! away is still delivered, and working orders the stream is quiet about
//! are re-read too. A silent connection is pinged (Alpaca sends no
//! heartbeat of its own), and taken for dead when the ping goes unanswered.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use super::client::Rest;
use super::models::{AlpacaOrder, StreamMessage, TradeUpdate};
use super::parse;
use crate::adapter::OrderUpdates;
use crate::contract::OrderResult;
use crate::error::{AdapterError, ErrorKind, Result};
use crate::http::{Backoff, HttpSetup};
use crate::order_socket::{self, OrderSocket, Ws as Socket};
use crate::updates::UpdateHub;

/// With no frame for this long the connection is pinged; after twice this
/// long it is taken for dead (a half-open TCP connection says nothing).
const PING_AFTER: Duration = Duration::from_secs(20);
/// How many orders a re-read after a reconnect covers (Alpaca's maximum page).
const CATCH_UP_PAGE: &str = "/v2/orders?status=all&limit=500&direction=desc";
/// Labels the stream's own jitter draws apart from the REST client's.
const JITTER_LABEL: u64 = 0x5354_5245_414d; // "STREAM"

pub struct StreamConfig {
    pub base_url: String,
    pub key_id: String,
    pub secret_key: String,
}

/// Opens the stream: the first connection is made (and its failures
/// reported) before this returns, so every change after it is delivered.
pub async fn open(
    config: StreamConfig,
    setup: &HttpSetup,
    rest: Arc<Rest>,
    hub: &UpdateHub,
) -> Result<OrderUpdates> {
    let url = stream_url(&config.base_url)?;
    let ctx = Ctx {
        url,
        config,
        backoff: Backoff::new(setup.retry, setup.jitter_seed ^ JITTER_LABEL),
        setup: setup.clone(),
        rest,
    };
    order_socket::open(Arc::new(ctx), hub).await
}

/// `{base}/stream` with http → ws and https → wss (§1.4).
fn stream_url(base_url: &str) -> Result<String> {
    let base = base_url.trim_end_matches('/');
    let ws = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        return Err(AdapterError::invalid_request(format!(
            "Alpaca base URL {base_url:?} is neither http nor https"
        )));
    };
    Ok(format!("{ws}/stream"))
}

struct Ctx {
    url: String,
    config: StreamConfig,
    setup: HttpSetup,
    /// The stream's own back-off between reconnects.
    backoff: Backoff,
    rest: Arc<Rest>,
}

fn ws_error(what: &str) -> impl Fn(tokio_tungstenite::tungstenite::Error) -> AdapterError + '_ {
    move |e| AdapterError::unavailable(format!("Alpaca stream: {what}: {e}"))
}

#[async_trait]
impl OrderSocket for Ctx {
    type Conn = Socket;
    const IDLE: Duration = PING_AFTER.saturating_mul(2);
    const HEARTBEAT: Option<Duration> = Some(PING_AFTER);

    fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// Dials, upgrades, authenticates and listens, within the request timeout.
    async fn connect(&self) -> Result<Socket> {
        let handshake = async {
            let mut ws = order_socket::dial(
                self.setup.dialer.as_ref(),
                &self.url,
                "the Alpaca stream",
                AdapterError::invalid_request,
            )
            .await?;
            let auth = json!({"action": "authenticate",
                "data": {"key_id": self.config.key_id, "secret_key": self.config.secret_key}});
            ws.send(Message::text(auth.to_string()))
                .await
                .map_err(ws_error("send"))?;
            let reply = reply_on(&mut ws, "authorization").await?;
            if reply.data["status"] != "authorized" {
                return Err(AdapterError::new(
                    ErrorKind::ReauthRequired,
                    "Alpaca stream refused the API keys",
                ));
            }
            let listen = json!({"action": "listen", "data": {"streams": ["trade_updates"]}});
            ws.send(Message::text(listen.to_string()))
                .await
                .map_err(ws_error("send"))?;
            let reply = reply_on(&mut ws, "listening").await?;
            let streams = reply.data["streams"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if !streams.iter().any(|s| s == "trade_updates") {
                return Err(AdapterError::unknown(
                    "Alpaca stream did not listen to trade_updates",
                ));
            }
            Ok(ws)
        };
        tokio::time::timeout(self.setup.request_timeout, handshake)
            .await
            .unwrap_or_else(|_| Err(AdapterError::timeout("Alpaca stream handshake timed out")))
    }

    fn ws(conn: &mut Socket) -> &mut Socket {
        conn
    }

    /// A WebSocket ping: Alpaca answers it with a pong.
    async fn heartbeat(&self, conn: &mut Socket) -> bool {
        conn.send(Message::Ping(Default::default())).await.is_ok()
    }

    async fn order_event(&self, data: &[u8]) -> Option<Result<OrderResult>> {
        event(data)
    }

    /// The most recent page, oldest first.
    async fn recent(&self) -> Result<Vec<Result<OrderResult>>> {
        let mut list = recent_orders(&self.rest).await?;
        list.reverse();
        Ok(list.iter().map(parse::order_result).collect())
    }

    async fn order(&self, id: &str) -> Result<OrderResult> {
        self.rest
            .order(id)
            .await
            .and_then(|o| parse::order_result(&o))
    }
}

/// The next message on `stream`, skipping others (a stray event cannot
/// arrive before `listening`, but nothing here depends on that).
async fn reply_on(ws: &mut Socket, stream: &str) -> Result<StreamMessage> {
    loop {
        let msg = ws
            .next()
            .await
            .ok_or_else(|| AdapterError::unavailable("Alpaca stream closed during the handshake"))?
            .map_err(ws_error("read"))?;
        let Some(bytes) = order_socket::data(&msg) else {
            continue;
        };
        match serde_json::from_slice::<StreamMessage>(bytes) {
            Ok(m) if m.stream == stream => return Ok(m),
            Ok(_) => continue,
            Err(e) => {
                return Err(AdapterError::unknown(format!(
                    "Alpaca stream sent malformed JSON: {e}"
                )))
            }
        }
    }
}

async fn recent_orders(rest: &Rest) -> Result<Vec<AlpacaOrder>> {
    rest.read(CATCH_UP_PAGE).await
}

/// One data frame: an order's state, an error when it cannot be read, or
/// None for frames that are not trade updates.
fn event(bytes: &[u8]) -> Option<Result<OrderResult>> {
    let msg: StreamMessage = match serde_json::from_slice(bytes) {
        Ok(m) => m,
        Err(e) => {
            return Some(Err(AdapterError::unknown(format!(
                "Alpaca stream sent malformed JSON: {e}"
            ))))
        }
    };
    if msg.stream != "trade_updates" {
        return None;
    }
    let update: TradeUpdate = match serde_json::from_value(msg.data) {
        Ok(u) => u,
        Err(e) => {
            return Some(Err(AdapterError::unknown(format!(
                "Alpaca sent a malformed trade update: {e}"
            ))))
        }
    };
    Some(parse::order_result(&update.order))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_urls_follow_the_rest_base() {
        assert_eq!(
            stream_url("https://paper-api.alpaca.markets").unwrap(),
            "wss://paper-api.alpaca.markets/stream"
        );
        assert_eq!(
            stream_url("http://127.0.0.1:9/").unwrap(),
            "ws://127.0.0.1:9/stream"
        );
        assert!(stream_url("ftp://x").is_err());
    }
}
