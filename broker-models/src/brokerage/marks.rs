//! What the market stood at a while back, to the minute: the prices a
//! holdings cache fetched at an earlier moment shows (SnapTrade's stale
//! reads, §8.1), where the live read shows today's. Kept only for brokers
//! whose profile asks (`marks_kept_ms`), and only for as long as it asks,
//! so that a long replay's memory does not grow with its length.

use std::collections::{BTreeMap, VecDeque};

use rust_decimal::Decimal;

use mbt::{Engine, Timestamp};

const MINUTE_MS: i64 = 60_000;

pub struct MarkHistory {
    keep_ms: i64,
    /// The last minute boundary sampled.
    sampled: Timestamp,
    /// Each equity's spot from the moment it changed, oldest first; a
    /// price is recorded only when it differs from the one before it.
    spots: BTreeMap<String, VecDeque<(Timestamp, Decimal)>>,
}

impl MarkHistory {
    /// A history that keeps `keep_ms` of marks, sampled from `engine` now.
    pub fn new(keep_ms: u64, engine: &Engine) -> Self {
        let mut marks = Self {
            keep_ms: i64::try_from(keep_ms).unwrap_or(i64::MAX),
            sampled: engine.now(),
            spots: BTreeMap::new(),
        };
        marks.record(engine, engine.now());
        marks
    }

    /// The next minute boundary to sample at, if it is not after `t`: the
    /// caller brings the market there and calls `record`.
    pub fn next_sample(&self, t: Timestamp) -> Option<Timestamp> {
        let next = (self.sampled.millis().div_euclid(MINUTE_MS) + 1).saturating_mul(MINUTE_MS);
        (next <= t.millis()).then(|| Timestamp::from_millis(next))
    }

    /// Records every listed equity's spot as it stands at `at` (a minute
    /// boundary, or the moment a price was set), and forgets what is older
    /// than the history keeps.
    pub fn record(&mut self, engine: &Engine, at: Timestamp) {
        self.sampled = self.sampled.max(at);
        for symbol in engine.market().equities() {
            let Some(spot) = engine.spot(symbol) else {
                continue;
            };
            let path = self.spots.entry(symbol.to_string()).or_default();
            if path.back().is_none_or(|&(_, last)| last != spot) {
                path.push_back((at, spot));
            }
        }
        let horizon = at.millis().saturating_sub(self.keep_ms);
        for path in self.spots.values_mut() {
            // The last price from before the horizon is what stood at it.
            while path.get(1).is_some_and(|&(t, _)| t.millis() <= horizon) {
                path.pop_front();
            }
        }
    }

    /// `symbol`'s spot at `t`: the last one recorded at or before it; None
    /// before the history's first for it (older than it keeps, or unpriced).
    pub fn spot_at(&self, symbol: &str, t: Timestamp) -> Option<Decimal> {
        let path = self.spots.get(symbol)?;
        let after = path.partition_point(|&(at, _)| at <= t);
        let (_, spot) = path.get(after.checked_sub(1)?)?;
        Some(*spot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mbt::{EngineConfig, Instrument};
    use rust_decimal_macros::dec;

    /// Monday 2026-01-05 15:00 UTC, a minute boundary, the market open.
    const OPEN: Timestamp = Timestamp::from_secs(1_767_625_200);

    fn engine() -> Engine {
        let mut e = Engine::new(EngineConfig::frictionless(), 1, OPEN);
        assert!(e.set_price(&Instrument::equity("AAPL"), dec!(100), dec!(100)));
        e
    }

    fn priced(e: &mut Engine, at_ms: i64, price: Decimal) -> Timestamp {
        let at = OPEN.plus_millis(at_ms);
        e.advance_to(at);
        assert!(e.set_price(&Instrument::equity("AAPL"), price, dec!(100)));
        at
    }

    #[test]
    fn a_price_is_the_last_recorded_at_or_before_the_moment_asked() {
        let mut e = engine();
        let mut marks = MarkHistory::new(3_600_000, &e);
        assert_eq!(marks.next_sample(OPEN.plus_millis(59_999)), None);
        assert_eq!(
            marks.next_sample(OPEN.plus_millis(90_000)),
            Some(OPEN.plus_millis(60_000))
        );
        let at = priced(&mut e, 60_000, dec!(110));
        marks.record(&e, at);
        let at = priced(&mut e, 150_000, dec!(90));
        marks.record(&e, at);
        assert_eq!(marks.spot_at("AAPL", OPEN.plus_millis(-1)), None);
        assert_eq!(marks.spot_at("AAPL", OPEN), Some(dec!(100)));
        assert_eq!(
            marks.spot_at("AAPL", OPEN.plus_millis(59_999)),
            Some(dec!(100))
        );
        assert_eq!(
            marks.spot_at("AAPL", OPEN.plus_millis(60_000)),
            Some(dec!(110))
        );
        assert_eq!(
            marks.spot_at("AAPL", OPEN.plus_millis(149_999)),
            Some(dec!(110))
        );
        assert_eq!(
            marks.spot_at("AAPL", OPEN.plus_millis(900_000)),
            Some(dec!(90))
        );
        assert_eq!(marks.spot_at("MSFT", OPEN), None);
        // The next sample is the minute after the last one recorded.
        assert_eq!(
            marks.next_sample(OPEN.plus_millis(200_000)),
            Some(OPEN.plus_millis(180_000))
        );
    }

    #[test]
    fn what_is_older_than_the_history_keeps_is_forgotten_but_what_stood_at_its_horizon() {
        let mut e = engine();
        let mut marks = MarkHistory::new(120_000, &e);
        for (minute, price) in [
            (1, dec!(101)),
            (2, dec!(102)),
            (3, dec!(103)),
            (4, dec!(104)),
        ] {
            let at = priced(&mut e, minute * 60_000, price);
            marks.record(&e, at);
        }
        // Kept: two minutes back from 4, and the price standing at 2.
        assert_eq!(marks.spot_at("AAPL", OPEN.plus_millis(60_000)), None);
        assert_eq!(
            marks.spot_at("AAPL", OPEN.plus_millis(120_000)),
            Some(dec!(102))
        );
        assert_eq!(
            marks.spot_at("AAPL", OPEN.plus_millis(190_000)),
            Some(dec!(103))
        );
        assert_eq!(marks.spots.get("AAPL").map(VecDeque::len), Some(3));
    }
}
