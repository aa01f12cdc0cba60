//! Schwab's JSON (reference §2, §6), as typed structs: camelCase, no
//! envelope, numbers as JSON doubles (`3.0`, `190.31`), ids as integers,
//! `accountNumber` a string in account documents and an integer inside
//! orders, timestamps `2026-01-05T15:00:01+0000` (offset without colon).

use std::fmt;

use serde::{Serialize, Serializer};

use mbt::Timestamp;

/// Numbers go out as Schwab's doubles (`3.0`: every digit, at least one
/// after the point); a number in a request is a JSON number or a numeric
/// string (schwab-py and Schwabdev send prices as strings, §2.2, §8.9).
pub use crate::json::{Double, Lenient};

/// `2026-01-05T15:00:01+0000`: REST timestamps (§6).
pub fn time(t: Timestamp) -> String {
    t.to_datetime().format("%Y-%m-%dT%H:%M:%S%z").to_string()
}

/// `2026-01-05 10:00:01.042` in New York: the streamer's `DateTimeString`
/// (§2.9; its zone is UNVERIFIED, the captures read as Eastern time), on the
/// exchange's own clock, daylight time included.
pub fn stream_time(t: Timestamp) -> String {
    mbt::engine::new_york(t)
        .format("%Y-%m-%d %H:%M:%S%.3f")
        .to_string()
}

/// An order id, an integer on the wire (§6): the model's ids are digits.
pub fn order_id(vendor_id: &str) -> u64 {
    vendor_id.parse().unwrap_or_default()
}

// ---------------------------------------------------------------- errors

/// The Trader API's error body (`ServiceError`, §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceError {
    pub message: String,
    pub errors: Vec<String>,
}

/// The token endpoint's error body (§1.2: OAuth-style, not a ServiceError).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OAuthError {
    pub error: &'static str,
    pub error_description: String,
}

// ---------------------------------------------------------------- oauth

/// `POST /v1/oauth/token`'s answer (§1.2): bare, not wrapped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenGrant {
    pub expires_in: u64,
    pub token_type: &'static str,
    pub scope: &'static str,
    pub refresh_token: String,
    pub access_token: String,
    pub id_token: String,
}

