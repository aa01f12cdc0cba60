//! The tastytrade adapter against vendor-shaped answers (tastytrade.md
//! §1-§8): every fixture of `test_data/tastytrade/` parsed to the contract,
//! the OAuth refresh on a refused token and a refused refresh, price effects
//! both ways, every error kind, a lost submit reconciled by
//! external-identifier, a replace under a new id, and the account streamer
//! (a websocket served here). Only deliberately changed bodies are written
//! in this file; the rest are the fixtures the simulated tastytrade's
//! answers are checked against too.

mod common;

use std::time::Duration;

use adapters::http::{HttpSetup, SystemClock};
use adapters::tastytrade::{TastytradeAdapter, TastytradeConfig};
use adapters::{
    BrokerAdapter, CancelStatus, ErrorKind, Instrument, Leg, Order, OrderStatus, OrderType,
    PositionEffect, Replace, Side, TimeInForce,
};
use common::json_body;
use futures_util::{SinkExt, StreamExt};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ACCT: &str = "5WT00001";
const ACCESS: &str = "access-0";
const REFRESH: &str = "refresh-secret";
const SECRET: &str = "client-secret";

fn setup() -> HttpSetup {
    common::setup(SystemClock, Duration::from_millis(400))
}

fn adapter_with(server: &MockServer, streamer_url: String) -> TastytradeAdapter {
    TastytradeAdapter::new(
        TastytradeConfig {
            base_url: server.uri(),
            streamer_url,
            account_id: ACCT.into(),
            refresh_token: REFRESH.into(),
            client_secret: SECRET.into(),
            client_id: None,
            access_token: Some(ACCESS.into()),
        },
        setup(),
    )
}

fn adapter(server: &MockServer) -> TastytradeAdapter {
    adapter_with(server, "ws://127.0.0.1:9".into())
}

fn fixture(name: &str) -> String {
    common::fixture("tastytrade", name)
}

fn fixture_json(name: &str) -> Value {
    common::fixture_json("tastytrade", name)
}

fn order_path(id: &str) -> String {
    format!("/accounts/{ACCT}/orders/{id}")
}

/// Serves `body` as order `id` and reads it through the adapter.
async fn read(body: &Value) -> adapters::OrderResult {
    let server = MockServer::start().await;
    let id = body["id"].to_string();
    Mock::given(method("GET"))
        .and(path(order_path(&id)))
        .respond_with(json_body(
            200,
            &json!({"data": body, "context": ""}).to_string(),
        ))
        .mount(&server)
        .await;
    adapter(&server).get_order(&id).await.unwrap()
}

/// An order body and what it must read as: status, filled and remaining
/// quantities, average fill price and client order id.
type Reading = (
    Value,
    OrderStatus,
    Decimal,
    Decimal,
    Option<Decimal>,
    &'static str,
);

