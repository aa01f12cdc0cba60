//! The Plaid adapter against Plaid's bodies (plaid.md §2-§4): every
//! fixture in `test_data/plaid/` served and parsed (holdings in contract
//! units with their freshness, balances, paged transactions with Plaid's
//! signs), every error code in its contract kind, pages that overlap or
//! shift while an import runs, hostile bodies, and no secret in a request
//! body or an error. Only deliberately broken bodies are written here.

mod common;

use std::time::Duration;

use adapters::http::{HttpSetup, SystemClock};
use adapters::plaid::{exchange_public_token, PlaidConfig, PlaidSource};
use adapters::{ErrorKind, Instrument, ReadOnlySource, TransactionKind};
use common::json_body as answer;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request};

const IRA: &str = "JqMLm4rJwpF6gMPJwBqdh9ZjjPvvpDcb7kDK1";
const K401: &str = "k67E4xKvMlhmleEa4pg9hlwGGNnnEeixPolGm";
const CLIENT_ID: &str = "5f0c1e2d3a4b5c6d7e8f9a0b";
const SECRET: &str = "0123456789abcdef0123456789abcd";
const TOKEN: &str = "access-sandbox-de3ce8ef-33f8-452c-a685-8671031fc0f6";

fn setup() -> HttpSetup {
    common::setup(SystemClock, Duration::from_millis(400))
}

fn source(server: &MockServer, account: &str, page_size: usize) -> PlaidSource {
    PlaidSource::new(
        PlaidConfig {
            base_url: server.uri(),
            client_id: CLIENT_ID.into(),
            secret: SECRET.into(),
            access_token: TOKEN.into(),
            account_id: account.into(),
            page_size,
        },
        setup(),
    )
}

fn fixture(name: &str) -> String {
    common::fixture("plaid", name)
}

fn fixture_json(name: &str) -> Value {
    common::fixture_json("plaid", name)
}

async fn serve(server: &MockServer, route: &str, status: u16, body: &str) {
    Mock::given(method("POST"))
        .and(path(route))
        .respond_with(answer(status, body))
        .mount(server)
        .await;
}

async fn healthy_item(server: &MockServer) {
    serve(server, "/item/get", 200, &fixture("item_get.json")).await;
}

// --- every fixture, parsed --------------------------------------------------------------------------

#[tokio::test]
async fn holdings_in_contract_units_without_cash_with_their_age() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/investments/holdings/get"))
        .and(header("PLAID-CLIENT-ID", CLIENT_ID))
        .and(header("PLAID-SECRET", SECRET))
        .and(header("Plaid-Version", "2020-09-14"))
        .and(body_partial_json(
            json!({"access_token": TOKEN, "options": {"account_ids": [K401]}}),
        ))
        .respond_with(answer(200, &fixture("investments_holdings_get.json")))
        .mount(&server)
        .await;
    healthy_item(&server).await;
    let h = source(&server, K401, 500).get_holdings().await.unwrap();
    assert_eq!(h.account_id, K401);
    let got: Vec<(String, Decimal, Decimal)> = h
        .positions
        .iter()
        .map(|p| (p.instrument.to_string(), p.quantity, p.average_price))
        .collect();
    assert_eq!(
        got,
        [
            ("ACHN".to_string(), dec!(1), dec!(1.5)),
            ("DBLTX".to_string(), dec!(2), dec!(10)),
            ("MIPTX".to_string(), dec!(23.567), dec!(27.000042)),
        ],
        "cash (USD) is not a position; the average price is the total cost over the quantity (636.31 / 23.567)"
    );
    // The older of the prices' date and the Item's last update.
    assert_eq!(h.as_of.as_deref(), Some("2026-02-09T00:00:00Z"));

    let ira = source(&server, IRA, 500).get_holdings().await;
    // The matcher above only answers for the 401k: the IRA's call is refused by wiremock.
    assert!(ira.is_err());
}

