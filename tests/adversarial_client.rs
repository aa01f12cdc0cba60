//! A hostile client against every served model, on a real socket: a few
//! hundred malformed requests per broker, drawn from a fixed seed, with
//! valid ones interleaved. Garbage and truncated JSON, numbers past any
//! decimal (`79228162514264337593543950335`, `1e28`), negative and zero
//! quantities, unknown fields, array bodies, wrong content types, wrong or
//! missing credentials, odd symbols, unicode and very long strings, odd
//! methods on known paths, hostile path segments and query strings, and
//! the same at the `/_sim/` control surface. With no fault plan and no
//! rate limits, every request must get an HTTP answer below 500, no answer
//! may carry a secret (a credential or the control token) that the
//! vendor's own valid answers do not carry, and the ledger must read back
//! consistent afterwards.

mod common;

use std::sync::Arc;
use std::time::Duration;

use adapters::http::{request, HttpClient, HttpResponse, TcpDialer};
use axum::http::Method;
use broker_models::brokerage::Ledger;
use broker_models::faults::FaultPlan;
use broker_models::Connection;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Value};

use common::{serve, Served};

/// Requests per broker: enough to meet every kind of hostility many times,
/// few enough that all brokers together take seconds in a debug build.
const REQUESTS: usize = 300;

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// Stands for SnapTrade's signature of the request as finally sent.
const SIGNATURE: &str = "${signature}";

/// Stands for a raw JSON number in a body, replaced after serializing.
const RAW: &str = "__raw_number__";

/// Values a hostile client puts where a field's value belongs.
const HOSTILE_STRINGS: &[&str] = &[
    "79228162514264337593543950335",
    "-79228162514264337593543950335",
    "1e28",
    "1e-28",
    "-1",
    "0",
    "-0.0000000000000000000000000001",
    "0.000000000000000000000000000000001",
    "NaN",
    "Infinity",
    "",
    " ",
    "\u{0}",
    "AAPL\u{0}",
    "aapl",
    "🚀",
    "Ünïcödé",
    "../../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%00",
    "\r\nX-Injected: 1",
];

/// Raw JSON numbers a hostile client sends (not quoted).
const HOSTILE_NUMBERS: &[&str] = &[
    "79228162514264337593543950335",
    "79228162514264337593543950336",
    "-79228162514264337593543950335",
    "1e28",
    "1e308",
    "-1e308",
    "1e-400",
    "18446744073709551616",
    "-9223372036854775809",
    "-1",
    "0",
    "0.0000000000000000000000000001",
    "123456789012345678901234567890.5",
];

/// What a client of one broker needs: how it authenticates, where it
/// places an order (with a valid body) and what it reads.
struct Target {
    auth: Vec<(String, String)>,
    order_path: String,
    order_type: &'static str,
    order_body: String,
    /// (method, path, body): valid reads, JSON bodies where there are any.
    reads: Vec<(Method, String, String)>,
}

