//! tastytrade's JSON, exactly as it arrives (reference §1.4, §2, §6):
//! kebab-case keys, `data` / `context` envelopes with lists in
//! `data.items`, money as strings (sometimes numbers) beside `…-effect`
//! words, integer ids (a numeric string is taken too). Nothing here
//! interprets; `parse.rs` turns these into the contract.

use serde::Deserialize;
use serde_json::value::RawValue;

pub use crate::json::{IntegerId, Number};

/// `{"data": …}`; the `context` is not needed.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    pub data: T,
}

#[derive(Debug, Deserialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Fill {
    pub quantity: Number,
    pub fill_price: Number,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Leg {
    pub action: String,
    #[serde(default)]
    pub quantity: Option<Number>,
    #[serde(default)]
    pub fills: Vec<Fill>,
}

/// An order (§2.5), from REST and from the streamer alike.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Order {
    pub id: IntegerId,
    pub account_number: String,
    pub time_in_force: String,
    pub order_type: String,
    #[serde(default)]
    pub size: Option<Number>,
    pub status: String,
    #[serde(default)]
    pub price: Option<Number>,
    #[serde(default)]
    pub price_effect: Option<String>,
    #[serde(default)]
    pub stop_trigger: Option<Number>,
    #[serde(default)]
    pub legs: Vec<Leg>,
    #[serde(default)]
    pub external_identifier: Option<String>,
    #[serde(default)]
    pub reject_reason: Option<String>,
    #[serde(default)]
    pub replacing_order_id: Option<IntegerId>,
}

/// A submit's answer (§2.2): the order inside `data.order`.
#[derive(Debug, Deserialize)]
pub struct Placed {
    pub order: Order,
}

/// A position (§2.9): the size is never negative; its direction is a word.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Position {
    pub symbol: String,
    pub instrument_type: String,
    pub quantity: Number,
    pub quantity_direction: String,
    pub average_open_price: Number,
}

/// The balance fields the contract's account is made of (§2.10).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Balance {
    pub account_number: String,
    pub cash_balance: Number,
    pub equity_buying_power: Number,
    pub net_liquidating_value: Number,
}

/// The REST error envelope (§1.4, §5); `code` is a word, or an integer on a 406.
#[derive(Debug, Deserialize)]
pub struct ErrorDoc {
    pub error: ErrorBody,
}

#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub code: Option<serde_json::Value>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
}

/// A nested error: `code`/`message`, or a validation's `domain`/`reason`.
#[derive(Debug, Deserialize)]
pub struct ErrorItem {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The OAuth endpoint's own error shape (§1.2).
#[derive(Debug, Deserialize)]
pub struct OAuthError {
    pub error_code: String,
    #[serde(default)]
    pub error_description: Option<String>,
}

/// A frame from the account streamer (§2.11): a notification has a `type`
/// and `data`; an acknowledgement a `status`, `action` and `request-id`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct StreamFrame {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub data: Option<Box<RawValue>>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub request_id: Option<serde_json::Value>,
}
