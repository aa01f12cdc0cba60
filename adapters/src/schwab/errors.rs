//! Schwab's answers → contract errors (reference §5). The Trader API
//! refuses with a `ServiceError` (`{"message", "errors": [..]}`) whose
//! status and message are the only signals; gateways sometimes answer
//! plain text or HTML instead. Every rule is here, so the rest of the
//! adapter only sees `AdapterError`s.

use std::time::Duration;

use http::StatusCode;

use super::models::{OAuthError, ServiceError};
use crate::error::{AdapterError, ErrorKind, Result};
use crate::http::{kind_of_status, HttpResponse};

/// The wait when a 429 says nothing (Schwab documents no header; §5 says
/// to honour `Retry-After` when present).
const DEFAULT_RATE_WAIT: Duration = Duration::from_secs(1);

/// The validation message (schwab-py issue #43's capture): the request
/// itself is wrong, not the order.
const VALIDATION: &str = "A validation error occurred while processing the request.";

/// What Schwab answers a path whose account hash it does not know (the
/// model's wording; the reference leaves the status and text open, §8.1).
pub const INVALID_ACCOUNT: &str = "Invalid account number";

/// The broker code of an account whose hash is stale.
pub const STALE_HASH: &str = "invalid_account_hash";

/// Passes a successful answer through; turns every refusal into an error.
pub fn check(resp: HttpResponse) -> Result<HttpResponse> {
    if resp.status.is_success() {
        return Ok(resp);
    }
    Err(classify(&resp))
}

fn snippet(text: &str) -> String {
    text.chars().take(200).collect()
}

/// A reject code in Schwab's texts (`Account_Sys_0005`, `Order_Sys_0002`,
/// `Position_Sys_0001`, §5), if one is there.
fn reject_code(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|w| w.contains("_Sys_"))
        .map(str::to_string)
}

/// The token endpoint's answer to a refresh (§1.2): a 5xx or 429 leaves the
/// grant as it was (the caller may try again later); any other refusal (an
/// OAuth error, or a gateway page) means it is not renewed.
pub fn check_token_answer(resp: HttpResponse) -> Result<HttpResponse> {
    if resp.status.is_success() {
        return Ok(resp);
    }
    if resp.status.is_server_error() || resp.status == StatusCode::TOO_MANY_REQUESTS {
        return Err(classify(&resp));
    }
    let why = serde_json::from_slice::<OAuthError>(&resp.body)
        .map_or_else(|_| format!("HTTP {}", resp.status.as_u16()), |e| e.error);
    Err(AdapterError::new(
        ErrorKind::AuthExpired,
        format!("Schwab refused to renew the access token: {why}"),
    )
    .with_code(why))
}

/// A non-2xx answer as a contract error.
pub fn classify(resp: &HttpResponse) -> AdapterError {
    let status = resp.status;
    let body: Option<ServiceError> = serde_json::from_slice(&resp.body).ok();
    let message = body
        .as_ref()
        .and_then(|b| b.message.clone())
        .unwrap_or_default();
    let details: Vec<String> = body
        .iter()
        .flat_map(|b| b.errors.iter().map(|e| e.text()))
        .collect();
    let text = match (&body, message.is_empty()) {
        (Some(_), false) => format!("{message}: {}", details.join("; ")),
        (Some(_), true) => details.join("; "),
        (None, _) => snippet(String::from_utf8_lossy(&resp.body).trim()),
    };
    let text = format!(
        "Schwab answered HTTP {}: {}",
        status.as_u16(),
        snippet(&text)
    );
    match status {
        StatusCode::TOO_MANY_REQUESTS => {
            let wait = resp
                .header("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(DEFAULT_RATE_WAIT, Duration::from_secs);
            AdapterError::rate_limited(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), text)
        }
        // Missing, unknown and expired tokens all read 401 (§5): a refresh
        // is what can help, and the token source tries it once.
        StatusCode::UNAUTHORIZED => AdapterError::new(ErrorKind::AuthExpired, text),
        StatusCode::BAD_REQUEST => bad_request(&message, &details, text),
        s if s.is_server_error() => AdapterError::unavailable(text),
        s => AdapterError::new(kind_of_status(s), text),
    }
}

/// A 400: the request's fault, a final order, a stale account hash, or
/// the order desk declining the order.
fn bad_request(message: &str, details: &[String], text: String) -> AdapterError {
    if message == INVALID_ACCOUNT {
        return AdapterError::invalid_request(text).with_code(STALE_HASH);
    }
    if message.starts_with("Order cannot be") {
        return AdapterError::new(ErrorKind::TooLateToCancel, text);
    }
    if message == VALIDATION || message == "Bad Request" || message.is_empty() {
        return AdapterError::invalid_request(text);
    }
    // The adapter writes valid requests: any other 400 to an order is the
    // broker declining it (buying power, symbol, position).
    let code = reject_code(message).or_else(|| details.iter().find_map(|d| reject_code(d)));
    let e = AdapterError::rejected(text);
    match code {
        Some(c) => e.with_code(c),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::HeaderMap;

    fn resp(status: u16, body: &str, headers: &[(&'static str, &str)]) -> HttpResponse {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, v.parse().unwrap());
        }
        HttpResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: Bytes::from(body.to_string()),
        }
    }

    fn err(status: u16, body: &str) -> AdapterError {
        check(resp(status, body, &[])).unwrap_err()
    }

    #[test]
    fn every_shape_has_its_kind() {
        let bp = err(
            400,
            r#"{"message":"Your buying power will be below zero. Account_Sys_0005","errors":["x"]}"#,
        );
        assert_eq!(
            (bp.kind, bp.broker_code.as_deref()),
            (ErrorKind::Rejected, Some("Account_Sys_0005"))
        );
        assert_eq!(
            err(400, r#"{"message":"A validation error occurred while processing the request.","errors":["requestedDestination is not a supported field"]}"#).kind,
            ErrorKind::InvalidRequest
        );
        assert_eq!(
            err(
                400,
                r#"{"message":"Order cannot be canceled","errors":["terminal"]}"#
            )
            .kind,
            ErrorKind::TooLateToCancel
        );
        let stale = err(
            400,
            r#"{"message":"Invalid account number","errors":["hash"]}"#,
        );
        assert_eq!(stale.broker_code.as_deref(), Some(STALE_HASH));
        assert_eq!(
            err(401, r#"{"message":"Not authorized","errors":[]}"#).kind,
            ErrorKind::AuthExpired
        );
        assert_eq!(
            err(404, r#"{"message":"Order not found","errors":[]}"#).kind,
            ErrorKind::NotFound
        );
        assert_eq!(
            err(503, "<html>Access Denied</html>").kind,
            ErrorKind::Unavailable
        );
        assert_eq!(
            err(404, "404 Not Found: Requested route ('/x') does not exist.").kind,
            ErrorKind::NotFound
        );
        let md = err(
            400,
            r#"{"errors":[{"id":"1","status":"400","title":"Bad Request","detail":"Missing header"}]}"#,
        );
        assert!(md.message.contains("Missing header"), "{md}");
        let limited = check(resp(
            429,
            r#"{"message":"Too many requests","errors":[]}"#,
            &[("retry-after", "2")],
        ))
        .unwrap_err();
        assert_eq!(
            (limited.kind, limited.retry_after_ms),
            (ErrorKind::RateLimited, Some(2000))
        );
        assert_eq!(err(429, "").retry_after_ms, Some(1000));
    }
}
