//! Instruments: equities by ticker, options by their 21-character OCC symbol.
//!
//! The OCC symbol is `ROOT` padded with spaces to 6, `yymmdd`, `C`/`P`, and the
//! strike × 1000 as 8 digits: `AAPL  251219C00200000` is the AAPL 19 Dec 2025
//! 200 call. Vendors also send the compact form without padding
//! (`AAPL251219C00200000`); both parse, and `Display` always writes the padded
//! form so that the contract's `occ` string is canonical.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::checked;

/// Shares per standard equity option contract.
pub const OPTION_MULTIPLIER: Decimal = Decimal::from_parts(100, 0, 0, false, 0);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptionRight {
    Call,
    Put,
}

/// A parsed OCC option symbol.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OccSymbol {
    root: String,
    expiry: NaiveDate,
    right: OptionRight,
    /// Strike in dollars; OCC carries three implied decimals.
    strike: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OccError {
    #[error("OCC symbol {0:?}: expected 21 characters (root padded to 6) or the compact form without padding")]
    Length(String),
    #[error("OCC symbol {0:?}: root must be 1-6 uppercase letters or digits")]
    Root(String),
    #[error("OCC symbol {0:?}: expiry must be a valid yymmdd date")]
    Expiry(String),
    #[error("OCC symbol {0:?}: right must be C or P")]
    Right(String),
    #[error("OCC symbol {0:?}: strike must be 8 digits (strike x 1000)")]
    Strike(String),
}

impl OccSymbol {
    pub fn new(
        root: &str,
        expiry: NaiveDate,
        right: OptionRight,
        strike: Decimal,
    ) -> Result<Self, OccError> {
        let candidate = || format!("{root}/{expiry}/{right:?}/{strike}");
        if root.is_empty()
            || root.len() > 6
            || !root
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(OccError::Root(candidate()));
        }
        let milli = checked::mul(strike, Decimal::ONE_THOUSAND)
            .map_err(|_| OccError::Strike(candidate()))?;
        if strike <= Decimal::ZERO
            || milli.fract() != Decimal::ZERO
            || milli >= Decimal::from(100_000_000)
        {
            return Err(OccError::Strike(candidate()));
        }
        if !(2000..2100).contains(&expiry.year()) {
            return Err(OccError::Expiry(candidate()));
        }
        Ok(Self {
            root: root.to_string(),
            expiry,
            right,
            strike: strike.normalize(),
        })
    }

    pub fn root(&self) -> &str {
        &self.root
    }
    pub fn expiry(&self) -> NaiveDate {
        self.expiry
    }
    pub fn right(&self) -> OptionRight {
        self.right
    }
    pub fn strike(&self) -> Decimal {
        self.strike
    }

    /// The compact form vendors such as Alpaca and Tradier use: no padding.
    pub fn compact(&self) -> String {
        self.to_string().replace(' ', "")
    }
}

impl fmt::Display for OccSymbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Strikes are below 100,000 by construction: exact.
        let milli = self.strike.saturating_mul(Decimal::ONE_THOUSAND).trunc();
        write!(
            f,
            "{:<6}{}{}{:0>8}",
            self.root,
            self.expiry.format("%y%m%d"),
            match self.right {
                OptionRight::Call => 'C',
                OptionRight::Put => 'P',
            },
            milli
        )
    }
}

impl FromStr for OccSymbol {
    type Err = OccError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if !s.is_ascii() || s.len() < 16 || s.len() > 21 {
            return Err(OccError::Length(s.to_string()));
        }
        // The last 15 characters are always yymmdd + right + 8 strike digits.
        let (root_part, tail) = s.split_at(s.len().saturating_sub(15));
        let root = root_part.trim_end_matches(' ');
        if s.len() == 21 && root_part.len() != 6 {
            return Err(OccError::Length(s.to_string()));
        }
        if s.len() < 21 && root.len() != root_part.len() {
            // Compact form must not carry partial padding.
            return Err(OccError::Length(s.to_string()));
        }
        if root.is_empty()
            || !root
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(OccError::Root(s.to_string()));
        }
        let (date, rest) = tail.split_at(6);
        let (right, strike) = rest.split_at(1);
        if !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(OccError::Expiry(s.to_string()));
        }
        let expiry = NaiveDate::parse_from_str(&format!("20{date}"), "%Y%m%d")
            .map_err(|_| OccError::Expiry(s.to_string()))?;
        let right = match right {
            "C" => OptionRight::Call,
            "P" => OptionRight::Put,
            _ => return Err(OccError::Right(s.to_string())),
        };
        if !strike.bytes().all(|b| b.is_ascii_digit()) {
            return Err(OccError::Strike(s.to_string()));
        }
        let milli: i64 = strike
            .parse()
            .map_err(|_| OccError::Strike(s.to_string()))?;
        if milli == 0 {
            return Err(OccError::Strike(s.to_string()));
        }
        Ok(Self {
            root: root.to_string(),
            expiry,
            right,
            strike: checked::div(Decimal::from(milli), Decimal::ONE_THOUSAND)
                .map_err(|_| OccError::Strike(s.to_string()))?
                .normalize(),
        })
    }
}

