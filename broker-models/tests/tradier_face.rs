//! The Tradier face answered as Tradier answers (../shared/reference/brokers/tradier.md):
//! form bodies, JSON numbers, the "null" and single-object quirks, errors inside 200s,
//! plain-text refusals, and ids that survive a modify.

mod common;

use axum::http::{Method, StatusCode};
use broker_models::faults::FaultPlan;
use common::Client;
use serde_json::{json, Value};

const ACCT: &str = "VA00000001";
const FORM: &str = "application/x-www-form-urlencoded";

fn tradier() -> Client {
    let mut c = Client::new("tradier", 7, FaultPlan::default());
    c.headers = vec![
        (
            "Authorization".into(),
            format!("Bearer {}", c.credential("access_token")),
        ),
        ("Accept".into(), "application/json".into()),
    ];
    c
}

async fn place(c: &Client, form: &str) -> common::Reply {
    c.send(
        Method::POST,
        &format!("/v1/accounts/{ACCT}/orders"),
        FORM,
        form,
    )
    .await
}

/// Lets the broker work what was just placed: acceptance comes 5-50 ms
/// after the submit, and the first fill at the symbol's next quote.
async fn settle(c: &Client) {
    let r = c.post_json("/_sim/advance", r#"{"ms":300}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

async fn order(c: &Client, id: &Value) -> Value {
    c.get(&format!("/v1/accounts/{ACCT}/orders/{id}?includeTags=True"))
        .await
        .json()["order"]
        .clone()
}

#[tokio::test]
async fn profile_balances_and_empty_collections() {
    let c = tradier();
    let p = c.get("/v1/user/profile").await.json();
    assert_eq!(
        p["profile"]["account"]["account_number"], ACCT,
        "one account is a bare object"
    );
    let b = c.get(&format!("/v1/accounts/{ACCT}/balances")).await.json()["balances"].clone();
    assert_eq!(b["total_cash"], json!(100000));
    assert!(b["margin"]["stock_buying_power"].is_number());
    assert_eq!(b["account_type"], "margin");
    assert_eq!(
        c.get(&format!("/v1/accounts/{ACCT}/positions"))
            .await
            .json(),
        json!({"positions": "null"})
    );
    assert_eq!(
        c.get(&format!("/v1/accounts/{ACCT}/orders")).await.json(),
        json!({"orders": "null"})
    );
}

#[tokio::test]
async fn auth_accept_and_foreign_accounts() {
    let mut c = tradier();
    let wrong = c.get("/v1/accounts/VA99999999/balances").await;
    assert_eq!(
        (wrong.status, wrong.text.as_str()),
        (StatusCode::UNAUTHORIZED, "Unauthorized Account: VA99999999")
    );
    c.headers[1].1 = "application/xml".into();
    assert_eq!(
        c.get("/v1/user/profile").await.status,
        StatusCode::NOT_ACCEPTABLE
    );
    c.headers[0].1 = "Bearer nope".into();
    let r = c.get("/v1/user/profile").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["fault"]["faultstring"], "Invalid Access Token");
}

#[tokio::test]
async fn equity_order_acks_then_fills_with_number_fields() {
    let c = tradier();
    let ack = place(&c, "class=equity&symbol=AAPL&side=buy&quantity=10.0&type=market&duration=day&price=&stop=&tag=intent-1").await;
    assert_eq!(ack.status, StatusCode::OK, "{}", ack.text);
    let ack = ack.json();
    assert_eq!(ack["order"]["status"], "ok");
    assert!(ack["order"]["id"].is_u64());
    assert_eq!(order(&c, &ack["order"]["id"]).await["status"], "pending");
    settle(&c).await;
    let o = order(&c, &ack["order"]["id"]).await;
    assert_eq!(o["status"], "filled");
    assert_eq!(
        (o["class"].as_str(), o["side"].as_str(), o["tag"].as_str()),
        (Some("equity"), Some("buy"), Some("intent-1"))
    );
    for f in [
        "quantity",
        "avg_fill_price",
        "exec_quantity",
        "last_fill_price",
        "last_fill_quantity",
        "remaining_quantity",
    ] {
        assert!(o[f].is_number(), "{f}: {}", o[f]);
    }
    assert_eq!(o["exec_quantity"], json!(10));
    assert!(
        o.get("price").is_none(),
        "absent numeric fields are omitted"
    );
    assert!(o["create_date"].as_str().unwrap().ends_with('Z'));
    let untagged = c
        .get(&format!(
            "/v1/accounts/{ACCT}/orders/{}",
            ack["order"]["id"]
        ))
        .await
        .json();
    assert!(
        untagged["order"].get("tag").is_none(),
        "tags only with includeTags=true"
    );
    // One order and one position: bare objects, not arrays.
    let list = c.get(&format!("/v1/accounts/{ACCT}/orders")).await.json();
    assert!(list["orders"]["order"].is_object());
    let pos = c
        .get(&format!("/v1/accounts/{ACCT}/positions"))
        .await
        .json();
    assert_eq!(
        (
            pos["positions"]["position"]["symbol"].as_str(),
            &pos["positions"]["position"]["quantity"]
        ),
        (Some("AAPL"), &json!(10))
    );
    place(
        &c,
        "class=equity&symbol=MSFT&side=buy&quantity=1&type=market&duration=day",
    )
    .await;
    let list = c.get(&format!("/v1/accounts/{ACCT}/orders")).await.json();
    assert_eq!(list["orders"]["order"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn no_idempotency_duplicates_are_new_orders() {
    let c = tradier();
    let form =
        "class=equity&symbol=AAPL&side=buy&quantity=1&type=limit&price=1.00&duration=gtc&tag=same";
    let a = place(&c, form).await.json();
    let b = place(&c, form).await.json();
    assert_ne!(a["order"]["id"], b["order"]["id"]);
}

#[tokio::test]
async fn cancel_modify_and_finalized_texts() {
    let c = tradier();
    let ack = place(
        &c,
        "class=equity&symbol=SPY&side=buy&quantity=3&type=limit&price=2.00&duration=gtc",
    )
    .await
    .json();
    let id = ack["order"]["id"].clone();
    settle(&c).await;
    assert_eq!(order(&c, &id).await["status"], "open");
    let m = c
        .send(
            Method::PUT,
            &format!("/v1/accounts/{ACCT}/orders/{id}"),
            FORM,
            "type=limit&price=2.50",
        )
        .await
        .json();
    assert_eq!(m["order"]["id"], id, "modify keeps the id");
    assert_eq!(order(&c, &id).await["price"], json!(2.5));
    let del = c
        .send(
            Method::DELETE,
            &format!("/v1/accounts/{ACCT}/orders/{id}"),
            "",
            "",
        )
        .await;
    assert_eq!(del.json(), json!({"order": {"id": id, "status": "ok"}}));
    assert_eq!(order(&c, &id).await["status"], "canceled");
    let again = c
        .send(
            Method::DELETE,
            &format!("/v1/accounts/{ACCT}/orders/{id}"),
            "",
            "",
        )
        .await;
    assert_eq!(
        (again.status, again.text.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "order already in finalized state: canceled"
        )
    );
    let unknown = c
        .send(
            Method::DELETE,
            &format!("/v1/accounts/{ACCT}/orders/1"),
            "",
            "",
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.text.as_str()),
        (StatusCode::UNAUTHORIZED, "Unauthorized Account: VA00000001")
    );
}

#[tokio::test]
async fn refusals_use_tradier_shapes() {
    let c = tradier();
    let bp = place(
        &c,
        "class=equity&symbol=AAPL&side=buy&quantity=100000&type=market&duration=day",
    )
    .await;
    assert_eq!(
        bp.status,
        StatusCode::OK,
        "buying power refusals arrive inside a 200"
    );
    assert_eq!(
        bp.json(),
        json!({"errors": {"error": "You do not have enough buying power for this trade."}})
    );
    let sym = place(
        &c,
        "class=equity&symbol=ZZZQ&side=buy&quantity=1&type=market&duration=day",
    )
    .await;
    assert_eq!(
        (sym.status, sym.json()),
        (
            StatusCode::BAD_REQUEST,
            json!({"errors": {"error": "Invalid parameter, ZZZQ: symbol not found."}})
        )
    );
    let tag = place(
        &c,
        "class=equity&symbol=AAPL&side=buy&quantity=1&type=market&duration=day&tag=bad_tag",
    )
    .await;
    assert_eq!(
        tag.json()["errors"]["error"],
        "Invalid parameter, tag: contains invalid characters."
    );
    let both = place(
        &c,
        "class=equity&symbol=AAPL&side=buy&quantity=1&type=stop_limit&duration=day",
    )
    .await;
    assert_eq!(
        both.json()["errors"]["error"].as_array().map(Vec::len),
        Some(2)
    );
    let garbage = c
        .send(
            Method::POST,
            &format!("/v1/accounts/{ACCT}/orders"),
            FORM,
            "%%%=&&==",
        )
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn options_and_multileg() {
    let c = tradier();
    let ack = place(&c, "class=option&symbol=AAPL&option_symbol=AAPL260116C00190000&side=buy_to_open&quantity=1&type=market&duration=day").await.json();
    settle(&c).await;
    let o = order(&c, &ack["order"]["id"]).await;
    assert_eq!(
        (
            o["class"].as_str(),
            o["option_symbol"].as_str(),
            o["side"].as_str(),
            o["status"].as_str()
        ),
        (
            Some("option"),
            Some("AAPL260116C00190000"),
            Some("buy_to_open"),
            Some("filled")
        )
    );
    let spread = place(&c, "class=multileg&symbol=SPY&type=market&duration=day&option_symbol[0]=SPY260116P00580000&side[0]=sell_to_open&quantity[0]=2&option_symbol[1]=SPY260116P00575000&side[1]=buy_to_open&quantity[1]=2").await;
    assert_eq!(spread.status, StatusCode::OK, "{}", spread.text);
    settle(&c).await;
    let o = order(&c, &spread.json()["order"]["id"]).await;
    assert_eq!(
        (
            o["class"].as_str(),
            o["num_legs"].as_u64(),
            o["status"].as_str()
        ),
        (Some("multileg"), Some(2), Some("filled"))
    );
    assert_eq!(o["leg"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn rate_limit_headers_count_per_bucket() {
    let c = tradier();
    let r = c.get("/v1/user/profile").await;
    assert_eq!(
        (
            r.headers["x-ratelimit-allowed"].to_str().unwrap(),
            r.headers["x-ratelimit-available"].to_str().unwrap()
        ),
        ("120", "119")
    );
    let expiry: i64 = r.headers["x-ratelimit-expiry"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(expiry > 1_767_625_200_000, "epoch milliseconds");
    let t = place(
        &c,
        "class=equity&symbol=AAPL&side=buy&quantity=1&type=limit&price=1&duration=day",
    )
    .await;
    assert_eq!(t.headers["x-ratelimit-allowed"], "60");
}
