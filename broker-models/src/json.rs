//! Numbers on the vendors' JSON wires, written once for every face. Going
//! out, a decimal is a JSON number with exactly its digits, never through a
//! float ([`Number`]), or with at least one decimal place where the vendor
//! prints doubles ([`Double`], Schwab's `3.0`). Coming in, a number is what
//! the vendors accept: a JSON number or a numeric string, read from its own
//! text so no digit is lost, and refused when it has more digits than a
//! `Decimal` holds rather than rounded ([`Lenient`]).

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A decimal as a JSON number with exactly its digits (`3`, `190.02`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Number(pub Decimal);

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        raw(self.0.normalize().to_string(), s)
    }
}

/// A decimal as a JSON number with every digit and at least one after the
/// point: a double as the vendor's Java prints it (`3.0`, `190.31`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Double(pub Decimal);

impl Serialize for Double {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = self.0.normalize().to_string();
        match text.contains('.') {
            true => raw(text, s),
            false => raw(format!("{text}.0"), s),
        }
    }
}

/// `Decimal`'s text never has an exponent: it is a valid JSON number as is.
fn raw<S: Serializer>(text: String, s: S) -> Result<S::Ok, S::Error> {
    RawValue::from_string(text)
        .map_err(S::Error::custom)?
        .serialize(s)
}

/// A number in a request: a JSON number or a numeric string (the vendors
/// take both; their SDKs send decimals as strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lenient(pub Decimal);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get();
        let number = match text.starts_with('"') {
            // Through serde, so an escaped string reads as what it says.
            true => serde_json::from_str::<String>(text).map_err(D::Error::custom)?,
            false => text.to_string(),
        };
        parse_number(&number)
            .map(Lenient)
            .ok_or_else(|| D::Error::custom(format!("{text:.40} is not a number")))
    }
}

/// The decimal `text` writes, exponent forms included; None for anything
/// else (booleans, "NaN", empty) and for more digits than a `Decimal` holds.
pub fn parse_number(text: &str) -> Option<Decimal> {
    let t = text.trim();
    let shaped = t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && t.bytes().any(|b| b.is_ascii_digit());
    if !shaped {
        return None;
    }
    if t.contains(['e', 'E']) {
        Decimal::from_scientific(t).ok()
    } else {
        Decimal::from_str_exact(t).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn numbers_keep_their_digits_and_doubles_a_decimal_place() {
        assert_eq!(serde_json::to_string(&Number(dec!(3.0))).unwrap(), "3");
        assert_eq!(
            serde_json::to_string(&Number(dec!(190.020))).unwrap(),
            "190.02"
        );
        assert_eq!(serde_json::to_string(&Double(dec!(3))).unwrap(), "3.0");
        assert_eq!(serde_json::to_string(&Double(dec!(0.1))).unwrap(), "0.1");
    }

    #[test]
    fn requests_carry_numbers_or_numeric_strings_and_nothing_else() {
        let read = |t: &str| serde_json::from_str::<Lenient>(t).ok().map(|l| l.0);
        assert_eq!(read("190.31"), Some(dec!(190.31)));
        assert_eq!(read("\"190.31\""), Some(dec!(190.31)));
        assert_eq!(read("\" 5 \""), Some(dec!(5)));
        assert_eq!(read("1e2"), Some(dec!(100)));
        assert_eq!(read("0.1000000000000000055511151231257827"), None);
        assert_eq!(read("1234567890123456789012345678901234567890"), None);
        let list: Vec<Lenient> = serde_json::from_str(r#"[1, "2.5", 3.25]"#).unwrap();
        assert_eq!(
            list,
            [Lenient(dec!(1)), Lenient(dec!(2.5)), Lenient(dec!(3.25))]
        );
        for bad in [
            "true",
            "\"NaN\"",
            "\"\"",
            "\"1.2.3\"",
            "null",
            "{}",
            "\"1e99999\"",
        ] {
            assert_eq!(read(bad), None, "{bad}");
        }
    }
}
