//! Numbers and times as tastytrade writes and reads them (reference §6):
//! money and prices are JSON strings with their digits ("190.0", "1.5",
//! "0.001"), counts are JSON integers, order `updated-at` is epoch
//! milliseconds while every other time is ISO-8601 with milliseconds and
//! an offset. On input a number may be a JSON number or a numeric string.

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

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

/// A count (a quantity of shares or contracts, a size) as a JSON number
/// with exactly the decimal's digits, never through a float.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count(pub Decimal);

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // `Decimal`'s text never uses an exponent: a valid JSON number.
        RawValue::from_string(self.0.normalize().to_string())
            .map_err(S::Error::custom)?
            .serialize(s)
    }
}

/// A number from a request: a JSON number or a numeric string (§6: the
/// server takes both; the Python SDK sends decimals as strings and
/// integers as numbers). Read from its own text, so no digit is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireDecimal(pub Decimal);

impl<'de> Deserialize<'de> for WireDecimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(d)?;
        parse_number(raw.get())
            .map(WireDecimal)
            .ok_or_else(|| D::Error::custom("is not a number"))
    }
}

/// The decimal a JSON number or numeric string stands for; None for
/// anything else (booleans, objects, "NaN", digits beyond a `Decimal`).
pub fn parse_number(text: &str) -> Option<Decimal> {
    let t = text.trim();
    let inner = t
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(t)
        .trim();
    let shaped = !inner.is_empty()
        && inner
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && inner.bytes().any(|b| b.is_ascii_digit());
    if !shaped {
        return None;
    }
    if inner.contains(['e', 'E']) {
        Decimal::from_scientific(inner).ok()
    } else {
        Decimal::from_str_exact(inner).ok()
    }
}

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
        assert_eq!(serde_json::to_string(&Count(dec!(3.0))).unwrap(), "3");
    }

    #[test]
    fn numbers_come_as_numbers_or_strings() {
        assert_eq!(parse_number("1.05"), Some(dec!(1.05)));
        assert_eq!(parse_number("\"1.05\""), Some(dec!(1.05)));
        assert_eq!(parse_number("1e2"), Some(dec!(100)));
        assert_eq!(parse_number("true"), None);
        assert_eq!(parse_number("\"NaN\""), None);
        assert_eq!(parse_number("\"\""), None);
        assert_eq!(
            parse_number("1234567890123456789012345678901234567890"),
            None
        );
        let w: Vec<WireDecimal> = serde_json::from_str(r#"[1, "2.5", 3.25]"#).unwrap();
        assert_eq!(
            w,
            [
                WireDecimal(dec!(1)),
                WireDecimal(dec!(2.5)),
                WireDecimal(dec!(3.25))
            ]
        );
        assert!(serde_json::from_str::<WireDecimal>("{}").is_err());
    }
}
