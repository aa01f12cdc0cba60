//! Orders: the request a trader makes, and the order's lifecycle as an explicit
//! state machine. Every illegal transition is an error value, never a panic.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

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
        }
    }

    pub fn remaining_quantity(&self) -> Decimal {
        if self.status.is_terminal() {
            Decimal::ZERO
        } else {
            self.request.quantity - self.filled_quantity
        }
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

    /// Records `qty` more units filled at `price` and moves the status to
    /// partially filled or filled. The average price stays quantity-weighted.
    pub fn record_fill(
        &mut self,
        qty: Decimal,
        price: Decimal,
        fee: Decimal,
        now: Timestamp,
    ) -> Result<(), IllegalTransition> {
        let total = self.filled_quantity + qty;
        let to = if total >= self.request.quantity {
            OrderStatus::Filled
        } else {
            OrderStatus::PartiallyFilled
        };
        self.transition(to, now)?;
        let prior = self.average_fill_price.unwrap_or_default() * self.filled_quantity;
        self.average_fill_price = Some(((prior + price * qty) / total).normalize());
        self.filled_quantity = total;
        self.fees += fee;
        Ok(())
    }
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

    #[test]
    fn fills_accumulate_with_weighted_average() {
        let mut o = order();
        o.transition(OrderStatus::Accepted, Timestamp::from_secs(1))
            .unwrap();
        o.record_fill(dec!(4), dec!(100), dec!(0), Timestamp::from_secs(2))
            .unwrap();
        assert_eq!(o.status, OrderStatus::PartiallyFilled);
        assert_eq!(o.remaining_quantity(), dec!(6));
        o.record_fill(dec!(6), dec!(110), dec!(0.5), Timestamp::from_secs(3))
            .unwrap();
        assert_eq!(o.status, OrderStatus::Filled);
        assert_eq!(o.average_fill_price, Some(dec!(106)));
        assert_eq!(o.fees, dec!(0.5));
        assert_eq!(o.remaining_quantity(), dec!(0));
        assert!(o
            .record_fill(dec!(1), dec!(1), dec!(0), Timestamp::from_secs(4))
            .is_err());
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
}
