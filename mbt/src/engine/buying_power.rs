//! Buying power, in "stock buying power" units: one unit buys one dollar of
//! stock. A cash account's buying power is its free cash. A margin account
//! (simple Reg-T) has twice its excess equity, where the requirement is 50% of
//! stock held either way, 100% of long options and the collateral of short
//! options; so an option costs two units per dollar of premium there.
//!
//! Short options lock collateral: the strike for a put, the underlying's
//! price for a call, or only the width when a long option of the same root,
//! expiry and right covers it (a vertical spread).

use rust_decimal::Decimal;

use crate::account::{Account, AccountKind};
use crate::instrument::{Instrument, OptionRight};
use crate::order::{PositionEffect, Side};

/// Prices positions and orders: the current mark of any instrument.
pub trait Marks {
    fn mark(&self, instrument: &Instrument) -> Option<Decimal>;
}

/// Why an order cannot be costed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CostError {
    ShortSellingNotAllowed,
    NoPositionToClose,
}

/// Collateral held against the account's short options, net of vertical spreads.
pub fn short_option_collateral(account: &Account, marks: &impl Marks) -> Decimal {
    let mut total = Decimal::ZERO;
    if !account
        .positions
        .values()
        .any(|p| p.instrument.is_option() && p.quantity < Decimal::ZERO)
    {
        return total;
    }
    // Long contracts not yet used to cover a short, per instrument.
    let mut longs: Vec<(&Instrument, Decimal)> = account
        .positions
        .values()
        .filter(|p| p.instrument.is_option() && p.quantity > Decimal::ZERO)
        .map(|p| (&p.instrument, p.quantity))
        .collect();
    for short in account
        .positions
        .values()
        .filter(|p| p.instrument.is_option() && p.quantity < Decimal::ZERO)
    {
        let Instrument::Option { occ: s } = &short.instrument else {
            continue;
        };
        let mut uncovered = -short.quantity;
        // Cover with the long strikes that need the least collateral first.
        loop {
            let best = longs
                .iter_mut()
                .filter(|(_, q)| *q > Decimal::ZERO)
                .filter_map(|(inst, q)| match inst {
                    Instrument::Option { occ: l }
                        if l.root() == s.root()
                            && l.expiry() == s.expiry()
                            && l.right() == s.right() =>
                    {
                        Some((spread_width(s.right(), s.strike(), l.strike()), q))
                    }
                    _ => None,
                })
                .min_by(|a, b| a.0.cmp(&b.0));
            let Some((width, q)) = best else { break };
            if uncovered.is_zero() {
                break;
            }
            let n = uncovered.min(*q);
            *q -= n;
            uncovered -= n;
            total += width * n * short.instrument.multiplier();
        }
        if !uncovered.is_zero() {
            total += naked_collateral(&short.instrument, marks) * uncovered;
        }
    }
    total
}

/// Collateral of one contract written with a long leg at `long_strike` covering it.
fn spread_width(right: OptionRight, short_strike: Decimal, long_strike: Decimal) -> Decimal {
    match right {
        OptionRight::Put => (short_strike - long_strike).max(Decimal::ZERO),
        OptionRight::Call => (long_strike - short_strike).max(Decimal::ZERO),
    }
}

/// Collateral of one uncovered short contract.
fn naked_collateral(instrument: &Instrument, marks: &impl Marks) -> Decimal {
    let Instrument::Option { occ } = instrument else {
        return Decimal::ZERO;
    };
    let per_share = match occ.right() {
        OptionRight::Put => occ.strike(),
        OptionRight::Call => marks
            .mark(&Instrument::equity(occ.root()))
            .unwrap_or(occ.strike())
            .max(occ.strike()),
    };
    per_share * instrument.multiplier()
}

/// Equity: cash plus the market value of every position at its mark
/// (at its cost basis when it has no mark).
pub fn equity(account: &Account, marks: &impl Marks) -> Decimal {
    account.cash
        + account
            .positions
            .values()
            .map(|p| {
                marks
                    .mark(&p.instrument)
                    .map_or(p.cost_basis, |m| p.market_value(m))
            })
            .sum::<Decimal>()
}

/// Buying power left for new orders, after what working orders reserve.
pub fn buying_power(account: &Account, marks: &impl Marks) -> Decimal {
    let collateral = short_option_collateral(account, marks);
    let bp = match account.kind {
        AccountKind::Cash => account.cash - collateral,
        AccountKind::Margin => {
            let mut requirement = collateral;
            for p in account.positions.values() {
                let value = marks
                    .mark(&p.instrument)
                    .map_or(p.cost_basis, |m| p.market_value(m))
                    .abs();
                if p.instrument.is_option() {
                    if p.quantity > Decimal::ZERO {
                        requirement += value;
                    }
                } else {
                    requirement += value / Decimal::TWO;
                }
            }
            Decimal::TWO * (equity(account, marks) - requirement)
        }
    };
    (bp - account.reserved).max(Decimal::ZERO)
}

