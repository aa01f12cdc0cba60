//! The operations' request bodies (reference §2), typed; `client_id` and
//! `secret` are taken out before these are read. Unknown top-level fields
//! are refused as Plaid refuses them (UNKNOWN_FIELDS); `options` objects
//! are read leniently, since plaid-python only sends the keys a caller set
//! and Plaid keeps adding options.

use chrono::NaiveDate;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicTokenCreate {
    pub institution_id: String,
    pub initial_products: Vec<String>,
    #[serde(default)]
    pub options: Option<PublicTokenOptions>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PublicTokenOptions {
    #[serde(default)]
    pub webhook: Option<String>,
    #[serde(default)]
    pub override_username: Option<String>,
    #[serde(default)]
    pub override_password: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    pub public_token: String,
}

/// Operations that name only an Item.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemOnly {
    pub access_token: String,
}

/// `/accounts/get` and `/investments/holdings/get`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsOf {
    pub access_token: String,
    #[serde(default)]
    pub options: Option<AccountFilter>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AccountFilter {
    #[serde(default)]
    pub account_ids: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionsGet {
    pub access_token: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    #[serde(default)]
    pub options: Option<TransactionsOptions>,
}

#[derive(Debug, Default, Deserialize)]
pub struct TransactionsOptions {
    #[serde(default)]
    pub account_ids: Option<Vec<String>>,
    /// 1..=500, default 100 (§2.6); read wide so that a bad value is
    /// Plaid's INVALID_FIELD rather than a parse failure.
    #[serde(default)]
    pub count: Option<i64>,
    #[serde(default)]
    pub offset: Option<i64>,
    #[serde(default)]
    pub async_update: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FireWebhook {
    pub access_token: String,
    pub webhook_code: String,
    #[serde(default)]
    pub webhook_type: Option<String>,
}
