//! Accounts and positions.
//!
//! A position keeps its exact signed cost basis (quantity × price × multiplier
//! summed over opening fills) rather than a rounded average, so that money is
//! conserved exactly: for every account, at every event,
//! `cash + Σ cost_basis + fees_paid − realized_pnl = deposits`.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::checked::{self, Checked, Overflow};
use crate::instrument::Instrument;

/// Decimal places kept in a cost basis split by a partial close.
const BASIS_DP: u32 = 10;

/// The largest amount an account's ledger holds (deposits, cash, a
/// position's cost basis, fees, realized P&L): a quadrillion, ten times the
/// world's money. Quantities have at most 9 decimal places and fill prices
/// at most 4, so ledger amounts have at most 13; within ±10¹⁵ they, and the
/// sums that check conservation, fit Decimal's 96 bits unrounded. Beyond it
/// `Decimal` would round silently and money would no longer be conserved
/// exactly, so a fill that would take an amount past it is not made.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(2_764_472_320, 232_830, 0, false, 0);

/// Whether `cash` can be deposited: whole cents, from zero to `MAX_AMOUNT`.
pub fn is_valid_deposit(cash: Decimal) -> bool {
    cash >= Decimal::ZERO && cash <= MAX_AMOUNT && cash.normalize().scale() <= 2
}

/// `amount`, if it is within the ledger's range (see `MAX_AMOUNT`).
fn ledger(amount: Decimal) -> Checked {
    if amount.abs() > MAX_AMOUNT {
        return Err(Overflow {
            negative: amount.is_sign_negative(),
        });
    }
    Ok(amount)
}

/// Cash accounts pay for everything in full and may not short; margin
/// accounts follow a simple Reg-T model (50% initial requirement on equities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    Cash,
    Margin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub instrument: Instrument,
    /// Signed: negative is short.
    pub quantity: Decimal,
    /// Signed: Σ opening quantity × price × multiplier (negative for a short).
    pub cost_basis: Decimal,
}

impl Position {
    /// Average opening price per unit (per share, or per-share premium for
    /// options); a quotient beyond Decimal's range shows at its bound.
    pub fn average_price(&self) -> Decimal {
        if self.quantity.is_zero() {
            return Decimal::ZERO;
        }
        checked::mul(self.quantity, self.instrument.multiplier())
            .and_then(|units| checked::div(self.cost_basis, units))
            .map_or_else(Overflow::bound, |p| p.round_dp(6).normalize())
    }

    #[inline]
    pub fn market_value(&self, mark: Decimal) -> Checked {
        checked::mul(
            checked::mul(self.quantity, mark)?,
            self.instrument.multiplier(),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub kind: AccountKind,
    /// Money put in (the starting cash plus later deposits).
    pub deposits: Decimal,
    pub cash: Decimal,
    pub fees_paid: Decimal,
    pub realized_pnl: Decimal,
    pub positions: BTreeMap<Instrument, Position>,
    /// Buying power held for working orders, in buying-power units.
    pub reserved: Decimal,
}

/// What one fill did to an account's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillEffect {
    /// Profit or loss realized by the closing part of the fill.
    pub realized: Decimal,
    /// The position's quantity after the fill.
    pub position_after: Decimal,
}

impl Account {
    pub fn new(id: impl Into<String>, kind: AccountKind, cash: Decimal) -> Self {
        Self {
            id: id.into(),
            kind,
            deposits: cash,
            cash,
            fees_paid: Decimal::ZERO,
            realized_pnl: Decimal::ZERO,
            positions: BTreeMap::new(),
            reserved: Decimal::ZERO,
        }
    }

    pub fn position_quantity(&self, instrument: &Instrument) -> Decimal {
        self.positions
            .get(instrument)
            .map_or(Decimal::ZERO, |p| p.quantity)
    }

