//! The streamer's account activity (reference §2.9, §8.11). Its URL comes
//! from `GET /userPreference`; every client message is `{"requests":[…]}`;
//! `ADMIN LOGIN` with the raw access token (no `Bearer`) must succeed
//! before anything else (else code 20), one logged-in connection per user
//! (a second is refused with code 12). `ACCT_ACTIVITY` takes `SUBS` and
//! `UNSUBS` only; each subscription starts with a `SUBSCRIBED` message of
//! seq 0, then one message per order event, whose field `"3"` is a JSON
//! document inside a string, with quantities and prices packed as
//! `{"lo", "signScale"}`. Every request is answered once with its
//! `requestid`, `service` and `command` (schwab-py insists), never a
//! response nobody asked for; heartbeats are `notify` frames.
//!
//! There is no order snapshot on this stream (§3): clients read orders for
//! their state. What each broker event is called here follows the observed
//! sequences (§2.9); the names for a partial fill, an expiry and a
//! rejection after acceptance are not recorded and are marked where chosen.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use mbt::Timestamp;

use super::wire::stream_time;
use crate::brokerage::{BrokerEvent, BrokerEventKind, BrokerOrder, SimBrokerage};
use crate::face::Shared;
use crate::faults::StreamFaults;
use crate::stream::{reshape, POLL};

/// Heartbeat interval (UNVERIFIED in the reference).
const HEARTBEAT: Duration = Duration::from_secs(10);
/// A logged-in connection with nothing subscribed is closed after this (§2.9, code 30).
const IDLE: Duration = Duration::from_secs(30);

const SUCCESS: u32 = 0;
const LOGIN_DENIED: u32 = 3;
const SERVICE_NOT_AVAILABLE: u32 = 11;
const CLOSE_CONNECTION: u32 = 12;
const STREAM_CONN_NOT_FOUND: u32 = 20;
const BAD_COMMAND_FORMAT: u32 = 21;
const FAILED_COMMAND_ADD: u32 = 24;
const STOP_STREAMING: u32 = 30;

/// The customer and correlation ids `userPreference` gives and the
/// streamer expects back: derived from the app key, never drawn.
pub fn streamer_ids(b: &SimBrokerage) -> (String, String) {
    let app = b.credentials().get("app_key").unwrap_or_default();
    let digest = Sha256::digest(format!("schwab-customer\0{app}").as_bytes());
    let customer = digest.iter().map(|x| format!("{x:02x}")).collect();
    (customer, crate::ids::stable_uuid(&["schwab-correl", app]))
}

/// How many connections of the model are logged in (one per user, §2.9).
#[derive(Debug, Clone, Default)]
pub struct Logins(Arc<Mutex<u32>>);

impl Logins {
    fn count(&self) -> std::sync::MutexGuard<'_, u32> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A login slot, if none is taken.
    fn take(&self) -> Option<Slot> {
        let mut n = self.count();
        if *n > 0 {
            return None;
        }
        *n += 1;
        Some(Slot(self.clone()))
    }
}

/// A logged-in connection's slot, freed when the connection ends.
struct Slot(Logins);

impl Drop for Slot {
    fn drop(&mut self) {
        let mut n = self.0.count();
        *n = n.saturating_sub(1);
    }
}

pub async fn upgrade(
    State(s): State<Shared>,
    Extension(logins): Extension<Logins>,
    ws: WebSocketUpgrade,
) -> Response {
    ws.on_upgrade(move |socket| run(s, logins, socket))
}

// ---------------------------------------------------------------- frames in

#[derive(Debug, Deserialize)]
struct Requests {
    requests: Vec<Request>,
}

/// `requestid`: schwab-py sends a string counter, the guide shows both (§2.9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
enum RequestId {
    Text(String),
    Number(i64),
}

#[derive(Debug, Deserialize)]
struct Request {
    #[serde(default)]
    service: String,
    #[serde(default)]
    command: String,
    requestid: Option<RequestId>,
    #[serde(default)]
    parameters: Parameters,
}

#[derive(Debug, Default, Deserialize)]
struct Parameters {
    #[serde(rename = "Authorization")]
    authorization: Option<String>,
    keys: Option<String>,
}

// ---------------------------------------------------------------- frames out

