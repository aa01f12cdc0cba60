//! Orders: the request a trader makes, and the order's lifecycle as an explicit
//! state machine. Every illegal transition is an error value, never a panic.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::checked::{self, Overflow};
use crate::instrument::Instrument;
use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    /// +1 for buys, -1 for sells: the sign a fill gives a position.
    pub fn sign(self) -> Decimal {
        match self {
            Side::Buy => Decimal::ONE,
            Side::Sell => Decimal::NEGATIVE_ONE,
        }
    }
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PositionEffect {
    Open,
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderType {
    Market,
    Limit,
    Stop,
    StopLimit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeInForce {
    Day,
    Gtc,
    Ioc,
    Fok,
}

impl OrderType {
    /// Every type, for a venue that takes them all.
    pub const ALL: [OrderType; 4] = [Self::Market, Self::Limit, Self::Stop, Self::StopLimit];
}

impl TimeInForce {
    /// Every time in force, for a venue that takes them all.
    pub const ALL: [TimeInForce; 4] = [Self::Day, Self::Gtc, Self::Ioc, Self::Fok];
}

/// One leg of a multi-leg order. The parent's quantity counts spreads; each
/// leg trades `ratio_quantity` units per spread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    pub instrument: Instrument,
    pub side: Side,
    pub position_effect: Option<PositionEffect>,
    pub ratio_quantity: Decimal,
}

/// What a trader asks for. For a multi-leg order, `instrument` names the
/// underlying, `side` is `buy` for a net debit and `sell` for a net credit,
/// and `limit_price` is the positive net price per spread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRequest {
    pub account_id: String,
    pub client_order_id: String,
    pub instrument: Instrument,
    pub side: Side,
    pub position_effect: Option<PositionEffect>,
    pub quantity: Decimal,
    pub order_type: OrderType,
    pub limit_price: Option<Decimal>,
    pub stop_price: Option<Decimal>,
    pub time_in_force: TimeInForce,
    pub legs: Option<Vec<Leg>>,
    /// A trailing stop: a `Stop` order whose stop price the engine sets
    /// from the best price seen since it was placed (see `Trail`); the
    /// request then carries no stop price of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trail: Option<Trail>,
}

/// How far behind the best price since placement (the water mark: the
/// highest for a sell, the lowest for a buy) a trailing stop's stop follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trail {
    /// A fixed distance in price.
    Price(Decimal),
    /// A percentage of the water mark.
    Percent(Decimal),
}

impl OrderRequest {
    /// A day market order for an equity, the shape most tests start from.
    pub fn market(
        account_id: &str,
        client_order_id: &str,
        symbol: &str,
        side: Side,
        qty: Decimal,
    ) -> Self {
        Self {
            account_id: account_id.to_string(),
            client_order_id: client_order_id.to_string(),
            instrument: Instrument::equity(symbol),
            side,
            position_effect: None,
            quantity: qty,
            order_type: OrderType::Market,
            limit_price: None,
            stop_price: None,
            time_in_force: TimeInForce::Day,
            legs: None,
            trail: None,
        }
    }

    /// A day limit order for an equity.
    pub fn limit(
        account_id: &str,
        client_order_id: &str,
        symbol: &str,
        side: Side,
        qty: Decimal,
        price: Decimal,
    ) -> Self {
        Self {
            order_type: OrderType::Limit,
            limit_price: Some(price),
            ..Self::market(account_id, client_order_id, symbol, side, qty)
        }
    }

    pub fn is_multi_leg(&self) -> bool {
        self.legs.as_ref().is_some_and(|l| !l.is_empty())
    }

    /// What the order trades, leg by leg: a multi-leg order's legs, or the
    /// order itself as its one leg (ratio 1).
    pub fn each_leg(&self) -> Vec<Leg> {
        match &self.legs {
            Some(legs) if !legs.is_empty() => legs.clone(),
            _ => vec![Leg {
                instrument: self.instrument.clone(),
                side: self.side,
                position_effect: self.position_effect,
                ratio_quantity: Decimal::ONE,
            }],
        }
    }
}

