//! `/v2/account` and `/v2/account/configurations` (reference §2.10).

use axum::extract::State;
use axum::{Extension, Json};
use rust_decimal::Decimal;

use mbt::engine::AccountView;
use mbt::AccountKind;

use super::auth::AlpacaAuth;
use super::errors::AlpacaError;
use super::extract::JsonBody;
use super::state::FaceState;
use super::wire::{self, Account, Configurations, ConfigurationsPatch};
use crate::face::Shared;

/// The account's UUID (Alpaca's `id`, beside the account number).
pub fn account_uuid(number: &str) -> String {
    wire::uuid_from(&["account", number])
}

fn render(
    view: &AccountView,
    config: &Configurations,
    created_at: mbt::Timestamp,
    today: String,
) -> Account {
    let margin = view.kind == AccountKind::Margin;
    let s = wire::money;
    // Non-marginable money (and option premium) takes twice the buying power of stock.
    let non_marginable = if margin {
        view.buying_power / Decimal::TWO
    } else {
        view.buying_power
    };
    Account {
        id: account_uuid(&view.account_id),
        account_number: view.account_id.clone(),
        status: "ACTIVE",
        crypto_status: "INACTIVE",
        currency: "USD",
        buying_power: s(view.buying_power),
        regt_buying_power: s(view.buying_power),
        daytrading_buying_power: "0".into(),
        effective_buying_power: s(view.buying_power),
        non_marginable_buying_power: s(non_marginable),
        options_buying_power: s(non_marginable),
        bod_dtbp: "0".into(),
        cash: s(view.cash),
        accrued_fees: "0".into(),
        pending_transfer_in: "0".into(),
        pending_transfer_out: "0".into(),
        portfolio_value: s(view.equity),
        equity: s(view.equity),
        last_equity: s(view.equity),
        long_market_value: s(view.long_market_value),
        short_market_value: s(view.short_market_value),
        position_market_value: s(view
            .long_market_value
            .saturating_add(view.short_market_value.abs())),
        initial_margin: "0".into(),
        maintenance_margin: "0".into(),
        last_maintenance_margin: "0".into(),
        sma: "0".into(),
        multiplier: if margin { "2" } else { "1" },
        daytrade_count: 0,
        balance_asof: today,
        pattern_day_trader: false,
        trading_blocked: false,
        transfers_blocked: false,
        account_blocked: false,
        trade_suspended_by_user: config.suspend_trade,
        shorting_enabled: margin && !config.no_shorting,
        created_at: wire::time(created_at),
        options_approved_level: config.max_options_trading_level,
        options_trading_level: config.max_options_trading_level,
    }
}

/// `GET /v2/account`.
pub async fn get(
    State(s): State<Shared>,
    Extension(face): Extension<FaceState>,
    AlpacaAuth(account): AlpacaAuth,
) -> Result<Json<Account>, AlpacaError> {
    let mut b = s.lock();
    b.sync();
    let config = face.tables(&b).configurations(&account);
    let view = b.account(&account).ok_or_else(AlpacaError::unauthorized)?;
    let now = b.now();
    let opened = b.engine().log().first_time().unwrap_or(now);
    Ok(Json(render(&view, &config, opened, now.date().to_string())))
}

/// `GET /v2/account/configurations`.
pub async fn configurations(
    State(s): State<Shared>,
    Extension(face): Extension<FaceState>,
    AlpacaAuth(account): AlpacaAuth,
) -> Json<Configurations> {
    let b = s.lock();
    Json(face.tables(&b).configurations(&account))
}

/// `PATCH /v2/account/configurations`: sets what the body names and
/// answers the whole set. `no_shorting`, `fractional_trading` and
/// `suspend_trade` change what orders are accepted; the margin multiplier
/// and the check and e-mail settings are kept and shown only (the
/// engine's margin rules are fixed).
pub async fn set_configurations(
    State(s): State<Shared>,
    Extension(face): Extension<FaceState>,
    AlpacaAuth(account): AlpacaAuth,
    JsonBody(patch): JsonBody<ConfigurationsPatch>,
) -> Result<Json<Configurations>, AlpacaError> {
    if patch.max_options_trading_level.is_some_and(|l| l > 3) {
        // Levels run 0–3 (§2.10); the message is not in the reference.
        return Err(AlpacaError::invalid("invalid max_options_trading_level"));
    }
    let b = s.lock();
    let mut t = face.tables(&b);
    let mut c = t.configurations(&account);
    apply(&mut c, patch);
    t.set_configurations(&account, c.clone());
    Ok(Json(c))
}

fn apply(c: &mut Configurations, p: ConfigurationsPatch) {
    if let Some(v) = p.dtbp_check {
        c.dtbp_check = v.word().into();
    }
    if let Some(v) = p.pdt_check {
        c.pdt_check = v.word().into();
    }
    if let Some(v) = p.trade_confirm_email {
        c.trade_confirm_email = v.word().into();
    }
    if let Some(v) = p.max_margin_multiplier {
        c.max_margin_multiplier = v.word().into();
    }
    if let Some(v) = p.max_options_trading_level {
        c.max_options_trading_level = v;
    }
    c.suspend_trade = p.suspend_trade.unwrap_or(c.suspend_trade);
    c.no_shorting = p.no_shorting.unwrap_or(c.no_shorting);
    c.fractional_trading = p.fractional_trading.unwrap_or(c.fractional_trading);
    c.ptp_no_exception_entry = p.ptp_no_exception_entry.unwrap_or(c.ptp_no_exception_entry);
}
