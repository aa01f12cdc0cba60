//! A venue: one engine and the market that feeds it, brought up to a time
//! the caller gives. The paper engine a Raxx user trades on and every
//! simulated broker are each one of these, so they move and price the same way.

use rust_decimal::Decimal;

use crate::feed::{MarketFeed, MarketSpec};
use crate::{AccountKind, Engine, EngineConfig, Instrument, Timestamp};

/// An account a venue opens at its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpeningAccount {
    pub number: String,
    pub kind: AccountKind,
    pub cash: Decimal,
}

pub struct Venue {
    engine: Engine,
    feed: MarketFeed,
}

impl Venue {
    /// A venue at `start` with `accounts` open and the market quoted from
    /// the first instant; an error says what is wrong with recorded bars.
    pub fn new(
        config: EngineConfig,
        seed: u64,
        start: Timestamp,
        market: &MarketSpec,
        accounts: &[OpeningAccount],
    ) -> Result<Self, String> {
        let mut engine = Engine::new(config, seed, start);
        for a in accounts {
            engine.open_account(&a.number, a.kind, a.cash);
        }
        let feed = MarketFeed::with_spec(market, seed, start, &mut engine)?;
        let mut venue = Self { engine, feed };
        venue.run_until(start);
        Ok(venue)
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    pub fn start(&self) -> Timestamp {
        self.feed.start()
    }

    /// Feeds every market event stamped up to `t`, then moves the engine's
    /// clock to `t` (its now is the venue's, not its last quote's).
    pub fn run_until(&mut self, t: Timestamp) {
        self.feed.run_until(&mut self.engine, t);
        self.engine.advance_to(t);
    }

    /// Quotes an equity at `price` now and moves its generated path there,
    /// so later quotes continue from it; false when it cannot be priced.
    pub fn set_price(&mut self, symbol: &str, price: Decimal) -> bool {
        let size = self.feed.quote_size();
        let ok = self
            .engine
            .set_price(&Instrument::equity(symbol), price, size);
        if ok {
            self.feed.set_level(&mut self.engine, symbol, price);
        }
        ok
    }

    /// Whether every one of `prices` can be quoted (changes nothing).
    pub fn can_price(&self, prices: &[(String, Decimal)]) -> bool {
        let size = self.feed.quote_size();
        let market = self.engine.market();
        prices
            .iter()
            .all(|(_, p)| market.quote_around(*p, size).is_some())
    }

    /// Quotes several equities at once, all or none: false, and nothing
    /// changed, when one of the prices cannot be quoted.
    pub fn set_prices(&mut self, prices: &[(String, Decimal)]) -> bool {
        if !self.can_price(prices) {
            return false;
        }
        // Each is quoted as checked: an equity's valid quote always applies.
        prices.iter().all(|(symbol, p)| self.set_price(symbol, *p))
    }
}