/// Legs a vendor's form gives in contracts, as the engine's spreads: the
/// number of spreads (the smallest leg's contracts) and each leg with its
/// whole ratio to it; None when a leg is not a whole multiple of the
/// smallest (or there is none).
pub fn spreads_of(
    legs: Vec<(Instrument, Side, Option<PositionEffect>, Decimal)>,
) -> Option<(Decimal, Vec<Leg>)> {
    let units = legs.iter().map(|l| l.3).min()?;
    let legs = legs
        .into_iter()
        .map(|(instrument, side, position_effect, q)| {
            let ratio = q.checked_div(units)?;
            ratio.fract().is_zero().then(|| Leg {
                instrument,
                side,
                position_effect,
                ratio_quantity: ratio.normalize(),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some((units, legs))
}

/// The engine's own order id: dense and monotonic, so vendor faces can derive
/// their own id formats from it deterministically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderId(pub u64);

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The normalized order status of the adapter contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Accepted,
    PartiallyFilled,
    Filled,
    Canceled,
    Rejected,
    Expired,
    PendingCancel,
    Replaced,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 9] = [
        OrderStatus::Pending,
        OrderStatus::Accepted,
        OrderStatus::PartiallyFilled,
        OrderStatus::Filled,
        OrderStatus::Canceled,
        OrderStatus::Rejected,
        OrderStatus::Expired,
        OrderStatus::PendingCancel,
        OrderStatus::Replaced,
    ];

    /// No further transition is possible from a terminal status.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderStatus::Filled
                | OrderStatus::Canceled
                | OrderStatus::Rejected
                | OrderStatus::Expired
                | OrderStatus::Replaced
        )
    }

    /// A working order may still fill.
    pub fn is_working(self) -> bool {
        matches!(
            self,
            OrderStatus::Accepted | OrderStatus::PartiallyFilled | OrderStatus::PendingCancel
        )
    }

    /// Whether the lifecycle allows `self → to`. The graph:
    /// pending → accepted | rejected;
    /// accepted → partially_filled | filled | canceled | expired | pending_cancel | replaced;
    /// partially_filled → partially_filled | filled | canceled | expired | pending_cancel | replaced;
    /// pending_cancel → canceled | partially_filled | filled | expired (a fill may race the cancel).
    pub fn can_become(self, to: OrderStatus) -> bool {
        use OrderStatus::*;
        match self {
            Pending => matches!(to, Accepted | Rejected),
            Accepted | PartiallyFilled => matches!(
                to,
                PartiallyFilled | Filled | Canceled | Expired | PendingCancel | Replaced
            ),
            PendingCancel => matches!(to, Canceled | PartiallyFilled | Filled | Expired),
            Filled | Canceled | Rejected | Expired | Replaced => false,
        }
    }

    pub fn as_str(self) -> &'static str {
        use OrderStatus::*;
        match self {
            Pending => "pending",
            Accepted => "accepted",
            PartiallyFilled => "partially_filled",
            Filled => "filled",
            Canceled => "canceled",
            Rejected => "rejected",
            Expired => "expired",
            PendingCancel => "pending_cancel",
            Replaced => "replaced",
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("order {order_id}: illegal transition {from} -> {to}")]
pub struct IllegalTransition {
    pub order_id: OrderId,
    pub from: OrderStatus,
    pub to: OrderStatus,
}

/// One execution against an order (for a multi-leg order, one per leg).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    pub order_id: OrderId,
    pub instrument: Instrument,
    pub side: Side,
    pub quantity: Decimal,
    pub price: Decimal,
    pub fee: Decimal,
    pub time: Timestamp,
}

/// An order as the engine keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub request: OrderRequest,
    pub status: OrderStatus,
    /// Units filled so far (spreads, for a multi-leg order).
    pub filled_quantity: Decimal,
    /// Quantity-weighted average fill price (net per spread for multi-leg); None before the first fill.
    pub average_fill_price: Option<Decimal>,
    pub fees: Decimal,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Set once a stop order's trigger has been crossed.
    pub triggered: bool,
    pub reject_reason: Option<String>,
    /// For an order replaced by another: the new order's id.
    pub replaced_by: Option<OrderId>,
    /// For an order that replaced another: the old order's id.
    pub replaces: Option<OrderId>,
    /// A trailing stop's water mark: the best price seen since it was placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hwm: Option<Decimal>,
}