#[tokio::test]
async fn every_order_fixture_maps_to_its_status_quantities_and_price() {
    let cases: Vec<Reading> = vec![
        (
            fixture_json("order_filled.json")["data"].clone(),
            OrderStatus::Filled,
            dec!(1),
            dec!(0),
            Some(dec!(190.31)),
            "raxx-cid-0001",
        ),
        (
            fixture_json("order_partially_filled_live.json")["data"].clone(),
            OrderStatus::PartiallyFilled,
            dec!(2),
            dec!(3),
            Some(dec!(1.5)),
            "sim-partial-1",
        ),
        (
            fixture_json("order_cancel_requested.json")["data"].clone(),
            OrderStatus::PendingCancel,
            dec!(0),
            dec!(1),
            None,
            "",
        ),
        (
            fixture_json("order_cancelled.json")["data"].clone(),
            OrderStatus::Canceled,
            dec!(0),
            dec!(0),
            None,
            "",
        ),
        (
            fixture_json("order_rejected.json")["data"].clone(),
            OrderStatus::Rejected,
            dec!(0),
            dec!(0),
            None,
            "",
        ),
        (
            fixture_json("order_replace_new.json")["data"].clone(),
            OrderStatus::Pending,
            dec!(0),
            dec!(1),
            None,
            "",
        ),
        (
            fixture_json("order_replaced_old.json")["data"].clone(),
            OrderStatus::Replaced,
            dec!(0),
            dec!(0),
            None,
            "",
        ),
        (
            fixture_json("order_option_filled_credit.json")["data"].clone(),
            OrderStatus::Filled,
            dec!(1),
            dec!(0),
            Some(dec!(2.15)),
            "",
        ),
        (
            fixture_json("order_vertical_live.json")["data"].clone(),
            OrderStatus::Accepted,
            dec!(0),
            dec!(1),
            None,
            "",
        ),
        (
            fixture_json("order_submit_limit_live.json")["data"]["order"].clone(),
            OrderStatus::Accepted,
            dec!(0),
            dec!(1),
            None,
            "",
        ),
        (
            fixture_json("order_submit_market_routed.json")["data"]["order"].clone(),
            OrderStatus::Pending,
            dec!(0),
            dec!(1),
            None,
            "raxx-cid-0001",
        ),
        (
            fixture_json("stream_order_routed.json")["data"].clone(),
            OrderStatus::Pending,
            dec!(0),
            dec!(1),
            None,
            "raxx-cid-0001",
        ),
        (
            fixture_json("stream_order_filled.json")["data"].clone(),
            OrderStatus::Filled,
            dec!(1),
            dec!(0),
            Some(dec!(190.31)),
            "raxx-cid-0001",
        ),
    ];
    for (body, status, filled, remaining, average, cid) in cases {
        let r = read(&body).await;
        let word = body["status"].as_str().unwrap();
        assert_eq!(
            (
                r.status,
                r.filled_quantity,
                r.remaining_quantity,
                r.average_fill_price,
                r.client_order_id.as_str(),
                r.broker_status.as_str()
            ),
            (status, filled, remaining, average, cid, word),
            "{body}"
        );
    }
    let rejected = read(&fixture_json("order_rejected.json")["data"]).await;
    assert_eq!(
        rejected.reject_reason.as_deref(),
        Some("Symbol ZZZQ is not tradable")
    );
    for list in ["orders_live.json", "orders_history_page0.json"] {
        for item in fixture_json(list)["data"]["items"].as_array().unwrap() {
            assert!(!read(item).await.broker_status.is_empty());
        }
    }
    let complex = &fixture_json("complex_order_otoco_submit.json")["data"]["complex-order"];
    for child in complex["orders"].as_array().unwrap() {
        assert_eq!(read(child).await.status, OrderStatus::Pending, "Contingent");
    }
}

/// A vertical spread from `order_vertical_live.json`, filled at `prices`,
/// for `effect`.
fn filled_spread(effect: &str, actions: [&str; 2], prices: [&str; 2]) -> Value {
    let mut o = fixture_json("order_vertical_live.json")["data"].clone();
    o["status"] = json!("Filled");
    o["price-effect"] = json!(effect);
    for (i, leg) in o["legs"].as_array_mut().unwrap().iter_mut().enumerate() {
        leg["action"] = json!(actions[i]);
        leg["remaining-quantity"] = json!(0);
        leg["fills"] = json!([{"fill-id": format!("f{i}"), "quantity": 1, "fill-price": prices[i], "filled-at": "2026-01-02T15:10:00.512+00:00"}]);
    }
    o
}

#[tokio::test]
async fn a_spread_takes_its_sign_from_its_legs_and_its_price_effect() {
    // Sell the 600 call at 3.10, buy the 605 at 1.05: a credit of 2.05 per spread.
    let credit = read(&filled_spread(
        "Credit",
        ["Sell to Open", "Buy to Open"],
        ["3.10", "1.05"],
    ))
    .await;
    assert_eq!(
        (credit.status, credit.average_fill_price),
        (OrderStatus::Filled, Some(dec!(2.05)))
    );
    let debit = read(&filled_spread(
        "Debit",
        ["Buy to Open", "Sell to Open"],
        ["3.10", "1.05"],
    ))
    .await;
    assert_eq!(debit.average_fill_price, Some(dec!(2.05)));
    let mut no_effect = filled_spread("Credit", ["Sell to Open", "Buy to Open"], ["3.10", "1.05"]);
    no_effect.as_object_mut().unwrap().remove("price-effect");
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_body(200, &json!({"data": no_effect}).to_string()))
        .mount(&server)
        .await;
    let e = adapter(&server).get_order("310245876").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unknown);
}

