//! The Schwab adapter against vendor-shaped answers (schwab.md §2, §4, §5):
//! every order, account and error body of `test_data/schwab/` the adapter
//! reads (the streamer frames, the preview, the preferences, the list of
//! all accounts and the token file are read by the face and schwab-py
//! tests: the adapter has no use for them), the id from `Location`, hashes
//! resolved and refreshed, a lost 201 reconciled by listing (found, absent,
//! ambiguous), every error kind, and the token refresh. Only deliberately
//! broken bodies are written here.

mod common;

use std::time::Duration;

use adapters::schwab::{SchwabAdapter, SchwabConfig};
use adapters::{
    BrokerAdapter, CancelStatus, ErrorKind, Instrument, Order, OrderStatus, Replace, Side,
};
use common::{json_body, Stopped, NOW_MS};
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ACCT: &str = "12345678";
const HASH: &str = "E0C1F0A66F5E4B6B9C1E3E2D8F7A6B5C4D3E2F1A0B9C8D7E6F5A4B3C2D1E0F9A";
const FRESH_HASH: &str = "AAAA0000AAAA0000AAAA0000AAAA0000AAAA0000AAAA0000AAAA0000AAAA0000";
const ACCESS: &str = "I0.access-token";

fn adapter(server: &MockServer) -> SchwabAdapter {
    let setup = common::setup(Stopped(NOW_MS), Duration::from_millis(300));
    SchwabAdapter::new(
        SchwabConfig {
            base_url: format!("{}/trader/v1", server.uri()),
            app_key: "app-key".into(),
            app_secret: "app-secret".into(),
            access_token: ACCESS.into(),
            refresh_token: "refresh-token".into(),
            account_id: ACCT.into(),
        },
        setup,
    )
}

fn fixture(name: &str) -> String {
    common::fixture("schwab", name)
}

fn fixture_json(name: &str) -> Value {
    common::fixture_json("schwab", name)
}

fn account(rest: &str) -> String {
    format!("/trader/v1/accounts/{HASH}{rest}")
}

/// `accountNumbers` answering with the fixture's hash.
async fn numbers(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/trader/v1/accounts/accountNumbers"))
        .respond_with(json_body(200, &fixture("account_numbers.json")))
        .mount(server)
        .await;
}

async fn get(server: &MockServer, p: &str, resp: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(resp)
        .mount(server)
        .await;
}

/// The account with its positions (long 3 AAPL).
async fn positions(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(account("")))
        .and(query_param("fields", "positions"))
        .respond_with(json_body(200, &fixture("account_with_positions.json")))
        .mount(server)
        .await;
}

fn created(id: &str) -> ResponseTemplate {
    ResponseTemplate::new(201).insert_header(
        "Location",
        format!("https://api.schwabapi.com/trader/v1/accounts/{HASH}/orders/{id}").as_str(),
    )
}