#[tokio::test]
async fn option_holdings_count_contracts_and_crypto_is_not_a_position() {
    let server = MockServer::start().await;
    serve(
        &server,
        "/investments/holdings/get",
        200,
        &fixture("investments_holdings_get.json"),
    )
    .await;
    healthy_item(&server).await;
    let ira = source(&server, IRA, 500).get_holdings().await.unwrap();
    assert_eq!(ira.positions.len(), 1, "{ira:?}");
    let option = &ira.positions[0];
    assert_eq!(
        option.instrument,
        Instrument::parse_symbol("NFLX  260918C00355000")
    );
    assert_eq!(
        option.quantity,
        dec!(1),
        "100 shares-equivalent is one contract"
    );
    assert_eq!(
        option.average_price,
        dec!(0.011),
        "per share: 1.10 over 100 shares"
    );
    let crypto = source(&server, "ax0xgOBYRAIqOOjeLZr0iZBb8r6K88HZXpvmq", 500)
        .get_holdings()
        .await
        .unwrap();
    assert!(
        crypto.positions.is_empty(),
        "DOGE is not in dollars: {crypto:?}"
    );
}

#[tokio::test]
async fn item_freshness_bounds_as_of_and_an_item_error_inside_a_200_is_typed() {
    let server = MockServer::start().await;
    let mut holdings = fixture_json("investments_holdings_get.json");
    for h in holdings["holdings"].as_array_mut().unwrap() {
        h["institution_price_datetime"] = json!("2026-02-11T15:30:00Z");
    }
    serve(
        &server,
        "/investments/holdings/get",
        200,
        &holdings.to_string(),
    )
    .await;
    healthy_item(&server).await;
    let h = source(&server, K401, 500).get_holdings().await.unwrap();
    assert_eq!(
        h.as_of.as_deref(),
        Some("2026-02-10T06:02:11Z"),
        "the Item's last update is older"
    );

    let server = MockServer::start().await;
    serve(
        &server,
        "/investments/holdings/get",
        200,
        &holdings.to_string(),
    )
    .await;
    serve(
        &server,
        "/item/get",
        200,
        &fixture("item_get_login_required.json"),
    )
    .await;
    let e = source(&server, K401, 500).get_holdings().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ReauthRequired, "{e}");
    assert_eq!(e.broker_code.as_deref(), Some("ITEM_LOGIN_REQUIRED"));
}

#[tokio::test]
async fn balances_are_cash_and_value() {
    let server = MockServer::start().await;
    serve(&server, "/accounts/get", 200, &fixture("accounts_get.json")).await;
    let crypto = source(&server, "ax0xgOBYRAIqOOjeLZr0iZBb8r6K88HZXpvmq", 500)
        .get_account()
        .await
        .unwrap();
    assert_eq!(
        (crypto.cash, crypto.buying_power, crypto.equity),
        (dec!(48200.03), dec!(48200.03), dec!(48200.03))
    );
    let k = source(&server, K401, 500).get_account().await.unwrap();
    assert_eq!(
        (k.cash, k.equity),
        (dec!(0), dec!(24580.0605)),
        "no available balance: no cash claimed"
    );
    let missing = source(&server, "nope", 500)
        .get_account()
        .await
        .unwrap_err();
    assert_eq!(missing.kind, ErrorKind::NotFound);
}

/// kind, instrument, quantity, price, amount, fees
type Row = (
    TransactionKind,
    Option<String>,
    Decimal,
    Option<Decimal>,
    Decimal,
    Decimal,
);

async fn paged(server: &MockServer, pages: [&str; 3]) {
    for (i, name) in pages.iter().enumerate() {
        Mock::given(method("POST"))
            .and(path("/investments/transactions/get"))
            .and(body_partial_json(
                json!({"options": {"offset": i * 2, "count": 2}}),
            ))
            .respond_with(answer(200, &fixture(name)))
            .mount(server)
            .await;
    }
}

#[tokio::test]
async fn every_page_is_read_with_plaids_signs_turned_into_the_contracts() {
    let server = MockServer::start().await;
    paged(
        &server,
        [
            "investments_transactions_get_page1.json",
            "investments_transactions_get_page2.json",
            "investments_transactions_get_page3.json",
        ],
    )
    .await;
    let s = source(&server, K401, 2);
    let rows = s
        .get_transactions("2024-02-10", "2026-02-10")
        .await
        .unwrap();
    let got: Vec<Row> = rows
        .iter()
        .map(|t| {
            (
                t.kind,
                t.instrument.as_ref().map(|i| i.to_string()),
                t.quantity,
                t.price,
                t.amount,
                t.fees,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                TransactionKind::Dividend,
                Some("SBSI".into()),
                dec!(0),
                None,
                dec!(8.72),
                dec!(0)
            ),
            (
                TransactionKind::Sell,
                Some("MIPTX".into()),
                dec!(47.74104242992852),
                Some(dec!(27.53)),
                dec!(1289.01),
                dec!(7.99)
            ),
            (
                TransactionKind::Buy,
                Some("DBLTX".into()),
                dec!(0.7388014749727547),
                Some(dec!(10.42)),
                dec!(-7.7),
                dec!(7.99)
            ),
            (
                TransactionKind::Fee,
                None,
                dec!(0),
                None,
                dec!(-2.5),
                dec!(0)
            ),
            (
                TransactionKind::Transfer,
                None,
                dec!(0),
                None,
                dec!(500),
                dec!(0)
            ),
        ],
        "amount: negative is money out; quantity: positive units"
    );
    assert!(rows.iter().all(|t| t.account_id == K401));
    assert_eq!(rows[0].date, "2026-02-06");
    let again = s
        .get_transactions("2024-02-10", "2026-02-10")
        .await
        .unwrap();
    assert_eq!(again, rows, "a repeated import is the same");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 6, "three pages, twice");
}

