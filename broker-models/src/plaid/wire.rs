//! Every body the Plaid face sends, as typed structs, in the formats
//! plaid-python 46 enforces (reference §3, §8; /work/notes/plaid §3.2-3.3):
//! every required key present (`null` where the value is absent, never
//! omitted: `Security.figi`, `Item.error`, every balance key), numbers as
//! JSON numbers written from the decimal's own digits, dates `YYYY-MM-DD`
//! and datetimes `YYYY-MM-DDTHH:MM:SSZ`. Vocabulary (account subtypes,
//! security and transaction types) is lower case with spaces, as Plaid writes it.

use serde::Serialize;

use mbt::Timestamp;

pub use crate::json::Number;

/// `2026-01-05T15:00:00Z`: Plaid's datetime (plaid-python refuses a bare date here).
pub fn datetime(t: Timestamp) -> String {
    t.to_datetime().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `2026-01-05`: Plaid's date.
pub fn date(t: Timestamp) -> String {
    t.date().format("%Y-%m-%d").to_string()
}

/// The error object (§4.1): the body of every non-2xx answer, and
/// `item.error` / a webhook's `error` (without `request_id` there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    pub error_type: &'static str,
    pub error_code: &'static str,
    pub error_message: String,
    pub display_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub causes: Vec<()>,
    /// The HTTP status, filled only inside a webhook (§4.1).
    pub status: Option<u16>,
}

/// `Item` (§2.3, §3.5): the keys plaid-python requires are always written.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub item_id: String,
    pub webhook: Option<String>,
    pub error: Option<ErrorBody>,
    pub available_products: Vec<&'static str>,
    pub billed_products: Vec<String>,
    pub products: Vec<String>,
    pub consented_products: Vec<String>,
    pub consent_expiration_time: Option<String>,
    pub update_type: &'static str,
    pub institution_id: &'static str,
    pub institution_name: &'static str,
    pub auth_method: Option<&'static str>,
    /// `/item/get` only (`ItemWithConsentFields`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemGetResponse {
    pub item: Item,
    pub status: ItemStatus,
    pub request_id: String,
}

