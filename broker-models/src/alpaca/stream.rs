//! The `trade_updates` WebSocket at `/stream` (reference §2.12a): silent
//! until the client authenticates, `authorization` and `listening` replies,
//! then one `trade_updates` message per order event, as binary frames as on
//! paper. Stream faults (disconnect, duplicate, reorder) apply per connection.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value};

use super::{orders, wire};
use crate::brokerage::{BrokerEvent, BrokerEventKind};
use crate::face::Shared;
use crate::stream::{reshape, POLL};

pub async fn upgrade(State(s): State<Shared>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(s, socket))
}

fn frame(v: Value) -> Message {
    Message::Binary(v.to_string().into_bytes().into())
}

async fn next_json(socket: &mut WebSocket) -> Option<Value> {
    loop {
        match socket.recv().await? {
            Ok(Message::Text(t)) => {
                return serde_json::from_str(t.as_str()).ok().or(Some(Value::Null))
            }
            Ok(Message::Binary(b)) => return serde_json::from_slice(&b).ok().or(Some(Value::Null)),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

fn authorization(status: &str, action: &str) -> Value {
    json!({ "stream": "authorization", "data": { "status": status, "action": action } })
}

async fn session(s: Shared, mut socket: WebSocket) {
    // 1–3: authenticate first; anything else is answered unauthorized.
    let account = loop {
        let Some(msg) = next_json(&mut socket).await else {
            return;
        };
        let action = msg["action"].as_str().unwrap_or_default().to_string();
        if action == "authenticate" || action == "auth" {
            let data = if action == "auth" { &msg } else { &msg["data"] };
            let key = data["key_id"]
                .as_str()
                .or(data["key"].as_str())
                .unwrap_or_default();
            let secret = data["secret_key"]
                .as_str()
                .or(data["secret"].as_str())
                .unwrap_or_default();
            let account = {
                let b = s.lock();
                let c = b.credentials();
                (c.matches("key_id", key) && c.matches("secret_key", secret))
                    .then(|| b.account_numbers().into_iter().next())
                    .flatten()
            };
            match account {
                Some(a) => {
                    if socket
                        .send(frame(authorization("authorized", "authenticate")))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    break a;
                }
                None => {
                    let _ = socket
                        .send(frame(authorization("unauthorized", "authenticate")))
                        .await;
                    return;
                }
            }
        }
        if socket
            .send(frame(authorization("unauthorized", &action)))
            .await
            .is_err()
        {
            return;
        }
    };
    // 4–5: listen; the list replaces the subscription.
    let mut listening = false;
    let (mut cursor, faults) = {
        let mut b = s.lock();
        b.sync();
        (b.events_since(0).len() as u64, b.stream_faults())
    };
    let mut sent = 0u32;
    let mut held: Option<Value> = None;
    loop {
        tokio::select! {
            biased;
            msg = next_json(&mut socket) => {
                let Some(msg) = msg else { return };
                if msg["action"] == "listen" {
                    let streams = msg["data"]["streams"].as_array().cloned().unwrap_or_default();
                    listening = streams.iter().any(|v| v == "trade_updates");
                    if socket.send(frame(json!({ "stream": "listening", "data": { "streams": streams } }))).await.is_err() {
                        return;
                    }
                }
            }
            _ = tokio::time::sleep(POLL) => {
                let updates = {
                    let mut b = s.lock();
                    b.sync();
                    let events = b.events_since(cursor).to_vec();
                    cursor += events.len() as u64;
                    events
                        .iter()
                        .filter(|e| e.account == account)
                        .filter_map(|e| trade_update(&b, e))
                        .collect::<Vec<_>>()
                };
                if !listening {
                    continue;
                }
                for out in reshape(&faults, &mut held, updates) {
                    if socket.send(frame(out)).await.is_err() {
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

/// The `trade_updates` message for one broker event, or None for events
/// Alpaca does not publish.
fn trade_update(b: &crate::brokerage::SimBrokerage, e: &BrokerEvent) -> Option<Value> {
    let order = b.order(&e.vendor_id)?;
    let mut o = orders::to_wire(b, order);
    // The order as it stood at this event, not as it stands now.
    o.status = b.profile().vendor_status(e.state.status).to_string();
    o.filled_qty = wire::dec(e.state.filled_quantity);
    o.filled_avg_price = e.state.average_fill_price.map(wire::dec);
    let mut data = json!({ "timestamp": wire::time(e.time) });
    let event = match &e.kind {
        BrokerEventKind::New => "new",
        BrokerEventKind::Fill {
            quantity,
            price,
            position_quantity,
            ..
        } => {
            data["qty"] = json!(wire::dec(*quantity));
            data["price"] = json!(wire::dec(*price));
            data["position_qty"] = json!(wire::dec(*position_quantity));
            data["execution_id"] = json!(wire::uuid_from(&[
                "execution",
                &e.vendor_id,
                &e.seq.to_string()
            ]));
            if e.state.status == mbt::OrderStatus::Filled {
                "fill"
            } else {
                "partial_fill"
            }
        }
        BrokerEventKind::Canceled => "canceled",
        BrokerEventKind::Expired => "expired",
        BrokerEventKind::Replaced { .. } => "replaced",
        BrokerEventKind::Rejected { .. } => "rejected",
    };
    data["event"] = json!(event);
    data["order"] = serde_json::to_value(o).ok()?;
    Some(json!({ "stream": "trade_updates", "data": data }))
}
