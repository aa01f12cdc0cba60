//! Webhooks a model would send, kept in an outbox a test reads at
//! `GET /_sim/webhooks`: a served model never calls out on its own (it must
//! not reach the network unasked), so a test takes each delivery (its URL,
//! headers and raw body) and posts it where it likes, or checks it in place.
//! Each face decides what it sends and how it signs; the outbox's shape and
//! its place behind the control token are shared.

use std::collections::BTreeMap;

use axum::routing::MethodRouter;
use axum::Router;

use crate::face::Shared;

/// A webhook the model sent: where, with which headers, and the raw body.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delivery {
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// Whether `url` is one a vendor would send to or redirect to: http(s),
/// with a host (a webhook's URL, SnapTrade's portal redirect).
pub fn is_web_url(url: &str) -> bool {
    url.parse::<axum::http::Uri>()
        .is_ok_and(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some())
}

/// `/_sim/webhooks` with the face's handlers, behind the control token like
/// the rest of the control surface.
pub fn outbox_routes(shared: &Shared, handlers: MethodRouter<Shared>) -> Router {
    Router::new()
        .route("/_sim/webhooks", handlers)
        .route_layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            crate::control::guard,
        ))
        .with_state(shared.clone())
}
