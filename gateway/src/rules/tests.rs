use chrono::TimeZone;
use proptest::prelude::{any, prop, prop_assert_eq, proptest};
use rust_decimal_macros::dec;

use super::*;

fn t(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 15, 0, 0).unwrap() + Duration::minutes(minute)
}

fn aapl() -> Instrument {
    Instrument::equity("AAPL")
}

fn tick(minute: i64, price: Decimal) -> Seen {
    Seen::Tick {
        at: t(minute),
        marks: BTreeMap::from([(aapl(), price)]),
    }
}

fn filled(cid: &str, quantity: Decimal, price: Decimal) -> Seen {
    Seen::Order {
        client_order_id: cid.into(),
        status: OrderStatus::Filled,
        filled_quantity: quantity,
        average_fill_price: Some(price),
    }
}

fn ended(cid: &str, status: OrderStatus, quantity: Decimal, price: Option<Decimal>) -> Seen {
    Seen::Order {
        client_order_id: cid.into(),
        status,
        filled_quantity: quantity,
        average_fill_price: price,
    }
}

/// Buy 10 AAPL at or below 98; out at +5 %, -3 % or after an hour.
fn dip_buyer() -> Strategy {
    Strategy {
        name: "dip".into(),
        trade: Trade::Equity {
            symbol: "AAPL".into(),
            side: Side::Buy,
        },
        quantity: dec!(10),
        entry: Entry {
            when: Condition::AtOrBelow { price: dec!(98) },
            limit: None,
            expire_after_minutes: None,
        },
        exit: Exit {
            take_profit_percent: Some(dec!(5)),
            stop_loss_percent: Some(dec!(3)),
            max_hold_minutes: Some(60),
            limit_offset: None,
        },
        round_trips: None,
    }
}

fn submitted(fires: &[Fire]) -> Vec<(String, Side, Decimal, OrderType)> {
    fires
        .iter()
        .filter_map(|f| match f {
            Fire::Submit(o) => Some((o.client_order_id.clone(), o.side, o.quantity, o.order_type)),
            Fire::Cancel { .. } => None,
        })
        .collect()
}

#[test]
fn a_round_trip_enters_on_its_condition_and_takes_its_profit() {
    let mut r = Rules::new(dip_buyer()).unwrap();
    assert!(r.on(&tick(0, dec!(100))).is_empty(), "above 98: no entry");
    let entry = r.on(&tick(1, dec!(97.5)));
    assert_eq!(
        submitted(&entry),
        [("dip-1-entry".into(), Side::Buy, dec!(10), OrderType::Market)]
    );
    assert!(
        r.on(&tick(2, dec!(97))).is_empty(),
        "no second entry while one works"
    );
    r.on(&filled("dip-1-entry", dec!(10), dec!(97.5)));
    assert!(r.on(&tick(3, dec!(102))).is_empty(), "+4.6 % is not +5 %");
    let exit = r.on(&tick(4, dec!(102.4)));
    assert_eq!(
        submitted(&exit),
        [("dip-1-exit".into(), Side::Sell, dec!(10), OrderType::Market)]
    );
    r.on(&filled("dip-1-exit", dec!(10), dec!(102.4)));
    assert_eq!(r.round_trips(), 1);
    assert_eq!(
        submitted(&r.on(&tick(5, dec!(90)))),
        [("dip-2-entry".into(), Side::Buy, dec!(10), OrderType::Market)]
    );
}

#[test]
fn a_stop_loss_and_a_time_exit_get_out() {
    let mut r = Rules::new(dip_buyer()).unwrap();
    r.on(&tick(0, dec!(98)));
    r.on(&filled("dip-1-entry", dec!(10), dec!(98)));
    assert!(r.on(&tick(1, dec!(95.1))).is_empty(), "-2.96 % is not -3 %");
    assert_eq!(submitted(&r.on(&tick(2, dec!(95.06))))[0].0, "dip-1-exit");
    r.on(&filled("dip-1-exit", dec!(10), dec!(95)));

    r.on(&tick(10, dec!(97)));
    r.on(&filled("dip-2-entry", dec!(10), dec!(97)));
    assert!(r.on(&tick(69, dec!(97))).is_empty(), "59 minutes held");
    assert_eq!(submitted(&r.on(&tick(70, dec!(97))))[0].0, "dip-2-exit");
}

