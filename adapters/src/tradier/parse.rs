//! Tradier's objects → the contract's (reference §2.2, §2.7, §2.8, §3.1 and
//! the appendix). The vendor's status word is kept verbatim in
//! `broker_status`; an unknown word is an error, never a guess.

use rust_decimal::Decimal;

use super::models::{Balances, Number, StreamEvent, TradierOrder, TradierPosition};
use crate::contract::{Account, Instrument, OrderResult, OrderStatus, Position};
use crate::error::{AdapterError, Result};

/// Every order status Tradier documents, REST and stream (§3.1): the
/// working ones (`pending, open, submitted, partially_filled, held,
/// accepted_for_bidding, calculated`) and the terminal ones (`filled,
/// canceled, expired, rejected, error`).
pub fn status(word: &str) -> Result<OrderStatus> {
    Ok(match word {
        // Seen first after a submit, and while a cancel is in flight.
        "pending" | "submitted" => OrderStatus::Pending,
        // Working on the book, or held by the broker's desk before it is.
        "open" | "held" | "accepted_for_bidding" | "calculated" => OrderStatus::Accepted,
        "partially_filled" => OrderStatus::PartiallyFilled,
        "filled" => OrderStatus::Filled,
        "canceled" => OrderStatus::Canceled,
        "expired" => OrderStatus::Expired,
        // `error` is terminal and the order never worked: a refusal.
        "rejected" | "error" => OrderStatus::Rejected,
        other => {
            return Err(AdapterError::unknown(format!(
                "Tradier reported an order status this adapter does not know: {:.40}",
                other
            )))
        }
    })
}

fn dec(n: Option<Number>) -> Decimal {
    n.map_or(Decimal::ZERO, |n| n.0)
}

/// The fields an order's state is built from, whether they come from the
/// REST order object or a stream event.
struct State<'a> {
    id: &'a str,
    word: &'a str,
    filled: Decimal,
    remaining: Option<Decimal>,
    quantity: Option<Decimal>,
    avg: Decimal,
    reason: Option<&'a str>,
}

fn result(s: State<'_>, client_order_id: String) -> Result<OrderResult> {
    let status = status(s.word)?;
    let filled = s.filled.max(Decimal::ZERO);
    let remaining = match (s.remaining, s.quantity) {
        (Some(r), _) => r.max(Decimal::ZERO),
        (None, _) if status.is_terminal() => Decimal::ZERO,
        (None, Some(q)) => OrderResult::remaining(q, filled),
        (None, None) => Decimal::ZERO,
    };
    // Tradier writes 0 (not null) before the first fill.
    let average_fill_price = (filled > Decimal::ZERO && s.avg > Decimal::ZERO).then_some(s.avg);
    let reject_reason = (status == OrderStatus::Rejected).then(|| {
        s.reason
            .filter(|r| !r.trim().is_empty())
            .unwrap_or(s.word)
            .to_string()
    });
    Ok(OrderResult {
        broker_order_id: s.id.to_string(),
        client_order_id,
        status,
        filled_quantity: filled.normalize(),
        remaining_quantity: remaining.normalize(),
        average_fill_price: average_fill_price.map(|p| p.normalize()),
        reject_reason,
        broker_status: s.word.to_string(),
    })
}

/// A REST order object. `client_order_id` comes from its tag (the caller decodes).
pub fn order(o: &TradierOrder, client_order_id: String) -> Result<OrderResult> {
    result(
        State {
            id: &o.id.0,
            word: &o.status,
            filled: dec(o.exec_quantity),
            remaining: o.remaining_quantity.map(|n| n.0),
            quantity: o.quantity.map(|n| n.0),
            avg: dec(o.avg_fill_price),
            reason: o.reason_description.as_deref(),
        },
        client_order_id,
    )
}

/// An `order` event from the account stream.
pub fn event(e: &StreamEvent, client_order_id: String) -> Result<OrderResult> {
    let id =
        e.id.as_ref()
            .ok_or_else(|| AdapterError::unknown("a Tradier order event without an id"))?;
    let word = e
        .status
        .as_deref()
        .ok_or_else(|| AdapterError::unknown("a Tradier order event without a status"))?;
    result(
        State {
            id: &id.0,
            word,
            filled: dec(e.exec_quantity.or(e.executed_quantity)),
            remaining: e.remaining_quantity.map(|n| n.0),
            quantity: None,
            avg: dec(e.avg_fill_price),
            reason: None,
        },
        client_order_id,
    )
}

