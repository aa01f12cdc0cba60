//! The replay's market: a seeded random walk of bars for each symbol over
//! trading days, or recorded bars.
//!
//! Each bar moves each price by a uniform step of the bar's volatility (the
//! daily volatility over the square root of the bars in a day), rounded to
//! the cent; a walk never goes below a cent. Each symbol walks on its own
//! stream of the seed (the first symbol's is the seed's first stream).
//! Trading days are the NYSE's sessions from Monday 2026-01-05, weekends
//! and the exchange's holidays skipped ([`mbt::engine::Session`]); the
//! bars are evenly spaced over each session, from its open.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use mbt::engine::{new_york, Session};
use mbt::{Market, MarketData, MarketEvent};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rust_decimal::{Decimal, MathematicalOps};

use super::MarketSpec;

/// One bar: when, where in the replay, and each symbol's price.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub day: u32,
    pub bar: u32,
    pub at: DateTime<Utc>,
    pub prices: BTreeMap<String, Decimal>,
}

/// Every bar of the market, in order.
pub fn bars(spec: &MarketSpec, seed: u64) -> Vec<Bar> {
    let mut walks: Vec<Walk> = spec
        .symbols
        .iter()
        .enumerate()
        .map(|(i, (symbol, start))| Walk::new(spec, seed, i as u64, symbol, *start))
        .collect();
    let mut out = Vec::new();
    for (d, (open, close)) in sessions(spec.days).into_iter().enumerate() {
        // Whole minutes apart, as bars are.
        let step =
            Duration::minutes((close - open).num_minutes() / i64::from(spec.bars_per_day.max(1)));
        for b in 0..spec.bars_per_day {
            out.push(Bar {
                day: d as u32 + 1,
                bar: b + 1,
                at: open + step * i32::try_from(b).unwrap_or(0),
                prices: walks.iter_mut().map(Walk::next).collect(),
            });
        }
    }
    out
}

/// One symbol's walk.
struct Walk {
    symbol: String,
    rng: ChaCha20Rng,
    /// One bar's step, at one standard deviation.
    sigma: Decimal,
    price: Decimal,
}

impl Walk {
    fn new(spec: &MarketSpec, seed: u64, stream: u64, symbol: &str, start: Decimal) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x6261_7273);
        rng.set_stream(stream);
        let per_day = Decimal::from(spec.bars_per_day);
        Self {
            symbol: symbol.to_string(),
            rng,
            sigma: spec.daily_volatility_percent
                / Decimal::ONE_HUNDRED
                / per_day.sqrt().unwrap_or(Decimal::ONE),
            price: start.round_dp(2).max(CENT),
        }
    }

    /// This bar's price, then a step to the next.
    fn next(&mut self) -> (String, Decimal) {
        let now = self.price;
        // A uniform step on [-√3, √3] has unit variance.
        let reach = Decimal::from(3).sqrt().unwrap_or(Decimal::ONE);
        let z =
            Decimal::from(self.rng.gen_range(-1_000_000i64..=1_000_000)) / Decimal::from(1_000_000);
        self.price = (now * (Decimal::ONE + self.sigma * reach * z))
            .round_dp(2)
            .max(CENT);
        (self.symbol.clone(), now)
    }
}

/// Recorded bars (as [`mbt::bars::load`] reads them, sorted by time) as
/// the replay's bars: each time one bar of every symbol, at its close;
/// days are New York trading dates. At most 260 days of 78 bars.
pub fn from_recorded(events: &[MarketEvent], market: &Market) -> Result<Vec<Bar>, String> {
    let symbols: BTreeSet<&str> = events
        .iter()
        .map(|e| market.instrument(e.instrument).underlying())
        .collect();
    let mut out: Vec<Bar> = Vec::new();
    let mut date = None;
    for e in events {
        let MarketData::Bar { close, .. } = e.data else {
            continue;
        };
        let at = e.time.to_datetime();
        if out.last().is_none_or(|b| b.at != at) {
            let day = new_york(e.time).date_naive();
            let (d, b) = match (out.last(), date == Some(day)) {
                (Some(last), true) => (last.day, last.bar + 1),
                (Some(last), false) => (last.day + 1, 1),
                (None, _) => (1, 1),
            };
            if d > 260 || b > 78 {
                return Err("recorded bars span at most 260 days of 78 bars".into());
            }
            date = Some(day);
            out.push(Bar {
                day: d,
                bar: b,
                at,
                prices: BTreeMap::new(),
            });
        }
        let symbol = market.instrument(e.instrument).underlying().to_string();
        if let Some(bar) = out.last_mut() {
            if bar.prices.insert(symbol.clone(), close).is_some() {
                return Err(format!("{symbol} has two bars at {at}"));
            }
        }
    }
    for bar in &out {
        if let Some(missing) = symbols.iter().find(|s| !bar.prices.contains_key(**s)) {
            return Err(format!("the bar at {} has no {missing}", bar.at));
        }
    }
    if out.is_empty() {
        return Err("no bars".into());
    }
    Ok(out)
}

