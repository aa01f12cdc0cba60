//! Alpaca's REST transport: `{base}/v2/...` with the key-pair headers (§1.2),
//! answers checked for status and decoded, failures turned into contract
//! errors. Shared by the adapter and its stream (which re-reads orders after
//! a reconnect).

use std::sync::Arc;

use bytes::Bytes;
use http::Method;
use serde::de::DeserializeOwned;

use super::errors::{self, Context};
use super::models::AlpacaOrder;
use crate::error::{AdapterError, ErrorKind, Result};
use crate::http::{self as h, Clock, HttpClient, HttpResponse, HttpSetup};
use crate::reconcile::{retry_read, Lookup};

const KEY_HEADER: &str = "APCA-API-KEY-ID";
const SECRET_HEADER: &str = "APCA-API-SECRET-KEY";

pub struct Rest {
    base_url: String,
    key_id: String,
    secret_key: String,
    http: HttpClient,
    pub clock: Arc<dyn Clock>,
    pub backoff: h::Backoff,
}

impl Rest {
    pub fn new(base_url: &str, key_id: &str, secret_key: &str, setup: &HttpSetup) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            key_id: key_id.to_string(),
            secret_key: secret_key.to_string(),
            http: setup.client(),
            clock: setup.clock.clone(),
            backoff: setup.backoff(),
        }
    }

    /// One exchange; any HTTP status is an answer here.
    pub async fn exchange(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<HttpResponse> {
        let url = format!("{}{path}", self.base_url);
        let headers = [
            (KEY_HEADER, self.key_id.as_str()),
            (SECRET_HEADER, self.secret_key.as_str()),
            ("Accept", "application/json"),
        ];
        let (ct, bytes) = match body {
            Some(b) => (Some("application/json"), Bytes::from(b)),
            None => (None, Bytes::new()),
        };
        let req = h::request(method, &url, &headers, ct, bytes)?;
        Ok(self.http.send(req).await?)
    }

    /// One exchange whose 2xx answer is decoded as `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        context: Context,
    ) -> Result<T> {
        let r = self.exchange(method, path, body).await?;
        self.decode(&r, context)
    }

    pub fn decode<T: DeserializeOwned>(&self, r: &HttpResponse, context: Context) -> Result<T> {
        if r.status.is_success() {
            r.json()
        } else {
            Err(self.error(r, context))
        }
    }

    pub fn error(&self, r: &HttpResponse, context: Context) -> AdapterError {
        errors::from_response(r, context, self.clock.as_ref())
    }

    /// An idempotent GET, retried on transient failures.
    pub async fn read<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        retry_read(&self.backoff, || {
            self.call(Method::GET, path, None, Context::Other)
        })
        .await
    }

    pub async fn order(&self, broker_order_id: &str) -> Result<AlpacaOrder> {
        self.read(&format!("/v2/orders/{}", path_segment(broker_order_id)?))
            .await
    }

    /// The order for a client order id, or Absent on 404 (§2.4).
    pub async fn order_by_client_id(&self, client_order_id: &str) -> Result<Lookup<AlpacaOrder>> {
        let query =
            serde_urlencoded::to_string([("client_order_id", client_order_id)]).map_err(|e| {
                AdapterError::invalid_request(format!("cannot encode the client order id: {e}"))
            })?;
        match self
            .read(&format!("/v2/orders:by_client_order_id?{query}"))
            .await
        {
            Ok(o) => Ok(Lookup::Found(o)),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(Lookup::Absent),
            Err(e) => Err(e),
        }
    }
}

/// An order id as one path segment. Alpaca's ids are UUIDs; anything that
/// could change the path is refused rather than sent.
pub fn path_segment(id: &str) -> Result<&str> {
    if !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(id)
    } else {
        Err(AdapterError::invalid_request(format!(
            "{id:?} is not an Alpaca order id"
        )))
    }
}
