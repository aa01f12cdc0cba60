//! The Alpaca adapter against vendor bodies (alpaca.md §2, §5): request
//! shapes, parsing, every error kind, and reconciliation after a timeout.
//! The bodies are the files in `test_data/alpaca/`, the same ones the
//! simulated face's answers are checked against. wiremock serves on a real
//! socket from its own runtime, so these tests run in real time with short
//! timeouts; the clock that reads X-Ratelimit-Reset is an injected EpochClock.

mod common;

use std::time::Duration;

use adapters::alpaca::{AlpacaAdapter, AlpacaConfig};
use adapters::http::{EpochClock, HttpSetup};
use adapters::{
    BrokerAdapter, CancelStatus, ErrorKind, Instrument, Order, OrderStatus, PositionEffect, Side,
};
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "PKTEST1234";
const SECRET: &str = "s3cr3t-never-printed";
/// 2023-11-14T22:13:20.700Z: 300 ms before a whole second.
const EPOCH_MS: i64 = 1_700_000_000_700;
const TIMEOUT: Duration = Duration::from_millis(300);
const ID: &str = "61e69015-8549-4bfd-b9c3-01e75843f47d";

fn setup() -> HttpSetup {
    HttpSetup {
        jitter_seed: 7,
        ..common::setup(EpochClock::new(EPOCH_MS), TIMEOUT)
    }
}

fn adapter(server: &MockServer) -> AlpacaAdapter {
    AlpacaAdapter::new(
        AlpacaConfig {
            base_url: server.uri(),
            key_id: KEY.into(),
            secret_key: SECRET.into(),
            account_id: "PA3SIM000001".into(),
        },
        setup(),
    )
}

/// A vendor body from `test_data/alpaca` (shared with the face's tests).
fn fixture(name: &str) -> Value {
    common::fixture_json("alpaca", name)
}

/// A fixture order under another client order id: the flows that look an
/// order up by it need the id they sent.
fn order_for(name: &str, client_order_id: &str) -> Value {
    let mut o = fixture(name);
    o["client_order_id"] = json!(client_order_id);
    o
}

/// An error fixture answered with its status.
fn vendor_error(status: u16, name: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(fixture(name))
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn alpaca_error(status: u16, code: Option<u64>, message: &str) -> ResponseTemplate {
    let body = match code {
        Some(c) => json!({"code": c, "message": message}),
        None => json!({"message": message}),
    };
    ResponseTemplate::new(status).set_body_json(body)
}

async fn mount_get_order(server: &MockServer, body: Value) {
    Mock::given(method("GET"))
        .and(path(format!("/v2/orders/{ID}")))
        .respond_with(ok(body))
        .mount(server)
        .await;
}

#[tokio::test]
async fn submit_sends_alpacas_json_with_the_key_headers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/orders"))
        .and(header("APCA-API-KEY-ID", KEY))
        .and(header("APCA-API-SECRET-KEY", SECRET))
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({"symbol":"AAPL","qty":"10","side":"buy","type":"limit",
            "time_in_force":"gtc","limit_price":"189.5","client_order_id":"intent-1"}),
        ))
        .respond_with(ok(fixture("order_accepted.json")))
        .expect(1)
        .mount(&server)
        .await;
    let mut o = Order::limit("intent-1", "AAPL", Side::Buy, dec!(10), dec!(189.50));
    o.time_in_force = adapters::TimeInForce::Gtc;
    let r = adapter(&server).submit_order(&o).await.unwrap();
    assert_eq!(r.broker_order_id, ID);
    assert_eq!(r.client_order_id, "intent-1");
    assert_eq!(
        (r.status, r.broker_status.as_str()),
        (OrderStatus::Accepted, "accepted")
    );
    assert_eq!(
        (r.filled_quantity, r.remaining_quantity),
        (dec!(0), dec!(10))
    );
    assert_eq!(r.average_fill_price, None);
}

