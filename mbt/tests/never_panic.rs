//! "Never panic, never lose a hold": absurd quantities and prices are refused
//! as values with a reason, and a refused operation changes nothing.
//!
//! Each case here panicked with a decimal overflow before the engine's
//! arithmetic was checked; the replace cases also lost the order's hold.

use std::str::FromStr;

use mbt::engine::{AccountView, ReplaceRequest};
use mbt::fill::FillModel;
use mbt::market::{MarketData, MarketEvent, Quote};
use mbt::{
    Account, AccountKind, Engine, EngineConfig, EngineError, EngineEvent, FeeSchedule, Instrument,
    Leg, Order, OrderId, OrderRequest, OrderType, PositionEffect, RejectReason, Rejection, Side,
    Timestamp,
};
use rust_decimal::Decimal;

/// Monday 2026-01-05 15:00 UTC: the market is open.
const MONDAY_OPEN: Timestamp = Timestamp::from_secs(1_767_625_200);
const MAX: Decimal = Decimal::MAX;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s)
        .or_else(|_| Decimal::from_scientific(s))
        .unwrap()
}

fn engine() -> Engine {
    let config = EngineConfig {
        fees: FeeSchedule::regulatory_only(),
        fill: FillModel {
            max_slippage_bps: 0,
            ..FillModel::default()
        },
        ..EngineConfig::default()
    };
    let mut e = Engine::new(config, 7, MONDAY_OPEN);
    assert!(e.open_account("M", AccountKind::Margin, dec("100000")));
    assert!(e.open_account("C", AccountKind::Cash, dec("10000")));
    quote(&mut e, "AAPL", dec("99.99"), dec("100.01"));
    quote(&mut e, "SPY", dec("449.99"), dec("450.01"));
    e
}

fn event(e: &mut Engine, symbol: &str, data: MarketData) -> MarketEvent {
    MarketEvent {
        time: e.now().plus_millis(1),
        instrument: e.instrument_id(&Instrument::equity(symbol)),
        data,
    }
}

fn quote(e: &mut Engine, symbol: &str, bid: Decimal, ask: Decimal) {
    let ev = event(
        e,
        symbol,
        MarketData::Quote(Quote {
            bid,
            ask,
            bid_size: dec("1000"),
            ask_size: dec("1000"),
        }),
    );
    assert!(e.on_market(&ev));
}

/// Everything a refused operation must leave as it was: accounts (cash,
/// positions, holds), every order, the marked statements, the clock and the
/// market's quotes.
#[derive(Debug, PartialEq)]
struct Snapshot {
    accounts: Vec<Account>,
    views: Vec<Option<AccountView>>,
    orders: Vec<Order>,
    holds: Vec<Decimal>,
    now: Timestamp,
    quotes: Vec<Option<Quote>>,
}

fn snapshot(e: &Engine) -> Snapshot {
    Snapshot {
        accounts: e.accounts().cloned().collect(),
        views: e.accounts().map(|a| e.account_view(&a.id)).collect(),
        orders: e.orders().cloned().collect(),
        holds: e.orders().map(|o| e.hold(o.id)).collect(),
        now: e.now(),
        quotes: ["AAPL", "SPY"]
            .iter()
            .map(|s| e.quote(&Instrument::equity(*s)))
            .collect(),
    }
}

/// Submits `r`, expects it refused for `reason`, logged as such, and nothing else changed.
fn refused(e: &mut Engine, r: OrderRequest, reason: RejectReason) {
    let before = snapshot(e);
    let logged = e.log().len();
    let err = e.submit(r.clone()).expect_err("an absurd order is refused");
    assert_eq!(err.reason, reason, "{r:?}: {err}");
    assert_eq!(snapshot(e), before, "a refused submit changed the engine");
    let entries: Vec<_> = e.log().since(logged as u64).collect();
    assert_eq!(entries.len(), 1);
    assert!(matches!(
        &entries[0].event,
        EngineEvent::OrderRejected { reason: r, .. } if *r == reason
    ));
}

