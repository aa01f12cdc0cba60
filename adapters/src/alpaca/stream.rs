//! Order updates from Alpaca's trade_updates WebSocket (alpaca.md §2.12a),
//! over a byte stream from the injected Dialer.
//!
//! Handshake: say nothing until we authenticate, expect `authorization`
//! `authorized`, send `listen` for `trade_updates`, expect `listening`. Each
//! `trade_updates` event carries the full order, which becomes one
//! OrderResult. When the connection drops, the stream reconnects with
//! back-off and re-reads the account's orders, so a fill that happened while
//! it was away is still delivered. A tracker keeps every order's reported
//! progress monotonic, so duplicated or reordered events (and the re-read
//! overlapping what was already streamed) are never delivered twice or backwards.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rust_decimal::Decimal;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::client::Rest;
use super::models::{AlpacaOrder, StreamMessage, TradeUpdate};
use super::parse;
use crate::adapter::OrderUpdates;
use crate::contract::{OrderResult, OrderStatus};
use crate::error::{AdapterError, ErrorKind, Result};
use crate::http::{dial::endpoint, Backoff, BoxIo, HttpSetup};

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
) -> Result<OrderUpdates> {
    let url = stream_url(&config.base_url)?;
    let ctx = Ctx {
        url,
        config,
        setup: setup.clone(),
        rest,
    };
    // The baseline is read before listening: a change after it is then
    // either streamed or found by a later re-read, never hidden by it.
    let mut tracker = Tracker::default();
    for order in recent_orders(&ctx.rest).await? {
        if let Ok(r) = parse::order_result(&order) {
            tracker.advance(&r);
        }
    }
    let socket = ctx.connect().await?;
    // What changed between the baseline and `listening` is on no stream:
    // read it back once, as after a reconnect.
    let first = catch_up(&ctx.rest, &mut tracker).await;
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(pump(ctx, socket, tracker, first, tx));
    Ok(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed())
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

/// Each order's furthest reported progress: (cumulative fill, stage).
#[derive(Default)]
struct Tracker {
    seen: BTreeMap<String, (Decimal, u8)>,
}

fn stage(s: OrderStatus) -> u8 {
    match s {
        OrderStatus::Pending => 0,
        OrderStatus::Accepted | OrderStatus::PartiallyFilled => 1,
        OrderStatus::PendingCancel => 2,
        _ => 3,
    }
}

impl Tracker {
    /// Records `r`; true when it is news (further than anything reported).
    fn advance(&mut self, r: &OrderResult) -> bool {
        let progress = (r.filled_quantity, stage(r.status));
        match self.seen.get(&r.broker_order_id) {
            Some(prev) if *prev >= progress => false,
            _ => {
                self.seen.insert(r.broker_order_id.clone(), progress);
                true
            }
        }
    }

    fn open_orders(&self) -> BTreeSet<String> {
        self.seen
            .iter()
            .filter(|(_, (_, s))| *s < 3)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

type Tx = mpsc::Sender<Result<OrderResult>>;

/// Why a connection's session ended.
enum End {
    /// The consumer dropped the stream: stop.
    Consumer,
    /// The connection was lost: reconnect.
    Dropped,
}

async fn pump(
    ctx: Ctx,
    mut socket: Socket,
    mut tracker: Tracker,
    first: Vec<Result<OrderResult>>,
    tx: Tx,
) {
    let backoff = Backoff::new(ctx.setup.retry, ctx.setup.jitter_seed ^ JITTER_LABEL);
    for item in first {
        if tx.send(item).await.is_err() {
            return;
        }
    }
    loop {
        if let End::Consumer = session(&mut socket, &mut tracker, &tx).await {
            return;
        }
        let mut failures = 0;
        socket = loop {
            failures += 1;
            if !backoff.may_retry(failures) {
                let _ = tx
                    .send(Err(AdapterError::unavailable(
                        "Alpaca stream lost and not regained",
                    )))
                    .await;
                return;
            }
            tokio::time::sleep(backoff.delay(failures, None)).await;
            match ctx.connect().await {
                Ok(s) => break s,
                Err(e) if e.kind == ErrorKind::ReauthRequired => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
                Err(_) => continue,
            }
        };
        // Listening again: whatever changed while away is read back now;
        // anything after this point is on the stream.
        for item in catch_up(&ctx.rest, &mut tracker).await {
            if tx.send(item).await.is_err() {
                return;
            }
        }
    }
}

/// Orders that changed while the stream was away, oldest first.
async fn catch_up(rest: &Rest, tracker: &mut Tracker) -> Vec<Result<OrderResult>> {
    let mut out = Vec::new();
    let mut open = tracker.open_orders();
    let recent = match recent_orders(rest).await {
        Ok(list) => list,
        Err(e) => return vec![Err(e)],
    };
    for order in recent.iter().rev() {
        open.remove(&order.id);
        push(tracker, parse::order_result(order), &mut out);
    }
    // Open orders older than the page: read one by one.
    for id in open {
        let r = rest.order(&id).await.and_then(|o| parse::order_result(&o));
        push(tracker, r, &mut out);
    }
    out
}

fn push(tracker: &mut Tracker, r: Result<OrderResult>, out: &mut Vec<Result<OrderResult>>) {
    match r {
        Ok(r) if tracker.advance(&r) => out.push(Ok(r)),
        Ok(_) => {}
        Err(e) => out.push(Err(e)),
    }
}

async fn session(socket: &mut Socket, tracker: &mut Tracker, tx: &Tx) -> End {
    let mut quiet = 0;
    loop {
        let next = tokio::select! {
            biased;
            _ = tx.closed() => return End::Consumer,
            next = tokio::time::timeout(IDLE, socket.next()) => next,
        };
        let msg = match next {
            Err(_) => {
                quiet += 1;
                if quiet >= 2
                    || socket
                        .send(Message::Ping(Default::default()))
                        .await
                        .is_err()
                {
                    return End::Dropped;
                }
                continue;
            }
            Ok(None | Some(Err(_))) => return End::Dropped,
            Ok(Some(Ok(msg))) => msg,
        };
        quiet = 0;
        let Some(bytes) = payload(msg) else { continue };
        if let Some(item) = event(&bytes, tracker) {
            if tx.send(item).await.is_err() {
                return End::Consumer;
            }
        }
    }
}

/// One data frame: an OrderResult when it is news, an error when it cannot be read.
fn event(bytes: &[u8], tracker: &mut Tracker) -> Option<Result<OrderResult>> {
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
    match parse::order_result(&update.order) {
        Ok(r) if tracker.advance(&r) => Some(Ok(r)),
        Ok(_) => None,
        Err(e) => Some(Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn result(id: &str, status: OrderStatus, filled: Decimal) -> OrderResult {
        OrderResult {
            broker_order_id: id.into(),
            client_order_id: "c".into(),
            status,
            filled_quantity: filled,
            remaining_quantity: dec!(10) - filled,
            average_fill_price: None,
            reject_reason: None,
            broker_status: String::new(),
        }
    }

    #[test]
    fn progress_is_monotonic_and_duplicates_are_dropped() {
        let mut t = Tracker::default();
        assert!(t.advance(&result("a", OrderStatus::Accepted, dec!(0))));
        assert!(!t.advance(&result("a", OrderStatus::Accepted, dec!(0))));
        assert!(t.advance(&result("a", OrderStatus::PartiallyFilled, dec!(4))));
        assert!(t.advance(&result("a", OrderStatus::Filled, dec!(10))));
        // A late partial fill (reordered) is not news.
        assert!(!t.advance(&result("a", OrderStatus::PartiallyFilled, dec!(4))));
        assert!(t.advance(&result("b", OrderStatus::PendingCancel, dec!(0))));
        assert_eq!(
            t.open_orders().into_iter().collect::<Vec<_>>(),
            vec!["b".to_string()]
        );
    }

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
