//! The Tradier adapter against recorded, vendor-shaped answers
//! (tradier.md §2, §5, §8): every collection shape, errors inside a 200,
//! plain-text refusals, gateway faults, quota violations, 5xx and HTML
//! pages, malformed and truncated bodies, unknown status words, and a lost
//! submit reconciled by tag. The vendor's bodies are the fixtures in
//! `test_data/tradier/`, which the simulated Tradier's answers are checked
//! against too; only deliberately broken bodies are written here.

mod common;

use std::time::Duration;

use adapters::tradier::{TradierAdapter, TradierConfig};
use adapters::{BrokerAdapter, CancelStatus, ErrorKind, Order, OrderStatus, Side};
use common::{json_body as json, Stopped, NOW_MS};
use rust_decimal_macros::dec;
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ACCT: &str = "VA00000001";
const TOKEN: &str = "s3cret-token";

fn adapter(server: &MockServer) -> TradierAdapter {
    let setup = common::setup(Stopped(NOW_MS), Duration::from_millis(300));
    TradierAdapter::new(
        TradierConfig {
            base_url: format!("{}/v1", server.uri()),
            access_token: TOKEN.into(),
            account_id: ACCT.into(),
            oauth: None,
        },
        setup,
    )
}

fn orders_path() -> String {
    format!("/v1/accounts/{ACCT}/orders")
}

fn order_path(id: u64) -> String {
    format!("/v1/accounts/{ACCT}/orders/{id}")
}

fn text(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string(), "text/plain")
}

/// A vendor body from `test_data/tradier/`, as served.
fn fixture(name: &str) -> String {
    common::fixture("tradier", name)
}

/// An `{"order":{…}}` fixture with some of the order's fields changed.
fn order_fixture(name: &str, changes: &[(&str, serde_json::Value)]) -> String {
    let mut doc: serde_json::Value = serde_json::from_str(&fixture(name)).unwrap();
    for (k, v) in changes {
        doc["order"][*k] = v.clone();
    }
    doc.to_string()
}

/// The submit acknowledgement of `ack_submit.json` for order `id`.
fn ack(id: u64) -> String {
    order_fixture("ack_submit.json", &[("id", id.into())])
}

/// The filled market order of `order_filled.json` as order `id`, in `status`, tagged `tag`.
fn order_json(id: u64, status: &str, tag: &str) -> String {
    let doc = order_fixture(
        "order_filled.json",
        &[
            ("id", id.into()),
            ("status", status.into()),
            ("tag", tag.into()),
        ],
    );
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    doc["order"].to_string()
}

async fn mount_get(server: &MockServer, p: &str, resp: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(resp)
        .mount(server)
        .await;
}

async fn no_positions(server: &MockServer) {
    mount_get(
        server,
        &format!("/v1/accounts/{ACCT}/positions"),
        json(200, &fixture("positions_null.json")),
    )
    .await;
}

