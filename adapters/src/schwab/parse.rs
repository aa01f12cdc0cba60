//! Schwab's bodies → the contract (reference §2.1, §2.4, §3 and its
//! appendix). Every status word maps to one normalized status; a word the
//! adapter does not know (or `UNKNOWN`) is an `unknown` error, never a guess.

use rust_decimal::Decimal;

use super::models::{self, AccountDoc, Instrument};
use crate::contract::{Account, OrderResult, OrderStatus, Position};
use crate::error::{AdapterError, Result};

/// Schwab's status words (§3, `apiOrderStatus`) as the contract's. There
/// is no PARTIALLY_FILLED: a WORKING order with fills is partially filled.
pub fn status(word: &str, filled: Decimal) -> Result<OrderStatus> {
    let working = if filled.is_zero() {
        OrderStatus::Accepted
    } else {
        OrderStatus::PartiallyFilled
    };
    Ok(match word {
        // Taken, not working yet (the appendix's pending_new).
        "NEW"
        | "ACCEPTED"
        | "QUEUED"
        | "PENDING_ACKNOWLEDGEMENT"
        | "PENDING_ACTIVATION"
        | "AWAITING_PARENT_ORDER"
        | "AWAITING_CONDITION"
        | "AWAITING_STOP_CONDITION"
        | "AWAITING_RELEASE_TIME"
        | "AWAITING_MANUAL_REVIEW"
            if filled.is_zero() =>
        {
            OrderStatus::Pending
        }
        // Still working until the change lands (it can fill meanwhile).
        "WORKING"
        | "PENDING_REPLACE"
        | "PENDING_RECALL"
        | "NEW"
        | "ACCEPTED"
        | "QUEUED"
        | "PENDING_ACKNOWLEDGEMENT"
        | "PENDING_ACTIVATION"
        | "AWAITING_PARENT_ORDER"
        | "AWAITING_CONDITION"
        | "AWAITING_STOP_CONDITION"
        | "AWAITING_RELEASE_TIME"
        | "AWAITING_MANUAL_REVIEW" => working,
        // A cancel asked for, waiting for the venue's "you are out" (§3).
        "PENDING_CANCEL" | "AWAITING_UR_OUT" => OrderStatus::PendingCancel,
        "FILLED" => OrderStatus::Filled,
        "CANCELED" => OrderStatus::Canceled,
        "REJECTED" => OrderStatus::Rejected,
        "EXPIRED" => OrderStatus::Expired,
        "REPLACED" => OrderStatus::Replaced,
        other => {
            return Err(AdapterError::unknown(format!(
                "Schwab order status {other:.40} has no meaning the adapter knows"
            )))
        }
    })
}

/// The contract's instrument for a Schwab one: equities (and ETFs, which
/// Schwab files as COLLECTIVE_INVESTMENT) by ticker, options by their OCC
/// symbol (§7). None for what the contract cannot express (funds, bonds,
/// money market): a position in them cannot be traded through it either.
pub fn instrument(i: &Instrument) -> Result<Option<crate::contract::Instrument>> {
    match i.asset_type.as_str() {
        "EQUITY" | "COLLECTIVE_INVESTMENT" => {
            Ok(Some(crate::contract::Instrument::equity(i.symbol.clone())))
        }
        "OPTION" => i
            .symbol
            .parse::<mbt::OccSymbol>()
            .map(|occ| Some(crate::contract::Instrument::option(occ)))
            .map_err(|_| {
                AdapterError::unknown(format!(
                    "Schwab option symbol {:.32} is not an OCC symbol",
                    i.symbol
                ))
            }),
        _ => Ok(None),
    }
}

/// The average fill price from the executions (§3 appendix: Σ price ×
/// quantity). One leg: the quantity-weighted mean. Several (a spread): the
/// net price per spread, legs bought counting up and legs sold down, as
/// the spread's own price is positive (§6).
fn average(o: &models::Order, filled: Decimal) -> Option<Decimal> {
    if filled.is_zero() {
        return None;
    }
    let legs = &o.order_leg_collection;
    let sold = |leg_id: Option<u32>| {
        legs.iter()
            .find(|l| l.leg_id == leg_id)
            .or(legs.first())
            .is_some_and(|l| l.instruction.starts_with("SELL"))
    };
    let executions = o
        .order_activity_collection
        .iter()
        .filter(|a| a.activity_type == "EXECUTION")
        .flat_map(|a| &a.execution_legs);
    let mut notional = Decimal::ZERO;
    let mut units = Decimal::ZERO;
    for e in executions {
        let value = e.price.0.checked_mul(e.quantity.0)?;
        if legs.len() > 1 {
            notional = if sold(e.leg_id) {
                notional.checked_sub(value)?
            } else {
                notional.checked_add(value)?
            };
        } else {
            notional = notional.checked_add(value)?;
            units = units.checked_add(e.quantity.0)?;
        }
    }
    let per = if legs.len() > 1 { filled } else { units };
    notional.abs().checked_div(per).map(|a| a.normalize())
}

