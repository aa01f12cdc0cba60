//! An account's transaction history (§4.4 getAccountActivities, §8.1).
//!
//! SnapTrade syncs activities once a day, a day late on every plan: an
//! answer holds what happened up to the end of yesterday, never today's.
//! The history is the brokerage's: where the user trades on their own (the
//! profile's holder, at the brokerages SnapTrade only reads) it is theirs,
//! deposits, trades, dividends and fees; where the connection trades, it is
//! the fills of its orders. Newest first by trade date, paged by
//! `offset`/`limit`, filtered by `startDate`/`endDate` (inclusive) and `type`.

use axum::extract::{Path, State};
use axum::Json;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use mbt::{EngineEvent, Instrument, Side, Timestamp};

use super::accounts::{reach, Reach};
use super::auth::UserCall;
use super::errors::SnapTradeError;
use super::view;
use super::wire::{AccountSimple, PaginatedActivities, Pagination, UniversalActivity};
use crate::brokerage::{HolderActivity, HolderActivityKind, SimBrokerage};
use crate::face::Shared;
use crate::ids::stable_uuid;
use crate::json::Double;

/// `limit`'s default and most (the spec: "Default of 1000").
const MAX_LIMIT: usize = 1000;

/// One entry before it is put in SnapTrade's shape.
struct Entry {
    id: String,
    time: Timestamp,
    kind: &'static str,
    instrument: Option<Instrument>,
    units: Decimal,
    price: Decimal,
    /// Positive into the account, negative out of it (§4.4: the reverse of Plaid's).
    amount: Decimal,
    fee: Decimal,
    /// An option trade's `BUY_TO_OPEN` and the like (set by `option_actions`); empty otherwise.
    option_action: &'static str,
}

/// SnapTrade's type word for what the holder did.
fn holder_word(kind: HolderActivityKind) -> &'static str {
    match kind {
        HolderActivityKind::Contribution => "CONTRIBUTION",
        HolderActivityKind::Buy => "BUY",
        HolderActivityKind::Sell => "SELL",
        HolderActivityKind::Dividend => "DIVIDEND",
        HolderActivityKind::Fee => "FEE",
    }
}

fn from_holder(a: &HolderActivity) -> Entry {
    Entry {
        // The brokerage's id for the entry, as SnapTrade reports it: a UUID.
        id: stable_uuid(&["snaptrade-activity", &a.id]),
        time: a.time,
        kind: holder_word(a.kind),
        instrument: a.instrument.clone(),
        units: a.quantity,
        price: a.price.unwrap_or_default(),
        amount: a.amount,
        fee: a.fees,
        option_action: "",
    }
}

/// The account's fills, each an entry: a buy takes its cost and fee out of
/// the account, a sell puts its proceeds less the fee in.
fn fills(b: &SimBrokerage, account: &str) -> Vec<Entry> {
    b.engine()
        .log()
        .entries()
        .enumerate()
        .filter_map(|(i, e)| match &e.event {
            EngineEvent::Fill {
                order_id,
                account_id,
                instrument,
                side,
                quantity,
                price,
                fee,
                ..
            } if account_id == account => {
                let gross = price
                    .saturating_mul(*quantity)
                    .saturating_mul(instrument.multiplier());
                let amount = match side {
                    Side::Buy => -gross,
                    Side::Sell => gross,
                }
                .saturating_sub(*fee);
                Some(Entry {
                    id: stable_uuid(&["snaptrade-fill", &order_id.to_string(), &i.to_string()]),
                    time: e.time,
                    kind: match side {
                        Side::Buy => "BUY",
                        Side::Sell => "SELL",
                    },
                    instrument: Some(instrument.clone()),
                    units: *quantity,
                    price: *price,
                    amount,
                    fee: *fee,
                    option_action: "",
                })
            }
            _ => None,
        })
        .collect()
}

/// The account's whole history, oldest first.
fn history(b: &SimBrokerage, account: &str) -> Vec<Entry> {
    let mut entries = match b.holder().filter(|h| h.program().holds(account)) {
        Some(holder) => holder
            .activity()
            .iter()
            .filter(|a| a.account == account)
            .map(from_holder)
            .collect(),
        None => fills(b, account),
    };
    option_actions(&mut entries);
    entries
}

/// Says of each option trade whether it opened or closed, from the
/// position before it: the history starts flat (the account opened with
/// cash), so walking it in order knows every position. A trade that
/// crosses zero reads as the close it starts with.
fn option_actions(entries: &mut [Entry]) {
    let mut held: BTreeMap<Instrument, Decimal> = BTreeMap::new();
    for e in entries.iter_mut() {
        let Some(option @ Instrument::Option { .. }) = &e.instrument else {
            continue;
        };
        let before = held.get(option).copied().unwrap_or_default();
        let (signed, action) = match e.kind {
            "BUY" if before < Decimal::ZERO => (e.units, "BUY_TO_CLOSE"),
            "BUY" => (e.units, "BUY_TO_OPEN"),
            "SELL" if before > Decimal::ZERO => (-e.units, "SELL_TO_CLOSE"),
            "SELL" => (-e.units, "SELL_TO_OPEN"),
            _ => continue,
        };
        held.insert(option.clone(), before.saturating_add(signed));
        e.option_action = action;
    }
}

