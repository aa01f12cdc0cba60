//! SnapTrade's refusals → contract errors (reference §6). The body is
//! `{"detail", "status_code", "code"}` with a string code (501 answers
//! `{"error"}`); the status and the code decide the kind, the code always
//! travels in `broker_code`. What a refusal means can depend on what was
//! asked (`Call`): a 400 to an order is the brokerage declining it, to a
//! cancel that the order can no longer be canceled.

use std::time::Duration;

use super::models::ErrorBody;
use crate::error::{AdapterError, ErrorKind, Result};
use crate::http::{kind_of_status, HttpResponse};

/// How long to wait before asking again while SnapTrade's first sync of
/// an account is still running (425).
const NOT_READY_WAIT_MS: u64 = 1_000;

/// The wait when a 429 names none (no `Retry-After`, no "Expected
/// available in N seconds", no `X-RateLimit-Reset`).
const DEFAULT_RATE_WAIT: Duration = Duration::from_secs(1);

/// The brokerage behind SnapTrade failed to answer it (503).
const BROKERAGE_FAILED: &str = "3002";
/// Not permitted for this resource: on an order, the connection or the
/// brokerage does not allow trading through SnapTrade (403).
const NOT_PERMITTED: &str = "1066";
/// The feature is not enabled for this customer or connection (403).
const FEATURE_OFF: &str = "1141";

/// What the refused request was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Read,
    Submit,
    Cancel,
}

/// Passes a successful answer through; turns every refusal into an error.
/// `brokerage` names the institution behind the account when the adapter
/// has read it, so that errors about it say which one.
pub fn check(resp: HttpResponse, call: Call, brokerage: Option<&str>) -> Result<HttpResponse> {
    if resp.status.is_success() {
        return Ok(resp);
    }
    Err(classify(&resp, call, brokerage))
}

fn snippet(text: &str) -> String {
    text.chars().take(200).collect()
}

/// The wait a 429 asks for: `Retry-After`, else the detail's "Expected
/// available in N seconds" (§8.3), else `X-RateLimit-Reset` (seconds).
fn rate_wait(resp: &HttpResponse, detail: &str) -> Duration {
    let header = |name| resp.header(name).and_then(|v| v.trim().parse::<u64>().ok());
    let in_detail = || {
        let (_, rest) = detail.split_once("available in ")?;
        rest.split_whitespace().next()?.parse::<u64>().ok()
    };
    header("retry-after")
        .or_else(in_detail)
        .or_else(|| header("x-ratelimit-reset"))
        .map_or(DEFAULT_RATE_WAIT, Duration::from_secs)
}

