//! The Charles Schwab Trader API (Individual) wire face (reference:
//! ../shared/reference/brokers/schwab.md, spec
//! ../shared/reference/specs/schwab/trader_api.openapi.json). Base URL
//! `…/trader/v1`; OAuth2 on `/v1/oauth/token` beside it; every account
//! path takes the account's hash; place and replace answer 201 with an
//! empty body and the id only in `Location`; account activity on the
//! streamer, whose URL `/userPreference` gives.
//!
//! | module | holds |
//! |---|---|
//! | `wire` | Schwab's JSON, typed: doubles, integer ids, `+0000` times |
//! | `errors`, `auth` | ServiceError / OAuth / gateway refusals; bearer and account-hash extractors |
//! | `requests` | order requests in, as the engine's |
//! | `orders`, `trading`, `preview` | order objects out; the order endpoints |
//! | `accounts` | account numbers and hashes, account documents, preferences |
//! | `oauth` | the token endpoint's two grants |
//! | `stream` | the streamer's ACCT_ACTIVITY |

mod accounts;
pub(crate) mod auth;
mod errors;
mod oauth;
mod orders;
mod preview;
mod requests;
mod stream;
mod trading;
pub mod wire;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};

use crate::face::{Shared, WireFace};
use crate::faults::Operation;
use crate::model::with_face;
use crate::ratelimit::RateState;
use crate::vendor::{CredentialField, Vendor, ALNUM, UPPER_ALNUM};

pub use auth::account_hash;
pub use errors::SchwabError;

pub struct Schwab;

/// The Schwab model in the broker registry.
pub const VENDOR: Vendor = Vendor {
    slug: "schwab",
    profile: include_str!("../../profiles/schwab.toml"),
    face: with_face::<Schwab>,
    // An individual developer's app (its key and secret) and the user's
    // grant (§1.2). The authorization code and callback stand in for the
    // browser step: exchanging the code is a new authorization.
    credentials: &[
        CredentialField {
            name: "app_key",
            prefix: "",
            len: 32,
            alphabet: ALNUM,
        },
        CredentialField {
            name: "app_secret",
            prefix: "",
            len: 16,
            alphabet: ALNUM,
        },
        // Opaque; reported to look like `I0.…` (§1.2, UNVERIFIED).
        CredentialField {
            name: "access_token",
            prefix: "I0.",
            len: 64,
            alphabet: ALNUM,
        },
        CredentialField {
            name: "refresh_token",
            prefix: "",
            len: 64,
            alphabet: ALNUM,
        },
        CredentialField {
            name: "id_token",
            prefix: "eyJ",
            len: 96,
            alphabet: ALNUM,
        },
        // Codes look like `C0.<…>.<…>` (§1.2).
        CredentialField {
            name: "authorization_code",
            prefix: "C0.",
            len: 48,
            alphabet: UPPER_ALNUM,
        },
        // The app's registered callback, which a code exchange must repeat.
        CredentialField {
            name: "callback_url",
            prefix: "https://127.0.0.1:8182",
            len: 22,
            alphabet: ALNUM,
        },
    ],
    base_path: "/trader/v1",
    unique_client_ids: false,
    revocable: false,
};

impl WireFace for Schwab {
    fn routes() -> Router<Shared> {
        routes()
    }

    fn classify(method: &Method, path: &str) -> Operation {
        if path.starts_with("/v1/oauth/") {
            return Operation::Auth;
        }
        if path == "/ws" {
            return Operation::Stream;
        }
        let Some(rest) = path.strip_prefix("/trader/v1") else {
            return Operation::Other;
        };
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        match (method.as_str(), segments.as_slice()) {
            ("POST", ["accounts", _, "orders"]) => Operation::SubmitOrder,
            ("DELETE", ["accounts", _, "orders", _]) => Operation::CancelOrder,
            ("PUT", ["accounts", _, "orders", _]) => Operation::ReplaceOrder,
            ("GET", ["accounts", _, "orders", _]) => Operation::GetOrder,
            ("GET", ["accounts", _, "orders"] | ["orders"]) => Operation::ListOrders,
            ("GET", ["accounts", ..]) => Operation::Account,
            _ => Operation::Other,
        }
    }

    /// Order writes are throttled per account (§5), not per token: a
    /// refresh opens no new window. The model's user has one account, so
    /// every authenticated request counts against its one window.
    fn rate_scope(headers: &HeaderMap) -> Option<String> {
        crate::face::bearer(headers).map(|_| "account".to_string())
    }

    fn unavailable() -> Response {
        SchwabError::unavailable().into_response()
    }

    fn rate_limited(_state: Option<&RateState>, retry_after_ms: u64) -> Response {
        SchwabError::rate_limited(retry_after_ms).into_response()
    }

    fn token_expired() -> Response {
        SchwabError::unauthorized().into_response()
    }

    /// Schwab documents no rate-limit headers on ordinary answers.
    fn rate_headers(_state: &RateState, _headers: &mut HeaderMap) {}
}

fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/oauth/token", post(oauth::token))
        .route("/trader/v1/accounts/accountNumbers", get(accounts::numbers))
        .route("/trader/v1/accounts", get(accounts::all))
        .route("/trader/v1/accounts/{hash}", get(accounts::one))
        .route(
            "/trader/v1/accounts/{hash}/orders",
            get(trading::list).post(trading::submit),
        )
        .route(
            "/trader/v1/accounts/{hash}/orders/{id}",
            get(trading::get_order)
                .put(trading::replace)
                .delete(trading::cancel),
        )
        .route(
            "/trader/v1/accounts/{hash}/previewOrder",
            post(trading::preview),
        )
        .route("/trader/v1/orders", get(trading::list_all))
        .route("/trader/v1/userPreference", get(accounts::preference))
        .route("/ws", get(stream::upgrade))
        .fallback(|req: Request| async move { SchwabError::no_route(req.uri().path()) })
        .method_not_allowed_fallback(|| async { SchwabError::method_not_allowed() })
        .layer(axum::middleware::from_fn(correlation))
        // Built once per model: one counter and one login table per brokerage.
        .layer(Extension(Correlation::default()))
        .layer(Extension(stream::Logins::default()))
}

/// Numbers the answers, for their `Schwab-Client-CorrelId` (§1.3).
#[derive(Debug, Clone, Default)]
struct Correlation(Arc<AtomicU64>);

/// Stamps each answer with a correlation id: a UUID derived from the
/// answer's number, so a seed's run repeats them.
async fn correlation(req: Request, next: Next) -> Response {
    let n = req
        .extensions()
        .get::<Correlation>()
        .map_or(0, |c| c.0.fetch_add(1, Ordering::Relaxed));
    let mut response = next.run(req).await;
    let id = crate::ids::stable_uuid(&["schwab-correl-id", &n.to_string()]);
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("schwab-client-correlid", v);
    }
    response
}
