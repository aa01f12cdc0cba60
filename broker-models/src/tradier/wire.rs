//! Every body the Tradier face sends, as typed structs (reference §2, §5,
//! §6, §8). Tradier's JSON is a conversion of its XML, which explains its
//! quirks, reproduced here: a collection with one item is a bare object and
//! an empty one the string "null" ([`Listing`], [`OneOrMany`]); absent
//! numeric fields are omitted, never null; numbers are JSON numbers written
//! from the decimal's own digits ([`Number`]), never through a float.
//! Fields are declared in the order the vendor's examples show them.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use mbt::{Instrument, Timestamp};

pub use crate::ids::stable_int as stable_id;

pub use crate::json::Number;

/// `2018-06-01T12:02:29.682Z`: order, position and gain/loss dates (§6).
pub fn time(t: Timestamp) -> String {
    t.to_datetime().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `2025-12-09T18:03:51.029067177Z`: the stream heartbeat's nanoseconds (§2.9).
pub fn time_nanos(t: Timestamp) -> String {
    t.to_datetime().format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// The symbol Tradier uses: the ticker, or the OCC symbol without padding (§7).
pub fn symbol(i: &Instrument) -> String {
    match i {
        Instrument::Equity { symbol } => symbol.clone(),
        Instrument::Option { occ } => occ.compact(),
    }
}

/// One item as a bare object, several as an array (§8.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// None for no items: the caller decides how "none" is written.
    pub fn from_vec(mut items: Vec<T>) -> Option<Self> {
        match items.len() {
            0 => None,
            1 => items.pop().map(Self::One),
            _ => Some(Self::Many(items)),
        }
    }
}

/// What a collection's items are called inside it (`orders.order`, …).
pub trait Item {
    const KEY: &'static str;
}

/// A collection: the string "null" when empty (§8.2), else `{KEY: one | [many]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing<T>(pub Option<OneOrMany<T>>);

impl<T> Listing<T> {
    pub fn new(items: Vec<T>) -> Self {
        Self(OneOrMany::from_vec(items))
    }
}

impl<T: Item + Serialize> Serialize for Listing<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            None => s.serialize_str("null"),
            Some(items) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(T::KEY, items)?;
                m.end()
            }
        }
    }
}

// ---- orders (§2.1–§2.6) ----

/// `{"order":{"id":…,"status":"ok"[,"partner_id":…]}}`: submit, modify and cancel (§2.1.5, §8.5).
#[derive(Debug, Serialize)]
pub struct AckDoc {
    pub order: Ack,
}

#[derive(Debug, Serialize)]
pub struct Ack {
    pub id: u64,
    pub status: &'static str,
    /// In submit and modify answers; the measured cancel answer has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct OrderDoc {
    pub order: Order,
}

#[derive(Debug, Serialize)]
pub struct OrdersDoc {
    pub orders: Listing<Order>,
}

/// The order object (§2.2).
#[derive(Debug, Clone, Serialize)]
pub struct Order {
    pub id: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub symbol: String,
    pub side: &'static str,
    pub quantity: Number,
    pub status: String,
    pub duration: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<Number>,
    #[serde(flatten)]
    pub fills: Fills,
    pub create_date: String,
    pub transaction_date: String,
    pub class: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub option_symbol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_legs: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leg: Option<OneOrMany<Leg>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

impl Item for Order {
    const KEY: &'static str = "order";
}

/// Execution fields: `0`, never null, until something fills (§3.3).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Fills {
    pub avg_fill_price: Number,
    pub exec_quantity: Number,
    pub last_fill_price: Number,
    pub last_fill_quantity: Number,
    pub remaining_quantity: Number,
}

/// One leg of a multileg order, a child order of its own (§2.2 `leg`).
#[derive(Debug, Clone, Serialize)]
pub struct Leg {
    pub id: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub symbol: String,
    pub side: &'static str,
    pub quantity: Number,
    pub status: String,
    pub duration: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Number>,
    #[serde(flatten)]
    pub fills: Fills,
    pub create_date: String,
    pub transaction_date: String,
    pub class: &'static str,
    pub option_symbol: String,
}

// ---- account (§2.7, §2.8, §2.10, §2.11) ----

#[derive(Debug, Serialize)]
pub struct PositionsDoc {
    pub positions: Listing<Position>,
}

