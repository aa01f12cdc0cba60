//! The moving market behind a venue: the default universe of US tickers on
//! seeded price paths (or recorded bars), fed into the engine lazily.
//! Nothing runs in the background: whenever a venue is brought up to a
//! time, every event stamped up to that instant is fed first, so what a
//! client sees depends only on simulated time and the seed, never on how
//! often it polls.

use std::collections::VecDeque;

use rust_decimal::Decimal;

use crate::engine::{Hours, Session};
use crate::generator::{GeneratorConfig, PriceGenerator};
use crate::market::Market;
use crate::{Engine, Instrument, MarketEvent, Timestamp};

/// Where a market's prices come from. The default is the seeded generator
/// over the default universe with its default parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarketSpec {
    /// Annualized volatility of every generated path (default 0.30).
    pub annual_volatility: Option<Decimal>,
    /// Quoted spread in basis points (default 2).
    pub spread_bps: Option<u32>,
    /// Simulated time between two quotes of one symbol (default the generator's).
    pub quote_every_ms: Option<u64>,
    /// The symbols generated and their first prices (default the default
    /// universe): a market of only the instruments a run trades.
    pub symbols: Option<Vec<(String, Decimal)>>,
    /// Recorded bars (CSV text, `time,symbol,open,high,low,close,volume`)
    /// replayed instead of the generator, shifted so that the first bar is
    /// at the market's start. The bars' symbols are the whole universe.
    pub bars_csv: Option<String>,
}

impl MarketSpec {
    fn generator_config(&self) -> GeneratorConfig {
        let mut config = GeneratorConfig::default();
        if let Some(v) = self.annual_volatility {
            config.annual_volatility = v;
        }
        if let Some(s) = self.spread_bps {
            config.spread_bps = s;
        }
        if let Some(ms) = self.quote_every_ms {
            config.step_ms = ms.max(1);
        }
        if let Some(symbols) = &self.symbols {
            config.symbols = symbols
                .iter()
                .map(|(symbol, start_price)| crate::generator::SymbolSpec {
                    symbol: symbol.clone(),
                    start_price: *start_price,
                })
                .collect();
        }
        config
    }
}

enum Source {
    Generated(PriceGenerator),
    /// Events still to come, in time order.
    Recorded(VecDeque<MarketEvent>),
}

pub struct MarketFeed {
    start: Timestamp,
    source: Source,
    buffer: Vec<MarketEvent>,
}

/// Recorded bars as market events of `engine`, the first one at `start`.
fn recorded(
    csv: &str,
    start: Timestamp,
    engine: &mut Engine,
) -> Result<VecDeque<MarketEvent>, String> {
    let mut parsed = Market::new();
    let events =
        crate::bars::load(csv.as_bytes(), &mut parsed).map_err(|e| format!("bars: {e}"))?;
    let first = events.first().map_or(start, |e| e.time);
    // Bars parse to timestamps in range, so the shift saturates only on nonsense dates.
    let shift = start.nanos().saturating_sub(first.nanos());
    Ok(events
        .into_iter()
        .map(|mut e| {
            e.instrument = engine.instrument_id(parsed.instrument(e.instrument));
            e.time = e.time.plus_nanos(shift);
            e
        })
        .collect())
}

/// Feeds the engine the latest quote of each symbol a quiet run moved.
fn feed_unseen(g: &mut PriceGenerator, engine: &mut Engine, buffer: &mut Vec<MarketEvent>) {
    buffer.clear();
    g.take_unseen(buffer);
    for ev in buffer.iter() {
        engine.on_market(ev);
    }
}