#[test]
fn a_refused_entry_leaves_the_strategy_flat_and_a_partial_exit_keeps_the_rest() {
    let mut r = Rules::new(dip_buyer()).unwrap();
    r.on(&tick(0, dec!(97)));
    r.on(&ended("dip-1-entry", OrderStatus::Rejected, dec!(0), None));
    assert_eq!(submitted(&r.on(&tick(1, dec!(97))))[0].0, "dip-1-entry-2");
    r.on(&filled("dip-1-entry-2", dec!(10), dec!(97)));
    r.on(&tick(2, dec!(90)));
    r.on(&ended(
        "dip-1-exit",
        OrderStatus::Canceled,
        dec!(4),
        Some(dec!(90)),
    ));
    assert_eq!(
        submitted(&r.on(&tick(3, dec!(90)))),
        [(
            "dip-1-exit-2".into(),
            Side::Sell,
            dec!(6),
            OrderType::Market
        )]
    );
}

#[test]
fn an_entry_that_waits_too_long_is_canceled_once_and_a_partial_fill_is_held() {
    let mut s = dip_buyer();
    s.entry.limit = Some(dec!(96));
    s.entry.expire_after_minutes = Some(15);
    let mut r = Rules::new(s).unwrap();
    let entry = r.on(&tick(0, dec!(97)));
    let Fire::Submit(order) = &entry[0] else {
        panic!("{entry:?}")
    };
    assert_eq!(
        (order.order_type, order.limit_price),
        (OrderType::Limit, Some(dec!(96)))
    );
    assert!(r.on(&tick(14, dec!(97))).is_empty());
    assert_eq!(
        r.on(&tick(15, dec!(97))),
        [Fire::Cancel {
            client_order_id: "dip-1-entry".into()
        }]
    );
    assert!(r.on(&tick(16, dec!(97))).is_empty(), "asked once");
    r.on(&ended(
        "dip-1-entry",
        OrderStatus::Canceled,
        dec!(3),
        Some(dec!(96)),
    ));
    assert_eq!(
        submitted(&r.on(&tick(17, dec!(90)))),
        [("dip-1-exit".into(), Side::Sell, dec!(3), OrderType::Market)]
    );
}