// ---------------------------------------------------------------- accounts

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountNumberHash {
    pub account_number: String,
    pub hash_value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountDoc {
    pub securities_account: SecuritiesAccount,
    /// Real, though absent from the spec (§2.1).
    pub aggregated_balance: AggregatedBalance,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregatedBalance {
    pub current_liquidation_value: Double,
    pub liquidation_value: Double,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecuritiesAccount {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub account_number: String,
    pub round_trips: u32,
    pub is_day_trader: bool,
    pub is_closing_only_restricted: bool,
    pub pfcb_flag: bool,
    /// Only with `fields=positions` (§2.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub positions: Option<Vec<Position>>,
    pub initial_balances: Balances,
    pub current_balances: Balances,
    pub projected_balances: Balances,
}

/// One balance block: MARGIN and CASH accounts carry different fields
/// (§2.1), so each block is the list of its own fields, in Schwab's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Balances(pub Vec<(&'static str, Balance)>);

/// A balance field: an amount, or `isInCall`, a boolean on the wire
/// although the spec types it as a number (§2.1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Balance {
    Amount(Double),
    Flag(bool),
}

impl Serialize for Balances {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            match v {
                Balance::Amount(d) => m.serialize_entry(k, d)?,
                Balance::Flag(b) => m.serialize_entry(k, b)?,
            }
        }
        m.end()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Position {
    pub short_quantity: Double,
    pub average_price: Double,
    pub current_day_profit_loss: Double,
    pub current_day_profit_loss_percentage: Double,
    pub long_quantity: Double,
    pub settled_long_quantity: Double,
    pub settled_short_quantity: Double,
    pub instrument: AccountInstrument,
    pub market_value: Double,
    pub maintenance_requirement: Double,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_long_price: Option<Double>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_short_price: Option<Double>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_lot_average_long_price: Option<Double>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_lot_average_short_price: Option<Double>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long_open_profit_loss: Option<Double>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_open_profit_loss: Option<Double>,
    pub previous_session_long_quantity: Double,
    pub current_day_cost: Double,
}

/// A position's (or an order leg's) instrument (§2.1, §7).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountInstrument {
    pub asset_type: &'static str,
    pub symbol: String,
    pub instrument_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_change: Option<Double>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub put_call: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub underlying_symbol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub option_multiplier: Option<u32>,
}

// ---------------------------------------------------------------- orders

/// An order as `GET …/orders/{id}` answers it (§2.4).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_type: Option<&'static str>,
    pub complex_order_strategy_type: String,
    pub quantity: Double,
    pub filled_quantity: Double,
    pub remaining_quantity: Double,
    pub requested_destination: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Double>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<Double>,
    pub order_leg_collection: Vec<OrderLeg>,
    pub order_strategy_type: &'static str,
    pub order_id: u64,
    pub cancelable: bool,
    pub editable: bool,
    pub status: String,
    pub entered_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_time: Option<String>,
    /// An integer inside orders (§6, §8.5).
    pub account_number: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_activity_collection: Vec<OrderActivity>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replacing_order_collection: Vec<Order>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub child_order_strategies: Vec<Order>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLeg {
    pub order_leg_type: &'static str,
    pub leg_id: u32,
    pub instrument: AccountInstrument,
    pub instruction: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position_effect: Option<&'static str>,
    pub quantity: Double,
}

/// One execution (§2.4, §3): every leg it filled.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderActivity {
    pub activity_type: &'static str,
    pub activity_id: u64,
    pub execution_type: &'static str,
    pub quantity: Double,
    pub order_remaining_quantity: Double,
    pub execution_legs: Vec<ExecutionLeg>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionLeg {
    pub leg_id: u32,
    pub quantity: Double,
    pub mismarked_quantity: Double,
    pub price: Double,
    pub time: String,
    pub instrument_id: u64,
}

// ---------------------------------------------------------------- preview

/// `POST …/previewOrder`'s answer (§2.3).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewOrder {
    pub order_id: u64,
    pub order_strategy: PreviewStrategy,
    pub order_validation_result: ValidationResult,
    pub commission_and_fee: CommissionAndFee,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewStrategy {
    pub account_number: String,
    pub advanced_order_type: &'static str,
    pub order_balance: OrderBalance,
    pub order_strategy_type: &'static str,
    pub order_version: u32,
    pub session: &'static str,
    /// What the order would be: `ACCEPTED`, or `REJECTED` with the reason
    /// in `orderValidationResult.rejects` (§8.7).
    pub status: &'static str,
    pub all_or_none: bool,
    pub discretionary: bool,
    pub duration: &'static str,
    pub filled_quantity: Double,
    pub order_type: &'static str,
    pub order_value: Double,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Double>,
    pub quantity: Double,
    pub remaining_quantity: Double,
    pub sell_non_marginable_first: bool,
    pub settlement_instruction: &'static str,
    pub strategy: String,
    pub amount_indicator: &'static str,
    pub order_legs: Vec<PreviewLeg>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderBalance {
    pub order_value: Double,
    pub projected_available_fund: Double,
    pub projected_buying_power: Double,
    pub projected_commission: Double,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewLeg {
    pub ask_price: Double,
    pub bid_price: Double,
    pub last_price: Double,
    pub mark_price: Double,
    pub projected_commission: Double,
    pub quantity: Double,
    pub final_symbol: String,
    pub leg_id: u32,
    pub asset_type: &'static str,
    pub instruction: &'static str,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ValidationResult {
    pub alerts: Vec<Validation>,
    pub accepts: Vec<Validation>,
    pub rejects: Vec<Validation>,
    pub reviews: Vec<Validation>,
    pub warns: Vec<Validation>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Validation {
    pub validation_rule_name: String,
    pub message: String,
    pub activity_message: String,
    pub original_severity: &'static str,
    pub override_name: &'static str,
    pub override_severity: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommissionAndFee {
    pub commission: Commission,
    pub fee: Fee,
    pub true_commission: Commission,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Commission {
    pub commission_legs: Vec<CommissionLeg>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommissionLeg {
    pub commission_values: Vec<FeeValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fee {
    pub fee_legs: Vec<FeeLeg>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeeLeg {
    pub fee_values: Vec<FeeValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeeValue {
    pub value: Double,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

// ---------------------------------------------------------------- preferences

/// `GET /userPreference`: an object, though the spec says array (§2.8, §8.4).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPreference {
    pub accounts: Vec<PreferenceAccount>,
    pub streamer_info: Vec<StreamerInfo>,
    pub offers: Vec<Offer>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreferenceAccount {
    pub account_number: String,
    pub primary_account: bool,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub nick_name: String,
    pub display_acct_id: String,
    pub auto_position_effect: bool,
    pub account_color: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamerInfo {
    pub streamer_socket_url: String,
    pub schwab_client_customer_id: String,
    pub schwab_client_correl_id: String,
    pub schwab_client_channel: &'static str,
    pub schwab_client_function_id: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
    pub level2_permissions: bool,
    pub mkt_data_permission: &'static str,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.message, self.errors.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn doubles_keep_every_digit_and_a_point() {
        let text = |d| serde_json::to_string(&Double(d)).unwrap();
        assert_eq!(text(dec!(3)), "3.0");
        assert_eq!(text(dec!(190.3100)), "190.31");
        assert_eq!(text(dec!(-0.000001)), "-0.000001");
    }

    #[test]
    fn request_numbers_are_numbers_or_numeric_strings() {
        let read = |s: &str| serde_json::from_str::<Lenient>(s).map(|f| f.0);
        assert_eq!(read("\"10.00\"").unwrap(), dec!(10.00));
        assert_eq!(read("1.05").unwrap(), dec!(1.05));
        assert_eq!(read("2").unwrap(), dec!(2));
        assert_eq!(read("1e2").unwrap(), dec!(100));
        for bad in ["\"ten\"", "true", "null", "\"\"", "1e999999", "\"1_000\""] {
            assert!(read(bad).is_err(), "{bad}");
        }
        assert!(read("123456789012345678901234567890123456789").is_err());
    }

    #[test]
    fn timestamps_have_no_colon_in_the_offset() {
        let t = Timestamp::from_secs(1_767_625_201);
        assert_eq!(time(t), "2026-01-05T15:00:01+0000");
        assert_eq!(stream_time(t), "2026-01-05 10:00:01.000");
        // 2026-07-06 14:00:01 UTC is 10:00:01 in New York's daylight time.
        let summer = Timestamp::from_secs(1_783_346_401);
        assert_eq!(stream_time(summer), "2026-07-06 10:00:01.000");
    }
}
