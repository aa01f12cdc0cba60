//! The production Tradier adapter against the simulated Tradier, served on
//! 127.0.0.1 over a real socket: fills, cancels, partial fills, positions,
//! balances, a lost response reconciled by tag, a refusal, and the
//! account-events stream.

mod common;

use std::sync::Arc;
use std::time::Duration;

use adapters::http::{HttpSetup, RetryPolicy, SystemClock, TcpDialer};
use adapters::tradier::{TradierAdapter, TradierConfig};
use adapters::{
    BrokerAdapter, CancelStatus, ErrorKind, Instrument, Order, OrderResult, OrderStatus, Side,
};
use broker_models::brokerage::BrokerEventKind;
use broker_models::faults::FaultPlan;
use common::{serve, Served};
use futures_util::StreamExt;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn adapter(s: &Served) -> TradierAdapter {
    let setup = HttpSetup {
        dialer: Arc::new(TcpDialer::new().expect("tls config")),
        clock: Arc::new(SystemClock),
        // Lost and hung responses are held 5 s by the model: give up well before.
        request_timeout: Duration::from_secs(1),
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(500),
            max_wait: Duration::from_secs(5),
        },
        jitter_seed: 42,
    };
    TradierAdapter::new(
        TradierConfig {
            base_url: s.base_url.clone(),
            access_token: s.credential("access_token"),
            account_id: s.account.clone(),
        },
        setup,
    )
}

async fn tradier() -> (Served, TradierAdapter) {
    let served = serve("tradier", 7, FaultPlan::default()).await;
    let a = adapter(&served);
    (served, a)
}

