//! tastytrade's error answers (reference §5, §8.3), one type for all of
//! them: the REST envelope `{"error":{"code","message","errors"?}}` (its
//! nested items `code`/`message`, or `domain`/`reason` for request
//! validation), the OAuth endpoint's bare `error_code`/`error_description`,
//! the 406 whose `code` is an integer, and the gateway's HTML pages.
//!
//! Codes the reference confirms: `not_permitted`, `preflight_check_failure`
//! with `gtc_market_orders_not_supported` and `cant_buy_for_credit`,
//! `invalid_grant`, the 406 body. Codes it records as UNVERIFIED and uses
//! here as it does: `token_invalid` (401), `record_not_found` (404),
//! `cannot_update_order` (422 on a terminal order), `margin_check_failed`.
//! The rest are this model's words, marked where they are made
//! (`cant_sell_for_debit`, `invalid_symbol`, `invalid_quantity`,
//! `invalid_price`, `invalid_position_effect`, `order_rejected`,
//! `not_simulated`, `validation_error`, `rate_limit_exceeded`).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use mbt::{RejectReason, Rejection};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TastytradeError {
    /// The REST envelope.
    Api {
        status: StatusCode,
        code: &'static str,
        message: String,
        errors: Vec<Item>,
    },
    /// The OAuth endpoint's own shape (§1.2), which the Python SDK cannot parse.
    OAuth {
        status: StatusCode,
        error_code: &'static str,
        error_description: String,
    },
    /// `Accept-Version` older than every live version (§1.3).
    UnsupportedVersion,
    /// The nginx gateway in front of the API answers 5xx with HTML (§5).
    Gateway {
        status: StatusCode,
        title: &'static str,
    },
}

/// One nested error: a preflight check's `code`/`message`, or a request
/// validation's `domain`/`reason` (the two shapes the Python SDK reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Item {
    Check { code: &'static str, message: String },
    Validation { domain: String, reason: String },
}

#[derive(Serialize)]
struct ErrorDoc<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: Code<'a>,
    message: &'a str,
    #[serde(skip_serializing_if = "<[Item]>::is_empty")]
    errors: &'a [Item],
}

#[derive(Serialize)]
#[serde(untagged)]
enum Code<'a> {
    Word(&'a str),
    Number(u16),
}

#[derive(Serialize)]
struct OAuthDoc<'a> {
    error_code: &'a str,
    error_description: &'a str,
}

impl TastytradeError {
    fn api(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::Api {
            status,
            code,
            message: message.into(),
            errors: Vec::new(),
        }
    }

    /// A missing, unknown or expired bearer token: tastytrade does not tell
    /// them apart (the code is UNVERIFIED, the 401 confirmed, §5).
    pub fn unauthorized() -> Self {
        Self::api(
            StatusCode::UNAUTHORIZED,
            "token_invalid",
            "This token is invalid or has expired",
        )
    }

    /// An account the token's user does not own (captured, §5).
    pub fn not_permitted() -> Self {
        Self::api(
            StatusCode::FORBIDDEN,
            "not_permitted",
            "User not permitted access",
        )
    }

    pub fn order_not_found() -> Self {
        Self::api(StatusCode::NOT_FOUND, "record_not_found", "Order not found")
    }

    pub fn complex_order_not_found() -> Self {
        Self::api(
            StatusCode::NOT_FOUND,
            "record_not_found",
            "Complex order not found",
        )
    }

    /// A path tastytrade does not serve (the body is this model's; §5 only
    /// says unknown records are 404 with the envelope).
    pub fn route_not_found() -> Self {
        Self::api(StatusCode::NOT_FOUND, "not_found", "Not Found")
    }

    pub fn method_not_allowed() -> Self {
        Self::api(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method Not Allowed",
        )
    }

    /// A malformed request (§5: 400 with the envelope). Grape's validation
    /// errors carry `domain`/`reason` items, which is why the Python SDK
    /// reads that shape; the top-level code and message are this model's.
    pub fn invalid(domain: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Api {
            status: StatusCode::BAD_REQUEST,
            code: "validation_error",
            message: "Request validation failed".to_string(),
            errors: vec![Item::Validation {
                domain: domain.into(),
                reason: reason.into(),
            }],
        }
    }

    /// A preflight check that failed (§5: 422, the real reasons nested).
    pub fn preflight(code: &'static str, message: impl Into<String>) -> Self {
        Self::Api {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "preflight_check_failure",
            message: "One or more preflight checks failed".to_string(),
            errors: vec![Item::Check {
                code,
                message: message.into(),
            }],
        }
    }

    /// What the model cannot simulate, refused loudly in the shape of a
    /// preflight failure rather than silently simplified.
    pub fn not_simulated(what: impl std::fmt::Display) -> Self {
        Self::preflight(
            "not_simulated",
            format!("raxx-sim does not simulate {what}"),
        )
    }

    pub fn gtc_market() -> Self {
        Self::preflight(
            "gtc_market_orders_not_supported",
            "GTC/GTD Market orders are not supported.",
        )
    }

    pub fn cant_buy_for_credit() -> Self {
        Self::preflight("cant_buy_for_credit", "You cannot buy for a credit.")
    }

