//! Tradier's answers → contract errors (reference §5). Tradier refuses in
//! several shapes: the `errors` envelope (string or list, on a 400 *or*
//! inside a 200), the API gateway's `fault` JSON, and plain text whose
//! wording is the only signal (`order already in finalized state: …`,
//! `Unauthorized Account: …`, `Quota Violation … <epoch-ms>`). Every rule
//! lives here so the rest of the adapter only sees `AdapterError`s.

use std::time::Duration;

use http::StatusCode;

use super::models::{ErrorsProbe, FaultBody};
use crate::error::{AdapterError, ErrorKind, Result};
use crate::http::{clock, kind_of_status, Clock, HttpResponse};

/// The wait when a rate-limit answer says nothing usable: Tradier's windows are one minute.
const DEFAULT_RATE_WAIT: Duration = Duration::from_secs(1);

/// Prefix of the plain-text answer to a cancel of a terminal order.
pub const FINALIZED: &str = "order already in finalized state";

/// Passes a successful answer through; turns every refusal into an error.
pub fn check(resp: HttpResponse, clock: &dyn Clock) -> Result<HttpResponse> {
    if resp.status.is_success() {
        // Order refusals arrive inside a 200 (§5.1): look before trusting it.
        if let Some(messages) = errors_envelope(&resp) {
            return Err(refusal(StatusCode::OK, &messages));
        }
        return Ok(resp);
    }
    Err(classify(&resp, clock))
}

fn errors_envelope(resp: &HttpResponse) -> Option<Vec<String>> {
    serde_json::from_slice::<ErrorsProbe>(&resp.body)
        .ok()?
        .messages()
}

/// A non-2xx answer as a contract error.
pub fn classify(resp: &HttpResponse, clock: &dyn Clock) -> AdapterError {
    let status = resp.status;
    let text = String::from_utf8_lossy(&resp.body);
    let text = text.trim();
    if status == StatusCode::TOO_MANY_REQUESTS || text.starts_with("Quota Violation") {
        return rate_limited(resp, text, clock);
    }
    if let Some(messages) = errors_envelope(resp) {
        return refusal(status, &messages);
    }
    if let Ok(FaultBody { fault }) = serde_json::from_slice::<FaultBody>(&resp.body) {
        return fault_error(status, fault, resp, clock);
    }
    if let Some(state) = text.strip_prefix(FINALIZED) {
        let state = state.trim_start_matches(':').trim();
        return AdapterError::new(
            ErrorKind::TooLateToCancel,
            format!("the order is already {state}"),
        );
    }
    if text.starts_with("Unauthorized Account") {
        // Tradier's answer for an order id it does not know (there is no 404, §2.3).
        return AdapterError::not_found(format!(
            "Tradier does not know this order: {}",
            snippet(text)
        ));
    }
    let kind = if status.is_server_error() {
        // 5xx, HTML gateway pages included; a 500 may hide an accepted order,
        // which submit reconciliation handles.
        ErrorKind::Unavailable
    } else {
        kind_of_status(status)
    };
    AdapterError::new(
        kind,
        format!(
            "Tradier answered HTTP {}: {}",
            status.as_u16(),
            snippet(text)
        ),
    )
}

fn snippet(text: &str) -> String {
    text.chars().take(200).collect()
}

/// Texts that mark a malformed request (our fault) rather than a refusal
/// of the order. The adapter validates its own forms, so any other
/// `errors` answer to an order is the broker declining it: `rejected`.
const INVALID_REQUEST_WORDS: [&str; 5] = [
    "invalid parameter, tag",
    "is invalid for class",
    "is required",
    ": required",
    "invalid request body",
];

fn refusal(status: StatusCode, messages: &[String]) -> AdapterError {
    let joined = if messages.is_empty() {
        "the order was refused".to_string()
    } else {
        messages.join("; ")
    };
    let lower = joined.to_ascii_lowercase();
    let kind = if status.is_server_error() {
        ErrorKind::Unavailable
    } else if !status.is_success() && INVALID_REQUEST_WORDS.iter().any(|w| lower.contains(w)) {
        ErrorKind::InvalidRequest
    } else {
        ErrorKind::Rejected
    };
    AdapterError::new(kind, joined)
}

fn fault_error(
    status: StatusCode,
    fault: super::models::Fault,
    resp: &HttpResponse,
    clock: &dyn Clock,
) -> AdapterError {
    let faultstring = fault.faultstring.unwrap_or_default();
    let code = fault.detail.and_then(|d| d.errorcode);
    let lower = format!("{faultstring} {}", code.as_deref().unwrap_or("")).to_ascii_lowercase();
    let kind = if lower.contains("quota") || lower.contains("ratelimit") || lower.contains("spike")
    {
        return with_code(rate_limited(resp, &faultstring, clock), code);
    } else if lower.contains("expired") {
        ErrorKind::AuthExpired
    } else if status == StatusCode::UNAUTHORIZED || lower.contains("invalid_access_token") {
        // A token the broker does not recognise: only a new authorization helps.
        ErrorKind::ReauthRequired
    } else if status.is_server_error() || lower.contains("datastore") {
        ErrorKind::Unavailable
    } else {
        kind_of_status(status)
    };
    with_code(
        AdapterError::new(
            kind,
            format!("Tradier gateway fault: {}", snippet(&faultstring)),
        ),
        code,
    )
}

