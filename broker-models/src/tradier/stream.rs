//! Account events (reference §2.9): a REST call creates a session, the
//! client opens `/v1/accounts/events` and sends `{"events":["order"],"sessionid":…}`;
//! the server pushes one JSON text frame per order status change and a
//! heartbeat about once a minute (simulated time).

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::errors::TradierError;
use super::wire::{num, time};
use super::{bearer, orders};
use crate::brokerage::{BrokerEvent, SimBrokerage};
use crate::face::Shared;
use crate::stream::{reshape, POLL};

const HEARTBEAT: Duration = Duration::from_secs(60);

/// `POST /v1/accounts/events/session` → `{"stream":{"url","sessionid"}}`.
pub async fn create_session(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let b = s.lock();
    let token = bearer(&headers).unwrap_or_default();
    if let Err(problem) = b.authenticate(token) {
        return TradierError::token(problem).into_response();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let now = b.now().to_string();
    let session = crate::ids::stable_uuid(&["tradier-session", &now]);
    Json(json!({ "stream": { "url": format!("ws://{host}/v1/accounts/events"), "sessionid": session } })).into_response()
}

pub async fn upgrade(State(s): State<Shared>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(s, socket))
}

fn order_event(b: &SimBrokerage, e: &BrokerEvent) -> Option<Value> {
    let o = b.order(&e.vendor_id)?;
    let full = orders::to_json(b, o, true);
    let remaining = if e.state.status.is_terminal() {
        rust_decimal::Decimal::ZERO
    } else {
        o.request.quantity - e.state.filled_quantity
    };
    let mut v = json!({
        "id": full["id"],
        "event": "order",
        "status": b.profile().vendor_status(e.state.status),
        "type": full["type"],
        "price": full.get("price").cloned().unwrap_or(num(rust_decimal::Decimal::ZERO)),
        "stop_price": full.get("stop_price").cloned().unwrap_or(num(rust_decimal::Decimal::ZERO)),
        "avg_fill_price": num(e.state.average_fill_price.unwrap_or_default()),
        // Sources disagree on the name (§2.9): both are sent.
        "exec_quantity": num(e.state.filled_quantity),
        "executed_quantity": num(e.state.filled_quantity),
        "last_fill_quantity": full["last_fill_quantity"],
        "remaining_quantity": num(remaining),
        "transaction_date": time(e.time),
        "create_date": full["create_date"],
        "account": e.account,
    });
    if let Some(tag) = full.get("tag") {
        v["tag"] = tag.clone();
    }
    Some(v)
}

async fn session(s: Shared, mut socket: WebSocket) {
    // The first message subscribes; until then nothing is sent.
    let subscribed = loop {
        match socket.recv().await {
            Some(Ok(Message::Text(t))) => {
                let msg: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                let events = msg["events"].as_array().cloned().unwrap_or_default();
                break events.iter().any(|e| e == "order" || e == "orders");
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            _ => return,
        }
    };
    let (mut cursor, faults) = {
        let mut b = s.lock();
        b.sync();
        (b.events_since(0).len() as u64, b.stream_faults())
    };
    let mut sent = 0u32;
    let mut held = None;
    let mut since_heartbeat = Duration::ZERO;
    loop {
        tokio::select! {
            biased;
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                _ => {}
            },
            _ = tokio::time::sleep(POLL) => {
                since_heartbeat += POLL;
                let (updates, now) = {
                    let mut b = s.lock();
                    b.sync();
                    let events = b.events_since(cursor).to_vec();
                    cursor += events.len() as u64;
                    let updates: Vec<Value> = events.iter().filter_map(|e| order_event(&b, e)).collect();
                    (updates, b.now())
                };
                let mut out = Vec::new();
                if since_heartbeat >= HEARTBEAT {
                    since_heartbeat = Duration::ZERO;
                    out.push(json!({ "event": "heartbeat", "status": "active", "timestamp": now.to_string() }));
                }
                if subscribed {
                    out.extend(reshape(&faults, &mut held, updates));
                }
                for v in out {
                    if socket.send(Message::Text(v.to_string().into())).await.is_err() {
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
