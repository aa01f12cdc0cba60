//! SnapTrade's JSON, typed (reference §4, §5, §7; spec
//! `../shared/reference/specs/snaptrade/api.yaml`). v1 shapes carry money
//! and quantities as JSON numbers (`units`, `price`, `cash`), written as
//! SnapTrade's Python backend writes floats, with a decimal place
//! (`100000.0`: [`Double`]; SDK 13's own schemas for these nullable numbers
//! refuse an integer); v2 shapes (`positions/all`, order records'
//! quantities and prices) as decimal strings (§3, §11.4). Times are ISO
//! 8601 with microseconds and `Z`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::json::{Double, Lenient};

/// `{id, code, name}` (§4.4 Balance).
#[derive(Debug, Clone, Serialize)]
pub struct Currency {
    pub id: String,
    pub code: &'static str,
    pub name: &'static str,
}

/// `GET /brokerages`, and inside every connection (§7.1).
#[derive(Debug, Clone, Serialize)]
pub struct Brokerage {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub aws_s3_logo_url: String,
    /// Nullable (SDK 13 `Brokerage`); the model has no logo to show.
    pub aws_s3_square_logo_url: Option<String>,
    /// The brokerage's website, `null` when SnapTrade has none on record
    /// (SDK 13 `Brokerage.url`): never an empty string.
    pub url: Option<String>,
    pub enabled: bool,
    pub maintenance_mode: bool,
    pub is_degraded: bool,
    pub allows_trading: bool,
    pub allows_fractional_units: bool,
    pub has_reporting: bool,
    pub is_real_time_connection: bool,
    pub brokerage_type: BrokerageType,
    pub exchanges: Vec<Value>,
    pub open_url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BrokerageType {
    pub id: String,
    pub name: &'static str,
}

/// A connection (§4.3 BrokerageAuthorization).
#[derive(Debug, Clone, Serialize)]
pub struct BrokerageAuthorization {
    pub id: String,
    pub created_date: String,
    pub updated_date: String,
    pub brokerage: Brokerage,
    pub name: String,
    /// `read` or `trade`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub disabled: bool,
    pub disabled_date: Option<String>,
    pub meta: Value,
    pub is_eligible_for_payout: bool,
    /// Whether the brokerage and SnapTrade serve it real-time or delayed:
    /// an object in SDK 13.0.49 (`BrokerageAuthorizationDataFreshnessMode`,
    /// both keys required), a bare string in the older git spec (§4.3
    /// CONFLICT); the newer SDK's shape is served.
    pub data_freshness_mode: DataFreshnessMode,
}

/// `{institution, snaptrade}`, each `realtime` or `delayed`.
#[derive(Debug, Clone, Serialize)]
pub struct DataFreshnessMode {
    pub institution: &'static str,
    pub snaptrade: &'static str,
}

/// An account (§4.4 Account).
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub id: String,
    pub brokerage_authorization: String,
    pub portfolio_group: String,
    pub name: String,
    /// The brokerage's own account number.
    pub number: String,
    pub institution_name: String,
    pub institution_account_id: String,
    pub created_date: String,
    pub funding_date: Option<String>,
    pub opening_date: Option<String>,
    pub sync_status: SyncStatus,
    pub balance: AccountBalance,
    pub status: &'static str,
    pub raw_type: &'static str,
    pub account_category: &'static str,
    pub meta: Value,
    pub cash_restrictions: Vec<Value>,
    pub is_paper: bool,
}

/// `GET /accounts/all` (SDK 13.0.49, §4.4): every account, discriminated
/// by `kind`; the model's are all brokerage (`investment`) accounts.
#[derive(Debug, Clone, Serialize)]
pub struct AllAccounts {
    pub results: Vec<InvestmentAccount>,
}

/// A `ConnectionAccount` of kind `investment` (SDK 13.0.49 `InvestmentAccount`).
#[derive(Debug, Clone, Serialize)]
pub struct InvestmentAccount {
    pub kind: &'static str,
    pub id: String,
    pub connection_id: String,
    /// The brokerage's number masked to its last 4 characters (`****8443`).
    pub masked_account_number: String,
    pub sync_status: ConnectionSyncStatus,
    pub is_paper: bool,
    pub display_name: Option<String>,
    pub institution_account_id: Option<String>,
    /// The brokerage's id (a UUID).
    pub institution_id: String,
    pub opening_date: Option<String>,
    pub funding_date: Option<String>,
    pub raw_type: Option<&'static str>,
    /// `cash`, `margin` or `unknown`.
    pub cash_or_margin: &'static str,
    pub net_value: Option<NetValue>,
}