/// The broker's routes, from its reference notes. A broker added to the
/// registry without a row here fails the test, so none goes unexercised.
async fn target(c: &Connection, http: &HttpClient, root: &str) -> Target {
    let cred = |name: &str| c.credential(name);
    let bearer = || {
        vec![(
            "Authorization".into(),
            format!("Bearer {}", cred("access_token")),
        )]
    };
    let account = c.account();
    match c.broker.as_str() {
        "alpaca" => Target {
            auth: vec![
                ("APCA-API-KEY-ID".into(), cred("key_id")),
                ("APCA-API-SECRET-KEY".into(), cred("secret_key")),
            ],
            order_path: "/v2/orders".into(),
            order_type: JSON,
            // No client order id: Alpaca draws a fresh one for each order.
            order_body: json!({"symbol": "AAPL", "qty": "1", "side": "buy", "type": "market",
                "time_in_force": "day"})
            .to_string(),
            reads: gets(&[
                "/v2/account",
                "/v2/orders?status=all",
                "/v2/positions",
                "/v2/assets/AAPL",
                "/v2/clock",
            ]),
        },
        "tradier" => Target {
            auth: bearer(),
            order_path: format!("/v1/accounts/{account}/orders"),
            order_type: FORM,
            order_body: "class=equity&symbol=AAPL&side=buy&quantity=1&type=market&duration=day"
                .into(),
            reads: gets(&[
                &format!("/v1/accounts/{account}/balances"),
                &format!("/v1/accounts/{account}/orders"),
                &format!("/v1/accounts/{account}/positions"),
                "/v1/user/profile",
                "/v1/markets/clock",
            ]),
        },
        "tastytrade" => Target {
            auth: bearer(),
            order_path: format!("/accounts/{account}/orders"),
            order_type: JSON,
            order_body: json!({"time-in-force": "Day", "order-type": "Market", "legs": [
                {"instrument-type": "Equity", "symbol": "AAPL", "action": "Buy to Open", "quantity": 1}
            ]})
            .to_string(),
            reads: gets(&[
                "/customers/me/accounts",
                &format!("/accounts/{account}/balances"),
                &format!("/accounts/{account}/positions"),
                &format!("/accounts/{account}/orders"),
            ]),
        },
        "schwab" => {
            let auth = bearer();
            let numbers = send(&Peer { http, root, key: "" }, &auth, Method::GET, "/trader/v1/accounts/accountNumbers", None, "").await;
            let numbers: Value = serde_json::from_slice(&numbers.body).expect("account numbers");
            let hash = numbers[0]["hashValue"].as_str().expect("an account hash").to_string();
            Target {
                auth,
                order_path: format!("/trader/v1/accounts/{hash}/orders"),
                order_type: JSON,
                order_body: json!({"session": "NORMAL", "duration": "DAY", "orderType": "MARKET",
                    "orderStrategyType": "SINGLE", "orderLegCollection": [{"instruction": "BUY",
                    "instrument": {"assetType": "EQUITY", "symbol": "AAPL"}, "quantity": 1}]})
                .to_string(),
                reads: gets(&[
                    "/trader/v1/accounts/accountNumbers",
                    &format!("/trader/v1/accounts/{hash}?fields=positions"),
                    "/trader/v1/userPreference",
                ]),
            }
        }
        // Every request signed over its own path, query and body (§2): the
        // signature is made as each request is sent, so a hostile body still
        // reaches the handlers; a mangled one is refused as unsigned.
        "snaptrade" => {
            let user = format!(
                "userId={}&userSecret={}",
                cred("user_id"),
                cred("user_secret")
            );
            let q = |own: &str| {
                format!(
                    "?{user}{own}&clientId={}&timestamp=1767625200",
                    cred("client_id")
                )
            };
            Target {
                auth: vec![("Signature".into(), SIGNATURE.into())],
                order_path: format!("/trade/place{}", q("")),
                order_type: JSON,
                order_body: json!({"account_id": account, "action": "BUY", "order_type": "Market",
                    "time_in_force": "Day", "symbol": "AAPL", "units": 1})
                .to_string(),
                reads: gets(&[
                    &format!("/accounts{}", q("")),
                    &format!("/accounts/{account}/balances{}", q("")),
                    &format!("/accounts/{account}/positions/all{}", q("")),
                    &format!("/accounts/{account}/recentOrders{}", q("&only_executed=false")),
                    &format!("/authorizations{}", q("")),
                ]),
            }
        }
        // Read-only: every operation is a POST with the keys in the body.
        "plaid" => {
            let keys = json!({"client_id": cred("client_id"), "secret": cred("secret"),
                "access_token": cred("access_token")});
            let read = |path: &str| (Method::POST, path.to_string(), keys.to_string());
            Target {
                auth: Vec::new(),
                order_path: "/investments/holdings/get".into(),
                order_type: JSON,
                order_body: keys.to_string(),
                reads: vec![
                    read("/accounts/get"),
                    read("/item/get"),
                    read("/investments/holdings/get"),
                    (
                        Method::POST,
                        "/investments/transactions/get".into(),
                        json!({"client_id": cred("client_id"), "secret": cred("secret"),
                            "access_token": cred("access_token"),
                            "start_date": "2025-01-01", "end_date": "2026-01-05"})
                        .to_string(),
                    ),
                ],
            }
        }
        other => panic!("no adversarial target for broker {other:?}: add its routes here"),
    }
}

