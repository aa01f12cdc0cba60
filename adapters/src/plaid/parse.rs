//! Plaid's JSON → the contract. Where Plaid's conventions differ from the
//! contract's, the conversion happens here and only here:
//! - option quantities are shares-equivalent (contracts × 100, §3.2): the
//!   contract counts contracts;
//! - `cost_basis` is the position's total: the average price is it over
//!   the (shares-equivalent) quantity, per share as the contract has it;
//! - a transaction's `amount` is positive when cash leaves (§3.4): the
//!   contract's is negative for money out;
//! - cash is a holding of a cash security (§3.3): not a position;
//! - freshness: holdings are as old as the institution's last update.

use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc};
use rust_decimal::Decimal;

use super::models::{
    Account as PlaidAccount, Holding, HoldingsResponse, InvestmentTransaction, OptionContract,
    Security,
};
use crate::contract::{Account, Instrument, Position, Transaction, TransactionKind};
use crate::error::{AdapterError, Result};
use mbt::{OccSymbol, OptionRight};

fn malformed(what: impl std::fmt::Display) -> AdapterError {
    AdapterError::unknown(format!("malformed answer from Plaid: {what}"))
}

/// What Plaid's holdings say about one account.
#[derive(Debug, Default)]
pub struct Imported {
    pub positions: Vec<Position>,
    /// The oldest price time among the account's holdings.
    pub priced_at: Option<DateTime<Utc>>,
}

/// The account's positions: its holdings, cash left out, each in contract
/// units with its average price. A holding the contract cannot name (no
/// ticker: a bond, a fund share class without a symbol) or not in dollars
/// is left out: Raxx trades equities and options in dollars only.
pub fn holdings(resp: &HoldingsResponse, account_id: &str) -> Result<Imported> {
    let mut out = Imported::default();
    for h in resp.holdings.iter().filter(|h| h.account_id == account_id) {
        let security = resp
            .securities
            .iter()
            .find(|s| s.security_id == h.security_id)
            .ok_or_else(|| malformed(format!("holding of unknown security {}", h.security_id)))?;
        let priced = price_time(h)?;
        out.priced_at = match (out.priced_at, priced) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if is_cash(security)
            || h.iso_currency_code.as_deref() != Some("USD")
            || h.unofficial_currency_code.is_some()
        {
            continue;
        }
        let Some(instrument) = instrument(security)? else {
            continue;
        };
        out.positions.push(position(account_id, instrument, h)?);
    }
    Ok(out)
}

fn is_cash(s: &Security) -> bool {
    s.is_cash_equivalent == Some(true) || s.kind.as_deref() == Some("cash")
}

/// When a holding's price was current: its datetime, else the start of its date.
fn price_time(h: &Holding) -> Result<Option<DateTime<Utc>>> {
    if let Some(t) = &h.institution_price_datetime {
        return datetime(t).map(Some);
    }
    h.institution_price_as_of
        .as_deref()
        .map(|d| date(d).map(|d| d.and_time(NaiveTime::MIN).and_utc()))
        .transpose()
}

/// Plaid's datetime (`2026-01-05T15:00:00Z`; a missing zone is read as UTC).
pub fn datetime(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
        })
        .map_err(|_| malformed(format!("datetime {text:.40}")))
}

pub fn date(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| malformed(format!("date {text:.40}")))
}

/// RFC 3339, as the contract's `as_of` is written.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The contract's instrument for a security: an option by its contract
/// terms, else its ticker (an OCC symbol or an equity); None without one.
fn instrument(s: &Security) -> Result<Option<Instrument>> {
    if let Some(c) = &s.option_contract {
        return option(c).map(Some);
    }
    Ok(s.ticker_symbol
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(Instrument::parse_symbol))
}

