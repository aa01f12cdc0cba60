//! The account endpoints (reference §2.1, §2.9, §2.10): the customer's
//! accounts, positions and balances, from the engine's account view.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rust_decimal::Decimal;

use mbt::engine::{AccountView, PositionView};
use mbt::{AccountKind, Instrument, Timestamp};

use super::auth::{AccountPath, Caller};
use super::errors::TastytradeError;
use super::num::{date, iso, Amount, Number};
use super::wire::{Account, AccountItem, Balance, Data, Effect, Items, Position, Signed};
use super::words;
use crate::brokerage::{BrokerEventKind, SimBrokerage};
use crate::face::Shared;

type Answer = Result<Response, TastytradeError>;

fn data<T: serde::Serialize>(data: T, context: &str) -> Response {
    (
        StatusCode::OK,
        Json(Data {
            data,
            context: context.to_string(),
        }),
    )
        .into_response()
}

/// When the model's history begins: accounts were opened a year before it.
fn opened(b: &SimBrokerage) -> Timestamp {
    b.engine()
        .log()
        .entries()
        .next()
        .map_or(b.now(), |e| e.time)
        .plus_millis(-365 * 86_400_000)
}

fn account(b: &SimBrokerage, number: &str, kind: AccountKind) -> Account {
    let opened = opened(b);
    Account {
        account_number: number.to_string(),
        external_id: format!(
            "A{}",
            crate::ids::stable_int(&["tastytrade/account", number])
        ),
        opened_at: iso(opened),
        nickname: "Individual",
        account_type_name: "Individual",
        day_trader_status: false,
        is_closed: false,
        is_firm_error: false,
        is_firm_proprietary: false,
        is_futures_approved: false,
        is_test_drive: false,
        margin_or_cash: match kind {
            AccountKind::Cash => "Cash",
            AccountKind::Margin => "Margin",
        },
        is_foreign: false,
        funding_date: date(opened.plus_millis(86_400_000)),
        investment_objective: "GROWTH",
        suitable_options_level: "No Restrictions",
        created_at: iso(opened),
    }
}

/// `GET /customers/me/accounts` → `data.items[]` of `{account, authority-level}`.
pub async fn list(caller: Caller, State(s): State<Shared>) -> Answer {
    let b = s.lock();
    let items = b
        .profile()
        .accounts
        .iter()
        .map(|a| AccountItem {
            account: account(&b, &a.number, a.kind),
            authority_level: "owner",
        })
        .collect();
    Ok(data(Items { items }, &caller.context))
}

/// `GET /customers/me/accounts/{n}` → `data` = the account, no wrapper.
pub async fn one(path: AccountPath, State(s): State<Shared>) -> Answer {
    let b = s.lock();
    let spec = b
        .profile()
        .accounts
        .iter()
        .find(|a| a.number == path.account)
        .ok_or_else(TastytradeError::not_permitted)?;
    Ok(data(
        account(&b, &spec.number, spec.kind),
        &path.caller.context,
    ))
}

fn view(b: &SimBrokerage, number: &str) -> Result<AccountView, TastytradeError> {
    b.account(number).ok_or_else(TastytradeError::not_permitted)
}

/// When the account first and last traded `instrument`.
fn traded(b: &SimBrokerage, account: &str, instrument: &Instrument) -> (Timestamp, Timestamp) {
    let times: Vec<Timestamp> = b
        .events_since(0)
        .filter(|e| e.account == account)
        .filter(
            |e| matches!(&e.kind, BrokerEventKind::Fill { instrument: i, .. } if i == instrument),
        )
        .map(|e| e.time)
        .collect();
    let now = b.now();
    (
        times.first().copied().unwrap_or(now),
        times.last().copied().unwrap_or(now),
    )
}

/// One position as tastytrade shows it: the size without its sign, the
/// direction in words (§2.9). Realized gains per position are not kept by
/// the engine, so they read zero.
pub fn position(b: &SimBrokerage, account: &str, p: &PositionView) -> Position {
    let (created, updated) = traded(b, account, &p.instrument);
    let short = p.quantity.is_sign_negative();
    let mark = p.mark.unwrap_or(p.average_price);
    let today = date(b.now());
    Position {
        account_number: account.to_string(),
        symbol: words::symbol(&p.instrument),
        instrument_type: words::instrument_type(&p.instrument),
        underlying_symbol: p.instrument.underlying().to_string(),
        quantity: Number(p.quantity.abs()),
        quantity_direction: match (p.quantity.is_zero(), short) {
            (true, _) => "Zero",
            (false, true) => "Short",
            (false, false) => "Long",
        },
        close_price: Amount(mark),
        average_open_price: Amount(p.average_price),
        average_yearly_market_close_price: Amount(p.average_price),
        average_daily_market_close_price: Amount(p.average_price),
        multiplier: Number(p.instrument.multiplier()),
        cost_effect: if short { Effect::Credit } else { Effect::Debit },
        is_suppressed: false,
        is_frozen: false,
        restricted_quantity: Number(Decimal::ZERO),
        realized_day_gain: Amount(Decimal::ZERO),
        realized_day_gain_effect: Effect::None,
        realized_day_gain_date: today.clone(),
        realized_today: Amount(Decimal::ZERO),
        realized_today_effect: Effect::None,
        realized_today_date: today,
        created_at: iso(created),
        updated_at: iso(updated),
        streamer_symbol: words::streamer_symbol(&p.instrument),
        // Equity options stop trading at 4 pm New York on expiry (21:00 UTC in winter).
        expires_at: match &p.instrument {
            Instrument::Option { occ } => occ
                .expiry()
                .and_hms_opt(21, 0, 0)
                .map(|t| iso(Timestamp::from_datetime(t.and_utc()))),
            Instrument::Equity { .. } => None,
        },
    }
}

