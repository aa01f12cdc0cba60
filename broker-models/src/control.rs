//! The control surface every served model has under `/_sim/`, so external
//! drivers and tests can steer a model and read its ground truth:
//!
//! | route | does |
//! |---|---|
//! | `POST /_sim/reset` | starts over from the seed (same credentials and accounts, no orders) |
//! | `PUT /_sim/faults` | sets the fault plan (TOML body, as in `scenarios/faults/`) |
//! | `GET /_sim/faults` | every fault the plan applied so far: time, operation, what it did |
//! | `POST /_sim/advance` | `{"ms": N}`: jumps simulated time forward; with `"prices": {"AAPL": "190.00", …}` also quotes them there (all or none, nothing changed if one cannot be) |
//! | `POST /_sim/price` | `{"symbol": "AAPL", "price": "190.00"}`: sets a price; `{"prices": {"AAPL": "190.00", …}}` sets several, all or none |
//! | `POST /_sim/steer` | `{"fault": {"kind": "lost_response"}}`: the next order the broker receives meets this order-level fault |
//! | `POST /_sim/connection` | `{"account": "…", "broken": true}`: the aggregator's connection holding the account breaks (or is repaired) |
//! | `GET /_sim/ledger` | every order the broker received, with its true state, and every account |
//! | `GET /_sim/events?since=N` | the broker's order events from sequence N |
//!
//! Every request carries the model's control token in [`TOKEN_HEADER`]
//! (`raxx-sim serve` prints both under `control`); without it the answer is
//! 401. A body must be of its route's type (`application/json`, or
//! `application/toml` for the fault plan), else 415: a browser cannot send
//! either header cross-site without a preflight the model never grants.

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use crate::face::Shared;
use crate::faults::{Fault, FaultPlan};

/// The header that carries the control token.
pub const TOKEN_HEADER: &str = "X-Sim-Control-Token";

pub fn routes(shared: &Shared) -> Router<Shared> {
    Router::new()
        .route("/_sim/reset", post(reset))
        .route("/_sim/faults", put(set_faults).get(fault_log))
        .route("/_sim/advance", post(advance))
        .route("/_sim/price", post(set_price))
        .route("/_sim/steer", post(steer_next))
        .route("/_sim/connection", post(set_connection))
        .route("/_sim/ledger", get(ledger))
        .route("/_sim/events", get(events))
        .route_layer(axum::middleware::from_fn_with_state(shared.clone(), guard))
}

/// Lets through only requests that carry the model's control token. A face
/// with control routes of its own (Plaid's webhook outbox) puts them behind it too.
pub async fn guard(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !s.lock().is_control_token(presented) {
        return refusal(
            StatusCode::UNAUTHORIZED,
            format!("missing or wrong {TOKEN_HEADER} (the token raxx-sim serve prints under \"control\")"),
        );
    }
    next.run(req).await
}

/// An error answer of the model's own (not the vendor's): `{"error": message}`.
pub(crate) fn refusal(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

pub(crate) fn bad_request(message: impl Into<String>) -> Response {
    refusal(StatusCode::BAD_REQUEST, message)
}

/// A request's body, when the request declares `M`'s media type; a body
/// of any other type (or of none declared) is refused with 415. A request
/// without a body may leave its type out.
pub(crate) struct Typed<M>(pub Bytes, pub PhantomData<M>);

pub(crate) trait Media {
    const TYPE: &'static str;
}

pub(crate) struct AsJson;
impl Media for AsJson {
    const TYPE: &'static str = "application/json";
}

struct AsToml;
impl Media for AsToml {
    const TYPE: &'static str = "application/toml";
}

impl<S: Send + Sync, M: Media> FromRequest<S> for Typed<M> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        // None: no type declared; else whether it is M's (parameters such
        // as `charset` aside).
        let declared = req.headers().get(header::CONTENT_TYPE).map(|v| {
            v.to_str()
                .ok()
                .and_then(|v| v.split(';').next())
                .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(M::TYPE))
        });
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match declared {
            None if body.is_empty() => Ok(Self(body, PhantomData)),
            Some(true) => Ok(Self(body, PhantomData)),
            _ => Err(refusal(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("expected Content-Type: {}", M::TYPE),
            )),
        }
    }
}

/// Takes no body; one of another type than JSON is refused all the same.
async fn reset(State(s): State<Shared>, _: Typed<AsJson>) -> Response {
    s.lock().reset();
    Json(json!({ "ok": true })).into_response()
}

async fn fault_log(State(s): State<Shared>) -> Response {
    Json(s.lock().fault_log().to_vec()).into_response()
}

async fn set_faults(State(s): State<Shared>, Typed(body, _): Typed<AsToml>) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return bad_request("the fault plan must be UTF-8 TOML");
    };
    match FaultPlan::from_toml(text, "request body") {
        Ok(plan) => {
            let rules = plan.rules.len();
            s.lock().set_fault_plan(plan);
            Json(json!({ "ok": true, "rules": rules })).into_response()
        }
        Err(e) => bad_request(e.to_string()),
    }
}

/// The longest jump one `advance` makes. The market is generated step by
/// step up to the new time under the model's lock (memory stays one step's
/// quotes, and closed hours cost nothing: about 0.6 s for 7 days, see
/// `raxx-sim bench advance`), so an unbounded jump (`i64::MAX`) would hold
/// the lock for good. Eight days cover every lifetime a profile gives
/// (Schwab's 7-day refresh token); longer waits take several requests.
const MAX_ADVANCE_MS: i64 = 8 * 24 * 3_600_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    ms: i64,
    /// Quoted at the new time (all or none): the market's next moment.
    #[serde(default)]
    prices: Option<std::collections::BTreeMap<String, Decimal>>,
}