#[tokio::test]
async fn unknown_words_and_broken_bodies_are_unknown_errors() {
    let mut partially = fixture_json("order_filled.json")["data"].clone();
    partially["status"] = json!("Partially Filled");
    for body in [
        json!({"data": partially}).to_string(),
        "{\"data\":".to_string(),
        "<html></html>".to_string(),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(json_body(200, &body))
            .mount(&server)
            .await;
        let e = adapter(&server).get_order("310245871").await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unknown, "{body}");
    }
    let server = MockServer::start().await;
    let e = adapter(&server).get_order("../accounts").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn reads_carry_the_bearer_token_the_version_and_a_user_agent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/accounts/{ACCT}/positions")))
        .and(header("authorization", format!("Bearer {ACCESS}").as_str()))
        .and(header("accept-version", "20261012"))
        .and(header("user-agent", "raxx-adapters/0.1"))
        .respond_with(json_body(200, &fixture("positions.json")))
        .mount(&server)
        .await;
    let positions = adapter(&server).get_positions().await.unwrap();
    let quantities: Vec<(Instrument, Decimal, Decimal)> = positions
        .into_iter()
        .map(|p| (p.instrument, p.quantity, p.average_price))
        .collect();
    assert_eq!(
        quantities,
        [
            (Instrument::equity("AAPL"), dec!(1), dec!(190.31)),
            (
                Instrument::option("AAPL  260116C00190000".parse().unwrap()),
                dec!(-1),
                dec!(2.15)
            ),
        ]
    );
    let empty = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_body(200, &fixture("positions_empty.json")))
        .mount(&empty)
        .await;
    assert!(adapter(&empty).get_positions().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_account_is_read_from_the_usd_balance() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/accounts/{ACCT}/balances/USD")))
        .respond_with(json_body(200, &fixture("balances.json")))
        .mount(&server)
        .await;
    let a = adapter(&server).get_account().await.unwrap();
    assert_eq!(
        (a.account_id.as_str(), a.cash, a.buying_power, a.equity),
        (ACCT, dec!(99809.689), dec!(199809.378), dec!(99999.639))
    );
    let mut negative = fixture_json("balances.json");
    negative["data"]["cash-balance"] = json!("-1500.25");
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_body(200, &negative.to_string()))
        .mount(&server)
        .await;
    assert_eq!(
        adapter(&server).get_account().await.unwrap().cash,
        dec!(-1500.25)
    );
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_the_call_sent_again() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("authorization", format!("Bearer {ACCESS}").as_str()))
        .respond_with(json_body(401, &fixture("error_unauthorized.json")))
        .mount(&server)
        .await;
    let token = fixture_json("oauth_token.json");
    let fresh = token["access_token"].as_str().unwrap().to_string();
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_partial_json(json!({"grant_type": "refresh_token", "refresh_token": REFRESH, "client_secret": SECRET})))
        .respond_with(json_body(200, &fixture("oauth_token.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", format!("Bearer {fresh}").as_str()))
        .respond_with(json_body(200, &fixture("balances.json")))
        .mount(&server)
        .await;
    let a = adapter(&server);
    let (x, y) = futures_util::join!(a.get_account(), a.get_account());
    assert!(x.is_ok() && y.is_ok(), "{x:?} {y:?}");
    // The refresh request carries no Authorization header (the SDK strips it too).
    let requests = server.received_requests().await.unwrap();
    let refresh: Vec<&Request> = requests
        .iter()
        .filter(|r| r.url.path() == "/oauth/token")
        .collect();
    assert!(refresh
        .iter()
        .all(|r| !r.headers.contains_key("authorization")));
}

