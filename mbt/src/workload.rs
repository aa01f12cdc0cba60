//! The fixed, seeded benchmark workload of `raxx-sim bench mbt` and the
//! criterion benches: 100 symbols on seeded price paths, 1,000 working limit
//! orders, a stream of quotes that keeps some of them filling, and a steady
//! flow of new market and limit orders. Everything is prepared up front so
//! that a timer around `run_*` measures the engine alone.

// The benchmark driver counts and prices over its own fixed configuration
// (no outside input reaches it), so plain arithmetic cannot overflow here.
#![allow(clippy::arithmetic_side_effects)]

use rust_decimal::Decimal;

use crate::engine::{Engine, EngineConfig, Session};
use crate::fees::FeeSchedule;
use crate::generator::{GeneratorConfig, PriceGenerator, SymbolSpec};
use crate::market::{MarketData, MarketEvent};
use crate::order::{OrderRequest, OrderType, Side, TimeInForce};
use crate::rng::{below, rng_for};
use crate::{AccountKind, Instrument, Timestamp};

#[derive(Debug, Clone)]
pub struct WorkloadConfig {
    pub seed: u64,
    pub symbols: usize,
    pub working_orders: usize,
    /// Quote events in the streamed phase.
    pub market_events: usize,
    /// One new order per this many quote events.
    pub events_per_order: usize,
    /// Orders in the order-only phase.
    pub orders: usize,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            symbols: 100,
            working_orders: 1_000,
            market_events: 2_000_000,
            events_per_order: 50,
            orders: 200_000,
        }
    }
}

pub struct Workload {
    pub engine: Engine,
    events: Vec<MarketEvent>,
    /// New orders, each tagged with the index of the event it follows.
    flow: Vec<(usize, OrderRequest)>,
    orders: Vec<OrderRequest>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub market_events: usize,
    pub orders: usize,
    pub fills: usize,
    pub peak_working_orders: usize,
}

const ACCOUNT: &str = "BENCH";

fn symbol(i: usize) -> String {
    format!("S{i:03}")
}

fn price_of(ev: &MarketEvent) -> Decimal {
    match &ev.data {
        MarketData::Quote(q) => q.mid(),
        MarketData::Trade { price, .. } => *price,
        MarketData::Bar { close, .. } => *close,
    }
}

/// The latest price of symbol `s` (every symbol is quoted before the first order).
fn last_price(last: &[Decimal], s: usize) -> Decimal {
    last.get(s).copied().unwrap_or_default()
}

/// A limit order `offset_bps` away from `price` on the side that rests (negative crosses).
fn limit_near(
    coid: String,
    sym: &str,
    side: Side,
    price: Decimal,
    offset_bps: i64,
) -> OrderRequest {
    let away = price * Decimal::from(offset_bps) / Decimal::from(10_000);
    let limit = match side {
        Side::Buy => price - away,
        Side::Sell => price + away,
    }
    .round_dp(2)
    .max(Decimal::new(1, 2));
    let mut r = OrderRequest::limit(ACCOUNT, &coid, sym, side, Decimal::from(10), limit);
    r.time_in_force = TimeInForce::Gtc;
    r
}

