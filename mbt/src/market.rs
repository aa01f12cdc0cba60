//! The market as the engine sees it: the last quote and trade per instrument,
//! fed by events in simulated time. Instruments are interned to dense ids so
//! that the hot path (one quote → check the book) never compares strings.
//!
//! Option quotes are not fed: they are priced from the underlying on demand
//! (see `pricing`), so any well-formed OCC symbol on a listed underlying trades.

// Lookup-only map: see `Market::ids`.
#[allow(clippy::disallowed_types)]
use std::collections::HashMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::checked::{self, Checked};
use crate::instrument::Instrument;
use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InstrumentId(pub u32);

/// Top of book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub bid: Decimal,
    pub ask: Decimal,
    pub bid_size: Decimal,
    pub ask_size: Decimal,
}

impl Quote {
    #[inline]
    pub fn mid(&self) -> Decimal {
        checked::midpoint(self.bid, self.ask)
    }

    /// A two-sided quote inside the price range, not crossed, with no negative size.
    pub fn is_valid(&self) -> bool {
        self.bid > Decimal::ZERO
            && self.ask >= self.bid
            && self.ask <= MAX_PRICE
            && self.bid_size >= Decimal::ZERO
            && self.ask_size >= Decimal::ZERO
    }
}

/// The highest price the market accepts: 10¹², a trillion per unit, six orders of
/// magnitude above any listed instrument, and low enough that a full-size
/// order's notional and every quote derived from a price stay far inside
/// Decimal's range. Market data beyond it is refused as bad data.
pub const MAX_PRICE: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

/// Whether `price` is a price the market accepts: positive and at most `MAX_PRICE`.
pub fn is_valid_price(price: Decimal) -> bool {
    price > Decimal::ZERO && price <= MAX_PRICE
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum MarketData {
    Quote(Quote),
    Trade {
        price: Decimal,
        size: Decimal,
    },
    Bar {
        open: Decimal,
        high: Decimal,
        low: Decimal,
        close: Decimal,
        volume: Decimal,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketEvent {
    pub time: Timestamp,
    pub instrument: InstrumentId,
    pub data: MarketData,
}

/// The prices one market event reached. A quote offers its ask to buyers and
/// its bid to sellers; a trade or a bar shows a price range that resting limit
/// orders inside it would have traded at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touch {
    /// The lowest price a buyer could have paid (quote: ask; bar: low).
    pub buy: Decimal,
    /// The highest price a seller could have received (quote: bid; bar: high).
    pub sell: Decimal,
    /// The lowest price seen (sell stops trigger at or below it).
    pub low: Decimal,
    /// The highest price seen (buy stops trigger at or above it).
    pub high: Decimal,
}

/// What one valid event sets on its instrument, computed before anything changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketUpdate {
    instrument: InstrumentId,
    time: Timestamp,
    quote: Quote,
    touch: Touch,
    /// The event's price; None for a quote, which sets the last price only
    /// when there is none yet (to its mid).
    last: Option<Decimal>,
}

/// What the market knows about one instrument.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstrumentState {
    pub quote: Option<Quote>,
    pub last: Option<Decimal>,
    /// Which prices the latest event touched.
    pub touch: Option<Touch>,
    pub updated_at: Timestamp,
    /// Bumped by every applied event, so prices derived from this state know when they are stale.
    pub version: u64,
    /// The mark at the latest session close (a day's change is measured
    /// from it); None before the first close the world saw.
    pub previous_close: Option<Decimal>,
}

impl InstrumentState {
    /// An equity's mark: its quote's mid, else its last price.
    pub fn mark(&self) -> Option<Decimal> {
        self.quote.map(|q| q.mid()).or(self.last)
    }
}