impl MarketFeed {
    /// A feed as `spec` says; an error names what is wrong with recorded bars.
    pub fn with_spec(
        spec: &MarketSpec,
        seed: u64,
        start: Timestamp,
        engine: &mut Engine,
    ) -> Result<Self, String> {
        let source = match &spec.bars_csv {
            Some(csv) => Source::Recorded(recorded(csv, start, engine)?),
            None => Source::Generated(PriceGenerator::new(
                &spec.generator_config(),
                seed,
                start,
                |i| engine.instrument_id(i),
            )),
        };
        Ok(Self {
            start,
            source,
            buffer: Vec::new(),
        })
    }

    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// Feeds the engine every event stamped at or before `t`, one step at a
    /// time: memory stays one step's quotes whatever the jump. The generated
    /// market does not quote while the session is closed (nights and
    /// weekends cost nothing); recorded bars play as recorded.
    ///
    /// With no order working, a quote can only move its instrument's mark,
    /// and nothing can start working before `t` (no request arrives in a
    /// run): the engine then needs only each symbol's last quote before
    /// every close and at `t`, so the paths walk without feeding it and the
    /// engine ends exactly where quote-by-quote feeding would leave it.
    pub fn run_until(&mut self, engine: &mut Engine, t: Timestamp) {
        match &mut self.source {
            Source::Generated(g) => {
                let session = engine.config().session.clone();
                let quiet = engine.working_orders() == 0;
                // The first session closing after the step being read, asked
                // for again only once the steps pass its close: the time zone
                // work is once a session, not once a step.
                let mut hours: Option<Hours> = None;
                while g.next_time() <= t {
                    let next = g.next_time();
                    if session != Session::AlwaysOpen {
                        if hours.is_none_or(|h| h.close <= next) {
                            // The session's last quotes reach the engine before its close.
                            feed_unseen(g, engine, &mut self.buffer);
                            hours = session.session_closing_from(next.plus_nanos(1));
                        }
                        match hours {
                            // A calendar that never opens again: no more quotes.
                            None => break,
                            Some(h) if next < h.open => {
                                g.skip_to(h.open);
                                continue;
                            }
                            Some(_) => {}
                        }
                    }
                    if quiet {
                        g.step_unseen();
                    } else {
                        self.buffer.clear();
                        g.step(&mut self.buffer);
                        for ev in &self.buffer {
                            engine.on_market(ev);
                        }
                    }
                }
                feed_unseen(g, engine, &mut self.buffer);
            }
            Source::Recorded(events) => {
                while let Some(ev) = events.pop_front_if(|e| e.time <= t) {
                    engine.on_market(&ev);
                }
            }
        }
    }

    /// Size shown around a price set by hand.
    pub fn quote_size(&self) -> Decimal {
        Decimal::from(500)
    }

