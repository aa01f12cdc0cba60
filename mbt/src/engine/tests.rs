use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;
use crate::market::{MarketData, MarketEvent, Quote};
use crate::order::{Leg, OrderType, PositionEffect, Side, TimeInForce, Trail};

/// Monday 2026-01-05 15:00 UTC: the market is open.
const MONDAY_OPEN: Timestamp = Timestamp::from_secs(1_767_625_200);

fn config() -> EngineConfig {
    EngineConfig::frictionless()
}

fn engine_with(config: EngineConfig) -> Engine {
    let mut e = Engine::new(config, 7, MONDAY_OPEN);
    assert!(e.open_account("A1", AccountKind::Margin, dec!(100000)));
    assert!(e.open_account("C1", AccountKind::Cash, dec!(10000)));
    quote(&mut e, "AAPL", dec!(99.99), dec!(100.01), dec!(1000));
    quote(&mut e, "SPY", dec!(449.99), dec!(450.01), dec!(1000));
    e
}

fn engine() -> Engine {
    engine_with(config())
}

fn quote(e: &mut Engine, symbol: &str, bid: Decimal, ask: Decimal, size: Decimal) {
    let id = e.instrument_id(&Instrument::equity(symbol));
    let time = e.now().plus_millis(1);
    assert!(e.on_market(&MarketEvent {
        time,
        instrument: id,
        data: MarketData::Quote(Quote {
            bid,
            ask,
            bid_size: size,
            ask_size: size
        }),
    }));
}

fn buy(qty: Decimal) -> OrderRequest {
    OrderRequest::market("A1", "c1", "AAPL", Side::Buy, qty)
}

fn status(e: &Engine, id: OrderId) -> OrderStatus {
    e.order(id).unwrap().status
}

fn conserved(e: &Engine) {
    for a in e.accounts() {
        assert_eq!(
            a.conservation_error(),
            Ok(Decimal::ZERO),
            "account {}",
            a.id
        );
        assert!(
            a.reserved >= Decimal::ZERO,
            "account {} reserved {}",
            a.id,
            a.reserved
        );
    }
}

#[test]
fn market_buy_fills_at_the_ask() {
    let mut e = engine();
    let id = e.submit(buy(dec!(10))).unwrap();
    let o = e.order(id).unwrap();
    assert_eq!(o.status, OrderStatus::Filled);
    assert_eq!(o.average_fill_price, Some(dec!(100.01)));
    let a = e.account("A1").unwrap();
    assert_eq!(a.cash, dec!(100000) - dec!(1000.10));
    assert_eq!(a.position_quantity(&Instrument::equity("AAPL")), dec!(10));
    assert_eq!(a.reserved, dec!(0));
    conserved(&e);
}

#[test]
fn slippage_is_seeded_and_adverse() {
    let run = |seed| {
        let mut cfg = config();
        cfg.fill.max_slippage_bps = 50;
        let mut e = Engine::new(cfg, seed, MONDAY_OPEN);
        e.open_account("A1", AccountKind::Margin, dec!(100000));
        quote(&mut e, "AAPL", dec!(99.99), dec!(100.01), dec!(100000));
        (0..20)
            .map(|_| {
                let id = e.submit(buy(dec!(1))).unwrap();
                e.order(id).unwrap().average_fill_price.unwrap()
            })
            .collect::<Vec<_>>()
    };
    let a = run(1);
    assert_eq!(a, run(1));
    assert_ne!(a, run(2));
    assert!(a.iter().all(|p| *p >= dec!(100.01) && *p <= dec!(100.52)));
}

#[test]
fn limit_rests_then_fills_when_the_market_comes_to_it() {
    let mut e = engine();
    let id = e
        .submit(OrderRequest::limit(
            "A1",
            "l1",
            "AAPL",
            Side::Buy,
            dec!(5),
            dec!(99.50),
        ))
        .unwrap();
    assert_eq!(status(&e, id), OrderStatus::Accepted);
    assert_eq!(e.account("A1").unwrap().reserved, dec!(497.50));
    quote(&mut e, "AAPL", dec!(99.40), dec!(99.45), dec!(1000));
    let o = e.order(id).unwrap();
    assert_eq!(o.status, OrderStatus::Filled);
    // Fills at the better ask, never above the limit.
    assert_eq!(o.average_fill_price, Some(dec!(99.45)));
    assert_eq!(e.account("A1").unwrap().reserved, dec!(0));
    conserved(&e);
}

#[test]
fn large_orders_fill_partially_over_several_events() {
    let mut cfg = config();
    cfg.fill.liquidity_fraction = dec!(0.5);
    let mut e = engine_with(cfg);
    quote(&mut e, "AAPL", dec!(99.99), dec!(100.01), dec!(100));
    let id = e.submit(buy(dec!(120))).unwrap();
    assert_eq!(status(&e, id), OrderStatus::PartiallyFilled);
    assert_eq!(e.order(id).unwrap().filled_quantity, dec!(50));
    quote(&mut e, "AAPL", dec!(100.99), dec!(101.01), dec!(100));
    assert_eq!(e.order(id).unwrap().filled_quantity, dec!(100));
    quote(&mut e, "AAPL", dec!(101.99), dec!(102.01), dec!(100));
    let o = e.order(id).unwrap();
    assert_eq!(o.status, OrderStatus::Filled);
    // (50 × 100.01 + 50 × 101.01 + 20 × 102.01) / 120
    assert_eq!(o.average_fill_price, Some(dec!(100.76)));
    let fills: Vec<_> = e
        .log()
        .entries()
        .filter(|l| matches!(l.event, EngineEvent::Fill { .. }))
        .collect();
    assert_eq!(fills.len(), 3);
    conserved(&e);
}

#[test]
fn orders_share_one_events_liquidity_in_price_time_priority() {
    let mut cfg = config();
    cfg.fill.max_units_per_event = Some(dec!(10));
    let mut e = engine_with(cfg);
    let first = e
        .submit(OrderRequest::limit(
            "A1",
            "a",
            "AAPL",
            Side::Buy,
            dec!(8),
            dec!(99),
        ))
        .unwrap();
    let better = e
        .submit(OrderRequest::limit(
            "A1",
            "b",
            "AAPL",
            Side::Buy,
            dec!(8),
            dec!(99.5),
        ))
        .unwrap();
    quote(&mut e, "AAPL", dec!(98.90), dec!(98.95), dec!(1000));
    assert_eq!(e.order(better).unwrap().filled_quantity, dec!(8));
    assert_eq!(e.order(first).unwrap().filled_quantity, dec!(2));
}

