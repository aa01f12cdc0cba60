//! The normalized shapes of the adapter contract (DESIGN.md, normative): the
//! same JSON in Rust and over the process bridge. The vocabulary (instrument,
//! side, position effect, order type, time in force, status) is MBT's own, so
//! every tier speaks the paper engine's words.
//!
//! Amounts and quantities are decimal strings on the wire ("189.50"), never
//! JSON numbers: `rust_decimal` with `serde-with-str` gives exactly that.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use mbt::{
    Capabilities, Instrument, OrderStatus, OrderType, PositionEffect, Side, Tier, TimeInForce,
};

/// One leg of a multi-leg order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Leg {
    pub instrument: Instrument,
    pub side: Side,
    pub position_effect: Option<PositionEffect>,
    pub ratio_quantity: Decimal,
}

/// What a trader's intent asks the broker to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// Unique per intent: resubmitting the same intent must never make a second order.
    /// Any 1 to 128 characters (Alpaca's `client_order_id` is the narrowest
    /// field that carries it verbatim); an adapter whose vendor label
    /// cannot hold it as it is (Tradier's `tag`) encodes it, and still
    /// answers with it and reconciles by it (`unusual_client_ids_reconcile`).
    pub client_order_id: String,
    pub instrument: Instrument,
    pub side: Side,
    /// Required for options, null for equities.
    pub position_effect: Option<PositionEffect>,
    pub quantity: Decimal,
    pub order_type: OrderType,
    pub limit_price: Option<Decimal>,
    pub stop_price: Option<Decimal>,
    pub time_in_force: TimeInForce,
    pub legs: Option<Vec<Leg>>,
    /// Exits placed with this order (a bracket), for adapters whose
    /// capabilities say `brackets`; absent on the wire when there are none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exits: Option<Exits>,
}

/// Exits placed with an entry: the broker holds them until the entry
/// fills, then works them for what it filled, and the first to fill (or be
/// canceled) cancels the other. One of the two alone is a single exit (OTO).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exits {
    /// The take-profit: a limit order at this price.
    pub take_profit: Option<Decimal>,
    pub stop_loss: Option<StopLoss>,
}

/// The stop-loss: a stop order, or a stop-limit when it has a limit price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopLoss {
    pub stop_price: Decimal,
    pub limit_price: Option<Decimal>,
}

impl Order {
    /// A day market order for an equity.
    pub fn market(client_order_id: &str, symbol: &str, side: Side, quantity: Decimal) -> Self {
        Self {
            client_order_id: client_order_id.to_string(),
            instrument: Instrument::equity(symbol),
            side,
            position_effect: None,
            quantity,
            order_type: OrderType::Market,
            limit_price: None,
            stop_price: None,
            time_in_force: TimeInForce::Day,
            legs: None,
            exits: None,
        }
    }

    /// A day limit order for an equity.
    pub fn limit(
        client_order_id: &str,
        symbol: &str,
        side: Side,
        quantity: Decimal,
        price: Decimal,
    ) -> Self {
        Self {
            order_type: OrderType::Limit,
            limit_price: Some(price),
            ..Self::market(client_order_id, symbol, side, quantity)
        }
    }

    pub fn is_multi_leg(&self) -> bool {
        self.legs.as_ref().is_some_and(|l| !l.is_empty())
    }

    /// For an adapter that places no brackets: an order with exits is
    /// refused, never sent as a bare entry with its protection dropped.
    pub fn without_exits(&self) -> crate::Result<()> {
        match self.exits {
            Some(_) => Err(crate::AdapterError::invalid_request(
                "this adapter places no exits (brackets); the entry is not sent without them",
            )),
            None => Ok(()),
        }
    }
}

/// What a replace changes on a working order; absent fields stay as they are.
/// The broker answers with the replacement (a new order, as Alpaca and MBT
/// do, or the same id, as Tradier's modify does).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replace {
    #[serde(default)]
    pub quantity: Option<Decimal>,
    #[serde(default)]
    pub limit_price: Option<Decimal>,
    #[serde(default)]
    pub stop_price: Option<Decimal>,
    #[serde(default)]
    pub time_in_force: Option<TimeInForce>,
    /// The replacement's own client order id, where the broker takes one.
    #[serde(default)]
    pub client_order_id: Option<String>,
}

/// An order as the broker reports it, normalized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderResult {
    pub broker_order_id: String,
    pub client_order_id: String,
    pub status: OrderStatus,
    /// Cumulative.
    pub filled_quantity: Decimal,
    pub remaining_quantity: Decimal,
    /// Quantity-weighted over every fill; null before the first fill.
    pub average_fill_price: Option<Decimal>,
    pub reject_reason: Option<String>,
    /// The vendor's own status word, verbatim.
    pub broker_status: String,
}

