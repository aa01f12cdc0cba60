//! Option quotes priced from the underlying with Black-Scholes, entirely in
//! `Decimal`: no floats (money is never a float, and libm's transcendental
//! functions are not bit-reproducible across platforms).

use rust_decimal::prelude::*;
use rust_decimal::MathematicalOps;
use serde::{Deserialize, Serialize};

use crate::checked::{self, Checked, Overflow};
use crate::instrument::{OccSymbol, OptionRight};
use crate::market::Quote;
use crate::time::Timestamp;

/// Options settle at the expiry date's regular close, 16:00 New York (21:00 UTC, EST).
const EXPIRY_CLOSE_UTC_SECS: i64 = 21 * 3600;
const SECS_PER_YEAR: i64 = 365 * 86_400;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptionPricing {
    /// Annualized volatility, e.g. 0.30.
    pub volatility: Decimal,
    /// Continuously compounded risk-free rate, e.g. 0.04.
    pub rate: Decimal,
    /// Quoted spread around the theoretical value, in basis points of it.
    pub spread_bps: Decimal,
    /// Price increment of option quotes.
    pub min_tick: Decimal,
    /// Contracts shown on each side.
    pub size: Decimal,
}

impl Default for OptionPricing {
    fn default() -> Self {
        Self {
            volatility: Decimal::new(30, 2),
            rate: Decimal::new(4, 2),
            spread_bps: Decimal::from(200),
            min_tick: Decimal::new(1, 2),
            size: Decimal::from(50),
        }
    }
}

/// Keeps `norm_cdf` and `exp` inside ranges where they cannot overflow;
/// beyond ±10 standard deviations N(x) is 0 or 1 to 23 digits anyway.
fn clamp(x: Decimal) -> Decimal {
    x.clamp(Decimal::from(-10), Decimal::TEN)
}

fn n(x: Decimal) -> Decimal {
    clamp(x).norm_cdf()
}

impl OptionPricing {
    /// Per-share premium. At or after expiry, or with no volatility, the
    /// (discounted) intrinsic value; never negative. Inputs are clamped to
    /// where the formula is meaningful; a value beyond Decimal's range
    /// (only an absurd spot or configuration makes one) is an `Overflow`.
    pub fn theoretical(
        &self,
        right: OptionRight,
        spot: Decimal,
        strike: Decimal,
        years: Decimal,
    ) -> Checked {
        if spot <= Decimal::ZERO || strike <= Decimal::ZERO {
            return Ok(Decimal::ZERO);
        }
        let years = years.min(Decimal::from(50));
        let intrinsic = |k: Decimal| {
            match right {
                OptionRight::Call => checked::sub(spot, k),
                OptionRight::Put => checked::sub(k, spot),
            }
            .map(|v| v.max(Decimal::ZERO))
        };
        if years <= Decimal::ZERO {
            return intrinsic(strike);
        }
        let rate = self.rate.clamp(Decimal::from(-1), Decimal::ONE);
        let discount = clamp(checked::mul(checked::neg(rate), years)?)
            .checked_exp()
            .unwrap_or(Decimal::ONE);
        let k_disc = checked::mul(strike, discount)?;
        let vol = self.volatility.clamp(Decimal::ZERO, Decimal::from(10));
        let vol_sqrt_t = checked::mul(vol, years.sqrt().unwrap_or_default())?;
        if vol_sqrt_t <= Decimal::new(1, 12) {
            return intrinsic(k_disc);
        }
        let Some(ln) = checked::div(spot, strike)?.checked_ln() else {
            return intrinsic(k_disc);
        };
        let drift = checked::add(rate, checked::div(checked::mul(vol, vol)?, Decimal::TWO)?)?;
        let Some(d1) = checked::add(ln, checked::mul(drift, years)?)?.checked_div(vol_sqrt_t)
        else {
            return intrinsic(k_disc);
        };
        let d2 = checked::sub(d1, vol_sqrt_t)?;
        let value = match right {
            OptionRight::Call => {
                checked::sub(checked::mul(spot, n(d1))?, checked::mul(k_disc, n(d2))?)?
            }
            OptionRight::Put => checked::sub(
                checked::mul(k_disc, n(checked::neg(d2)))?,
                checked::mul(spot, n(checked::neg(d1)))?,
            )?,
        };
        Ok(value.max(Decimal::ZERO))
    }