#[test]
fn ioc_fills_what_it_can_and_cancels_the_rest() {
    let mut cfg = config();
    cfg.fill.max_units_per_event = Some(dec!(10));
    let mut e = engine_with(cfg);
    let mut r = buy(dec!(25));
    r.time_in_force = TimeInForce::Ioc;
    let id = e.submit(r).unwrap();
    let o = e.order(id).unwrap();
    assert_eq!(
        (o.status, o.filled_quantity),
        (OrderStatus::Canceled, dec!(10))
    );
    assert_eq!(e.account("A1").unwrap().reserved, dec!(0));
}

#[test]
fn fok_fills_whole_or_not_at_all() {
    let mut cfg = config();
    cfg.fill.max_units_per_event = Some(dec!(10));
    let mut e = engine_with(cfg);
    let mut r = buy(dec!(25));
    r.time_in_force = TimeInForce::Fok;
    let id = e.submit(r.clone()).unwrap();
    let o = e.order(id).unwrap();
    assert_eq!(
        (o.status, o.filled_quantity),
        (OrderStatus::Canceled, dec!(0))
    );
    r.quantity = dec!(10);
    let id = e.submit(r).unwrap();
    assert_eq!(status(&e, id), OrderStatus::Filled);
    // A FOK limit away from the market is canceled, not rested.
    let mut away = OrderRequest::limit("A1", "f", "AAPL", Side::Buy, dec!(1), dec!(90));
    away.time_in_force = TimeInForce::Fok;
    let id = e.submit(away).unwrap();
    assert_eq!(status(&e, id), OrderStatus::Canceled);
}

#[test]
fn stop_triggers_and_becomes_a_market_order() {
    let mut e = engine();
    e.submit(buy(dec!(10))).unwrap();
    let mut stop = OrderRequest::market("A1", "s1", "AAPL", Side::Sell, dec!(10));
    stop.order_type = OrderType::Stop;
    stop.stop_price = Some(dec!(95));
    let id = e.submit(stop).unwrap();
    quote(&mut e, "AAPL", dec!(96), dec!(96.02), dec!(1000));
    assert_eq!(status(&e, id), OrderStatus::Accepted);
    quote(&mut e, "AAPL", dec!(94.50), dec!(94.52), dec!(1000));
    let o = e.order(id).unwrap();
    assert_eq!(o.status, OrderStatus::Filled);
    assert!(o.triggered);
    assert_eq!(o.average_fill_price, Some(dec!(94.50)));
    assert!(e.log().entries().any(|l| l.event
        == EngineEvent::StopTriggered {
            order_id: id,
            price: dec!(94.50)
        }));
    conserved(&e);
}

#[test]
fn stop_limit_triggers_then_waits_for_its_limit() {
    let mut e = engine();
    let mut r = buy(dec!(5));
    r.order_type = OrderType::StopLimit;
    r.stop_price = Some(dec!(101));
    r.limit_price = Some(dec!(101.50));
    let id = e.submit(r).unwrap();
    // Gaps through the stop and the limit: triggered, not filled.
    quote(&mut e, "AAPL", dec!(101.90), dec!(102), dec!(1000));
    let o = e.order(id).unwrap();
    assert!(o.triggered);
    assert_eq!(o.status, OrderStatus::Accepted);
    quote(&mut e, "AAPL", dec!(101.30), dec!(101.40), dec!(1000));
    assert_eq!(e.order(id).unwrap().average_fill_price, Some(dec!(101.40)));
}

#[test]
fn bars_fill_resting_limits_inside_their_range() {
    let mut e = engine();
    let id = e
        .submit(OrderRequest::limit(
            "A1",
            "l",
            "AAPL",
            Side::Buy,
            dec!(5),
            dec!(99),
        ))
        .unwrap();
    let aapl = e.instrument_id(&Instrument::equity("AAPL"));
    let time = e.now().plus_millis(60_000);
    e.on_market(&MarketEvent {
        time,
        instrument: aapl,
        data: MarketData::Bar {
            open: dec!(100),
            high: dec!(100.5),
            low: dec!(98.8),
            close: dec!(100.2),
            volume: dec!(10000),
        },
    });
    let o = e.order(id).unwrap();
    assert_eq!(o.status, OrderStatus::Filled);
    assert_eq!(o.average_fill_price, Some(dec!(99)));
}

#[test]
fn day_orders_expire_at_the_close_and_gtc_orders_do_not() {
    let mut e = engine();
    let day = e
        .submit(OrderRequest::limit(
            "A1",
            "d",
            "AAPL",
            Side::Buy,
            dec!(5),
            dec!(90),
        ))
        .unwrap();
    let mut g = OrderRequest::limit("A1", "g", "AAPL", Side::Buy, dec!(5), dec!(90));
    g.time_in_force = TimeInForce::Gtc;
    let gtc = e.submit(g).unwrap();
    e.advance_to(MONDAY_OPEN.plus_millis(7 * 3_600_000));
    assert_eq!(status(&e, day), OrderStatus::Expired);
    assert_eq!(status(&e, gtc), OrderStatus::Accepted);
    assert!(!e.is_open());
    assert_eq!(e.account("A1").unwrap().reserved, dec!(450));
    assert!(e
        .log()
        .entries()
        .any(|l| matches!(l.event, EngineEvent::SessionClosed { .. })));
}

#[test]
fn closed_market_rejects_or_queues() {
    let mut e = engine();
    e.advance_to(MONDAY_OPEN.plus_millis(7 * 3_600_000));
    let err = e.submit(buy(dec!(1))).unwrap_err();
    assert_eq!(err.reason, RejectReason::MarketClosed);

    let mut cfg = config();
    cfg.queue_when_closed = true;
    let mut q = engine_with(cfg);
    q.advance_to(MONDAY_OPEN.plus_millis(7 * 3_600_000));
    let mut r = buy(dec!(1));
    r.time_in_force = TimeInForce::Gtc;
    let id = q.submit(r).unwrap();
    assert_eq!(status(&q, id), OrderStatus::Accepted);
    // Tuesday's open: the first quote fills it.
    q.advance_to(Timestamp::from_secs(1_767_625_200 + 86_400));
    quote(&mut q, "AAPL", dec!(100), dec!(100.02), dec!(100));
    assert_eq!(status(&q, id), OrderStatus::Filled);
}

