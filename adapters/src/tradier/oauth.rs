//! Renewing an OAuth partner app's access token (reference §1.2):
//! `POST {base}/oauth/refreshtoken`, Basic auth with the app's client id and
//! secret, form `grant_type=refresh_token&refresh_token=…`.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use bytes::Bytes;
use http::Method;
use serde::Deserialize;

use crate::auth::{Grant, Renew};
use crate::error::{AdapterError, Result};
use crate::http::{Clock, HttpClient};

pub struct Refresh {
    pub url: String,
    pub client_id: String,
    pub client_secret: String,
    pub http: HttpClient,
    pub clock: Arc<dyn Clock>,
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
}

#[async_trait]
impl Renew for Refresh {
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
        let resp = self.http.send(req).await?;
        let resp = super::errors::check(resp, self.clock.as_ref())?;
        let body: TokenBody = resp.json()?;
        Ok(Grant {
            access_token: body.access_token,
            refresh_token: body.refresh_token,
        })
    }
}
