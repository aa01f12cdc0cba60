//! SnapTrade's refusals in one `IntoResponse` type (reference §6): the
//! Django REST Framework body `{"detail", "status_code", "code"}` with a
//! string code, and 501's `{"error"}`.
//!
//! The reference leaves some codes open (§6.2: "trading not supported",
//! an order the brokerage declines, SnapTrade's own outage); each
//! constructor says what it chose and why.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use mbt::{RejectReason, Rejection};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapTradeError {
    pub status: StatusCode,
    pub detail: String,
    pub code: String,
    /// Seconds, on a 429 (§8.3: "may carry Retry-After").
    pub retry_after_s: Option<u64>,
}

fn error(status: StatusCode, code: &str, detail: impl Into<String>) -> SnapTradeError {
    SnapTradeError {
        status,
        detail: detail.into(),
        code: code.to_string(),
        retry_after_s: None,
    }
}

impl SnapTradeError {
    /// 400 for a body or query SnapTrade cannot take: the spec's one 400
    /// example (`1076`, "Unable to verify data sent", §6.2).
    pub fn invalid(detail: impl Into<String>) -> Self {
        error(StatusCode::BAD_REQUEST, "1076", detail)
    }

    /// 400 for something SnapTrade accepts that this model cannot carry
    /// out: said loudly, never quietly simplified.
    pub fn not_simulated(what: &str) -> Self {
        Self::invalid(format!("{what} is not simulated by raxx-sim"))
    }

    /// 400 "Trade could not be placed" (the spec's 400 for the trading
    /// endpoints): the brokerage declined the order. No code of its own is
    /// documented (§6.2); the detail carries the brokerage's reason.
    pub fn declined(r: &Rejection, symbol: &str) -> Self {
        let reason = match r.reason {
            RejectReason::InsufficientBuyingPower => {
                "Insufficient buying power to place this order.".to_string()
            }
            RejectReason::UnknownSymbol => format!("Symbol {symbol:.32} is not tradable."),
            RejectReason::NoPositionToClose => {
                format!("Not enough shares of {symbol:.32} held to sell.")
            }
            RejectReason::ShortSellingNotAllowed => {
                format!("Short selling {symbol:.32} is not allowed in this account.")
            }
            RejectReason::MarketClosed => "The market is closed.".to_string(),
            RejectReason::InvalidPrice
            | RejectReason::InvalidQuantity
            | RejectReason::InvalidOrder
            | RejectReason::UnknownAccount => r.message.clone(),
        };
        Self::invalid(format!("Trade could not be placed: {reason}"))
    }

    /// 400: the order can no longer be canceled (the legacy cancel's
    /// documented 400, §4.5; the current one is taken to answer alike).
    pub fn not_cancelable(status_word: &str) -> Self {
        Self::invalid(format!("Order could not be canceled: it is {status_word}."))
    }

    /// 401 for a signature that does not verify (§2, §6.1, seen byte for byte
    /// in third-party probes).
    pub fn bad_signature() -> Self {
        error(
            StatusCode::UNAUTHORIZED,
            "1076",
            "Unable to verify signature sent",
        )
    }

    /// 401 for a clientId the model did not issue (§6.1: "Invalid clientId
    /// provided"; the code is not shown anywhere: 1076, as for a bad key).
    pub fn bad_client() -> Self {
        error(
            StatusCode::UNAUTHORIZED,
            "1076",
            "Invalid clientId provided",
        )
    }

    /// 401 for a userId/userSecret pair the model did not issue (§6.1).
    pub fn bad_user() -> Self {
        error(
            StatusCode::UNAUTHORIZED,
            "1083",
            "Invalid userID or userSecret provided",
        )
    }

    /// 402: the connection is disabled (broken): nothing live can be done
    /// until the user reconnects it (§6.3).
    pub fn connection_disabled() -> Self {
        error(
            StatusCode::PAYMENT_REQUIRED,
            "3003",
            "Unable to sync with brokerage account because the connection is disabled.",
        )
    }

    /// 402 for disabling a connection already disabled (§4.3).
    pub fn already_disabled() -> Self {
        error(
            StatusCode::PAYMENT_REQUIRED,
            "3011",
            "This connection is already disabled.",
        )
    }

    /// 403: the connection (a `read` one, or a read-only brokerage) does not
    /// allow trading: the spec's 403 for the trading endpoints ("User does
    /// not have permissions to place trades", code 1066). The exact words
    /// for a read-only connection are not documented (§6.2).
    pub fn no_trading(brokerage: &str) -> Self {
        error(
            StatusCode::FORBIDDEN,
            "1066",
            format!(
                "User does not have permission to place trades on this {brokerage:.40} connection."
            ),
        )
    }

    /// 404 (§6.2, code 1011).
    pub fn not_found() -> Self {
        error(
            StatusCode::NOT_FOUND,
            "1011",
            "The requested resource does not exist.",
        )
    }

    /// 429 (§8.3), with the wait in the detail and in `Retry-After`.
    pub fn throttled(retry_after_ms: u64) -> Self {
        let seconds = retry_after_ms.div_ceil(1000).max(1);
        SnapTradeError {
            retry_after_s: Some(seconds),
            ..error(
                StatusCode::TOO_MANY_REQUESTS,
                "0000",
                format!("Request was throttled. Expected available in {seconds} seconds."),
            )
        }
    }

    /// 503: the brokerage behind SnapTrade failed (§6.2, code 3002).
    pub fn brokerage_down() -> Self {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "3002",
            "Unable to sync with brokerage account. Invalid response from Brokerage API.",
        )
    }

    /// 503 for SnapTrade itself down. What SnapTrade answers in its own
    /// outage is not documented; the model answers 503 with the spec's
    /// unexpected-exception code (1000), so a client can tell it from a
    /// brokerage's failure (3002).
    pub fn unavailable() -> Self {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "1000",
            "SnapTrade is temporarily unavailable. Please try again later.",
        )
    }

    /// 425: the first sync is still populating the data (§6.2, code 3012).
    pub fn not_ready() -> Self {
        error(
            StatusCode::from_u16(425).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            "3012",
            "The resource is currently being populated. Please try again later.",
        )
    }

    /// 405 for a method a route does not take (Django REST Framework's words).
    pub fn method_not_allowed(method: &str) -> Self {
        error(
            StatusCode::METHOD_NOT_ALLOWED,
            "1000",
            format!("Method \"{method:.10}\" not allowed."),
        )
    }
}

impl IntoResponse for SnapTradeError {
    fn into_response(self) -> Response {
        let body = json!({
            "detail": self.detail,
            "status_code": self.status.as_u16(),
            "code": self.code,
        });
        let mut r = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after_s {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        r
    }
}
