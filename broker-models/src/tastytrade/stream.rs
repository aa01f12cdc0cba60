//! The account streamer (reference §2.11, §8.10): a plain websocket at the
//! streamer host's root, no auth on the upgrade. The client sends JSON
//! messages `{"action","value","auth-token","request-id"}`; every message
//! is acknowledged with its `request-id` and the connection's
//! `web-socket-session-id` (the Python SDK waits up to 10 s for it and
//! tears down on `status: error`; the TypeScript SDK re-arms its heartbeat
//! only on a heartbeat ack). After `connect` with a live access token and
//! the user's accounts, every order change is pushed as a full `Order`
//! object, a fill followed by the `CurrentPosition` and the `AccountBalance`,
//! a complex order's member by its `ComplexOrder` too. Websocket pings are
//! answered while the socket is read.
//!
//! Not simulated: watchlists, quote alerts and user messages have nothing
//! to publish in the model, so their subscriptions are acknowledged and
//! stay quiet; a session outliving its access token is not dropped (§2.11
//! only says to reconnect if the server drops it).

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

use mbt::Instrument;

use super::accounts;
use super::complex;
use super::num::epoch_ms;
use super::orders;
use super::wire::{StreamAck, StreamNotice};
use crate::brokerage::{BrokerEvent, BrokerEventKind, SimBrokerage};
use crate::face::Shared;
use crate::faults::StreamFaults;
use crate::stream::{reshape, POLL};

pub async fn upgrade(State(s): State<Shared>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| run(s, socket))
}

/// A client message; anything unreadable has no action.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ClientMessage {
    action: Option<String>,
    value: Option<Value>,
    auth_token: Option<String>,
    request_id: Option<Value>,
}

/// What one connection follows once connected.
struct Follow {
    accounts: Vec<String>,
    cursor: u64,
    faults: StreamFaults,
    held: Option<Value>,
    sent: u32,
}

struct Connection {
    session_id: String,
    follow: Option<Follow>,
}

