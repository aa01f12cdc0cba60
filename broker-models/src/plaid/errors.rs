//! Plaid's error answers (reference §4): one JSON object, whatever went
//! wrong, with its HTTP status from Plaid's error docs — mostly 400, 429 for
//! rate limits, 404 for an unknown endpoint, 500 for Plaid's own failure.
//! `RATE_LIMIT_EXCEEDED` is an error *type*; the code names the limit.
//!
//! Every answer carries its `request_id`, which the face's outer layer
//! knows (errors raised in the fault layer do not): an error travels as a
//! response extension and the outer layer writes its body (`render`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::wire::ErrorBody;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaidError {
    pub status: StatusCode,
    pub error_type: &'static str,
    pub error_code: &'static str,
    pub message: String,
    pub display_message: Option<&'static str>,
}

const ITEM_ERROR: &str = "ITEM_ERROR";
const INVALID_INPUT: &str = "INVALID_INPUT";
const INVALID_REQUEST: &str = "INVALID_REQUEST";
const TRY_LATER: &str = "Something went wrong. Please try again later.";

impl PlaidError {
    fn new(
        status: StatusCode,
        error_type: &'static str,
        code: &'static str,
        message: &str,
    ) -> Self {
        Self {
            status,
            error_type,
            error_code: code,
            message: message.to_string(),
            display_message: None,
        }
    }

    fn shown(mut self, display: &'static str) -> Self {
        self.display_message = Some(display);
        self
    }

    pub fn item_login_required() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ITEM_ERROR,
            "ITEM_LOGIN_REQUIRED",
            "the login details of this item have changed (credentials, MFA, or required user action) and a user login is required to update this information. use Link's update mode to restore the item to a good state",
        )
    }

    pub fn product_not_ready() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ITEM_ERROR,
            "PRODUCT_NOT_READY",
            "the requested product is not yet ready. please provide a webhook or try the request again later",
        )
    }

    pub fn item_not_found() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ITEM_ERROR,
            "ITEM_NOT_FOUND",
            "the Item you requested cannot be found. This Item does not exist, has been previously removed via /item/remove, or has had access removed by the user",
        )
    }

    pub fn invalid_credentials() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ITEM_ERROR,
            "INVALID_CREDENTIALS",
            "the provided credentials were not correct. Please try again.",
        )
        .shown("The credentials you provided were incorrect. Check that your credentials are the same that you use for this institution")
    }

    pub fn products_not_supported() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ITEM_ERROR,
            "PRODUCTS_NOT_SUPPORTED",
            "the requested product is not supported by this institution",
        )
    }

    pub fn institution_down() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "INSTITUTION_ERROR",
            "INSTITUTION_DOWN",
            "this institution is not currently responding to this request. please try again soon",
        )
        .shown("This financial institution is not currently responding to requests. We apologize for the inconvenience.")
    }

    pub fn invalid_api_keys() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            INVALID_INPUT,
            "INVALID_API_KEYS",
            "invalid client_id or secret provided",
        )
    }

    pub fn invalid_access_token() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            INVALID_INPUT,
            "INVALID_ACCESS_TOKEN",
            "could not find matching access token",
        )
    }

    pub fn invalid_public_token() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            INVALID_INPUT,
            "INVALID_PUBLIC_TOKEN",
            "could not find matching public token",
        )
    }

    pub fn invalid_account_id() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            INVALID_INPUT,
            "INVALID_ACCOUNT_ID",
            "failed to find requested account ID for requested item",
        )
    }

    pub fn invalid_institution() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            INVALID_INPUT,
            "INVALID_INSTITUTION",
            "invalid institution_id provided",
        )
    }

    pub fn invalid_product(product: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            INVALID_INPUT,
            "INVALID_PRODUCT",
            &format!("{product:.40} is not a valid product"),
        )
    }

    pub fn missing_fields(fields: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            INVALID_REQUEST,
            "MISSING_FIELDS",
            &format!("the following required fields are missing: {fields:.100}"),
        )
    }

    pub fn unknown_fields(fields: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            INVALID_REQUEST,
            "UNKNOWN_FIELDS",
            &format!("the following fields are not recognized by this endpoint: {fields:.100}"),
        )
    }

    pub fn invalid_field(message: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            INVALID_REQUEST,
            "INVALID_FIELD",
            message,
        )
    }

    pub fn invalid_body() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            INVALID_REQUEST,
            "INVALID_BODY",
            "body could not be parsed as JSON",
        )
    }

    pub fn invalid_headers() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            INVALID_REQUEST,
            "INVALID_HEADERS",
            "the Content-Type header must be application/json",
        )
    }

    /// An endpoint Plaid does not have, order-shaped requests included:
    /// Plaid has no order route at all.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            INVALID_REQUEST,
            "NOT_FOUND",
            "not found",
        )
    }

    /// Plaid's own failure (the fault plan's outage).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "API_ERROR",
            "INTERNAL_SERVER_ERROR",
            "an unexpected error occurred",
        )
        .shown(TRY_LATER)
    }

    /// 429 for a request to `path`: the code names that endpoint's limit (§4.2).
    pub fn rate_limited(path: &str) -> Self {
        let code = match path {
            "/investments/holdings/get" => "INVESTMENT_HOLDINGS_GET_LIMIT",
            "/investments/transactions/get" => "INVESTMENT_TRANSACTIONS_LIMIT",
            "/accounts/get" => "ACCOUNTS_LIMIT",
            "/item/get" => "ITEM_GET_LIMIT",
            _ => "RATE_LIMIT",
        };
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMIT_EXCEEDED",
            code,
            "rate limit exceeded for attempts to access this item. please try again later",
        )
    }

    /// The error object as `item.error` or inside a webhook (no request id;
    /// `status` only in a webhook).
    pub fn body(&self, request_id: Option<&str>, in_webhook: bool) -> ErrorBody {
        ErrorBody {
            error_type: self.error_type,
            error_code: self.error_code,
            error_message: self.message.clone(),
            display_message: self.display_message.map(str::to_string),
            request_id: request_id.map(str::to_string),
            // Plaid lists causes only for errors this model never gives.
            causes: Vec::new(),
            status: in_webhook.then_some(self.status.as_u16()),
        }
    }

    /// The whole answer, with its request id.
    pub fn render(&self, request_id: &str) -> Response {
        (self.status, Json(self.body(Some(request_id), false))).into_response()
    }
}

impl IntoResponse for PlaidError {
    fn into_response(self) -> Response {
        // The outer layer knows the request id and writes the body.
        let mut r = (self.status, Json(self.body(None, false))).into_response();
        r.extensions_mut().insert(self);
        r
    }
}
