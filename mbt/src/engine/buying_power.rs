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

use crate::account::{Account, AccountKind, Position};
use crate::checked::{self, Checked, Overflow};
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
    /// The cost is beyond what a `Decimal` can represent.
    Overflow,
}

impl From<Overflow> for CostError {
    fn from(_: Overflow) -> Self {
        CostError::Overflow
    }
}

/// Collateral held against the account's short options, net of vertical spreads.
pub fn short_option_collateral(account: &Account, marks: &impl Marks) -> Checked {
    let mut total = Decimal::ZERO;
    if !account
        .positions
        .values()
        .any(|p| p.instrument.is_option() && p.quantity < Decimal::ZERO)
    {
        return Ok(total);
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
        let mut uncovered = checked::neg(short.quantity);
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
            *q = checked::sub(*q, n)?;
            uncovered = checked::sub(uncovered, n)?;
            total = checked::add(
                total,
                checked::mul(checked::mul(width, n)?, short.instrument.multiplier())?,
            )?;
        }
        if !uncovered.is_zero() {
            total = checked::add(
                total,
                checked::mul(naked_collateral(&short.instrument, marks)?, uncovered)?,
            )?;
        }
    }
    Ok(total)
}

/// Collateral of one contract written with a long leg at `long_strike` covering it.
fn spread_width(right: OptionRight, short_strike: Decimal, long_strike: Decimal) -> Decimal {
    // Strikes are positive, so their difference is always in range.
    match right {
        OptionRight::Put => short_strike.saturating_sub(long_strike),
        OptionRight::Call => long_strike.saturating_sub(short_strike),
    }
    .max(Decimal::ZERO)
}

/// Collateral of one uncovered short contract.
fn naked_collateral(instrument: &Instrument, marks: &impl Marks) -> Checked {
    let Instrument::Option { occ } = instrument else {
        return Ok(Decimal::ZERO);
    };
    let per_share = match occ.right() {
        OptionRight::Put => occ.strike(),
        OptionRight::Call => marks
            .mark(&Instrument::equity(occ.root()))
            .unwrap_or(occ.strike())
            .max(occ.strike()),
    };
    checked::mul(per_share, instrument.multiplier())
}

/// A position's value at its mark (at its cost basis when it has no mark).
fn value(p: &Position, marks: &impl Marks) -> Checked {
    marks
        .mark(&p.instrument)
        .map_or(Ok(p.cost_basis), |m| p.market_value(m))
}

/// Equity: cash plus the market value of every position at its mark
/// (at its cost basis when it has no mark).
pub fn equity(account: &Account, marks: &impl Marks) -> Checked {
    let positions = account
        .positions
        .values()
        .try_fold(Decimal::ZERO, |sum, p| checked::add(sum, value(p, marks)?))?;
    checked::add(account.cash, positions)
}

/// What an account's positions are worth and require at their marks:
/// everything buying power needs besides cash and holds, and the part that
/// marks every position (the engine keeps it while the positions and the
/// marks stay, `engine::accounts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Valuation {
    /// Collateral held against short options, net of vertical spreads.
    pub collateral: Decimal,
    /// Σ market value, signed (at cost basis where there is no mark).
    pub positions: Decimal,
    /// A margin account's requirement: the collateral, half of each stock
    /// position's value, all of each long option's.
    pub requirement: Decimal,
}

/// One position's part of a margin account's valuation at `mark`: its
/// signed value (its cost basis when it has no mark) and what it requires
/// (half of a stock position's value, all of a long option's, None for a
/// short option, whose collateral is counted apart).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MarginTerm {
    pub signed: Decimal,
    pub requirement: Option<Decimal>,
}

pub fn margin_term(p: &Position, mark: Option<Decimal>) -> Checked<MarginTerm> {
    let signed = mark.map_or(Ok(p.cost_basis), |m| p.market_value(m))?;
    let value = signed.abs();
    let requirement = if p.instrument.is_option() {
        (p.quantity > Decimal::ZERO).then_some(value)
    } else {
        Some(checked::div(value, Decimal::TWO)?)
    };
    Ok(MarginTerm {
        signed,
        requirement,
    })
}

