//! Every fault kind, seen from the client's side of the wire, in simulated
//! (paused tokio) time; and the same seed giving the same answers.

mod common;

use axum::http::{Method, StatusCode};
use broker_models::faults::FaultPlan;
use common::Client;
use serde_json::json;

const SUBMIT: &str = r#"{"symbol":"AAPL","qty":"5","side":"buy","type":"market","time_in_force":"day","client_order_id":"c-1"}"#;

fn plan(toml: &str) -> FaultPlan {
    FaultPlan::from_toml(toml, "test").unwrap()
}

fn alpaca(p: &str) -> Client {
    Client::authed("alpaca", 3, plan(p))
}

async fn ledger_orders(c: &Client) -> usize {
    c.get("/_sim/ledger").await.json()["orders"]
        .as_array()
        .map_or(0, Vec::len)
}

#[tokio::test(start_paused = true)]
async fn outage_as_503_with_the_vendor_body() {
    let c = alpaca("[[rules]]\noperations = [\"submit_order\"]\nfault = { kind = \"outage\" }");
    let r = c.post_json("/v2/orders", SUBMIT).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json()["code"], 50300000);
    assert_eq!(ledger_orders(&c).await, 0, "an outage commits nothing");
    assert_eq!(
        c.get("/v2/account").await.status,
        StatusCode::OK,
        "other operations still work"
    );
    let t = Client::authed(
        "tradier",
        3,
        plan("[[rules]]\nfault = { kind = \"outage\" }"),
    );
    let r = t.get("/v1/user/profile").await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
    );
}