#[tokio::test]
async fn option_orders_send_the_compact_occ_symbol_and_intent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/orders"))
        .and(body_json(
            json!({"symbol":"AAPL250117P00200000","qty":"2","side":"sell","type":"market",
            "time_in_force":"day","client_order_id":"opt-1","position_intent":"sell_to_close"}),
        ))
        .respond_with(ok(order_for("order_option.json", "opt-1")))
        .expect(1)
        .mount(&server)
        .await;
    let mut o = Order::market("opt-1", "AAPL", Side::Sell, dec!(2));
    o.instrument = Instrument::option("AAPL  250117P00200000".parse().unwrap());
    o.position_effect = Some(PositionEffect::Close);
    let r = adapter(&server).submit_order(&o).await.unwrap();
    assert_eq!(
        (r.status, r.remaining_quantity),
        (OrderStatus::Accepted, dec!(2))
    );
}

#[tokio::test]
async fn get_order_reports_partial_fills_cumulatively() {
    let server = MockServer::start().await;
    mount_get_order(&server, fixture("order_partially_filled.json")).await;
    let r = adapter(&server).get_order(ID).await.unwrap();
    assert_eq!(r.status, OrderStatus::PartiallyFilled);
    assert_eq!(r.broker_status, "partially_filled");
    assert_eq!(
        (r.filled_quantity, r.remaining_quantity),
        (dec!(4), dec!(6))
    );
    assert_eq!(r.average_fill_price, Some(dec!(101.2525)));
}

/// Every vendor order body parses, each status to its normalized one, with
/// the quantities the body says.
#[tokio::test]
async fn every_vendor_order_body_parses() {
    let cases = [
        ("order_new.json", OrderStatus::Accepted, dec!(0), dec!(10)),
        (
            "order_accepted.json",
            OrderStatus::Accepted,
            dec!(0),
            dec!(10),
        ),
        (
            "order_pending_new.json",
            OrderStatus::Pending,
            dec!(0),
            dec!(2),
        ),
        (
            "order_partially_filled.json",
            OrderStatus::PartiallyFilled,
            dec!(4),
            dec!(6),
        ),
        ("order_filled.json", OrderStatus::Filled, dec!(10), dec!(0)),
        (
            "order_pending_cancel.json",
            OrderStatus::PendingCancel,
            dec!(0),
            dec!(5),
        ),
        (
            "order_canceled.json",
            OrderStatus::Canceled,
            dec!(0),
            dec!(5),
        ),
        (
            "order_replaced.json",
            OrderStatus::Replaced,
            dec!(0),
            dec!(1),
        ),
        ("order_option.json", OrderStatus::Accepted, dec!(0), dec!(2)),
        ("order_mleg.json", OrderStatus::Accepted, dec!(0), dec!(1)),
    ];
    for (name, status, filled, remaining) in cases {
        let server = MockServer::start().await;
        let body = fixture(name);
        Mock::given(method("GET"))
            .respond_with(ok(body.clone()))
            .mount(&server)
            .await;
        let r = adapter(&server)
            .get_order(body["id"].as_str().unwrap())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (r.status, r.filled_quantity, r.remaining_quantity),
            (status, filled, remaining),
            "{name}"
        );
        assert_eq!(r.broker_status, body["status"].as_str().unwrap(), "{name}");
        assert_eq!(
            r.client_order_id,
            body["client_order_id"].as_str().unwrap(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_duplicate_client_order_id_returns_the_existing_order() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/orders"))
        .respond_with(vendor_error(422, "error_duplicate_client_order_id.json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/orders:by_client_order_id"))
        .and(query_param("client_order_id", "intent 1/x"))
        .respond_with(ok(order_for("order_filled.json", "intent 1/x")))
        .expect(1)
        .mount(&server)
        .await;
    let r = adapter(&server)
        .submit_order(&Order::market("intent 1/x", "AAPL", Side::Buy, dec!(10)))
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.filled_quantity),
        (OrderStatus::Filled, dec!(10))
    );
}

