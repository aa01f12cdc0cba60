//! Numbers in vendor JSON, read and written without a float: a JSON
//! number's own digits become a `Decimal` (serde_json would otherwise
//! read `190.31` through an f64), and a `Decimal` goes out as a JSON
//! number with exactly its digits. Shared by every adapter whose vendor
//! speaks JSON numbers for money and quantities.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A decimal that travels as a JSON number (a quoted one is read too:
/// some gateways stringify numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Number(pub Decimal);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        let unquoted = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(text);
        decimal(unquoted)
            .map(Number)
            .ok_or_else(|| D::Error::custom(format!("not a decimal number: {text:.40}")))
    }
}

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A `Decimal`'s text has no exponent: it is a valid JSON number.
        RawValue::from_string(self.0.normalize().to_string())
            .map_err(S::Error::custom)?
            .serialize(s)
    }
}

/// A number's text as a decimal: plain or scientific; None for anything
/// else, or a magnitude no `Decimal` holds.
fn decimal(text: &str) -> Option<Decimal> {
    if text.is_empty() || !text.bytes().all(|b| b"+-.eE0123456789".contains(&b)) {
        return None;
    }
    if text.contains(['e', 'E']) {
        return Decimal::from_scientific(text).ok();
    }
    Decimal::from_str(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn digits_in_digits_out() {
        let read = |s: &str| serde_json::from_str::<Number>(s).map(|n| n.0);
        assert_eq!(read("190.31").unwrap(), dec!(190.31));
        assert_eq!(read("3.0").unwrap(), dec!(3));
        assert_eq!(read("\"2.50\"").unwrap(), dec!(2.50));
        assert_eq!(read("1e-2").unwrap(), dec!(0.01));
        for bad in ["null", "true", "\"x\"", "1e99999", "[1]"] {
            assert!(read(bad).is_err(), "{bad}");
        }
        assert_eq!(serde_json::to_string(&Number(dec!(2.500))).unwrap(), "2.5");
    }
}
