//! The trader over the gateway's test world: what the rules fire goes
//! through the path as fired, paper and live alike.

use adapters::{OrderStatus, Side};
use chrono::TimeZone;
use rust_decimal_macros::dec;

use super::*;
use crate::rules::{Condition, Entry, Exit, Strategy, Trade};
use crate::testkit::*;

fn t(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 15, 0, 0).unwrap() + chrono::Duration::minutes(minute)
}

/// Buy 5 AAPL at or below 98, out at +3 %, one round trip.
fn dip_buyer() -> Rules {
    Rules::new(Strategy {
        name: "dip".into(),
        trade: Trade::Equity {
            symbol: "AAPL".into(),
            side: Side::Buy,
        },
        quantity: dec!(5),
        entry: Entry {
            when: Condition::AtOrBelow { price: dec!(98) },
            limit: None,
            expire_after_minutes: None,
        },
        exit: Exit {
            take_profit_percent: Some(dec!(3)),
            ..Exit::default()
        },
        round_trips: Some(1),
    })
    .unwrap()
}

/// Quotes `price` at the paper and live engines, then steps the trader.
async fn step(w: &World, trader: &mut Trader, minute: i64, price: Decimal) -> Vec<Happened> {
    set_price(&w.paper, "AAPL", price);
    set_price(&w.live, "AAPL", price);
    let marks = BTreeMap::from([(Instrument::equity("AAPL"), price)]);
    trader.step(&w.path, t(minute), marks).await
}

fn fired_ids(h: &[Happened]) -> Vec<(String, bool)> {
    h.iter()
        .filter_map(|h| match h {
            Happened::Fired { order, again } => Some((order.client_order_id.clone(), *again)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn paper_and_live_fire_the_same_orders_and_the_broker_gets_them_as_fired() {
    let w = world();
    w.paper_cycle("ann-tradier").await;
    let mut paper = Trader::new(id("ann-tradier"), Mode::Paper, dip_buyer());
    let mut live = Trader::new(id("ann-tradier"), Mode::Live, dip_buyer());
    for (minute, price) in [
        (0, dec!(100)),
        (1, dec!(97)),
        (2, dec!(99)),
        (3, dec!(100.5)),
    ] {
        step(&w, &mut paper, minute, price).await;
        step(&w, &mut live, minute, price).await;
    }
    // The fills of the last exit are read at the next step.
    step(&w, &mut paper, 4, dec!(100)).await;
    step(&w, &mut live, 4, dec!(100)).await;
    assert_eq!(paper.fired(), live.fired());
    let ids: Vec<_> = live
        .fired()
        .iter()
        .map(|f| match f {
            Fire::Submit(o) => o.client_order_id.as_str(),
            Fire::Cancel { client_order_id } => client_order_id.as_str(),
        })
        .collect();
    assert_eq!(ids, ["dip-1-entry", "dip-1-exit"]);
    assert_eq!(live.rules().round_trips(), 1);
    assert_eq!(paper.rules().round_trips(), 1);
    assert_eq!(replay(dip_buyer(), live.journal()), live.fired());

    let engine = w.live.lock().unwrap();
    let at_broker: Vec<(String, Side, Decimal)> = engine
        .engine()
        .orders()
        .map(|o| {
            (
                o.request.client_order_id.clone(),
                o.request.side,
                o.request.quantity,
            )
        })
        .collect();
    assert_eq!(
        at_broker,
        [
            ("dip-1-entry".into(), Side::Buy, dec!(5)),
            ("dip-1-exit".into(), Side::Sell, dec!(5))
        ]
    );
}

#[tokio::test]
async fn a_refusal_is_told_to_the_rules_and_an_outage_is_sent_again_under_the_same_id() {
    let w = world();
    let mut live = Trader::new(id("ann-tradier"), Mode::Live, dip_buyer());
    // The gate is closed: refused, the rules are flat again and fire anew.
    let h = step(&w, &mut live, 0, dec!(97)).await;
    assert!(
        matches!(
            &h[1],
            Happened::Refused {
                kind: ErrorKind::Rejected,
                http_status: 403,
                ..
            }
        ),
        "{h:?}"
    );
    w.paper_cycle("ann-tradier").await;
    w.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let h = step(&w, &mut live, 1, dec!(97)).await;
    assert_eq!(fired_ids(&h), [("dip-1-entry-2".into(), false)]);
    assert!(
        matches!(
            &h[1],
            Happened::Refused {
                kind: ErrorKind::Unavailable,
                http_status: 503,
                ..
            }
        ),
        "{h:?}"
    );
    // Still down: the same order again, and nothing new fired.
    let h = step(&w, &mut live, 2, dec!(97)).await;
    assert_eq!(fired_ids(&h), [("dip-1-entry-2".into(), true)]);
    w.down.store(false, std::sync::atomic::Ordering::SeqCst);
    let h = step(&w, &mut live, 3, dec!(97)).await;
    assert_eq!(fired_ids(&h), [("dip-1-entry-2".into(), true)]);
    assert!(
        matches!(&h[1], Happened::Answered { result } if result.status == OrderStatus::Filled),
        "{h:?}"
    );
    assert_eq!(w.live_orders(), 1);
    assert_eq!(
        live.fired().len(),
        2,
        "the two entries fired, each sent as often as needed"
    );
    assert_eq!(replay(dip_buyer(), live.journal()), live.fired());
}