/// A non-2xx answer as a contract error.
pub fn classify(resp: &HttpResponse, call: Call, brokerage: Option<&str>) -> AdapterError {
    let status = resp.status;
    let body = ErrorBody::read(&resp.body);
    let code = body.code.or(body.default_code);
    let detail = body
        .detail
        .or(body.default_detail)
        .or(body.error)
        .unwrap_or_else(|| String::from_utf8_lossy(&resp.body).trim().to_string());
    let text = format!(
        "SnapTrade answered HTTP {}: {}",
        status.as_u16(),
        snippet(&detail)
    );
    let behind = brokerage.map_or_else(
        || "the brokerage behind SnapTrade".to_string(),
        |b| format!("{b:.60} (the brokerage behind SnapTrade)"),
    );
    let code_is = |c: &str| code.as_deref() == Some(c);
    let e = match status.as_u16() {
        429 => AdapterError::rate_limited(
            u64::try_from(rate_wait(resp, &detail).as_millis()).unwrap_or(u64::MAX),
            text,
        ),
        400 => match call {
            // The adapter writes valid orders: a 400 is the brokerage declining it.
            Call::Submit => AdapterError::rejected(text),
            // §4.5: a cancel is refused when the order can no longer be canceled.
            Call::Cancel => AdapterError::new(ErrorKind::TooLateToCancel, text),
            Call::Read => AdapterError::invalid_request(text),
        },
        // A bad signature (1076) or an unknown userId/userSecret (1083):
        // the keys are wrong, and no token can be renewed to fix it.
        401 => AdapterError::new(ErrorKind::ReauthRequired, text),
        // Every 402 is a disabled connection (3003 "connection is disabled";
        // 3011 "already disabled"): reads still answer from SnapTrade's cache,
        // anything live fails until the user reconnects (§6.3).
        402 => AdapterError::new(
            ErrorKind::ReauthRequired,
            format!(
                "the connection to {behind} is broken: the user must reconnect it through SnapTrade's connection portal ({text})"
            ),
        ),
        403 if code_is(FEATURE_OFF) => AdapterError::unsupported(text),
        403 if code_is(NOT_PERMITTED) && call != Call::Read => AdapterError::new(
            ErrorKind::ReadOnly,
            format!("the connection to {behind} does not allow trading ({text})"),
        ),
        403 if code_is(NOT_PERMITTED) => AdapterError::new(ErrorKind::ReauthRequired, text),
        // The first sync is still running (1-60 s after a connection, §9.3):
        // not ready yet, soon will be; asked again after a pause.
        425 => AdapterError {
            retry_after_ms: Some(NOT_READY_WAIT_MS),
            ..AdapterError::unavailable(text)
        },
        501 => AdapterError::unsupported(text),
        503 if code_is(BROKERAGE_FAILED) => AdapterError::unavailable(format!(
            "{behind} did not answer SnapTrade ({text})"
        )),
        _ => AdapterError::new(kind_of_status(status), text),
    };
    match code {
        Some(c) => e.with_code(c),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::{HeaderMap, StatusCode};

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

    fn err(status: u16, body: &str, call: Call) -> AdapterError {
        check(resp(status, body, &[]), call, Some("Schwab")).unwrap_err()
    }

    #[test]
    fn a_field_of_an_odd_type_loses_only_itself() {
        // A negative code and a detail that is an object: the rest still reads.
        let e = err(
            402,
            r#"{"detail":{"msg":"x"},"code":-3003,"default_detail":"Connection disabled"}"#,
            Call::Submit,
        );
        assert_eq!(e.kind, ErrorKind::ReauthRequired);
        assert_eq!(e.broker_code.as_deref(), Some("-3003"));
        assert!(e.message.contains("Connection disabled"), "{e}");
        let e = err(
            503,
            r#"{"detail":"down","status_code":"503","code":3002.0}"#,
            Call::Read,
        );
        assert_eq!(e.broker_code.as_deref(), Some("3002.0"));
        assert!(e.message.contains("down"), "{e}");
    }

    #[test]
    fn what_was_asked_decides_a_400_and_a_403() {
        let body = r#"{"detail":"Insufficient buying power","status_code":400,"code":"1076"}"#;
        assert_eq!(err(400, body, Call::Submit).kind, ErrorKind::Rejected);
        assert_eq!(
            err(400, body, Call::Cancel).kind,
            ErrorKind::TooLateToCancel
        );
        assert_eq!(err(400, body, Call::Read).kind, ErrorKind::InvalidRequest);
        let denied = r#"{"detail":"User does not have permission to access this resource","status_code":403,"code":"1066"}"#;
        let e = err(403, denied, Call::Submit);
        assert_eq!(
            (e.kind, e.broker_code.as_deref()),
            (ErrorKind::ReadOnly, Some("1066"))
        );
        assert!(e.message.contains("Schwab"), "{e}");
        assert_eq!(err(403, denied, Call::Read).kind, ErrorKind::ReauthRequired);
    }

    #[test]
    fn rate_limit_waits_come_from_the_header_the_detail_or_the_reset() {
        let detail = r#"{"detail":"Request was throttled. Expected available in 7 seconds.","status_code":429,"code":"0000"}"#;
        let wait = |headers: &[(&'static str, &str)], body: &str| {
            check(resp(429, body, headers), Call::Read, None)
                .unwrap_err()
                .retry_after_ms
        };
        assert_eq!(wait(&[("retry-after", "3")], detail), Some(3_000));
        assert_eq!(wait(&[("x-ratelimit-reset", "40")], detail), Some(7_000));
        assert_eq!(
            wait(
                &[("x-ratelimit-reset", "40")],
                r#"{"detail":"Connection refreshed too recently. Please try again later.","status_code":429,"code":"throttled"}"#
            ),
            Some(40_000)
        );
        assert_eq!(wait(&[], "<html>429</html>"), Some(1_000));
    }

    #[test]
    fn spec_example_shapes_and_plain_text_read_too() {
        let e = err(
            404,
            r#"{"default_detail":"The requested resource does not exist.","default_code":1011}"#,
            Call::Read,
        );
        assert_eq!(
            (e.kind, e.broker_code.as_deref()),
            (ErrorKind::NotFound, Some("1011"))
        );
        assert!(e.message.contains("does not exist"), "{e}");
        let e = err(502, "<html>Bad Gateway</html>", Call::Read);
        assert_eq!((e.kind, e.broker_code), (ErrorKind::Unavailable, None));
        assert_eq!(
            err(504, "", Call::Read).kind,
            ErrorKind::Timeout,
            "the shared layer's reading of a gateway timeout"
        );
    }
}
