//! Alpaca's JSON, exactly: every body the face sends, as typed structs with
//! money and quantities as decimal strings (alpaca-py refuses numbers in its
//! `str` fields, reference §6, §8.1), and the request bodies it reads, decoded
//! the way Alpaca decodes them (`num.rs`).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use mbt::{Instrument, Timestamp};

use super::num::{self, WireNumber};

/// A decimal as Alpaca writes one: minimal form, no forced trailing zeros.
pub fn dec(d: Decimal) -> String {
    d.normalize().to_string()
}

/// Money rounded to the cent the way Alpaca shows balances.
pub fn money(d: Decimal) -> String {
    dec(d.round_dp(2))
}

pub fn time(t: Timestamp) -> String {
    t.to_string()
}

/// The symbol Alpaca uses: the ticker, or the OCC symbol without padding (§7).
pub fn symbol(i: &Instrument) -> String {
    match i {
        Instrument::Equity { symbol } => symbol.clone(),
        Instrument::Option { occ } => occ.compact(),
    }
}

pub fn asset_class(i: &Instrument) -> &'static str {
    if i.is_option() {
        "us_option"
    } else {
        "us_equity"
    }
}

/// A stable UUID per symbol (Alpaca's asset and contract ids are fixed per asset).
pub fn asset_id(symbol: &str) -> String {
    uuid_from(&["asset", symbol])
}

pub use crate::ids::stable_uuid as uuid_from;

/// The Order object (§2.2). Optional timestamps and prices are explicit nulls.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Order {
    pub id: String,
    pub client_order_id: String,
    pub created_at: String,
    pub updated_at: String,
    pub submitted_at: String,
    pub filled_at: Option<String>,
    pub expired_at: Option<String>,
    pub canceled_at: Option<String>,
    pub failed_at: Option<String>,
    pub replaced_at: Option<String>,
    pub replaced_by: Option<String>,
    pub replaces: Option<String>,
    pub asset_id: String,
    pub symbol: String,
    pub asset_class: String,
    pub notional: Option<String>,
    pub qty: Option<String>,
    pub filled_qty: String,
    pub filled_avg_price: Option<String>,
    pub order_class: String,
    pub order_type: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub side: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position_intent: Option<String>,
    pub time_in_force: String,
    pub limit_price: Option<String>,
    pub stop_price: Option<String>,
    pub status: String,
    pub extended_hours: bool,
    pub legs: Option<Vec<Order>>,
    pub trail_percent: Option<String>,
    pub trail_price: Option<String>,
    pub hwm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio_qty: Option<String>,
}

/// The Position object (§2.9): every number a string.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Position {
    pub asset_id: String,
    pub symbol: String,
    pub exchange: String,
    pub asset_class: String,
    pub asset_marginable: bool,
    pub avg_entry_price: String,
    pub qty: String,
    pub qty_available: String,
    pub side: String,
    pub market_value: String,
    pub cost_basis: String,
    pub unrealized_pl: String,
    pub unrealized_plpc: String,
    pub unrealized_intraday_pl: String,
    pub unrealized_intraday_plpc: String,
    pub current_price: String,
    pub lastday_price: String,
    pub change_today: String,
}

/// The TradeAccount object (§2.10): money as strings, status upper-case,
/// counts and levels as integers.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Account {
    pub id: String,
    pub account_number: String,
    pub status: &'static str,
    pub crypto_status: &'static str,
    pub currency: &'static str,
    pub buying_power: String,
    pub regt_buying_power: String,
    pub daytrading_buying_power: String,
    pub effective_buying_power: String,
    pub non_marginable_buying_power: String,
    pub options_buying_power: String,
    pub bod_dtbp: String,
    pub cash: String,
    pub accrued_fees: String,
    pub pending_transfer_in: String,
    pub pending_transfer_out: String,
    pub portfolio_value: String,
    pub equity: String,
    pub last_equity: String,
    pub long_market_value: String,
    pub short_market_value: String,
    pub position_market_value: String,
    pub initial_margin: String,
    pub maintenance_margin: String,
    pub last_maintenance_margin: String,
    pub sma: String,
    pub multiplier: &'static str,
    pub daytrade_count: u32,
    pub balance_asof: String,
    pub pattern_day_trader: bool,
    pub trading_blocked: bool,
    pub transfers_blocked: bool,
    pub account_blocked: bool,
    pub trade_suspended_by_user: bool,
    pub shorting_enabled: bool,
    pub created_at: String,
    pub options_approved_level: u8,
    pub options_trading_level: u8,
}