/// Polls until `done` holds (bounded: 10 s).
async fn poll_until(
    a: &TradierAdapter,
    id: &str,
    done: impl Fn(&OrderResult) -> bool,
) -> (OrderResult, Vec<OrderResult>) {
    let mut seen = Vec::new();
    for _ in 0..100 {
        let r = a.get_order(id).await.expect("get_order");
        seen.push(r.clone());
        if done(&r) {
            return (r, seen);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("order {id} never got there: {seen:?}");
}

fn ledger_count(s: &Served, client_order_id: &str) -> usize {
    s.shared
        .lock()
        .ledger()
        .orders
        .iter()
        .filter(|o| o.client_order_id == client_order_id)
        .count()
}

#[tokio::test]
async fn market_buy_fills_and_positions_and_account_reflect_it() {
    let (served, a) = tradier().await;
    assert_eq!(a.account_id(), served.account);
    assert!(!format!("{a:?}").contains(&served.credential("access_token")));
    let before = a.get_account().await.expect("account");
    assert_eq!(before.cash, dec!(100000));

    let r = a
        .submit_order(&Order::market("intent-buy-1", "AAPL", Side::Buy, dec!(10)))
        .await
        .expect("submit");
    assert_eq!(r.client_order_id, "intent-buy-1");
    let (filled, _) = poll_until(&a, &r.broker_order_id, |r| r.status == OrderStatus::Filled).await;
    assert_eq!(
        (filled.filled_quantity, filled.remaining_quantity),
        (dec!(10), dec!(0))
    );
    let price = filled.average_fill_price.expect("a fill price");
    assert!(price > Decimal::ZERO);
    assert_eq!(filled.broker_status, "filled");

    let positions = a.get_positions().await.expect("positions");
    assert_eq!(positions.len(), 1);
    let p = &positions[0];
    assert_eq!(
        (&p.instrument, p.quantity),
        (&Instrument::equity("AAPL"), dec!(10))
    );
    assert!(
        (p.average_price - price).abs() < dec!(0.01),
        "{p:?} vs {price}"
    );
    assert_eq!(p.account_id, served.account);

    let after = a.get_account().await.expect("account");
    assert!(after.cash < before.cash, "{after:?}");
    assert!(
        (before.cash - after.cash - dec!(10) * price).abs() < dec!(1),
        "{after:?}"
    );
    assert!(after.equity > Decimal::ZERO && after.buying_power > Decimal::ZERO);

    // Selling what is held is a plain sell, selling more than that would be a short.
    let sell = a
        .submit_order(&Order::market(
            "intent-sell-1",
            "AAPL",
            Side::Sell,
            dec!(10),
        ))
        .await
        .expect("sell");
    poll_until(&a, &sell.broker_order_id, |r| {
        r.status == OrderStatus::Filled
    })
    .await;
    assert!(a.get_positions().await.expect("positions").is_empty());
}

#[tokio::test]
async fn limit_rests_then_cancels_twice_and_a_fill_is_too_late() {
    let (_served, a) = tradier().await;
    let r = a
        .submit_order(&Order::limit(
            "intent-lim-1",
            "AAPL",
            Side::Buy,
            dec!(5),
            dec!(1.00),
        ))
        .await
        .expect("submit");
    assert!(
        matches!(r.status, OrderStatus::Accepted | OrderStatus::Pending),
        "{r:?}"
    );
    assert_eq!(
        (r.filled_quantity, r.remaining_quantity),
        (dec!(0), dec!(5))
    );
    let c = a.cancel_order(&r.broker_order_id).await.expect("cancel");
    assert_eq!(c.broker_order_id, r.broker_order_id);
    assert_eq!(c.status, CancelStatus::Canceled);
    assert_eq!(
        a.get_order(&r.broker_order_id).await.unwrap().status,
        OrderStatus::Canceled
    );
    let again = a
        .cancel_order(&r.broker_order_id)
        .await
        .expect("double cancel");
    assert_eq!(again.status, CancelStatus::Canceled);

    let m = a
        .submit_order(&Order::market("intent-mkt-2", "MSFT", Side::Buy, dec!(1)))
        .await
        .expect("submit");
    poll_until(&a, &m.broker_order_id, |r| r.status == OrderStatus::Filled).await;
    let late = a.cancel_order(&m.broker_order_id).await.unwrap_err();
    assert_eq!(late.kind, ErrorKind::TooLateToCancel, "{late}");

    let unknown = a.get_order("1").await.unwrap_err();
    assert_eq!(unknown.kind, ErrorKind::NotFound);
    assert_eq!(
        a.cancel_order("1").await.unwrap_err().kind,
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn partial_fills_accumulate_with_a_weighted_average() {
    let (served, a) = tradier().await;
    let r = a
        .submit_order(&Order::market("sim-partial-1", "AAPL", Side::Buy, dec!(4)))
        .await
        .expect("submit");
    let (done, seen) =
        poll_until(&a, &r.broker_order_id, |r| r.status == OrderStatus::Filled).await;
    assert!(
        seen.iter().any(|s| s.status == OrderStatus::PartiallyFilled
            && s.filled_quantity > Decimal::ZERO
            && s.filled_quantity < dec!(4)),
        "a partial state was seen: {seen:?}"
    );
    assert!(seen
        .windows(2)
        .all(|w| w[0].filled_quantity <= w[1].filled_quantity));
    for s in &seen {
        assert_eq!(
            s.filled_quantity + s.remaining_quantity,
            if s.status.is_terminal() {
                s.filled_quantity
            } else {
                dec!(4)
            }
        );
    }
    assert_eq!(done.filled_quantity, dec!(4));
    // The average is weighted by each fill's quantity, as the broker filled it.
    let (qty, notional) = served
        .shared
        .lock()
        .events_since(0)
        .iter()
        .filter(|e| e.vendor_id == r.broker_order_id)
        .filter_map(|e| match &e.kind {
            BrokerEventKind::Fill {
                quantity, price, ..
            } => Some((*quantity, *quantity * *price)),
            _ => None,
        })
        .fold((Decimal::ZERO, Decimal::ZERO), |(q, n), (fq, fnl)| {
            (q + fq, n + fnl)
        });
    assert_eq!(qty, dec!(4));
    let avg = done.average_fill_price.expect("average");
    assert!(
        (avg - notional / qty).abs() < dec!(0.0001),
        "{avg} vs {}",
        notional / qty
    );
}

#[tokio::test]
async fn a_lost_submit_reconciles_to_exactly_one_order() {
    let (served, a) = tradier().await;
    let r = a
        .submit_order(&Order::limit(
            "sim-lost-1",
            "AAPL",
            Side::Buy,
            dec!(2),
            dec!(1.00),
        ))
        .await
        .expect("reconciled by tag");
    assert_eq!(r.client_order_id, "sim-lost-1");
    assert!(!r.broker_order_id.is_empty());
    assert_eq!(ledger_count(&served, "sim-lost-1"), 1, "never sent twice");

    let h = a
        .submit_order(&Order::market("sim-hang-1", "AAPL", Side::Buy, dec!(1)))
        .await
        .expect("reconciled by tag");
    assert_eq!(h.client_order_id, "sim-hang-1");
    assert_eq!(ledger_count(&served, "sim-hang-1"), 1);
}

#[tokio::test]
async fn refusals_are_rejected_and_odd_ids_round_trip() {
    let (served, a) = tradier().await;
    let e = a
        .submit_order(&Order::market("sim-reject-1", "AAPL", Side::Buy, dec!(1)))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected, "{e}");
    let bp = a
        .submit_order(&Order::market("too-big", "AAPL", Side::Buy, dec!(100000)))
        .await
        .unwrap_err();
    assert_eq!(bp.kind, ErrorKind::Rejected, "{bp}");
    assert!(bp.message.contains("buying power"), "{bp}");

    // An id Tradier's tag alphabet cannot carry is escaped and decoded back.
    let odd = a
        .submit_order(&Order::market("order_1:x", "AAPL", Side::Buy, dec!(1)))
        .await
        .expect("submit");
    assert_eq!(odd.client_order_id, "order_1:x");
    assert_eq!(ledger_count(&served, "x-order-5f1-3ax"), 1);
    assert_eq!(
        a.get_order(&odd.broker_order_id)
            .await
            .unwrap()
            .client_order_id,
        "order_1:x"
    );
}

#[tokio::test]
async fn order_updates_deliver_a_fill() {
    let (_served, a) = tradier().await;
    let mut updates = a.order_updates().await.expect("stream opens");
    let r = a
        .submit_order(&Order::market(
            "intent-stream-1",
            "AAPL",
            Side::Buy,
            dec!(3),
        ))
        .await
        .expect("submit");
    let filled = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let u = updates
                .next()
                .await
                .expect("stream open")
                .expect("an update");
            if u.broker_order_id == r.broker_order_id && u.status == OrderStatus::Filled {
                return u;
            }
        }
    })
    .await
    .expect("a fill within 10 s");
    assert_eq!(filled.client_order_id, "intent-stream-1");
    assert_eq!(filled.filled_quantity, dec!(3));
    assert!(filled.average_fill_price.is_some_and(|p| p > Decimal::ZERO));
}

