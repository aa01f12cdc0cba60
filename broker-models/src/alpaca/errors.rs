//! Alpaca's error bodies: `{"code": <8 digits>, "message": "..."}` with
//! extra context keys on some, except the auth errors that carry only a
//! message (reference §5).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct AlpacaError {
    pub status: StatusCode,
    pub body: Value,
}

impl AlpacaError {
    fn coded(status: StatusCode, code: u64, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({ "code": code, "message": message.into() }),
        }
    }

    /// Adds context keys (e.g. `buying_power`, `cost_basis`) beside code and message.
    pub fn with(mut self, extra: Map<String, Value>) -> Self {
        if let Value::Object(body) = &mut self.body {
            body.extend(extra);
        }
        self
    }

    /// Wrong keys: 401 with a message only.
    pub fn unauthorized() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            body: json!({ "message": "unauthorized" }),
        }
    }

    /// Missing or malformed auth headers: 403 with a message only.
    pub fn forbidden() -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            body: json!({ "message": "forbidden." }),
        }
    }

    /// An OAuth token that is no longer valid.
    pub fn token_expired() -> Self {
        Self::coded(
            StatusCode::UNAUTHORIZED,
            40110000,
            "request is not authorized",
        )
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::coded(StatusCode::UNPROCESSABLE_ENTITY, 40010001, message)
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::coded(StatusCode::UNPROCESSABLE_ENTITY, 42210000, message)
    }

    pub fn forbidden_trade(message: impl Into<String>) -> Self {
        Self::coded(StatusCode::FORBIDDEN, 40310000, message)
    }

    pub fn malformed_body() -> Self {
        Self::coded(
            StatusCode::BAD_REQUEST,
            40010000,
            "request body format is invalid",
        )
    }

    pub fn order_not_found() -> Self {
        Self::coded(StatusCode::NOT_FOUND, 40410000, "order not found")
    }

    pub fn position_not_found() -> Self {
        Self::coded(StatusCode::NOT_FOUND, 40410000, "position does not exist")
    }

    pub fn route_not_found() -> Self {
        Self::coded(StatusCode::NOT_FOUND, 40410000, "endpoint not found")
    }

    pub fn rate_limited() -> Self {
        Self::coded(
            StatusCode::TOO_MANY_REQUESTS,
            42910000,
            "rate limit exceeded",
        )
    }

    pub fn unavailable() -> Self {
        Self::coded(
            StatusCode::SERVICE_UNAVAILABLE,
            50300000,
            "service unavailable",
        )
    }
}

impl IntoResponse for AlpacaError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
