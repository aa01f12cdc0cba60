//! The Alpaca Trading API v2 wire face (reference: ../shared/reference/brokers/alpaca.md).
//! Base URL without `/v2`; JSON bodies; `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` auth;
//! the `trade_updates` WebSocket at `/stream`.

mod errors;
mod orders;
mod stream;
pub mod wire;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::FixedOffset;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use mbt::engine::ReplaceRequest;
use mbt::{Instrument, RejectReason};

use crate::brokerage::{BrokerError, SimBrokerage};
use crate::face::{LoseThisResponse, Shared, WireFace};
use crate::faults::{Decision, Operation};
use crate::model::with_face;
use crate::ratelimit::RateState;
use crate::vendor::{CredentialField, Vendor, ALNUM, UPPER_ALNUM};

pub use errors::AlpacaError;

pub struct Alpaca;

/// The Alpaca model in the broker registry.
pub const VENDOR: Vendor = Vendor {
    slug: "alpaca",
    profile: include_str!("../../profiles/alpaca.toml"),
    face: with_face::<Alpaca>,
    credentials: &[
        // Paper key ids start with PK and are 20 characters; secrets are 40 (§1.2).
        CredentialField {
            name: "key_id",
            prefix: "PK",
            len: 20,
            alphabet: UPPER_ALNUM,
        },
        CredentialField {
            name: "secret_key",
            prefix: "",
            len: 40,
            alphabet: ALNUM,
        },
    ],
    base_path: "",
};

const KEY_HEADER: &str = "apca-api-key-id";
const SECRET_HEADER: &str = "apca-api-secret-key";

impl WireFace for Alpaca {
    fn routes() -> Router<Shared> {
        routes()
    }

    fn classify(method: &Method, path: &str) -> Operation {
        let orders = path.starts_with("/v2/orders");
        match (method.as_str(), path) {
            ("POST", "/v2/orders") => Operation::SubmitOrder,
            ("DELETE", _) if orders => Operation::CancelOrder,
            ("PATCH", _) if orders => Operation::ReplaceOrder,
            ("GET", "/v2/orders") => Operation::ListOrders,
            ("GET", _) if orders => Operation::GetOrder,
            (_, p) if p.starts_with("/v2/positions") => Operation::Positions,
            (_, "/v2/account") => Operation::Account,
            (_, "/stream") => Operation::Stream,
            _ => Operation::Other,
        }
    }