#[tokio::test]
async fn a_timeout_is_reconciled_by_client_order_id_without_resending() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/orders"))
        .respond_with(ok(order_for("order_new.json", "slow")).set_delay(TIMEOUT * 4))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/orders:by_client_order_id"))
        .and(query_param("client_order_id", "slow"))
        .respond_with(ok(order_for("order_new.json", "slow")))
        .expect(1)
        .mount(&server)
        .await;
    let r = adapter(&server)
        .submit_order(&Order::market("slow", "AAPL", Side::Buy, dec!(1)))
        .await
        .unwrap();
    assert_eq!(
        (r.broker_order_id.as_str(), r.status),
        (ID, OrderStatus::Accepted)
    );
}

#[tokio::test]
async fn a_timeout_with_no_order_at_the_broker_is_resent_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/orders"))
        .respond_with(ok(order_for("order_new.json", "lost")).set_delay(TIMEOUT * 4))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/orders"))
        .respond_with(ok(order_for("order_new.json", "lost")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/orders:by_client_order_id"))
        .respond_with(vendor_error(404, "error_order_not_found.json"))
        .expect(1)
        .mount(&server)
        .await;
    let r = adapter(&server)
        .submit_order(&Order::market("lost", "AAPL", Side::Buy, dec!(1)))
        .await
        .unwrap();
    assert_eq!(r.client_order_id, "lost");
}

#[tokio::test]
async fn cancel_reads_the_order_back_after_204() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v2/orders/{ID}")))
        .respond_with(ResponseTemplate::new(204))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/orders/{ID}")))
        .respond_with(ok(fixture("order_pending_cancel.json")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_get_order(&server, fixture("order_canceled.json")).await;
    let a = adapter(&server);
    let first = a.cancel_order(ID).await.unwrap();
    assert_eq!(
        (first.broker_order_id.as_str(), first.status),
        (ID, CancelStatus::PendingCancel)
    );
    // Cancelling again once it is canceled is not an error.
    assert_eq!(
        a.cancel_order(ID).await.unwrap().status,
        CancelStatus::Canceled
    );
}

#[tokio::test]
async fn cancel_of_a_filled_order_is_too_late() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v2/orders/{ID}")))
        .respond_with(vendor_error(422, "error_cancel_filled.json"))
        .mount(&server)
        .await;
    mount_get_order(&server, fixture("order_filled.json")).await;
    let e = adapter(&server).cancel_order(ID).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLateToCancel);
    assert_eq!(e.broker_code.as_deref(), Some("42210000"));
    assert!(e.message.contains("filled"), "{e}");
}

#[tokio::test]
async fn a_422_on_cancel_of_an_already_canceled_order_is_canceled() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v2/orders/{ID}")))
        .respond_with(alpaca_error(
            422,
            Some(42210000),
            "order is already in \"canceled\" state",
        ))
        .mount(&server)
        .await;
    mount_get_order(&server, fixture("order_canceled.json")).await;
    let r = adapter(&server).cancel_order(ID).await.unwrap();
    assert_eq!(r.status, CancelStatus::Canceled);
}

#[tokio::test]
async fn cancel_of_an_unknown_order_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(vendor_error(404, "error_order_not_found.json"))
        .mount(&server)
        .await;
    let e = adapter(&server).cancel_order(ID).await.unwrap_err();
    assert_eq!(
        (e.kind, e.broker_code.as_deref()),
        (ErrorKind::NotFound, Some("40410000"))
    );
}

