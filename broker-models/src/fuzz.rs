//! The wire faces' fuzz entry point: what the libFuzzer targets under
//! `fuzz/` call with each input (`scripts/fuzz.sh` builds and runs them),
//! and what `cargo test` calls with every file of the committed corpus
//! (`fuzz/corpus/<broker>/`), so that a crash once found stays fixed.
//!
//! An input is a short session of HTTP requests to one fresh model, written
//! as text so that seeds are easy to write and read:
//!
//! ```text
//! POST /v2/orders
//! APCA-API-KEY-ID: ${key_id}
//! APCA-API-SECRET-KEY: ${secret_key}
//! Content-Type: application/json
//!
//! {"symbol":"AAPL","qty":"1","side":"buy","type":"market","time_in_force":"day"}
//! %%
//! GET /v2/orders?status=all
//! ...
//! ```
//!
//! Requests are separated by a `%%` line. `${name}` anywhere in a request
//! stands for the model's credential `name` (`${account}` for its first
//! account number, `${account_hash}` for Schwab's hash of it, `${id}` for
//! the id of what the latest write (POST, PUT, PATCH) created, `${signature}` for SnapTrade's
//! signature of the request as written), so the fuzzer reaches past
//! authentication and into an order's later life; `/_sim/`
//! requests carry the control token. Bytes that are not UTF-8 are read
//! lossily; a request line or header the HTTP types refuse is skipped, as a
//! server would never see it.
//!
//! An input's `/_sim/advance` requests move the clock by at most
//! [`ADVANCE_BUDGET_MS`] in all; one that would go past it is skipped. A
//! simulated day costs a world tick a minute in every model, so under the
//! fuzzer's instrumentation a week-long advance took 12 to 48 s and brought
//! the whole run from thousands of inputs a second to a few hundred; days
//! and weeks of market are the sweep's and the scenarios' to cover.
//!
//! A model must answer everything: a panic, a dropped body, or a 5xx answer
//! the (empty) fault plan did not ask for is a failure, reported by panicking.

use axum::body::Body;
use axum::http::{Method, Request, Uri};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::control::TOKEN_HEADER;
use crate::faults::FaultPlan;
use crate::model::build;
use crate::MarketSpec;

/// Requests read from one input: enough for submit → replace → cancel →
/// list chains, few enough that every input stays fast.
const MAX_REQUESTS: usize = 8;

/// Simulated time one input may advance the clock by: a day reaches the
/// close, the night and the next open from any start.
pub const ADVANCE_BUDGET_MS: i64 = 24 * 60 * 60 * 1000;

/// The `ms` of a `/_sim/advance` body (none when the model would refuse it
/// anyway: it then answers 400 without moving the clock).
fn advance_ms(body: &str) -> Option<i64> {
    serde_json::from_str::<serde_json::Value>(body).ok()?["ms"].as_i64()
}

/// A request as the input writes it, before it is checked by the HTTP types.
struct Written {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

fn parse(text: &str) -> Vec<Written> {
    text.split("\n%%\n")
        .take(MAX_REQUESTS)
        .filter_map(|part| {
            let (head, body) = part.split_once("\n\n").unwrap_or((part, ""));
            let mut lines = head.lines();
            let (method, target) = lines.next()?.split_once(' ')?;
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect();
            Some(Written {
                method: method.to_string(),
                target: target.to_string(),
                headers,
                body: body.to_string(),
            })
        })
        .collect()
}

/// `text` with every `${name}` replaced by its value.
fn substitute(text: &str, values: &[(String, String)]) -> String {
    values.iter().fold(text.to_string(), |t, (name, value)| {
        t.replace(&format!("${{{name}}}"), value)
    })
}

/// The id of what an answer created, for `${id}` in later requests: the
/// last segment of a `Location` header (Schwab), else an `id` at the top of
/// the JSON body or under its `order`, `data`, `data.order` (Alpaca, Tradier, tastytrade) or
/// `trade` (a SnapTrade impact's trade, placed by its id); SnapTrade's portal
/// answers its session as `sessionId`.
fn created_id(location: Option<&str>, body: &[u8]) -> Option<String> {
    if let Some(id) = location.and_then(|l| l.rsplit('/').next()) {
        return Some(id.to_string());
    }
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    for o in [
        &v,
        &v["order"],
        &v["data"],
        &v["data"]["order"],
        &v["trade"],
    ] {
        for key in ["id", "brokerage_order_id", "sessionId"] {
            match &o[key] {
                serde_json::Value::String(s) => return Some(s.clone()),
                serde_json::Value::Number(n) => return Some(n.to_string()),
                _ => {}
            }
        }
    }
    None
}

/// SnapTrade's signing key among the credentials ("" for other vendors).
fn consumer_key(values: &[(String, String)]) -> &str {
    values
        .iter()
        .find(|(name, _)| name == "consumer_key")
        .map_or("", |(_, v)| v.as_str())
}

/// The committed corpus of one fuzz target (`fuzz/corpus/<name>/`: its
/// seeds and every input that once failed), in file-name order, each with
/// its file name: what `cargo test` replays.
pub fn corpus(name: &str) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(name);
    let mut files = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()?;
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let file = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            Ok((file, std::fs::read(&p)?))
        })
        .collect()
}