#[tokio::test]
async fn reads_send_auth_and_map_the_order_object() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(order_path(228175)))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("accept", "application/json"))
        .and(query_param("includeTags", "true"))
        .respond_with(json(200, &fixture("order_filled.json")))
        .mount(&server)
        .await;
    let a = adapter(&server);
    let r = a.get_order("228175").await.unwrap();
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
            "228175",
            "intent-1",
            OrderStatus::Filled,
            dec!(10),
            dec!(0),
            Some(dec!(189.5)),
            "filled"
        )
    );
    assert!(
        !format!("{a:?}").contains(TOKEN),
        "the token never shows in Debug"
    );
    assert_eq!(
        a.get_order("../x").await.unwrap_err().kind,
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn positions_in_every_collection_shape() {
    let server = MockServer::start().await;
    let p = format!("/v1/accounts/{ACCT}/positions");
    for shape in ["positions_null.json", "positions_one.json"] {
        Mock::given(method("GET"))
            .and(path(&p))
            .respond_with(json(200, &fixture(shape)))
            .up_to_n_times(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(&p))
        .respond_with(json(200, &fixture("positions_many.json")))
        .mount(&server)
        .await;
    let a = adapter(&server);
    assert!(a.get_positions().await.unwrap().is_empty());
    let one = a.get_positions().await.unwrap();
    assert_eq!(
        (one.len(), one[0].quantity, one[0].average_price),
        (1, dec!(10), dec!(189.5))
    );
    let two = a.get_positions().await.unwrap();
    assert_eq!(
        (two[0].quantity, two[0].average_price),
        (dec!(-5), dec!(500.1))
    );
    assert!(two[1].instrument.is_option());
    assert_eq!(
        (two[1].quantity, two[1].average_price),
        (dec!(2), dec!(1.25)),
        "cost basis / (qty × 100)"
    );
}

#[tokio::test]
async fn balances_for_margin_and_cash_accounts() {
    let server = MockServer::start().await;
    let p = format!("/v1/accounts/{ACCT}/balances");
    Mock::given(method("GET"))
        .and(path(&p))
        .respond_with(json(200, &fixture("balances_margin.json")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(&p))
        .respond_with(json(200, &fixture("balances_cash.json")))
        .mount(&server)
        .await;
    let a = adapter(&server);
    let m = a.get_account().await.unwrap();
    assert_eq!(
        (m.account_id.as_str(), m.cash, m.buying_power, m.equity),
        (ACCT, dec!(12684.36), dec!(20254.72), dec!(17798.36))
    );
    let c = a.get_account().await.unwrap();
    assert_eq!(
        (c.cash, c.buying_power, c.equity),
        (dec!(1000.5), dec!(900.25), dec!(1000.5))
    );
}

#[tokio::test]
async fn submit_posts_a_form_and_reads_the_order_back() {
    let server = MockServer::start().await;
    no_positions(&server).await;
    Mock::given(method("POST"))
        .and(path(orders_path()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("class=equity"))
        .and(body_string_contains("side=buy"))
        .and(body_string_contains("tag=intent-1"))
        .respond_with(json(200, &fixture("ack_submit.json")))
        .expect(1)
        .mount(&server)
        .await;
    mount_get(
        &server,
        &order_path(228175),
        json(200, &fixture("order_pending.json")),
    )
    .await;
    let r = adapter(&server)
        .submit_order(&Order::limit(
            "intent-1",
            "AAPL",
            Side::Buy,
            dec!(10),
            dec!(1.00),
        ))
        .await
        .unwrap();
    assert_eq!(
        (
            r.status,
            r.remaining_quantity,
            r.average_fill_price,
            r.broker_status.as_str()
        ),
        (OrderStatus::Pending, dec!(10), None, "pending")
    );
}

#[tokio::test]
async fn refusals_inside_a_200_are_rejected_never_resent() {
    let server = MockServer::start().await;
    no_positions(&server).await;
    Mock::given(method("POST"))
        .and(path(orders_path()))
        .and(body_string_contains("symbol=AAPL"))
        .respond_with(json(200, &fixture("errors_buying_power.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(orders_path()))
        .and(body_string_contains("symbol=SPY"))
        .respond_with(json(200, &fixture("errors_list.json")))
        .expect(1)
        .mount(&server)
        .await;
    let a = adapter(&server);
    let e = a
        .submit_order(&Order::market("c1", "AAPL", Side::Buy, dec!(1)))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected);
    assert!(e.message.contains("buying power"), "{e}");
    let e = a
        .submit_order(&Order::market("c2", "SPY", Side::Buy, dec!(1)))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected);
    assert!(
        e.message.contains("Backoffice") && e.message.contains("Sell order"),
        "{e}"
    );
}

#[tokio::test]
async fn cancel_texts_finalized_unauthorized_and_read_back() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(order_path(1)))
        .respond_with(text(400, &fixture("finalized_filled.txt")))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(order_path(2)))
        .respond_with(text(400, &fixture("finalized_canceled.txt")))
        .mount(&server)
        .await;
    // A refused cancel is settled by the order's own state, read back.
    for (id, status) in [(1, "filled"), (2, "canceled")] {
        let body = format!(r#"{{"order":{}}}"#, order_json(id, status, "c"));
        mount_get(&server, &order_path(id), json(200, &body)).await;
    }
    Mock::given(method("DELETE"))
        .and(path(order_path(3)))
        .respond_with(text(401, &fixture("unauthorized_account.txt")))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(order_path(4)))
        .respond_with(json(
            200,
            &order_fixture("ack_cancel.json", &[("id", 4.into())]),
        ))
        .mount(&server)
        .await;
    mount_get(
        &server,
        &order_path(4),
        json(
            200,
            &format!(r#"{{"order":{}}}"#, order_json(4, "canceled", "c4")),
        ),
    )
    .await;
    Mock::given(method("DELETE"))
        .and(path(order_path(5)))
        .respond_with(json(
            200,
            &order_fixture("ack_cancel.json", &[("id", 5.into())]),
        ))
        .mount(&server)
        .await;
    mount_get(
        &server,
        &order_path(5),
        json(
            200,
            &format!(r#"{{"order":{}}}"#, order_json(5, "pending", "c5")),
        ),
    )
    .await;
    let a = adapter(&server);
    assert_eq!(
        a.cancel_order("1").await.unwrap_err().kind,
        ErrorKind::TooLateToCancel
    );
    assert_eq!(
        a.cancel_order("2").await.unwrap().status,
        CancelStatus::Canceled,
        "double cancel is done"
    );
    assert_eq!(
        a.cancel_order("3").await.unwrap_err().kind,
        ErrorKind::NotFound
    );
    assert_eq!(
        a.cancel_order("4").await.unwrap().status,
        CancelStatus::Canceled
    );
    assert_eq!(
        a.cancel_order("5").await.unwrap().status,
        CancelStatus::PendingCancel
    );
}

#[tokio::test]
async fn gateway_faults_quotas_and_outages_are_typed() {
    let server = MockServer::start().await;
    mount_get(
        &server,
        &order_path(1),
        json(401, &fixture("fault_invalid_token.json")),
    )
    .await;
    mount_get(
        &server,
        &order_path(2),
        text(429, "Quota Violation")
            .insert_header("X-Ratelimit-Expiry", (NOW_MS + 60_000).to_string().as_str())
            .insert_header("X-Ratelimit-Available", "0"),
    )
    .await;
    mount_get(
        &server,
        &order_path(3),
        // `Quota Violation <expiry in epoch ms>`, 30 s after NOW_MS.
        text(400, &fixture("quota_violation.txt")),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(order_path(4)))
        .respond_with(text(503, "Service Unavailable"))
        .expect(3)
        .mount(&server)
        .await;
    mount_get(
        &server,
        &order_path(5),
        ResponseTemplate::new(502).set_body_raw(
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
            "text/html",
        ),
    )
    .await;
    mount_get(
        &server,
        &order_path(6),
        text(
            500,
            "An error occurred while communicating with the backend",
        ),
    )
    .await;
    let a = adapter(&server);
    let e = a.get_order("1").await.unwrap_err();
    assert_eq!(
        (e.kind, e.broker_code.as_deref()),
        (
            ErrorKind::ReauthRequired,
            Some("keymanagement.service.invalid_access_token")
        )
    );
    let e = a.get_order("2").await.unwrap_err();
    assert_eq!(
        (e.kind, e.retry_after_ms),
        (ErrorKind::RateLimited, Some(60_000)),
        "{e}"
    );
    // The throttle holds back the adapter's next calls too, unsent; each
    // shape below is read by an adapter that has not been throttled.
    let held = a.get_order("4").await.unwrap_err();
    assert_eq!(held.kind, ErrorKind::RateLimited, "{held}");
    let a = adapter(&server);
    let e = a.get_order("3").await.unwrap_err();
    assert_eq!(
        (e.kind, e.retry_after_ms),
        (ErrorKind::RateLimited, Some(30_000)),
        "{e}"
    );
    let a = adapter(&server);
    assert_eq!(
        a.get_order("4").await.unwrap_err().kind,
        ErrorKind::Unavailable
    );
    let e = a.get_order("5").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable);
    assert!(!e.message.contains(TOKEN));
    assert_eq!(
        a.get_order("6").await.unwrap_err().kind,
        ErrorKind::Unavailable
    );
}

#[tokio::test]
async fn bad_bodies_are_unknown_errors_not_panics() {
    let server = MockServer::start().await;
    mount_get(
        &server,
        &order_path(1),
        json(200, r#"{"order":{"id":1,"status":"filled","quantity":10.0"#),
    )
    .await;
    mount_get(&server, &order_path(2), json(200, "{not json")).await;
    mount_get(
        &server,
        &order_path(3),
        json(
            200,
            &format!(r#"{{"order":{}}}"#, order_json(3, "teleported", "t")),
        ),
    )
    .await;
    mount_get(
        &server,
        &order_path(4),
        ResponseTemplate::new(200)
            .set_body_raw("<html><body>maintenance</body></html>", "text/html"),
    )
    .await;
    mount_get(
        &server,
        &order_path(5),
        json(
            200,
            r#"{"order":{"id":5,"status":"filled","exec_quantity":"lots"}}"#,
        ),
    )
    .await;
    mount_get(
        &server,
        &format!("/v1/accounts/{ACCT}/positions"),
        json(200, r#"{"positions":"surprise"}"#),
    )
    .await;
    let a = adapter(&server);
    for id in ["1", "2", "3", "4", "5"] {
        let e = a.get_order(id).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unknown, "order {id}: {e}");
    }
    assert!(a
        .get_order("3")
        .await
        .unwrap_err()
        .message
        .contains("teleported"));
    assert_eq!(
        a.get_positions().await.unwrap_err().kind,
        ErrorKind::Unknown
    );
}

/// The submit's answer is lost (it times out); the order is found by its tag.
#[tokio::test]
async fn a_timed_out_submit_found_by_tag_is_not_resent() {
    let server = MockServer::start().await;
    no_positions(&server).await;
    Mock::given(method("POST"))
        .and(path(orders_path()))
        .respond_with(json(200, &ack(9)).set_delay(Duration::from_secs(2)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(orders_path()))
        .and(query_param("includeTags", "true"))
        .respond_with(json(
            200,
            &format!(
                r#"{{"orders":{{"order":[{},{}]}}}}"#,
                order_json(8, "filled", "other"),
                order_json(9, "filled", "x-lost-5f1")
            ),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let r = adapter(&server)
        .submit_order(&Order::market("lost_1", "AAPL", Side::Buy, dec!(10)))
        .await
        .unwrap();
    assert_eq!(
        (
            r.broker_order_id.as_str(),
            r.client_order_id.as_str(),
            r.status
        ),
        ("9", "lost_1", OrderStatus::Filled)
    );
}

/// The submit timed out and Tradier has no order with the tag yet: the
/// request may still land, and Tradier would take a second copy under the
/// same tag, so it is not sent again; the outcome is reported unknown.
#[tokio::test]
async fn a_timed_out_submit_absent_by_tag_is_not_sent_again() {
    let server = MockServer::start().await;
    no_positions(&server).await;
    Mock::given(method("POST"))
        .and(path(orders_path()))
        .and(body_string_contains("tag=intent-7"))
        .respond_with(json(200, &ack(7)).set_delay(Duration::from_secs(2)))
        .mount(&server)
        .await;
    // One order of someone else today: a bare object, not ours.
    Mock::given(method("GET"))
        .and(path(orders_path()))
        .respond_with(json(
            200,
            &format!(
                r#"{{"orders":{{"order":{}}}}}"#,
                order_json(6, "filled", "intent-6")
            ),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let e = adapter(&server)
        .submit_order(&Order::market("intent-7", "AAPL", Side::Buy, dec!(10)))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e}");
    assert!(e.message.contains("not sent again"), "{e}");
    let posts = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(posts, 1, "never a second copy");
}

/// An empty day ("null") is absent too; a rate-limited submit is retried without a lookup.
#[tokio::test]
async fn an_empty_order_list_is_absent() {
    let server = MockServer::start().await;
    no_positions(&server).await;
    Mock::given(method("POST"))
        .and(path(orders_path()))
        .respond_with(text(503, "Service Unavailable"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(orders_path()))
        .respond_with(json(200, &ack(3)))
        .expect(1)
        .mount(&server)
        .await;
    mount_get(
        &server,
        &orders_path(),
        json(200, &fixture("orders_null.json")),
    )
    .await;
    mount_get(
        &server,
        &order_path(3),
        json(
            200,
            &format!(r#"{{"order":{}}}"#, order_json(3, "open", "c3")),
        ),
    )
    .await;
    let r = adapter(&server)
        .submit_order(&Order::market("c3", "AAPL", Side::Buy, dec!(10)))
        .await
        .unwrap();
    assert_eq!(r.status, OrderStatus::Accepted);
}

// ---- replace_order: Tradier's modify (§2.5) keeps the id and answers with an ack only ----

const MODIFIED: u64 = 4242;

/// The resting limit order (1 share) of `order_open.json` at `price`, for `duration`.
fn resting_json(price: &str, duration: &str) -> String {
    let price: serde_json::Value = serde_json::from_str(price).unwrap();
    order_fixture(
        "order_open.json",
        &[
            ("id", MODIFIED.into()),
            ("price", price),
            ("duration", duration.into()),
        ],
    )
}

fn modify_ack(id: u64) -> ResponseTemplate {
    json(200, &ack(id))
}

fn new_price() -> adapters::Replace {
    adapters::Replace {
        limit_price: Some(dec!(2.00)),
        ..adapters::Replace::default()
    }
}

fn put_modified() -> wiremock::MockBuilder {
    Mock::given(method("PUT")).and(path(order_path(MODIFIED)))
}

#[tokio::test]
async fn modify_puts_only_the_changes_as_a_form_and_reads_the_order_back() {
    let server = MockServer::start().await;
    put_modified()
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(wiremock::matchers::body_string(
            "duration=gtc&price=2&stop=1.5",
        ))
        .respond_with(modify_ack(MODIFIED))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(order_path(MODIFIED)))
        .and(query_param("includeTags", "true"))
        .respond_with(json(200, &resting_json("2.0", "gtc")))
        .expect(1)
        .mount(&server)
        .await;
    let changes = adapters::Replace {
        limit_price: Some(dec!(2.00)),
        stop_price: Some(dec!(1.50)),
        time_in_force: Some(adapters::TimeInForce::Gtc),
        ..adapters::Replace::default()
    };
    let r = adapter(&server)
        .replace_order(&MODIFIED.to_string(), &changes)
        .await
        .unwrap();
    assert_eq!(
        (
            r.broker_order_id.as_str(),
            r.client_order_id.as_str(),
            r.status,
            r.remaining_quantity,
            r.broker_status.as_str()
        ),
        ("4242", "resting-1", OrderStatus::Accepted, dec!(1), "open"),
        "the same id, read back after the ack"
    );
}

#[tokio::test]
async fn a_quantity_change_is_unsupported_and_nothing_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(modify_ack(MODIFIED))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(json(200, &resting_json("2.0", "day")))
        .expect(0)
        .mount(&server)
        .await;
    let a = adapter(&server);
    let changes = adapters::Replace {
        quantity: Some(dec!(3)),
        limit_price: Some(dec!(2)),
        ..adapters::Replace::default()
    };
    let e = a
        .replace_order(&MODIFIED.to_string(), &changes)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported, "{e}");
    assert!(e.message.contains("quantity"), "{e}");
    // Nor anything else Tradier cannot take: ioc, a relabel, no change at all.
    let ioc = adapters::Replace {
        time_in_force: Some(adapters::TimeInForce::Ioc),
        ..adapters::Replace::default()
    };
    assert_eq!(
        a.replace_order("4242", &ioc).await.unwrap_err().kind,
        ErrorKind::Unsupported
    );
    let relabel = adapters::Replace {
        client_order_id: Some("other".into()),
        ..adapters::Replace::default()
    };
    assert_eq!(
        a.replace_order("4242", &relabel).await.unwrap_err().kind,
        ErrorKind::Unsupported
    );
    assert_eq!(
        a.replace_order("4242", &adapters::Replace::default())
            .await
            .unwrap_err()
            .kind,
        ErrorKind::InvalidRequest
    );
    assert_eq!(
        a.replace_order("../x", &new_price())
            .await
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn modify_refusals_finalized_unknown_and_errors_envelopes() {
    let server = MockServer::start().await;
    put_modified()
        .respond_with(text(400, "order already in finalized state: filled"))
        .expect(1)
        .mount(&server)
        .await;
    let e = adapter(&server)
        .replace_order("4242", &new_price())
        .await
        .unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Rejected,
        "a terminal order cannot be modified: {e}"
    );
    assert!(e.message.contains("filled"), "{e}");

    let server = MockServer::start().await;
    put_modified()
        .respond_with(text(401, &format!("Unauthorized Account: {ACCT}")))
        .expect(1)
        .mount(&server)
        .await;
    let e = adapter(&server)
        .replace_order("4242", &new_price())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");

    let server = MockServer::start().await;
    put_modified()
        .respond_with(json(
            400,
            r#"{"errors":{"error":"Invalid parameter, duration: pre market no longer available"}}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let e = adapter(&server)
        .replace_order("4242", &new_price())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected, "{e}");
    assert!(!e.message.contains(TOKEN));

    let server = MockServer::start().await;
    put_modified()
        .respond_with(modify_ack(9999))
        .expect(1)
        .mount(&server)
        .await;
    let e = adapter(&server)
        .replace_order("4242", &new_price())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unknown, "an ack for another id: {e}");
}

#[tokio::test]
async fn a_timed_out_modify_that_landed_is_read_back_not_resent() {
    let server = MockServer::start().await;
    put_modified()
        .respond_with(modify_ack(MODIFIED).set_delay(Duration::from_millis(1_200)))
        .expect(1)
        .mount(&server)
        .await;
    mount_get(
        &server,
        &order_path(MODIFIED),
        json(200, &resting_json("2.0", "day")),
    )
    .await;
    let r = adapter(&server)
        .replace_order("4242", &new_price())
        .await
        .unwrap();
    assert_eq!(
        (r.broker_order_id.as_str(), r.status),
        ("4242", OrderStatus::Accepted)
    );
}

#[tokio::test]
async fn a_timed_out_modify_not_shown_on_the_order_stays_a_timeout() {
    let server = MockServer::start().await;
    put_modified()
        .respond_with(modify_ack(MODIFIED).set_delay(Duration::from_millis(1_200)))
        .expect(1)
        .mount(&server)
        .await;
    mount_get(
        &server,
        &order_path(MODIFIED),
        json(200, &resting_json("1.0", "day")),
    )
    .await;
    let e = adapter(&server)
        .replace_order("4242", &new_price())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e}");
}

#[tokio::test]
async fn a_rate_limited_modify_waits_then_is_sent_again() {
    let server = MockServer::start().await;
    put_modified()
        .respond_with(
            text(429, "Quota Violation").insert_header("X-Ratelimit-Expiry", "1767625200200"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    put_modified()
        .respond_with(modify_ack(MODIFIED))
        .expect(1)
        .mount(&server)
        .await;
    mount_get(
        &server,
        &order_path(MODIFIED),
        json(200, &resting_json("2.0", "day")),
    )
    .await;
    let r = adapter(&server)
        .replace_order("4242", &new_price())
        .await
        .unwrap();
    assert_eq!(r.broker_order_id, "4242");
    assert!(adapter(&server).describe().capabilities.replace);
}

/// Every order state the fixtures hold, read into the contract.
#[tokio::test]
async fn every_order_fixture_maps_to_the_contract() {
    let server = MockServer::start().await;
    let cases = [
        (
            "order_pending.json",
            228170,
            OrderStatus::Pending,
            dec!(0),
            dec!(10),
        ),
        (
            "order_open.json",
            4242,
            OrderStatus::Accepted,
            dec!(0),
            dec!(1),
        ),
        (
            "order_partially_filled.json",
            228176,
            OrderStatus::PartiallyFilled,
            dec!(7),
            dec!(33),
        ),
        (
            "order_filled.json",
            228175,
            OrderStatus::Filled,
            dec!(10),
            dec!(0),
        ),
        (
            "order_canceled.json",
            228177,
            OrderStatus::Canceled,
            dec!(0),
            dec!(0),
        ),
        (
            "order_rejected.json",
            228178,
            OrderStatus::Rejected,
            dec!(0),
            dec!(0),
        ),
        (
            "order_option.json",
            228749,
            OrderStatus::Filled,
            dec!(1),
            dec!(0),
        ),
        (
            "order_multileg.json",
            229063,
            OrderStatus::Filled,
            dec!(1),
            dec!(0),
        ),
    ];
    for (name, id, ..) in &cases {
        // Each under its own id (two fixtures share the docs' 228175).
        let body = order_fixture(name, &[("id", (*id).into())]);
        mount_get(&server, &order_path(*id), json(200, &body)).await;
    }
    let a = adapter(&server);
    for (name, id, status, filled, remaining) in cases {
        let r = a.get_order(&id.to_string()).await.unwrap();
        assert_eq!(
            (r.status, r.filled_quantity, r.remaining_quantity),
            (status, filled, remaining),
            "{name}"
        );
    }
    let rejected = a.get_order("228178").await.unwrap();
    assert!(
        rejected
            .reject_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("Sell order cannot be placed")),
        "{rejected:?}"
    );
}