/// A margin account's valuation from its positions' terms, summed in
/// position order (the engine's kept terms sum to exactly what `valuation`
/// gives, `engine::accounts`).
pub fn margin_valuation(
    collateral: Decimal,
    terms: impl IntoIterator<Item = Checked<MarginTerm>>,
) -> Checked<Valuation> {
    let mut requirement = collateral;
    let mut positions = Decimal::ZERO;
    for term in terms {
        let term = term?;
        positions = checked::add(positions, term.signed)?;
        if let Some(r) = term.requirement {
            requirement = checked::add(requirement, r)?;
        }
    }
    Ok(Valuation {
        collateral,
        positions,
        requirement,
    })
}

/// Values `account`'s positions at `marks`, in one pass: marking each one
/// is most of what an order's check costs.
pub fn valuation(account: &Account, marks: &impl Marks) -> Checked<Valuation> {
    let collateral = short_option_collateral(account, marks)?;
    match account.kind {
        AccountKind::Margin => margin_valuation(
            collateral,
            account
                .positions
                .values()
                .map(|p| margin_term(p, marks.mark(&p.instrument))),
        ),
        AccountKind::Cash => Ok(Valuation {
            collateral,
            positions: Decimal::ZERO,
            requirement: collateral,
        }),
    }
}

/// Buying power before what working orders hold.
fn before_holds(account: &Account, valuation: &Valuation) -> Checked {
    match account.kind {
        AccountKind::Cash => checked::sub(account.cash, valuation.collateral),
        AccountKind::Margin => {
            let equity = checked::add(account.cash, valuation.positions)?;
            checked::mul(Decimal::TWO, checked::sub(equity, valuation.requirement)?)
        }
    }
}

/// Buying power left for new orders while `held` is reserved for working
/// ones, from the account's valuation.
pub fn available_valued(account: &Account, valuation: &Valuation, held: Decimal) -> Checked {
    Ok(checked::sub(before_holds(account, valuation)?, held)?.max(Decimal::ZERO))
}

/// Buying power left for new orders while `held` is reserved for working ones.
pub fn available(account: &Account, marks: &impl Marks, held: Decimal) -> Checked {
    available_valued(account, &valuation(account, marks)?, held)
}

/// Buying power left for new orders, after what working orders reserve.
pub fn buying_power(account: &Account, marks: &impl Marks) -> Checked {
    available(account, marks, account.reserved)
}

/// An order as buying power costs it.
#[derive(Debug, Clone, Copy)]
pub struct Costing<'a> {
    pub instrument: &'a Instrument,
    pub side: Side,
    pub effect: Option<PositionEffect>,
    pub qty: Decimal,
    pub price: Decimal,
    /// Units of the position the account's other working orders on the same
    /// side already close: a share a working sell will deliver is not there
    /// to sell again (the brokers' "held for orders").
    pub committed: Decimal,
}

