//! The Alpaca face answered as Alpaca answers: behaviour, statuses and error
//! bodies (../shared/reference/brokers/alpaca.md). The shapes are checked
//! against the vendor bodies in `test_data/alpaca` (alpaca_fixtures.rs), and
//! the vendor SDK checks these again end to end (tests/sdk/test_alpaca.py).
//!
//! Acceptance is the vendor's first state: no test here takes a fill for
//! granted in a POST's answer; it reads the order back until it fills.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use broker_models::faults::FaultPlan;
use common::{Client, Reply};
use rust_decimal::Decimal;
use serde_json::{json, Value};

fn alpaca() -> Client {
    Client::authed("alpaca", 7, FaultPlan::default())
}

fn is_decimal_string(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.parse::<Decimal>().is_ok())
}

fn decimal(v: &Value) -> Decimal {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a decimal string: {v}"))
}

/// The states Alpaca answers a submit with (§2.1), before any fill.
const OPEN: [&str; 3] = ["pending_new", "accepted", "new"];

/// POSTs an order and expects it accepted, in whatever state Alpaca answers first.
async fn order(c: &Client, body: &str) -> Value {
    let r = c.post_json("/v2/orders", body).await;
    assert_eq!(r.status, StatusCode::OK, "{body}: {}", r.text);
    let o = r.json();
    let status = o["status"].as_str().unwrap_or_default();
    assert!(
        OPEN.contains(&status) || ["partially_filled", "filled"].contains(&status),
        "{o}"
    );
    o
}

