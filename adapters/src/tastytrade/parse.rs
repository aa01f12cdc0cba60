//! tastytrade's objects → the contract's (reference §2.5, §2.9, §2.10, §3
//! and the appendix). Every status word maps, or the order is an error,
//! never a guess. Fills are per leg; a partial fill keeps `Live`, so the
//! contract's `partially_filled` comes from the fills. Money is never
//! signed on the wire: a spread's net price takes its sign from each leg's
//! action and the order's `price-effect`.

use rust_decimal::Decimal;

use super::models::{Balance, Leg, Order, Position as TtPosition};
use crate::contract::{Account, Instrument, OrderResult, OrderStatus, Position};
use crate::error::{AdapterError, Result};

/// Every status tastytrade documents (§3), as the contract's status of an
/// order with `filled` units filled.
pub fn status(word: &str, filled: Decimal, replaced: bool) -> Result<OrderStatus> {
    Ok(match word {
        // Taken, not working at the exchange yet (a replacement and a
        // complex order's child wait `Contingent`).
        "Received" | "Routed" | "In Flight" | "Contingent" => OrderStatus::Pending,
        "Live" if filled > Decimal::ZERO => OrderStatus::PartiallyFilled,
        "Live" => OrderStatus::Accepted,
        // Both still fill until they land; a replace cancels the original.
        "Cancel Requested" | "Replace Requested" => OrderStatus::PendingCancel,
        "Filled" => OrderStatus::Filled,
        // The original of a replace ends `Cancelled` with the id of its
        // replacement (§2.8): replaced, in the contract's words.
        "Cancelled" if replaced => OrderStatus::Replaced,
        // Removed by tastytrade (after a partial fill or not): it ended unfilled.
        "Cancelled" | "Removed" | "Partially Removed" => OrderStatus::Canceled,
        "Expired" => OrderStatus::Expired,
        "Rejected" => OrderStatus::Rejected,
        other => {
            return Err(AdapterError::unknown(format!(
                "tastytrade reported an order status this adapter does not know: {other:.40}"
            )))
        }
    })
}

/// +1 for what a leg sells, −1 for what it buys: a credit is positive.
fn credit_sign(action: &str) -> Result<Decimal> {
    if action.starts_with("Sell") {
        Ok(Decimal::ONE)
    } else if action.starts_with("Buy") {
        Ok(Decimal::NEGATIVE_ONE)
    } else {
        Err(AdapterError::unknown(format!(
            "tastytrade reported a leg action this adapter does not know: {action:.40}"
        )))
    }
}

/// One leg's executions: units filled and their cost.
fn executed(l: &Leg) -> (Decimal, Decimal) {
    l.fills
        .iter()
        .fold((Decimal::ZERO, Decimal::ZERO), |(q, c), f| {
            (
                q.saturating_add(f.quantity.0),
                c.saturating_add(f.quantity.0.saturating_mul(f.fill_price.0)),
            )
        })
}

/// The order's size: `size`, else its first leg's quantity.
fn size(o: &Order) -> Decimal {
    o.size
        .map(|n| n.0)
        .or_else(|| o.legs.first().and_then(|l| l.quantity).map(|n| n.0))
        .unwrap_or(Decimal::ZERO)
}

/// Units (spreads, for several legs) filled, and the average price per
/// unit: a single leg's quantity-weighted fill price; a spread's net per
/// spread, positive in the direction of its `price-effect` (a credit
/// spread's average is the credit it took).
fn fills(o: &Order, size: Decimal) -> Result<(Decimal, Option<Decimal>)> {
    if let [one] = o.legs.as_slice() {
        let (q, cost) = executed(one);
        return Ok((q, cost.checked_div(q).map(|a| a.normalize())));
    }
    let mut filled: Option<Decimal> = None;
    let mut net_credit = Decimal::ZERO;
    for l in &o.legs {
        let ratio = l
            .quantity
            .map(|q| q.0)
            .and_then(|q| q.checked_div(size))
            .filter(|r| *r > Decimal::ZERO)
            .ok_or_else(|| AdapterError::unknown("a tastytrade spread leg without a quantity"))?;
        let (q, cost) = executed(l);
        let spreads = q.checked_div(ratio).unwrap_or(Decimal::ZERO);
        filled = Some(filled.map_or(spreads, |f| f.min(spreads)));
        // Per spread: the leg's average price times its ratio.
        let per_spread = cost
            .checked_div(q)
            .unwrap_or(Decimal::ZERO)
            .saturating_mul(ratio);
        net_credit = net_credit.saturating_add(credit_sign(&l.action)?.saturating_mul(per_spread));
    }
    let filled = filled.unwrap_or(Decimal::ZERO);
    if filled.is_zero() {
        return Ok((filled, None));
    }
    let net = match o.price_effect.as_deref() {
        Some("Debit") => -net_credit,
        Some("Credit") => net_credit,
        other => {
            return Err(AdapterError::unknown(format!(
                "a tastytrade spread without a price-effect to say debit or credit ({other:?})"
            )))
        }
    };
    Ok((filled, Some(net.normalize())))
}

