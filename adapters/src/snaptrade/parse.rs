//! SnapTrade's bodies → the contract (reference §4.4, §5). Every v1 status
//! word maps to one normalized status; a word the adapter does not know is
//! an `unknown` error, never a guess. Arithmetic on SnapTrade's numbers is
//! checked: a value out of range is an error, not a panic.

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;

use super::models::{self, OrderRecord};
use crate::contract::{
    Account, Holdings, Instrument, OrderResult, OrderStatus, Position, Transaction, TransactionKind,
};
use crate::error::{AdapterError, Result};

/// SnapTrade's v1 status words (`AccountOrderRecordStatus`, 20 of them) as
/// the contract's. Words of an order taken but not yet working read
/// pending, words of a working order accepted; either with fills is
/// partially filled.
pub fn status(word: &str, filled: Decimal) -> Result<OrderStatus> {
    let waiting = if filled.is_zero() {
        OrderStatus::Pending
    } else {
        OrderStatus::PartiallyFilled
    };
    let working = if filled.is_zero() {
        OrderStatus::Accepted
    } else {
        OrderStatus::PartiallyFilled
    };
    Ok(match word {
        // Taken, not at the venue yet: SnapTrade has no state for it yet
        // (NONE), it waits for the brokerage, a session, a risk desk, or a
        // parent order (CONTINGENT_ORDER).
        "NONE" | "PENDING" | "QUEUED" | "PENDING_RISK_REVIEW" | "CONTINGENT_ORDER" => waiting,
        // Working: a stop that triggered, an order activated, stopped (held
        // at a price) or suspended by the venue, or one whose replace has
        // not landed yet — each can still fill, none is final.
        "ACCEPTED" | "TRIGGERED" | "ACTIVATED" | "STOPPED" | "SUSPENDED" | "REPLACE_PENDING" => {
            working
        }
        "PARTIAL" => OrderStatus::PartiallyFilled,
        "CANCEL_PENDING" => OrderStatus::PendingCancel,
        "EXECUTED" => OrderStatus::Filled,
        // Canceled after a partial fill: final, the fills stay.
        "CANCELED" | "PARTIAL_CANCELED" => OrderStatus::Canceled,
        // FAILED: the brokerage did not take the order.
        "REJECTED" | "FAILED" => OrderStatus::Rejected,
        "EXPIRED" => OrderStatus::Expired,
        "REPLACED" => OrderStatus::Replaced,
        other => {
            return Err(AdapterError::unknown(format!(
                "SnapTrade order status {other:.40} has no meaning the adapter knows"
            )))
        }
    })
}

fn out_of_range(what: &str) -> AdapterError {
    AdapterError::unknown(format!("SnapTrade's {what} is out of range"))
}

/// An order record as the contract's result; `client_order_id` is what the
/// adapter remembers for it (SnapTrade keeps none).
pub fn order(o: &OrderRecord, client_order_id: String) -> Result<OrderResult> {
    let id = &o.brokerage_order_id;
    let word = o.status.as_deref().ok_or_else(|| {
        AdapterError::unknown(format!("SnapTrade's order {id:.40} has no status"))
    })?;
    let total = o.total_quantity.map(|n| n.0).ok_or_else(|| {
        AdapterError::unknown(format!("SnapTrade's order {id:.40} has no total_quantity"))
    })?;
    // An executed order is filled in full, whether or not the brokerage
    // reported the quantity.
    let filled = match o.filled_quantity {
        Some(n) => n.0,
        None if word == "EXECUTED" => total,
        None => Decimal::ZERO,
    };
    let canceled = o.canceled_quantity.map_or(Decimal::ZERO, |n| n.0);
    let status = status(word, filled)?;
    let remaining = total
        .checked_sub(filled)
        .and_then(|r| r.checked_sub(canceled))
        .ok_or_else(|| out_of_range("order quantity"))?
        .max(Decimal::ZERO);
    let reject_reason = (status == OrderStatus::Rejected).then(|| {
        format!("SnapTrade reports the order {word} (the brokerage gave no reason through it)")
    });
    Ok(OrderResult {
        broker_order_id: id.clone(),
        client_order_id,
        status,
        filled_quantity: filled.normalize(),
        remaining_quantity: remaining.normalize(),
        average_fill_price: o
            .execution_price
            .filter(|_| !filled.is_zero())
            .map(|p| p.0.normalize()),
        reject_reason,
        broker_status: word.to_string(),
    })
}