#[tokio::test]
async fn overlapping_pages_and_a_total_that_moves_are_read_once_each() {
    let server = MockServer::start().await;
    // A sync lands after page 1: a new row at the top shifts everything
    // by one, so page 2 repeats page 1's last row and the total grows.
    let mut page1 = fixture_json("investments_transactions_get_page1.json");
    let mut page2 = fixture_json("investments_transactions_get_page2.json");
    let mut page3 = fixture_json("investments_transactions_get_page3.json");
    let newest = {
        let mut t = page1["investment_transactions"][0].clone();
        t["investment_transaction_id"] = json!("newNEWnewNEWnewNEWnewNEWnewNEWnewNEWn");
        t["date"] = json!("2026-02-09");
        t
    };
    let shifted_first = page1["investment_transactions"][1].clone();
    let old_page2 = page2["investment_transactions"].as_array().unwrap().clone();
    page2["investment_transactions"] = json!([shifted_first, old_page2[0]]);
    page3["investment_transactions"] = json!([
        old_page2[1],
        fixture_json("investments_transactions_get_page3.json")["investment_transactions"][0]
    ]);
    for p in [&mut page2, &mut page3] {
        p["total_investment_transactions"] = json!(6);
        p["securities"] = json!([
            fixture_json("investments_transactions_get_page1.json")["securities"][0],
            fixture_json("investments_transactions_get_page2.json")["securities"][0]
        ]);
    }
    let mut page1_later = page1.clone();
    page1_later["investment_transactions"] = json!([newest, page1["investment_transactions"][0]]);
    page1_later["total_investment_transactions"] = json!(6);
    page1["total_investment_transactions"] = json!(5);
    let mounts = [
        (0, &page1, Some(1)),
        (2, &page2, None),
        (4, &page3, None),
        (0, &page1_later, None),
    ];
    for (offset, body, times) in mounts {
        let mut m = Mock::given(method("POST"))
            .and(path("/investments/transactions/get"))
            .and(body_partial_json(json!({"options": {"offset": offset}})))
            .respond_with(answer(200, &body.to_string()));
        if let Some(n) = times {
            m = m.up_to_n_times(n);
        }
        m.mount(&server).await;
    }
    let rows = source(&server, K401, 2)
        .get_transactions("2024-02-10", "2026-02-10")
        .await
        .unwrap();
    let mut ids: Vec<&str> = rows.iter().map(|t| t.transaction_id.as_str()).collect();
    assert_eq!(ids.len(), 6, "{ids:?}");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6, "each once");
    assert!(
        rows.iter().any(|t| t.transaction_id.starts_with("newNEW")),
        "the new row is found by a second pass"
    );
    assert_eq!(rows[0].date, "2026-02-09", "newest first");
}

