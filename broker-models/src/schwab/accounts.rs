//! Accounts (reference §2.1, §2.8): numbers and their hashes, the account
//! document (balances, and positions with `fields=positions`), and the
//! user's preferences, which say where the streamer is.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::Json;
use rust_decimal::Decimal;
use serde::Deserialize;

use mbt::engine::{AccountView, PositionView};
use mbt::AccountKind;

use super::auth::{account_hash, Account, SchwabAuth};
use super::errors::SchwabError;
use super::orders::instrument;
use super::stream::streamer_ids;
use super::wire::{
    AccountDoc, AccountNumberHash, AggregatedBalance, Balance, Balances, Double, Offer, Position,
    PreferenceAccount, SecuritiesAccount, StreamerInfo, UserPreference,
};
use crate::brokerage::SimBrokerage;
use crate::face::Shared;

/// `GET /accounts/accountNumbers`: the hash every path takes (§2.1).
pub async fn numbers(_: SchwabAuth, State(s): State<Shared>) -> Json<Vec<AccountNumberHash>> {
    let b = s.lock();
    Json(
        b.account_numbers()
            .into_iter()
            .map(|n| AccountNumberHash {
                hash_value: account_hash(&b, &n),
                account_number: n,
            })
            .collect(),
    )
}

#[derive(Deserialize, Default)]
pub struct Fields {
    fields: Option<String>,
}

impl Fields {
    /// `fields=positions` (a comma list; positions is the one field, §2.1).
    fn positions(&self) -> Result<bool, SchwabError> {
        let mut positions = false;
        for f in self.fields.iter().flat_map(|f| f.split(',')).map(str::trim) {
            match f {
                "positions" => positions = true,
                "" => {}
                other => {
                    return Err(SchwabError::invalid(format!(
                        "Invalid fields value: {other:.32}"
                    )))
                }
            }
        }
        Ok(positions)
    }
}

/// `GET /accounts/{hash}[?fields=positions]`.
pub async fn one(
    Account(number): Account,
    State(s): State<Shared>,
    Query(q): Query<Fields>,
) -> Result<Json<AccountDoc>, SchwabError> {
    let with_positions = q.positions()?;
    let mut b = s.lock();
    b.sync();
    document(&b, &number, with_positions)
        .map(Json)
        .ok_or_else(SchwabError::invalid_account)
}

/// `GET /accounts[?fields=positions]`: every linked account.
pub async fn all(
    _: SchwabAuth,
    State(s): State<Shared>,
    Query(q): Query<Fields>,
) -> Result<Json<Vec<AccountDoc>>, SchwabError> {
    let with_positions = q.positions()?;
    let mut b = s.lock();
    b.sync();
    Ok(Json(
        b.account_numbers()
            .iter()
            .filter_map(|n| document(&b, n, with_positions))
            .collect(),
    ))
}

fn document(b: &SimBrokerage, number: &str, with_positions: bool) -> Option<AccountDoc> {
    let view = b.account(number)?;
    let opening = b
        .profile()
        .accounts
        .iter()
        .find(|a| a.number == number)
        .map_or(Decimal::ZERO, |a| a.cash);
    let margin = view.kind == AccountKind::Margin;
    Some(AccountDoc {
        aggregated_balance: AggregatedBalance {
            current_liquidation_value: Double(view.equity),
            liquidation_value: Double(view.equity),
        },
        securities_account: SecuritiesAccount {
            kind: if margin { "MARGIN" } else { "CASH" },
            account_number: number.to_string(),
            round_trips: 0,
            is_day_trader: false,
            is_closing_only_restricted: false,
            pfcb_flag: false,
            positions: with_positions.then(|| view.positions.iter().filter_map(position).collect()),
            initial_balances: initial(opening, margin),
            current_balances: current(&view, margin),
            projected_balances: projected(&view, margin),
        },
    })
}

fn amount(name: &'static str, d: Decimal) -> (&'static str, Balance) {
    (name, Balance::Amount(Double(d)))
}

const IN_CALL: (&str, Balance) = ("isInCall", Balance::Flag(false));

/// What Reg-T lets a margin account put into marginable stock: half its
/// buying power (the engine's buying power is twice the free equity).
fn available(bp: Decimal, margin: bool) -> Decimal {
    if margin {
        bp / Decimal::TWO
    } else {
        bp
    }
}

