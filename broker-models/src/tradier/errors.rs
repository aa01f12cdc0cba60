//! Tradier's error answers, in their several shapes (reference §5): the
//! `errors` envelope (a string or a list; on 400, or inside a 200 for
//! order refusals), the gateway's `fault` JSON, and plain text; and
//! Tradier's words for the refusals the engine makes.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use mbt::{RejectReason, Rejection};

use super::format::Format;
use super::wire::{ErrorList, ErrorsDoc, Fault, FaultDetail, FaultDoc, OneOrMany};
use crate::brokerage::TokenProblem;

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

    /// Several validation problems at once, as a list (§5.1).
    pub fn invalid_all(errors: Vec<String>) -> Self {
        Self::Errors {
            status: StatusCode::BAD_REQUEST,
            errors,
        }
    }

    /// An order refusal by the systems behind the API, answered inside a 200
    /// (§5.1; docs.tradier.com `docs/error-responses`: "the API sends back a
    /// 200 response for any error that is thrown by downstream systems").
    pub fn refused(message: impl Into<String>) -> Self {
        Self::Errors {
            status: StatusCode::OK,
            errors: vec![message.into()],
        }
    }

    /// `Invalid parameter, <key>: <value>` (the measured tag texts' form, §4).
    pub fn parameter(key: &str, value: impl std::fmt::Display) -> Self {
        Self::invalid(format!("Invalid parameter, {key}: {value}"))
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
    pub fn token(problem: TokenProblem) -> Self {
        match problem {
            TokenProblem::Unknown => Self::invalid_token(),
            TokenProblem::Expired => Self::token_expired(),
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

    /// A path Tradier does not serve. The reference (§5.2) records no body
    /// for it (404 was never observed on a served path); plain text, as the
    /// gateway's other answers.
    pub fn not_found() -> Self {
        Self::Text {
            status: StatusCode::NOT_FOUND,
            text: "Not Found".to_string(),
        }
    }

    /// A method a served path does not take; open in the reference as 404 is (§5.2).
    pub fn method_not_allowed() -> Self {
        Self::Text {
            status: StatusCode::METHOD_NOT_ALLOWED,
            text: "Method Not Allowed".to_string(),
        }
    }

    /// The `errors` envelope in `format`; the other shapes are the same in
    /// every format (the gateway's fault is JSON, §5.1).
    pub fn render(self, format: Format) -> Response {
        match self {
            Self::Errors { status, errors } => {
                let error = OneOrMany::from_vec(errors).unwrap_or(OneOrMany::Many(Vec::new()));
                format.document(
                    status,
                    &ErrorsDoc {
                        errors: ErrorList { error },
                    },
                )
            }
            Self::Fault {
                status,
                faultstring,
                errorcode,
            } => Format::Json.document(
                status,
                &FaultDoc {
                    fault: Fault {
                        faultstring,
                        detail: FaultDetail { errorcode },
                    },
                },
            ),
            Self::Text { status, text } => {
                (status, [(header::CONTENT_TYPE, "text/plain")], text).into_response()
            }
        }
    }
}

/// Rendered as JSON: for answers made before the request's format is known
/// (the extractors' rejections are faults and plain text, the same in every format).
impl IntoResponse for TradierError {
    fn into_response(self) -> Response {
        self.render(Format::Json)
    }
}

/// Tradier's texts for order refusals, from its error-code table
/// (docs.tradier.com `docs/error-responses`), keyed by code.
pub mod text {
    pub const BUYING_POWER: &str = "You do not have enough buying power for this trade.";
    pub const QUANTITY: &str = "Quantity should be between 1 and 10,000,000";
    pub const LIMIT_PRICE: &str = "Limit price is not valid. Please check the price entered";
    pub const STOP_PRICE: &str = "Stop price is not defined";
    pub const NO_SHORTS: &str =
        "Account is restricted from short sales. Please contact 980-272-3880 for questions or concerns";
    /// UnexpectedSellOrder; a captured answer to `sell_to_close` without a
    /// long option position carried this equity text too (third-party
    /// capture, index id 40573769688), where the table has a separate
    /// UnexpectedSellOrderOption: the capture wins.
    pub const SELL_WITHOUT_LONG: &str =
        "Sell order cannot be placed unless you are closing a long position, please check open orders.";
    pub const SELL_PAST_LONG: &str = "Sell order is for more shares than your current long position, please review current position quantity along with open orders for security.";
    pub const SHORT_WHILE_LONG: &str =
        "Sell short order cannot be placed while you have a current long position, please check open orders.";
    pub const SELL_TO_OPEN_WHILE_LONG: &str = "Sell to Open order cannot be placed while you have a current long option position, please check open orders.";
    pub const BUY_WHILE_SHORT: &str =
        "Buy order cannot be placed to cover short position, order must be placed as a Buy to Cover";
    pub const BUY_TO_OPEN_WHILE_SHORT: &str = "Buy To Open order cannot be placed to close a short option position, order must be placed as a Buy to Close";
    pub const COVER_WITHOUT_SHORT: &str =
        "Buy To Cover order cannot be placed unless closing a short position, please check open orders.";
    pub const BUY_TO_CLOSE_WITHOUT_SHORT: &str = "Buy To Close order cannot be placed unless closing a short option position, please check open orders.";
    pub const COVER_PAST_SHORT: &str = "Buy order is for more shares than your current short position, please review current position quantity along with open orders for security.";
}

/// Tradier's answer to an engine refusal of an order for `symbol`: the
/// text of the matching code, inside a 200 for what the order systems
/// refuse, a 400 for a parameter (§5.2).
pub fn refusal(r: &Rejection, symbol: &str) -> TradierError {
    match r.reason {
        RejectReason::UnknownSymbol => {
            TradierError::invalid(format!("Invalid parameter, {symbol}: symbol not found."))
        }
        // Forced rejections (fault plans) and shapes the engine cannot take:
        // their own message, as a validation refusal. (An unknown account
        // never gets this far: the account extractor refuses it first.)
        RejectReason::InvalidOrder | RejectReason::MarketClosed | RejectReason::UnknownAccount => {
            TradierError::invalid(r.message.clone())
        }
        _ => TradierError::refused(reason_text(r)),
    }
}

/// Tradier's words for an order-level refusal, as a `reason_description`
/// or inside a refusal.
pub fn reason_text(r: &Rejection) -> String {
    match r.reason {
        RejectReason::InsufficientBuyingPower => text::BUYING_POWER,
        RejectReason::InvalidQuantity => text::QUANTITY,
        // The engine names the price it refuses.
        RejectReason::InvalidPrice if r.message.contains("stop_price") => text::STOP_PRICE,
        RejectReason::InvalidPrice => text::LIMIT_PRICE,
        RejectReason::ShortSellingNotAllowed => text::NO_SHORTS,
        // Which side was refused is in the order; a close without a position
        // reads like the sell case, the most common (§5.2 leaves the rest open).
        RejectReason::NoPositionToClose => text::SELL_WITHOUT_LONG,
        _ => return r.message.clone(),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(e: TradierError, f: Format) -> String {
        let bytes = axum::body::to_bytes(e.render(f).into_body(), 1 << 16).await;
        String::from_utf8(bytes.unwrap().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn envelopes_in_each_format() {
        assert_eq!(
            body(TradierError::invalid("bad"), Format::Json).await,
            r#"{"errors":{"error":"bad"}}"#
        );
        let two = TradierError::invalid_all(vec!["a".into(), "b".into()]);
        assert_eq!(
            body(two, Format::Json).await,
            r#"{"errors":{"error":["a","b"]}}"#
        );
        assert!(body(TradierError::invalid("bad"), Format::Xml)
            .await
            .ends_with("<errors><error>bad</error></errors>"));
        let fault = body(TradierError::invalid_token(), Format::Xml).await;
        assert!(fault.starts_with(r#"{"fault""#), "{fault}");
    }
}