/// The buying power an order of `qty` at `price` uses, given the position it
/// trades against. Closing trades use none; options cost their premium, short
/// options their collateral; margin accounts count non-marginable money twice.
pub fn order_cost(
    account: &Account,
    instrument: &Instrument,
    side: Side,
    effect: Option<PositionEffect>,
    qty: Decimal,
    price: Decimal,
    marks: &impl Marks,
) -> Result<Decimal, CostError> {
    let held = account.position_quantity(instrument);
    let closing = match side {
        Side::Buy if held < Decimal::ZERO => qty.min(-held),
        Side::Sell if held > Decimal::ZERO => qty.min(held),
        _ => Decimal::ZERO,
    };
    if effect == Some(PositionEffect::Close) && closing < qty {
        return Err(CostError::NoPositionToClose);
    }
    let opening = qty - closing;
    if opening.is_zero() {
        return Ok(Decimal::ZERO);
    }
    let non_marginable = match account.kind {
        AccountKind::Cash => Decimal::ONE,
        AccountKind::Margin => Decimal::TWO,
    };
    let mult = instrument.multiplier();
    Ok(match (instrument.is_option(), side) {
        (false, Side::Buy) => opening * price,
        (false, Side::Sell) => match account.kind {
            AccountKind::Cash => return Err(CostError::ShortSellingNotAllowed),
            AccountKind::Margin => opening * price,
        },
        (true, Side::Buy) => opening * price * mult * non_marginable,
        (true, Side::Sell) => opening * naked_collateral(instrument, marks) * non_marginable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use std::collections::BTreeMap;

    struct M(BTreeMap<Instrument, Decimal>);
    impl Marks for M {
        fn mark(&self, i: &Instrument) -> Option<Decimal> {
            self.0.get(i).copied()
        }
    }

    fn opt(s: &str) -> Instrument {
        Instrument::parse_symbol(s)
    }

    #[test]
    fn margin_doubles_excess_equity() {
        let mut a = Account::new("A", AccountKind::Margin, dec!(10000));
        let m = M([(Instrument::equity("AAPL"), dec!(100))].into());
        assert_eq!(buying_power(&a, &m), dec!(20000));
        a.apply_fill(&Instrument::equity("AAPL"), dec!(100), dec!(100), dec!(0));
        // equity 10,000, requirement 5,000 → 10,000 left: the 10,000 bought cost 10,000 units.
        assert_eq!(buying_power(&a, &m), dec!(10000));
        let c = Account::new("C", AccountKind::Cash, dec!(10000));
        assert_eq!(buying_power(&c, &m), dec!(10000));
    }

    #[test]
    fn vertical_spread_locks_only_its_width() {
        let mut a = Account::new("A", AccountKind::Cash, dec!(10000));
        let m = M([(Instrument::equity("SPY"), dec!(455))].into());
        a.apply_fill(&opt("SPY   261218P00450000"), dec!(-1), dec!(3), dec!(0));
        assert_eq!(short_option_collateral(&a, &m), dec!(45000));
        a.apply_fill(&opt("SPY   261218P00445000"), dec!(1), dec!(2), dec!(0));
        assert_eq!(short_option_collateral(&a, &m), dec!(500));
        // cash 10,000 + 300 − 200 = 10,100; minus 500 collateral.
        assert_eq!(buying_power(&a, &m), dec!(9600));
    }

    #[test]
    fn order_costs_by_kind() {
        let a = Account::new("A", AccountKind::Cash, dec!(10000));
        let m = M(BTreeMap::new());
        let aapl = Instrument::equity("AAPL");
        assert_eq!(
            order_cost(&a, &aapl, Side::Buy, None, dec!(10), dec!(100), &m),
            Ok(dec!(1000))
        );
        assert_eq!(
            order_cost(&a, &aapl, Side::Sell, None, dec!(10), dec!(100), &m),
            Err(CostError::ShortSellingNotAllowed)
        );
        let call = opt("AAPL  261218C00200000");
        assert_eq!(
            order_cost(
                &a,
                &call,
                Side::Sell,
                Some(PositionEffect::Close),
                dec!(1),
                dec!(1),
                &m
            ),
            Err(CostError::NoPositionToClose)
        );
        assert_eq!(
            order_cost(
                &a,
                &call,
                Side::Buy,
                Some(PositionEffect::Open),
                dec!(2),
                dec!(1.5),
                &m
            ),
            Ok(dec!(300))
        );
    }
}