#[tokio::test]
async fn bad_windows_are_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    let s = source(&server, K401, 2);
    for (start, end) in [
        ("2026-02-10", "2026-01-01"),
        ("yesterday", "2026-01-01"),
        ("2026-01-01", "2026-13-01"),
    ] {
        let e = s.get_transactions(start, end).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidRequest, "{start}..{end}: {e}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_public_token_is_exchanged_once_for_the_items_access_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/item/public_token/exchange"))
        .and(body_partial_json(
            json!({"public_token": "public-sandbox-b0e2c4ee-a763-4df5-bfe9-46a46bce993d"}),
        ))
        .respond_with(answer(200, &fixture("item_public_token_exchange.json")))
        .expect(1)
        .mount(&server)
        .await;
    let linked = exchange_public_token(
        &server.uri(),
        CLIENT_ID,
        SECRET,
        "public-sandbox-b0e2c4ee-a763-4df5-bfe9-46a46bce993d",
        &setup(),
    )
    .await
    .unwrap();
    assert_eq!(linked.item_id, "M5eVJqLnv3tbzdngLDp9FL5OlDNxlNhlE55op");
    assert!(linked.access_token.starts_with("access-sandbox-"));
    assert!(
        !format!("{linked:?}").contains(&linked.access_token),
        "Debug redacts the token"
    );

    let server = MockServer::start().await;
    serve(
        &server,
        "/item/public_token/exchange",
        400,
        &fixture("error_invalid_public_token.json"),
    )
    .await;
    let e = exchange_public_token(
        &server.uri(),
        CLIENT_ID,
        SECRET,
        "public-sandbox-x",
        &setup(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (e.kind, e.broker_code.as_deref()),
        (ErrorKind::InvalidRequest, Some("INVALID_PUBLIC_TOKEN"))
    );
}

// --- every error kind -------------------------------------------------------------------------------

/// (fixture, HTTP status, kind, whether the adapter tries again)
const ERRORS: [(&str, u16, ErrorKind, bool); 12] = [
    (
        "error_item_login_required.json",
        400,
        ErrorKind::ReauthRequired,
        false,
    ),
    (
        "error_product_not_ready.json",
        400,
        ErrorKind::Unavailable,
        true,
    ),
    (
        "error_no_investment_accounts.json",
        400,
        ErrorKind::Unsupported,
        false,
    ),
    (
        "error_investment_holdings_get_limit.json",
        429,
        ErrorKind::RateLimited,
        true,
    ),
    (
        "error_investment_transactions_limit.json",
        429,
        ErrorKind::RateLimited,
        true,
    ),
    (
        "error_invalid_access_token.json",
        400,
        ErrorKind::ReauthRequired,
        false,
    ),
    (
        "error_invalid_public_token.json",
        400,
        ErrorKind::InvalidRequest,
        false,
    ),
    (
        "error_invalid_api_keys.json",
        400,
        ErrorKind::InvalidRequest,
        false,
    ),
    (
        "error_invalid_account_id.json",
        400,
        ErrorKind::NotFound,
        false,
    ),
    (
        "error_missing_fields.json",
        400,
        ErrorKind::InvalidRequest,
        false,
    ),
    (
        "error_institution_down.json",
        400,
        ErrorKind::Unavailable,
        true,
    ),
    (
        "error_internal_server_error.json",
        500,
        ErrorKind::Unavailable,
        true,
    ),
];

