//! Every answer of the simulated Tradier has the shape of the vendor's body
//! in `test_data/tradier/` (the same fixtures the adapter's parse tests
//! serve): the same keys, and values of the same JSON types.

mod common;

use common::shape::{self, Rules};

use axum::http::{Method, StatusCode};
use broker_models::faults::FaultPlan;
use common::{Client, Reply};
use serde_json::Value;

const ACCT: &str = "VA00000001";
const FORM: &str = "application/x-www-form-urlencoded";

/// Tradier sends a one-item collection as the bare item (§8.1).
const TRADIER: Rules = Rules {
    bare_single_items: true,
    ..Rules::strict("Tradier")
};

fn fixture(name: &str) -> Value {
    shape::fixture("tradier", name)
}

fn mismatch(actual: &Value, expected: &Value) -> Option<String> {
    shape::mismatch(actual, expected, &TRADIER)
}

#[track_caller]
fn assert_shape(r: &Reply, name: &str) {
    assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
    if let Some(why) = mismatch(&r.json(), &fixture(name)) {
        panic!("{name}: {why}\n{}", r.text);
    }
}

fn tradier() -> Client {
    Client::authed("tradier", 7, FaultPlan::default())
}

async fn place(c: &Client, form: &str) -> Value {
    let r = c
        .send(
            Method::POST,
            &format!("/v1/accounts/{ACCT}/orders"),
            FORM,
            form,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()["order"]["id"].clone()
}

async fn order(c: &Client, id: &Value) -> Reply {
    c.get(&format!("/v1/accounts/{ACCT}/orders/{id}?includeTags=true"))
        .await
}

async fn advance(c: &Client, ms: u64) {
    let r = c
        .post_json("/_sim/advance", &format!(r#"{{"ms": {ms}}}"#))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn account_documents() {
    let c = tradier();
    assert_shape(&c.get("/v1/user/profile").await, "profile.json");
    assert_shape(&c.get("/v1/markets/clock").await, "clock.json");
    assert_shape(
        &c.get("/v1/markets/calendar?month=4&year=2026").await,
        "calendar.json",
    );
    let balances = format!("/v1/accounts/{ACCT}/balances");
    assert_shape(&c.get(&balances).await, "balances_margin.json");
    let positions = format!("/v1/accounts/{ACCT}/positions");
    assert_shape(&c.get(&positions).await, "positions_null.json");
    place(
        &c,
        "class=equity&symbol=AAPL&side=buy&quantity=10&type=market&duration=day",
    )
    .await;
    advance(&c, 1_000).await;
    assert_shape(&c.get(&positions).await, "positions_one.json");
    place(
        &c,
        "class=equity&symbol=SPY&side=sell_short&quantity=5&type=market&duration=day",
    )
    .await;
    advance(&c, 1_000).await;
    assert_shape(&c.get(&positions).await, "positions_many.json");
    // Yesterday's activity, as the nightly batch shows it.
    place(
        &c,
        "class=equity&symbol=AAPL&side=sell&quantity=10&type=market&duration=day",
    )
    .await;
    advance(&c, 23 * 3_600_000).await;
    let history = format!("/v1/accounts/{ACCT}/history");
    assert_shape(&c.get(&history).await, "history.json");
    let gainloss = format!("/v1/accounts/{ACCT}/gainloss");
    let closed = c.get(&gainloss).await;
    assert_shape(&closed, "gainloss.json");
    assert!(
        closed.json()["gainloss"]["closed_position"].is_object(),
        "one closed position is a bare object: {}",
        closed.text
    );
}

#[tokio::test]
async fn order_documents_in_each_state() {
    let c = tradier();
    let orders = format!("/v1/accounts/{ACCT}/orders");
    assert_shape(&c.get(&orders).await, "orders_null.json");
    let post = c
        .send(
            Method::POST,
            &orders,
            FORM,
            "class=equity&symbol=AAPL&side=buy&quantity=10&type=market&duration=day&tag=intent-1",
        )
        .await;
    assert_shape(&post, "ack_submit.json");
    let filled = post.json()["order"]["id"].clone();
    advance(&c, 1_000).await;
    assert_shape(&order(&c, &filled).await, "order_filled.json");
    assert_shape(
        &c.get(&format!("{orders}?includeTags=true")).await,
        "orders_one.json",
    );
    let resting = place(
        &c,
        "class=equity&symbol=AAPL&side=buy&quantity=1&type=limit&price=1.00&duration=day&tag=resting-1",
    )
    .await;
    assert_shape(&order(&c, &resting).await, "order_open.json");
    assert_shape(
        &c.get(&format!("{orders}?includeTags=true")).await,
        "orders_many.json",
    );
    let cancel = c
        .send(Method::DELETE, &format!("{orders}/{resting}"), "", "")
        .await;
    assert_shape(&cancel, "ack_cancel.json");
    assert_shape(&order(&c, &resting).await, "order_canceled.json");
    let partial = place(
        &c,
        "class=equity&symbol=MSFT&side=buy&quantity=40&type=limit&price=1000&duration=gtc&tag=sim-partial-1",
    )
    .await;
    advance(&c, 2_000).await;
    let r = order(&c, &partial).await;
    assert_eq!(
        r.json()["order"]["status"],
        "partially_filled",
        "{}",
        r.text
    );
    assert_shape(&r, "order_partially_filled.json");
    let option = place(&c, "class=option&symbol=AAPL&option_symbol=AAPL260116C00190000&side=buy_to_open&quantity=1&type=market&duration=day&tag=option-1").await;
    advance(&c, 1_000).await;
    assert_shape(&order(&c, &option).await, "order_option.json");
    let spread = place(&c, "class=multileg&symbol=SPY&type=debit&price=50.00&duration=day&option_symbol[0]=SPY260116C00580000&side[0]=buy_to_open&quantity[0]=1&option_symbol[1]=SPY260116C00590000&side[1]=sell_to_open&quantity[1]=1&tag=spread-1").await;
    advance(&c, 1_000).await;
    let r = order(&c, &spread).await;
    assert_eq!(r.json()["order"]["status"], "filled", "{}", r.text);
    assert_shape(&r, "order_multileg.json");
}

#[tokio::test]
async fn error_documents_in_each_shape() {
    let c = tradier();
    let orders = format!("/v1/accounts/{ACCT}/orders");
    let symbol = c
        .send(
            Method::POST,
            &orders,
            FORM,
            "class=equity&symbol=ZZZQ&side=buy&quantity=1&type=market&duration=day",
        )
        .await;
    assert_eq!(symbol.status, StatusCode::BAD_REQUEST);
    assert!(
        mismatch(&symbol.json(), &fixture("errors_symbol.json")).is_none(),
        "{}",
        symbol.text
    );
    let both = c
        .send(
            Method::POST,
            &orders,
            FORM,
            "class=equity&symbol=AAPL&side=buy&quantity=1&type=stop_limit&duration=day",
        )
        .await;
    assert!(
        mismatch(&both.json(), &fixture("errors_list.json")).is_none(),
        "{}",
        both.text
    );
    let power = c
        .send(
            Method::POST,
            &orders,
            FORM,
            "class=equity&symbol=AAPL&side=buy&quantity=100000&type=market&duration=day",
        )
        .await;
    assert_eq!(
        power.json(),
        fixture("errors_buying_power.json"),
        "inside a 200"
    );
    assert_eq!(power.status, StatusCode::OK);
    let mut stranger = tradier();
    stranger.headers[0].1 = "Bearer nope".into();
    let fault = stranger.get("/v1/user/profile").await;
    assert_eq!(
        (fault.status, fault.json()),
        (
            StatusCode::UNAUTHORIZED,
            fixture("fault_invalid_token.json")
        )
    );
    let unknown = c.get(&format!("{orders}/1")).await;
    assert_eq!(
        (unknown.status, unknown.text),
        (
            StatusCode::UNAUTHORIZED,
            shape::fixture_text("tradier", "unauthorized_account.txt")
        )
    );
    let id = place(
        &c,
        "class=equity&symbol=AAPL&side=buy&quantity=1&type=market&duration=day",
    )
    .await;
    advance(&c, 1_000).await;
    let late = c
        .send(Method::DELETE, &format!("{orders}/{id}"), "", "")
        .await;
    assert_eq!(
        (late.status, late.text),
        (
            StatusCode::BAD_REQUEST,
            shape::fixture_text("tradier", "finalized_filled.txt")
        )
    );
    let id = place(
        &c,
        "class=equity&symbol=AAPL&side=buy&quantity=1&type=limit&price=1&duration=day",
    )
    .await;
    c.send(Method::DELETE, &format!("{orders}/{id}"), "", "")
        .await;
    let again = c
        .send(Method::DELETE, &format!("{orders}/{id}"), "", "")
        .await;
    assert_eq!(
        again.text,
        shape::fixture_text("tradier", "finalized_canceled.txt")
    );
}

#[tokio::test]
async fn the_session_document() {
    let c = tradier();
    let r = c
        .send(Method::POST, "/v1/accounts/events/session", "", "")
        .await;
    assert_shape(&r, "session.json");
}
