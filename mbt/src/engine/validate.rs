//! Order checks before acceptance. Every refusal is a `Rejection` with a
//! reason and a message a trader can act on; none panics.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;

use super::buying_power::{self, CostError};
use super::{Engine, RejectReason, Rejection};
use crate::checked::{self, Checked};
use crate::fill::on_tick;
use crate::order::{OrderId, OrderRequest, OrderType, Side};

/// Per-unit reservations are rounded so that `per_unit × quantity` is exact.
const RESERVATION_DP: u32 = 6;

/// What an accepted order holds, decided before anything changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Admission {
    /// Buying power held per unit of the order.
    pub per_unit: Decimal,
    /// The account's `reserved` once the order holds its share.
    pub reserved_after: Decimal,
}

impl Engine {
    /// Checks an order as if the order it replaces (if any) were gone, its
    /// hold released; `alternatives` are working orders it is one of (OCO
    /// exits: one fills, the others are canceled). On success says what it
    /// will hold. Changes nothing: every amount, including the account's
    /// reservations after it, is computed here with checked arithmetic, so
    /// accepting cannot fail half-way.
    pub(super) fn check(
        &self,
        r: &OrderRequest,
        replacing: Option<OrderId>,
        alternatives: &[OrderId],
    ) -> Result<Admission, Rejection> {
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
        let unrepresentable = |what: &str| {
            Rejection::new(
                InsufficientBuyingPower,
                format!("insufficient buying power: {what} cannot be represented"),
            )
        };
        let cost_too_large = |_| unrepresentable("the order's cost");
        let freed = replacing.map_or(Decimal::ZERO, |id| self.hold(id));
        // Both non-negative, and `freed` is part of `reserved`: exact.
        let reserved = checked::sub(account.reserved, freed).map_err(cost_too_large)?;
        let cost = if r.is_multi_leg() {
            self.multi_leg_cost(r, reserved).map_err(cost_too_large)?
        } else {
            let price = self.estimate_price(r);
            let committed = self
                .committed(r, replacing, alternatives)
                .map_err(cost_too_large)?;
            let costing = buying_power::Costing {
                instrument: &r.instrument,
                side: r.side,
                effect: r.position_effect,
                qty: r.quantity,
                price,
                committed,
            };
            // Why there is less to close than is held, when that is why.
            let held_for_orders = if committed.is_zero() {
                String::new()
            } else {
                format!(
                    " ({committed} of the {} held are already held for working orders)",
                    account.position_quantity(&r.instrument).abs()
                )
            };
            buying_power::order_cost(account, &costing, self).map_err(|e| match e {
                CostError::ShortSellingNotAllowed => Rejection::new(
                    ShortSellingNotAllowed,
                    format!("short selling is not allowed in a cash account{held_for_orders}"),
                ),
                CostError::NoPositionToClose => Rejection::new(
                    NoPositionToClose,
                    format!(
                        "no position of {} {} to close{held_for_orders}",
                        r.quantity, r.instrument
                    ),
                ),
                CostError::Overflow => unrepresentable("the order's cost"),
            })?
        };
        let per_unit = checked::div(cost, r.quantity)
            .map_err(cost_too_large)?
            .round_dp(RESERVATION_DP);
        let needed = checked::mul(per_unit, r.quantity).map_err(cost_too_large)?;
        let available = self
            .kept_valuation(&r.account_id)
            .unwrap_or_else(|| buying_power::valuation(account, self))
            .and_then(|v| buying_power::available_valued(account, &v, reserved))
            .map_err(|_| unrepresentable("the account's buying power"))?;
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
        Ok(Admission {
            per_unit,
            // needed ≤ available ≤ buying power − reserved: in range.
            reserved_after: checked::add(reserved, needed).map_err(cost_too_large)?,
        })
    }

    /// Units of `r`'s position the account's other working orders on the
    /// same side already close, as the brokers hold them: a working sell's
    /// shares cannot be sold again. Alternatives (OCO exits) hold their
    /// quantity once, as the largest of them; `r`'s own alternatives and the
    /// order it replaces are not counted. At most the position (past it
    /// nothing is left to close, whatever more is held), and zero, without
    /// looking, when `r` closes nothing.
    fn committed(
        &self,
        r: &OrderRequest,
        replacing: Option<OrderId>,
        alternatives: &[OrderId],
    ) -> Checked {
        let held = self
            .accounts
            .get(&r.account_id)
            .map_or(Decimal::ZERO, |a| a.position_quantity(&r.instrument));
        let closes = match r.side {
            Side::Buy => held < Decimal::ZERO,
            Side::Sell => held > Decimal::ZERO,
        };
        let held = held.abs();
        let Some(book) = self
            .market
            .id(&r.instrument)
            .and_then(|iid| self.book(iid))
            .filter(|_| closes)
        else {
            return Ok(Decimal::ZERO);
        };
        let group = |id: OrderId| self.alternative_of.get(&id).copied().unwrap_or(id);
        let own: BTreeSet<OrderId> = alternatives
            .iter()
            .chain(&replacing)
            .map(|&id| group(id))
            .collect();
        let mut alone = Decimal::ZERO;
        let mut groups: BTreeMap<OrderId, Decimal> = BTreeMap::new();
        for id in book.side_ids(r.side) {
            let Some(o) = self.order(id) else {
                continue;
            };
            if o.request.account_id != r.account_id || own.contains(&group(id)) {
                continue;
            }
            let left = o.remaining_quantity();
            match self.alternative_of.get(&id) {
                Some(g) => {
                    let largest = groups.entry(*g).or_default();
                    *largest = (*largest).max(left);
                }
                None => alone = checked::add(alone, left)?,
            }
            if alone >= held {
                // Everything held is spoken for: the rest cannot change that.
                return Ok(held);
            }
        }
        let all = groups
            .values()
            .try_fold(alone, |sum, largest| checked::add(sum, *largest))?;
        Ok(all.min(held))
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

    /// What a multi-leg order takes from buying power (with `reserved`
    /// held for working orders): the drop it would cause if every leg filled
    /// at its current quote. Spreads are netted by the collateral rules, so a
    /// credit spread costs its width less the credit.
    fn multi_leg_cost(&self, r: &OrderRequest, reserved: Decimal) -> Checked {
        let Some(account) = self.accounts.get(&r.account_id) else {
            return Ok(Decimal::ZERO);
        };
        let mut after = account.clone();
        for leg in r.legs.iter().flatten() {
            let q = self.quote(&leg.instrument);
            let price = match leg.side {
                Side::Buy => q.map(|q| q.ask),
                Side::Sell => q.map(|q| q.bid),
            }
            .unwrap_or_default();
            let qty = checked::mul(
                checked::mul(leg.side.sign(), leg.ratio_quantity)?,
                r.quantity,
            )?;
            after.apply_fill(&leg.instrument, qty, price, Decimal::ZERO)?;
        }
        let now = self
            .kept_valuation(&r.account_id)
            .unwrap_or_else(|| buying_power::valuation(account, self))?;
        let drop = checked::sub(
            buying_power::available_valued(account, &now, reserved)?,
            buying_power::available(&after, self, reserved)?,
        )?;
        Ok(drop.max(Decimal::ZERO))
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