    fn rate_scope(headers: &HeaderMap) -> Option<String> {
        headers
            .get(KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    fn unavailable() -> Response {
        AlpacaError::unavailable().into_response()
    }

    fn rate_limited(state: Option<&RateState>, _retry_after_ms: u64) -> Response {
        // Alpaca sends no Retry-After (§5.3): clients read X-Ratelimit-Reset.
        let mut r = AlpacaError::rate_limited().into_response();
        if let Some(s) = state {
            Self::rate_headers(s, r.headers_mut());
        }
        r
    }

    fn token_expired() -> Response {
        AlpacaError::token_expired().into_response()
    }

    fn rate_headers(state: &RateState, headers: &mut HeaderMap) {
        // Whole seconds, rounded up: a client that waits until this second
        // never comes back before the window has really reset.
        let secs = (state.resets_at.millis() + 999).div_euclid(1000);
        for (name, value) in [
            ("x-ratelimit-limit", state.limit.to_string()),
            ("x-ratelimit-remaining", state.remaining.to_string()),
            ("x-ratelimit-reset", secs.to_string()),
        ] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        }
    }
}

fn routes() -> Router<Shared> {
    Router::new()
        .route("/v2/account", get(account))
        .route("/v2/clock", get(clock))
        .route(
            "/v2/orders",
            get(list_orders).post(submit).delete(cancel_all),
        )
        .route("/v2/orders:by_client_order_id", get(by_client_id))
        .route(
            "/v2/orders/{id}",
            get(get_order).delete(cancel).patch(replace),
        )
        .route("/v2/positions", get(positions))
        .route("/v2/positions/{symbol}", get(position))
        .route("/stream", get(stream::upgrade))
        .fallback(|| async { AlpacaError::route_not_found() })
}

/// The account a request's keys belong to, or Alpaca's auth error.
fn authenticate(b: &SimBrokerage, headers: &HeaderMap) -> Result<String, AlpacaError> {
    let header = |n| headers.get(n).and_then(|v: &HeaderValue| v.to_str().ok());
    match (header(KEY_HEADER), header(SECRET_HEADER)) {
        (Some(k), Some(s)) => {
            let c = b.credentials();
            if c.matches("key_id", k) && c.matches("secret_key", s) {
                b.account_numbers()
                    .into_iter()
                    .next()
                    .ok_or_else(AlpacaError::unauthorized)
            } else {
                Err(AlpacaError::unauthorized())
            }
        }
        _ if headers.contains_key(axum::http::header::AUTHORIZATION) => {
            Err(AlpacaError::unauthorized())
        }
        _ => Err(AlpacaError::forbidden()),
    }
}

/// Runs `f` on the synced brokerage as the authenticated account.
fn with_account(
    shared: &Shared,
    headers: &HeaderMap,
    f: impl FnOnce(&mut SimBrokerage, &str) -> Result<Response, AlpacaError>,
) -> Response {
    let mut b = shared.lock();
    let account = match authenticate(&b, headers) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    b.sync();
    f(&mut b, &account).unwrap_or_else(IntoResponse::into_response)
}

async fn account(State(s): State<Shared>, headers: HeaderMap) -> Response {
    with_account(&s, &headers, |b, acct| {
        let view = b.account(acct).ok_or_else(AlpacaError::unauthorized)?;
        let now = b.now();
        Ok(Json(wire::account(
            &view,
            b.engine().log().entries().first().map_or(now, |e| e.time),
            &now.date().to_string(),
        ))
        .into_response())
    })
}

async fn clock(State(s): State<Shared>, headers: HeaderMap) -> Response {
    with_account(&s, &headers, |b, _| {
        let now = b.now();
        let session = &b.engine().config().session;
        let eastern = FixedOffset::west_opt(5 * 3600)
            .unwrap_or(FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!()));
        let fmt = |t: mbt::Timestamp| {
            t.to_datetime()
                .with_timezone(&eastern)
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
        };
        let next_close = session.next_close(now).unwrap_or(now);
        let next_open = session.next_open(now).unwrap_or(now);
        Ok(Json(json!({
            "timestamp": fmt(now),
            "is_open": b.engine().is_open(),
            "next_open": fmt(next_open),
            "next_close": fmt(next_close),
        }))
        .into_response())
    })
}

fn parse_json<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, AlpacaError> {
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            AlpacaError::invalid(
                e.to_string()
                    .split(" at line")
                    .next()
                    .unwrap_or("invalid request")
                    .to_string(),
            )
        } else {
            AlpacaError::malformed_body()
        }
    })
}

fn rejection_error(
    b: &SimBrokerage,
    account: &str,
    r: &mbt::Rejection,
    symbol: &str,
) -> AlpacaError {
    match r.reason {
        RejectReason::InsufficientBuyingPower => {
            let bp = b
                .account(account)
                .map(|v| wire::money(v.buying_power))
                .unwrap_or_default();
            let mut extra = Map::new();
            extra.insert("buying_power".into(), Value::String(bp));
            AlpacaError::forbidden_trade("insufficient buying power").with(extra)
        }
        RejectReason::UnknownSymbol => {
            AlpacaError::unprocessable(format!("asset \"{symbol}\" not found"))
        }
        RejectReason::ShortSellingNotAllowed => {
            AlpacaError::forbidden_trade("account is not allowed to short")
        }
        RejectReason::NoPositionToClose => AlpacaError::forbidden_trade(format!(
            "insufficient qty available for order ({})",
            r.message
        )),
        RejectReason::MarketClosed => AlpacaError::forbidden_trade("market is closed"),
        RejectReason::InvalidPrice | RejectReason::InvalidQuantity | RejectReason::InvalidOrder => {
            AlpacaError::invalid(r.message.clone())
        }
        RejectReason::UnknownAccount => AlpacaError::unauthorized(),
    }
}