    /// The mirror of `cant_buy_for_credit` (§8.11 names only the buy side:
    /// this code is the model's).
    pub fn cant_sell_for_debit() -> Self {
        Self::preflight("cant_sell_for_debit", "You cannot sell for a debit.")
    }

    /// A change to an order that is no longer working (§2.7: UNVERIFIED code).
    pub fn cannot_update(id: &str, action: &str, status: &str) -> Self {
        Self::api(
            StatusCode::UNPROCESSABLE_ENTITY,
            "cannot_update_order",
            format!("Order {id} cannot be {action}: it is {status}"),
        )
    }

    /// 429 without rate-limit headers (§5); the body is this model's.
    pub fn rate_limited() -> Self {
        Self::api(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            "Too many requests, please try again later",
        )
    }

    pub fn unavailable() -> Self {
        Self::Gateway {
            status: StatusCode::SERVICE_UNAVAILABLE,
            title: "503 Service Temporarily Unavailable",
        }
    }

    pub fn invalid_grant() -> Self {
        Self::OAuth {
            status: StatusCode::BAD_REQUEST,
            error_code: "invalid_grant",
            error_description: "Invalid JWT".to_string(),
        }
    }

    /// A `client_secret` or `client_id` that is not the app's (RFC 6749's
    /// 401 `invalid_client`, in tastytrade's OAuth shape).
    pub fn invalid_client() -> Self {
        Self::OAuth {
            status: StatusCode::UNAUTHORIZED,
            error_code: "invalid_client",
            error_description: "Client authentication failed".to_string(),
        }
    }

    pub fn oauth_request(code: &'static str, description: impl Into<String>) -> Self {
        Self::OAuth {
            status: StatusCode::BAD_REQUEST,
            error_code: code,
            error_description: description.into(),
        }
    }

    /// tastytrade's refusal of an order the venue refuses, at submit (422).
    pub fn refusal(r: &Rejection) -> Self {
        let (code, message) = match r.reason {
            RejectReason::InsufficientBuyingPower => (
                "margin_check_failed",
                "This order exceeds your available buying power.".to_string(),
            ),
            RejectReason::UnknownSymbol => ("invalid_symbol", r.message.clone()),
            RejectReason::InvalidQuantity => ("invalid_quantity", r.message.clone()),
            RejectReason::InvalidPrice => ("invalid_price", r.message.clone()),
            // Only with strict position-effect validation (§2.2): otherwise
            // a close without a position is turned into an open first.
            RejectReason::NoPositionToClose => ("invalid_position_effect", r.message.clone()),
            RejectReason::UnknownAccount => return Self::not_permitted(),
            RejectReason::ShortSellingNotAllowed
            | RejectReason::MarketClosed
            | RejectReason::InvalidOrder => ("order_rejected", r.message.clone()),
        };
        Self::preflight(code, message)
    }
}

impl IntoResponse for TastytradeError {
    fn into_response(self) -> Response {
        match self {
            Self::Api {
                status,
                code,
                message,
                errors,
            } => {
                let doc = ErrorDoc {
                    error: ErrorBody {
                        code: Code::Word(code),
                        message: &message,
                        errors: &errors,
                    },
                };
                (status, Json(doc)).into_response()
            }
            Self::OAuth {
                status,
                error_code,
                error_description,
            } => {
                let doc = OAuthDoc {
                    error_code,
                    error_description: &error_description,
                };
                (status, Json(doc)).into_response()
            }
            Self::UnsupportedVersion => {
                let doc = ErrorDoc {
                    error: ErrorBody {
                        code: Code::Number(406),
                        message: "The requested version is not supported.",
                        errors: &[],
                    },
                };
                (StatusCode::NOT_ACCEPTABLE, Json(doc)).into_response()
            }
            Self::Gateway { status, title } => {
                let page = format!(
                    "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
                );
                (status, [(header::CONTENT_TYPE, "text/html")], page).into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(e: TastytradeError) -> (StatusCode, String) {
        let r = e.into_response();
        let status = r.status();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn every_shape() {
        assert_eq!(
            body(TastytradeError::gtc_market()).await,
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                r#"{"error":{"code":"preflight_check_failure","message":"One or more preflight checks failed","errors":[{"code":"gtc_market_orders_not_supported","message":"GTC/GTD Market orders are not supported."}]}}"#.to_string()
            )
        );
        assert_eq!(
            body(TastytradeError::order_not_found()).await.1,
            r#"{"error":{"code":"record_not_found","message":"Order not found"}}"#
        );
        assert_eq!(
            body(TastytradeError::invalid("legs", "is missing")).await.1,
            r#"{"error":{"code":"validation_error","message":"Request validation failed","errors":[{"domain":"legs","reason":"is missing"}]}}"#
        );
        assert_eq!(
            body(TastytradeError::invalid_grant()).await,
            (
                StatusCode::BAD_REQUEST,
                r#"{"error_code":"invalid_grant","error_description":"Invalid JWT"}"#.to_string()
            )
        );
        assert_eq!(
            body(TastytradeError::UnsupportedVersion).await.1,
            r#"{"error":{"code":406,"message":"The requested version is not supported."}}"#
        );
        let (status, page) = body(TastytradeError::unavailable()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(page.starts_with("<html>"));
    }
}
