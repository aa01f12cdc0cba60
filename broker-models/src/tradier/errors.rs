//! Tradier's error answers, in their several shapes (reference §5): the
//! `errors` envelope (a string or a list; on 400, or inside a 200 for
//! order refusals), the gateway's `fault` JSON, and plain text.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, Clone, PartialEq)]
pub enum TradierError {
    /// `{"errors":{"error":…}}` with this status (200 for order-level refusals).
    Errors {
        status: StatusCode,
        errors: Vec<String>,
    },
    /// The API gateway's fault JSON (auth).
    Fault {
        status: StatusCode,
        faultstring: &'static str,
        errorcode: &'static str,
    },
    /// A plain-text body.
    Text { status: StatusCode, text: String },
}

impl TradierError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Errors {
            status: StatusCode::BAD_REQUEST,
            errors: vec![message.into()],
        }
    }

    /// An order refusal answered inside a 200, as Tradier does for buying power.
    pub fn refused(message: impl Into<String>) -> Self {
        Self::Errors {
            status: StatusCode::OK,
            errors: vec![message.into()],
        }
    }

    pub fn invalid_token() -> Self {
        Self::Fault {
            status: StatusCode::UNAUTHORIZED,
            faultstring: "Invalid Access Token",
            errorcode: "keymanagement.service.invalid_access_token",
        }
    }

    pub fn token_expired() -> Self {
        Self::Fault {
            status: StatusCode::UNAUTHORIZED,
            faultstring: "Access Token expired",
            errorcode: "keymanagement.service.access_token_expired",
        }
    }

    /// A refresh token the OAuth endpoint does not take. The body is the
    /// gateway's fault shape; the reference (§1.2) leaves Tradier's exact
    /// refresh error open (UNVERIFIED), the status is the gateway's 401.
    pub fn invalid_refresh_token() -> Self {
        Self::Fault {
            status: StatusCode::UNAUTHORIZED,
            faultstring: "Invalid Refresh Token",
            errorcode: "keymanagement.service.invalid_refresh_token",
        }
    }

    /// The gateway's answer to a token that does not authenticate.
    pub fn token(problem: crate::brokerage::TokenProblem) -> Self {
        match problem {
            crate::brokerage::TokenProblem::Unknown => Self::invalid_token(),
            crate::brokerage::TokenProblem::Expired => Self::token_expired(),
        }
    }

    /// Unknown order, someone else's order, or an account the token does not own.
    pub fn unauthorized_account(account: &str) -> Self {
        Self::Text {
            status: StatusCode::UNAUTHORIZED,
            text: format!("Unauthorized Account: {account}"),
        }
    }

    pub fn finalized(state: &str) -> Self {
        Self::Text {
            status: StatusCode::BAD_REQUEST,
            text: format!("order already in finalized state: {state}"),
        }
    }

    pub fn quota_violation(expiry_ms: i64) -> Self {
        Self::Text {
            status: StatusCode::TOO_MANY_REQUESTS,
            text: format!("Quota Violation {expiry_ms}"),
        }
    }

    pub fn unavailable() -> Self {
        Self::Text {
            status: StatusCode::SERVICE_UNAVAILABLE,
            text: "Service Unavailable".to_string(),
        }
    }

    pub fn not_found() -> Self {
        Self::Text {
            status: StatusCode::NOT_FOUND,
            text: "Not Found".to_string(),
        }
    }

    pub fn not_acceptable() -> Self {
        Self::Text {
            status: StatusCode::NOT_ACCEPTABLE,
            text: "raxx-sim answers Tradier requests in JSON only: send Accept: application/json"
                .to_string(),
        }
    }
}

impl IntoResponse for TradierError {
    fn into_response(self) -> Response {
        match self {
            Self::Errors { status, mut errors } => {
                let error = if errors.len() == 1 { json!(errors.remove(0)) } else { json!(errors) };
                (status, Json(json!({ "errors": { "error": error } }))).into_response()
            }
            Self::Fault { status, faultstring, errorcode } => (
                status,
                Json(json!({ "fault": { "faultstring": faultstring, "detail": { "errorcode": errorcode } } })),
            )
                .into_response(),
            Self::Text { status, text } => (status, [(header::CONTENT_TYPE, "text/plain")], text).into_response(),
        }
    }
}