#[tokio::test]
async fn every_error_code_is_its_kind_and_only_transient_ones_are_retried() {
    for (name, status, kind, retried) in ERRORS {
        let server = MockServer::start().await;
        serve(&server, "/investments/holdings/get", status, &fixture(name)).await;
        let e = source(&server, K401, 500).get_holdings().await.unwrap_err();
        let code = fixture_json(name)["error_code"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(e.kind, kind, "{name}: {e}");
        assert_eq!(e.broker_code.as_deref(), Some(code.as_str()), "{name}");
        let sent = server.received_requests().await.unwrap().len();
        assert_eq!(sent > 1, retried, "{name}: {sent} requests");
        if kind == ErrorKind::RateLimited {
            assert_eq!(
                e.retry_after_ms,
                Some(adapters::plaid::RATE_LIMIT_WAIT_MS),
                "{name}"
            );
        }
        if code == "PRODUCT_NOT_READY" {
            assert_eq!(e.retry_after_ms, Some(adapters::plaid::NOT_READY_WAIT_MS));
        }
        assert!(e.message.contains(&code), "{name}: {e}");
    }
}

#[tokio::test]
async fn product_not_ready_is_waited_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/investments/holdings/get"))
        .respond_with(answer(400, &fixture("error_product_not_ready.json")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    serve(
        &server,
        "/investments/holdings/get",
        200,
        &fixture("investments_holdings_get.json"),
    )
    .await;
    healthy_item(&server).await;
    let h = source(&server, K401, 500).get_holdings().await.unwrap();
    assert_eq!(h.positions.len(), 3);
}

#[tokio::test]
async fn broken_answers_are_typed_never_a_panic() {
    let mut numbers_as_strings = fixture_json("investments_holdings_get.json");
    numbers_as_strings["holdings"][1]["quantity"] = json!("1");
    let mut unknown_security = fixture_json("investments_holdings_get.json");
    unknown_security["securities"] = json!([]);
    let mut bad_option = fixture_json("investments_holdings_get.json");
    bad_option["securities"][0]["option_contract"]["expiration_date"] = json!("someday");
    let mut huge = fixture_json("investments_holdings_get.json");
    huge["holdings"][1]["quantity"] = json!(1e300);
    let cases = [
        (502, "<html><body>502 Bad Gateway</body></html>".to_string(), ErrorKind::Unavailable),
        (404, "not json".to_string(), ErrorKind::NotFound),
        (200, "{\"holdings\": ".to_string(), ErrorKind::Unknown),
        (200, numbers_as_strings.to_string(), ErrorKind::Unknown),
        (200, unknown_security.to_string(), ErrorKind::Unknown),
        (200, bad_option.to_string(), ErrorKind::Unknown),
        (200, huge.to_string(), ErrorKind::Unknown),
        (400, json!({"error_type": "ITEM_ERROR", "error_code": "SOMETHING_NEW", "error_message": "?", "display_message": null}).to_string(), ErrorKind::Unknown),
    ];
    for (status, body, kind) in cases {
        let server = MockServer::start().await;
        serve(&server, "/investments/holdings/get", status, &body).await;
        healthy_item(&server).await;
        let e = source(&server, IRA, 500).get_holdings().await.unwrap_err();
        assert_eq!(e.kind, kind, "{status} {body:.80}: {e}");
    }
}

#[tokio::test]
async fn a_silent_plaid_is_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(answer(200, "{}").set_delay(Duration::from_secs(2)))
        .mount(&server)
        .await;
    let e = source(&server, K401, 500).get_account().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
}

// --- secrets ----------------------------------------------------------------------------------------

#[tokio::test]
async fn keys_travel_in_headers_only_and_never_reach_an_error() {
    let server = MockServer::start().await;
    serve(
        &server,
        "/investments/holdings/get",
        400,
        &fixture("error_item_login_required.json"),
    )
    .await;
    serve(
        &server,
        "/accounts/get",
        400,
        &fixture("error_invalid_api_keys.json"),
    )
    .await;
    let s = source(&server, K401, 500);
    let errors = [
        s.get_holdings().await.unwrap_err(),
        s.get_account().await.unwrap_err(),
    ];
    for e in errors {
        let text = format!("{e} {e:?} {}", serde_json::to_string(&e).unwrap());
        for secret in [CLIENT_ID, SECRET, TOKEN] {
            assert!(!text.contains(secret), "{text}");
        }
    }
    let requests: Vec<Request> = server.received_requests().await.unwrap();
    for r in &requests {
        let body = String::from_utf8_lossy(&r.body);
        assert!(
            !body.contains(SECRET) && !body.contains(CLIENT_ID),
            "{body}"
        );
        assert_eq!(r.headers.get("content-type").unwrap(), "application/json");
    }
    let config = PlaidConfig {
        base_url: server.uri(),
        client_id: CLIENT_ID.into(),
        secret: SECRET.into(),
        access_token: TOKEN.into(),
        account_id: K401.into(),
        page_size: 500,
    };
    let shown = format!("{config:?}");
    assert!(!shown.contains(SECRET) && !shown.contains(TOKEN) && !shown.contains(CLIENT_ID));
}

#[test]
fn it_describes_a_read_only_tier_c_source() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let d = rt.block_on(async {
        let server = MockServer::start().await;
        source(&server, K401, 500).describe()
    });
    assert_eq!((d.broker.as_str(), d.tier), ("plaid", adapters::Tier::C));
    assert!(d.capabilities.read_only && d.capabilities.order_types.is_empty());
}

#[tokio::test]
async fn a_revocation_removes_the_item_at_plaid_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/item/remove"))
        .and(body_partial_json(json!({"access_token": TOKEN})))
        .respond_with(answer(200, r#"{"request_id": "m8MDnv9okwxFNBV"}"#))
        .expect(1)
        .mount(&server)
        .await;
    assert!(source(&server, IRA, 100).revoke().await.unwrap());

    // An Item Plaid no longer knows: the link is gone, only the user can
    // make a new one.
    let server = MockServer::start().await;
    serve(
        &server,
        "/item/remove",
        400,
        r#"{"error_type": "ITEM_ERROR", "error_code": "ITEM_NOT_FOUND", "error_message": "the Item you requested cannot be found", "display_message": null, "request_id": "x"}"#,
    )
    .await;
    let e = source(&server, IRA, 100).revoke().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ReauthRequired);
}