#[tokio::test(start_paused = true)]
async fn outage_refuse_and_hang_drop_the_connection() {
    let c = alpaca("[[rules]]\nfault = { kind = \"outage\", mode = \"refuse\" }");
    assert!(c.get("/v2/account").await.dropped);
    let c = alpaca("[[rules]]\nfault = { kind = \"outage\", mode = \"hang\" }");
    let before = tokio::time::Instant::now();
    let r = c.get("/v2/account").await;
    assert!(r.dropped);
    assert!(
        before.elapsed() >= broker_models::face::HOLD,
        "held for {:?}",
        before.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn outage_windows_open_and_close_in_simulated_time() {
    let c = alpaca("[[rules]]\nfrom_ms = 1000\nuntil_ms = 2000\nfault = { kind = \"outage\" }");
    assert_eq!(c.get("/v2/account").await.status, StatusCode::OK);
    tokio::time::advance(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        c.get("/v2/account").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    tokio::time::advance(std::time::Duration::from_millis(1000)).await;
    assert_eq!(c.get("/v2/account").await.status, StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn latency_delays_the_answer() {
    let c = alpaca("[[rules]]\nfault = { kind = \"latency\", min_ms = 300, max_ms = 300 }");
    let before = tokio::time::Instant::now();
    assert_eq!(c.get("/v2/account").await.status, StatusCode::OK);
    assert_eq!(before.elapsed().as_millis(), 300);
}

#[tokio::test(start_paused = true)]
async fn rate_limit_fault_answers_429_with_vendor_headers() {
    let c = alpaca("[[rules]]\nfault = { kind = \"rate_limit\" }");
    let r = c.get("/v2/account").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // The default wait is 1000 ms from the epoch (15:00:00.000): the reset
    // second is rounded up, never down, so waiting until it is enough.
    let reset = r.headers["x-ratelimit-reset"].to_str().unwrap_or_default();
    assert_eq!(reset, "1767625201");
    let later = alpaca("[[rules]]\nfault = { kind = \"rate_limit\", retry_after_ms = 1500 }");
    let r = later.get("/v2/account").await;
    assert_eq!(
        r.headers["x-ratelimit-reset"].to_str().unwrap_or_default(),
        "1767625202"
    );
    let t = Client::authed(
        "tradier",
        3,
        plan("[[rules]]\nfault = { kind = \"rate_limit\", retry_after_ms = 2500 }"),
    );
    let r = t.get("/v1/user/profile").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.text.starts_with("Quota Violation "), "{}", r.text);
    assert_eq!(r.headers["x-ratelimit-available"], "0");
}

#[tokio::test(start_paused = true)]
async fn reject_fault_refuses_the_order_as_the_vendor_does() {
    let c = alpaca(
        "[[rules]]\nfault = { kind = \"reject\", reason = \"order rejected by the risk desk\" }",
    );
    let r = c.post_json("/v2/orders", SUBMIT).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json(),
        json!({"code": 40010001, "message": "order rejected by the risk desk"})
    );
    assert_eq!(
        c.get("/v2/account").await.status,
        StatusCode::OK,
        "only submits are rejected"
    );
}

#[tokio::test(start_paused = true)]
async fn token_and_refresh_expiry() {
    let c = alpaca("[[rules]]\nfault = { kind = \"token_expiry\" }");
    let r = c.get("/v2/account").await;
    assert_eq!(
        (r.status, r.json()["code"].as_u64()),
        (StatusCode::UNAUTHORIZED, Some(40110000))
    );
    let t = Client::authed(
        "tradier",
        3,
        plan("[[rules]]\nfault = { kind = \"refresh_expiry\" }"),
    );
    let r = t.get("/v1/user/profile").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.json()["fault"]["detail"]["errorcode"],
        "keymanagement.service.access_token_expired"
    );
}

#[tokio::test(start_paused = true)]
async fn lost_response_commits_the_order_then_drops_the_connection() {
    let c =
        alpaca("[[rules]]\noperations = [\"submit_order\"]\nfault = { kind = \"lost_response\" }");
    let r = c.post_json("/v2/orders", SUBMIT).await;
    assert!(r.dropped);
    assert_eq!(ledger_orders(&c).await, 1, "the broker committed the order");
    let found = c
        .get("/v2/orders:by_client_order_id?client_order_id=c-1")
        .await;
    assert_eq!(found.status, StatusCode::OK);
    // Once the broker answers again, the retry a careless client makes is refused as a duplicate.
    c.send(Method::PUT, "/_sim/faults", "application/toml", "")
        .await;
    assert_eq!(
        c.post_json("/v2/orders", SUBMIT).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test(start_paused = true)]
async fn per_request_triggers_need_no_plan() {
    let c = alpaca("");
    let lost = c
        .post_json("/v2/orders", &SUBMIT.replace("c-1", "sim-lost-1"))
        .await;
    assert!(lost.dropped);
    let rejected = c
        .post_json("/v2/orders", &SUBMIT.replace("c-1", "sim-reject-1"))
        .await;
    assert_eq!(rejected.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(ledger_orders(&c).await, 2);
}

#[tokio::test(start_paused = true)]
async fn partial_fills_accumulate_over_market_events() {
    let c = alpaca("[[rules]]\nfault = { kind = \"partial_fill\", units_per_event = 2 }");
    let o = c.post_json("/v2/orders", SUBMIT).await.json();
    // The submit answers the first state; slices come on market events.
    assert_eq!(
        (o["status"].as_str(), o["filled_qty"].as_str()),
        (Some("pending_new"), Some("0"))
    );
    let id = o["id"].as_str().unwrap().to_string();
    let mut seen = vec![o["filled_qty"].as_str().unwrap().to_string()];
    for _ in 0..5 {
        tokio::time::advance(std::time::Duration::from_millis(250)).await;
        seen.push(
            c.get(&format!("/v2/orders/{id}")).await.json()["filled_qty"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(seen[..4], ["0", "2", "4", "5"]);
    assert_eq!(
        c.get(&format!("/v2/orders/{id}")).await.json()["status"],
        "filled"
    );
    // Without a plan, the sim-partial trigger slices one unit per event.
    let fresh = alpaca("");
    let t = fresh
        .post_json("/v2/orders", &SUBMIT.replace("c-1", "sim-partial-1"))
        .await
        .json();
    tokio::time::advance(std::time::Duration::from_millis(250)).await;
    let path = format!("/v2/orders/{}", t["id"].as_str().unwrap());
    assert_eq!(fresh.get(&path).await.json()["filled_qty"], "1");
}

#[tokio::test(start_paused = true)]
async fn control_surface_steers_and_reports() {
    let c = alpaca("");
    let put = c
        .send(
            Method::PUT,
            "/_sim/faults",
            "application/toml",
            "[[rules]]\nfault = { kind = \"outage\" }",
        )
        .await;
    assert_eq!(put.json(), json!({"ok": true, "rules": 1}));
    assert_eq!(
        c.get("/v2/account").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        c.send(Method::PUT, "/_sim/faults", "application/toml", "")
            .await
            .json()["rules"],
        0
    );
    let bad = c
        .send(
            Method::PUT,
            "/_sim/faults",
            "application/toml",
            "[[rules]]\nfault = { kind = \"meteor\" }",
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        c.post_json("/_sim/price", r#"{"symbol":"AAPL","price":"150.00"}"#)
            .await
            .status,
        StatusCode::OK
    );
    let id = c.post_json("/v2/orders", SUBMIT).await.json()["id"].clone();
    tokio::time::advance(std::time::Duration::from_millis(300)).await;
    let o = c
        .get(&format!("/v2/orders/{}", id.as_str().unwrap()))
        .await
        .json();
    let px: rust_decimal::Decimal = o["filled_avg_price"].as_str().unwrap().parse().unwrap();
    assert!(
        (px - rust_decimal::Decimal::from(150)).abs() < rust_decimal::Decimal::ONE,
        "{px}"
    );
    let before = c.get("/v2/clock").await.json()["timestamp"].clone();
    c.post_json("/_sim/advance", r#"{"ms": 3600000}"#).await;
    assert_ne!(c.get("/v2/clock").await.json()["timestamp"], before);
    assert_eq!(
        c.post_json("/_sim/advance", r#"{"ms": -1}"#).await.status,
        StatusCode::BAD_REQUEST
    );
    let events = c.get("/_sim/events?since=0").await.json();
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"]["type"] == "fill"));
    c.post_json("/_sim/reset", "").await;
    assert_eq!(ledger_orders(&c).await, 0);
}

#[tokio::test(start_paused = true)]
async fn the_same_seed_gives_the_same_answers() {
    async fn session(seed: u64) -> Vec<String> {
        let c = Client::authed("alpaca", seed, plan("[[rules]]\nprobability = 0.5\nfault = { kind = \"latency\", min_ms = 1, max_ms = 90 }\n[[rules]]\nprobability = 0.3\noperations = [\"get_order\"]\nfault = { kind = \"outage\" }"));
        let mut out = Vec::new();
        for i in 0..8 {
            let r = c
                .post_json("/v2/orders", &SUBMIT.replace("c-1", &format!("c-{i}")))
                .await;
            out.push(r.text.clone());
            let id = r.json()["id"].as_str().unwrap_or_default().to_string();
            tokio::time::advance(std::time::Duration::from_millis(400)).await;
            out.push(format!(
                "{} {}",
                c.get(&format!("/v2/orders/{id}")).await.status,
                c.get("/v2/positions").await.text
            ));
        }
        out
    }
    let a = session(11).await;
    assert_eq!(a, session(11).await);
    assert_ne!(a, session(12).await);
}

/// A rate-limit reset is a timestamp in the model's simulated time; the
/// `Date` header is too, so a client turns the two into the right wait
/// whatever its own wall clock says.
#[tokio::test(start_paused = true)]
async fn answers_are_dated_in_simulated_time() {
    for broker in ["alpaca", "tradier"] {
        let c = common::Client::authed(broker, 1, FaultPlan::default());
        let path = if broker == "alpaca" {
            "/v2/account"
        } else {
            "/v1/accounts/VA00000001/balances"
        };
        let r = c.get(path).await;
        let date = r
            .headers
            .get("date")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(date, "Mon, 05 Jan 2026 15:00:00 GMT", "{broker}");
        let unknown = c.get("/no/such/route").await;
        assert!(
            unknown.headers.contains_key("date"),
            "{broker}: errors are dated too"
        );
    }
}

/// Every fault the plan applied is on record, in order, for traces.
#[tokio::test(start_paused = true)]
async fn applied_faults_are_logged_for_traces() {
    let c = alpaca(
        "[[rules]]\noperations = [\"submit_order\"]\nfault = { kind = \"outage\" }\n\
         [[rules]]\noperations = [\"account\"]\nfault = { kind = \"latency\", min_ms = 5, max_ms = 5 }",
    );
    assert_eq!(
        c.post_json("/v2/orders", SUBMIT).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(c.get("/v2/account").await.status, StatusCode::OK);
    assert_eq!(c.get("/v2/positions").await.status, StatusCode::OK);
    let log = c.get("/_sim/faults").await.json();
    let log = log.as_array().expect("a list of applied faults");
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0]["operation"], "submit_order");
    assert_eq!(log[0]["fault"], "outage (status)");
    assert_eq!(log[1]["operation"], "account");
    assert_eq!(log[1]["fault"], "latency 5ms");
}

/// Fills collected together each carry the position right after them, not
/// the position at collection time.
#[tokio::test(start_paused = true)]
async fn each_fill_event_carries_its_own_position() {
    let c = alpaca("");
    let body = r#"{"symbol":"AAPL","qty":"3","side":"buy","type":"market","time_in_force":"day","client_order_id":"sim-partial-batch"}"#;
    assert_eq!(c.post_json("/v2/orders", body).await.status, StatusCode::OK);
    // Jump past several market events at once: their fills are collected in one batch.
    assert_eq!(
        c.post_json("/_sim/advance", r#"{"ms": 5000}"#).await.status,
        StatusCode::OK
    );
    let events = c.get("/_sim/events").await.json();
    let positions: Vec<String> = events
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"]["type"] == "fill")
        .map(|e| {
            e["kind"]["position_quantity"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(positions, ["1", "2", "3"]);
    let log = c.get("/_sim/faults").await.json();
    assert_eq!(
        log[0]["fault"],
        "per-request trigger: fills sliced to 1 per market event"
    );
}

/// Orders picked out by symbol, side, quantity or ordinal, with no client
/// order id involved (Schwab has none).
#[tokio::test(start_paused = true)]
async fn order_rules_steer_orders_without_a_client_order_id() {
    let c = alpaca(
        "[[rules]]\norder = { nth = 2 }\nfault = { kind = \"lost_response\" }\n\
         [[rules]]\norder = { symbol = \"MSFT\", quantity = \"7\" }\nfault = { kind = \"reject\", reason = \"picked\" }",
    );
    let order = |symbol: &str, qty: &str, cid: &str| {
        format!(
            r#"{{"symbol":"{symbol}","qty":"{qty}","side":"buy","type":"market","time_in_force":"day","client_order_id":"{cid}"}}"#
        )
    };
    let first = c.post_json("/v2/orders", &order("AAPL", "1", "a")).await;
    assert_eq!(first.status, StatusCode::OK);
    let second = c.post_json("/v2/orders", &order("AAPL", "1", "b")).await;
    assert!(second.dropped, "the 2nd order's answer is lost");
    assert_eq!(ledger_orders(&c).await, 2, "…after it was committed");
    let refused = c.post_json("/v2/orders", &order("MSFT", "7", "c")).await;
    assert_eq!(refused.status.as_u16() / 100, 4, "MSFT x7 is refused");
    let other = c.post_json("/v2/orders", &order("MSFT", "8", "d")).await;
    assert_eq!(other.status, StatusCode::OK, "MSFT x8 is not picked out");
    let log = c.get("/_sim/faults").await.json();
    let faults: Vec<String> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fault"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        faults.contains(&"order #2 picked out: response lost after commit".to_string()),
        "{faults:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_control_surface_steers_the_next_order() {
    let c = alpaca("");
    let r = c
        .post_json("/_sim/steer", r#"{"fault":{"kind":"lost_response"}}"#)
        .await;
    assert_eq!(r.json()["nth"], 1);
    assert!(c.post_json("/v2/orders", SUBMIT).await.dropped);
    let bad = c
        .post_json("/_sim/steer", r#"{"fault":{"kind":"outage"}}"#)
        .await;
    assert_eq!(
        bad.status,
        StatusCode::BAD_REQUEST,
        "only order-level faults"
    );
}
