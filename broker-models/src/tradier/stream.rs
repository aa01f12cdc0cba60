//! Account events (reference §1.2, §2.9). The WebSocket is not
//! authenticated by header: an authenticated `POST /v1/accounts/events/session`
//! creates a session, and the client sends its id in the subscription
//! payload `{"events":["order"],"sessionid":…,"excludeAccounts":[…]}`. A
//! session can start a stream for 5 minutes after it is created, and only
//! the newest session counts ("it is not permitted to open more than one
//! session at a time"). A payload with any other id is answered with an
//! error payload and subscribes to nothing; re-sending a payload with a
//! good id adjusts the subscription without reconnecting. A newer session
//! does not end a stream already open (the reference, §2.9, does not say
//! that it does; the error payload's text and that the socket stays open
//! are not recorded either: QuantConnect's integration met "session not
//! found", and the docs say to resend the payload with a new id). Once subscribed
//! the server pushes one JSON text frame per order change and a heartbeat
//! about once a minute (simulated time).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;
use serde_json::Value;

use mbt::{OrderStatus, Timestamp};

use super::auth::TradierAuth;
use super::format::Format;
use super::orders::{self, chain, numeric_id};
use super::wire::{self, Heartbeat, Number, OrderEvent, SessionDoc, StreamError, StreamSession};
use crate::brokerage::{BrokerEvent, BrokerEventKind, SimBrokerage};
use crate::face::Shared;
use crate::stream::{reshape, POLL};

const HEARTBEAT: Duration = Duration::from_secs(60);
/// How long a new session can start a stream (§2.9).
const SESSION_MS: i64 = 5 * 60 * 1000;
/// Tradier's own stream URL: what it answers, and what the face answers
/// when it cannot tell where it is served.
const TRADIER_STREAM: &str = "wss://ws.tradier.com/v1/accounts/events";

/// The authority (`host:port`) a model is served at, as whoever serves it
/// bound it: the stream URL a session points to. Without it the face falls
/// back to the request's `Host`, which the client chose.
#[derive(Debug, Clone)]
pub struct ServedAt(pub String);

/// The account-stream session of one served model. The face's router is
/// built once per model, so the store is per model, as the brokerage is.
#[derive(Debug, Clone, Default)]
pub struct Sessions(Arc<Mutex<SessionStore>>);

#[derive(Debug, Default)]
struct SessionStore {
    /// The newest session: its id and when it was created.
    current: Option<(String, Timestamp)>,
    issued: u64,
}

impl Sessions {
    fn store(&self) -> std::sync::MutexGuard<'_, SessionStore> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new session, replacing any earlier one.
    fn create(&self, now: Timestamp) -> String {
        let mut store = self.store();
        store.forget_if_reset(now);
        store.issued += 1;
        let id = crate::ids::stable_uuid(&["tradier-session", &store.issued.to_string()]);
        store.current = Some((id.clone(), now));
        id
    }

    /// Whether `id` can start or adjust a stream at `now`.
    fn valid(&self, id: &str, now: Timestamp) -> bool {
        let mut store = self.store();
        store.forget_if_reset(now);
        store.current.as_ref().is_some_and(|(current, created)| {
            current == id && now.millis() < created.millis().saturating_add(SESSION_MS)
        })
    }
}

impl SessionStore {
    /// The model was reset (its clock is back before the session was
    /// made): it starts over with no sessions, as a fresh model does.
    fn forget_if_reset(&mut self, now: Timestamp) {
        if self
            .current
            .as_ref()
            .is_some_and(|(_, created)| *created > now)
        {
            *self = Self::default();
        }
    }
}

/// Where the stream is, in the form `ws://host:port/v1/accounts/events`.
fn stream_url(served_at: Option<&ServedAt>, headers: &HeaderMap) -> String {
    let host = served_at.map(|s| s.0.clone()).or_else(|| {
        headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
            .map(|a| a.to_string())
    });
    match host {
        Some(authority) => format!("ws://{authority}/v1/accounts/events"),
        None => TRADIER_STREAM.to_string(),
    }
}