impl Serialize for OccSymbol {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for OccSymbol {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Whether `symbol` can be an equity ticker: 1 to 12 uppercase ASCII
/// letters, digits and the share-class separators `.` and `/` (`BRK.B`,
/// `BRK/B`). The models refuse anything else before it can name an instrument.
pub fn is_ticker(symbol: &str) -> bool {
    !symbol.is_empty()
        && symbol.len() <= 12
        && symbol
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'/' || b == b'.')
}

/// What an order trades. Serialized exactly as the adapter contract says:
/// `{"kind":"equity","symbol":"AAPL"}` or `{"kind":"option","occ":"AAPL  251219C00200000"}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Instrument {
    Equity { symbol: String },
    Option { occ: OccSymbol },
}

impl Instrument {
    pub fn equity(symbol: impl Into<String>) -> Self {
        Instrument::Equity {
            symbol: symbol.into(),
        }
    }

    pub fn option(occ: OccSymbol) -> Self {
        Instrument::Option { occ }
    }

    /// Parses a vendor symbol: an OCC option symbol (padded or compact) or an equity ticker.
    pub fn parse_symbol(symbol: &str) -> Self {
        match symbol.parse::<OccSymbol>() {
            Ok(occ) => Instrument::Option { occ },
            Err(_) => Instrument::equity(symbol),
        }
    }

    /// Units of the underlying one unit of this instrument represents.
    pub fn multiplier(&self) -> Decimal {
        match self {
            Instrument::Equity { .. } => Decimal::ONE,
            Instrument::Option { .. } => OPTION_MULTIPLIER,
        }
    }

    /// The equity ticker an option is written on, or the equity itself.
    pub fn underlying(&self) -> &str {
        match self {
            Instrument::Equity { symbol } => symbol,
            Instrument::Option { occ } => occ.root(),
        }
    }

    pub fn is_option(&self) -> bool {
        matches!(self, Instrument::Option { .. })
    }
}

impl fmt::Display for Instrument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Instrument::Equity { symbol } => f.write_str(symbol),
            Instrument::Option { occ } => write!(f, "{occ}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn parses_and_formats_padded_occ() {
        let occ: OccSymbol = "AAPL  251219C00200000".parse().unwrap();
        assert_eq!(occ.root(), "AAPL");
        assert_eq!(occ.expiry(), NaiveDate::from_ymd_opt(2025, 12, 19).unwrap());
        assert_eq!(occ.right(), OptionRight::Call);
        assert_eq!(occ.strike(), dec!(200));
        assert_eq!(occ.to_string(), "AAPL  251219C00200000");
        assert_eq!(occ.compact(), "AAPL251219C00200000");
    }

    #[test]
    fn parses_compact_and_fractional_strikes() {
        let occ: OccSymbol = "SPY240119P00472500".parse().unwrap();
        assert_eq!(occ.root(), "SPY");
        assert_eq!(occ.strike(), dec!(472.5));
        assert_eq!(occ.to_string(), "SPY   240119P00472500");
        let one_letter: OccSymbol = "F     260116C00012500".parse().unwrap();
        assert_eq!(one_letter.strike(), dec!(12.5));
        assert_eq!(one_letter.compact(), "F260116C00012500");
    }

    #[test]
    fn rejects_malformed_occ_with_a_reason() {
        for (bad, want) in [
            ("AAPL", "Length"),
            ("AAPL  251319C00200000", "Expiry"),
            ("AAPL  251219X00200000", "Right"),
            ("AAPL  2512190C0200000", "Right"),
            ("AAPL  251219C0020000A", "Strike"),
            ("aapl  251219C00200000", "Root"),
            ("AAPL  251219C00000000", "Strike"),
            ("AAPL 251219C00200000", "Length"),
            ("AAPLXYZ251219C00200000", "Length"),
        ] {
            let err = bad.parse::<OccSymbol>().unwrap_err();
            assert!(format!("{err:?}").starts_with(want), "{bad}: {err:?}");
            assert!(err.to_string().contains(bad.trim()) || err.to_string().contains(bad));
        }
    }

    #[test]
    fn instrument_serializes_as_the_contract_says() {
        let eq = Instrument::equity("AAPL");
        assert_eq!(
            serde_json::to_string(&eq).unwrap(),
            r#"{"kind":"equity","symbol":"AAPL"}"#
        );
        let opt = Instrument::parse_symbol("AAPL251219C00200000");
        assert_eq!(
            serde_json::to_string(&opt).unwrap(),
            r#"{"kind":"option","occ":"AAPL  251219C00200000"}"#
        );
        let back: Instrument =
            serde_json::from_str(r#"{"kind":"option","occ":"AAPL  251219C00200000"}"#).unwrap();
        assert_eq!(back, opt);
        assert!(serde_json::from_str::<Instrument>(r#"{"kind":"option","occ":"nope"}"#).is_err());
    }

    #[test]
    fn new_validates_parts() {
        let d = NaiveDate::from_ymd_opt(2026, 1, 16).unwrap();
        assert!(OccSymbol::new("SPY", d, OptionRight::Put, dec!(450.125)).is_ok());
        assert!(OccSymbol::new("SPY", d, OptionRight::Put, dec!(450.1255)).is_err());
        assert!(OccSymbol::new("TOOLONG", d, OptionRight::Put, dec!(1)).is_err());
        assert!(OccSymbol::new("SPY", d, OptionRight::Put, dec!(0)).is_err());
    }
}