#[test]
fn a_credit_spread_opens_for_its_credit_and_closes_every_leg_reversed() {
    let short = "AAPL  260116P00095000";
    let long = "AAPL  260116P00090000";
    let strategy = Strategy {
        name: "put-credit".into(),
        trade: Trade::Spread {
            underlying: "AAPL".into(),
            side: Side::Sell,
            legs: vec![
                SpreadLeg {
                    occ: short.into(),
                    side: Side::Sell,
                    ratio: dec!(1),
                },
                SpreadLeg {
                    occ: long.into(),
                    side: Side::Buy,
                    ratio: dec!(1),
                },
            ],
        },
        quantity: dec!(2),
        entry: Entry {
            when: Condition::DropFromHigh { percent: dec!(2) },
            limit: Some(dec!(1.50)),
            expire_after_minutes: None,
        },
        exit: Exit {
            take_profit_percent: Some(dec!(50)),
            ..Exit::default()
        },
        round_trips: Some(1),
    };
    let mut r = Rules::new(strategy).unwrap();
    let marks = |underlying: Decimal, short_put: Decimal, long_put: Decimal| {
        BTreeMap::from([
            (aapl(), underlying),
            (Instrument::parse_symbol(short), short_put),
            (Instrument::parse_symbol(long), long_put),
        ])
    };
    let at = |m, marks| Seen::Tick { at: t(m), marks };
    assert!(r.on(&at(0, marks(dec!(100), dec!(2), dec!(1)))).is_empty());
    let open = r.on(&at(1, marks(dec!(97.9), dec!(2.6), dec!(1.1))));
    let Fire::Submit(order) = &open[0] else {
        panic!("{open:?}")
    };
    assert_eq!(order.side, Side::Sell);
    assert_eq!(order.limit_price, Some(dec!(1.50)));
    assert_eq!(order.instrument, aapl());
    let legs = order.legs.as_ref().unwrap();
    assert_eq!(
        legs.iter().map(|l| l.side).collect::<Vec<_>>(),
        [Side::Sell, Side::Buy]
    );
    assert!(legs
        .iter()
        .all(|l| l.position_effect == Some(PositionEffect::Open)));

    r.on(&filled("put-credit-1-entry", dec!(2), dec!(1.50)));
    // Net value 0.80 of a 1.50 credit: 47 % kept, not yet 50 %.
    assert!(r
        .on(&at(2, marks(dec!(101), dec!(1.3), dec!(0.5))))
        .is_empty());
    let close = r.on(&at(3, marks(dec!(102), dec!(1.1), dec!(0.4))));
    let Fire::Submit(order) = &close[0] else {
        panic!("{close:?}")
    };
    assert_eq!(order.side, Side::Buy);
    let legs = order.legs.as_ref().unwrap();
    assert_eq!(
        legs.iter().map(|l| l.side).collect::<Vec<_>>(),
        [Side::Buy, Side::Sell]
    );
    assert!(legs
        .iter()
        .all(|l| l.position_effect == Some(PositionEffect::Close)));
    assert_eq!(order.order_type, OrderType::Market);
    r.on(&filled("put-credit-1-exit", dec!(2), dec!(0.70)));
    assert!(
        r.on(&at(4, marks(dec!(90), dec!(5), dec!(2)))).is_empty(),
        "one round trip asked for"
    );
}

#[test]
fn an_exit_with_a_limit_offset_gives_up_that_much_past_the_mark() {
    let short = "AAPL  260116P00095000";
    let long = "AAPL  260116P00090000";
    let leg = |occ: &str, side| SpreadLeg {
        occ: occ.into(),
        side,
        ratio: dec!(1),
    };
    let spread = Strategy {
        name: "put-credit".into(),
        trade: Trade::Spread {
            underlying: "AAPL".into(),
            side: Side::Sell,
            legs: vec![leg(short, Side::Sell), leg(long, Side::Buy)],
        },
        quantity: dec!(1),
        entry: Entry {
            when: Condition::Always,
            limit: Some(dec!(1.50)),
            expire_after_minutes: None,
        },
        exit: Exit {
            take_profit_percent: Some(dec!(50)),
            limit_offset: Some(dec!(0.05)),
            ..Exit::default()
        },
        round_trips: None,
    };
    let marks = |short_put: Decimal, long_put: Decimal| {
        BTreeMap::from([
            (aapl(), dec!(100)),
            (Instrument::parse_symbol(short), short_put),
            (Instrument::parse_symbol(long), long_put),
        ])
    };
    let at = |m, marks| Seen::Tick { at: t(m), marks };
    let mut r = Rules::new(spread.clone()).unwrap();
    r.on(&at(0, marks(dec!(2.6), dec!(1.1))));
    r.on(&filled("put-credit-1-entry", dec!(1), dec!(1.50)));
    // Worth 0.70 to buy back: bought back at a limit of 0.75.
    let close = r.on(&at(1, marks(dec!(1.1), dec!(0.4))));
    let Fire::Submit(order) = &close[0] else {
        panic!("{close:?}")
    };
    assert_eq!(order.side, Side::Buy);
    assert_eq!(
        (order.order_type, order.limit_price),
        (OrderType::Limit, Some(dec!(0.75)))
    );
    // Unfilled, it ends; the next tick decides again, at the new mark.
    r.on(&Seen::Order {
        client_order_id: "put-credit-1-exit".into(),
        status: OrderStatus::Expired,
        filled_quantity: dec!(0),
        average_fill_price: None,
    });
    let again = r.on(&at(2, marks(dec!(1.0), dec!(0.4))));
    let Fire::Submit(order) = &again[0] else {
        panic!("{again:?}")
    };
    assert_eq!(order.client_order_id, "put-credit-1-exit-2");
    assert_eq!(order.limit_price, Some(dec!(0.65)));

    // A long sells below its mark, never under a cent.
    let mut dip = dip_buyer();
    dip.exit.limit_offset = Some(dec!(500));
    let mut r = Rules::new(dip.clone()).unwrap();
    r.on(&tick(0, dec!(100)));
    r.on(&tick(1, dec!(90)));
    r.on(&filled("dip-1-entry", dec!(3), dec!(90)));
    let out = r.on(&tick(300, dec!(95)));
    let Fire::Submit(order) = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(
        (order.side, order.limit_price),
        (Side::Sell, Some(dec!(0.01)))
    );
    dip.exit.limit_offset = Some(dec!(-1));
    assert!(Rules::new(dip).is_err());
}

