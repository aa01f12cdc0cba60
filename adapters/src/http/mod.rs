//! The HTTP layer every vendor adapter shares: requests over an injected
//! [`Dialer`], a timeout on the whole exchange, bodies read in full, and
//! transport failures turned into contract errors. Vendor specifics (auth
//! headers, error bodies, rate-limit headers) live in each vendor's module.

pub mod clock;
pub mod dial;
pub mod retry;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;

use crate::error::{AdapterError, ErrorKind};
pub use clock::{Clock, EpochClock, SystemClock};
pub use dial::{BoxIo, Dialer, TcpDialer};
pub use retry::{Backoff, RetryPolicy};

/// The largest response body an adapter reads; brokers' answers are small,
/// and a runaway body must not exhaust memory.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// A response read in full.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl HttpResponse {
    /// The body as `T`, or an `unknown` error quoting the start of what came.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, AdapterError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            AdapterError::unknown(format!(
                "malformed answer from the broker (HTTP {}): {e}; body starts {:?}",
                self.status.as_u16(),
                self.snippet()
            ))
        })
    }

    /// The first 200 characters of the body, for error messages.
    pub fn snippet(&self) -> String {
        String::from_utf8_lossy(&self.body)
            .chars()
            .take(200)
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What failed below HTTP: nothing, or something, may have reached the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// No answer within the timeout: the request may have taken effect.
    Timeout,
    /// The connection could not be made: the request never left.
    Connect(String),
    /// The connection broke after the request was sent: it may have taken effect.
    Broken(String),
}

impl TransportError {
    /// Whether the request may have reached the broker and taken effect.
    pub fn is_ambiguous(&self) -> bool {
        !matches!(self, TransportError::Connect(_))
    }
}

impl From<TransportError> for AdapterError {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::Timeout => AdapterError::timeout("no answer from the broker in time"),
            TransportError::Connect(m) => {
                AdapterError::unavailable(format!("cannot reach the broker: {m}"))
            }
            TransportError::Broken(m) => AdapterError::new(
                ErrorKind::Timeout,
                format!("the connection broke before the broker answered: {m}"),
            ),
        }
    }
}

/// How an adapter reaches its broker, injected by whoever builds it: Raxx
/// passes [`HttpSetup::production`], the harness a turmoil dialer and an
/// [`EpochClock`].
#[derive(Clone)]
pub struct HttpSetup {
    pub dialer: Arc<dyn Dialer>,
    pub clock: Arc<dyn Clock>,
    /// How long one HTTP exchange may take before it counts as a timeout.
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    /// Seeds the back-off jitter.
    pub jitter_seed: u64,
}

impl HttpSetup {
    /// Real TCP and TLS, the wall clock, a 10-second timeout, default retries.
    pub fn production(jitter_seed: u64) -> std::io::Result<Self> {
        Ok(Self {
            dialer: Arc::new(TcpDialer::new()?),
            clock: Arc::new(SystemClock),
            request_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            jitter_seed,
        })
    }

    pub fn client(&self) -> HttpClient {
        HttpClient::new(self.dialer.clone(), self.request_timeout)
    }

    pub fn backoff(&self) -> Backoff {
        Backoff::new(self.retry, self.jitter_seed)
    }
}

/// An HTTP/1.1 client over an injected dialer, with one timeout per exchange.
#[derive(Clone)]
pub struct HttpClient {
    client: Client<dial::DialConnector, Full<Bytes>>,
    timeout: Duration,
}

impl HttpClient {
    pub fn new(dialer: Arc<dyn Dialer>, timeout: Duration) -> Self {
        let client = Client::builder(TokioExecutor::new())
            // Idle connections are not kept past a few seconds: a broker's
            // load balancer drops them sooner than hyper would notice.
            .pool_idle_timeout(Duration::from_secs(5))
            .build(dial::DialConnector(dialer));
        Self { client, timeout }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `req` and reads the whole answer, within the timeout.
    pub async fn send(&self, req: Request<Full<Bytes>>) -> Result<HttpResponse, TransportError> {
        let exchange = async {
            let response = self.client.request(req).await.map_err(|e| {
                if e.is_connect() {
                    TransportError::Connect(root_cause(&e))
                } else {
                    TransportError::Broken(root_cause(&e))
                }
            })?;
            let (parts, body) = response.into_parts();
            let limited = http_body_util::Limited::new(body, MAX_BODY);
            let body = limited
                .collect()
                .await
                .map_err(|e| TransportError::Broken(e.to_string()))?
                .to_bytes();
            Ok(HttpResponse {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or(Err(TransportError::Timeout))
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Builds a request; `body` empty means no body.
pub fn request(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    content_type: Option<&str>,
    body: Bytes,
) -> Result<Request<Full<Bytes>>, AdapterError> {
    let mut b = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    if let Some(ct) = content_type {
        b = b.header(http::header::CONTENT_TYPE, ct);
    }
    // Never echo header values: they carry credentials.
    b.body(Full::new(body))
        .map_err(|e| AdapterError::invalid_request(format!("cannot build a request to {url}: {e}")))
}

/// The contract kind for an HTTP status no vendor rule claimed first.
pub fn kind_of_status(status: StatusCode) -> ErrorKind {
    match status.as_u16() {
        401 => ErrorKind::AuthExpired,
        403 => ErrorKind::Rejected,
        404 => ErrorKind::NotFound,
        408 | 504 => ErrorKind::Timeout,
        429 => ErrorKind::RateLimited,
        400 | 405 | 413 | 415 | 422 => ErrorKind::InvalidRequest,
        s if s >= 500 => ErrorKind::Unavailable,
        _ => ErrorKind::Unknown,
    }
}

/// An order id of a vendor whose ids are integers (int64: at most 19
/// digits; Tradier, tastytrade, Schwab). Anything else names no order of
/// that vendor, so it is `not_found`, and it never reaches a URL path.
pub fn integer_order_id<'a>(id: &'a str, vendor: &str) -> Result<&'a str, AdapterError> {
    if !id.is_empty() && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id)
    } else {
        Err(AdapterError::not_found(format!(
            "{id:.40} is not a {vendor} order id"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_bodies_are_unknown_errors_with_a_snippet() {
        let r = HttpResponse {
            status: StatusCode::BAD_GATEWAY,
            headers: HeaderMap::new(),
            body: Bytes::from_static(b"<html><body>502 Bad Gateway</body></html>"),
        };
        let e = r.json::<serde_json::Value>().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unknown);
        assert!(
            e.message.contains("502") && e.message.contains("<html>"),
            "{e}"
        );
    }

    #[test]
    fn transport_errors_say_whether_the_request_may_have_landed() {
        assert!(!TransportError::Connect("refused".into()).is_ambiguous());
        assert!(TransportError::Timeout.is_ambiguous());
        assert_eq!(
            AdapterError::from(TransportError::Timeout).kind,
            ErrorKind::Timeout
        );
        assert_eq!(
            AdapterError::from(TransportError::Connect("refused".into())).kind,
            ErrorKind::Unavailable
        );
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(
            kind_of_status(StatusCode::SERVICE_UNAVAILABLE),
            ErrorKind::Unavailable
        );
        assert_eq!(
            kind_of_status(StatusCode::TOO_MANY_REQUESTS),
            ErrorKind::RateLimited
        );
        assert_eq!(
            kind_of_status(StatusCode::UNPROCESSABLE_ENTITY),
            ErrorKind::InvalidRequest
        );
    }
}
