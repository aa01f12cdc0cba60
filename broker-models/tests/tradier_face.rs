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

async fn advance(c: &Client, ms: u64) {
    let r = c
        .post_json("/_sim/advance", &format!(r#"{{"ms": {ms}}}"#))
        .await;
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
    advance(&c, 1_000).await;
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
    advance(&c, 1_000).await;
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
    assert_eq!(order(&c, &id).await["status"], "pending");
    advance(&c, 100).await;
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
    advance(&c, 1_000).await;
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
    advance(&c, 1_000).await;
    let o = order(&c, &spread.json()["order"]["id"]).await;
    assert_eq!(
        (
            o["class"].as_str(),
            o["num_legs"].as_u64(),
            o["status"].as_str()
        ),
        (Some("multileg"), Some(2), Some("filled"))
    );
    let legs = o["leg"].as_array().expect("two legs");
    assert_eq!(legs.len(), 2);
    // Each leg filled at its own price, never 0 (the net is the parent's).
    for leg in legs {
        for f in ["avg_fill_price", "last_fill_price"] {
            assert!(leg[f].as_f64().is_some_and(|p| p > 0.0), "{f}: {leg}");
        }
        assert_eq!(leg["exec_quantity"], json!(2));
    }
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

async fn modify(c: &Client, id: &Value, form: &str) -> common::Reply {
    c.send(
        Method::PUT,
        &format!("/v1/accounts/{ACCT}/orders/{id}"),
        FORM,
        form,
    )
    .await
}

#[tokio::test]
async fn market_data_has_its_own_bucket() {
    let c = tradier();
    c.get("/v1/user/profile").await;
    let r = c.get("/v1/markets/clock").await;
    assert_eq!(
        (
            r.headers["x-ratelimit-allowed"].to_str().unwrap(),
            r.headers["x-ratelimit-available"].to_str().unwrap()
        ),
        ("120", "119"),
        "the clock's first request in the market-data bucket"
    );
}

#[tokio::test]
async fn xml_unless_json_is_asked_for() {
    let mut c = tradier();
    place(
        &c,
        "class=equity&symbol=AAPL&side=buy&quantity=2&type=limit&price=1.00&duration=gtc&tag=x-1",
    )
    .await;
    // python-requests' default, and no Accept at all: Tradier's default, XML (§1.3, §8.3).
    for accept in ["*/*", ""] {
        c.headers[1].1 = accept.into();
        for (path, root) in [
            (
                format!("/v1/accounts/{ACCT}/orders?includeTags=true"),
                "<orders><order><id>228175</id><type>limit</type>",
            ),
            (
                format!("/v1/accounts/{ACCT}/orders/228175"),
                "<order><id>228175</id>",
            ),
            (
                format!("/v1/accounts/{ACCT}/positions"),
                "<positions>null</positions>",
            ),
            (
                format!("/v1/accounts/{ACCT}/balances"),
                "<balances><option_short_value>0</option_short_value>",
            ),
        ] {
            let r = c.get(&path).await;
            assert_eq!(r.headers["content-type"], "application/xml", "{path}");
            assert!(
                r.text
                    .starts_with(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
                    && r.text.contains(root),
                "{path}: {}",
                r.text
            );
        }
        let refused = place(
            &c,
            "class=equity&symbol=ZZZQ&side=buy&quantity=1&type=market&duration=day",
        )
        .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(refused.text.ends_with(
            "<errors><error>Invalid parameter, ZZZQ: symbol not found.</error></errors>"
        ));
    }
    c.headers[1].1 = "text/html, application/json;q=0.9".into();
    let r = c.get(&format!("/v1/accounts/{ACCT}/balances")).await;
    assert_eq!(r.headers["content-type"], "application/json");
    assert!(r.json()["balances"].is_object());
}

#[tokio::test]
async fn paths_and_methods_tradier_does_not_serve() {
    let c = tradier();
    let r = c.get("/v1/no/such/thing").await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (StatusCode::NOT_FOUND, "Not Found")
    );
    let r = c
        .send(
            Method::PATCH,
            &format!("/v1/accounts/{ACCT}/orders"),
            FORM,
            "a=1",
        )
        .await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
    );
}

/// Refusals of `side` for the position held (docs.tradier.com `docs/error-responses`):
/// 200 with the order desk's words, and the order is on the ledger as refused.
#[tokio::test]
async fn sides_must_fit_the_position_held() {
    let c = tradier();
    let refused = |text: &'static str| json!({"errors": {"error": text}});
    let sell = place(
        &c,
        "class=equity&symbol=AAPL&side=sell&quantity=1&type=market&duration=day",
    )
    .await;
    assert_eq!(sell.status, StatusCode::OK);
    assert_eq!(
        sell.json(),
        refused("Sell order cannot be placed unless you are closing a long position, please check open orders.")
    );
    let cover = place(
        &c,
        "class=equity&symbol=AAPL&side=buy_to_cover&quantity=1&type=market&duration=day",
    )
    .await;
    assert_eq!(
        cover.json(),
        refused("Buy To Cover order cannot be placed unless closing a short position, please check open orders.")
    );
    place(
        &c,
        "class=equity&symbol=AAPL&side=buy&quantity=10&type=market&duration=day",
    )
    .await;
    advance(&c, 1_000).await;
    let short = place(
        &c,
        "class=equity&symbol=AAPL&side=sell_short&quantity=1&type=market&duration=day",
    )
    .await;
    assert_eq!(
        short.json(),
        refused("Sell short order cannot be placed while you have a current long position, please check open orders.")
    );
    let past = place(
        &c,
        "class=equity&symbol=AAPL&side=sell&quantity=11&type=market&duration=day",
    )
    .await;
    assert_eq!(
        past.json(),
        refused("Sell order is for more shares than your current long position, please review current position quantity along with open orders for security.")
    );
    place(
        &c,
        "class=equity&symbol=MSFT&side=sell_short&quantity=3&type=market&duration=day",
    )
    .await;
    advance(&c, 1_000).await;
    let buy = place(
        &c,
        "class=equity&symbol=MSFT&side=buy&quantity=1&type=market&duration=day",
    )
    .await;
    assert_eq!(
        buy.json(),
        refused("Buy order cannot be placed to cover short position, order must be placed as a Buy to Cover")
    );
    let ok = place(
        &c,
        "class=equity&symbol=MSFT&side=buy_to_cover&quantity=3&type=market&duration=day",
    )
    .await;
    assert_eq!(ok.json()["order"]["status"], "ok", "{}", ok.text);
    let ledger = c.get("/_sim/ledger").await.json();
    let refusals = ledger["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| !o["rejection"].is_null())
        .count();
    assert_eq!(refusals, 5, "every refused order reached the broker");
}

#[tokio::test]
async fn modify_takes_type_price_stop_and_duration_but_not_quantity() {
    let c = tradier();
    let id = place(
        &c,
        "class=equity&symbol=SPY&side=buy&quantity=3&type=limit&price=2.00&duration=day",
    )
    .await
    .json()["order"]["id"]
        .clone();
    advance(&c, 100).await;
    let q = modify(&c, &id, "quantity=5&price=2.10").await;
    assert_eq!(q.status, StatusCode::BAD_REQUEST, "{}", q.text);
    assert!(q.json()["errors"]["error"]
        .as_str()
        .unwrap()
        .starts_with("Invalid parameter, quantity"));
    // A stop order needs a stop: the limit order has none to carry over.
    let t = modify(&c, &id, "type=stop").await;
    assert_eq!(t.status, StatusCode::BAD_REQUEST, "{}", t.text);
    let stop = modify(&c, &id, "stop=1.50").await;
    assert_eq!(
        stop.status,
        StatusCode::BAD_REQUEST,
        "a limit order has no stop: {}",
        stop.text
    );
    let o = order(&c, &id).await;
    assert_eq!(
        (
            o["quantity"].clone(),
            o["price"].clone(),
            o["type"].as_str()
        ),
        (json!(3), json!(2), Some("limit")),
        "refusals change nothing"
    );
    let ok = modify(&c, &id, "type=limit&price=2.10&duration=gtc").await;
    assert_eq!(ok.json()["order"]["id"], id, "{}", ok.text);
    let o = order(&c, &id).await;
    assert_eq!(
        (o["price"].clone(), o["duration"].as_str()),
        (json!(2.1), Some("gtc"))
    );
    // A new type keeps the price it still takes and adds the stop sent.
    let ok = modify(&c, &id, "type=stop_limit&stop=2.05").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    advance(&c, 100).await;
    let o = order(&c, &id).await;
    assert_eq!(
        (
            o["type"].as_str(),
            o["price"].clone(),
            o["stop_price"].clone()
        ),
        (Some("stop_limit"), json!(2.1), json!(2.05)),
        "{o}"
    );
    // A market order drops both, and fills.
    let ok = modify(&c, &id, "type=market").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let mut o = order(&c, &id).await;
    for _ in 0..20 {
        if o["status"] == "filled" {
            break;
        }
        advance(&c, 200).await;
        o = order(&c, &id).await;
    }
    assert_eq!(
        (o["type"].as_str(), o["status"].as_str()),
        (Some("market"), Some("filled")),
        "{o}"
    );
}

/// A 40-share order partly filled, then repriced: the same order, 40 shares,
/// its earlier fills kept, still partly filled (§2.5: modify keeps the id).
#[tokio::test]
async fn a_modify_keeps_the_fills_before_it() {
    let c = tradier();
    let id = place(&c, "class=equity&symbol=AAPL&side=buy&quantity=40&type=limit&price=1000&duration=gtc&tag=sim-partial-mod").await.json()["order"]["id"].clone();
    let mut before = order(&c, &id).await;
    while before["exec_quantity"] == json!(0) {
        advance(&c, 200).await;
        before = order(&c, &id).await;
    }
    let filled = before["exec_quantity"].as_u64().unwrap();
    assert!(filled < 40, "{before}");
    // Repriced away from the market: the rest waits.
    let ok = modify(&c, &id, "price=1.00").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    advance(&c, 1_000).await;
    let after = order(&c, &id).await;
    let life = |o: &Value| {
        (
            o["quantity"].clone(),
            o["exec_quantity"].as_u64(),
            o["remaining_quantity"].as_u64(),
            o["status"].as_str().map(str::to_string),
        )
    };
    assert_eq!(
        life(&after),
        (
            json!(40),
            Some(filled),
            Some(40 - filled),
            Some("partially_filled".into())
        ),
        "{after}"
    );
    assert_eq!(
        (after["avg_fill_price"].clone(), after["price"].clone()),
        (before["avg_fill_price"].clone(), json!(1))
    );
    // Back at the market: the rest fills, and the whole order reads filled.
    modify(&c, &id, "price=1000").await;
    advance(&c, 60_000).await;
    let done = order(&c, &id).await;
    assert_eq!(
        life(&done),
        (json!(40), Some(40), Some(0), Some("filled".into())),
        "{done}"
    );
}

/// Absurd numbers are Tradier's refusals (§5.1, §5.2), never a panic or a 5xx.
#[tokio::test]
async fn hostile_numbers_are_refused_as_tradier_refuses() {
    let c = tradier();
    let legs = |q: &str| {
        format!("class=multileg&symbol=SPY&type=market&duration=day&option_symbol[0]=SPY260116C00580000&side[0]=buy_to_open&quantity[0]=1&option_symbol[1]=SPY260116C00590000&side[1]=sell_to_open&quantity[1]={q}")
    };
    let r = place(&c, &legs("1e27")).await;
    assert_eq!(
        (r.status, r.json()),
        (
            StatusCode::OK,
            json!({"errors": {"error": "Quantity should be between 1 and 10,000,000"}})
        )
    );
    let r = place(&c, &legs("1000000000000000000000000000")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = place(
        &c,
        "class=equity&symbol=SPY&side=buy&quantity=1&type=limit&price=2.00&duration=day",
    )
    .await
    .json()["order"]["id"]
        .clone();
    advance(&c, 100).await;
    for (price, status) in [
        ("1e27", StatusCode::OK),
        ("1000000000000000000000000000", StatusCode::OK),
        ("1e30", StatusCode::BAD_REQUEST),
        ("NaN", StatusCode::BAD_REQUEST),
        ("-1", StatusCode::OK),
    ] {
        let r = modify(&c, &id, &format!("price={price}")).await;
        assert_eq!(r.status, status, "price={price}: {}", r.text);
        assert!(
            r.json()["errors"]["error"].is_string(),
            "price={price}: {}",
            r.text
        );
    }
    assert_eq!(order(&c, &id).await["price"], json!(2), "unchanged");
}

/// The cost of a position with every digit of the ledger (§2.7), here a
/// sub-dollar stock's four-decimal price.
#[tokio::test]
async fn cost_basis_keeps_every_digit() {
    let c = tradier();
    let set = c
        .post_json("/_sim/price", r#"{"symbol":"PENY","price":"0.5123"}"#)
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    place(
        &c,
        "class=equity&symbol=PENY&side=buy&quantity=3&type=market&duration=day",
    )
    .await;
    advance(&c, 1_000).await;
    let p = c.get(&format!("/v1/accounts/{ACCT}/positions")).await;
    let text = p.text;
    let basis = text
        .split(r#""cost_basis":"#)
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap();
    let basis: rust_decimal::Decimal = basis.parse().unwrap();
    assert_ne!(basis, basis.round_dp(2), "more than cents: {text}");
}

#[tokio::test]
async fn clock_states_through_the_day_and_the_calendar() {
    let c = tradier();
    let clock = |r: Value| {
        (
            r["clock"]["state"].as_str().unwrap().to_string(),
            r["clock"]["next_state"].as_str().unwrap().to_string(),
        )
    };
    // The default epoch is Monday 10:00 in New York.
    assert_eq!(
        clock(c.get("/v1/markets/clock").await.json()),
        ("open".into(), "postmarket".into())
    );
    advance(&c, (6 * 60 + 30) * 60_000).await; // 16:30
    assert_eq!(
        clock(c.get("/v1/markets/clock").await.json()),
        ("postmarket".into(), "closed".into())
    );
    advance(&c, 4 * 3_600_000).await; // 20:30
    assert_eq!(
        clock(c.get("/v1/markets/clock").await.json()),
        ("closed".into(), "premarket".into())
    );
    advance(&c, 11 * 3_600_000).await; // Tuesday 07:30
    let r = c.get("/v1/markets/clock").await.json();
    assert_eq!(clock(r.clone()), ("premarket".into(), "open".into()));
    assert_eq!(
        (
            r["clock"]["date"].as_str(),
            r["clock"]["next_change"].as_str()
        ),
        (Some("2026-01-06"), Some("09:30"))
    );
    let cal = c.get("/v1/markets/calendar").await.json()["calendar"].clone();
    assert_eq!(
        (cal["month"].clone(), cal["year"].clone()),
        (json!(1), json!(2026))
    );
    let days = cal["days"]["day"].as_array().unwrap();
    assert_eq!(days.len(), 31);
    assert_eq!(
        days[4]["open"],
        json!({"start": "09:30", "end": "16:00"}),
        "Monday the 5th"
    );
    assert_eq!(
        days[3],
        json!({"date": "2026-01-04", "status": "closed", "description": "Market is closed"})
    );
    let bad = c.get("/v1/markets/calendar?month=13").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn history_and_gainloss_show_yesterday() {
    let c = tradier();
    place(
        &c,
        "class=equity&symbol=AAPL&side=buy&quantity=10&type=market&duration=day",
    )
    .await;
    advance(&c, 1_000).await;
    place(
        &c,
        "class=equity&symbol=AAPL&side=sell&quantity=4&type=market&duration=day",
    )
    .await;
    advance(&c, 1_000).await;
    let history = format!("/v1/accounts/{ACCT}/history");
    let gainloss = format!("/v1/accounts/{ACCT}/gainloss");
    assert_eq!(
        c.get(&history).await.json(),
        json!({"history": "null"}),
        "updated nightly"
    );
    assert_eq!(c.get(&gainloss).await.json(), json!({"gainloss": "null"}));
    advance(&c, 23 * 3_600_000).await;
    let events = c.get(&history).await.json()["history"]["event"].clone();
    let events = events.as_array().expect("two trades");
    assert_eq!(
        (
            events[0]["trade"]["quantity"].clone(),
            events[1]["trade"]["quantity"].clone()
        ),
        (json!(-4), json!(10)),
        "newest first"
    );
    assert_eq!(events[0]["date"], "2026-01-05T00:00:00Z");
    let only = c.get(&format!("{history}?type=dividend")).await.json();
    assert_eq!(only, json!({"history": "null"}));
    let closed = c.get(&gainloss).await.json()["gainloss"]["closed_position"].clone();
    assert_eq!(
        (
            closed["quantity"].clone(),
            closed["symbol"].as_str(),
            closed["term"].clone()
        ),
        (json!(4), Some("AAPL"), json!(0))
    );
}
