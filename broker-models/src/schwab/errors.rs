//! Schwab's refusals in one `IntoResponse` type (reference §5): the Trader
//! API's `ServiceError` (`{"message", "errors": [..]}`), the token
//! endpoint's OAuth errors (`{"error", "error_description"}`, §1.2), and
//! the gateway's plain text for routes it does not know.
//!
//! Which status a few refusals carry is UNVERIFIED in the reference; each
//! constructor says what it chose and why.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use mbt::{RejectReason, Rejection};

use super::wire::{OAuthError, ServiceError};

/// The top-level message of a request Schwab's validation refuses
/// (schwab-py issue #43's capture of `requestedDestination`).
pub const VALIDATION: &str = "A validation error occurred while processing the request.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchwabError {
    Service {
        status: StatusCode,
        body: ServiceError,
        /// Seconds, on a 429 (§5: "honour Retry-After if present").
        retry_after_s: Option<u64>,
    },
    OAuth {
        status: StatusCode,
        body: OAuthError,
    },
    Text {
        status: StatusCode,
        text: String,
    },
}

fn service(status: StatusCode, message: &str, detail: impl Into<String>) -> SchwabError {
    SchwabError::Service {
        status,
        body: ServiceError {
            message: message.to_string(),
            errors: vec![detail.into()],
        },
        retry_after_s: None,
    }
}

impl SchwabError {
    /// 400: a request Schwab's validation refuses (a bad enum, a missing
    /// or unsupported field, a malformed order).
    pub fn invalid(detail: impl Into<String>) -> Self {
        service(StatusCode::BAD_REQUEST, VALIDATION, detail)
    }

    /// 400 for something Schwab accepts that this model cannot carry out:
    /// said loudly, never quietly simplified.
    pub fn not_simulated(what: &str) -> Self {
        Self::invalid(format!("{what} is not simulated by raxx-sim"))
    }

    /// 400: an order the order desk refuses at placement (buying power,
    /// symbol, position). The reference (§5) leaves open whether Schwab
    /// answers these with a 400 or takes the order and rejects it; the model
    /// refuses at once, with the reject text as the message.
    pub fn refused(text: impl Into<String>) -> Self {
        let text = text.into();
        service(StatusCode::BAD_REQUEST, &text, text.clone())
    }

    /// 400 for a path whose account is not a hash this user holds: a plain
    /// account number is not accepted (§2, §8.1; the status is UNVERIFIED,
    /// 400 or 404: 400, as for any value the API cannot take).
    pub fn invalid_account() -> Self {
        service(
            StatusCode::BAD_REQUEST,
            "Invalid account number",
            "The account in the path must be a hashValue from GET /accounts/accountNumbers",
        )
    }

    /// 400: `fromEnteredTime`/`toEnteredTime` missing or unreadable (§8.6, status UNVERIFIED).
    pub fn bad_window(detail: impl Into<String>) -> Self {
        service(StatusCode::BAD_REQUEST, "Bad Request", detail)
    }

    /// 401: a missing, unknown or expired bearer token (§5; Schwab does not
    /// tell them apart).
    pub fn unauthorized() -> Self {
        service(
            StatusCode::UNAUTHORIZED,
            "Not authorized to access this resource",
            "Invalid bearer token",
        )
    }

    /// 404: an order this account does not have.
    pub fn order_not_found(id: &str) -> Self {
        service(
            StatusCode::NOT_FOUND,
            "Order not found",
            format!("Order {id:.24} was not found for this account"),
        )
    }

    /// 400: a cancel (or replace) of an order already final (§5: "4xx,
    /// likely 400").
    pub fn terminal(id: &str, action: &str, status: &str) -> Self {
        service(
            StatusCode::BAD_REQUEST,
            &format!("Order cannot be {action}"),
            format!("Order {id} is in a terminal state ({status}) and cannot be {action}"),
        )
    }

    /// 429 for order writes over the account's limit (§5), with `Retry-After`.
    pub fn rate_limited(retry_after_ms: u64) -> Self {
        let mut e = service(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "Order placement rate limit exceeded (120 per minute)",
        );
        if let Self::Service { retry_after_s, .. } = &mut e {
            // Whole seconds, rounded up: a client that waits them never comes back early.
            *retry_after_s = Some(retry_after_ms.div_ceil(1000));
        }
        e
    }

    pub fn unavailable() -> Self {
        service(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            "The service is temporarily unavailable",
        )
    }

    /// The gateway's text for a path it does not route (§5, Schwabdev issue #31).
    pub fn no_route(path: &str) -> Self {
        Self::Text {
            status: StatusCode::NOT_FOUND,
            text: format!("404 Not Found: Requested route ('{path:.200}') does not exist."),
        }
    }