#[derive(Serialize)]
struct ResponseFrame {
    response: Vec<Ack>,
}

#[derive(Serialize)]
struct Ack {
    service: String,
    command: String,
    requestid: RequestId,
    #[serde(rename = "SchwabClientCorrelId")]
    correl_id: String,
    timestamp: i64,
    content: Code,
}

#[derive(Serialize)]
struct Code {
    code: u32,
    msg: String,
}

#[derive(Serialize)]
struct NotifyFrame {
    notify: Vec<Notify>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Notify {
    Heartbeat {
        heartbeat: String,
    },
    Admin {
        service: &'static str,
        timestamp: i64,
        content: Code,
    },
}

#[derive(Serialize)]
struct DataFrame {
    data: Vec<Data>,
}

#[derive(Serialize)]
struct Data {
    service: &'static str,
    timestamp: i64,
    command: &'static str,
    content: Vec<Activity>,
}

/// One ACCT_ACTIVITY message: the subscription key, the account, the
/// message type and its data (a JSON document as a string).
#[derive(Serialize)]
struct Activity {
    seq: u64,
    key: String,
    #[serde(rename = "1")]
    account: String,
    #[serde(rename = "2")]
    message_type: &'static str,
    #[serde(rename = "3")]
    message_data: String,
}

/// A quantity or price packed as the streamer packs them: `lo / 10^6`
/// with `signScale` 12 (§2.9).
#[derive(Serialize)]
struct Packed {
    lo: String,
    #[serde(rename = "signScale")]
    sign_scale: u32,
}

fn packed(d: Decimal) -> Packed {
    let micro = d
        .abs()
        .round_dp(6)
        .saturating_mul(Decimal::from(1_000_000))
        .trunc();
    Packed {
        lo: micro.to_string(),
        sign_scale: 12,
    }
}

#[derive(Serialize)]
struct Stamp {
    #[serde(rename = "DateTimeString")]
    date_time_string: String,
}

fn stamp(t: Timestamp) -> Stamp {
    Stamp {
        date_time_string: stream_time(t),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ActivityData {
    #[serde(rename = "SchwabOrderID")]
    schwab_order_id: String,
    account_number: String,
    base_event: BaseEvent,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BaseEvent {
    event_type: &'static str,
    #[serde(flatten)]
    detail: Detail,
}

/// What each message type carries, under the key Schwab nests it in.
#[derive(Serialize)]
enum Detail {
    #[serde(rename = "OrderCreatedEventEquityOrder")]
    Created(Created),
    #[serde(rename = "OrderAcceptedEvent")]
    Accepted(Accepted),
    #[serde(rename = "OrderFillCompletedEventOrderLegQuantityInfo")]
    Fill(Fill),
    #[serde(rename = "CancelAcceptedEvent")]
    CancelAccepted(Lifecycle),
    #[serde(rename = "OrderUROutCompletedEvent")]
    Out(Out),
    #[serde(rename = "ChangeAcceptedEvent")]
    Change(Change),
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Created {
    event_type: &'static str,
    symbol: String,
    buy_sell_code: &'static str,
    order_type_code: &'static str,
    time_in_force: &'static str,
    quantity: Packed,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit_price: Option<Packed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_price: Option<Packed>,
    entry_timestamp: Stamp,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Accepted {
    event_type: &'static str,
    created_time_stamp: Stamp,
    status: &'static str,
    trading_session_code_on_order_entry: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct QuantityInfo {
    cumulative_quantity: Packed,
    leaves_quantity: Packed,
    #[serde(skip_serializing_if = "Option::is_none")]
    average_price: Option<Packed>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Execution {
    execution_quantity: Packed,
    execution_price: Packed,
    execution_time_stamp: Stamp,
    execution_trans_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Fill {
    event_type: &'static str,
    leg_id: String,
    leg_status: &'static str,
    quantity_info: QuantityInfo,
    leg_sub_status: &'static str,
    execution_info: Execution,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Lifecycle {
    event_type: &'static str,
    #[serde(rename = "LifecycleSchwabOrderID")]
    lifecycle_schwab_order_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Out {
    event_type: &'static str,
    leg_id: String,
    leg_status: &'static str,
    leg_sub_status: &'static str,
    out_cancel_type: &'static str,
    quantity_info: QuantityInfo,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Change {
    event_type: &'static str,
    #[serde(rename = "NewSchwabOrderID")]
    new_schwab_order_id: String,
}

// ---------------------------------------------------------------- events

/// The messages one broker event makes, in order.
fn messages(b: &SimBrokerage, e: &BrokerEvent) -> Vec<(&'static str, Detail)> {
    let Some(o) = b.order(&e.vendor_id) else {
        return Vec::new();
    };
    let r = &o.request;
    let filled = e.state.filled_quantity;
    let leaves = r.quantity.saturating_sub(filled);
    let quantities = |avg: Option<Decimal>| QuantityInfo {
        cumulative_quantity: packed(filled),
        leaves_quantity: packed(leaves),
        average_price: avg.map(packed),
    };
    let out = |sub: &'static str, why: &'static str| Out {
        event_type: "OrderUROutCompleted",
        leg_id: o.vendor_id.clone(),
        leg_status: "LegClosed",
        leg_sub_status: sub,
        out_cancel_type: why,
        quantity_info: quantities(e.state.average_fill_price),
    };
    match &e.kind {
        BrokerEventKind::New => vec![
            ("OrderCreated", Detail::Created(created(o))),
            (
                "OrderAccepted",
                Detail::Accepted(Accepted {
                    event_type: "OrderAccepted",
                    created_time_stamp: stamp(o.submitted_at),
                    status: "Open",
                    trading_session_code_on_order_entry: "REG",
                }),
            ),
        ],
        BrokerEventKind::Fill {
            quantity, price, ..
        } => {
            let done = leaves.is_zero();
            // A partial fill's leg statuses are not recorded: the leg stays open.
            let fill = Fill {
                event_type: "OrderFillCompleted",
                leg_id: o.vendor_id.clone(),
                leg_status: if done { "LegClosed" } else { "LegOpen" },
                quantity_info: quantities(e.state.average_fill_price),
                leg_sub_status: if done {
                    "LegSubStatusFilled"
                } else {
                    "LegSubStatusPartialFill"
                },
                execution_info: Execution {
                    execution_quantity: packed(*quantity),
                    execution_price: packed(*price),
                    execution_time_stamp: stamp(e.time),
                    execution_trans_type: "Fill",
                },
            };
            vec![("OrderFillCompleted", Detail::Fill(fill))]
        }
        BrokerEventKind::Canceled => vec![
            (
                "CancelAccepted",
                Detail::CancelAccepted(Lifecycle {
                    event_type: "CancelAccepted",
                    lifecycle_schwab_order_id: o.vendor_id.clone(),
                }),
            ),
            (
                "OrderUROutCompleted",
                Detail::Out(out("LegSubStatusCancelled", "ClientCancel")),
            ),
        ],
        // Not recorded for expiries: an out of the system's own.
        BrokerEventKind::Expired => vec![(
            "OrderUROutCompleted",
            Detail::Out(out("LegSubStatusExpired", "SystemCancel")),
        )],
        BrokerEventKind::Rejected { .. } => vec![(
            "OrderUROutCompleted",
            Detail::Out(out("LegSubStatusRejected", "SystemReject")),
        )],
        BrokerEventKind::Replaced { replacement } => vec![(
            "ChangeAccepted",
            Detail::Change(Change {
                event_type: "ChangeAccepted",
                new_schwab_order_id: replacement.clone(),
            }),
        )],
    }
}

fn created(o: &BrokerOrder) -> Created {
    let r = &o.request;
    Created {
        event_type: "OrderCreated",
        symbol: r.instrument.to_string(),
        buy_sell_code: match r.side {
            mbt::Side::Buy => "Buy",
            mbt::Side::Sell => "Sell",
        },
        order_type_code: match r.order_type {
            mbt::OrderType::Market => "Market",
            mbt::OrderType::Limit => "Limit",
            mbt::OrderType::Stop => "Stop",
            mbt::OrderType::StopLimit => "StopLimit",
        },
        time_in_force: match r.time_in_force {
            mbt::TimeInForce::Day => "Day",
            mbt::TimeInForce::Gtc => "GoodTillCancel",
            mbt::TimeInForce::Ioc => "ImmediateOrCancel",
            mbt::TimeInForce::Fok => "FillOrKill",
        },
        quantity: packed(r.quantity),
        limit_price: r.limit_price.map(packed),
        stop_price: r.stop_price.map(packed),
        entry_timestamp: stamp(o.submitted_at),
    }
}

// ---------------------------------------------------------------- a connection

/// One subscription to ACCT_ACTIVITY: its key, where it is in the
/// broker's events, and what its faults do to the wire.
struct Following {
    key: String,
    cursor: u64,
    seq: u64,
    faults: StreamFaults,
    held: Option<serde_json::Value>,
    sent: u32,
}

/// What one connection has been told.
#[derive(Default)]
struct Connection {
    login: Option<Slot>,
    following: Option<Following>,
    /// Logged in, with nothing subscribed, this long.
    idle: Duration,
    since_heartbeat: Duration,
}

fn text(frame: &impl Serialize) -> String {
    serde_json::to_string(frame).unwrap_or_default()
}

fn ack(b: &SimBrokerage, r: &Request, code: u32, msg: impl Into<String>) -> String {
    let (_, correl) = streamer_ids(b);
    text(&ResponseFrame {
        response: vec![Ack {
            service: r.service.clone(),
            command: r.command.clone(),
            requestid: r.requestid.clone().unwrap_or(RequestId::Number(0)),
            correl_id: correl,
            timestamp: b.now().millis(),
            content: Code {
                code,
                msg: msg.into(),
            },
        }],
    })
}

/// What a request does to the connection: the answer, and whether the
/// connection ends after it.
fn answer(s: &Shared, logins: &Logins, c: &mut Connection, r: &Request) -> (String, bool) {
    let mut b = s.lock();
    let logged_in = c.login.is_some();
    match (r.service.as_str(), r.command.as_str()) {
        ("ADMIN", "LOGIN") => {
            let token = r.parameters.authorization.as_deref().unwrap_or_default();
            if b.authenticate(token).is_err() {
                let msg = "Login Denied.: token is invalid or has expired.";
                return (ack(&b, r, LOGIN_DENIED, msg), true);
            }
            if logged_in {
                return (ack(&b, r, SUCCESS, "server=raxx-sim;status=NP"), false);
            }
            match logins.take() {
                Some(slot) => {
                    c.login = Some(slot);
                    (ack(&b, r, SUCCESS, "server=raxx-sim;status=NP"), false)
                }
                None => (
                    ack(
                        &b,
                        r,
                        CLOSE_CONNECTION,
                        "Max connections reached for this user",
                    ),
                    true,
                ),
            }
        }
        _ if !logged_in => (
            ack(
                &b,
                r,
                STREAM_CONN_NOT_FOUND,
                "Login is required before any other command",
            ),
            false,
        ),
        ("ADMIN", "LOGOUT") => (ack(&b, r, SUCCESS, "LOGOUT command succeeded"), true),
        ("ACCT_ACTIVITY", "SUBS") => {
            b.sync();
            // Only the first key is used (§2.9).
            let key = r
                .parameters
                .keys
                .as_deref()
                .and_then(|k| k.split(',').next())
                .unwrap_or_default()
                .to_string();
            c.following = Some(Following {
                key,
                cursor: b.next_event_seq(),
                seq: 0,
                faults: b.stream_faults(),
                held: None,
                sent: 0,
            });
            (ack(&b, r, SUCCESS, "SUBS command succeeded"), false)
        }
        ("ACCT_ACTIVITY", "UNSUBS") => {
            c.following = None;
            (ack(&b, r, SUCCESS, "UNSUBS command succeeded"), false)
        }
        ("ACCT_ACTIVITY", _) => (
            ack(
                &b,
                r,
                FAILED_COMMAND_ADD,
                "ACCT_ACTIVITY takes SUBS and UNSUBS only",
            ),
            false,
        ),
        (service, _) => (
            ack(
                &b,
                r,
                SERVICE_NOT_AVAILABLE,
                format!("Service {service:.32} is not simulated by raxx-sim"),
            ),
            false,
        ),
    }
}

/// The first frame of a subscription: SUBSCRIBED, seq 0 (§2.9).
fn subscribed(b: &SimBrokerage, f: &Following) -> String {
    text(&DataFrame {
        data: vec![Data {
            service: "ACCT_ACTIVITY",
            timestamp: b.now().millis(),
            command: "SUBS",
            content: vec![Activity {
                seq: 0,
                key: f.key.clone(),
                account: String::new(),
                message_type: "SUBSCRIBED",
                message_data: String::new(),
            }],
        }],
    })
}

/// What one poll sends: a heartbeat when due, then the order messages.
fn poll(s: &Shared, c: &mut Connection) -> Vec<String> {
    let mut b = s.lock();
    b.sync();
    let mut out = Vec::new();
    c.since_heartbeat += POLL;
    if c.since_heartbeat >= HEARTBEAT {
        c.since_heartbeat = Duration::ZERO;
        out.push(text(&NotifyFrame {
            notify: vec![Notify::Heartbeat {
                heartbeat: b.now().millis().to_string(),
            }],
        }));
    }
    let Some(f) = c.following.as_mut() else {
        return out;
    };
    let events = b.events_since(f.cursor).cloned().collect::<Vec<_>>();
    f.cursor = b.next_event_seq();
    let mut frames = Vec::new();
    for e in &events {
        let content: Vec<Activity> = messages(&b, e)
            .into_iter()
            .map(|(kind, detail)| {
                f.seq += 1;
                let data = ActivityData {
                    schwab_order_id: e.vendor_id.clone(),
                    account_number: e.account.clone(),
                    base_event: BaseEvent {
                        event_type: kind,
                        detail,
                    },
                };
                Activity {
                    seq: f.seq,
                    key: f.key.clone(),
                    account: e.account.clone(),
                    message_type: kind,
                    message_data: text(&data),
                }
            })
            .collect();
        if content.is_empty() {
            continue;
        }
        let frame = DataFrame {
            data: vec![Data {
                service: "ACCT_ACTIVITY",
                timestamp: e.time.millis(),
                command: "SUBS",
                content,
            }],
        };
        frames.extend(serde_json::to_value(text(&frame)).ok());
    }
    out.extend(
        reshape(&f.faults, &mut f.held, frames)
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string)),
    );
    out
}

async fn run(s: Shared, logins: Logins, mut socket: WebSocket) {
    let mut c = Connection::default();
    loop {
        tokio::select! {
            biased;
            msg = socket.recv() => {
                let text_in = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                let Ok(Requests { requests }) = serde_json::from_str(text_in.as_str()) else {
                    let bad = Request { service: "ADMIN".into(), command: String::new(), requestid: None, parameters: Parameters::default() };
                    let frame = ack(&s.lock(), &bad, BAD_COMMAND_FORMAT, "Bad command format");
                    if socket.send(Message::Text(frame.into())).await.is_err() { return; }
                    continue;
                };
                for r in &requests {
                    let (frame, close) = answer(&s, &logins, &mut c, r);
                    if socket.send(Message::Text(frame.into())).await.is_err() {
                        return;
                    }
                    if close {
                        // Severed (§2.9), with a close frame so the client knows.
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                    if r.command == "SUBS" && r.service == "ACCT_ACTIVITY" {
                        if let Some(f) = &c.following {
                            let first = subscribed(&s.lock(), f);
                            if socket.send(Message::Text(first.into())).await.is_err() { return; }
                        }
                    }
                }
            }
            _ = tokio::time::sleep(POLL) => {
                if c.login.is_some() && c.following.is_none() {
                    c.idle += POLL;
                    if c.idle >= IDLE {
                        let stop = NotifyFrame { notify: vec![Notify::Admin {
                            service: "ADMIN",
                            timestamp: s.lock().now().millis(),
                            content: Code { code: STOP_STREAMING, msg: "Stop streaming due to empty subscription".into() },
                        }]};
                        let _ = socket.send(Message::Text(text(&stop).into())).await;
                        return;
                    }
                } else {
                    c.idle = Duration::ZERO;
                }
                for frame in poll(&s, &mut c) {
                    if socket.send(Message::Text(frame.into())).await.is_err() { return; }
                    let Some(f) = c.following.as_mut() else { continue };
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
