//! `POST /v1/oauth/token` (reference §1.2): `Authorization: Basic
//! base64(app key:app secret)` and a form body, for the two grants:
//! `authorization_code` (`code`, `redirect_uri`: the user authorized the
//! app, and the refresh token's 7 days start over) and `refresh_token`
//! (a new 30-minute access token; the refresh token is kept, not rotated,
//! and keeps its original expiry). Refusals are OAuth JSON, not ServiceError.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::Json;
use base64::Engine as _;

use super::errors::SchwabError;
use super::wire::TokenGrant;
use crate::brokerage::{Grant, SimBrokerage};
use crate::face::Shared;

/// Whether the Basic credentials are the app's key and secret.
fn app_ok(b: &SimBrokerage, headers: &HeaderMap) -> bool {
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
    let Ok(text) = String::from_utf8(decoded) else {
        return false;
    };
    let Some((key, secret)) = text.split_once(':') else {
        return false;
    };
    let c = b.credentials();
    c.matches("app_key", key) && c.matches("app_secret", secret)
}

/// The answer for a grant. The id token identifies the user, who does
/// not change: the one the model issued with its credentials.
fn answer(b: &SimBrokerage, g: Grant) -> TokenGrant {
    TokenGrant {
        expires_in: g.expires_in_s.unwrap_or_default(),
        token_type: "Bearer",
        scope: "api",
        refresh_token: g.refresh_token,
        access_token: g.access_token,
        id_token: b
            .credentials()
            .get("id_token")
            .unwrap_or_default()
            .to_string(),
    }
}

pub async fn token(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<TokenGrant>, SchwabError> {
    // A form the client sent twice over keeps its first value of each key.
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|_| SchwabError::oauth_request("the body must be a form"))?;
    let mut form = BTreeMap::new();
    for (k, v) in pairs {
        form.entry(k).or_insert(v);
    }
    let field = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let mut b = s.lock();
    if !app_ok(&b, &headers) {
        return Err(SchwabError::invalid_client());
    }
    let grant = match field("grant_type") {
        Some("refresh_token") => {
            let refresh = field("refresh_token")
                .ok_or_else(|| SchwabError::oauth_request("refresh_token is required"))?;
            b.refresh_token(refresh)
                .map_err(|_| SchwabError::bad_refresh_token())?
        }
        Some("authorization_code") => {
            let code =
                field("code").ok_or_else(|| SchwabError::oauth_request("code is required"))?;
            let callback = b.credentials().get("callback_url").unwrap_or_default();
            if field("redirect_uri") != Some(callback) {
                return Err(SchwabError::oauth_request(
                    "redirect_uri must be the app's registered callback URL",
                ));
            }
            b.exchange_code(code).map_err(|_| SchwabError::bad_code())?
        }
        _ => return Err(SchwabError::unsupported_grant()),
    };
    Ok(Json(answer(&b, grant)))
}