/// `POST /v1/accounts/events/session` → `{"stream":{"url","sessionid"}}`.
pub async fn create_session(
    _: TradierAuth,
    format: Format,
    State(s): State<Shared>,
    Extension(sessions): Extension<Sessions>,
    served_at: Option<Extension<ServedAt>>,
    headers: HeaderMap,
) -> Response {
    let now = s.lock().now();
    let doc = SessionDoc {
        stream: StreamSession {
            url: stream_url(served_at.as_deref(), &headers),
            sessionid: sessions.create(now),
        },
    };
    format.answer(Ok(doc))
}

pub async fn upgrade(
    State(s): State<Shared>,
    Extension(sessions): Extension<Sessions>,
    ws: WebSocketUpgrade,
) -> Response {
    ws.on_upgrade(move |socket| run(s, sessions, socket))
}

/// The subscription payload; anything unreadable has no session.
#[derive(Deserialize, Default)]
struct Payload {
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    sessionid: String,
    #[serde(default, rename = "excludeAccounts")]
    exclude_accounts: Vec<String>,
}

/// What one connection listens to.
struct Subscription {
    orders: bool,
    excluded: Vec<String>,
}

/// Per connection: where it is in the broker's events, and what it knows
/// of each order (its last fill), since it subscribed.
struct Follow {
    cursor: u64,
    last_fill: BTreeMap<String, rust_decimal::Decimal>,
    faults: crate::faults::StreamFaults,
    held: Option<Value>,
    sent: u32,
    since_heartbeat: Duration,
}

impl Follow {
    fn start(b: &mut SimBrokerage) -> Self {
        b.sync();
        let mut last_fill = BTreeMap::new();
        for e in b.events_since(0) {
            last_fill_after(&mut last_fill, e);
        }
        Self {
            cursor: b.next_event_seq(),
            last_fill,
            faults: b.stream_faults(),
            held: None,
            sent: 0,
            since_heartbeat: Duration::ZERO,
        }
    }
}

/// An order's last fill quantity as of `e`, noting `e`'s own. An order
/// that ended for good is dropped from the table, so that a long-lived
/// connection's memory follows the orders still working (a modify that
/// keeps its id goes on under it, so a replaced one stays).
fn last_fill_after(
    last_fill: &mut BTreeMap<String, rust_decimal::Decimal>,
    e: &BrokerEvent,
) -> rust_decimal::Decimal {
    if let BrokerEventKind::Fill { quantity, .. } = &e.kind {
        last_fill.insert(e.vendor_id.clone(), *quantity);
    }
    let ended = e.state.status.is_terminal() && e.state.status != OrderStatus::Replaced;
    let last = if ended {
        last_fill.remove(&e.vendor_id)
    } else {
        last_fill.get(&e.vendor_id).copied()
    };
    last.unwrap_or_default()
}

/// Reads a client message: the new subscription, or the error payload to send.
fn subscribe(text: &str, sessions: &Sessions, now: Timestamp) -> Result<Subscription, String> {
    let p: Payload = serde_json::from_str(text).unwrap_or_default();
    if !sessions.valid(&p.sessionid, now) {
        // QuantConnect's Tradier integration met this text for a stale session.
        return Err(error_frame("session not found"));
    }
    Ok(Subscription {
        // tradier-api-client sends the plural (§2.9): both are taken.
        orders: p.events.iter().any(|e| e == "order" || e == "orders"),
        excluded: p.exclude_accounts,
    })
}

fn error_frame(error: &'static str) -> String {
    serde_json::to_string(&StreamError { error }).unwrap_or_default()
}

/// A frame's text, carried through the shared fault reshaping (which moves
/// `Value`s) as a string, so its numbers keep their digits.
fn frame(body: &impl serde::Serialize) -> Option<Value> {
    serde_json::to_string(body).ok().map(Value::String)
}