/// Sends one fuzz input to a fresh model of `broker` (seed 7, no faults)
/// and returns the status of each request sent; panics when the model fails
/// it (see the module's doc).
pub fn wire_face(broker: &str, data: &[u8]) -> Vec<u16> {
    let text = String::from_utf8_lossy(data);
    let requests = parse(&text);
    if requests.is_empty() {
        return Vec::new();
    }
    let Ok(model) = build(broker, 7, FaultPlan::default(), &MarketSpec::default()) else {
        panic!("no model of {broker}");
    };
    let (mut values, token) = {
        let b = model.shared.lock();
        let mut values: Vec<(String, String)> = b
            .credentials()
            .to_json()
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect();
        let account = b.account_numbers().into_iter().next().unwrap_or_default();
        // Schwab's paths name an account by its hash, never its number.
        let hash = crate::schwab::auth::account_hash(&b, &account);
        values.push(("account_hash".into(), hash));
        values.push(("account".into(), account));
        (values, b.control_token().to_string())
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    runtime.block_on(async {
        let mut statuses = Vec::new();
        let mut advance_left = ADVANCE_BUDGET_MS;
        for w in requests {
            let target = substitute(&w.target, &values);
            let (Ok(method), Ok(uri)) = (
                Method::from_bytes(w.method.as_bytes()),
                target.parse::<Uri>(),
            ) else {
                continue;
            };
            let control = uri.path().starts_with("/_sim/");
            // Only a write creates something; reading every answer's JSON
            // (a year's calendar, a page of contracts) cost more than the
            // request did.
            let writes = matches!(method, Method::POST | Method::PUT | Method::PATCH);
            let body = substitute(&w.body, &values);
            if control && uri.path() == "/_sim/advance" {
                match advance_ms(&body) {
                    Some(ms) if ms > advance_left => continue,
                    Some(ms) => advance_left -= ms.max(0),
                    None => {}
                }
            }
            let signature = crate::snaptrade::auth::signature_for(
                consumer_key(&values),
                uri.path(),
                uri.query().unwrap_or_default(),
                body.as_bytes(),
            );
            let mut req = Request::builder().method(method).uri(uri);
            for (k, v) in &w.headers {
                let v = substitute(v, &values).replace("${signature}", &signature);
                req = req.header(k.as_str(), v);
            }
            if control {
                req = req.header(TOKEN_HEADER, token.as_str());
            }
            let Ok(req) = req.body(Body::from(body)) else {
                continue;
            };
            let Ok(resp) = model.router.clone().oneshot(req).await;
            let status = resp.status();
            let location = resp
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .map(str::to_string);
            let body = resp.into_body().collect().await;
            assert!(
                body.is_ok(),
                "{broker}: {} {target}: the body was dropped",
                w.method
            );
            let body = body.map(|b| b.to_bytes()).unwrap_or_default();
            if let Some(id) = writes
                .then(|| created_id(location.as_deref(), &body))
                .flatten()
            {
                values.retain(|(name, _)| name != "id");
                values.push(("id".into(), id));
            }
            assert!(
                !status.is_server_error(),
                "{broker}: {} {target}: answered {status} unasked",
                w.method
            );
            statuses.push(status.as_u16());
        }
        statuses
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_read_as_requests_with_headers_and_bodies() {
        let r = parse("POST /a?b=1\nX-One: 1\nBad header\n\n{\"k\":1}\n%%\nGET /c\n%%\nnonsense");
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].method.as_str(), r[0].target.as_str()),
            ("POST", "/a?b=1")
        );
        assert_eq!(advance_ms("{\"ms\": 60000}"), Some(60_000));
        assert_eq!(advance_ms("{\"ms\": \"soon\"}"), None);
        assert_eq!(r[0].headers, [("X-One".to_string(), "1".to_string())]);
        assert_eq!(r[0].body, "{\"k\":1}");
        assert_eq!((r[1].method.as_str(), r[1].body.as_str()), ("GET", ""));
        assert_eq!(
            substitute(
                "Bearer ${access_token}",
                &[("access_token".into(), "s".into())]
            ),
            "Bearer s"
        );
    }
}
