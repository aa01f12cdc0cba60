//! Fee schedules as data. A schedule charges a commission (per share or per
//! contract, per order, with a minimum and an optional maximum per order) and
//! the regulatory fees on sells (SEC fee on notional, FINRA TAF per unit with
//! a cap). Brokers differ only in the numbers.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::checked::{self, Checked};
use crate::instrument::Instrument;
use crate::order::Side;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeeSchedule {
    /// Commission per share of an equity.
    pub per_share: Decimal,
    /// Commission per option contract.
    pub per_contract: Decimal,
    /// Flat commission per order, charged with the order's first fill.
    pub per_order: Decimal,
    /// An order's commission is never below this once it has filled at all.
    pub min_per_order: Decimal,
    /// An order's commission is never above this.
    pub max_per_order: Option<Decimal>,
    /// SEC fee on the notional of sells, as a rate (e.g. 0.0000278).
    pub sec_fee_rate: Decimal,
    /// FINRA trading activity fee per share sold.
    pub taf_per_share: Decimal,
    /// FINRA trading activity fee per option contract sold.
    pub taf_per_contract: Decimal,
    /// Cap on the TAF of one fill.
    pub taf_max: Option<Decimal>,
}

impl FeeSchedule {
    /// No fees at all.
    pub fn free() -> Self {
        Self::default()
    }

    /// Commission-free equities and options with the US regulatory fees on sells:
    /// what retail brokers such as Alpaca charge.
    pub fn regulatory_only() -> Self {
        Self {
            sec_fee_rate: Decimal::new(278, 7),
            taf_per_share: Decimal::new(166, 6),
            taf_per_contract: Decimal::new(279, 5),
            taf_max: Some(Decimal::new(830, 2)),
            ..Self::default()
        }
    }

    /// The commission an order has accrued once `filled` units have filled:
    /// per-order plus per-unit, clamped to the minimum and maximum. Fees per fill
    /// are differences of this, so minimums and caps apply per order, not per fill.
    pub fn commission_for(&self, instrument: &Instrument, filled: Decimal) -> Checked {
        if filled <= Decimal::ZERO {
            return Ok(Decimal::ZERO);
        }
        let per_unit = if instrument.is_option() {
            self.per_contract
        } else {
            self.per_share
        };
        let mut c = checked::add(self.per_order, checked::mul(per_unit, filled)?)?;
        c = c.max(self.min_per_order);
        if let Some(max) = self.max_per_order {
            c = c.min(max);
        }
        Ok(round_cents(c))
    }

    /// Regulatory fees on one fill (sells only), each rounded up to the cent as FINRA and the SEC do.
    pub fn regulatory(
        &self,
        instrument: &Instrument,
        side: Side,
        qty: Decimal,
        price: Decimal,
    ) -> Checked {
        if side == Side::Buy || qty <= Decimal::ZERO {
            return Ok(Decimal::ZERO);
        }
        let notional = checked::mul(checked::mul(qty, price)?, instrument.multiplier())?;
        let sec = ceil_cents(checked::mul(notional, self.sec_fee_rate)?);
        let per_unit = if instrument.is_option() {
            self.taf_per_contract
        } else {
            self.taf_per_share
        };
        let mut taf = checked::mul(per_unit, qty)?;
        if let Some(max) = self.taf_max {
            taf = taf.min(max);
        }
        checked::add(sec, ceil_cents(taf))
    }

    /// The fee for a fill of `qty` that takes the order from `filled_before` units.
    pub fn fee_for_fill(
        &self,
        instrument: &Instrument,
        side: Side,
        filled_before: Decimal,
        qty: Decimal,
        price: Decimal,
    ) -> Checked {
        let commission = checked::sub(
            self.commission_for(instrument, checked::add(filled_before, qty)?)?,
            self.commission_for(instrument, filled_before)?,
        )?;
        checked::add(commission, self.regulatory(instrument, side, qty, price)?)
    }
}

fn round_cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn ceil_cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::AwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn aapl() -> Instrument {
        Instrument::equity("AAPL")
    }
    fn opt() -> Instrument {
        Instrument::parse_symbol("AAPL  261218C00200000")
    }

    #[test]
    fn minimum_and_maximum_apply_per_order_not_per_fill() {
        let f = FeeSchedule {
            per_share: dec!(0.005),
            min_per_order: dec!(1),
            max_per_order: Some(dec!(5)),
            ..FeeSchedule::free()
        };
        // First fill of 10 shares pays the minimum; the next 100 shares are still under it.
        assert_eq!(
            f.fee_for_fill(&aapl(), Side::Buy, dec!(0), dec!(10), dec!(100)),
            Ok(dec!(1))
        );
        assert_eq!(
            f.fee_for_fill(&aapl(), Side::Buy, dec!(10), dec!(100), dec!(100)),
            Ok(dec!(0))
        );
        // 10,000 shares would be $50, capped at $5 for the whole order.
        assert_eq!(
            f.fee_for_fill(&aapl(), Side::Buy, dec!(110), dec!(9890), dec!(100)),
            Ok(dec!(4))
        );
        assert_eq!(f.commission_for(&aapl(), dec!(0)), Ok(dec!(0)));
    }

    #[test]
    fn regulatory_fees_only_on_sells_and_round_up() {
        let f = FeeSchedule::regulatory_only();
        assert_eq!(
            f.fee_for_fill(&aapl(), Side::Buy, dec!(0), dec!(100), dec!(150)),
            Ok(dec!(0))
        );
        // SEC: 15,000 × 0.0000278 = 0.417 → 0.42; TAF: 100 × 0.000166 = 0.0166 → 0.02
        assert_eq!(
            f.fee_for_fill(&aapl(), Side::Sell, dec!(0), dec!(100), dec!(150)),
            Ok(dec!(0.44))
        );
        // TAF is capped per fill.
        let big = f.regulatory(&aapl(), Side::Sell, dec!(1000000), dec!(1));
        assert_eq!(
            big,
            Ok(ceil_cents(dec!(1000000) * dec!(0.0000278)) + dec!(8.30))
        );
        assert!(f
            .regulatory(&aapl(), Side::Sell, dec!(1000000), Decimal::MAX)
            .is_err());
    }

    #[test]
    fn options_pay_per_contract_on_notional_times_multiplier() {
        let f = FeeSchedule {
            per_contract: dec!(0.65),
            ..FeeSchedule::regulatory_only()
        };
        // 2 contracts sold at 1.50: commission 1.30; SEC on 300 = 0.00834 → 0.01; TAF 0.00558 → 0.01
        assert_eq!(
            f.fee_for_fill(&opt(), Side::Sell, dec!(0), dec!(2), dec!(1.5)),
            Ok(dec!(1.32))
        );
    }

    #[test]
    fn schedules_are_data() {
        let f: FeeSchedule =
            serde_json::from_str(r#"{"per_contract":"0.65","min_per_order":"1"}"#).unwrap();
        assert_eq!(f.per_contract, dec!(0.65));
        assert!(serde_json::from_str::<FeeSchedule>(r#"{"per_contrct":"1"}"#).is_err());
    }
}
