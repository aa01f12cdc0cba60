//! The tastytrade face answered as tastytrade answers
//! (../shared/reference/brokers/tastytrade.md): every route, each answer
//! checked against the vendor's bodies in `test_data/tastytrade/` (the
//! fixture's keys less the ones the model does not emit, values of the same
//! JSON types), the OAuth lifecycle on the simulated clock, price effects,
//! refusals in the vendor's envelopes, and the account streamer on a real
//! socket.

mod common;

use common::shape::{self, Rules};

use std::time::Duration;

use axum::http::{Method, StatusCode};
use broker_models::faults::FaultPlan;
use common::{Client, Reply};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const ACCT: &str = "5WT00001";
const JSON: &str = "application/json";
const CALL: &str = "AAPL  260116C00200000";
const CALL_210: &str = "AAPL  260116C00210000";

/// Vendor keys the model does not emit, and why: ids of tastytrade's
/// exchanges, venues, users and requests it has none of; the time an order
/// went in flight or live, which the brokerage core does not keep; who
/// cancelled; the fee breakdowns and rebates behind the totals it does send;
/// a balance snapshot's time of day; a preflight note's id.
const NOT_EMITTED: &[&str] = &[
    "ext-exchange-order-number",
    "ext-client-order-id",
    "ext-global-order-number",
    "ext-group-fill-id",
    "ext-exec-id",
    "global-request-id",
    "destination-venue",
    "source",
    "user-id",
    "username",
    "in-flight-at",
    "live-at",
    "cancel-user-id",
    "cancel-username",
    "cancelled-size",
    "regulatory-fees-breakdown",
    "clearing-fees-breakdown",
    "commission-breakdown",
    "proprietary-fees-breakdown",
    "rebates",
    "rebates-effect",
    "rebates-breakdown",
    "time-of-day",
    "preflight-id",
];

const TASTYTRADE: Rules = Rules {
    not_emitted: NOT_EMITTED,
    ..Rules::strict("tastytrade")
};

fn fixture(name: &str) -> Value {
    shape::fixture("tastytrade", name)
}

#[track_caller]
fn assert_shape(actual: &Value, name: &str) {
    if let Some(why) = shape::mismatch(actual, &fixture(name), &TASTYTRADE) {
        panic!("{name}: {why}\n{actual}");
    }
}

#[track_caller]
fn assert_reply(r: &Reply, status: StatusCode, name: &str) {
    assert_eq!(r.status, status, "{name}: {}", r.text);
    assert_shape(&r.json(), name);
}

fn tastytrade() -> Client {
    Client::authed("tastytrade", 7, FaultPlan::default())
}