/// When an order was placed (`time_placed`, RFC 3339), in Unix ms.
pub fn placed_ms(o: &OrderRecord) -> Option<i64> {
    let text = o.time_placed.as_deref()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The contract's instrument for a position's: stock-like kinds by their
/// ticker, options by their OCC symbol. None for what the contract cannot
/// express (crypto, futures, mutual funds, CFDs, other).
fn instrument(i: &models::PositionInstrument) -> Result<Option<Instrument>> {
    match i.kind.as_str() {
        "stock" | "etf" | "adr" | "cef" => Ok(Some(Instrument::equity(i.symbol.clone()))),
        "option" => i
            .symbol
            .parse::<mbt::OccSymbol>()
            .map(|occ| Some(Instrument::option(occ)))
            .map_err(|_| {
                AdapterError::unknown(format!(
                    "SnapTrade option symbol {:.32} is not an OCC symbol",
                    i.symbol
                ))
            }),
        _ => Ok(None),
    }
}

/// The average price of a position: its cost basis, which SnapTrade gives
/// per share ("book price or average purchase price", the spec's example
/// "118.2" beside a price of "123.45"; per share for options too), else
/// its current price when the brokerage reports no cost.
fn average_price(p: &models::Position) -> Result<Decimal> {
    p.cost_basis
        .or(p.price)
        // A short position's cost may come signed; a price has no sign.
        .map(|a| a.0.abs().normalize())
        .ok_or_else(|| {
            AdapterError::unknown(format!(
                "SnapTrade's position in {:.24} has neither a cost basis nor a price",
                p.instrument.symbol
            ))
        })
}

/// The positions of `positions/all` the contract can express.
pub fn positions(doc: &models::Positions, account_id: &str) -> Result<Vec<Position>> {
    let mut out = Vec::new();
    for p in &doc.results {
        let Some(instrument) = instrument(&p.instrument)? else {
            continue;
        };
        let units = p.units.map(|n| n.0).ok_or_else(|| {
            AdapterError::unknown(format!(
                "SnapTrade's position in {:.24} has no units",
                p.instrument.symbol
            ))
        })?;
        if units.is_zero() {
            continue;
        }
        out.push(Position {
            account_id: account_id.to_string(),
            instrument,
            quantity: units.normalize(),
            average_price: average_price(p)?,
        });
    }
    Ok(out)
}

/// The holdings of `positions/all`, with when SnapTrade fetched them from
/// the institution (`data_freshness.as_of`), in RFC 3339 UTC.
pub fn holdings(doc: &models::Positions, account_id: &str) -> Result<Holdings> {
    let as_of = DateTime::parse_from_rfc3339(&doc.data_freshness.as_of)
        .map_err(|_| {
            AdapterError::unknown(format!(
                "SnapTrade's data_freshness.as_of {:.40} is not a date-time",
                doc.data_freshness.as_of
            ))
        })?
        .with_timezone(&Utc)
        .to_rfc3339_opts(SecondsFormat::AutoSi, true);
    Ok(Holdings {
        account_id: account_id.to_string(),
        positions: positions(doc, account_id)?,
        as_of: Some(as_of),
    })
}

fn is_usd(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.eq_ignore_ascii_case("USD"))
}

/// The account's money: cash and buying power from its USD balance (a
/// brokerage that reports no buying power has its cash as buying power,
/// §4.4), equity from the account's total value.
pub fn account(
    doc: &models::Account,
    balances: &[models::Balance],
    account_id: &str,
) -> Result<Account> {
    // Another account's document would put its money under this one.
    if doc.id != account_id {
        return Err(AdapterError::unknown(format!(
            "SnapTrade answered for account {:.40} when asked for {account_id:.40}",
            doc.id
        )));
    }
    let usd = balances
        .iter()
        .find(|b| is_usd(b.currency.as_ref().and_then(|c| c.code.as_deref())))
        .ok_or_else(|| AdapterError::unknown("SnapTrade reports no USD balance for the account"))?;
    let cash = usd
        .cash
        .ok_or_else(|| AdapterError::unknown("SnapTrade reports no USD cash for the account"))?;
    let total = doc
        .balance
        .as_ref()
        .and_then(|b| b.total.as_ref())
        .ok_or_else(|| AdapterError::unknown("SnapTrade reports no total value for the account"))?;
    if total.currency.is_some() && !is_usd(total.currency.as_deref()) {
        return Err(AdapterError::unknown(format!(
            "SnapTrade reports the account's total value in {:.8}, not USD",
            total.currency.as_deref().unwrap_or_default()
        )));
    }
    let equity = total
        .amount
        .ok_or_else(|| AdapterError::unknown("SnapTrade reports no total value for the account"))?;
    Ok(Account {
        account_id: account_id.to_string(),
        cash: cash.0.normalize(),
        buying_power: usd.buying_power.unwrap_or(cash).0.normalize(),
        equity: equity.0.normalize(),
    })
}

