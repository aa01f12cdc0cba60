//! The SnapTrade face answered as SnapTrade answers
//! (../shared/reference/brokers/snaptrade.md): signed requests on either
//! path generation, the user's credentials, orders that answer their first
//! state, brokerages behind it with their own capabilities and health, a
//! broken connection that still reads, and holdings that say their age.

mod common;

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use broker_models::faults::FaultPlan;
use common::{Client, Reply};
use hmac::{Hmac, Mac};
use mbt::Timestamp;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sha2::Sha256;

const ETRADE: &str = "69b5ea70-a5cb-5829-a957-94d639cd90a9";
const FIDELITY: &str = "08968ef5-78b2-5524-a07b-646e0a5a96d0";
const IBKR: &str = "94d3daff-e1c7-5a1d-8ff0-f78b74ebf08a";
const ROBINHOOD: &str = "80e70a84-ccc0-5043-b985-a1697aa4553f";

/// A client that signs as SDK 13 does: root path, raw query, sorted compact JSON.
struct Signer {
    c: Client,
    prefix: &'static str,
}

impl Signer {
    fn new(plan: FaultPlan) -> Self {
        Self {
            c: Client::new("snaptrade", 7, plan),
            prefix: "",
        }
    }

    fn query(&self, params: &str) -> String {
        let user = format!(
            "userId={}&userSecret={}",
            self.c.credential("user_id"),
            self.c.credential("user_secret")
        );
        let own = if params.is_empty() {
            String::new()
        } else {
            format!("&{params}")
        };
        format!(
            "{user}{own}&clientId={}&timestamp=1767625200",
            self.c.credential("client_id")
        )
    }