/// Kind-discriminated accounts split the holdings sync into its parts (§8.2).
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionSyncStatus {
    pub transactions: TransactionsStatus,
    pub orders: Option<String>,
    pub positions: Option<String>,
    pub balances: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NetValue {
    pub amount: Option<Double>,
    pub currency: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SyncStatus {
    pub transactions: TransactionsStatus,
    pub holdings: HoldingsStatus,
}

#[derive(Debug, Clone, Serialize)]
pub struct TransactionsStatus {
    pub initial_sync_completed: bool,
    /// The last fully synced day (`YYYY-MM-DD`).
    pub last_successful_sync: Option<String>,
    pub first_transaction_date: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HoldingsStatus {
    pub initial_sync_completed: bool,
    /// `YYYY-MM-DD HH:MM:SS.ffffff+00:00`: a space, not a `T` (§3).
    pub last_successful_sync: Option<String>,
    pub holdings_unavailable: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccountBalance {
    pub total: Option<Amount>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Amount {
    pub amount: Double,
    pub currency: &'static str,
}

/// `GET /accounts/{id}/balances`: one per currency (§4.4 Balance).
#[derive(Debug, Clone, Serialize)]
pub struct Balance {
    pub currency: Currency,
    pub cash: Option<Double>,
    pub buying_power: Option<Double>,
}

/// `GET /accounts/{id}/positions/all` (§4.4).
#[derive(Debug, Clone, Serialize)]
pub struct AccountPositions {
    pub results: Vec<AccountPosition>,
    pub data_freshness: DataFreshness,
}

#[derive(Debug, Clone, Serialize)]
pub struct DataFreshness {
    /// When the data was fetched from the brokerage.
    pub as_of: String,
}

/// One holding, v2 shape: decimal strings.
#[derive(Debug, Clone, Serialize)]
pub struct AccountPosition {
    pub instrument: HeldInstrument,
    pub units: Decimal,
    pub price: Option<Decimal>,
    /// The average purchase price per share (not the position's total).
    pub cost_basis: Option<Decimal>,
    pub currency: &'static str,
    pub cash_equivalent: bool,
    pub tax_lots: Vec<Value>,
}

/// `AccountPosition.instrument`: one of the spec's kinds, told apart by `kind`.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum HeldInstrument {
    Stock(PositionInstrument),
    Option(OptionInstrument),
}

/// An option contract (`kind: "option"`; `id`, `symbol` (OCC, root padded
/// to six), `option_type`, `strike_price`, `expiration_date`, `multiplier`
/// and `underlying` required, §4.4).
#[derive(Debug, Clone, Serialize)]
pub struct OptionInstrument {
    pub kind: &'static str,
    pub id: String,
    pub symbol: String,
    pub option_type: &'static str,
    pub strike_price: Decimal,
    pub expiration_date: String,
    pub multiplier: Decimal,
    pub underlying: PositionInstrument,
}

/// A stock-like instrument (`kind`, `id`, `symbol`, `raw_symbol` required, §4.4).
#[derive(Debug, Clone, Serialize)]
pub struct PositionInstrument {
    pub kind: &'static str,
    pub id: String,
    pub symbol: String,
    pub raw_symbol: String,
    pub description: String,
    pub currency: &'static str,
    pub exchange: &'static str,
}

/// The legacy v1 position (`GET /accounts/{id}/positions`, SDK 11): JSON numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Position {
    pub symbol: BrokerageSymbol,
    pub units: Double,
    pub price: Option<Double>,
    pub open_pnl: Option<Double>,
    pub average_purchase_price: Option<Double>,
    pub fractional_units: Option<Double>,
    pub currency: Currency,
    pub cash_equivalent: bool,
    pub tax_lots: Vec<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BrokerageSymbol {
    pub symbol: UniversalSymbol,
    pub id: String,
    pub description: String,
    pub local_id: String,
    pub is_quotable: bool,
    pub is_tradable: bool,
}

/// A security as SnapTrade names it everywhere (§4.4 UniversalSymbol).
#[derive(Debug, Clone, Serialize)]
pub struct UniversalSymbol {
    pub id: String,
    pub symbol: String,
    pub raw_symbol: String,
    pub description: String,
    pub currency: Currency,
    pub exchange: Exchange,
    #[serde(rename = "type")]
    pub kind: SecurityType,
    pub currencies: Vec<Currency>,
    pub figi_code: Option<String>,
    pub figi_instrument: Option<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    pub id: String,
    pub code: &'static str,
    pub mic_code: &'static str,
    pub name: &'static str,
    pub timezone: &'static str,
    pub start_time: &'static str,
    pub close_time: &'static str,
    pub suffix: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SecurityType {
    pub id: String,
    pub code: &'static str,
    pub description: &'static str,
    pub is_supported: bool,
}

/// An order (§5 AccountOrderRecord, v1): quantities and prices as decimal strings.
#[derive(Debug, Clone, Serialize)]
pub struct AccountOrderRecord {
    pub brokerage_order_id: String,
    pub brokerage_group_order_id: Option<String>,
    pub order_role: Option<String>,
    pub status: String,
    /// An equity's, or a multi-leg order's underlying (v1 has no legs).
    pub universal_symbol: Option<UniversalSymbol>,
    /// A single option's contract.
    pub option_symbol: Option<OptionsSymbol>,
    pub quote_universal_symbol: Option<Value>,
    pub quote_currency: Option<Value>,
    pub action: &'static str,
    pub total_quantity: Decimal,
    pub open_quantity: Decimal,
    pub canceled_quantity: Decimal,
    pub filled_quantity: Decimal,
    pub execution_price: Option<Decimal>,
    pub limit_price: Option<Decimal>,
    pub stop_price: Option<Decimal>,
    pub trailing_stop: Option<Value>,
    pub order_type: &'static str,
    pub time_in_force: &'static str,
    pub time_placed: String,
    pub time_updated: String,
    pub time_executed: Option<String>,
    pub expiry_date: Option<String>,
    /// The brokerage's symbol id (a UUID).
    pub symbol: String,
    pub child_brokerage_order_ids: Option<Value>,
}

/// `GET /accounts/{id}/recentOrders`.
#[derive(Debug, Clone, Serialize)]
pub struct RecentOrders {
    pub orders: Vec<AccountOrderRecord>,
}

/// An order in the V2 shape (§5 AccountOrderRecordV2, the experimental
/// endpoints): its legs listed, one for a single-leg order; the order's
/// status in the v1 words, each leg's in the V2 ones.
#[derive(Debug, Clone, Serialize)]
pub struct AccountOrderRecordV2 {
    pub brokerage_order_id: String,
    pub brokerage_group_order_id: Option<String>,
    pub order_role: Option<String>,
    pub status: String,
    /// `MARKET`, `LIMIT`, `STOP`, `STOP_LIMIT`.
    pub order_type: &'static str,
    /// `DAY`, `GTC`, `FOK`, `IOC`.
    pub time_in_force: &'static str,
    pub time_placed: String,
    pub time_executed: Option<String>,
    pub price_currency: &'static str,
    /// `DEBIT` (cash paid), `CREDIT` (received).
    pub price_effect: &'static str,
    pub execution_price: Option<Decimal>,
    pub limit_price: Option<Decimal>,
    pub stop_price: Option<Decimal>,
    pub trailing_stop: Option<Value>,
    pub legs: Vec<AccountOrderRecordLeg>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccountOrderRecordLeg {
    pub leg_id: Option<String>,
    pub instrument: LegInstrument,
    pub action: &'static str,
    pub execution_price: Option<Decimal>,
    pub total_quantity: Decimal,
    pub canceled_quantity: Decimal,
    pub filled_quantity: Decimal,
    /// `AccountOrderRecordStatusV2` (`PARTIALLY_EXECUTED`, not v1's `PARTIAL`).
    pub status: &'static str,
}

/// `AccountOrderRecordLegInstrument`.
#[derive(Debug, Clone, Serialize)]
pub struct LegInstrument {
    pub symbol: String,
    pub description: String,
    /// `EQUITY`, `OPTION`.
    pub asset_type: &'static str,
    pub exchange_mic_code: &'static str,
    pub figi_code: Option<String>,
}

/// `GET /accounts/{id}/orders/v2` and `recentOrders/v2`.
#[derive(Debug, Clone, Serialize)]
pub struct OrdersV2 {
    pub orders: Vec<AccountOrderRecordV2>,
}

/// `POST /accounts/{id}/trading/cancel` (§4.5).
#[derive(Debug, Clone, Serialize)]
pub struct CancelAnswer {
    pub brokerage_order_id: String,
    pub raw_response: Option<Value>,
}

/// `POST /trade/place` (§4.5 ManualTradeFormWithOptions).
#[derive(Debug, Clone, Deserialize)]
pub struct ManualTradeFormWithOptions {
    pub account_id: String,
    pub action: String,
    pub order_type: String,
    pub time_in_force: String,
    #[serde(default)]
    pub universal_symbol_id: Option<String>,
    #[serde(default)]
    pub symbol: Option<String>,
    #[serde(default)]
    pub units: Option<Lenient>,
    #[serde(default)]
    pub notional_value: Option<Lenient>,
    #[serde(default)]
    pub price: Option<Lenient>,
    #[serde(default)]
    pub stop: Option<Lenient>,
    #[serde(default)]
    pub expiry_date: Option<String>,
    #[serde(default)]
    pub trading_session: Option<String>,
    /// Forwarded to the brokerage; SnapTrade does not de-duplicate on it (§4.5).
    #[serde(default)]
    pub client_order_id: Option<String>,
}

/// An option holding (legacy `OptionsPosition`, SDK 11's
/// `GET /accounts/{id}/options`): v1 numbers; the price per share, the
/// average purchase price per contract.
#[derive(Debug, Clone, Serialize)]
pub struct OptionsPosition {
    pub symbol: OptionBrokerageSymbol,
    pub price: Option<Double>,
    pub units: Double,
    pub average_purchase_price: Option<Double>,
    pub currency: Currency,
}

#[derive(Debug, Clone, Serialize)]
pub struct OptionBrokerageSymbol {
    pub option_symbol: OptionsSymbol,
    pub id: String,
    pub description: String,
}

/// `OptionsSymbol`: the contract, the same across brokerages.
#[derive(Debug, Clone, Serialize)]
pub struct OptionsSymbol {
    pub id: String,
    /// The OCC symbol, root padded to six.
    pub ticker: String,
    pub option_type: &'static str,
    pub strike_price: Double,
    pub expiration_date: String,
    pub is_mini_option: bool,
    pub underlying_symbol: UniversalSymbol,
}

/// `POST /accounts/{id}/trading/replace` (§4.5 `ManualTradeReplaceForm`):
/// the order as it should stand, restated in full.
#[derive(Debug, Clone, Deserialize)]
pub struct ManualTradeReplaceForm {
    pub brokerage_order_id: String,
    pub action: String,
    pub order_type: String,
    pub time_in_force: String,
    #[serde(default)]
    pub price: Option<Lenient>,
    #[serde(default)]
    pub symbol: Option<String>,
    #[serde(default)]
    pub stop: Option<Lenient>,
    #[serde(default)]
    pub units: Option<Lenient>,
}

/// `POST /trade/impact` (§4.5 `ManualTradeAndImpact`): the trade to place
/// by its id within five minutes, and what it would leave in the account.
#[derive(Debug, Clone, Serialize)]
pub struct ManualTradeAndImpact {
    pub trade: ManualTrade,
    /// "The list always contains one value at the moment" (spec).
    pub trade_impacts: Vec<ManualTradeImpact>,
    pub combined_remaining_balance: ManualTradeBalance,
}

/// A checked trade (§4.5 `ManualTrade`).
#[derive(Debug, Clone, Serialize)]
pub struct ManualTrade {
    pub id: String,
    pub account: String,
    pub order_type: &'static str,
    pub time_in_force: &'static str,
    pub symbol: ManualTradeSymbol,
    pub action: &'static str,
    pub units: Double,
    /// The limit price of a `Limit` or `StopLimit` trade, else null.
    pub price: Option<Double>,
}

/// `ManualTrade.symbol`; `local_id`, `description` and `symbol` are
/// deprecated but still sent.
#[derive(Debug, Clone, Serialize)]
pub struct ManualTradeSymbol {
    pub universal_symbol_id: String,
    pub currency: Currency,
    pub local_id: String,
    pub description: String,
    pub symbol: String,
    pub brokerage_symbol_id: String,
}

/// One account's estimate (`ManualTradeImpact`): v1 numbers, null where the
/// model has no price to estimate with.
#[derive(Debug, Clone, Serialize)]
pub struct ManualTradeImpact {
    pub account: String,
    pub currency: String,
    pub remaining_cash: Option<Double>,
    pub estimated_commission: Double,
    pub forex_fees: Double,
}

/// `combined_remaining_balance` (`ManualTradeBalance`): the same cash as
/// `remaining_cash` (spec: "at the moment this is the same").
#[derive(Debug, Clone, Serialize)]
pub struct ManualTradeBalance {
    pub account: AccountSimple,
    pub currency: Currency,
    pub cash: Option<Double>,
}

/// `POST /trade/{tradeId}`'s optional body (`ValidatedTradeBody`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ValidatedTradeBody {
    #[serde(default)]
    pub wait_to_confirm: Option<bool>,
}

/// `POST /accounts/{id}/symbols` (`SymbolQuery`).
#[derive(Debug, Clone, Deserialize)]
pub struct SymbolQuery {
    pub substring: String,
}

/// `{brokerage_order_id}`: cancel and order detail.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderRef {
    pub brokerage_order_id: String,
}

/// `GET /accounts/{id}/activities`: a page of the history (§4.4).
#[derive(Debug, Clone, Serialize)]
pub struct PaginatedActivities {
    pub data: Vec<UniversalActivity>,
    pub pagination: Pagination,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pagination {
    pub offset: usize,
    pub limit: usize,
    /// Entries the filters matched, on every page.
    pub total: usize,
}

/// The account an activity belongs to (the spec's AccountSimple).
#[derive(Debug, Clone, Serialize)]
pub struct AccountSimple {
    pub id: String,
    pub name: String,
    pub number: String,
    pub institution_account_id: Option<String>,
    pub sync_status: SyncStatus,
}

/// One entry of the history (§4.4 UniversalActivity): v1 JSON numbers;
/// `amount` positive into the account, `units` positive for a buy.
#[derive(Debug, Clone, Serialize)]
pub struct UniversalActivity {
    pub id: String,
    pub account: AccountSimple,
    pub symbol: Option<UniversalSymbol>,
    pub currency_universal_symbol: Option<UniversalSymbol>,
    pub option_symbol: Option<OptionsSymbol>,
    pub price: Double,
    pub units: Double,
    pub amount: Option<Double>,
    pub currency: Currency,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// BUY_TO_OPEN and the like for options; empty otherwise.
    pub option_type: &'static str,
    pub description: String,
    pub trade_date: Option<String>,
    pub settlement_date: String,
    pub fee: Double,
    pub fx_rate: Option<Double>,
    pub institution: String,
    pub external_reference_id: Option<String>,
}

/// `POST /accounts/{id}/trading/options` and its impact (§4.5
/// `MlegTradeForm`): one to four legs.
#[derive(Debug, Clone, Deserialize)]
pub struct MlegTradeForm {
    pub order_type: String,
    pub time_in_force: String,
    #[serde(default)]
    pub limit_price: Option<Lenient>,
    #[serde(default)]
    pub stop_price: Option<Lenient>,
    #[serde(default)]
    pub price_effect: Option<String>,
    pub legs: Vec<MlegLeg>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MlegLeg {
    pub instrument: MlegTradingInstrument,
    pub action: String,
    /// Contracts for an option, shares for an equity: an integer.
    pub units: Lenient,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MlegTradingInstrument {
    /// A ticker, or an option's OCC symbol.
    pub symbol: String,
    /// `OPTION` or `EQUITY`.
    pub instrument_type: String,
}

/// `MlegOrderResponse`: the brokerage's id and the order's v1 record.
#[derive(Debug, Clone, Serialize)]
pub struct MlegOrderResponse {
    pub brokerage_order_id: String,
    pub orders: Vec<AccountOrderRecord>,
}

/// `OptionImpact`: what the order would move in cash, and its fees.
#[derive(Debug, Clone, Serialize)]
pub struct OptionImpact {
    pub estimated_cash_change: String,
    pub cash_change_direction: &'static str,
    pub estimated_fee_total: String,
}
