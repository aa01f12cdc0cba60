//! Every body the tastytrade face sends, as typed structs (reference §1.4,
//! §2, §5, §6): kebab-case keys, the `data` / `context` envelope, lists in
//! `data.items`, money as strings beside a `…-effect` word instead of a
//! sign, counts as integers. Fields are declared in the order the vendor's
//! captured bodies show them.

use serde::Serialize;
use serde_json::Value;

use super::num::{Amount, Number};

/// The success envelope: `{"data": …, "context": "<request path>"}`.
#[derive(Debug, Serialize)]
pub struct Data<T> {
    pub data: T,
    pub context: String,
}

/// A list inside `data`.
#[derive(Debug, Serialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// A paginated list: the envelope plus a top-level `pagination` (§1.4, §2.6).
#[derive(Debug, Serialize)]
pub struct Paged<T> {
    pub data: Items<T>,
    pub context: String,
    pub pagination: Pagination,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Pagination {
    pub per_page: usize,
    pub page_offset: usize,
    pub item_offset: usize,
    pub total_items: usize,
    pub total_pages: usize,
    pub current_item_count: usize,
    pub previous_link: Option<String>,
    pub next_link: Option<String>,
    pub paging_link_template: Option<String>,
}

/// The direction of an amount: tastytrade never signs money (§6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    Debit,
    Credit,
    None,
}

/// An account as `/customers/me/accounts` shows it (§2.1).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Account {
    pub account_number: String,
    pub external_id: String,
    pub opened_at: String,
    pub nickname: &'static str,
    pub account_type_name: &'static str,
    pub day_trader_status: bool,
    pub is_closed: bool,
    pub is_firm_error: bool,
    pub is_firm_proprietary: bool,
    pub is_futures_approved: bool,
    pub is_test_drive: bool,
    pub margin_or_cash: &'static str,
    pub is_foreign: bool,
    pub funding_date: String,
    pub investment_objective: &'static str,
    pub suitable_options_level: &'static str,
    pub created_at: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct AccountItem {
    pub account: Account,
    pub authority_level: &'static str,
}

/// One execution of a leg (§2.5).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Fill {
    pub fill_id: String,
    pub quantity: Number,
    pub fill_price: Amount,
    pub filled_at: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Leg {
    pub instrument_type: &'static str,
    pub symbol: String,
    pub quantity: Number,
    pub remaining_quantity: Number,
    pub action: &'static str,
    pub fills: Vec<Fill>,
}

/// An order (§2.5). A dry run's order has no `id` (§2.3).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Order {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub account_number: String,
    pub time_in_force: &'static str,
    pub order_type: &'static str,
    pub size: Number,
    pub underlying_symbol: String,
    pub underlying_instrument_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_effect: Option<Effect>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_trigger: Option<Amount>,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contingent_status: Option<&'static str>,
    pub cancellable: bool,
    pub editable: bool,
    pub edited: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_at: Option<String>,
    /// Epoch milliseconds, unlike every other time (§6).
    pub updated_at: i64,
    pub legs: Vec<Leg>,
    pub leg_count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_identifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces_order_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacing_order_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complex_order_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complex_order_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminal_at: Option<String>,
}

/// What an order would do to buying power (§2.2; every field is required
/// by the Python SDK).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BuyingPowerEffect {
    pub change_in_margin_requirement: Amount,
    pub change_in_margin_requirement_effect: Effect,
    pub change_in_buying_power: Amount,
    pub change_in_buying_power_effect: Effect,
    pub current_buying_power: Amount,
    pub current_buying_power_effect: Effect,
    pub new_buying_power: Amount,
    pub new_buying_power_effect: Effect,
    pub isolated_order_margin_requirement: Amount,
    pub isolated_order_margin_requirement_effect: Effect,
    pub is_spread: bool,
    pub impact: Amount,
    pub effect: Effect,
}

/// The fees an order would pay (§2.2; the five totals, each with its effect).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct FeeCalculation {
    pub regulatory_fees: Amount,
    pub regulatory_fees_effect: Effect,
    pub clearing_fees: Amount,
    pub clearing_fees_effect: Effect,
    pub commission: Amount,
    pub commission_effect: Effect,
    pub proprietary_index_option_fees: Amount,
    pub proprietary_index_option_fees_effect: Effect,
    pub total_fees: Amount,
    pub total_fees_effect: Effect,
    pub per_quantity: bool,
}

/// A preflight note in a placed order's answer (`warnings[]`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Note {
    pub code: &'static str,
    pub message: &'static str,
}

/// The answer to a submit or a dry run (§2.2, §2.3).
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Placed {
    pub buying_power_effect: BuyingPowerEffect,
    pub fee_calculation: FeeCalculation,
    pub order: Order,
    pub warnings: Vec<Note>,
}

/// A complex order (§2.4): OTO, OCO or OTOCO.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ComplexOrder {
    pub id: u64,
    pub account_number: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger_order: Option<Order>,
    pub orders: Vec<Order>,
    pub related_orders: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminal_at: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PlacedComplex {
    pub buying_power_effect: BuyingPowerEffect,
    pub fee_calculation: FeeCalculation,
    pub complex_order: ComplexOrder,
    pub warnings: Vec<Note>,
}

