//! Tradier's account stream (reference §1.2, §2.9) on a real socket: a
//! subscription needs a session made by an authenticated POST, only the
//! newest session counts and only for five minutes, and events carry the
//! vendor's shapes (`test_data/tradier/stream_*.json`).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum::Extension;
use broker_models::faults::FaultPlan;
use broker_models::tradier::ServedAt;
use common::Client;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const ACCT: &str = "VA00000001";
const FORM: &str = "application/x-www-form-urlencoded";

fn fixture(name: &str) -> Value {
    let path = format!("{}/../test_data/tradier/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The keys of `v`, sorted.
fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

async fn connect(addr: SocketAddr) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/accounts/events"))
        .await
        .unwrap();
    ws
}

async fn send(ws: &mut Ws, payload: Value) {
    ws.send(Message::Text(payload.to_string().into()))
        .await
        .unwrap();
}

/// The next text frame within `wait`, as JSON.
async fn next(ws: &mut Ws, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(t.as_str()).ok(),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

/// The next order event for order `id`.
async fn event_of(ws: &mut Ws, id: &Value) -> Value {
    loop {
        let e = next(ws, Duration::from_secs(5))
            .await
            .expect("an order event");
        if e["event"] == "order" && e["id"] == *id {
            return e;
        }
    }
}

async fn session(c: &Client) -> String {
    let r = c
        .send(Method::POST, "/v1/accounts/events/session", "", "")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()["stream"]["sessionid"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn place(c: &Client, form: &str) -> Value {
    let r = c
        .send(
            Method::POST,
            &format!("/v1/accounts/{ACCT}/orders"),
            FORM,
            form,
        )
        .await;
    r.json()["order"]["id"].clone()
}

fn subscription(sessionid: &str) -> Value {
    json!({"events": ["orders"], "sessionid": sessionid, "excludeAccounts": []})
}

/// Subscribes, and waits until the server has surely read it: Tradier never
/// acknowledges a subscription, so a change made meanwhile is on no stream.
async fn subscribe(ws: &mut Ws, sessionid: &str) {
    send(ws, subscription(sessionid)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
}

const LIMIT: &str =
    "class=equity&symbol=AAPL&side=buy&quantity=2&type=limit&price=10.00&duration=day&tag=stream-1";

#[tokio::test]
async fn a_stream_needs_a_session_made_with_a_token() {
    let c = Client::authed("tradier", 7, FaultPlan::default());
    let mut ws = connect(c.serve().await).await;
    let refused = fixture("stream_error.json");
    send(&mut ws, json!({"events": ["order"]})).await;
    assert_eq!(
        next(&mut ws, Duration::from_secs(2)).await,
        Some(refused.clone())
    );
    send(
        &mut ws,
        subscription("c8638963-a6d4-4fb9-9bc6-e25fbd8c60c3"),
    )
    .await;
    assert_eq!(
        next(&mut ws, Duration::from_secs(2)).await,
        Some(refused.clone())
    );
    place(&c, LIMIT).await;
    assert_eq!(
        next(&mut ws, Duration::from_millis(400)).await,
        None,
        "no order events without a session"
    );
    // Without a token there is no session either.
    let mut anonymous = Client::new("tradier", 7, FaultPlan::default());
    anonymous.headers = vec![("Accept".into(), "application/json".into())];
    let r = anonymous
        .send(Method::POST, "/v1/accounts/events/session", "", "")
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    subscribe(&mut ws, &session(&c).await).await;
    let id = place(&c, LIMIT).await;
    let e = event_of(&mut ws, &id).await;
    assert_eq!(keys(&e), keys(&fixture("stream_order.json")), "{e}");
    assert_eq!(
        (e["status"].as_str(), e["account"].as_str()),
        (Some("open"), Some(ACCT))
    );
}

#[tokio::test]
async fn one_session_at_a_time_and_for_five_minutes() {
    let c = Client::authed("tradier", 7, FaultPlan::default());
    let addr = c.serve().await;
    let (older, newer) = (session(&c).await, session(&c).await);
    assert_ne!(older, newer);
    let mut ws = connect(addr).await;
    send(&mut ws, subscription(&older)).await;
    assert_eq!(
        next(&mut ws, Duration::from_secs(2)).await,
        Some(fixture("stream_error.json"))
    );
    subscribe(&mut ws, &newer).await;
    let id = place(&c, LIMIT).await;
    event_of(&mut ws, &id).await;
    // A bad payload later changes nothing: the subscription goes on.
    send(&mut ws, subscription("nope")).await;
    assert_eq!(
        next(&mut ws, Duration::from_secs(2)).await,
        Some(fixture("stream_error.json"))
    );
    let id = place(&c, LIMIT).await;
    event_of(&mut ws, &id).await;
    c.post_json("/_sim/advance", r#"{"ms": 300000}"#).await;
    let mut late = connect(addr).await;
    send(&mut late, subscription(&newer)).await;
    assert_eq!(
        next(&mut late, Duration::from_secs(2)).await,
        Some(fixture("stream_error.json")),
        "a session starts streams for 5 minutes"
    );
}

#[tokio::test]
async fn the_session_url_is_where_the_model_is_served() {
    let mut c = Client::authed("tradier", 7, FaultPlan::default());
    // Neither where it is served nor a usable Host: Tradier's own URL.
    assert_eq!(url(&c).await, "wss://ws.tradier.com/v1/accounts/events");
    c.headers.push(("Host".into(), "127.0.0.1:9999".into()));
    assert_eq!(url(&c).await, "ws://127.0.0.1:9999/v1/accounts/events");
    c.headers.pop();
    c.headers.push(("Host".into(), "evil.example/x?".into()));
    assert_eq!(url(&c).await, "wss://ws.tradier.com/v1/accounts/events");
    // Where the server says it is served wins over what the client wrote.
    c.router = c
        .router
        .clone()
        .layer(Extension(ServedAt("tradier:80".into())));
    assert_eq!(url(&c).await, "ws://tradier:80/v1/accounts/events");
}

async fn url(c: &Client) -> Value {
    c.send(Method::POST, "/v1/accounts/events/session", "", "")
        .await
        .json()["stream"]["url"]
        .clone()
}

/// Heartbeats about once a minute, with nanoseconds (§2.9).
#[tokio::test(start_paused = true)]
async fn heartbeats_carry_nanoseconds() {
    let c = Client::authed("tradier", 7, FaultPlan::default());
    let mut ws = connect(c.serve().await).await;
    send(&mut ws, subscription(&session(&c).await)).await;
    let beat = loop {
        let e = next(&mut ws, Duration::from_secs(120))
            .await
            .expect("a heartbeat");
        if e["event"] == "heartbeat" {
            break e;
        }
    };
    assert_eq!(keys(&beat), keys(&fixture("stream_heartbeat.json")));
    let ts = beat["timestamp"].as_str().unwrap();
    assert_eq!((ts.len(), ts.ends_with('Z')), (30, true), "{ts}");
}

/// An event after a modify counts the fills before it (§2.5).
#[tokio::test]
async fn events_of_a_modified_order_keep_its_fills() {
    let c = Client::authed("tradier", 7, FaultPlan::default());
    let mut ws = connect(c.serve().await).await;
    subscribe(&mut ws, &session(&c).await).await;
    let id = place(&c, "class=equity&symbol=AAPL&side=buy&quantity=40&type=limit&price=1000&duration=gtc&tag=sim-partial-s").await;
    let filled = loop {
        let e = event_of(&mut ws, &id).await;
        if e["exec_quantity"].as_u64().is_some_and(|q| q > 0) {
            break e["exec_quantity"].clone();
        }
    };
    let put = c
        .send(
            Method::PUT,
            &format!("/v1/accounts/{ACCT}/orders/{id}"),
            FORM,
            "price=1.00",
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    let mut e = event_of(&mut ws, &id).await;
    while e["price"] != json!(1) {
        e = event_of(&mut ws, &id).await;
    }
    assert!(e["exec_quantity"].as_u64() >= filled.as_u64(), "{e}");
    assert_eq!(e["status"], "partially_filled", "{e}");
    assert_eq!(e["exec_quantity"], e["executed_quantity"]);
}

/// A served model that forgets ended orders (`serve --keep-orders`) while
/// a stream falls behind: the stream goes on from what is kept, and never
/// sends an event twice.
#[tokio::test]
async fn a_stream_behind_what_was_forgotten_sends_nothing_twice() {
    let c = Client::authed("tradier", 7, FaultPlan::default());
    {
        let mut b = c.shared.lock();
        b.disable_rate_limits();
        b.set_retention(20);
    }
    let mut ws = connect(c.serve().await).await;
    subscribe(&mut ws, &session(&c).await).await;
    {
        // Under the lock the stream cannot poll: it is left behind while
        // 200 orders come and go and most are forgotten.
        let mut b = c.shared.lock();
        for i in 0..200 {
            let side = if i % 2 == 0 {
                mbt::Side::Buy
            } else {
                mbt::Side::Sell
            };
            let r = mbt::OrderRequest::market(ACCT, &format!("lag-{i}"), "AAPL", side, 1.into());
            assert!(b.submit(r, &Default::default()).is_ok());
            b.advance(250);
        }
        assert!(
            b.orders_forgotten() > 100,
            "forgot {}",
            b.orders_forgotten()
        );
    }
    let last = place(
        &c,
        "class=equity&symbol=AAPL&side=buy&quantity=1&type=market&duration=day&tag=after-lag",
    )
    .await;
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let e = next(&mut ws, Duration::from_secs(5))
            .await
            .expect("the last order's fill");
        if e["event"] != "order" {
            continue;
        }
        let key = (e["id"].to_string(), e["status"].to_string());
        assert!(seen.insert(key.clone()), "sent twice: {key:?}");
        if e["id"] == last && e["status"] == "filled" {
            break;
        }
    }
}
