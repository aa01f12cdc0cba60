//! Numbers in vendor JSON, read and written without a float: a JSON
//! number's own digits become a `Decimal` (serde_json would otherwise
//! read `190.31` through an f64), and a `Decimal` goes out as a JSON
//! number with exactly its digits; integer ids kept as text. Shared by
//! every adapter whose vendor speaks JSON.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A decimal that travels as a JSON number (a quoted one is read too:
/// Tradier's and tastytrade's gateways stringify some numbers, §6 of each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Number(pub Decimal);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        decimal(unquoted(text).trim())
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

/// A decimal that must arrive as a bare JSON number: a quoted one is
/// refused, as the vendor's own SDK refuses it (Plaid, plaid-python).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BareNumber(pub Decimal);

impl<'de> Deserialize<'de> for BareNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        decimal(text)
            .map(BareNumber)
            .ok_or_else(|| D::Error::custom(format!("not a JSON number: {text:.40}")))
    }
}

/// An integer id that arrives as a JSON integer or a numeric string,
/// kept as text (ids are names, not amounts).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IntegerId(pub String);

impl<'de> Deserialize<'de> for IntegerId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = unquoted(raw.get().trim());
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(D::Error::custom(format!("not an integer id: {text:.40}")));
        }
        Ok(IntegerId(text.to_string()))
    }
}

/// A JSON value's text without the quotes of a string (as it is, when it
/// is not one): how a number or an id that a gateway stringified is read.
fn unquoted(text: &str) -> &str {
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
}

/// A number's text as a decimal: plain or scientific; more fraction digits
/// than a decimal holds (Tradier pads balances with zeros, a float's long
/// expansion) are rounded. None for anything else, or a magnitude no
/// `Decimal` holds.
pub fn decimal(text: &str) -> Option<Decimal> {
    if text.is_empty() || !text.bytes().all(|b| b"+-.eE0123456789".contains(&b)) {
        return None;
    }
    if text.contains(['e', 'E']) {
        return Decimal::from_scientific(text).ok();
    }
    if let Ok(d) = Decimal::from_str(text) {
        return Some(d);
    }
    // Too many digits: drop trailing zeros of the fraction, then round the rest.
    let trimmed = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    };
    Decimal::from_str(trimmed)
        .ok()
        .or_else(|| Decimal::from_str_exact(trimmed).ok())
        .or_else(|| {
            let (int, frac) = trimmed.split_once('.')?;
            let keep = 28usize.saturating_sub(int.trim_start_matches(['-', '+']).len());
            let frac: String = frac.chars().take(keep).collect();
            Decimal::from_str(&format!("{int}.{frac}")).ok()
        })
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

    #[test]
    fn long_expansions_are_rounded_and_quotes_are_refused_where_bare() {
        assert_eq!(
            decimal("17798.360000000000000000000000"),
            Some(dec!(17798.36))
        );
        assert_eq!(
            decimal("1.123456789012345678901234567891"),
            Some(dec!(1.1234567890123456789012345679))
        );
        assert_eq!(decimal("1e-7"), Some(dec!(0.0000001)));
        assert_eq!(decimal("abc"), None);
        let bare = |s: &str| serde_json::from_str::<BareNumber>(s).map(|n| n.0);
        assert_eq!(bare("12.5").unwrap(), dec!(12.5));
        assert!(bare("\"12.5\"").is_err());
        let id = |s: &str| serde_json::from_str::<IntegerId>(s).map(|i| i.0);
        assert_eq!(id("228175").unwrap(), "228175");
        assert_eq!(id("\"228175\"").unwrap(), "228175");
        for bad in ["\"\"", "-1", "1.5", "\"12a\"", "null"] {
            assert!(id(bad).is_err(), "{bad}");
        }
    }
}
