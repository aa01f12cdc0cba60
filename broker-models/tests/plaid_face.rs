//! The Plaid face answered as Plaid answers (../shared/reference/brokers/plaid.md):
//! every route, keys in headers or body, every answer in the shape of the
//! vendor's bodies in `test_data/plaid/`, the institution's data equal to the
//! model's ground truth as it changes over simulated time, pagination,
//! errors and faults in Plaid's error object, webhooks, and no order route.

mod common;

use common::shape::{self, Rules};

use axum::http::{Method, StatusCode};
use broker_models::brokerage::{HolderActivityKind, Ledger};
use broker_models::faults::FaultPlan;
use common::{Client, Reply};
use rust_decimal::Decimal;
use serde_json::{json, Value};

const IRA: &str = "JqMLm4rJwpF6gMPJwBqdh9ZjjPvvpDcb7kDK1";
const HOUR: u64 = 3_600_000;

fn plaid_with(plan: FaultPlan) -> Client {
    let mut c = Client::new("plaid", 7, plan);
    c.headers = vec![
        ("PLAID-CLIENT-ID".into(), c.credential("client_id")),
        ("PLAID-SECRET".into(), c.credential("secret")),
        ("Plaid-Version".into(), "2020-09-14".into()),
    ];
    c
}

fn plaid() -> Client {
    plaid_with(FaultPlan::default())
}

fn plan(toml: &str) -> FaultPlan {
    FaultPlan::from_toml(toml, "test").expect("plan")
}

/// Plaid's keys are all there and mostly nullable.
const PLAID: Rules = Rules {
    null_fits_any: true,
    ..Rules::strict("Plaid")
};

fn fixture(name: &str) -> Value {
    shape::fixture("plaid", name)
}

fn mismatch(actual: &Value, expected: &Value) -> Option<String> {
    shape::mismatch(actual, expected, &PLAID)
}

#[track_caller]
fn assert_shape(r: &Reply, name: &str) {
    if let Some(why) = mismatch(&r.json(), &fixture(name)) {
        panic!("{name}: {why}\n{}", r.text);
    }
}

#[track_caller]
fn assert_error(r: &Reply, status: u16, error_type: &str, code: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    let body = r.json();
    assert_eq!(
        (body["error_type"].as_str(), body["error_code"].as_str()),
        (Some(error_type), Some(code)),
        "{}",
        r.text
    );
    assert_shape(r, "error_item_login_required.json");
    assert!(
        body["request_id"].as_str().is_some_and(|id| id.len() == 15),
        "{}",
        r.text
    );
}

impl Client {
    fn token(&self) -> String {
        self.credential("access_token")
    }

    async fn call(&self, path: &str, body: Value) -> Reply {
        self.post_json(path, &body.to_string()).await
    }

    async fn holdings(&self) -> Reply {
        self.call(
            "/investments/holdings/get",
            json!({"access_token": self.token()}),
        )
        .await
    }

    async fn transactions(&self, options: Value) -> Reply {
        let body = json!({"access_token": self.token(), "start_date": "2024-01-05",
            "end_date": "2026-12-31", "options": options});
        self.call("/investments/transactions/get", body).await
    }