fn with_code(e: AdapterError, code: Option<String>) -> AdapterError {
    match code {
        Some(c) => e.with_code(c),
        None => e,
    }
}

/// `rate_limited` with the wait until `X-Ratelimit-Expiry` (epoch ms), or
/// else the epoch-ms number that ends a `Quota Violation` text.
fn rate_limited(resp: &HttpResponse, text: &str, clock: &dyn Clock) -> AdapterError {
    let expiry = resp
        .header("x-ratelimit-expiry")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or_else(|| trailing_epoch_ms(text));
    let wait = expiry.map_or(DEFAULT_RATE_WAIT, |at| clock::until(clock, at));
    let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    AdapterError::rate_limited(
        wait_ms,
        format!("Tradier rate limit reached: {}", snippet(text)),
    )
}

fn trailing_epoch_ms(text: &str) -> Option<i64> {
    let digits: String = text
        .chars()
        .rev()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    // Epoch milliseconds have 13 digits nowadays; anything shorter is not an expiry.
    (digits.len() >= 12).then(|| digits.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::HeaderMap;

    struct Fixed(i64);
    impl Clock for Fixed {
        fn now_ms(&self) -> i64 {
            self.0
        }
    }

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

    fn kind(status: u16, body: &str) -> ErrorKind {
        check(resp(status, body, &[]), &Fixed(0)).unwrap_err().kind
    }

    #[test]
    fn every_shape_has_its_kind() {
        assert_eq!(
            kind(
                200,
                r#"{"errors":{"error":"You do not have enough buying power for this trade."}}"#
            ),
            ErrorKind::Rejected
        );
        assert_eq!(
            kind(200, r#"{"errors":{"error":["a","b"]}}"#),
            ErrorKind::Rejected
        );
        assert_eq!(
            kind(
                400,
                r#"{"errors":{"error":"Invalid parameter, ZZZQ: symbol not found."}}"#
            ),
            ErrorKind::Rejected
        );
        assert_eq!(
            kind(
                400,
                r#"{"errors":{"error":["type is invalid for class option"]}}"#
            ),
            ErrorKind::InvalidRequest
        );
        assert_eq!(
            kind(400, "order already in finalized state: filled"),
            ErrorKind::TooLateToCancel
        );
        assert_eq!(kind(401, "Unauthorized Account: VA1"), ErrorKind::NotFound);
        assert_eq!(
            kind(
                401,
                r#"{"fault":{"faultstring":"Invalid Access Token","detail":{"errorcode":"keymanagement.service.invalid_access_token"}}}"#
            ),
            ErrorKind::ReauthRequired
        );
        assert_eq!(
            kind(
                401,
                r#"{"fault":{"faultstring":"Access Token expired","detail":{"errorcode":"keymanagement.service.access_token_expired"}}}"#
            ),
            ErrorKind::AuthExpired
        );
        assert_eq!(
            kind(503, "<html><body>503</body></html>"),
            ErrorKind::Unavailable
        );
        assert_eq!(
            kind(
                500,
                "An error occurred while communicating with the backend"
            ),
            ErrorKind::Unavailable
        );
        assert_eq!(kind(404, "Not Found"), ErrorKind::NotFound);
        assert!(check(
            resp(200, r#"{"order":{"id":1,"status":"ok"}}"#, &[]),
            &Fixed(0)
        )
        .is_ok());
        let fault = check(
            resp(
                401,
                r#"{"fault":{"faultstring":"Invalid Access Token","detail":{"errorcode":"x.y"}}}"#,
                &[],
            ),
            &Fixed(0),
        )
        .unwrap_err();
        assert_eq!(fault.broker_code.as_deref(), Some("x.y"));
    }

    #[test]
    fn quota_waits_come_from_the_expiry() {
        let e = check(
            resp(
                429,
                "Quota Violation",
                &[("x-ratelimit-expiry", "1700000002500")],
            ),
            &Fixed(1_700_000_000_000),
        )
        .unwrap_err();
        assert_eq!(
            (e.kind, e.retry_after_ms),
            (ErrorKind::RateLimited, Some(2_500))
        );
        let e = check(
            resp(400, "Quota Violation 1700000001000", &[]),
            &Fixed(1_700_000_000_000),
        )
        .unwrap_err();
        assert_eq!(
            (e.kind, e.retry_after_ms),
            (ErrorKind::RateLimited, Some(1_000))
        );
        let e = check(resp(429, "slow", &[]), &Fixed(0)).unwrap_err();
        assert_eq!(e.retry_after_ms, Some(1_000));
    }
}