async fn advance(State(s): State<Shared>, Typed(body, _): Typed<AsJson>) -> Response {
    let Ok(a) = serde_json::from_slice::<Advance>(&body) else {
        return bad_request(
            "expected {\"ms\": <non-negative integer>}, with \"prices\": {\"AAPL\": \"190.00\", ...} to quote there",
        );
    };
    if a.ms < 0 {
        return bad_request("ms must not be negative");
    }
    if a.ms > MAX_ADVANCE_MS {
        return bad_request(format!(
            "ms must be at most {MAX_ADVANCE_MS} (8 days); jump further in several requests"
        ));
    }
    let Some(prices) = a.prices else {
        let mut b = s.lock();
        b.advance(a.ms);
        return Json(json!({ "ok": true, "now": b.now().to_string() })).into_response();
    };
    let prices = match checked(prices.into_iter().collect()) {
        Ok(p) => p,
        Err(why) => return bad_request(why),
    };
    let mut b = s.lock();
    if b.advance_to_prices(a.ms, &prices) {
        Json(json!({ "ok": true, "now": b.now().to_string() })).into_response()
    } else {
        cannot_price(&prices)
    }
}

/// One symbol's price, or several at once (`{"prices": {"AAPL": "190.00",
/// "MSFT": "410.00"}}`: all or none, as one moment of the market).
#[derive(Deserialize)]
#[serde(untagged)]
enum SetPrice {
    One(OnePrice),
    Many(ManyPrices),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OnePrice {
    symbol: String,
    price: Decimal,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManyPrices {
    prices: std::collections::BTreeMap<String, Decimal>,
}

async fn set_price(State(s): State<Shared>, Typed(body, _): Typed<AsJson>) -> Response {
    let prices: Vec<(String, Decimal)> = match serde_json::from_slice::<SetPrice>(&body) {
        Ok(SetPrice::One(p)) => vec![(p.symbol, p.price)],
        Ok(SetPrice::Many(m)) => m.prices.into_iter().collect(),
        _ => {
            return bad_request(
                "expected {\"symbol\": \"AAPL\", \"price\": \"190.00\"} or \
                 {\"prices\": {\"AAPL\": \"190.00\", ...}}",
            )
        }
    };
    let prices = match checked(prices) {
        Ok(p) => p,
        Err(why) => return bad_request(why),
    };
    if s.lock().set_prices(&prices) {
        Json(json!({ "ok": true })).into_response()
    } else {
        cannot_price(&prices)
    }
}

/// Prices a client may set: at least one, each of a vendor's ticker and
/// positive; else why not.
fn checked(prices: Vec<(String, Decimal)>) -> Result<Vec<(String, Decimal)>, String> {
    if prices.is_empty() {
        return Err("prices names no symbol".into());
    }
    for (symbol, price) in &prices {
        // The vendors' ticker rule: anything else would create an instrument
        // no client could name (`"\u0000"`, a megabyte of text).
        if !mbt::instrument::is_ticker(symbol) {
            return Err("symbol must be 1 to 12 uppercase letters, digits, '.' or '/'".into());
        }
        if *price <= Decimal::ZERO {
            return Err(format!("{symbol}'s price must be positive"));
        }
    }
    Ok(prices)
}

fn cannot_price(prices: &[(String, Decimal)]) -> Response {
    let names: Vec<&str> = prices.iter().map(|(s, _)| s.as_str()).collect();
    bad_request(format!("cannot price {}", names.join(", ")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Steer {
    fault: Fault,
}

/// Picks out the next order the broker receives for an order-level fault:
/// a rule matching that ordinal is added to the plan.
async fn steer_next(State(s): State<Shared>, Typed(body, _): Typed<AsJson>) -> Response {
    let Ok(steer) = serde_json::from_slice::<Steer>(&body) else {
        return bad_request(
            "expected {\"fault\": {\"kind\": \"lost_response\"}} (an order-level fault)",
        );
    };
    match s.lock().steer_next(steer.fault) {
        Ok(nth) => Json(json!({ "ok": true, "nth": nth })).into_response(),
        Err(e) => bad_request(e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetConnection {
    account: String,
    broken: bool,
}

/// Breaks or repairs the user's connection at an aggregator that holds an
/// account: what the user does at their brokerage (a changed password), or
/// their reconnecting through the aggregator's portal.
async fn set_connection(State(s): State<Shared>, Typed(body, _): Typed<AsJson>) -> Response {
    let Ok(c) = serde_json::from_slice::<SetConnection>(&body) else {
        return bad_request("expected {\"account\": \"<account id>\", \"broken\": true}");
    };
    match s.lock().set_connection_broken(&c.account, c.broken) {
        Ok(()) => Json(json!({ "ok": true })).into_response(),
        Err(e) => bad_request(e),
    }
}

async fn ledger(State(s): State<Shared>) -> Response {
    let mut b = s.lock();
    b.sync();
    Json(b.ledger()).into_response()
}

#[derive(Deserialize)]
struct Since {
    #[serde(default)]
    since: u64,
}

async fn events(State(s): State<Shared>, Query(q): Query<Since>) -> Response {
    let mut b = s.lock();
    b.sync();
    Json(b.events_since(q.since).collect::<Vec<_>>()).into_response()
}