/// A position. `cost_basis` is the total cost (negative for shorts) and
/// includes the option multiplier, so the average price per unit is
/// `cost_basis / (quantity × multiplier)` (§2.7).
pub fn position(p: &TradierPosition, account_id: &str) -> Result<Option<Position>> {
    let quantity = p.quantity.0;
    if quantity.is_zero() {
        return Ok(None);
    }
    let instrument = Instrument::parse_symbol(&p.symbol);
    let units = quantity * instrument.multiplier();
    let average_price = p.cost_basis.0.checked_div(units).ok_or_else(|| {
        AdapterError::unknown(format!("position {}: cost basis out of range", p.symbol))
    })?;
    Ok(Some(Position {
        account_id: account_id.to_string(),
        instrument,
        quantity: quantity.normalize(),
        average_price: average_price.round_dp(6).normalize(),
    }))
}

/// Balances: cash is `total_cash`, equity `total_equity`, and buying power
/// comes from the sub-object named after the account type (§2.8): stock
/// buying power for margin and pdt, `cash_available` for cash accounts.
pub fn account(b: &Balances, account_id: &str) -> Result<Account> {
    let missing = |f: &str| AdapterError::unknown(format!("Tradier balances without {f}"));
    let cash = b.total_cash.ok_or_else(|| missing("total_cash"))?.0;
    let equity = b.total_equity.ok_or_else(|| missing("total_equity"))?.0;
    let margin_bp = b
        .margin
        .as_ref()
        .or(b.pdt.as_ref())
        .and_then(|m| m.stock_buying_power);
    let cash_bp = b.cash.as_ref().and_then(|c| c.cash_available);
    let buying_power = match b.account_type.as_deref() {
        Some("cash") => cash_bp.or(margin_bp),
        _ => margin_bp.or(cash_bp),
    }
    .ok_or_else(|| missing("buying power"))?
    .0;
    Ok(Account {
        account_id: b
            .account_number
            .clone()
            .unwrap_or_else(|| account_id.to_string()),
        cash: cash.normalize(),
        buying_power: buying_power.normalize(),
        equity: equity.normalize(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::OrderStatus as S;
    use rust_decimal_macros::dec;

    #[test]
    fn status_mapping_is_total_over_the_documented_words() {
        let words = [
            ("pending", S::Pending),
            ("submitted", S::Pending),
            ("open", S::Accepted),
            ("held", S::Accepted),
            ("accepted_for_bidding", S::Accepted),
            ("calculated", S::Accepted),
            ("partially_filled", S::PartiallyFilled),
            ("filled", S::Filled),
            ("canceled", S::Canceled),
            ("expired", S::Expired),
            ("rejected", S::Rejected),
            ("error", S::Rejected),
        ];
        for (w, s) in words {
            assert_eq!(status(w).unwrap(), s, "{w}");
        }
        assert_eq!(status("ok").unwrap_err().kind, crate::ErrorKind::Unknown);
        assert!(status("").is_err());
    }

    #[test]
    fn orders_map_with_fills_and_reasons() {
        let o: TradierOrder = serde_json::from_str(
            r#"{"id":7,"status":"partially_filled","quantity":10.00000000,"avg_fill_price":1.5,"exec_quantity":4.0,"remaining_quantity":6.0,"tag":"t"}"#,
        )
        .unwrap();
        let r = order(&o, "t".into()).unwrap();
        assert_eq!(
            (
                r.filled_quantity,
                r.remaining_quantity,
                r.average_fill_price
            ),
            (dec!(4), dec!(6), Some(dec!(1.5)))
        );
        let o: TradierOrder = serde_json::from_str(
            r#"{"id":8,"status":"rejected","avg_fill_price":0,"exec_quantity":0,"remaining_quantity":0,"reason_description":"buying power"}"#,
        )
        .unwrap();
        let r = order(&o, String::new()).unwrap();
        assert_eq!(
            (r.status, r.average_fill_price, r.reject_reason.as_deref()),
            (S::Rejected, None, Some("buying power"))
        );
    }

    #[test]
    fn positions_divide_by_the_multiplier() {
        let p: TradierPosition = serde_json::from_str(
            r#"{"cost_basis":-250.0,"quantity":-2.0,"symbol":"SPY260116P00580000","id":1,"date_acquired":"2026-01-05T15:00:00.000Z"}"#,
        )
        .unwrap();
        let pos = position(&p, "VA1").unwrap().unwrap();
        assert!(pos.instrument.is_option());
        assert_eq!((pos.quantity, pos.average_price), (dec!(-2), dec!(1.25)));
    }
}