/// Reads an order back until it reaches `status` (market events fill it).
async fn until_status(c: &Client, id: &Value, status: &str) -> Value {
    let path = format!("/v2/orders/{}", id.as_str().unwrap_or_default());
    for _ in 0..250 {
        let o = c.get(&path).await.json();
        if o["status"] == status {
            return o;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("order {id} never reached {status}");
}

async fn filled_market(c: &Client, symbol: &str, side: &str, qty: &str) -> Value {
    let o = order(
        c,
        &format!(r#"{{"symbol":"{symbol}","qty":"{qty}","side":"{side}","type":"market","time_in_force":"day"}}"#),
    )
    .await;
    until_status(c, &o["id"], "filled").await
}

/// Lets the orders just placed be accepted (5-50 ms after the submit),
/// so they can be replaced.
async fn accepted(c: &Client) {
    advance(c, 100).await;
}

/// Jumps simulated time (pending cancels land, the market moves).
async fn advance(c: &Client, ms: u64) {
    let r = c
        .post_json("/_sim/advance", &format!(r#"{{"ms":{ms}}}"#))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

fn refusal(r: &Reply) -> (StatusCode, Value, String) {
    let body = r.json();
    let message = body["message"].as_str().unwrap_or_default().to_string();
    (r.status, body["code"].clone(), message)
}

/// PATCHes `path` with a JSON body (an order's replace, §2.6, or the configurations).
async fn patch(c: &Client, path: &str, body: &str) -> Reply {
    c.send(Method::PATCH, path, "application/json", body).await
}

async fn submit_refused(c: &Client, body: &str) -> (StatusCode, Value, String) {
    refusal(&c.post_json("/v2/orders", body).await)
}

async fn ledger_orders(c: &Client) -> usize {
    c.get("/_sim/ledger").await.json()["orders"]
        .as_array()
        .map_or(0, Vec::len)
}

#[tokio::test]
async fn account_fields_are_strings_and_upper_case_status() {
    let c = alpaca();
    let r = c.get("/v2/account").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let a = r.json();
    assert_eq!(a["account_number"], "PA3SIM000001");
    assert_eq!(a["status"], "ACTIVE");
    for field in [
        "cash",
        "buying_power",
        "equity",
        "portfolio_value",
        "long_market_value",
        "short_market_value",
    ] {
        assert!(is_decimal_string(&a[field]), "{field}: {}", a[field]);
    }
    assert_eq!(a["cash"], "100000");
    assert!(uuid::Uuid::parse_str(a["id"].as_str().unwrap()).is_ok());
}

/// The key pair is an extractor on every route: the same 401/403 bodies everywhere.
#[tokio::test]
async fn auth_errors_match_alpaca_on_every_route() {
    let mut c = alpaca();
    let routes = [
        (Method::GET, "/v2/account"),
        (Method::GET, "/v2/orders"),
        (Method::POST, "/v2/orders"),
        (Method::DELETE, "/v2/positions"),
        (Method::DELETE, "/v2/positions/AAPL"),
        (Method::GET, "/v2/assets"),
        (Method::GET, "/v2/calendar"),
        (Method::GET, "/v2/account/activities"),
        (Method::PATCH, "/v2/account/configurations"),
        (Method::GET, "/v2/options/contracts"),
    ];
    c.headers.clear();
    for (method, path) in &routes {
        let r = c.send(method.clone(), path, "application/json", "{}").await;
        assert_eq!(
            (r.status, r.json()),
            (StatusCode::FORBIDDEN, json!({"message": "forbidden."})),
            "{method} {path}"
        );
    }
    c.headers = vec![
        ("APCA-API-KEY-ID".into(), "PKWRONG".into()),
        ("APCA-API-SECRET-KEY".into(), "nope".into()),
    ];
    for (method, path) in &routes {
        let r = c.send(method.clone(), path, "application/json", "{}").await;
        assert_eq!(
            (r.status, r.json()),
            (StatusCode::UNAUTHORIZED, json!({"message": "unauthorized"})),
            "{method} {path}"
        );
        assert!(!r.text.contains("nope"));
    }
    c.headers = vec![("Authorization".into(), "Bearer not-issued".into())];
    assert_eq!(c.get("/v2/account").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_market_order_is_accepted_then_fills_and_shows_as_a_position() {
    let c = alpaca();
    let o = order(
        &c,
        r#"{"symbol":"AAPL","qty":10,"side":"buy","type":"market","time_in_force":"day","client_order_id":"intent-1"}"#,
    )
    .await;
    assert!(uuid::Uuid::parse_str(o["id"].as_str().unwrap()).is_ok());
    assert_eq!(
        (o["client_order_id"].as_str(), o["qty"].as_str()),
        (Some("intent-1"), Some("10"))
    );
    assert_eq!(
        (o["order_class"].as_str(), o["asset_class"].as_str()),
        (Some("simple"), Some("us_equity"))
    );
    assert_eq!(o["extended_hours"], false);
    let o = until_status(&c, &o["id"], "filled").await;
    assert_eq!(o["filled_qty"], "10");
    assert!(is_decimal_string(&o["filled_avg_price"]));
    for t in ["created_at", "updated_at", "submitted_at", "filled_at"] {
        assert!(
            chrono::DateTime::parse_from_rfc3339(o[t].as_str().unwrap()).is_ok(),
            "{t}"
        );
    }
    assert!(o["limit_price"].is_null() && o["canceled_at"].is_null());
    let by_cid = c
        .get("/v2/orders:by_client_order_id?client_order_id=intent-1")
        .await;
    assert_eq!(by_cid.json()["id"], o["id"]);

    let positions = c.get("/v2/positions").await.json();
    let p = &positions[0];
    assert_eq!(
        (
            p["symbol"].as_str(),
            p["qty"].as_str(),
            p["side"].as_str(),
            p["exchange"].as_str()
        ),
        (Some("AAPL"), Some("10"), Some("long"), Some("NASDAQ"))
    );
    for f in [
        "avg_entry_price",
        "market_value",
        "cost_basis",
        "unrealized_pl",
        "current_price",
    ] {
        assert!(is_decimal_string(&p[f]), "{f}");
    }
    assert_eq!(c.get("/v2/positions/AAPL").await.json()["qty"], "10");
    let missing = c.get("/v2/positions/MSFT").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json(),
        json!({"code": 40410000, "message": "position does not exist"})
    );
}

#[tokio::test]
async fn duplicate_client_order_id_is_422_forever() {
    let c = alpaca();
    let body = r#"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","limit_price":"1.00","time_in_force":"gtc","client_order_id":"dup"}"#;
    let id = order(&c, body).await["id"].as_str().unwrap().to_string();
    let del = c
        .send(Method::DELETE, &format!("/v2/orders/{id}"), "", "")
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    let r = c.post_json("/v2/orders", body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json(),
        json!({"code": 40010001, "message": "client_order_id must be unique"})
    );
}

#[tokio::test]
async fn limit_rests_then_cancels_and_cancel_of_filled_is_422() {
    let c = alpaca();
    let o = order(
        &c,
        r#"{"symbol":"MSFT","qty":2,"side":"buy","type":"limit","limit_price":1.5,"time_in_force":"day"}"#,
    )
    .await;
    assert_eq!(o["limit_price"], "1.5");
    let id = o["id"].as_str().unwrap();
    assert_eq!(
        c.get("/v2/orders?status=open")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let del = c
        .send(Method::DELETE, &format!("/v2/orders/{id}"), "", "")
        .await;
    assert_eq!(
        (del.status, del.text.as_str()),
        (StatusCode::NO_CONTENT, "")
    );
    // Cancel is asynchronous (§2.7): pending first, canceled once it lands.
    let o = c.get(&format!("/v2/orders/{id}")).await.json();
    assert_eq!(o["status"], "pending_cancel");
    assert!(o["canceled_at"].is_null());
    let again = c
        .send(Method::DELETE, &format!("/v2/orders/{id}"), "", "")
        .await;
    assert_eq!(
        again.status,
        StatusCode::NO_CONTENT,
        "a second cancel while pending is accepted"
    );
    advance(&c, 150).await;
    let o = c.get(&format!("/v2/orders/{id}")).await.json();
    assert_eq!(o["status"], "canceled");
    assert!(o["canceled_at"].is_string());
    assert_eq!(c.get("/v2/orders?status=open").await.json(), json!([]));
    assert_eq!(
        c.get("/v2/orders?status=closed")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let filled = filled_market(&c, "MSFT", "buy", "1").await;
    let r = c
        .send(
            Method::DELETE,
            &format!("/v2/orders/{}", filled["id"].as_str().unwrap()),
            "",
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json(),
        json!({"code": 42210000, "message": "order is already in \"filled\" state"})
    );
    let unknown = c
        .send(
            Method::DELETE,
            "/v2/orders/00000000-0000-4000-8000-000000000000",
            "",
            "",
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.json()["code"], 40410000);
}

#[tokio::test]
async fn cancel_all_answers_207_per_order() {
    let c = alpaca();
    for price in ["1.00", "1.10"] {
        order(&c, &format!(r#"{{"symbol":"SPY","qty":1,"side":"buy","type":"limit","limit_price":"{price}","time_in_force":"gtc"}}"#)).await;
    }
    let r = c.send(Method::DELETE, "/v2/orders", "", "").await;
    assert_eq!(r.status, StatusCode::MULTI_STATUS);
    let list = r.json();
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["status"] == 200 && e.get("body").is_none()));
}

/// Order ids come from third-party clients as 32 hex digits, in upper case,
/// braced or as a URN: every form Alpaca's UUID parser reads finds the order.
#[tokio::test]
async fn order_ids_in_every_form_find_the_same_order() {
    let c = alpaca();
    let o = order(
        &c,
        r#"{"symbol":"SPY","qty":3,"side":"buy","type":"limit","limit_price":"2","time_in_force":"gtc"}"#,
    )
    .await;
    accepted(&c).await;
    let id = o["id"].as_str().unwrap().to_string();
    for form in [
        id.replace('-', ""),
        id.to_uppercase(),
        id.replace('-', "").to_uppercase(),
        // Braces travel percent-encoded in a path.
        format!("%7B{id}%7D"),
        format!("urn:uuid:{id}"),
    ] {
        let r = c.get(&format!("/v2/orders/{form}")).await;
        assert_eq!(
            (r.status, r.json()["id"].as_str()),
            (StatusCode::OK, Some(id.as_str())),
            "{form}"
        );
    }
    let patched = patch(
        &c,
        &format!("/v2/orders/{}", id.to_uppercase()),
        r#"{"limit_price":"2.5"}"#,
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    let new_id = patched.json()["id"].as_str().unwrap().replace('-', "");
    let del = c
        .send(Method::DELETE, &format!("/v2/orders/{new_id}"), "", "")
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    let bad = c.get("/v2/orders/not-an-id").await;
    assert_eq!(
        (bad.status, bad.json()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"code": 40010001, "message": "order_id is missing"})
        )
    );
}

#[tokio::test]
async fn replace_makes_a_new_order_that_replaces_the_old() {
    let c = alpaca();
    let o = order(&c, r#"{"symbol":"SPY","qty":3,"side":"buy","type":"limit","limit_price":"2","time_in_force":"gtc"}"#).await;
    accepted(&c).await;
    let old = o["id"].as_str().unwrap();
    let r = patch(
        &c,
        &format!("/v2/orders/{old}"),
        r#"{"qty":"5","limit_price":"2.5"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let new = r.json();
    assert_ne!(new["id"], o["id"]);
    assert_eq!(
        (
            new["qty"].as_str(),
            new["limit_price"].as_str(),
            new["replaces"].as_str()
        ),
        (Some("5"), Some("2.5"), Some(old))
    );
    let old_now = c.get(&format!("/v2/orders/{old}")).await.json();
    assert_eq!(old_now["status"], "replaced");
    assert_eq!(old_now["replaced_by"], new["id"]);
    let again = patch(&c, &format!("/v2/orders/{old}"), r#"{"qty":"4"}"#).await;
    assert_eq!(
        refusal(&again),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!(42210000),
            "unable to replace order, order is not open".into()
        )
    );
}

/// A PATCH that breaks a rule is refused with the code a POST breaking the
/// same rule gets.
#[tokio::test]
async fn replace_refusals_use_the_submit_codes() {
    let c = alpaca();
    let o = order(&c, r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"limit","limit_price":"1.00","time_in_force":"gtc","client_order_id":"rest-1"}"#).await;
    order(&c, r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"limit","limit_price":"1.00","time_in_force":"gtc","client_order_id":"rest-2"}"#).await;
    let path = format!("/v2/orders/{}", o["id"].as_str().unwrap());
    let patch = |body: &'static str| {
        let (c, path) = (&c, path.clone());
        async move { refusal(&patch(c, &path, body).await) }
    };
    let submit = |body: &'static str| async { submit_refused(&c, body).await };
    let sub_penny = patch(r#"{"limit_price":"1.001"}"#).await;
    assert_eq!(
        sub_penny,
        (StatusCode::UNPROCESSABLE_ENTITY, json!(42210000), "invalid limit_price 1.001. sub-penny increment does not fulfill minimum pricing criteria".into())
    );
    let posted = submit(r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"limit","limit_price":"1.001","time_in_force":"gtc"}"#).await;
    assert_eq!(posted.0, sub_penny.0);
    assert_eq!(posted.1, sub_penny.1);
    let bp = patch(r#"{"qty":"5000","limit_price":"100"}"#).await;
    assert_eq!(
        (bp.0, &bp.1, bp.2.as_str()),
        (
            StatusCode::FORBIDDEN,
            &json!(40310000),
            "insufficient buying power"
        )
    );
    let posted = submit(r#"{"symbol":"AAPL","qty":5000,"side":"buy","type":"limit","limit_price":"100","time_in_force":"gtc"}"#).await;
    assert_eq!((posted.0, posted.1), (bp.0, bp.1));
    assert_eq!(
        patch(r#"{"time_in_force":"weird"}"#).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!(40010001),
            "invalid time_in_force".into()
        )
    );
    assert_eq!(
        submit(r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"limit","limit_price":"1","time_in_force":"weird"}"#).await,
        (StatusCode::UNPROCESSABLE_ENTITY, json!(40010001), "invalid time_in_force".into())
    );
    assert_eq!(
        patch(r#"{"qty":"1.5"}"#).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!(40010001),
            "qty must be integer".into()
        )
    );
    assert_eq!(
        patch(r#"{"client_order_id":"rest-2"}"#).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!(40010001),
            "client_order_id must be unique".into()
        )
    );
    assert_eq!(patch(r#"{"qty":[1]}"#).await.0, StatusCode::BAD_REQUEST);
    // Nothing refused moved the order: still working, still for 1.
    let still = c.get(&path).await.json();
    assert!(
        OPEN.contains(&still["status"].as_str().unwrap_or_default()),
        "{still}"
    );
    assert_eq!(still["qty"], "1");
}

#[tokio::test]
async fn a_sell_replace_may_take_the_shares_its_own_order_held() {
    let c = alpaca();
    filled_market(&c, "AAPL", "buy", "10").await;
    let o = order(&c, r#"{"symbol":"AAPL","qty":5,"side":"sell","type":"limit","limit_price":"1000","time_in_force":"gtc"}"#).await;
    accepted(&c).await;
    let path = format!("/v2/orders/{}", o["id"].as_str().unwrap());
    let ok = patch(&c, &path, r#"{"qty":"10"}"#).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let path = format!("/v2/orders/{}", ok.json()["id"].as_str().unwrap());
    let over = patch(&c, &path, r#"{"qty":"11"}"#).await;
    assert_eq!(
        over.json(),
        json!({"code": 40310000, "message": "insufficient qty available for order (requested: 11, available: 10)",
            "available": "10", "existing_qty": "10", "held_for_orders": "0", "symbol": "AAPL"})
    );
}

#[tokio::test]
async fn bad_bodies_are_answered_as_alpaca_answers_them() {
    let c = alpaca();
    let long_id = format!(
        r#"{{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"day","client_order_id":"{}"}}"#,
        "x".repeat(129)
    );
    let malformed = (
        StatusCode::BAD_REQUEST,
        json!(40010000),
        "request body format is invalid".to_string(),
    );
    let cases: Vec<(&str, (StatusCode, Value, String))> = vec![
        ("{not json", malformed.clone()),
        // A JSON array is no order object; Alpaca's decoder fails it as it fails broken JSON.
        ("[1,2,3]", malformed.clone()),
        (r#"{"symbol":"AAPL","qty":[1],"side":"buy","type":"market","time_in_force":"day"}"#, malformed.clone()),
        (r#"{"symbol":"AAPL","qty":"1_000","side":"buy","type":"market","time_in_force":"day"}"#, malformed.clone()),
        (r#"{"symbol":"AAPL","qty":"1,000","side":"buy","type":"market","time_in_force":"day"}"#, malformed.clone()),
        (r#"{"symbol":"AAPL","qty":1,"side":1,"type":"market","time_in_force":"day"}"#, malformed.clone()),
        (r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"limit","limit_price":"1","time_in_force":"day","extended_hours":"true"}"#, malformed),
        (
            r#"{"symbol":"AAPL","side":"buy","type":"market","time_in_force":"day"}"#,
            (StatusCode::UNPROCESSABLE_ENTITY, json!(40010001), "qty or notional is required".into()),
        ),
        (
            r#"{"symbol":"AAPL","qty":1,"notional":5,"side":"buy","type":"market","time_in_force":"day"}"#,
            (StatusCode::UNPROCESSABLE_ENTITY, json!(40010001), "only one of qty or notional is accepted".into()),
        ),
        (
            r#"{"symbol":"AAPL","qty":0,"side":"buy","type":"market","time_in_force":"day"}"#,
            (StatusCode::UNPROCESSABLE_ENTITY, json!(40010001), "qty must be > 0".into()),
        ),
        (
            r#"{"symbol":"AAPL","qty":"-1","side":"buy","type":"market","time_in_force":"day"}"#,
            (StatusCode::UNPROCESSABLE_ENTITY, json!(40010001), "qty must be > 0".into()),
        ),
        (
            r#"{"symbol":"AAPL","qty":"1e-40","side":"buy","type":"market","time_in_force":"day"}"#,
            (StatusCode::UNPROCESSABLE_ENTITY, json!(40010001), "qty must be > 0".into()),
        ),
        (
            r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"limit","time_in_force":"day"}"#,
            (StatusCode::UNPROCESSABLE_ENTITY, json!(40010001), "limit orders require a limit price".into()),
        ),
        (
            r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"stop","time_in_force":"day"}"#,
            (StatusCode::UNPROCESSABLE_ENTITY, json!(40010001), "stop orders require a stop price".into()),
        ),
        (
            r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","limit_price":"1","time_in_force":"day"}"#,
            (StatusCode::UNPROCESSABLE_ENTITY, json!(40010001), "market orders require no stop or limit price".into()),
        ),
        (
            r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"limit","limit_price":"-1","time_in_force":"day"}"#,
            (StatusCode::UNPROCESSABLE_ENTITY, json!(40010001), "limit price must be > 0".into()),
        ),
        (
            r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"limit","limit_price":"290.123","time_in_force":"day"}"#,
            (StatusCode::UNPROCESSABLE_ENTITY, json!(42210000), "invalid limit_price 290.123. sub-penny increment does not fulfill minimum pricing criteria".into()),
        ),
        (
            r#"{"symbol":"XYZQ","qty":1,"side":"buy","type":"market","time_in_force":"day"}"#,
            (StatusCode::UNPROCESSABLE_ENTITY, json!(42210000), "asset \"XYZQ\" not found".into()),
        ),
        (
            r#"{"symbol":"AAPL","qty":1,"side":"short","type":"market","time_in_force":"day"}"#,
            (StatusCode::UNPROCESSABLE_ENTITY, json!(40010001), "invalid side".into()),
        ),
        (
            r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"moc","time_in_force":"day"}"#,
            (StatusCode::UNPROCESSABLE_ENTITY, json!(40010001), "invalid order type".into()),
        ),
        (
            r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"gtd"}"#,
            (StatusCode::UNPROCESSABLE_ENTITY, json!(40010001), "invalid time_in_force".into()),
        ),
        (
            r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"day","order_class":"weird"}"#,
            (StatusCode::UNPROCESSABLE_ENTITY, json!(40010001), "invalid order_class".into()),
        ),
        (
            &long_id,
            (StatusCode::UNPROCESSABLE_ENTITY, json!(40010001), "client_order_id must be no more than 128 characters".into()),
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(submit_refused(&c, body).await, expected, "{body}");
    }
    let unknown = c.get("/v2/nothing-here").await;
    assert_eq!(
        (unknown.status, unknown.json()["code"].clone()),
        (StatusCode::NOT_FOUND, json!(40410000))
    );
    // Refused before the broker took them: none of these reached the ledger.
    assert_eq!(ledger_orders(&c).await, 0);
}

/// Number spellings shopspring's decoder reads are read; the quantity is what they say.
#[tokio::test]
async fn signed_and_leading_point_numbers_are_read_as_alpaca_reads_them() {
    let c = alpaca();
    let plus = order(
        &c,
        r#"{"symbol":"AAPL","qty":"+1","side":"buy","type":"market","time_in_force":"day"}"#,
    )
    .await;
    assert_eq!(plus["qty"], "1");
    let half = order(
        &c,
        r#"{"symbol":"AAPL","qty":".5","side":"buy","type":"market","time_in_force":"day"}"#,
    )
    .await;
    assert_eq!(half["qty"], "0.5");
    let sci = order(
        &c,
        r#"{"symbol":"AAPL","qty":1e0,"side":"buy","type":"market","time_in_force":"day"}"#,
    )
    .await;
    assert_eq!(sci["qty"], "1");
}

/// Absurd amounts are refused the way Alpaca refuses orders no account can
/// pay for, with the buying power (and the cost, where it can be written).
#[tokio::test]
async fn absurd_amounts_are_403_insufficient_buying_power_never_a_panic() {
    let c = alpaca();
    for body in [
        r#"{"symbol":"AAPL","qty":"1e40","side":"buy","type":"market","time_in_force":"day"}"#,
        r#"{"symbol":"AAPL","qty":"99999999999999999999999999999999999","side":"sell","type":"market","time_in_force":"day"}"#,
        r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"limit","limit_price":"1e40","time_in_force":"day"}"#,
        r#"{"symbol":"AAPL","notional":"1e300","side":"buy","type":"market","time_in_force":"day"}"#,
    ] {
        let r = c.post_json("/v2/orders", body).await;
        let b = r.json();
        assert_eq!(
            (r.status, b["code"].clone(), b["message"].as_str()),
            (
                StatusCode::FORBIDDEN,
                json!(40310000),
                Some("insufficient buying power")
            ),
            "{body}"
        );
        assert_eq!(b["buying_power"], "200000", "{body}");
    }
    for (qty, price) in [
        ("2000000", None),
        ("100000", None),
        ("79228162514264337593543950335", None),
        ("3", Some("999999999999")),
    ] {
        let body = match price {
            None => format!(
                r#"{{"symbol":"AAPL","qty":"{qty}","side":"buy","type":"market","time_in_force":"day"}}"#
            ),
            Some(p) => format!(
                r#"{{"symbol":"AAPL","qty":"{qty}","side":"buy","type":"limit","limit_price":"{p}","time_in_force":"day"}}"#
            ),
        };
        let r = c.post_json("/v2/orders", &body).await;
        let b = r.json();
        assert_eq!(
            (r.status, b["message"].as_str()),
            (StatusCode::FORBIDDEN, Some("insufficient buying power")),
            "{body}"
        );
        assert_eq!(b["buying_power"], "200000");
        assert!(
            b.get("cost_basis")
                .is_none_or(|v| decimal(v) > Decimal::from(200_000)),
            "{b}"
        );
    }
    // The server is still there, and no refused order was taken.
    assert_eq!(c.get("/v2/account").await.json()["buying_power"], "200000");
    assert_eq!(c.get("/v2/orders?status=all").await.json(), json!([]));
}

/// Hostile numbers in every numeric field of a submit and a replace: each
/// answer is Alpaca's (an order, or a JSON refusal), never a panic.
#[tokio::test]
async fn hostile_numbers_in_every_field_are_answered_never_a_panic() {
    let c = alpaca();
    let values = [
        "0",
        "-0",
        "1e40",
        "-1e40",
        "79228162514264337593543950335",
        "-79228162514264337593543950335",
        "0.0000000000000000000000000000001",
        "1e-40",
        "999999999999.99",
        "0.001",
        "1e28",
        "1.5",
    ];
    let answered = |r: &Reply| {
        let b = r.json();
        r.status == StatusCode::OK || (b["code"].is_u64() && b["message"].is_string())
    };
    let resting = order(&c, r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"limit","limit_price":"1","time_in_force":"gtc"}"#).await;
    let path = format!("/v2/orders/{}", resting["id"].as_str().unwrap());
    for v in values {
        for (side, body) in [
            ("buy", format!(r#""qty":"{v}","type":"market""#)),
            ("sell", format!(r#""qty":"{v}","type":"market""#)),
            ("buy", format!(r#""notional":"{v}","type":"market""#)),
            (
                "sell",
                format!(r#""qty":1,"type":"limit","limit_price":"{v}""#),
            ),
            (
                "buy",
                format!(r#""qty":1,"type":"stop_limit","stop_price":"{v}","limit_price":"{v}""#),
            ),
        ] {
            let body =
                format!(r#"{{"symbol":"AAPL","side":"{side}","time_in_force":"day",{body}}}"#);
            let r = c.post_json("/v2/orders", &body).await;
            assert!(answered(&r), "{body}: {} {}", r.status, r.text);
        }
        for field in ["qty", "limit_price"] {
            let r = patch(&c, &path, &format!(r#"{{"{field}":"{v}"}}"#)).await;
            assert!(answered(&r), "{field}={v}: {} {}", r.status, r.text);
        }
    }
    assert_eq!(c.get("/v2/account").await.status, StatusCode::OK);
}

/// Exit objects on a class that has no exits are refused loudly, never dropped.
#[tokio::test]
async fn stray_exits_are_refused_loudly() {
    let c = alpaca();
    let stray = r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"day","take_profit":{"limit_price":510.0}}"#;
    let (status, code, _) = submit_refused(&c, stray).await;
    assert_eq!(
        (status, code),
        (StatusCode::UNPROCESSABLE_ENTITY, json!(40010001))
    );
    assert_eq!(ledger_orders(&c).await, 0);
}

/// A trailing stop's stop follows the best bid by its trail (`hwm` shows
/// the mark), never moves back, and sells at the market once the bid falls
/// to it; its trail can be replaced, but not with another kind.
#[tokio::test]
async fn a_trailing_stop_follows_the_price_and_sells_when_it_falls_back() {
    let c = alpaca();
    set_price(&c, "AAPL", "200.00").await;
    filled_market(&c, "AAPL", "buy", "3").await;
    let o = order(&c, r#"{"symbol":"AAPL","qty":3,"side":"sell","type":"trailing_stop","trail_price":"5","time_in_force":"gtc"}"#).await;
    assert_eq!(
        (o["type"].as_str(), o["order_type"].as_str()),
        (Some("trailing_stop"), Some("trailing_stop"))
    );
    assert_eq!(
        (o["trail_price"].as_str(), o["trail_percent"].as_str()),
        (Some("5"), None)
    );
    let o = until_status(&c, &o["id"], "new").await;
    let (stop, hwm) = (decimal(&o["stop_price"]), decimal(&o["hwm"]));
    assert_eq!(stop, hwm - Decimal::from(5), "{o}");
    set_price(&c, "AAPL", "220.00").await;
    advance(&c, 1_000).await;
    let path = format!("/v2/orders/{}", o["id"].as_str().unwrap_or_default());
    let risen = c.get(&path).await.json();
    let (new_stop, new_hwm) = (decimal(&risen["stop_price"]), decimal(&risen["hwm"]));
    assert!(new_hwm > Decimal::from(215), "{risen}");
    assert_eq!(new_stop, new_hwm - Decimal::from(5), "{risen}");
    assert_eq!(risen["status"], "new");
    // Tightened to 2 dollars: the replacement keeps the mark. A stop price is refused.
    let r = patch(&c, &path, r#"{"stop_price":"100"}"#).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = patch(&c, &path, r#"{"trail":"2"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let tight = r.json();
    assert_eq!(tight["trail_price"], "2");
    assert_eq!(tight["replaces"], risen["id"]);
    let tight = until_status(&c, &tight["id"], "new").await;
    assert!(decimal(&tight["hwm"]) >= new_hwm, "{tight}");
    set_price(&c, "AAPL", "150.00").await;
    let sold = until_status(&c, &tight["id"], "filled").await;
    assert_eq!(sold["filled_qty"], "3");
    // It sold near where the price fell to, not at the stop it had.
    assert!(
        decimal(&sold["filled_avg_price"]) < Decimal::from(160),
        "{sold}"
    );
}

#[tokio::test]
async fn trailing_stop_rules() {
    let c = alpaca();
    set_price(&c, "AAPL", "200.00").await;
    let refused = [
        (
            r#""trail_price":"1","trail_percent":"1""#,
            "day",
            "only one of",
        ),
        (
            r#""extended_hours":false"#,
            "day",
            "require trail_price or trail_percent",
        ),
        (
            r#""trail_percent":"0.05""#,
            "day",
            "greater than or equal to 0.1",
        ),
        (r#""trail_price":"-1""#, "day", "trail_price must be > 0"),
        (r#""trail_price":"1.001""#, "day", "sub-penny"),
        (r#""trail_price":"1""#, "ioc", "DAY or GTC"),
    ];
    for (fields, tif, says) in refused {
        let body = format!(
            r#"{{"symbol":"AAPL","qty":1,"side":"buy","type":"trailing_stop","time_in_force":"{tif}",{fields}}}"#
        );
        let (status, _, message) = submit_refused(&c, &body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {message}"
        );
        assert!(message.contains(says), "{body}: {message}");
    }
    // A trail on another type is refused, not dropped.
    let (status, _, message) = submit_refused(&c, r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"stop","stop_price":"250","trail_price":"1","time_in_force":"day"}"#).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
    assert_eq!(ledger_orders(&c).await, 0);
    // A percent trail answers its percent; a buy's stop sits above the ask.
    let o = order(&c, r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"trailing_stop","trail_percent":"2.5","time_in_force":"day"}"#).await;
    assert_eq!(
        (o["trail_percent"].as_str(), o["trail_price"].as_str()),
        (Some("2.5"), None)
    );
    let o = until_status(&c, &o["id"], "new").await;
    assert!(decimal(&o["stop_price"]) > decimal(&o["hwm"]), "{o}");
}

async fn set_price(c: &Client, symbol: &str, price: &str) {
    let r = c
        .post_json(
            "/_sim/price",
            &format!(r#"{{"symbol":"{symbol}","price":"{price}"}}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

fn leg_statuses(o: &Value) -> Vec<String> {
    o["legs"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|x| x["status"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A bracket (§2.1, §3.2): the answer carries both exits `held`; the entry
/// fills, the exits go live at its quantity, and the first exit to fill
/// cancels the other. Listed flat, the exits are orders of their own;
/// `nested=true` rolls them under the entry.
#[tokio::test]
async fn a_bracket_holds_its_exits_until_the_entry_fills_then_one_cancels_the_other() {
    let c = alpaca();
    set_price(&c, "AAPL", "200.00").await;
    let entry = order(&c, r#"{"symbol":"AAPL","qty":2,"side":"buy","type":"market","time_in_force":"gtc","order_class":"bracket","take_profit":{"limit_price":230.0},"stop_loss":{"stop_price":170.0,"limit_price":169.0}}"#).await;
    assert_eq!(entry["order_class"], "bracket");
    let legs = entry["legs"].as_array().cloned().unwrap_or_default();
    assert_eq!(leg_statuses(&entry), ["held", "held"], "{entry}");
    let (take, stop) = (&legs[0], &legs[1]);
    assert_eq!(
        (
            take["side"].as_str(),
            take["type"].as_str(),
            take["limit_price"].as_str()
        ),
        (Some("sell"), Some("limit"), Some("230"))
    );
    assert_eq!(
        (
            stop["type"].as_str(),
            stop["stop_price"].as_str(),
            stop["limit_price"].as_str()
        ),
        (Some("stop_limit"), Some("170"), Some("169"))
    );
    for leg in &legs {
        assert_eq!(leg["order_class"], "bracket");
        assert_eq!(leg["qty"], "2");
        assert!(leg["legs"].is_null());
    }
    until_status(&c, &entry["id"], "filled").await;
    until_status(&c, &take["id"], "new").await;
    until_status(&c, &stop["id"], "new").await;
    let flat = c.get("/v2/orders?status=all").await.json();
    assert_eq!(flat.as_array().map(Vec::len), Some(3), "{flat}");
    let nested = c.get("/v2/orders?status=all&nested=true").await.json();
    let nested = nested.as_array().cloned().unwrap_or_default();
    assert_eq!(nested.len(), 1);
    assert_eq!(leg_statuses(&nested[0]), ["new", "new"]);
    let one = c
        .get(&format!(
            "/v2/orders/{}?nested=True",
            entry["id"].as_str().unwrap_or_default()
        ))
        .await
        .json();
    assert_eq!(leg_statuses(&one), ["new", "new"]);
    // Its exits hold the 2 shares once: the live take-profit can be
    // replaced beside the stop that holds the same shares.
    let path = format!("/v2/orders/{}", take["id"].as_str().unwrap_or_default());
    let r = patch(&c, &path, r#"{"limit_price":"230.5"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let take = r.json();
    accepted(&c).await;
    until_status(&c, &take["id"], "new").await;
    // A plain sell of the same shares finds them held.
    let (status, _, message) = submit_refused(
        &c,
        r#"{"symbol":"AAPL","qty":1,"side":"sell","type":"market","time_in_force":"day"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{message}");
    set_price(&c, "AAPL", "231.00").await;
    until_status(&c, &take["id"], "filled").await;
    until_status(&c, &stop["id"], "canceled").await;
    let positions = c.get("/v2/positions").await.json();
    assert_eq!(positions, json!([]), "in and out: flat");
}

/// A held exit replaced before its entry fills stays held, and its
/// replacement takes its place under the entry's `legs`.
#[tokio::test]
async fn a_replaced_held_exit_keeps_its_place_under_legs() {
    let c = alpaca();
    set_price(&c, "AAPL", "200.00").await;
    let entry = order(&c, r#"{"symbol":"AAPL","qty":2,"side":"buy","type":"limit","limit_price":"150","time_in_force":"gtc","order_class":"bracket","take_profit":{"limit_price":230.0},"stop_loss":{"stop_price":140.0}}"#).await;
    let (take, stop) = (&entry["legs"][0], &entry["legs"][1]);
    accepted(&c).await;
    let path = format!("/v2/orders/{}", take["id"].as_str().unwrap_or_default());
    let r = patch(&c, &path, r#"{"limit_price":"240"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let replacement = r.json();
    assert_eq!(
        (
            replacement["status"].as_str(),
            replacement["replaces"].as_str()
        ),
        (Some("held"), take["id"].as_str())
    );
    accepted(&c).await;
    let one = c
        .get(&format!(
            "/v2/orders/{}?nested=true",
            entry["id"].as_str().unwrap_or_default()
        ))
        .await
        .json();
    let mut ids: Vec<&str> = one["legs"]
        .as_array()
        .map(|l| l.iter().filter_map(|x| x["id"].as_str()).collect())
        .unwrap_or_default();
    ids.sort_unstable();
    let mut expected = [
        replacement["id"].as_str().unwrap_or_default(),
        stop["id"].as_str().unwrap_or_default(),
    ];
    expected.sort_unstable();
    assert_eq!(ids, expected, "the replaced exit is gone from legs");
    assert_eq!(leg_statuses(&one), ["held", "held"]);
}

/// An OTO's one exit, an OCO's two live exits, and the refusals Alpaca
/// gives when the exits are on the wrong side of the base price.
#[tokio::test]
async fn oto_and_oco_orders_and_their_price_rules() {
    let c = alpaca();
    set_price(&c, "AAPL", "200.00").await;
    let oto = order(&c, r#"{"symbol":"AAPL","qty":3,"side":"buy","type":"limit","limit_price":"201","time_in_force":"day","order_class":"oto","stop_loss":{"stop_price":"190"}}"#).await;
    assert_eq!(oto["order_class"], "oto");
    assert_eq!(leg_statuses(&oto), ["held"]);
    until_status(&c, &oto["id"], "filled").await;
    let stop = &oto["legs"][0];
    until_status(&c, &stop["id"], "new").await;
    // Cancel the OTO's stop, then protect the 3 shares with an OCO instead.
    let del = c
        .send(
            Method::DELETE,
            &format!("/v2/orders/{}", stop["id"].as_str().unwrap_or_default()),
            "",
            "",
        )
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    until_status(&c, &stop["id"], "canceled").await;
    let oco = order(&c, r#"{"symbol":"AAPL","qty":3,"side":"sell","type":"limit","time_in_force":"gtc","order_class":"oco","take_profit":{"limit_price":"240"},"stop_loss":{"stop_price":"180"}}"#).await;
    assert_eq!(
        (oco["order_class"].as_str(), oco["limit_price"].as_str()),
        (Some("oco"), Some("240"))
    );
    let oco_stop = &oco["legs"][0];
    assert_eq!(oco_stop["side"], "sell");
    until_status(&c, &oco_stop["id"], "new").await;
    set_price(&c, "AAPL", "179.00").await;
    until_status(&c, &oco_stop["id"], "filled").await;
    until_status(&c, &oco["id"], "canceled").await;

    for (body, message) in [
        (
            r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"limit","limit_price":"200","time_in_force":"day","order_class":"bracket","take_profit":{"limit_price":"200"},"stop_loss":{"stop_price":"150"}}"#,
            "take_profit.limit_price must be >= base_price + 0.01",
        ),
        (
            r#"{"symbol":"AAPL","qty":1,"side":"sell","type":"limit","limit_price":"200","time_in_force":"day","order_class":"oto","stop_loss":{"stop_price":"199.995"}}"#,
            "stop_loss.stop_price must be >= base_price + 0.01",
        ),
    ] {
        let (status, code, got) = submit_refused(&c, body).await;
        assert_eq!(
            (status, code, got.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!(42210000), message)
        );
    }
    for body in [
        // A bracket needs both exits; an OTO exactly one.
        r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"day","order_class":"bracket","take_profit":{"limit_price":"250"}}"#,
        r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"day","order_class":"oto"}"#,
        // Whole shares, day or gtc, no stop without its price.
        r#"{"symbol":"AAPL","qty":"1.5","side":"buy","type":"market","time_in_force":"day","order_class":"oto","stop_loss":{"stop_price":"150"}}"#,
        r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"ioc","order_class":"oto","stop_loss":{"stop_price":"150"}}"#,
        r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"day","order_class":"oto","stop_loss":{"limit_price":"150"}}"#,
        // An OCO is a limit order whose exits straddle the price.
        r#"{"symbol":"AAPL","qty":1,"side":"sell","type":"market","time_in_force":"day","order_class":"oco","take_profit":{"limit_price":"250"},"stop_loss":{"stop_price":"150"}}"#,
        r#"{"symbol":"AAPL","qty":1,"side":"sell","type":"limit","time_in_force":"day","order_class":"oco","take_profit":{"limit_price":"150"},"stop_loss":{"stop_price":"250"}}"#,
    ] {
        let (status, _, message) = submit_refused(&c, body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {message}"
        );
    }
}

#[tokio::test]
async fn fractional_orders_follow_alpacas_rules() {
    let c = alpaca();
    let market = order(
        &c,
        r#"{"symbol":"AAPL","qty":"0.5","side":"buy","type":"market","time_in_force":"day"}"#,
    )
    .await;
    until_status(&c, &market["id"], "filled").await;
    let limit = order(&c, r#"{"symbol":"AAPL","qty":"0.25","side":"buy","type":"limit","limit_price":"1","time_in_force":"day"}"#).await;
    assert_eq!(limit["qty"], "0.25");
    let refused = [
        (
            r#"{"symbol":"AAPL","qty":"0.5","side":"buy","type":"limit","limit_price":"1","time_in_force":"gtc"}"#,
            "fractional orders must be DAY orders",
        ),
        (
            r#"{"symbol":"AAPL","qty":"0.5","side":"buy","type":"market","time_in_force":"ioc"}"#,
            "fractional orders must be DAY orders",
        ),
        (
            r#"{"symbol":"AAPL","qty":"0.5","side":"buy","type":"stop","stop_price":"500","time_in_force":"day"}"#,
            "fractional orders must be market or limit orders",
        ),
    ];
    for (body, message) in refused {
        assert_eq!(
            submit_refused(&c, body).await,
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!(42210000),
                message.into()
            ),
            "{body}"
        );
    }
    assert_eq!(
        submit_refused(&c, r#"{"symbol":"AAPL","qty":"0.0000000001","side":"buy","type":"market","time_in_force":"day"}"#).await,
        (StatusCode::UNPROCESSABLE_ENTITY, json!(40010001), "qty must have at most 9 decimal places".into())
    );
    assert_eq!(
        submit_refused(&c, r#"{"symbol":"AAPL260116C00190000","qty":"1.5","side":"buy","type":"market","time_in_force":"day"}"#).await,
        (StatusCode::UNPROCESSABLE_ENTITY, json!(40010001), "qty must be integer".into())
    );
    assert_eq!(
        submit_refused(
            &c,
            r#"{"symbol":"MSFT","qty":"0.5","side":"sell","type":"market","time_in_force":"day"}"#
        )
        .await,
        (
            StatusCode::FORBIDDEN,
            json!(40310000),
            "fractional orders cannot be sold short".into()
        )
    );
}

#[tokio::test]
async fn extended_hours_is_for_day_limit_orders_and_is_echoed() {
    let c = alpaca();
    for body in [
        r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"day","extended_hours":true}"#,
        r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"limit","limit_price":"1","time_in_force":"gtc","extended_hours":true}"#,
        r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"stop_limit","stop_price":"300","limit_price":"301","time_in_force":"day","extended_hours":true}"#,
        r#"{"symbol":"AAPL260116C00190000","qty":1,"side":"buy","type":"limit","limit_price":"1","time_in_force":"day","extended_hours":true}"#,
    ] {
        assert_eq!(
            submit_refused(&c, body).await,
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!(42210000),
                "extended hours order must be DAY limit orders".into()
            ),
            "{body}"
        );
    }
    let o = order(&c, r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"limit","limit_price":"1","time_in_force":"day","extended_hours":true}"#).await;
    accepted(&c).await;
    assert_eq!(o["extended_hours"], true);
    let path = format!("/v2/orders/{}", o["id"].as_str().unwrap());
    assert_eq!(c.get(&path).await.json()["extended_hours"], true);
    assert_eq!(c.get("/v2/orders").await.json()[0]["extended_hours"], true);
    let gtc = patch(&c, &path, r#"{"time_in_force":"gtc"}"#).await;
    assert_eq!(
        refusal(&gtc),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!(42210000),
            "extended hours order must be DAY limit orders".into()
        )
    );
    let replaced = patch(&c, &path, r#"{"limit_price":"1.5"}"#).await;
    assert_eq!(replaced.json()["extended_hours"], true, "{}", replaced.text);
}

#[tokio::test]
async fn options_trade_whole_contracts_for_the_day() {
    let c = alpaca();
    let o = order(
        &c,
        r#"{"symbol":"AAPL260116C00190000","qty":1.0,"side":"buy","type":"market","time_in_force":"day","position_intent":"buy_to_open"}"#,
    )
    .await;
    assert_eq!(
        (
            o["symbol"].as_str(),
            o["asset_class"].as_str(),
            o["position_intent"].as_str()
        ),
        (
            Some("AAPL260116C00190000"),
            Some("us_option"),
            Some("buy_to_open")
        )
    );
    until_status(&c, &o["id"], "filled").await;
    let p = c.get("/v2/positions").await.json();
    assert_eq!(
        (p[0]["symbol"].as_str(), p[0]["exchange"].as_str()),
        (Some("AAPL260116C00190000"), Some(""))
    );
    for tif in ["gtc", "ioc", "fok"] {
        assert_eq!(
            submit_refused(&c, &format!(r#"{{"symbol":"AAPL260116C00190000","qty":1,"side":"buy","type":"limit","limit_price":"1","time_in_force":"{tif}"}}"#)).await,
            (StatusCode::UNPROCESSABLE_ENTITY, json!(42210000), "options orders must be DAY orders".into()),
            "{tif}"
        );
    }
}

/// No single order flips a position through zero, and shares promised to
/// open sells are not available (§2.9's 403 body, with its context keys).
#[tokio::test]
async fn sells_may_not_flip_a_long_or_take_held_shares() {
    let c = alpaca();
    filled_market(&c, "AAPL", "buy", "10").await;
    let flip = c
        .post_json(
            "/v2/orders",
            r#"{"symbol":"AAPL","qty":15,"side":"sell","type":"market","time_in_force":"day"}"#,
        )
        .await;
    assert_eq!(flip.status, StatusCode::FORBIDDEN);
    assert_eq!(
        flip.json(),
        json!({"code": 40310000, "message": "insufficient qty available for order (requested: 15, available: 10)",
            "available": "10", "existing_qty": "10", "held_for_orders": "0", "symbol": "AAPL"})
    );
    order(&c, r#"{"symbol":"AAPL","qty":4,"side":"sell","type":"limit","limit_price":"1000","time_in_force":"gtc"}"#).await;
    assert_eq!(
        c.get("/v2/positions/AAPL").await.json()["qty_available"],
        "6"
    );
    let held = c
        .post_json(
            "/v2/orders",
            r#"{"symbol":"AAPL","qty":7,"side":"sell","type":"market","time_in_force":"day"}"#,
        )
        .await;
    assert_eq!(
        held.json(),
        json!({"code": 40310000, "message": "insufficient qty available for order (requested: 7, available: 6)",
            "available": "6", "existing_qty": "10", "held_for_orders": "4", "symbol": "AAPL"})
    );
    let rest = filled_market(&c, "AAPL", "sell", "6").await;
    assert_eq!(rest["filled_qty"], "6");
}

/// A short sale is costed at the larger of its limit and 3% above the ask.
#[tokio::test]
async fn short_sales_are_costed_at_three_percent_above_the_ask() {
    let c = alpaca();
    // 1030 × (1.03 × ~190.5) ≈ 202,100 > 200,000 of buying power, though 1030 × the $1 limit is not.
    let r = c
        .post_json("/v2/orders", r#"{"symbol":"AAPL","qty":1030,"side":"sell","type":"limit","limit_price":"1.00","time_in_force":"day"}"#)
        .await;
    let b = r.json();
    assert_eq!(
        (r.status, b["message"].as_str(), b["buying_power"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("insufficient buying power"),
            Some("200000")
        )
    );
    let cost = decimal(&b["cost_basis"]);
    assert!(
        cost > Decimal::from(200_000) && cost < Decimal::from(205_000),
        "{cost}"
    );
    let ok = order(
        &c,
        r#"{"symbol":"AAPL","qty":100,"side":"sell","type":"market","time_in_force":"day"}"#,
    )
    .await;
    until_status(&c, &ok["id"], "filled").await;
    let p = c.get("/v2/positions/AAPL").await.json();
    assert_eq!(
        (
            p["qty"].as_str(),
            p["side"].as_str(),
            p["qty_available"].as_str()
        ),
        (Some("-100"), Some("short"), Some("-100"))
    );
    // A buy to cover may not flip the short either.
    let flip = c
        .post_json(
            "/v2/orders",
            r#"{"symbol":"AAPL","qty":101,"side":"buy","type":"market","time_in_force":"day"}"#,
        )
        .await;
    assert_eq!(
        flip.json()["message"],
        "insufficient qty available for order (requested: 101, available: 100)"
    );
}

#[tokio::test]
async fn notional_orders_are_dollar_amounts_on_market_day_orders() {
    let c = alpaca();
    let o = order(
        &c,
        r#"{"symbol":"AAPL","notional":"500","side":"buy","type":"market","time_in_force":"day"}"#,
    )
    .await;
    assert_eq!(
        (o["notional"].as_str(), o["qty"].clone()),
        (Some("500"), Value::Null)
    );
    let o = until_status(&c, &o["id"], "filled").await;
    assert_eq!(
        (o["notional"].as_str(), o["qty"].clone()),
        (Some("500"), Value::Null)
    );
    let spent = decimal(&o["filled_qty"]) * decimal(&o["filled_avg_price"]);
    assert!(
        spent > Decimal::from(495) && spent <= Decimal::from(501),
        "{spent}"
    );
    for (body, expected) in [
        (
            r#"{"symbol":"AAPL","notional":"0.5","side":"buy","type":"market","time_in_force":"day"}"#,
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!(40010001),
                "notional must be >= 1.00",
            ),
        ),
        (
            r#"{"symbol":"AAPL","notional":"500","side":"buy","type":"market","time_in_force":"gtc"}"#,
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!(42210000),
                "fractional orders must be DAY orders",
            ),
        ),
        (
            r#"{"symbol":"AAPL","notional":"500","side":"buy","type":"limit","limit_price":"1","time_in_force":"day"}"#,
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!(42210000),
                "notional orders must be market orders",
            ),
        ),
        (
            r#"{"symbol":"AAPL","notional":"300000","side":"buy","type":"market","time_in_force":"day"}"#,
            (
                StatusCode::FORBIDDEN,
                json!(40310000),
                "insufficient buying power",
            ),
        ),
    ] {
        let (status, code, message) = submit_refused(&c, body).await;
        assert_eq!((status, code, message.as_str()), expected, "{body}");
    }
}

/// OPG and CLS are taken only in their windows; inside them the model has
/// no auction to run them in, and says so.
#[tokio::test]
async fn opening_and_closing_auction_orders() {
    let c = alpaca();
    // The model starts at 10:00 in New York.
    assert_eq!(
        submit_refused(
            &c,
            r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"opg"}"#
        )
        .await,
        (
            StatusCode::FORBIDDEN,
            json!(40310000),
            "opg orders must be submitted after 7:00pm and before 9:28am".into()
        )
    );
    let (status, code, message) = submit_refused(
        &c,
        r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"cls"}"#,
    )
    .await;
    assert_eq!(
        (status, code, message.as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!(42210000),
            "cls orders are not simulated by raxx-sim"
        )
    );
    advance(&c, 9 * 3_600_000 + 1_800_000).await; // 19:30
    assert_eq!(
        submit_refused(
            &c,
            r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"opg"}"#
        )
        .await
        .2,
        "opg orders are not simulated by raxx-sim"
    );
}

/// `SYM:EXCHANGE[:class]` and asset ids name assets (§2.1).
#[tokio::test]
async fn symbols_in_alpacas_other_forms_resolve() {
    let c = alpaca();
    let o = order(&c, r#"{"symbol":"AAPL:NASDAQ","qty":1,"side":"buy","type":"limit","limit_price":"1","time_in_force":"day"}"#).await;
    assert_eq!(o["symbol"], "AAPL");
    let o = order(&c, r#"{"symbol":"SPY:ARCA:us_equity","qty":1,"side":"buy","type":"limit","limit_price":"1","time_in_force":"day"}"#).await;
    assert_eq!(o["symbol"], "SPY");
    let id = c.get("/v2/assets/MSFT").await.json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let o = order(&c, &format!(r#"{{"symbol":"{id}","qty":1,"side":"buy","type":"limit","limit_price":"1","time_in_force":"day"}}"#)).await;
    assert_eq!(o["symbol"], "MSFT");
    assert_eq!(
        submit_refused(
            &c,
            r#"{"symbol":"AAPL:NYSE","qty":1,"side":"buy","type":"market","time_in_force":"day"}"#
        )
        .await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!(42210000),
            "asset \"AAPL:NYSE\" not found".into()
        )
    );
}

/// A position's day change is measured from the latest close: none before
/// the world's first close, the close's mark after it.
#[tokio::test]
async fn change_today_is_measured_from_the_last_close() {
    let c = alpaca();
    set_price(&c, "AAPL", "200.00").await;
    filled_market(&c, "AAPL", "buy", "1").await;
    let p = c.get("/v2/positions/AAPL").await.json();
    assert_eq!(
        (&p["lastday_price"], &p["change_today"]),
        (&p["current_price"], &json!("0"))
    );
    // Through the close into the next session, then up 10 %.
    advance(&c, 24 * 3_600_000).await;
    let last = decimal(&c.get("/v2/positions/AAPL").await.json()["lastday_price"]);
    set_price(
        &c,
        "AAPL",
        &(last * Decimal::new(11, 1)).round_dp(2).to_string(),
    )
    .await;
    let p = c.get("/v2/positions/AAPL").await.json();
    let (now, lastday) = (decimal(&p["current_price"]), decimal(&p["lastday_price"]));
    assert_eq!(lastday, last, "{p}");
    assert_ne!(now, lastday, "{p}");
    assert_eq!(
        decimal(&p["change_today"]),
        ((now - lastday) / lastday).round_dp(6),
        "{p}"
    );
}

#[tokio::test]
async fn closing_one_position_answers_the_closing_order() {
    let c = alpaca();
    filled_market(&c, "AAPL", "buy", "10").await;
    let half = c
        .send(Method::DELETE, "/v2/positions/AAPL?percentage=50", "", "")
        .await;
    assert_eq!(half.status, StatusCode::OK, "{}", half.text);
    let o = half.json();
    assert_eq!(
        (
            o["side"].as_str(),
            o["qty"].as_str(),
            o["type"].as_str(),
            o["time_in_force"].as_str()
        ),
        (Some("sell"), Some("5"), Some("market"), Some("day"))
    );
    until_status(&c, &o["id"], "filled").await;
    let two = c
        .send(Method::DELETE, "/v2/positions/AAPL?qty=2", "", "")
        .await
        .json();
    assert_eq!(two["qty"], "2");
    until_status(&c, &two["id"], "filled").await;
    let id = c.get("/v2/positions/AAPL").await.json()["asset_id"]
        .as_str()
        .unwrap()
        .to_uppercase();
    let rest = c
        .send(Method::DELETE, &format!("/v2/positions/{id}"), "", "")
        .await
        .json();
    assert_eq!(rest["qty"], "3");
    until_status(&c, &rest["id"], "filled").await;
    assert_eq!(c.get("/v2/positions").await.json(), json!([]));
    let none = c.send(Method::DELETE, "/v2/positions/AAPL", "", "").await;
    assert_eq!(
        (none.status, none.json()),
        (
            StatusCode::NOT_FOUND,
            json!({"code": 40410000, "message": "position does not exist"})
        )
    );
    filled_market(&c, "MSFT", "buy", "1").await;
    let both = c
        .send(
            Method::DELETE,
            "/v2/positions/MSFT?qty=1&percentage=50",
            "",
            "",
        )
        .await;
    assert_eq!(refusal(&both).1, json!(40010001));
    let over = c
        .send(Method::DELETE, "/v2/positions/MSFT?qty=2", "", "")
        .await;
    assert_eq!(
        over.json()["message"],
        "insufficient qty available for order (requested: 2, available: 1)"
    );
}

#[tokio::test]
async fn closing_all_positions_is_207_per_position() {
    let c = alpaca();
    filled_market(&c, "AAPL", "buy", "3").await;
    filled_market(&c, "MSFT", "buy", "2").await;
    order(&c, r#"{"symbol":"MSFT","qty":2,"side":"sell","type":"limit","limit_price":"1000","time_in_force":"gtc"}"#).await;
    let r = c.send(Method::DELETE, "/v2/positions", "", "").await;
    assert_eq!(r.status, StatusCode::MULTI_STATUS);
    let list = r.json();
    let by_symbol = |s: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|e| e["symbol"] == s)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        (
            by_symbol("AAPL")["status"].clone(),
            by_symbol("AAPL")["body"]["side"].clone()
        ),
        (json!(200), json!("sell"))
    );
    let msft = by_symbol("MSFT");
    assert_eq!(msft["status"], 403);
    assert_eq!(msft["body"]["held_for_orders"], "2");
    // With cancel_orders the open sell is canceled first, and its shares are free.
    let r = c
        .send(Method::DELETE, "/v2/positions?cancel_orders=True", "", "")
        .await;
    let list = r.json();
    let msft = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["symbol"] == "MSFT")
        .cloned()
        .unwrap();
    assert_eq!(
        (msft["status"].clone(), msft["body"]["qty"].clone()),
        (json!(200), json!("2")),
        "{list}"
    );
}

#[tokio::test]
async fn exercise_is_for_long_options_and_not_simulated_early() {
    let c = alpaca();
    let none = c
        .post_json("/v2/positions/AAPL260116C00190000/exercise", "")
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    filled_market(&c, "AAPL", "buy", "1").await;
    assert_eq!(
        refusal(&c.post_json("/v2/positions/AAPL/exercise", "").await).0,
        StatusCode::FORBIDDEN
    );
    let o = order(&c, r#"{"symbol":"AAPL260116C00190000","qty":1,"side":"buy","type":"market","time_in_force":"day"}"#).await;
    until_status(&c, &o["id"], "filled").await;
    let (status, code, message) = refusal(
        &c.post_json("/v2/positions/AAPL260116C00190000/exercise", "")
            .await,
    );
    assert_eq!(
        (status, code),
        (StatusCode::UNPROCESSABLE_ENTITY, json!(42210000))
    );
    assert!(message.contains("not simulated"), "{message}");
}

#[tokio::test]
async fn fills_and_option_expiries_are_account_activities() {
    let c = alpaca();
    filled_market(&c, "AAPL", "buy", "2").await;
    // An option expiring today, far out of the money: worthless at the close.
    let o = order(&c, r#"{"symbol":"AAPL260105C00400000","qty":1,"side":"buy","type":"market","time_in_force":"day"}"#).await;
    until_status(&c, &o["id"], "filled").await;
    let fills = c.get("/v2/account/activities/FILL").await.json();
    let first = &fills.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (
            first["activity_type"].as_str(),
            first["symbol"].as_str(),
            first["side"].as_str()
        ),
        (Some("FILL"), Some("AAPL"), Some("buy"))
    );
    assert_eq!(
        (
            first["cum_qty"].as_str(),
            first["leaves_qty"].as_str(),
            first["type"].as_str()
        ),
        (Some("2"), Some("0"), Some("fill"))
    );
    assert!(first["id"].as_str().unwrap().contains("::"));
    advance(&c, 7 * 3_600_000).await;
    let expiries = c
        .get("/v2/account/activities?activity_types=OPEXP,OPASN")
        .await
        .json();
    assert_eq!(expiries.as_array().map(Vec::len), Some(1), "{expiries}");
    assert_eq!(
        (
            expiries[0]["activity_type"].as_str(),
            expiries[0]["symbol"].as_str()
        ),
        (Some("OPEXP"), Some("AAPL260105C00400000"))
    );
    let all = c
        .get("/v2/account/activities?direction=asc&page_size=1")
        .await
        .json();
    assert_eq!(all.as_array().map(Vec::len), Some(1));
    let next = c
        .get(&format!(
            "/v2/account/activities?direction=asc&page_size=1&page_token={}",
            all[0]["id"].as_str().unwrap()
        ))
        .await
        .json();
    assert_ne!(next[0]["id"], all[0]["id"]);
    assert_eq!(c.get("/v2/account/activities/DIV").await.json(), json!([]));
}

#[tokio::test]
async fn account_configurations_are_kept_and_change_what_is_accepted() {
    let c = alpaca();
    let defaults = c.get("/v2/account/configurations").await.json();
    assert_eq!(
        (
            defaults["no_shorting"].clone(),
            defaults["fractional_trading"].clone()
        ),
        (json!(false), json!(true))
    );
    let r = patch(
        &c,
        "/v2/account/configurations",
        r#"{"no_shorting":true,"fractional_trading":false,"trade_confirm_email":"none"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (
            r.json()["no_shorting"].clone(),
            r.json()["trade_confirm_email"].clone()
        ),
        (json!(true), json!("none"))
    );
    assert_eq!(c.get("/v2/account/configurations").await.json(), r.json());
    assert_eq!(c.get("/v2/account").await.json()["shorting_enabled"], false);
    assert_eq!(
        submit_refused(
            &c,
            r#"{"symbol":"AAPL","qty":1,"side":"sell","type":"market","time_in_force":"day"}"#
        )
        .await,
        (
            StatusCode::FORBIDDEN,
            json!(40310000),
            "account is not allowed to short".into()
        )
    );
    assert_eq!(
        submit_refused(
            &c,
            r#"{"symbol":"AAPL","qty":"0.5","side":"buy","type":"market","time_in_force":"day"}"#
        )
        .await,
        (
            StatusCode::FORBIDDEN,
            json!(40310000),
            "fractional trading is disabled for this account".into()
        )
    );
    let bad = patch(
        &c,
        "/v2/account/configurations",
        r#"{"trade_confirm_email":"sometimes"}"#,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // A reset starts the account over, its configurations too.
    filled_market(&c, "AAPL", "buy", "1").await;
    assert_eq!(c.post_json("/_sim/reset", "").await.status, StatusCode::OK);
    assert_eq!(c.get("/v2/account/configurations").await.json(), defaults);
}

#[tokio::test]
async fn assets_clock_and_calendar() {
    let c = alpaca();
    let assets = c.get("/v2/assets").await.json();
    let spy = assets
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["symbol"] == "SPY")
        .cloned()
        .unwrap();
    assert_eq!(
        (
            spy["exchange"].as_str(),
            spy["class"].as_str(),
            spy["status"].as_str()
        ),
        (Some("ARCA"), Some("us_equity"), Some("active"))
    );
    let nyse = c.get("/v2/assets?exchange=NYSE").await.json();
    assert!(
        nyse.as_array()
            .unwrap()
            .iter()
            .all(|a| a["exchange"] == "NYSE")
            && !nyse.as_array().unwrap().is_empty()
    );
    assert_eq!(
        c.get(&format!("/v2/assets/{}", spy["id"].as_str().unwrap()))
            .await
            .json()["symbol"],
        "SPY"
    );
    let none = c.get("/v2/assets/ZZZQ").await;
    assert_eq!(
        (none.status, none.json()),
        (
            StatusCode::NOT_FOUND,
            json!({"code": 40410000, "message": "asset not found for ZZZQ"})
        )
    );

    let clock = c.get("/v2/clock").await.json();
    assert_eq!(
        (
            clock["is_open"].clone(),
            clock["timestamp"].as_str().map(|t| t.ends_with("-05:00"))
        ),
        (json!(true), Some(true))
    );
    let days = c
        .get("/v2/calendar?start=2026-01-02&end=2026-01-06")
        .await
        .json();
    assert_eq!(
        days.as_array()
            .unwrap()
            .iter()
            .map(|d| d["date"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["2026-01-02", "2026-01-05", "2026-01-06"]
    );
    assert_eq!(
        (
            days[0]["open"].as_str(),
            days[0]["close"].as_str(),
            days[0]["settlement_date"].as_str()
        ),
        (Some("09:30"), Some("16:00"), Some("2026-01-05"))
    );
    assert_eq!(
        c.get("/v2/calendar?start=yesterday").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn option_contracts_are_listed_in_pages_and_found_by_symbol_or_id() {
    let c = alpaca();
    let page = c
        .get("/v2/options/contracts?underlying_symbols=AAPL&type=call&limit=5")
        .await
        .json();
    let contracts = page["option_contracts"].as_array().unwrap();
    assert_eq!(contracts.len(), 5);
    assert!(contracts.iter().all(|o| o["type"] == "call"
        && o["underlying_symbol"] == "AAPL"
        && o["strike_price"].is_number()));
    let token = page["next_page_token"].as_str().unwrap();
    let next = c
        .get(&format!(
            "/v2/options/contracts?underlying_symbols=AAPL&type=call&limit=5&page_token={token}"
        ))
        .await
        .json();
    assert_ne!(
        next["option_contracts"][0]["symbol"],
        contracts[0]["symbol"]
    );
    let one = &contracts[0];
    let by_symbol = c
        .get(&format!(
            "/v2/options/contracts/{}",
            one["symbol"].as_str().unwrap()
        ))
        .await
        .json();
    assert_eq!(&by_symbol, one);
    let by_id = c
        .get(&format!(
            "/v2/options/contracts/{}",
            one["id"].as_str().unwrap()
        ))
        .await
        .json();
    assert_eq!(&by_id, one);
    assert_eq!(
        c.get("/v2/options/contracts/AAPL200117C00100000")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let narrow = c.get("/v2/options/contracts?underlying_symbols=AAPL&strike_price_gte=190&strike_price_lte=190&expiration_date=2026-01-09").await.json();
    assert_eq!(
        narrow["option_contracts"].as_array().map(Vec::len),
        Some(2),
        "{narrow}"
    );
    assert!(narrow["next_page_token"].is_null());
}

/// Methods and paths Alpaca does not serve get JSON error bodies, never empty ones.
#[tokio::test]
async fn unserved_methods_and_paths_get_json_errors() {
    let c = alpaca();
    for (method, path, status) in [
        (Method::PUT, "/v2/orders", StatusCode::METHOD_NOT_ALLOWED),
        (Method::POST, "/v2/account", StatusCode::METHOD_NOT_ALLOWED),
        (Method::DELETE, "/v2/clock", StatusCode::METHOD_NOT_ALLOWED),
        (
            Method::POST,
            "/v2/positions/AAPL",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (Method::GET, "/v2/watchlists", StatusCode::NOT_FOUND),
        (Method::GET, "/v1/account", StatusCode::NOT_FOUND),
    ] {
        let r = c.send(method.clone(), path, "", "").await;
        assert_eq!(r.status, status, "{method} {path}");
        let b = r.json();
        assert!(
            b["code"].is_u64() && b["message"].is_string(),
            "{method} {path}: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn rate_limit_headers_and_429() {
    let c = alpaca();
    let r = c.get("/v2/account").await;
    assert_eq!(r.headers["x-ratelimit-limit"], "200");
    assert_eq!(r.headers["x-ratelimit-remaining"], "199");
    for _ in 0..199 {
        c.get("/v2/clock").await;
    }
    let limited = c.get("/v2/account").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers["x-ratelimit-remaining"], "0");
    assert_eq!(limited.json()["code"], 42910000);
}

/// The race a pending cancel opens: a fill that lands before the cancel
/// does wins, though DELETE already answered 204.
#[tokio::test(start_paused = true)]
async fn a_fill_can_beat_a_pending_cancel() {
    let c = alpaca();
    let body = r#"{"symbol":"AAPL","qty":"3","side":"buy","type":"limit","limit_price":"150","time_in_force":"gtc"}"#;
    let id = order(&c, body).await["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Working at the venue, so the price move below can fill it.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let del = c
        .send(Method::DELETE, &format!("/v2/orders/{id}"), "", "")
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    // The market falls through the limit before the cancel lands.
    let moved = c
        .post_json("/_sim/price", r#"{"symbol":"AAPL","price":"140.00"}"#)
        .await;
    assert_eq!(moved.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let o = c.get(&format!("/v2/orders/{id}")).await.json();
    assert_eq!(
        (o["status"].as_str(), o["filled_qty"].as_str()),
        (Some("filled"), Some("3"))
    );
    let late = c
        .send(Method::DELETE, &format!("/v2/orders/{id}"), "", "")
        .await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY);
}
