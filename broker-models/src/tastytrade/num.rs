//! Numbers and times as tastytrade writes and reads them (reference §6):
//! money and prices are JSON strings with their digits ("190.0", "1.5",
//! "0.001"), counts are JSON integers, order `updated-at` is epoch
//! milliseconds while every other time is ISO-8601 with milliseconds and
//! an offset. On input a number may be a JSON number or a numeric string.

use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

use mbt::Timestamp;

/// Money or a price, always non-negative on tastytrade's wire except where
/// a balance is signed: a string with at least one decimal, the way
/// tastytrade's Ruby services print a BigDecimal ("190.0").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Amount(pub Decimal);

impl Amount {
    pub fn text(self) -> String {
        let n = self.0.normalize();
        // A computed zero can carry a sign; tastytrade never writes "-0.0".
        let n = if n.is_zero() { Decimal::ZERO } else { n };
        if n.scale() == 0 {
            format!("{n}.0")
        } else {
            n.to_string()
        }
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

/// A count (a quantity of shares or contracts, a size) is a JSON number with
/// exactly the decimal's digits; a number from a request is a JSON number or
/// a numeric string (§6: the server takes both; the Python SDK sends
/// decimals as strings and integers as numbers).
pub use crate::json::{Lenient, Number};

/// `2026-01-05T15:00:00.042+00:00`: every time but an order's `updated-at`.
pub fn iso(t: Timestamp) -> String {
    t.to_datetime()
        .format("%Y-%m-%dT%H:%M:%S%.3f+00:00")
        .to_string()
}

/// `2026-01-05`.
pub fn date(t: Timestamp) -> String {
    t.to_datetime().format("%Y-%m-%d").to_string()
}

/// An order's `updated-at` and a stream message's `timestamp`: epoch milliseconds.
pub fn epoch_ms(t: Timestamp) -> i64 {
    t.millis()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn amounts_keep_a_decimal_and_counts_are_numbers() {
        assert_eq!(Amount(dec!(190)).text(), "190.0");
        assert_eq!(Amount(dec!(1.50)).text(), "1.5");
        assert_eq!(Amount(dec!(0.001)).text(), "0.001");
        assert_eq!(Amount(-dec!(0)).text(), "0.0");
        assert_eq!(serde_json::to_string(&Number(dec!(3.0))).unwrap(), "3");
    }
}
