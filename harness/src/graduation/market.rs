//! The replay's market: a seeded random walk of bars over trading days.
//!
//! Each bar moves the price by a uniform step of the bar's volatility (the
//! daily volatility over the square root of the bars in a day), rounded to
//! the cent; the walk never goes below a cent. Trading days are the
//! weekdays from Monday 2026-01-05, the bars evenly spaced over the
//! 14:30–21:00 UTC session.

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rust_decimal::{Decimal, MathematicalOps};

use super::MarketSpec;

/// One bar: when, where in the replay, and the price.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub day: u32,
    pub bar: u32,
    pub at: DateTime<Utc>,
    pub price: Decimal,
}

/// Every bar of the market, in order.
pub fn bars(spec: &MarketSpec, seed: u64) -> Vec<Bar> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x6261_7273);
    let per_day = Decimal::from(spec.bars_per_day);
    let sigma = spec.daily_volatility_percent
        / Decimal::ONE_HUNDRED
        / per_day.sqrt().unwrap_or(Decimal::ONE);
    // A uniform step on [-√3, √3] has unit variance.
    let reach = Decimal::from(3).sqrt().unwrap_or(Decimal::ONE);
    let minutes = 390 / i64::from(spec.bars_per_day.max(1));
    let cent = Decimal::new(1, 2);
    let mut price = spec.start_price.round_dp(2).max(cent);
    let mut out = Vec::new();
    for (d, date) in trading_days(spec.days).into_iter().enumerate() {
        for b in 0..spec.bars_per_day {
            let at = date + Duration::minutes(minutes * i64::from(b));
            out.push(Bar {
                day: d as u32 + 1,
                bar: b + 1,
                at,
                price,
            });
            let z =
                Decimal::from(rng.gen_range(-1_000_000i64..=1_000_000)) / Decimal::from(1_000_000);
            let step = Decimal::ONE + sigma * reach * z;
            price = (price * step).round_dp(2).max(cent);
        }
    }
    out
}

/// The session opens of the first `days` weekdays from Monday 2026-01-05.
fn trading_days(days: u32) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let mut day = Utc.with_ymd_and_hms(2026, 1, 5, 14, 30, 0).single();
    while let Some(d) = day {
        if out.len() >= days as usize {
            break;
        }
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            out.push(d);
        }
        day = d.checked_add_signed(Duration::days(1));
    }
    out
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn spec() -> MarketSpec {
        MarketSpec {
            symbol: "AAPL".into(),
            start_price: dec!(100),
            days: 6,
            bars_per_day: 4,
            daily_volatility_percent: dec!(2),
        }
    }

    #[test]
    fn the_walk_is_seeded_skips_weekends_and_moves_by_its_volatility() {
        let a = bars(&spec(), 7);
        assert_eq!(a, bars(&spec(), 7));
        assert_ne!(a, bars(&spec(), 8));
        assert_eq!(a.len(), 24);
        assert_eq!(a[0].price, dec!(100));
        // Day 6 is Monday 2026-01-12: the weekend is skipped.
        assert_eq!(
            a[20].at,
            Utc.with_ymd_and_hms(2026, 1, 12, 14, 30, 0).unwrap()
        );
        assert_eq!((a[21].day, a[21].bar), (6, 2));
        // One bar moves at most √3 × 1 % (2 % a day over √4 bars).
        for w in a.windows(2) {
            let moved = ((w[1].price - w[0].price) / w[0].price).abs();
            assert!(moved <= dec!(0.0175), "{moved}");
        }
        assert!(a.windows(2).any(|w| w[0].price != w[1].price));
    }
}
