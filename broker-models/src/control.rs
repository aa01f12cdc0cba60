//! The control surface every served model has under `/_sim/`, so external
//! drivers and tests can steer a model and read its ground truth:
//!
//! | route | does |
//! |---|---|
//! | `POST /_sim/reset` | starts over from the seed (same credentials and accounts, no orders) |
//! | `PUT /_sim/faults` | sets the fault plan (TOML body, as in `scenarios/faults/`) |
//! | `GET /_sim/faults` | every fault the plan applied so far: time, operation, what it did |
//! | `POST /_sim/advance` | `{"ms": N}`: jumps simulated time forward |
//! | `POST /_sim/price` | `{"symbol": "AAPL", "price": "190.00"}`: sets a price |
//! | `POST /_sim/steer` | `{"fault": {"kind": "lost_response"}}`: the next order the broker receives meets this order-level fault |
//! | `GET /_sim/ledger` | every order the broker received, with its true state, and every account |
//! | `GET /_sim/events?since=N` | the broker's order events from sequence N |

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use crate::face::Shared;
use crate::faults::{Fault, FaultPlan};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/_sim/reset", post(reset))
        .route("/_sim/faults", put(set_faults).get(fault_log))
        .route("/_sim/advance", post(advance))
        .route("/_sim/price", post(set_price))
        .route("/_sim/steer", post(steer_next))
        .route("/_sim/ledger", get(ledger))
        .route("/_sim/events", get(events))
}

fn bad_request(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": message.into() })),
    )
        .into_response()
}

async fn reset(State(s): State<Shared>) -> Response {
    s.lock().reset();
    Json(json!({ "ok": true })).into_response()
}

async fn fault_log(State(s): State<Shared>) -> Response {
    Json(s.lock().fault_log().to_vec()).into_response()
}

async fn set_faults(State(s): State<Shared>, body: String) -> Response {
    match FaultPlan::from_toml(&body, "request body") {
        Ok(plan) => {
            let rules = plan.rules.len();
            s.lock().set_fault_plan(plan);
            Json(json!({ "ok": true, "rules": rules })).into_response()
        }
        Err(e) => bad_request(e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    ms: i64,
}

async fn advance(State(s): State<Shared>, body: axum::body::Bytes) -> Response {
    let Ok(a) = serde_json::from_slice::<Advance>(&body) else {
        return bad_request("expected {\"ms\": <non-negative integer>}");
    };
    if a.ms < 0 {
        return bad_request("ms must not be negative");
    }
    let mut b = s.lock();
    b.advance(a.ms);
    Json(json!({ "ok": true, "now": b.now().to_string() })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetPrice {
    symbol: String,
    price: Decimal,
}

async fn set_price(State(s): State<Shared>, body: axum::body::Bytes) -> Response {
    let Ok(p) = serde_json::from_slice::<SetPrice>(&body) else {
        return bad_request("expected {\"symbol\": \"AAPL\", \"price\": \"190.00\"}");
    };
    if p.price <= Decimal::ZERO {
        return bad_request("price must be positive");
    }
    if s.lock().set_price(&p.symbol, p.price) {
        Json(json!({ "ok": true })).into_response()
    } else {
        bad_request(format!("cannot price {}", p.symbol))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Steer {
    fault: Fault,
}

/// Picks out the next order the broker receives for an order-level fault:
/// a rule matching that ordinal is added to the plan.
async fn steer_next(State(s): State<Shared>, body: axum::body::Bytes) -> Response {
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
    Json(b.events_since(q.since)).into_response()
}
