//! tastytrade's JSON, exactly as it arrives (reference §1.4, §2, §6):
//! kebab-case keys, `data` / `context` envelopes with lists in
//! `data.items`, money as strings (sometimes numbers) beside `…-effect`
//! words, integer ids (a numeric string is taken too). Nothing here
//! interprets; `parse.rs` turns these into the contract.

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// A decimal from a JSON string or number, read from its own text so no
/// digit goes through a float (§6: clients must accept both forms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Num(pub Decimal);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        let text = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(text)
            .trim();
        let parsed = if text.contains(['e', 'E']) {
            Decimal::from_scientific(text).ok()
        } else {
            Decimal::from_str_exact(text).ok()
        };
        parsed
            .map(Num)
            .ok_or_else(|| D::Error::custom(format!("not a decimal: {text:.40}")))
    }
}

/// An id: a JSON integer, or a numeric string. Kept as text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Id(pub String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        let text = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(text);
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(D::Error::custom(format!("not an id: {text:.40}")));
        }
        Ok(Id(text.to_string()))
    }
}

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
    pub quantity: Num,
    pub fill_price: Num,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Leg {
    pub action: String,
    #[serde(default)]
    pub quantity: Option<Num>,
    #[serde(default)]
    pub fills: Vec<Fill>,
}

/// An order (§2.5), from REST and from the streamer alike.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Order {
    pub id: Id,
    pub account_number: String,
    pub time_in_force: String,
    pub order_type: String,
    #[serde(default)]
    pub size: Option<Num>,
    pub status: String,
    #[serde(default)]
    pub price: Option<Num>,
    #[serde(default)]
    pub price_effect: Option<String>,
    #[serde(default)]
    pub stop_trigger: Option<Num>,
    #[serde(default)]
    pub legs: Vec<Leg>,
    #[serde(default)]
    pub external_identifier: Option<String>,
    #[serde(default)]
    pub reject_reason: Option<String>,
    #[serde(default)]
    pub replacing_order_id: Option<Id>,
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
    pub quantity: Num,
    pub quantity_direction: String,
    pub average_open_price: Num,
}

/// The balance fields the contract's account is made of (§2.10).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Balance {
    pub account_number: String,
    pub cash_balance: Num,
    pub equity_buying_power: Num,
    pub net_liquidating_value: Num,
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
