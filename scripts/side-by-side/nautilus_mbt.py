#!/usr/bin/env python3
"""The workload of `raxx-sim bench mbt`, built in NautilusTrader's BacktestEngine.

Shape (see mbt/src/workload.rs and mbt/src/generator.rs):
  * 100 equities, start prices 20 + (i % 50) * 10 dollars, one quote per symbol
    per 250 ms step, all symbols stamped alike, in symbol order;
  * each path a seeded random walk in whole cents: cents += round(cents * sigma * z),
    z Irwin-Hall (sum of 12 uniforms less 6), sigma = 3.0 * sqrt(250 ms / trading year);
    half spread max(1 cent, price * 2 bps / 2); sizes uniform in [100, 1000];
  * an opening step of quotes, then 1,000 resting GTC limit orders of 10 shares
    (symbol n % 100, buy/sell alternating, 5..204 bps away from the mid on the
    resting side), then the timed stream of 2,000,000 quotes with one new order
    after every 50th quote (random symbol and side; a quarter market orders,
    the rest GTC limits 2..61 bps away from the symbol's last mid).

The paths use numpy's PCG64, not raxx-sim's ChaCha streams, so the prices
are not the same numbers, only the same process: fills and working orders
land in the same range (about 39,000 and 1,000-2,000 in raxx-sim).

Everything is prepared before the clock starts: quotes are built with
QuoteTick.from_raw_arrays_to_list and added with add_data(sort=False); the
order flow (side, type, price) is precomputed from the quotes the way the Rust
workload precomputes it, so the strategy's callback only builds and submits
the order. The opening step and the resting book run untimed in a first
`engine.run(streaming=True)`; the timed region is a second
`engine.run(streaming=True)` over the 2M quotes; `engine.end()` (post-run
teardown) runs after the clock stops and is reported apart.

Modes:
  --mode strategy  the workload above (quotes_per_sec is the figure to compare
                   with raxx-sim's market_events_per_sec)
  --mode replay    the same quotes through the same venue with no strategy and
                   no orders: NautilusTrader's pure data replay
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from decimal import Decimal

import numpy as np

import nautilus_trader
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.config import BacktestEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import RiskEngineConfig
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import AccountType
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import Symbol
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.instruments import Equity
from nautilus_trader.model.objects import Money
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.trading.strategy import Strategy

VENUE = "SIM"
START_NS = 1_767_625_200 * 1_000_000_000  # raxx-sim's workload start
STEP_NS = 250 * 1_000_000
TRADING_MILLIS_PER_YEAR = 252 * 23_400 * 1000


def symbol(i: int) -> str:
    return f"S{i:03d}"


# -- data ------------------------------------------------------------------------------------------


def price_paths(symbols: int, steps: int, seed: int):
    """Bid/ask in cents and sizes, shape (steps, symbols); row 0 is the opening step."""
    rng = np.random.Generator(np.random.PCG64(seed))
    sigma = 3.0 * math.sqrt(250 / TRADING_MILLIS_PER_YEAR)
    cents = np.array([(20 + (i % 50) * 10) * 100 for i in range(symbols)], dtype=np.int64)
    mids = np.empty((steps, symbols), dtype=np.int64)
    for k in range(steps):
        z = rng.random((symbols, 12)).sum(axis=1) - 6.0
        cents = np.clip(cents + np.rint(cents * sigma * z).astype(np.int64), 1, None)
        mids[k] = cents
    half = np.maximum(mids * 2 // 20_000, 1)
    bid = np.maximum(mids - half, 1)
    ask = np.maximum(mids + half, bid + 1)
    bid_size = rng.integers(100, 1001, size=(steps, symbols))
    ask_size = rng.integers(100, 1001, size=(steps, symbols))
    return bid, ask, bid_size, ask_size


def limit_price(mid_cents: float, side_buy: bool, offset_bps: int) -> float:
    """raxx-sim's limit_near: offset away from the mid on the resting side, to the cent."""
    away = mid_cents * offset_bps / 10_000
    p = mid_cents - away if side_buy else mid_cents + away
    return max(round(p), 1) / 100  # round() is half-to-even, as rust_decimal's round_dp


