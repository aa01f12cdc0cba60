//! Renewing the access token (reference §1.2): `POST {host}/v1/oauth/token`
//! with the app's key and secret as Basic auth and the form
//! `grant_type=refresh_token&refresh_token=…`. Schwab keeps the refresh
//! token (it is not rotated) and refuses it once its 7 days are over: an
//! OAuth error, after which only the user's new authorization helps (the
//! shared token source then answers `reauth_required`).

use async_trait::async_trait;
use base64::Engine as _;
use bytes::Bytes;
use http::Method;

use super::models::{OAuthError, TokenBody};
use crate::auth::{Grant, Renew};
use crate::error::{AdapterError, ErrorKind, Result};
use crate::http::HttpClient;

pub struct Refresh {
    pub url: String,
    pub app_key: String,
    pub app_secret: String,
    pub http: HttpClient,
}

#[async_trait]
impl Renew for Refresh {
    async fn renew(&self, refresh_token: &str) -> Result<Grant> {
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.app_key, self.app_secret));
        let auth = format!("Basic {basic}");
        let form = serde_urlencoded::to_string([
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .map_err(|e| AdapterError::invalid_request(format!("cannot encode the refresh: {e}")))?;
        let req = crate::http::request(
            Method::POST,
            &self.url,
            &[
                ("Authorization", auth.as_str()),
                ("Accept", "application/json"),
            ],
            Some("application/x-www-form-urlencoded"),
            Bytes::from(form),
        )?;
        let resp = self.http.send(req).await?;
        if resp.status.is_server_error() || resp.status == http::StatusCode::TOO_MANY_REQUESTS {
            // The grant may still be good: the caller may try again later.
            return Err(super::errors::classify(&resp));
        }
        if !resp.status.is_success() {
            // An OAuth refusal (or a gateway page): the grant is not renewed.
            let why = serde_json::from_slice::<OAuthError>(&resp.body)
                .map_or_else(|_| format!("HTTP {}", resp.status.as_u16()), |e| e.error);
            return Err(AdapterError::new(
                ErrorKind::AuthExpired,
                format!("Schwab refused to renew the access token: {why}"),
            )
            .with_code(why));
        }
        let body: TokenBody = resp.json()?;
        Ok(Grant {
            access_token: body.access_token,
            refresh_token: body.refresh_token,
        })
    }
}
