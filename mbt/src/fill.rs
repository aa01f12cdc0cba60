//! The seeded fill model: how much of a marketable order fills against one
//! market event, and at what price.
//!
//! A marketable order takes liquidity from the side of the quote it hits
//! (buys the ask, sells the bid). Each event offers at most
//! `liquidity_fraction` of the displayed size, shared by every order that
//! hits it, so a large order fills partially over several events. Slippage is
//! a seeded draw in `[0, max_slippage_bps]`, always against the trader and
//! never through a limit price.

use rand::RngCore;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::checked::{self, Checked, Overflow};
use crate::order::Side;
use crate::rng::{below, SimRng};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FillModel {
    /// Worst slippage, in basis points of the touched price.
    pub max_slippage_bps: u32,
    /// Share of the displayed size one event makes available, 0 < f ≤ 1.
    pub liquidity_fraction: Decimal,
    /// Units available per event whatever the displayed size says (None: no cap).
    pub max_units_per_event: Option<Decimal>,
    /// Whether the displayed size limits fills at all. Alpaca's paper engine,
    /// for one, does not check quantity against the displayed size.
    pub limited_by_displayed_size: bool,
}

impl Default for FillModel {
    fn default() -> Self {
        Self {
            max_slippage_bps: 2,
            liquidity_fraction: Decimal::ONE,
            max_units_per_event: None,
            limited_by_displayed_size: true,
        }
    }
}

impl FillModel {
    /// Units one event offers on a side showing `displayed` size. Whole units,
    /// except that a fractional remainder may fill whole (fractional shares).
    pub fn available(&self, displayed: Decimal) -> Decimal {
        let mut units = if self.limited_by_displayed_size {
            // More than Decimal can hold is as good as no limit (or, below it, none on offer).
            checked::mul(displayed, self.liquidity_fraction)
                .map_or_else(Overflow::bound, |units| units.floor())
        } else {
            Decimal::MAX
        };
        if let Some(cap) = self.max_units_per_event {
            units = units.min(cap);
        }
        units.max(Decimal::ZERO)
    }

    /// The price a marketable order gets when it touches `price`:
    /// slipped against the trader by a seeded draw, clamped to the limit.
    pub fn execution_price(
        &self,
        rng: &mut SimRng,
        side: Side,
        touched: Decimal,
        limit: Option<Decimal>,
    ) -> Checked {
        let bps = if self.max_slippage_bps == 0 {
            0
        } else {
            below(rng, u64::from(self.max_slippage_bps).saturating_add(1))
        };
        let slip = checked::div(
            checked::mul(touched, Decimal::from(bps))?,
            Decimal::from(10_000),
        )?;
        let raw = match side {
            Side::Buy => checked::add(touched, slip)?,
            Side::Sell => checked::sub(touched, slip)?,
        };
        let tick = tick_for(touched);
        // Round against the trader to a valid tick; a buyer never pays less than
        // the touched price and a seller never receives more.
        let priced = match side {
            Side::Buy => raw.round_dp_with_strategy(tick, RoundingStrategy::AwayFromZero),
            Side::Sell => raw.round_dp_with_strategy(tick, RoundingStrategy::ToZero),
        }
        .max(Decimal::new(1, tick));
        Ok(match (side, limit) {
            (Side::Buy, Some(l)) => priced.min(l),
            (Side::Sell, Some(l)) => priced.max(l),
            _ => priced,
        }
        .normalize())
    }

    /// Draws nothing but keeps the stream aligned: one draw per fill decision,
    /// so adding an order never shifts the slippage of an unrelated one twice.
    pub fn skip(rng: &mut SimRng) {
        rng.next_u32();
    }
}

/// Decimal places of a valid price: cents at or above $1, hundredths of a cent below (Reg NMS sub-penny rule).
pub fn tick_for(price: Decimal) -> u32 {
    if price >= Decimal::ONE {
        2
    } else {
        4
    }
}

/// Whether `price` is on a valid tick.
pub fn on_tick(price: Decimal) -> bool {
    price.round_dp(tick_for(price)) == price
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng_for;
    use rust_decimal_macros::dec;

    #[test]
    fn slippage_is_adverse_bounded_and_respects_limits() {
        let m = FillModel {
            max_slippage_bps: 10,
            ..FillModel::default()
        };
        let mut rng = rng_for(1, "fills");
        for _ in 0..1000 {
            let b = m
                .execution_price(&mut rng, Side::Buy, dec!(100), None)
                .unwrap();
            assert!(b >= dec!(100) && b <= dec!(100.10), "{b}");
            let s = m
                .execution_price(&mut rng, Side::Sell, dec!(100), None)
                .unwrap();
            assert!(s <= dec!(100) && s >= dec!(99.90), "{s}");
            let bl = m
                .execution_price(&mut rng, Side::Buy, dec!(100), Some(dec!(100.02)))
                .unwrap();
            assert!(bl <= dec!(100.02));
            assert!(on_tick(b) && on_tick(s));
        }
        assert!(m
            .execution_price(&mut rng, Side::Buy, Decimal::MAX, None)
            .is_err());
    }

    #[test]
    fn same_seed_same_prices() {
        let m = FillModel {
            max_slippage_bps: 25,
            ..FillModel::default()
        };
        let draw = |seed| {
            let mut r = rng_for(seed, "fills");
            (0..50)
                .map(|_| m.execution_price(&mut r, Side::Buy, dec!(42.17), None))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(3), draw(3));
        assert_ne!(draw(3), draw(4));
    }

    #[test]
    fn available_liquidity_is_capped_and_whole() {
        let m = FillModel {
            liquidity_fraction: dec!(0.5),
            max_units_per_event: Some(dec!(30)),
            ..FillModel::default()
        };
        assert_eq!(m.available(dec!(41)), dec!(20));
        assert_eq!(m.available(dec!(1000)), dec!(30));
        assert_eq!(m.available(dec!(1)), dec!(0));
        let unlimited = FillModel {
            limited_by_displayed_size: false,
            ..FillModel::default()
        };
        assert_eq!(unlimited.available(dec!(1)), Decimal::MAX);
        let capped = FillModel {
            limited_by_displayed_size: false,
            max_units_per_event: Some(dec!(7)),
            ..FillModel::default()
        };
        assert_eq!(capped.available(dec!(1)), dec!(7));
        let greedy = FillModel {
            liquidity_fraction: dec!(2),
            ..FillModel::default()
        };
        assert_eq!(greedy.available(Decimal::MAX), Decimal::MAX);
    }

    #[test]
    fn ticks_follow_the_sub_penny_rule() {
        assert!(on_tick(dec!(1.23)));
        assert!(!on_tick(dec!(1.234)));
        assert!(on_tick(dec!(0.1234)));
        assert!(!on_tick(dec!(0.12345)));
    }
}
