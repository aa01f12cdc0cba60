//! The `/_sim/` control surface defends itself: a per-run token on every
//! route, bodies only of the route's type, symbols only of the vendors' shape;
//! and a model served on a real socket drops a client that stalls mid-request.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use broker_models::control::TOKEN_HEADER;
use broker_models::faults::FaultPlan;
use common::Client;
use rust_decimal_macros::dec;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Every control route, with a body its route takes.
const ROUTES: &[(&str, &str, &str, &str)] = &[
    ("POST", "/_sim/reset", "", ""),
    ("PUT", "/_sim/faults", "application/toml", "rules = []\n"),
    ("GET", "/_sim/faults", "", ""),
    ("POST", "/_sim/advance", "application/json", r#"{"ms": 1}"#),
    (
        "POST",
        "/_sim/price",
        "application/json",
        r#"{"symbol": "AAPL", "price": "190.00"}"#,
    ),
    (
        "POST",
        "/_sim/steer",
        "application/json",
        r#"{"fault": {"kind": "lost_response"}}"#,
    ),
    ("GET", "/_sim/ledger", "", ""),
    ("GET", "/_sim/events?since=0", "", ""),
];

fn method(m: &str) -> Method {
    Method::from_bytes(m.as_bytes()).unwrap()
}

#[tokio::test]
async fn every_control_route_wants_the_runs_token() {
    for slug in broker_models::vendor::slugs() {
        let mut c = Client::new(slug, 3, FaultPlan::default());
        let token = c.control_token.clone().unwrap();
        // Plaid's webhook outbox is a control route too.
        let outbox = [("GET", "/_sim/webhooks", "", "")];
        let extra: &[_] = if slug == "plaid" { &outbox } else { &[] };
        for (m, path, ct, body) in ROUTES.iter().chain(extra) {
            for presented in [None, Some(format!("{token}x")), Some(String::new())] {
                c.control_token = presented;
                let r = c.send(method(m), path, ct, body).await;
                assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{slug} {m} {path}");
                assert!(
                    r.json()["error"].is_string(),
                    "{slug} {m} {path}: {}",
                    r.text
                );
                assert!(!r.text.contains(&token), "the token is never echoed");
            }
            c.control_token = Some(token.clone());
            let r = c.send(method(m), path, ct, body).await;
            assert_eq!(r.status, StatusCode::OK, "{slug} {m} {path}: {}", r.text);
        }
    }
}

#[tokio::test]
async fn the_token_is_printed_seeded_and_a_secret() {
    let model =
        broker_models::build("alpaca", 5, FaultPlan::default(), &Default::default()).unwrap();
    let connection = serde_json::json!(model.connection("127.0.0.1:1"));
    let token = model.shared.lock().control_token().to_string();
    assert_eq!(connection["control"]["token"], token.as_str());
    assert_eq!(connection["control"]["header"], TOKEN_HEADER);
    // The fields a client already reads are unchanged.
    for field in ["broker", "base_url", "credentials", "accounts"] {
        assert!(connection.get(field).is_some(), "{field}");
    }
    assert!(
        model.secrets().contains(&token),
        "traces are scrubbed of it"
    );
    assert!(!format!("{:?}", model.connection("h:1")).contains(&token));
    let again =
        broker_models::build("alpaca", 5, FaultPlan::default(), &Default::default()).unwrap();
    assert_eq!(again.shared.lock().control_token(), token, "seeded");
    let other =
        broker_models::build("alpaca", 6, FaultPlan::default(), &Default::default()).unwrap();
    assert_ne!(other.shared.lock().control_token(), token);
    model.shared.lock().reset();
    assert_eq!(
        model.shared.lock().control_token(),
        token,
        "a reset keeps it"
    );
}

#[tokio::test]
async fn control_bodies_must_be_of_their_routes_type() {
    let c = Client::new("alpaca", 3, FaultPlan::default());
    let price = r#"{"symbol": "AAPL", "price": "150.00"}"#;
    // What a cross-site form or fetch can send without a preflight.
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
    ] {
        for (m, path, body) in [
            ("POST", "/_sim/price", price),
            ("POST", "/_sim/advance", r#"{"ms": 1}"#),
            (
                "POST",
                "/_sim/steer",
                r#"{"fault": {"kind": "lost_response"}}"#,
            ),
            ("POST", "/_sim/reset", "{}"),
            ("PUT", "/_sim/faults", "rules = []\n"),
        ] {
            let r = c.send(method(m), path, ct, body).await;
            assert_eq!(
                r.status,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{m} {path} as {ct:?}"
            );
            assert!(r.json()["error"].is_string());
        }
    }
    let toml_as_json = c
        .send(
            Method::PUT,
            "/_sim/faults",
            "application/json",
            "rules = []\n",
        )
        .await;
    assert_eq!(toml_as_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let with_charset = c
        .send(
            Method::POST,
            "/_sim/price",
            "application/json; charset=utf-8",
            price,
        )
        .await;
    assert_eq!(with_charset.status, StatusCode::OK, "{}", with_charset.text);
    // Nothing above changed the price but the last request.
    assert_eq!(c.shared.lock().engine().spot("AAPL"), Some(dec!(150)));
}

#[tokio::test]
async fn price_takes_only_a_vendors_ticker_and_creates_nothing_else() {
    let c = Client::new("tradier", 3, FaultPlan::default());
    let long = "A".repeat(13);
    for symbol in [
        "\u{0}",
        "",
        "aapl",
        "AAPL ",
        "A B",
        "🚀",
        long.as_str(),
        "AAPL\n",
    ] {
        let body = serde_json::json!({"symbol": symbol, "price": "10.00"}).to_string();
        let r = c.post_json("/_sim/price", &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{symbol:?}");
        assert!(r.json()["error"].is_string());
        assert!(
            c.shared.lock().engine().spot(symbol).is_none(),
            "{symbol:?}"
        );
    }
    let ledger = c.get("/_sim/ledger").await.text;
    assert!(!ledger.contains("\\u0000"), "{ledger}");
    // A share class and a new ticker are fine.
    for symbol in ["BRK.B", "BRK/B", "PENY"] {
        let body = serde_json::json!({"symbol": symbol, "price": "10.00"}).to_string();
        let r = c.post_json("/_sim/price", &body).await;
        assert_eq!(r.status, StatusCode::OK, "{symbol}: {}", r.text);
    }
}

#[tokio::test]
async fn several_prices_are_set_all_or_none() {
    let c = Client::new("alpaca", 3, FaultPlan::default());
    let r = c
        .post_json(
            "/_sim/price",
            r#"{"prices": {"AAPL": "150.00", "MSFT": "410.00"}}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(c.shared.lock().engine().spot("AAPL"), Some(dec!(150)));
    assert_eq!(c.shared.lock().engine().spot("MSFT"), Some(dec!(410)));
    // One price the market cannot quote (beyond its largest), one bad
    // ticker, none at all: each refused, and nothing moved.
    for body in [
        r#"{"prices": {"AAPL": "151.00", "MSFT": "79228162514264337593543950335"}}"#,
        r#"{"prices": {"AAPL": "151.00", "msft": "411.00"}}"#,
        r#"{"prices": {"AAPL": "151.00", "MSFT": "0"}}"#,
        r#"{"prices": {}}"#,
        r#"{"prices": {"AAPL": "151.00"}, "symbol": "AAPL"}"#,
    ] {
        let r = c.post_json("/_sim/price", body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert!(r.json()["error"].is_string());
        assert_eq!(
            c.shared.lock().engine().spot("AAPL"),
            Some(dec!(150)),
            "{body}"
        );
        assert_eq!(
            c.shared.lock().engine().spot("MSFT"),
            Some(dec!(410)),
            "{body}"
        );
    }
}

#[tokio::test]
async fn an_advance_can_quote_the_markets_next_moment_all_or_none() {
    let c = Client::new("alpaca", 3, FaultPlan::default());
    let before = c.shared.lock().now();
    let bad =
        r#"{"ms": 3600000, "prices": {"AAPL": "151.00", "MSFT": "79228162514264337593543950335"}}"#;
    let r = c.post_json("/_sim/advance", bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // Refused before the jump: the clock moved with real time only.
    let moved = |b: mbt::Timestamp| c.shared.lock().now().millis() - b.millis();
    assert!(moved(before) < 60_000, "{}", moved(before));
    let r = c
        .post_json(
            "/_sim/advance",
            r#"{"ms": 3600000, "prices": {"AAPL": "151.00", "MSFT": "411.00"}}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!((3_600_000..3_660_000).contains(&moved(before)));
    assert_eq!(c.shared.lock().engine().spot("AAPL"), Some(dec!(151)));
    assert_eq!(c.shared.lock().engine().spot("MSFT"), Some(dec!(411)));
}

#[tokio::test]
async fn advance_is_bounded() {
    let c = Client::new("alpaca", 3, FaultPlan::default());
    for ms in ["9223372036854775807", "691200001"] {
        let r = c
            .post_json("/_sim/advance", &format!(r#"{{"ms": {ms}}}"#))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{ms}");
        assert!(r.json()["error"].is_string());
    }
}

/// Reads until the server closes the connection; what it sent before is returned.
async fn read_to_close(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    // Generous: only a server that never closes reaches it.
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut seen))
        .await
        .expect("the server closes a stalled connection")
        .ok();
    seen
}

#[tokio::test]
async fn a_client_that_stalls_mid_request_is_disconnected() {
    let c = Client::new("alpaca", 3, FaultPlan::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(broker_models::socket::serve(
        listener,
        c.router.clone(),
        Duration::from_millis(200),
        std::future::pending(),
    ));
    // Half a request line, half a head, then nothing.
    for partial in ["GET /v2/clo", "GET / HTTP/1.1\r\nHost: x\r\n"] {
        let mut stalled = tokio::net::TcpStream::connect(addr).await.unwrap();
        stalled.write_all(partial.as_bytes()).await.unwrap();
        let seen = read_to_close(&mut stalled).await;
        assert!(
            !String::from_utf8_lossy(&seen).contains("200 OK"),
            "{partial:?}"
        );
    }
    // A client that sends its request in time is answered as before.
    let mut prompt = tokio::net::TcpStream::connect(addr).await.unwrap();
    prompt
        .write_all(b"GET /_sim/ledger HTTP/1.1\r\nHost: x\r\nConnection: close\r\n")
        .await
        .unwrap();
    let token = c.control_token.clone().unwrap();
    prompt
        .write_all(format!("{TOKEN_HEADER}: {token}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let seen = read_to_close(&mut prompt).await;
    assert!(
        String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&seen)
    );
}