async fn submit(
    State(s): State<Shared>,
    Extension(decision): Extension<Decision>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_account(&s, &headers, |b, acct| {
        let req: wire::OrderRequest = parse_json(&body)?;
        let symbol = req.symbol.clone().unwrap_or_default();
        let generated = b.generate_client_id();
        let request = orders::to_request(b, acct, req, || generated)?;
        // Unique per account against every earlier order, forever (§4).
        if b.order_by_client_id(acct, &request.client_order_id)
            .is_some()
        {
            return Err(AlpacaError::invalid("client_order_id must be unique"));
        }
        match b.submit(request, &decision) {
            Ok(order) => {
                let vendor_id = order.vendor_id.clone();
                if order.lose_response {
                    return Ok(LoseThisResponse.into_response());
                }
                let order = b.order(&vendor_id).map(|o| orders::to_wire(b, o));
                Ok(Json(order).into_response())
            }
            Err((_, rejection)) => Err(rejection_error(b, acct, &rejection, &symbol)),
        }
    })
}

/// Orders a client may see: refused submissions never became Alpaca orders.
fn visible(b: &SimBrokerage, acct: &str, id: &str) -> Result<Response, AlpacaError> {
    match b.order(id).filter(|o| o.account == acct && o.taken) {
        Some(o) => Ok(Json(orders::to_wire(b, o)).into_response()),
        None if uuid::Uuid::parse_str(id).is_err() => {
            Err(AlpacaError::invalid("order_id is missing"))
        }
        None => Err(AlpacaError::order_not_found()),
    }
}

async fn get_order(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    with_account(&s, &headers, |b, acct| visible(b, acct, &id))
}

#[derive(Deserialize)]
struct ByClientId {
    client_order_id: Option<String>,
}

async fn by_client_id(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<ByClientId>,
) -> Response {
    with_account(&s, &headers, |b, acct| {
        let cid = q
            .client_order_id
            .ok_or_else(|| AlpacaError::invalid("client_order_id is required"))?;
        match b.order_by_client_id(acct, &cid) {
            Some(o) => Ok(Json(orders::to_wire(b, o)).into_response()),
            None => Err(AlpacaError::order_not_found()),
        }
    })
}

#[derive(Deserialize, Default)]
struct ListQuery {
    status: Option<String>,
    limit: Option<String>,
    direction: Option<String>,
    symbols: Option<String>,
    side: Option<String>,
    after: Option<String>,
    until: Option<String>,
}

fn parse_time(s: &str) -> Result<mbt::Timestamp, AlpacaError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| mbt::Timestamp::from_datetime(d.into()))
        .map_err(|_| AlpacaError::invalid(format!("invalid timestamp {s:?}")))
}

async fn list_orders(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    with_account(&s, &headers, |b, acct| {
        let status = q.status.as_deref().unwrap_or("open").to_ascii_lowercase();
        if !matches!(status.as_str(), "open" | "closed" | "all") {
            return Err(AlpacaError::invalid(format!("invalid status {status:?}")));
        }
        let limit: usize = match q.limit.as_deref() {
            None => 50,
            Some(l) => l
                .parse()
                .map_err(|_| AlpacaError::invalid("limit must be an integer"))?,
        };
        let symbols: Vec<&str> = q
            .symbols
            .as_deref()
            .map(|s| s.split(',').collect())
            .unwrap_or_default();
        let after = q.after.as_deref().map(parse_time).transpose()?;
        let until = q.until.as_deref().map(parse_time).transpose()?;
        let mut list: Vec<_> = b
            .orders_of(acct)
            .filter(|o| o.taken)
            .filter(|o| {
                let terminal = b.state(o).status.is_terminal();
                match status.as_str() {
                    "open" => !terminal,
                    "closed" => terminal,
                    _ => true,
                }
            })
            .filter(|o| {
                symbols.is_empty()
                    || symbols.contains(&wire::symbol(&o.request.instrument).as_str())
                    || symbols.contains(&o.request.instrument.underlying())
            })
            .filter(|o| {
                q.side
                    .as_deref()
                    .is_none_or(|s| orders::to_wire(b, o).side == s)
            })
            .filter(|o| {
                after.is_none_or(|a| o.submitted_at > a) && until.is_none_or(|u| o.submitted_at < u)
            })
            .collect();
        if q.direction.as_deref() != Some("asc") {
            list.reverse();
        }
        let out: Vec<_> = list
            .into_iter()
            .take(limit.min(500))
            .map(|o| orders::to_wire(b, o))
            .collect();
        Ok(Json(out).into_response())
    })
}

