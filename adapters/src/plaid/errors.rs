//! Plaid's refusals → contract errors (reference §4). Plaid says what went
//! wrong in `error_type` and `error_code`, not in the HTTP status (mostly
//! 400): the codes decide. `RATE_LIMIT_EXCEEDED` is a type, not a code.
//! Plaid sends no Retry-After, so the waits here are the adapter's policy.

use http::StatusCode;

use super::models::ErrorBody;
use crate::error::{AdapterError, ErrorKind, Result};
use crate::http::{kind_of_status, HttpResponse};

/// How long to wait after a 429: Plaid names no wait; its per-Item limits
/// count per minute, so a short wait is retried a few times and then the
/// caller is told to wait this long before asking again.
pub const RATE_LIMIT_WAIT_MS: u64 = 2_000;
/// How long to wait before asking again for data not extracted yet.
pub const NOT_READY_WAIT_MS: u64 = 1_000;

/// Passes a 2xx answer through; turns every other into an error.
pub fn check(resp: HttpResponse) -> Result<HttpResponse> {
    if resp.status.is_success() {
        return Ok(resp);
    }
    Err(classify(&resp))
}

/// A non-2xx answer as a contract error.
pub fn classify(resp: &HttpResponse) -> AdapterError {
    match serde_json::from_slice::<ErrorBody>(&resp.body) {
        Ok(body) => from_body(&body, resp.status),
        Err(_) => {
            // Not Plaid's object (a gateway's page): the status is all there is.
            let kind = if resp.status.is_server_error() {
                ErrorKind::Unavailable
            } else {
                kind_of_status(resp.status)
            };
            AdapterError::new(
                kind,
                format!(
                    "Plaid answered HTTP {}: {}",
                    resp.status.as_u16(),
                    resp.snippet()
                ),
            )
        }
    }
}

/// Plaid's error object as a contract error (also for `item.error` inside a 200).
pub fn from_body(body: &ErrorBody, status: StatusCode) -> AdapterError {
    let message = match &body.request_id {
        Some(id) => format!(
            "{} {}: {} (request {id})",
            body.error_type, body.error_code, body.error_message
        ),
        None => format!(
            "{} {}: {}",
            body.error_type, body.error_code, body.error_message
        ),
    };
    let with =
        |kind: ErrorKind| AdapterError::new(kind, message.clone()).with_code(&body.error_code);
    if body.error_type == "RATE_LIMIT_EXCEEDED" {
        return AdapterError::rate_limited(RATE_LIMIT_WAIT_MS, message.clone())
            .with_code(&body.error_code);
    }
    match body.error_code.as_str() {
        // Only the user can repair the login (Link's update mode); an Item
        // that is gone, or a token Plaid does not know, needs a new link.
        "ITEM_LOGIN_REQUIRED"
        | "ITEM_NOT_FOUND"
        | "INVALID_ACCESS_TOKEN"
        | "ACCESS_NOT_GRANTED"
        | "USER_PERMISSION_REVOKED"
        | "ITEM_LOCKED"
        | "INVALID_CREDENTIALS" => with(ErrorKind::ReauthRequired),
        "PRODUCT_NOT_READY" => AdapterError {
            retry_after_ms: Some(NOT_READY_WAIT_MS),
            ..with(ErrorKind::Unavailable)
        },
        "INSTITUTION_DOWN"
        | "INSTITUTION_NOT_RESPONDING"
        | "INSTITUTION_NOT_AVAILABLE"
        | "INTERNAL_SERVER_ERROR"
        | "PLANNED_MAINTENANCE" => with(ErrorKind::Unavailable),
        "INVALID_ACCOUNT_ID" => with(ErrorKind::NotFound),
        "NO_INVESTMENT_ACCOUNTS"
        | "NO_ACCOUNTS"
        | "PRODUCTS_NOT_SUPPORTED"
        | "PRODUCT_NOT_ENABLED"
        | "INSTITUTION_NO_LONGER_SUPPORTED" => with(ErrorKind::Unsupported),
        // Our own configuration or request is wrong (API keys, fields, a
        // public token that was used or never was).
        _ if body.error_type == "INVALID_REQUEST" || body.error_type == "INVALID_INPUT" => {
            with(ErrorKind::InvalidRequest)
        }
        _ if body.error_type == "API_ERROR" || body.error_type == "INSTITUTION_ERROR" => {
            with(ErrorKind::Unavailable)
        }
        _ if status.is_server_error() => with(ErrorKind::Unavailable),
        _ => with(ErrorKind::Unknown),
    }
}
