//! Order checks before acceptance. Every refusal is a `Rejection` with a
//! reason and a message a trader can act on; none panics.

use rust_decimal::Decimal;

use super::buying_power::{self, CostError};
use super::{Engine, RejectReason, Rejection};
use crate::fill::on_tick;
use crate::order::{OrderRequest, OrderType, Side};

/// Per-unit reservations are rounded so that `per_unit × quantity` is exact.
const RESERVATION_DP: u32 = 6;

impl Engine {
    /// Checks an order; on success returns the buying power to reserve per unit.
    pub(super) fn check(&self, r: &OrderRequest) -> Result<Decimal, Rejection> {
        use RejectReason::*;
        let account = self.accounts.get(&r.account_id).ok_or_else(|| {
            Rejection::new(UnknownAccount, format!("no account {:?}", r.account_id))
        })?;
        self.check_quantity(r)?;
        check_prices(r)?;
        if r.is_multi_leg() {
            self.check_legs(r)?;
        } else if r.instrument.is_option() && r.position_effect.is_none() {
            return Err(Rejection::new(
                InvalidOrder,
                "an option order needs a position_effect (open or close)",
            ));
        }
        let legs = r.legs.iter().flatten().map(|l| &l.instrument);
        let single = (!r.is_multi_leg()).then_some(&r.instrument);
        for i in legs.chain(single) {
            if !self.is_listed(i) {
                return Err(Rejection::new(
                    UnknownSymbol,
                    format!("unknown or expired symbol {i}"),
                ));
            }
        }
        if !self.is_open() && !self.config.queue_when_closed {
            return Err(Rejection::new(MarketClosed, "the market is closed"));
        }
        let cost = if r.is_multi_leg() {
            self.multi_leg_cost(r)
        } else {
            let price = self.estimate_price(r);
            buying_power::order_cost(
                account,
                &r.instrument,
                r.side,
                r.position_effect,
                r.quantity,
                price,
                self,
            )
            .map_err(|e| match e {
                CostError::ShortSellingNotAllowed => Rejection::new(
                    ShortSellingNotAllowed,
                    "short selling is not allowed in a cash account",
                ),
                CostError::NoPositionToClose => Rejection::new(
                    NoPositionToClose,
                    format!("no position of {} {} to close", r.quantity, r.instrument),
                ),
            })?
        };
        let per_unit = (cost / r.quantity).round_dp(RESERVATION_DP);
        let needed = per_unit * r.quantity;
        let available = buying_power::buying_power(account, self);
        if needed > available {
            return Err(Rejection::new(
                InsufficientBuyingPower,
                format!(
                    "insufficient buying power: need {}, have {}",
                    needed.round_dp(2),
                    available.round_dp(2)
                ),
            ));
        }
        Ok(per_unit)
    }

    fn check_quantity(&self, r: &OrderRequest) -> Result<(), Rejection> {
        let q = r.quantity;
        let whole = q.fract().is_zero();
        let fractional_ok =
            self.config.fractional && !r.instrument.is_option() && !r.is_multi_leg();
        let problem = if q <= Decimal::ZERO {
            Some("quantity must be positive")
        } else if q > self.config.max_order_quantity {
            Some("quantity is above the maximum per order")
        } else if !whole && !fractional_ok {
            Some("quantity must be a whole number")
        } else if q.scale() > 9 {
            Some("quantity has more than 9 decimal places")
        } else {
            None
        };
        match problem {
            Some(p) => Err(Rejection::new(
                RejectReason::InvalidQuantity,
                format!("{p}: {q}"),
            )),
            None => Ok(()),
        }
    }

    fn check_legs(&self, r: &OrderRequest) -> Result<(), Rejection> {
        let invalid = |m: &str| Err(Rejection::new(RejectReason::InvalidOrder, m.to_string()));
        let legs = r.legs.as_deref().unwrap_or_default();
        if !(2..=4).contains(&legs.len()) {
            return invalid("a multi-leg order has 2 to 4 legs");
        }
        if !matches!(r.order_type, OrderType::Market | OrderType::Limit) {
            return invalid("a multi-leg order is market or limit");
        }
        for leg in legs {
            if !leg.instrument.is_option()
                || leg.instrument.underlying() != r.instrument.underlying()
            {
                return invalid("every leg is an option on the order's underlying");
            }
            if leg.ratio_quantity <= Decimal::ZERO || !leg.ratio_quantity.fract().is_zero() {
                return invalid("leg ratio_quantity must be a positive whole number");
            }
            if leg.position_effect.is_none() {
                return invalid("every option leg needs a position_effect");
            }
        }
        Ok(())
    }

    /// The price an order is costed at: its limit, its stop, or the side of the quote it would take.
    fn estimate_price(&self, r: &OrderRequest) -> Decimal {
        r.limit_price.or(r.stop_price).unwrap_or_else(|| {
            let q = self.quote(&r.instrument);
            match r.side {
                Side::Buy => q.map(|q| q.ask),
                Side::Sell => q.map(|q| q.bid),
            }
            .or_else(|| self.mark(&r.instrument))
            .unwrap_or_default()
        })
    }

    /// What a multi-leg order takes from buying power: the drop it would
    /// cause if every leg filled at its current quote. Spreads are netted by
    /// the collateral rules, so a credit spread costs its width less the credit.
    fn multi_leg_cost(&self, r: &OrderRequest) -> Decimal {
        let Some(account) = self.accounts.get(&r.account_id) else {
            return Decimal::ZERO;
        };
        let mut after = account.clone();
        for leg in r.legs.iter().flatten() {
            let q = self.quote(&leg.instrument);
            let price = match leg.side {
                Side::Buy => q.map(|q| q.ask),
                Side::Sell => q.map(|q| q.bid),
            }
            .unwrap_or_default();
            after.apply_fill(
                &leg.instrument,
                leg.side.sign() * leg.ratio_quantity * r.quantity,
                price,
                Decimal::ZERO,
            );
        }
        (buying_power::buying_power(account, self) - buying_power::buying_power(&after, self))
            .max(Decimal::ZERO)
    }
}

fn check_prices(r: &OrderRequest) -> Result<(), Rejection> {
    let invalid = |m: String| Err(Rejection::new(RejectReason::InvalidPrice, m));
    let needs_limit = matches!(r.order_type, OrderType::Limit | OrderType::StopLimit);
    let needs_stop = matches!(r.order_type, OrderType::Stop | OrderType::StopLimit);
    match (needs_limit, r.limit_price) {
        (true, None) => return invalid(format!("a {:?} order needs a limit_price", r.order_type)),
        (false, Some(_)) => {
            return invalid(format!("a {:?} order takes no limit_price", r.order_type))
        }
        (true, Some(p)) if p <= Decimal::ZERO || !on_tick(p) => {
            return invalid(format!(
                "limit_price {p} is not a positive price on a valid tick"
            ))
        }
        _ => {}
    }
    match (needs_stop, r.stop_price) {
        (true, None) => invalid(format!("a {:?} order needs a stop_price", r.order_type)),
        (false, Some(_)) => invalid(format!("a {:?} order takes no stop_price", r.order_type)),
        (true, Some(p)) if p <= Decimal::ZERO || !on_tick(p) => invalid(format!(
            "stop_price {p} is not a positive price on a valid tick"
        )),
        _ => Ok(()),
    }
}
