//! tastytrade's answers → contract errors (reference §5, §8.3). Refusals
//! come as the REST envelope `{"error":{"code","message","errors"?}}`
//! (the real reasons of a preflight failure nested in `errors`), the OAuth
//! endpoint's `error_code`, a 406 whose code is an integer, or a gateway's
//! HTML page. Every rule lives here.

use std::time::Duration;

use http::StatusCode;

use super::models::{ErrorDoc, OAuthError};
use crate::error::{AdapterError, ErrorKind, Result};
use crate::http::{kind_of_status, HttpResponse};

/// tastytrade's 429 says nothing about how long to wait (§5: no rate-limit
/// headers, no published quota): the adapter waits this long, with jitter
/// added by the back-off, unless a `Retry-After` says otherwise.
pub const DEFAULT_RATE_WAIT: Duration = Duration::from_secs(1);

/// The code of a refusal of a change to an order that no longer works (§2.7).
pub const CANNOT_UPDATE: &str = "cannot_update_order";

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

/// The envelope's words: its code and the most specific message, the
/// nested items first (they carry the real reasons, §5).
fn envelope(doc: &ErrorDoc) -> (Option<String>, String) {
    let nested: Vec<String> = doc
        .error
        .errors
        .iter()
        .filter_map(|i| match (&i.code, &i.message, &i.domain, &i.reason) {
            (Some(c), Some(m), _, _) => Some(format!("{c}: {m}")),
            (_, _, Some(d), Some(r)) => Some(format!("{d} {r}")),
            _ => None,
        })
        .collect();
    let nested_code = doc.error.errors.iter().find_map(|i| i.code.clone());
    let code = nested_code.or_else(|| {
        doc.error.code.as_ref().map(|c| match c {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    });
    let message = if nested.is_empty() {
        doc.error.message.clone().unwrap_or_default()
    } else {
        nested.join("; ")
    };
    (code, message)
}

/// A non-2xx answer as a contract error.
pub fn classify(resp: &HttpResponse) -> AdapterError {
    let status = resp.status;
    if status == StatusCode::TOO_MANY_REQUESTS {
        let wait = resp
            .header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(DEFAULT_RATE_WAIT, Duration::from_secs);
        return AdapterError::rate_limited(
            u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "tastytrade rate limit reached (it says nothing about how long to wait)",
        );
    }
    if status.is_server_error() {
        // Gateway pages are HTML; a 5xx may hide an accepted order, which
        // submit reconciliation handles.
        return AdapterError::unavailable(format!(
            "tastytrade answered HTTP {}: {}",
            status.as_u16(),
            snippet(&String::from_utf8_lossy(&resp.body))
        ));
    }
    if let Ok(doc) = serde_json::from_slice::<ErrorDoc>(&resp.body) {
        let top = doc
            .error
            .code
            .as_ref()
            .and_then(|c| c.as_str())
            .unwrap_or_default()
            .to_string();
        let (code, message) = envelope(&doc);
        let kind = match (status.as_u16(), top.as_str()) {
            // Missing, unknown or expired: tastytrade does not tell them
            // apart; a refresh decides.
            (401, _) => ErrorKind::AuthExpired,
            (422, CANNOT_UPDATE) => ErrorKind::TooLateToCancel,
            // Preflight failures: the broker declined the order.
            (422, _) => ErrorKind::Rejected,
            // The `Accept-Version` we sent is one tastytrade no longer
            // serves (§1.3, §5): our request, not the broker, is wrong.
            (406, _) => ErrorKind::InvalidRequest,
            _ => kind_of_status(status),
        };
        let e = AdapterError::new(kind, format!("tastytrade: {}", snippet(&message)));
        return match code {
            Some(c) => e.with_code(c),
            None => e,
        };
    }
    if let Ok(o) = serde_json::from_slice::<OAuthError>(&resp.body) {
        return oauth(status, &o);
    }
    let kind = match status.as_u16() {
        // The nginx page for a missing or malformed User-Agent (§1.3), or a
        // token the gateway refused: a refresh decides.
        401 => ErrorKind::AuthExpired,
        _ => kind_of_status(status),
    };
    AdapterError::new(
        kind,
        format!(
            "tastytrade answered HTTP {}: {}",
            status.as_u16(),
            snippet(&String::from_utf8_lossy(&resp.body))
        ),
    )
}

/// The token endpoint's refusal (§1.2): a grant it will not renew means the
/// user must authorize again; anything else about the request is ours.
fn oauth(status: StatusCode, o: &OAuthError) -> AdapterError {
    let kind = match o.error_code.as_str() {
        "invalid_grant" | "invalid_client" | "unauthorized_client" | "access_denied" => {
            ErrorKind::ReauthRequired
        }
        _ if status.is_client_error() => ErrorKind::InvalidRequest,
        _ => kind_of_status(status),
    };
    AdapterError::new(
        kind,
        format!(
            "tastytrade refused the token request: {} {}",
            o.error_code,
            snippet(o.error_description.as_deref().unwrap_or_default())
        ),
    )
    .with_code(o.error_code.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::HeaderMap;

    fn kind(status: u16, body: &str) -> (ErrorKind, Option<String>) {
        let e = check(HttpResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_string()),
        })
        .unwrap_err();
        (e.kind, e.broker_code)
    }

    #[test]
    fn every_shape_has_its_kind() {
        let preflight = r#"{"error":{"code":"preflight_check_failure","message":"One or more preflight checks failed","errors":[{"code":"margin_check_failed","message":"no"}]}}"#;
        assert_eq!(
            kind(422, preflight),
            (ErrorKind::Rejected, Some("margin_check_failed".into()))
        );
        assert_eq!(
            kind(
                422,
                r#"{"error":{"code":"cannot_update_order","message":"filled"}}"#
            )
            .0,
            ErrorKind::TooLateToCancel
        );
        assert_eq!(
            kind(401, r#"{"error":{"code":"token_invalid","message":"x"}}"#).0,
            ErrorKind::AuthExpired
        );
        assert_eq!(
            kind(
                404,
                r#"{"error":{"code":"record_not_found","message":"x"}}"#
            )
            .0,
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(
                406,
                r#"{"error":{"code":406,"message":"The requested version is not supported."}}"#
            ),
            (ErrorKind::InvalidRequest, Some("406".into()))
        );
        assert_eq!(
            kind(
                400,
                r#"{"error_code":"invalid_grant","error_description":"Invalid JWT"}"#
            )
            .0,
            ErrorKind::ReauthRequired
        );
        assert_eq!(kind(503, "<html>503</html>").0, ErrorKind::Unavailable);
        assert_eq!(kind(429, "").0, ErrorKind::RateLimited);
    }
}
