//! Alpaca's error answers (alpaca.md §5) as contract errors. The kind comes
//! from the HTTP status and, where Alpaca's 8-digit `code` says more, from
//! the code; the code itself travels as `broker_code`. Messages quote
//! Alpaca's body, never our request, so they cannot carry the keys.

use std::time::Duration;

use http::StatusCode;

use super::models::AlpacaErrorBody;
use crate::error::{AdapterError, ErrorKind};
use crate::http::{clock, kind_of_status, Clock, HttpResponse};

/// What the failed request was, where the same answer means different things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// `POST /v2/orders`: a 403 or 422 is Alpaca refusing the order.
    Submit,
    /// `DELETE /v2/orders/{id}`: a 422 means the order is already terminal.
    Cancel,
    /// `PATCH /v2/orders/{id}`: a 422 is Alpaca refusing the replacement,
    /// whether the order is no longer open ("unable to replace order, order
    /// is not open", §2.6) or a field is refused ("qty must be integer").
    /// Both are `rejected`: the order the caller holds is unchanged, and
    /// `too_late_to_cancel` names a cancel, which this is not (Alpaca's body
    /// cannot tell the two 422s apart anyway). A 404 stays `not_found`.
    Replace,
    /// Any other request.
    Other,
}

/// Alpaca documents no Retry-After; without X-Ratelimit-Reset we wait as
/// the Go SDK does between its 429 retries.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(1);

/// The parts of an error body, whatever shape it has (JSON with or without a
/// code, an HTML page from a proxy, nothing).
struct Body {
    code: Option<String>,
    message: String,
}

fn body_of(r: &HttpResponse) -> Body {
    match serde_json::from_slice::<AlpacaErrorBody>(&r.body) {
        Ok(b) => Body {
            code: b.code.map(|c| match c {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            }),
            message: b.message.unwrap_or_else(|| r.snippet()),
        },
        Err(_) if r.body.is_empty() => Body {
            code: None,
            message: "no body".to_string(),
        },
        Err(_) => Body {
            code: None,
            message: format!("non-JSON body: {}", r.snippet()),
        },
    }
}

/// Whether a 422 says the client_order_id is taken: the intent already
/// became an order (§4; some captures spell it with spaces).
pub fn is_duplicate_client_id(r: &HttpResponse) -> bool {
    if r.status != StatusCode::UNPROCESSABLE_ENTITY {
        return false;
    }
    let m = body_of(r).message.to_ascii_lowercase();
    (m.contains("client_order_id") || m.contains("client order id")) && m.contains("unique")
}

/// How long a 429 asks us to wait: until X-Ratelimit-Reset (Unix seconds)
/// on the injected clock.
pub fn rate_limit_wait(r: &HttpResponse, clock: &dyn Clock) -> Duration {
    r.header("x-ratelimit-reset")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map_or(DEFAULT_RATE_LIMIT_WAIT, |secs| {
            clock::until(clock, secs.saturating_mul(1000))
        })
}

