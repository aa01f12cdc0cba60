//! Order updates from Alpaca's trade_updates WebSocket (alpaca.md §2.12a),
//! over a byte stream from the injected Dialer.
//!
//! Handshake: say nothing until we authenticate, expect `authorization`
//! `authorized`, send `listen` for `trade_updates`, expect `listening`. Each
//! `trade_updates` event carries the full order, which becomes one
//! OrderResult. When the connection drops, the stream reconnects with
//! back-off and re-reads the account's orders, so a fill that happened while
//! it was away is still delivered; working orders the stream is quiet about
//! are re-read too (`updates::Recheck`). The shared [`Feed`] keeps every
//! order's reported progress monotonic, so duplicated or reordered events
//! (and re-reads overlapping what was already streamed) are never delivered
//! twice or backwards.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::client::Rest;
use super::models::{AlpacaOrder, StreamMessage, TradeUpdate};
use super::parse;
use crate::adapter::OrderUpdates;
use crate::contract::OrderResult;
use crate::error::{AdapterError, ErrorKind, Result};
use crate::http::{dial::endpoint, Backoff, BoxIo, HttpSetup};
use crate::updates::{self, Feed, Recheck, UpdateHub};

type Socket = WebSocketStream<BoxIo>;

/// With no frame for this long the connection is pinged; after twice this
/// long it is taken for dead (a half-open TCP connection says nothing).
const IDLE: Duration = Duration::from_secs(20);
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
        setup: setup.clone(),
        rest,
    };
    let (feed, updates) = hub.open();
    // The baseline is read before listening: a change after it is then
    // either streamed or found by a later re-read, never hidden by it.
    for order in recent_orders(&ctx.rest).await? {
        if let Ok(r) = parse::order_result(&order) {
            feed.know(&r);
        }
    }
    let socket = ctx.connect().await?;
    // What changed between the baseline and `listening` is on no stream:
    // read it back once, as after a reconnect.
    catch_up(&ctx.rest, &feed).await;
    tokio::spawn(pump(ctx, socket, feed));
    Ok(updates)
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
    rest: Arc<Rest>,
}

fn ws_error(what: &str) -> impl Fn(tokio_tungstenite::tungstenite::Error) -> AdapterError + '_ {
    move |e| AdapterError::unavailable(format!("Alpaca stream: {what}: {e}"))
}

impl Ctx {
    /// Dials, upgrades, authenticates and listens, within the request timeout.
    async fn connect(&self) -> Result<Socket> {
        let handshake = async {
            let uri: http::Uri = self
                .url
                .parse()
                .map_err(|e| AdapterError::invalid_request(format!("stream URL: {e}")))?;
            let (host, port, tls) = endpoint(&uri)
                .map_err(|e| AdapterError::invalid_request(format!("stream URL: {e}")))?;
            let io = self
                .setup
                .dialer
                .dial(&host, port, tls)
                .await
                .map_err(|e| {
                    AdapterError::unavailable(format!("cannot reach the Alpaca stream: {e}"))
                })?;
            let (mut ws, _) = tokio_tungstenite::client_async(self.url.as_str(), io)
                .await
                .map_err(ws_error("upgrade"))?;
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
}

/// The JSON text of a data frame (paper sends binary frames, §2.12a), or
/// None for control frames.
fn payload(msg: Message) -> Option<Vec<u8>> {
    match msg {
        Message::Text(t) => Some(t.as_bytes().to_vec()),
        Message::Binary(b) => Some(b.to_vec()),
        _ => None,
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
        let Some(bytes) = payload(msg) else { continue };
        match serde_json::from_slice::<StreamMessage>(&bytes) {
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

/// Why a connection's session ended.
enum End {
    /// The consumer dropped the stream: stop.
    Consumer,
    /// The connection was lost: reconnect.
    Dropped,
}

async fn pump(ctx: Ctx, mut socket: Socket, feed: Arc<Feed>) {
    let backoff = Backoff::new(ctx.setup.retry, ctx.setup.jitter_seed ^ JITTER_LABEL);
    loop {
        if let End::Consumer = session(&ctx, &mut socket, &feed).await {
            return;
        }
        let mut failures = 0;
        socket = loop {
            failures += 1;
            if !backoff.may_retry(failures) {
                feed.offer(Err(AdapterError::unavailable(
                    "Alpaca stream lost and not regained",
                )));
                return;
            }
            tokio::time::sleep(backoff.delay(failures, None)).await;
            match ctx.connect().await {
                Ok(s) => break s,
                Err(e) if e.kind == ErrorKind::ReauthRequired => {
                    feed.offer(Err(e));
                    return;
                }
                Err(_) => continue,
            }
        };
        // Listening again: whatever changed while away is read back now;
        // anything after this point is on the stream.
        if !catch_up(&ctx.rest, &feed).await {
            return;
        }
    }
}

/// Orders that changed while the stream was away or quiet: the most recent
/// page, oldest first, then working orders older than the page one by one.
async fn catch_up(rest: &Rest, feed: &Feed) -> bool {
    let recent = || async {
        let mut list = recent_orders(rest).await?;
        list.reverse();
        Ok(list.iter().map(parse::order_result).collect())
    };
    let one =
        |id: String| async move { rest.order(&id).await.and_then(|o| parse::order_result(&o)) };
    updates::catch_up(feed, recent, one).await
}

async fn session(ctx: &Ctx, socket: &mut Socket, feed: &Feed) -> End {
    let mut last_frame = Instant::now();
    let mut pinged = false;
    let mut recheck = Recheck::new();
    loop {
        let next = tokio::select! {
            biased;
            _ = feed.closed() => return End::Consumer,
            _ = tokio::time::sleep_until(recheck.due().min(last_frame + IDLE)) => {
                if last_frame.elapsed() >= IDLE {
                    // Silent too long: ping once, then give up on it.
                    if pinged || socket.send(Message::Ping(Default::default())).await.is_err() {
                        return End::Dropped;
                    }
                    pinged = true;
                    last_frame = Instant::now();
                }
                if Instant::now() >= recheck.due() {
                    if !feed.open_orders().is_empty() && !catch_up(&ctx.rest, feed).await {
                        return End::Consumer;
                    }
                    recheck.done();
                }
                continue;
            }
            next = socket.next() => next,
        };
        let msg = match next {
            None | Some(Err(_)) => return End::Dropped,
            Some(Ok(msg)) => msg,
        };
        last_frame = Instant::now();
        pinged = false;
        let Some(bytes) = payload(msg) else { continue };
        if let Some(item) = event(&bytes) {
            recheck.heard();
            if !feed.offer(item) {
                return End::Consumer;
            }
        }
    }
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