/// Interned instruments and their latest market state.
#[derive(Debug, Clone, Default)]
pub struct Market {
    /// Lookup only, never iterated (iteration goes through `instruments`, in
    /// id order), so its hash order cannot reach any output; a hash map makes
    /// marking a portfolio cheap. foldhash with its fixed seed: SipHash was
    /// a fifth of an order's cost. Its resistance to crafted keys is not
    /// needed: a client that crafted colliding symbols would only slow the
    /// model it is testing.
    #[allow(clippy::disallowed_types)]
    ids: HashMap<Instrument, InstrumentId, foldhash::fast::FixedState>,
    instruments: Vec<Instrument>,
    states: Vec<InstrumentState>,
    /// Moves with every update stored: a valuation made at one epoch holds
    /// until the next (`engine::accounts`).
    epoch: u64,
    /// Bars and trades carry no spread: the synthetic quote around them is
    /// last ± half of this many basis points.
    pub synthetic_spread_bps: Decimal,
}

impl Market {
    pub fn new() -> Self {
        Self {
            synthetic_spread_bps: Decimal::from(2),
            ..Default::default()
        }
    }

    /// The id of `instrument`, interning it on first sight.
    pub fn intern(&mut self, instrument: &Instrument) -> InstrumentId {
        if let Some(id) = self.ids.get(instrument) {
            return *id;
        }
        let id = InstrumentId(self.instruments.len() as u32);
        self.ids.insert(instrument.clone(), id);
        self.instruments.push(instrument.clone());
        self.states.push(InstrumentState::default());
        id
    }

    /// Moves with every update stored (wrapping: it only has to differ
    /// from the one a reader saw last).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// How many instruments are interned (ids are dense, 0..len).
    pub fn len(&self) -> usize {
        self.instruments.len()
    }

    pub fn is_empty(&self) -> bool {
        self.instruments.is_empty()
    }

    pub fn id(&self, instrument: &Instrument) -> Option<InstrumentId> {
        self.ids.get(instrument).copied()
    }

    /// The instrument behind `id`; an id this market never gave out names
    /// the empty equity, which nothing lists or prices.
    pub fn instrument(&self, id: InstrumentId) -> &Instrument {
        static UNKNOWN: Instrument = Instrument::Equity {
            symbol: String::new(),
        };
        self.instruments.get(id.0 as usize).unwrap_or(&UNKNOWN)
    }

    /// What the market knows about `id`: nothing, for an id it never gave out.
    pub fn state(&self, id: InstrumentId) -> &InstrumentState {
        static UNKNOWN: InstrumentState = InstrumentState {
            quote: None,
            last: None,
            touch: None,
            updated_at: Timestamp::from_nanos(0),
            version: 0,
            previous_close: None,
        };
        self.states.get(id.0 as usize).unwrap_or(&UNKNOWN)
    }

    /// Instruments with at least one price, in id order.
    pub fn listed(&self) -> impl Iterator<Item = (InstrumentId, &Instrument)> {
        self.instruments
            .iter()
            .zip(&self.states)
            .enumerate()
            .filter(|(_, (_, state))| state.last.is_some() || state.quote.is_some())
            .map(|(i, (inst, _))| (InstrumentId(i as u32), inst))
    }

    /// The tickers of the listed equities, in id order: what a broker's
    /// symbol lookups (Alpaca's assets, SnapTrade's symbol search) know.
    pub fn equities(&self) -> impl Iterator<Item = &str> {
        self.listed().filter_map(|(_, i)| match i {
            Instrument::Equity { symbol } => Some(symbol.as_str()),
            Instrument::Option { .. } => None,
        })
    }

    /// Applies one event. Returns false (and changes nothing) for an event
    /// the market refuses (see `check`): bad data is skipped, never fatal.
    pub fn apply(&mut self, ev: &MarketEvent) -> bool {
        match self.check(ev) {
            Some(update) => {
                self.store(update);
                true
            }
            None => false,
        }
    }