pub fn prepare(cfg: &WorkloadConfig) -> Workload {
    let config = EngineConfig {
        fees: FeeSchedule::regulatory_only(),
        session: Session::always_open(),
        ..EngineConfig::default()
    };
    let start = Timestamp::from_secs(1_767_625_200);
    let mut engine = Engine::new(config, cfg.seed, start);
    engine.open_account(
        ACCOUNT,
        AccountKind::Margin,
        Decimal::from(1_000_000_000_000i64),
    );
    let gen_cfg = GeneratorConfig {
        symbols: (0..cfg.symbols)
            .map(|i| SymbolSpec {
                symbol: symbol(i),
                start_price: Decimal::from(20 + (i % 50) * 10),
            })
            .collect(),
        // Lively paths so that resting orders near the market keep filling.
        annual_volatility: Decimal::from(3),
        ..GeneratorConfig::default()
    };
    let mut generator = PriceGenerator::new(&gen_cfg, cfg.seed, start, |i| engine.instrument_id(i));
    let mut rng = rng_for(cfg.seed, "bench/orders");
    // Opening quotes, then the resting book.
    let opening = generator.generate(1);
    let mut last: Vec<Decimal> = opening.iter().map(price_of).collect();
    for ev in &opening {
        engine.on_market(ev);
    }
    for n in 0..cfg.working_orders {
        let s = n % cfg.symbols.max(1);
        let side = if n % 2 == 0 { Side::Buy } else { Side::Sell };
        let offset = 5 + i64::try_from(below(&mut rng, 200)).unwrap_or(0);
        let _ = engine.submit(limit_near(
            format!("rest-{n}"),
            &symbol(s),
            side,
            last_price(&last, s),
            offset,
        ));
    }
    let steps = cfg.market_events.div_ceil(cfg.symbols.max(1));
    let mut events = generator.generate(steps);
    events.truncate(cfg.market_events);
    let mut flow = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        if let Some(p) = last.get_mut(ev.instrument.0 as usize) {
            *p = price_of(ev);
        }
        if cfg.events_per_order > 0 && i % cfg.events_per_order == 0 {
            let s = usize::try_from(below(&mut rng, cfg.symbols as u64)).unwrap_or(0);
            let side = if below(&mut rng, 2) == 0 {
                Side::Buy
            } else {
                Side::Sell
            };
            let coid = format!("flow-{i}");
            let order = if below(&mut rng, 4) == 0 {
                OrderRequest::market(ACCOUNT, &coid, &symbol(s), side, Decimal::from(10))
            } else {
                limit_near(
                    coid,
                    &symbol(s),
                    side,
                    last_price(&last, s),
                    2 + i64::try_from(below(&mut rng, 60)).unwrap_or(0),
                )
            };
            flow.push((i, order));
        }
    }
    let orders = (0..cfg.orders)
        .map(|n| {
            let s = n % cfg.symbols.max(1);
            let side = if n % 2 == 0 { Side::Buy } else { Side::Sell };
            let mut r = limit_near(
                format!("burst-{n}"),
                &symbol(s),
                side,
                last_price(&last, s),
                -5 + (n % 40) as i64,
            );
            if n % 5 == 0 {
                r.order_type = OrderType::Market;
                r.limit_price = None;
                r.time_in_force = TimeInForce::Day;
            }
            r
        })
        .collect();
    Workload {
        engine,
        events,
        flow,
        orders,
    }
}

impl Workload {
    fn fills(&self) -> usize {
        self.engine
            .log()
            .entries()
            .filter(|e| matches!(e.event, crate::EngineEvent::Fill { .. }))
            .count()
    }

    /// Streams the quotes with the order flow interleaved.
    pub fn run_market(&mut self) -> Report {
        let fills_before = self.fills();
        let mut peak = self.engine.working_orders();
        let mut flow = self.flow.iter().peekable();
        for (i, ev) in self.events.iter().enumerate() {
            self.engine.on_market(ev);
            while let Some((_, order)) = flow.next_if(|(at, _)| *at == i) {
                let _ = self.engine.submit(order.clone());
            }
            if i % 1024 == 0 {
                peak = peak.max(self.engine.working_orders());
            }
        }
        Report {
            market_events: self.events.len(),
            orders: self.flow.len(),
            fills: self.fills() - fills_before,
            peak_working_orders: peak.max(self.engine.working_orders()),
        }
    }

    /// Submits the burst of orders against the market as it stands.
    pub fn run_orders(&mut self) -> Report {
        let fills_before = self.fills();
        let mut peak = self.engine.working_orders();
        for (n, order) in self.orders.iter().enumerate() {
            let _ = self.engine.submit(order.clone());
            if n % 1024 == 0 {
                peak = peak.max(self.engine.working_orders());
            }
        }
        Report {
            market_events: 0,
            orders: self.orders.len(),
            fills: self.fills() - fills_before,
            peak_working_orders: peak.max(self.engine.working_orders()),
        }
    }

    pub fn instrument(&self, i: usize) -> Instrument {
        Instrument::equity(symbol(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_workload_fills_keeps_orders_working_and_repeats() {
        let cfg = WorkloadConfig {
            market_events: 20_000,
            orders: 2_000,
            ..WorkloadConfig::default()
        };
        let run = || {
            let mut w = prepare(&cfg);
            assert_eq!(w.engine.working_orders(), 1_000);
            let m = w.run_market();
            let o = w.run_orders();
            (m, o, w.engine.log().hash())
        };
        let (m, o, hash) = run();
        assert_eq!(m.market_events, 20_000);
        assert!(m.fills > 50, "{m:?}");
        assert!(m.peak_working_orders >= 1_000, "{m:?}");
        assert!(o.fills > 100, "{o:?}");
        assert_eq!(run().2, hash);
    }
}