fn option(c: &OptionContract) -> Result<Instrument> {
    let right = match c.contract_type.as_str() {
        "call" => OptionRight::Call,
        "put" => OptionRight::Put,
        other => return Err(malformed(format!("option contract type {other:.20}"))),
    };
    let expiry = date(&c.expiration_date)?;
    OccSymbol::new(
        &c.underlying_security_ticker,
        expiry,
        right,
        c.strike_price.0,
    )
    .map(Instrument::option)
    .map_err(malformed)
}

/// Plaid's units (shares-equivalent) in the instrument's own (contracts).
fn units(instrument: &Instrument, plaid_quantity: Decimal) -> Result<Decimal> {
    plaid_quantity
        .checked_div(instrument.multiplier())
        .ok_or_else(|| malformed(format!("quantity {plaid_quantity}")))
}

fn position(account_id: &str, instrument: Instrument, h: &Holding) -> Result<Position> {
    let quantity = units(&instrument, h.quantity.0)?;
    // Per share: the total cost over the shares (-equivalent). No cost
    // basis from the institution reads as an average price of zero.
    let average_price = match h.cost_basis {
        Some(cost) if !h.quantity.0.is_zero() => cost
            .0
            .checked_div(h.quantity.0)
            .ok_or_else(|| malformed(format!("cost basis {}", cost.0)))?
            .round_dp(6)
            .normalize(),
        _ => Decimal::ZERO,
    };
    Ok(Position {
        account_id: account_id.to_string(),
        instrument,
        quantity,
        average_price,
    })
}

/// The account's balances: `available` is its cash (and what it can buy
/// with), `current` its total value. An institution that gives no
/// available balance leaves cash at zero rather than guessing.
pub fn account(accounts: &[PlaidAccount], account_id: &str) -> Result<Account> {
    let a = accounts
        .iter()
        .find(|a| a.account_id == account_id)
        .ok_or_else(|| AdapterError::not_found(format!("Plaid lists no account {account_id}")))?;
    let cash = a.balances.available.map_or(Decimal::ZERO, |n| n.0);
    Ok(Account {
        account_id: account_id.to_string(),
        cash,
        buying_power: cash,
        equity: a.balances.current.map_or(cash, |n| n.0),
    })
}

/// What kind of activity Plaid's type and subtype describe (§3.4).
fn kind(t: &InvestmentTransaction) -> TransactionKind {
    match (t.kind.as_str(), t.subtype.as_str()) {
        ("buy", _) => TransactionKind::Buy,
        ("sell", _) => TransactionKind::Sell,
        ("fee", _) => TransactionKind::Fee,
        ("cash", s) if s.contains("dividend") => TransactionKind::Dividend,
        ("cash", "contribution" | "deposit" | "withdrawal") | ("transfer", _) => {
            TransactionKind::Transfer
        }
        _ => TransactionKind::Other,
    }
}

/// One investment transaction in the contract's units and signs.
pub fn transaction(t: &InvestmentTransaction, securities: &[Security]) -> Result<Transaction> {
    let security = t
        .security_id
        .as_ref()
        .map(|id| {
            securities
                .iter()
                .find(|s| &s.security_id == id)
                .ok_or_else(|| malformed(format!("transaction of unknown security {id}")))
        })
        .transpose()?;
    let instrument = match security {
        Some(s) if !is_cash(s) => instrument(s)?,
        _ => None,
    };
    let quantity = match &instrument {
        Some(i) => units(i, t.quantity.0.abs())?,
        None => t.quantity.0.abs(),
    };
    let priced = instrument.is_some() && !t.price.0.is_zero();
    Ok(Transaction {
        transaction_id: t.investment_transaction_id.clone(),
        account_id: t.account_id.clone(),
        date: date(&t.date)?.format("%Y-%m-%d").to_string(),
        kind: kind(t),
        instrument,
        quantity,
        price: priced.then_some(t.price.0),
        // A decimal's negation is exact: its range is symmetric.
        amount: -t.amount.0,
        fees: t.fees.map_or(Decimal::ZERO, |f| f.0),
    })
}
