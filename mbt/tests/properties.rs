//! Properties of the engine over random sequences of orders and market
//! events: money is conserved, nothing overfills, positions are the sum of
//! fills, nothing panics, and the same seed gives the same log bytes.

use std::collections::BTreeMap;

use mbt::engine::ReplaceRequest;
use mbt::fill::FillModel;
use mbt::market::{MarketData, MarketEvent, Quote};
use mbt::{
    AccountKind, Engine, EngineConfig, EngineEvent, FeeSchedule, Instrument, OrderId, OrderRequest,
    OrderType, Side, TimeInForce, Timestamp,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

const SYMBOLS: [&str; 3] = ["AAPL", "MSFT", "SPY"];
/// Monday 2026-01-05 14:30 UTC, the open.
const START: i64 = 1_767_623_400;

#[derive(Debug, Clone)]
enum Op {
    Submit {
        account: usize,
        symbol: usize,
        side: bool,
        qty: u32,
        kind: u8,
        offset_cents: i32,
        tif: u8,
    },
    Cancel(usize),
    Replace {
        order: usize,
        qty: u32,
        offset_cents: i32,
    },
    Quote {
        symbol: usize,
        move_cents: i32,
        size: u32,
    },
    Bar {
        symbol: usize,
        move_cents: i32,
        range_cents: u32,
    },
    Advance {
        minutes: u32,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..2usize, 0..3usize, any::<bool>(), 0..300u32, 0..4u8, -300..300i32, 0..4u8).prop_map(
            |(account, symbol, side, qty, kind, offset_cents, tif)| Op::Submit { account, symbol, side, qty, kind, offset_cents, tif }
        ),
        1 => (0..64usize).prop_map(Op::Cancel),
        1 => (0..64usize, 0..300u32, -300..300i32).prop_map(|(order, qty, offset_cents)| Op::Replace { order, qty, offset_cents }),
        4 => (0..3usize, -150..150i32, 0..500u32).prop_map(|(symbol, move_cents, size)| Op::Quote { symbol, move_cents, size }),
        1 => (0..3usize, -150..150i32, 0..300u32).prop_map(|(symbol, move_cents, range_cents)| Op::Bar { symbol, move_cents, range_cents }),
        1 => (0..600u32).prop_map(|minutes| Op::Advance { minutes }),
    ]
}

fn cents(c: i64) -> Decimal {
    Decimal::new(c, 2)
}

struct Run {
    engine: Engine,
    prices: BTreeMap<usize, i64>,
    ids: Vec<OrderId>,
    t: Timestamp,
}

impl Run {
    fn new(seed: u64) -> Self {
        let config = EngineConfig {
            fees: FeeSchedule {
                per_share: Decimal::new(5, 3),
                min_per_order: Decimal::ONE,
                ..FeeSchedule::regulatory_only()
            },
            fill: FillModel {
                max_slippage_bps: 10,
                liquidity_fraction: Decimal::new(5, 1),
                ..FillModel::default()
            },
            ..EngineConfig::default()
        };
        let t = Timestamp::from_secs(START);
        let mut engine = Engine::new(config, seed, t);
        engine.open_account("M", AccountKind::Margin, Decimal::from(50_000));
        engine.open_account("C", AccountKind::Cash, Decimal::from(20_000));
        let mut run = Self {
            engine,
            prices: BTreeMap::new(),
            ids: Vec::new(),
            t,
        };
        for s in 0..SYMBOLS.len() {
            run.prices.insert(s, 10_000 + 5_000 * s as i64);
            run.quote(s, 0, 200);
        }
        run
    }

    fn tick(&mut self) -> Timestamp {
        self.t = self.t.plus_millis(250);
        self.t
    }