async fn advance(c: &Client, ms: u64) {
    let r = c
        .post_json("/_sim/advance", &format!(r#"{{"ms": {ms}}}"#))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

fn equity(symbol: &str, action: &str, qty: u32) -> Value {
    json!({"instrument-type": "Equity", "symbol": symbol, "action": action, "quantity": qty})
}

fn option(symbol: &str, action: &str, qty: u32) -> Value {
    json!({"instrument-type": "Equity Option", "symbol": symbol, "action": action, "quantity": qty})
}

fn market(legs: Vec<Value>) -> Value {
    json!({"time-in-force": "Day", "order-type": "Market", "legs": legs})
}

fn limit(legs: Vec<Value>, price: &str, effect: &str, tif: &str) -> Value {
    json!({"time-in-force": tif, "order-type": "Limit", "price": price, "price-effect": effect, "legs": legs})
}

fn with_id(mut body: Value, id: &str) -> Value {
    body["external-identifier"] = json!(id);
    body
}

async fn post(c: &Client, path: &str, body: &Value) -> Reply {
    c.send(Method::POST, path, JSON, &body.to_string()).await
}

async fn place(c: &Client, body: &Value) -> Reply {
    post(c, &format!("/accounts/{ACCT}/orders"), body).await
}

/// Places an order and answers its id.
async fn placed(c: &Client, body: &Value) -> u64 {
    let r = place(c, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json()["data"]["order"]["id"]
        .as_u64()
        .expect("an integer id")
}

async fn order(c: &Client, id: u64) -> Reply {
    c.get(&format!("/accounts/{ACCT}/orders/{id}")).await
}

/// Advances the clock until order `id` reads `status` (at most 10 s).
async fn until_status(c: &Client, id: u64, status: &str) -> Value {
    for _ in 0..100 {
        let o = order(c, id).await.json()["data"].clone();
        if o["status"] == status {
            return o;
        }
        advance(c, 100).await;
    }
    panic!(
        "order {id} never read {status}: {}",
        order(c, id).await.text
    );
}

async fn ledger(c: &Client) -> Value {
    c.get("/_sim/ledger").await.json()
}

#[tokio::test]
async fn oauth_refreshes_on_the_simulated_clock_and_errors_are_oauth_shaped() {
    let mut c = tastytrade();
    let refresh = c.credential("refresh_token");
    let secret = c.credential("client_secret");
    let grant_body =
        json!({"grant_type": "refresh_token", "refresh_token": refresh, "client_secret": secret});
    c.headers.clear();
    let r = post(&c, "/oauth/token", &grant_body).await;
    assert_reply(&r, StatusCode::OK, "oauth_token.json");
    assert_eq!(r.json()["expires_in"], 900);
    let token = r.json()["access_token"].as_str().unwrap().to_string();
    // A form body and the optional client_id work too; the refresh token is kept.
    let form = format!(
        "grant_type=refresh_token&refresh_token={refresh}&client_secret={secret}&client_id={}",
        c.credential("client_id")
    );
    let r = c
        .send(
            Method::POST,
            "/oauth/token",
            "application/x-www-form-urlencoded",
            &form,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json().get("refresh_token").is_none());
    let bad =
        json!({"grant_type": "refresh_token", "refresh_token": "nope", "client_secret": secret});
    assert_reply(
        &post(&c, "/oauth/token", &bad).await,
        StatusCode::BAD_REQUEST,
        "oauth_token_error_invalid_grant.json",
    );
    let wrong_secret =
        json!({"grant_type": "refresh_token", "refresh_token": refresh, "client_secret": "x"});
    let r = post(&c, "/oauth/token", &wrong_secret).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error_code"], "invalid_client");
    let code = json!({"grant_type": "authorization_code", "code": "c", "client_secret": secret});
    let r = post(&c, "/oauth/token", &code).await;
    assert_eq!(r.json()["error_code"], "unsupported_grant_type");
    assert!(r.text.contains("does not simulate"), "{}", r.text);
    // The new token works for 15 simulated minutes.
    c.headers = vec![("Authorization".into(), format!("Bearer {token}"))];
    assert_eq!(c.get("/customers/me/accounts").await.status, StatusCode::OK);
    advance(&c, 900_000).await;
    let r = c.get("/customers/me/accounts").await;
    assert_reply(&r, StatusCode::UNAUTHORIZED, "error_unauthorized.json");
    assert_eq!(r.json(), fixture("error_unauthorized.json"));
    assert_eq!(
        ledger(&c).await["token_refreshes"],
        2,
        "two grants, one per refresh"
    );
}

#[tokio::test]
async fn validate_versions_and_unknown_routes() {
    let mut c = tastytrade();
    let r = c.send(Method::POST, "/sessions/validate", JSON, "").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.json()["data"]["email"].is_string());
    c.headers.push(("Accept-Version".into(), "20240101".into()));
    let r = c.get("/customers/me/accounts").await;
    assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(r.json(), fixture("error_unsupported_version.json"));
    c.headers.pop();
    // From order-api 20261012 a search needs a start date (§1.3).
    c.headers.push(("Accept-Version".into(), "20261012".into()));
    let r = c.get(&format!("/accounts/{ACCT}/orders")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = c
        .get(&format!("/accounts/{ACCT}/orders?start-date=2026-01-01"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    c.headers.pop();
    let r = c.get("/nowhere").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"]["code"], "not_found");
    let r = c
        .send(Method::DELETE, "/customers/me/accounts", "", "")
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    c.headers.clear();
    let r = c.send(Method::POST, "/sessions/validate", JSON, "").await;
    assert_eq!(r.json(), fixture("error_unauthorized.json"));
}

#[tokio::test]
async fn accounts_one_and_all_and_foreign_ones() {
    let c = tastytrade();
    let r = c.get("/customers/me/accounts").await;
    assert_reply(&r, StatusCode::OK, "customer_accounts.json");
    assert_eq!(
        r.json()["data"]["items"][0]["account"]["account-number"],
        ACCT
    );
    assert_eq!(r.json()["context"], "/customers/me/accounts");
    assert_reply(
        &c.get(&format!("/customers/me/accounts/{ACCT}")).await,
        StatusCode::OK,
        "customer_account.json",
    );
    let r = c.get("/accounts/5WT99999/positions").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json(), fixture("error_not_permitted.json"));
}

#[tokio::test]
async fn a_market_order_is_routed_then_fills_and_moves_positions_and_balances() {
    let c = tastytrade();
    assert_reply(
        &c.get(&format!("/accounts/{ACCT}/positions")).await,
        StatusCode::OK,
        "positions_empty.json",
    );
    // The Python SDK's extra keys are tolerated.
    let mut body = with_id(market(vec![equity("AAPL", "Buy to Open", 3)]), "cid-1");
    body["source"] = json!("tastyware/tastytrade:v13.2.3");
    body["behavior"] = json!("immediate");
    let r = place(&c, &body).await;
    assert_reply(&r, StatusCode::CREATED, "order_submit_market_routed.json");
    let o = &r.json()["data"]["order"];
    assert_eq!(
        o["status"], "Routed",
        "the answer is the first state, never a fill"
    );
    let id = o["id"].as_u64().unwrap();
    let done = until_status(&c, id, "Filled").await;
    assert_shape(
        &json!({"data": done, "context": format!("/accounts/{ACCT}/orders/{id}")}),
        "order_filled.json",
    );
    assert_eq!(done["external-identifier"], "cid-1");
    assert_eq!(done["legs"][0]["remaining-quantity"], 0);
    assert_eq!(done["legs"][0]["fills"][0]["quantity"], 3);
    assert!(done["updated-at"].is_i64(), "epoch milliseconds");
    let b = c.get(&format!("/accounts/{ACCT}/balances/USD")).await;
    assert_reply(&b, StatusCode::OK, "balances.json");
    let cash: f64 = b.json()["data"]["cash-balance"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(cash < 100_000.0);
    assert_reply(
        &c.get(&format!("/accounts/{ACCT}/balances")).await,
        StatusCode::OK,
        "balances.json",
    );
    assert_eq!(
        c.get(&format!("/accounts/{ACCT}/balances/EUR"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let p = c.get(&format!("/accounts/{ACCT}/positions")).await.json();
    assert_eq!(p["data"]["items"][0]["quantity"], 3);
    assert_eq!(p["data"]["items"][0]["quantity-direction"], "Long");
}

#[tokio::test]
async fn identical_submissions_are_two_orders() {
    let c = tastytrade();
    let body = with_id(market(vec![equity("AAPL", "Buy to Open", 1)]), "twice");
    let (a, b) = (placed(&c, &body).await, placed(&c, &body).await);
    assert_ne!(a, b, "no idempotency (§4)");
    let l = ledger(&c).await;
    let taken = l["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["client_order_id"] == "twice" && o["taken"] == true)
        .count();
    assert_eq!(taken, 2);
}

#[tokio::test]
async fn a_limit_rests_is_cancelled_asynchronously_and_then_cannot_be() {
    let c = tastytrade();
    let r = place(
        &c,
        &limit(
            vec![equity("AAPL", "Buy to Open", 1)],
            "1.5",
            "Debit",
            "GTC",
        ),
    )
    .await;
    assert_reply(&r, StatusCode::CREATED, "order_submit_limit_live.json");
    let id = r.json()["data"]["order"]["id"].as_u64().unwrap();
    let live = until_status(&c, id, "Live").await;
    assert_eq!(
        (live["price"].as_str(), live["price-effect"].as_str()),
        (Some("1.5"), Some("Debit"))
    );
    assert_eq!(live["cancellable"], true);
    let r = c
        .send(
            Method::DELETE,
            &format!("/accounts/{ACCT}/orders/{id}"),
            "",
            "",
        )
        .await;
    assert_reply(&r, StatusCode::OK, "order_cancel_requested.json");
    assert_eq!(r.json()["data"]["status"], "Cancel Requested");
    let done = until_status(&c, id, "Cancelled").await;
    assert_shape(
        &json!({"data": done, "context": ""}),
        "order_cancelled.json",
    );
    let again = c
        .send(
            Method::DELETE,
            &format!("/accounts/{ACCT}/orders/{id}"),
            "",
            "",
        )
        .await;
    assert_reply(
        &again,
        StatusCode::UNPROCESSABLE_ENTITY,
        "error_cannot_update_order.json",
    );
    assert_eq!(
        again.json()["error"]["message"],
        format!("Order {id} cannot be cancelled: it is Cancelled")
    );
    let r = order(&c, 999_999_999).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json(), fixture("error_not_found.json"));
    assert_eq!(order(&c, 0).await.status, StatusCode::NOT_FOUND);
    let r = c
        .get(&format!("/accounts/{ACCT}/orders/not-a-number"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_dry_run_places_nothing() {
    let c = tastytrade();
    let body = limit(
        vec![equity("AAPL", "Buy to Open", 1)],
        "1.5",
        "Debit",
        "Day",
    );
    let r = post(&c, &format!("/accounts/{ACCT}/orders/dry-run"), &body).await;
    assert_reply(&r, StatusCode::CREATED, "order_dry_run.json");
    let o = &r.json()["data"]["order"];
    assert!(o.get("id").is_none());
    assert_eq!(
        (o["status"].as_str(), o["updated-at"].as_i64()),
        (Some("Received"), Some(0))
    );
    assert_eq!(r.json()["data"]["buying-power-effect"]["effect"], "Debit");
    assert!(ledger(&c).await["orders"].as_array().unwrap().is_empty());
    // The same checks as a submit.
    let gtc = json!({"time-in-force": "GTC", "order-type": "Market", "legs": [equity("AAPL", "Buy to Open", 1)]});
    let r = post(&c, &format!("/accounts/{ACCT}/orders/dry-run"), &gtc).await;
    assert_eq!(r.json(), fixture("error_preflight_gtc_market.json"));
}

#[tokio::test]
async fn preflight_refusals_are_422_envelopes_and_stay_on_the_ledger() {
    let c = tastytrade();
    let gtc = json!({"time-in-force": "GTC", "order-type": "Market", "legs": [equity("AAPL", "Buy to Open", 1)]});
    let r = place(&c, &gtc).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json(), fixture("error_preflight_gtc_market.json"));
    let huge = market(vec![equity("AAPL", "Buy to Open", 100_000)]);
    let r = place(&c, &huge).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json(), fixture("error_preflight_buying_power.json"));
    let credit_buy = limit(vec![equity("AAPL", "Buy to Open", 1)], "1", "Credit", "Day");
    let r = place(&c, &credit_buy).await;
    assert_eq!(
        r.json()["error"]["errors"][0]["code"],
        "cant_buy_for_credit"
    );
    let debit_sell = limit(vec![equity("AAPL", "Sell to Open", 1)], "1", "Debit", "Day");
    assert_eq!(
        place(&c, &debit_sell).await.json()["error"]["errors"][0]["code"],
        "cant_sell_for_debit"
    );
    let unknown = market(vec![equity("ZZZZQ", "Buy to Open", 1)]);
    let r = place(&c, &unknown).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["errors"][0]["code"], "invalid_symbol");
    let refused = ledger(&c).await["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["taken"] == false)
        .count();
    assert_eq!(refused, 5, "every refusal reached the broker");
    // Malformed requests are 400s with grape's domain/reason items.
    for bad in [
        json!({"order-type": "Market", "legs": [equity("AAPL", "Buy to Open", 1)]}),
        json!({"time-in-force": "Day", "order-type": "Market"}),
        json!({"time-in-force": "Day", "order-type": "Limit", "legs": [equity("AAPL", "Buy to Open", 1)]}),
        json!({"time-in-force": "Day", "order-type": "Limit", "price": "1", "legs": [equity("AAPL", "Buy to Open", 1)]}),
        json!({"time-in-force": "Day", "order-type": "Market", "price": true, "legs": [equity("AAPL", "Buy to Open", 1)]}),
        json!({"time-in-force": "DAY", "order-type": "Market", "legs": [equity("AAPL", "Buy to Open", 1)]}),
        json!({"time-in-force": "Day", "order-type": "Market", "legs": [equity("AAPL", "BUY_TO_OPEN", 1)]}),
    ] {
        let r = place(&c, &bad).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        assert!(
            r.json()["error"]["errors"][0]["domain"].is_string(),
            "{}",
            r.text
        );
    }
    let r = c
        .send(Method::POST, &format!("/accounts/{ACCT}/orders"), JSON, "{")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn what_the_model_cannot_simulate_is_refused_loudly() {
    let c = tastytrade();
    for body in [
        json!({"time-in-force": "GTD", "gtc-date": "2026-02-01", "order-type": "Market", "legs": [equity("AAPL", "Buy to Open", 1)]}),
        json!({"time-in-force": "Day", "order-type": "Notional Market", "value": "10", "value-effect": "Debit", "legs": [{"instrument-type": "Equity", "symbol": "AAPL", "action": "Buy to Open"}]}),
        json!({"time-in-force": "Day", "order-type": "Market", "legs": [{"instrument-type": "Future", "symbol": "/ESZ9", "action": "Buy", "quantity": 1}]}),
        with_rules(market(vec![equity("AAPL", "Buy to Open", 1)])),
        market(vec![
            option(CALL, "Buy to Open", 1),
            option(CALL_210, "Sell to Open", 1),
        ]),
    ] {
        let r = place(&c, &body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        assert_eq!(
            r.json()["error"]["errors"][0]["code"],
            "not_simulated",
            "{}",
            r.text
        );
        assert!(r.text.contains("raxx-sim does not simulate"), "{}", r.text);
    }
    // Equity options go by the padded OCC symbol only.
    let compact = market(vec![option("AAPL260116C00200000", "Buy to Open", 1)]);
    assert_eq!(
        place(&c, &compact).await.json()["error"]["errors"][0]["code"],
        "invalid_symbol"
    );
}

fn with_rules(mut body: Value) -> Value {
    body["rules"] = json!({"route-after": "2026-01-05T16:00:00Z"});
    body
}

#[tokio::test]
async fn partial_fills_stay_live_with_fills_per_leg() {
    let c = tastytrade();
    let body = with_id(
        limit(
            vec![equity("AAPL", "Buy to Open", 5)],
            "300",
            "Debit",
            "Day",
        ),
        "sim-partial-1",
    );
    let id = placed(&c, &body).await;
    let mut seen_partial = false;
    for _ in 0..100 {
        let o = order(&c, id).await;
        let d = &o.json()["data"];
        let left = d["legs"][0]["remaining-quantity"].as_u64().unwrap();
        if d["status"] == "Live" && (1..5).contains(&left) {
            assert_reply(&o, StatusCode::OK, "order_partially_filled_live.json");
            seen_partial = true;
        }
        if d["status"] == "Filled" {
            assert!(d["legs"][0]["fills"].as_array().unwrap().len() >= 2);
            break;
        }
        advance(&c, 200).await;
    }
    assert!(seen_partial, "no Live order with a partial fill");
}

#[tokio::test]
async fn a_rejection_after_acceptance_carries_its_reason() {
    let c = tastytrade();
    let r = c
        .post_json(
            "/_sim/steer",
            r#"{"fault": {"kind": "reject_after_accept", "reason": "Symbol AAPL is not tradable"}}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = placed(&c, &market(vec![equity("AAPL", "Buy to Open", 1)])).await;
    let done = until_status(&c, id, "Rejected").await;
    assert_shape(&json!({"data": done, "context": ""}), "order_rejected.json");
    assert_eq!(done["reject-reason"], "Symbol AAPL is not tradable");
}

#[tokio::test]
async fn replace_and_edit_make_new_orders_and_the_old_ends_cancelled_edited() {
    let c = tastytrade();
    let id = placed(
        &c,
        &limit(
            vec![equity("AAPL", "Buy to Open", 1)],
            "1.5",
            "Debit",
            "GTC",
        ),
    )
    .await;
    until_status(&c, id, "Live").await;
    let put = json!({"time-in-force": "GTC", "order-type": "Limit", "price": "2.00", "price-effect": "Debit", "source": "x", "behavior": "immediate"});
    let path = format!("/accounts/{ACCT}/orders/{id}");
    let r = c.send(Method::PUT, &path, JSON, &put.to_string()).await;
    assert_reply(&r, StatusCode::OK, "order_replace_new.json");
    let new = r.json()["data"].clone();
    let new_id = new["id"].as_u64().unwrap();
    assert_ne!(new_id, id);
    assert_eq!(
        (new["status"].as_str(), new["replaces-order-id"].as_u64()),
        (Some("Contingent"), Some(id))
    );
    assert_eq!(
        (new["price"].as_str(), new["legs"][0]["symbol"].as_str()),
        (Some("2.0"), Some("AAPL"))
    );
    let old = until_status(&c, id, "Cancelled").await;
    assert_shape(
        &json!({"data": old, "context": ""}),
        "order_replaced_old.json",
    );
    assert_eq!(
        (old["edited"].as_bool(), old["replacing-order-id"].as_u64()),
        (Some(true), Some(new_id))
    );
    until_status(&c, new_id, "Live").await;
    // PATCH edits the same way; the original is no longer editable.
    let patch = json!({"time-in-force": "Day", "order-type": "Limit", "price": "2.5", "price-effect": "Debit"});
    let r = c
        .send(
            Method::PATCH,
            &format!("/accounts/{ACCT}/orders/{new_id}"),
            JSON,
            &patch.to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["data"]["time-in-force"], "Day");
    let r = c.send(Method::PUT, &path, JSON, &put.to_string()).await;
    assert_eq!(
        r.json()["error"]["code"],
        "cannot_update_order",
        "{}",
        r.text
    );
    // Legs, another order type, or the other direction are refused before anything changes.
    let live_id = ledger(&c).await["orders"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["vendor_id"]
        .as_str()
        .unwrap()
        .to_string();
    let live_path = format!("/accounts/{ACCT}/orders/{live_id}");
    for (bad, code) in [
        (
            json!({"time-in-force": "Day", "order-type": "Limit", "price": "3", "price-effect": "Debit", "legs": [equity("AAPL", "Buy to Open", 5)]}),
            "not_simulated",
        ),
        (
            json!({"time-in-force": "Day", "order-type": "Market"}),
            "not_simulated",
        ),
        (
            json!({"time-in-force": "Day", "order-type": "Limit", "price": "3", "price-effect": "Credit"}),
            "cant_buy_for_credit",
        ),
    ] {
        let r = c
            .send(Method::PUT, &live_path, JSON, &bad.to_string())
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.text
        );
        assert_eq!(r.json()["error"]["errors"][0]["code"], code, "{}", r.text);
    }
}

#[tokio::test]
async fn an_option_sold_to_open_is_a_credit_and_a_short_position() {
    let c = tastytrade();
    let body = limit(
        vec![option(CALL, "Sell to Open", 1)],
        "0.01",
        "Credit",
        "Day",
    );
    let id = placed(&c, &body).await;
    let done = until_status(&c, id, "Filled").await;
    assert_shape(
        &json!({"data": done, "context": ""}),
        "order_option_filled_credit.json",
    );
    assert_eq!(done["price-effect"], "Credit");
    let buy = placed(
        &c,
        &with_id(market(vec![equity("AAPL", "Buy to Open", 1)]), "long-1"),
    )
    .await;
    until_status(&c, buy, "Filled").await;
    let p = c.get(&format!("/accounts/{ACCT}/positions")).await;
    assert_reply(&p, StatusCode::OK, "positions.json");
    let items = p.json()["data"]["items"].clone();
    let short = items
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["symbol"] == CALL)
        .unwrap();
    assert_eq!(
        (
            short["quantity-direction"].as_str(),
            short["cost-effect"].as_str(),
            short["multiplier"].as_u64()
        ),
        (Some("Short"), Some("Credit"), Some(100))
    );
    assert_eq!(short["streamer-symbol"], ".AAPL260116C200");
}

#[tokio::test]
async fn spreads_take_one_net_price_with_its_effect() {
    let c = tastytrade();
    // A debit vertical far below the market rests.
    let debit = limit(
        vec![
            option(CALL, "Buy to Open", 1),
            option(CALL_210, "Sell to Open", 1),
        ],
        "0.01",
        "Debit",
        "Day",
    );
    let id = placed(&c, &debit).await;
    let live = until_status(&c, id, "Live").await;
    assert_shape(
        &json!({"data": live, "context": ""}),
        "order_vertical_live.json",
    );
    assert_eq!(live["leg-count"], 2);
    // A credit vertical at a penny fills; the broker holds it as a sale.
    let credit = limit(
        vec![
            option(CALL, "Sell to Open", 2),
            option(CALL_210, "Buy to Open", 2),
        ],
        "0.01",
        "Credit",
        "Day",
    );
    let id = placed(&c, &credit).await;
    let done = until_status(&c, id, "Filled").await;
    assert_eq!(
        (done["size"].as_u64(), done["legs"][1]["quantity"].as_u64()),
        (Some(2), Some(2))
    );
    let l = ledger(&c).await;
    let held = l["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["vendor_id"].as_str() == Some(id.to_string().as_str()))
        .unwrap()
        .clone();
    assert_eq!(
        (held["side"].as_str(), held["limit_price"].as_str()),
        (Some("sell"), Some("0.01"))
    );
    // Buying both legs for a credit is refused.
    let wrong = limit(
        vec![
            option(CALL, "Buy to Open", 1),
            option(CALL_210, "Buy to Open", 1),
        ],
        "1",
        "Credit",
        "Day",
    );
    assert_eq!(
        place(&c, &wrong).await.json()["error"]["errors"][0]["code"],
        "cant_buy_for_credit"
    );
}

#[tokio::test]
async fn a_close_without_a_position_opens_unless_validation_is_strict() {
    let c = tastytrade();
    let mut strict = market(vec![equity("AAPL", "Sell to Close", 2)]);
    strict["advanced-instructions"] = json!({"strict-position-effect-validation": true});
    let r = place(&c, &strict).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.json()["error"]["errors"][0]["code"],
        "invalid_position_effect"
    );
    let r = place(&c, &market(vec![equity("AAPL", "Sell to Close", 2)])).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.json()["data"]["order"]["legs"][0]["action"],
        "Sell to Open"
    );
}

#[tokio::test]
async fn live_orders_and_the_paged_search() {
    let c = tastytrade();
    let filled = placed(
        &c,
        &with_id(
            market(vec![equity("AAPL", "Buy to Open", 1)]),
            "raxx-cid-0001",
        ),
    )
    .await;
    until_status(&c, filled, "Filled").await;
    let rest = placed(
        &c,
        &limit(
            vec![equity("AAPL", "Buy to Open", 1)],
            "1.5",
            "Debit",
            "GTC",
        ),
    )
    .await;
    until_status(&c, rest, "Live").await;
    c.send(
        Method::DELETE,
        &format!("/accounts/{ACCT}/orders/{rest}"),
        "",
        "",
    )
    .await;
    until_status(&c, rest, "Cancelled").await;
    let live = c.get(&format!("/accounts/{ACCT}/orders/live")).await;
    assert_reply(&live, StatusCode::OK, "orders_live.json");
    assert_eq!(live.json()["data"]["items"].as_array().unwrap().len(), 2);
    let page = c
        .get(&format!(
            "/accounts/{ACCT}/orders?per-page=1&page-offset=0&sort=Asc"
        ))
        .await;
    assert_reply(&page, StatusCode::OK, "orders_history_page0.json");
    let p = &page.json()["pagination"];
    assert_eq!(
        (
            p["total-items"].as_u64(),
            p["total-pages"].as_u64(),
            p["current-item-count"].as_u64()
        ),
        (Some(2), Some(2), Some(1))
    );
    // Newest first by default; the brackets arrive percent-encoded.
    let newest = c
        .get(&format!("/accounts/{ACCT}/orders?per-page=1"))
        .await
        .json();
    assert_eq!(newest["data"]["items"][0]["id"].as_u64(), Some(rest));
    let only = c
        .get(&format!(
            "/accounts/{ACCT}/orders?status%5B%5D=Filled&sort=Asc"
        ))
        .await
        .json();
    let ids: Vec<u64> = only["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [filled]);
    for bad in [
        "per-page=500",
        "status[]=Partially%20Filled",
        "start-date=yesterday",
    ] {
        let r = c.get(&format!("/accounts/{ACCT}/orders?{bad}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
    }
    let r = c
        .get(&format!(
            "/accounts/{ACCT}/orders?start-at=2026-01-05%2015:00:00%2B00:00&underlying-symbol=AAPL"
        ))
        .await;
    assert_eq!(r.json()["pagination"]["total-items"], 2, "{}", r.text);
}

#[tokio::test]
async fn complex_orders_wait_contingent_and_cancel_whole() {
    let c = tastytrade();
    let otoco = json!({
        "type": "OTOCO",
        "trigger-order": with_id(limit(vec![equity("AAPL", "Buy to Open", 1)], "1.0", "Debit", "Day"), "raxx-cid-0002"),
        "orders": [
            with_id(limit(vec![equity("AAPL", "Sell to Close", 1)], "10000", "Credit", "GTC"), "raxx-cid-0003"),
            with_id(json!({"time-in-force": "GTC", "order-type": "Stop", "stop-trigger": "0.5", "legs": [equity("AAPL", "Sell to Close", 1)]}), "raxx-cid-0004"),
        ],
    });
    let r = post(&c, &format!("/accounts/{ACCT}/complex-orders"), &otoco).await;
    assert_reply(&r, StatusCode::CREATED, "complex_order_otoco_submit.json");
    let cx = r.json()["data"]["complex-order"].clone();
    assert!(cx["orders"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["status"] == "Contingent"));
    let id = cx["id"].as_u64().unwrap();
    let path = format!("/accounts/{ACCT}/complex-orders/{id}");
    assert_eq!(c.get(&path).await.json()["data"]["id"].as_u64(), Some(id));
    assert_eq!(
        c.get(&format!("/accounts/{ACCT}/complex-orders"))
            .await
            .json()["data"]["items"][0]["type"],
        "OTOCO"
    );
    assert_eq!(
        c.get(&format!("/accounts/{ACCT}/complex-orders/live"))
            .await
            .json()["data"]["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Its child is cancelled with it, not on its own.
    let child = cx["orders"][0]["id"].as_u64().unwrap();
    let r = c
        .send(
            Method::DELETE,
            &format!("/accounts/{ACCT}/orders/{child}"),
            "",
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = c.send(Method::DELETE, &path, "", "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    advance(&c, 1_000).await;
    let done = c.get(&path).await.json()["data"].clone();
    assert!(done["terminal-at"].is_string(), "{done}");
    assert_eq!(done["trigger-order"]["status"], "Cancelled");
    assert_eq!(
        c.send(Method::DELETE, &path, "", "").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        c.get(&format!("/accounts/{ACCT}/complex-orders/1"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // OCO: two live orders, the first fill cancels the other.
    let buy = placed(&c, &market(vec![equity("AAPL", "Buy to Open", 1)])).await;
    until_status(&c, buy, "Filled").await;
    let oco = json!({"type": "OCO", "orders": [
        limit(vec![equity("AAPL", "Sell to Close", 1)], "0.01", "Credit", "GTC"),
        json!({"time-in-force": "GTC", "order-type": "Stop", "stop-trigger": "0.5", "legs": [equity("AAPL", "Sell to Close", 1)]}),
    ]});
    let r = post(&c, &format!("/accounts/{ACCT}/complex-orders"), &oco).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let orders = r.json()["data"]["complex-order"]["orders"].clone();
    let (tp, sl) = (
        orders[0]["id"].as_u64().unwrap(),
        orders[1]["id"].as_u64().unwrap(),
    );
    until_status(&c, tp, "Filled").await;
    until_status(&c, sl, "Cancelled").await;
    for (body, code) in [
        (json!({"type": "PAIRS", "orders": []}), "not_simulated"),
        (
            json!({"type": "OTO", "trigger-order": market(vec![equity("AAPL", "Buy to Open", 1)]), "orders": [market(vec![equity("AAPL", "Sell to Close", 1)]), market(vec![equity("AAPL", "Sell to Close", 1)])]}),
            "not_simulated",
        ),
    ] {
        let r = post(&c, &format!("/accounts/{ACCT}/complex-orders"), &body).await;
        assert_eq!(r.json()["error"]["errors"][0]["code"], code, "{}", r.text);
    }
}

#[tokio::test]
async fn faults_answer_in_the_vendors_shapes() {
    let plan = FaultPlan::from_toml(
        "[[rules]]\noperations = [\"positions\"]\nfault = { kind = \"rate_limit\", retry_after_ms = 1000 }\n\n[[rules]]\noperations = [\"account\"]\nfault = { kind = \"outage\", mode = \"status\" }",
        "test",
    )
    .unwrap();
    let c = Client::authed("tastytrade", 7, plan);
    let r = c.get(&format!("/accounts/{ACCT}/positions")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.get("retry-after").is_none() && r.headers.get("x-ratelimit-reset").is_none());
    assert_eq!(r.json()["error"]["code"], "rate_limit_exceeded");
    let r = c.get(&format!("/accounts/{ACCT}/balances/USD")).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.text.starts_with("<html>"));
}

#[tokio::test]
async fn hostile_numbers_are_answered_never_a_panic() {
    let c = tastytrade();
    for (price, qty) in [
        (json!("1e400"), json!(1)),
        (json!("99999999999999999999999999999"), json!(1)),
        (json!("-1"), json!(1)),
        (json!("0"), json!(1)),
        (json!("1"), json!("79228162514264337593543950335")),
        (json!("1"), json!(-5)),
        (json!("1"), json!(1.5)),
        (json!("NaN"), json!(1)),
    ] {
        let body = json!({"time-in-force": "Day", "order-type": "Limit", "price": price, "price-effect": "Debit",
            "legs": [{"instrument-type": "Equity", "symbol": "AAPL", "action": "Buy to Open", "quantity": qty}]});
        let r = place(&c, &body).await;
        assert!(
            r.status.is_client_error(),
            "{body}: {} {}",
            r.status,
            r.text
        );
        assert!(r.json()["error"].is_object(), "{}", r.text);
    }
}

// The account streamer, on a real socket.

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn send(ws: &mut Ws, payload: Value) {
    ws.send(Message::Text(payload.to_string().into()))
        .await
        .unwrap();
}

async fn next(ws: &mut Ws) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(t.as_str()).unwrap(),
            Ok(Some(Ok(_))) => continue,
            other => panic!("no frame: {other:?}"),
        }
    }
}

/// The next notification of `kind`.
async fn notice(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let f = next(ws).await;
        if f["type"] == kind {
            return f;
        }
    }
}

#[tokio::test]
async fn the_account_streamer_acks_and_notifies_full_objects() {
    let c = tastytrade();
    let addr = c.serve().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}"))
        .await
        .unwrap();
    let token = format!("Bearer {}", c.credential("access_token"));
    // Nothing but connect (and heartbeats) before connect.
    send(
        &mut ws,
        json!({"action": "quote-alerts-subscribe", "auth-token": token, "request-id": 1}),
    )
    .await;
    let e = next(&mut ws).await;
    assert_shape(&e, "stream_error_connect_not_completed.json");
    assert_eq!(e["message"], "connect-not-completed");
    send(
        &mut ws,
        json!({"action": "connect", "value": ["5WT99999"], "auth-token": token, "request-id": 2}),
    )
    .await;
    assert_eq!(next(&mut ws).await["status"], "error");
    send(
        &mut ws,
        json!({"action": "connect", "value": [ACCT], "auth-token": "Bearer nope", "request-id": 3}),
    )
    .await;
    assert_eq!(next(&mut ws).await["status"], "error");
    // The TypeScript SDK sends a bare string for one account.
    let mut connect = fixture("stream_connect_request.json");
    connect["auth-token"] = json!(token);
    connect["value"] = json!(ACCT);
    connect["request-id"] = json!(4);
    send(&mut ws, connect).await;
    let ack = next(&mut ws).await;
    assert_shape(&ack, "stream_connect_ack.json");
    assert_eq!(
        (ack["request-id"].as_u64(), ack["value"][0].as_str()),
        (Some(4), Some(ACCT))
    );
    send(
        &mut ws,
        json!({"action": "heartbeat", "auth-token": token, "request-id": 5}),
    )
    .await;
    assert_shape(&next(&mut ws).await, "stream_heartbeat_ack.json");
    ws.send(Message::Ping(vec![7].into())).await.unwrap();
    let pong = loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Pong(p)))) => break p,
            Ok(Some(Ok(_))) => continue,
            other => panic!("no pong: {other:?}"),
        }
    };
    assert_eq!(pong.as_ref(), [7]);
    let id = placed(
        &c,
        &with_id(
            market(vec![equity("AAPL", "Buy to Open", 2)]),
            "raxx-cid-0001",
        ),
    )
    .await;
    let filled = loop {
        let o = notice(&mut ws, "Order").await;
        assert_eq!(o["data"]["id"].as_u64(), Some(id));
        if o["data"]["status"] == "Filled" {
            break o;
        }
        assert_eq!(o["data"]["status"], "Live");
    };
    assert_shape(&filled, "stream_order_filled.json");
    assert!(filled["timestamp"].is_i64());
    assert_shape(
        &notice(&mut ws, "CurrentPosition").await,
        "stream_position.json",
    );
    assert_shape(
        &notice(&mut ws, "AccountBalance").await,
        "stream_balance.json",
    );
    let otoco = json!({
        "type": "OTOCO",
        "trigger-order": with_id(limit(vec![equity("AAPL", "Buy to Open", 1)], "1.0", "Debit", "Day"), "raxx-cid-0002"),
        "orders": [
            with_id(limit(vec![equity("AAPL", "Sell to Close", 1)], "10000", "Credit", "GTC"), "raxx-cid-0003"),
            with_id(json!({"time-in-force": "GTC", "order-type": "Stop", "stop-trigger": "0.5", "legs": [equity("AAPL", "Sell to Close", 1)]}), "raxx-cid-0004"),
        ],
    });
    let r = post(&c, &format!("/accounts/{ACCT}/complex-orders"), &otoco).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_shape(
        &notice(&mut ws, "ComplexOrder").await,
        "stream_complex_order.json",
    );
}