    /// Years from `now` to the option's settlement at its expiry date's close.
    pub fn years_to_expiry(occ: &OccSymbol, now: Timestamp) -> Decimal {
        let midnight = occ
            .expiry()
            .and_hms_opt(0, 0, 0)
            .map_or(0, |d| d.and_utc().timestamp());
        // Seconds of dates and instants within ±292 years of 1970: no i64 overflow.
        let secs = midnight
            .saturating_add(EXPIRY_CLOSE_UTC_SECS)
            .saturating_sub(now.nanos().div_euclid(Timestamp::NANOS_PER_SEC));
        // An i64 of seconds over a positive constant is always in range.
        checked::div(Decimal::from(secs), Decimal::from(SECS_PER_YEAR))
            .unwrap_or_else(Overflow::bound)
    }

    /// A two-sided quote around the theoretical value, on the tick, with
    /// at least one tick between bid and ask and a bid of at least one tick
    /// (a worthless option still quotes 0.01 / 0.02).
    pub fn quote(&self, occ: &OccSymbol, spot: Decimal, now: Timestamp) -> Checked<Quote> {
        let tick = if self.min_tick > Decimal::ZERO {
            self.min_tick
        } else {
            Decimal::new(1, 2)
        };
        let theo = self.theoretical(
            occ.right(),
            spot,
            occ.strike(),
            Self::years_to_expiry(occ, now),
        )?;
        let half = checked::div(checked::mul(theo, self.spread_bps)?, Decimal::from(20_000))?
            .max(checked::div(tick, Decimal::TWO)?);
        let to_tick = |x: Decimal, strategy| {
            checked::mul(
                checked::div(x, tick)?.round_dp_with_strategy(0, strategy),
                tick,
            )
        };
        let bid = to_tick(
            checked::sub(theo, half)?,
            RoundingStrategy::ToNegativeInfinity,
        )?
        .max(tick);
        let ask = to_tick(
            checked::add(theo, half)?,
            RoundingStrategy::ToPositiveInfinity,
        )?
        .max(checked::add(bid, tick)?);
        Ok(Quote {
            bid: bid.normalize(),
            ask: ask.normalize(),
            bid_size: self.size,
            ask_size: self.size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn textbook() -> OptionPricing {
        OptionPricing {
            volatility: dec!(0.2),
            rate: dec!(0.05),
            ..OptionPricing::default()
        }
    }

    #[test]
    fn textbook_values() {
        let p = textbook();
        let call = p
            .theoretical(OptionRight::Call, dec!(100), dec!(100), dec!(1))
            .unwrap();
        let put = p
            .theoretical(OptionRight::Put, dec!(100), dec!(100), dec!(1))
            .unwrap();
        assert!((call - dec!(10.4506)).abs() < dec!(0.001), "{call}");
        assert!((put - dec!(5.5735)).abs() < dec!(0.001), "{put}");
    }

    #[test]
    fn put_call_parity_within_a_cent() {
        let p = textbook();
        for (s, k, t) in [
            (dec!(100), dec!(90), dec!(0.5)),
            (dec!(450), dec!(455), dec!(0.1)),
            (dec!(12.5), dec!(15), dec!(2)),
        ] {
            let c = p.theoretical(OptionRight::Call, s, k, t).unwrap();
            let q = p.theoretical(OptionRight::Put, s, k, t).unwrap();
            let parity = s - k * (-p.rate * t).exp();
            assert!(
                (c - q - parity).abs() < dec!(0.01),
                "{s} {k} {t}: {c} {q} {parity}"
            );
        }
    }

    #[test]
    fn intrinsic_at_and_after_expiry() {
        let p = textbook();
        assert_eq!(
            p.theoretical(OptionRight::Call, dec!(110), dec!(100), dec!(0)),
            Ok(dec!(10))
        );
        assert_eq!(
            p.theoretical(OptionRight::Put, dec!(110), dec!(100), dec!(-1)),
            Ok(dec!(0))
        );
        assert_eq!(
            p.theoretical(OptionRight::Put, dec!(90), dec!(100), dec!(0)),
            Ok(dec!(10))
        );
    }

    #[test]
    fn quotes_are_on_tick_two_sided_and_priced_to_expiry() {
        let p = OptionPricing::default();
        let occ: OccSymbol = "AAPL  260116C00100000".parse().unwrap();
        let now = Timestamp::from_secs(1_767_625_200); // 2026-01-05 15:00 UTC
        let q = p.quote(&occ, dec!(100), now).unwrap();
        assert!(q.bid >= dec!(0.01) && q.ask > q.bid, "{q:?}");
        assert_eq!(q.bid.round_dp(2), q.bid);
        assert!(q.mid() > dec!(1) && q.mid() < dec!(5), "{q:?}");
        let deep_otm: OccSymbol = "AAPL  260116C00500000".parse().unwrap();
        let w = p.quote(&deep_otm, dec!(100), now).unwrap();
        assert_eq!((w.bid, w.ask), (dec!(0.01), dec!(0.02)));
        let years = OptionPricing::years_to_expiry(&occ, now);
        assert!(years > dec!(0.02) && years < dec!(0.04), "{years}");
    }

    #[test]
    fn absurd_spots_are_overflow_values_not_panics() {
        let p = OptionPricing::default();
        let occ: OccSymbol = "AAPL  260116C00000001".parse().unwrap();
        let now = Timestamp::from_secs(1_767_625_200);
        assert!(p.quote(&occ, Decimal::MAX, now).is_err());
        assert!(p.quote(&occ, crate::market::MAX_PRICE, now).is_ok());
        let tiny = p
            .quote(&occ, dec!(0.0000000000000000000000000001), now)
            .unwrap();
        assert_eq!((tiny.bid, tiny.ask), (dec!(0.01), dec!(0.02)));
        let greedy = OptionPricing {
            spread_bps: Decimal::MAX,
            ..OptionPricing::default()
        };
        assert!(greedy.quote(&occ, dec!(100), now).is_err());
    }

    proptest! {
        #[test]
        fn never_panics_never_negative(
            spot in 0i64..100_000_000, strike in 0i64..100_000_000, days in -400i64..40_000,
            vol in 0i64..2_000, rate in -50i64..50, call in any::<bool>(),
        ) {
            let p = OptionPricing { volatility: Decimal::new(vol, 2), rate: Decimal::new(rate, 2), ..OptionPricing::default() };
            let right = if call { OptionRight::Call } else { OptionRight::Put };
            let v = p.theoretical(right, Decimal::new(spot, 2), Decimal::new(strike, 2), Decimal::from(days) / Decimal::from(365));
            prop_assert!(v.unwrap() >= Decimal::ZERO);
        }

        #[test]
        fn calls_rise_and_puts_fall_with_spot(spot in 1i64..100_000, bump in 1i64..10_000, strike in 1i64..100_000, days in 1i64..1000) {
            let p = OptionPricing::default();
            let t = Decimal::from(days) / Decimal::from(365);
            let (s1, s2, k) = (Decimal::new(spot, 2), Decimal::new(spot + bump, 2), Decimal::new(strike, 2));
            let tol = dec!(0.0000001);
            let value = |right, s| p.theoretical(right, s, k, t).unwrap();
            prop_assert!(value(OptionRight::Call, s2) + tol >= value(OptionRight::Call, s1));
            prop_assert!(value(OptionRight::Put, s2) <= value(OptionRight::Put, s1) + tol);
        }
    }
}
