//! Who is asking (reference §1.2, §1.3): every REST call carries
//! `Authorization: Bearer <access token>`, checked against the brokerage's
//! token lifecycle, and may carry `Accept-Version: YYYYMMDD`. An account in
//! the path must be the token user's. Each extractor's rejection is
//! tastytrade's own answer, so a handler never runs for a request
//! tastytrade would have refused.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use serde::Deserialize;

use super::errors::TastytradeError;
use crate::face::{bearer, Shared};

/// The oldest order-api version still served, and what a request without
/// `Accept-Version` gets (§1.3).
pub const OLDEST_VERSION: u32 = 20250813;
/// From this version on, searching orders needs `start-date` or `start-at` (§1.3).
pub const DATED_SEARCH_VERSION: u32 = 20261012;

/// The order-api version a request is served: the highest live version not
/// after the one it asks for; a version older than every live one, or one
/// that is not a date, is refused with 406.
pub fn api_version(headers: &HeaderMap) -> Result<u32, TastytradeError> {
    let Some(value) = headers.get("accept-version") else {
        return Ok(OLDEST_VERSION);
    };
    let asked = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|v| v.len() == 8 && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<u32>().ok())
        .ok_or(TastytradeError::UnsupportedVersion)?;
    match asked {
        v if v < OLDEST_VERSION => Err(TastytradeError::UnsupportedVersion),
        v if v >= DATED_SEARCH_VERSION => Ok(DATED_SEARCH_VERSION),
        _ => Ok(OLDEST_VERSION),
    }
}

/// An authenticated request: the version it is served and its path (the
/// envelope's `context`).
#[derive(Debug, Clone)]
pub struct Caller {
    pub version: u32,
    pub context: String,
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = TastytradeError;

    async fn from_request_parts(parts: &mut Parts, s: &Shared) -> Result<Self, TastytradeError> {
        let version = api_version(&parts.headers)?;
        let token = bearer(&parts.headers).ok_or_else(TastytradeError::unauthorized)?;
        s.lock()
            .authenticate(token)
            .map_err(|_| TastytradeError::unauthorized())?;
        Ok(Self {
            version,
            context: parts.uri.path().to_string(),
        })
    }
}

#[derive(Deserialize)]
struct AccountParam {
    account: String,
}

/// An authenticated request for `/accounts/{account}/…` (or
/// `/customers/me/accounts/{account}`) of the token user's own account.
#[derive(Debug, Clone)]
pub struct AccountPath {
    pub caller: Caller,
    pub account: String,
}

impl FromRequestParts<Shared> for AccountPath {
    type Rejection = TastytradeError;

    async fn from_request_parts(parts: &mut Parts, s: &Shared) -> Result<Self, TastytradeError> {
        let caller = Caller::from_request_parts(parts, s).await?;
        let Path(AccountParam { account }) = Path::from_request_parts(parts, s)
            .await
            .map_err(|_| TastytradeError::not_permitted())?;
        if s.lock().account_numbers().contains(&account) {
            Ok(Self { caller, account })
        } else {
            Err(TastytradeError::not_permitted())
        }
    }
}

#[derive(Deserialize)]
struct IdParam {
    id: String,
}

/// `…/orders/{id}` or `…/complex-orders/{id}` of the user's account; ids
/// are integers, so anything else names no record.
#[derive(Debug, Clone)]
pub struct IdPath {
    pub caller: Caller,
    pub account: String,
    pub id: String,
}

impl FromRequestParts<Shared> for IdPath {
    type Rejection = TastytradeError;

    async fn from_request_parts(parts: &mut Parts, s: &Shared) -> Result<Self, TastytradeError> {
        let AccountPath { caller, account } = AccountPath::from_request_parts(parts, s).await?;
        let Path(IdParam { id }) = Path::from_request_parts(parts, s)
            .await
            .map_err(|_| TastytradeError::order_not_found())?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TastytradeError::order_not_found());
        }
        Ok(Self {
            caller,
            account,
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(v: &str) -> Result<u32, TastytradeError> {
        let mut h = HeaderMap::new();
        h.insert("accept-version", v.parse().unwrap());
        api_version(&h)
    }

    #[test]
    fn versions_are_served_the_highest_live_one_not_after_them() {
        assert_eq!(api_version(&HeaderMap::new()), Ok(OLDEST_VERSION));
        assert_eq!(version("20251101"), Ok(OLDEST_VERSION));
        assert_eq!(version("20261012"), Ok(DATED_SEARCH_VERSION));
        assert_eq!(version("20301231"), Ok(DATED_SEARCH_VERSION));
        assert_eq!(
            version("20240101"),
            Err(TastytradeError::UnsupportedVersion)
        );
        assert_eq!(version("latest"), Err(TastytradeError::UnsupportedVersion));
    }
}
