//! Who is asking, and for which account (reference §1.2, §2): every call
//! carries `Authorization: Bearer <access token>`, checked against the
//! brokerage's token lifecycle; every account path carries the account's
//! opaque hash, never its number. Each extractor's rejection is Schwab's
//! own answer, so a handler never runs for a request Schwab would refuse.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::errors::SchwabError;
use crate::brokerage::SimBrokerage;
use crate::face::{bearer, Shared};

/// The opaque hash that stands for `number` in every path (§2.1, §6): 64
/// hex characters, stable per account. Derived from the account number and
/// the app key the model issued (itself drawn from the seed), so a seed
/// always gives the same hashes and nothing is drawn for them.
pub fn account_hash(b: &SimBrokerage, number: &str) -> String {
    let mut h = Sha256::new();
    for part in [
        "schwab-account-hash",
        b.credentials().get("app_key").unwrap_or_default(),
        number,
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().map(|x| format!("{x:02X}")).collect()
}

/// The account number a path's hash stands for.
pub fn account_of(b: &SimBrokerage, hash: &str) -> Option<String> {
    b.account_numbers()
        .into_iter()
        .find(|n| account_hash(b, n) == hash)
}

/// A request whose bearer token authenticates now.
#[derive(Debug, Clone, Copy)]
pub struct SchwabAuth;

impl FromRequestParts<Shared> for SchwabAuth {
    type Rejection = SchwabError;

    async fn from_request_parts(parts: &mut Parts, s: &Shared) -> Result<Self, SchwabError> {
        let token = bearer(&parts.headers).ok_or_else(SchwabError::unauthorized)?;
        // Checked under the lock and released at once.
        s.lock()
            .authenticate(token)
            .map_err(|_| SchwabError::unauthorized())?;
        Ok(Self)
    }
}

#[derive(Deserialize)]
struct HashParam {
    hash: String,
}

/// An authenticated request for `/accounts/{hash}/…`: the account number.
#[derive(Debug, Clone)]
pub struct Account(pub String);

impl FromRequestParts<Shared> for Account {
    type Rejection = SchwabError;

    async fn from_request_parts(parts: &mut Parts, s: &Shared) -> Result<Self, SchwabError> {
        SchwabAuth::from_request_parts(parts, s).await?;
        let Path(HashParam { hash }) = Path::from_request_parts(parts, s)
            .await
            .map_err(|_| SchwabError::invalid_account())?;
        account_of(&s.lock(), &hash)
            .map(Self)
            .ok_or_else(SchwabError::invalid_account)
    }
}

#[derive(Deserialize)]
struct OrderParam {
    id: String,
}

/// `/accounts/{hash}/orders/{id}`: the account and the order id as the path has it.
#[derive(Debug, Clone)]
pub struct OrderPath {
    pub account: String,
    pub id: String,
}

impl FromRequestParts<Shared> for OrderPath {
    type Rejection = SchwabError;

    async fn from_request_parts(parts: &mut Parts, s: &Shared) -> Result<Self, SchwabError> {
        let Account(account) = Account::from_request_parts(parts, s).await?;
        let Path(OrderParam { id }) = Path::from_request_parts(parts, s)
            .await
            .map_err(|_| SchwabError::invalid("orderId must be an integer"))?;
        // orderId is an int64 path parameter (§2.4).
        if id.is_empty() || id.len() > 19 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SchwabError::invalid("orderId must be an integer"));
        }
        Ok(Self { account, id })
    }
}