#[test]
fn a_strategy_that_cannot_be_traded_is_refused_with_its_reason() {
    let mut bad = dip_buyer();
    bad.quantity = dec!(0);
    assert!(Rules::new(bad).unwrap_err().why.contains("quantity"));
    let mut bad = dip_buyer();
    bad.trade = Trade::Option {
        occ: "AAPL 2026".into(),
        side: Side::Buy,
    };
    assert!(Rules::new(bad).unwrap_err().why.contains("OCC"));
    let mut bad = dip_buyer();
    bad.trade = Trade::Spread {
        underlying: "MSFT".into(),
        side: Side::Sell,
        legs: vec![
            SpreadLeg {
                occ: "AAPL  260116P00095000".into(),
                side: Side::Sell,
                ratio: dec!(1),
            },
            SpreadLeg {
                occ: "AAPL  260116P00090000".into(),
                side: Side::Buy,
                ratio: dec!(1),
            },
        ],
    };
    assert!(Rules::new(bad).unwrap_err().why.contains("not on MSFT"));
}

/// A run's observations: ticks, each followed (sometimes) by the fill of
/// whatever order the rules fired, at the mark or not at all.
fn run(prices: &[(u8, bool)]) -> (Vec<Seen>, Vec<Fire>) {
    let mut r = Rules::new(dip_buyer()).unwrap();
    let (mut journal, mut fired) = (Vec::new(), Vec::new());
    for (i, (p, fills)) in prices.iter().enumerate() {
        let price = Decimal::from(90 + u32::from(*p % 20));
        let seen = tick(i as i64 * 7, price);
        let now = r.on(&seen);
        journal.push(seen);
        for f in &now {
            if let (Fire::Submit(o), true) = (f, fills) {
                let seen = filled(&o.client_order_id, o.quantity, price);
                assert!(r.on(&seen).is_empty());
                journal.push(seen);
            }
        }
        fired.extend(now);
    }
    (journal, fired)
}

proptest! {
    /// The rules hold no state but their inputs: a run's journal, told to
    /// fresh rules, fires exactly the run's orders.
    #[test]
    fn the_same_inputs_fire_the_same_orders(prices in prop::collection::vec((0u8..40, any::<bool>()), 0..60)) {
        let (journal, fired) = run(&prices);
        let fresh = Rules::new(dip_buyer()).unwrap();
        let again: Vec<Fire> = journal.iter().scan(fresh, |r, s| Some(r.on(s))).flatten().collect();
        prop_assert_eq!(again, fired);
    }
}