/// `GET /v2/clock` (§2.11): times with the US/Eastern offset.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Clock {
    pub timestamp: String,
    pub is_open: bool,
    pub next_open: String,
    pub next_close: String,
}

/// One trading day of `GET /v2/calendar` (§2.11): `open`/`close` exactly `HH:MM`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CalendarDay {
    pub date: String,
    pub open: String,
    pub close: String,
    pub session_open: String,
    pub session_close: String,
    pub settlement_date: String,
}

/// An Asset of `GET /v2/assets` (alpaca-py's `Asset`: enums closed, §8.4).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Asset {
    pub id: String,
    pub class: &'static str,
    pub exchange: &'static str,
    pub symbol: String,
    pub name: String,
    pub status: &'static str,
    pub tradable: bool,
    pub marginable: bool,
    pub maintenance_margin_requirement: u32,
    pub shortable: bool,
    pub easy_to_borrow: bool,
    pub fractionable: bool,
    pub attributes: Vec<String>,
}

/// An option contract (§7): `strike_price` is a number there, `size` a string.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OptionContract {
    pub id: String,
    pub symbol: String,
    pub name: String,
    pub status: &'static str,
    pub tradable: bool,
    pub expiration_date: String,
    pub root_symbol: String,
    pub underlying_symbol: String,
    pub underlying_asset_id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub style: &'static str,
    pub strike_price: serde_json::Number,
    pub size: &'static str,
    pub open_interest: Option<String>,
    pub open_interest_date: Option<String>,
    pub close_price: Option<String>,
    pub close_price_date: Option<String>,
}

/// `GET /v2/options/contracts` (§7).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OptionContracts {
    pub option_contracts: Vec<OptionContract>,
    pub next_page_token: Option<String>,
}

/// A `FILL` account activity (§3.3; alpaca-py `TradeActivity`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TradeActivity {
    pub id: String,
    pub account_id: String,
    pub activity_type: &'static str,
    pub transaction_time: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub price: String,
    pub qty: String,
    pub side: &'static str,
    pub symbol: String,
    pub leaves_qty: String,
    pub order_id: String,
    pub cum_qty: String,
    pub order_status: String,
}

/// An option expiry, exercise or assignment (`OPEXP`, `OPEXC`, `OPASN`;
/// alpaca-py `NonTradeActivity`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NonTradeActivity {
    pub id: String,
    pub account_id: String,
    pub activity_type: &'static str,
    pub date: String,
    pub net_amount: String,
    pub description: String,
    pub status: &'static str,
    pub symbol: String,
    pub qty: String,
}

/// One entry of `GET /v2/account/activities`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Activity {
    Trade(TradeActivity),
    NonTrade(NonTradeActivity),
}

/// `GET/PATCH /v2/account/configurations` (§2.10).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Configurations {
    pub dtbp_check: String,
    pub trade_confirm_email: String,
    pub suspend_trade: bool,
    pub no_shorting: bool,
    pub fractional_trading: bool,
    pub max_margin_multiplier: String,
    pub max_options_trading_level: u8,
    pub pdt_check: String,
    pub ptp_no_exception_entry: bool,
}

impl Default for Configurations {
    fn default() -> Self {
        Self {
            dtbp_check: "entry".into(),
            trade_confirm_email: "all".into(),
            suspend_trade: false,
            no_shorting: false,
            fractional_trading: true,
            max_margin_multiplier: "4".into(),
            max_options_trading_level: 3,
            pdt_check: "entry".into(),
            ptp_no_exception_entry: false,
        }
    }
}

/// One entry of the 207 answer to `DELETE /v2/orders` (§2.8).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CancelResult {
    pub id: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Box<super::errors::ErrorBody>>,
}

/// The body of one entry of the 207 answer to `DELETE /v2/positions`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum CloseBody {
    Order(Box<Order>),
    Error(Box<super::errors::ErrorBody>),
}

/// One entry of the 207 answer to `DELETE /v2/positions` (§2.9).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CloseResult {
    pub symbol: String,
    pub status: u16,
    pub body: CloseBody,
}

/// A message on the trade_updates WebSocket: a stream name and an object `data` (§2.12a).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StreamMessage<T> {
    pub stream: &'static str,
    pub data: T,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Authorization {
    pub status: &'static str,
    pub action: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Listening {
    pub streams: Vec<String>,
}

/// The `data` of a `trade_updates` message (§2.12a): `timestamp` on every
/// event; execution fields on fills only.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TradeUpdate {
    pub event: &'static str,
    pub timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qty: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position_qty: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    pub order: Order,
}