    /// Books one fill: cash moves by the notional and the fee, the position
    /// opens, grows, shrinks or crosses zero, and the closing part realizes P&L.
    /// All or nothing: every new amount is computed first, so a fill whose
    /// amounts cannot be represented, or would leave the ledger's range
    /// (`MAX_AMOUNT`), changes nothing and is an `Overflow`.
    pub fn apply_fill(
        &mut self,
        instrument: &Instrument,
        signed_qty: Decimal,
        price: Decimal,
        fee: Decimal,
    ) -> Checked<FillEffect> {
        let mult = instrument.multiplier();
        let notional = checked::mul(checked::mul(signed_qty, price)?, mult)?;
        let cash = ledger(checked::sub(self.cash, checked::add(notional, fee)?)?)?;
        let fees_paid = ledger(checked::add(self.fees_paid, fee)?)?;
        let (held, basis) = self
            .positions
            .get(instrument)
            .map_or((Decimal::ZERO, Decimal::ZERO), |p| {
                (p.quantity, p.cost_basis)
            });
        let same_direction =
            held.is_zero() || held.is_sign_positive() == signed_qty.is_sign_positive();
        let (realized, quantity, cost_basis) = if same_direction {
            (
                Decimal::ZERO,
                checked::add(held, signed_qty)?,
                checked::add(basis, notional)?,
            )
        } else {
            let closing = signed_qty.abs().min(held.abs());
            let closing_signed = if signed_qty.is_sign_negative() {
                checked::neg(closing)
            } else {
                closing
            };
            // The basis removed and the P&L realized use the same `removed`
            // value, so the division's rounding never leaks money; rounding it
            // to a fixed scale keeps every later sum exact within Decimal's 28 digits.
            let removed = if closing == held.abs() {
                basis
            } else {
                checked::div(checked::mul(basis, closing)?, held.abs())?.round_dp(BASIS_DP)
            };
            let realized = checked::sub(
                checked::mul(checked::mul(checked::neg(closing_signed), price)?, mult)?,
                removed,
            )?;
            let mut quantity = checked::add(held, closing_signed)?;
            let mut cost_basis = checked::sub(basis, removed)?;
            let opening = checked::sub(signed_qty, closing_signed)?;
            if !opening.is_zero() {
                quantity = checked::add(quantity, opening)?;
                cost_basis = checked::add(
                    cost_basis,
                    checked::mul(checked::mul(opening, price)?, mult)?,
                )?;
            }
            (realized, quantity, cost_basis)
        };
        let cost_basis = ledger(cost_basis)?;
        let realized_pnl = ledger(checked::add(self.realized_pnl, realized)?)?;
        self.cash = cash;
        self.fees_paid = fees_paid;
        self.realized_pnl = realized_pnl;
        self.set_position(instrument, quantity, cost_basis);
        Ok(FillEffect {
            realized,
            position_after: quantity,
        })
    }

    /// Records a position's new state; a flat position leaves the book.
    fn set_position(&mut self, instrument: &Instrument, quantity: Decimal, cost_basis: Decimal) {
        if quantity.is_zero() {
            self.positions.remove(instrument);
        } else if let Some(p) = self.positions.get_mut(instrument) {
            p.quantity = quantity;
            p.cost_basis = cost_basis;
        } else {
            self.positions.insert(
                instrument.clone(),
                Position {
                    instrument: instrument.clone(),
                    quantity,
                    cost_basis,
                },
            );
        }
    }