    fn quote(&mut self, symbol: usize, move_cents: i32, size: u32) {
        let p = self.prices.get_mut(&symbol).unwrap();
        *p = (*p + i64::from(move_cents)).max(100);
        let mid = *p;
        let id = self
            .engine
            .instrument_id(&Instrument::equity(SYMBOLS[symbol]));
        let time = self.tick();
        self.engine.on_market(&MarketEvent {
            time,
            instrument: id,
            data: MarketData::Quote(Quote {
                bid: cents(mid - 1),
                ask: cents(mid + 1),
                bid_size: Decimal::from(size),
                ask_size: Decimal::from(size),
            }),
        });
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Submit {
                account,
                symbol,
                side,
                qty,
                kind,
                offset_cents,
                tif,
            } => {
                let price = cents(self.prices[&symbol] + i64::from(offset_cents)).max(cents(1));
                let side = if side { Side::Buy } else { Side::Sell };
                let mut r = OrderRequest::market(
                    ["M", "C"][account],
                    "p",
                    SYMBOLS[symbol],
                    side,
                    Decimal::from(qty),
                );
                r.order_type = [
                    OrderType::Market,
                    OrderType::Limit,
                    OrderType::Stop,
                    OrderType::StopLimit,
                ][kind as usize];
                if matches!(r.order_type, OrderType::Limit | OrderType::StopLimit) {
                    r.limit_price = Some(price);
                }
                if matches!(r.order_type, OrderType::Stop | OrderType::StopLimit) {
                    r.stop_price = Some(price);
                }
                r.time_in_force = [
                    TimeInForce::Day,
                    TimeInForce::Gtc,
                    TimeInForce::Ioc,
                    TimeInForce::Fok,
                ][tif as usize];
                if let Ok(id) = self.engine.submit(r) {
                    self.ids.push(id);
                }
            }
            Op::Cancel(i) => {
                if let Some(id) = self.ids.get(i % self.ids.len().max(1)) {
                    let _ = self.engine.cancel(*id);
                }
            }
            Op::Replace {
                order,
                qty,
                offset_cents,
            } => {
                let Some(id) = self.ids.get(order % self.ids.len().max(1)).copied() else {
                    return;
                };
                let Some(o) = self.engine.order(id) else {
                    return;
                };
                let limit = o
                    .request
                    .limit_price
                    .map(|p| (p + cents(i64::from(offset_cents))).max(cents(1)));
                let changes = ReplaceRequest {
                    quantity: Some(Decimal::from(qty)),
                    limit_price: limit,
                    ..Default::default()
                };
                if let Ok(new) = self.engine.replace(id, changes) {
                    self.ids.push(new);
                }
            }
            Op::Quote {
                symbol,
                move_cents,
                size,
            } => self.quote(symbol, move_cents, size),
            Op::Bar {
                symbol,
                move_cents,
                range_cents,
            } => {
                let p = self.prices.get_mut(&symbol).unwrap();
                *p = (*p + i64::from(move_cents)).max(400);
                let close = *p;
                let r = i64::from(range_cents).min(close - 200);
                let id = self
                    .engine
                    .instrument_id(&Instrument::equity(SYMBOLS[symbol]));
                let time = self.tick();
                self.engine.on_market(&MarketEvent {
                    time,
                    instrument: id,
                    data: MarketData::Bar {
                        open: cents(close),
                        high: cents(close + r),
                        low: cents(close - r),
                        close: cents(close),
                        volume: Decimal::from(range_cents),
                    },
                });
            }
            Op::Advance { minutes } => {
                self.t = self.t.plus_millis(i64::from(minutes) * 60_000);
                self.engine.advance_to(self.t);
            }
        }
    }

    fn check_invariants(&self) {
        let e = &self.engine;
        for a in e.accounts() {
            assert_eq!(
                a.conservation_error(),
                Ok(Decimal::ZERO),
                "money not conserved in {}",
                a.id
            );
            assert!(
                a.reserved >= Decimal::ZERO,
                "negative reservation in {}",
                a.id
            );
        }
        let mut working_reserved: BTreeMap<&str, bool> = BTreeMap::new();
        for o in e.orders() {
            assert!(
                o.filled_quantity <= o.request.quantity,
                "order {} overfilled",
                o.id
            );
            assert!(o.filled_quantity >= Decimal::ZERO);
            if o.status.is_working() {
                working_reserved.insert(&o.request.account_id, true);
            }
            if let Some(p) = o.average_fill_price {
                assert!(p > Decimal::ZERO, "order {} average price {p}", o.id);
            }
        }
        // With no working orders an account reserves nothing.
        for a in e.accounts() {
            if !working_reserved.contains_key(a.id.as_str()) {
                assert_eq!(a.reserved, Decimal::ZERO, "stale reservation in {}", a.id);
            }
        }
        // Positions equal the sum of logged fills; every fill has a positive price and the side's sign.
        let mut sums: BTreeMap<(String, Instrument), Decimal> = BTreeMap::new();
        for l in e.log().entries() {
            if let EngineEvent::Fill {
                account_id,
                instrument,
                side,
                quantity,
                price,
                ..
            } = &l.event
            {
                assert!(*price > Decimal::ZERO && *quantity > Decimal::ZERO);
                *sums
                    .entry((account_id.clone(), instrument.clone()))
                    .or_default() += side.sign() * quantity;
            }
        }
        for a in e.accounts() {
            for (inst, p) in &a.positions {
                assert_eq!(
                    sums.get(&(a.id.clone(), inst.clone()))
                        .copied()
                        .unwrap_or_default(),
                    p.quantity
                );
            }
        }
        for ((account, inst), q) in &sums {
            assert_eq!(
                e.account(account).unwrap().position_quantity(inst),
                *q,
                "{account} {inst}"
            );
        }
        // Cash accounts never go short.
        let c = e.account("C").unwrap();
        assert!(c.positions.values().all(|p| p.quantity > Decimal::ZERO));
    }
}

fn run_ops(seed: u64, ops: &[Op]) -> Run {
    let mut run = Run::new(seed);
    for op in ops {
        run.apply(op);
        run.check_invariants();
    }
    run
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_event(seed in any::<u64>(), ops in prop::collection::vec(op(), 1..120)) {
        run_ops(seed, &ops);
    }

    #[test]
    fn same_seed_same_log_bytes(seed in any::<u64>(), ops in prop::collection::vec(op(), 1..80)) {
        let a = run_ops(seed, &ops).engine.log().clone();
        let b = run_ops(seed, &ops).engine.log().clone();
        prop_assert_eq!(a.hash(), b.hash());
        prop_assert_eq!(a.to_jsonl(), b.to_jsonl());
    }

    #[test]
    fn arbitrary_requests_never_panic(
        qty in any::<i64>(), scale in 0u32..12, limit in proptest::option::of(any::<i64>()),
        stop in proptest::option::of(any::<i64>()), kind in 0..4u8, symbol in "[A-Z ]{0,22}",
    ) {
        let mut run = Run::new(1);
        let mut r = OrderRequest::market("M", "x", "AAPL", Side::Buy, Decimal::new(qty, scale));
        r.instrument = Instrument::parse_symbol(&symbol);
        r.order_type = [OrderType::Market, OrderType::Limit, OrderType::Stop, OrderType::StopLimit][kind as usize];
        r.limit_price = limit.map(|l| Decimal::new(l, 2));
        r.stop_price = stop.map(|s| Decimal::new(s, 2));
        let _ = run.engine.submit(r);
        run.check_invariants();
    }
}
