//! Plaid's transport (reference §1): every operation a POST of a JSON body
//! to `{base}/<operation>`, the API keys in the `PLAID-CLIENT-ID` /
//! `PLAID-SECRET` headers (never in the body, so that no request body ever
//! carries them), `Plaid-Version: 2020-09-14`; answers checked and decoded.

use bytes::Bytes;
use http::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::errors;
use crate::error::{AdapterError, Result};
use crate::http::{request, HttpClient, HttpSetup};

/// The API version whose shapes the adapter reads.
const PLAID_VERSION: &str = "2020-09-14";

pub struct PlaidClient {
    base_url: String,
    client_id: String,
    secret: String,
    http: HttpClient,
}

impl PlaidClient {
    pub fn new(base_url: &str, client_id: &str, secret: &str, setup: &HttpSetup) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            secret: secret.to_string(),
            http: setup.client(),
        }
    }

    /// One operation: its body out, its answer decoded, a refusal as an error.
    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T> {
        let url = format!("{}{path}", self.base_url);
        let bytes = serde_json::to_vec(body)
            .map_err(|e| AdapterError::invalid_request(format!("cannot write {path}: {e}")))?;
        let headers = [
            ("PLAID-CLIENT-ID", self.client_id.as_str()),
            ("PLAID-SECRET", self.secret.as_str()),
            ("Plaid-Version", PLAID_VERSION),
            ("Accept", "application/json"),
        ];
        let req = request(
            Method::POST,
            &url,
            &headers,
            Some("application/json"),
            Bytes::from(bytes),
        )?;
        let resp = self.http.send(req).await?;
        errors::check(resp)?.json()
    }
}
