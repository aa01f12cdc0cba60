//! OAuth for partner apps (reference §1.2): `POST /v1/oauth/refreshtoken`
//! with the app's client credentials as Basic auth and the form
//! `grant_type=refresh_token&refresh_token=…` renews the user's access token.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use super::errors::TradierError;
use super::format::Format;
use super::forms::{field, parse_form};
use super::wire::{time, Grant};
use crate::face::Shared;

/// Whether the Basic credentials are the app's client id and secret.
fn client_ok(b: &crate::SimBrokerage, headers: &HeaderMap) -> bool {
    let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(basic.trim()) else {
        return false;
    };
    let text = String::from_utf8_lossy(&decoded);
    let (id, secret) = text.split_once(':').unwrap_or_default();
    let c = b.credentials();
    c.matches("client_id", id) && c.matches("client_secret", secret)
}

pub async fn refresh(
    format: Format,
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut b = s.lock();
    if !client_ok(&b, &headers) {
        return TradierError::invalid_token().into_response();
    }
    let form = match parse_form(&body) {
        Ok(f) => f,
        Err(e) => return e.render(format),
    };
    if field(&form, "grant_type") != Some("refresh_token") {
        return TradierError::invalid("grant_type must be refresh_token").render(format);
    }
    let Some(refresh_token) = field(&form, "refresh_token") else {
        return TradierError::invalid("refresh_token is required").render(format);
    };
    let grant = b
        .refresh_token(refresh_token)
        .map(|g| Grant {
            access_token: g.access_token,
            refresh_token: g.refresh_token,
            expires_in: g.expires_in_s,
            issued_at: time(g.issued_at),
            scope: "read write market trade stream",
            status: "approved",
        })
        .map_err(|_| TradierError::invalid_refresh_token());
    format.answer(grant)
}