#[derive(Debug, Serialize)]
pub struct Position {
    pub cost_basis: Number,
    pub date_acquired: String,
    pub id: u64,
    pub quantity: Number,
    pub symbol: String,
}

impl Item for Position {
    const KEY: &'static str = "position";
}

#[derive(Debug, Serialize)]
pub struct BalancesDoc {
    pub balances: Balances,
}

#[derive(Debug, Serialize)]
pub struct Balances {
    pub option_short_value: Number,
    pub total_equity: Number,
    pub account_number: String,
    pub account_type: &'static str,
    pub close_pl: Number,
    pub current_requirement: Number,
    pub equity: Number,
    pub long_market_value: Number,
    pub market_value: Number,
    pub open_pl: Number,
    pub option_long_value: Number,
    pub option_requirement: Number,
    pub pending_orders_count: usize,
    pub short_market_value: Number,
    pub stock_long_value: Number,
    pub total_cash: Number,
    pub uncleared_funds: Number,
    pub pending_cash: Number,
    /// The one sub-object named after the account type.
    #[serde(flatten)]
    pub detail: BalanceDetail,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BalanceDetail {
    Margin(MarginBalances),
    Cash(CashBalances),
}

#[derive(Debug, Serialize)]
pub struct MarginBalances {
    pub fed_call: Number,
    pub maintenance_call: Number,
    pub option_buying_power: Number,
    pub stock_buying_power: Number,
    pub stock_short_value: Number,
    pub sweep: Number,
}

#[derive(Debug, Serialize)]
pub struct CashBalances {
    pub cash_available: Number,
    pub sweep: Number,
    pub unsettled_funds: Number,
}

#[derive(Debug, Serialize)]
pub struct ProfileDoc {
    pub profile: Profile,
}

#[derive(Debug, Serialize)]
pub struct Profile {
    pub id: String,
    pub name: String,
    /// One account is a bare object, several an array (§2.10).
    pub account: OneOrMany<ProfileAccount>,
}

#[derive(Debug, Serialize)]
pub struct ProfileAccount {
    pub account_number: String,
    pub classification: &'static str,
    pub date_created: String,
    pub day_trader: bool,
    pub option_level: u8,
    pub status: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub last_update_date: String,
}

#[derive(Debug, Serialize)]
pub struct HistoryDoc {
    pub history: Listing<HistoryEvent>,
}

/// One activity, dated at midnight with no milliseconds (docs.tradier.com `docs/history`).
#[derive(Debug, Serialize)]
pub struct HistoryEvent {
    pub amount: Number,
    pub date: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(flatten)]
    pub detail: HistoryDetail,
}

impl Item for HistoryEvent {
    const KEY: &'static str = "event";
}

/// The sub-object named after the event's type.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryDetail {
    Trade(HistoryTrade),
    Option(HistoryOption),
}

#[derive(Debug, Serialize)]
pub struct HistoryTrade {
    pub commission: Number,
    pub description: String,
    pub price: Number,
    /// Signed: negative for a sale.
    pub quantity: Number,
    pub symbol: String,
    pub trade_type: &'static str,
}

#[derive(Debug, Serialize)]
pub struct HistoryOption {
    pub option_type: &'static str,
    pub description: &'static str,
    pub quantity: Number,
}

#[derive(Debug, Serialize)]
pub struct GainLossDoc {
    pub gainloss: Listing<ClosedPosition>,
}

#[derive(Debug, Serialize)]
pub struct ClosedPosition {
    pub close_date: String,
    pub cost: Number,
    pub gain_loss: Number,
    pub gain_loss_percent: Number,
    pub open_date: String,
    pub proceeds: Number,
    pub quantity: Number,
    pub symbol: String,
    /// Days held (the docs' definition says months; their example counts days).
    pub term: i64,
}

impl Item for ClosedPosition {
    const KEY: &'static str = "closed_position";
}

// ---- markets (§2.10) ----

#[derive(Debug, Serialize)]
pub struct ClockDoc {
    pub clock: Clock,
}

#[derive(Debug, Serialize)]
pub struct Clock {
    pub date: String,
    pub description: String,
    pub state: &'static str,
    pub timestamp: i64,
    pub next_change: String,
    pub next_state: &'static str,
}