fn limit(account: &str, side: Side, qty: &str, price: &str) -> OrderRequest {
    OrderRequest::limit(account, "absurd", "AAPL", side, dec(qty), dec(price))
}

#[test]
fn a_limit_buy_whose_cost_cannot_be_represented_is_insufficient_buying_power() {
    let mut e = engine();
    refused(
        &mut e,
        limit("M", Side::Buy, "10", "10000000000000000000000000000"),
        RejectReason::InsufficientBuyingPower,
    );
    refused(
        &mut e,
        limit("C", Side::Buy, "10", "10000000000000000000000000000"),
        RejectReason::InsufficientBuyingPower,
    );
}

#[test]
fn a_full_size_order_at_decimal_max_is_refused_on_every_path() {
    let mut e = engine();
    let max = MAX.to_string();
    // Buy.
    refused(
        &mut e,
        limit("M", Side::Buy, "1000000", &max),
        RejectReason::InsufficientBuyingPower,
    );
    // Short sell (margin).
    refused(
        &mut e,
        limit("M", Side::Sell, "1000000", &max),
        RejectReason::InsufficientBuyingPower,
    );
    // Stop, costed at its stop price.
    let mut stop = OrderRequest::market("M", "stop", "AAPL", Side::Buy, dec("1000000"));
    stop.order_type = OrderType::Stop;
    stop.stop_price = Some(MAX);
    refused(&mut e, stop, RejectReason::InsufficientBuyingPower);
    // Stop-limit, both prices at the edge.
    let mut stop_limit = limit("M", Side::Buy, "1000000", &max);
    stop_limit.order_type = OrderType::StopLimit;
    stop_limit.stop_price = Some(MAX);
    refused(&mut e, stop_limit, RejectReason::InsufficientBuyingPower);
}

#[test]
fn an_option_buy_whose_premium_cannot_be_represented_is_refused() {
    let mut e = engine();
    let r = OrderRequest {
        instrument: Instrument::parse_symbol("AAPL  260116C00100000"),
        position_effect: Some(PositionEffect::Open),
        order_type: OrderType::Limit,
        limit_price: Some(dec("1e23")),
        ..OrderRequest::market("M", "opt", "AAPL", Side::Buy, dec("1000000"))
    };
    refused(&mut e, r, RejectReason::InsufficientBuyingPower);
}

fn spread(ratio: &str) -> OrderRequest {
    let leg = |occ: &str, side| Leg {
        instrument: Instrument::parse_symbol(occ),
        side,
        position_effect: Some(PositionEffect::Open),
        ratio_quantity: dec(ratio),
    };
    OrderRequest {
        legs: Some(vec![
            leg("SPY   260116P00440000", Side::Sell),
            leg("SPY   260116P00435000", Side::Buy),
        ]),
        ..OrderRequest::market("M", "spread", "SPY", Side::Sell, dec("1"))
    }
}

#[test]
fn a_multi_leg_order_whose_leg_quantity_cannot_be_costed_is_refused() {
    let mut e = engine();
    refused(
        &mut e,
        spread("1000000000000000000000000000"),
        RejectReason::InsufficientBuyingPower,
    );
    // The same spread at a sane size still fills.
    let id = e.submit(spread("1")).unwrap();
    assert_eq!(e.order(id).unwrap().status, mbt::OrderStatus::Filled);
}

/// A working buy of 100 @ 100 in the margin account, and the hold it makes.
fn working_buy(e: &mut Engine) -> OrderId {
    let id = e.submit(limit("M", Side::Buy, "100", "90")).unwrap();
    assert_eq!(e.order(id).unwrap().status, mbt::OrderStatus::Accepted);
    assert_eq!(e.hold(id), dec("9000"));
    assert_eq!(e.account("M").unwrap().reserved, dec("9000"));
    id
}

fn refused_replace(e: &mut Engine, id: OrderId, changes: ReplaceRequest, reason: RejectReason) {
    let before = snapshot(e);
    let logged = e.log().len();
    let err = e.replace(id, changes.clone()).expect_err("refused");
    assert!(
        matches!(&err, EngineError::Rejected(Rejection { reason: r, .. }) if *r == reason),
        "{changes:?}: {err}"
    );
    assert_eq!(snapshot(e), before, "a refused replace changed the engine");
    assert_eq!(e.log().len(), logged, "a refused replace logs nothing");
}

