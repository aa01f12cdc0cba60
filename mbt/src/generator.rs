//! A seeded generator of per-symbol price paths with bid/ask spreads.
//!
//! Each symbol walks on its own ChaCha stream (`prices/<SYMBOL>`), so adding
//! a symbol never changes another's path. Prices are whole cents in
//! integer arithmetic: a step multiplies the price by `1 + σ·z`, where z is
//! approximately standard normal (Irwin–Hall: the sum of twelve uniforms
//! less six) in fixed point. No floats, so every platform gives the same path.

use rand::RngCore;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, MathematicalOps};
use serde::{Deserialize, Serialize};

use crate::checked;
use crate::instrument::Instrument;
use crate::market::{is_valid_price, InstrumentId, MarketData, MarketEvent, Quote, MAX_PRICE};
use crate::rng::{below, rng_for, SimRng};
use crate::time::Timestamp;

/// Common US tickers with plausible prices: the default simulated market.
pub fn default_universe() -> Vec<(&'static str, Decimal)> {
    [
        ("AAPL", 19050),
        ("MSFT", 42030),
        ("SPY", 59075),
        ("QQQ", 51020),
        ("TSLA", 25045),
        ("AMZN", 20010),
        ("NVDA", 14025),
        ("GOOGL", 17560),
        ("META", 58090),
        ("IWM", 22515),
        ("AMD", 14230),
        ("NFLX", 88040),
        ("F", 1025),
        ("BAC", 4412),
        ("JPM", 24130),
    ]
    .into_iter()
    .map(|(s, c)| (s, Decimal::new(c, 2)))
    .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolSpec {
    pub symbol: String,
    pub start_price: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeneratorConfig {
    pub symbols: Vec<SymbolSpec>,
    /// Annualized volatility of every path, e.g. 0.30.
    pub annual_volatility: Decimal,
    /// Quoted spread in basis points of the price (at least one cent).
    pub spread_bps: u32,
    /// Displayed size on each side, uniform in `[min_size, max_size]`.
    pub min_size: u32,
    pub max_size: u32,
    /// Simulated time between quotes of one symbol.
    pub step_ms: u64,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self {
            symbols: default_universe()
                .into_iter()
                .map(|(s, p)| SymbolSpec {
                    symbol: s.to_string(),
                    start_price: p,
                })
                .collect(),
            annual_volatility: Decimal::new(30, 2),
            spread_bps: 2,
            min_size: 100,
            max_size: 1000,
            step_ms: 250,
        }
    }
}

/// Fixed-point scale of z and σ: 2^20.
const Z_SHIFT: u32 = 20;
/// One in fixed point.
const Z_ONE: i64 = 1 << Z_SHIFT;
/// Trading milliseconds in a year (252 days of 6.5 hours): σ per step scales with √(step / year).
const TRADING_MILLIS_PER_YEAR: i64 = 252 * 23_400 * 1000;
/// The highest price a path reaches, in cents: the market's `MAX_PRICE`.
const MAX_CENTS: i64 = 100_000_000_000_000;

struct Walk {
    id: InstrumentId,
    cents: i64,
    rng: SimRng,
    /// The last quote of a quiet run (`step_unseen`), not yet handed out.
    unseen: Option<Tick>,
}

/// One step of one path: the quote in whole cents and its displayed sizes.
#[derive(Debug, Clone, Copy)]
struct Tick {
    bid: i64,
    ask: i64,
    bid_size: u64,
    ask_size: u64,
}

impl Tick {
    fn event(self, time: Timestamp, instrument: InstrumentId) -> MarketEvent {
        MarketEvent {
            time,
            instrument,
            data: MarketData::Quote(Quote {
                bid: Decimal::new(self.bid, 2),
                ask: Decimal::new(self.ask, 2),
                bid_size: Decimal::from(self.bid_size),
                ask_size: Decimal::from(self.ask_size),
            }),
        }
    }
}

/// How every path moves and is quoted.
#[derive(Debug, Clone, Copy)]
struct Shape {
    /// σ per step, × 2^20.
    sigma_fp: i64,
    spread_bps: i64,
    min_size: u32,
    max_size: u32,
}

impl Shape {
    /// Moves a path one step and quotes it. The draws are the same whether
    /// or not the quote is ever handed out, so a quiet run leaves every
    /// path exactly where a fed one would.
    fn advance(self, w: &mut Walk) -> Tick {
        let z = irwin_hall_z(&mut w.rng);
        // cents (< 2^47) × σ × z (< 2^23) fits in i128 for any sane σ;
        // saturating keeps an absurd one from panicking: the path then
        // stops at the end of the price range.
        let scaled = i128::from(w.cents)
            .saturating_mul(i128::from(self.sigma_fp))
            .saturating_mul(i128::from(z));
        // Round to the nearest cent: a floor (>>) would drift every path downwards.
        let change = scaled.saturating_add(HALF_Z2).div_euclid(Z2);
        w.cents = w
            .cents
            .saturating_add(i64::try_from(change).unwrap_or(0))
            .clamp(1, MAX_CENTS);
        // Prices stay within the price range and sizes within u32: the
        // rest of the step cannot overflow, so saturating is exact.
        let half = w
            .cents
            .saturating_mul(self.spread_bps)
            .div_euclid(20_000)
            .max(1);
        let bid = w.cents.saturating_sub(half).max(1);
        let ask = w.cents.saturating_add(half).max(bid.saturating_add(1));
        let span = u64::from(self.max_size.saturating_sub(self.min_size)).saturating_add(1);
        let min = u64::from(self.min_size);
        let bid_size = min.saturating_add(below(&mut w.rng, span));
        let ask_size = min.saturating_add(below(&mut w.rng, span));
        Tick {
            bid,
            ask,
            bid_size,
            ask_size,
        }
    }
}

pub struct PriceGenerator {
    walks: Vec<Walk>,
    shape: Shape,
    step_ms: i64,
    next_time: Timestamp,
    /// When the unseen quotes of a quiet run were stamped.
    unseen_time: Timestamp,
    /// For the paths of symbols listed later (`walk_from`).
    seed: u64,
}

impl PriceGenerator {
    /// A generator whose first quotes are at `start`; `intern` gives each
    /// symbol's instrument id (an engine's or a market's).
    pub fn new(
        config: &GeneratorConfig,
        seed: u64,
        start: Timestamp,
        mut intern: impl FnMut(&Instrument) -> InstrumentId,
    ) -> Self {
        let step_ms = config.step_ms.max(1);
        // A u64 over a positive constant: always in range.
        let per_step = checked::div(
            Decimal::from(step_ms),
            Decimal::from(TRADING_MILLIS_PER_YEAR),
        )
        .unwrap_or_default();
        // A volatility too large for the fixed point leaves the paths still.
        let sigma_fp = checked::mul(
            config.annual_volatility.max(Decimal::ZERO),
            per_step.sqrt().unwrap_or_default(),
        )
        .and_then(|sigma| checked::mul(sigma, Decimal::from(Z_ONE)))
        .ok()
        .and_then(|fp| fp.round().to_i64())
        .unwrap_or(0);
        let walks = config
            .symbols
            .iter()
            .map(|s| Walk {
                id: intern(&Instrument::equity(&s.symbol)),
                cents: cents_of(s.start_price),
                rng: rng_for(seed, &format!("prices/{}", s.symbol)),
                unseen: None,
            })
            .collect();
        Self {
            walks,
            shape: Shape {
                sigma_fp,
                spread_bps: i64::from(config.spread_bps),
                min_size: config.min_size.max(1),
                max_size: config.max_size.max(config.min_size.max(1)),
            },
            step_ms: i64::try_from(step_ms).unwrap_or(i64::MAX),
            next_time: start,
            unseen_time: start,
            seed,
        }
    }

    /// Starts a path for a symbol the generator does not walk yet, at
    /// `price` (a symbol a scenario or a control surface prices by hand),
    /// so that it is quoted from then on like the rest. Its draws come from
    /// its own label, so the other paths are unchanged. False for a price
    /// the market refuses, or a symbol already walked.
    pub fn walk_from(&mut self, id: InstrumentId, symbol: &str, price: Decimal) -> bool {
        if !is_valid_price(price) || self.walks.iter().any(|w| w.id == id) {
            return false;
        }
        self.walks.push(Walk {
            id,
            cents: cents_of(price),
            rng: rng_for(self.seed, &format!("prices/{symbol}")),
            unseen: None,
        });
        true
    }

    /// When the next step's quotes are stamped.
    pub fn next_time(&self) -> Timestamp {
        self.next_time
    }

    /// Moves the next step to the first instant of its grid at or after `t`,
    /// with no quotes in between: the paths go on from where they were (a
    /// market that is closed does not quote).
    pub fn skip_to(&mut self, t: Timestamp) {
        let gap = t.nanos().saturating_sub(self.next_time.nanos());
        if gap <= 0 {
            return;
        }
        let step = self.step_ms.saturating_mul(1_000_000).max(1);
        let steps = gap
            .saturating_add(step.saturating_sub(1))
            .checked_div(step)
            .unwrap_or(0);
        self.next_time = self.next_time.plus_nanos(steps.saturating_mul(step));
    }

    /// Moves a symbol's path to `price` (a scenario's or a control surface's
    /// "set price"). False, and the path unchanged, for a price the market
    /// refuses (see `market::is_valid_price`) or a symbol it does not walk.
    pub fn set_level(&mut self, id: InstrumentId, price: Decimal) -> bool {
        if !is_valid_price(price) {
            return false;
        }
        match self.walks.iter_mut().find(|w| w.id == id) {
            Some(w) => {
                w.cents = cents_of(price);
                true
            }
            None => false,
        }
    }

    /// Appends one quote per symbol, all stamped with the next step's time, in symbol order.
    pub fn step(&mut self, out: &mut Vec<MarketEvent>) {
        let time = self.next_time;
        let shape = self.shape;
        for w in &mut self.walks {
            let tick = shape.advance(w);
            out.push(tick.event(time, w.id));
        }
        self.next_time = time.plus_millis(self.step_ms);
    }

    /// Moves every path one step as `step` does, keeping only each
    /// symbol's latest quote for `take_unseen`: a quiet market's steps,
    /// which nobody needs one by one.
    pub fn step_unseen(&mut self) {
        let time = self.next_time;
        let shape = self.shape;
        for w in &mut self.walks {
            w.unseen = Some(shape.advance(w));
        }
        self.unseen_time = time;
        self.next_time = time.plus_millis(self.step_ms);
    }

    /// Appends the latest quote of each symbol `step_unseen` moved since
    /// the last call, in symbol order, and forgets them.
    pub fn take_unseen(&mut self, out: &mut Vec<MarketEvent>) {
        let time = self.unseen_time;
        for w in &mut self.walks {
            if let Some(tick) = w.unseen.take() {
                out.push(tick.event(time, w.id));
            }
        }
    }

    /// Appends every step stamped at or before `t`.
    pub fn run_until(&mut self, t: Timestamp, out: &mut Vec<MarketEvent>) {
        while self.next_time <= t {
            self.step(out);
        }
    }

    /// `steps` steps of quotes, in time order.
    pub fn generate(&mut self, steps: usize) -> Vec<MarketEvent> {
        let mut out = Vec::new();
        // Only a hint: a size that cannot be reserved grows as it goes.
        let _ = out.try_reserve(steps.saturating_mul(self.walks.len()));
        for _ in 0..steps {
            self.step(&mut out);
        }
        out
    }
}

/// Whole cents of `price`, within the price range.
fn cents_of(price: Decimal) -> i64 {
    // At most MAX_PRICE × 100 once clamped: in range.
    checked::mul(price.clamp(Decimal::ZERO, MAX_PRICE), Decimal::ONE_HUNDRED)
        .ok()
        .and_then(|cents| cents.round().to_i64())
        .unwrap_or(1)
        .max(1)
}

/// Approximately N(0,1) × 2^20: twelve 20-bit uniforms summed, less six.
fn irwin_hall_z(rng: &mut SimRng) -> i64 {
    let sum: i64 = (0..12).map(|_| i64::from(rng.next_u32() >> 12)).sum();
    // Twelve values below 2^20 sum far inside i64: exact.
    sum.saturating_sub(SIX)
}

/// Six in fixed point: the mean of the twelve uniforms' sum.
const SIX: i64 = 6 * Z_ONE;
/// z × σ carries two fixed-point scales: one, and a half for rounding.
const Z2: i128 = 1 << (2 * Z_SHIFT);
const HALF_Z2: i128 = 1 << (2 * Z_SHIFT - 1);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::Market;
    use rust_decimal_macros::dec;

    fn config(symbols: &[&str]) -> GeneratorConfig {
        GeneratorConfig {
            symbols: symbols
                .iter()
                .map(|s| SymbolSpec {
                    symbol: s.to_string(),
                    start_price: dec!(100),
                })
                .collect(),
            ..GeneratorConfig::default()
        }
    }

    fn path(cfg: &GeneratorConfig, seed: u64, steps: usize) -> Vec<MarketEvent> {
        let mut m = Market::new();
        PriceGenerator::new(cfg, seed, Timestamp::from_secs(0), |i| m.intern(i)).generate(steps)
    }

    #[test]
    fn seeded_and_repeatable() {
        let cfg = config(&["AAPL", "MSFT"]);
        assert_eq!(path(&cfg, 1, 500), path(&cfg, 1, 500));
        assert_ne!(path(&cfg, 1, 500), path(&cfg, 2, 500));
    }

    #[test]
    fn adding_a_symbol_leaves_other_paths_alone() {
        let one = path(&config(&["AAPL"]), 9, 300);
        let two = path(&config(&["AAPL", "TSLA"]), 9, 300);
        let aapl: Vec<_> = two
            .iter()
            .filter(|e| e.instrument == InstrumentId(0))
            .cloned()
            .collect();
        assert_eq!(one, aapl);
    }

    #[test]
    fn quotes_are_sane_and_in_time_order() {
        let events = path(&GeneratorConfig::default(), 3, 2000);
        let mut last = Timestamp::from_secs(0);
        for e in &events {
            assert!(e.time >= last);
            last = e.time;
            let MarketData::Quote(q) = &e.data else {
                panic!("quotes only")
            };
            assert!(q.bid > Decimal::ZERO && q.bid < q.ask, "{q:?}");
            assert!(q.bid_size >= dec!(100) && q.ask_size <= dec!(1000));
        }
        assert_eq!(events.len(), 2000 * default_universe().len());
    }

    #[test]
    fn volatility_is_roughly_as_configured() {
        // A day of 250 ms steps at 30% annual vol: daily σ ≈ 1.9%.
        let cfg = config(&["AAPL"]);
        let events = path(&cfg, 5, 23_400 * 4);
        let MarketData::Quote(last) = &events.last().unwrap().data else {
            unreachable!()
        };
        let moved = (last.mid() - dec!(100)).abs();
        assert!(moved < dec!(15), "moved {moved} in a day");
        let distinct: std::collections::BTreeSet<_> = events
            .iter()
            .map(|e| match &e.data {
                MarketData::Quote(q) => q.bid,
                _ => unreachable!(),
            })
            .collect();
        assert!(
            distinct.len() > 50,
            "the path barely moves: {} distinct bids",
            distinct.len()
        );
    }

    #[test]
    fn set_level_moves_a_path() {
        let mut m = Market::new();
        let mut g = PriceGenerator::new(&config(&["AAPL"]), 1, Timestamp::from_secs(0), |i| {
            m.intern(i)
        });
        assert!(!g.set_level(InstrumentId(0), Decimal::MAX));
        assert!(!g.set_level(InstrumentId(0), dec!(-1)));
        assert!(!g.set_level(InstrumentId(9), dec!(50)));
        assert!(g.set_level(InstrumentId(0), dec!(50)));
        let e = g.generate(1);
        let MarketData::Quote(q) = &e[0].data else {
            unreachable!()
        };
        assert!(q.mid() > dec!(49) && q.mid() < dec!(51));
    }
}