    /// Moves a symbol's path to `price`, so the next quotes continue from it
    /// (a symbol priced by hand for the first time gets a path of its own);
    /// recorded bars go on as recorded.
    pub fn set_level(&mut self, engine: &mut Engine, symbol: &str, price: Decimal) {
        let id = engine.instrument_id(&Instrument::equity(symbol));
        if let Source::Generated(g) = &mut self.source {
            if !g.set_level(id, price) {
                g.walk_from(id, symbol, price);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::default_universe;
    use crate::EngineConfig;

    #[test]
    fn the_generated_market_is_quiet_while_closed_and_fed_one_step_at_a_time() {
        // Friday 2026-01-09 20:59:59 UTC, a second before the close.
        let friday = Timestamp::from_datetime(
            chrono::DateTime::parse_from_rfc3339("2026-01-09T20:59:59Z")
                .unwrap()
                .into(),
        );
        let mut engine = Engine::new(EngineConfig::default(), 7, friday);
        let mut feed =
            MarketFeed::with_spec(&MarketSpec::default(), 7, friday, &mut engine).unwrap();
        // Saturday noon: the last quotes were Friday's, before the close.
        let saturday = friday.plus_millis(15 * 3_600_000);
        feed.run_until(&mut engine, saturday);
        assert_eq!(engine.now(), friday.plus_millis(750));
        // Through the weekend to Monday's open and a second past it.
        let monday_open = engine.config().session.next_open(friday).unwrap();
        feed.run_until(&mut engine, monday_open.plus_millis(1_000));
        let Source::Generated(g) = &feed.source else {
            unreachable!("generated")
        };
        // The weekend was skipped: the next step is Monday's, on the grid.
        assert_eq!(g.next_time(), monday_open.plus_millis(1_250));
        // No jump ever held more than one step's quotes (one per symbol).
        assert!(feed.buffer.capacity() <= 64, "{}", feed.buffer.capacity());
        // The last quotes the engine saw are Monday's, a second after the open.
        assert_eq!(engine.now(), monday_open.plus_millis(1_000));
    }

    /// Every instrument's market state, as a client or a close could read it.
    fn marks(engine: &Engine) -> Vec<String> {
        default_universe()
            .into_iter()
            .map(|(symbol, _)| {
                let id = engine
                    .market()
                    .id(&Instrument::equity(symbol))
                    .expect("listed");
                let s = engine.market().state(id);
                format!(
                    "{symbol} {:?} {:?} {:?} {:?} {:?}",
                    s.quote, s.last, s.touch, s.updated_at, s.previous_close
                )
            })
            .collect()
    }

    #[test]
    fn a_quiet_market_leaves_the_engine_where_quote_by_quote_feeding_would() {
        // Thursday 2026-01-08 20:00 UTC, an hour before the close, on to
        // Monday's open and past it: two closes and a weekend on the way.
        let thursday = Timestamp::from_datetime(
            chrono::DateTime::parse_from_rfc3339("2026-01-08T20:00:00Z")
                .unwrap()
                .into(),
        );
        let world = || {
            let mut engine = Engine::new(EngineConfig::default(), 11, thursday);
            engine.open_account("A1", crate::AccountKind::Margin, Decimal::from(1_000));
            let feed =
                MarketFeed::with_spec(&MarketSpec::default(), 11, thursday, &mut engine).unwrap();
            (engine, feed)
        };
        let (mut quiet, mut quiet_feed) = world();
        let (mut fed, mut fed_feed) = world();
        quiet_feed.run_until(&mut quiet, thursday);
        fed_feed.run_until(&mut fed, thursday);
        // A GTC bid far below F's market works through every quote without
        // filling, so this engine is fed every quote of every symbol.
        let mut bid = crate::OrderRequest::limit(
            "A1",
            "far",
            "F",
            crate::Side::Buy,
            Decimal::ONE,
            Decimal::ONE,
        );
        bid.time_in_force = crate::TimeInForce::Gtc;
        fed.submit(bid).expect("accepted");
        assert_eq!(fed.working_orders(), 1);
        let monday = thursday.plus_millis(4 * 86_400_000 - 5 * 3_600_000);
        // A short run, then one that crosses both closes and the weekend
        // with quotes on either side of each, then one inside a session.
        for t in [
            thursday.plus_millis(1_234),
            monday,
            monday.plus_millis(3_600_250),
        ] {
            quiet_feed.run_until(&mut quiet, t);
            fed_feed.run_until(&mut fed, t);
            assert_eq!(quiet.now(), fed.now());
            assert_eq!(marks(&quiet), marks(&fed), "at {t:?}");
        }
        let closes = |e: &Engine| {
            e.log()
                .entries()
                .filter(|l| matches!(l.event, crate::EngineEvent::SessionClosed { .. }))
                .map(|l| l.time)
                .collect::<Vec<_>>()
        };
        assert_eq!(closes(&quiet).len(), 2, "Thursday's and Friday's");
        assert_eq!(closes(&quiet), closes(&fed));
    }

    const BARS: &str = "time,symbol,open,high,low,close,volume\n\
        2024-03-01T14:30:00Z,XYZ,10.00,10.50,9.90,10.20,1000\n\
        2024-03-01T14:31:00Z,XYZ,10.20,10.80,10.10,10.70,800\n";

    #[test]
    fn recorded_bars_replay_from_the_start_and_are_the_whole_universe() {
        let start = Timestamp::from_secs(1_767_625_200);
        let mut engine = Engine::new(EngineConfig::default(), 1, start);
        let spec = MarketSpec {
            bars_csv: Some(BARS.into()),
            ..MarketSpec::default()
        };
        let mut feed = MarketFeed::with_spec(&spec, 1, start, &mut engine).expect("bars load");
        feed.run_until(&mut engine, start);
        assert_eq!(engine.spot("XYZ"), Some(Decimal::new(1020, 2)));
        assert_eq!(
            engine.spot("AAPL"),
            None,
            "only the recorded symbols are quoted"
        );
        feed.run_until(&mut engine, start.plus_millis(59_999));
        assert_eq!(engine.spot("XYZ"), Some(Decimal::new(1020, 2)));
        feed.run_until(&mut engine, start.plus_millis(60_000));
        assert_eq!(engine.spot("XYZ"), Some(Decimal::new(1070, 2)));
    }

    #[test]
    fn bad_bars_name_the_line() {
        let start = Timestamp::from_secs(0);
        let mut engine = Engine::new(EngineConfig::default(), 1, start);
        let spec = MarketSpec {
            bars_csv: Some("time,symbol,open,high,low,close,volume\nnow,XYZ,1,1,1,1,1\n".into()),
            ..MarketSpec::default()
        };
        let err = MarketFeed::with_spec(&spec, 1, start, &mut engine)
            .err()
            .unwrap_or_default();
        assert!(err.contains("line 2") && err.contains("time"), "{err}");
    }

    #[test]
    fn generator_parameters_apply() {
        let start = Timestamp::from_secs(1_767_625_200);
        let quiet = MarketSpec {
            annual_volatility: Some(Decimal::ZERO),
            spread_bps: Some(10),
            ..MarketSpec::default()
        };
        let mut engine = Engine::new(EngineConfig::default(), 1, start);
        let mut feed = MarketFeed::with_spec(&quiet, 1, start, &mut engine).expect("generator");
        feed.run_until(&mut engine, start);
        let first = engine.spot("AAPL");
        feed.run_until(&mut engine, start.plus_millis(60_000));
        assert_eq!(engine.spot("AAPL"), first, "no volatility, no moves");
    }
}
