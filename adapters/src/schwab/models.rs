//! Schwab's JSON, as it arrives and as it is sent (reference §2): camelCase,
//! no envelope, numbers as JSON doubles (read from their digits), order
//! ids as integers. Only the fields the adapter reads are declared; the
//! rest is ignored. Nothing here interprets: `parse.rs` does.

use serde::{Deserialize, Serialize};

use crate::json::Number;

// ---------------------------------------------------------------- in

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountNumberHash {
    pub account_number: String,
    pub hash_value: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountDoc {
    pub securities_account: SecuritiesAccount,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecuritiesAccount {
    pub account_number: String,
    #[serde(default)]
    pub positions: Vec<Position>,
    pub current_balances: Balances,
}

/// The current balances the contract needs; MARGIN and CASH accounts name
/// them differently (§2.1), so each is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Balances {
    pub cash_balance: Option<Number>,
    pub total_cash: Option<Number>,
    pub buying_power: Option<Number>,
    pub cash_available_for_trading: Option<Number>,
    pub liquidation_value: Option<Number>,
    pub equity: Option<Number>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Position {
    pub long_quantity: Number,
    pub short_quantity: Number,
    pub average_price: Number,
    pub instrument: Instrument,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instrument {
    pub asset_type: String,
    pub symbol: String,
}

/// An order (§2.4).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub order_id: u64,
    pub status: String,
    pub order_type: Option<String>,
    pub duration: Option<String>,
    pub complex_order_strategy_type: Option<String>,
    pub quantity: Option<Number>,
    pub filled_quantity: Option<Number>,
    pub price: Option<Number>,
    pub stop_price: Option<Number>,
    /// `2026-01-05T15:00:01+0000` (§6).
    pub entered_time: Option<String>,
    #[serde(default)]
    pub order_leg_collection: Vec<OrderLeg>,
    #[serde(default)]
    pub order_activity_collection: Vec<Activity>,
    #[serde(default)]
    pub replacing_order_collection: Vec<Order>,
    pub status_description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLeg {
    pub leg_id: Option<u32>,
    pub instruction: String,
    pub quantity: Number,
    pub instrument: Instrument,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    pub activity_type: String,
    #[serde(default)]
    pub execution_legs: Vec<ExecutionLeg>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionLeg {
    pub leg_id: Option<u32>,
    pub quantity: Number,
    pub price: Number,
}

/// The Trader API's error body; the market-data API's list of objects is
/// read too, as text (§5: clients should accept either).
#[derive(Debug, Clone, Deserialize)]
pub struct ServiceError {
    pub message: Option<String>,
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ErrorItem {
    Text(String),
    Object {
        title: Option<String>,
        detail: Option<String>,
    },
}

impl ErrorItem {
    pub fn text(&self) -> String {
        match self {
            ErrorItem::Text(t) => t.clone(),
            ErrorItem::Object { title, detail } => [title.as_deref(), detail.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": "),
        }
    }
}

/// The token endpoint's refusal (§1.2). Its `error_description` is not
/// read: Schwab quotes the start of the refused token in it.
#[derive(Debug, Clone, Deserialize)]
pub struct OAuthError {
    pub error: String,
}

// ---------------------------------------------------------------- out

/// An order request (§2.2), as schwab-py's builders write one: prices as
/// strings, quantities as numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRequest {
    pub session: &'static str,
    pub duration: String,
    pub order_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complex_order_strategy_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<String>,
    pub order_strategy_type: &'static str,
    pub order_leg_collection: Vec<LegRequest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LegRequest {
    pub instruction: String,
    pub quantity: Number,
    pub instrument: Instrument,
}