/// An order as the contract's result; `client_order_id` is what the
/// adapter remembers for it (Schwab keeps none, §4).
pub fn order(o: &models::Order, client_order_id: String) -> Result<OrderResult> {
    let filled = o.filled_quantity.map_or(Decimal::ZERO, |n| n.0);
    let quantity = o.quantity.map_or(filled, |n| n.0);
    let status = status(&o.status, filled)?;
    let reject_reason = (status == OrderStatus::Rejected).then(|| {
        o.status_description
            .clone()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "rejected by Schwab (no reason given)".to_string())
    });
    Ok(OrderResult {
        broker_order_id: o.order_id.to_string(),
        client_order_id,
        status,
        filled_quantity: filled.normalize(),
        remaining_quantity: OrderResult::remaining(quantity, filled).normalize(),
        average_fill_price: average(o, filled),
        reject_reason,
        broker_status: o.status.clone(),
    })
}

/// A document for another account than the one asked for would put its
/// money and positions under the wrong account: refused.
fn same_account(doc: &AccountDoc, account_id: &str) -> Result<()> {
    if doc.securities_account.account_number == account_id {
        Ok(())
    } else {
        Err(AdapterError::unknown(format!(
            "Schwab answered for account {:.12} when asked for {account_id:.12}",
            doc.securities_account.account_number
        )))
    }
}

/// The positions of an account document (`fields=positions`): long and
/// short quantities apart on the wire (§2.1), signed in the contract.
pub fn positions(doc: &AccountDoc, account_id: &str) -> Result<Vec<Position>> {
    same_account(doc, account_id)?;
    let mut out = Vec::new();
    for p in &doc.securities_account.positions {
        let Some(instrument) = instrument(&p.instrument)? else {
            continue;
        };
        let quantity = p
            .long_quantity
            .0
            .checked_sub(p.short_quantity.0)
            .ok_or_else(|| AdapterError::unknown("Schwab position quantity out of range"))?;
        if quantity.is_zero() {
            continue;
        }
        out.push(Position {
            account_id: account_id.to_string(),
            instrument,
            quantity: quantity.normalize(),
            average_price: p.average_price.0.normalize(),
        });
    }
    Ok(out)
}

/// The account's money (§2.1): a MARGIN account's cash balance and buying
/// power, a CASH account's total cash and cash available for trading; the
/// liquidation value as equity.
pub fn account(doc: &AccountDoc, account_id: &str) -> Result<Account> {
    same_account(doc, account_id)?;
    let b = &doc.securities_account.current_balances;
    let missing = |what: &str| {
        AdapterError::unknown(format!(
            "Schwab's account document has no {what} in currentBalances"
        ))
    };
    let cash = b
        .cash_balance
        .or(b.total_cash)
        .ok_or_else(|| missing("cashBalance"))?;
    let buying_power = b
        .buying_power
        .or(b.cash_available_for_trading)
        .ok_or_else(|| missing("buyingPower"))?;
    let equity = b
        .liquidation_value
        .or(b.equity)
        .ok_or_else(|| missing("liquidationValue"))?;
    Ok(Account {
        account_id: account_id.to_string(),
        cash: cash.0.normalize(),
        buying_power: buying_power.0.normalize(),
        equity: equity.0.normalize(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn every_status_word_maps_and_unknown_ones_do_not() {
        let words = [
            "AWAITING_PARENT_ORDER",
            "AWAITING_CONDITION",
            "AWAITING_STOP_CONDITION",
            "AWAITING_MANUAL_REVIEW",
            "ACCEPTED",
            "AWAITING_UR_OUT",
            "PENDING_ACTIVATION",
            "QUEUED",
            "WORKING",
            "REJECTED",
            "PENDING_CANCEL",
            "CANCELED",
            "PENDING_REPLACE",
            "REPLACED",
            "FILLED",
            "EXPIRED",
            "NEW",
            "AWAITING_RELEASE_TIME",
            "PENDING_ACKNOWLEDGEMENT",
            "PENDING_RECALL",
        ];
        for w in words {
            assert!(status(w, dec!(0)).is_ok(), "{w}");
        }
        assert_eq!(
            status("WORKING", dec!(2)).unwrap(),
            OrderStatus::PartiallyFilled
        );
        assert_eq!(status("QUEUED", dec!(0)).unwrap(), OrderStatus::Pending);
        assert!(status("UNKNOWN", dec!(0)).is_err());
        assert!(status("PARTIALLY_FILLED", dec!(1)).is_err());
    }
}