/// The buying power an order of `qty` at `price` uses, given the position it
/// trades against. Closing trades use none; options cost their premium, short
/// options their collateral; margin accounts count non-marginable money twice.
pub fn order_cost(
    account: &Account,
    order: &Costing,
    marks: &impl Marks,
) -> Result<Decimal, CostError> {
    let Costing {
        instrument,
        side,
        effect,
        qty,
        price,
        committed,
    } = *order;
    let held = account.position_quantity(instrument);
    let closable = match side {
        Side::Buy if held < Decimal::ZERO => checked::sub(checked::neg(held), committed)?,
        Side::Sell if held > Decimal::ZERO => checked::sub(held, committed)?,
        _ => Decimal::ZERO,
    };
    let closing = qty.min(closable.max(Decimal::ZERO));
    if effect == Some(PositionEffect::Close) && closing < qty {
        return Err(CostError::NoPositionToClose);
    }
    let opening = checked::sub(qty, closing)?;
    if opening.is_zero() {
        return Ok(Decimal::ZERO);
    }
    let non_marginable = match account.kind {
        AccountKind::Cash => Decimal::ONE,
        AccountKind::Margin => Decimal::TWO,
    };
    let mult = instrument.multiplier();
    Ok(match (instrument.is_option(), side) {
        (false, Side::Buy) => checked::mul(opening, price)?,
        (false, Side::Sell) => match account.kind {
            AccountKind::Cash => return Err(CostError::ShortSellingNotAllowed),
            AccountKind::Margin => checked::mul(opening, price)?,
        },
        (true, Side::Buy) => checked::mul(
            checked::mul(checked::mul(opening, price)?, mult)?,
            non_marginable,
        )?,
        (true, Side::Sell) => checked::mul(
            checked::mul(opening, naked_collateral(instrument, marks)?)?,
            non_marginable,
        )?,
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

    fn costing(
        instrument: &Instrument,
        side: Side,
        effect: Option<PositionEffect>,
        qty: Decimal,
        price: Decimal,
    ) -> Costing<'_> {
        Costing {
            instrument,
            side,
            effect,
            qty,
            price,
            committed: Decimal::ZERO,
        }
    }

    fn opt(s: &str) -> Instrument {
        Instrument::parse_symbol(s)
    }

    #[test]
    fn margin_doubles_excess_equity() {
        let mut a = Account::new("A", AccountKind::Margin, dec!(10000));
        let m = M([(Instrument::equity("AAPL"), dec!(100))].into());
        assert_eq!(buying_power(&a, &m), Ok(dec!(20000)));
        a.apply_fill(&Instrument::equity("AAPL"), dec!(100), dec!(100), dec!(0))
            .unwrap();
        // equity 10,000, requirement 5,000 → 10,000 left: the 10,000 bought cost 10,000 units.
        assert_eq!(buying_power(&a, &m), Ok(dec!(10000)));
        let c = Account::new("C", AccountKind::Cash, dec!(10000));
        assert_eq!(buying_power(&c, &m), Ok(dec!(10000)));
    }

    #[test]
    fn vertical_spread_locks_only_its_width() {
        let mut a = Account::new("A", AccountKind::Cash, dec!(10000));
        let m = M([(Instrument::equity("SPY"), dec!(455))].into());
        a.apply_fill(&opt("SPY   261218P00450000"), dec!(-1), dec!(3), dec!(0))
            .unwrap();
        assert_eq!(short_option_collateral(&a, &m), Ok(dec!(45000)));
        a.apply_fill(&opt("SPY   261218P00445000"), dec!(1), dec!(2), dec!(0))
            .unwrap();
        assert_eq!(short_option_collateral(&a, &m), Ok(dec!(500)));
        // cash 10,000 + 300 − 200 = 10,100; minus 500 collateral.
        assert_eq!(buying_power(&a, &m), Ok(dec!(9600)));
    }

    #[test]
    fn order_costs_by_kind() {
        let a = Account::new("A", AccountKind::Cash, dec!(10000));
        let m = M(BTreeMap::new());
        let aapl = Instrument::equity("AAPL");
        assert_eq!(
            order_cost(
                &a,
                &costing(&aapl, Side::Buy, None, dec!(10), dec!(100)),
                &m
            ),
            Ok(dec!(1000))
        );
        assert_eq!(
            order_cost(
                &a,
                &costing(&aapl, Side::Sell, None, dec!(10), dec!(100)),
                &m
            ),
            Err(CostError::ShortSellingNotAllowed)
        );
        let call = opt("AAPL  261218C00200000");
        assert_eq!(
            order_cost(
                &a,
                &costing(
                    &call,
                    Side::Sell,
                    Some(PositionEffect::Close),
                    dec!(1),
                    dec!(1)
                ),
                &m
            ),
            Err(CostError::NoPositionToClose)
        );
        assert_eq!(
            order_cost(
                &a,
                &costing(
                    &call,
                    Side::Buy,
                    Some(PositionEffect::Open),
                    dec!(2),
                    dec!(1.5)
                ),
                &m
            ),
            Ok(dec!(300))
        );
    }

    #[test]
    fn costs_beyond_decimal_are_overflow_not_panics() {
        let a = Account::new("A", AccountKind::Margin, dec!(10000));
        let m = M(BTreeMap::new());
        let aapl = Instrument::equity("AAPL");
        let call = opt("AAPL  261218C00200000");
        for (inst, side, qty, price) in [
            (
                &aapl,
                Side::Buy,
                dec!(10),
                dec!(10000000000000000000000000000),
            ),
            (&aapl, Side::Sell, dec!(1000000), Decimal::MAX),
            (
                &call,
                Side::Buy,
                dec!(1000000),
                dec!(100000000000000000000000),
            ),
        ] {
            assert_eq!(
                order_cost(
                    &a,
                    &costing(inst, side, Some(PositionEffect::Open), qty, price),
                    &m
                ),
                Err(CostError::Overflow),
                "{inst} {side:?} {qty} @ {price}"
            );
        }
        let mut rich = Account::new("R", AccountKind::Margin, Decimal::MAX);
        assert!(buying_power(&rich, &m).is_err(), "2 × cash overflows");
        rich.kind = AccountKind::Cash;
        assert_eq!(buying_power(&rich, &m), Ok(Decimal::MAX));
    }
}