fn frame_text(v: Value) -> String {
    match v {
        Value::String(text) => text,
        other => other.to_string(),
    }
}

/// The `order` event for a broker event, with the order's whole life as it
/// stood then (a modified order's earlier fills included).
fn order_event(
    b: &SimBrokerage,
    e: &BrokerEvent,
    last_fill: rust_decimal::Decimal,
) -> Option<OrderEvent> {
    let o = b.order(&e.vendor_id)?;
    let links = chain(b.engine(), o);
    // Each later `new` event of this order is a later link of its chain.
    let later = b
        .events_since(e.seq.saturating_add(1))
        .filter(|x| x.vendor_id == e.vendor_id && x.kind == BrokerEventKind::New)
        .count();
    let link = links.len().saturating_sub(1).saturating_sub(later);
    let life = orders::life(&links, o, link, &e.state);
    let r = &o.request;
    Some(OrderEvent {
        id: numeric_id(&o.vendor_id),
        event: "order",
        status: b.profile().vendor_status(life.status).to_string(),
        kind: orders::type_word(r),
        price: Number(r.limit_price.unwrap_or_default()),
        stop_price: Number(r.stop_price.unwrap_or_default()),
        avg_fill_price: Number(life.average.unwrap_or_default()),
        exec_quantity: Number(life.filled),
        executed_quantity: Number(life.filled),
        last_fill_quantity: Number(last_fill),
        remaining_quantity: Number(life.remaining()),
        transaction_date: wire::time(e.time),
        create_date: wire::time(o.submitted_at),
        account: e.account.clone(),
        tag: (!o.client_order_id.is_empty()).then(|| o.client_order_id.clone()),
    })
}

/// What one poll sends: a heartbeat when due, then the order updates.
fn poll(s: &Shared, f: &mut Follow, sub: &Subscription) -> Vec<Value> {
    let mut b = s.lock();
    b.sync();
    let events = b.events_since(f.cursor).cloned().collect::<Vec<_>>();
    f.cursor = b.next_event_seq();
    let mut updates = Vec::new();
    for e in &events {
        let last = last_fill_after(&mut f.last_fill, e);
        if !sub.orders || sub.excluded.contains(&e.account) {
            continue;
        }
        updates.extend(order_event(&b, e, last).as_ref().and_then(frame));
    }
    let mut out = Vec::new();
    f.since_heartbeat += POLL;
    if f.since_heartbeat >= HEARTBEAT {
        f.since_heartbeat = Duration::ZERO;
        let beat = Heartbeat {
            event: "heartbeat",
            status: "active",
            timestamp: wire::time_nanos(b.now()),
        };
        out.extend(frame(&beat));
    }
    out.extend(reshape(&f.faults, &mut f.held, updates));
    out
}

async fn run(s: Shared, sessions: Sessions, mut socket: WebSocket) {
    let mut following: Option<(Follow, Subscription)> = None;
    loop {
        tokio::select! {
            biased;
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let now = s.lock().now();
                    match subscribe(t.as_str(), &sessions, now) {
                        Ok(sub) => {
                            let follow = match following.take() {
                                Some((f, _)) => f,
                                None => Follow::start(&mut s.lock()),
                            };
                            following = Some((follow, sub));
                        }
                        Err(frame) => {
                            if socket.send(Message::Text(frame.into())).await.is_err() {
                                return;
                            }
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = s.sleep(POLL), if following.is_some() => {
                let Some((f, sub)) = following.as_mut() else { continue };
                for v in poll(&s, f, sub) {
                    if socket.send(Message::Text(frame_text(v).into())).await.is_err() {
                        return;
                    }
                    f.sent += 1;
                    if f.faults.disconnect_after.is_some_and(|n| f.sent >= n) {
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                }
            }
        }
    }
}