#[tokio::test]
async fn positions_are_signed_and_options_parse() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/positions"))
        .respond_with(ok(fixture("positions.json")))
        .mount(&server)
        .await;
    let p = adapter(&server).get_positions().await.unwrap();
    assert_eq!(p.len(), 3);
    assert_eq!((p[0].quantity, p[0].average_price), (dec!(10), dec!(189.5)));
    assert_eq!(
        (p[1].instrument.clone(), p[1].quantity),
        (Instrument::equity("TSLA"), dec!(-3))
    );
    assert_eq!(
        p[2].instrument,
        Instrument::option("AAPL  250117P00200000".parse().unwrap())
    );
    assert!(p.iter().all(|x| x.account_id == "PA3SIM000001"));
}

#[tokio::test]
async fn account_reads_the_account_number_and_money_strings() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/account"))
        .respond_with(ok(fixture("account.json")))
        .mount(&server)
        .await;
    let a = adapter(&server).get_account().await.unwrap();
    assert_eq!(a.account_id, "PA3SIM000001");
    assert_eq!(
        (a.cash, a.buying_power, a.equity),
        (dec!(-23140.2), dec!(262113.63), dec!(103820.56))
    );
}

/// Mounts `response` on every route and checks what kind one read and one submit get.
async fn kinds_for(response: ResponseTemplate) -> (adapters::AdapterError, adapters::AdapterError) {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(response)
        .mount(&server)
        .await;
    let a = adapter(&server);
    let read = a.get_account().await.unwrap_err();
    let submit = a
        .submit_order(&Order::market("k", "AAPL", Side::Buy, dec!(1)))
        .await
        .unwrap_err();
    (read, submit)
}

#[tokio::test]
async fn auth_errors_need_new_keys_and_never_echo_them() {
    let (read, _) = kinds_for(vendor_error(401, "error_unauthorized.json")).await;
    assert_eq!(
        (read.kind, read.broker_code.as_deref()),
        (ErrorKind::ReauthRequired, None)
    );
    let (read, _) = kinds_for(vendor_error(403, "error_forbidden.json")).await;
    assert_eq!(read.kind, ErrorKind::ReauthRequired);
    let (read, _) = kinds_for(alpaca_error(
        401,
        Some(40110000),
        "request is not authorized",
    ))
    .await;
    assert_eq!(read.broker_code.as_deref(), Some("40110000"));
    assert!(
        !read.message.contains(SECRET) && !read.message.contains(KEY),
        "{read}"
    );
    let server = MockServer::start().await;
    let debug = format!("{:?}", adapter(&server));
    assert!(!debug.contains(SECRET) && !debug.contains(KEY), "{debug}");
}

#[tokio::test]
async fn order_refusals_are_rejected_with_alpacas_code() {
    let (_, submit) = kinds_for(vendor_error(403, "error_insufficient_buying_power.json")).await;
    assert_eq!(
        (submit.kind, submit.broker_code.as_deref()),
        (ErrorKind::Rejected, Some("40310000"))
    );
    assert!(submit.message.contains("insufficient buying power"));
    let (read, submit) = kinds_for(vendor_error(422, "error_asset_not_found.json")).await;
    assert_eq!(
        (submit.kind, submit.broker_code.as_deref()),
        (ErrorKind::Rejected, Some("42210000"))
    );
    assert_eq!(read.kind, ErrorKind::InvalidRequest);
}

#[tokio::test]
async fn not_found_is_typed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(vendor_error(404, "error_order_not_found.json"))
        .mount(&server)
        .await;
    let e = adapter(&server).get_order(ID).await.unwrap_err();
    assert_eq!(
        (e.kind, e.broker_code.as_deref()),
        (ErrorKind::NotFound, Some("40410000"))
    );
}

#[tokio::test]
async fn outages_are_unavailable_after_the_retries() {
    for status in [500, 503] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v2/account"))
            .respond_with(alpaca_error(status, Some(50300000), "service unavailable"))
            .expect(3)
            .mount(&server)
            .await;
        let e = adapter(&server).get_account().await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable, "{status}");
    }
    let (read, submit) = kinds_for(
        ResponseTemplate::new(502)
            .set_body_raw("<html><body>502 Bad Gateway</body></html>", "text/html"),
    )
    .await;
    assert_eq!(read.kind, ErrorKind::Unavailable);
    assert!(read.message.contains("502 Bad Gateway"), "{read}");
    // A submit whose outcome is unknown is looked up; the lookup fails too, so it stays ambiguous.
    assert_eq!(submit.kind, ErrorKind::Timeout);
}