impl Order {
    pub fn new(id: OrderId, request: OrderRequest, now: Timestamp) -> Self {
        Self {
            id,
            request,
            status: OrderStatus::Pending,
            filled_quantity: Decimal::ZERO,
            average_fill_price: None,
            fees: Decimal::ZERO,
            created_at: now,
            updated_at: now,
            triggered: false,
            reject_reason: None,
            replaced_by: None,
            replaces: None,
            hwm: None,
        }
    }

    pub fn remaining_quantity(&self) -> Decimal {
        if self.status.is_terminal() {
            Decimal::ZERO
        } else {
            self.unfilled_quantity()
        }
    }

    /// Ordered less filled, whatever the status. Exact: the engine never
    /// fills past the quantity (saturating only keeps a hand-built order from panicking).
    pub fn unfilled_quantity(&self) -> Decimal {
        self.request.quantity.saturating_sub(self.filled_quantity)
    }

    /// Moves the order to `to`, or says why it may not.
    pub fn transition(&mut self, to: OrderStatus, now: Timestamp) -> Result<(), IllegalTransition> {
        if !self.status.can_become(to) {
            return Err(IllegalTransition {
                order_id: self.id,
                from: self.status,
                to,
            });
        }
        self.status = to;
        self.updated_at = now;
        Ok(())
    }

    /// The order's state once `qty` more units fill at `price`: partially
    /// filled or filled, the average price kept quantity-weighted. Computed
    /// without changing anything, so a caller can check every side of a fill
    /// before it books any of them (`commit_fill`).
    pub fn plan_fill(
        &self,
        qty: Decimal,
        price: Decimal,
        fee: Decimal,
        now: Timestamp,
    ) -> Result<OrderFill, FillError> {
        let total = checked::add(self.filled_quantity, qty)?;
        let status = if total >= self.request.quantity {
            OrderStatus::Filled
        } else {
            OrderStatus::PartiallyFilled
        };
        if !self.status.can_become(status) {
            return Err(FillError::Illegal(IllegalTransition {
                order_id: self.id,
                from: self.status,
                to: status,
            }));
        }
        let prior = checked::mul(
            self.average_fill_price.unwrap_or_default(),
            self.filled_quantity,
        )?;
        let average = checked::div(checked::add(prior, checked::mul(price, qty)?)?, total)?;
        Ok(OrderFill {
            status,
            filled_quantity: total,
            average_fill_price: average.normalize(),
            fees: checked::add(self.fees, fee)?,
            at: now,
        })
    }

    /// Books a fill `plan_fill` computed for this order.
    pub fn commit_fill(&mut self, fill: OrderFill) {
        self.status = fill.status;
        self.updated_at = fill.at;
        self.filled_quantity = fill.filled_quantity;
        self.average_fill_price = Some(fill.average_fill_price);
        self.fees = fill.fees;
    }
}

/// An order's state after a fill, computed before anything changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderFill {
    pub status: OrderStatus,
    pub filled_quantity: Decimal,
    pub average_fill_price: Decimal,
    pub fees: Decimal,
    pub at: Timestamp,
}