#[test]
fn a_refused_replace_keeps_the_order_and_its_hold() {
    let mut e = engine();
    let id = working_buy(&mut e);
    let bp = e.account_view("M").unwrap().buying_power;
    for (qty, price) in [("10", "1e28"), ("1000000", "1e24"), ("1", &MAX.to_string())] {
        refused_replace(
            &mut e,
            id,
            ReplaceRequest {
                quantity: Some(dec(qty)),
                limit_price: Some(dec(price)),
                ..Default::default()
            },
            RejectReason::InsufficientBuyingPower,
        );
    }
    let o = e.order(id).unwrap();
    assert_eq!(o.status, mbt::OrderStatus::Accepted);
    assert_eq!(
        (o.request.quantity, o.request.limit_price),
        (dec("100"), Some(dec("90")))
    );
    assert_eq!(e.hold(id), dec("9000"));
    assert_eq!(e.account_view("M").unwrap().buying_power, bp);
    // The order still works: a sane replace goes through and moves the hold.
    let new = e
        .replace(
            id,
            ReplaceRequest {
                quantity: Some(dec("10")),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(e.hold(id), Decimal::ZERO);
    assert_eq!(e.hold(new), dec("900"));
    assert_eq!(e.account("M").unwrap().reserved, dec("900"));
}

#[test]
fn a_replace_refused_for_an_ordinary_reason_also_keeps_the_hold() {
    let mut e = engine();
    let id = working_buy(&mut e);
    refused_replace(
        &mut e,
        id,
        ReplaceRequest {
            quantity: Some(dec("100000")),
            ..Default::default()
        },
        RejectReason::InsufficientBuyingPower,
    );
    refused_replace(
        &mut e,
        id,
        ReplaceRequest {
            quantity: Some(dec("-1")),
            ..Default::default()
        },
        RejectReason::InvalidQuantity,
    );
    refused_replace(
        &mut e,
        id,
        ReplaceRequest {
            limit_price: Some(dec("0.0000000000000000000000000001")),
            ..Default::default()
        },
        RejectReason::InvalidPrice,
    );
}

/// Feeds `data` for AAPL, expects it refused and nothing changed.
fn refused_event(e: &mut Engine, data: MarketData) {
    let before = snapshot(e);
    let logged = e.log().len();
    let mut ev = event(e, "AAPL", data);
    // Far enough ahead to cross a session close: a refused event must not move the clock.
    ev.time = ev.time.plus_millis(7 * 3_600_000);
    assert!(!e.on_market(&ev), "{ev:?} was accepted");
    assert_eq!(snapshot(e), before, "a refused event changed the engine");
    assert_eq!(e.log().len(), logged);
}

#[test]
fn set_price_with_an_absurd_price_is_refused() {
    let mut e = engine();
    working_buy(&mut e);
    for price in [MAX, dec("1e28"), dec("1e13"), dec("-1"), Decimal::ZERO] {
        let before = snapshot(&e);
        assert!(!e.set_price(&Instrument::equity("AAPL"), price, dec("500")));
        assert_eq!(snapshot(&e), before, "set_price {price} changed the engine");
    }
    // A symbol first seen with an absurd price is not listed by it.
    assert!(!e.set_price(&Instrument::equity("ZZZ"), MAX, dec("500")));
    assert!(!e.is_listed(&Instrument::equity("ZZZ")));
    assert!(e.set_price(&Instrument::equity("AAPL"), dec("101"), dec("500")));
}

#[test]
fn market_events_with_absurd_prices_are_refused() {
    let mut e = engine();
    working_buy(&mut e);
    let q = |bid, ask| {
        MarketData::Quote(Quote {
            bid,
            ask,
            bid_size: dec("100"),
            ask_size: dec("100"),
        })
    };
    refused_event(&mut e, q(dec("1"), MAX));
    refused_event(&mut e, q(MAX, MAX));
    refused_event(&mut e, q(dec("1e13"), dec("1e13")));
    refused_event(
        &mut e,
        MarketData::Trade {
            price: MAX,
            size: dec("1"),
        },
    );
    refused_event(
        &mut e,
        MarketData::Bar {
            open: dec("100"),
            high: MAX,
            low: dec("99"),
            close: dec("100"),
            volume: dec("10"),
        },
    );
    // A quote with an absurd size is still a quote: liquidity is capped, nothing overflows.
    let ev = event(
        &mut e,
        "AAPL",
        MarketData::Quote(Quote {
            bid: dec("99.99"),
            ask: dec("100.01"),
            bid_size: MAX,
            ask_size: MAX,
        }),
    );
    assert!(e.on_market(&ev));
    let id = e
        .submit(OrderRequest::market(
            "M",
            "big",
            "AAPL",
            Side::Buy,
            dec("100"),
        ))
        .unwrap();
    assert_eq!(e.order(id).unwrap().status, mbt::OrderStatus::Filled);
}

#[test]
fn time_runs_out_without_a_hang_or_a_panic() {
    let mut e = engine();
    let id = working_buy(&mut e);
    let end = Timestamp::from_nanos(i64::MAX);
    e.advance_to(end);
    assert_eq!(e.now(), end);
    assert!(!e.is_open());
    // Every weekday close up to 2262-04-11, the last one a Timestamp holds.
    let closes = e
        .log()
        .entries()
        .filter(|l| matches!(l.event, EngineEvent::SessionClosed { .. }))
        .count();
    assert!(closes > 60_000, "{closes} closes");
    // The day order expired at the first close and gave its hold back.
    assert_eq!(e.order(id).unwrap().status, mbt::OrderStatus::Expired);
    assert_eq!(e.account("M").unwrap().reserved, Decimal::ZERO);
    // No session is left: an order is refused as such.
    refused(
        &mut e,
        limit("M", Side::Buy, "1", "100"),
        RejectReason::MarketClosed,
    );
    let ev = event(
        &mut e,
        "AAPL",
        MarketData::Trade {
            price: dec("101"),
            size: dec("10"),
        },
    );
    assert!(e.on_market(&ev));
}

#[test]
fn absurd_deposits_are_refused() {
    let mut e = engine();
    let before = snapshot(&e);
    for cash in [MAX, dec("1e28"), dec("-1"), dec("0.001"), dec("1e-28")] {
        assert!(
            !e.open_account("X", AccountKind::Margin, cash),
            "deposit {cash}"
        );
        assert!(e.account("X").is_none());
    }
    assert_eq!(snapshot(&e), before);
}

#[test]
fn a_fill_beyond_the_ledger_range_is_not_made_and_the_order_keeps_its_hold() {
    let mut e = engine();
    assert!(e.open_account("X", AccountKind::Margin, mbt::account::MAX_AMOUNT));
    assert!(e.set_price(
        &Instrument::equity("SPY"),
        dec("1500000000"),
        dec("1000000")
    ));
    let before = e.account("X").unwrap().clone();
    // Margin buying power covers 1.5 × 10¹⁵ of stock, but a cost basis
    // beyond 10¹⁵ would no longer be exact: the fill is not booked.
    let id = e
        .submit(OrderRequest::market(
            "X",
            "big",
            "SPY",
            Side::Buy,
            dec("1000000"),
        ))
        .unwrap();
    let o = e.order(id).unwrap();
    assert_eq!(
        (o.status, o.filled_quantity),
        (mbt::OrderStatus::Accepted, Decimal::ZERO)
    );
    let x = e.account("X").unwrap();
    assert_eq!((x.cash, &x.positions), (before.cash, &before.positions));
    assert!(e.hold(id) > Decimal::ZERO);
    assert_eq!(x.reserved, e.hold(id));
    assert_eq!(x.conservation_error(), Ok(Decimal::ZERO));
    e.cancel(id).unwrap();
    assert_eq!(e.account("X").unwrap().reserved, Decimal::ZERO);
}
