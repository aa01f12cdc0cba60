//! The Alpaca Trading API v2 wire face (reference: ../shared/reference/brokers/alpaca.md).
//! Base URL without `/v2`; JSON bodies; `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` auth;
//! the `trade_updates` WebSocket at `/stream`.
//!
//! | module | holds |
//! |---|---|
//! | `wire`, `num` | Alpaca's JSON: response structs, request decoding |
//! | `errors`, `extract`, `auth` | error bodies, extractors rejecting with them, the key-pair extractor |
//! | `rules`, `pretrade` | Alpaca's order rules: request-level, then against the account |
//! | `orders`, `order_routes` | Order objects out; `/v2/orders` |
//! | `positions`, `account`, `activities` | `/v2/positions`, `/v2/account…` |
//! | `assets`, `options`, `market` | the asset master, option contracts, clock and calendar |
//! | `state` | what the face keeps that the core has no field for yet |
//! | `stream` | the `trade_updates` WebSocket |

mod account;
mod activities;
mod assets;
mod auth;
mod errors;
mod exits;
mod extract;
mod market;
mod num;
mod options;
mod order_routes;
mod orders;
mod positions;
mod pretrade;
mod rules;
mod state;
mod stream;
mod wire;

use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};

use crate::face::{Shared, WireFace};
use crate::faults::Operation;
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
    unique_client_ids: true,
    revocable: false,
};

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
            (_, p) if p.starts_with("/v2/account") => Operation::Account,
            (_, "/stream" | "/stream/") => Operation::Stream,
            _ => Operation::Other,
        }
    }

    fn rate_scope(headers: &HeaderMap) -> Option<String> {
        headers
            .get(auth::KEY_HEADER)
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

/// Every path the face serves. A path it does not serve, and a method a
/// served path does not take, get Alpaca-shaped JSON errors (404, 405),
/// never an empty body (alpaca-py reads `code` from every error, §5.1).
fn routes() -> Router<Shared> {
    use order_routes as orders;
    Router::new()
        .route("/v2/account", get(account::get))
        .route(
            "/v2/account/configurations",
            get(account::configurations).patch(account::set_configurations),
        )
        .route("/v2/account/activities", get(activities::list))
        .route(
            "/v2/account/activities/{activity_type}",
            get(activities::of_type),
        )
        .route("/v2/clock", get(market::clock))
        .route("/v2/calendar", get(market::calendar))
        .route("/v2/assets", get(assets::list))
        .route("/v2/assets/{symbol}", get(assets::one))
        .route("/v2/options/contracts", get(options::list))
        .route("/v2/options/contracts/{symbol}", get(options::one))
        .route(
            "/v2/orders",
            get(orders::list)
                .post(orders::submit)
                .delete(orders::cancel_all),
        )
        .route("/v2/orders:by_client_order_id", get(orders::by_client_id))
        .route(
            "/v2/orders/{id}",
            get(orders::get_one)
                .delete(orders::cancel)
                .patch(orders::replace),
        )
        .route(
            "/v2/positions",
            get(positions::list).delete(positions::close_all),
        )
        .route(
            "/v2/positions/{symbol}",
            get(positions::one).delete(positions::close_one),
        )
        .route("/v2/positions/{symbol}/exercise", post(positions::exercise))
        .route("/stream", get(stream::upgrade))
        .route("/stream/", get(stream::upgrade))
        .fallback(|| async { AlpacaError::route_not_found() })
        .method_not_allowed_fallback(|| async { AlpacaError::method_not_allowed() })
        .layer(Extension(state::FaceState::default()))
}
