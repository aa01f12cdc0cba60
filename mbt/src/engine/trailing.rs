//! Trailing stops: a stop order whose stop price follows the best price seen
//! since it was placed (its water mark: the highest a seller could have
//! received, for a sell; the lowest a buyer could have paid, for a buy), a
//! fixed distance or a percentage behind it, and never moves back.
//!
//! A market event first triggers stops where they stood when it arrived and
//! only then moves the marks: a bar's high and low have no order in time, and
//! a stop must not be triggered by the very rise that moved it. Marks move
//! only while the session is open, as stops trigger only then.

use rust_decimal::{Decimal, RoundingStrategy};

use super::{order_index, Engine, RejectReason, Rejection};
use crate::fill::{on_tick, tick_for};
use crate::market::{InstrumentId, Touch};
use crate::order::{OrderRequest, OrderType, Side, Trail};

/// The stop `trail` puts behind `mark`, rounded away from the market onto a
/// valid tick (down for a sell, up for a buy); None when there is no such
/// positive price.
fn stop_behind(side: Side, mark: Decimal, trail: Trail) -> Option<Decimal> {
    let distance = match trail {
        Trail::Price(p) => p,
        Trail::Percent(p) => mark.checked_mul(p)?.checked_div(Decimal::ONE_HUNDRED)?,
    };
    let (stop, strategy) = match side {
        Side::Sell => (
            mark.checked_sub(distance)?,
            RoundingStrategy::ToNegativeInfinity,
        ),
        Side::Buy => (
            mark.checked_add(distance)?,
            RoundingStrategy::ToPositiveInfinity,
        ),
    };
    let stop = stop.round_dp_with_strategy(tick_for(stop), strategy);
    (stop > Decimal::ZERO).then_some(stop)
}

impl Engine {
    /// Arms a trailing request before it is checked: its water mark is the
    /// side of the current quote it trails (or, for a replacement, the better
    /// of that and the mark its original reached: replacing a trail must not
    /// loosen it), and its stop price the trail behind the mark. Returns the
    /// mark; None for a request that does not trail.
    pub(super) fn arm_trail(
        &self,
        r: &mut OrderRequest,
        carried: Option<Decimal>,
    ) -> Result<Option<Decimal>, Rejection> {
        let Some(trail) = r.trail else {
            return Ok(None);
        };
        let invalid = |m: String| Err(Rejection::new(RejectReason::InvalidPrice, m));
        if r.order_type != OrderType::Stop || r.is_multi_leg() {
            return invalid(format!("a {:?} order cannot trail", r.order_type));
        }
        if r.stop_price.is_some() {
            return invalid("a trailing stop takes a trail, not a stop_price".into());
        }
        match trail {
            Trail::Price(p) if p <= Decimal::ZERO || !on_tick(p) => {
                return invalid(format!(
                    "trail price {p} is not a positive price on a valid tick"
                ))
            }
            Trail::Percent(p) if p <= Decimal::ZERO || p >= Decimal::ONE_HUNDRED => {
                return invalid(format!("trail percent {p} is not between 0 and 100"))
            }
            _ => {}
        }
        let Some(quote) = self.quote(&r.instrument) else {
            return Err(Rejection::new(
                RejectReason::UnknownSymbol,
                format!("no quote for {} to trail", r.instrument),
            ));
        };
        let (seen, mark) = match r.side {
            Side::Sell => (quote.bid, carried.map_or(quote.bid, |m| m.max(quote.bid))),
            Side::Buy => (quote.ask, carried.map_or(quote.ask, |m| m.min(quote.ask))),
        };
        let Some(stop) = stop_behind(r.side, mark, trail) else {
            return invalid(format!("the trail leaves no stop price behind {seen}"));
        };
        r.stop_price = Some(stop);
        Ok(Some(mark))
    }

    /// Moves the marks, and with them the stops, of the instrument's trailing
    /// stops still waiting for their trigger; forgets those that no longer wait.
    pub(super) fn trail_stops(&mut self, iid: InstrumentId, touch: Touch) {
        if self.trailing.is_empty() {
            return;
        }
        let mine: Vec<_> = self
            .trailing
            .iter()
            .filter(|(_, home)| **home == iid)
            .map(|(id, _)| *id)
            .collect();
        for id in mine {
            let (Some(order), Some(book)) = (
                order_index(id).and_then(|i| self.orders.get_mut(i)),
                self.books.get_mut(iid.0 as usize),
            ) else {
                self.trailing.remove(&id);
                continue;
            };
            if !order.status.is_working() || order.triggered {
                self.trailing.remove(&id);
                continue;
            }
            let r = &order.request;
            let (Some(trail), Some(mark), Some(stop)) = (r.trail, order.hwm, r.stop_price) else {
                continue;
            };
            let (seen, better) = match r.side {
                Side::Sell => (touch.sell, touch.sell > mark),
                Side::Buy => (touch.buy, touch.buy < mark),
            };
            if !better {
                continue;
            }
            let moved = match (r.side, stop_behind(r.side, seen, trail)) {
                (Side::Sell, Some(new)) => new.max(stop),
                (Side::Buy, Some(new)) => new.min(stop),
                (_, None) => stop,
            };
            // Out of the stop book at the old stop, back in at the new one.
            book.remove(order);
            order.hwm = Some(seen);
            order.request.stop_price = Some(moved);
            book.insert(order);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn stops_sit_behind_the_mark_on_a_tick_away_from_the_market() {
        assert_eq!(
            stop_behind(Side::Sell, dec!(100), Trail::Price(dec!(2))),
            Some(dec!(98))
        );
        assert_eq!(
            stop_behind(Side::Buy, dec!(100), Trail::Price(dec!(2))),
            Some(dec!(102))
        );
        // 1 % of 123.45 is 1.2345: a sell's stop rounds down, a buy's up.
        assert_eq!(
            stop_behind(Side::Sell, dec!(123.45), Trail::Percent(dec!(1))),
            Some(dec!(122.21))
        );
        assert_eq!(
            stop_behind(Side::Buy, dec!(123.45), Trail::Percent(dec!(1))),
            Some(dec!(124.69))
        );
        assert_eq!(
            stop_behind(Side::Sell, dec!(2), Trail::Price(dec!(2))),
            None
        );
    }
}
