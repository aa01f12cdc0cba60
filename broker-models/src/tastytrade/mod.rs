//! The tastytrade Open API wire face (reference:
//! ../shared/reference/brokers/tastytrade.md, swagger in
//! ../shared/reference/specs/tastytrade/). No path prefix; OAuth2 bearer
//! tokens renewed at `POST /oauth/token`; kebab-case JSON in `data` /
//! `context` envelopes, money as strings beside `…-effect` words; the
//! account streamer is a websocket at the root of the same host (in
//! production it has a host of its own, `wss://streamer.tastyworks.com`).
//!
//! Modules: `wire` (every body out, typed), `num` (numbers and times),
//! `words` (the vendor's vocabulary), `errors`, `auth` (the extractors whose
//! rejections are tastytrade's), `request` (order bodies in), `orders` (the
//! order object out), `preview` (buying-power and fee estimates), `search`
//! (the paged order search), and one module per group of endpoints:
//! `oauth`, `accounts`, `trading`, `complex`, `stream`.

mod accounts;
mod auth;
mod complex;
mod errors;
mod num;
mod oauth;
mod orders;
mod preview;
mod request;
mod search;
mod stream;
mod trading;
pub mod wire;
mod words;

use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::face::{Shared, WireFace};
use crate::faults::Operation;
use crate::model::with_face;
use crate::ratelimit::RateState;
use crate::vendor::{CredentialField, Vendor, ALNUM};

pub use errors::TastytradeError;

pub struct Tastytrade;

const HEX: &[u8] = b"0123456789abcdef";

/// The tastytrade model in the broker registry.
pub const VENDOR: Vendor = Vendor {
    slug: "tastytrade",
    profile: include_str!("../../profiles/tastytrade.toml"),
    face: with_face::<Tastytrade>,
    // An OAuth app's grant (§1.2): the user's tokens and the app's client
    // credentials (the SDKs send `client_secret`; `client_id` is optional).
    credentials: &[
        CredentialField {
            name: "access_token",
            prefix: "",
            len: 28,
            alphabet: ALNUM,
        },
        CredentialField {
            name: "client_id",
            prefix: "",
            len: 32,
            alphabet: HEX,
        },
        CredentialField {
            name: "client_secret",
            prefix: "",
            len: 40,
            alphabet: HEX,
        },
        CredentialField {
            name: "refresh_token",
            prefix: "",
            len: 32,
            alphabet: ALNUM,
        },
    ],
    // REST paths start at the host's root (§1.1).
    base_path: "",
    unique_client_ids: false,
    revocable: false,
};

impl WireFace for Tastytrade {
    fn routes() -> Router<Shared> {
        routes()
    }

    fn classify(method: &Method, path: &str) -> Operation {
        if path == "/oauth/token" || path.starts_with("/sessions") {
            return Operation::Auth;
        }
        let orders = path.contains("/orders") || path.contains("/complex-orders");
        let one_order = orders
            && path
                .rsplit('/')
                .next()
                .is_some_and(|last| !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()));
        match method.as_str() {
            "GET" if path == "/" => Operation::Stream,
            "POST" if path.ends_with("/orders") || path.ends_with("/complex-orders") => {
                Operation::SubmitOrder
            }
            "DELETE" if one_order => Operation::CancelOrder,
            "PUT" | "PATCH" if one_order => Operation::ReplaceOrder,
            "GET" if one_order => Operation::GetOrder,
            "GET" if orders => Operation::ListOrders,
            _ if path.ends_with("/positions") => Operation::Positions,
            _ if path.contains("/balances") || path.starts_with("/customers") => Operation::Account,
            // Dry runs and unknown paths.
            _ => Operation::Other,
        }
    }

    fn rate_scope(headers: &HeaderMap) -> Option<String> {
        crate::face::bearer(headers).map(str::to_string)
    }

    fn unavailable() -> Response {
        TastytradeError::unavailable().into_response()
    }

    /// tastytrade's 429 carries no rate-limit headers (§5): the wait is the
    /// client's to choose.
    fn rate_limited(_: Option<&RateState>, _: u64) -> Response {
        TastytradeError::rate_limited().into_response()
    }

    fn token_expired() -> Response {
        TastytradeError::unauthorized().into_response()
    }

    fn rate_headers(_: &RateState, _: &mut HeaderMap) {}
}

fn routes() -> Router<Shared> {
    let orders = "/accounts/{account}/orders";
    let complex = "/accounts/{account}/complex-orders";
    Router::new()
        .route("/", get(stream::upgrade))
        .route("/oauth/token", post(oauth::token))
        .route("/sessions/validate", post(oauth::validate))
        .route("/customers/me/accounts", get(accounts::list))
        .route("/customers/me/accounts/{account}", get(accounts::one))
        .route("/accounts/{account}/positions", get(accounts::positions))
        .route("/accounts/{account}/balances", get(accounts::balances))
        .route(
            "/accounts/{account}/balances/{currency}",
            get(accounts::balances_in),
        )
        .route(orders, get(trading::search_orders).post(trading::submit))
        .route(&format!("{orders}/dry-run"), post(trading::dry_run))
        .route(&format!("{orders}/live"), get(trading::live_orders))
        .route(
            &format!("{orders}/{{id}}"),
            get(trading::get_order)
                .put(trading::replace)
                .patch(trading::replace)
                .delete(trading::cancel),
        )
        .route(complex, get(complex::list).post(complex::submit))
        .route(&format!("{complex}/live"), get(complex::live))
        .route(
            &format!("{complex}/{{id}}"),
            get(complex::get_one).delete(complex::cancel),
        )
        .fallback(|| async { TastytradeError::route_not_found() })
        .method_not_allowed_fallback(|| async { TastytradeError::method_not_allowed() })
}
