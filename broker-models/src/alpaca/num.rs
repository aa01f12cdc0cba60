//! Numbers in requests, read the way Alpaca reads them (reference §1.3):
//! a JSON number (alpaca-py) or a decimal string (the Go SDK, the OpenAPI
//! types), `null` or `""` meaning absent.
//!
//! Alpaca's server decodes decimal strings the way shopspring's decimal
//! does: an optional sign, digits with at most one point (`".5"` and `"+1"`
//! read as 0.5 and 1), an optional exponent; anything else (`"1_000"`,
//! `"1,000"`, `"NaN"`, spaces) does not decode, so the whole body is
//! refused as malformed. Rust's `Decimal::from_str` is looser (it skips
//! underscores), so the grammar is checked here first.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The most digits (and decimals) a `Decimal` holds exactly.
const MAX_DIGITS: i64 = 28;

/// A well-formed number from a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireNumber {
    Value(Decimal),
    /// Larger in magnitude than any `Decimal`: no account could pay for or
    /// hold it, but it is a number Alpaca would read and then refuse by its
    /// own rules, so it is kept apart rather than called malformed.
    Huge {
        negative: bool,
    },
}

/// The parts of a number's text, checked against shopspring's grammar.
struct Parts<'a> {
    negative: bool,
    integer: &'a str,
    fraction: &'a str,
    exponent: i64,
}

fn digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

fn parts(text: &str) -> Option<Parts<'_>> {
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'-' => (true, text.get(1..)?),
        b'+' => (false, text.get(1..)?),
        _ => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => {
            let exp = unsigned.get(i + 1..)?;
            let unsigned_exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if unsigned_exp.is_empty() || !digits(unsigned_exp) {
                return None;
            }
            // Exponents beyond i64 are beyond any Decimal too: saturate.
            (
                unsigned.get(..i)?,
                exp.parse::<i64>().unwrap_or(if exp.starts_with('-') {
                    i64::MIN
                } else {
                    i64::MAX
                }),
            )
        }
        None => (unsigned, 0),
    };
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let well_formed =
        digits(integer) && digits(fraction) && !(integer.is_empty() && fraction.is_empty());
    well_formed.then_some(Parts {
        negative,
        integer,
        fraction,
        exponent,
    })
}

/// Reads a number's text; None when Alpaca could not decode it either.
/// Exact where a `Decimal` can hold it; more digits than that are rounded
/// half up (quantities and prices that precise are refused later by their
/// own rules); magnitudes beyond it are `Huge`.
pub fn parse(text: &str) -> Option<WireNumber> {
    let p = parts(text)?;
    let all = format!("{}{}", p.integer, p.fraction);
    let significant = all.trim_start_matches('0');
    if significant.is_empty() {
        return Some(WireNumber::Value(Decimal::ZERO));
    }
    let len = i64::try_from(significant.len()).unwrap_or(i64::MAX);
    let scale = i64::try_from(p.fraction.len())
        .unwrap_or(i64::MAX)
        .saturating_sub(p.exponent);
    if len.saturating_sub(scale) > MAX_DIGITS {
        return Some(WireNumber::Huge {
            negative: p.negative,
        });
    }
    // Keep at most MAX_DIGITS digits and at most MAX_DIGITS decimals.
    let drop = (len - MAX_DIGITS)
        .max(scale.saturating_sub(MAX_DIGITS))
        .max(0);
    let kept_len = usize::try_from(len.saturating_sub(drop)).unwrap_or(0);
    let (Some(kept), Some(next)) = (significant.get(..kept_len), significant.get(kept_len..))
    else {
        return Some(WireNumber::Value(Decimal::ZERO));
    };
    if kept.is_empty() {
        // Every digit is below the smallest step a Decimal has.
        return Some(WireNumber::Value(Decimal::ZERO));
    }
    let round_up = next.as_bytes().first().is_some_and(|d| *d >= b'5');
    let mut mantissa: i128 = kept.parse().ok()?;
    mantissa += i128::from(round_up);
    let mut scale = scale.saturating_sub(drop);
    // A negative scale has at most MAX_DIGITS − len zeros to append (checked above).
    while scale < 0 {
        mantissa = mantissa.checked_mul(10)?;
        scale += 1;
    }
    let magnitude = Decimal::try_from_i128_with_scale(mantissa, u32::try_from(scale).ok()?).ok()?;
    Some(WireNumber::Value(if p.negative {
        -magnitude
    } else {
        magnitude
    }))
}

/// A number field: JSON number or string; `null` and `""` are absent.
/// Any other JSON type fails the body, as it fails Alpaca's decoder.
pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<WireNumber>, D::Error> {
    let text = match Value::deserialize(d)? {
        Value::Null => return Ok(None),
        Value::String(s) if s.is_empty() => return Ok(None),
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        other => {
            return Err(serde::de::Error::custom(format!(
                "expected a number, got {other}"
            )))
        }
    };
    parse(&text)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not a number")))
}

/// A string field where `null` and `""` mean absent (the Go SDK sends both, §1.3).
pub fn optional_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn value(text: &str) -> Option<Decimal> {
        match parse(text) {
            Some(WireNumber::Value(d)) => Some(d),
            _ => None,
        }
    }

    #[test]
    fn shopspring_forms_read_and_others_do_not() {
        assert_eq!(value("+1"), Some(dec!(1)));
        assert_eq!(value(".5"), Some(dec!(0.5)));
        assert_eq!(value("1."), Some(dec!(1)));
        assert_eq!(value("-2.50"), Some(dec!(-2.5)));
        assert_eq!(value("1e3"), Some(dec!(1000)));
        assert_eq!(value("1e-05"), Some(dec!(0.00001)));
        for bad in [
            "1_000", "1,000", "", ".", "+", "-", " 1", "1 ", "NaN", "inf", "0x10", "1e", "1e+",
            "1.2.3", "--1", "1e1.5", "١",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn out_of_range_is_huge_or_rounded_never_a_panic() {
        assert_eq!(parse("1e40"), Some(WireNumber::Huge { negative: false }));
        assert_eq!(
            parse("-99999999999999999999999999999999"),
            Some(WireNumber::Huge { negative: true })
        );
        assert_eq!(
            parse("1e999999999999999999999"),
            Some(WireNumber::Huge { negative: false })
        );
        assert_eq!(value("1e-40"), Some(Decimal::ZERO));
        assert_eq!(value("1e-999999999999999999999"), Some(Decimal::ZERO));
        assert!(value("0.00000000000000000000000000000000001").is_some());
        assert!(value("000000000000000000000000000000000001").is_some());
    }
}