/// What a cancel request achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelStatus {
    Canceled,
    PendingCancel,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelResult {
    pub broker_order_id: String,
    pub status: CancelStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub account_id: String,
    pub instrument: Instrument,
    /// Signed: negative is short.
    pub quantity: Decimal,
    pub average_price: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The broker's own account number as a user sees it.
    pub account_id: String,
    pub cash: Decimal,
    pub buying_power: Decimal,
    pub equity: Decimal,
}

/// An account's holdings as a read-only source imports them, with the
/// freshness the source reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holdings {
    pub account_id: String,
    pub positions: Vec<Position>,
    /// When the institution last updated the data, as the source says
    /// (RFC 3339); None when it does not say.
    pub as_of: Option<String>,
}

/// What kind of account activity an imported transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    Buy,
    Sell,
    Dividend,
    Fee,
    Transfer,
    Other,
}

/// One transaction of an account's history, as a read-only source imports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transaction {
    /// The source's own id: imports are deduplicated by it.
    pub transaction_id: String,
    pub account_id: String,
    /// The trade or settlement date, `YYYY-MM-DD`.
    pub date: String,
    pub kind: TransactionKind,
    pub instrument: Option<Instrument>,
    /// Units traded (positive); zero for cash-only activity.
    pub quantity: Decimal,
    pub price: Option<Decimal>,
    /// Cash effect on the account: negative for money out.
    pub amount: Decimal,
    pub fees: Decimal,
}

/// What `describe` answers: who the adapter is and what it can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Description {
    pub name: String,
    /// The broker's slug (`alpaca`, `tradier`, `mbt`, …).
    pub broker: String,
    pub tier: Tier,
    pub capabilities: Capabilities,
    /// How long the adapter waits for one HTTP response (default 2000 over the bridge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeout_ms: Option<u64>,
    /// How many days a read-only source's history runs behind: a
    /// transaction appears in it only once that many days have passed since
    /// its date (SnapTrade's activities: one, §8.1; Plaid's: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub history_lag_days: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl OrderResult {
    /// The remaining quantity implied by an order's size and its cumulative fills.
    pub fn remaining(quantity: Decimal, filled: Decimal) -> Decimal {
        (quantity - filled).max(Decimal::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn order_json_is_the_contract_shape() {
        let order = Order::limit("intent-1", "AAPL", Side::Buy, dec!(10), dec!(189.50));
        let json = serde_json::to_value(&order).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "client_order_id": "intent-1",
                "instrument": {"kind": "equity", "symbol": "AAPL"},
                "side": "buy",
                "position_effect": null,
                "quantity": "10",
                "order_type": "limit",
                "limit_price": "189.50",
                "stop_price": null,
                "time_in_force": "day",
                "legs": null
            })
        );
        let back: Order = serde_json::from_value(json).unwrap();
        assert_eq!(back, order);
    }

    #[test]
    fn option_orders_and_results_round_trip() {
        let text = r#"{"client_order_id":"c","instrument":{"kind":"option","occ":"AAPL  251219C00200000"},
            "side":"sell","position_effect":"open","quantity":"1","order_type":"market",
            "limit_price":null,"stop_price":null,"time_in_force":"gtc","legs":null}"#;
        let order: Order = serde_json::from_str(text).unwrap();
        assert!(order.instrument.is_option());
        let result = OrderResult {
            broker_order_id: "b".into(),
            client_order_id: "c".into(),
            status: OrderStatus::PartiallyFilled,
            filled_quantity: dec!(3),
            remaining_quantity: dec!(7),
            average_fill_price: Some(dec!(1.25)),
            reject_reason: None,
            broker_status: "partially_filled".into(),
        };
        let json = serde_json::to_string(&result).unwrap();
        assert!(json.contains(r#""status":"partially_filled""#), "{json}");
        assert!(json.contains(r#""average_fill_price":"1.25""#), "{json}");
        assert_eq!(serde_json::from_str::<OrderResult>(&json).unwrap(), result);
    }

    #[test]
    fn unknown_fields_are_refused_and_tiers_are_letters() {
        let extra = r#"{"broker_order_id":"b","status":"canceled","surprise":1}"#;
        assert!(serde_json::from_str::<CancelResult>(extra).is_err());
        let tier: Tier = serde_json::from_str(r#""C""#).unwrap();
        assert_eq!(tier, Tier::C);
    }
}
