//! The Alpaca face answered as Alpaca answers: shapes, types, statuses and error bodies
//! (../shared/reference/brokers/alpaca.md). The vendor SDK checks these again end to end.

mod common;

use axum::http::{Method, StatusCode};
use broker_models::faults::FaultPlan;
use common::Client;
use serde_json::Value;

fn alpaca() -> Client {
    let mut c = Client::new("alpaca", 7, FaultPlan::default());
    c.headers = vec![
        ("APCA-API-KEY-ID".into(), c.credential("key_id")),
        ("APCA-API-SECRET-KEY".into(), c.credential("secret_key")),
    ];
    c
}

fn is_decimal_string(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.parse::<rust_decimal::Decimal>().is_ok())
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

#[tokio::test]
async fn auth_errors_match_alpaca() {
    let mut c = alpaca();
    c.headers.clear();
    let r = c.get("/v2/account").await;
    assert_eq!(
        (r.status, r.json()),
        (
            StatusCode::FORBIDDEN,
            serde_json::json!({"message": "forbidden."})
        )
    );
    c.headers = vec![
        ("APCA-API-KEY-ID".into(), "PKWRONG".into()),
        ("APCA-API-SECRET-KEY".into(), "nope".into()),
    ];
    let r = c.get("/v2/account").await;
    assert_eq!(
        (r.status, r.json()),
        (
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"message": "unauthorized"})
        )
    );
    assert!(!r.text.contains("nope"));
}

