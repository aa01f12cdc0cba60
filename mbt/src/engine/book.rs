//! Working orders of one instrument, in the order they may fill.
//!
//! Buys are best-first by price (highest limit first, market orders ahead of
//! all), then by arrival (the order id); sells likewise with the lowest limit
//! first. Untriggered stops wait in their own books, nearest trigger first.
//! The hot path of a market event looks only at the first entry of each.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::ops::Bound::{Excluded, Unbounded};

use rust_decimal::Decimal;

use crate::order::{Order, OrderId, OrderType, Side};

#[derive(Debug, Default)]
pub(super) struct Book {
    pub bids: BTreeMap<(Reverse<Decimal>, OrderId), ()>,
    pub asks: BTreeMap<(Decimal, OrderId), ()>,
    pub buy_stops: BTreeMap<(Decimal, OrderId), ()>,
    pub sell_stops: BTreeMap<(Reverse<Decimal>, OrderId), ()>,
    /// Units buyers may still take from the latest ask, and sellers from the latest bid.
    pub buy_liquidity: Decimal,
    pub sell_liquidity: Decimal,
    /// For an option: the underlying's state version its quote was priced from.
    pub priced_from: Option<u64>,
}

impl Book {
    /// The next resting order on `side` that `touch` reaches, after the
    /// order `after` (a cursor of price and id), best price first. Orders
    /// filled under the cursor leave the book; nothing is collected.
    pub fn next_marketable(
        &self,
        side: Side,
        touch: Decimal,
        after: Option<(Decimal, OrderId)>,
    ) -> Option<(Decimal, OrderId)> {
        match side {
            Side::Buy => {
                let next = match after {
                    None => self.bids.keys().next(),
                    Some((px, id)) => self
                        .bids
                        .range((Excluded((Reverse(px), id)), Unbounded))
                        .next()
                        .map(|(k, _)| k),
                };
                next.map(|&(Reverse(px), id)| (px, id))
                    .filter(|(px, _)| *px >= touch)
            }
            Side::Sell => {
                let next = match after {
                    None => self.asks.keys().next(),
                    Some(key) => self
                        .asks
                        .range((Excluded(key), Unbounded))
                        .next()
                        .map(|(k, _)| k),
                };
                next.copied().filter(|(px, _)| *px <= touch)
            }
        }
    }

    /// Units still on offer to orders on `side` from the latest quote.
    pub fn liquidity(&self, side: Side) -> Decimal {
        match side {
            Side::Buy => self.buy_liquidity,
            Side::Sell => self.sell_liquidity,
        }
    }

    /// Takes `qty` units a fill used from what `side` is offered. Exact: a
    /// fill never takes more than is offered (saturating only keeps an
    /// impossible case from panicking).
    pub fn take(&mut self, side: Side, qty: Decimal) {
        let offered = match side {
            Side::Buy => &mut self.buy_liquidity,
            Side::Sell => &mut self.sell_liquidity,
        };
        *offered = offered.saturating_sub(qty);
    }
}

/// The price an order works at once live: its limit, or any price for a market order.
pub(super) fn working_price(order: &Order) -> Decimal {
    let r = &order.request;
    match (r.order_type, r.side) {
        (OrderType::Limit | OrderType::StopLimit, _) => r.limit_price.unwrap_or_default(),
        (OrderType::Market | OrderType::Stop, Side::Buy) => Decimal::MAX,
        (OrderType::Market | OrderType::Stop, Side::Sell) => Decimal::ZERO,
    }
}

fn waits_for_trigger(order: &Order) -> bool {
    matches!(
        order.request.order_type,
        OrderType::Stop | OrderType::StopLimit
    ) && !order.triggered
}

impl Book {
    pub fn insert(&mut self, order: &Order) {
        let id = order.id;
        if waits_for_trigger(order) {
            let stop = order.request.stop_price.unwrap_or_default();
            match order.request.side {
                Side::Buy => self.buy_stops.insert((stop, id), ()),
                Side::Sell => self.sell_stops.insert((Reverse(stop), id), ()),
            };
            return;
        }
        let px = working_price(order);
        match order.request.side {
            Side::Buy => self.bids.insert((Reverse(px), id), ()),
            Side::Sell => self.asks.insert((px, id), ()),
        };
    }

    /// Removes the order wherever its current state placed it.
    pub fn remove(&mut self, order: &Order) {
        let id = order.id;
        if waits_for_trigger(order) {
            let stop = order.request.stop_price.unwrap_or_default();
            match order.request.side {
                Side::Buy => self.buy_stops.remove(&(stop, id)),
                Side::Sell => self.sell_stops.remove(&(Reverse(stop), id)),
            };
            return;
        }
        let px = working_price(order);
        match order.request.side {
            Side::Buy => self.bids.remove(&(Reverse(px), id)),
            Side::Sell => self.asks.remove(&(px, id)),
        };
    }

    /// Every order on one side, resting or waiting for its trigger.
    pub fn side_ids(&self, side: Side) -> Box<dyn Iterator<Item = OrderId> + '_> {
        match side {
            Side::Buy => Box::new(
                self.bids
                    .keys()
                    .map(|k| k.1)
                    .chain(self.buy_stops.keys().map(|k| k.1)),
            ),
            Side::Sell => Box::new(
                self.asks
                    .keys()
                    .map(|k| k.1)
                    .chain(self.sell_stops.keys().map(|k| k.1)),
            ),
        }
    }

    /// How many orders the book holds, resting or waiting for their trigger.
    pub fn len(&self) -> usize {
        [
            self.bids.len(),
            self.asks.len(),
            self.buy_stops.len(),
            self.sell_stops.len(),
        ]
        .iter()
        .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.bids.is_empty()
            && self.asks.is_empty()
            && self.buy_stops.is_empty()
            && self.sell_stops.is_empty()
    }

    /// The first buy stop at or below `high`, if any.
    pub fn triggered_buy_stop(&self, high: Decimal) -> Option<OrderId> {
        self.buy_stops
            .first_key_value()
            .filter(|((stop, _), _)| *stop <= high)
            .map(|((_, id), _)| *id)
    }

    /// The first sell stop at or above `low`, if any.
    pub fn triggered_sell_stop(&self, low: Decimal) -> Option<OrderId> {
        self.sell_stops
            .first_key_value()
            .filter(|((Reverse(stop), _), _)| *stop >= low)
            .map(|((_, id), _)| *id)
    }
}
