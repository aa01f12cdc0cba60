//! The SnapTrade adapter against vendor-shaped answers (snaptrade.md §2,
//! §4, §5, §6): every body of `test_data/snaptrade/`, each request's
//! signature recomputed by the server side of every test (`Signed`), the
//! first state of a submit, a lost submit reconciled by listing (found,
//! ambiguous, absent), cancels, every error kind, and polled updates.
//! Only deliberately broken bodies are written here.

mod common;

use std::time::Duration;

use adapters::snaptrade::{SnapTradeAdapter, SnapTradeConfig, SnapTradeSource};
use adapters::{
    BrokerAdapter, CancelStatus, ErrorKind, Instrument, Order, OrderStatus, OrderType,
    ReadOnlySource, Side, TransactionKind,
};
use base64::Engine;
use common::{json_body, Stopped, NOW_MS};
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use sha2::Sha256;
use wiremock::matchers::{body_string, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, Request};

const ACCT: &str = "917c8734-8470-4a3e-a18f-57c3f2ee6631";
const CLIENT_ID: &str = "RAXXTEST";
const CONSUMER_KEY: &str = "test-consumer-key";
const USER_ID: &str = "raxx-user-1";
const USER_SECRET: &str = "adf2aa34-8219-40f7-a6b3-60156985cc61";

/// The server side of SnapTrade's signing (§2), written apart from the
/// adapter's: the query must start with the user's credentials and end
/// with the client id and the clock's timestamp, and `Signature` must be
/// the HMAC of the canonical JSON of the body (parsed; `{}` or none is
/// null), the path less the mount prefix, and the raw query.
struct Signed {
    mount: &'static str,
}

impl wiremock::Match for Signed {
    fn matches(&self, req: &Request) -> bool {
        let Some(query) = req.url.query() else {
            return false;
        };
        let head = format!("userId={USER_ID}&userSecret={USER_SECRET}&");
        let tail = format!("&clientId={CLIENT_ID}&timestamp={}", NOW_MS / 1000);
        if !query.starts_with(&head) || !query.ends_with(&tail) {
            return false;
        }
        let Some(path) = req.url.path().strip_prefix(self.mount) else {
            return false;
        };
        let content = if req.body.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice::<Value>(&req.body) {
                Ok(v) if v == json!({}) => Value::Null,
                Ok(v) => v,
                Err(_) => return false,
            }
        };
        // serde_json's map is sorted: `to_string` is the canonical form.
        let message = json!({"content": content, "path": path, "query": query}).to_string();
        let mut mac = Hmac::<Sha256>::new_from_slice(CONSUMER_KEY.as_bytes()).unwrap();
        mac.update(message.as_bytes());
        let expected =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        req.headers
            .get("Signature")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == expected)
    }
}

fn config(base_url: String) -> SnapTradeConfig {
    SnapTradeConfig {
        base_url,
        client_id: CLIENT_ID.into(),
        consumer_key: CONSUMER_KEY.into(),
        user_id: USER_ID.into(),
        user_secret: USER_SECRET.into(),
        account_id: ACCT.into(),
    }
}

fn adapter(server: &MockServer) -> SnapTradeAdapter {
    let setup = common::setup(Stopped(NOW_MS), Duration::from_millis(300));
    SnapTradeAdapter::new(config(server.uri()), setup)
}

fn fixture(name: &str) -> String {
    common::fixture("snaptrade", name)
}

fn fixture_json(name: &str) -> Value {
    common::fixture_json("snaptrade", name)
}

fn account(rest: &str) -> String {
    format!("/accounts/{ACCT}{rest}")
}

/// A mock for a signed request (every mock here is one: a request whose
/// signature does not verify matches nothing and is answered 404).
fn signed(verb: &str, p: &str) -> MockBuilder {
    Mock::given(method(verb))
        .and(path(p))
        .and(Signed { mount: "" })
}

