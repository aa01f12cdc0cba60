//! SnapTrade's transport in commercial-key mode (reference §1.2, §2):
//! every request carries the user's `userId` and `userSecret`, then the
//! operation's own parameters, then `clientId` and `timestamp` (Unix
//! seconds, from the injected clock), in that order, and a `Signature`
//! header over the resource path, that exact query and the body.

use std::sync::Arc;

use bytes::Bytes;
use http::Method;

use super::sign::signature;
use super::SnapTradeConfig;
use crate::error::Result;
use crate::http::{request, Clock, HttpClient, HttpResponse, HttpSetup};

pub struct Client {
    /// The base URL without a trailing slash; a path part of it (a mount
    /// prefix) is sent but not signed, as SDK 13 does (§1.3).
    base_url: String,
    client_id: String,
    consumer_key: String,
    user_id: String,
    user_secret: String,
    http: HttpClient,
    clock: Arc<dyn Clock>,
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so a
/// value can never split a query or a path (`u 1&x` → `u%201%26x`, §2).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Client {
    pub fn new(config: &SnapTradeConfig, setup: &HttpSetup) -> Self {
        Self {
            base_url: config.base_url.trim_end_matches('/').to_string(),
            client_id: config.client_id.clone(),
            consumer_key: config.consumer_key.clone(),
            user_id: config.user_id.clone(),
            user_secret: config.user_secret.clone(),
            http: setup.client(),
            clock: setup.clock.clone(),
        }
    }

    /// The query as sent and signed. The SDK leaves `clientId` unencoded;
    /// encoding it changes nothing for a client id that is URL-safe, and
    /// keeps one that is not from breaking the request.
    fn query(&self, params: &[(&str, &str)]) -> String {
        let seconds = self.clock.now_ms().div_euclid(1000);
        let mut pairs = vec![
            ("userId", encode(&self.user_id)),
            ("userSecret", encode(&self.user_secret)),
        ];
        pairs.extend(params.iter().map(|(k, v)| (*k, encode(v))));
        pairs.push(("clientId", encode(&self.client_id)));
        pairs.push(("timestamp", seconds.to_string()));
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// One signed exchange, read in full. `path` is the resource path with
    /// its segments encoded; `body` is canonical JSON (`models`). Signed
    /// afresh for every attempt: the timestamp moves with the clock.
    pub async fn exchange(
        &self,
        method: Method,
        path: &str,
        params: &[(&str, &str)],
        body: Option<&str>,
    ) -> Result<HttpResponse> {
        let query = self.query(params);
        let signed = signature(&self.consumer_key, path, &query, body);
        let url = format!("{}{path}?{query}", self.base_url);
        let headers = [
            ("Signature", signed.as_str()),
            ("Accept", "application/json"),
        ];
        let (content_type, bytes) = match body {
            Some(b) => (Some("application/json"), Bytes::from(b.to_string())),
            None => (None, Bytes::new()),
        };
        let req = request(method, &url, &headers, content_type, bytes)?;
        Ok(self.http.send(req).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_split_a_query_or_a_path() {
        assert_eq!(encode("u 1&x"), "u%201%26x");
        assert_eq!(encode("a/b?c=d#é"), "a%2Fb%3Fc%3Dd%23%C3%A9");
        assert_eq!(
            encode("917c8734-8470-4a3e-a18f-57c3f2ee6631"),
            "917c8734-8470-4a3e-a18f-57c3f2ee6631"
        );
    }
}
