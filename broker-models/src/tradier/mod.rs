//! The Tradier brokerage API wire face (reference: ../shared/reference/brokers/tradier.md).
//! Base URL with `/v1`; Bearer tokens; form-encoded requests; XML answers
//! unless the client asks for JSON; account events on a WebSocket.
//!
//! Modules: `wire` (every body, typed), `format` (JSON or XML), `auth`
//! (the extractors whose rejections are Tradier's), `errors`, `forms`
//! (requests in), `orders` (order objects out), and one module per group
//! of endpoints: `trading`, `account`, `activity`, `markets`, `stream`, `oauth`.

mod account;
mod activity;
mod auth;
mod errors;
mod format;
mod forms;
mod markets;
mod oauth;
mod orders;
mod stream;
mod trading;
pub mod wire;

use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};

use crate::face::{Shared, WireFace};
use crate::faults::Operation;
use crate::model::with_face;
use crate::ratelimit::RateState;
use crate::vendor::{CredentialField, Vendor, ALNUM};

pub use errors::TradierError;
pub use stream::ServedAt;

pub struct Tradier;

/// The Tradier model in the broker registry.
pub const VENDOR: Vendor = Vendor {
    slug: "tradier",
    profile: include_str!("../../profiles/tradier.toml"),
    face: with_face::<Tradier>,
    // An OAuth partner app's grant (§1.2): the user's tokens and the app's
    // client credentials for the refresh endpoint.
    credentials: &[
        CredentialField {
            name: "access_token",
            prefix: "",
            len: 28,
            alphabet: ALNUM,
        },
        CredentialField {
            name: "refresh_token",
            prefix: "",
            len: 32,
            alphabet: ALNUM,
        },
        CredentialField {
            name: "client_id",
            prefix: "",
            len: 32,
            alphabet: ALNUM,
        },
        CredentialField {
            name: "client_secret",
            prefix: "",
            len: 16,
            alphabet: ALNUM,
        },
    ],
    base_path: "/v1",
    unique_client_ids: false,
    revocable: false,
};

impl WireFace for Tradier {
    fn routes() -> Router<Shared> {
        routes()
    }

    fn classify(method: &Method, path: &str) -> Operation {
        let in_orders = path.contains("/orders");
        if path.starts_with("/v1/oauth/") {
            return Operation::Auth;
        }
        match method.as_str() {
            "POST" if path.ends_with("/orders") => Operation::SubmitOrder,
            "DELETE" if in_orders => Operation::CancelOrder,
            "PUT" if in_orders => Operation::ReplaceOrder,
            "GET" if path.ends_with("/orders") => Operation::ListOrders,
            "GET" if in_orders => Operation::GetOrder,
            _ if path.ends_with("/positions") => Operation::Positions,
            _ if ["/balances", "/profile", "/history", "/gainloss"]
                .iter()
                .any(|end| path.ends_with(end)) =>
            {
                Operation::Account
            }
            _ if path.contains("/events") => Operation::Stream,
            // Market data (`/v1/markets/…`, its own rate-limit bucket) and unknown paths.
            _ => Operation::Other,
        }
    }

    fn rate_scope(headers: &HeaderMap) -> Option<String> {
        crate::face::bearer(headers).map(str::to_string)
    }

    fn unavailable() -> Response {
        TradierError::unavailable().into_response()
    }

    fn rate_limited(state: Option<&RateState>, retry_after_ms: u64) -> Response {
        let expiry = state.map_or(i64::try_from(retry_after_ms).unwrap_or(0), |s| {
            s.resets_at.millis()
        });
        let mut r = TradierError::quota_violation(expiry).into_response();
        if let Some(s) = state {
            Self::rate_headers(s, r.headers_mut());
        }
        r
    }

    fn token_expired() -> Response {
        TradierError::token_expired().into_response()
    }

    fn rate_headers(state: &RateState, headers: &mut HeaderMap) {
        for (name, value) in [
            ("x-ratelimit-allowed", state.limit.to_string()),
            ("x-ratelimit-used", state.used.to_string()),
            ("x-ratelimit-available", state.remaining.to_string()),
            ("x-ratelimit-expiry", state.resets_at.millis().to_string()),
        ] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        }
    }
}

fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/user/profile", get(account::profile))
        .route("/v1/markets/clock", get(markets::clock))
        .route("/v1/markets/calendar", get(markets::calendar))
        .route("/v1/accounts/{account}/balances", get(account::balances))
        .route("/v1/accounts/{account}/positions", get(account::positions))
        .route("/v1/accounts/{account}/history", get(activity::history))
        .route("/v1/accounts/{account}/gainloss", get(activity::gainloss))
        .route(
            "/v1/accounts/{account}/orders",
            get(trading::list_orders).post(trading::submit),
        )
        .route(
            "/v1/accounts/{account}/orders/{id}",
            get(trading::get_order)
                .put(trading::modify)
                .delete(trading::cancel),
        )
        .route("/v1/accounts/events/session", post(stream::create_session))
        .route("/v1/accounts/events", get(stream::upgrade))
        .route("/v1/oauth/refreshtoken", post(oauth::refresh))
        .fallback(|| async { TradierError::not_found() })
        .method_not_allowed_fallback(|| async { TradierError::method_not_allowed() })
        // This router is built once per model: one session store per brokerage.
        .layer(Extension(stream::Sessions::default()))
}
