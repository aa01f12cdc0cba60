//! The Schwab face answered as Schwab answers (../shared/reference/brokers/schwab.md):
//! hashes in every account path, 201 with an empty body and the id only in
//! `Location` (production host), WORKING partial fills, REPLACED orders under new
//! ids, windowed lists, OAuth grants and refusals, and the streamer's account
//! activity; every body's shape checked against `test_data/schwab`.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use broker_models::faults::FaultPlan;
use common::shape::{self, Rules};
use common::{Client, Reply};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const ACCT: &str = "12345678";
const FORM: &str = "application/x-www-form-urlencoded";
const LOCATION: &str = "https://api.schwabapi.com/trader/v1/accounts/";

/// Schwab leaves out a key it has no value for.
const SCHWAB: Rules = Rules {
    omits_keys: true,
    ..Rules::strict("Schwab")
};

fn fixture(name: &str) -> Value {
    shape::fixture("schwab", name)
}

#[track_caller]
fn assert_fits(got: &Value, fixture_name: &str) {
    let out = shape::misfits(got, &fixture(fixture_name), &SCHWAB);
    assert!(out.is_empty(), "{fixture_name}: {out:#?}\n{got:#}");
}

/// Every order fixture: an order body may carry any key one of them shows.
const ORDERS: [&str; 11] = [
    "order_canceled.json",
    "order_filled_market.json",
    "order_option_filled.json",
    "order_pending_activation.json",
    "order_pending_cancel.json",
    "order_rejected.json",
    "order_replaced_old.json",
    "order_replacement_working.json",
    "order_trigger_oto.json",
    "order_vertical_working.json",
    "order_working_partially_filled.json",
];