/// A position (§2.9): the quantity is never negative, its direction is a word.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Position {
    pub account_number: String,
    pub symbol: String,
    pub instrument_type: &'static str,
    pub underlying_symbol: String,
    pub quantity: Number,
    pub quantity_direction: &'static str,
    pub close_price: Amount,
    pub average_open_price: Amount,
    pub average_yearly_market_close_price: Amount,
    pub average_daily_market_close_price: Amount,
    pub multiplier: Number,
    pub cost_effect: Effect,
    pub is_suppressed: bool,
    pub is_frozen: bool,
    pub restricted_quantity: Number,
    pub realized_day_gain: Amount,
    pub realized_day_gain_effect: Effect,
    pub realized_day_gain_date: String,
    pub realized_today: Amount,
    pub realized_today_effect: Effect,
    pub realized_today_date: String,
    pub created_at: String,
    pub updated_at: String,
    pub streamer_symbol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// A signed balance: the balance fields without an `…-effect` sibling
/// carry their own sign (a margin loan makes `cash-balance` negative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Signed(pub rust_decimal::Decimal);

impl Serialize for Signed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = Amount(self.0.abs()).text();
        if self.0.is_sign_negative() && !self.0.is_zero() {
            s.serialize_str(&format!("-{text}"))
        } else {
            s.serialize_str(&text)
        }
    }
}

/// The account balance (§2.10): every key the reference lists, so both
/// SDKs (the Python one requires 44 of them) read it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Balance {
    pub account_number: String,
    pub currency: &'static str,
    pub cash_balance: Signed,
    pub long_equity_value: Signed,
    pub short_equity_value: Signed,
    pub long_derivative_value: Signed,
    pub short_derivative_value: Signed,
    pub long_futures_value: Signed,
    pub short_futures_value: Signed,
    pub long_futures_derivative_value: Signed,
    pub short_futures_derivative_value: Signed,
    pub long_margineable_value: Signed,
    pub short_margineable_value: Signed,
    pub margin_equity: Signed,
    pub equity_buying_power: Signed,
    pub derivative_buying_power: Signed,
    pub day_trading_buying_power: Signed,
    pub futures_margin_requirement: Signed,
    pub available_trading_funds: Signed,
    pub maintenance_requirement: Signed,
    pub maintenance_call_value: Signed,
    pub reg_t_call_value: Signed,
    pub day_trading_call_value: Signed,
    pub day_equity_call_value: Signed,
    pub net_liquidating_value: Signed,
    pub cash_available_to_withdraw: Signed,
    pub day_trade_excess: Signed,
    pub pending_cash: Signed,
    pub long_cryptocurrency_value: Signed,
    pub short_cryptocurrency_value: Signed,
    pub cryptocurrency_margin_requirement: Signed,
    pub unsettled_cryptocurrency_fiat_amount: Signed,
    pub closed_loop_available_balance: Signed,
    pub equity_offering_margin_requirement: Signed,
    pub long_bond_value: Signed,
    pub bond_margin_requirement: Signed,
    pub used_derivative_buying_power: Signed,
    pub reg_t_margin_requirement: Signed,
    pub futures_overnight_margin_requirement: Signed,
    pub futures_intraday_margin_requirement: Signed,
    pub maintenance_excess: Signed,
    pub pending_margin_interest: Signed,
    pub effective_cryptocurrency_buying_power: Signed,
    pub cash_settle_balance: Signed,
    pub margin_settle_balance: Signed,
    pub total_settle_balance: Signed,
    pub sma_equity_option_buying_power: Signed,
    pub special_memorandum_account_value: Signed,
    pub special_memorandum_account_apex_adjustment: Signed,
    pub long_fixed_income_security_value: Signed,
    pub fixed_income_security_margin_requirement: Signed,
    pub total_pending_liquidity_pool_rebate: Signed,
    pub buying_power_adjustment: Signed,
    pub pending_cash_effect: Effect,
    pub unsettled_cryptocurrency_fiat_effect: Effect,
    pub buying_power_adjustment_effect: Effect,
    pub snapshot_date: String,
    pub updated_at: String,
}

/// `POST /oauth/token`'s answer: bare, not in `data` (§1.2, §8.1).
#[derive(Debug, Serialize)]
pub struct Grant {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
}

/// What `POST /sessions/validate` answers about the token's user.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct User {
    pub email: String,
    pub username: String,
    pub external_id: String,
    pub is_confirmed: bool,
}

/// An acknowledgement on the account streamer (§2.11).
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct StreamAck {
    pub status: &'static str,
    pub action: String,
    pub web_socket_session_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    pub request_id: Value,
}

/// A notification on the account streamer: a full object, never a diff.
#[derive(Debug, Serialize)]
pub struct StreamNotice<T> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub data: T,
    pub timestamp: i64,
}
