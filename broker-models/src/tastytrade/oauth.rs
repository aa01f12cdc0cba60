//! OAuth2 (reference §1.2, §8.1): `POST /oauth/token` with the refresh
//! grant, as JSON (both SDKs) or a form (a third-party crate), answers a
//! bare `{access_token, token_type, expires_in}`: access tokens live 15
//! minutes on the model's clock, and the refresh grant keeps its refresh
//! token. Its errors are OAuth-shaped. `POST /sessions/validate` says
//! whether the bearer token is good.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::auth::Caller;
use super::errors::TastytradeError;
use super::wire::{Data, Grant, User};
use crate::face::Shared;

/// The token request's fields; `scope` (the TypeScript SDK's) is taken and not checked.
#[derive(Debug, Default, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    refresh_token: Option<String>,
    client_secret: Option<String>,
    client_id: Option<String>,
}

fn read(headers: &HeaderMap, body: &[u8]) -> Result<TokenRequest, TastytradeError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let parsed = if form {
        serde_urlencoded::from_bytes(body).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice(body).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| TastytradeError::oauth_request("invalid_request", e))
}

pub async fn token(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let request = match read(&headers, &body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match request.grant_type.as_deref() {
        Some("refresh_token") => {}
        // The code grant needs the browser step on my.tastytrade.com.
        Some("authorization_code") => {
            return TastytradeError::oauth_request(
                "unsupported_grant_type",
                "raxx-sim does not simulate the authorization_code grant; use refresh_token",
            )
            .into_response()
        }
        _ => {
            return TastytradeError::oauth_request(
                "unsupported_grant_type",
                "grant_type must be refresh_token",
            )
            .into_response()
        }
    }
    let mut b = s.lock();
    let c = b.credentials();
    let secret_ok = request
        .client_secret
        .as_deref()
        .is_some_and(|v| c.matches("client_secret", v));
    // `client_id` is optional, and must be the app's when it is sent (§1.2).
    let id_ok = request
        .client_id
        .as_deref()
        .is_none_or(|v| c.matches("client_id", v));
    if !secret_ok || !id_ok {
        return TastytradeError::invalid_client().into_response();
    }
    let Some(refresh) = request.refresh_token.as_deref() else {
        return TastytradeError::oauth_request("invalid_request", "refresh_token is missing")
            .into_response();
    };
    match b.refresh_token(refresh) {
        Ok(g) => Json(Grant {
            access_token: g.access_token,
            token_type: "Bearer",
            expires_in: g.expires_in_s.unwrap_or(900),
        })
        .into_response(),
        Err(_) => TastytradeError::invalid_grant().into_response(),
    }
}

/// `POST /sessions/validate`: 201 for a good token (the Python SDK checks
/// only for a 2xx), the usual 401 otherwise.
pub async fn validate(caller: Caller, State(s): State<Shared>) -> Response {
    let b = s.lock();
    let account = b.account_numbers().into_iter().next().unwrap_or_default();
    let user = User {
        email: format!("{}@example.com", account.to_lowercase()),
        username: format!("sim{}", account.to_lowercase()),
        external_id: format!(
            "U{}",
            crate::ids::stable_int(&["tastytrade/user", &account])
        ),
        is_confirmed: true,
    };
    (
        StatusCode::CREATED,
        Json(Data {
            data: user,
            context: caller.context,
        }),
    )
        .into_response()
}