/// The contract error for a non-2xx answer.
pub fn from_response(r: &HttpResponse, context: Context, clock: &dyn Clock) -> AdapterError {
    let body = body_of(r);
    let status = r.status.as_u16();
    let kind = match (status, context) {
        // Alpaca keys do not expire and cannot be refreshed: a 401 (wrong or
        // revoked keys) or a code-less 403 (auth headers refused) needs the
        // user to supply keys again.
        (401, _) => ErrorKind::ReauthRequired,
        (403, _) if body.code.is_none() => ErrorKind::ReauthRequired,
        (403, _) => ErrorKind::Rejected,
        (422, Context::Submit | Context::Replace) => ErrorKind::Rejected,
        (422, Context::Cancel) => ErrorKind::TooLateToCancel,
        _ => kind_of_status(r.status),
    };
    let mut e = AdapterError::new(
        kind,
        format!("Alpaca answered HTTP {status}: {}", body.message),
    );
    if kind == ErrorKind::RateLimited {
        let wait = rate_limit_wait(r, clock);
        e.retry_after_ms = Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
    }
    e.broker_code = body.code;
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::EpochClock;
    use bytes::Bytes;
    use http::HeaderMap;

    fn response(status: u16, body: &str, headers: &[(&'static str, &str)]) -> HttpResponse {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(*k, v.parse().unwrap());
        }
        HttpResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: h,
            body: Bytes::from(body.to_string()),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn statuses_and_codes_map_to_kinds() {
        let clock = EpochClock::new(1_700_000_000_000);
        let kind = |s, b: &str, c| from_response(&response(s, b, &[]), c, &clock).kind;
        assert_eq!(
            kind(401, r#"{"message":"unauthorized"}"#, Context::Other),
            ErrorKind::ReauthRequired
        );
        assert_eq!(
            kind(403, r#"{"message":"forbidden."}"#, Context::Other),
            ErrorKind::ReauthRequired
        );
        let bp = r#"{"buying_power":"1","code":40310000,"message":"insufficient buying power"}"#;
        let e = from_response(&response(403, bp, &[]), Context::Submit, &clock);
        assert_eq!(
            (e.kind, e.broker_code.as_deref()),
            (ErrorKind::Rejected, Some("40310000"))
        );
        assert_eq!(
            kind(
                422,
                r#"{"code":40010001,"message":"qty must be > 0"}"#,
                Context::Submit
            ),
            ErrorKind::Rejected
        );
        assert_eq!(
            kind(
                422,
                r#"{"code":42210000,"message":"order is already in \"filled\" state"}"#,
                Context::Cancel
            ),
            ErrorKind::TooLateToCancel
        );
        assert_eq!(
            kind(
                422,
                r#"{"code":40010001,"message":"order_id is missing"}"#,
                Context::Other
            ),
            ErrorKind::InvalidRequest
        );
        let not_open =
            r#"{"code":42210000,"message":"unable to replace order, order is not open"}"#;
        let e = from_response(&response(422, not_open, &[]), Context::Replace, &clock);
        assert_eq!(
            (e.kind, e.broker_code.as_deref()),
            (ErrorKind::Rejected, Some("42210000"))
        );
        assert!(e.message.contains("order is not open"), "{e}");
        assert_eq!(
            kind(
                404,
                r#"{"code":40410000,"message":"order not found"}"#,
                Context::Replace
            ),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(
                404,
                r#"{"code":40410000,"message":"order not found"}"#,
                Context::Other
            ),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(503, "<html>down</html>", Context::Other),
            ErrorKind::Unavailable
        );
        assert_eq!(kind(504, "", Context::Other), ErrorKind::Timeout);
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limits_wait_until_the_reset_second() {
        let clock = EpochClock::new(1_700_000_000_250);
        let r = response(
            429,
            r#"{"code":42910000,"message":"rate limit exceeded"}"#,
            &[("x-ratelimit-reset", "1700000003")],
        );
        let e = from_response(&r, Context::Submit, &clock);
        assert_eq!(
            (e.kind, e.retry_after_ms),
            (ErrorKind::RateLimited, Some(2_750))
        );
        assert_eq!(e.broker_code.as_deref(), Some("42910000"));
        let bare = response(429, "too many requests", &[]);
        assert_eq!(
            from_response(&bare, Context::Other, &clock).retry_after_ms,
            Some(1_000)
        );
    }

    #[test]
    fn duplicate_client_ids_are_recognised_in_both_spellings() {
        let r = |m: &str| response(422, &format!(r#"{{"code":40010001,"message":"{m}"}}"#), &[]);
        assert!(is_duplicate_client_id(&r("client_order_id must be unique")));
        assert!(is_duplicate_client_id(&r("client order id must be unique")));
        assert!(!is_duplicate_client_id(&r("qty must be > 0")));
    }
}
