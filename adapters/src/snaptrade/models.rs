//! SnapTrade's JSON, as it arrives and as it is sent (reference §4, §5,
//! §6): snake_case, no envelope except where noted. v1 shapes carry money
//! as JSON numbers (`Balance.cash`, `Account.balance`), v2 shapes as
//! decimal strings (`positions/all`, `AccountOrderRecord`); both are read
//! from their digits through [`Number`], never through a float. Only the
//! fields the adapter reads are declared; nothing here interprets:
//! `parse.rs` does.

use serde::{Deserialize, Serialize};

use crate::json::Number;

// ---------------------------------------------------------------- in

/// `GET /accounts/{accountId}` (§4.4 `Account`).
#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    pub id: String,
    /// The connection (brokerage authorization) the account belongs to.
    #[serde(default)]
    pub brokerage_authorization: Option<String>,
    pub institution_name: Option<String>,
    pub balance: Option<AccountBalance>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AccountBalance {
    /// Nullable in the spec.
    pub total: Option<Money>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Money {
    pub amount: Option<Number>,
    pub currency: Option<String>,
}

/// One entry of `GET /accounts/{accountId}/balances` (one per currency).
#[derive(Debug, Clone, Deserialize)]
pub struct Balance {
    pub currency: Option<Currency>,
    pub cash: Option<Number>,
    pub buying_power: Option<Number>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Currency {
    pub code: Option<String>,
}

/// `GET /accounts/{accountId}/positions/all` (both fields required).
#[derive(Debug, Clone, Deserialize)]
pub struct Positions {
    pub results: Vec<Position>,
    pub data_freshness: Freshness,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Freshness {
    /// When SnapTrade fetched the data from the institution (RFC 3339).
    pub as_of: String,
}

/// An `AccountPosition`: `units`, `price` and `cost_basis` are decimal strings.
#[derive(Debug, Clone, Deserialize)]
pub struct Position {
    pub instrument: PositionInstrument,
    pub units: Option<Number>,
    pub price: Option<Number>,
    pub cost_basis: Option<Number>,
}

/// The position's instrument, discriminated by `kind` (`stock`, `etf`,
/// `option`, …); an option's `symbol` is its 21-character OCC symbol.
#[derive(Debug, Clone, Deserialize)]
pub struct PositionInstrument {
    pub kind: String,
    pub symbol: String,
}

/// `GET /accounts/{accountId}/recentOrders` (§4.4).
#[derive(Debug, Clone, Deserialize)]
pub struct RecentOrders {
    #[serde(default)]
    pub orders: Vec<OrderRecord>,
}

/// A v1 `AccountOrderRecord` (§5): no field is required by the spec; the
/// adapter needs the id and the status, and reads the rest when present.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderRecord {
    pub brokerage_order_id: String,
    pub status: Option<String>,
    /// An equity's, or a spread's underlying (v1 records have no legs).
    pub universal_symbol: Option<UniversalSymbol>,
    /// A single option's contract.
    pub option_symbol: Option<OptionSymbol>,
    pub action: Option<String>,
    pub total_quantity: Option<Number>,
    pub canceled_quantity: Option<Number>,
    pub filled_quantity: Option<Number>,
    pub execution_price: Option<Number>,
    pub limit_price: Option<Number>,
    pub stop_price: Option<Number>,
    pub order_type: Option<String>,
    pub time_in_force: Option<String>,
    /// ISO 8601 with `Z` (`2024-07-30T22:51:49.746270Z`).
    pub time_placed: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UniversalSymbol {
    /// Yahoo style (`VAB.TO`).
    pub symbol: Option<String>,
    /// `symbol` without the exchange suffix (`VAB`).
    pub raw_symbol: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OptionSymbol {
    /// The OCC symbol (`AAPL  261218C00240000`).
    pub ticker: Option<String>,
}

/// `POST /accounts/{id}/trading/options`'s answer (`MlegOrderResponse`).
#[derive(Debug, Clone, Deserialize)]
pub struct MlegPlaced {
    pub brokerage_order_id: String,
    pub orders: Vec<OrderRecord>,
}

/// An error body (§6.1): `{"detail", "status_code", "code"}` with a string
/// code; 501 answers `{"error"}` instead. Every field is optional so that
/// either shape (and the spec's `default_detail`/`default_code` examples) reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    pub detail: Option<String>,
    pub default_detail: Option<String>,
    /// As text: SnapTrade writes a string (`"3003"`, `"throttled"`), some
    /// spec examples a bare number (`code: 3003`).
    pub code: Option<String>,
    pub default_code: Option<String>,
    pub error: Option<String>,
}

impl ErrorBody {
    /// What can be read of `body`, field by field: one field of an
    /// unexpected type (a code as a negative number, a detail as an object)
    /// is left out, never the rest of the body with it.
    pub fn read(body: &[u8]) -> Self {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let text = |key: &str| v.get(key).and_then(|x| x.as_str()).map(str::to_string);
        let code = |key: &str| match v.get(key) {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        ErrorBody {
            detail: text("detail"),
            default_detail: text("default_detail"),
            code: code("code"),
            default_code: code("default_code"),
            error: text("error"),
        }
    }
}

// ---------------------------------------------------------------- out

/// `POST /trade/place`'s body (`ManualTradeFormWithOptions`: an equity by
/// its ticker, or an option by its OCC symbol). The fields are declared in alphabetical order: serde writes them
/// so, which makes the body its own canonical form, signed as it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlaceRequest<'a> {
    pub account_id: &'a str,
    pub action: &'static str,
    pub order_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Number>,
    pub symbol: &'a str,
    pub time_in_force: &'static str,
    pub units: Number,
}

/// `POST /accounts/{id}/trading/options`'s body (`MlegTradeForm`), its
/// fields in alphabetical order like `PlaceRequest`'s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MlegRequest<'a> {
    pub legs: Vec<MlegLeg<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<String>,
    pub order_type: &'static str,
    pub price_effect: &'static str,
    pub time_in_force: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MlegLeg<'a> {
    pub action: &'static str,
    pub instrument: MlegInstrument<'a>,
    pub units: Number,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MlegInstrument<'a> {
    pub instrument_type: &'static str,
    pub symbol: &'a str,
}

/// The body of an order's detail read and of a cancel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderIdRequest<'a> {
    pub brokerage_order_id: &'a str,
}

/// `GET /accounts/{accountId}/activities`: one page of the history.
#[derive(Debug, Clone, Deserialize)]
pub struct Activities {
    pub data: Vec<Activity>,
    pub pagination: Pagination,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Pagination {
    /// Entries the request's filters match, across every page.
    pub total: usize,
}

/// One entry of the history (§4.4 UniversalActivity): v1 JSON numbers,
/// `amount` positive into the account (the reverse of Plaid's sign).
#[derive(Debug, Clone, Deserialize)]
pub struct Activity {
    pub id: String,
    pub symbol: Option<ActivitySymbol>,
    pub option_symbol: Option<ActivityOption>,
    pub price: Option<Number>,
    pub units: Option<Number>,
    pub amount: Option<Number>,
    #[serde(rename = "type")]
    pub kind: String,
    /// RFC 3339; nullable in the spec.
    pub trade_date: Option<String>,
    pub fee: Option<Number>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ActivitySymbol {
    pub symbol: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ActivityOption {
    /// The OCC symbol (`AAPL  261218C00240000`).
    pub ticker: String,
}