const CENT: Decimal = Decimal::from_parts(1, 0, 0, false, 2);

/// The open and close of the NYSE's first `days` sessions from Monday
/// 2026-01-05.
fn sessions(days: u32) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let nyse = Session::Nyse;
    let mut out = Vec::new();
    let mut date = NaiveDate::from_ymd_opt(2026, 1, 5);
    while let Some(d) = date {
        if out.len() >= days as usize {
            break;
        }
        if let Some(h) = nyse.hours(d) {
            out.push((h.open.to_datetime(), h.close.to_datetime()));
        }
        date = d.succ_opt();
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    use super::*;

    fn spec() -> MarketSpec {
        MarketSpec {
            symbols: BTreeMap::from([("AAPL".into(), dec!(100)), ("MSFT".into(), dec!(400))]),
            days: 16,
            bars_per_day: 4,
            daily_volatility_percent: dec!(2),
        }
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn each_symbol_walks_on_its_own_by_its_volatility() {
        let a = bars(&spec(), 7);
        assert_eq!(a, bars(&spec(), 7));
        assert_ne!(a, bars(&spec(), 8));
        assert_eq!(a.len(), 64);
        assert_eq!(a[0].prices["AAPL"], dec!(100));
        assert_eq!(a[0].prices["MSFT"], dec!(400));
        // One bar moves at most √3 × 1 % (2 % a day over √4 bars).
        for symbol in ["AAPL", "MSFT"] {
            for w in a.windows(2) {
                let (p, q) = (w[0].prices[symbol], w[1].prices[symbol]);
                assert!(((q - p) / p).abs() <= dec!(0.0175), "{symbol} {p} -> {q}");
            }
        }
        let moves = |s: &str| -> Vec<bool> {
            a.windows(2)
                .map(|w| w[1].prices[s] > w[0].prices[s])
                .collect()
        };
        assert_ne!(moves("AAPL"), moves("MSFT"), "the walks are not one walk");
        // The first symbol walks as a market of that symbol alone would.
        let mut alone = spec();
        alone.symbols.remove("MSFT");
        let solo: Vec<Decimal> = bars(&alone, 7).iter().map(|b| b.prices["AAPL"]).collect();
        let both: Vec<Decimal> = a.iter().map(|b| b.prices["AAPL"]).collect();
        assert_eq!(solo, both);
    }

    #[test]
    fn the_days_are_the_exchanges_sessions() {
        let a = bars(&spec(), 7);
        assert_eq!(a[0].at, utc(2026, 1, 5, 14, 30));
        // Four bars over the 390-minute session: every 97 minutes.
        assert_eq!(a[1].at, utc(2026, 1, 5, 16, 7));
        // Day 6 is Monday 2026-01-12: the weekend is skipped; day 11 is
        // Tuesday 2026-01-20: Martin Luther King Jr. Day is a holiday.
        assert_eq!(
            (a[20].day, a[20].bar, a[20].at),
            (6, 1, utc(2026, 1, 12, 14, 30))
        );
        assert_eq!(a[40].at, utc(2026, 1, 20, 14, 30));
        // Good Friday (2026-04-03) is skipped and the day after
        // Thanksgiving (2026-11-27) closes at 13:00 New York time.
        let year = MarketSpec {
            days: 250,
            bars_per_day: 1,
            ..spec()
        };
        let days: Vec<DateTime<Utc>> = bars(&year, 1).iter().map(|b| b.at).collect();
        assert!(days.contains(&utc(2026, 4, 2, 13, 30)));
        assert!(!days
            .iter()
            .any(|d| d.date_naive() == utc(2026, 4, 3, 0, 0).date_naive()));
        let early = sessions(250)
            .into_iter()
            .find(|(o, _)| o.date_naive() == utc(2026, 11, 27, 0, 0).date_naive())
            .expect("a session on 2026-11-27");
        assert_eq!(early.1, utc(2026, 11, 27, 18, 0));
    }
}