    /// `cash + Σ cost_basis + fees_paid − realized_pnl − deposits`: zero when
    /// money is conserved. Summed from `cash − deposits`, so the partial sums
    /// stay as small as the account's flows even when the deposits are huge.
    pub fn conservation_error(&self) -> Checked {
        let basis = checked::sum(self.positions.values().map(|p| p.cost_basis))?;
        let error = checked::add(checked::sub(self.cash, self.deposits)?, basis)?;
        checked::sub(checked::add(error, self.fees_paid)?, self.realized_pnl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn aapl() -> Instrument {
        Instrument::equity("AAPL")
    }

    #[test]
    fn long_round_trip_realizes_pnl() {
        let mut a = Account::new("A", AccountKind::Cash, dec!(10000));
        a.apply_fill(&aapl(), dec!(10), dec!(100), dec!(1)).unwrap();
        a.apply_fill(&aapl(), dec!(10), dec!(110), dec!(0)).unwrap();
        assert_eq!(a.positions[&aapl()].average_price(), dec!(105));
        let e = a
            .apply_fill(&aapl(), dec!(-5), dec!(120), dec!(0.5))
            .unwrap();
        assert_eq!(e.realized, dec!(75));
        assert_eq!(e.position_after, dec!(15));
        assert_eq!(a.positions[&aapl()].average_price(), dec!(105));
        a.apply_fill(&aapl(), dec!(-15), dec!(100), dec!(0))
            .unwrap();
        assert!(a.positions.is_empty());
        assert_eq!(a.realized_pnl, dec!(0));
        assert_eq!(a.cash, dec!(10000) - dec!(1.5));
        assert_eq!(a.conservation_error(), Ok(dec!(0)));
    }

    #[test]
    fn crossing_zero_closes_then_opens_at_the_fill_price() {
        let mut a = Account::new("A", AccountKind::Margin, dec!(10000));
        a.apply_fill(&aapl(), dec!(10), dec!(100), dec!(0)).unwrap();
        let e = a.apply_fill(&aapl(), dec!(-15), dec!(90), dec!(0)).unwrap();
        assert_eq!(e.realized, dec!(-100));
        let p = &a.positions[&aapl()];
        assert_eq!(p.quantity, dec!(-5));
        assert_eq!(p.average_price(), dec!(90));
        let e = a.apply_fill(&aapl(), dec!(5), dec!(80), dec!(0)).unwrap();
        assert_eq!(e.realized, dec!(50));
        assert_eq!(a.conservation_error(), Ok(dec!(0)));
    }

    #[test]
    fn option_multiplier_applies_to_cash_and_basis() {
        let mut a = Account::new("A", AccountKind::Cash, dec!(10000));
        let o = Instrument::parse_symbol("AAPL  261218C00200000");
        a.apply_fill(&o, dec!(2), dec!(1.25), dec!(1.30)).unwrap();
        assert_eq!(a.cash, dec!(10000) - dec!(250) - dec!(1.30));
        assert_eq!(a.positions[&o].average_price(), dec!(1.25));
        assert_eq!(a.conservation_error(), Ok(dec!(0)));
    }

    #[test]
    fn partial_close_with_awkward_division_still_conserves() {
        let mut a = Account::new("A", AccountKind::Cash, dec!(1000));
        a.apply_fill(&aapl(), dec!(3), dec!(10), dec!(0)).unwrap();
        a.apply_fill(&aapl(), dec!(1), dec!(11), dec!(0)).unwrap();
        a.apply_fill(&aapl(), dec!(-1), dec!(12), dec!(0)).unwrap();
        a.apply_fill(&aapl(), dec!(-1), dec!(9), dec!(0)).unwrap();
        assert_eq!(a.conservation_error(), Ok(dec!(0)));
    }

    #[test]
    fn a_fill_that_cannot_be_represented_changes_nothing() {
        let mut a = Account::new("A", AccountKind::Margin, dec!(10000));
        a.apply_fill(&aapl(), dec!(10), dec!(100), dec!(1)).unwrap();
        let before = a.clone();
        let o = Instrument::parse_symbol("AAPL  261218C00200000");
        for (inst, qty, price) in [
            (aapl(), dec!(10), Decimal::MAX),
            (aapl(), dec!(-10), Decimal::MAX),
            (aapl(), dec!(-1000000), dec!(100000000000000000000000)),
            (o, dec!(1000000000000000000000000000), dec!(1)),
        ] {
            assert!(a.apply_fill(&inst, qty, price, dec!(0)).is_err());
            assert_eq!(a, before);
        }
        assert_eq!(
            a.apply_fill(&aapl(), dec!(1), dec!(1), Decimal::MAX),
            Err(Overflow { negative: false })
        );
        assert_eq!(a, before);
    }

    #[test]
    fn statements_of_absurd_positions_show_bounds() {
        let p = Position {
            instrument: aapl(),
            quantity: dec!(0.000000001),
            cost_basis: Decimal::MAX,
        };
        assert_eq!(p.average_price(), Decimal::MAX);
        assert!(p.market_value(Decimal::MAX).is_ok());
        let short = Position {
            quantity: Decimal::MIN,
            ..p
        };
        assert_eq!(
            short.market_value(dec!(2)),
            Err(Overflow { negative: true })
        );
    }

    #[test]
    fn the_ledger_stays_within_its_range() {
        assert_eq!(MAX_AMOUNT, Decimal::from(1_000_000_000_000_000i64));
        assert!(is_valid_deposit(dec!(100000)) && is_valid_deposit(dec!(0.10)));
        assert!(is_valid_deposit(MAX_AMOUNT) && is_valid_deposit(dec!(5.000000)));
        for bad in [dec!(-1), MAX_AMOUNT + dec!(0.01), dec!(0.001), Decimal::MAX] {
            assert!(!is_valid_deposit(bad), "{bad}");
        }
        let mut a = Account::new("A", AccountKind::Margin, MAX_AMOUNT);
        // Spending it all is fine; a position worth more than the range is not booked.
        a.apply_fill(&aapl(), dec!(1000000), dec!(1000000000), dec!(0))
            .unwrap();
        let before = a.clone();
        assert_eq!(
            a.apply_fill(&aapl(), dec!(1), dec!(1), dec!(0)),
            Err(Overflow { negative: false })
        );
        assert_eq!(a, before);
        assert_eq!(a.conservation_error(), Ok(dec!(0)));
    }
}
