//! The SnapTrade API wire face (reference: ../shared/reference/brokers/snaptrade.md,
//! spec ../shared/reference/specs/snaptrade/api.yaml): an aggregator. The
//! user's brokerages sit behind it (the profile's `[[downstream]]`), one
//! connection each with its own accounts, capabilities, commission
//! (`[downstream.fees]`) and health; the accounts trade on the model's one
//! venue, each with its own cash and positions. SnapTrade down makes every brokerage behind it unavailable
//! (the plan's `outage`); one brokerage down (`downstream_outage` naming
//! it) or one connection broken (`/_sim/connection`) leaves the others be.
//!
//! Routes answer on the root paths (SDK 13) and under `/api/v1` (SDK 11),
//! the same handlers (§1.1).
//!
//! | module | holds |
//! |---|---|
//! | `wire` | SnapTrade's JSON, typed: v1 numbers, v2 decimal strings |
//! | `auth` | the request signature and the user's credentials, verified |
//! | `errors` | `{"detail", "status_code", "code"}` refusals |
//! | `view` | connections, accounts, holdings and orders in SnapTrade's shapes |
//! | `accounts` | connections, accounts, balances, holdings with their age |
//! | `activities` | an account's history, a day late |
//! | `trading` | place, replace, cancel, order detail and lists (v1, and V2 with legs) |
//! | `options` | option orders: one to four legs, and their impact |
//! | `checked` | symbol search, a trade's impact, and its place by id |
//! | `hooks` | webhooks to the partner's URL, signed, in the outbox |
//! | `users` | the account holder and the users a test registers |
//! | `portal` | the connection portal's login, and a test finishing it |
//! | `handed_out` | what SnapTrade hands out for five minutes (trades, portal sessions) |

mod accounts;
mod activities;
pub(crate) mod auth;
mod checked;
mod errors;
mod handed_out;
mod hooks;
mod options;
mod portal;
mod trading;
mod users;
mod view;
pub mod wire;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;

use crate::brokerage::SimBrokerage;
use crate::face::{Shared, WireFace};
use crate::faults::Operation;
use crate::model::with_face;
use crate::ratelimit::RateState;
use crate::vendor::{CredentialField, Vendor, ALNUM, LOWER_HEX, UPPER_ALNUM, UUID};

pub use auth::signature_for;
pub use errors::SnapTradeError;

pub struct SnapTrade;

/// The SnapTrade model in the broker registry.
pub const VENDOR: Vendor = Vendor {
    slug: "snaptrade",
    profile: include_str!("../../profiles/snaptrade.toml"),
    face,
    // A partner's commercial API key (clientId and the consumer key that
    // signs, §1.2) and the one end user it registered (userId is the
    // partner's choice; userSecret is SnapTrade's, UUID-like).
    credentials: &[
        CredentialField {
            name: "client_id",
            prefix: "RAXX-",
            len: 15,
            alphabet: UPPER_ALNUM,
        },
        CredentialField {
            name: "consumer_key",
            prefix: "",
            len: 50,
            alphabet: ALNUM,
        },
        CredentialField {
            name: "user_id",
            prefix: "raxx-user-",
            len: 26,
            alphabet: LOWER_HEX,
        },
        CredentialField {
            name: "user_secret",
            prefix: "",
            len: 36,
            alphabet: UUID,
        },
    ],
    // SDK 13 takes the bare host and appends root paths (§1.3).
    base_path: "",
    // SnapTrade forwards client_order_id and does not de-duplicate (§4.5).
    unique_client_ids: false,
    revocable: true,
};

/// The face with its webhook outbox beside the control surface, and the
/// partner's state the routes share (webhook setting, registered users).
fn face(shared: &Shared) -> axum::Router {
    with_face::<SnapTrade>(shared)
        .merge(hooks::routes(shared))
        .merge(portal::routes(shared))
        .layer(axum::Extension(hooks::Hooks::default()))
        .layer(axum::Extension(users::Users::default()))
        .layer(axum::Extension(checked::Trades::default()))
        .layer(axum::Extension(portal::Portal::default()))
}

impl WireFace for SnapTrade {
    fn routes() -> Router<Shared> {
        routes()
    }

    fn classify(method: &Method, path: &str) -> Operation {
        let path = path.strip_prefix(auth::LEGACY_PREFIX).unwrap_or(path);
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match (method.as_str(), segments.as_slice()) {
            ("POST", ["trade", "impact"]) => Operation::Other,
            // `/trade/place`, and a checked trade placed by its id.
            ("POST", ["trade", _]) => Operation::SubmitOrder,
            ("POST", ["accounts", _, "symbols"]) => Operation::Other,
            ("POST", ["accounts", _, "trading" | "orders", "cancel"]) => Operation::CancelOrder,
            ("POST", ["accounts", _, "trading", "replace"]) => Operation::ReplaceOrder,
            // The account-scoped placements (`trading/simple`, `bracket`, …).
            ("POST", ["accounts", _, "trading", _]) => Operation::SubmitOrder,
            ("POST", ["accounts", _, "orders", "details"]) => Operation::GetOrder,
            ("GET", ["accounts", _, "orders", "details", "v2", _]) => Operation::GetOrder,
            ("GET", ["accounts", _, "orders" | "recentOrders"])
            | ("GET", ["accounts", _, "orders" | "recentOrders", "v2"]) => Operation::ListOrders,
            ("GET", ["accounts", _, "positions", ..]) => Operation::Positions,
            ("GET", ["accounts", ..] | ["authorizations", ..]) => Operation::Account,
            _ => Operation::Other,
        }
    }

