//! Alpaca's error bodies, in one `IntoResponse` type: `{"code": <8 digits>,
//! "message": "..."}`, some with context keys beside them, except the auth
//! errors, which carry only a message (reference §5.1, §5.2).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// Parameter validation (§5.2 "Other validation"): HTTP 422.
const VALIDATION: u64 = 40010001;
/// Business rules the request breaks (sub-penny prices, unknown assets, …): HTTP 422.
const UNPROCESSABLE: u64 = 42210000;
/// Refused for the account's money or shares (§5.2): HTTP 403.
const FORBIDDEN: u64 = 40310000;
const NOT_FOUND: u64 = 40410000;

/// The body of an Alpaca error, with the context keys some refusals carry
/// (§5.1). Amounts and quantities are decimal strings, as everywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u64>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buying_power: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_basis: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_qty: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_for_orders: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
}

/// An Alpaca error: its HTTP status and body (boxed: the body is large and
/// errors travel in every `Result` of the face).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlpacaError {
    pub status: StatusCode,
    pub body: Box<ErrorBody>,
}

/// What a sell (or a buy to cover) asked for against what the position
/// has free: the context of the "insufficient qty" refusal (§2.9, §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QtyShortfall {
    pub symbol: String,
    pub requested: String,
    pub available: String,
    pub existing_qty: String,
    pub held_for_orders: String,
}

impl AlpacaError {
    fn coded(status: StatusCode, code: u64, message: impl Into<String>) -> Self {
        Self {
            status,
            body: Box::new(ErrorBody {
                code: Some(code),
                message: message.into(),
                ..ErrorBody::default()
            }),
        }
    }

    fn message_only(status: StatusCode, message: &str) -> Self {
        Self {
            status,
            body: Box::new(ErrorBody {
                message: message.to_string(),
                ..ErrorBody::default()
            }),
        }
    }

    /// Wrong keys: 401 with a message only (§5.2).
    pub fn unauthorized() -> Self {
        Self::message_only(StatusCode::UNAUTHORIZED, "unauthorized")
    }

    /// Missing or malformed auth headers: 403 with a message only (§5.2).
    pub fn forbidden() -> Self {
        Self::message_only(StatusCode::FORBIDDEN, "forbidden.")
    }

    /// A fault plan's expired credentials: the coded variant some clients
    /// report for a 401 (§5.2, CONFLICT there with the message-only body).
    pub fn token_expired() -> Self {
        Self::coded(
            StatusCode::UNAUTHORIZED,
            40110000,
            "request is not authorized",
        )
    }

    /// 422 `40010001`: a parameter Alpaca's validation refuses.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::coded(StatusCode::UNPROCESSABLE_ENTITY, VALIDATION, message)
    }

    /// 422 `42210000`: a request that is well formed but breaks a rule.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::coded(StatusCode::UNPROCESSABLE_ENTITY, UNPROCESSABLE, message)
    }

    /// 422 `42210000` for something Alpaca accepts that this model cannot
    /// carry out: said loudly, never turned into something else.
    pub fn not_simulated(what: &str) -> Self {
        Self::unprocessable(format!("{what} not simulated by raxx-sim"))
    }

    /// 403 `40310000`: refused for the account's money, shares or permissions.
    pub fn forbidden_trade(message: impl Into<String>) -> Self {
        Self::coded(StatusCode::FORBIDDEN, FORBIDDEN, message)
    }

    /// 403 with the buying power left and, when it can be represented, what
    /// the order would have cost (alpaca-py issue #225's capture).
    pub fn insufficient_buying_power(buying_power: String, cost_basis: Option<String>) -> Self {
        let mut e = Self::forbidden_trade("insufficient buying power");
        e.body.buying_power = Some(buying_power);
        e.body.cost_basis = cost_basis;
        e
    }

    /// 403 when a sell asks for more than the position has free (§2.9's example body).
    pub fn insufficient_qty(s: QtyShortfall) -> Self {
        let mut e = Self::forbidden_trade(format!(
            "insufficient qty available for order (requested: {}, available: {})",
            s.requested, s.available
        ));
        e.body.available = Some(s.available);
        e.body.existing_qty = Some(s.existing_qty);
        e.body.held_for_orders = Some(s.held_for_orders);
        e.body.symbol = Some(s.symbol);
        e
    }

    /// 400 `40010000`: a body that does not decode into an order request
    /// (Alpaca-API issue #89 quotes the body).
    pub fn malformed_body() -> Self {
        Self::coded(
            StatusCode::BAD_REQUEST,
            40010000,
            "request body format is invalid",
        )
    }

    pub fn order_not_found() -> Self {
        Self::coded(StatusCode::NOT_FOUND, NOT_FOUND, "order not found")
    }

    pub fn position_not_found() -> Self {
        Self::coded(StatusCode::NOT_FOUND, NOT_FOUND, "position does not exist")
    }

    /// `GET /v2/assets/X` for an asset Alpaca does not list (§5.2, measured).
    pub fn asset_not_found(symbol: &str) -> Self {
        Self::coded(
            StatusCode::NOT_FOUND,
            NOT_FOUND,
            format!("asset not found for {symbol}"),
        )
    }

    /// The reference gives no body for an unknown option contract (§7): the
    /// asset wording, the nearest documented one.
    pub fn contract_not_found(symbol: &str) -> Self {
        Self::asset_not_found(symbol)
    }

    /// A path Alpaca does not serve. The reference records no body for it
    /// (§5.1 only says every error is `{code, message}` JSON).
    pub fn route_not_found() -> Self {
        Self::coded(StatusCode::NOT_FOUND, NOT_FOUND, "endpoint not found")
    }

    /// A method a served path does not take; no body recorded either (§5.1).
    pub fn method_not_allowed() -> Self {
        Self::coded(
            StatusCode::METHOD_NOT_ALLOWED,
            40510000,
            "method not allowed",
        )
    }

    /// A body larger than the server reads (no body recorded, §5.1).
    pub fn body_too_large() -> Self {
        Self::coded(
            StatusCode::PAYLOAD_TOO_LARGE,
            41310000,
            "request body too large",
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keys_appear_only_where_set() {
        let plain = serde_json::to_value(AlpacaError::order_not_found().body).unwrap();
        assert_eq!(
            plain,
            serde_json::json!({"code": 40410000, "message": "order not found"})
        );
        let auth = serde_json::to_value(AlpacaError::unauthorized().body).unwrap();
        assert_eq!(auth, serde_json::json!({"message": "unauthorized"}));
        let qty = AlpacaError::insufficient_qty(QtyShortfall {
            symbol: "SQQQ".into(),
            requested: "1000".into(),
            available: "0".into(),
            existing_qty: "1000".into(),
            held_for_orders: "1000".into(),
        });
        assert_eq!(qty.status, StatusCode::FORBIDDEN);
        assert_eq!(
            serde_json::to_value(qty.body).unwrap(),
            serde_json::json!({"code": 40310000,
                "message": "insufficient qty available for order (requested: 1000, available: 0)",
                "available": "0", "existing_qty": "1000", "held_for_orders": "1000", "symbol": "SQQQ"})
        );
    }
}