#[tokio::test]
async fn a_refused_refresh_is_reauth_required_and_nothing_more_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_body(401, &fixture("error_unauthorized.json")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(json_body(
            400,
            &fixture("oauth_token_error_invalid_grant.json"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let a = adapter(&server);
    let e = a.get_account().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ReauthRequired);
    assert_eq!(
        a.get_positions().await.unwrap_err().kind,
        ErrorKind::ReauthRequired
    );
    assert!(!format!("{e} {a:?}").contains(REFRESH) && !format!("{a:?}").contains(SECRET));
}

fn credit_spread() -> Order {
    let leg = |occ: &str, side| Leg {
        instrument: Instrument::option(occ.parse().unwrap()),
        side,
        position_effect: Some(PositionEffect::Open),
        ratio_quantity: dec!(1),
    };
    Order {
        client_order_id: "spread-1".into(),
        instrument: Instrument::equity("SPY"),
        side: Side::Sell,
        position_effect: Some(PositionEffect::Open),
        quantity: dec!(1),
        order_type: OrderType::Limit,
        limit_price: Some(dec!(0.45)),
        stop_price: None,
        time_in_force: TimeInForce::Day,
        legs: Some(vec![
            leg("SPY   260116C00600000", Side::Sell),
            leg("SPY   260116C00605000", Side::Buy),
        ]),
        exits: None,
    }
}

#[tokio::test]
async fn submits_send_unsigned_prices_with_their_effect_and_answer_the_first_state() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/accounts/{ACCT}/orders")))
        .and(body_partial_json(json!({"order-type": "Limit", "price": "0.45", "price-effect": "Credit", "time-in-force": "Day",
            "external-identifier": "spread-1", "advanced-instructions": {"strict-position-effect-validation": true},
            "legs": [{"instrument-type": "Equity Option", "symbol": "SPY   260116C00600000", "action": "Sell to Open", "quantity": "1"},
                     {"instrument-type": "Equity Option", "symbol": "SPY   260116C00605000", "action": "Buy to Open", "quantity": "1"}]})))
        .respond_with(json_body(201, &fixture("order_submit_market_routed.json")))
        .expect(1)
        .mount(&server)
        .await;
    let r = adapter(&server)
        .submit_order(&credit_spread())
        .await
        .unwrap();
    assert_eq!(
        (
            r.status,
            r.broker_status.as_str(),
            r.broker_order_id.as_str()
        ),
        (OrderStatus::Pending, "Routed", "310245871")
    );
    // An equity sell closes what is held, a buy at a limit is a debit.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/accounts/{ACCT}/positions")))
        .respond_with(json_body(200, &fixture("positions.json")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"order-type": "Limit", "price": "200", "price-effect": "Credit",
            "legs": [{"instrument-type": "Equity", "symbol": "AAPL", "action": "Sell to Close", "quantity": "1"}]})))
        .respond_with(json_body(201, &fixture("order_submit_limit_live.json")))
        .expect(1)
        .mount(&server)
        .await;
    let sell = Order::limit("sell-1", "AAPL", Side::Sell, dec!(1), dec!(200));
    assert_eq!(
        adapter(&server).submit_order(&sell).await.unwrap().status,
        OrderStatus::Accepted
    );
    let mut fok = Order::limit("fok", "AAPL", Side::Buy, dec!(1), dec!(1));
    fok.time_in_force = TimeInForce::Fok;
    assert_eq!(
        adapter(&server).submit_order(&fok).await.unwrap_err().kind,
        ErrorKind::Unsupported
    );
}

