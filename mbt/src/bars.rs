//! Recorded bars from CSV: `time,symbol,open,high,low,close,volume`, where
//! `time` is RFC 3339 or Unix seconds. Every problem is an error naming the
//! line and the column; nothing panics on a bad file.

use std::io::Read;

use chrono::DateTime;
use rust_decimal::Decimal;

use crate::instrument::Instrument;
use crate::market::{Market, MarketData, MarketEvent, MAX_PRICE};
use crate::time::Timestamp;

const COLUMNS: [&str; 7] = ["time", "symbol", "open", "high", "low", "close", "volume"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BarsError {
    #[error("line {line}: {message}")]
    Csv { line: u64, message: String },
    #[error("header: missing column {0:?} (expected {COLUMNS:?})")]
    MissingColumn(&'static str),
    #[error("line {line}, column {column}: {message}")]
    Field {
        line: u64,
        column: &'static str,
        message: String,
    },
}

fn parse_time(s: &str) -> Option<Timestamp> {
    if let Ok(secs) = s.parse::<i64>() {
        return secs
            .checked_mul(Timestamp::NANOS_PER_SEC)
            .map(Timestamp::from_nanos);
    }
    let dt = DateTime::parse_from_rfc3339(s).ok()?;
    dt.timestamp_nanos_opt().map(Timestamp::from_nanos)
}

/// Loads bars, interning symbols into `market`; events come back sorted by
/// time (stable, so same-time bars keep file order).
pub fn load(reader: impl Read, market: &mut Market) -> Result<Vec<MarketEvent>, BarsError> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = csv
        .headers()
        .map_err(|e| BarsError::Csv {
            line: 1,
            message: e.to_string(),
        })?
        .clone();
    let mut index = [0usize; 7];
    for (slot, name) in index.iter_mut().zip(COLUMNS) {
        *slot = headers
            .iter()
            .position(|h| h == name)
            .ok_or(BarsError::MissingColumn(name))?;
    }
    let mut events = Vec::new();
    for record in csv.records() {
        let record = record.map_err(|e| BarsError::Csv {
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |column: usize| {
            index
                .get(column)
                .and_then(|i| record.get(*i))
                .unwrap_or_default()
        };
        let err = |column: &'static str, message: String| BarsError::Field {
            line,
            column,
            message,
        };
        let time = parse_time(field(0)).ok_or_else(|| {
            err(
                "time",
                format!("{:?} is neither RFC 3339 nor Unix seconds", field(0)),
            )
        })?;
        let symbol = field(1);
        if symbol.is_empty() {
            return Err(err("symbol", "empty symbol".into()));
        }
        let mut prices = [Decimal::ZERO; 5];
        let price_columns = COLUMNS.into_iter().zip(index).skip(2);
        for (slot, (column, i)) in prices.iter_mut().zip(price_columns) {
            let text = record.get(i).unwrap_or_default();
            *slot = text
                .parse()
                .map_err(|_| err(column, format!("{text:?} is not a decimal number")))?;
        }
        let [open, high, low, close, volume] = prices;
        if low <= Decimal::ZERO {
            return Err(err("low", format!("{low} is not a positive price")));
        }
        if high < low {
            return Err(err("high", format!("high {high} is below low {low}")));
        }
        if high > MAX_PRICE {
            return Err(err(
                "high",
                format!("{high} is above the highest price the market accepts ({MAX_PRICE})"),
            ));
        }
        for (column, p) in [("open", open), ("close", close)] {
            if p < low || p > high {
                return Err(err(
                    column,
                    format!("{p} is outside the bar's range {low}..{high}"),
                ));
            }
        }
        if volume < Decimal::ZERO {
            return Err(err("volume", format!("{volume} is negative")));
        }
        let instrument = market.intern(&Instrument::equity(symbol));
        events.push(MarketEvent {
            time,
            instrument,
            data: MarketData::Bar {
                open,
                high,
                low,
                close,
                volume,
            },
        });
    }
    events.sort_by_key(|e| e.time);
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(s: &str) -> Result<Vec<MarketEvent>, BarsError> {
        load(s.as_bytes(), &mut Market::new())
    }

    #[test]
    fn loads_the_sample_file() {
        let mut m = Market::new();
        let events = load(
            &include_bytes!("../../scenarios/market/sample_bars.csv")[..],
            &mut m,
        )
        .unwrap();
        assert!(events.len() >= 20);
        assert!(events.windows(2).all(|w| w[0].time <= w[1].time));
        assert!(m.id(&Instrument::equity("AAPL")).is_some());
    }

    #[test]
    fn both_time_forms_and_sorting() {
        let e = load_str("time,symbol,open,high,low,close,volume\n1767625260,AAPL,1,2,1,2,10\n2026-01-05T15:00:00Z,AAPL,1,1,1,1,0\n").unwrap();
        assert_eq!(e[0].time, Timestamp::from_secs(1_767_625_200));
        assert_eq!(e[1].time, Timestamp::from_secs(1_767_625_260));
    }

    #[test]
    fn errors_name_line_and_column() {
        let h = "time,symbol,open,high,low,close,volume\n";
        let cases = [
            (format!("{h}nope,AAPL,1,1,1,1,1\n"), "line 2, column time"),
            (format!("{h}1,AAPL,x,1,1,1,1\n"), "line 2, column open"),
            (
                format!("{h}1,AAPL,1,1,1,1,1\n1,MSFT,1,1,2,1,1\n"),
                "line 3, column high",
            ),
            (format!("{h}1,AAPL,5,2,1,2,1\n"), "line 2, column open"),
            (format!("{h}1,,1,1,1,1,1\n"), "line 2, column symbol"),
            (format!("{h}1,AAPL,1,1,1,1,-1\n"), "line 2, column volume"),
            (
                format!("{h}1,AAPL,1,79228162514264337593543950335,1,1,1\n"),
                "line 2, column high",
            ),
            (format!("{h}1,AAPL,1,1,1,1\n"), "line 2"),
            (
                "time,symbol,open,high,low,close\n".to_string(),
                "missing column \"volume\"",
            ),
        ];
        for (text, want) in cases {
            let e = load_str(&text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
