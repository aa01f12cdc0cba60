//! Renewing the access token (reference §1.2): `POST {base}/oauth/token`
//! with the JSON body `{"grant_type":"refresh_token","refresh_token",
//! "client_secret","client_id"?}`, no `Authorization`. The answer is bare
//! (no `data`, read as the shared [`Grant`]); the refresh grant keeps the
//! refresh token.

use async_trait::async_trait;
use bytes::Bytes;
use http::Method;
use serde::Serialize;

use super::errors;
use crate::auth::{Grant, Renew};
use crate::error::{AdapterError, Result};
use crate::http::HttpClient;

pub struct Refresh {
    pub url: String,
    pub client_id: Option<String>,
    pub client_secret: String,
    pub http: HttpClient,
}

#[derive(Serialize)]
struct TokenRequest<'a> {
    grant_type: &'static str,
    refresh_token: &'a str,
    client_secret: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
}

#[async_trait]
impl Renew for Refresh {
    async fn renew(&self, refresh_token: &str) -> Result<Grant> {
        let body = serde_json::to_vec(&TokenRequest {
            grant_type: "refresh_token",
            refresh_token,
            client_secret: &self.client_secret,
            client_id: self.client_id.as_deref(),
        })
        .map_err(|e| AdapterError::invalid_request(format!("cannot encode the refresh: {e}")))?;
        let req = crate::http::request(
            Method::POST,
            &self.url,
            &[
                ("Accept", "application/json"),
                ("User-Agent", super::client::USER_AGENT),
            ],
            Some("application/json"),
            Bytes::from(body),
        )?;
        errors::check(self.http.send(req).await?)?.json()
    }
}
