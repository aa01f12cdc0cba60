//! Who is asking (reference §1.2, §2.3, §8.15): every request carries
//! `Authorization: Bearer <token>`, checked against the brokerage's token
//! lifecycle; an account in the path must be one the token owns. Each
//! extractor's rejection is Tradier's own answer, so a handler that takes
//! one never runs for a request Tradier would have refused.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::Deserialize;

use super::errors::TradierError;
use crate::face::{bearer, Shared};

/// A request whose bearer token authenticates now.
#[derive(Debug, Clone, Copy)]
pub struct TradierAuth;

impl FromRequestParts<Shared> for TradierAuth {
    type Rejection = TradierError;

    async fn from_request_parts(parts: &mut Parts, s: &Shared) -> Result<Self, TradierError> {
        let token = bearer(&parts.headers).ok_or_else(TradierError::invalid_token)?;
        s.lock().authenticate(token).map_err(TradierError::token)?;
        Ok(Self)
    }
}

#[derive(Deserialize)]
struct AccountParam {
    account: String,
}

/// An authenticated request for `/accounts/{account}/…` of an account the token owns.
#[derive(Debug, Clone)]
pub struct TradierAccount(pub String);

impl FromRequestParts<Shared> for TradierAccount {
    type Rejection = TradierError;

    async fn from_request_parts(parts: &mut Parts, s: &Shared) -> Result<Self, TradierError> {
        TradierAuth::from_request_parts(parts, s).await?;
        let Path(AccountParam { account }) = Path::from_request_parts(parts, s)
            .await
            .map_err(|_| TradierError::not_found())?;
        if s.lock().account_numbers().contains(&account) {
            Ok(Self(account))
        } else {
            Err(TradierError::unauthorized_account(&account))
        }
    }
}

#[derive(Deserialize)]
struct OrderParam {
    id: String,
}

/// `…/orders/{id}` of an owned account: the id as the path has it (Tradier
/// answers an unknown one like a foreign one, as the handlers do).
#[derive(Debug, Clone)]
pub struct OrderPath {
    pub account: String,
    pub id: String,
}

impl FromRequestParts<Shared> for OrderPath {
    type Rejection = TradierError;

    async fn from_request_parts(parts: &mut Parts, s: &Shared) -> Result<Self, TradierError> {
        let TradierAccount(account) = TradierAccount::from_request_parts(parts, s).await?;
        let Path(OrderParam { id }) = Path::from_request_parts(parts, s)
            .await
            .map_err(|_| TradierError::unauthorized_account(&account))?;
        Ok(Self { account, id })
    }
}