/// One leg of an `mleg` request (§2.1).
#[derive(Debug, Clone, Deserialize)]
pub struct LegRequest {
    #[serde(default, deserialize_with = "num::optional_string")]
    pub symbol: Option<String>,
    #[serde(default, deserialize_with = "num::optional")]
    pub ratio_qty: Option<WireNumber>,
    #[serde(default, deserialize_with = "num::optional_string")]
    pub side: Option<String>,
    #[serde(default, deserialize_with = "num::optional_string")]
    pub position_intent: Option<String>,
}

/// `POST /v2/orders` body (§2.1). Unknown keys are ignored, as Alpaca does;
/// a known key of the wrong JSON type fails the body, as it fails Alpaca's decoder.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderRequest {
    #[serde(default, deserialize_with = "num::optional_string")]
    pub symbol: Option<String>,
    #[serde(default, deserialize_with = "num::optional")]
    pub qty: Option<WireNumber>,
    #[serde(default, deserialize_with = "num::optional")]
    pub notional: Option<WireNumber>,
    #[serde(default, deserialize_with = "num::optional_string")]
    pub side: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "num::optional_string")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "num::optional_string")]
    pub time_in_force: Option<String>,
    #[serde(default, deserialize_with = "num::optional")]
    pub limit_price: Option<WireNumber>,
    #[serde(default, deserialize_with = "num::optional")]
    pub stop_price: Option<WireNumber>,
    /// A trailing stop's distance: dollars, or a percent of the mark (§2.1).
    #[serde(default, deserialize_with = "num::optional")]
    pub trail_price: Option<WireNumber>,
    #[serde(default, deserialize_with = "num::optional")]
    pub trail_percent: Option<WireNumber>,
    #[serde(default, deserialize_with = "num::optional_string")]
    pub client_order_id: Option<String>,
    #[serde(default, deserialize_with = "num::optional_string")]
    pub order_class: Option<String>,
    #[serde(default, deserialize_with = "num::optional_string")]
    pub position_intent: Option<String>,
    #[serde(default)]
    pub legs: Option<Vec<LegRequest>>,
    #[serde(default)]
    pub extended_hours: Option<bool>,
    /// A bracket's, OCO's or OTO's limit exit (§2.1).
    #[serde(default)]
    pub take_profit: Option<TakeProfit>,
    /// A bracket's, OCO's or OTO's stop exit (§2.1).
    #[serde(default)]
    pub stop_loss: Option<StopLoss>,
}

/// `take_profit: {limit_price}`.
#[derive(Debug, Clone, Deserialize)]
pub struct TakeProfit {
    #[serde(default, deserialize_with = "num::optional")]
    pub limit_price: Option<WireNumber>,
}

/// `stop_loss: {stop_price, limit_price?}`: a limit makes it a stop-limit.
#[derive(Debug, Clone, Deserialize)]
pub struct StopLoss {
    #[serde(default, deserialize_with = "num::optional")]
    pub stop_price: Option<WireNumber>,
    #[serde(default, deserialize_with = "num::optional")]
    pub limit_price: Option<WireNumber>,
}

/// `PATCH /v2/orders/{id}` body (§2.6).
#[derive(Debug, Clone, Deserialize)]
pub struct ReplaceRequest {
    #[serde(default, deserialize_with = "num::optional")]
    pub qty: Option<WireNumber>,
    #[serde(default, deserialize_with = "num::optional_string")]
    pub time_in_force: Option<String>,
    #[serde(default, deserialize_with = "num::optional")]
    pub limit_price: Option<WireNumber>,
    #[serde(default, deserialize_with = "num::optional")]
    pub stop_price: Option<WireNumber>,
    #[serde(default, deserialize_with = "num::optional")]
    pub trail: Option<WireNumber>,
    #[serde(default, deserialize_with = "num::optional_string")]
    pub client_order_id: Option<String>,
}

/// `PATCH /v2/account/configurations` body: what it sets (§2.10).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfigurationsPatch {
    pub dtbp_check: Option<CheckWhen>,
    pub trade_confirm_email: Option<ConfirmEmail>,
    pub suspend_trade: Option<bool>,
    pub no_shorting: Option<bool>,
    pub fractional_trading: Option<bool>,
    pub max_margin_multiplier: Option<MarginMultiplier>,
    pub max_options_trading_level: Option<u8>,
    pub pdt_check: Option<CheckWhen>,
    pub ptp_no_exception_entry: Option<bool>,
}