#[test]
fn cancel_is_final_and_a_second_cancel_is_too_late() {
    let mut e = engine();
    let id = e
        .submit(OrderRequest::limit(
            "A1",
            "l",
            "AAPL",
            Side::Buy,
            dec!(5),
            dec!(90),
        ))
        .unwrap();
    e.cancel(id).unwrap();
    assert_eq!(status(&e, id), OrderStatus::Canceled);
    assert_eq!(e.account("A1").unwrap().reserved, dec!(0));
    assert_eq!(
        e.cancel(id),
        Err(EngineError::TooLate {
            id,
            status: OrderStatus::Canceled
        })
    );
    let filled = e.submit(buy(dec!(1))).unwrap();
    assert!(matches!(
        e.cancel(filled),
        Err(EngineError::TooLate {
            status: OrderStatus::Filled,
            ..
        })
    ));
    assert_eq!(
        e.cancel(OrderId(999)),
        Err(EngineError::NotFound(OrderId(999)))
    );
}

#[test]
fn partial_fill_then_cancel_keeps_the_filled_quantity() {
    let mut cfg = config();
    cfg.fill.max_units_per_event = Some(dec!(4));
    let mut e = engine_with(cfg);
    let id = e.submit(buy(dec!(10))).unwrap();
    e.cancel(id).unwrap();
    let o = e.order(id).unwrap();
    assert_eq!(
        (o.status, o.filled_quantity, o.remaining_quantity()),
        (OrderStatus::Canceled, dec!(4), dec!(0))
    );
    assert_eq!(
        e.account("A1")
            .unwrap()
            .position_quantity(&Instrument::equity("AAPL")),
        dec!(4)
    );
    conserved(&e);
}

