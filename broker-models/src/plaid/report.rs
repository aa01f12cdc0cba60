//! The institution's data as Plaid serves it: accounts, holdings,
//! securities and investment transactions, from the holder's snapshots and
//! history in the brokerage core. Plaid's data is the institution's as of
//! its last update (§6): the latest snapshot, or, when the fault plan says
//! the answer comes from a cache `age_ms` old, the one in force then —
//! stamped with when that cache was filled.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use mbt::engine::{AccountView, PositionView};
use mbt::{Instrument, OptionRight, Timestamp};

use super::institution::{account_look, describe_equity, ticker};
use super::state::Item;
use super::wire::{
    self, date, datetime, Balances, Holding, InvestmentTransaction, Number, OptionContract,
    Security,
};
use crate::brokerage::{HolderActivity, HolderActivityKind, SimBrokerage, Snapshot};
use crate::ids::stable_alnum;

const USD: Option<&str> = Some("USD");

/// What one answer is made from: a snapshot and when Plaid last updated the Item.
pub struct Report<'a> {
    pub snapshot: &'a Snapshot,
    /// `last_successful_update`: the snapshot's posting, or when the cache was filled.
    pub updated: Timestamp,
    /// The newest moment of the institution's history the answer may show.
    pub horizon: Timestamp,
}

/// The report in force now, or `stale_ms` ago; None before the institution
/// reported anything (the data is not ready).
pub fn report(b: &SimBrokerage, stale_ms: Option<u64>) -> Option<Report<'_>> {
    let now = b.now();
    let age = stale_ms.map(|ms| i64::try_from(ms).unwrap_or(i64::MAX));
    let horizon = age.map_or(now, |ms| now.plus_millis(ms.saturating_neg()));
    let snapshot = b.holder()?.snapshot_at(horizon)?;
    let updated = if age.is_some() {
        horizon
    } else {
        snapshot.time
    };
    Some(Report {
        snapshot,
        updated,
        horizon,
    })
}

/// The Item's investment accounts that `filter` names (all when None), with
/// their institution views; None when the filter names one the Item lacks.
pub fn accounts_of<'a>(
    item: &'a Item,
    snapshot: &'a Snapshot,
    filter: Option<&[String]>,
) -> Option<Vec<(usize, &'a str, &'a AccountView)>> {
    if let Some(ids) = filter {
        if ids.iter().any(|id| item.number_of(id).is_none()) {
            return None;
        }
    }
    Some(
        item.accounts
            .iter()
            .enumerate()
            .filter(|(_, (id, _))| filter.is_none_or(|ids| ids.contains(id)))
            .filter_map(|(i, (id, number))| {
                let view = snapshot.accounts.iter().find(|v| &v.account_id == number)?;
                Some((i, id.as_str(), view))
            })
            .collect(),
    )
}

/// An investment account; `investment` adds `margin_loan_amount`, which
/// holdings and transactions answers require and `/accounts/get` lacks.
pub fn account(index: usize, id: &str, view: &AccountView, investment: bool) -> wire::Account {
    let look = account_look(index);
    wire::Account {
        account_id: id.to_string(),
        balances: Balances {
            available: Some(Number(view.cash)),
            current: Some(Number(view.equity)),
            limit: None,
            iso_currency_code: USD,
            unofficial_currency_code: None,
            margin_loan_amount: investment.then_some(None),
        },
        mask: look.mask,
        name: look.name,
        official_name: None,
        kind: "investment",
        subtype: Some(look.subtype),
    }
}

/// Plaid's id of a security: the same for everyone who holds it.
pub fn security_id(instrument: Option<&Instrument>) -> String {
    let name = instrument.map_or_else(|| "CUR:USD".to_string(), ticker);
    stable_alnum(&["plaid-security", &name], 37)
}

/// Units Plaid counts: shares, or shares-equivalent for options (§3.2).
fn plaid_units(instrument: &Instrument, units: Decimal) -> Decimal {
    units.saturating_mul(instrument.multiplier())
}

/// The holdings and their securities, for the accounts given.
pub fn holdings(
    accounts: &[(usize, &str, &AccountView)],
    at: Timestamp,
) -> (Vec<Holding>, Vec<Security>) {
    let mut out = Vec::new();
    let mut securities = BTreeMap::new();
    for (_, id, view) in accounts {
        for p in view.positions.iter().filter(|p| !p.quantity.is_zero()) {
            out.push(position(id, p, at));
            let s = security(Some(&p.instrument), p.mark, at);
            securities.insert(s.security_id.clone(), s);
        }
        if !view.cash.is_zero() {
            // Cash shows as a holding of the cash security (§3.3), priced 1.
            out.push(Holding {
                account_id: id.to_string(),
                security_id: security_id(None),
                institution_price: Number(Decimal::ONE),
                institution_price_as_of: Some(date(at)),
                institution_price_datetime: Some(datetime(at)),
                institution_value: Number(view.cash),
                cost_basis: Some(Number(view.cash)),
                quantity: Number(view.cash),
                iso_currency_code: USD,
                unofficial_currency_code: None,
                vested_quantity: None,
                vested_value: None,
            });
            let s = security(None, Some(Decimal::ONE), at);
            securities.insert(s.security_id.clone(), s);
        }
    }
    (out, securities.into_values().collect())
}

