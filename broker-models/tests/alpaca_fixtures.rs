//! The face's answers have the shapes of Alpaca's own bodies: the vendor
//! bodies in `test_data/alpaca/` (assembled from the reference and checked
//! with alpaca-py's models, see its README) against what the face sends in
//! the same situation — the same keys, the same JSON types (a `null` stands
//! for a field that is empty in one state and set in another). The same
//! files feed the adapter's parse tests (adapters/tests/alpaca_wiremock.rs).
//!
//! The trade_updates WebSocket is read here too, over a real socket with a
//! minimal client: its messages are fixtures like the rest.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use broker_models::faults::FaultPlan;
use common::shape::{self, Rules};
use common::{Client, Reply};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Alpaca's keys are all there; a `null` stands for a field that is empty
/// in one state and set in another.
const ALPACA: Rules = Rules {
    null_fits_any: true,
    ..Rules::strict("Alpaca")
};

fn fixture(name: &str) -> Value {
    shape::fixture("alpaca", name)
}

#[track_caller]
fn assert_shape(name: &str, expected: &Value, actual: &Value) {
    let out = shape::misfits(actual, expected, &ALPACA);
    assert!(
        out.is_empty(),
        "{name}:\n  {}\nactual: {actual}",
        out.join("\n  ")
    );
}

#[track_caller]
fn assert_fixture(name: &str, actual: &Value) {
    assert_shape(name, &fixture(name), actual);
}

#[test]
fn the_shape_check_catches_numbers_for_strings_and_missing_or_extra_keys() {
    let vendor = fixture("order_new.json");
    let mut ours = vendor.clone();
    ours["qty"] = json!(10);
    ours["notional"] = json!("5");
    ours.as_object_mut().unwrap().remove("hwm");
    ours["surprise"] = json!(true);
    let out = shape::misfits(&ours, &vendor, &ALPACA);
    assert_eq!(
        out,
        [
            "$.hwm: missing",
            "$.qty: number 10 where Alpaca sends a string",
            "$.surprise: not in Alpaca's body"
        ]
    );
}

fn alpaca() -> Client {
    Client::authed("alpaca", 7, FaultPlan::default())
}

async fn post(c: &Client, body: &str) -> Value {
    let r = c.post_json("/v2/orders", body).await;
    assert_eq!(r.status, StatusCode::OK, "{body}: {}", r.text);
    r.json()
}

