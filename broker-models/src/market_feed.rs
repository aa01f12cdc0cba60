//! The moving market behind a served model: the default universe of US
//! tickers on seeded price paths, fed into the engine lazily. Nothing runs in
//! the background: whenever the brokerage syncs to its clock, every quote
//! stamped up to that instant is fed first, so what a client sees depends only
//! on simulated time and the seed, never on how often it polls.

use rust_decimal::Decimal;

use mbt::generator::{GeneratorConfig, PriceGenerator};
use mbt::{Engine, Instrument, Timestamp};

pub struct MarketFeed {
    start: Timestamp,
    generator: PriceGenerator,
    buffer: Vec<mbt::MarketEvent>,
}

impl MarketFeed {
    /// A feed of the default universe whose first quotes are at `start`.
    pub fn new(seed: u64, start: Timestamp, engine: &mut Engine) -> Self {
        let generator = PriceGenerator::new(&GeneratorConfig::default(), seed, start, |i| {
            engine.instrument_id(i)
        });
        Self {
            start,
            generator,
            buffer: Vec::new(),
        }
    }

    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// Feeds the engine every quote stamped at or before `t`.
    pub fn run_until(&mut self, engine: &mut Engine, t: Timestamp) {
        self.buffer.clear();
        self.generator.run_until(t, &mut self.buffer);
        for ev in &self.buffer {
            engine.on_market(ev);
        }
    }

    /// Size shown around a price set by hand.
    pub fn quote_size(&self) -> Decimal {
        Decimal::from(500)
    }

    /// Moves a symbol's path to `price`, so the next quotes continue from it.
    pub fn set_level(&mut self, engine: &mut Engine, symbol: &str, price: Decimal) {
        let id = engine.instrument_id(&Instrument::equity(symbol));
        self.generator.set_level(id, price);
    }
}