/// `got` fits the order fixtures together, and has what `fixture_name` has at its top.
fn assert_order(got: &Value, fixture_name: &str) {
    let all: Vec<Value> = ORDERS
        .iter()
        .chain(["order_working_limit.json"].iter())
        .map(|n| fixture(n))
        .collect();
    let out = shape::misfits(got, &shape::union(&all).unwrap_or_default(), &SCHWAB);
    assert!(out.is_empty(), "orders: {out:#?}\n{got:#}");
    let want = fixture(fixture_name);
    let missing: Vec<&String> = want
        .as_object()
        .map(|w| w.keys().filter(|k| got.get(k.as_str()).is_none()).collect())
        .unwrap_or_default();
    // Not known to the model (no CUSIPs, tags or routes), UNVERIFIED texts,
    // or keys of another type or state of order (each test asserts those).
    let optional = [
        "cancelTime",
        "destinationLinkName",
        "tag",
        "statusDescription",
        "price",
        "stopPrice",
        "closeTime",
        "orderActivityCollection",
        "replacingOrderCollection",
        "childOrderStrategies",
    ];
    let missing: Vec<&&String> = missing
        .iter()
        .filter(|k| !optional.contains(&k.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{fixture_name}: missing {missing:?}\n{got:#}"
    );
}

fn assert_has(got: &Value, keys: &[&str]) {
    for k in keys {
        assert!(got.get(k).is_some(), "no {k} in {got:#}");
    }
}

fn schwab() -> Client {
    Client::authed("schwab", 7, FaultPlan::default())
}

async fn advance(c: &Client, ms: u64) {
    let r = c
        .post_json("/_sim/advance", &format!(r#"{{"ms": {ms}}}"#))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

async fn hash(c: &Client) -> String {
    let r = c.get("/trader/v1/accounts/accountNumbers").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()[0]["hashValue"].as_str().unwrap().to_string()
}

fn equity(instruction: &str, symbol: &str, qty: u32, kind: &str, price: Option<&str>) -> Value {
    let mut o = json!({
        "session": "NORMAL", "duration": "DAY", "orderType": kind, "orderStrategyType": "SINGLE",
        "orderLegCollection": [{"instruction": instruction, "instrument": {"assetType": "EQUITY", "symbol": symbol}, "quantity": qty}]
    });
    if let Some(p) = price {
        o["price"] = json!(p);
    }
    o
}

async fn place(c: &Client, h: &str, body: &Value) -> Reply {
    c.post_json(
        &format!("/trader/v1/accounts/{h}/orders"),
        &body.to_string(),
    )
    .await
}

/// The id a 201 names, after checking it is Schwab's 201 exactly.
fn created(r: &Reply, h: &str) -> String {
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.text.is_empty(), "a 201 has no body: {}", r.text);
    let location = r.headers["location"].to_str().unwrap();
    let prefix = format!("{LOCATION}{h}/orders/");
    let id = location
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{location}"));
    assert!(id.bytes().all(|b| b.is_ascii_digit()), "{location}");
    id.to_string()
}

async fn order(c: &Client, h: &str, id: &str) -> Value {
    let r = c.get(&format!("/trader/v1/accounts/{h}/orders/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()
}

/// The order once it reads `status`, advancing simulated time meanwhile.
async fn settled(c: &Client, h: &str, id: &str, status: &str) -> Value {
    for _ in 0..100 {
        let o = order(c, h, id).await;
        if o["status"] == status {
            return o;
        }
        advance(c, 200).await;
    }
    panic!(
        "order {id} never became {status}: {}",
        order(c, h, id).await
    );
}

#[tokio::test]
async fn account_numbers_hashes_and_documents() {
    let c = schwab();
    let r = c.get("/trader/v1/accounts/accountNumbers").await;
    assert_fits(&r.json(), "account_numbers.json");
    assert!(r.headers.contains_key("schwab-client-correlid"));
    let h = hash(&c).await;
    assert_eq!(h.len(), 64);
    assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(h, hash(&schwab()).await, "the same seed, the same hash");
    assert_ne!(
        h,
        hash(&Client::authed("schwab", 8, FaultPlan::default())).await
    );

    let plain = c.get(&format!("/trader/v1/accounts/{h}")).await.json();
    assert_fits(&plain, "account_without_fields.json");
    assert!(plain["securitiesAccount"].get("positions").is_none());
    assert_eq!(plain["securitiesAccount"]["accountNumber"], ACCT);
    assert_eq!(
        plain["securitiesAccount"]["currentBalances"]["cashBalance"],
        json!(100000.0)
    );
    assert_eq!(
        plain["securitiesAccount"]["initialBalances"]["isInCall"],
        json!(false)
    );
    let with = c
        .get(&format!("/trader/v1/accounts/{h}?fields=positions"))
        .await
        .json();
    assert_eq!(with["securitiesAccount"]["positions"], json!([]));
    let all = c.get("/trader/v1/accounts?fields=positions").await.json();
    assert_fits(&all, "accounts_with_positions.json");

    // A plain account number is not an account path (§8.1).
    let r = c.get(&format!("/trader/v1/accounts/{ACCT}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_fits(&r.json(), "error_400_invalid_account.json");
    let r = c
        .get(&format!("/trader/v1/accounts/{h}?fields=orders"))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_market_order_is_201_with_location_then_fills() {
    let c = schwab();
    let h = hash(&c).await;
    let r = place(&c, &h, &equity("BUY", "AAPL", 3, "MARKET", None)).await;
    let id = created(&r, &h);
    let first = order(&c, &h, &id).await;
    assert_order(&first, "order_working_limit.json");
    assert_eq!(first["status"], "PENDING_ACKNOWLEDGEMENT");
    assert_eq!(
        first["accountNumber"],
        json!(12345678),
        "an integer inside orders"
    );
    assert!(first["orderId"].is_u64());
    let done = settled(&c, &h, &id, "FILLED").await;
    assert_order(&done, "order_filled_market.json");
    assert_has(&done, &["closeTime", "orderActivityCollection"]);
    assert_eq!(
        (
            done["filledQuantity"].clone(),
            done["remainingQuantity"].clone()
        ),
        (json!(3.0), json!(0.0))
    );
    assert_eq!(done["cancelable"], json!(false));
    let t = done["enteredTime"].as_str().unwrap();
    assert!(t.ends_with("+0000") && t.len() == 24, "{t}");

    let doc = c
        .get(&format!("/trader/v1/accounts/{h}?fields=positions"))
        .await
        .json();
    assert_fits(&doc, "account_with_positions.json");
    let p = &doc["securitiesAccount"]["positions"][0];
    assert_eq!(
        (p["longQuantity"].clone(), p["shortQuantity"].clone()),
        (json!(3.0), json!(0.0))
    );
    assert_eq!(p["instrument"]["symbol"], "AAPL");
    let cash = doc["securitiesAccount"]["currentBalances"]["cashBalance"]
        .as_f64()
        .unwrap();
    assert!(cash < 100000.0);
}

#[tokio::test]
async fn limit_rests_cancel_is_200_empty_and_a_second_cancel_is_refused() {
    let c = schwab();
    let h = hash(&c).await;
    let mut body = equity("BUY", "MSFT", 2, "LIMIT", Some("1.00"));
    body["duration"] = json!("GOOD_TILL_CANCEL");
    let id = created(&place(&c, &h, &body).await, &h);
    let working = settled(&c, &h, &id, "WORKING").await;
    assert_order(&working, "order_working_limit.json");
    assert_eq!(
        (working["price"].clone(), working["cancelable"].clone()),
        (json!(1.0), json!(true))
    );
    let r = c
        .send(
            Method::DELETE,
            &format!("/trader/v1/accounts/{h}/orders/{id}"),
            "",
            "",
        )
        .await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, ""));
    let pending = order(&c, &h, &id).await;
    assert_eq!(pending["status"], "PENDING_CANCEL");
    assert_order(&pending, "order_pending_cancel.json");
    let done = settled(&c, &h, &id, "CANCELED").await;
    assert_order(&done, "order_canceled.json");
    let again = c
        .send(
            Method::DELETE,
            &format!("/trader/v1/accounts/{h}/orders/{id}"),
            "",
            "",
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_fits(&again.json(), "error_400_cancel_filled.json");
    let unknown = c.get(&format!("/trader/v1/accounts/{h}/orders/999")).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_fits(&unknown.json(), "error_404_order.json");
}

#[tokio::test]
async fn replace_is_201_with_a_new_id_and_the_old_order_ends_replaced() {
    let c = schwab();
    let h = hash(&c).await;
    let mut body = equity("BUY", "SPY", 1, "LIMIT", Some("2.00"));
    body["duration"] = json!("GOOD_TILL_CANCEL");
    let old = created(&place(&c, &h, &body).await, &h);
    settled(&c, &h, &old, "WORKING").await;
    body["price"] = json!("2.50");
    body["orderLegCollection"][0]["quantity"] = json!(2);
    let r = c
        .send(
            Method::PUT,
            &format!("/trader/v1/accounts/{h}/orders/{old}"),
            "application/json",
            &body.to_string(),
        )
        .await;
    let new = created(&r, &h);
    assert_ne!(new, old);
    let replaced = order(&c, &h, &old).await;
    assert_eq!(replaced["status"], "REPLACED");
    assert_order(&replaced, "order_replaced_old.json");
    assert_eq!(
        replaced["replacingOrderCollection"][0]["orderId"].to_string(),
        new
    );
    let n = settled(&c, &h, &new, "WORKING").await;
    assert_order(&n, "order_replacement_working.json");
    assert_eq!(
        (n["price"].clone(), n["quantity"].clone()),
        (json!(2.5), json!(2.0))
    );
    // What a replace cannot do is refused, loudly.
    body["orderLegCollection"][0]["instrument"]["symbol"] = json!("AAPL");
    let r = c
        .send(
            Method::PUT,
            &format!("/trader/v1/accounts/{h}/orders/{new}"),
            "application/json",
            &body.to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("not simulated by raxx-sim"), "{}", r.text);
    let r = c
        .send(
            Method::PUT,
            &format!("/trader/v1/accounts/{h}/orders/{old}"),
            "application/json",
            &body.to_string(),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "a replaced order is final: {}",
        r.text
    );
}

#[tokio::test]
async fn lists_need_a_window_and_filter_by_status() {
    let c = schwab();
    let h = hash(&c).await;
    let filled = created(
        &place(&c, &h, &equity("BUY", "IWM", 1, "MARKET", None)).await,
        &h,
    );
    settled(&c, &h, &filled, "FILLED").await;
    let resting = created(
        &place(&c, &h, &equity("BUY", "IWM", 1, "LIMIT", Some("1"))).await,
        &h,
    );
    settled(&c, &h, &resting, "WORKING").await;
    let window = "fromEnteredTime=2026-01-04T00:00:00.000Z&toEnteredTime=2026-01-06T00:00:00Z";
    let all = c
        .get(&format!("/trader/v1/accounts/{h}/orders?{window}"))
        .await
        .json();
    assert_fits(&all, "orders_list.json");
    let ids: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["orderId"].to_string())
        .collect();
    assert_eq!(ids, [resting.clone(), filled.clone()], "newest first");
    let only = c
        .get(&format!(
            "/trader/v1/accounts/{h}/orders?{window}&status=FILLED"
        ))
        .await
        .json();
    assert_eq!(only.as_array().unwrap().len(), 1);
    let one = c
        .get(&format!(
            "/trader/v1/accounts/{h}/orders?{window}&maxResults=1"
        ))
        .await
        .json();
    assert_eq!(one[0]["orderId"].to_string(), resting);
    let every = c.get(&format!("/trader/v1/orders?{window}")).await.json();
    assert_eq!(every.as_array().unwrap().len(), 2);
    let before = "fromEnteredTime=2025-01-01T00:00:00Z&toEnteredTime=2025-01-02T00:00:00Z";
    assert_eq!(
        c.get(&format!("/trader/v1/accounts/{h}/orders?{before}"))
            .await
            .json(),
        fixture("orders_list_empty.json")
    );
    let r = c.get(&format!("/trader/v1/accounts/{h}/orders")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_fits(&r.json(), "error_400_missing_dates.json");
    for bad in [
        "fromEnteredTime=yesterday&toEnteredTime=2026-01-06T00:00:00Z",
        "fromEnteredTime=2026-01-06T00:00:00Z&toEnteredTime=2026-01-04T00:00:00Z",
        "fromEnteredTime=2024-01-01T00:00:00Z&toEnteredTime=2026-01-06T00:00:00Z",
        "fromEnteredTime=2026-01-04T00:00:00Z&toEnteredTime=2026-01-06T00:00:00Z&maxResults=-1",
    ] {
        let r = c
            .get(&format!("/trader/v1/accounts/{h}/orders?{bad}"))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
    }
    // The all-accounts list reaches 60 days back only (§8.6).
    let far = "fromEnteredTime=2025-10-01T00:00:00Z&toEnteredTime=2026-01-06T00:00:00Z";
    assert_eq!(
        c.get(&format!("/trader/v1/orders?{far}")).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn refusals_are_400_service_errors_and_nothing_panics() {
    let c = schwab();
    let h = hash(&c).await;
    let mut body = equity("BUY", "AAPL", 1, "LIMIT", Some("1.00"));
    body["requestedDestination"] = json!("AUTO");
    let r = place(&c, &h, &body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_fits(&r.json(), "error_400_requested_destination.json");
    let mut gtc_market = equity("BUY", "AAPL", 1, "MARKET", None);
    gtc_market["duration"] = json!("GOOD_TILL_CANCEL");
    assert_eq!(
        place(&c, &h, &gtc_market).await.json(),
        fixture("error_400_invalid_order.json")
    );
    let r = place(&c, &h, &equity("BUY", "AAPL", 100_000, "MARKET", None)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_fits(&r.json(), "error_400_buying_power.json");
    assert!(r.text.contains("Account_Sys_0005"));
    let r = place(&c, &h, &equity("SELL", "AAPL", 1, "MARKET", None)).await;
    assert!(
        r.text.contains("Position_Sys_0001"),
        "selling what is not held: {}",
        r.text
    );
    assert_fits(&r.json(), "error_400_oversold.json");
    let r = place(&c, &h, &equity("BUY", "ZZZZQ", 1, "MARKET", None)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Not simulated: said so.
    let mut trailing = equity("BUY", "AAPL", 1, "TRAILING_STOP", None);
    trailing["stopPriceOffset"] = json!(1);
    assert!(place(&c, &h, &trailing)
        .await
        .text
        .contains("not simulated by raxx-sim"));
    let oco = json!({"orderStrategyType": "OCO", "childOrderStrategies": []});
    assert!(place(&c, &h, &oco)
        .await
        .text
        .contains("not simulated by raxx-sim"));
    // Hostile bodies: always an answer, never a panic.
    for hostile in [
        "",
        "{",
        "[]",
        "null",
        r#"{"orderStrategyType":"SINGLE"}"#,
        r#"{"session":"NORMAL","duration":"DAY","orderType":"LIMIT","price":"1e999999","orderStrategyType":"SINGLE","orderLegCollection":[{"instruction":"BUY","quantity":1,"instrument":{"assetType":"EQUITY","symbol":"AAPL"}}]}"#,
        r#"{"session":"NORMAL","duration":"DAY","orderType":"MARKET","orderStrategyType":"SINGLE","orderLegCollection":[{"instruction":"BUY","quantity":79228162514264337593543950335,"instrument":{"assetType":"EQUITY","symbol":"AAPL"}}]}"#,
        r#"{"session":"NORMAL","duration":"DAY","orderType":"MARKET","orderStrategyType":"SINGLE","orderLegCollection":[{"instruction":"BUY","quantity":1,"instrument":{"assetType":"OPTION","symbol":"AAPL  99999999999999"}}]}"#,
    ] {
        let r = c
            .post_json(&format!("/trader/v1/accounts/{h}/orders"), hostile)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{hostile}: {}", r.text);
        assert!(r.json()["message"].is_string());
    }
    let r = c.get(&format!("/trader/v1/accounts/{h}/orders/abc")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c.get("/trader/v2/accounts").await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (
            StatusCode::NOT_FOUND,
            "404 Not Found: Requested route ('/trader/v2/accounts') does not exist."
        )
    );
}

#[tokio::test]
async fn bearer_tokens_are_checked() {
    let mut c = schwab();
    c.headers = vec![("Authorization".into(), "Bearer I0.not-a-token".into())];
    let r = c.get("/trader/v1/accounts/accountNumbers").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_fits(&r.json(), "error_401.json");
    c.headers.clear();
    assert_eq!(
        c.get("/trader/v1/userPreference").await.status,
        StatusCode::UNAUTHORIZED
    );
}

fn basic(c: &Client) -> (String, String) {
    let b = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        c.credential("app_key"),
        c.credential("app_secret")
    ));
    ("Authorization".into(), format!("Basic {b}"))
}

async fn token(c: &Client, form: &str) -> Reply {
    let mut t = Client {
        router: c.router.clone(),
        shared: c.shared.clone(),
        control_token: c.control_token.clone(),
        headers: vec![basic(c)],
    };
    t.headers.push(("Accept".into(), "application/json".into()));
    t.send(Method::POST, "/v1/oauth/token", FORM, form).await
}

#[tokio::test]
async fn refresh_grants_a_new_access_token_until_the_week_is_over() {
    let c = schwab();
    let refresh = c.credential("refresh_token");
    let r = token(
        &c,
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let g = r.json();
    assert_fits(&g, "token_response.json");
    assert_has(
        &g,
        &[
            "expires_in",
            "token_type",
            "scope",
            "refresh_token",
            "access_token",
            "id_token",
        ],
    );
    assert_eq!(
        (g["expires_in"].clone(), g["refresh_token"].as_str()),
        (json!(1800), Some(refresh.as_str()))
    );
    let fresh = Client {
        router: c.router.clone(),
        shared: c.shared.clone(),
        control_token: c.control_token.clone(),
        headers: vec![(
            "Authorization".into(),
            format!("Bearer {}", g["access_token"].as_str().unwrap()),
        )],
    };
    assert_eq!(
        fresh.get("/trader/v1/accounts/accountNumbers").await.status,
        StatusCode::OK
    );
    // Access tokens live 30 minutes.
    advance(&c, 1_800_000).await;
    assert_eq!(
        c.get("/trader/v1/accounts/accountNumbers").await.status,
        StatusCode::UNAUTHORIZED
    );
    // The refresh token dies 7 days after the authorization, refreshes or not.
    advance(&c, 7 * 86_400_000).await;
    let r = token(
        &c,
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_fits(&r.json(), "token_error_refresh.json");
    assert_eq!(r.json()["error"], "unsupported_token_type");
    assert!(c.shared.lock().ledger().authorization_revoked);
}

#[tokio::test]
async fn the_authorization_code_is_exchanged_once_and_checks_the_app() {
    let c = schwab();
    let code = c.credential("authorization_code");
    let callback = c.credential("callback_url");
    let form = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", &callback),
        ("client_id", &c.credential("app_key")),
    ])
    .unwrap();
    let wrong = form.replace("8182", "9999");
    assert_eq!(token(&c, &wrong).await.json()["error"], "invalid_request");
    let r = token(&c, &form).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_ne!(
        r.json()["refresh_token"].as_str(),
        Some(c.credential("refresh_token").as_str())
    );
    let again = token(&c, &form).await;
    assert_eq!(
        (again.status, again.json()["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_grant"))
    );
    let mut stranger = Client {
        router: c.router.clone(),
        shared: c.shared.clone(),
        control_token: c.control_token.clone(),
        headers: vec![("Authorization".into(), "Basic AAAA".into())],
    };
    stranger
        .headers
        .push(("Accept".into(), "application/json".into()));
    let r = stranger
        .send(Method::POST, "/v1/oauth/token", FORM, &form)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_fits(&r.json(), "token_error_invalid_client.json");
    assert_eq!(
        token(&c, "grant_type=password").await.json()["error"],
        "unsupported_grant_type"
    );
}

#[tokio::test]
async fn preview_answers_200_even_for_a_rejection() {
    let c = schwab();
    let h = hash(&c).await;
    let r = c
        .post_json(
            &format!("/trader/v1/accounts/{h}/previewOrder"),
            &equity("BUY", "MSFT", 2, "LIMIT", Some("1.00")).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_fits(&r.json(), "preview_order.json");
    assert_eq!(r.json()["orderStrategy"]["status"], "ACCEPTED");
    let r = c
        .post_json(
            &format!("/trader/v1/accounts/{h}/previewOrder"),
            &equity("BUY", "AAPL", 100_000, "MARKET", None).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let p = r.json();
    assert_eq!(p["orderStrategy"]["status"], "REJECTED");
    assert!(p["orderValidationResult"]["rejects"][0]["message"]
        .as_str()
        .unwrap()
        .contains("Account_Sys_0005"));
    let ledger = c.shared.lock().ledger();
    assert!(ledger.orders.is_empty(), "a preview places nothing");
}

#[tokio::test]
async fn options_triggers_and_partial_fills() {
    let c = schwab();
    let h = hash(&c).await;
    let mut option = equity("BUY_TO_OPEN", "AAPL  260116C00190000", 1, "MARKET", None);
    option["orderLegCollection"][0]["instrument"]["assetType"] = json!("OPTION");
    let id = created(&place(&c, &h, &option).await, &h);
    let done = settled(&c, &h, &id, "FILLED").await;
    assert_order(&done, "order_option_filled.json");
    assert_eq!(
        done["orderLegCollection"][0]["instrument"]["putCall"],
        "CALL"
    );
    let doc = c
        .get(&format!("/trader/v1/accounts/{h}?fields=positions"))
        .await
        .json();
    let p = &doc["securitiesAccount"]["positions"][0];
    assert_eq!(
        (
            p["instrument"]["underlyingSymbol"].clone(),
            p["instrument"]["optionMultiplier"].clone()
        ),
        (json!("AAPL"), json!(100))
    );

    let mut trigger = equity("BUY", "AAPL", 1, "LIMIT", Some("1.00"));
    trigger["orderStrategyType"] = json!("TRIGGER");
    let mut child = equity("SELL", "AAPL", 1, "LIMIT", Some("10000.00"));
    child["duration"] = json!("GOOD_TILL_CANCEL");
    trigger["childOrderStrategies"] = json!([child]);
    let parent = created(&place(&c, &h, &trigger).await, &h);
    let o = settled(&c, &h, &parent, "WORKING").await;
    assert_order(&o, "order_trigger_oto.json");
    assert_eq!(o["orderStrategyType"], "TRIGGER");
    assert_eq!(
        o["childOrderStrategies"][0]["status"],
        "AWAITING_PARENT_ORDER"
    );

    // Partial fills: WORKING with filledQuantity between 0 and the quantity (§8.8).
    let steer = c
        .post_json(
            "/_sim/steer",
            r#"{"fault": {"kind": "partial_fill", "units_per_event": 1}}"#,
        )
        .await;
    assert_eq!(steer.status, StatusCode::OK, "{}", steer.text);
    let id = created(
        &place(&c, &h, &equity("BUY", "NVDA", 4, "MARKET", None)).await,
        &h,
    );
    let mut partial = None;
    for _ in 0..200 {
        let o = order(&c, &h, &id).await;
        if o["status"] == "WORKING"
            && o["filledQuantity"]
                .as_f64()
                .is_some_and(|q| q > 0.0 && q < 4.0)
        {
            partial = Some(o);
            break;
        }
        advance(&c, 50).await;
    }
    let partial = partial.expect("a partly filled order");
    assert_order(&partial, "order_working_partially_filled.json");
    let done = settled(&c, &h, &id, "FILLED").await;
    let executions = done["orderActivityCollection"].as_array().unwrap();
    assert!(executions.len() >= 2, "{done:#}");
    let ids: Vec<u64> = executions
        .iter()
        .map(|a| a["activityId"].as_u64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
}

#[tokio::test]
async fn spreads_are_net_priced() {
    let c = schwab();
    let h = hash(&c).await;
    let spread = json!({"orderType": "NET_CREDIT", "session": "NORMAL", "price": "0.01", "duration": "DAY",
        "orderStrategyType": "SINGLE", "complexOrderStrategyType": "VERTICAL", "quantity": 1,
        "orderLegCollection": [
          {"instruction": "SELL_TO_OPEN", "instrument": {"assetType": "OPTION", "symbol": "AAPL  260116C00200000"}, "quantity": 1},
          {"instruction": "BUY_TO_OPEN", "instrument": {"assetType": "OPTION", "symbol": "AAPL  260116C00210000"}, "quantity": 1}]});
    let id = created(&place(&c, &h, &spread).await, &h);
    let o = order(&c, &h, &id).await;
    assert_order(&o, "order_vertical_working.json");
    assert_eq!(
        (
            o["orderType"].clone(),
            o["complexOrderStrategyType"].clone()
        ),
        (json!("NET_CREDIT"), json!("VERTICAL"))
    );
    settled(&c, &h, &id, "FILLED").await;
}

#[tokio::test]
async fn user_preference_is_an_object_naming_the_streamer() {
    let c = schwab();
    let p = c.get("/trader/v1/userPreference").await.json();
    assert_fits(&p, "user_preference.json");
    assert_eq!(p["accounts"][0]["accountNumber"], ACCT);
    assert!(p["streamerInfo"][0]["streamerSocketUrl"]
        .as_str()
        .unwrap()
        .starts_with("ws://"));
}

#[tokio::test]
async fn the_fault_layer_answers_in_schwab_words() {
    let plan = FaultPlan::from_toml("[[rules]]\noperations = [\"submit_order\"]\nfault = { kind = \"rate_limit\", retry_after_ms = 1500 }", "t").unwrap();
    let c = Client::authed("schwab", 7, plan);
    let h = hash(&c).await;
    let r = place(&c, &h, &equity("BUY", "AAPL", 1, "MARKET", None)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers["retry-after"], "2");
    assert_fits(&r.json(), "error_429.json");
    let down = FaultPlan::from_toml(
        "[[rules]]\noperations = [\"get_order\"]\nfault = { kind = \"outage\" }",
        "t",
    )
    .unwrap();
    let c = Client::authed("schwab", 7, down);
    let h = hash(&c).await;
    let r = c.get(&format!("/trader/v1/accounts/{h}/orders/1")).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.json()["message"].is_string());
    let expired =
        FaultPlan::from_toml("[[rules]]\nfault = { kind = \"token_expiry\" }", "t").unwrap();
    let c = Client::authed("schwab", 7, expired);
    assert_eq!(
        c.get("/trader/v1/accounts/accountNumbers").await.status,
        StatusCode::UNAUTHORIZED
    );
}

// ---------------------------------------------------------------- the streamer

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: SocketAddr) -> Ws {
    tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap()
        .0
}

async fn request(ws: &mut Ws, service: &str, command: &str, id: &str, parameters: Value) {
    let r = json!({"requests": [{"service": service, "command": command, "requestid": id,
        "SchwabClientCustomerId": "x", "SchwabClientCorrelId": "y", "parameters": parameters}]});
    ws.send(Message::Text(r.to_string().into())).await.unwrap();
}

async fn next(ws: &mut Ws) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(t.as_str()).unwrap(),
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) => return Value::Null,
            Ok(Some(Ok(_))) => continue,
            other => panic!("no frame: {other:?}"),
        }
    }
}

/// The next frame that is not a heartbeat.
async fn next_news(ws: &mut Ws) -> Value {
    loop {
        let f = next(ws).await;
        if f.get("notify").is_none() {
            return f;
        }
        assert_fits(&f, "stream_heartbeat.json");
    }
}

#[tokio::test]
async fn the_streamer_logs_in_subscribes_and_reports_account_activity() {
    let c = schwab();
    let addr = c.serve().await;
    let mut ws = connect(addr).await;
    request(
        &mut ws,
        "ACCT_ACTIVITY",
        "SUBS",
        "0",
        json!({"keys": "k", "fields": "0,1,2,3"}),
    )
    .await;
    assert_eq!(
        next(&mut ws).await["response"][0]["content"]["code"],
        20,
        "SUBS before LOGIN"
    );
    request(&mut ws, "ADMIN", "LOGIN", "1", json!({"Authorization": c.credential("access_token"), "SchwabClientChannel": "N9", "SchwabClientFunctionId": "APIAPP"})).await;
    let login = next(&mut ws).await;
    assert_fits(&login, "stream_login_response.json");
    assert_eq!(
        (
            login["response"][0]["requestid"].clone(),
            login["response"][0]["content"]["code"].clone()
        ),
        (json!("1"), json!(0))
    );
    // One logged-in connection per user (code 12).
    let mut second = connect(addr).await;
    request(
        &mut second,
        "ADMIN",
        "LOGIN",
        "0",
        json!({"Authorization": c.credential("access_token")}),
    )
    .await;
    assert_eq!(
        next(&mut second).await["response"][0]["content"]["code"],
        12
    );
    request(
        &mut ws,
        "ACCT_ACTIVITY",
        "SUBS",
        "2",
        json!({"keys": "corr", "fields": "0,1,2,3"}),
    )
    .await;
    let ack = next(&mut ws).await;
    assert_fits(&ack, "stream_subs_response.json");
    let first = next_news(&mut ws).await;
    assert_fits(&first, "stream_acct_activity_subscribed.json");
    assert_eq!(
        (
            first["data"][0]["content"][0]["seq"].clone(),
            first["data"][0]["content"][0]["2"].clone()
        ),
        (json!(0), json!("SUBSCRIBED"))
    );
    request(
        &mut ws,
        "ACCT_ACTIVITY",
        "ADD",
        "3",
        json!({"keys": "corr"}),
    )
    .await;
    assert_eq!(
        next_news(&mut ws).await["response"][0]["content"]["code"],
        24
    );
    request(
        &mut ws,
        "LEVELONE_EQUITIES",
        "SUBS",
        "4",
        json!({"keys": "AAPL"}),
    )
    .await;
    assert_eq!(
        next_news(&mut ws).await["response"][0]["content"]["code"],
        11
    );

    let h = hash(&c).await;
    let id = created(
        &place(&c, &h, &equity("BUY", "AAPL", 2, "MARKET", None)).await,
        &h,
    );
    let mut types = Vec::new();
    while !types.contains(&"OrderFillCompleted".to_string()) {
        advance(&c, 100).await;
        let f = next_news(&mut ws).await;
        assert_fits(&f, "stream_acct_activity_order_created.json");
        for m in f["data"][0]["content"].as_array().unwrap() {
            let data: Value = serde_json::from_str(m["3"].as_str().unwrap()).unwrap();
            assert_eq!(data["SchwabOrderID"], id.as_str());
            assert_eq!(data["BaseEvent"]["EventType"], m["2"]);
            types.push(m["2"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(
        types,
        ["OrderCreated", "OrderAccepted", "OrderFillCompleted"]
    );
}

#[tokio::test]
async fn a_bad_login_is_code_3_and_ends_the_connection() {
    let c = schwab();
    let addr = c.serve().await;
    let mut ws = connect(addr).await;
    request(
        &mut ws,
        "ADMIN",
        "LOGIN",
        "0",
        json!({"Authorization": "I0.nope"}),
    )
    .await;
    let denied = next(&mut ws).await;
    assert_fits(&denied, "stream_login_denied.json");
    assert_eq!(denied["response"][0]["content"]["code"], 3);
    assert_eq!(next(&mut ws).await, Value::Null);
}