async fn until(c: &Client, id: &Value, done: impl Fn(&Value) -> bool) -> Value {
    let path = format!("/v2/orders/{}", id.as_str().unwrap_or_default());
    for _ in 0..250 {
        let o = c.get(&path).await.json();
        if done(&o) {
            return o;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("order {id} never got there");
}

async fn filled(c: &Client, body: &str) -> Value {
    let o = post(c, body).await;
    until(c, &o["id"], |o| o["status"] == "filled").await
}

fn error_of(r: &Reply, status: StatusCode) -> Value {
    assert_eq!(r.status, status, "{}", r.text);
    r.json()
}

#[tokio::test]
async fn orders_in_every_state_have_alpacas_shape() {
    let c = alpaca();
    let resting = post(&c, r#"{"symbol":"AAPL","qty":10,"side":"buy","type":"limit","limit_price":"189.5","time_in_force":"gtc"}"#).await;
    assert_fixture("order_new.json", &resting);
    let market = filled(
        &c,
        r#"{"symbol":"AAPL","qty":10,"side":"buy","type":"market","time_in_force":"day"}"#,
    )
    .await;
    assert_fixture("order_filled.json", &market);
    assert_fixture("order_accepted.json", &market);
    let partial = post(&c, r#"{"symbol":"NVDA","qty":4,"side":"buy","type":"market","time_in_force":"day","client_order_id":"sim-partial-1"}"#).await;
    let partial = until(&c, &partial["id"], |o| o["status"] == "partially_filled").await;
    assert_fixture("order_partially_filled.json", &partial);

    let path = format!("/v2/orders/{}", resting["id"].as_str().unwrap());
    let replacement = c
        .send(
            Method::PATCH,
            &path,
            "application/json",
            r#"{"qty":"3","limit_price":"2"}"#,
        )
        .await
        .json();
    assert_fixture("order_replacement.json", &replacement);
    assert_fixture("order_replaced.json", &c.get(&path).await.json());
    let path = format!("/v2/orders/{}", replacement["id"].as_str().unwrap());
    c.send(Method::DELETE, &path, "", "").await;
    assert_fixture("order_pending_cancel.json", &c.get(&path).await.json());
    let canceled = until(&c, &replacement["id"], |o| o["status"] == "canceled").await;
    assert_fixture("order_canceled.json", &canceled);

    let notional = post(
        &c,
        r#"{"symbol":"AAPL","notional":"500","side":"buy","type":"market","time_in_force":"day"}"#,
    )
    .await;
    assert_fixture("order_notional.json", &notional);
    let option = post(&c, r#"{"symbol":"AAPL260116C00190000","qty":2,"side":"buy","type":"market","time_in_force":"day"}"#).await;
    assert_fixture("order_option.json", &option);
    let spread = post(
        &c,
        r#"{"qty":1,"type":"limit","time_in_force":"day","order_class":"mleg","limit_price":"0.01","legs":[{"symbol":"AAPL260116P00190000","ratio_qty":1,"side":"buy","position_intent":"buy_to_open"},{"symbol":"AAPL260116P00185000","ratio_qty":1,"side":"sell","position_intent":"sell_to_open"}]}"#,
    )
    .await;
    assert_fixture("order_mleg.json", &spread);
}

#[tokio::test]
async fn account_positions_and_configurations_have_alpacas_shape() {
    let c = alpaca();
    assert_fixture("account.json", &c.get("/v2/account").await.json());
    assert_fixture(
        "account_configurations.json",
        &c.get("/v2/account/configurations").await.json(),
    );
    filled(
        &c,
        r#"{"symbol":"AAPL","qty":10,"side":"buy","type":"market","time_in_force":"day"}"#,
    )
    .await;
    filled(
        &c,
        r#"{"symbol":"TSLA","qty":3,"side":"sell","type":"market","time_in_force":"day"}"#,
    )
    .await;
    filled(&c, r#"{"symbol":"AAPL260116P00200000","qty":2,"side":"buy","type":"market","time_in_force":"day"}"#).await;
    let vendor = fixture("positions.json");
    let ours = c.get("/v2/positions").await.json();
    for (i, symbol) in ["AAPL", "TSLA", "AAPL260116P00200000"].iter().enumerate() {
        let p = ours
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["symbol"] == *symbol)
            .unwrap_or_else(|| panic!("{symbol}: {ours}"));
        assert_shape(&format!("positions.json[{i}]"), &vendor[i], p);
        assert_eq!(p["side"], vendor[i]["side"]);
    }
    assert_fixture("account.json", &c.get("/v2/account").await.json());
}

#[tokio::test]
async fn error_bodies_have_alpacas_shape() {
    let mut c = alpaca();
    let sub_penny = c
        .post_json("/v2/orders", r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"limit","limit_price":"290.123","time_in_force":"day"}"#)
        .await;
    assert_eq!(
        error_of(&sub_penny, StatusCode::UNPROCESSABLE_ENTITY),
        fixture("error_sub_penny.json")
    );
    let asset = c
        .post_json(
            "/v2/orders",
            r#"{"symbol":"XYZ","qty":1,"side":"buy","type":"market","time_in_force":"day"}"#,
        )
        .await;
    assert_eq!(
        error_of(&asset, StatusCode::UNPROCESSABLE_ENTITY),
        fixture("error_asset_not_found.json")
    );
    let bp = c
        .post_json(
            "/v2/orders",
            r#"{"symbol":"AAPL","qty":100000,"side":"buy","type":"market","time_in_force":"day"}"#,
        )
        .await;
    assert_fixture(
        "error_insufficient_buying_power.json",
        &error_of(&bp, StatusCode::FORBIDDEN),
    );
    let o = filled(&c, r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"day","client_order_id":"once"}"#).await;
    let qty = c
        .post_json(
            "/v2/orders",
            r#"{"symbol":"AAPL","qty":2,"side":"sell","type":"market","time_in_force":"day"}"#,
        )
        .await;
    assert_fixture(
        "error_insufficient_qty.json",
        &error_of(&qty, StatusCode::FORBIDDEN),
    );
    let dup = c.post_json("/v2/orders", r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"day","client_order_id":"once"}"#).await;
    assert_eq!(
        error_of(&dup, StatusCode::UNPROCESSABLE_ENTITY),
        fixture("error_duplicate_client_order_id.json")
    );
    let path = format!("/v2/orders/{}", o["id"].as_str().unwrap());
    let cancel = c.send(Method::DELETE, &path, "", "").await;
    assert_eq!(
        error_of(&cancel, StatusCode::UNPROCESSABLE_ENTITY),
        fixture("error_cancel_filled.json")
    );
    let replace = c
        .send(Method::PATCH, &path, "application/json", r#"{"qty":"2"}"#)
        .await;
    assert_eq!(
        error_of(&replace, StatusCode::UNPROCESSABLE_ENTITY),
        fixture("error_replace_not_open.json")
    );
    let missing = c
        .get("/v2/orders/00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(
        error_of(&missing, StatusCode::NOT_FOUND),
        fixture("error_order_not_found.json")
    );
    let bad_id = c.get("/v2/orders/42").await;
    assert_eq!(
        error_of(&bad_id, StatusCode::UNPROCESSABLE_ENTITY),
        fixture("error_order_id_missing.json")
    );
    let position = c.get("/v2/positions/MSFT").await;
    assert_eq!(
        error_of(&position, StatusCode::NOT_FOUND),
        fixture("error_position_not_found.json")
    );
    let body = c.post_json("/v2/orders", "[1,2,3]").await;
    assert_eq!(
        error_of(&body, StatusCode::BAD_REQUEST),
        fixture("error_malformed_body.json")
    );
    c.headers.clear();
    assert_eq!(
        error_of(&c.get("/v2/account").await, StatusCode::FORBIDDEN),
        fixture("error_forbidden.json")
    );
    c.headers = vec![
        ("APCA-API-KEY-ID".into(), "PKWRONG".into()),
        ("APCA-API-SECRET-KEY".into(), "nope".into()),
    ];
    assert_eq!(
        error_of(&c.get("/v2/account").await, StatusCode::UNAUTHORIZED),
        fixture("error_unauthorized.json")
    );
    let limited = Client::authed("alpaca", 7, FaultPlan::default());
    for _ in 0..200 {
        limited.get("/v2/clock").await;
    }
    assert_eq!(
        error_of(
            &limited.get("/v2/clock").await,
            StatusCode::TOO_MANY_REQUESTS
        ),
        fixture("error_rate_limited.json")
    );
}

#[tokio::test]
async fn multi_status_answers_have_alpacas_shape() {
    let c = alpaca();
    post(&c, r#"{"symbol":"SPY","qty":1,"side":"buy","type":"limit","limit_price":"1","time_in_force":"gtc"}"#).await;
    let canceled = c.send(Method::DELETE, "/v2/orders", "", "").await;
    assert_eq!(canceled.status, StatusCode::MULTI_STATUS);
    assert_shape(
        "cancel_all.json[0]",
        &fixture("cancel_all.json")[0],
        &canceled.json()[0],
    );

    filled(
        &c,
        r#"{"symbol":"AAPL","qty":10,"side":"buy","type":"market","time_in_force":"day"}"#,
    )
    .await;
    filled(
        &c,
        r#"{"symbol":"MSFT","qty":3,"side":"buy","type":"market","time_in_force":"day"}"#,
    )
    .await;
    post(&c, r#"{"symbol":"MSFT","qty":3,"side":"sell","type":"limit","limit_price":"1000","time_in_force":"gtc"}"#).await;
    let closed = c.send(Method::DELETE, "/v2/positions", "", "").await;
    assert_eq!(closed.status, StatusCode::MULTI_STATUS);
    let vendor = fixture("close_all.json");
    let ours = closed.json();
    let entry = |symbol: &str| {
        ours.as_array()
            .unwrap()
            .iter()
            .find(|e| e["symbol"] == symbol)
            .cloned()
            .unwrap()
    };
    assert_shape("close_all.json[0]", &vendor[0], &entry("AAPL"));
    assert_shape("close_all.json[1]", &vendor[1], &entry("MSFT"));
}

#[tokio::test]
async fn reference_data_has_alpacas_shape() {
    let c = alpaca();
    assert_fixture("clock.json", &c.get("/v2/clock").await.json());
    assert_fixture(
        "calendar.json",
        &c.get("/v2/calendar?start=2026-01-05&end=2026-01-09")
            .await
            .json(),
    );
    assert_fixture("asset.json", &c.get("/v2/assets/AAPL").await.json());
    assert_fixture(
        "option_contracts.json",
        &c.get("/v2/options/contracts?underlying_symbols=AAPL")
            .await
            .json(),
    );
    assert_fixture(
        "option_contract.json",
        &c.get("/v2/options/contracts/AAPL260116P00200000")
            .await
            .json(),
    );
}

#[tokio::test]
async fn activities_have_alpacas_shape() {
    let c = alpaca();
    filled(
        &c,
        r#"{"symbol":"AAPL","qty":10,"side":"buy","type":"market","time_in_force":"day"}"#,
    )
    .await;
    filled(&c, r#"{"symbol":"AAPL260105C00400000","qty":1,"side":"buy","type":"market","time_in_force":"day"}"#).await;
    c.post_json("/_sim/advance", r#"{"ms": 25200000}"#).await;
    let vendor = fixture("activities.json");
    let fills = c.get("/v2/account/activities/FILL").await.json();
    assert_shape("activities.json[0]", &vendor[0], &fills[0]);
    let expiries = c.get("/v2/account/activities/OPEXP").await.json();
    assert_shape("activities.json[1]", &vendor[1], &expiries[0]);
}

/// A WebSocket client small enough to read every frame the server sends,
/// close frames included.
struct Ws {
    stream: TcpStream,
    pending: Vec<u8>,
}

#[derive(Debug, PartialEq)]
enum Frame {
    Data(Value),
    Close(u16, String),
}

impl Ws {
    async fn connect(c: &Client, path: &str) -> Ws {
        let addr = c.serve().await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut ws = Ws {
            stream,
            pending: Vec::new(),
        };
        let head = loop {
            if let Some(end) = ws.pending.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&ws.pending[..end]).to_string();
                ws.pending.drain(..end + 4);
                break head;
            }
            assert!(ws.fill().await, "the server closed during the handshake");
        };
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        ws
    }

    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).await.unwrap_or(0);
        self.pending.extend_from_slice(&chunk[..n]);
        n > 0
    }

    async fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.pending.len() < n {
            if !self.fill().await {
                return None;
            }
        }
        Some(self.pending.drain(..n).collect())
    }

    async fn send(&mut self, message: &Value) {
        let payload = message.to_string().into_bytes();
        assert!(payload.len() < 126);
        let mask = [7u8, 1, 3, 9];
        let mut frame = vec![0x81, 0x80 | payload.len() as u8];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).await.unwrap();
    }

    /// The next data or close frame (pings skipped); None when the socket ends.
    async fn recv(&mut self) -> Option<Frame> {
        loop {
            let head = self.take(2).await?;
            let opcode = head[0] & 0x0f;
            let len = match head[1] & 0x7f {
                126 => u16::from_be_bytes(self.take(2).await?.try_into().ok()?) as usize,
                127 => u64::from_be_bytes(self.take(8).await?.try_into().ok()?) as usize,
                n => n as usize,
            };
            let payload = self.take(len).await?;
            match opcode {
                1 | 2 => return Some(Frame::Data(serde_json::from_slice(&payload).unwrap())),
                8 => {
                    let code = payload
                        .get(..2)
                        .map_or(1005, |c| u16::from_be_bytes([c[0], c[1]]));
                    return Some(Frame::Close(
                        code,
                        String::from_utf8_lossy(payload.get(2..).unwrap_or_default()).to_string(),
                    ));
                }
                _ => continue,
            }
        }
    }

    async fn data(&mut self) -> Value {
        match tokio::time::timeout(Duration::from_secs(5), self.recv()).await {
            Ok(Some(Frame::Data(v))) => v,
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

fn authenticate(c: &Client, key: &str) -> Value {
    json!({"action": "authenticate", "data": {"key_id": key, "secret_key": c.credential("secret_key")}})
}

#[tokio::test]
async fn a_failed_stream_authentication_is_answered_then_closed_with_a_close_frame() {
    let c = alpaca();
    let mut ws = Ws::connect(&c, "/stream").await;
    ws.send(&authenticate(&c, "PKWRONG")).await;
    assert_eq!(ws.data().await, fixture("stream_unauthorized.json"));
    assert_eq!(
        ws.recv().await,
        Some(Frame::Close(1008, "unauthorized".into()))
    );
}

#[tokio::test]
async fn stream_messages_have_alpacas_shape_on_either_path() {
    let c = alpaca();
    for path in ["/stream", "/stream/"] {
        let mut ws = Ws::connect(&c, path).await;
        ws.send(&authenticate(&c, &c.credential("key_id"))).await;
        assert_eq!(ws.data().await, fixture("stream_authorized.json"), "{path}");
        ws.send(&json!({"action": "listen", "data": {"streams": ["trade_updates"]}}))
            .await;
        assert_eq!(ws.data().await, fixture("stream_listening.json"), "{path}");
    }
    let mut ws = Ws::connect(&c, "/stream").await;
    ws.send(&authenticate(&c, &c.credential("key_id"))).await;
    ws.data().await;
    ws.send(&json!({"action": "listen", "data": {"streams": ["trade_updates"]}}))
        .await;
    ws.data().await;
    post(
        &c,
        r#"{"symbol":"AAPL","qty":2,"side":"buy","type":"market","time_in_force":"day"}"#,
    )
    .await;
    let new = ws.data().await;
    assert_eq!(new["data"]["event"], "new");
    assert_fixture("stream_trade_update_new.json", &new);
    let fill = ws.data().await;
    assert_eq!(fill["data"]["event"], "fill");
    assert_fixture("stream_trade_update_fill.json", &fill);
}