/// The stream is cut after every message; reconnecting and re-reading the
/// day's orders still delivers the fill, once, and states never go backwards.
#[tokio::test]
async fn stream_drops_lose_no_fill() {
    let plan = FaultPlan::from_toml(
        "[[rules]]\nfault = { kind = \"stream_disconnect\", after_events = 1 }",
        "test",
    )
    .expect("plan");
    let served = serve("tradier", 9, plan).await;
    let a = adapter(&served);
    let mut updates = a.order_updates().await.expect("stream opens");
    let first = a
        .submit_order(&Order::limit(
            "intent-rest-1",
            "AAPL",
            Side::Buy,
            dec!(1),
            dec!(1.00),
        ))
        .await
        .expect("submit");
    let r = a
        .submit_order(&Order::market("intent-drop-1", "AAPL", Side::Buy, dec!(2)))
        .await
        .expect("submit");
    let mut ours = Vec::new();
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let u = updates
                .next()
                .await
                .expect("stream open")
                .expect("an update");
            if u.broker_order_id == r.broker_order_id {
                ours.push(u.clone());
                if u.status == OrderStatus::Filled {
                    return;
                }
            }
        }
    })
    .await
    .expect("the fill arrives despite the drops");
    assert_eq!(
        ours.iter()
            .filter(|u| u.status == OrderStatus::Filled)
            .count(),
        1
    );
    assert!(ours
        .windows(2)
        .all(|w| w[0].filled_quantity <= w[1].filled_quantity));
    assert_ne!(first.broker_order_id, r.broker_order_id);
}

