//! Who a request is: the `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` pair
//! (reference §1.2), as an axum extractor whose rejection is Alpaca's own
//! 401 or 403 body (§5.2).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};

use super::errors::AlpacaError;
use crate::brokerage::SimBrokerage;
use crate::face::Shared;

pub const KEY_HEADER: &str = "apca-api-key-id";
pub const SECRET_HEADER: &str = "apca-api-secret-key";

/// The account number the request's keys belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlpacaAuth(pub String);

impl FromRequestParts<Shared> for AlpacaAuth {
    type Rejection = AlpacaError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, AlpacaError> {
        // Checked under the lock and released at once: nothing is held across an await.
        let b = state.lock();
        authenticate(&b, &parts.headers).map(AlpacaAuth)
    }
}

/// The account a key pair opens, if the pair is the one the model issued
/// (the stream's `authenticate` message carries the same pair, §2.12a).
pub fn account_for(b: &SimBrokerage, key: &str, secret: &str) -> Option<String> {
    let c = b.credentials();
    (c.matches("key_id", key) && c.matches("secret_key", secret))
        .then(|| b.account_numbers().into_iter().next())
        .flatten()
}

/// Wrong keys are 401; no keys at all are 403, except that an
/// `Authorization` header (OAuth or Basic, §1.2) is a credential too, and
/// the model issues none of those, so it is a wrong one.
fn authenticate(b: &SimBrokerage, headers: &HeaderMap) -> Result<String, AlpacaError> {
    let header = |n| headers.get(n).and_then(|v: &HeaderValue| v.to_str().ok());
    match (header(KEY_HEADER), header(SECRET_HEADER)) {
        (Some(key), Some(secret)) => {
            account_for(b, key, secret).ok_or_else(AlpacaError::unauthorized)
        }
        _ if headers.contains_key(header::AUTHORIZATION) => Err(AlpacaError::unauthorized()),
        _ => Err(AlpacaError::forbidden()),
    }
}