    /// What `ev` would set, or None when the market refuses it: an unknown
    /// instrument, a price that is not positive or is above `MAX_PRICE`, a
    /// crossed quote, a bar whose open or close is outside its range, or a
    /// negative size. Changes nothing, so a caller can refuse an event before
    /// acting on it.
    pub fn check(&self, ev: &MarketEvent) -> Option<MarketUpdate> {
        self.states.get(ev.instrument.0 as usize)?;
        let (quote, touch, last) = match &ev.data {
            MarketData::Quote(q) => {
                if !q.is_valid() {
                    return None;
                }
                let touch = Touch {
                    buy: q.ask,
                    sell: q.bid,
                    low: q.bid,
                    high: q.ask,
                };
                (*q, touch, None)
            }
            MarketData::Trade { price, size } => {
                if !is_valid_price(*price) || *size < Decimal::ZERO {
                    return None;
                }
                let touch = Touch {
                    buy: *price,
                    sell: *price,
                    low: *price,
                    high: *price,
                };
                let quote = synthetic_quote(*price, *size, self.synthetic_spread_bps).ok()?;
                (quote, touch, Some(*price))
            }
            MarketData::Bar {
                open,
                high,
                low,
                close,
                volume,
            } => {
                if !is_valid_price(*low)
                    || !is_valid_price(*high)
                    || high < low
                    || close > high
                    || close < low
                    || open > high
                    || open < low
                    || *volume < Decimal::ZERO
                {
                    return None;
                }
                let touch = Touch {
                    buy: *low,
                    sell: *high,
                    low: *low,
                    high: *high,
                };
                let quote = synthetic_quote(*close, *volume, self.synthetic_spread_bps).ok()?;
                (quote, touch, Some(*close))
            }
        };
        Some(MarketUpdate {
            instrument: ev.instrument,
            time: ev.time,
            quote,
            touch,
            last,
        })
    }

    /// Stores what `check` computed.
    pub fn store(&mut self, update: MarketUpdate) {
        let Some(state) = self.states.get_mut(update.instrument.0 as usize) else {
            return;
        };
        state.quote = Some(update.quote);
        state.touch = Some(update.touch);
        match update.last {
            Some(price) => state.last = Some(price),
            None if state.last.is_none() => state.last = Some(update.quote.mid()),
            None => {}
        }
        state.updated_at = update.time;
        // A version only has to differ from the one a reader saw last.
        state.version = state.version.wrapping_add(1);
        self.epoch = self.epoch.wrapping_add(1);
    }

    /// Ends a session: each instrument's mark now (its quote's mid, else its
    /// last price) becomes its previous close.
    pub fn close_session(&mut self) {
        for s in &mut self.states {
            if let Some(mark) = s.mark() {
                s.previous_close = Some(mark);
            }
        }
    }

    /// The quote a price set directly (the control surface's "set price")
    /// makes: `price` ± half the synthetic spread, `size` on each side. None
    /// for a price or size the market refuses.
    pub fn quote_around(&self, price: Decimal, size: Decimal) -> Option<Quote> {
        if !is_valid_price(price) {
            return None;
        }
        synthetic_quote(price, size, self.synthetic_spread_bps)
            .ok()
            .filter(Quote::is_valid)
    }
}