fn date_param(call: &UserCall, name: &str) -> Result<Option<NaiveDate>, SnapTradeError> {
    call.0
        .param(name)
        .map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                SnapTradeError::invalid(format!(
                    "Unable to verify data sent: {name} must be a date (YYYY-MM-DD), not {d:.12}"
                ))
            })
        })
        .transpose()
}

fn count_param(
    call: &UserCall,
    name: &str,
    default: usize,
    min: usize,
) -> Result<usize, SnapTradeError> {
    match call.0.param(name) {
        None => Ok(default),
        Some(v) => v.parse::<usize>().ok().filter(|n| *n >= min).ok_or_else(|| {
            SnapTradeError::invalid(format!(
                "Unable to verify data sent: {name} must be an integer of at least {min}, not {v:.12}"
            ))
        }),
    }
}

/// `GET /accounts/{id}/activities`.
pub async fn activities(
    Path(id): Path<String>,
    State(s): State<Shared>,
    call: UserCall,
) -> Result<Json<PaginatedActivities>, SnapTradeError> {
    let start = date_param(&call, "startDate")?;
    let end = date_param(&call, "endDate")?;
    let offset = count_param(&call, "offset", 0, 0)?;
    let limit = count_param(&call, "limit", MAX_LIMIT, 1)?.min(MAX_LIMIT);
    let types: Option<Vec<String>> = call
        .0
        .param("type")
        .map(|t| t.split(',').map(|w| w.trim().to_uppercase()).collect());
    let mut b = s.lock();
    b.sync();
    let d = reach(&b, &id, &call.0, Reach::Read)?;
    let today = b.now().date();
    let mut rows: Vec<Entry> = history(&b, &id)
        .into_iter()
        .filter(|e| {
            let day = e.time.date();
            day < today
                && start.is_none_or(|s| day >= s)
                && end.is_none_or(|t| day <= t)
                && types
                    .as_ref()
                    .is_none_or(|ts| ts.iter().any(|w| w == e.kind))
        })
        .collect();
    // Newest first by trade date; the history's own order within a moment.
    rows.reverse();
    let total = rows.len();
    let account = view::account_simple(&b, &d, &id);
    let data = rows
        .iter()
        .skip(offset)
        .take(limit)
        .map(|e| activity(e, &account, &d.name))
        .collect();
    Ok(Json(PaginatedActivities {
        data,
        pagination: Pagination {
            offset,
            limit,
            total,
        },
    }))
}

fn activity(e: &Entry, account: &AccountSimple, institution: &str) -> UniversalActivity {
    let name = e.instrument.as_ref().map(|i| i.to_string());
    let description = match &name {
        Some(s) => format!("{} {s}", e.kind),
        None => e.kind.to_string(),
    };
    // Equities settle a business day later (T+1); the model states the
    // next calendar day's midnight, as the brokerages' feeds often do.
    let settled = e
        .time
        .date()
        .succ_opt()
        .unwrap_or(e.time.date())
        .format("%Y-%m-%dT00:00:00.000000Z")
        .to_string();
    // An option's trade names its contract in `option_symbol`, with
    // `symbol` null (the spec: "null if the transaction is not related to
    // a security"; the contract is not a `Symbol`).
    let (symbol, option_symbol) = match &e.instrument {
        Some(Instrument::Option { occ }) => (None, Some(view::options_symbol(occ))),
        Some(Instrument::Equity { symbol }) => (Some(view::universal_symbol(symbol)), None),
        None => (None, None),
    };
    UniversalActivity {
        id: e.id.clone(),
        account: account.clone(),
        symbol,
        currency_universal_symbol: None,
        option_symbol,
        price: Double(e.price),
        units: Double(e.units),
        amount: Some(Double(e.amount)),
        currency: view::usd(),
        kind: e.kind,
        option_type: e.option_action,
        description,
        trade_date: Some(view::iso(e.time)),
        settlement_date: settled,
        fee: Double(e.fee),
        fx_rate: None,
        institution: institution.to_string(),
        external_reference_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(kind: &'static str, instrument: &Instrument, units: i64) -> Entry {
        Entry {
            id: String::new(),
            time: Timestamp::from_secs(0),
            kind,
            instrument: Some(instrument.clone()),
            units: Decimal::from(units),
            price: Decimal::ONE,
            amount: Decimal::ZERO,
            fee: Decimal::ZERO,
            option_action: "",
        }
    }

    #[test]
    fn an_option_trade_opens_or_closes_by_the_position_before_it() {
        let call = Instrument::parse_symbol("AAPL  260116C00200000");
        let share = Instrument::equity("AAPL");
        let mut entries = [
            trade("BUY", &call, 2),
            trade("SELL", &call, 2),
            trade("SELL", &call, 1),
            trade("BUY", &share, 5),
            trade("BUY", &call, 1),
        ];
        option_actions(&mut entries);
        let actions: Vec<&str> = entries.iter().map(|e| e.option_action).collect();
        assert_eq!(
            actions,
            [
                "BUY_TO_OPEN",
                "SELL_TO_CLOSE",
                "SELL_TO_OPEN",
                "",
                "BUY_TO_CLOSE"
            ]
        );
    }
}