fn position(account_id: &str, p: &PositionView, at: Timestamp) -> Holding {
    Holding {
        account_id: account_id.to_string(),
        security_id: security_id(Some(&p.instrument)),
        institution_price: Number(p.mark.unwrap_or(p.average_price)),
        institution_price_as_of: Some(date(at)),
        institution_price_datetime: Some(datetime(at)),
        institution_value: Number(p.market_value),
        cost_basis: Some(Number(p.cost_basis)),
        quantity: Number(plaid_units(&p.instrument, p.quantity)),
        iso_currency_code: USD,
        unofficial_currency_code: None,
        vested_quantity: None,
        vested_value: None,
    }
}

/// A security as Plaid describes it; None is the cash security.
pub fn security(
    instrument: Option<&Instrument>,
    close: Option<Decimal>,
    at: Timestamp,
) -> Security {
    let (name, kind, subtype, mic, option_contract) = match instrument {
        None => ("U S Dollar".to_string(), "cash", "cash", None, None),
        Some(Instrument::Equity { symbol }) => {
            let d = describe_equity(symbol);
            (d.name.to_string(), d.kind, d.subtype, d.mic, None)
        }
        Some(Instrument::Option { occ }) => {
            let right = match occ.right() {
                OptionRight::Call => "call",
                OptionRight::Put => "put",
            };
            let name = format!(
                "{} {} {} {}",
                occ.root(),
                occ.expiry().format("%b %d %Y"),
                occ.strike(),
                right
            );
            let contract = OptionContract {
                contract_type: right,
                expiration_date: occ.expiry().format("%Y-%m-%d").to_string(),
                strike_price: Number(occ.strike()),
                underlying_security_ticker: occ.root().to_string(),
            };
            (
                name,
                "derivative",
                "option",
                describe_equity(occ.root()).mic,
                Some(contract),
            )
        }
    };
    Security {
        security_id: security_id(instrument),
        isin: None,
        cusip: None,
        sedol: None,
        institution_security_id: None,
        institution_id: None,
        proxy_security_id: None,
        name,
        ticker_symbol: Some(instrument.map_or_else(|| "CUR:USD".to_string(), ticker)),
        is_cash_equivalent: instrument.is_none(),
        kind,
        subtype,
        close_price: close.map(Number),
        close_price_as_of: close.map(|_| date(at)),
        update_datetime: Some(datetime(at)),
        iso_currency_code: USD,
        unofficial_currency_code: None,
        market_identifier_code: mic,
        sector: None,
        industry: None,
        cfi_code: None,
        figi: None,
        option_contract,
        fixed_income: None,
    }
}

/// One entry of the history in Plaid's words and signs: `amount` positive
/// when cash leaves the account, `quantity` negative for a sell.
pub fn transaction(item_account: &str, a: &HolderActivity) -> InvestmentTransaction {
    let units = |q: Decimal| match &a.instrument {
        Some(i) => plaid_units(i, q),
        None => q,
    };
    let what = a
        .instrument
        .as_ref()
        .map(|i| match i {
            Instrument::Equity { symbol } => describe_equity(symbol).name.to_string(),
            Instrument::Option { .. } => ticker(i),
        })
        .unwrap_or_default();
    let (kind, subtype, name) = match a.kind {
        HolderActivityKind::Contribution => ("cash", "contribution", "CONTRIBUTION".to_string()),
        HolderActivityKind::Buy => ("buy", "buy", format!("BUY {what}")),
        HolderActivityKind::Sell => ("sell", "sell", format!("SELL {what}")),
        HolderActivityKind::Dividend => ("cash", "dividend", format!("DIVIDEND RECEIVED {what}")),
        HolderActivityKind::Fee => ("fee", "account fee", "ACCOUNT FEE".to_string()),
    };
    let quantity = match a.kind {
        HolderActivityKind::Sell => -units(a.quantity),
        _ => units(a.quantity),
    };
    InvestmentTransaction {
        // The connection's own Item shows the institution's ids; an Item
        // linked later sees the same history under ids of its own.
        investment_transaction_id: if item_account == a.account {
            a.id.clone()
        } else {
            stable_alnum(&[item_account, &a.id], 37)
        },
        account_id: item_account.to_string(),
        security_id: a.instrument.as_ref().map(|i| security_id(Some(i))),
        date: date(a.time),
        transaction_datetime: Some(datetime(a.time)),
        name,
        quantity: Number(quantity),
        amount: Number(-a.amount),
        price: Number(a.price.unwrap_or_default()),
        fees: Some(Number(a.fees)),
        kind,
        subtype,
        iso_currency_code: USD,
        unofficial_currency_code: None,
        cancel_transaction_id: None,
    }
}

/// The securities the given transactions name, once each, with the
/// report's closing prices where the institution still holds them.
pub fn securities_of(history: &[&HolderActivity], snapshot: &Snapshot) -> Vec<Security> {
    let mut out = BTreeMap::new();
    for i in history.iter().filter_map(|a| a.instrument.as_ref()) {
        let close = snapshot
            .accounts
            .iter()
            .flat_map(|v| &v.positions)
            .find(|p| &p.instrument == i)
            .and_then(|p| p.mark);
        let s = security(Some(i), close, snapshot.time);
        out.insert(s.security_id.clone(), s);
    }
    out.into_values().collect()
}
