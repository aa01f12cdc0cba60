//! Alpaca's JSON, exactly as the Trading API v2 writes and reads it
//! (alpaca.md §2, §5, §2.12). Money and quantities stay decimal strings and
//! closed enums stay strings here: turning them into contract types, and
//! refusing what does not parse, is `parse.rs`'s job, so a surprising value
//! becomes a typed error instead of a failed deserialization of the whole body.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The Order object (§2.2). Only the fields the adapter reads; Alpaca adds
/// fields over time and unknown keys are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AlpacaOrder {
    pub id: String,
    pub client_order_id: String,
    pub status: String,
    #[serde(default)]
    pub symbol: Option<String>,
    #[serde(default)]
    pub asset_class: Option<String>,
    #[serde(default)]
    pub side: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub order_class: Option<String>,
    #[serde(default)]
    pub time_in_force: Option<String>,
    /// Null for notional orders.
    #[serde(default)]
    pub qty: Option<String>,
    #[serde(default)]
    pub notional: Option<String>,
    /// Cumulative; "0" before the first fill.
    pub filled_qty: String,
    /// Quantity-weighted over every fill; null before the first fill.
    #[serde(default)]
    pub filled_avg_price: Option<String>,
    #[serde(default)]
    pub limit_price: Option<String>,
    #[serde(default)]
    pub stop_price: Option<String>,
    #[serde(default)]
    pub failed_at: Option<String>,
    /// The id of the order that replaced this one (set once it is `replaced`, §2.6).
    #[serde(default)]
    pub replaced_by: Option<String>,
    /// The id of the order this one replaced.
    #[serde(default)]
    pub replaces: Option<String>,
    #[serde(default)]
    pub legs: Option<Vec<AlpacaOrder>>,
}

/// The Position object (§2.9): every number a string; shorts have a negative `qty`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AlpacaPosition {
    pub symbol: String,
    #[serde(default)]
    pub asset_class: Option<String>,
    pub qty: String,
    /// `long` or `short`.
    pub side: String,
    pub avg_entry_price: String,
}

/// The TradeAccount object (§2.10), the fields the contract needs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AlpacaAccount {
    pub account_number: String,
    pub cash: String,
    pub buying_power: String,
    pub equity: String,
    #[serde(default)]
    pub status: Option<String>,
}

/// An error body (§5.1): `{"code": 8 digits, "message": ...}`; the auth
/// errors carry only a message. `code` is kept as JSON because the adapter
/// must not fail on an error body whose code is a string or missing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AlpacaErrorBody {
    #[serde(default)]
    pub code: Option<Value>,
    #[serde(default)]
    pub message: Option<String>,
}

/// One leg of an `mleg` order request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegRequest {
    pub symbol: String,
    pub ratio_qty: String,
    pub side: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position_intent: Option<&'static str>,
}

/// `POST /v2/orders` body (§2.1). Numbers are sent as strings, the form
/// the OpenAPI types them in; absent fields are omitted, as alpaca-py does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    pub qty: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side: Option<&'static str>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub time_in_force: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<String>,
    pub client_order_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_class: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position_intent: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legs: Option<Vec<LegRequest>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub take_profit: Option<TakeProfit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_loss: Option<StopLoss>,
}

/// A bracket's or OTO's take-profit (§2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TakeProfit {
    pub limit_price: String,
}

/// A bracket's or OTO's stop-loss: a limit price makes it a stop-limit (§2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StopLoss {
    pub stop_price: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<String>,
}

/// `PATCH /v2/orders/{id}` body (§2.6): only what changes, numbers as strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReplaceRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qty: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_in_force: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_order_id: Option<String>,
}

/// A message on the trade_updates WebSocket: every one has a `stream` name
/// and an object `data` (§2.12a).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StreamMessage {
    pub stream: String,
    #[serde(default)]
    pub data: Value,
}

/// The `data` of a `trade_updates` message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TradeUpdate {
    pub event: String,
    pub order: AlpacaOrder,
    #[serde(default)]
    pub timestamp: Option<String>,
}
