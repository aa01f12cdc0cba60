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
    pub fn mid(&self) -> Decimal {
        // Multiplying by one half is exact and far cheaper than dividing by two.
        (self.bid + self.ask) * Decimal::new(5, 1)
    }
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
}

/// Interned instruments and their latest market state.
#[derive(Debug, Clone, Default)]
pub struct Market {
    /// Lookup only, never iterated (iteration goes through `instruments`, in
    /// id order), so its hash order cannot reach any output; a hash map makes
    /// marking a portfolio cheap.
    #[allow(clippy::disallowed_types)]
    ids: HashMap<Instrument, InstrumentId>,
    instruments: Vec<Instrument>,
    states: Vec<InstrumentState>,
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

    pub fn instrument(&self, id: InstrumentId) -> &Instrument {
        &self.instruments[id.0 as usize]
    }

    pub fn state(&self, id: InstrumentId) -> &InstrumentState {
        &self.states[id.0 as usize]
    }

    /// Instruments with at least one price, in id order.
    pub fn listed(&self) -> impl Iterator<Item = (InstrumentId, &Instrument)> {
        self.instruments
            .iter()
            .enumerate()
            .filter(|(i, _)| self.states[*i].last.is_some() || self.states[*i].quote.is_some())
            .map(|(i, inst)| (InstrumentId(i as u32), inst))
    }

    /// Applies one event. Returns false (and changes nothing) for an event whose
    /// prices are not positive or whose bid is above its ask: bad data is skipped, never fatal.
    pub fn apply(&mut self, ev: &MarketEvent) -> bool {
        let Some(state) = self.states.get_mut(ev.instrument.0 as usize) else {
            return false;
        };
        match &ev.data {
            MarketData::Quote(q) => {
                if q.bid <= Decimal::ZERO
                    || q.ask < q.bid
                    || q.bid_size < Decimal::ZERO
                    || q.ask_size < Decimal::ZERO
                {
                    return false;
                }
                state.quote = Some(*q);
                state.touch = Some(Touch {
                    buy: q.ask,
                    sell: q.bid,
                    low: q.bid,
                    high: q.ask,
                });
                if state.last.is_none() {
                    state.last = Some(q.mid());
                }
            }
            MarketData::Trade { price, size } => {
                if *price <= Decimal::ZERO || *size < Decimal::ZERO {
                    return false;
                }
                state.last = Some(*price);
                state.touch = Some(Touch {
                    buy: *price,
                    sell: *price,
                    low: *price,
                    high: *price,
                });
                state.quote = Some(synthetic_quote(*price, *size, self.synthetic_spread_bps));
            }
            MarketData::Bar {
                open,
                high,
                low,
                close,
                volume,
            } => {
                if *low <= Decimal::ZERO
                    || high < low
                    || close > high
                    || close < low
                    || open > high
                    || open < low
                    || *volume < Decimal::ZERO
                {
                    return false;
                }
                state.last = Some(*close);
                state.touch = Some(Touch {
                    buy: *low,
                    sell: *high,
                    low: *low,
                    high: *high,
                });
                state.quote = Some(synthetic_quote(*close, *volume, self.synthetic_spread_bps));
            }
        }
        state.updated_at = ev.time;
        state.version += 1;
        true
    }

    /// Sets a price directly (the control surface's "set price"): a fresh
    /// quote around `price` with `size` on each side.
    pub fn set_price(
        &mut self,
        id: InstrumentId,
        price: Decimal,
        size: Decimal,
        now: Timestamp,
    ) -> bool {
        let quote = synthetic_quote(price, size, self.synthetic_spread_bps);
        self.apply(&MarketEvent {
            time: now,
            instrument: id,
            data: MarketData::Quote(quote),
        })
    }
}

/// A quote of `price` ± half the spread, rounded to the cent, never crossing.
pub fn synthetic_quote(price: Decimal, size: Decimal, spread_bps: Decimal) -> Quote {
    let half = (price * spread_bps / Decimal::from(20_000)).max(Decimal::new(1, 2));
    let bid = (price - half).round_dp(2).max(Decimal::new(1, 2));
    let ask = (price + half).round_dp(2).max(bid);
    Quote {
        bid,
        ask,
        bid_size: size,
        ask_size: size,
    }
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
}