#[derive(Debug, Serialize)]
pub struct CalendarDoc {
    pub calendar: Calendar,
}

#[derive(Debug, Serialize)]
pub struct Calendar {
    pub month: u32,
    pub year: i32,
    pub days: Listing<CalendarDay>,
}

#[derive(Debug, Serialize)]
pub struct CalendarDay {
    pub date: String,
    pub status: &'static str,
    pub description: &'static str,
    /// Closed days carry only date, status and description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub premarket: Option<Hours>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open: Option<Hours>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postmarket: Option<Hours>,
}

impl Item for CalendarDay {
    const KEY: &'static str = "day";
}

#[derive(Debug, Clone, Serialize)]
pub struct Hours {
    pub start: String,
    pub end: String,
}

// ---- streaming (§2.9) ----

/// `{"stream":{"url":…,"sessionid":…}}`.
#[derive(Debug, Serialize)]
pub struct SessionDoc {
    pub stream: StreamSession,
}

#[derive(Debug, Serialize)]
pub struct StreamSession {
    pub url: String,
    pub sessionid: String,
}

#[derive(Debug, Serialize)]
pub struct Heartbeat {
    pub event: &'static str,
    pub status: &'static str,
    pub timestamp: String,
}

/// A WebSocket validation problem: `{"error":"…"}` (docs.tradier.com `reference/streaming`).
#[derive(Debug, Serialize)]
pub struct StreamError {
    pub error: &'static str,
}

/// An order update on the account stream.
#[derive(Debug, Clone, Serialize)]
pub struct OrderEvent {
    pub id: u64,
    pub event: &'static str,
    pub status: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub price: Number,
    pub stop_price: Number,
    pub avg_fill_price: Number,
    /// Sources disagree on the name (§2.9 CONFLICT): both are sent.
    pub exec_quantity: Number,
    pub executed_quantity: Number,
    pub last_fill_quantity: Number,
    pub remaining_quantity: Number,
    pub transaction_date: String,
    pub create_date: String,
    pub account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

// ---- errors (§5.1) and OAuth (§1.2) ----

/// `{"errors":{"error":"…" | ["…",…]}}`.
#[derive(Debug, Serialize)]
pub struct ErrorsDoc {
    pub errors: ErrorList,
}

#[derive(Debug, Serialize)]
pub struct ErrorList {
    pub error: OneOrMany<String>,
}

/// The API gateway's fault.
#[derive(Debug, Serialize)]
pub struct FaultDoc {
    pub fault: Fault,
}

#[derive(Debug, Serialize)]
pub struct Fault {
    pub faultstring: &'static str,
    pub detail: FaultDetail,
}

#[derive(Debug, Serialize)]
pub struct FaultDetail {
    pub errorcode: &'static str,
}

/// A renewed grant from `POST /v1/oauth/refreshtoken`.
#[derive(Debug, Serialize)]
pub struct Grant {
    pub access_token: String,
    pub refresh_token: String,
    /// Omitted for a token that does not expire (absent, never null: §8.11).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    pub issued_at: String,
    pub scope: &'static str,
    pub status: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[derive(Serialize)]
    struct N(u8);
    impl Item for N {
        const KEY: &'static str = "n";
    }

    fn text(v: &impl Serialize) -> String {
        serde_json::to_string(v).unwrap()
    }

    #[test]
    fn numbers_keep_their_digits_and_collections_their_quirks() {
        assert_eq!(text(&Number(Decimal::new(17798360, 3))), "17798.36");
        assert_eq!(text(&Number(Decimal::new(1, 1))), "0.1");
        // More digits than a float holds.
        let long = "1234567890123.123456789012";
        assert_eq!(text(&Number(long.parse().unwrap())), long);
        assert_eq!(text(&Listing::<N>::new(vec![])), r#""null""#);
        assert_eq!(text(&Listing::new(vec![N(1)])), r#"{"n":1}"#);
        assert_eq!(text(&Listing::new(vec![N(1), N(2)])), r#"{"n":[1,2]}"#);
        assert_eq!(
            time(Timestamp::from_millis(1_527_854_549_682)),
            "2018-06-01T12:02:29.682Z"
        );
        assert_eq!(
            time_nanos(Timestamp::from_millis(1_527_854_549_682)),
            "2018-06-01T12:02:29.682000000Z"
        );
    }
}