fn gets(paths: &[&str]) -> Vec<(Method, String, String)> {
    paths
        .iter()
        .map(|p| (Method::GET, p.to_string(), String::new()))
        .collect()
}

/// Where requests go: the model's root, and the key that signs them
/// (SnapTrade's consumer key; "" for brokers that do not sign).
struct Peer<'a> {
    http: &'a HttpClient,
    root: &'a str,
    key: &'a str,
}

/// One request and its answer; a dropped connection or a timeout fails the test.
async fn send(
    to: &Peer<'_>,
    headers: &[(String, String)],
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> HttpResponse {
    // SnapTrade's signature, made over the request as sent.
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    let signature = broker_models::snaptrade::signature_for(to.key, p, q, body.as_bytes());
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.clone(), v.replace(SIGNATURE, &signature)))
        .collect();
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let req = request(
        method.clone(),
        &format!("{}{path}", to.root),
        &headers,
        content_type,
        body.to_string().into(),
    )
    .unwrap_or_else(|e| panic!("building {method} {path}: {e:?}"));
    to.http
        .send(req)
        .await
        .unwrap_or_else(|e| panic!("{method} {path:.200} got no answer: {e:?}"))
}

/// A hostile request: (what it is, method, path, content type, body, headers).
struct Hostile {
    what: &'static str,
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: String,
    headers: Vec<(String, String)>,
}