async fn cancel(State(s): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    with_account(&s, &headers, |b, acct| {
        visible(b, acct, &id)?;
        match b.cancel(&id) {
            Ok(()) | Err(BrokerError::NotCancelable(mbt::OrderStatus::Canceled)) => {
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            Err(BrokerError::NotCancelable(status)) => Err(AlpacaError::unprocessable(format!(
                "order is already in \"{}\" state",
                b.profile().vendor_status(status)
            ))),
            Err(_) => Err(AlpacaError::order_not_found()),
        }
    })
}

async fn cancel_all(State(s): State<Shared>, headers: HeaderMap) -> Response {
    with_account(&s, &headers, |b, acct| {
        let open: Vec<String> = b
            .orders_of(acct)
            .filter(|o| o.taken && !b.state(o).status.is_terminal())
            .map(|o| o.vendor_id.clone())
            .collect();
        let results: Vec<Value> = open
            .into_iter()
            .map(|id| match b.cancel(&id) {
                Ok(()) => json!({ "id": id, "status": 200 }),
                Err(_) => json!({ "id": id, "status": 422, "body": { "code": 42210000, "message": "order is not cancelable" } }),
            })
            .collect();
        Ok((StatusCode::MULTI_STATUS, Json(results)).into_response())
    })
}

async fn replace(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    with_account(&s, &headers, |b, acct| {
        visible(b, acct, &id)?;
        let req: wire::ReplaceRequest = parse_json(&body)?;
        if req.qty.is_some_and(|q| !q.fract().is_zero()) {
            return Err(AlpacaError::invalid("qty must be integer"));
        }
        let changes = ReplaceRequest {
            quantity: req.qty,
            limit_price: req.limit_price,
            stop_price: req.stop_price,
            time_in_force: req
                .time_in_force
                .as_deref()
                .map(orders::tif_of)
                .transpose()?,
            client_order_id: req.client_order_id,
        };
        match b.replace(&id, changes) {
            Ok(new_id) => visible(b, acct, &new_id),
            Err(BrokerError::Rejected(r)) => Err(rejection_error(b, acct, &r, "")),
            Err(BrokerError::NotFound) => Err(AlpacaError::order_not_found()),
            Err(_) => Err(AlpacaError::unprocessable(
                "unable to replace order, order is not open",
            )),
        }
    })
}

async fn positions(State(s): State<Shared>, headers: HeaderMap) -> Response {
    with_account(&s, &headers, |b, acct| {
        let view = b.account(acct).ok_or_else(AlpacaError::unauthorized)?;
        let out: Vec<_> = view
            .positions
            .iter()
            .map(wire::Position::from_view)
            .collect();
        Ok(Json(out).into_response())
    })
}

async fn position(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(symbol): Path<String>,
) -> Response {
    with_account(&s, &headers, |b, acct| {
        let view = b.account(acct).ok_or_else(AlpacaError::unauthorized)?;
        let wanted = Instrument::parse_symbol(&symbol);
        view.positions
            .iter()
            .find(|p| {
                p.instrument == wanted || wire::asset_id(&wire::symbol(&p.instrument)) == symbol
            })
            .map(|p| Json(wire::Position::from_view(p)).into_response())
            .ok_or_else(AlpacaError::position_not_found)
    })
}