/// The contract's kind for SnapTrade's type word (§4.4: open-ended; the
/// brokerage's own word passes through when SnapTrade cannot map it).
fn transaction_kind(word: &str) -> TransactionKind {
    match word {
        "BUY" | "REI" => TransactionKind::Buy,
        "SELL" => TransactionKind::Sell,
        "DIVIDEND" | "STOCK_DIVIDEND" => TransactionKind::Dividend,
        "FEE" | "TAX" => TransactionKind::Fee,
        "CONTRIBUTION"
        | "WITHDRAWAL"
        | "TRANSFER"
        | "EXTERNAL_ASSET_TRANSFER_IN"
        | "EXTERNAL_ASSET_TRANSFER_OUT"
        | "INTERNAL_CASH_TRANSFER_IN"
        | "INTERNAL_CASH_TRANSFER_OUT"
        | "INTERNAL_ASSET_TRANSFER_IN"
        | "INTERNAL_ASSET_TRANSFER_OUT" => TransactionKind::Transfer,
        _ => TransactionKind::Other,
    }
}

/// One activity in the contract's units and signs: quantities unsigned,
/// the amount's sign SnapTrade's own (negative out), a price only where a
/// security changed hands at one.
pub fn transaction(a: &models::Activity, account_id: &str) -> Result<Transaction> {
    let instrument = match (&a.option_symbol, &a.symbol) {
        (Some(o), _) => Some(Instrument::option(
            o.ticker.parse::<mbt::OccSymbol>().map_err(|_| {
                AdapterError::unknown(format!(
                    "SnapTrade option symbol {:.32} is not an OCC symbol",
                    o.ticker
                ))
            })?,
        )),
        (None, Some(s)) if !s.symbol.is_empty() => Some(Instrument::equity(s.symbol.clone())),
        _ => None,
    };
    let date = a
        .trade_date
        .as_deref()
        .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
        .ok_or_else(|| {
            AdapterError::unknown(format!("SnapTrade activity {:.40} has no trade date", a.id))
        })?
        .with_timezone(&Utc)
        .format("%Y-%m-%d")
        .to_string();
    let number = |n: &Option<crate::json::Number>| n.as_ref().map_or(Decimal::ZERO, |n| n.0);
    let price = number(&a.price);
    Ok(Transaction {
        transaction_id: a.id.clone(),
        account_id: account_id.to_string(),
        date,
        kind: transaction_kind(&a.kind),
        quantity: number(&a.units).abs().normalize(),
        price: (instrument.is_some() && !price.is_zero()).then(|| price.normalize()),
        instrument,
        amount: number(&a.amount).normalize(),
        fees: number(&a.fee).abs().normalize(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    /// The spec's `AccountOrderRecordStatus`, all 20 words.
    const WORDS: [&str; 20] = [
        "NONE",
        "PENDING",
        "ACCEPTED",
        "FAILED",
        "REJECTED",
        "CANCELED",
        "PARTIAL_CANCELED",
        "CANCEL_PENDING",
        "EXECUTED",
        "PARTIAL",
        "REPLACE_PENDING",
        "REPLACED",
        "STOPPED",
        "SUSPENDED",
        "EXPIRED",
        "QUEUED",
        "TRIGGERED",
        "ACTIVATED",
        "PENDING_RISK_REVIEW",
        "CONTINGENT_ORDER",
    ];

    #[test]
    fn every_status_word_maps_and_unknown_ones_do_not() {
        for w in WORDS {
            assert!(status(w, dec!(0)).is_ok(), "{w}");
            assert!(status(w, dec!(2)).is_ok(), "{w}");
        }
        assert_eq!(status("PENDING", dec!(0)).unwrap(), OrderStatus::Pending);
        assert_eq!(status("ACCEPTED", dec!(0)).unwrap(), OrderStatus::Accepted);
        assert_eq!(
            status("ACCEPTED", dec!(3)).unwrap(),
            OrderStatus::PartiallyFilled
        );
        assert_eq!(
            status("PARTIAL_CANCELED", dec!(3)).unwrap(),
            OrderStatus::Canceled
        );
        for unknown in ["PARTIALLY_EXECUTED", "FILLED", "canceled", ""] {
            assert!(status(unknown, dec!(0)).is_err(), "{unknown}");
        }
    }

    #[test]
    fn an_average_is_the_cost_basis_per_share_else_the_price() {
        let p = |price: Option<&str>, cost: Option<&str>| {
            let json = serde_json::json!({
                "instrument": {"kind": "stock", "symbol": "AAPL"},
                "units": "4", "price": price, "cost_basis": cost,
            });
            average_price(&serde_json::from_value(json).unwrap())
        };
        assert_eq!(p(Some("190"), Some("185.50")).unwrap(), dec!(185.5));
        assert_eq!(p(Some("190"), Some("-185.5")).unwrap(), dec!(185.5));
        assert_eq!(p(Some("189.50"), None).unwrap(), dec!(189.5));
        assert!(p(None, None).is_err());
    }
}