#[tokio::test]
async fn market_order_fills_and_shows_as_a_position() {
    let c = alpaca();
    let r = c
        .post_json("/v2/orders", r#"{"symbol":"AAPL","qty":10,"side":"buy","type":"market","time_in_force":"day","client_order_id":"intent-1"}"#)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let o = r.json();
    assert!(uuid::Uuid::parse_str(o["id"].as_str().unwrap()).is_ok());
    assert_eq!(o["client_order_id"], "intent-1");
    assert_eq!(o["status"], "filled");
    assert_eq!(o["qty"], "10");
    assert_eq!(o["filled_qty"], "10");
    assert!(is_decimal_string(&o["filled_avg_price"]));
    assert_eq!(o["order_class"], "simple");
    assert_eq!(o["asset_class"], "us_equity");
    assert_eq!(o["extended_hours"], false);
    for t in ["created_at", "updated_at", "submitted_at", "filled_at"] {
        assert!(
            chrono::DateTime::parse_from_rfc3339(o[t].as_str().unwrap()).is_ok(),
            "{t}"
        );
    }
    assert!(o["limit_price"].is_null() && o["canceled_at"].is_null());

    let id = o["id"].as_str().unwrap();
    let again = c.get(&format!("/v2/orders/{id}")).await.json();
    assert_eq!(again["status"], "filled");
    let by_cid = c
        .get("/v2/orders:by_client_order_id?client_order_id=intent-1")
        .await;
    assert_eq!(by_cid.json()["id"], id);

    let positions = c.get("/v2/positions").await.json();
    let p = &positions[0];
    assert_eq!(
        (p["symbol"].as_str(), p["qty"].as_str(), p["side"].as_str()),
        (Some("AAPL"), Some("10"), Some("long"))
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
        serde_json::json!({"code": 40410000, "message": "position does not exist"})
    );
}

#[tokio::test]
async fn duplicate_client_order_id_is_422_forever() {
    let c = alpaca();
    let body = r#"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","limit_price":"1.00","time_in_force":"gtc","client_order_id":"dup"}"#;
    assert_eq!(c.post_json("/v2/orders", body).await.status, StatusCode::OK);
    let id = c
        .get("/v2/orders:by_client_order_id?client_order_id=dup")
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        c.send(Method::DELETE, &format!("/v2/orders/{id}"), "", "")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let r = c.post_json("/v2/orders", body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json(),
        serde_json::json!({"code": 40010001, "message": "client_order_id must be unique"})
    );
}

#[tokio::test]
async fn limit_rests_then_cancels_and_cancel_of_filled_is_422() {
    let c = alpaca();
    let r = c
        .post_json("/v2/orders", r#"{"symbol":"MSFT","qty":2,"side":"buy","type":"limit","limit_price":1.5,"time_in_force":"day"}"#)
        .await;
    let o = r.json();
    assert_eq!(o["status"], "new");
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
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let o = c.get(&format!("/v2/orders/{id}")).await.json();
    assert_eq!(o["status"], "canceled");
    assert!(o["canceled_at"].is_string());
    assert_eq!(
        c.get("/v2/orders?status=open").await.json(),
        serde_json::json!([])
    );
    assert_eq!(
        c.get("/v2/orders?status=closed")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let filled = c
        .post_json(
            "/v2/orders",
            r#"{"symbol":"MSFT","qty":1,"side":"buy","type":"market","time_in_force":"day"}"#,
        )
        .await
        .json();
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
        serde_json::json!({"code": 42210000, "message": "order is already in \"filled\" state"})
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
async fn replace_makes_a_new_order_that_replaces_the_old() {
    let c = alpaca();
    let o = c
        .post_json("/v2/orders", r#"{"symbol":"SPY","qty":3,"side":"buy","type":"limit","limit_price":"2","time_in_force":"gtc"}"#)
        .await
        .json();
    let old = o["id"].as_str().unwrap();
    let r = c
        .send(
            Method::PATCH,
            &format!("/v2/orders/{old}"),
            "application/json",
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
    let frac = c
        .send(
            Method::PATCH,
            &format!("/v2/orders/{}", new["id"].as_str().unwrap()),
            "application/json",
            r#"{"qty":"1.5"}"#,
        )
        .await;
    assert_eq!(
        (frac.status, frac.json()["message"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("qty must be integer")
        )
    );
}

#[tokio::test]
async fn bad_input_is_answered_as_alpaca_answers_it() {
    let c = alpaca();
    let cases: Vec<(&str, StatusCode, Value)> = vec![
        (
            "{not json",
            StatusCode::BAD_REQUEST,
            serde_json::json!({"code": 40010000, "message": "request body format is invalid"}),
        ),
        (
            r#"{"symbol":"AAPL","side":"buy","type":"market","time_in_force":"day"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            serde_json::json!({"code": 40010001, "message": "qty or notional is required"}),
        ),
        (
            r#"{"symbol":"AAPL","qty":0,"side":"buy","type":"market","time_in_force":"day"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            serde_json::json!({"code": 40010001, "message": "qty must be > 0"}),
        ),
        (
            r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"limit","time_in_force":"day"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            serde_json::json!({"code": 40010001, "message": "limit orders require a limit price"}),
        ),
        (
            r#"{"symbol":"AAPL","qty":1,"side":"buy","type":"limit","limit_price":"290.123","time_in_force":"day"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            serde_json::json!({"code": 42210000, "message": "invalid limit_price 290.123. sub-penny increment does not fulfill minimum pricing criteria"}),
        ),
        (
            r#"{"symbol":"XYZQ","qty":1,"side":"buy","type":"market","time_in_force":"day"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            serde_json::json!({"code": 42210000, "message": "asset \"XYZQ\" not found"}),
        ),
        (
            r#"{"symbol":"AAPL","qty":100000,"side":"buy","type":"market","time_in_force":"day"}"#,
            StatusCode::FORBIDDEN,
            Value::Null,
        ),
        (
            r#"{"symbol":"AAPL","qty":[1],"side":"buy","type":"market","time_in_force":"day"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Value::Null,
        ),
        (r#"[1,2,3]"#, StatusCode::UNPROCESSABLE_ENTITY, Value::Null),
    ];
    for (body, status, expected) in cases {
        let r = c.post_json("/v2/orders", body).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        if expected.is_null() {
            assert!(
                r.json()["code"].is_u64() && r.json()["message"].is_string(),
                "{}",
                r.text
            );
        } else {
            assert_eq!(r.json(), expected, "{body}");
        }
    }
    let bp = c
        .post_json(
            "/v2/orders",
            r#"{"symbol":"AAPL","qty":100000,"side":"buy","type":"market","time_in_force":"day"}"#,
        )
        .await
        .json();
    assert_eq!(
        (bp["code"].as_u64(), bp["message"].as_str()),
        (Some(40310000), Some("insufficient buying power"))
    );
    assert!(is_decimal_string(&bp["buying_power"]));
    let unknown = c.get("/v2/nothing-here").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.json()["code"], 40410000);
    // The ledger still saw every order the broker received, refused or not.
    let ledger = c.get("/_sim/ledger").await.json();
    assert_eq!(ledger["orders"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn option_orders_use_the_compact_occ_symbol() {
    let c = alpaca();
    let r = c
        .post_json("/v2/orders", r#"{"symbol":"AAPL260116C00190000","qty":1.0,"side":"buy","type":"market","time_in_force":"day","position_intent":"buy_to_open"}"#)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let o = r.json();
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
    assert_eq!(o["status"], "filled");
    let p = c.get("/v2/positions").await.json();
    assert_eq!(
        (p[0]["symbol"].as_str(), p[0]["exchange"].as_str()),
        (Some("AAPL260116C00190000"), Some(""))
    );
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
    let id = c.post_json("/v2/orders", body).await.json()["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let del = c
        .send(Method::DELETE, &format!("/v2/orders/{id}"), "", "")
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    // The market falls through the limit before the cancel lands.
    let moved = c
        .post_json("/_sim/price", r#"{"symbol":"AAPL","price":"140.00"}"#)
        .await;
    assert_eq!(moved.status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
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