/// Start-of-day balances: the account as it opened. Calls, interest,
/// pending deposits and money funds are not modelled: zero.
fn initial(cash: Decimal, margin: bool) -> Balances {
    let zero = Decimal::ZERO;
    let bp = if margin {
        cash.saturating_mul(Decimal::TWO)
    } else {
        cash
    };
    let mut b = vec![
        amount("accruedInterest", zero),
        amount("cashAvailableForTrading", cash),
    ];
    if margin {
        b.extend([
            amount("availableFundsNonMarginableTrade", cash),
            amount("bondValue", zero),
            amount("buyingPower", bp),
            amount("cashBalance", cash),
            amount("cashReceipts", zero),
            amount("dayTradingBuyingPower", zero),
            amount("dayTradingBuyingPowerCall", zero),
            amount("dayTradingEquityCall", zero),
            amount("equity", cash),
            amount("equityPercentage", Decimal::ONE_HUNDRED),
            amount("liquidationValue", cash),
            amount("longMarginValue", zero),
            amount("longOptionMarketValue", zero),
            amount("longStockValue", zero),
            amount("maintenanceCall", zero),
            amount("maintenanceRequirement", zero),
            amount("margin", zero),
            amount("marginEquity", cash),
            amount("moneyMarketFund", zero),
            amount("mutualFundValue", zero),
            amount("regTCall", zero),
            amount("shortMarginValue", zero),
            amount("shortOptionMarketValue", zero),
            amount("shortStockValue", zero),
            amount("totalCash", cash),
            IN_CALL,
            amount("unsettledCash", zero),
            amount("pendingDeposits", zero),
            amount("marginBalance", zero),
            amount("shortBalance", zero),
            amount("accountValue", cash),
        ]);
    } else {
        b.extend([
            amount("cashAvailableForWithdrawal", cash),
            amount("cashBalance", cash),
            amount("bondValue", zero),
            amount("cashReceipts", zero),
            amount("liquidationValue", cash),
            amount("longOptionMarketValue", zero),
            amount("longStockValue", zero),
            amount("moneyMarketFund", zero),
            amount("mutualFundValue", zero),
            amount("shortOptionMarketValue", zero),
            amount("shortStockValue", zero),
            IN_CALL,
            amount("unsettledCash", zero),
            amount("cashDebitCallValue", zero),
            amount("pendingDeposits", zero),
            amount("accountValue", cash),
        ]);
    }
    Balances(b)
}

/// Market values of the account's option and stock positions, long and short.
struct Values {
    long_options: Decimal,
    short_options: Decimal,
    long_stock: Decimal,
    short_stock: Decimal,
}

fn values(v: &AccountView) -> Values {
    let mut out = Values {
        long_options: Decimal::ZERO,
        short_options: Decimal::ZERO,
        long_stock: Decimal::ZERO,
        short_stock: Decimal::ZERO,
    };
    for p in &v.positions {
        let slot = match (p.instrument.is_option(), p.market_value >= Decimal::ZERO) {
            (true, true) => &mut out.long_options,
            (true, false) => &mut out.short_options,
            (false, true) => &mut out.long_stock,
            (false, false) => &mut out.short_stock,
        };
        *slot = slot.saturating_add(p.market_value);
    }
    out
}

/// The balances now. `cashBalance` is the engine's cash to the last digit
/// (a client reconciling cash must see exactly what the broker holds).
fn current(v: &AccountView, margin: bool) -> Balances {
    let zero = Decimal::ZERO;
    let m = values(v);
    let funds = available(v.buying_power, margin);
    let mut b = vec![
        amount("accruedInterest", zero),
        amount("cashBalance", v.cash),
        amount("cashReceipts", zero),
        amount("longOptionMarketValue", m.long_options),
        amount("liquidationValue", v.equity),
        amount("longMarketValue", m.long_stock),
        amount("moneyMarketFund", zero),
        amount("savings", zero),
        amount("shortMarketValue", m.short_stock),
        amount("pendingDeposits", zero),
        amount("mutualFundValue", zero),
        amount("bondValue", zero),
        amount("shortOptionMarketValue", m.short_options),
    ];
    if margin {
        b.extend([
            amount("availableFunds", funds),
            amount("availableFundsNonMarginableTrade", funds),
            amount("buyingPower", v.buying_power),
            amount("buyingPowerNonMarginableTrade", funds),
            amount("dayTradingBuyingPower", zero),
            amount("dayTradingBuyingPowerCall", zero),
            amount("equity", v.equity),
            amount("equityPercentage", Decimal::ONE_HUNDRED),
            amount("longMarginValue", m.long_stock),
            amount("maintenanceCall", zero),
            // Maintenance margin is not modelled (the engine applies Reg-T's initial 50%).
            amount("maintenanceRequirement", zero),
            amount("marginBalance", zero),
            amount("regTCall", zero),
            amount("shortBalance", m.short_stock),
            amount("shortMarginValue", m.short_stock),
            amount("sma", funds),
            IN_CALL,
            amount("stockBuyingPower", v.buying_power),
            amount("optionBuyingPower", funds),
        ]);
    } else {
        b.extend([
            amount("cashAvailableForTrading", v.buying_power),
            amount("cashAvailableForWithdrawal", v.cash.max(zero)),
            amount("cashCall", zero),
            amount("longNonMarginableMarketValue", m.long_stock),
            amount("totalCash", v.cash),
            amount("cashDebitCallValue", zero),
            amount("unsettledCash", zero),
        ]);
    }
    Balances(b)
}