/// The accounts a `connect` names: a list, or (the TypeScript SDK, one
/// account) a bare string.
fn accounts_of(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn text(body: &impl serde::Serialize) -> Option<String> {
    serde_json::to_string(body).ok()
}

fn ack(c: &Connection, m: &ClientMessage, value: Option<Value>) -> Option<String> {
    text(&StreamAck {
        status: "ok",
        action: m.action.clone().unwrap_or_default(),
        web_socket_session_id: c.session_id.clone(),
        value,
        message: None,
        request_id: m.request_id.clone().unwrap_or(Value::Null),
    })
}

fn refusal(c: &Connection, m: &ClientMessage, message: &'static str) -> Option<String> {
    text(&StreamAck {
        status: "error",
        action: m.action.clone().unwrap_or_default(),
        web_socket_session_id: c.session_id.clone(),
        value: None,
        message: Some(message),
        request_id: m.request_id.clone().unwrap_or(Value::Null),
    })
}

/// The answer to one client message, starting to follow the accounts on `connect`.
fn answer(s: &Shared, c: &mut Connection, raw: &str) -> Option<String> {
    let m: ClientMessage = serde_json::from_str(raw).unwrap_or_default();
    match m.action.as_deref() {
        Some("connect") => {
            let mut b = s.lock();
            let token = m
                .auth_token
                .as_deref()
                .map(|t| t.strip_prefix("Bearer ").unwrap_or(t))
                .unwrap_or_default();
            // The messages of these refusals are the model's (§2.11 records
            // only `connect-not-completed`).
            if b.authenticate(token).is_err() {
                return refusal(c, &m, "invalid-auth-token");
            }
            let wanted = accounts_of(m.value.as_ref());
            let owned = b.account_numbers();
            if wanted.is_empty() || wanted.iter().any(|a| !owned.contains(a)) {
                return refusal(c, &m, "not-permitted");
            }
            b.sync();
            let cursor = b.next_event_seq();
            c.follow = Some(Follow {
                accounts: wanted.clone(),
                cursor,
                faults: b.stream_faults(),
                held: None,
                sent: 0,
            });
            ack(c, &m, Some(Value::from(wanted)))
        }
        Some("heartbeat") => ack(c, &m, None),
        Some(
            "public-watchlists-subscribe" | "quote-alerts-subscribe" | "user-message-subscribe",
        ) if c.follow.is_none() => refusal(c, &m, "connect-not-completed"),
        Some(
            "public-watchlists-subscribe" | "quote-alerts-subscribe" | "user-message-subscribe",
        ) => ack(c, &m, m.value.clone()),
        _ => refusal(c, &m, "invalid-action"),
    }
}

/// A frame's text, carried through the shared fault reshaping (which moves
/// `Value`s) as a string, so its numbers keep their digits.
fn frame<T: serde::Serialize>(kind: &'static str, data: T, at: mbt::Timestamp) -> Option<Value> {
    text(&StreamNotice {
        kind,
        data,
        timestamp: epoch_ms(at),
    })
    .map(Value::String)
}

/// The notifications one broker event makes.
fn notices(b: &SimBrokerage, e: &BrokerEvent) -> Vec<Value> {
    let Some(o) = b.order(&e.vendor_id) else {
        return Vec::new();
    };
    let mut out: Vec<Value> = frame("Order", orders::render_at(b, o, &e.state), e.time)
        .into_iter()
        .collect();
    if let Some(lead) = orders::leader(o) {
        out.extend(
            complex::render(b, &e.account, lead).and_then(|c| frame("ComplexOrder", c, e.time)),
        );
    }
    if let BrokerEventKind::Fill { instrument, .. } = &e.kind {
        out.extend(position_notice(b, &e.account, instrument, e.time));
        if let Some(v) = b.account(&e.account) {
            out.extend(frame("AccountBalance", accounts::balance(b, &v), e.time));
        }
    }
    out
}

/// The position a fill left, as it stands now (a closed one reads `Zero`).
fn position_notice(
    b: &SimBrokerage,
    account: &str,
    instrument: &Instrument,
    at: mbt::Timestamp,
) -> Option<Value> {
    let v = b.account(account)?;
    let p = v
        .positions
        .iter()
        .find(|p| &p.instrument == instrument)
        .cloned()
        .unwrap_or(mbt::engine::PositionView {
            instrument: instrument.clone(),
            quantity: rust_decimal::Decimal::ZERO,
            average_price: rust_decimal::Decimal::ZERO,
            cost_basis: rust_decimal::Decimal::ZERO,
            mark: None,
            market_value: rust_decimal::Decimal::ZERO,
            unrealized_pnl: rust_decimal::Decimal::ZERO,
        });
    frame("CurrentPosition", accounts::position(b, account, &p), at)
}

/// What one poll sends: the notifications of the events since the last.
fn poll(s: &Shared, f: &mut Follow) -> Vec<Value> {
    let mut b = s.lock();
    b.sync();
    let events = b.events_since(f.cursor).cloned().collect::<Vec<_>>();
    f.cursor = b.next_event_seq();
    let updates: Vec<Value> = events
        .iter()
        .filter(|e| f.accounts.contains(&e.account))
        .flat_map(|e| notices(&b, e))
        .collect();
    reshape(&f.faults, &mut f.held, updates)
}

fn frame_text(v: Value) -> String {
    match v {
        Value::String(text) => text,
        other => other.to_string(),
    }
}

async fn run(s: Shared, mut socket: WebSocket) {
    let now = s.lock().now();
    let mut c = Connection {
        // A short hex label, as tastytrade's (§6); derived from the moment.
        session_id: crate::ids::stable_uuid(&["tastytrade/ws", &now.nanos().to_string()])
            .chars()
            .filter(char::is_ascii_hexdigit)
            .take(8)
            .collect(),
        follow: None,
    };
    loop {
        tokio::select! {
            biased;
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(t))) => {
                    if let Some(reply) = answer(&s, &mut c, t.as_str()) {
                        if socket.send(Message::Text(reply.into())).await.is_err() {
                            return;
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                // Pings are answered by the socket itself while it is read.
                Some(Ok(_)) => {}
            },
            _ = tokio::time::sleep(POLL), if c.follow.is_some() => {
                let Some(f) = c.follow.as_mut() else { continue };
                for v in poll(&s, f) {
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