#[tokio::test]
async fn a_rate_limit_waits_until_x_ratelimit_reset_then_recovers() {
    let server = MockServer::start().await;
    // EPOCH_MS is 300 ms before this second.
    let reset = (EPOCH_MS / 1000 + 1).to_string();
    Mock::given(method("GET"))
        .and(path("/v2/account"))
        .respond_with(
            vendor_error(429, "error_rate_limited.json")
                .insert_header("X-Ratelimit-Limit", "200")
                .insert_header("X-Ratelimit-Remaining", "0")
                .insert_header("X-Ratelimit-Reset", reset.as_str()),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/account"))
        .respond_with(ok(
            json!({"account_number": "PA1", "cash": "1", "buying_power": "2", "equity": "3"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let started = tokio::time::Instant::now();
    let a = adapter(&server).get_account().await.unwrap();
    assert_eq!(a.account_id, "PA1");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_far_rate_limit_reset_is_reported_with_its_wait() {
    let reset = (EPOCH_MS / 1000 + 60).to_string();
    let (read, _) = kinds_for(
        vendor_error(429, "error_rate_limited.json")
            .insert_header("X-Ratelimit-Reset", reset.as_str()),
    )
    .await;
    assert_eq!(read.kind, ErrorKind::RateLimited);
    let wait = read.retry_after_ms.unwrap();
    assert!((59_000..=59_300).contains(&wait), "{wait}");
}

#[tokio::test]
async fn bad_answers_are_typed_unknown_never_panics() {
    let cases: [(&str, ResponseTemplate); 4] = [
        (
            "malformed",
            ResponseTemplate::new(200).set_body_raw("{\"id\": \"x\", ", "application/json"),
        ),
        (
            "html",
            ResponseTemplate::new(200)
                .set_body_raw("<!doctype html><title>Login</title>", "text/html"),
        ),
        (
            "truncated",
            ResponseTemplate::new(200).set_body_raw(
                fixture("order_new.json").to_string()[..120].to_string(),
                "application/json",
            ),
        ),
        (
            "wrong types",
            ok(
                json!({"id": ID, "client_order_id": "c", "status": "new", "qty": "1", "filled_qty": "lots"}),
            ),
        ),
    ];
    for (name, response) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(response)
            .mount(&server)
            .await;
        let e = adapter(&server).get_order(ID).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unknown, "{name}: {e}");
    }
}

#[tokio::test]
async fn an_unknown_status_word_is_an_error_naming_it() {
    let server = MockServer::start().await;
    let mut open = fixture("order_new.json");
    open["status"] = json!("open");
    mount_get_order(&server, open).await;
    let e = adapter(&server).get_order(ID).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unknown);
    assert!(e.message.contains("\"open\""), "{e}");
}

#[tokio::test]
async fn describe_is_tier_a_with_streaming() {
    let server = MockServer::start().await;
    let d = adapter(&server).describe();
    assert_eq!((d.broker.as_str(), d.tier), ("alpaca", adapters::Tier::A));
    assert!(d.capabilities.streaming && d.capabilities.options && !d.capabilities.read_only);
    assert_eq!(d.request_timeout_ms, Some(300));
}

// ---- replace_order (§2.6: PATCH answers with a new order; the old one ends `replaced`) ----

const NEW_ID: &str = "b5f3e7a4-2c1d-4e8f-9a6b-0c7d8e9f1a2b";

/// The replacement of ID (§2.6): a new id, `replaces` the old one, qty 3 at 2.
fn replacement() -> Value {
    fixture("order_replacement.json")
}

/// ID after the replace: `replaced`, pointing at its replacement.
fn replaced_original() -> Value {
    fixture("order_replaced.json")
}

/// ID, still working, in `status`.
fn original(status: &str) -> Value {
    let mut o = fixture("order_new.json");
    o["status"] = json!(status);
    o
}

fn price_and_qty() -> adapters::Replace {
    adapters::Replace {
        quantity: Some(dec!(3)),
        limit_price: Some(dec!(2.00)),
        ..adapters::Replace::default()
    }
}

fn patch_original() -> wiremock::MockBuilder {
    Mock::given(method("PATCH")).and(path(format!("/v2/orders/{ID}")))
}

#[tokio::test]
async fn replace_patches_only_the_changes_and_answers_the_new_order() {
    let server = MockServer::start().await;
    patch_original()
        .and(header("APCA-API-KEY-ID", KEY))
        .and(header("APCA-API-SECRET-KEY", SECRET))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"qty":"3","limit_price":"2"})))
        .respond_with(ok(replacement()))
        .expect(1)
        .mount(&server)
        .await;
    let r = adapter(&server)
        .replace_order(ID, &price_and_qty())
        .await
        .unwrap();
    assert_eq!(r.broker_order_id, NEW_ID, "the answer is the new order");
    assert_eq!(
        (r.status, r.broker_status.as_str()),
        (OrderStatus::Accepted, "accepted")
    );
    assert_eq!(
        (r.filled_quantity, r.remaining_quantity),
        (dec!(0), dec!(3))
    );
    assert_eq!(
        r.client_order_id,
        fixture("order_replacement.json")["client_order_id"]
    );
}