def build(symbols: int, quotes: int, working: int, events_per_order: int, seed: int):
    steps = -(-quotes // symbols)  # div_ceil
    bid, ask, bid_size, ask_size = price_paths(symbols, steps + 1, seed)
    ids = [InstrumentId(Symbol(symbol(i)), Venue(VENUE)) for i in range(symbols)]
    ts = (START_NS + np.arange(steps + 1, dtype=np.uint64) * np.uint64(STEP_NS)).astype(np.uint64)
    per_symbol = []
    for i, iid in enumerate(ids):
        per_symbol.append(
            QuoteTick.from_raw_arrays_to_list(
                iid,
                2,
                0,
                np.ascontiguousarray(bid[:, i] / 100.0),
                np.ascontiguousarray(ask[:, i] / 100.0),
                np.ascontiguousarray(bid_size[:, i].astype(np.float64)),
                np.ascontiguousarray(ask_size[:, i].astype(np.float64)),
                ts,
                ts,
            ),
        )
    # Time order, symbols in order within a step (as raxx-sim's generator emits them).
    opening = [per_symbol[i][0] for i in range(symbols)]
    stream = [per_symbol[i][k] for k in range(1, steps + 1) for i in range(symbols)][:quotes]

    rng = np.random.Generator(np.random.PCG64([seed, 1]))
    mid = (bid + ask) / 2.0  # cents
    resting = []
    for n in range(working):
        s = n % symbols
        buy = n % 2 == 0
        resting.append((s, buy, limit_price(mid[0, s], buy, 5 + int(rng.integers(200)))))
    flow = []
    for i in range(0, quotes, events_per_order) if events_per_order > 0 else ():
        k, j = divmod(i, symbols)  # event i is step k + 1, symbol j
        s = int(rng.integers(symbols))
        buy = int(rng.integers(2)) == 0
        last = mid[k + 1, s] if s <= j else mid[k, s]  # the symbol's latest mid after event i
        if int(rng.integers(4)) == 0:
            flow.append((s, buy, None))
        else:
            flow.append((s, buy, limit_price(last, buy, 2 + int(rng.integers(60)))))
    return ids, opening, stream, resting, flow


# -- strategy --------------------------------------------------------------------------------------


class MbtWorkloadConfig(StrategyConfig, frozen=True):
    events_per_order: int = 50
    subscribe_all: bool = False


class MbtWorkload(Strategy):
    """Keeps the resting book and submits the precomputed flow, one order per 50 quotes.

    By default it subscribes only to the quotes that are followed by an order
    (with 100 symbols and one order per 50 quotes, those of S000 and S050), so
    NautilusTrader pays one Python callback per order, not one per quote.
    With subscribe_all it watches every symbol and counts quotes itself.
    """

    def __init__(self, config, ids, resting, flow):
        super().__init__(config)
        self.ids = ids
        self.resting = resting
        self.flow = flow
        self.pos = 0
        self.seen = 0
        self.live = False
        self.peak = 0
        self.qty = Quantity.from_int(10)
        self.every = config.events_per_order
        self.subscribe_all = config.subscribe_all

    def on_start(self):
        n = len(self.ids)
        if self.subscribe_all:
            for iid in self.ids:
                self.subscribe_quote_ticks(iid)
        else:
            # Quote i is followed by an order when i % every == 0: symbols j with j % every == 0
            # (exact when every divides the number of symbols, as 50 does 100).
            assert n % self.every == 0 or self.every % n == 0, "subscribe_all needed"
            for j in range(0, n, self.every) if self.every <= n else (0,):
                self.subscribe_quote_ticks(self.ids[j])
        # Fires once every opening quote at the first timestamp is processed.
        self.clock.set_time_alert_ns("rest", self.clock.timestamp_ns(), self.submit_resting)

    def submit_resting(self, _event):
        f = self.order_factory
        for s, buy, price in self.resting:
            side = OrderSide.BUY if buy else OrderSide.SELL
            self.submit_order(f.limit(self.ids[s], side, self.qty, Price(price, 2), TimeInForce.GTC))
        self.peak = self.cache.orders_open_count()

    def on_quote_tick(self, tick):
        if not self.live:
            return
        if self.subscribe_all:
            i = self.seen
            self.seen += 1
            if i % self.every:
                return
        if self.pos >= len(self.flow):
            return
        s, buy, price = self.flow[self.pos]
        self.pos += 1
        side = OrderSide.BUY if buy else OrderSide.SELL
        f = self.order_factory
        if price is None:
            order = f.market(self.ids[s], side, self.qty)
        else:
            order = f.limit(self.ids[s], side, self.qty, Price(price, 2), TimeInForce.GTC)
        self.submit_order(order)
        if self.pos % 20 == 0:  # about every 1,000 quotes (raxx-sim samples every 1,024)
            self.peak = max(self.peak, self.cache.orders_open_count())


# -- engine ----------------------------------------------------------------------------------------


def make_engine(ids, bypass_risk: bool) -> BacktestEngine:
    config = BacktestEngineConfig(
        trader_id="BENCH-001",
        logging=LoggingConfig(log_level="ERROR", bypass_logging=True),
        # The default throttle (100 submits per second) would deny the resting book.
        risk_engine=RiskEngineConfig(
            bypass=bypass_risk,
            max_order_submit_rate="10000000/00:00:01",
        ),
        run_analysis=False,
    )
    engine = BacktestEngine(config=config)
    engine.add_venue(
        venue=Venue(VENUE),
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,  # raxx-sim: a margin account, shorts allowed
        starting_balances=[Money(1_000_000_000_000, USD)],
        base_currency=USD,
    )
    for iid in ids:
        engine.add_instrument(
            Equity(
                instrument_id=iid,
                raw_symbol=iid.symbol,
                currency=USD,
                price_precision=2,
                price_increment=Price.from_str("0.01"),
                lot_size=Quantity.from_int(1),
                ts_event=0,
                ts_init=0,
            ),
        )
    return engine


def add_quotes(engine: BacktestEngine, ids, quotes) -> None:
    # One add_data per instrument would register each for the engine's checks but
    # re-sort the whole stream each time; the stream is already in time order, so it
    # is added once, unsorted (the checks only concern order-book data).
    engine.add_data(quotes, validate=True, sort=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["strategy", "replay"], default="strategy")
    ap.add_argument("--quotes", type=int, default=2_000_000)
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--working-orders", type=int, default=1_000)
    ap.add_argument("--events-per-order", type=int, default=50)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--subscribe-all", action="store_true", help="strategy watches every symbol's quotes")
    ap.add_argument("--bypass-risk", action="store_true", help="RiskEngineConfig(bypass=True)")
    args = ap.parse_args()

    t_prep = time.perf_counter()
    ids, opening, stream, resting, flow = build(
        args.symbols, args.quotes, args.working_orders, args.events_per_order, args.seed,
    )
    engine = make_engine(ids, args.bypass_risk)
    strategy = None
    if args.mode == "strategy":
        strategy = MbtWorkload(
            MbtWorkloadConfig(events_per_order=args.events_per_order, subscribe_all=args.subscribe_all),
            ids,
            resting,
            flow,
        )
        engine.add_strategy(strategy)

    # Untimed: the opening quotes and the resting book.
    add_quotes(engine, ids, opening)
    engine.run(streaming=True)
    engine.clear_data()
    working_before = engine.cache.orders_open_count()
    orders_before = engine.cache.orders_total_count()
    add_quotes(engine, ids, stream)
    prep_secs = time.perf_counter() - t_prep

    if strategy is not None:
        strategy.live = True
        strategy.peak = working_before
    t = time.perf_counter()
    engine.run(streaming=True)
    secs = time.perf_counter() - t
    working_after = engine.cache.orders_open_count()

    t_end = time.perf_counter()
    engine.end()
    end_secs = time.perf_counter() - t_end

    orders = engine.cache.orders()
    # Fills during the stream (the opening step is at START_NS; the resting book sits 5+ bps away).
    fills = sum(1 for o in orders for e in o.events if isinstance(e, OrderFilled) and e.ts_event > START_NS)
    denied = sum(1 for o in orders if o.status_string() == "DENIED")
    rejected = sum(1 for o in orders if o.status_string() == "REJECTED")
    out = {
        "bench": "nautilus_mbt",
        "nautilus_trader": nautilus_trader.__version__,
        "mode": args.mode,
        "symbols": args.symbols,
        "quotes": len(stream),
        "quotes_per_sec": round(len(stream) / secs),
        "run_secs": round(secs, 3),
        "end_secs": round(end_secs, 3),
        "prep_secs": round(prep_secs, 3),
        "orders_interleaved": engine.cache.orders_total_count() - orders_before,
        "resting_orders": orders_before,
        "working_orders_before": working_before,
        "working_orders_peak": max(strategy.peak, working_after) if strategy else 0,
        "working_orders_after": working_after,
        "fills": fills,
        "denied": denied,
        "rejected": rejected,
        "subscribe_all": bool(args.subscribe_all),
        "risk_engine_bypassed": bool(args.bypass_risk),
        "seed": args.seed,
    }
    print(json.dumps(out), flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()