#[test]
fn replace_changes_price_and_quantity_under_a_new_id() {
    let mut e = engine();
    let id = e
        .submit(OrderRequest::limit(
            "A1",
            "l",
            "AAPL",
            Side::Buy,
            dec!(5),
            dec!(90),
        ))
        .unwrap();
    let new = e
        .replace(
            id,
            ReplaceRequest {
                quantity: Some(dec!(7)),
                limit_price: Some(dec!(91)),
                ..Default::default()
            },
        )
        .unwrap();
    assert_ne!(new, id);
    assert_eq!(status(&e, id), OrderStatus::Replaced);
    assert_eq!(e.order(id).unwrap().replaced_by, Some(new));
    let n = e.order(new).unwrap();
    assert_eq!(
        (n.request.quantity, n.request.limit_price, n.replaces),
        (dec!(7), Some(dec!(91)), Some(id))
    );
    assert_eq!(e.account("A1").unwrap().reserved, dec!(637));
    // Replacing into the market fills at once.
    let filled = e
        .replace(
            new,
            ReplaceRequest {
                limit_price: Some(dec!(101)),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(status(&e, filled), OrderStatus::Filled);
    assert!(matches!(
        e.replace(id, ReplaceRequest::default()),
        Err(EngineError::TooLate { .. })
    ));
    assert_eq!(e.account("A1").unwrap().reserved, dec!(0));
}

#[test]
fn a_rejected_replace_leaves_the_old_order_working() {
    let mut e = engine();
    let id = e
        .submit(OrderRequest::limit(
            "C1",
            "l",
            "AAPL",
            Side::Buy,
            dec!(5),
            dec!(90),
        ))
        .unwrap();
    let err = e
        .replace(
            id,
            ReplaceRequest {
                quantity: Some(dec!(500)),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(matches!(
        err,
        EngineError::Rejected(Rejection {
            reason: RejectReason::InsufficientBuyingPower,
            ..
        })
    ));
    assert_eq!(status(&e, id), OrderStatus::Accepted);
    assert_eq!(e.account("C1").unwrap().reserved, dec!(450));
}

#[test]
fn rejections_are_typed_values() {
    let mut e = engine();
    let cases: Vec<(OrderRequest, RejectReason)> = vec![
        (
            OrderRequest::market("C1", "x", "AAPL", Side::Buy, dec!(1000)),
            RejectReason::InsufficientBuyingPower,
        ),
        (
            OrderRequest::market("A1", "x", "ZZZZ", Side::Buy, dec!(1)),
            RejectReason::UnknownSymbol,
        ),
        (
            OrderRequest::market("A1", "x", "AAPL", Side::Buy, dec!(0)),
            RejectReason::InvalidQuantity,
        ),
        (
            OrderRequest::market("A1", "x", "AAPL", Side::Buy, dec!(-3)),
            RejectReason::InvalidQuantity,
        ),
        (
            OrderRequest::market("A1", "x", "AAPL", Side::Buy, dec!(1.5)),
            RejectReason::InvalidQuantity,
        ),
        (
            OrderRequest::limit("A1", "x", "AAPL", Side::Buy, dec!(1), dec!(0)),
            RejectReason::InvalidPrice,
        ),
        (
            OrderRequest::limit("A1", "x", "AAPL", Side::Buy, dec!(1), dec!(100.001)),
            RejectReason::InvalidPrice,
        ),
        (
            OrderRequest::market("C1", "x", "AAPL", Side::Sell, dec!(1)),
            RejectReason::ShortSellingNotAllowed,
        ),
        (
            OrderRequest::market("nobody", "x", "AAPL", Side::Buy, dec!(1)),
            RejectReason::UnknownAccount,
        ),
    ];
    for (r, want) in cases {
        let err = e.submit(r.clone()).unwrap_err();
        assert_eq!(err.reason, want, "{r:?}: {err}");
    }
    let mut no_limit = buy(dec!(1));
    no_limit.order_type = OrderType::Limit;
    assert_eq!(
        e.submit(no_limit).unwrap_err().reason,
        RejectReason::InvalidPrice
    );
    let mut stray_stop = buy(dec!(1));
    stray_stop.stop_price = Some(dec!(1));
    assert_eq!(
        e.submit(stray_stop).unwrap_err().reason,
        RejectReason::InvalidPrice
    );
    let rejected = e
        .log()
        .entries()
        .filter(|l| matches!(l.event, EngineEvent::OrderRejected { .. }))
        .count();
    assert_eq!(rejected, 11);
    assert!(e.orders().next().is_none());
}

#[test]
fn margin_account_may_short_and_cross_zero() {
    let mut e = engine();
    e.submit(buy(dec!(10))).unwrap();
    e.submit(OrderRequest::market(
        "A1",
        "s",
        "AAPL",
        Side::Sell,
        dec!(25),
    ))
    .unwrap();
    let a = e.account("A1").unwrap();
    assert_eq!(a.position_quantity(&Instrument::equity("AAPL")), dec!(-15));
    assert_eq!(
        a.positions[&Instrument::equity("AAPL")].average_price(),
        dec!(99.99)
    );
    assert_eq!(a.realized_pnl, dec!(-0.2));
    conserved(&e);
}

fn option_order(
    account: &str,
    occ: &str,
    side: Side,
    effect: PositionEffect,
    qty: Decimal,
) -> OrderRequest {
    OrderRequest {
        instrument: Instrument::parse_symbol(occ),
        position_effect: Some(effect),
        ..OrderRequest::market(account, "o", "AAPL", side, qty)
    }
}

#[test]
fn option_open_then_close_uses_the_multiplier() {
    let mut e = engine();
    let occ = "AAPL  260116C00100000";
    let open = e
        .submit(option_order(
            "A1",
            occ,
            Side::Buy,
            PositionEffect::Open,
            dec!(2),
        ))
        .unwrap();
    let o = e.order(open).unwrap();
    assert_eq!(o.status, OrderStatus::Filled);
    let premium = o.average_fill_price.unwrap();
    assert!(premium > dec!(0));
    let q = e.quote(&Instrument::parse_symbol(occ)).unwrap();
    assert_eq!(premium, q.ask);
    assert_eq!(
        e.account("A1").unwrap().cash,
        dec!(100000) - premium * dec!(200)
    );
    let close = e
        .submit(option_order(
            "A1",
            occ,
            Side::Sell,
            PositionEffect::Close,
            dec!(2),
        ))
        .unwrap();
    assert_eq!(status(&e, close), OrderStatus::Filled);
    assert!(e.account("A1").unwrap().positions.is_empty());
    let err = e
        .submit(option_order(
            "A1",
            occ,
            Side::Sell,
            PositionEffect::Close,
            dec!(1),
        ))
        .unwrap_err();
    assert_eq!(err.reason, RejectReason::NoPositionToClose);
    let missing_effect = OrderRequest {
        position_effect: None,
        ..option_order("A1", occ, Side::Buy, PositionEffect::Open, dec!(1))
    };
    assert_eq!(
        e.submit(missing_effect).unwrap_err().reason,
        RejectReason::InvalidOrder
    );
    let expired = option_order(
        "A1",
        "AAPL  250117C00100000",
        Side::Buy,
        PositionEffect::Open,
        dec!(1),
    );
    assert_eq!(
        e.submit(expired).unwrap_err().reason,
        RejectReason::UnknownSymbol
    );
    conserved(&e);
}

#[test]
fn option_limit_orders_follow_the_underlying() {
    let mut e = engine();
    let occ = "AAPL  260116C00100000";
    let ask = e.quote(&Instrument::parse_symbol(occ)).unwrap().ask;
    let mut r = option_order("A1", occ, Side::Buy, PositionEffect::Open, dec!(1));
    r.order_type = OrderType::Limit;
    r.limit_price = Some((ask - dec!(1)).round_dp(2));
    let id = e.submit(r).unwrap();
    assert_eq!(status(&e, id), OrderStatus::Accepted);
    quote(&mut e, "AAPL", dec!(95), dec!(95.02), dec!(1000));
    assert_eq!(status(&e, id), OrderStatus::Filled);
}

#[test]
fn expiry_exercises_assigns_and_expires_worthless() {
    let mut e = engine();
    // Expiring this Friday, 2026-01-09.
    let long_call = "AAPL  260109C00090000";
    let short_put = "AAPL  260109P00110000";
    let otm_call = "AAPL  260109C00150000";
    e.submit(option_order(
        "A1",
        long_call,
        Side::Buy,
        PositionEffect::Open,
        dec!(1),
    ))
    .unwrap();
    e.submit(option_order(
        "A1",
        short_put,
        Side::Sell,
        PositionEffect::Open,
        dec!(2),
    ))
    .unwrap();
    e.submit(option_order(
        "A1",
        otm_call,
        Side::Buy,
        PositionEffect::Open,
        dec!(3),
    ))
    .unwrap();
    let cash_before = e.account("A1").unwrap().cash;
    // Friday after the close: AAPL last traded around 100.
    e.advance_to(Timestamp::from_secs(1_767_625_200 + 4 * 86_400 + 7 * 3600));
    let a = e.account("A1").unwrap();
    assert!(a.positions.keys().all(|i| !i.is_option()));
    // +100 shares from the call at 90, +200 assigned from the put at 110.
    assert_eq!(a.position_quantity(&Instrument::equity("AAPL")), dec!(300));
    assert_eq!(a.cash, cash_before - dec!(9000) - dec!(22000));
    let kinds: Vec<_> = e
        .log()
        .entries()
        .filter_map(|l| match &l.event {
            EngineEvent::OptionExercised { assigned, .. } => {
                Some(if *assigned { "assigned" } else { "exercised" })
            }
            EngineEvent::OptionExpiredWorthless { .. } => Some("worthless"),
            _ => None,
        })
        .collect();
    // Settled in instrument order: C 90, C 150, P 110.
    assert_eq!(kinds, vec!["exercised", "worthless", "assigned"]);
    conserved(&e);
}

fn credit_spread(qty: Decimal, limit: Option<Decimal>) -> OrderRequest {
    let leg = |occ: &str, side| Leg {
        instrument: Instrument::parse_symbol(occ),
        side,
        position_effect: Some(PositionEffect::Open),
        ratio_quantity: dec!(1),
    };
    OrderRequest {
        order_type: if limit.is_some() {
            OrderType::Limit
        } else {
            OrderType::Market
        },
        limit_price: limit,
        legs: Some(vec![
            leg("SPY   260116P00440000", Side::Sell),
            leg("SPY   260116P00435000", Side::Buy),
        ]),
        ..OrderRequest::market("A1", "spread", "SPY", Side::Sell, qty)
    }
}

#[test]
fn multi_leg_credit_spread_fills_atomically_at_a_net_price() {
    let mut e = engine();
    let id = e.submit(credit_spread(dec!(2), None)).unwrap();
    let o = e.order(id).unwrap();
    assert_eq!(o.status, OrderStatus::Filled);
    let short = e
        .quote(&Instrument::parse_symbol("SPY   260116P00440000"))
        .unwrap();
    let long = e
        .quote(&Instrument::parse_symbol("SPY   260116P00435000"))
        .unwrap();
    assert_eq!(o.average_fill_price, Some((short.bid - long.ask).abs()));
    let a = e.account("A1").unwrap();
    assert_eq!(
        a.position_quantity(&Instrument::parse_symbol("SPY   260116P00440000")),
        dec!(-2)
    );
    assert_eq!(
        a.position_quantity(&Instrument::parse_symbol("SPY   260116P00435000")),
        dec!(2)
    );
    assert_eq!(buying_power::short_option_collateral(a, &e), Ok(dec!(1000)));
    // A limit credit the market cannot give rests, whole, until it can.
    let credit_at = |e: &Engine, spot: Decimal| {
        let p = &e.config().pricing;
        let at = |occ: &str| p.quote(&occ.parse().unwrap(), spot, e.now()).unwrap();
        at("SPY   260116P00440000").bid - at("SPY   260116P00435000").ask
    };
    let (now, later) = (credit_at(&e, dec!(450)), credit_at(&e, dec!(438)));
    assert!(later > now + dec!(0.02), "{now} {later}");
    let limit = ((now + later) / dec!(2)).round_dp(2);
    let id = e.submit(credit_spread(dec!(1), Some(limit))).unwrap();
    assert_eq!(status(&e, id), OrderStatus::Accepted);
    quote(&mut e, "SPY", dec!(437.99), dec!(438.01), dec!(1000));
    assert_eq!(status(&e, id), OrderStatus::Filled);
    assert!(e.order(id).unwrap().average_fill_price.unwrap() >= limit);
    conserved(&e);
}

#[test]
fn fees_are_charged_per_fill_and_conserved() {
    let mut cfg = config();
    cfg.fees = FeeSchedule {
        per_share: dec!(0.005),
        min_per_order: dec!(1),
        ..FeeSchedule::regulatory_only()
    };
    cfg.fill.max_units_per_event = Some(dec!(100));
    let mut e = engine_with(cfg);
    let id = e.submit(buy(dec!(150))).unwrap();
    quote(&mut e, "AAPL", dec!(99.99), dec!(100.01), dec!(1000));
    let o = e.order(id).unwrap();
    assert_eq!(o.status, OrderStatus::Filled);
    assert_eq!(o.fees, dec!(1));
    e.submit(OrderRequest::market(
        "A1",
        "s",
        "AAPL",
        Side::Sell,
        dec!(150),
    ))
    .unwrap();
    quote(&mut e, "AAPL", dec!(99.99), dec!(100.01), dec!(1000));
    let a = e.account("A1").unwrap();
    // 1.00 commission + SEC on 14,998.5 (0.42) + TAF on 150 shares (0.03), split over two fills.
    assert!(a.fees_paid > dec!(2));
    conserved(&e);
}

#[test]
fn an_account_with_its_own_schedule_is_charged_by_it() {
    // Behind an aggregator, one brokerage's accounts pay its commission
    // and the others the venue's (here none).
    let mut cfg = config();
    cfg.account_fees.insert(
        "C1".into(),
        FeeSchedule {
            per_share: dec!(0.005),
            per_contract: dec!(0.65),
            min_per_order: dec!(1),
            ..FeeSchedule::free()
        },
    );
    cfg.account_fees.insert(
        "A1".into(),
        FeeSchedule {
            per_contract: dec!(0.65),
            ..FeeSchedule::free()
        },
    );
    let mut e = engine_with(cfg);
    let free = e
        .submit(OrderRequest::market("A1", "a", "AAPL", Side::Buy, dec!(10)))
        .unwrap();
    let charged = e
        .submit(OrderRequest::market("C1", "c", "AAPL", Side::Buy, dec!(10)))
        .unwrap();
    assert_eq!(status(&e, free), OrderStatus::Filled);
    assert_eq!(e.order(free).unwrap().fees, dec!(0));
    assert_eq!(e.order(charged).unwrap().fees, dec!(1));
    assert_eq!(e.account("C1").unwrap().fees_paid, dec!(1));
    // A spread's commission is its account's too: 0.65 on each of 2 × 2 contracts.
    let spread = e.submit(credit_spread(dec!(2), None)).unwrap();
    assert_eq!(status(&e, spread), OrderStatus::Filled);
    assert_eq!(e.order(spread).unwrap().fees, dec!(2.60));
    conserved(&e);
}

#[test]
fn the_same_seed_gives_the_same_log_bytes() {
    let run = |seed| {
        let mut cfg = config();
        cfg.fill.max_slippage_bps = 20;
        cfg.fill.max_units_per_event = Some(dec!(7));
        let mut e = Engine::new(cfg, seed, MONDAY_OPEN);
        e.open_account("A1", AccountKind::Margin, dec!(100000));
        quote(&mut e, "AAPL", dec!(99.99), dec!(100.01), dec!(100));
        e.submit(buy(dec!(30))).unwrap();
        for i in 0..5 {
            quote(
                &mut e,
                "AAPL",
                dec!(99.99) + Decimal::from(i),
                dec!(100.01) + Decimal::from(i),
                dec!(100),
            );
        }
        e.log().hash()
    };
    assert_eq!(run(11), run(11));
    assert_ne!(run(11), run(12));
}

#[test]
fn account_view_marks_to_market() {
    let mut e = engine();
    e.submit(buy(dec!(10))).unwrap();
    quote(&mut e, "AAPL", dec!(109.99), dec!(110.01), dec!(1000));
    let v = e.account_view("A1").unwrap();
    assert_eq!(v.long_market_value, dec!(1100));
    assert_eq!(v.unrealized_pnl, dec!(99.9));
    assert_eq!(v.equity, dec!(100000) - dec!(1000.10) + dec!(1100));
    assert_eq!(v.positions[0].average_price, dec!(100.01));
    assert!(e.account_view("nobody").is_none());
}

#[test]
fn a_per_order_cap_slices_fills_across_events() {
    let mut e = engine();
    let id = e
        .submit_with(
            buy(dec!(10)),
            SubmitOptions {
                max_fill_per_event: Some(dec!(3)),
                ..SubmitOptions::default()
            },
        )
        .unwrap();
    assert_eq!(e.order(id).unwrap().filled_quantity, dec!(3));
    let mut seen = vec![dec!(3)];
    while e.order(id).unwrap().status != OrderStatus::Filled {
        quote(&mut e, "AAPL", dec!(99.99), dec!(100.01), dec!(1000));
        seen.push(e.order(id).unwrap().filled_quantity);
    }
    assert_eq!(seen, vec![dec!(3), dec!(6), dec!(9), dec!(10)]);
}

#[test]
fn an_order_told_to_wait_meets_the_market_at_its_next_event() {
    let mut e = engine();
    let wait = SubmitOptions {
        wait_for_market: true,
        ..SubmitOptions::default()
    };
    let id = e.submit_with(buy(dec!(10)), wait.clone()).unwrap();
    let o = e.order(id).unwrap();
    assert_eq!(
        (o.status, o.filled_quantity),
        (OrderStatus::Accepted, dec!(0))
    );
    quote(&mut e, "AAPL", dec!(99.99), dec!(100.01), dec!(1000));
    assert_eq!(e.order(id).unwrap().status, OrderStatus::Filled);
    // IOC lives for its moment only: it matches at once even when told to wait.
    let mut ioc = buy(dec!(5));
    ioc.time_in_force = TimeInForce::Ioc;
    let id = e.submit_with(ioc, wait).unwrap();
    assert_eq!(e.order(id).unwrap().status, OrderStatus::Filled);
}

#[test]
fn the_engines_open_flag_follows_the_calendar_across_closes_and_holidays() {
    // The engine keeps the next session instead of asking the calendar per
    // tick; every half hour (opens and closes fall on them) for five weeks
    // from 5 January 2026 (MLK Day, the 19th, is closed) it must agree with
    // the calendar itself.
    let mut e = engine();
    let mut t = MONDAY_OPEN;
    for _ in 0..(5 * 7 * 48) {
        e.advance_to(t);
        assert_eq!(e.is_open(), e.config().session.is_open(t), "at {t:?}");
        t = t.plus_millis(30 * 60_000);
    }
}

fn trailing_sell(trail: Trail) -> OrderRequest {
    OrderRequest {
        order_type: OrderType::Stop,
        trail: Some(trail),
        time_in_force: TimeInForce::Gtc,
        ..OrderRequest::market("A1", "t1", "AAPL", Side::Sell, dec!(10))
    }
}

fn stop_and_mark(e: &Engine, id: OrderId) -> (Option<Decimal>, Option<Decimal>) {
    let o = e.order(id).unwrap();
    (o.request.stop_price, o.hwm)
}

#[test]
fn a_trailing_stop_follows_the_best_price_and_sells_when_the_price_falls_back() {
    let mut e = engine();
    e.submit(buy(dec!(10))).unwrap();
    let id = e.submit(trailing_sell(Trail::Price(dec!(2)))).unwrap();
    // Armed at the bid: the mark a seller could have received.
    assert_eq!(
        stop_and_mark(&e, id),
        (Some(dec!(97.99)), Some(dec!(99.99)))
    );
    quote(&mut e, "AAPL", dec!(104.99), dec!(105.01), dec!(1000));
    assert_eq!(
        stop_and_mark(&e, id),
        (Some(dec!(102.99)), Some(dec!(104.99)))
    );
    // A fall above the stop moves nothing back.
    quote(&mut e, "AAPL", dec!(103.50), dec!(103.52), dec!(1000));
    assert_eq!(
        stop_and_mark(&e, id),
        (Some(dec!(102.99)), Some(dec!(104.99)))
    );
    assert_eq!(status(&e, id), OrderStatus::Accepted);
    // The bid reaching the stop triggers it: it sells at the market.
    quote(&mut e, "AAPL", dec!(102.90), dec!(102.92), dec!(1000));
    assert_eq!(status(&e, id), OrderStatus::Filled);
    assert!(e.order(id).unwrap().triggered);
    conserved(&e);
}

#[test]
fn a_percent_trail_and_a_buy_trail_follow_their_own_side() {
    let mut e = engine();
    let sell = e.submit(trailing_sell(Trail::Percent(dec!(1)))).unwrap();
    // 1 % below 99.99 is 98.9901: a sell's stop rounds down to 98.99.
    assert_eq!(stop_and_mark(&e, sell).0, Some(dec!(98.99)));
    let mut b = trailing_sell(Trail::Price(dec!(1)));
    b.side = Side::Buy;
    b.client_order_id = "t2".into();
    let buy = e.submit(b).unwrap();
    // A buy trails the ask from above, and its mark is the lowest ask.
    assert_eq!(
        stop_and_mark(&e, buy),
        (Some(dec!(101.01)), Some(dec!(100.01)))
    );
    quote(&mut e, "AAPL", dec!(97.99), dec!(98.01), dec!(1000));
    assert_eq!(
        stop_and_mark(&e, buy),
        (Some(dec!(99.01)), Some(dec!(98.01)))
    );
}

#[test]
fn a_replaced_trail_keeps_the_mark_its_original_reached() {
    let mut e = engine();
    e.submit(buy(dec!(10))).unwrap();
    let id = e.submit(trailing_sell(Trail::Price(dec!(2)))).unwrap();
    quote(&mut e, "AAPL", dec!(104.99), dec!(105.01), dec!(1000));
    quote(&mut e, "AAPL", dec!(104.59), dec!(104.61), dec!(1000));
    let changes = ReplaceRequest {
        trail: Some(Trail::Price(dec!(0.5))),
        ..ReplaceRequest::default()
    };
    let new = e.replace(id, changes).unwrap();
    // Tightened behind 104.99 (the mark), not behind today's 104.59.
    assert_eq!(
        stop_and_mark(&e, new),
        (Some(dec!(104.49)), Some(dec!(104.99)))
    );
    // A stop price asked of a trailing stop is refused; the order keeps working.
    let bad = ReplaceRequest {
        stop_price: Some(dec!(50)),
        ..ReplaceRequest::default()
    };
    assert!(e.replace(new, bad).is_err());
    assert_eq!(status(&e, new), OrderStatus::Accepted);
}

#[test]
fn malformed_trails_are_refused() {
    let mut e = engine();
    for trail in [
        Trail::Price(dec!(0)),
        Trail::Price(dec!(1.001)),
        Trail::Percent(dec!(100)),
        Trail::Percent(dec!(-1)),
        // Wider than the price: no stop is left behind it.
        Trail::Price(dec!(150)),
    ] {
        let r = e.submit(trailing_sell(trail)).unwrap_err();
        assert_eq!(r.reason, RejectReason::InvalidPrice, "{trail:?}");
    }
    let mut limit = trailing_sell(Trail::Price(dec!(1)));
    limit.order_type = OrderType::Limit;
    limit.limit_price = Some(dec!(90));
    assert!(e.submit(limit).is_err());
    let mut both = trailing_sell(Trail::Price(dec!(1)));
    both.stop_price = Some(dec!(90));
    assert!(e.submit(both).is_err());
    let mut unquoted = trailing_sell(Trail::Price(dec!(1)));
    unquoted.instrument = Instrument::equity("ZZZZ");
    assert!(e.submit(unquoted).is_err());
    assert_eq!(e.working_orders(), 0);
}

/// A gtc sell of `qty` AAPL in `account`: a limit far above the market, or a
/// stop far below it, so that it works without filling.
fn resting_sell(account: &str, id: &str, qty: Decimal, stop: bool) -> OrderRequest {
    let mut r = OrderRequest::limit(account, id, "AAPL", Side::Sell, qty, dec!(150));
    if stop {
        r.order_type = OrderType::Stop;
        r.limit_price = None;
        r.stop_price = Some(dec!(50));
    }
    r.time_in_force = TimeInForce::Gtc;
    r
}

#[test]
fn shares_held_for_working_sells_cannot_be_sold_again() {
    let mut e = engine();
    let long = OrderRequest::market("C1", "long", "AAPL", Side::Buy, dec!(50));
    let long = e.submit(long).unwrap();
    assert_eq!(status(&e, long), OrderStatus::Filled);
    let first = e.submit(resting_sell("C1", "s1", dec!(40), false)).unwrap();
    // 40 of the 50 are held for the first sell: 10 are free, 11 are not,
    // and a cash account may not sell what it does not have.
    let more = e.submit(resting_sell("C1", "s2", dec!(11), false));
    let refused = more.expect_err("only 10 are free");
    assert_eq!(refused.reason, RejectReason::ShortSellingNotAllowed);
    assert!(
        refused.message.contains("40 of the 50 held"),
        "{}",
        refused.message
    );
    e.submit(resting_sell("C1", "s3", dec!(10), false))
        .expect("the 10 free shares");
    // A replace is checked as if the order it replaces were gone.
    let grown = ReplaceRequest {
        quantity: Some(dec!(40)),
        ..ReplaceRequest::default()
    };
    let first = e.replace(first, grown).expect("its own 40 again");
    let too_big = ReplaceRequest {
        quantity: Some(dec!(41)),
        ..ReplaceRequest::default()
    };
    assert!(e.replace(first, too_big).is_err(), "the 10 are s3's");
    conserved(&e);
}

#[test]
fn alternatives_hold_the_position_they_close_once() {
    let mut e = engine();
    e.submit(OrderRequest::market(
        "C1",
        "long",
        "AAPL",
        Side::Buy,
        dec!(50),
    ))
    .unwrap();
    // An OCO: a take-profit and a stop-loss on all 50 shares.
    let take = e.submit(resting_sell("C1", "tp", dec!(50), false)).unwrap();
    let stop = e
        .submit_with(
            resting_sell("C1", "sl", dec!(50), true),
            SubmitOptions {
                alternatives: vec![take],
                ..SubmitOptions::default()
            },
        )
        .expect("an alternative to the take-profit, not a second sale");
    assert!(e.order(stop).unwrap().status.is_working());
    // Without the link the stop-loss would sell shares already held.
    assert!(e
        .validate(&resting_sell("C1", "sl2", dec!(50), true))
        .is_err());
    assert!(e
        .validate_with(&resting_sell("C1", "sl3", dec!(50), true), &[stop])
        .is_ok());
    // A plain sell finds all 50 held, by the pair together.
    let plain = e.validate(&resting_sell("C1", "plain", dec!(1), false));
    assert!(
        plain.is_err_and(|r| r.message.contains("50 of the 50 held")),
        "the pair holds the 50 once"
    );
    // A replaced member keeps its place in the pair.
    let tighter = ReplaceRequest {
        stop_price: Some(dec!(60)),
        ..ReplaceRequest::default()
    };
    let stop = e
        .replace(stop, tighter)
        .expect("still the take-profit's alternative");
    assert!(e.order(stop).unwrap().status.is_working());
    conserved(&e);
}

#[test]
fn in_a_margin_account_a_sale_beyond_the_free_shares_is_a_short() {
    let mut e = engine();
    e.submit(OrderRequest::market(
        "A1",
        "long",
        "AAPL",
        Side::Buy,
        dec!(50),
    ))
    .unwrap();
    let all = e
        .submit(resting_sell("A1", "all", dec!(50), false))
        .unwrap();
    assert_eq!(e.hold(all), Decimal::ZERO, "a closing sale holds nothing");
    // The next 20 would be sold short: they take buying power.
    let short = e
        .submit(resting_sell("A1", "short", dec!(20), false))
        .unwrap();
    assert!(e.hold(short) > Decimal::ZERO, "held {}", e.hold(short));
    conserved(&e);
}

#[test]
fn an_ended_order_can_be_forgotten_and_a_working_one_cannot() {
    let mut e = engine();
    let resting = e
        .submit(OrderRequest::limit(
            "A1",
            "rest",
            "AAPL",
            Side::Buy,
            dec!(5),
            dec!(90),
        ))
        .unwrap();
    let filled = e.submit(buy(dec!(10))).unwrap();
    let reserved = e.account("A1").unwrap().reserved;
    assert!(!e.forget(resting), "a working order holds buying power");
    assert!(e.order(resting).is_some());
    assert!(e.forget(filled));
    assert!(!e.forget(filled), "forgotten once");
    assert!(e.order(filled).is_none());
    assert!(e.order_by_client_id("A1", "c1").is_none());
    assert_eq!(e.orders().map(|o| o.id).collect::<Vec<_>>(), vec![resting]);
    assert_eq!(
        e.account("A1").unwrap().reserved,
        reserved,
        "money untouched"
    );
    assert_eq!(
        e.account("A1")
            .unwrap()
            .position_quantity(&Instrument::equity("AAPL")),
        dec!(10)
    );
    // Ids go on as if it were still there, and the forgotten one's
    // client order id can be used again.
    let next = e.submit(buy(dec!(1))).unwrap();
    assert_eq!(next, OrderId(3));
    assert_eq!(e.orders_accepted(), 3);
    assert_eq!(e.order_by_client_id("A1", "c1").map(|o| o.id), Some(next));
    assert!(e.cancel(resting).is_ok());
    assert!(e.forget(resting));
    assert_eq!(e.account("A1").unwrap().reserved, dec!(0));
    conserved(&e);
}

/// The valuation kept for buying-power checks (`accounts`) is always what
/// valuing the account afresh gives: after fills, quotes, holds, and, for
/// options, whose marks are priced from time to expiry, the clock moving.
#[test]
fn a_kept_valuation_is_always_the_fresh_one() {
    let mut e = engine();
    let fresh = |e: &Engine, id: &str| {
        let a = e.account(id).unwrap();
        buying_power::valuation(a, e)
    };
    let same = |e: &Engine, step: &str| {
        for id in ["A1", "C1"] {
            // Asked twice: the second answer is the kept one.
            assert_eq!(e.kept_valuation(id), Some(fresh(e, id)), "{step}: {id}");
            assert_eq!(e.kept_valuation(id), Some(fresh(e, id)), "{step}: {id}");
        }
    };
    same(&e, "opened");
    let before = e.kept_valuation("A1");
    e.submit(buy(dec!(10))).unwrap();
    same(&e, "a fill");
    assert_ne!(
        e.kept_valuation("A1"),
        before,
        "the fill changed the positions"
    );
    let resting = OrderRequest::limit("A1", "rest", "AAPL", Side::Buy, dec!(5), dec!(90));
    e.submit(resting).unwrap();
    same(&e, "a hold");
    let before = e.kept_valuation("A1");
    quote(&mut e, "AAPL", dec!(109.99), dec!(110.01), dec!(1000));
    same(&e, "a quote");
    assert_ne!(e.kept_valuation("A1"), before, "the quote moved the mark");
    let occ = "SPY   260116C00450000";
    e.submit(option_order(
        "A1",
        occ,
        Side::Buy,
        PositionEffect::Open,
        dec!(2),
    ))
    .unwrap();
    same(&e, "an option bought");
    let before = e.kept_valuation("A1");
    e.advance_to(MONDAY_OPEN.plus_millis(3_600_000));
    same(&e, "an hour later");
    assert_ne!(
        e.kept_valuation("A1"),
        before,
        "an hour closer to expiry, the option is worth less"
    );
    e.set_price(&Instrument::equity("SPY"), dec!(460), dec!(100));
    same(&e, "a price set");
}

/// A stock-only margin account keeps each position's term (`accounts`):
/// whichever of its positions a quote or a fill touches, or a new position
/// comes before, the kept valuation is the fresh one, to the digit.
#[test]
fn kept_terms_give_the_fresh_valuation_to_the_digit() {
    let mut e = engine();
    let exact = |e: &Engine, step: &str| {
        let fresh = buying_power::valuation(e.account("A1").unwrap(), e);
        let kept = e.kept_valuation("A1").unwrap();
        let digits = |v: &Checked<buying_power::Valuation>| {
            v.map(|v| (v.positions.to_string(), v.requirement.to_string()))
        };
        assert_eq!(digits(&kept), digits(&fresh), "{step}");
    };
    for (n, symbol) in ["MSFT", "AAPL", "SPY"].into_iter().enumerate() {
        if symbol == "MSFT" {
            quote(&mut e, "MSFT", dec!(399.99), dec!(400.01), dec!(1000));
        }
        let coid = format!("b{n}");
        let order = OrderRequest::market("A1", &coid, symbol, Side::Buy, dec!(3));
        e.submit(order).unwrap();
        exact(&e, symbol);
    }
    quote(&mut e, "AAPL", dec!(101.005), dec!(101.015), dec!(1000));
    exact(&e, "the middle position's mark moved");
    e.submit(OrderRequest::market(
        "A1",
        "s1",
        "MSFT",
        Side::Sell,
        dec!(1),
    ))
    .unwrap();
    exact(&e, "a fill changed the first position");
    // ZZZ sorts after the others; BRK before most: each shifts the kept slots.
    for (symbol, price) in [("ZZZ", dec!(10)), ("BRK", dec!(50))] {
        quote(
            &mut e,
            symbol,
            price - dec!(0.01),
            price + dec!(0.01),
            dec!(1000),
        );
        let coid = format!("n-{symbol}");
        e.submit(OrderRequest::market(
            "A1",
            &coid,
            symbol,
            Side::Buy,
            dec!(2),
        ))
        .unwrap();
        exact(&e, symbol);
    }
    e.submit(OrderRequest::market("A1", "s2", "BRK", Side::Sell, dec!(2)))
        .unwrap();
    exact(&e, "a position closed");
    quote(&mut e, "SPY", dec!(455.11), dec!(455.13), dec!(1000));
    exact(&e, "the last position's mark moved");
}
