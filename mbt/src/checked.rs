//! Checked decimal arithmetic. `Decimal`'s operators panic when a result
//! leaves its range (about ±7.9 × 10²⁸), and outside input (order quantities
//! and prices, market prices, deposits) reaches every amount the engine
//! computes; so engine arithmetic goes through these functions, and an
//! overflow becomes a value the caller turns into a refusal.
//!
//! The crate denies `clippy::arithmetic_side_effects` (see `lib.rs`), which
//! keeps operators off `Decimal` in library code.

use rust_decimal::Decimal;

/// A result beyond `Decimal`'s range, and on which side of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("decimal overflow ({})", if *.negative { "below the minimum" } else { "above the maximum" })]
pub struct Overflow {
    pub negative: bool,
}

impl Overflow {
    #[inline]
    fn sign_of(negative: bool) -> Self {
        Self { negative }
    }

    /// The nearest representable amount: what a statement shows for a
    /// value it cannot represent.
    #[inline]
    pub fn bound(self) -> Decimal {
        if self.negative {
            Decimal::MIN
        } else {
            Decimal::MAX
        }
    }
}

pub type Checked<T = Decimal> = Result<T, Overflow>;

// The helpers are #[inline] like Decimal's own operators, which they replace
// on the hot paths (marking every position for every order's check).

#[inline]
pub fn add(a: Decimal, b: Decimal) -> Checked {
    // A sum overflows only when both terms share a sign.
    a.checked_add(b)
        .ok_or(Overflow::sign_of(a.is_sign_negative()))
}

#[inline]
pub fn sub(a: Decimal, b: Decimal) -> Checked {
    // A difference overflows only when `a` and `−b` share a sign.
    a.checked_sub(b)
        .ok_or(Overflow::sign_of(a.is_sign_negative()))
}

#[inline]
pub fn mul(a: Decimal, b: Decimal) -> Checked {
    a.checked_mul(b).ok_or(Overflow::sign_of(
        a.is_sign_negative() != b.is_sign_negative(),
    ))
}

/// `a / b`; dividing by zero is an overflow too (the quotient is unbounded).
#[inline]
pub fn div(a: Decimal, b: Decimal) -> Checked {
    a.checked_div(b).ok_or(Overflow::sign_of(
        a.is_sign_negative() != b.is_sign_negative(),
    ))
}

/// `−a`, which never overflows: `Decimal`'s range is symmetric, and negating
/// only flips the sign.
#[allow(clippy::arithmetic_side_effects)] // negation cannot leave the range (see above)
pub fn neg(a: Decimal) -> Decimal {
    -a
}

/// The sum of `terms`, left to right.
#[inline]
pub fn sum(terms: impl IntoIterator<Item = Decimal>) -> Checked {
    terms.into_iter().try_fold(Decimal::ZERO, add)
}

/// `(a + b) / 2`, which never leaves the range: when the sum would, each
/// side is halved first. Halving the sum is the exact, cheap usual case.
#[inline]
pub fn midpoint(a: Decimal, b: Decimal) -> Decimal {
    let half = Decimal::new(5, 1);
    add(a, b).and_then(|s| mul(s, half)).unwrap_or_else(|_| {
        a.saturating_mul(half)
            .saturating_add(b.saturating_mul(half))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn in_range_results_are_the_operators_results() {
        assert_eq!(add(dec!(1.25), dec!(2)), Ok(dec!(3.25)));
        assert_eq!(sub(dec!(1.25), dec!(2)), Ok(dec!(-0.75)));
        assert_eq!(mul(dec!(1.25), dec!(-2)), Ok(dec!(-2.50)));
        assert_eq!(div(dec!(1), dec!(4)), Ok(dec!(0.25)));
        assert_eq!(sum([dec!(1), dec!(2), dec!(3.5)]), Ok(dec!(6.5)));
        assert_eq!(neg(dec!(1.50)).to_string(), "-1.50");
        assert_eq!(neg(Decimal::MIN), Decimal::MAX);
        // Scales are kept exactly as the operators keep them (log bytes depend on it).
        assert_eq!(sub(dec!(5000.000000), Decimal::ZERO).unwrap().scale(), 6);
        assert_eq!(midpoint(dec!(99.99), dec!(100.01)).to_string(), "100.000");
    }

    #[test]
    fn overflows_are_values_with_their_side() {
        let up = Overflow { negative: false };
        let down = Overflow { negative: true };
        assert_eq!(add(Decimal::MAX, dec!(1)), Err(up));
        assert_eq!(add(Decimal::MIN, dec!(-1)), Err(down));
        assert_eq!(sub(Decimal::MIN, dec!(1)), Err(down));
        assert_eq!(sub(Decimal::MAX, dec!(-1)), Err(up));
        assert_eq!(mul(Decimal::MAX, dec!(-2)), Err(down));
        assert_eq!(mul(Decimal::MIN, dec!(-2)), Err(up));
        assert_eq!(div(dec!(-1), Decimal::ZERO), Err(down));
        assert_eq!(div(Decimal::MAX, dec!(0.5)), Err(up));
        assert_eq!(sum([Decimal::MAX, dec!(1), dec!(-5)]), Err(up));
        assert_eq!(up.bound(), Decimal::MAX);
        assert_eq!(down.bound(), Decimal::MIN);
    }

    #[test]
    fn the_midpoint_of_extremes_is_in_range() {
        assert_eq!(midpoint(Decimal::MAX, Decimal::MAX), Decimal::MAX);
        assert_eq!(midpoint(Decimal::MIN, Decimal::MAX), Decimal::ZERO);
        assert_eq!(
            midpoint(dec!(1), Decimal::MAX),
            dec!(39614081257132168796771975168)
        );
    }
}