    async fn advance(&self, ms: u64) {
        let r = self
            .post_json("/_sim/advance", &format!(r#"{{"ms": {ms}}}"#))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }

    async fn ledger(&self) -> Ledger {
        serde_json::from_str(&self.get("/_sim/ledger").await.text).expect("ledger")
    }

    /// A new Item through the Sandbox's Link shortcut: (access token, item id).
    async fn link(&self, options: Value, products: Value) -> (String, String) {
        let pt = self
            .call(
                "/sandbox/public_token/create",
                json!({"institution_id": "ins_109508", "initial_products": products, "options": options}),
            )
            .await;
        assert_eq!(pt.status, StatusCode::OK, "{}", pt.text);
        assert_shape(&pt, "sandbox_public_token_create.json");
        let public = pt.json()["public_token"].as_str().unwrap().to_string();
        let ex = self
            .call(
                "/item/public_token/exchange",
                json!({"public_token": public}),
            )
            .await;
        assert_shape(&ex, "item_public_token_exchange.json");
        let ex = ex.json();
        (
            ex["access_token"].as_str().unwrap().to_string(),
            ex["item_id"].as_str().unwrap().to_string(),
        )
    }
}

fn dec(v: &Value) -> Decimal {
    v.to_string().parse().unwrap_or_else(|e| panic!("{v}: {e}"))
}

// --- the Item flow --------------------------------------------------------------------------------

#[tokio::test]
async fn public_tokens_are_single_use_and_tokens_have_plaids_shapes() {
    let c = plaid();
    let pt = c
        .call(
            "/sandbox/public_token/create",
            json!({"institution_id": "ins_109508", "initial_products": ["investments"]}),
        )
        .await
        .json();
    let public = pt["public_token"].as_str().unwrap();
    assert!(
        public.starts_with("public-sandbox-") && public.len() == 51,
        "{public}"
    );
    let ex = c
        .call(
            "/item/public_token/exchange",
            json!({"public_token": public}),
        )
        .await
        .json();
    let access = ex["access_token"].as_str().unwrap();
    assert!(
        access.starts_with("access-sandbox-") && access.len() == 51,
        "{access}"
    );
    assert_eq!(ex["item_id"].as_str().unwrap().len(), 37);
    let again = c
        .call(
            "/item/public_token/exchange",
            json!({"public_token": public}),
        )
        .await;
    assert_error(&again, 400, "INVALID_INPUT", "INVALID_PUBLIC_TOKEN");
    let bad = c
        .call(
            "/sandbox/public_token/create",
            json!({"institution_id": "ins_nope", "initial_products": ["investments"]}),
        )
        .await;
    assert_error(&bad, 400, "INVALID_INPUT", "INVALID_INSTITUTION");
    let wrong = c
        .call(
            "/sandbox/public_token/create",
            json!({"institution_id": "ins_109508", "initial_products": ["investments"],
                   "options": {"override_password": "pass_bad"}}),
        )
        .await;
    assert_error(&wrong, 400, "ITEM_ERROR", "INVALID_CREDENTIALS");
    assert_eq!(c.credential("access_token").len(), 51);
}

#[tokio::test]
async fn keys_in_headers_or_body_and_refusals_in_plaids_words() {
    let c = plaid();
    let token = c.token();
    let mut body_keys = Client::new("plaid", 7, FaultPlan::default());
    body_keys.headers.clear();
    let with_keys = json!({"client_id": c.credential("client_id"), "secret": c.credential("secret"),
        "access_token": token});
    let r = body_keys.call("/accounts/get", with_keys).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_shape(&r, "accounts_get.json");
    // One in a header, one in the body.
    body_keys.headers = vec![("PLAID-CLIENT-ID".into(), c.credential("client_id"))];
    let mixed = json!({"secret": c.credential("secret"), "access_token": token});
    assert_eq!(
        body_keys.call("/accounts/get", mixed).await.status,
        StatusCode::OK
    );
    body_keys.headers.clear();
    let bad = json!({"client_id": c.credential("client_id"), "secret": "0".repeat(30),
        "access_token": token});
    assert_error(
        &body_keys.call("/item/get", bad).await,
        400,
        "INVALID_INPUT",
        "INVALID_API_KEYS",
    );
    let none = body_keys
        .call("/item/get", json!({"access_token": token}))
        .await;
    assert_error(&none, 400, "INVALID_INPUT", "INVALID_API_KEYS");

    let r = c.send(Method::POST, "/item/get", "text/plain", "{}").await;
    assert_error(&r, 400, "INVALID_REQUEST", "INVALID_BODY");
    let r = c.post_json("/item/get", "{not json").await;
    assert_error(&r, 400, "INVALID_REQUEST", "INVALID_BODY");
    let r = c.post_json("/item/get", "[1, 2]").await;
    assert_error(&r, 400, "INVALID_REQUEST", "INVALID_BODY");
    let r = c.call("/item/get", json!({})).await;
    assert_error(&r, 400, "INVALID_REQUEST", "MISSING_FIELDS");
    assert!(r.json()["error_message"]
        .as_str()
        .unwrap()
        .ends_with("access_token"));
    let r = c
        .call("/item/get", json!({"access_token": token, "surprise": 1}))
        .await;
    assert_error(&r, 400, "INVALID_REQUEST", "UNKNOWN_FIELDS");
    let r = c.call("/item/get", json!({"access_token": 12})).await;
    assert_error(&r, 400, "INVALID_REQUEST", "INVALID_FIELD");
    let r = c
        .call(
            "/item/get",
            json!({"access_token": "access-sandbox-00000000-0000-4000-8000-000000000000"}),
        )
        .await;
    assert_error(&r, 400, "INVALID_INPUT", "INVALID_ACCESS_TOKEN");
    assert!(r.json()["display_message"].is_null());
}

#[tokio::test]
async fn item_get_reports_a_healthy_item_and_its_freshness() {
    let c = plaid();
    let r = c
        .call("/item/get", json!({"access_token": c.token()}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_shape(&r, "item_get.json");
    let body = r.json();
    assert!(body["item"]["error"].is_null());
    assert_eq!(body["item"]["item_id"], c.credential("item_id"));
    assert_eq!(body["item"]["billed_products"], json!(["investments"]));
    assert_eq!(body["item"]["institution_id"], "ins_109508");
    assert_eq!(
        body["status"]["investments"]["last_successful_update"],
        "2026-01-05T15:00:00Z"
    );
    c.advance(2 * HOUR).await;
    let later = c
        .call("/item/get", json!({"access_token": c.token()}))
        .await
        .json();
    assert_eq!(
        later["status"]["investments"]["last_successful_update"],
        "2026-01-05T17:00:00Z"
    );
}

#[tokio::test]
async fn reset_login_makes_data_requests_item_login_required_and_item_get_says_so() {
    let c = plaid();
    let (access, item_id) = c
        .link(
            json!({"webhook": "https://raxx.example/hook"}),
            json!(["investments"]),
        )
        .await;
    let r = c
        .call("/sandbox/item/reset_login", json!({"access_token": access}))
        .await;
    assert_shape(&r, "sandbox_item_reset_login.json");
    for path in ["/investments/holdings/get", "/accounts/get"] {
        let r = c.call(path, json!({"access_token": access})).await;
        assert_error(&r, 400, "ITEM_ERROR", "ITEM_LOGIN_REQUIRED");
    }
    let item = c.call("/item/get", json!({"access_token": access})).await;
    assert_eq!(item.status, StatusCode::OK);
    assert_shape(&item, "item_get_login_required.json");
    assert_eq!(
        item.json()["item"]["error"]["error_code"],
        "ITEM_LOGIN_REQUIRED"
    );
    assert!(item.json()["status"]["investments"]["last_failed_update"].is_string());
    let hooks = c.get("/_sim/webhooks").await.json();
    let error = hooks
        .as_array()
        .unwrap()
        .iter()
        .map(|d| serde_json::from_str::<Value>(d["body"].as_str().unwrap()).unwrap())
        .find(|b| b["item_id"] == item_id && b["webhook_type"] == "ITEM")
        .expect("an ITEM: ERROR webhook");
    assert_eq!(error["error"]["status"], 400);
    assert_eq!(error["webhook_code"], "ERROR");
    // The connection's own Item is untouched.
    assert_eq!(c.holdings().await.status, StatusCode::OK);
}

#[tokio::test]
async fn removed_items_are_not_found() {
    let c = plaid();
    let (access, _) = c.link(json!({}), json!(["investments"])).await;
    let r = c
        .call("/item/remove", json!({"access_token": access}))
        .await;
    assert_shape(&r, "item_remove.json");
    let r = c
        .call("/accounts/get", json!({"access_token": access}))
        .await;
    assert_error(&r, 400, "ITEM_ERROR", "ITEM_NOT_FOUND");
}

// --- the institution's data ------------------------------------------------------------------------

/// The ledger's positions of an account, as Plaid counts them.
fn truth(ledger: &Ledger, account: &str) -> Vec<(String, Decimal, Decimal)> {
    let view = ledger
        .accounts
        .iter()
        .find(|a| a.account_id == account)
        .unwrap();
    let mut out: Vec<_> = view
        .positions
        .iter()
        .filter(|p| !p.quantity.is_zero())
        .map(|p| {
            (
                p.instrument.to_string(),
                p.quantity * p.instrument.multiplier(),
                p.cost_basis,
            )
        })
        .collect();
    out.push(("cash".into(), view.cash, view.cash));
    out.sort();
    out
}

fn imported(holdings: &Value, account: &str) -> Vec<(String, Decimal, Decimal)> {
    let securities = holdings["securities"].as_array().unwrap();
    let mut out: Vec<_> = holdings["holdings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["account_id"] == account)
        .map(|h| {
            let s = securities
                .iter()
                .find(|s| s["security_id"] == h["security_id"])
                .expect("every holding's security is listed");
            let name = match (s["type"].as_str(), &s["option_contract"]) {
                (Some("cash"), _) => "cash".to_string(),
                (_, Value::Object(_)) => {
                    mbt::Instrument::parse_symbol(s["ticker_symbol"].as_str().unwrap()).to_string()
                }
                _ => s["ticker_symbol"].as_str().unwrap().to_string(),
            };
            (name, dec(&h["quantity"]), dec(&h["cost_basis"]))
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn holdings_are_the_institutions_and_change_over_simulated_time() {
    let c = plaid();
    let r = c.holdings().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_shape(&r, "investments_holdings_get.json");
    let body = r.json();
    let ledger = c.ledger().await;
    for account in [
        "JqMLm4rJwpF6gMPJwBqdh9ZjjPvvpDcb7kDK1",
        "k67E4xKvMlhmleEa4pg9hlwGGNnnEeixPolGm",
    ] {
        assert_eq!(
            imported(&body, account),
            truth(&ledger, account),
            "{account}"
        );
    }
    // Options are shares-equivalent, and described as derivatives.
    let option = body["securities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "derivative")
        .expect("the holder's call");
    assert_eq!(option["option_contract"]["contract_type"], "call");
    assert!(body["securities"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s.get("figi").is_some()));
    let before = imported(&body, IRA);
    c.advance(5 * HOUR).await;
    let later = c.holdings().await.json();
    let ledger = c.ledger().await;
    assert_eq!(imported(&later, IRA), truth(&ledger, IRA));
    assert_ne!(
        imported(&later, IRA),
        before,
        "five postings changed nothing"
    );
    assert_eq!(
        later["holdings"][0]["institution_price_datetime"],
        "2026-01-05T20:00:00Z"
    );
    let filtered = c
        .call(
            "/investments/holdings/get",
            json!({"access_token": c.token(), "options": {"account_ids": [IRA]}}),
        )
        .await
        .json();
    assert!(filtered["holdings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["account_id"] == IRA));
    let unknown = c
        .call(
            "/investments/holdings/get",
            json!({"access_token": c.token(), "options": {"account_ids": ["nope"]}}),
        )
        .await;
    assert_error(&unknown, 400, "INVALID_INPUT", "INVALID_ACCOUNT_ID");
}

#[tokio::test]
async fn transactions_page_in_a_stable_newest_first_order_and_equal_the_history() {
    let c = plaid();
    c.advance(4 * HOUR).await;
    let (mut seen, mut offset) = (Vec::new(), 0);
    let total = loop {
        let r = c.transactions(json!({"count": 2, "offset": offset})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_shape(&r, "investments_transactions_get_page1.json");
        let page = r.json();
        let rows = page["investment_transactions"].as_array().unwrap().clone();
        let used: Vec<&Value> = page["securities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| &s["security_id"])
            .collect();
        assert!(rows
            .iter()
            .all(|t| t["security_id"].is_null() || used.contains(&&t["security_id"])));
        offset += rows.len();
        seen.extend(rows);
        let total = page["total_investment_transactions"].as_u64().unwrap() as usize;
        if offset >= total {
            break total;
        }
    };
    let ledger = c.ledger().await;
    assert_eq!(total, ledger.holder_activity.len());
    let times: Vec<&str> = seen
        .iter()
        .map(|t| t["transaction_datetime"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    let again = c.transactions(json!({"count": 500})).await.json();
    assert_eq!(
        again["investment_transactions"].as_array().unwrap(),
        &seen,
        "stable across calls"
    );
    for truth in &ledger.holder_activity {
        let t = seen
            .iter()
            .find(|t| t["investment_transaction_id"] == truth.id.as_str())
            .unwrap_or_else(|| panic!("{truth:?} missing"));
        assert_eq!(
            dec(&t["amount"]),
            -truth.amount,
            "Plaid's sign: positive is cash out"
        );
        assert_eq!(t["account_id"], truth.account.as_str());
        let (kind, sign) = match truth.kind {
            HolderActivityKind::Buy => ("buy", Decimal::ONE),
            HolderActivityKind::Sell => ("sell", -Decimal::ONE),
            HolderActivityKind::Dividend | HolderActivityKind::Contribution => {
                ("cash", Decimal::ZERO)
            }
            HolderActivityKind::Fee => ("fee", Decimal::ZERO),
        };
        assert_eq!(t["type"], kind);
        let units = truth
            .instrument
            .as_ref()
            .map_or(Decimal::ONE, |i| i.multiplier());
        assert_eq!(dec(&t["quantity"]), sign * truth.quantity * units, "{t}");
    }
    let window = c
        .call(
            "/investments/transactions/get",
            json!({"access_token": c.token(), "start_date": "2026-01-06", "end_date": "2026-12-31"}),
        )
        .await
        .json();
    assert_eq!(window["total_investment_transactions"], 0);
    for (options, what) in [
        (json!({"count": 501}), "count"),
        (json!({"count": 0}), "count"),
        (json!({"offset": -1}), "offset"),
        (json!({"count": "2"}), "count as a string"),
    ] {
        let r = c.transactions(options).await;
        assert_error(&r, 400, "INVALID_REQUEST", "INVALID_FIELD");
        let _ = what;
    }
    let backwards = c
        .call(
            "/investments/transactions/get",
            json!({"access_token": c.token(), "start_date": "2026-02-01", "end_date": "2026-01-01"}),
        )
        .await;
    assert_error(&backwards, 400, "INVALID_REQUEST", "INVALID_FIELD");
    let missing = c
        .call(
            "/investments/transactions/get",
            json!({"access_token": c.token(), "start_date": "2026-01-01"}),
        )
        .await;
    assert_error(&missing, 400, "INVALID_REQUEST", "MISSING_FIELDS");
}

#[tokio::test]
async fn a_later_item_sees_the_same_institution_under_its_own_ids() {
    let c = plaid();
    let (access, _) = c.link(json!({}), json!(["investments"])).await;
    let own = c.holdings().await.json();
    let other = c
        .call("/investments/holdings/get", json!({"access_token": access}))
        .await
        .json();
    let ids = |v: &Value| -> Vec<String> {
        v["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["account_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(ids(&own).iter().all(|id| !ids(&other).contains(id)));
    let quantities = |v: &Value| -> Vec<String> {
        v["holdings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["quantity"].to_string())
            .collect()
    };
    assert_eq!(quantities(&own), quantities(&other));
}

// --- limits and faults -----------------------------------------------------------------------------

#[tokio::test]
async fn holdings_are_limited_per_item_per_minute() {
    let c = plaid();
    let (access, _) = c.link(json!({}), json!(["investments"])).await;
    let call = || c.call("/investments/holdings/get", json!({"access_token": access}));
    for _ in 0..100 {
        assert_eq!(call().await.status, StatusCode::OK);
    }
    let limited = call().await;
    assert_error(
        &limited,
        429,
        "RATE_LIMIT_EXCEEDED",
        "INVESTMENT_HOLDINGS_GET_LIMIT",
    );
    assert!(
        limited.headers.get("retry-after").is_none(),
        "Plaid says no wait"
    );
    assert_eq!(
        c.holdings().await.status,
        StatusCode::OK,
        "another Item is not limited"
    );
    c.advance(60_000).await;
    assert_eq!(call().await.status, StatusCode::OK);
}

#[tokio::test]
async fn fault_plans_answer_in_plaids_words() {
    let cases = [
        (
            "outage",
            "fault = { kind = \"outage\" }",
            500,
            "API_ERROR",
            "INTERNAL_SERVER_ERROR",
        ),
        (
            "refresh_expiry",
            "operations = [\"positions\"]\nfault = { kind = \"refresh_expiry\" }",
            400,
            "ITEM_ERROR",
            "ITEM_LOGIN_REQUIRED",
        ),
        (
            "token_expiry",
            "fault = { kind = \"token_expiry\" }",
            400,
            "ITEM_ERROR",
            "ITEM_LOGIN_REQUIRED",
        ),
        (
            "not_ready",
            "fault = { kind = \"not_ready\" }",
            400,
            "ITEM_ERROR",
            "PRODUCT_NOT_READY",
        ),
        (
            "downstream_outage",
            "fault = { kind = \"downstream_outage\" }",
            400,
            "INSTITUTION_ERROR",
            "INSTITUTION_DOWN",
        ),
        (
            "rate_limit",
            "fault = { kind = \"rate_limit\" }",
            429,
            "RATE_LIMIT_EXCEEDED",
            "INVESTMENT_HOLDINGS_GET_LIMIT",
        ),
    ];
    for (what, rule, status, error_type, code) in cases {
        let c = plaid_with(plan(&format!("[[rules]]\n{rule}\n")));
        let r = c.holdings().await;
        assert_eq!(r.status.as_u16(), status, "{what}: {}", r.text);
        assert_error(&r, status, error_type, code);
    }
    let c = plaid_with(plan("[[rules]]\nfault = { kind = \"rate_limit\" }\n"));
    let r = c.transactions(json!({})).await;
    assert_error(
        &r,
        429,
        "RATE_LIMIT_EXCEEDED",
        "INVESTMENT_TRANSACTIONS_LIMIT",
    );
    // Plaid's 429 names no wait (no Retry-After, no limit headers): a
    // request right after one comes inside no wait the model asked for.
    let c = plaid_with(plan("[[rules]]\nfault = { kind = \"rate_limit\" }\n"));
    let first = c.holdings().await;
    assert_eq!(first.status.as_u16(), 429);
    assert!(first.headers.get("retry-after").is_none());
    assert_eq!(c.holdings().await.status.as_u16(), 429);
    assert!(c.ledger().await.throttle_breaches.is_empty());
    // Item login required only on the data operations: /item/get still answers.
    let c = plaid_with(plan("[[rules]]\noperations = [\"positions\", \"account\"]\nfault = { kind = \"refresh_expiry\" }\n"));
    assert_eq!(
        c.call("/item/get", json!({"access_token": c.token()}))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_stale_answer_is_the_institutions_data_of_then_and_says_how_old() {
    let c = plaid_with(plan(
        "[[rules]]\nfault = { kind = \"stale_read\", age_ms = 7200000 }\n",
    ));
    c.advance(3 * HOUR).await;
    let item = c
        .call("/item/get", json!({"access_token": c.token()}))
        .await
        .json();
    let updated = item["status"]["investments"]["last_successful_update"]
        .as_str()
        .unwrap();
    assert!(updated.starts_with("2026-01-05T16:00:0"), "{updated}");
    assert!(item["status"]["investments"]["last_failed_update"]
        .as_str()
        .unwrap()
        .starts_with("2026-01-05T18:00:0"));
    let stale = c.holdings().await.json();
    assert_eq!(
        stale["holdings"][0]["institution_price_datetime"],
        "2026-01-05T16:00:00Z"
    );
    let ledger = c.ledger().await;
    let cache = mbt::Timestamp::from_secs(1_767_625_200 + 3_600);
    let then: Vec<_> = ledger
        .holder_activity
        .iter()
        .filter(|a| a.account == IRA && a.time <= cache)
        .collect();
    let later: Vec<_> = ledger
        .holder_activity
        .iter()
        .filter(|a| a.account == IRA)
        .collect();
    let rows = c
        .transactions(json!({"account_ids": [IRA], "count": 500}))
        .await
        .json();
    assert_eq!(
        rows["total_investment_transactions"].as_u64().unwrap() as usize,
        then.len()
    );
    assert!(
        later.len() > then.len(),
        "the cache hides the later postings"
    );
}

// --- no orders, ever -------------------------------------------------------------------------------

#[tokio::test]
async fn order_shaped_requests_get_plaids_404_and_are_recorded() {
    let c = plaid();
    let attempts = [
        (Method::POST, "/v2/orders"),
        (Method::POST, "/investments/orders/place"),
        (Method::DELETE, "/v1/accounts/VA1/orders/5"),
        (Method::PUT, "/orders/5"),
        (Method::POST, "/api/v1/trade/place"),
    ];
    for (method, path) in &attempts {
        let r = c
            .send(method.clone(), path, "application/json", "{\"qty\": 1}")
            .await;
        assert_error(&r, 404, "INVALID_REQUEST", "NOT_FOUND");
    }
    // Not order-shaped: a read of an unknown path, and a read of orders.
    assert_eq!(c.get("/orders").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        c.call("/transactions/get", json!({})).await.status,
        StatusCode::NOT_FOUND
    );
    let ledger = c.ledger().await;
    assert!(ledger.orders.is_empty(), "the face has no order route");
    let recorded: Vec<(&str, &str)> = ledger
        .order_attempts
        .iter()
        .map(|a| (a.method.as_str(), a.path.as_str()))
        .collect();
    assert_eq!(
        recorded,
        attempts
            .iter()
            .map(|(m, p)| (m.as_str(), *p))
            .collect::<Vec<_>>()
    );
}

// --- readiness and webhooks ------------------------------------------------------------------------

#[tokio::test]
async fn investments_asked_asynchronously_are_not_ready_until_extracted() {
    let c = plaid();
    let (access, item_id) = c
        .link(
            json!({"webhook": "https://raxx.example/hook"}),
            json!(["transactions"]),
        )
        .await;
    let body = json!({"access_token": access, "start_date": "2025-01-01", "end_date": "2026-12-31",
        "options": {"async_update": true}});
    let r = c.call("/investments/transactions/get", body.clone()).await;
    assert_error(&r, 400, "ITEM_ERROR", "PRODUCT_NOT_READY");
    c.advance(30_000).await;
    let r = c.call("/investments/transactions/get", body.clone()).await;
    assert_error(&r, 400, "ITEM_ERROR", "PRODUCT_NOT_READY");
    c.advance(31_000).await;
    let r = c.call("/investments/transactions/get", body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json()["total_investment_transactions"].as_u64().unwrap() > 0);
    let hooks = c.get("/_sim/webhooks").await.json();
    let historical = hooks
        .as_array()
        .unwrap()
        .iter()
        .map(|d| serde_json::from_str::<Value>(d["body"].as_str().unwrap()).unwrap())
        .find(|b| b["item_id"] == item_id.as_str() && b["webhook_code"] == "HISTORICAL_UPDATE")
        .expect("HISTORICAL_UPDATE");
    let f = fixture("webhook_investments_historical_update.json");
    assert_eq!(mismatch(&historical, &f), None);
}

#[tokio::test]
async fn webhooks_announce_updates_with_a_jws_over_the_body() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use sha2::{Digest, Sha256};

    let c = plaid();
    let url = "https://raxx.example/plaid/webhook";
    let (access, item_id) = c
        .link(json!({"webhook": url}), json!(["investments"]))
        .await;
    let fired = c
        .call(
            "/sandbox/item/fire_webhook",
            json!({"access_token": access, "webhook_code": "DEFAULT_UPDATE", "webhook_type": "HOLDINGS"}),
        )
        .await;
    assert_shape(&fired, "sandbox_item_fire_webhook.json");
    c.advance(HOUR).await;
    let hooks = c.get("/_sim/webhooks").await.json();
    let mine: Vec<&Value> = hooks
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["url"] == url)
        .collect();
    let bodies: Vec<Value> = mine
        .iter()
        .map(|d| serde_json::from_str(d["body"].as_str().unwrap()).unwrap())
        .collect();
    let codes: Vec<(&str, &str)> = bodies
        .iter()
        .map(|b| {
            (
                b["webhook_type"].as_str().unwrap(),
                b["webhook_code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("HOLDINGS", "DEFAULT_UPDATE"),
            ("HOLDINGS", "DEFAULT_UPDATE"),
            ("INVESTMENTS_TRANSACTIONS", "DEFAULT_UPDATE")
        ]
    );
    assert!(bodies.iter().all(|b| b["item_id"] == item_id.as_str()));
    assert_eq!(
        mismatch(&bodies[0], &fixture("webhook_holdings_default_update.json")),
        None
    );
    assert_eq!(
        mismatch(
            &bodies[2],
            &fixture("webhook_investments_transactions_default_update.json")
        ),
        None
    );
    let jws = mine[1]["headers"]["Plaid-Verification"].as_str().unwrap();
    let parts: Vec<&str> = jws.split('.').collect();
    assert_eq!(parts.len(), 3);
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let digest: String = Sha256::digest(mine[1]["body"].as_str().unwrap().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(claims["request_body_sha256"], digest);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "ES256");
    let item = c
        .call("/item/get", json!({"access_token": access}))
        .await
        .json();
    assert_eq!(
        item["status"]["last_webhook"]["code_sent"],
        "DEFAULT_UPDATE"
    );
}

// --- determinism and hostile input -----------------------------------------------------------------

#[tokio::test]
async fn same_seed_same_answers() {
    let a = plaid();
    let b = plaid();
    for c in [&a, &b] {
        c.advance(2 * HOUR).await;
    }
    assert_eq!(a.holdings().await.text, b.holdings().await.text);
    assert_eq!(
        a.transactions(json!({})).await.text,
        b.transactions(json!({})).await.text
    );
}

#[tokio::test]
async fn hostile_bodies_are_answered_never_a_panic() {
    let c = plaid();
    let token = c.token();
    let bodies = [
        json!({"access_token": token, "start_date": "2026-13-45", "end_date": "2026-01-01"}),
        json!({"access_token": token, "start_date": "x", "end_date": null}),
        json!({"access_token": token, "start_date": "2026-01-01", "end_date": "2026-01-02",
               "options": {"count": 1e300, "offset": 1e30}}),
        json!({"access_token": token, "start_date": "2026-01-01", "end_date": "2026-01-02",
               "options": {"offset": 9223372036854775807i64, "account_ids": [1, 2]}}),
        json!({"access_token": [token], "options": "all"}),
        json!(null),
        json!("text"),
    ];
    for body in bodies {
        for path in [
            "/investments/transactions/get",
            "/investments/holdings/get",
            "/accounts/get",
        ] {
            let r = c.call(path, body.clone()).await;
            assert!(
                r.status.is_client_error() || r.status.is_success(),
                "{path} {body}: {}",
                r.text
            );
            let _ = r.json();
        }
    }
    let huge = c
        .call(
            "/investments/transactions/get",
            json!({"access_token": token, "start_date": "2026-01-01", "end_date": "2026-01-02",
                   "options": {"offset": 9223372036854775807i64}}),
        )
        .await;
    assert_eq!(huge.status, StatusCode::OK, "{}", huge.text);
    assert_eq!(huge.json()["investment_transactions"], json!([]));
}