#[tokio::test]
async fn modify_keeps_the_id_and_changes_the_price_but_never_the_quantity() {
    let (served, a) = tradier().await;
    let r = a
        .submit_order(&Order::limit(
            "intent-modify-1",
            "AAPL",
            Side::Buy,
            dec!(1),
            dec!(1.00),
        ))
        .await
        .expect("submit");
    let price = adapters::Replace {
        limit_price: Some(dec!(2.00)),
        ..adapters::Replace::default()
    };
    let m = a
        .replace_order(&r.broker_order_id, &price)
        .await
        .expect("modify");
    assert_eq!(
        m.broker_order_id, r.broker_order_id,
        "a modify keeps the id"
    );
    assert_eq!(m.client_order_id, "intent-modify-1");
    assert!(!m.status.is_terminal(), "{m:?}");
    assert_eq!(m.remaining_quantity, dec!(1));

    let ledger_view = |served: &Served| {
        let b = served.shared.lock();
        let ledger = b.ledger();
        let o = ledger
            .orders
            .iter()
            .find(|o| o.vendor_id == r.broker_order_id)
            .expect("the order in the ledger")
            .clone();
        // The ledger carries no prices; the broker's own record of the order does.
        let limit = b
            .order(&r.broker_order_id)
            .and_then(|o| o.request.limit_price);
        (o.quantity, o.status.is_terminal(), limit)
    };
    assert_eq!(ledger_view(&served), (dec!(1), false, Some(dec!(2))));
    assert_eq!(ledger_count(&served, "intent-modify-1"), 1);

    // A quantity change is refused before anything is sent: the order is untouched.
    let quantity = adapters::Replace {
        quantity: Some(dec!(3)),
        limit_price: Some(dec!(3.00)),
        ..adapters::Replace::default()
    };
    let e = a
        .replace_order(&r.broker_order_id, &quantity)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported, "{e}");
    assert_eq!(ledger_view(&served), (dec!(1), false, Some(dec!(2))));

    // A terminal order cannot be modified: rejected, naming its state.
    a.cancel_order(&r.broker_order_id).await.expect("cancel");
    let e = a
        .replace_order(&r.broker_order_id, &price)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected, "{e}");
    assert!(e.message.contains("canceled"), "{e}");
    assert_eq!(
        a.replace_order("1", &price).await.unwrap_err().kind,
        ErrorKind::NotFound
    );
}

/// The broker applies the modify, then its acknowledgement is lost: the
/// order read back shows the new price, which is the answer; nothing is resent.
#[tokio::test]
async fn a_lost_modify_ack_is_confirmed_by_reading_the_order() {
    let plan: FaultPlan = serde_json::from_value(serde_json::json!({"rules": [
        {"operations": ["replace_order"], "fault": {"kind": "lost_response"}}
    ]}))
    .expect("a fault plan");
    let served = serve("tradier", 7, plan).await;
    let a = adapter(&served);
    let r = a
        .submit_order(&Order::limit(
            "intent-modify-lost",
            "AAPL",
            Side::Buy,
            dec!(1),
            dec!(1.00),
        ))
        .await
        .expect("submit");
    let price = adapters::Replace {
        limit_price: Some(dec!(2.00)),
        ..adapters::Replace::default()
    };
    let m = a
        .replace_order(&r.broker_order_id, &price)
        .await
        .expect("the modify, confirmed by a read");
    assert_eq!(m.broker_order_id, r.broker_order_id);
    let limit = served
        .shared
        .lock()
        .order(&r.broker_order_id)
        .and_then(|o| o.request.limit_price);
    assert_eq!(limit, Some(dec!(2)));
    let b = served.shared.lock();
    let lost: Vec<_> = b
        .fault_log()
        .iter()
        .filter(|f| f.operation == broker_models::faults::Operation::ReplaceOrder)
        .collect();
    assert_eq!(lost.len(), 1, "one PUT, its answer lost: {lost:?}");
}
