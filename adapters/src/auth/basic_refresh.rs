//! The refresh-token grant of OAuth 2.0 (RFC 6749 §6) with the client
//! authenticated by HTTP Basic (§2.3.1), as Tradier (`/oauth/refreshtoken`)
//! and Schwab (`/v1/oauth/token`) take it: `POST` the form
//! `grant_type=refresh_token&refresh_token=…` with the app's id and secret
//! as Basic credentials. What differs between the vendors is how a refusal
//! reads, which each passes in as `check`.

use async_trait::async_trait;
use base64::Engine as _;
use bytes::Bytes;
use http::Method;

use super::{Grant, Renew};
use crate::error::{AdapterError, Result};
use crate::http::{HttpClient, HttpResponse};

/// The vendor's reading of the token endpoint's answer: the answer when it
/// is a grant, else the error it means (transient when the grant may still
/// be good, anything else when the broker refused it).
pub type Check = Box<dyn Fn(HttpResponse) -> Result<HttpResponse> + Send + Sync>;

pub struct BasicRefresh {
    pub url: String,
    pub client_id: String,
    pub client_secret: String,
    pub http: HttpClient,
    pub check: Check,
}

#[async_trait]
impl Renew for BasicRefresh {
    async fn renew(&self, refresh_token: &str) -> Result<Grant> {
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.client_id, self.client_secret));
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
        let resp = (self.check)(self.http.send(req).await?)?;
        resp.json()
    }
}