fn projected(v: &AccountView, margin: bool) -> Balances {
    let zero = Decimal::ZERO;
    let funds = available(v.buying_power, margin);
    if !margin {
        return Balances(vec![
            amount("cashAvailableForTrading", v.buying_power),
            amount("cashAvailableForWithdrawal", v.cash.max(zero)),
        ]);
    }
    Balances(vec![
        amount("availableFunds", funds),
        amount("availableFundsNonMarginableTrade", funds),
        amount("buyingPower", v.buying_power),
        amount("dayTradingBuyingPower", zero),
        amount("dayTradingBuyingPowerCall", zero),
        amount("maintenanceCall", zero),
        amount("regTCall", zero),
        IN_CALL,
        amount("stockBuyingPower", v.buying_power),
    ])
}

/// A position (§2.1): long and short quantities apart, both ≥ 0.
fn position(p: &PositionView) -> Option<Position> {
    if p.quantity.is_zero() {
        return None;
    }
    let long = p.quantity > Decimal::ZERO;
    let avg = Double(p.average_price);
    let pnl = Double(p.unrealized_pnl);
    Some(Position {
        short_quantity: Double(if long { Decimal::ZERO } else { -p.quantity }),
        average_price: avg,
        current_day_profit_loss: pnl,
        current_day_profit_loss_percentage: Double(
            p.unrealized_pnl
                .checked_div(p.cost_basis.abs())
                .map_or(Decimal::ZERO, |r| (r * Decimal::ONE_HUNDRED).round_dp(2)),
        ),
        long_quantity: Double(if long { p.quantity } else { Decimal::ZERO }),
        settled_long_quantity: Double(Decimal::ZERO),
        settled_short_quantity: Double(Decimal::ZERO),
        instrument: instrument(&p.instrument, true),
        market_value: Double(p.market_value),
        maintenance_requirement: Double(Decimal::ZERO),
        average_long_price: long.then_some(avg),
        average_short_price: (!long).then_some(avg),
        tax_lot_average_long_price: long.then_some(avg),
        tax_lot_average_short_price: (!long).then_some(avg),
        long_open_profit_loss: long.then_some(pnl),
        short_open_profit_loss: (!long).then_some(pnl),
        previous_session_long_quantity: Double(Decimal::ZERO),
        current_day_cost: Double(p.cost_basis.abs()),
    })
}

/// Where the streamer is: on the host the client reached (from `Host`),
/// as a `ws://` URL, since the model serves it beside the REST API.
fn streamer_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
        .map_or_else(|| "streamer-api.schwab.com".to_string(), |a| a.to_string());
    format!("ws://{host}/ws")
}

/// `GET /userPreference`: an object, not the spec's array (§2.8, §8.4).
pub async fn preference(
    _: SchwabAuth,
    State(s): State<Shared>,
    headers: HeaderMap,
) -> Json<UserPreference> {
    let b = s.lock();
    let (customer, correl) = streamer_ids(&b);
    let accounts = b
        .account_numbers()
        .into_iter()
        .enumerate()
        .map(|(i, n)| PreferenceAccount {
            display_acct_id: format!("...{}", n.get(n.len().saturating_sub(3)..).unwrap_or("")),
            account_number: n,
            primary_account: i == 0,
            kind: "BROKERAGE",
            nick_name: "Individual".to_string(),
            auto_position_effect: false,
            account_color: "Green",
        })
        .collect();
    Json(UserPreference {
        accounts,
        streamer_info: vec![StreamerInfo {
            streamer_socket_url: streamer_url(&headers),
            schwab_client_customer_id: customer,
            schwab_client_correl_id: correl,
            schwab_client_channel: "N9",
            schwab_client_function_id: "APIAPP",
        }],
        offers: vec![Offer {
            level2_permissions: true,
            mkt_data_permission: "NP",
        }],
    })
}
