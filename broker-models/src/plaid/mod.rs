//! The Plaid Investments wire face (reference: ../shared/reference/brokers/plaid.md),
//! a read-only source: every operation is a POST with a JSON body, keys in
//! headers or in the body, answers in the shapes plaid-python 46 parses,
//! errors as Plaid's error object. It has no order route at all: an
//! order-shaped request gets Plaid's 404 and is recorded in the ledger by
//! the fault layer (the read-only tier's referee).
//!
//! The institution's data comes from the brokerage core's account holder
//! (profile `[holder]`): holdings and history change over simulated time.
//!
//! Modules: `wire` (every body, typed), `requests` (bodies in), `errors`,
//! `call` (the extractor whose rejections are Plaid's), `state` (Items,
//! tokens, limits, outbox), `institution` (the Sandbox's institutions and
//! names), `report` (the institution's data in Plaid's words), and the
//! endpoints: `link`, `investments`, `webhooks`.

mod call;
mod errors;
mod institution;
mod investments;
mod link;
mod report;
mod requests;
mod state;
mod webhooks;
pub mod wire;

use axum::extract::Request;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};

use crate::face::{Shared, WireFace};
use crate::faults::Operation;
use crate::model::with_face;
use crate::ratelimit::RateState;
use crate::vendor::{CredentialField, Vendor, ALNUM, LOWER_HEX, UUID};

pub use errors::PlaidError;

pub struct Plaid;

/// The Plaid model in the broker registry.
pub const VENDOR: Vendor = Vendor {
    slug: "plaid",
    profile: include_str!("../../profiles/plaid.toml"),
    face,
    // What Raxx keeps for a Tier C connection (§1.2, §2.2): its own API
    // keys, and the user's Item (access token and item id, stored together
    // after the public token's exchange). Key lengths are from memory
    // (NOTES §2, unverified); no SDK checks them.
    credentials: &[
        CredentialField {
            name: "client_id",
            prefix: "",
            len: 24,
            alphabet: LOWER_HEX,
        },
        CredentialField {
            name: "secret",
            prefix: "",
            len: 30,
            alphabet: LOWER_HEX,
        },
        CredentialField {
            name: "access_token",
            prefix: "access-sandbox-",
            len: 51,
            alphabet: UUID,
        },
        CredentialField {
            name: "item_id",
            prefix: "",
            len: 37,
            alphabet: ALNUM,
        },
    ],
    // No path prefix: `POST https://sandbox.plaid.com/investments/holdings/get` (§1.1).
    base_path: "",
    unique_client_ids: false,
    revocable: true,
};

/// The face with its state: the vendor routes behind the fault layer (the
/// kit's `with_face`), the webhook outbox beside the control surface, and
/// an outer layer that gives every answer its request id.
fn face(shared: &Shared) -> Router {
    let plaid = state::Plaid::new(&shared.lock());
    with_face::<Plaid>(shared)
        .merge(webhooks::routes(shared))
        .layer(Extension(plaid.clone()))
        .layer(axum::middleware::from_fn_with_state(plaid, stamp))
}

/// Draws the request id of every vendor answer and writes it into error
/// bodies, including those the fault layer made without it.
async fn stamp(
    axum::extract::State(plaid): axum::extract::State<state::Plaid>,
    mut req: Request,
    next: Next,
) -> Response {
    if req.uri().path().starts_with("/_sim/") {
        return next.run(req).await;
    }
    let id = plaid.lock().next_request_id();
    req.extensions_mut().insert(call::RequestId(id.clone()));
    let response = next.run(req).await;
    let Some(error) = response.extensions().get::<PlaidError>().cloned() else {
        return response;
    };
    let mut rendered = error.render(&id);
    if let Some(date) = response.headers().get(header::DATE) {
        rendered.headers_mut().insert(header::DATE, date.clone());
    }
    rendered
}

impl WireFace for Plaid {
    /// Plaid's 429 names no wait (§4.3: no Retry-After, no limit headers).
    const NAMES_ITS_WAIT: bool = false;

    fn routes() -> Router<Shared> {
        Router::new()
            .route(
                "/sandbox/public_token/create",
                post(link::create_public_token),
            )
            .route("/item/public_token/exchange", post(link::exchange))
            .route("/item/get", post(link::item_get))
            .route("/item/remove", post(link::remove))
            .route("/sandbox/item/reset_login", post(link::reset_login))
            .route("/sandbox/item/fire_webhook", post(link::fire_webhook))
            .route("/accounts/get", post(investments::accounts))
            .route("/investments/holdings/get", post(investments::holdings))
            .route(
                "/investments/transactions/get",
                post(investments::transactions),
            )
            .route("/investments/refresh", post(investments::refresh))
            // Every other path, order-shaped ones included: Plaid's 404.
            .fallback(|| async { PlaidError::not_found() })
            .method_not_allowed_fallback(|| async { PlaidError::not_found() })
    }

    /// Plaid has no order operations; a path that names orders or trades is
    /// classified as the order operation its method would be elsewhere, so
    /// that the fault layer records it as an attempt to trade.
    fn classify(method: &Method, path: &str) -> Operation {
        let lower = path.to_ascii_lowercase();
        if lower.contains("order") || lower.contains("trade") {
            return match *method {
                Method::GET | Method::HEAD => Operation::ListOrders,
                Method::DELETE => Operation::CancelOrder,
                Method::PUT | Method::PATCH => Operation::ReplaceOrder,
                _ => Operation::SubmitOrder,
            };
        }
        match path {
            "/investments/holdings/get" => Operation::Positions,
            "/investments/transactions/get" | "/accounts/get" => Operation::Account,
            "/sandbox/public_token/create" | "/item/public_token/exchange" => Operation::Auth,
            _ => Operation::Other,
        }
    }

    /// Plaid's limits are per Item, which the body names: the handlers count them.
    fn rate_scope(_headers: &HeaderMap) -> Option<String> {
        None
    }

    /// Plaid's own failure: 500 API_ERROR (it has no 503 for an outage;
    /// PLANNED_MAINTENANCE is scheduled, not a fault).
    fn unavailable() -> Response {
        PlaidError::internal().into_response()
    }

    fn rate_limited(_state: Option<&RateState>, _retry_after_ms: u64) -> Response {
        PlaidError::rate_limited("").into_response()
    }

    /// Plaid sends no Retry-After and no limit headers (§4.3): only the
    /// endpoint's own code tells the client which limit it hit.
    fn rate_limited_at(path: &str, _state: Option<&RateState>, _retry_after_ms: u64) -> Response {
        PlaidError::rate_limited(path).into_response()
    }

    /// Plaid's access tokens never expire (§2.2): a once-good access that
    /// stops working is an Item whose login must be repaired by its user.
    fn token_expired() -> Response {
        PlaidError::item_login_required().into_response()
    }

    fn reauth_required() -> Response {
        PlaidError::item_login_required().into_response()
    }

    fn not_ready() -> Response {
        PlaidError::product_not_ready().into_response()
    }

    fn downstream_unavailable() -> Response {
        PlaidError::institution_down().into_response()
    }

    fn rate_headers(_state: &RateState, _headers: &mut HeaderMap) {}
}
