//! Alpaca's JSON, exactly: response objects with money and quantities as
//! decimal strings (alpaca-py rejects numbers in its `str` fields), and
//! lenient request parsing (alpaca-py sends numbers, the Go SDK strings,
//! nulls and empty strings for unused fields).

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use mbt::engine::{AccountView, PositionView};
use mbt::{Instrument, Timestamp};

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

/// The symbol Alpaca uses: the ticker, or the OCC symbol without padding.
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

/// A stable UUID per symbol (Alpaca's asset ids are fixed per asset).
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

impl Position {
    pub fn from_view(p: &PositionView) -> Self {
        let symbol = symbol(&p.instrument);
        let current = p.mark.unwrap_or(p.average_price);
        let plpc = if p.cost_basis.is_zero() {
            Decimal::ZERO
        } else {
            (p.unrealized_pnl / p.cost_basis.abs()).round_dp(6)
        };
        Self {
            asset_id: asset_id(&symbol),
            exchange: if p.instrument.is_option() {
                String::new()
            } else {
                "NASDAQ".to_string()
            },
            asset_class: asset_class(&p.instrument).to_string(),
            asset_marginable: !p.instrument.is_option(),
            avg_entry_price: dec(p.average_price),
            qty: dec(p.quantity),
            qty_available: dec(p.quantity),
            side: if p.quantity < Decimal::ZERO {
                "short"
            } else {
                "long"
            }
            .to_string(),
            market_value: money(p.market_value),
            cost_basis: money(p.cost_basis),
            unrealized_pl: money(p.unrealized_pnl),
            unrealized_plpc: dec(plpc),
            unrealized_intraday_pl: money(p.unrealized_pnl),
            unrealized_intraday_plpc: dec(plpc),
            current_price: dec(current),
            lastday_price: dec(current),
            change_today: "0".to_string(),
            symbol,
        }
    }
}

/// The TradeAccount object (§2.10): money as strings, status upper-case.
pub fn account(view: &AccountView, created_at: Timestamp, date: &str) -> Value {
    let margin = view.kind == mbt::AccountKind::Margin;
    let s = |d: Decimal| Value::String(money(d));
    serde_json::json!({
        "id": uuid_from(&["account", &view.account_id]),
        "account_number": view.account_id,
        "status": "ACTIVE",
        "crypto_status": "INACTIVE",
        "currency": "USD",
        "buying_power": s(view.buying_power),
        "regt_buying_power": s(view.buying_power),
        "daytrading_buying_power": "0",
        "effective_buying_power": s(view.buying_power),
        "non_marginable_buying_power": s(if margin { view.buying_power / Decimal::TWO } else { view.buying_power }),
        "options_buying_power": s(if margin { view.buying_power / Decimal::TWO } else { view.buying_power }),
        "bod_dtbp": "0",
        "cash": s(view.cash),
        "accrued_fees": "0",
        "pending_transfer_in": "0",
        "pending_transfer_out": "0",
        "portfolio_value": s(view.equity),
        "equity": s(view.equity),
        "last_equity": s(view.equity),
        "long_market_value": s(view.long_market_value),
        "short_market_value": s(view.short_market_value),
        "position_market_value": s(view.long_market_value - view.short_market_value),
        "initial_margin": "0",
        "maintenance_margin": "0",
        "last_maintenance_margin": "0",
        "sma": "0",
        "multiplier": if margin { "2" } else { "1" },
        "daytrade_count": 0,
        "balance_asof": date,
        "pattern_day_trader": false,
        "trading_blocked": false,
        "transfers_blocked": false,
        "account_blocked": false,
        "trade_suspended_by_user": false,
        "shorting_enabled": margin,
        "created_at": time(created_at),
        "options_approved_level": 3,
        "options_trading_level": 3,
    })
}

/// A decimal sent as a JSON number or a string; null and "" mean absent.
fn lenient_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => s
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("invalid decimal {s:?}"))),
        Value::Number(n) => {
            let text = n.to_string();
            Decimal::from_str_exact(&text)
                .or_else(|_| Decimal::from_scientific(&text))
                .map(Some)
                .map_err(|_| serde::de::Error::custom(format!("invalid decimal {text}")))
        }
        other => Err(serde::de::Error::custom(format!(
            "expected a decimal, got {other}"
        ))),
    }
}

/// A string field where null and "" mean absent.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

#[derive(Debug, Clone, Deserialize)]
pub struct LegRequest {
    #[serde(default, deserialize_with = "lenient_string")]
    pub symbol: Option<String>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    pub ratio_qty: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub side: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub position_intent: Option<String>,
}

/// `POST /v2/orders` body. Unknown keys are ignored, as Alpaca does.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderRequest {
    #[serde(default, deserialize_with = "lenient_string")]
    pub symbol: Option<String>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    pub qty: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    pub notional: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub side: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub time_in_force: Option<String>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    pub limit_price: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    pub stop_price: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub client_order_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub order_class: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub position_intent: Option<String>,
    #[serde(default)]
    pub legs: Option<Vec<LegRequest>>,
    #[serde(default)]
    pub extended_hours: Option<bool>,
}

/// `PATCH /v2/orders/{id}` body.
#[derive(Debug, Clone, Deserialize)]
pub struct ReplaceRequest {
    #[serde(default, deserialize_with = "lenient_decimal")]
    pub qty: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub time_in_force: Option<String>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    pub limit_price: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    pub stop_price: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub client_order_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_accept_numbers_strings_nulls_and_empty_strings() {
        let py: OrderRequest = serde_json::from_str(
            r#"{"symbol":"SPY","qty":1.0,"side":"buy","type":"market","time_in_force":"day","client_order_id":"abc-1"}"#,
        )
        .unwrap();
        assert_eq!(py.qty, Some(Decimal::ONE));
        let go: OrderRequest = serde_json::from_str(
            r#"{"symbol":"SPY","qty":"1","notional":null,"limit_price":null,"client_order_id":"","order_class":"","legs":null,"extended_hours":false,"side":"buy","type":"market","time_in_force":"day"}"#,
        )
        .unwrap();
        assert_eq!(go.qty, Some(Decimal::ONE));
        assert_eq!(go.client_order_id, None);
        assert_eq!(go.order_class, None);
        assert!(serde_json::from_str::<OrderRequest>(r#"{"qty":"one"}"#).is_err());
        assert!(serde_json::from_str::<OrderRequest>(r#"{"qty":[1]}"#).is_err());
        let mleg: OrderRequest = serde_json::from_str(
            r#"{"qty":1.0,"type":"limit","time_in_force":"day","order_class":"mleg","legs":[{"symbol":"AAPL250117P00200000","ratio_qty":1.0,"side":"buy","position_intent":"buy_to_open"},{"symbol":"AAPL250117P00250000","ratio_qty":1.0,"side":"sell"}],"limit_price":-0.5}"#,
        )
        .unwrap();
        assert_eq!(mleg.limit_price, Some(Decimal::new(-5, 1)));
        assert_eq!(mleg.legs.unwrap().len(), 2);
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