async fn details(server: &MockServer, id: &str, body: &str) {
    signed("POST", &account("/orders/details"))
        .and(body_string(format!(r#"{{"brokerage_order_id":"{id}"}}"#)))
        .respond_with(json_body(200, body))
        .mount(server)
        .await;
}

async fn recent(server: &MockServer, orders: &[Value]) {
    signed("GET", &account("/recentOrders"))
        .and(query_param("only_executed", "false"))
        .respond_with(json_body(200, &json!({ "orders": orders }).to_string()))
        .mount(server)
        .await;
}

fn quantity(v: &Value) -> Decimal {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn every_order_fixture_maps_to_the_contract() {
    let server = MockServer::start().await;
    let a = adapter(&server);
    let cases = [
        ("order_pending.json", OrderStatus::Pending, dec!(0), None),
        (
            "order_accepted_limit.json",
            OrderStatus::Accepted,
            dec!(0),
            None,
        ),
        (
            "order_partial.json",
            OrderStatus::PartiallyFilled,
            dec!(4),
            Some(dec!(189.25)),
        ),
        (
            "order_executed.json",
            OrderStatus::Filled,
            dec!(10),
            Some(dec!(189.31)),
        ),
        ("order_canceled.json", OrderStatus::Canceled, dec!(0), None),
        (
            "order_partial_canceled.json",
            OrderStatus::Canceled,
            dec!(3),
            Some(dec!(191.10)),
        ),
        (
            "order_cancel_pending.json",
            OrderStatus::PendingCancel,
            dec!(0),
            None,
        ),
        ("order_rejected.json", OrderStatus::Rejected, dec!(0), None),
        ("order_expired.json", OrderStatus::Expired, dec!(0), None),
        (
            "order_triggered_stop.json",
            OrderStatus::Accepted,
            dec!(0),
            None,
        ),
    ];
    for (name, status, filled, average) in cases {
        let body = fixture_json(name);
        let id = body["brokerage_order_id"].as_str().unwrap();
        details(&server, id, &body.to_string()).await;
        let r = a
            .get_order(id)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (r.status, r.filled_quantity, r.average_fill_price),
            (status, filled, average),
            "{name}"
        );
        assert_eq!(r.broker_status, body["status"].as_str().unwrap(), "{name}");
        // What is neither filled nor canceled is what remains.
        assert_eq!(
            r.remaining_quantity,
            quantity(&body["total_quantity"])
                - quantity(&body["filled_quantity"])
                - quantity(&body["canceled_quantity"]),
            "{name}"
        );
        assert_eq!(r.reject_reason.is_some(), status == OrderStatus::Rejected);
    }
}

#[tokio::test]
async fn account_positions_and_the_age_of_holdings() {
    let server = MockServer::start().await;
    signed("GET", &account(""))
        .respond_with(json_body(200, &fixture("account.json")))
        .mount(&server)
        .await;
    signed("GET", &account("/balances"))
        .respond_with(json_body(200, &fixture("balances.json")))
        .mount(&server)
        .await;
    signed("GET", &account("/positions/all"))
        .respond_with(json_body(200, &fixture("positions_all.json")))
        .mount(&server)
        .await;
    let a = adapter(&server);
    let acct = a.get_account().await.unwrap();
    assert_eq!(
        (
            acct.account_id.as_str(),
            acct.cash,
            acct.buying_power,
            acct.equity
        ),
        (ACCT, dec!(8945.12), dec!(17890.24), dec!(27893.45))
    );
    let h = a.get_holdings().await.unwrap();
    assert_eq!(h.as_of.as_deref(), Some("2026-01-05T14:30:02.104221Z"));
    let got: Vec<_> = h
        .positions
        .iter()
        .map(|p| (p.instrument.to_string(), p.quantity, p.average_price))
        .collect();
    // The money-market fund is not expressible in the contract (and is in cash).
    assert_eq!(
        got,
        [
            ("AAPL".to_string(), dec!(10), dec!(185.04)),
            ("SPY".to_string(), dec!(3), dec!(591.22)),
            ("AAPL  261218C00240000".to_string(), dec!(2), dec!(4.5)),
        ]
    );
    assert!(h.positions.iter().all(|p| p.account_id == ACCT));
    assert!(h.positions[2].instrument.is_option());
    assert_eq!(a.get_positions().await.unwrap(), h.positions);
}

#[tokio::test]
async fn an_answer_for_another_account_or_without_usd_is_refused() {
    for (id, balances, says) in [
        (
            "00000000-0000-4000-8000-000000000000",
            fixture_json("balances.json"),
            "00000000",
        ),
        (ACCT, json!([fixture_json("balances.json")[1]]), "no USD"),
    ] {
        let server = MockServer::start().await;
        let mut doc = fixture_json("account.json");
        doc["id"] = json!(id);
        signed("GET", &account(""))
            .respond_with(json_body(200, &doc.to_string()))
            .mount(&server)
            .await;
        signed("GET", &account("/balances"))
            .respond_with(json_body(200, &balances.to_string()))
            .mount(&server)
            .await;
        let e = adapter(&server).get_account().await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unknown);
        assert!(e.message.contains(says), "{e}");
    }
}

#[tokio::test]
async fn submit_answers_the_first_state_and_never_a_fill() {
    let server = MockServer::start().await;
    signed("POST", "/trade/place")
        .and(body_string(format!(
            r#"{{"account_id":"{ACCT}","action":"BUY","order_type":"Market","symbol":"AAPL","time_in_force":"Day","units":10}}"#
        )))
        .respond_with(json_body(200, &fixture("order_pending.json")))
        .expect(1)
        .mount(&server)
        .await;
    // Were the order read back, it would read filled.
    signed("POST", &account("/orders/details"))
        .respond_with(json_body(200, &fixture("order_executed.json")))
        .expect(0)
        .mount(&server)
        .await;
    let r = adapter(&server)
        .submit_order(&Order::market("intent-1", "AAPL", Side::Buy, dec!(10)))
        .await
        .unwrap();
    assert_eq!(
        (
            r.broker_order_id.as_str(),
            r.client_order_id.as_str(),
            r.status,
            r.filled_quantity,
            r.remaining_quantity,
            r.average_fill_price,
            r.broker_status.as_str()
        ),
        (
            "SNAP-100001",
            "intent-1",
            OrderStatus::Pending,
            dec!(0),
            dec!(10),
            None,
            "PENDING"
        )
    );
}

#[tokio::test]
async fn the_same_intent_is_the_same_order_and_limits_carry_their_digits() {
    let server = MockServer::start().await;
    signed("POST", "/trade/place")
        .and(body_string(format!(
            r#"{{"account_id":"{ACCT}","action":"SELL","order_type":"StopLimit","price":425.5,"stop":426.05,"symbol":"MSFT","time_in_force":"GTC","units":5}}"#
        )))
        .respond_with(json_body(200, &fixture("order_accepted_limit.json")))
        .expect(1)
        .mount(&server)
        .await;
    details(
        &server,
        "SNAP-100002",
        &fixture("order_accepted_limit.json"),
    )
    .await;
    let a = adapter(&server);
    let order = Order {
        order_type: OrderType::StopLimit,
        stop_price: Some(dec!(426.050)),
        time_in_force: adapters::TimeInForce::Gtc,
        ..Order::limit("intent-2", "MSFT", Side::Sell, dec!(5), dec!(425.50))
    };
    assert_eq!(
        a.submit_order(&order).await.unwrap().broker_order_id,
        "SNAP-100002"
    );
    // Sent once (`expect(1)`): the repeat reads the order it became.
    let again = a.submit_order(&order).await.unwrap();
    assert_eq!(
        (
            again.broker_order_id.as_str(),
            again.client_order_id.as_str()
        ),
        ("SNAP-100002", "intent-2")
    );
}

#[tokio::test]
async fn what_snaptrade_cannot_take_is_refused_before_any_request() {
    let server = MockServer::start().await;
    let a = adapter(&server);
    // An option that neither opens nor closes is not an order at all.
    let option = Order {
        instrument: Instrument::option("AAPL  261218C00240000".parse().unwrap()),
        ..Order::market("o", "AAPL", Side::Buy, dec!(1))
    };
    let e = a.submit_order(&option).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest, "{e}");
    let e = a
        .submit_order(&Order::market("f", "AAPL", Side::Buy, dec!(0.5)))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported, "{e}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// A place whose answer comes too late for the adapter (it is lost).
async fn lost_place(server: &MockServer) {
    signed("POST", "/trade/place")
        .respond_with(
            json_body(200, &fixture("order_pending.json")).set_delay(Duration::from_secs(2)),
        )
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_lost_submit_is_found_by_listing_not_resent() {
    let server = MockServer::start().await;
    lost_place(&server).await;
    // The recorded list (a MSFT limit, a partial AAPL limit, a canceled
    // MSFT, the executed BUY 10 AAPL Market Day) and two more AAPL
    // market buys: one of 11 units, one of 10 placed before the submit.
    let mut list = fixture_json("recent_orders.json")["orders"]
        .as_array()
        .unwrap()
        .clone();
    let mut eleven = fixture_json("order_executed.json");
    eleven["brokerage_order_id"] = json!("SNAP-199911");
    eleven["total_quantity"] = json!("11");
    let mut earlier = fixture_json("order_executed.json");
    earlier["brokerage_order_id"] = json!("SNAP-199900");
    earlier["time_placed"] = json!("2026-01-05T14:58:59.000000Z");
    list.extend([eleven, earlier]);
    recent(&server, &list).await;
    let r = adapter(&server)
        .submit_order(&Order::market("intent-lost", "AAPL", Side::Buy, dec!(10)))
        .await
        .unwrap();
    assert_eq!(
        (
            r.broker_order_id.as_str(),
            r.client_order_id.as_str(),
            r.status
        ),
        ("SNAP-100004", "intent-lost", OrderStatus::Filled)
    );
}

#[tokio::test]
async fn a_lookup_against_a_snaptrade_that_is_down_is_retried_once_over() {
    let server = MockServer::start().await;
    lost_place(&server).await;
    // The listing fails every time: the lookup is retried as a whole, each
    // try one request, never retries inside retries.
    signed("GET", &account("/recentOrders"))
        .respond_with(json_body(
            503,
            r#"{"detail":"down","status_code":503,"code":"1000"}"#,
        ))
        .expect(1..=4)
        .mount(&server)
        .await;
    let e = adapter(&server)
        .submit_order(&Order::market("intent-down", "AAPL", Side::Buy, dec!(10)))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e}");
}

#[tokio::test]
async fn two_identical_candidates_are_ambiguous_and_nothing_is_resent() {
    let server = MockServer::start().await;
    lost_place(&server).await;
    let mut twin = fixture_json("order_executed.json");
    twin["brokerage_order_id"] = json!("SNAP-100044");
    recent(&server, &[fixture_json("order_executed.json"), twin]).await;
    let e = adapter(&server)
        .submit_order(&Order::market("intent-twins", "AAPL", Side::Buy, dec!(10)))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e}");
    assert!(
        e.message.contains("SNAP-100004") && e.message.contains("SNAP-100044"),
        "{e}"
    );
}

#[tokio::test]
async fn an_absent_order_after_a_5xx_is_sent_again_once() {
    let server = MockServer::start().await;
    signed("POST", "/trade/place")
        .respond_with(json_body(500, &fixture("error_500.json")))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    signed("POST", "/trade/place")
        .respond_with(json_body(200, &fixture("order_pending.json")))
        .expect(1)
        .mount(&server)
        .await;
    signed("GET", &account("/recentOrders"))
        .respond_with(json_body(200, &fixture("recent_orders_empty.json")))
        .expect(1)
        .mount(&server)
        .await;
    let r = adapter(&server)
        .submit_order(&Order::market("intent-500", "AAPL", Side::Buy, dec!(10)))
        .await
        .unwrap();
    assert_eq!(r.broker_order_id, "SNAP-100001");
}

#[tokio::test]
async fn cancels_read_the_order_back() {
    let server = MockServer::start().await;
    signed("POST", &account("/trading/cancel"))
        .and(body_string(r#"{"brokerage_order_id":"SNAP-100007"}"#))
        .respond_with(json_body(200, &fixture("cancel_response.json")))
        .expect(1)
        .mount(&server)
        .await;
    details(
        &server,
        "SNAP-100007",
        &fixture("order_cancel_pending.json"),
    )
    .await;
    let a = adapter(&server);
    assert_eq!(
        a.cancel_order("SNAP-100007").await.unwrap().status,
        CancelStatus::PendingCancel
    );

    // Refused (400): a filled order is too late, a canceled one a success,
    // a working one (the brokerage will not cancel it) rejected.
    for (id, fixture_name) in [
        ("SNAP-100004", "order_executed.json"),
        ("SNAP-100005", "order_canceled.json"),
        ("SNAP-100010", "order_triggered_stop.json"),
    ] {
        signed("POST", &account("/trading/cancel"))
            .and(body_string(format!(r#"{{"brokerage_order_id":"{id}"}}"#)))
            .respond_with(json_body(400, &fixture("error_400_cancel.json")))
            .mount(&server)
            .await;
        details(&server, id, &fixture(fixture_name)).await;
    }
    let e = a.cancel_order("SNAP-100004").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLateToCancel);
    assert!(e.message.contains("EXECUTED"), "{e}");
    assert_eq!(
        a.cancel_order("SNAP-100005").await.unwrap().status,
        CancelStatus::Canceled
    );
    let e = a.cancel_order("SNAP-100010").await.unwrap_err();
    assert_eq!(
        (e.kind, e.broker_code.as_deref()),
        (ErrorKind::Rejected, Some("1076"))
    );
    assert!(e.message.contains("TRIGGERED"), "{e}");
    assert_eq!(
        a.cancel_order("").await.unwrap_err().kind,
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn a_broken_connection_and_a_failing_brokerage_are_named() {
    let server = MockServer::start().await;
    signed("GET", &account(""))
        .respond_with(json_body(200, &fixture("account.json")))
        .mount(&server)
        .await;
    signed("GET", &account("/balances"))
        .respond_with(json_body(200, &fixture("balances.json")))
        .mount(&server)
        .await;
    signed("POST", "/trade/place")
        .respond_with(json_body(402, &fixture("error_402_disabled.json")))
        .expect(1)
        .mount(&server)
        .await;
    signed("GET", &account("/positions/all"))
        .respond_with(json_body(503, &fixture("error_503_brokerage.json")))
        .mount(&server)
        .await;
    let a = adapter(&server);
    a.get_account().await.unwrap();
    let e = a
        .submit_order(&Order::market("intent-402", "AAPL", Side::Buy, dec!(1)))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.broker_code.as_deref()),
        (ErrorKind::ReauthRequired, Some("3003"))
    );
    assert!(
        e.message.contains("Schwab") && e.message.contains("reconnect"),
        "{e}"
    );
    let e = a.get_positions().await.unwrap_err();
    assert_eq!(
        (e.kind, e.broker_code.as_deref()),
        (ErrorKind::Unavailable, Some("3002"))
    );
    assert!(
        e.message
            .contains("Schwab (the brokerage behind SnapTrade)"),
        "{e}"
    );
}

#[tokio::test]
async fn every_error_status_has_its_kind() {
    let server = MockServer::start().await;
    let a = adapter(&server);
    let reads = [
        (
            401,
            "error_401_signature.json",
            ErrorKind::ReauthRequired,
            Some("1076"),
        ),
        (
            401,
            "error_401_user.json",
            ErrorKind::ReauthRequired,
            Some("1083"),
        ),
        (
            403,
            "error_403_feature.json",
            ErrorKind::Unsupported,
            Some("1141"),
        ),
        (404, "error_404.json", ErrorKind::NotFound, Some("1011")),
        (425, "error_425.json", ErrorKind::Unavailable, Some("3012")),
        (500, "error_500.json", ErrorKind::Unavailable, Some("1000")),
        (501, "error_501.json", ErrorKind::Unsupported, None),
        (
            503,
            "error_503_brokerage.json",
            ErrorKind::Unavailable,
            Some("3002"),
        ),
    ];
    for (n, (status, body, kind, code)) in reads.into_iter().enumerate() {
        let id = format!("E-{n}");
        server.reset().await;
        signed("POST", &account("/orders/details"))
            .and(body_string(format!(r#"{{"brokerage_order_id":"{id}"}}"#)))
            .respond_with(json_body(status, &fixture(body)))
            .mount(&server)
            .await;
        let e = a.get_order(&id).await.unwrap_err();
        assert_eq!(
            (e.kind, e.broker_code.as_deref()),
            (kind, code),
            "{body}: {e}"
        );
    }
    let orders = [
        (400, "error_400_order.json", ErrorKind::Rejected),
        (403, "error_403_trading.json", ErrorKind::ReadOnly),
    ];
    for (units, (status, body, kind)) in (1..).zip(orders) {
        server.reset().await;
        signed("POST", "/trade/place")
            .respond_with(json_body(status, &fixture(body)))
            .expect(1)
            .mount(&server)
            .await;
        let e = a
            .submit_order(&Order::market(
                &format!("refused-{units}"),
                "AAPL",
                Side::Buy,
                Decimal::from(units),
            ))
            .await
            .unwrap_err();
        assert_eq!(e.kind, kind, "{body}: {e}");
        if kind == ErrorKind::Rejected {
            assert!(e.message.contains("Insufficient buying power"), "{e}");
        }
    }
    server.reset().await;
    signed("POST", &account("/orders/details"))
        .respond_with(json_body(
            200,
            r#"{"brokerage_order_id":"X","status":"FILLED","total_quantity":"1"}"#,
        ))
        .mount(&server)
        .await;
    assert_eq!(a.get_order("X").await.unwrap_err().kind, ErrorKind::Unknown);
}

#[tokio::test]
async fn a_rate_limit_says_when_to_come_back() {
    let server = MockServer::start().await;
    signed("GET", &account("/recentOrders"))
        .respond_with(json_body(429, &fixture("error_429.json")).insert_header("Retry-After", "20"))
        .mount(&server)
        .await;
    let e = adapter(&server).order_updates().await.err().unwrap();
    assert_eq!(
        (e.kind, e.retry_after_ms, e.broker_code.as_deref()),
        (ErrorKind::RateLimited, Some(20_000), Some("0000"))
    );
}

#[tokio::test]
async fn a_base_url_with_a_path_sends_it_and_signs_without_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/mount{}", account("/positions/all"))))
        .and(Signed { mount: "/mount" })
        .respond_with(json_body(200, &fixture("positions_all.json")))
        .expect(1)
        .mount(&server)
        .await;
    let setup = common::setup(Stopped(NOW_MS), Duration::from_millis(300));
    let a = SnapTradeAdapter::new(config(format!("{}/mount/", server.uri())), setup);
    assert_eq!(a.get_positions().await.unwrap().len(), 3);
    let debug = format!("{a:?}");
    assert!(
        !debug.contains(CONSUMER_KEY) && !debug.contains(USER_SECRET),
        "{debug}"
    );
}

#[tokio::test]
async fn order_updates_poll_recent_orders_and_report_changes() {
    use futures_util::StreamExt;
    let server = MockServer::start().await;
    let working = fixture_json("order_partial.json");
    let mut filled = working.clone();
    filled["status"] = json!("EXECUTED");
    filled["filled_quantity"] = json!("10");
    filled["open_quantity"] = json!("0");
    signed("GET", &account("/recentOrders"))
        .respond_with(json_body(200, &json!({ "orders": [working] }).to_string()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    signed("GET", &account("/recentOrders"))
        .respond_with(json_body(200, &json!({ "orders": [filled] }).to_string()))
        .mount(&server)
        .await;
    let mut updates = adapter(&server).order_updates().await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(15), updates.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            next.broker_order_id.as_str(),
            next.status,
            next.filled_quantity
        ),
        ("SNAP-100003", OrderStatus::Filled, dec!(10))
    );
}

fn source(server: &MockServer, page_size: usize) -> SnapTradeSource {
    let setup = common::setup(Stopped(NOW_MS), Duration::from_millis(300));
    SnapTradeSource::new(config(server.uri()), setup, page_size)
}

/// One page of `activities.json`'s entries, `from..from + n`, with a total.
fn activities_page(from: usize, n: usize, total: usize) -> String {
    let all = fixture_json("activities.json");
    let rows: Vec<Value> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .skip(from)
        .take(n)
        .cloned()
        .collect();
    json!({ "data": rows, "pagination": { "offset": from, "limit": n, "total": total } })
        .to_string()
}

#[tokio::test]
async fn activities_are_transactions_in_the_contract_s_signs() {
    let server = MockServer::start().await;
    signed("GET", &account("/activities"))
        .and(query_param("startDate", "2025-01-01"))
        .and(query_param("endDate", "2026-01-06"))
        .and(query_param("offset", "0"))
        .and(query_param("limit", "1000"))
        .respond_with(json_body(200, &fixture("activities.json")))
        .expect(1)
        .mount(&server)
        .await;
    let s = source(&server, 1000);
    assert!(s.describe().capabilities.read_only);
    assert_eq!(
        s.describe().history_lag_days,
        1,
        "activities are a day late"
    );
    let t = s
        .get_transactions("2025-01-01", "2026-01-06")
        .await
        .unwrap();
    assert_eq!(t.len(), 4);
    let sell = &t[0];
    assert_eq!(sell.kind, TransactionKind::Sell);
    assert_eq!(sell.date, "2026-01-05");
    assert_eq!(sell.instrument, Some(Instrument::equity("AAPL")));
    // Units unsigned whatever the brokerage's sign; cash in is positive.
    assert_eq!(sell.quantity, dec!(14));
    assert_eq!(sell.price, Some(dec!(194.84)));
    assert_eq!(sell.amount, dec!(2727.67));
    assert_eq!(sell.fees, dec!(0.09));
    let option = &t[1];
    assert_eq!(option.kind, TransactionKind::Buy);
    assert_eq!(
        option.instrument.as_ref().map(ToString::to_string),
        Some("AAPL  261218C00240000".to_string())
    );
    assert_eq!(option.amount, dec!(-410.65));
    let dividend = &t[2];
    assert_eq!(dividend.kind, TransactionKind::Dividend);
    assert_eq!(
        dividend.price, None,
        "a dividend of zero price is cash only"
    );
    let deposit = &t[3];
    assert_eq!(deposit.kind, TransactionKind::Transfer);
    assert_eq!(deposit.instrument, None);
    assert_eq!(deposit.amount, dec!(25000));
    assert!(t.iter().all(|x| x.account_id == ACCT));
}

#[tokio::test]
async fn activities_are_read_page_by_page_and_again_when_the_history_moves() {
    let server = MockServer::start().await;
    // First attempt: the history grows between the two pages (a day's
    // sync landed): the import starts again rather than skip or repeat.
    signed("GET", &account("/activities"))
        .and(query_param("offset", "0"))
        .respond_with(json_body(200, &activities_page(0, 2, 3)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    signed("GET", &account("/activities"))
        .and(query_param("offset", "0"))
        .respond_with(json_body(200, &activities_page(0, 2, 4)))
        .mount(&server)
        .await;
    signed("GET", &account("/activities"))
        .and(query_param("offset", "2"))
        .and(query_param("limit", "2"))
        .respond_with(json_body(200, &activities_page(2, 2, 4)))
        .mount(&server)
        .await;
    let t = source(&server, 2)
        .get_transactions("2025-01-01", "2026-01-06")
        .await
        .unwrap();
    let ids: Vec<&str> = t.iter().map(|x| &x.transaction_id[34..]).collect();
    assert_eq!(ids, ["50", "51", "52", "53"]);
    let asked: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "offset")
                .map(|(_, v)| v.to_string())
        })
        .collect();
    assert_eq!(asked, ["0", "2", "0", "2"]);
}

#[tokio::test]
async fn a_history_that_never_holds_still_is_unavailable() {
    let server = MockServer::start().await;
    for (offset, total) in [("0", 3), ("2", 4)] {
        signed("GET", &account("/activities"))
            .and(query_param("offset", offset))
            .respond_with(json_body(200, &activities_page(0, 2, total)))
            .mount(&server)
            .await;
    }
    let e = source(&server, 2)
        .get_transactions("2025-01-01", "2026-01-06")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable, "{e:?}");
}
