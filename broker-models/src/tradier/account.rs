//! The user's profile and an account's balances and positions (reference
//! §2.7, §2.8, §2.10).

use axum::extract::State;
use axum::response::Response;
use rust_decimal::Decimal;

use mbt::engine::{AccountView, PositionView};
use mbt::AccountKind;

use super::auth::{TradierAccount, TradierAuth};
use super::errors::TradierError;
use super::format::Format;
use super::orders::acknowledged;
use super::wire::{
    self, BalanceDetail, Balances, BalancesDoc, CashBalances, Listing, MarginBalances, Number,
    OneOrMany, Position, PositionsDoc, Profile, ProfileAccount, ProfileDoc,
};
use crate::brokerage::{BrokerEventKind, SimBrokerage};
use crate::face::Shared;

fn kind_word(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Margin => "margin",
        AccountKind::Cash => "cash",
    }
}

pub async fn profile(_: TradierAuth, format: Format, State(s): State<Shared>) -> Response {
    let b = s.lock();
    // Accounts date from the model's start: its first log entry.
    let created = wire::time(
        b.engine()
            .log()
            .entries()
            .next()
            .map_or(b.now(), |e| e.time),
    );
    let accounts = b
        .profile()
        .accounts
        .iter()
        .map(|a| ProfileAccount {
            account_number: a.number.clone(),
            classification: "individual",
            date_created: created.clone(),
            day_trader: false,
            option_level: 6,
            status: "active",
            kind: kind_word(a.kind),
            last_update_date: created.clone(),
        })
        .collect();
    let profile = OneOrMany::from_vec(accounts)
        .map(|account| ProfileDoc {
            profile: Profile {
                id: "id-raxx-sim".into(),
                name: "Raxx Sim".into(),
                account,
            },
        })
        .ok_or_else(|| TradierError::invalid("the profile has no accounts"));
    format.answer(profile)
}

fn view(b: &SimBrokerage, acct: &str) -> Result<AccountView, TradierError> {
    b.account(acct)
        .ok_or_else(|| TradierError::unauthorized_account(acct))
}

/// Market values by kind: (stock long, option long, option short).
fn values_by_kind(v: &AccountView) -> (Decimal, Decimal, Decimal) {
    v.positions.iter().fold(
        (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO),
        |(stock, long, short), p| match (p.instrument.is_option(), p.market_value >= Decimal::ZERO)
        {
            (false, true) => (stock.saturating_add(p.market_value), long, short),
            (true, true) => (stock, long.saturating_add(p.market_value), short),
            (true, false) => (stock, long, short.saturating_add(p.market_value)),
            (false, false) => (stock, long, short),
        },
    )
}

/// Balances in cents, as Tradier's ledger keeps them (its long expansions,
/// `17798.360000000000000000000000`, are cents with padding, §2.8).
fn cents(d: Decimal) -> Number {
    Number(d.round_dp(2))
}

fn balances_of(b: &SimBrokerage, acct: &str, v: &AccountView) -> Balances {
    let (stock_long, option_long, option_short) = values_by_kind(v);
    let pending = b
        .orders_of(acct)
        .filter(|o| acknowledged(o) && !b.state(o).status.is_terminal())
        .count();
    let detail = match v.kind {
        AccountKind::Margin => BalanceDetail::Margin(MarginBalances {
            fed_call: Number::default(),
            maintenance_call: Number::default(),
            // Options are paid in full: half the margin account's stock power.
            option_buying_power: cents(v.buying_power / Decimal::TWO),
            stock_buying_power: cents(v.buying_power),
            stock_short_value: cents(v.short_market_value),
            sweep: Number::default(),
        }),
        AccountKind::Cash => BalanceDetail::Cash(CashBalances {
            cash_available: cents(v.buying_power),
            sweep: Number::default(),
            unsettled_funds: Number::default(),
        }),
    };
    Balances {
        option_short_value: cents(option_short),
        total_equity: cents(v.equity),
        account_number: acct.to_string(),
        account_type: kind_word(v.kind),
        close_pl: cents(v.realized_pnl),
        current_requirement: Number::default(),
        equity: Number::default(),
        long_market_value: cents(v.long_market_value),
        market_value: cents(v.long_market_value.saturating_add(v.short_market_value)),
        open_pl: cents(v.unrealized_pnl),
        option_long_value: cents(option_long),
        option_requirement: Number::default(),
        pending_orders_count: pending,
        short_market_value: cents(v.short_market_value),
        stock_long_value: cents(stock_long),
        total_cash: cents(v.cash),
        uncleared_funds: Number::default(),
        pending_cash: Number::default(),
        detail,
    }
}

pub async fn balances(
    TradierAccount(acct): TradierAccount,
    format: Format,
    State(s): State<Shared>,
) -> Response {
    let mut b = s.lock();
    b.sync();
    let doc = view(&b, &acct).map(|v| BalancesDoc {
        balances: balances_of(&b, &acct, &v),
    });
    format.answer(doc)
}

/// When the position still held was opened: the first fill after the last
/// time the account was flat in the instrument.
fn acquired(b: &SimBrokerage, acct: &str, p: &PositionView) -> mbt::Timestamp {
    b.events_since(0)
        .rev()
        .filter_map(|e| match &e.kind {
            BrokerEventKind::Fill {
                instrument,
                position_quantity,
                ..
            } if e.account == acct && *instrument == p.instrument => {
                Some((e.time, position_quantity))
            }
            _ => None,
        })
        .take_while(|(_, after)| !after.is_zero())
        .last()
        .map_or(b.now(), |(time, _)| time)
}

pub async fn positions(
    TradierAccount(acct): TradierAccount,
    format: Format,
    State(s): State<Shared>,
) -> Response {
    let mut b = s.lock();
    b.sync();
    let doc = view(&b, &acct).map(|v| {
        let items = v
            .positions
            .iter()
            .map(|p| {
                let symbol = wire::symbol(&p.instrument);
                Position {
                    // The ledger's cost, every digit (§2.7).
                    cost_basis: Number(p.cost_basis),
                    date_acquired: wire::time(acquired(&b, &acct, p)),
                    id: wire::stable_id(&[&acct, &symbol]),
                    quantity: Number(p.quantity),
                    symbol,
                }
            })
            .collect();
        PositionsDoc {
            positions: Listing::new(items),
        }
    });
    format.answer(doc)
}