    /// An account-scoped order route names its account in the path; one
    /// behind a brokerage SnapTrade only reads cannot trade. (`/trade/place`
    /// names it in the body: its handler records the attempt.)
    fn read_only_target(b: &SimBrokerage, path: &str) -> bool {
        let path = path.strip_prefix(auth::LEGACY_PREFIX).unwrap_or(path);
        let mut segments = path.split('/').filter(|s| !s.is_empty());
        match (segments.next(), segments.next()) {
            (Some("accounts"), Some(account)) => b
                .profile()
                .downstream_of(account)
                .is_some_and(|d| !d.trading),
            _ => false,
        }
    }

    /// One window per partner key (§8.3: 250 a minute per clientId); the
    /// model issues one, so every signed request counts against it.
    fn rate_scope(headers: &HeaderMap) -> Option<String> {
        headers.get("signature").map(|_| "client".to_string())
    }

    fn unavailable() -> Response {
        SnapTradeError::unavailable().into_response()
    }

    /// 429 with the wait in `Retry-After`, and the exhausted window's
    /// `X-RateLimit-*` (SDK 13: "`X-RateLimit-Remaining: 0` means you hit
    /// the customer-level limit").
    fn rate_limited(state: Option<&RateState>, retry_after_ms: u64) -> Response {
        let mut r = SnapTradeError::throttled(retry_after_ms).into_response();
        // A storm on a request no window counts (the unsigned `GET /`) has
        // no window to report.
        if let Some(state) = state.filter(|s| s.limit > 0) {
            Self::rate_headers(state, r.headers_mut());
        }
        r
    }

    /// SnapTrade's credentials do not expire; a key refused for a window
    /// reads as a signature that no longer verifies.
    fn token_expired() -> Response {
        SnapTradeError::bad_signature().into_response()
    }

    fn not_ready() -> Response {
        SnapTradeError::not_ready().into_response()
    }

    /// Every brokerage behind SnapTrade down at once.
    fn downstream_unavailable() -> Response {
        SnapTradeError::brokerage_down().into_response()
    }

    /// `X-RateLimit-*` on every answer (§8.3); the reset is the wait in
    /// seconds until the window resets, rounded up, not a time: SDK 13
    /// tells its users to "wait for the corresponding `*-Reset` value
    /// (seconds) before retrying" (a 429 also says the wait in `Retry-After`).
    fn rate_headers(state: &RateState, headers: &mut HeaderMap) {
        let wait_ms = (state.resets_at.millis() - state.counted_at.millis()).max(0);
        let secs = (wait_ms + 999).div_euclid(1000);
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

/// The operations, on their root paths.
fn operations() -> Router<Shared> {
    Router::new()
        .route("/brokerages", get(accounts::brokerages))
        .route("/snapTrade/listUsers", get(users::list))
        .route("/snapTrade/registerUser", post(users::register))
        .route("/snapTrade/deleteUser", delete(users::delete))
        .route("/snapTrade/resetUserSecret", post(users::reset_secret))
        .route("/snapTrade/login", post(portal::login))
        .route("/authorizations", get(accounts::connections))
        .route(
            "/authorizations/{id}",
            get(accounts::connection).delete(accounts::remove_authorization),
        )
        .route("/connection/{id}", delete(accounts::delete_connection))
        .route("/authorizations/{id}/disable", post(accounts::disable))
        .route("/authorizations/{id}/refresh", post(accounts::refresh))
        .route(
            "/authorizations/{id}/accounts",
            get(accounts::connection_accounts),
        )
        .route("/accounts", get(accounts::accounts))
        // A static segment: matched before `/accounts/{id}` (§11.2).
        .route("/accounts/all", get(accounts::accounts_all))
        .route("/accounts/{id}", get(accounts::account))
        .route("/accounts/{id}/balances", get(accounts::balances))
        .route("/accounts/{id}/activities", get(activities::activities))
        .route("/accounts/{id}/positions", get(accounts::positions_legacy))
        .route("/accounts/{id}/positions/all", get(accounts::positions_all))
        .route("/accounts/{id}/options", get(accounts::option_positions))
        .route("/accounts/{id}/orders", get(trading::list))
        .route("/accounts/{id}/orders/v2", get(trading::list_v2))
        .route("/accounts/{id}/recentOrders", get(trading::recent))
        .route("/accounts/{id}/recentOrders/v2", get(trading::recent_v2))
        .route("/accounts/{id}/orders/details", post(trading::detail))
        .route(
            "/accounts/{id}/orders/details/v2/{order}",
            get(trading::detail_v2),
        )
        .route("/accounts/{id}/orders/cancel", post(trading::cancel_legacy))
        .route("/accounts/{id}/trading/cancel", post(trading::cancel))
        .route("/accounts/{id}/trading/replace", post(trading::replace))
        .route("/accounts/{id}/trading/options", post(options::place))
        .route(
            "/accounts/{id}/trading/options/impact",
            post(options::impact),
        )
        .route("/accounts/{id}/symbols", post(checked::search))
        .route("/trade/impact", post(checked::impact))
        // Static segments: matched before `/trade/{tradeId}`.
        .route("/trade/place", post(trading::place))
        .route("/trade/{id}", post(checked::place))
}

fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(accounts::status))
        .merge(operations())
        .nest(auth::LEGACY_PREFIX, operations())
        .fallback(|| async { SnapTradeError::not_found() })
        .method_not_allowed_fallback(|req: Request| async move {
            SnapTradeError::method_not_allowed(req.method().as_str())
        })
}