#[tokio::test]
async fn replace_sends_time_in_force_stop_and_client_order_id_as_alpaca_strings() {
    let server = MockServer::start().await;
    patch_original()
        .and(body_json(json!({"time_in_force":"gtc","stop_price":"1.5",
            "client_order_id":"resting-2"})))
        .respond_with(ok(replacement()))
        .expect(1)
        .mount(&server)
        .await;
    let changes = adapters::Replace {
        stop_price: Some(dec!(1.50)),
        time_in_force: Some(adapters::TimeInForce::Gtc),
        client_order_id: Some("resting-2".into()),
        ..adapters::Replace::default()
    };
    let r = adapter(&server).replace_order(ID, &changes).await.unwrap();
    assert_eq!(r.broker_order_id, NEW_ID);
}

#[tokio::test]
async fn replace_refusals_are_rejected_with_alpacas_message_and_unknown_orders_not_found() {
    let server = MockServer::start().await;
    patch_original()
        .respond_with(vendor_error(422, "error_replace_not_open.json"))
        .expect(1)
        .mount(&server)
        .await;
    let a = adapter(&server);
    let e = a.replace_order(ID, &price_and_qty()).await.unwrap_err();
    assert_eq!(
        (e.kind, e.broker_code.as_deref()),
        (ErrorKind::Rejected, Some("42210000")),
        "{e}"
    );
    assert!(e.message.contains("order is not open"), "{e}");

    let server = MockServer::start().await;
    patch_original()
        .respond_with(vendor_error(404, "error_order_not_found.json"))
        .expect(1)
        .mount(&server)
        .await;
    let e = adapter(&server)
        .replace_order(ID, &price_and_qty())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");

    let server = MockServer::start().await;
    patch_original()
        .respond_with(vendor_error(403, "error_insufficient_buying_power.json"))
        .expect(1)
        .mount(&server)
        .await;
    let e = adapter(&server)
        .replace_order(ID, &price_and_qty())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected, "{e}");
    assert!(!e.message.contains(SECRET) && !e.message.contains(KEY));
}

