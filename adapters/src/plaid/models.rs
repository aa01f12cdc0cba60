//! Plaid's JSON, as it arrives and as it is sent (reference §2-§4): every
//! amount a JSON number read from its own digits into a decimal (never
//! through a float; a quoted number is refused, as plaid-python refuses
//! it), the keys Plaid requires required here too, unknown keys ignored
//! (Plaid adds fields). Nothing here interprets; `parse.rs` does.

use serde::{Deserialize, Serialize};

pub use crate::json::BareNumber;

// --- requests --------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct ExchangeRequest<'a> {
    pub public_token: &'a str,
}

#[derive(Debug, Serialize)]
pub struct ItemRequest<'a> {
    pub access_token: &'a str,
}

#[derive(Debug, Serialize)]
pub struct AccountFilter<'a> {
    pub account_ids: [&'a str; 1],
}

/// `/accounts/get` and `/investments/holdings/get` for one account.
#[derive(Debug, Serialize)]
pub struct AccountRequest<'a> {
    pub access_token: &'a str,
    pub options: AccountFilter<'a>,
}

#[derive(Debug, Serialize)]
pub struct TransactionsRequest<'a> {
    pub access_token: &'a str,
    pub start_date: &'a str,
    pub end_date: &'a str,
    pub options: TransactionsOptions<'a>,
}

#[derive(Debug, Serialize)]
pub struct TransactionsOptions<'a> {
    pub account_ids: [&'a str; 1],
    pub count: usize,
    pub offset: usize,
}

// --- answers ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct ExchangeResponse {
    pub access_token: String,
    pub item_id: String,
}

/// Plaid's error object (§4.1).
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorBody {
    pub error_type: String,
    pub error_code: String,
    pub error_message: String,
    #[serde(default)]
    pub request_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Balances {
    pub available: Option<BareNumber>,
    pub current: Option<BareNumber>,
}

#[derive(Debug, Deserialize)]
pub struct Account {
    pub account_id: String,
    pub balances: Balances,
}

#[derive(Debug, Deserialize)]
pub struct AccountsResponse {
    pub accounts: Vec<Account>,
}

#[derive(Debug, Deserialize)]
pub struct Holding {
    pub account_id: String,
    pub security_id: String,
    #[serde(default)]
    pub institution_price_as_of: Option<String>,
    #[serde(default)]
    pub institution_price_datetime: Option<String>,
    pub cost_basis: Option<BareNumber>,
    /// Shares-equivalent for options (contracts × multiplier).
    pub quantity: BareNumber,
    pub iso_currency_code: Option<String>,
    pub unofficial_currency_code: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct OptionContract {
    pub contract_type: String,
    pub expiration_date: String,
    pub strike_price: BareNumber,
    pub underlying_security_ticker: String,
}

#[derive(Debug, Deserialize)]
pub struct Security {
    pub security_id: String,
    pub ticker_symbol: Option<String>,
    pub is_cash_equivalent: Option<bool>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub option_contract: Option<OptionContract>,
}

#[derive(Debug, Deserialize)]
pub struct HoldingsResponse {
    pub accounts: Vec<Account>,
    pub holdings: Vec<Holding>,
    pub securities: Vec<Security>,
}

#[derive(Debug, Deserialize)]
pub struct ProductStatus {
    pub last_successful_update: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ItemStatus {
    pub investments: Option<ProductStatus>,
}

/// An Item; `error` is how `/item/get` reports an unhealthy one inside a 200.
#[derive(Debug, Deserialize)]
pub struct Item {
    pub error: Option<ErrorBody>,
}

#[derive(Debug, Deserialize)]
pub struct ItemGetResponse {
    pub item: Item,
    pub status: Option<ItemStatus>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InvestmentTransaction {
    pub investment_transaction_id: String,
    pub account_id: String,
    pub security_id: Option<String>,
    pub date: String,
    /// Positive for a buy, negative for a sell; shares-equivalent for options.
    pub quantity: BareNumber,
    /// Positive when cash leaves the account (§3.4).
    pub amount: BareNumber,
    pub price: BareNumber,
    pub fees: Option<BareNumber>,
    #[serde(rename = "type")]
    pub kind: String,
    pub subtype: String,
}

#[derive(Debug, Deserialize)]
pub struct TransactionsResponse {
    pub securities: Vec<Security>,
    pub investment_transactions: Vec<InvestmentTransaction>,
    pub total_investment_transactions: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn numbers_are_json_numbers_read_exactly() {
        let n: Vec<BareNumber> =
            serde_json::from_str("[1, 0.01, 24580.0605, -8.72, 1e-5, 2.5E3]").unwrap();
        let shown: Vec<String> = n.iter().map(|n| n.0.normalize().to_string()).collect();
        assert_eq!(
            shown,
            ["1", "0.01", "24580.0605", "-8.72", "0.00001", "2500"]
        );
        assert!(
            serde_json::from_str::<BareNumber>("\"1.5\"").is_err(),
            "a quoted number is refused"
        );
        assert!(serde_json::from_str::<BareNumber>("null").is_err());
        let long: BareNumber = serde_json::from_str("47.74104242992852123456789012345").unwrap();
        assert!(long.0 > Decimal::from(47));
    }
}