    pub fn method_not_allowed() -> Self {
        Self::Text {
            status: StatusCode::METHOD_NOT_ALLOWED,
            text: "405 Method Not Allowed".to_string(),
        }
    }

    fn oauth(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self::OAuth {
            status,
            body: OAuthError {
                error,
                error_description: description.into(),
            },
        }
    }

    /// 401: the app key and secret in the Basic header are not the app's.
    pub fn invalid_client() -> Self {
        Self::oauth(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized")
    }

    /// 400: a refresh token Schwab does not take, in its observed shape: the
    /// description is itself an escaped JSON document (§1.2).
    pub fn bad_refresh_token() -> Self {
        let inner = serde_json::json!({
            "error_description": "Exception while authenticating refresh token, Error: Refresh token is invalid or expired",
            "error": "refresh_token_authentication_error",
        });
        let quoted = serde_json::to_string(&inner.to_string()).unwrap_or_default();
        Self::oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_token_type",
            format!("400 Bad Request: {quoted}"),
        )
    }

    /// 400: an authorization code that is unknown, used or expired (RFC 6749 §5.2).
    pub fn bad_code() -> Self {
        Self::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The authorization code is invalid or expired",
        )
    }

    pub fn oauth_request(description: impl Into<String>) -> Self {
        Self::oauth(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn unsupported_grant() -> Self {
        Self::oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token",
        )
    }
}

impl IntoResponse for SchwabError {
    fn into_response(self) -> Response {
        match self {
            Self::Service {
                status,
                body,
                retry_after_s,
            } => {
                let mut r = (status, Json(body)).into_response();
                if let Some(v) =
                    retry_after_s.and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
                {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            Self::OAuth { status, body } => (status, Json(body)).into_response(),
            Self::Text { status, text } => {
                (status, [(header::CONTENT_TYPE, "text/plain")], text).into_response()
            }
        }
    }
}

/// Schwab's texts for what the engine refuses. Reject codes as the
/// reference records them (§5: `Account_Sys_0005`, `Position_Sys_0001`);
/// the sentences around them are the model's own.
pub fn refusal(r: &Rejection, symbol: &str) -> SchwabError {
    match r.reason {
        RejectReason::InsufficientBuyingPower => SchwabError::refused(
            "Your buying power will be below zero if this order is accepted. Account_Sys_0005",
        ),
        RejectReason::UnknownSymbol => SchwabError::refused(format!(
            "Invalid symbol: {symbol:.32} is not a tradable security"
        )),
        RejectReason::NoPositionToClose => SchwabError::refused(oversold(symbol)),
        RejectReason::ShortSellingNotAllowed => SchwabError::refused(format!(
            "Short sales are not allowed in this account for {symbol:.32}"
        )),
        RejectReason::MarketClosed => {
            SchwabError::refused(format!("The market is closed for {symbol:.32}"))
        }
        // The request reads well (the face checked its shape); its price,
        // size or shape is what the order desk declines. Forced rejections
        // (fault plans) say their own reason.
        RejectReason::InvalidPrice
        | RejectReason::InvalidQuantity
        | RejectReason::InvalidOrder
        | RejectReason::UnknownAccount => SchwabError::refused(r.message.clone()),
    }
}

/// An order that would sell (or cover) more than is held: Schwab's
/// overbought/oversold refusal.
pub fn oversold(symbol: &str) -> String {
    format!(
        "This order would exceed the position held in {symbol:.32} (overbought/oversold). Position_Sys_0001"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(e: SchwabError) -> (StatusCode, String, Option<String>) {
        let r = e.into_response();
        let status = r.status();
        let retry = r
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap(), retry)
    }

    #[tokio::test]
    async fn every_shape() {
        let (s, b, _) = body(SchwabError::invalid(
            "requestedDestination is not a supported field",
        ))
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(
            b,
            r#"{"message":"A validation error occurred while processing the request.","errors":["requestedDestination is not a supported field"]}"#
        );
        let (s, _, retry) = body(SchwabError::rate_limited(1500)).await;
        assert_eq!(
            (s, retry.as_deref()),
            (StatusCode::TOO_MANY_REQUESTS, Some("2"))
        );
        let (_, b, _) = body(SchwabError::bad_refresh_token()).await;
        let v: serde_json::Value = serde_json::from_str(&b).unwrap();
        assert_eq!(v["error"], "unsupported_token_type");
        let inner = v["error_description"].as_str().unwrap();
        let quoted = inner.strip_prefix("400 Bad Request: ").unwrap();
        let doc: String = serde_json::from_str(quoted).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(doc["error"], "refresh_token_authentication_error");
        let (s, b, _) = body(SchwabError::no_route("/trader/v2/x")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(b.starts_with("404 Not Found: Requested route"), "{b}");
    }
}