/// Why a fill cannot be booked on an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FillError {
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    #[error(transparent)]
    Overflow(#[from] Overflow),
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn order() -> Order {
        Order::new(
            OrderId(1),
            OrderRequest::market("A1", "c1", "AAPL", Side::Buy, dec!(10)),
            Timestamp::from_secs(0),
        )
    }

    #[test]
    fn lifecycle_allows_the_documented_graph_only() {
        use OrderStatus::*;
        let allowed = [
            (Pending, Accepted),
            (Pending, Rejected),
            (Accepted, PartiallyFilled),
            (Accepted, Filled),
            (Accepted, Canceled),
            (Accepted, Expired),
            (Accepted, PendingCancel),
            (Accepted, Replaced),
            (PartiallyFilled, PartiallyFilled),
            (PartiallyFilled, Filled),
            (PartiallyFilled, Canceled),
            (PartiallyFilled, Expired),
            (PartiallyFilled, PendingCancel),
            (PartiallyFilled, Replaced),
            (PendingCancel, Canceled),
            (PendingCancel, PartiallyFilled),
            (PendingCancel, Filled),
            (PendingCancel, Expired),
        ];
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
        for s in OrderStatus::ALL {
            if s.is_terminal() {
                assert!(OrderStatus::ALL.iter().all(|t| !s.can_become(*t)));
            }
        }
    }

    #[test]
    fn illegal_transition_is_an_error_not_a_panic() {
        let mut o = order();
        let err = o
            .transition(OrderStatus::Filled, Timestamp::from_secs(1))
            .unwrap_err();
        assert_eq!(err.from, OrderStatus::Pending);
        assert_eq!(o.status, OrderStatus::Pending);
        assert_eq!(
            err.to_string(),
            "order 1: illegal transition pending -> filled"
        );
    }

    fn record_fill(o: &mut Order, qty: Decimal, price: Decimal, fee: Decimal, secs: i64) {
        let fill = o
            .plan_fill(qty, price, fee, Timestamp::from_secs(secs))
            .unwrap();
        o.commit_fill(fill);
    }

    #[test]
    fn fills_accumulate_with_weighted_average() {
        let mut o = order();
        o.transition(OrderStatus::Accepted, Timestamp::from_secs(1))
            .unwrap();
        record_fill(&mut o, dec!(4), dec!(100), dec!(0), 2);
        assert_eq!(o.status, OrderStatus::PartiallyFilled);
        assert_eq!(o.remaining_quantity(), dec!(6));
        record_fill(&mut o, dec!(6), dec!(110), dec!(0.5), 3);
        assert_eq!(o.status, OrderStatus::Filled);
        assert_eq!(o.updated_at, Timestamp::from_secs(3));
        assert_eq!(o.average_fill_price, Some(dec!(106)));
        assert_eq!(o.fees, dec!(0.5));
        assert_eq!(o.remaining_quantity(), dec!(0));
        assert!(matches!(
            o.plan_fill(dec!(1), dec!(1), dec!(0), Timestamp::from_secs(4)),
            Err(FillError::Illegal(_))
        ));
    }

    #[test]
    fn a_fill_that_cannot_be_represented_is_an_error_value() {
        let mut o = order();
        o.transition(OrderStatus::Accepted, Timestamp::from_secs(1))
            .unwrap();
        record_fill(&mut o, dec!(4), dec!(100), dec!(1), 2);
        let before = o.clone();
        for (qty, price, fee) in [
            (dec!(1), Decimal::MAX, dec!(0)),
            (Decimal::MAX, dec!(1), dec!(0)),
            (dec!(1), dec!(1), Decimal::MAX),
        ] {
            let planned = o.plan_fill(qty, price, fee, Timestamp::from_secs(3));
            assert!(
                matches!(planned, Err(FillError::Overflow(_))),
                "{planned:?}"
            );
        }
        assert_eq!(o, before);
    }

    #[test]
    fn statuses_serialize_in_contract_words() {
        for s in OrderStatus::ALL {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!(
            serde_json::to_string(&OrderType::StopLimit).unwrap(),
            "\"stop_limit\""
        );
    }

    #[test]
    fn legs_in_contracts_are_spreads_of_the_smallest() {
        let call = |strike: &str| Instrument::parse_symbol(&format!("AAPL  260116C00{strike}"));
        let leg = |strike, side, q: i64| {
            (
                call(strike),
                side,
                Some(PositionEffect::Open),
                Decimal::from(q),
            )
        };
        let (units, legs) = spreads_of(vec![
            leg("200000", Side::Sell, 2),
            leg("210000", Side::Buy, 4),
        ])
        .unwrap();
        assert_eq!(units, Decimal::from(2));
        let ratios: Vec<Decimal> = legs.iter().map(|l| l.ratio_quantity).collect();
        assert_eq!(ratios, [Decimal::ONE, Decimal::from(2)]);
        assert!(spreads_of(vec![
            leg("200000", Side::Sell, 2),
            leg("210000", Side::Buy, 3)
        ])
        .is_none());
        assert!(spreads_of(Vec::new()).is_none());
        // A single order is its own one leg; a spread, its legs.
        let single = OrderRequest::market("a", "c", "AAPL", Side::Buy, Decimal::from(5));
        let own = single.each_leg();
        assert_eq!(own.len(), 1);
        assert_eq!(
            (own[0].ratio_quantity, own[0].side),
            (Decimal::ONE, Side::Buy)
        );
        let spread = OrderRequest {
            legs: Some(legs),
            ..single
        };
        assert_eq!(spread.each_leg().len(), 2);
    }
}