/// `status` of `/item/get`: the staleness indicator (§6).
#[derive(Debug, Clone, Serialize)]
pub struct ItemStatus {
    pub investments: ProductStatus,
    pub transactions: Option<ProductStatus>,
    pub last_webhook: Option<LastWebhook>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProductStatus {
    pub last_successful_update: Option<String>,
    pub last_failed_update: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LastWebhook {
    pub sent_at: String,
    pub code_sent: String,
}

/// `AccountBalance` (every key required, all nullable); investment
/// responses also require `margin_loan_amount` (§3.1), `/accounts/get` does not have it.
#[derive(Debug, Clone, Serialize)]
pub struct Balances {
    pub available: Option<Number>,
    pub current: Option<Number>,
    pub limit: Option<Number>,
    pub iso_currency_code: Option<&'static str>,
    pub unofficial_currency_code: Option<&'static str>,
    /// `Some(None)` writes `"margin_loan_amount": null`; `None` leaves the key out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin_loan_amount: Option<Option<Number>>,
}

/// `AccountBase` / `InvestmentAccount`.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub account_id: String,
    pub balances: Balances,
    pub mask: Option<&'static str>,
    pub name: &'static str,
    pub official_name: Option<&'static str>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub subtype: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccountsGetResponse {
    pub accounts: Vec<Account>,
    pub item: Item,
    pub request_id: String,
}

/// `Holding` (§3.2): `quantity` of an option is shares-equivalent
/// (contracts × 100); `cost_basis` is the position's total.
#[derive(Debug, Clone, Serialize)]
pub struct Holding {
    pub account_id: String,
    pub security_id: String,
    pub institution_price: Number,
    pub institution_price_as_of: Option<String>,
    pub institution_price_datetime: Option<String>,
    pub institution_value: Number,
    pub cost_basis: Option<Number>,
    pub quantity: Number,
    pub iso_currency_code: Option<&'static str>,
    pub unofficial_currency_code: Option<&'static str>,
    pub vested_quantity: Option<Number>,
    pub vested_value: Option<Number>,
}

/// `OptionContract`.
#[derive(Debug, Clone, Serialize)]
pub struct OptionContract {
    pub contract_type: &'static str,
    pub expiration_date: String,
    pub strike_price: Number,
    pub underlying_security_ticker: String,
}

/// `Security` (§3.3): 22 required keys, mostly null; `figi` is required by
/// plaid-python 46 although the spec snapshot lacks it (§0).
#[derive(Debug, Clone, Serialize)]
pub struct Security {
    pub security_id: String,
    pub isin: Option<String>,
    pub cusip: Option<String>,
    pub sedol: Option<String>,
    pub institution_security_id: Option<String>,
    pub institution_id: Option<String>,
    pub proxy_security_id: Option<String>,
    pub name: String,
    pub ticker_symbol: Option<String>,
    pub is_cash_equivalent: bool,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub subtype: &'static str,
    pub close_price: Option<Number>,
    pub close_price_as_of: Option<String>,
    pub update_datetime: Option<String>,
    pub iso_currency_code: Option<&'static str>,
    pub unofficial_currency_code: Option<&'static str>,
    pub market_identifier_code: Option<&'static str>,
    pub sector: Option<String>,
    pub industry: Option<String>,
    pub cfi_code: Option<String>,
    pub figi: Option<String>,
    pub option_contract: Option<OptionContract>,
    pub fixed_income: Option<()>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HoldingsGetResponse {
    pub accounts: Vec<Account>,
    pub holdings: Vec<Holding>,
    pub securities: Vec<Security>,
    pub item: Item,
    pub request_id: String,
}

/// `InvestmentTransaction` (§3.4): `amount` positive when cash leaves the
/// account, negative when it comes in; `quantity` positive for a buy and
/// negative for a sell (shares-equivalent for options).
#[derive(Debug, Clone, Serialize)]
pub struct InvestmentTransaction {
    pub investment_transaction_id: String,
    pub account_id: String,
    pub security_id: Option<String>,
    pub date: String,
    pub transaction_datetime: Option<String>,
    pub name: String,
    pub quantity: Number,
    pub amount: Number,
    pub price: Number,
    pub fees: Option<Number>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub subtype: &'static str,
    pub iso_currency_code: Option<&'static str>,
    pub unofficial_currency_code: Option<&'static str>,
    pub cancel_transaction_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TransactionsGetResponse {
    pub item: Item,
    pub accounts: Vec<Account>,
    pub securities: Vec<Security>,
    pub investment_transactions: Vec<InvestmentTransaction>,
    pub total_investment_transactions: usize,
    pub request_id: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicTokenCreateResponse {
    pub public_token: String,
    pub request_id: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExchangeResponse {
    pub access_token: String,
    pub item_id: String,
    pub request_id: String,
}

/// `{request_id}` alone (`/item/remove`, `/investments/refresh`).
#[derive(Debug, Clone, Serialize)]
pub struct Acknowledged {
    pub request_id: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResetLoginResponse {
    pub reset_login: bool,
    pub request_id: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FireWebhookResponse {
    pub webhook_fired: bool,
    pub request_id: String,
}

/// A webhook body (§6): the type's own counters ride in `counters`.
#[derive(Debug, Clone, Serialize)]
pub struct Webhook {
    pub webhook_type: &'static str,
    pub webhook_code: String,
    pub item_id: String,
    pub error: Option<ErrorBody>,
    #[serde(flatten)]
    pub counters: Counters,
    pub environment: &'static str,
}

/// The counters each webhook type carries.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Counters {
    None {},
    Holdings {
        new_holdings: usize,
        updated_holdings: usize,
    },
    Transactions {
        new_investments_transactions: usize,
        cancelled_investments_transactions: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn numbers_keep_their_digits_and_times_their_formats() {
        let n = serde_json::to_string(&Number(Decimal::new(2_458_006_050, 5))).unwrap();
        assert_eq!(n, "24580.0605");
        assert_eq!(
            serde_json::to_string(&Number(Decimal::new(10_000, 2))).unwrap(),
            "100"
        );
        let t = Timestamp::from_secs(1_767_625_200).plus_millis(250);
        assert_eq!(datetime(t), "2026-01-05T15:00:00Z");
        assert_eq!(date(t), "2026-01-05");
        let b = Balances {
            available: None,
            current: Some(Number(Decimal::ONE)),
            limit: None,
            iso_currency_code: Some("USD"),
            unofficial_currency_code: None,
            margin_loan_amount: Some(None),
        };
        let json = serde_json::to_value(&b).unwrap();
        assert!(json["margin_loan_amount"].is_null() && json.get("margin_loan_amount").is_some());
    }
}