    fn signature(&self, path: &str, query: &str, body: &Value) -> String {
        let content = match body {
            Value::Object(m) if m.is_empty() => Value::Null,
            other => other.clone(),
        };
        let text = json!({ "content": content, "path": path, "query": query }).to_string();
        let mut mac = Hmac::<Sha256>::new_from_slice(self.c.credential("consumer_key").as_bytes())
            .expect("any key");
        mac.update(text.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    async fn call(&self, method: Method, path: &str, params: &str, body: Option<Value>) -> Reply {
        self.signed(method, path, self.query(params), body).await
    }

    /// A partner-level call (no user in the query), or a user's of our own making.
    async fn partner(
        &self,
        method: Method,
        path: &str,
        params: &str,
        body: Option<Value>,
    ) -> Reply {
        let own = if params.is_empty() {
            String::new()
        } else {
            format!("{params}&")
        };
        let query = format!(
            "{own}clientId={}&timestamp=1767625200",
            self.c.credential("client_id")
        );
        self.signed(method, path, query, body).await
    }

    async fn signed(
        &self,
        method: Method,
        path: &str,
        query: String,
        body: Option<Value>,
    ) -> Reply {
        let body_value = body.clone().unwrap_or(Value::Null);
        let sig = self.signature(path, &query, &body_value);
        let mut c = Client {
            router: self.c.router.clone(),
            shared: self.c.shared.clone(),
            headers: vec![("Signature".into(), sig)],
            control_token: self.c.control_token.clone(),
        };
        c.headers.push(("Accept".into(), "application/json".into()));
        let uri = format!("{}{path}?{query}", self.prefix);
        let text = body.map(|b| b.to_string()).unwrap_or_default();
        c.send(method, &uri, "application/json", &text).await
    }

    async fn get(&self, path: &str, params: &str) -> Reply {
        self.call(Method::GET, path, params, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, "", Some(body)).await
    }

    async fn control(&self, path: &str, body: Value) -> Reply {
        self.c.post_json(path, &body.to_string()).await
    }

    /// Webhooks go to the partner's test URL from now on.
    async fn listen(&self) {
        let r = self
            .c
            .send(
                Method::PUT,
                "/_sim/webhooks",
                "application/json",
                r#"{"url": "http://partner.test/hooks"}"#,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }

    async fn register(&self, body: Value) -> Reply {
        self.partner(Method::POST, "/snapTrade/registerUser", "", Some(body))
            .await
    }

    async fn advance(&self, ms: i64) {
        let r = self.control("/_sim/advance", json!({ "ms": ms })).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }

    async fn place(&self, account: &str, extra: Value) -> Reply {
        let mut body = json!({
            "account_id": account,
            "action": "BUY",
            "order_type": "Market",
            "time_in_force": "Day",
            "symbol": "AAPL",
            "units": 2.0,
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        self.post("/trade/place", body).await
    }
}

fn iso(t: mbt::Timestamp) -> String {
    t.to_datetime().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The model's clock runs on while a request is served: an answer's time
/// lies between the clock's readings around it.
#[track_caller]
fn between(got: &Value, from: mbt::Timestamp, to: mbt::Timestamp) {
    let got = got.as_str().unwrap_or_default();
    assert!(
        iso(from).as_str() <= got && got <= iso(to).as_str(),
        "{got} is not between {} and {}",
        iso(from),
        iso(to)
    );
}

#[track_caller]
fn refused(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    let b = r.json();
    assert_eq!(b["code"], code, "{b}");
    assert_eq!(b["status_code"], status, "{b}");
    assert!(b["detail"].as_str().is_some_and(|d| !d.is_empty()), "{b}");
}

#[tokio::test]
async fn requests_are_signed_and_made_for_the_user() {
    let s = Signer::new(FaultPlan::default());
    let ok = s.get("/accounts", "").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.json().as_array().map(Vec::len), Some(4));
    // The window's reset is a wait in seconds (SDK 13: "wait for the
    // `*-Reset` value"), not a time.
    let header = |name: &str| ok.headers[name].to_str().unwrap().to_string();
    assert_eq!(header("x-ratelimit-limit"), "250");
    assert_eq!(header("x-ratelimit-remaining"), "249");
    assert_eq!(header("x-ratelimit-reset"), "60");
    // The status check alone is unsigned.
    let status = s.c.get("/").await;
    assert_eq!(status.json()["online"], true);
    // No signature, a wrong one, another client, another user.
    let q = s.query("");
    refused(&s.c.get(&format!("/accounts?{q}")).await, 401, "1076");
    let mut forged = Signer::new(FaultPlan::default());
    forged.prefix = "";
    let sig = s.signature("/accounts", &q, &Value::Null);
    let other_query = q.replace("timestamp=1767625200", "timestamp=1767625201");
    let mut c = Client::new("snaptrade", 7, FaultPlan::default());
    c.headers = vec![("Signature".into(), sig)];
    refused(
        &c.get(&format!("/accounts?{other_query}")).await,
        401,
        "1076",
    );
    let wrong_user = q.replace(
        &s.c.credential("user_secret"),
        "00000000-0000-4000-8000-000000000000",
    );
    let sig = s.signature("/accounts", &wrong_user, &Value::Null);
    c.headers = vec![("Signature".into(), sig)];
    refused(
        &c.get(&format!("/accounts?{wrong_user}")).await,
        401,
        "1083",
    );
}

#[tokio::test]
async fn all_accounts_are_the_accounts_kind_discriminated() {
    let s = Signer::new(FaultPlan::default());
    let all = s.get("/accounts/all", "").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    let all = all.json();
    let accounts = s.get("/accounts", "").await.json();
    let results = all["results"].as_array().expect("results");
    assert_eq!(results.len(), 4, "{all}");
    for (a, old) in results.iter().zip(accounts.as_array().unwrap()) {
        assert_eq!(a["kind"], "investment");
        assert_eq!(a["id"], old["id"]);
        assert_eq!(a["connection_id"], old["brokerage_authorization"]);
        let number = old["number"].as_str().unwrap();
        assert_eq!(
            a["masked_account_number"],
            format!("****{}", &number[number.len() - 4..])
        );
        assert_eq!(a["net_value"]["amount"], old["balance"]["total"]["amount"]);
    }
    assert_eq!(results[0]["cash_or_margin"], "margin");
    assert_eq!(results[1]["cash_or_margin"], "cash");
}

#[tokio::test]
async fn the_legacy_prefix_serves_the_same_operations_signed_over_either_path() {
    let mut s = Signer::new(FaultPlan::default());
    s.prefix = "/api/v1";
    // SDK 13 pointed at /api/v1 signs the root path.
    let r = s.get("/accounts", "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // SDK 11 signs /api/v1 + path whatever the host: sent to the root.
    s.prefix = "";
    let q = s.query("");
    let sig = s.signature("/api/v1/accounts", &q, &Value::Null);
    let mut c = Client::new("snaptrade", 7, FaultPlan::default());
    c.headers = vec![("Signature".into(), sig)];
    let r = c.get(&format!("/accounts?{q}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn a_place_answers_the_first_state_and_fills_later() {
    let s = Signer::new(FaultPlan::default());
    let r = s.place(ETRADE, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let o = r.json();
    assert_eq!(o["status"], "PENDING", "{o}");
    assert_eq!(o["filled_quantity"], "0");
    assert_eq!(o["total_quantity"], "2");
    assert_eq!(o["order_type"], "Market");
    assert_eq!(o["action"], "BUY");
    assert!(o["universal_symbol"]["id"]
        .as_str()
        .is_some_and(|id| id.len() == 36));
    let id = o["brokerage_order_id"].as_str().unwrap().to_string();
    s.advance(5_000).await;
    let d = s
        .post(
            &format!("/accounts/{ETRADE}/orders/details"),
            json!({ "brokerage_order_id": id }),
        )
        .await
        .json();
    assert_eq!(d["status"], "EXECUTED", "{d}");
    assert_eq!(d["filled_quantity"], "2");
    assert!(d["execution_price"].as_str().is_some());
    let before = s.c.shared.lock().now();
    let p = s
        .get(&format!("/accounts/{ETRADE}/positions/all"), "")
        .await
        .json();
    let after = s.c.shared.lock().now();
    assert_eq!(p["results"][0]["units"], "2", "{p}");
    assert_eq!(p["results"][0]["instrument"]["symbol"], "AAPL");
    // The average price per share, like `price` (SDK 13, spec): one fill's price.
    assert_eq!(p["results"][0]["cost_basis"], d["execution_price"], "{p}");
    between(&p["data_freshness"]["as_of"], before, after);
    // Legacy positions carry JSON numbers.
    let legacy = s
        .get(&format!("/accounts/{ETRADE}/positions"), "")
        .await
        .json();
    assert_eq!(legacy[0]["units"], json!(2.0));
    let recent = s
        .get(
            &format!("/accounts/{ETRADE}/recentOrders"),
            "only_executed=false",
        )
        .await
        .json();
    assert_eq!(recent["orders"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn cancel_lands_shortly_after_and_a_second_is_refused() {
    let s = Signer::new(FaultPlan::default());
    let o = s
        .place(
            ETRADE,
            json!({ "order_type": "Limit", "price": 1.0, "time_in_force": "GTC" }),
        )
        .await
        .json();
    let id = o["brokerage_order_id"].as_str().unwrap().to_string();
    s.advance(1_000).await;
    let path = format!("/accounts/{ETRADE}/trading/cancel");
    let c = s.post(&path, json!({ "brokerage_order_id": id })).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    assert_eq!(c.json()["brokerage_order_id"], id.as_str());
    s.advance(1_000).await;
    let again = s.post(&path, json!({ "brokerage_order_id": id })).await;
    refused(&again, 400, "1076");
    let unknown = s.post(&path, json!({ "brokerage_order_id": "999" })).await;
    refused(&unknown, 404, "1011");
}

#[tokio::test]
async fn the_experimental_v2_endpoints_list_each_order_with_its_legs() {
    let s = Signer::new(FaultPlan::default());
    let bought = s.place(ETRADE, json!({ "units": 2.0 })).await.json();
    let bought = bought["brokerage_order_id"].as_str().unwrap().to_string();
    let detail = |id: String| {
        let s = &s;
        async move {
            s.get(&format!("/accounts/{ETRADE}/orders/details/v2/{id}"), "")
                .await
        }
    };
    // The place answers the brokerage's first state: the leg is pending too.
    let first = detail(bought.clone()).await.json();
    assert_eq!(first["status"], "PENDING", "{first}");
    assert_eq!(first["legs"][0]["status"], "PENDING", "{first}");
    s.advance(5_000).await;
    let o = detail(bought.clone()).await.json();
    assert_eq!(o["brokerage_order_id"], bought.as_str(), "{o}");
    assert_eq!(o["status"], "EXECUTED", "{o}");
    assert_eq!(o["order_type"], "MARKET");
    assert_eq!(o["time_in_force"], "DAY");
    assert_eq!(o["price_effect"], "DEBIT");
    assert_eq!(o["price_currency"], "USD");
    let legs = o["legs"].as_array().unwrap();
    assert_eq!(legs.len(), 1, "{o}");
    let leg = &legs[0];
    assert_eq!(leg["instrument"]["symbol"], "AAPL");
    assert_eq!(leg["instrument"]["asset_type"], "EQUITY");
    assert_eq!(leg["action"], "BUY");
    assert_eq!(leg["status"], "EXECUTED");
    assert_eq!(leg["filled_quantity"], "2");
    assert_eq!(leg["total_quantity"], "2");
    assert_eq!(leg["execution_price"], o["execution_price"]);
    // The v1 record of the same order agrees.
    let v1 = s
        .post(
            &format!("/accounts/{ETRADE}/orders/details"),
            json!({ "brokerage_order_id": bought }),
        )
        .await
        .json();
    assert_eq!(v1["execution_price"], o["execution_price"]);
    assert_eq!(v1["time_placed"], o["time_placed"]);

    // A sell limit nobody takes, canceled: a credit, its leg canceled.
    let resting = s
        .place(
            ETRADE,
            json!({ "action": "SELL", "order_type": "Limit", "price": 100000.0, "time_in_force": "GTC" }),
        )
        .await
        .json();
    let resting = resting["brokerage_order_id"].as_str().unwrap().to_string();
    s.advance(1_000).await;
    let path = format!("/accounts/{ETRADE}/trading/cancel");
    let c = s
        .post(&path, json!({ "brokerage_order_id": resting }))
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    s.advance(1_000).await;
    let all = s.get(&format!("/accounts/{ETRADE}/orders/v2"), "").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    let all = all.json();
    let ids: Vec<&str> = all["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["brokerage_order_id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [resting.as_str(), bought.as_str()],
        "newest first: {all}"
    );
    let canceled = &all["orders"][0];
    assert_eq!(canceled["status"], "CANCELED", "{canceled}");
    assert_eq!(canceled["order_type"], "LIMIT");
    assert_eq!(canceled["time_in_force"], "GTC");
    assert_eq!(canceled["price_effect"], "CREDIT");
    assert_eq!(canceled["limit_price"], "100000");
    assert_eq!(canceled["legs"][0]["status"], "CANCELED");
    assert_eq!(canceled["legs"][0]["canceled_quantity"], "2");
    // The filters are v1's: only the executed one, and the last day's.
    let executed = s
        .get(&format!("/accounts/{ETRADE}/orders/v2"), "state=executed")
        .await
        .json();
    assert_eq!(executed["orders"].as_array().map(Vec::len), Some(1));
    let recent = s
        .get(&format!("/accounts/{ETRADE}/recentOrders/v2"), "")
        .await
        .json();
    assert_eq!(recent["orders"][0]["brokerage_order_id"], bought.as_str());
    assert_eq!(recent["orders"].as_array().map(Vec::len), Some(1));
    refused(&detail("999".into()).await, 404, "1011");
}

#[tokio::test]
async fn a_working_order_is_replaced_under_a_new_id_all_or_nothing() {
    let s = Signer::new(FaultPlan::default());
    let o = s
        .place(
            ETRADE,
            json!({ "order_type": "Limit", "price": 1.0, "time_in_force": "GTC" }),
        )
        .await
        .json();
    let id = o["brokerage_order_id"].as_str().unwrap().to_string();
    s.advance(1_000).await;
    let path = format!("/accounts/{ETRADE}/trading/replace");
    let form = |extra: Value| {
        let mut f = json!({ "brokerage_order_id": id, "action": "BUY", "order_type": "Limit",
                            "time_in_force": "GTC", "price": 1.5, "units": 3 });
        if let (Value::Object(f), Value::Object(e)) = (&mut f, extra) {
            f.extend(e);
        }
        f
    };
    let bp = || s.c.shared.lock().account(ETRADE).unwrap().buying_power;
    let held = bp();
    // Refused whole: nothing of the order or its hold changes.
    for (extra, status, code) in [
        (json!({ "price": "1e28", "units": "1e6" }), 400, "1076"),
        (json!({ "action": "SELL" }), 400, "1076"),
        (json!({ "symbol": "MSFT" }), 400, "1076"),
        (json!({ "order_type": "Stop" }), 400, "1076"),
        (json!({ "units": 0 }), 400, "1076"),
        (json!({ "time_in_force": "GTD" }), 400, "1076"),
        (json!({ "brokerage_order_id": "999" }), 404, "1011"),
    ] {
        refused(&s.post(&path, form(extra.clone())).await, status, code);
        assert_eq!(bp(), held, "{extra}");
        let d = s
            .post(
                &format!("/accounts/{ETRADE}/orders/details"),
                json!({ "brokerage_order_id": id }),
            )
            .await
            .json();
        assert_eq!(
            (d["status"].as_str(), d["limit_price"].as_str()),
            (Some("ACCEPTED"), Some("1"))
        );
    }
    let r = s.post(&path, form(json!({}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let n = r.json();
    let new_id = n["brokerage_order_id"].as_str().unwrap().to_string();
    assert_ne!(new_id, id);
    assert_eq!(n["limit_price"], "1.5");
    assert_eq!(n["total_quantity"], "3");
    assert_eq!(n["time_in_force"], "GTC");
    assert_eq!(n["filled_quantity"], "0");
    assert_ne!(n["status"], "EXECUTED");
    let old = s
        .post(
            &format!("/accounts/{ETRADE}/orders/details"),
            json!({ "brokerage_order_id": id }),
        )
        .await
        .json();
    assert_eq!(old["status"], "REPLACED", "{old}");
    assert!(
        bp() < held,
        "the replacement holds more: 3 x 1.5 against 2 x 1"
    );
    // An order that ended cannot be replaced.
    refused(&s.post(&path, form(json!({}))).await, 400, "1076");
    // Nor can one at a brokerage SnapTrade only reads.
    let ro = format!("/accounts/{FIDELITY}/trading/replace");
    refused(&s.post(&ro, form(json!({}))).await, 403, "1066");
    let attempts = s.c.shared.lock().ledger().order_attempts;
    assert_eq!(attempts.len(), 1, "{attempts:?}");
}

#[tokio::test]
async fn a_read_only_brokerage_refuses_orders_and_takes_none() {
    let s = Signer::new(FaultPlan::default());
    refused(&s.place(FIDELITY, json!({})).await, 403, "1066");
    let legacy = s
        .post(
            "/api/v1/trade/place",
            json!({ "account_id": FIDELITY, "action": "BUY", "order_type": "Market",
                    "time_in_force": "Day", "symbol": "AAPL", "units": 1 }),
        )
        .await;
    refused(&legacy, 403, "1066");
    let ledger = s.c.shared.lock().ledger();
    assert!(ledger.orders.is_empty(), "{:?}", ledger.orders);
    // Each attempt is recorded where it was made.
    let paths: Vec<&str> = ledger
        .order_attempts
        .iter()
        .map(|a| a.path.as_str())
        .collect();
    assert_eq!(paths, ["/trade/place", "/api/v1/trade/place"]);
    // Shapes the model cannot carry out are refused loudly.
    refused(
        &s.place(ETRADE, json!({ "notional_value": 100 })).await,
        400,
        "1076",
    );
    refused(
        &s.place(ETRADE, json!({ "order_type": "Limit" })).await,
        400,
        "1076",
    );
}

impl Signer {
    /// The universal symbol id of `ticker`, as symbol search answers it.
    async fn symbol_id(&self, account: &str, ticker: &str) -> String {
        let r = self
            .post(
                &format!("/accounts/{account}/symbols"),
                json!({ "substring": ticker }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let found = r.json();
        assert_eq!(found[0]["symbol"], ticker, "{found}");
        found[0]["id"].as_str().unwrap().to_string()
    }

    async fn impact(&self, account: &str, extra: Value) -> Reply {
        let mut body = json!({
            "account_id": account,
            "action": "BUY",
            "order_type": "Limit",
            "time_in_force": "Day",
            "universal_symbol_id": self.symbol_id(ETRADE, "AAPL").await,
            "price": 150.0,
            "units": 3,
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        self.post("/trade/impact", body).await
    }
}

#[tokio::test]
async fn symbol_search_finds_what_the_brokerage_trades() {
    let s = Signer::new(FaultPlan::default());
    let path = format!("/accounts/{ETRADE}/symbols");
    let found = s.post(&path, json!({ "substring": "aa" })).await.json();
    let tickers: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["symbol"].as_str().unwrap())
        .collect();
    assert!(tickers.contains(&"AAPL"), "{found}");
    assert!(tickers.iter().all(|t| t.contains("AA")), "{found}");
    // An exact match comes first.
    let spy = s.post(&path, json!({ "substring": "SPY" })).await.json();
    assert_eq!(spy[0]["symbol"], "SPY", "{spy}");
    assert_eq!(spy[0]["currency"]["code"], "USD");
    // Derived from the ticker, so a seed's run (and the fuzz corpus's
    // `seed-checked-trade`) names the same security every time.
    assert_eq!(
        s.symbol_id(ETRADE, "AAPL").await,
        "17552efe-bbda-4bed-9487-57e376745783"
    );
    let none = s.post(&path, json!({ "substring": "ZZZZZZ" })).await.json();
    assert_eq!(none, json!([]));
    refused(&s.post(&path, json!({})).await, 400, "1076");
    // The holding's id and the search's are one.
    s.place(ETRADE, json!({})).await;
    s.advance(5_000).await;
    let p = s
        .get(&format!("/accounts/{ETRADE}/positions/all"), "")
        .await
        .json();
    assert_eq!(
        p["results"][0]["instrument"]["id"],
        s.symbol_id(ETRADE, "AAPL").await.as_str()
    );
}

#[tokio::test]
async fn a_checked_trade_is_placed_once_by_its_id() {
    let s = Signer::new(FaultPlan::default());
    let cash_before = s.c.shared.lock().account(ETRADE).unwrap().cash;
    let r = s.impact(ETRADE, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let i = r.json();
    let trade = &i["trade"];
    assert_eq!(trade["account"], ETRADE);
    assert_eq!(trade["action"], "BUY");
    assert_eq!(trade["order_type"], "Limit");
    assert_eq!(trade["time_in_force"], "Day");
    assert_eq!(trade["units"], json!(3.0));
    assert_eq!(trade["price"], json!(150.0));
    assert_eq!(trade["symbol"]["symbol"], "AAPL");
    assert_eq!(
        trade["symbol"]["universal_symbol_id"],
        s.symbol_id(ETRADE, "AAPL").await.as_str()
    );
    let id = trade["id"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    // What it would leave: 3 x 150 out of the cash (a buy pays no
    // regulatory fee), the same in the combined balance.
    let impact = &i["trade_impacts"][0];
    let left = cash_before - rust_decimal::Decimal::from(450);
    assert_eq!(
        impact["remaining_cash"].to_string(),
        format!("{}.0", left.normalize())
    );
    assert_eq!(impact["estimated_commission"], json!(0.0));
    assert_eq!(
        i["combined_remaining_balance"]["cash"],
        impact["remaining_cash"]
    );
    assert_eq!(i["combined_remaining_balance"]["account"]["id"], ETRADE);
    // Checking places nothing.
    assert!(s.c.shared.lock().ledger().orders.is_empty());

    let placed = s
        .post(&format!("/trade/{id}"), json!({ "wait_to_confirm": true }))
        .await;
    assert_eq!(placed.status, StatusCode::OK, "{}", placed.text);
    let o = placed.json();
    assert_eq!(o["status"], "PENDING", "{o}");
    assert_eq!(o["total_quantity"], "3");
    assert_eq!(o["limit_price"], "150");
    assert_eq!(s.c.shared.lock().ledger().orders.len(), 1);
    // Once only.
    refused(
        &s.post(&format!("/trade/{id}"), json!({})).await,
        400,
        "1076",
    );
    assert_eq!(s.c.shared.lock().ledger().orders.len(), 1);
    // A body must be the documented one when sent.
    let other = s.impact(ETRADE, json!({})).await.json()["trade"]["id"].clone();
    let other = other.as_str().unwrap();
    refused(
        &s.post(
            &format!("/trade/{other}"),
            json!({ "wait_to_confirm": "soon" }),
        )
        .await,
        400,
        "1076",
    );
    // The legacy prefix places by id too, and an unknown id is refused.
    let legacy = s.post(&format!("/api/v1/trade/{other}"), json!({})).await;
    assert_eq!(legacy.status, StatusCode::OK, "{}", legacy.text);
    refused(
        &s.post("/trade/139e307a-82f7-4402-b39e-4da7baa87758", json!({}))
            .await,
        400,
        "1076",
    );
}

#[tokio::test]
async fn a_checked_trade_expires_after_five_minutes_and_with_a_reset() {
    let s = Signer::new(FaultPlan::default());
    let id = |r: Reply| r.json()["trade"]["id"].as_str().unwrap().to_string();
    let late = id(s.impact(ETRADE, json!({})).await);
    let on_time = id(s.impact(ETRADE, json!({})).await);
    s.advance(299_000).await;
    let r = s.post(&format!("/trade/{on_time}"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    s.advance(2_000).await;
    refused(
        &s.post(&format!("/trade/{late}"), json!({})).await,
        400,
        "1076",
    );
    // A trade checked before a reset belongs to a brokerage day that is gone.
    let before = id(s.impact(ETRADE, json!({})).await);
    let r = s.control("/_sim/reset", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    refused(
        &s.post(&format!("/trade/{before}"), json!({})).await,
        400,
        "1076",
    );
    assert!(s.c.shared.lock().ledger().orders.is_empty());
}

#[tokio::test]
async fn an_impact_refuses_what_the_place_would() {
    let s = Signer::new(FaultPlan::default());
    // A brokerage SnapTrade only reads: refused, and no order attempted.
    refused(&s.impact(FIDELITY, json!({})).await, 403, "1066");
    assert!(s.c.shared.lock().ledger().order_attempts.is_empty());
    // More than the account can pay for, and a value past any decimal.
    let poor = s.impact(ETRADE, json!({ "units": 1_000_000 })).await;
    refused(&poor, 400, "1076");
    assert!(poor.text.contains("buying power"), "{}", poor.text);
    refused(
        &s.impact(ETRADE, json!({ "units": "1e20", "price": "1e20" }))
            .await,
        400,
        "1076",
    );
    // The form is ManualTradeForm: the security by id, BUY or SELL, no GTD.
    refused(
        &s.impact(
            ETRADE,
            json!({ "universal_symbol_id": null, "symbol": "AAPL" }),
        )
        .await,
        400,
        "1076",
    );
    refused(
        &s.impact(ETRADE, json!({ "universal_symbol_id": "not-a-uuid" }))
            .await,
        400,
        "1076",
    );
    refused(
        &s.impact(
            ETRADE,
            json!({ "universal_symbol_id": "139e307a-82f7-4402-b39e-4da7baa87758" }),
        )
        .await,
        400,
        "1076",
    );
    refused(
        &s.impact(ETRADE, json!({ "action": "BUY_TO_OPEN" })).await,
        400,
        "1076",
    );
    refused(
        &s.impact(ETRADE, json!({ "time_in_force": "GTD" })).await,
        400,
        "1076",
    );
    refused(
        &s.impact(ETRADE, json!({ "order_type": "Limit", "price": null }))
            .await,
        400,
        "1076",
    );
    // A broken connection cannot check, and a trade checked before the
    // break is still open once it is mended.
    let trade = s.impact(ETRADE, json!({})).await.json()["trade"]["id"].clone();
    let trade = trade.as_str().unwrap();
    let broken = |b: bool| json!({ "account": ETRADE, "broken": b });
    s.control("/_sim/connection", broken(true)).await;
    refused(&s.impact(ETRADE, json!({})).await, 402, "3003");
    refused(
        &s.post(&format!("/trade/{trade}"), json!({})).await,
        402,
        "3003",
    );
    s.control("/_sim/connection", broken(false)).await;
    let r = s.post(&format!("/trade/{trade}"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(s.c.shared.lock().ledger().order_attempts.is_empty());
}

#[tokio::test]
async fn trade_place_also_names_the_security_by_its_id() {
    let s = Signer::new(FaultPlan::default());
    let id = s.symbol_id(ETRADE, "AAPL").await;
    let r = s
        .place(ETRADE, json!({ "symbol": null, "universal_symbol_id": id }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["universal_symbol"]["symbol"], "AAPL");
    refused(
        &s.place(ETRADE, json!({ "universal_symbol_id": id })).await,
        400,
        "1076",
    );
}

#[tokio::test]
async fn a_broken_connection_reads_as_it_stood_and_refuses_orders() {
    let s = Signer::new(FaultPlan::default());
    s.place(ETRADE, json!({})).await;
    s.advance(5_000).await;
    let r = s
        .control(
            "/_sim/connection",
            json!({ "account": ETRADE, "broken": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let broke = s.c.shared.lock().ledger().connections[0]
        .broken_since
        .expect("broken");
    s.advance(60_000).await;
    refused(&s.place(ETRADE, json!({})).await, 402, "3003");
    let p = s
        .get(&format!("/accounts/{ETRADE}/positions/all"), "")
        .await
        .json();
    assert_eq!(p["results"][0]["units"], "2", "{p}");
    assert_eq!(p["data_freshness"]["as_of"], iso(broke));
    let conns = s.get("/authorizations", "").await.json();
    let disabled: Vec<bool> = conns
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["disabled"].as_bool().unwrap())
        .collect();
    assert_eq!(disabled, [true, false, false, false], "{conns}");
    // SDK 13's shape: an object, both keys required.
    assert_eq!(
        conns[0]["data_freshness_mode"],
        json!({ "institution": "realtime", "snaptrade": "realtime" })
    );
    let ledger = s.c.shared.lock().ledger();
    assert!(ledger.connections[0].broken_since.is_some());
    // Reconnected: orders go through again.
    s.control(
        "/_sim/connection",
        json!({ "account": ETRADE, "broken": false }),
    )
    .await;
    assert_eq!(s.place(ETRADE, json!({})).await.status, StatusCode::OK);
    // A connection a brokerage holds no account of its own cannot break.
    let r = s
        .control(
            "/_sim/connection",
            json!({ "account": "nope", "broken": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_outage_of_snaptrade_is_every_brokerage_s_and_one_brokerage_s_is_its_own() {
    let plan = |t: &str| FaultPlan::from_toml(t, "test").unwrap();
    let s = Signer::new(plan(
        "[[rules]]\nfault = { kind = \"downstream_outage\", brokerage = \"FIDELITY\" }\n",
    ));
    refused(
        &s.get(&format!("/accounts/{FIDELITY}/balances"), "").await,
        503,
        "3002",
    );
    let ok = s.get(&format!("/accounts/{ETRADE}/balances"), "").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.json()[0]["cash"], json!(100000.0));
    let s = Signer::new(plan(
        "[[rules]]\nfault = { kind = \"outage\", mode = \"status\" }\n",
    ));
    for account in [ETRADE, FIDELITY] {
        refused(
            &s.get(&format!("/accounts/{account}/balances"), "").await,
            503,
            "1000",
        );
    }
    refused(&s.place(ETRADE, json!({})).await, 503, "1000");
}

#[tokio::test]
async fn a_stale_cache_reports_its_age_and_the_holdings_of_then() {
    let s = Signer::new(FaultPlan::default());
    s.place(ETRADE, json!({})).await;
    s.advance(3_600_000).await;
    s.place(ETRADE, json!({ "units": 3.0 })).await;
    s.advance(5_000).await;
    let fresh = s
        .get(&format!("/accounts/{ETRADE}/positions/all"), "")
        .await
        .json();
    assert_eq!(fresh["results"][0]["units"], "5", "{fresh}");
    s.c.shared.lock().set_fault_plan(
        FaultPlan::from_toml(
            "[[rules]]\nfault = { kind = \"stale_read\", age_ms = 1800000 }\n",
            "t",
        )
        .unwrap(),
    );
    let before = s.c.shared.lock().now();
    let stale = s
        .get(&format!("/accounts/{ETRADE}/positions/all"), "")
        .await
        .json();
    let after = s.c.shared.lock().now();
    assert_eq!(stale["results"][0]["units"], "2", "{stale}");
    between(
        &stale["data_freshness"]["as_of"],
        before.plus_millis(-1_800_000),
        after.plus_millis(-1_800_000),
    );
}

#[tokio::test]
async fn a_stale_cache_shows_the_prices_of_then() {
    // Bought, read fresh, then half an hour later the price drops 20 %: a
    // read from a cache half an hour old shows the price of before the
    // drop (to the minute), not today's.
    let s = Signer::new(FaultPlan::default());
    s.place(ETRADE, json!({ "units": 4.0 })).await;
    s.advance(60_000).await;
    let path = format!("/accounts/{ETRADE}/positions/all");
    let price = |v: &Value| {
        v["results"][0]["price"]
            .as_str()
            .and_then(|p| p.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    let fresh = s.get(&path, "").await.json();
    assert_eq!(fresh["results"][0]["units"], "4", "{fresh}");
    let then = price(&fresh);
    // Balances and the account's total value are cached with the holdings (§8.1).
    let balances = format!("/accounts/{ETRADE}/balances");
    let account = format!("/accounts/{ETRADE}");
    let cash = |v: &Value| v[0]["cash"].as_f64().unwrap_or(f64::NAN);
    let total = |v: &Value| v["balance"]["total"]["amount"].as_f64().unwrap_or(f64::NAN);
    let fresh_cash = cash(&s.get(&balances, "").await.json());
    let fresh_total = total(&s.get(&account, "").await.json());
    s.advance(1_800_000).await;
    let dropped = Decimal::try_from(then * 0.8).unwrap().round_dp(2);
    assert!(s.c.shared.lock().set_price("AAPL", dropped));
    let now = price(&s.get(&path, "").await.json());
    assert!((now / then - 0.8).abs() < 0.01, "{then} then, {now} now");
    // Sold after the drop: the cache still holds the shares, at their cost of then.
    let sold = s
        .place(ETRADE, json!({ "action": "SELL", "units": 4.0 }))
        .await;
    assert_eq!(sold.status, StatusCode::OK, "{}", sold.text);
    s.advance(5_000).await;
    assert_eq!(s.get(&path, "").await.json()["results"], json!([]));
    let live_cash = cash(&s.get(&balances, "").await.json());
    assert!(
        live_cash > fresh_cash + 100.0,
        "{fresh_cash} then, {live_cash} now"
    );
    s.c.shared.lock().set_fault_plan(
        FaultPlan::from_toml(
            "[[rules]]\nfault = { kind = \"stale_read\", age_ms = 1805000 }\n",
            "t",
        )
        .unwrap(),
    );
    let stale = s.get(&path, "").await.json();
    assert_eq!(stale["results"][0]["units"], "4", "{stale}");
    assert_eq!(
        stale["results"][0]["cost_basis"], fresh["results"][0]["cost_basis"],
        "{stale}"
    );
    assert!(
        (price(&stale) / then - 1.0).abs() < 0.01,
        "{then} then, {} from the cache: {stale}",
        price(&stale)
    );
    let stale_cash = cash(&s.get(&balances, "").await.json());
    assert_eq!(stale_cash, fresh_cash, "the cache's cash is that of then");
    let stale_total = total(&s.get(&account, "").await.json());
    assert!(
        (stale_total / fresh_total - 1.0).abs() < 0.001,
        "{fresh_total} then, {stale_total} from the cache"
    );
}

/// Activities are a day late (§8.1): none of today's, yesterday's all,
/// newest first, paged with the filters' total; at a read-only brokerage
/// they are what the user did there on their own, at the trading one the
/// fills of the connection's orders.
#[tokio::test]
async fn activities_are_the_brokerage_s_history_a_day_late() {
    let s = Signer::new(FaultPlan::default());
    let path = format!("/accounts/{FIDELITY}/activities");
    // The model's first day: the user's opening session happened today.
    let today = s.get(&path, "").await;
    assert_eq!(today.status, StatusCode::OK, "{}", today.text);
    assert_eq!(today.json()["data"], json!([]), "{}", today.text);
    let order = s.place(ETRADE, json!({ "units": 3 })).await;
    assert_eq!(order.status, StatusCode::OK, "{}", order.text);
    s.advance(86_400_000).await;

    let all = s.get(&path, "").await.json();
    let rows = all["data"].as_array().cloned().unwrap_or_default();
    let total = all["pagination"]["total"].as_u64().unwrap_or(0);
    assert!(rows.len() > 2, "{all}");
    assert_eq!(total as usize, rows.len(), "{all}");
    let dates: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["trade_date"].as_str())
        .collect();
    let mut newest_first = dates.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, newest_first);
    let now = s.c.shared.lock().now();
    let today = now.date().format("%Y-%m-%d").to_string();
    assert!(
        dates.iter().all(|d| d < &today.as_str()),
        "{dates:?} on {today}"
    );
    let kinds: Vec<&str> = rows.iter().filter_map(|r| r["type"].as_str()).collect();
    assert!(
        kinds.contains(&"CONTRIBUTION") && kinds.contains(&"BUY"),
        "{kinds:?}"
    );
    let deposit = rows
        .iter()
        .find(|r| r["type"] == "CONTRIBUTION")
        .expect("one");
    assert_eq!(deposit["amount"], json!(50000.0), "{deposit}");
    assert_eq!(deposit["symbol"], Value::Null);
    let buy = rows.iter().find(|r| r["type"] == "BUY").expect("one");
    assert!(buy["amount"].as_f64().is_some_and(|a| a < 0.0), "{buy}");
    assert!(buy["units"].as_f64().is_some_and(|u| u > 0.0), "{buy}");
    assert_eq!(buy["account"]["id"], FIDELITY);
    assert_eq!(buy["institution"], "Fidelity");
    assert_eq!(buy["option_symbol"], Value::Null, "{buy}");
    assert_eq!(buy["option_type"], "", "{buy}");
    // The user's call: its contract in option_symbol, not in symbol; the
    // price per share of it, the amount the contract's.
    let call = rows
        .iter()
        .find(|r| r["option_symbol"].is_object())
        .expect("the opening session's call");
    assert_eq!(call["symbol"], Value::Null, "{call}");
    assert_eq!(call["type"], "BUY", "{call}");
    assert_eq!(call["option_type"], "BUY_TO_OPEN", "{call}");
    assert_eq!(call["option_symbol"]["option_type"], "CALL", "{call}");
    assert_eq!(call["units"], json!(1.0), "{call}");
    assert_eq!(call["fee"], json!(0.65), "{call}");
    let (price, amount) = (call["price"].as_f64(), call["amount"].as_f64());
    assert!(
        price
            .zip(amount)
            .is_some_and(|(p, a)| (a + p * 100.0 + 0.65).abs() < 1e-6),
        "{call}"
    );

    // Paged: the second row alone, the total still all of them.
    let page = s.get(&path, "offset=1&limit=1").await.json();
    assert_eq!(page["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["data"][0]["id"], rows[1]["id"]);
    assert_eq!(page["pagination"]["total"], total);
    let buys = s.get(&path, "type=BUY").await.json();
    assert!(buys["data"]
        .as_array()
        .is_some_and(|d| !d.is_empty() && d.iter().all(|r| r["type"] == "BUY")));
    let after = s.get(&path, &format!("startDate={today}")).await.json();
    assert_eq!(after["data"], json!([]));
    refused(&s.get(&path, "startDate=yesterday").await, 400, "1076");

    // The trading account: the order's fill, and nothing the user did alone.
    let etrade = s
        .get(&format!("/accounts/{ETRADE}/activities"), "")
        .await
        .json();
    let rows = etrade["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1, "{etrade}");
    assert_eq!(rows[0]["type"], "BUY");
    assert_eq!(rows[0]["units"], json!(3.0));
    assert_eq!(rows[0]["symbol"]["symbol"], "AAPL");
}

#[tokio::test]
async fn each_brokerage_charges_its_own_commission() {
    // The user's own buys at each brokerage (the opening session's), as
    // SnapTrade reports them a day later: IBKR Pro charges at least 1.00
    // an order, Fidelity 0.65 a contract and nothing on shares, Robinhood
    // nothing (buys pay no regulatory fee).
    let s = Signer::new(FaultPlan::default());
    s.advance(86_400_000).await;
    let buys = |account: &'static str| {
        let s = &s;
        async move {
            let path = format!("/accounts/{account}/activities");
            let page = s.get(&path, "type=BUY").await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text);
            let rows = page.json()["data"].as_array().cloned().unwrap_or_default();
            assert!(!rows.is_empty(), "{account}: {}", page.text);
            rows.iter()
                .map(|r| {
                    let option = r["option_symbol"].is_object();
                    (
                        option,
                        r["units"].as_f64().unwrap_or(0.0),
                        r["fee"].as_f64(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let ibkr = buys(IBKR).await;
    assert!(
        ibkr.iter().all(|&(_, units, fee)| {
            fee.is_some_and(|f| f >= 1.0 && (units <= 200.0 || f > 1.0))
        }),
        "{ibkr:?}"
    );
    let fidelity = buys(FIDELITY).await;
    assert!(
        fidelity
            .iter()
            .all(|&(option, units, fee)| fee == Some(if option { 0.65 * units } else { 0.0 })),
        "{fidelity:?}"
    );
    assert!(fidelity.iter().any(|&(option, ..)| option), "{fidelity:?}");
    let robinhood = buys(ROBINHOOD).await;
    assert!(
        robinhood.iter().all(|&(_, _, fee)| fee == Some(0.0)),
        "{robinhood:?}"
    );
}

/// The outbox's deliveries, each body checked against its `Signature` as
/// SnapTrade's receiver recipe checks it (§9.2): HMAC-SHA256 under the
/// consumer key of the payload re-serialized with sorted keys and compact
/// separators, whatever order the body's keys came in.
async fn webhooks(s: &Signer) -> Vec<Value> {
    let r = s.c.get("/_sim/webhooks").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let body: Value = serde_json::from_str(d["body"].as_str().unwrap()).unwrap();
            let mut mac =
                Hmac::<Sha256>::new_from_slice(s.c.credential("consumer_key").as_bytes()).unwrap();
            mac.update(body.to_string().as_bytes());
            let expected =
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
            assert_eq!(d["headers"]["Signature"], expected, "{d}");
            assert_eq!(d["url"], "http://partner.test/hooks");
            body
        })
        .collect()
}

#[tokio::test]
async fn every_account_s_holdings_are_announced_at_the_daily_sync() {
    // From Monday 15:00 UTC to Wednesday 15:00: the syncs of Tuesday and
    // Wednesday at 08:00 UTC, one update per account each, Fidelity's
    // failing while its connection is broken.
    let s = Signer::new(FaultPlan::default());
    s.listen().await;
    let broken = json!({ "account": FIDELITY, "broken": true });
    s.control("/_sim/connection", broken).await;
    s.advance(2 * 86_400_000).await;
    let hooks = webhooks(&s).await;
    assert_eq!(hooks[0]["eventType"], "CONNECTION_BROKEN", "{hooks:#?}");
    let daily: Vec<&Value> = hooks[1..].iter().collect();
    assert_eq!(daily.len(), 8, "{hooks:#?}");
    for (i, h) in daily.iter().enumerate() {
        assert_eq!(h["eventType"], "ACCOUNT_HOLDINGS_UPDATED", "{h}");
        let day = if i < 4 { "06" } else { "07" };
        assert_eq!(
            h["eventTimestamp"],
            format!("2026-01-{day}T08:00:00.000000+00:00"),
            "{h}"
        );
        let ok = h["accountId"] != FIDELITY;
        assert_eq!(h["details"]["positions"]["success"], ok, "{h}");
        assert_eq!(h["details"]["balances"]["error"].is_string(), !ok, "{h}");
    }
    let accounts: Vec<&str> = daily[..4]
        .iter()
        .filter_map(|h| h["accountId"].as_str())
        .collect();
    assert_eq!(accounts, [ETRADE, FIDELITY, IBKR, ROBINHOOD]);
    // Read again: nothing announced twice.
    assert_eq!(webhooks(&s).await.len(), hooks.len());
}

#[tokio::test]
async fn every_change_of_an_order_placed_through_snaptrade_is_a_trade_update() {
    // A market buy (taken, then filled) and a resting limit canceled:
    // one TRADE_UPDATE per change, each with the order as it stood then;
    // the user's own trades at the read-only brokerages are not announced.
    let s = Signer::new(FaultPlan::default());
    s.listen().await;
    let bought = s.place(ETRADE, json!({ "units": 2.0 })).await.json();
    let bought = bought["brokerage_order_id"].as_str().unwrap().to_string();
    s.advance(5_000).await;
    let resting = s
        .place(
            ETRADE,
            json!({ "order_type": "Limit", "price": 1.0, "time_in_force": "GTC" }),
        )
        .await
        .json();
    let resting = resting["brokerage_order_id"].as_str().unwrap().to_string();
    s.advance(1_000).await;
    let path = format!("/accounts/{ETRADE}/trading/cancel");
    let c = s
        .post(&path, json!({ "brokerage_order_id": resting }))
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    s.advance(3_600_000).await;

    let hooks = webhooks(&s).await;
    let trades: Vec<&Value> = hooks
        .iter()
        .filter(|h| h["eventType"] == "TRADE_UPDATE")
        .collect();
    let seen: Vec<(String, String, String)> = trades
        .iter()
        .map(|h| {
            let o = &h["details"]["orders"][0];
            (
                o["brokerage_order_id"].as_str().unwrap_or("").to_string(),
                o["status"].as_str().unwrap_or("").to_string(),
                o["legs"][0]["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let last = |id: &str, status: &str| {
        seen.iter()
            .rev()
            .find(|(i, ..)| i == id)
            .map(|(_, s, _)| s == status)
    };
    assert!(
        seen.iter().all(|(id, ..)| *id == bought || *id == resting),
        "{seen:?}"
    );
    assert_eq!(last(&bought, "EXECUTED"), Some(true), "{seen:?}");
    assert_eq!(last(&resting, "CANCELED"), Some(true), "{seen:?}");
    // Before its fill, the buy was announced as it stood then.
    assert!(
        seen.iter()
            .any(|(id, status, _)| *id == bought && status != "EXECUTED"),
        "{seen:?}"
    );
    for h in &trades {
        assert_eq!(h["accountId"], ETRADE, "{h}");
        assert_eq!(h["webookId"], h["webhookId"], "{h}");
        assert!(h["brokerageAuthorizationId"].as_str().is_some(), "{h}");
        let o = &h["details"]["orders"][0];
        assert!(o["price_effect"].is_string() && o["legs"].is_array(), "{h}");
    }
    // Announced once each, in time order.
    let times: Vec<&str> = trades
        .iter()
        .filter_map(|h| h["eventTimestamp"].as_str())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    assert_eq!(webhooks(&s).await.len(), hooks.len());
}

#[tokio::test]
async fn webhooks_announce_breaks_repairs_and_refreshes_signed_to_the_partner_s_url() {
    let s = Signer::new(FaultPlan::default());
    // No URL yet: a break is not sent anywhere, and not queued for later.
    let broken = json!({ "account": ETRADE, "broken": true });
    s.control("/_sim/connection", broken.clone()).await;
    s.control(
        "/_sim/connection",
        json!({ "account": ETRADE, "broken": false }),
    )
    .await;
    assert!(webhooks(&s).await.is_empty());
    let bad =
        s.c.send(
            Method::PUT,
            "/_sim/webhooks",
            "application/json",
            r#"{"url": "ftp://x"}"#,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    s.listen().await;

    let conns = s.get("/authorizations", "").await.json();
    let etrade = conns[0]["id"].as_str().unwrap().to_string();
    let before = s.c.shared.lock().now();
    let r = s
        .post(&format!("/authorizations/{etrade}/disable"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Refreshing a disabled connection is refused, and announces nothing.
    refused(
        &s.post(&format!("/authorizations/{etrade}/refresh"), json!({}))
            .await,
        402,
        "3003",
    );
    s.advance(60_000).await;
    s.control(
        "/_sim/connection",
        json!({ "account": ETRADE, "broken": false }),
    )
    .await;
    let r = s
        .post(&format!("/authorizations/{etrade}/refresh"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.json()["detail"],
        format!("Connection {etrade} scheduled for refresh")
    );

    let hooks = webhooks(&s).await;
    let kinds: Vec<&str> = hooks
        .iter()
        .map(|h| h["eventType"].as_str().unwrap())
        .collect();
    let accounts = s
        .get(&format!("/authorizations/{etrade}/accounts"), "")
        .await
        .json();
    let mut expected = vec!["CONNECTION_BROKEN", "CONNECTION_FIXED"];
    expected.extend(
        accounts
            .as_array()
            .unwrap()
            .iter()
            .map(|_| "ACCOUNT_HOLDINGS_UPDATED"),
    );
    assert_eq!(kinds, expected, "{hooks:#?}");
    for h in &hooks {
        assert_eq!(h["clientId"], s.c.credential("client_id"));
        assert_eq!(h["userId"], s.c.credential("user_id"));
        assert_eq!(h["brokerageAuthorizationId"], etrade.as_str());
        let at = h["eventTimestamp"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.ends_with("+00:00"),
            "{at}"
        );
        assert!(h.get("webhookSecret").is_none(), "{h}");
    }
    // The break is announced at its own moment, not when the outbox was read.
    let broke =
        chrono::DateTime::parse_from_rfc3339(hooks[0]["eventTimestamp"].as_str().unwrap()).unwrap();
    let fixed =
        chrono::DateTime::parse_from_rfc3339(hooks[1]["eventTimestamp"].as_str().unwrap()).unwrap();
    assert!(broke >= before.to_datetime(), "{broke}");
    assert!(
        (fixed - broke).num_milliseconds() >= 60_000,
        "{broke} {fixed}"
    );
    let update = &hooks[2];
    assert_eq!(update["accountId"], ETRADE);
    assert_eq!(update["brokerageId"], conns[0]["brokerage"]["id"]);
    assert_eq!(
        update["details"]["positions"],
        json!({ "success": true, "error": null })
    );
    // Ids are unique, and the same seed sends the same ones.
    let ids: std::collections::BTreeSet<&str> = hooks
        .iter()
        .map(|h| h["webhookId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), hooks.len());
}

#[tokio::test]
async fn a_refresh_while_the_brokerage_is_down_is_announced_as_failed() {
    let plan = FaultPlan::from_toml(
        "[[rules]]\nfault = { kind = \"downstream_outage\", brokerage = \"FIDELITY\" }\n",
        "test",
    )
    .expect("plan");
    let s = Signer::new(plan);
    s.listen().await;
    let conns = s.get("/authorizations", "").await.json();
    let fidelity = conns
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["brokerage"]["slug"] == "FIDELITY")
        .expect("a Fidelity connection");
    let id = fidelity["id"].as_str().unwrap();
    let r = s
        .post(&format!("/authorizations/{id}/refresh"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let hooks = webhooks(&s).await;
    assert!(!hooks.is_empty());
    for h in &hooks {
        assert_eq!(h["eventType"], "ACCOUNT_HOLDINGS_UPDATED");
        assert_eq!(h["details"]["positions"]["success"], false, "{h}");
        assert!(h["details"]["positions"]["error"].is_string(), "{h}");
    }
}

#[tokio::test]
async fn users_register_rotate_and_delete_and_hold_only_their_own() {
    let s = Signer::new(FaultPlan::default());
    s.listen().await;
    let r = s.register(json!({ "userId": "alice" })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let alice = r.json();
    assert_eq!(alice["userId"], "alice");
    let secret = alice["userSecret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 36, "a UUID-shaped secret: {secret}");
    let again = s.register(json!({ "userId": "alice" })).await;
    refused(&again, 400, "1076");
    refused(&s.register(json!({})).await, 400, "1076");
    let users = s
        .partner(Method::GET, "/snapTrade/listUsers", "", None)
        .await
        .json();
    assert_eq!(users, json!([s.c.credential("user_id"), "alice"]));

    // Alice holds no connection: empty lists, and the holder's account is not hers.
    let as_alice = |secret: &str| format!("userId=alice&userSecret={secret}");
    for path in ["/authorizations", "/accounts", "/api/v1/accounts"] {
        let r = s.partner(Method::GET, path, &as_alice(&secret), None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert_eq!(r.json(), json!([]), "{path}");
    }
    let all = s
        .partner(Method::GET, "/accounts/all", &as_alice(&secret), None)
        .await;
    assert_eq!(all.json()["results"], json!([]));
    let theirs = format!("/accounts/{ETRADE}/balances");
    refused(
        &s.partner(Method::GET, &theirs, &as_alice(&secret), None)
            .await,
        404,
        "1011",
    );
    refused(
        &s.partner(
            Method::GET,
            "/accounts",
            "userId=alice&userSecret=wrong",
            None,
        )
        .await,
        401,
        "1083",
    );

    // A rotated secret replaces the old one.
    let r = s
        .partner(
            Method::POST,
            "/snapTrade/resetUserSecret",
            "",
            Some(json!({ "userId": "alice", "userSecret": secret })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let fresh = r.json()["userSecret"].as_str().unwrap().to_string();
    assert_ne!(fresh, secret);
    refused(
        &s.partner(Method::GET, "/accounts", &as_alice(&secret), None)
            .await,
        401,
        "1083",
    );
    let r = s
        .partner(Method::GET, "/accounts", &as_alice(&fresh), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // Deleted: her calls are refused, and a second delete finds no one.
    let r = s
        .partner(
            Method::DELETE,
            "/snapTrade/deleteUser",
            "userId=alice",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["status"], "deleted");
    assert_eq!(r.json()["userId"], "alice");
    refused(
        &s.partner(Method::GET, "/accounts", &as_alice(&fresh), None)
            .await,
        401,
        "1083",
    );
    refused(
        &s.partner(
            Method::DELETE,
            "/snapTrade/deleteUser",
            "userId=alice",
            None,
        )
        .await,
        404,
        "1011",
    );
    // The holder is untouched until deleted in turn.
    assert_eq!(s.get("/accounts", "").await.status, StatusCode::OK);
    let holder = s.c.credential("user_id");
    let r = s
        .partner(
            Method::DELETE,
            "/snapTrade/deleteUser",
            &format!("userId={holder}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    refused(&s.get("/accounts", "").await, 401, "1083");
    let users = s
        .partner(Method::GET, "/snapTrade/listUsers", "", None)
        .await
        .json();
    assert_eq!(users, json!([]));

    let hooks = webhooks(&s).await;
    let seen: Vec<(&str, &str)> = hooks
        .iter()
        .map(|h| {
            (
                h["eventType"].as_str().unwrap(),
                h["userId"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("USER_REGISTERED", "alice"),
            ("USER_DELETED", "alice"),
            ("USER_DELETED", holder.as_str())
        ]
    );
}

impl Signer {
    async fn login(&self, body: Value) -> Reply {
        self.post("/snapTrade/login", body).await
    }

    /// The user leaves the portal of `session` with `outcome`.
    async fn finish(&self, session: &str, outcome: &str, broker: Option<&str>) -> Reply {
        let mut body = json!({ "sessionId": session, "outcome": outcome });
        if let Some(b) = broker {
            body["broker"] = json!(b);
        }
        self.control("/_sim/portal", body).await
    }

    /// The connection id of the brokerage `slug`, as `/authorizations` lists it.
    async fn connection_of(&self, slug: &str) -> Value {
        let conns = self.get("/authorizations", "").await.json();
        conns
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["brokerage"]["slug"] == slug)
            .cloned()
            .unwrap_or_else(|| panic!("no {slug} in {conns}"))
    }
}

/// The session of a login the portal accepted.
#[track_caller]
fn session(r: &Reply) -> String {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let l = r.json();
    assert!(
        l["redirectURI"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://app.snaptrade.com/")),
        "{l}"
    );
    let id = l["sessionId"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    id
}

/// What the webhooks after the first `skip` announce: (eventType, result).
fn events(hooks: &[Value], skip: usize) -> Vec<(String, String)> {
    hooks[skip..]
        .iter()
        .map(|h| {
            (
                h["eventType"].as_str().unwrap().to_string(),
                h["connectionAttemptedResult"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_portal_reconnects_a_broken_connection_under_its_own_id() {
    let s = Signer::new(FaultPlan::default());
    s.listen().await;
    let etrade = s.connection_of("ETRADE").await;
    let id = etrade["id"].as_str().unwrap().to_string();
    let r = s
        .post(&format!("/authorizations/{id}/disable"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    refused(&s.place(ETRADE, json!({})).await, 402, "3003");
    let before = webhooks(&s).await.len();

    let sess = session(
        &s.login(json!({ "reconnect": id, "customRedirect": "https://app.test/cb?x=1" }))
            .await,
    );
    let done = s.finish(&sess, "SUCCESS", None).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(
        done.json()["redirect"],
        format!("https://app.test/cb?x=1&status=SUCCESS&connection_id={id}")
    );
    // The same connection, its accounts and id kept, working again.
    let after = s.connection_of("ETRADE").await;
    assert_eq!(
        (after["id"].as_str(), &after["disabled"]),
        (Some(id.as_str()), &json!(false))
    );
    assert_eq!(s.place(ETRADE, json!({})).await.status, StatusCode::OK);
    let hooks = webhooks(&s).await;
    assert_eq!(
        events(&hooks, before),
        [
            ("CONNECTION_ATTEMPTED".to_string(), "SUCCESS".to_string()),
            ("CONNECTION_FIXED".to_string(), String::new()),
        ]
    );
    assert_eq!(hooks[before + 1]["brokerageAuthorizationId"], id.as_str());
    // A session is used once.
    let again = s.finish(&sess, "SUCCESS", None).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.text);
}

#[tokio::test]
async fn the_portal_says_how_an_attempt_ended() {
    let s = Signer::new(FaultPlan::default());
    s.listen().await;
    let etrade = s.connection_of("ETRADE").await["id"].clone();
    let fidelity = s.connection_of("FIDELITY").await["id"].clone();
    // The same brokerage login again: the connection there is, nothing added.
    let sess = session(
        &s.login(json!({ "broker": "ETRADE", "connectionType": "trade" }))
            .await,
    );
    let done = s.finish(&sess, "SUCCESS", None).await.json();
    assert_eq!(done["connection_id"], etrade);
    // Picked in the portal when the login named none.
    let sess = session(&s.login(json!({})).await);
    let none = s.finish(&sess, "SUCCESS", None).await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST, "{}", none.text);
    let done = s.finish(&sess, "SUCCESS", Some("FIDELITY")).await.json();
    assert_eq!(done["connection_id"], fidelity);
    // Bad credentials, and a user who gave up.
    let sess = session(&s.login(json!({ "broker": "ETRADE" })).await);
    let done = s.finish(&sess, "ERROR", None).await.json();
    assert_eq!(
        done["redirect"],
        "https://partner.example/snaptrade/callback?status=ERROR&status_code=403&error_code=1066"
    );
    assert_eq!(done["connection_id"], Value::Null);
    let sess = session(&s.login(json!({ "broker": "ETRADE" })).await);
    let done = s.finish(&sess, "ABANDONED", None).await.json();
    assert!(done["redirect"]
        .as_str()
        .unwrap()
        .ends_with("?status=ABANDONED"));
    // Five minutes and the session is gone: the portal's 1006.
    let sess = session(&s.login(json!({ "broker": "ETRADE" })).await);
    s.advance(5 * 60 * 1000 + 1_000).await;
    let done = s.finish(&sess, "SUCCESS", None).await.json();
    assert!(done["redirect"]
        .as_str()
        .unwrap()
        .ends_with("?status=ERROR&status_code=400&error_code=1006"));
    let hooks = webhooks(&s).await;
    let results: Vec<String> = events(&hooks, 0).into_iter().map(|(_, r)| r).collect();
    assert_eq!(
        results,
        ["SUCCESS", "SUCCESS", "INVALID_CREDENTIALS", "AUTH_EXPIRED"],
        "{hooks:?}"
    );
    // A reset forgets the sessions of the day it ends.
    let sess = session(&s.login(json!({ "broker": "ETRADE" })).await);
    s.control("/_sim/reset", json!({})).await;
    let gone = s.finish(&sess, "SUCCESS", None).await;
    assert_eq!(gone.status, StatusCode::BAD_REQUEST, "{}", gone.text);
}

#[tokio::test]
async fn the_portal_refuses_what_snaptrade_refuses_and_what_the_model_cannot_do() {
    let s = Signer::new(FaultPlan::default());
    for body in [
        json!({ "locale": "fr" }),
        json!({ "connectionType": "write" }),
        json!({ "broker": "NOPE" }),
        json!({ "broker": "FIDELITY", "connectionType": "trade" }),
        json!({ "connectionPortalVersion": "v9" }),
        json!({ "customRedirect": "not a url" }),
        json!({ "darkMode": "very" }),
    ] {
        refused(&s.login(body.clone()).await, 400, "1076");
    }
    // Spelled SnapTrade's loose ways.
    session(
        &s.login(json!({ "locale": "PT_br", "connectionPortalVersion": "v2" }))
            .await,
    );
    session(
        &s.login(json!({ "broker": "etrade", "darkMode": true }))
            .await,
    );
    refused(
        &s.login(json!({ "reconnect": "139e307a-82f7-4402-b39e-4da7baa87758" }))
            .await,
        404,
        "1011",
    );
    // A deleted connection comes back only as a new one: not simulated.
    let fidelity = s.connection_of("FIDELITY").await["id"].clone();
    let fidelity = fidelity.as_str().unwrap();
    let r = s
        .call(Method::DELETE, &format!("/connection/{fidelity}"), "", None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let sess = session(&s.login(json!({ "broker": "FIDELITY" })).await);
    let r = s.finish(&sess, "SUCCESS", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("not simulated"), "{}", r.text);
    // Another user's portal would make connections of their own.
    let other = s.register(json!({ "userId": "someone-else" })).await.json();
    let query = format!(
        "userId=someone-else&userSecret={}&clientId={}&timestamp=1767625200",
        other["userSecret"].as_str().unwrap(),
        s.c.credential("client_id")
    );
    let r = s
        .signed(Method::POST, "/snapTrade/login", query, Some(json!({})))
        .await;
    refused(&r, 400, "1076");
    assert!(r.text.contains("not simulated"), "{}", r.text);
}

#[tokio::test]
async fn option_holdings_are_read_apart_in_sdk_11_and_as_options_in_sdk_13() {
    let s = Signer::new(FaultPlan::default());
    // SnapTrade's place takes equities only: the contract comes in at the
    // brokerage, as a user's own trade there would.
    let occ = "AAPL  260116C00190000";
    {
        let mut b = s.c.shared.lock();
        let r = mbt::OrderRequest {
            account_id: ETRADE.to_string(),
            client_order_id: "own-trade".to_string(),
            instrument: mbt::Instrument::parse_symbol(occ),
            side: mbt::Side::Buy,
            position_effect: Some(mbt::PositionEffect::Open),
            quantity: rust_decimal::Decimal::ONE,
            order_type: mbt::OrderType::Market,
            limit_price: None,
            stop_price: None,
            time_in_force: mbt::TimeInForce::Day,
            legs: None,
            trail: None,
        };
        b.submit(r, &broker_models::faults::Decision::default())
            .map_err(|(_, r)| r.message)
            .expect("the brokerage takes the option");
    }
    s.place(ETRADE, json!({})).await;
    s.advance(5_000).await;
    let options = s
        .get(&format!("/accounts/{ETRADE}/options"), "")
        .await
        .json();
    let o = &options[0];
    assert_eq!(options.as_array().map(Vec::len), Some(1), "{options}");
    assert_eq!(o["symbol"]["option_symbol"]["ticker"], occ);
    assert_eq!(o["symbol"]["option_symbol"]["option_type"], "CALL");
    assert_eq!(o["symbol"]["option_symbol"]["strike_price"], json!(190.0));
    assert_eq!(
        o["symbol"]["option_symbol"]["expiration_date"],
        "2026-01-16"
    );
    assert_eq!(
        o["symbol"]["option_symbol"]["underlying_symbol"]["symbol"],
        "AAPL"
    );
    assert_eq!(o["units"], json!(1.0));
    // Per contract: 100 times the price per share.
    let per_share =
        s.c.shared
            .lock()
            .account(ETRADE)
            .unwrap()
            .positions
            .iter()
            .find(|p| p.instrument.is_option())
            .map(|p| p.average_price)
            .unwrap();
    assert_eq!(
        o["average_purchase_price"].as_f64().unwrap(),
        (per_share * rust_decimal::Decimal::ONE_HUNDRED)
            .round_dp(6)
            .to_string()
            .parse::<f64>()
            .unwrap()
    );
    // The legacy positions hold the equities only.
    let legacy = s
        .get(&format!("/accounts/{ETRADE}/positions"), "")
        .await
        .json();
    let symbols: Vec<&str> = legacy
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["symbol"]["symbol"]["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(symbols, ["AAPL"], "{legacy}");
    // positions/all (SDK 13) holds both, the contract as an option kind.
    let all = s
        .get(&format!("/accounts/{ETRADE}/positions/all"), "")
        .await
        .json();
    let option = all["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["instrument"]["kind"] == "option")
        .unwrap_or_else(|| panic!("no option in {all}"));
    let i = &option["instrument"];
    assert_eq!(i["symbol"], occ);
    assert_eq!(i["option_type"], "CALL");
    assert_eq!(
        (i["strike_price"].as_str(), i["multiplier"].as_str()),
        (Some("190"), Some("100"))
    );
    assert_eq!(i["expiration_date"], "2026-01-16");
    assert_eq!(i["underlying"]["kind"], "stock");
    assert_eq!(i["underlying"]["symbol"], "AAPL");
    assert_eq!(i["id"], o["symbol"]["option_symbol"]["id"]);
    if let Ok(path) = std::env::var("RAXX_DUMP_OPTION_POSITIONS") {
        std::fs::write(path, all.to_string()).unwrap();
    }
}

/// `/trading/options` legs of a call credit spread on AAPL.
fn credit_spread(extra: Value) -> Value {
    let mut form = json!({
        "order_type": "LIMIT",
        "time_in_force": "Day",
        "limit_price": "0.01",
        "price_effect": "CREDIT",
        "legs": [
            { "instrument": { "symbol": "AAPL  260116C00200000", "instrument_type": "OPTION" },
              "action": "SELL_TO_OPEN", "units": 2 },
            { "instrument": { "symbol": "AAPL  260116C00210000", "instrument_type": "OPTION" },
              "action": "BUY_TO_OPEN", "units": 2 },
        ],
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        form[k] = v.clone();
    }
    form
}

#[tokio::test]
async fn options_and_spreads_are_placed_through_trading_options() {
    let s = Signer::new(FaultPlan::default());
    let options = format!("/accounts/{ETRADE}/trading/options");

    // The impact: two spreads at a 0.01 credit each, 0.65 a contract.
    let impact = s
        .post(&format!("{options}/impact"), credit_spread(json!({})))
        .await;
    assert_eq!(impact.status, StatusCode::OK, "{}", impact.text);
    let impact = impact.json();
    assert_eq!(impact["cash_change_direction"], "CREDIT", "{impact}");
    assert_eq!(impact["estimated_cash_change"], "2.00", "{impact}");
    let fees: Decimal = impact["estimated_fee_total"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(fees >= Decimal::new(260, 2), "{impact}");

    // The place answers the brokerage's first state; v1 names the
    // underlying, V2 lists both legs.
    let placed = s.post(&options, credit_spread(json!({}))).await;
    assert_eq!(placed.status, StatusCode::OK, "{}", placed.text);
    let placed = placed.json();
    let id = placed["brokerage_order_id"].as_str().unwrap().to_string();
    let record = &placed["orders"][0];
    assert_eq!(record["brokerage_order_id"], id.as_str(), "{placed}");
    assert_eq!(record["status"], "PENDING", "{placed}");
    assert_eq!(record["universal_symbol"]["symbol"], "AAPL", "{placed}");
    assert_eq!(record["action"], "SELL", "{placed}");
    assert_eq!(record["total_quantity"], "2", "{placed}");
    s.advance(5_000).await;
    let o = s
        .get(&format!("/accounts/{ETRADE}/orders/details/v2/{id}"), "")
        .await
        .json();
    assert_eq!(o["status"], "EXECUTED", "{o}");
    assert_eq!(o["price_effect"], "CREDIT", "{o}");
    let legs: Vec<(&str, &str, &str, &str)> = o["legs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["instrument"]["symbol"].as_str().unwrap(),
                l["instrument"]["asset_type"].as_str().unwrap(),
                l["action"].as_str().unwrap(),
                l["filled_quantity"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        legs,
        [
            ("AAPL  260116C00200000", "OPTION", "SELL_TO_OPEN", "2"),
            ("AAPL  260116C00210000", "OPTION", "BUY_TO_OPEN", "2"),
        ],
        "{o}"
    );

    // One call through /trade/place by its OCC symbol: the v1 record names
    // the contract, not a stock.
    let call = s
        .place(
            ETRADE,
            json!({ "action": "BUY_TO_OPEN", "symbol": "AAPL  260116C00220000", "units": 1 }),
        )
        .await;
    assert_eq!(call.status, StatusCode::OK, "{}", call.text);
    let call = call.json();
    assert_eq!(call["action"], "BUY_OPEN", "{call}");
    assert_eq!(call["universal_symbol"], Value::Null, "{call}");
    assert_eq!(
        call["option_symbol"]["ticker"], "AAPL  260116C00220000",
        "{call}"
    );
    assert_eq!(call["option_symbol"]["option_type"], "CALL", "{call}");
    s.advance(5_000).await;
    let held = s
        .get(&format!("/accounts/{ETRADE}/positions/all"), "")
        .await
        .json();
    let symbols: Vec<&str> = held["results"]
        .as_array()
        .or_else(|| held.as_array())
        .into_iter()
        .flatten()
        .filter_map(|p| p["instrument"]["symbol"].as_str())
        .collect();
    assert!(
        symbols.contains(&"AAPL  260116C00220000") && symbols.contains(&"AAPL  260116C00200000"),
        "{held}"
    );

    // What the model cannot carry out, or SnapTrade would not take, is a 400
    // that says so; a read-only brokerage refuses with its 403.
    for (form, says) in [
        (
            credit_spread(json!({ "price_effect": "EVEN", "limit_price": "0" })),
            "not simulated",
        ),
        (
            credit_spread(json!({ "order_type": "STOP_LOSS_MARKET", "stop_price": "1" })),
            "not simulated",
        ),
        (
            credit_spread(json!({ "price_effect": null })),
            "price_effect",
        ),
        (credit_spread(json!({ "legs": [] })), "1 to 4 legs"),
        (
            credit_spread(
                json!({ "legs": [{ "instrument": { "symbol": "AAPL  260116C00200000", "instrument_type": "OPTION" }, "action": "BUY", "units": 1 }] }),
            ),
            "BUY_TO_OPEN",
        ),
        (
            credit_spread(
                json!({ "legs": [{ "instrument": { "symbol": "AAPL", "instrument_type": "OPTION" }, "action": "BUY_TO_OPEN", "units": 1 }] }),
            ),
            "OCC",
        ),
    ] {
        let r = s.post(&options, form.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{form}: {}", r.text);
        assert!(r.text.contains(says), "{form}: {}", r.text);
    }
    let r = s
        .post(
            &format!("/accounts/{FIDELITY}/trading/options"),
            credit_spread(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

/// A cache's cash is replayed from the venue's executions and the
/// holder's own bookings: replayed up to now it is the account's cash, at
/// every brokerage, after days of the user's trades, dividends and fees.
#[tokio::test]
async fn cash_replayed_to_now_is_the_account_s_cash() {
    let s = Signer::new(FaultPlan::default());
    s.place(ETRADE, json!({ "units": 3.0 })).await;
    for _ in 0..3 {
        s.advance(86_400_000).await;
        let b = s.c.shared.lock();
        for account in [ETRADE, FIDELITY, IBKR, ROBINHOOD] {
            let now = b.account(account).unwrap().cash;
            assert_eq!(b.cash_at(account, b.now()), now, "{account}");
        }
    }
    let b = s.c.shared.lock();
    let opened = b.cash_at(FIDELITY, Timestamp::from_millis(0));
    assert!(
        opened.is_zero(),
        "no account before the model began: {opened}"
    );
}