fn draw<R: Rng>(rng: &mut R, t: &Target, control: &(String, String)) -> Hostile {
    let mut h = Hostile {
        what: "valid order",
        method: Method::POST,
        path: t.order_path.clone(),
        content_type: Some(t.order_type),
        body: t.order_body.clone(),
        headers: t.auth.clone(),
    };
    match rng.gen_range(0..16) {
        0 => {
            let (m, p, b) = t.reads.choose(rng).expect("reads").clone();
            h.what = "valid read";
            h.method = m;
            h.path = p;
            h.content_type = (!b.is_empty()).then_some(JSON);
            h.body = b;
        }
        1 => {}
        2 => {
            h.what = "a field's value made hostile";
            h.body = mutate_value(rng, &t.order_body, t.order_type);
        }
        3 => {
            h.what = "a field's value made hostile";
            h.body = mutate_value(rng, &t.order_body, t.order_type);
        }
        4 => {
            h.what = "garbage body";
            let garbage = [
                "{",
                "}",
                "{\"",
                "null",
                "[]",
                "[[[[[[[[[[",
                "{\"a\":",
                "\u{0}\u{1}\u{2}",
                "true",
                "\"AAPL\"",
                "{\"symbol\": \"AAPL\",}",
                "1e28",
                "\u{feff}{}",
            ];
            h.body = garbage.choose(rng).expect("garbage").to_string();
        }
        5 => {
            h.what = "unknown field";
            h.body = match serde_json::from_str::<Value>(&t.order_body) {
                Ok(Value::Object(mut o)) => {
                    o.insert("__proto__".into(), json!({"admin": true}));
                    o.insert("x".repeat(rng.gen_range(1..5000)), json!(1));
                    Value::Object(o).to_string()
                }
                _ => format!("{}&__proto__=1&{}=2", t.order_body, "x".repeat(3000)),
            };
        }
        6 => {
            h.what = "array body";
            h.body = format!("[{0},{0}]", t.order_body);
            h.content_type = Some(JSON);
        }
        7 => {
            h.what = "wrong content type";
            h.content_type = *[
                Some("text/plain"),
                Some(FORM),
                Some(JSON),
                Some("application/xml"),
                None,
            ]
            .choose(rng)
            .expect("types");
        }
        8 => {
            h.what = "missing or wrong credentials";
            h.headers = match rng.gen_range(0..3) {
                0 => Vec::new(),
                1 => t
                    .auth
                    .iter()
                    .map(|(k, v)| (k.clone(), format!("{v}x")))
                    .collect(),
                _ => vec![("Authorization".into(), "Bearer ".into())],
            };
            if t.auth.is_empty() {
                // Plaid's keys travel in the body.
                h.body = mutate_key(rng, &t.order_body);
            }
        }
        9 => {
            h.what = "odd method on a known path";
            let methods = ["PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "FOO"];
            h.method = Method::from_bytes(methods.choose(rng).expect("methods").as_bytes())
                .expect("method");
            let (_, p, _) = t.reads.choose(rng).expect("reads").clone();
            h.path = if rng.gen_bool(0.5) {
                p
            } else {
                t.order_path.clone()
            };
        }
        10 => {
            h.what = "hostile path segment";
            let segment = [
                "..%2F..%2Fetc%2Fpasswd",
                "%00",
                "%F0%9F%9A%80",
                "%ZZ",
                "-1",
                "79228162514264337593543950335",
            ]
            .choose(rng)
            .expect("segments")
            .to_string();
            let long = "A".repeat(rng.gen_range(100..8000));
            h.method = [Method::GET, Method::DELETE, Method::PUT]
                .choose(rng)
                .expect("m")
                .clone();
            h.path = format!(
                "{}/{}",
                t.order_path,
                if rng.gen_bool(0.3) { long } else { segment }
            );
        }
        11 => {
            h.what = "hostile query string";
            h.method = Method::GET;
            let (_, p, _) = t.reads.choose(rng).expect("reads").clone();
            let sep = if p.contains('?') { '&' } else { '?' };
            h.path = format!(
                "{p}{sep}limit=-1&status=%F0%9F%9A%80&after=79228162514264337593543950335&symbols=%00&until=1e28&{}=1",
                "q".repeat(rng.gen_range(1..2000))
            );
            h.body = String::new();
            h.content_type = None;
        }
        12 => {
            h.what = "control: no token, or a cross-site simple POST";
            h.path = "/_sim/price".into();
            h.headers = if rng.gen_bool(0.5) {
                Vec::new()
            } else {
                vec![control.clone()]
            };
            h.content_type = *[Some("text/plain"), Some(FORM), None]
                .choose(rng)
                .expect("t");
            h.body = r#"{"symbol":"AAPL","price":"1.00"}"#.into();
        }
        13 => {
            h.what = "control: hostile price";
            h.path = "/_sim/price".into();
            h.headers = vec![control.clone()];
            h.content_type = Some(JSON);
            let symbol = HOSTILE_STRINGS.choose(rng).expect("s");
            let price = HOSTILE_NUMBERS.choose(rng).expect("n");
            h.body = format!(r#"{{"symbol":{},"price":{price}}}"#, json!(symbol));
        }
        14 => {
            h.what = "control: advance";
            h.path = "/_sim/advance".into();
            h.headers = vec![control.clone()];
            h.content_type = Some(JSON);
            h.body = format!(
                r#"{{"ms":{}}}"#,
                [
                    "1000",
                    "60000",
                    "-1",
                    "1e28",
                    "9223372036854775807",
                    "\"5\""
                ]
                .choose(rng)
                .expect("ms")
            );
        }
        _ => {
            h.what = "control: reads with odd methods";
            h.path = [
                "/_sim/ledger",
                "/_sim/events?since=18446744073709551615",
                "/_sim/faults",
            ]
            .choose(rng)
            .expect("p")
            .to_string();
            h.method = [Method::GET, Method::POST, Method::DELETE]
                .choose(rng)
                .expect("m")
                .clone();
            h.headers = if rng.gen_bool(0.8) {
                vec![control.clone()]
            } else {
                Vec::new()
            };
            h.body = String::new();
            h.content_type = None;
        }
    }
    h
}

/// `body` (JSON or a form) with one value replaced by a hostile one.
fn mutate_value<R: Rng>(rng: &mut R, body: &str, content_type: &str) -> String {
    if content_type == FORM {
        let mut pairs: Vec<(String, String)> = body
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let i = rng.gen_range(0..pairs.len());
        let value = *HOSTILE_STRINGS.choose(rng).expect("s");
        pairs[i].1 = percent_encode(value);
        return pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
    }
    let mut v: Value = serde_json::from_str(body).expect("a JSON body");
    let mut leaves = Vec::new();
    leaf_paths(&v, String::new(), &mut leaves);
    let path = leaves.choose(rng).expect("a leaf").clone();
    let slot = v.pointer_mut(&path).expect("the leaf");
    let raw = rng.gen_bool(0.5);
    *slot = if raw {
        json!(RAW)
    } else if rng.gen_bool(0.2) {
        json!("Z".repeat(rng.gen_range(1000..100_000)))
    } else {
        json!(HOSTILE_STRINGS.choose(rng).expect("s"))
    };
    let text = v.to_string();
    if raw {
        text.replace(
            &format!("\"{RAW}\""),
            HOSTILE_NUMBERS.choose(rng).expect("n"),
        )
    } else {
        text
    }
}

/// A JSON body with one of its keys (Plaid's `client_id`, `secret`,
/// `access_token`) wrong or gone.
fn mutate_key<R: Rng>(rng: &mut R, body: &str) -> String {
    let mut v: Value = serde_json::from_str(body).expect("a JSON body");
    let keys = ["client_id", "secret", "access_token"];
    let key = keys.choose(rng).expect("k");
    if let Some(o) = v.as_object_mut() {
        if rng.gen_bool(0.5) {
            o.remove(*key);
        } else {
            o.insert(key.to_string(), json!("0".repeat(30)));
        }
    }
    v.to_string()
}

fn leaf_paths(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| leaf_paths(x, format!("{at}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| leaf_paths(x, format!("{at}/{i}"), out)),
        _ => out.push(at),
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn attack(broker: &str) {
    let served: Served = serve(broker, 11, FaultPlan::default()).await;
    served.shared.lock().disable_rate_limits();
    let c = &served.connection;
    let root = c
        .base_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .map(|authority| format!("http://{authority}"))
        .expect("an http base URL");
    let http = HttpClient::new(
        Arc::new(TcpDialer::new().expect("a dialer")),
        Duration::from_secs(20),
    );
    let t = target(c, &http, &root).await;
    // SnapTrade's consumer key ("" for brokers that do not sign).
    let key = c.credential("consumer_key");
    let peer = Peer {
        http: &http,
        root: &root,
        key: &key,
    };
    let control = (c.control.header.to_string(), c.control.token.clone());

    // A secret the vendor's own valid answers carry (Plaid's item id) is
    // not a leak; every other credential, and the control token, is.
    let mut secrets: Vec<String> = c
        .credentials
        .as_object()
        .expect("credentials")
        .values()
        .filter_map(|v| v.as_str().map(str::to_string))
        .chain([c.control.token.clone()])
        .collect();
    for (m, p, b) in &t.reads {
        let ct = (!b.is_empty()).then_some(JSON);
        let r = send(&peer, &t.auth, m.clone(), p, ct, b).await;
        assert!(
            r.status.is_success(),
            "{broker}: valid read {m} {p}: {}",
            r.status
        );
        let text = String::from_utf8_lossy(&r.body);
        secrets.retain(|s| !text.contains(s.as_str()));
    }
    assert!(
        secrets.contains(&c.control.token),
        "{broker}: the control token in a vendor answer"
    );

    let mut rng = mbt::rng::rng_for(0xad5e_5a11, broker);
    for n in 0..REQUESTS {
        let h = draw(&mut rng, &t, &control);
        let r = send(
            &peer,
            &h.headers,
            h.method.clone(),
            &h.path,
            h.content_type,
            &h.body,
        )
        .await;
        let text = String::from_utf8_lossy(&r.body);
        let what = format!(
            "{broker} request {n} ({}): {} {:.200} [{:?}] {:.300}",
            h.what, h.method, h.path, h.content_type, h.body
        );
        assert!(
            !r.status.is_server_error(),
            "{what}\n→ {} {:.500}",
            r.status,
            text
        );
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{what}\n→ echoes a secret");
        }
    }

    let r = send(&peer, &[control], Method::GET, "/_sim/ledger", None, "").await;
    assert!(r.status.is_success(), "{broker}: ledger {}", r.status);
    let ledger: Ledger = serde_json::from_slice(&r.body).expect("the ledger parses");
    for o in &ledger.orders {
        assert!(
            o.filled_quantity <= o.quantity && o.filled_quantity >= rust_decimal::Decimal::ZERO,
            "{broker}: order {} filled {} of {}",
            o.vendor_id,
            o.filled_quantity,
            o.quantity
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_get_answers_never_5xx_nor_secrets() {
    for slug in broker_models::vendor::slugs() {
        attack(slug).await;
    }
}