/// `GET /accounts/{n}/positions` (§2.9): not paginated.
pub async fn positions(path: AccountPath, State(s): State<Shared>) -> Answer {
    let mut b = s.lock();
    b.sync();
    let v = view(&b, &path.account)?;
    let items: Vec<Position> = v
        .positions
        .iter()
        .filter(|p| !p.quantity.is_zero())
        .map(|p| position(&b, &path.account, p))
        .collect();
    Ok(data(Items { items }, &path.caller.context))
}

/// The sums of positions' market values by kind and direction.
#[derive(Default)]
struct Values {
    long_equity: Decimal,
    short_equity: Decimal,
    long_derivative: Decimal,
    short_derivative: Decimal,
}

fn values(v: &AccountView) -> Values {
    v.positions.iter().fold(Values::default(), |mut acc, p| {
        let value = p.market_value.abs();
        let slot = match (p.instrument.is_option(), p.quantity.is_sign_negative()) {
            (false, false) => &mut acc.long_equity,
            (false, true) => &mut acc.short_equity,
            (true, false) => &mut acc.long_derivative,
            (true, true) => &mut acc.short_derivative,
        };
        *slot = slot.saturating_add(value);
        acc
    })
}

/// The balance (§2.10). Buying power is the engine's Reg-T stock buying
/// power; options take two units of it per dollar in a margin account, so
/// the derivative buying power is half of it there.
pub fn balance(b: &SimBrokerage, v: &AccountView) -> Balance {
    let vals = values(v);
    let margin = v.kind == AccountKind::Margin;
    let derivative_bp = if margin {
        v.buying_power / Decimal::TWO
    } else {
        v.buying_power
    };
    let requirement = if margin {
        v.equity.saturating_sub(derivative_bp).max(Decimal::ZERO)
    } else {
        Decimal::ZERO
    };
    let zero = Signed(Decimal::ZERO);
    let s = Signed;
    Balance {
        account_number: v.account_id.clone(),
        currency: "USD",
        cash_balance: s(v.cash),
        long_equity_value: s(vals.long_equity),
        short_equity_value: s(vals.short_equity),
        long_derivative_value: s(vals.long_derivative),
        short_derivative_value: s(vals.short_derivative),
        long_futures_value: zero,
        short_futures_value: zero,
        long_futures_derivative_value: zero,
        short_futures_derivative_value: zero,
        long_margineable_value: s(vals.long_equity),
        short_margineable_value: s(vals.short_equity),
        margin_equity: s(v.equity),
        equity_buying_power: s(v.buying_power),
        derivative_buying_power: s(derivative_bp),
        day_trading_buying_power: zero,
        futures_margin_requirement: zero,
        available_trading_funds: s(derivative_bp),
        maintenance_requirement: s(requirement),
        maintenance_call_value: zero,
        reg_t_call_value: zero,
        day_trading_call_value: zero,
        day_equity_call_value: zero,
        net_liquidating_value: s(v.equity),
        cash_available_to_withdraw: s(v
            .cash
            .max(Decimal::ZERO)
            .min(derivative_bp.max(Decimal::ZERO))),
        day_trade_excess: zero,
        pending_cash: zero,
        long_cryptocurrency_value: zero,
        short_cryptocurrency_value: zero,
        cryptocurrency_margin_requirement: zero,
        unsettled_cryptocurrency_fiat_amount: zero,
        closed_loop_available_balance: zero,
        equity_offering_margin_requirement: zero,
        long_bond_value: zero,
        bond_margin_requirement: zero,
        used_derivative_buying_power: zero,
        reg_t_margin_requirement: s(requirement),
        futures_overnight_margin_requirement: zero,
        futures_intraday_margin_requirement: zero,
        maintenance_excess: s(derivative_bp),
        pending_margin_interest: zero,
        effective_cryptocurrency_buying_power: zero,
        cash_settle_balance: s(v.cash),
        margin_settle_balance: zero,
        total_settle_balance: s(v.cash),
        sma_equity_option_buying_power: zero,
        special_memorandum_account_value: s(derivative_bp),
        special_memorandum_account_apex_adjustment: zero,
        long_fixed_income_security_value: zero,
        fixed_income_security_margin_requirement: zero,
        total_pending_liquidity_pool_rebate: zero,
        buying_power_adjustment: zero,
        pending_cash_effect: Effect::None,
        unsettled_cryptocurrency_fiat_effect: Effect::None,
        buying_power_adjustment_effect: Effect::None,
        snapshot_date: date(b.now()),
        updated_at: iso(b.now()),
    }
}

/// `GET /accounts/{n}/balances` (one object, as observed, §2.10).
pub async fn balances(path: AccountPath, State(s): State<Shared>) -> Answer {
    let mut b = s.lock();
    b.sync();
    let v = view(&b, &path.account)?;
    Ok(data(balance(&b, &v), &path.caller.context))
}

/// `GET /accounts/{n}/balances/{currency}` (the Python SDK's, §2.10): the
/// model's accounts hold dollars only.
pub async fn balances_in(
    path: AccountPath,
    Path((_, currency)): Path<(String, String)>,
    State(s): State<Shared>,
) -> Answer {
    if currency != "USD" {
        return Err(TastytradeError::route_not_found());
    }
    balances(path, State(s)).await
}