#[tokio::test]
async fn every_order_fixture_maps_to_the_contract() {
    let server = MockServer::start().await;
    numbers(&server).await;
    let a = adapter(&server);
    let cases = [
        ("order_canceled.json", OrderStatus::Canceled, dec!(0), None),
        (
            "order_filled_market.json",
            OrderStatus::Filled,
            dec!(3),
            Some(dec!(190.31)),
        ),
        ("order_oco.json", OrderStatus::Accepted, dec!(0), None),
        (
            "order_option_filled.json",
            OrderStatus::Filled,
            dec!(1),
            Some(dec!(5.25)),
        ),
        (
            "order_pending_activation.json",
            OrderStatus::Pending,
            dec!(0),
            None,
        ),
        (
            "order_pending_cancel.json",
            OrderStatus::PendingCancel,
            dec!(0),
            None,
        ),
        ("order_rejected.json", OrderStatus::Rejected, dec!(0), None),
        (
            "order_replaced_old.json",
            OrderStatus::Replaced,
            dec!(0),
            None,
        ),
        (
            "order_replacement_working.json",
            OrderStatus::Accepted,
            dec!(0),
            None,
        ),
        (
            "order_trigger_oto.json",
            OrderStatus::Accepted,
            dec!(0),
            None,
        ),
        (
            "order_vertical_working.json",
            OrderStatus::Accepted,
            dec!(0),
            None,
        ),
        (
            "order_working_limit.json",
            OrderStatus::Accepted,
            dec!(0),
            None,
        ),
        (
            "order_working_partially_filled.json",
            OrderStatus::PartiallyFilled,
            dec!(2),
            Some(dec!(140.11)),
        ),
    ];
    for (name, status, filled, average) in cases {
        let body = fixture_json(name);
        let id = body["orderId"].to_string();
        get(
            &server,
            &account(&format!("/orders/{id}")),
            json_body(200, &body.to_string()),
        )
        .await;
        let r = a
            .get_order(&id)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (r.status, r.filled_quantity, r.average_fill_price),
            (status, filled, average),
            "{name}"
        );
        assert_eq!(r.broker_status, body["status"].as_str().unwrap(), "{name}");
        assert_eq!(
            r.filled_quantity + r.remaining_quantity,
            body["quantity"].to_string().parse().unwrap(),
            "{name}"
        );
        if status == OrderStatus::Rejected {
            assert!(
                r.reject_reason.unwrap().contains("Account_Sys_0005"),
                "{name}"
            );
        }
        server.reset().await;
        numbers(&server).await;
    }
}

#[tokio::test]
async fn accounts_positions_and_the_hash() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/trader/v1/accounts/accountNumbers"))
        .and(header("Authorization", format!("Bearer {ACCESS}").as_str()))
        .respond_with(json_body(200, &fixture("account_numbers.json")))
        .expect(1)
        .mount(&server)
        .await;
    positions(&server).await;
    get(
        &server,
        &account(""),
        json_body(200, &fixture("account_without_fields.json")),
    )
    .await;
    let a = adapter(&server);
    let ps = a.get_positions().await.unwrap();
    assert_eq!(ps.len(), 2);
    assert_eq!(
        (
            ps[0].instrument.clone(),
            ps[0].quantity,
            ps[0].average_price
        ),
        (Instrument::equity("AAPL"), dec!(3), dec!(190.31))
    );
    assert!(ps[1].instrument.is_option() && ps[1].quantity == dec!(1));
    assert!(ps.iter().all(|p| p.account_id == ACCT));
    let acct = a.get_account().await.unwrap();
    assert_eq!(
        (acct.cash, acct.buying_power, acct.equity),
        (dec!(98904.07), dec!(198665.14), dec!(99999.07))
    );
    // The hash was resolved once (`expect(1)`) and cached.
    a.get_account().await.unwrap();
}

#[tokio::test]
async fn a_short_position_is_negative_and_an_unknown_account_is_reauth() {
    let server = MockServer::start().await;
    numbers(&server).await;
    let mut doc = fixture_json("account_with_positions.json");
    doc["securitiesAccount"]["positions"][0]["longQuantity"] = json!(0.0);
    doc["securitiesAccount"]["positions"][0]["shortQuantity"] = json!(5.0);
    doc["securitiesAccount"]["positions"][1]["instrument"]["assetType"] = json!("MUTUAL_FUND");
    get(&server, &account(""), json_body(200, &doc.to_string())).await;
    let ps = adapter(&server).get_positions().await.unwrap();
    assert_eq!(
        ps.len(),
        1,
        "a fund cannot be expressed in the contract: {ps:?}"
    );
    assert_eq!(ps[0].quantity, dec!(-5));

    let other = MockServer::start().await;
    get(
        &other,
        "/trader/v1/accounts/accountNumbers",
        json_body(200, r#"[{"accountNumber":"999","hashValue":"X"}]"#),
    )
    .await;
    let e = adapter(&other).get_account().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ReauthRequired);
}