#[tokio::test]
async fn replaces_alpaca_would_refuse_are_refused_before_sending() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(ok(replacement()))
        .expect(0)
        .mount(&server)
        .await;
    let a = adapter(&server);
    let kind = |changes: adapters::Replace| {
        let a = &a;
        async move { a.replace_order(ID, &changes).await.unwrap_err().kind }
    };
    assert_eq!(
        kind(adapters::Replace::default()).await,
        ErrorKind::InvalidRequest
    );
    assert_eq!(
        kind(adapters::Replace {
            quantity: Some(dec!(1.5)),
            ..adapters::Replace::default()
        })
        .await,
        ErrorKind::Unsupported
    );
    assert_eq!(
        kind(adapters::Replace {
            limit_price: Some(dec!(0)),
            ..adapters::Replace::default()
        })
        .await,
        ErrorKind::InvalidRequest
    );
    assert_eq!(
        a.replace_order("../account", &price_and_qty())
            .await
            .unwrap_err()
            .kind,
        ErrorKind::InvalidRequest
    );
}

#[tokio::test]
async fn a_timed_out_replace_follows_replaced_by_without_resending() {
    let server = MockServer::start().await;
    patch_original()
        .respond_with(ok(replacement()).set_delay(TIMEOUT * 4))
        .expect(1)
        .mount(&server)
        .await;
    mount_get_order(&server, replaced_original()).await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/orders/{NEW_ID}")))
        .respond_with(ok(replacement()))
        .expect(1)
        .mount(&server)
        .await;
    let r = adapter(&server)
        .replace_order(ID, &price_and_qty())
        .await
        .unwrap();
    assert_eq!(
        (r.broker_order_id.as_str(), r.remaining_quantity),
        (NEW_ID, dec!(3))
    );
}

#[tokio::test]
async fn a_timed_out_replace_of_an_order_still_open_stays_a_timeout() {
    let server = MockServer::start().await;
    patch_original()
        .respond_with(ok(replacement()).set_delay(TIMEOUT * 4))
        .expect(1)
        .mount(&server)
        .await;
    mount_get_order(&server, original("pending_replace")).await;
    let e = adapter(&server)
        .replace_order(ID, &price_and_qty())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e}");
    assert!(e.message.contains("pending_replace"), "{e}");
}

#[tokio::test]
async fn a_replacement_without_the_changes_is_not_taken_for_ours() {
    let server = MockServer::start().await;
    patch_original()
        .respond_with(ok(replacement()).set_delay(TIMEOUT * 4))
        .expect(1)
        .mount(&server)
        .await;
    mount_get_order(&server, replaced_original()).await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/orders/{NEW_ID}")))
        // Someone else's replace: same quantity, another price.
        .respond_with(ok({
            let mut other = replacement();
            other["limit_price"] = json!("5");
            other
        }))
        .mount(&server)
        .await;
    let e = adapter(&server)
        .replace_order(ID, &price_and_qty())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e}");
}

#[tokio::test]
async fn an_outage_on_replace_is_read_back_not_resent() {
    let server = MockServer::start().await;
    patch_original()
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>down</html>"))
        .expect(1)
        .mount(&server)
        .await;
    mount_get_order(&server, original("new")).await;
    let e = adapter(&server)
        .replace_order(ID, &price_and_qty())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable, "{e}");
}

#[tokio::test]
async fn a_rate_limited_replace_waits_then_is_sent_again() {
    let server = MockServer::start().await;
    patch_original()
        .respond_with(
            vendor_error(429, "error_rate_limited.json")
                // 300 ms after the injected clock's now.
                .insert_header("X-Ratelimit-Reset", "1700000001"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    patch_original()
        .respond_with(ok(replacement()))
        .expect(1)
        .mount(&server)
        .await;
    let r = adapter(&server)
        .replace_order(ID, &price_and_qty())
        .await
        .unwrap();
    assert_eq!(r.broker_order_id, NEW_ID);
}

#[tokio::test]
async fn describe_offers_replace() {
    let server = MockServer::start().await;
    assert!(adapter(&server).describe().capabilities.replace);
}