#[tokio::test]
async fn preflight_refusals_are_rejected_with_the_vendors_code() {
    for (name, code) in [
        ("error_preflight_buying_power.json", "margin_check_failed"),
        (
            "error_preflight_gtc_market.json",
            "gtc_market_orders_not_supported",
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(json_body(200, &fixture("positions_empty.json")))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(json_body(422, &fixture(name)))
            .expect(1)
            .mount(&server)
            .await;
        let e = adapter(&server)
            .submit_order(&Order::market("c", "AAPL", Side::Buy, dec!(1)))
            .await
            .unwrap_err();
        assert_eq!(
            (e.kind, e.broker_code.as_deref()),
            (ErrorKind::Rejected, Some(code)),
            "{e}"
        );
    }
}

#[tokio::test]
async fn a_lost_submit_is_found_by_its_external_identifier_and_never_sent_twice() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/accounts/{ACCT}/positions")))
        .respond_with(json_body(200, &fixture("positions_empty.json")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            json_body(201, &fixture("order_submit_market_routed.json"))
                .set_delay(Duration::from_secs(2)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/accounts/{ACCT}/orders/live")))
        .respond_with(json_body(200, &fixture("orders_live.json")))
        .mount(&server)
        .await;
    let order = Order::market("raxx-cid-0001", "AAPL", Side::Buy, dec!(1));
    let r = adapter(&server).submit_order(&order).await.unwrap();
    assert_eq!(
        (r.broker_order_id.as_str(), r.status),
        ("310245871", OrderStatus::Filled)
    );
    // Not found after a 503: the broker never took it, so it is sent again.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/accounts/{ACCT}/positions")))
        .respond_with(json_body(200, &fixture("positions_empty.json")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>503</html>"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(json_body(201, &fixture("order_submit_market_routed.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/accounts/{ACCT}/orders/live")))
        .respond_with(json_body(200, r#"{"data":{"items":[]},"context":""}"#))
        .mount(&server)
        .await;
    let fresh = Order::market("another-intent", "AAPL", Side::Buy, dec!(1));
    assert_eq!(
        adapter(&server).submit_order(&fresh).await.unwrap().status,
        OrderStatus::Pending
    );
    let posts = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(posts, 2);
}

#[tokio::test]
async fn every_error_kind() {
    let cases = [
        (404, fixture("error_not_found.json"), ErrorKind::NotFound),
        (403, fixture("error_not_permitted.json"), ErrorKind::Rejected),
        (406, fixture("error_unsupported_version.json"), ErrorKind::InvalidRequest),
        (400, r#"{"error":{"code":"validation_error","message":"Request validation failed","errors":[{"domain":"legs","reason":"is missing"}]}}"#.to_string(), ErrorKind::InvalidRequest),
        (429, r#"{"error":{"code":"rate_limit_exceeded","message":"slow"}}"#.to_string(), ErrorKind::RateLimited),
        (503, "<html><body>503 Service Temporarily Unavailable</body></html>".to_string(), ErrorKind::Unavailable),
        (500, "{}".to_string(), ErrorKind::Unavailable),
    ];
    for (status, body, kind) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(json_body(status, &body))
            .mount(&server)
            .await;
        let e = adapter(&server).get_order("310245871").await.unwrap_err();
        assert_eq!(e.kind, kind, "{status} {body}");
        if kind == ErrorKind::RateLimited {
            assert_eq!(
                e.retry_after_ms,
                Some(1_000),
                "no header: the adapter's own wait"
            );
        }
    }
    // A Retry-After, when there is one, is the wait.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_body(429, "{}").insert_header("retry-after", "30"))
        .mount(&server)
        .await;
    let e = adapter(&server).get_order("310245871").await.unwrap_err();
    assert_eq!(e.retry_after_ms, Some(30_000));
    // No answer in time.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_body(200, "{}").set_delay(Duration::from_secs(2)))
        .mount(&server)
        .await;
    assert_eq!(
        adapter(&server).get_order("1").await.unwrap_err().kind,
        ErrorKind::Timeout
    );
}

#[tokio::test]
async fn cancels_answer_pending_and_a_cancel_too_late_reads_the_order() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(order_path("310245872")))
        .respond_with(json_body(200, &fixture("order_cancel_requested.json")))
        .mount(&server)
        .await;
    let c = adapter(&server).cancel_order("310245872").await.unwrap();
    assert_eq!(c.status, CancelStatus::PendingCancel);
    for (order, expected) in [
        ("order_filled.json", Err(ErrorKind::TooLateToCancel)),
        ("order_cancelled.json", Ok(CancelStatus::Canceled)),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("DELETE"))
            .respond_with(json_body(422, &fixture("error_cannot_update_order.json")))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(json_body(200, &fixture(order)))
            .mount(&server)
            .await;
        let id = fixture_json(order)["data"]["id"].to_string();
        let r = adapter(&server)
            .cancel_order(&id)
            .await
            .map(|c| c.status)
            .map_err(|e| e.kind);
        assert_eq!(r, expected, "{order}");
    }
}

#[tokio::test]
async fn a_replace_puts_the_order_fields_and_answers_the_new_order() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(order_path("310245872")))
        .respond_with(json_body(
            200,
            &json!({"data": fixture_json("order_submit_limit_live.json")["data"]["order"]})
                .to_string(),
        ))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(order_path("310245872")))
        .and(body_partial_json(json!({"order-type": "Limit", "time-in-force": "GTC", "price": "2", "price-effect": "Debit"})))
        .respond_with(json_body(200, &fixture("order_replace_new.json")))
        .expect(1)
        .mount(&server)
        .await;
    let a = adapter(&server);
    let changes = Replace {
        limit_price: Some(dec!(2)),
        ..Replace::default()
    };
    let r = a.replace_order("310245872", &changes).await.unwrap();
    assert_eq!(
        (r.broker_order_id.as_str(), r.status),
        ("310245873", OrderStatus::Pending)
    );
    let put = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.method.as_str() == "PUT")
        .unwrap();
    let body: Value = serde_json::from_slice(&put.body).unwrap();
    assert!(body.get("legs").is_none(), "the legs are the original's");
    // A new quantity cannot be sent: refused before anything leaves.
    let more = Replace {
        quantity: Some(dec!(3)),
        ..Replace::default()
    };
    assert_eq!(
        a.replace_order("310245872", &more).await.unwrap_err().kind,
        ErrorKind::Unsupported
    );
    // An order no longer working cannot be replaced.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_body(200, &fixture("order_filled.json")))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(json_body(422, &fixture("error_cannot_update_order.json")))
        .mount(&server)
        .await;
    let e = adapter(&server)
        .replace_order("310245871", &Replace::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected);
}

#[tokio::test]
async fn a_lost_replace_is_read_back_through_the_original() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(order_path("310245872")))
        .respond_with(json_body(
            200,
            &json!({"data": fixture_json("order_submit_limit_live.json")["data"]["order"]})
                .to_string(),
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(order_path("310245872")))
        .respond_with(json_body(200, &fixture("order_replaced_old.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(order_path("310245873")))
        .respond_with(json_body(200, &fixture("order_replace_new.json")))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .expect(1)
        .mount(&server)
        .await;
    let changes = Replace {
        limit_price: Some(dec!(2)),
        ..Replace::default()
    };
    let r = adapter(&server)
        .replace_order("310245872", &changes)
        .await
        .unwrap();
    assert_eq!(r.broker_order_id, "310245873");
}

/// A one-connection account streamer: acknowledges `connect` (checking its
/// token and account), then sends `frames`.
async fn streamer(frames: Vec<Value>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let connect: Value = loop {
            if let Some(Ok(Message::Text(t))) = ws.next().await {
                break serde_json::from_str(t.as_str()).unwrap();
            }
        };
        assert_eq!(connect["action"], "connect");
        assert_eq!(connect["auth-token"], format!("Bearer {ACCESS}"));
        assert_eq!(connect["value"], json!([ACCT]));
        let mut ack = fixture_json("stream_connect_ack.json");
        ack["request-id"] = connect["request-id"].clone();
        ws.send(Message::Text(ack.to_string().into()))
            .await
            .unwrap();
        for f in frames {
            ws.send(Message::Text(f.to_string().into())).await.unwrap();
        }
        // Keep the connection open while the test reads.
        while ws.next().await.is_some() {}
    });
    format!("ws://{addr}")
}

#[tokio::test]
async fn the_account_streamer_delivers_order_notifications_once_and_in_order() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/accounts/{ACCT}/orders/live")))
        .respond_with(json_body(200, r#"{"data":{"items":[]},"context":""}"#))
        .mount(&server)
        .await;
    let frames = vec![
        fixture_json("stream_order_routed.json"),
        fixture_json("stream_balance.json"),
        fixture_json("stream_order_filled.json"),
        fixture_json("stream_order_routed.json"),
        fixture_json("stream_position.json"),
        fixture_json("stream_complex_order.json"),
        fixture_json("stream_heartbeat_ack.json"),
    ];
    let url = streamer(frames).await;
    let a = adapter_with(&server, url);
    let mut updates = a.order_updates().await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), updates.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (first.broker_order_id.as_str(), first.status),
        ("310245871", OrderStatus::Pending)
    );
    let second = tokio::time::timeout(Duration::from_secs(5), updates.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (second.status, second.filled_quantity),
        (OrderStatus::Filled, dec!(1))
    );
    // The late `Routed` copy is not news; nothing else is an order.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), updates.next())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_streamer_that_refuses_the_token_is_an_auth_error_after_one_refresh() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                continue;
            };
            if let Some(Ok(Message::Text(t))) = ws.next().await {
                let m: Value = serde_json::from_str(t.as_str()).unwrap();
                let refusal = json!({"status": "error", "action": "connect", "web-socket-session-id": "1", "message": "invalid-auth-token", "request-id": m["request-id"]});
                let _ = ws.send(Message::Text(refusal.to_string().into())).await;
            }
        }
    });
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_body(200, r#"{"data":{"items":[]},"context":""}"#))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(json_body(200, &fixture("oauth_token.json")))
        .expect(1)
        .mount(&server)
        .await;
    let a = adapter_with(&server, format!("ws://{addr}"));
    let e = a.order_updates().await.err().expect("a refused connect");
    assert_eq!(e.kind, ErrorKind::AuthExpired);
}