/// An order (REST or streamer) in the contract's terms.
pub fn order(o: &Order) -> Result<OrderResult> {
    let size = size(o);
    let (filled, average) = fills(o, size)?;
    let status = status(&o.status, filled, o.replacing_order_id.is_some())?;
    let remaining = if status.is_terminal() {
        Decimal::ZERO
    } else {
        OrderResult::remaining(size, filled)
    };
    let reject_reason = (status == OrderStatus::Rejected).then(|| {
        o.reject_reason
            .clone()
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| o.status.clone())
    });
    Ok(OrderResult {
        broker_order_id: o.id.0.clone(),
        client_order_id: o.external_identifier.clone().unwrap_or_default(),
        status,
        filled_quantity: filled.normalize(),
        remaining_quantity: remaining.normalize(),
        average_fill_price: average.filter(|_| filled > Decimal::ZERO),
        reject_reason,
        broker_status: o.status.clone(),
    })
}

/// A tastytrade symbol as an instrument: an equity option by its OCC
/// symbol, an equity by its ticker (§7).
pub fn instrument(kind: &str, symbol: &str) -> Result<Instrument> {
    match kind {
        "Equity" => Ok(Instrument::equity(symbol)),
        "Equity Option" => symbol.parse().map(Instrument::option).map_err(|e| {
            AdapterError::unknown(format!("tastytrade sent a bad option symbol: {e}"))
        }),
        other => Err(AdapterError::unsupported(format!(
            "the contract has no {other:.40} instruments"
        ))),
    }
}

/// A position, signed from its direction; None for a closed (`Zero`) one
/// and for instruments the contract has no words for (futures, crypto).
pub fn position(p: &TtPosition, account_id: &str) -> Result<Option<Position>> {
    let short = match p.quantity_direction.as_str() {
        "Long" => false,
        "Short" => true,
        "Zero" => return Ok(None),
        other => {
            return Err(AdapterError::unknown(format!(
                "tastytrade reported a position direction this adapter does not know: {other:.40}"
            )))
        }
    };
    let instrument = match instrument(&p.instrument_type, &p.symbol) {
        Ok(i) => i,
        Err(e) if e.kind == crate::error::ErrorKind::Unsupported => return Ok(None),
        Err(e) => return Err(e),
    };
    if p.quantity.0.is_zero() {
        return Ok(None);
    }
    Ok(Some(Position {
        account_id: account_id.to_string(),
        instrument,
        quantity: if short {
            -p.quantity.0.abs()
        } else {
            p.quantity.0.abs()
        }
        .normalize(),
        average_price: p.average_open_price.0.normalize(),
    }))
}

pub fn account(b: &Balance) -> Account {
    Account {
        account_id: b.account_number.clone(),
        cash: b.cash_balance.0.normalize(),
        buying_power: b.equity_buying_power.0.normalize(),
        equity: b.net_liquidating_value.0.normalize(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_word_maps() {
        for w in [
            "Received",
            "Routed",
            "In Flight",
            "Contingent",
            "Live",
            "Cancel Requested",
            "Replace Requested",
            "Filled",
            "Cancelled",
            "Expired",
            "Rejected",
            "Removed",
            "Partially Removed",
        ] {
            assert!(status(w, Decimal::ZERO, false).is_ok(), "{w}");
        }
        assert_eq!(
            status("Live", Decimal::ONE, false),
            Ok(OrderStatus::PartiallyFilled)
        );
        assert_eq!(
            status("Cancelled", Decimal::ZERO, true),
            Ok(OrderStatus::Replaced)
        );
        assert!(status("Partially Filled", Decimal::ZERO, false).is_err());
    }
}