#[tokio::test]
async fn a_stale_hash_is_resolved_again_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/trader/v1/accounts/accountNumbers"))
        .respond_with(json_body(200, &fixture("account_numbers.json")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/trader/v1/accounts/accountNumbers"))
        .respond_with(json_body(
            200,
            &format!(r#"[{{"accountNumber":"{ACCT}","hashValue":"{FRESH_HASH}"}}]"#),
        ))
        .mount(&server)
        .await;
    get(
        &server,
        &account(""),
        json_body(400, &fixture("error_400_invalid_account.json")),
    )
    .await;
    let mut doc = fixture_json("account_without_fields.json");
    doc["securitiesAccount"]["accountNumber"] = json!(ACCT);
    get(
        &server,
        &format!("/trader/v1/accounts/{FRESH_HASH}"),
        json_body(200, &doc.to_string()),
    )
    .await;
    let acct = adapter(&server).get_account().await.unwrap();
    assert_eq!(acct.account_id, ACCT);
}

#[tokio::test]
async fn submit_reads_the_id_from_location_and_the_order_back() {
    let server = MockServer::start().await;
    numbers(&server).await;
    positions(&server).await;
    Mock::given(method("POST"))
        .and(path(account("/orders")))
        .and(header("Content-Type", "application/json"))
        .and(body_string_contains(r#""instruction":"SELL""#))
        .and(body_string_contains(r#""quantity":3"#))
        .respond_with(created("1004055538003"))
        .expect(1)
        .mount(&server)
        .await;
    get(
        &server,
        &account("/orders/1004055538003"),
        json_body(200, &fixture("order_filled_market.json")),
    )
    .await;
    let a = adapter(&server);
    // Long 3 AAPL: a sell of 3 is SELL, not SELL_SHORT.
    let r = a
        .submit_order(&Order::market("intent-1", "AAPL", Side::Sell, dec!(3)))
        .await
        .unwrap();
    assert_eq!(
        (r.broker_order_id.as_str(), r.client_order_id.as_str()),
        ("1004055538003", "intent-1")
    );
    // The same intent again is the same order: nothing is sent (`expect(1)`).
    let again = a
        .submit_order(&Order::market("intent-1", "AAPL", Side::Sell, dec!(3)))
        .await
        .unwrap();
    assert_eq!(again.broker_order_id, "1004055538003");
    assert_eq!(
        a.get_order("1004055538003").await.unwrap().client_order_id,
        "intent-1"
    );
}

/// A POST that answers too late for the adapter (the 201 is lost).
async fn lost_post(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(account("/orders")))
        .respond_with(created("1004055538003").set_delay(Duration::from_secs(2)))
        .expect(1)
        .mount(server)
        .await;
}

async fn listing(server: &MockServer, orders: &[Value]) {
    Mock::given(method("GET"))
        .and(path(account("/orders")))
        .and(query_param("fromEnteredTime", "2026-01-05T14:59:00.000Z"))
        .and(query_param("toEnteredTime", "2026-01-05T15:01:00.000Z"))
        .respond_with(json_body(200, &Value::Array(orders.to_vec()).to_string()))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_lost_201_is_found_by_listing_not_resent() {
    let server = MockServer::start().await;
    numbers(&server).await;
    positions(&server).await;
    lost_post(&server).await;
    // The recorded list (a SPY replacement, the SPY order it replaced, a
    // canceled MSFT limit, the filled BUY 3 AAPL MARKET) and one more AAPL
    // order differing only in quantity: one candidate is left.
    let Value::Array(mut list) = fixture_json("orders_list.json") else {
        panic!("orders_list.json is an array")
    };
    let mut other = fixture_json("order_filled_market.json");
    other["orderId"] = json!(1004055538099_u64);
    other["orderLegCollection"][0]["quantity"] = json!(4.0);
    list.insert(0, other);
    listing(&server, &list).await;
    let a = adapter(&server);
    // Long 3: a buy is BUY, and it matches the listed BUY 3 AAPL MARKET DAY.
    let r = a
        .submit_order(&Order::market("intent-lost", "AAPL", Side::Buy, dec!(3)))
        .await
        .unwrap();
    assert_eq!(
        (r.broker_order_id.as_str(), r.status),
        ("1004055538003", OrderStatus::Filled)
    );
    assert_eq!(r.client_order_id, "intent-lost");
}

#[tokio::test]
async fn two_identical_candidates_are_ambiguous_and_nothing_is_resent() {
    let server = MockServer::start().await;
    numbers(&server).await;
    positions(&server).await;
    lost_post(&server).await;
    let mut twin = fixture_json("order_filled_market.json");
    twin["orderId"] = json!(1004055538004_u64);
    listing(&server, &[twin, fixture_json("order_filled_market.json")]).await;
    let e = adapter(&server)
        .submit_order(&Order::market("intent-twins", "AAPL", Side::Buy, dec!(3)))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e}");
    assert!(
        e.message.contains("1004055538004") && e.message.contains("1004055538003"),
        "{e}"
    );
}

#[tokio::test]
async fn an_absent_order_is_sent_again_once() {
    let server = MockServer::start().await;
    numbers(&server).await;
    positions(&server).await;
    Mock::given(method("POST"))
        .and(path(account("/orders")))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>Access Denied</html>"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(account("/orders")))
        .respond_with(created("1004055538003"))
        .expect(1)
        .mount(&server)
        .await;
    let Value::Array(empty) = fixture_json("orders_list_empty.json") else {
        panic!("orders_list_empty.json is an array")
    };
    listing(&server, &empty).await;
    get(
        &server,
        &account("/orders/1004055538003"),
        json_body(200, &fixture("order_filled_market.json")),
    )
    .await;
    let r = adapter(&server)
        .submit_order(&Order::market("intent-503", "AAPL", Side::Buy, dec!(3)))
        .await
        .unwrap();
    assert_eq!(r.broker_order_id, "1004055538003");
}

#[tokio::test]
async fn a_201_without_location_is_found_by_listing() {
    let server = MockServer::start().await;
    numbers(&server).await;
    positions(&server).await;
    Mock::given(method("POST"))
        .and(path(account("/orders")))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    listing(&server, &[fixture_json("order_filled_market.json")]).await;
    let r = adapter(&server)
        .submit_order(&Order::market("intent-nl", "AAPL", Side::Buy, dec!(3)))
        .await
        .unwrap();
    assert_eq!(r.broker_order_id, "1004055538003");
}

#[tokio::test]
async fn order_refusals_are_rejected_and_bad_requests_invalid() {
    let server = MockServer::start().await;
    numbers(&server).await;
    positions(&server).await;
    for (qty, body, kind, code) in [
        (
            7,
            "error_400_buying_power.json",
            ErrorKind::Rejected,
            Some("Account_Sys_0005"),
        ),
        (
            8,
            "error_400_oversold.json",
            ErrorKind::Rejected,
            Some("Position_Sys_0001"),
        ),
        (
            9,
            "error_400_requested_destination.json",
            ErrorKind::InvalidRequest,
            None,
        ),
        (
            10,
            "error_400_invalid_order.json",
            ErrorKind::InvalidRequest,
            None,
        ),
    ] {
        Mock::given(method("POST"))
            .and(path(account("/orders")))
            .and(body_string_contains(
                format!(r#""quantity":{qty}"#).as_str(),
            ))
            .respond_with(json_body(400, &fixture(body)))
            .expect(1)
            .mount(&server)
            .await;
        let e = adapter(&server)
            .submit_order(&Order::market(
                &format!("refused-{qty}"),
                "AAPL",
                Side::Buy,
                qty.into(),
            ))
            .await
            .unwrap_err();
        assert_eq!(
            (e.kind, e.broker_code.as_deref()),
            (kind, code),
            "{body}: {e}"
        );
    }
}

#[tokio::test]
async fn cancels_are_read_back_and_a_final_order_is_too_late() {
    let server = MockServer::start().await;
    numbers(&server).await;
    Mock::given(method("DELETE"))
        .and(path(account("/orders/1004055538001")))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    get(
        &server,
        &account("/orders/1004055538001"),
        json_body(200, &fixture("order_pending_cancel.json")),
    )
    .await;
    let a = adapter(&server);
    let c = a.cancel_order("1004055538001").await.unwrap();
    assert_eq!(c.status, CancelStatus::PendingCancel);

    Mock::given(method("DELETE"))
        .and(path(account("/orders/1004055538003")))
        .respond_with(json_body(400, &fixture("error_400_cancel_filled.json")))
        .mount(&server)
        .await;
    get(
        &server,
        &account("/orders/1004055538003"),
        json_body(200, &fixture("order_filled_market.json")),
    )
    .await;
    let e = a.cancel_order("1004055538003").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLateToCancel);
    assert!(e.message.contains("FILLED"), "{e}");

    // A second cancel of a canceled order is a success (cancels are idempotent).
    let mut canceled = fixture_json("order_canceled.json");
    canceled["orderId"] = json!(1004055538031_u64);
    Mock::given(method("DELETE"))
        .and(path(account("/orders/1004055538031")))
        .respond_with(json_body(400, &fixture("error_400_cancel_filled.json")))
        .mount(&server)
        .await;
    get(
        &server,
        &account("/orders/1004055538031"),
        json_body(200, &canceled.to_string()),
    )
    .await;
    assert_eq!(
        a.cancel_order("1004055538031").await.unwrap().status,
        CancelStatus::Canceled
    );
    let e = a.cancel_order("not-an-id").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn replace_puts_a_complete_order_and_follows_location() {
    let server = MockServer::start().await;
    numbers(&server).await;
    get(
        &server,
        &account("/orders/1004055538005"),
        json_body(
            200,
            &fixture("order_working_limit.json").replace("1004055538001", "1004055538005"),
        ),
    )
    .await;
    Mock::given(method("PUT"))
        .and(path(account("/orders/1004055538005")))
        .and(body_string_contains(r#""price":"2.5""#))
        .and(body_string_contains(r#""quantity":2"#))
        .and(body_string_contains(r#""symbol":"MSFT""#))
        .respond_with(created("1004055538006"))
        .expect(1)
        .mount(&server)
        .await;
    get(
        &server,
        &account("/orders/1004055538006"),
        json_body(200, &fixture("order_replacement_working.json")),
    )
    .await;
    let changes = Replace {
        quantity: Some(dec!(2)),
        limit_price: Some(dec!(2.5)),
        ..Replace::default()
    };
    let r = adapter(&server)
        .replace_order("1004055538005", &changes)
        .await
        .unwrap();
    assert_eq!(
        (r.broker_order_id.as_str(), r.status),
        ("1004055538006", OrderStatus::Accepted)
    );

    let final_server = MockServer::start().await;
    numbers(&final_server).await;
    get(
        &final_server,
        &account("/orders/1004055538003"),
        json_body(200, &fixture("order_filled_market.json")),
    )
    .await;
    Mock::given(method("PUT"))
        .and(path(account("/orders/1004055538003")))
        .respond_with(json_body(
            400,
            r#"{"message":"Order cannot be replaced","errors":["terminal"]}"#,
        ))
        .mount(&final_server)
        .await;
    let e = adapter(&final_server)
        .replace_order("1004055538003", &changes)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected);
}

#[tokio::test]
async fn every_error_status_has_its_kind() {
    let server = MockServer::start().await;
    numbers(&server).await;
    let a = adapter(&server);
    let answers = [
        (
            "1",
            json_body(404, &fixture("error_404_order.json")),
            ErrorKind::NotFound,
        ),
        (
            "2",
            ResponseTemplate::new(404).set_body_string(fixture("error_404_route.txt")),
            ErrorKind::NotFound,
        ),
        (
            "3",
            json_body(503, r#"{"message":"Service Unavailable","errors":[]}"#),
            ErrorKind::Unavailable,
        ),
        (
            "4",
            ResponseTemplate::new(502).set_body_string("<html>Access Denied</html>"),
            ErrorKind::Unavailable,
        ),
        (
            "5",
            json_body(200, "{\"orderId\": 5, \"status\""),
            ErrorKind::Unknown,
        ),
        (
            "6",
            json_body(
                200,
                r#"{"orderId":6,"status":"UNKNOWN","quantity":1.0,"filledQuantity":0.0}"#,
            ),
            ErrorKind::Unknown,
        ),
        (
            "7",
            json_body(403, r#"{"message":"Forbidden","errors":["no"]}"#),
            ErrorKind::Rejected,
        ),
        (
            "8",
            json_body(200, r#"{"orderId":8,"status":"WORKING"}"#).set_delay(Duration::from_secs(1)),
            ErrorKind::Timeout,
        ),
    ];
    for (id, resp, kind) in answers {
        get(&server, &account(&format!("/orders/{id}")), resp).await;
        let e = a.get_order(id).await.unwrap_err();
        assert_eq!(e.kind, kind, "order {id}: {e}");
    }
    Mock::given(method("GET"))
        .and(path(account("/orders/9")))
        .respond_with(json_body(429, &fixture("error_429.json")).insert_header("Retry-After", "20"))
        .mount(&server)
        .await;
    let e = a.get_order("9").await.unwrap_err();
    assert_eq!(
        (e.kind, e.retry_after_ms),
        (ErrorKind::RateLimited, Some(20_000))
    );
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_a_dead_refresh_is_reauth() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/trader/v1/accounts/accountNumbers"))
        .and(header("Authorization", format!("Bearer {ACCESS}").as_str()))
        .respond_with(json_body(401, &fixture("error_401.json")))
        .mount(&server)
        .await;
    let grant = fixture_json("token_response.json");
    let fresh = grant["access_token"].as_str().unwrap().to_string();
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .and(header("Authorization", "Basic YXBwLWtleTphcHAtc2VjcmV0"))
        .and(header("Content-Type", "application/x-www-form-urlencoded"))
        .and(body_string_contains(
            "grant_type=refresh_token&refresh_token=refresh-token",
        ))
        .respond_with(json_body(200, &grant.to_string()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/trader/v1/accounts/accountNumbers"))
        .and(header("Authorization", format!("Bearer {fresh}").as_str()))
        .respond_with(json_body(200, &fixture("account_numbers.json")))
        .mount(&server)
        .await;
    get(
        &server,
        &account(""),
        json_body(200, &fixture("account_without_fields.json")),
    )
    .await;
    let acct = adapter(&server).get_account().await.unwrap();
    assert_eq!(acct.account_id, ACCT);

    let dead = MockServer::start().await;
    get(
        &dead,
        "/trader/v1/accounts/accountNumbers",
        json_body(401, &fixture("error_401.json")),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(json_body(400, &fixture("token_error_refresh.json")))
        .expect(1)
        .mount(&dead)
        .await;
    let a = adapter(&dead);
    let e = a.get_account().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ReauthRequired, "{e}");
    assert!(
        !e.message.contains("GgpPmU"),
        "the refused token's start stays out of errors: {e}"
    );
    // From then on nothing is sent: the grant is dead (`expect(1)`).
    assert_eq!(
        a.get_positions().await.unwrap_err().kind,
        ErrorKind::ReauthRequired
    );

    let stranger = MockServer::start().await;
    get(
        &stranger,
        "/trader/v1/accounts/accountNumbers",
        json_body(401, &fixture("error_401.json")),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(json_body(401, &fixture("token_error_invalid_client.json")))
        .mount(&stranger)
        .await;
    let e = adapter(&stranger).get_account().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ReauthRequired);
}

#[tokio::test]
async fn order_updates_poll_the_list_and_report_changes() {
    use futures_util::StreamExt;
    let server = MockServer::start().await;
    numbers(&server).await;
    // The baseline: a working order; then it is filled.
    let working = fixture_json("order_working_partially_filled.json");
    let mut filled = working.clone();
    filled["status"] = json!("FILLED");
    filled["filledQuantity"] = json!(4.0);
    filled["remainingQuantity"] = json!(0.0);
    Mock::given(method("GET"))
        .and(path(account("/orders")))
        .respond_with(json_body(200, &json!([working]).to_string()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(account("/orders")))
        .respond_with(json_body(200, &json!([filled]).to_string()))
        .mount(&server)
        .await;
    let mut updates = adapter(&server).order_updates().await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), updates.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (next.broker_order_id.as_str(), next.status),
        ("1004055538004", OrderStatus::Filled)
    );
}
