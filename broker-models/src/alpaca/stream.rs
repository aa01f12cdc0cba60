//! The `trade_updates` WebSocket at `/stream` (and `/stream/`, the legacy
//! SDK's spelling, §1.4), reference §2.12a: silent until the client
//! authenticates, `authorization` and `listening` replies, then one
//! `trade_updates` message per order event, as binary frames as on paper.
//! A failed authentication is answered `unauthorized`, then the socket is
//! closed with a close frame, so the client reads an auth failure rather
//! than a dropped connection. Stream faults (disconnect, duplicate,
//! reorder) apply per connection.

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;
use serde_json::Value;

use super::auth::account_for;
use super::orders::to_wire;
use super::state::{FaceState, Tables};
use super::wire::{self, Authorization, Listening, StreamMessage, TradeUpdate};
use crate::brokerage::{BrokerEvent, BrokerEventKind, SimBrokerage};
use crate::face::Shared;
use crate::stream::{reshape, POLL};

pub async fn upgrade(
    State(s): State<Shared>,
    Extension(face): Extension<FaceState>,
    ws: WebSocketUpgrade,
) -> Response {
    ws.on_upgrade(move |socket| session(s, face, socket))
}

/// A client message: `{"action": …, "data": {…}}`, or the third-party
/// `{"action":"auth","key":…,"secret":…}` form (§2.12a, accepting it is harmless).
#[derive(Debug, Default, Deserialize)]
struct ClientMessage {
    #[serde(default)]
    action: String,
    #[serde(default)]
    data: ClientData,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    secret: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ClientData {
    #[serde(default)]
    key_id: Option<String>,
    #[serde(default)]
    secret_key: Option<String>,
    #[serde(default)]
    streams: Vec<String>,
}

fn frame<T: serde::Serialize>(message: &T) -> Message {
    let text = serde_json::to_vec(message).unwrap_or_default();
    Message::Binary(text.into())
}

fn authorization(status: &'static str, action: &str) -> Message {
    frame(&StreamMessage {
        stream: "authorization",
        data: Authorization {
            status,
            action: action.to_string(),
        },
    })
}

/// The next client message (text or binary; anything unreadable counts as
/// an empty one), or None once the client is gone.
async fn next_message(socket: &mut WebSocket) -> Option<ClientMessage> {
    loop {
        let bytes = match socket.recv().await? {
            Ok(Message::Text(t)) => t.as_str().as_bytes().to_vec(),
            Ok(Message::Binary(b)) => b.to_vec(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        };
        return Some(serde_json::from_slice(&bytes).unwrap_or_default());
    }
}

/// Steps 1–3: the account the client authenticates as, or None when it
/// left or failed (then it has been told, and the socket closed).
async fn authenticate(s: &Shared, socket: &mut WebSocket) -> Option<String> {
    loop {
        let msg = next_message(socket).await?;
        if msg.action != "authenticate" && msg.action != "auth" {
            socket
                .send(authorization("unauthorized", &msg.action))
                .await
                .ok()?;
            continue;
        }
        let key = msg.data.key_id.or(msg.key).unwrap_or_default();
        let secret = msg.data.secret_key.or(msg.secret).unwrap_or_default();
        let account = account_for(&s.lock(), &key, &secret);
        let Some(account) = account else {
            // Close code and reason are not in the reference (§2.12a).
            let _ = socket
                .send(authorization("unauthorized", "authenticate"))
                .await;
            let _ = socket
                .send(Message::Close(Some(CloseFrame {
                    code: close_code::POLICY,
                    reason: "unauthorized".into(),
                })))
                .await;
            return None;
        };
        socket
            .send(authorization("authorized", "authenticate"))
            .await
            .ok()?;
        return Some(account);
    }
}

async fn session(s: Shared, face: FaceState, mut socket: WebSocket) {
    let Some(account) = authenticate(&s, &mut socket).await else {
        return;
    };
    // 4–5: listen; the list replaces the subscription.
    let mut listening = false;
    let (mut cursor, faults) = {
        let mut b = s.lock();
        b.sync();
        (b.next_event_seq(), b.stream_faults())
    };
    let mut sent = 0u32;
    let mut held: Option<Value> = None;
    loop {
        tokio::select! {
            biased;
            msg = next_message(&mut socket) => {
                let Some(msg) = msg else { return };
                if msg.action == "listen" {
                    listening = msg.data.streams.iter().any(|s| s == "trade_updates");
                    let reply = StreamMessage { stream: "listening", data: Listening { streams: msg.data.streams } };
                    if socket.send(frame(&reply)).await.is_err() {
                        return;
                    }
                }
            }
            _ = s.sleep(POLL) => {
                let updates = {
                    let mut b = s.lock();
                    b.sync();
                    let t = face.tables(&b);
                    let events = b.events_since(cursor);
                    cursor = b.next_event_seq();
                    events
                        .filter(|e| e.account == account)
                        .filter_map(|e| trade_update(&b, &t, e))
                        .collect::<Vec<_>>()
                };
                if !listening {
                    continue;
                }
                for out in reshape(&faults, &mut held, updates) {
                    if socket.send(Message::Binary(out.to_string().into_bytes().into())).await.is_err() {
                        return;
                    }
                    sent += 1;
                    if faults.disconnect_after.is_some_and(|n| sent >= n) {
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                }
            }
        }
    }
}

fn event_word(e: &BrokerEvent) -> &'static str {
    match &e.kind {
        BrokerEventKind::New => "new",
        BrokerEventKind::Fill { .. } if e.state.status == mbt::OrderStatus::Filled => "fill",
        BrokerEventKind::Fill { .. } => "partial_fill",
        BrokerEventKind::Canceled => "canceled",
        BrokerEventKind::Expired => "expired",
        BrokerEventKind::Replaced { .. } => "replaced",
        BrokerEventKind::Rejected { .. } => "rejected",
    }
}

/// The `trade_updates` message for one broker event, as JSON for the
/// stream-fault reshaper; None for an event of an order the book lost.
fn trade_update(b: &SimBrokerage, t: &Tables, e: &BrokerEvent) -> Option<Value> {
    let mut order = to_wire(b, t, b.order(&e.vendor_id)?);
    // The order as it stood at this event, not as it stands now.
    order.status = b.profile().vendor_status(e.state.status).to_string();
    order.filled_qty = wire::dec(e.state.filled_quantity);
    order.filled_avg_price = e.state.average_fill_price.map(wire::dec);
    if let Some(trail) = e.state.trailing {
        order.stop_price = Some(wire::dec(trail.stop_price));
        order.hwm = Some(wire::dec(trail.hwm));
    }
    let mut update = TradeUpdate {
        event: event_word(e),
        timestamp: wire::time(e.time),
        qty: None,
        price: None,
        position_qty: None,
        execution_id: None,
        order,
    };
    if let BrokerEventKind::Fill {
        quantity,
        price,
        position_quantity,
        ..
    } = &e.kind
    {
        update.qty = Some(wire::dec(*quantity));
        update.price = Some(wire::dec(*price));
        update.position_qty = Some(wire::dec(*position_quantity));
        update.execution_id = Some(wire::uuid_from(&[
            "execution",
            &e.vendor_id,
            &e.seq.to_string(),
        ]));
    }
    serde_json::to_value(StreamMessage {
        stream: "trade_updates",
        data: update,
    })
    .ok()
}