/// A quote of `price` ± half the spread, rounded to the cent, never crossing.
pub fn synthetic_quote(price: Decimal, size: Decimal, spread_bps: Decimal) -> Checked<Quote> {
    let half = checked::div(checked::mul(price, spread_bps)?, Decimal::from(20_000))?
        .max(Decimal::new(1, 2));
    let bid = checked::sub(price, half)?
        .round_dp(2)
        .max(Decimal::new(1, 2));
    let ask = checked::add(price, half)?.round_dp(2).max(bid);
    Ok(Quote {
        bid,
        ask,
        bid_size: size,
        ask_size: size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn interning_is_stable_and_dense() {
        let mut m = Market::new();
        let a = m.intern(&Instrument::equity("AAPL"));
        let b = m.intern(&Instrument::equity("MSFT"));
        assert_eq!(a, InstrumentId(0));
        assert_eq!(b, InstrumentId(1));
        assert_eq!(m.intern(&Instrument::equity("AAPL")), a);
        assert_eq!(m.instrument(b), &Instrument::equity("MSFT"));
    }

    #[test]
    fn bad_events_are_skipped() {
        let mut m = Market::new();
        let a = m.intern(&Instrument::equity("AAPL"));
        let crossed = MarketEvent {
            time: Timestamp::from_secs(1),
            instrument: a,
            data: MarketData::Quote(Quote {
                bid: dec!(10),
                ask: dec!(9),
                bid_size: dec!(1),
                ask_size: dec!(1),
            }),
        };
        assert!(!m.apply(&crossed));
        assert_eq!(m.state(a).quote, None);
        let unknown = MarketEvent {
            instrument: InstrumentId(99),
            ..crossed.clone()
        };
        assert!(!m.apply(&unknown));
        let bar = MarketEvent {
            time: Timestamp::from_secs(2),
            instrument: a,
            data: MarketData::Bar {
                open: dec!(10),
                high: dec!(12),
                low: dec!(9),
                close: dec!(11),
                volume: dec!(1000),
            },
        };
        assert!(m.apply(&bar));
        assert_eq!(m.state(a).last, Some(dec!(11)));
        let t = m.state(a).touch.unwrap();
        assert_eq!(
            (t.buy, t.sell, t.low, t.high),
            (dec!(9), dec!(12), dec!(9), dec!(12))
        );
        let q = m.state(a).quote.unwrap();
        assert!(q.bid < q.ask && q.bid < dec!(11) && q.ask > dec!(11));
    }

    #[test]
    fn absurd_prices_are_refused_and_change_nothing() {
        assert_eq!(MAX_PRICE, Decimal::from(1_000_000_000_000i64));
        let mut m = Market::new();
        let a = m.intern(&Instrument::equity("AAPL"));
        let at = |data| MarketEvent {
            time: Timestamp::from_secs(2),
            instrument: a,
            data,
        };
        let q = m.quote_around(dec!(100), dec!(10)).unwrap();
        assert_eq!((q.bid, q.ask), (dec!(99.99), dec!(100.01)));
        assert!(m.apply(&at(MarketData::Quote(q))));
        let before = m.state(a).clone();
        let quote = |bid, ask| {
            MarketData::Quote(Quote {
                bid,
                ask,
                bid_size: dec!(1),
                ask_size: dec!(1),
            })
        };
        for data in [
            quote(dec!(1), Decimal::MAX),
            quote(Decimal::MAX, Decimal::MAX),
            quote(dec!(1), MAX_PRICE + dec!(0.01)),
            MarketData::Trade {
                price: Decimal::MAX,
                size: dec!(1),
            },
            MarketData::Bar {
                open: dec!(1),
                high: Decimal::MAX,
                low: dec!(1),
                close: dec!(1),
                volume: dec!(1),
            },
        ] {
            assert!(!m.apply(&at(data)));
            assert_eq!(m.state(a), &before);
        }
        for (price, size) in [
            (Decimal::MAX, dec!(10)),
            (dec!(1e28), dec!(10)),
            (MAX_PRICE * dec!(2), dec!(10)),
            (dec!(-1), dec!(10)),
            (dec!(100), dec!(-10)),
        ] {
            assert_eq!(m.quote_around(price, size), None, "{price} {size}");
        }
        assert!(m.apply(&at(quote(dec!(1), MAX_PRICE))));
        // An id the market never gave out has no state and no instrument.
        assert_eq!(m.state(InstrumentId(99)).quote, None);
        assert_eq!(m.instrument(InstrumentId(99)), &Instrument::equity(""));
    }

    #[test]
    fn the_mid_of_any_quote_is_in_range() {
        let q = Quote {
            bid: Decimal::MAX,
            ask: Decimal::MAX,
            bid_size: dec!(0),
            ask_size: dec!(0),
        };
        assert_eq!(q.mid(), Decimal::MAX);
    }
}