/// alpaca-py's `DTBPCheck` / `PDTCheck`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckWhen {
    Both,
    Entry,
    Exit,
}

impl CheckWhen {
    pub fn word(self) -> &'static str {
        match self {
            CheckWhen::Both => "both",
            CheckWhen::Entry => "entry",
            CheckWhen::Exit => "exit",
        }
    }
}

/// alpaca-py's `TradeConfirmationEmail`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfirmEmail {
    All,
    None,
}

impl ConfirmEmail {
    pub fn word(self) -> &'static str {
        match self {
            ConfirmEmail::All => "all",
            ConfirmEmail::None => "none",
        }
    }
}

/// `max_margin_multiplier`: a string, `"1"`, `"2"` or `"4"` (§2.10's `multiplier`).
#[derive(Debug, Clone, Copy, Deserialize)]
pub enum MarginMultiplier {
    #[serde(rename = "1")]
    One,
    #[serde(rename = "2")]
    Two,
    #[serde(rename = "4")]
    Four,
}

impl MarginMultiplier {
    pub fn word(self) -> &'static str {
        match self {
            MarginMultiplier::One => "1",
            MarginMultiplier::Two => "2",
            MarginMultiplier::Four => "4",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_accept_numbers_strings_nulls_and_empty_strings() {
        let one = Some(WireNumber::Value(Decimal::ONE));
        let py: OrderRequest = serde_json::from_str(
            r#"{"symbol":"SPY","qty":1.0,"side":"buy","type":"market","time_in_force":"day","client_order_id":"abc-1"}"#,
        )
        .unwrap();
        assert_eq!(py.qty, one);
        let go: OrderRequest = serde_json::from_str(
            r#"{"symbol":"SPY","qty":"1","notional":null,"limit_price":null,"client_order_id":"","order_class":"","legs":null,"take_profit":null,"extended_hours":false,"side":"buy","type":"market","time_in_force":"day"}"#,
        )
        .unwrap();
        assert_eq!(go.qty, one);
        assert_eq!(go.client_order_id, None);
        assert_eq!(go.order_class, None);
        assert!(go.take_profit.is_none());
        for bad in [
            r#"{"qty":"one"}"#,
            r#"{"qty":[1]}"#,
            r#"{"qty":"1_000"}"#,
            r#"{"side":1}"#,
            r#"{"extended_hours":"true"}"#,
            r#"[1,2,3]"#,
        ] {
            assert!(serde_json::from_str::<OrderRequest>(bad).is_err(), "{bad}");
        }
        let mleg: OrderRequest = serde_json::from_str(
            r#"{"qty":1.0,"type":"limit","time_in_force":"day","order_class":"mleg","legs":[{"symbol":"AAPL250117P00200000","ratio_qty":1.0,"side":"buy","position_intent":"buy_to_open"},{"symbol":"AAPL250117P00250000","ratio_qty":1.0,"side":"sell"}],"limit_price":-0.5}"#,
        )
        .unwrap();
        assert_eq!(
            mleg.limit_price,
            Some(WireNumber::Value(Decimal::new(-5, 1)))
        );
        assert_eq!(mleg.legs.map(|l| l.len()), Some(2));
        // What alpaca-py sends for a bracket (§2.1).
        let bracket: OrderRequest = serde_json::from_str(
            r#"{"order_class":"bracket","take_profit":{"limit_price":510.0},"stop_loss":{"stop_price":490.0,"limit_price":489.0}}"#,
        )
        .unwrap();
        let price = |n: i64| Some(WireNumber::Value(Decimal::from(n)));
        assert_eq!(bracket.take_profit.unwrap().limit_price, price(510));
        let stop = bracket.stop_loss.unwrap();
        assert_eq!(
            (stop.stop_price, stop.limit_price),
            (price(490), price(489))
        );
    }

    #[test]
    fn ids_are_stable_uuids() {
        assert_eq!(asset_id("AAPL"), asset_id("AAPL"));
        assert_ne!(asset_id("AAPL"), asset_id("MSFT"));
        assert_eq!(
            uuid::Uuid::parse_str(&asset_id("AAPL"))
                .unwrap()
                .get_version_num(),
            4
        );
        assert_eq!(dec(Decimal::new(15000, 2)), "150");
        assert_eq!(money(Decimal::new(1234567, 4)), "123.46");
    }
}
