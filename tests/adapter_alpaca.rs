//! The production Alpaca adapter against the Alpaca model served on
//! 127.0.0.1 over a real socket: orders, fills, cancels, state, the
//! ambiguous submit, and the trade_updates stream (also through drops).

mod common;

use futures_util::StreamExt;

use std::sync::Arc;
use std::time::Duration;

use adapters::alpaca::{AlpacaAdapter, AlpacaConfig};
use adapters::http::{HttpSetup, RetryPolicy, SystemClock, TcpDialer};
use adapters::{
    BrokerAdapter, CancelStatus, ErrorKind, Instrument, Order, OrderResult, OrderStatus,
    OrderUpdates, Side,
};
use broker_models::brokerage::BrokerEventKind;
use broker_models::faults::FaultPlan;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

/// Bounded polling: how many times, and how much simulated time each step moves.
const POLLS: usize = 60;
const STEP_MS: i64 = 60_000;

fn setup() -> HttpSetup {
    HttpSetup {
        dialer: Arc::new(TcpDialer::new().expect("TLS config")),
        clock: Arc::new(SystemClock),
        // The model holds lost and hung responses for 5 s.
        request_timeout: Duration::from_secs(1),
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(500),
            max_wait: Duration::from_secs(10),
        },
        jitter_seed: 42,
    }
}

async fn served(plan: FaultPlan) -> (common::Served, AlpacaAdapter) {
    let s = common::serve("alpaca", 11, plan).await;
    let adapter = AlpacaAdapter::new(
        AlpacaConfig {
            base_url: s.base_url.clone(),
            key_id: s.credential("key_id"),
            secret_key: s.credential("secret_key"),
            account_id: s.account.clone(),
        },
        setup(),
    );
    (s, adapter)
}

/// Polls the order until `done`, moving the model's time forward between polls.
async fn poll_until(
    s: &common::Served,
    a: &AlpacaAdapter,
    id: &str,
    done: impl Fn(&OrderResult) -> bool,
) -> OrderResult {
    for _ in 0..POLLS {
        let o = a.get_order(id).await.expect("get_order");
        if done(&o) {
            return o;
        }
        s.shared.lock().advance(STEP_MS);
    }
    panic!("order {id} never reached the wanted state");
}

#[tokio::test]
async fn market_buy_fills_and_shows_in_positions_and_account() {
    let (s, a) = served(FaultPlan::default()).await;
    assert_eq!(a.get_account().await.unwrap().cash, dec!(100000));
    let r = a
        .submit_order(&Order::market("mkt-1", "AAPL", Side::Buy, dec!(10)))
        .await
        .unwrap();
    assert_eq!(r.client_order_id, "mkt-1");
    let o = poll_until(&s, &a, &r.broker_order_id, |o| {
        o.status == OrderStatus::Filled
    })
    .await;
    assert_eq!(
        (o.filled_quantity, o.remaining_quantity),
        (dec!(10), dec!(0))
    );
    let price = o.average_fill_price.expect("a fill price");
    assert!(price > Decimal::ZERO);

    let positions = a.get_positions().await.unwrap();
    let p = positions
        .iter()
        .find(|p| p.instrument == Instrument::equity("AAPL"))
        .expect("an AAPL position");
    assert_eq!((p.quantity, p.average_price), (dec!(10), price));
    assert_eq!(p.account_id, s.account);

    let acct = a.get_account().await.unwrap();
    assert_eq!(acct.account_id, s.account);
    assert_eq!(acct.cash, (dec!(100000) - dec!(10) * price).round_dp(2));
    assert!(acct.equity > Decimal::ZERO && acct.buying_power > Decimal::ZERO);
}

#[tokio::test]
async fn a_short_sale_from_flat_is_a_negative_position() {
    let (s, a) = served(FaultPlan::default()).await;
    let r = a
        .submit_order(&Order::market("short-1", "MSFT", Side::Sell, dec!(5)))
        .await
        .unwrap();
    poll_until(&s, &a, &r.broker_order_id, |o| {
        o.status == OrderStatus::Filled
    })
    .await;
    let positions = a.get_positions().await.unwrap();
    let p = positions
        .iter()
        .find(|p| p.instrument == Instrument::equity("MSFT"))
        .expect("an MSFT position");
    assert_eq!(p.quantity, dec!(-5));
}

#[tokio::test]
async fn limit_rests_then_cancels_and_cancelling_again_is_idempotent() {
    let (_s, a) = served(FaultPlan::default()).await;
    let r = a
        .submit_order(&Order::limit(
            "lmt-1",
            "AAPL",
            Side::Buy,
            dec!(3),
            dec!(1.00),
        ))
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.broker_status.as_str()),
        (OrderStatus::Accepted, "new")
    );
    assert_eq!(r.remaining_quantity, dec!(3));
    // Alpaca cancels asynchronously: the first answer is pending_cancel.
    let c = a.cancel_order(&r.broker_order_id).await.unwrap();
    assert_eq!(c.broker_order_id, r.broker_order_id);
    assert_eq!(c.status, CancelStatus::PendingCancel);
    let pending = a.get_order(&r.broker_order_id).await.unwrap();
    assert_eq!(
        (pending.status, pending.broker_status.as_str()),
        (OrderStatus::PendingCancel, "pending_cancel")
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = a.cancel_order(&r.broker_order_id).await.unwrap();
    assert_eq!(again.status, CancelStatus::Canceled);
    let o = a.get_order(&r.broker_order_id).await.unwrap();
    assert_eq!(
        (o.status, o.broker_status.as_str()),
        (OrderStatus::Canceled, "canceled")
    );
}

#[tokio::test]
async fn cancel_after_fill_is_too_late_and_unknown_orders_are_not_found() {
    let (s, a) = served(FaultPlan::default()).await;
    let r = a
        .submit_order(&Order::market(
            "fill-then-cancel",
            "AAPL",
            Side::Buy,
            dec!(1),
        ))
        .await
        .unwrap();
    poll_until(&s, &a, &r.broker_order_id, |o| {
        o.status == OrderStatus::Filled
    })
    .await;
    let e = a.cancel_order(&r.broker_order_id).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLateToCancel);
    assert_eq!(e.broker_code.as_deref(), Some("42210000"));
    let e = a
        .cancel_order("00000000-0000-4000-8000-000000000000")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    let e = a
        .get_order("00000000-0000-4000-8000-000000000000")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn partial_fills_accumulate_with_a_quantity_weighted_average() {
    let (s, a) = served(FaultPlan::default()).await;
    let r = a
        .submit_order(&Order::market("sim-partial-1", "AAPL", Side::Buy, dec!(4)))
        .await
        .unwrap();
    let id = r.broker_order_id.clone();
    let o = poll_until(&s, &a, &id, |o| {
        assert_eq!(o.filled_quantity + o.remaining_quantity, dec!(4), "{o:?}");
        o.status == OrderStatus::Filled
    })
    .await;
    // The model's own fills: several, and the adapter reports their weighted average.
    let fills: Vec<(Decimal, Decimal)> = s
        .shared
        .lock()
        .events_since(0)
        .iter()
        .filter(|e| e.vendor_id == id)
        .filter_map(|e| match &e.kind {
            BrokerEventKind::Fill {
                quantity, price, ..
            } => Some((*quantity, *price)),
            _ => None,
        })
        .collect();
    assert!(fills.len() >= 2, "{fills:?}");
    let qty: Decimal = fills.iter().map(|f| f.0).sum();
    let weighted = fills.iter().map(|f| f.0 * f.1).sum::<Decimal>() / qty;
    assert_eq!(o.filled_quantity, dec!(4));
    let avg = o.average_fill_price.expect("an average");
    assert!(
        (avg - weighted).abs() < dec!(0.000001),
        "{avg} vs {weighted}"
    );
}

#[tokio::test]
async fn a_partially_filled_order_reports_partially_filled() {
    let (s, a) = served(FaultPlan::default()).await;
    let r = a
        .submit_order(&Order::market("sim-partial-2", "AAPL", Side::Buy, dec!(50)))
        .await
        .unwrap();
    let o = poll_until(&s, &a, &r.broker_order_id, |o| {
        o.filled_quantity > Decimal::ZERO
    })
    .await;
    assert_eq!(o.status, OrderStatus::PartiallyFilled, "{o:?}");
    assert_eq!(o.broker_status, "partially_filled");
    assert_eq!(o.remaining_quantity, dec!(50) - o.filled_quantity);
    assert!(o.average_fill_price.is_some());
}

#[tokio::test]
async fn a_lost_response_reconciles_to_exactly_one_order() {
    let (s, a) = served(FaultPlan::default()).await;
    let r = a
        .submit_order(&Order::market("sim-lost-1", "AAPL", Side::Buy, dec!(2)))
        .await
        .unwrap();
    assert_eq!(r.client_order_id, "sim-lost-1");
    let ledger = s.shared.lock().ledger();
    let mine: Vec<_> = ledger
        .orders
        .iter()
        .filter(|o| o.client_order_id == "sim-lost-1")
        .collect();
    assert_eq!(mine.len(), 1, "one intent, one broker order");
    assert_eq!(mine[0].vendor_id, r.broker_order_id);
}

#[tokio::test]
async fn a_hung_submit_reconciles_too() {
    let (s, a) = served(FaultPlan::default()).await;
    let r = a
        .submit_order(&Order::market("sim-hang-1", "AAPL", Side::Buy, dec!(1)))
        .await
        .unwrap();
    let n = s
        .shared
        .lock()
        .ledger()
        .orders
        .iter()
        .filter(|o| o.client_order_id == "sim-hang-1")
        .count();
    assert_eq!((n, r.client_order_id.as_str()), (1, "sim-hang-1"));
}

#[tokio::test]
async fn a_forced_reject_is_rejected() {
    let (_s, a) = served(FaultPlan::default()).await;
    let e = a
        .submit_order(&Order::market("sim-reject-1", "AAPL", Side::Buy, dec!(1)))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected, "{e}");
    assert!(e.broker_code.is_some());
}

#[tokio::test]
async fn resubmitting_an_intent_returns_the_same_order() {
    let (s, a) = served(FaultPlan::default()).await;
    let order = Order::limit("twice", "AAPL", Side::Buy, dec!(1), dec!(1.00));
    let first = a.submit_order(&order).await.unwrap();
    let second = a.submit_order(&order).await.unwrap();
    assert_eq!(first.broker_order_id, second.broker_order_id);
    let n = s
        .shared
        .lock()
        .ledger()
        .orders
        .iter()
        .filter(|o| o.client_order_id == "twice")
        .count();
    assert_eq!(n, 1);
}

/// Stream items until one satisfies `done` (bounded, moving time along).
async fn until_update(
    s: &common::Served,
    updates: &mut OrderUpdates,
    done: impl Fn(&OrderResult) -> bool,
) -> Vec<OrderResult> {
    let mut seen = Vec::new();
    for _ in 0..POLLS {
        match tokio::time::timeout(Duration::from_millis(500), updates.next()).await {
            Ok(Some(Ok(r))) => {
                let finished = done(&r);
                seen.push(r);
                if finished {
                    return seen;
                }
            }
            Ok(Some(Err(e))) => panic!("stream error: {e}"),
            Ok(None) => panic!("stream ended; saw {seen:?}"),
            Err(_) => s.shared.lock().advance(STEP_MS),
        }
    }
    panic!("no wanted update; saw {seen:?}");
}

#[tokio::test]
async fn the_trade_updates_stream_delivers_a_fill() {
    let (s, a) = served(FaultPlan::default()).await;
    let mut updates = a.order_updates().await.unwrap();
    let r = a
        .submit_order(&Order::market("streamed", "AAPL", Side::Buy, dec!(3)))
        .await
        .unwrap();
    let seen = until_update(&s, &mut updates, |u| {
        u.broker_order_id == r.broker_order_id && u.status == OrderStatus::Filled
    })
    .await;
    let fill = seen.last().unwrap();
    assert_eq!(
        (fill.filled_quantity, fill.remaining_quantity),
        (dec!(3), dec!(0))
    );
    assert_eq!(fill.client_order_id, "streamed");
    assert!(fill.average_fill_price.is_some());
}

#[tokio::test]
async fn a_dropping_duplicating_reordering_stream_loses_no_fill_and_stays_monotonic() {
    let plan = FaultPlan::from_toml(
        r#"
[[rules]]
fault = { kind = "stream_disconnect", after_events = 1 }
[[rules]]
fault = { kind = "stream_duplicate" }
[[rules]]
fault = { kind = "stream_reorder" }
"#,
        "test",
    )
    .unwrap();
    let (s, a) = served(plan).await;
    let mut updates = a.order_updates().await.unwrap();
    let r = a
        .submit_order(&Order::market(
            "sim-partial-drop",
            "AAPL",
            Side::Buy,
            dec!(3),
        ))
        .await
        .unwrap();
    let mut seen = until_update(&s, &mut updates, |u| u.broker_order_id == r.broker_order_id).await;
    // The model closes the stream after each message: the order fills
    // completely while the adapter is reconnecting, so only its re-read
    // after the reconnect can report the fill.
    s.shared.lock().advance(30 * STEP_MS);
    seen.extend(
        until_update(&s, &mut updates, |u| {
            u.broker_order_id == r.broker_order_id && u.status == OrderStatus::Filled
        })
        .await,
    );
    let mine: Vec<_> = seen
        .iter()
        .filter(|u| u.broker_order_id == r.broker_order_id)
        .collect();
    for pair in mine.windows(2) {
        assert!(
            pair[0].filled_quantity <= pair[1].filled_quantity,
            "{mine:?}"
        );
        assert_ne!(pair[0], pair[1], "no update twice: {mine:?}");
    }
    assert_eq!(mine.last().unwrap().filled_quantity, dec!(3));
}

#[tokio::test]
async fn wrong_keys_are_typed_on_rest_and_stream() {
    let s = common::serve("alpaca", 11, FaultPlan::default()).await;
    let a = AlpacaAdapter::new(
        AlpacaConfig {
            base_url: s.base_url.clone(),
            key_id: "PKWRONG".into(),
            secret_key: "wrong-secret".into(),
            account_id: s.account.clone(),
        },
        setup(),
    );
    let e = a.get_account().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ReauthRequired);
    assert!(!e.message.contains("wrong-secret"));
    let e = a
        .order_updates()
        .await
        .err()
        .expect("no stream with wrong keys");
    assert_eq!(e.kind, ErrorKind::ReauthRequired);
}

#[tokio::test]
async fn replace_makes_a_new_order_at_the_new_price_and_quantity() {
    let (s, a) = served(FaultPlan::default()).await;
    let r = a
        .submit_order(&Order::limit(
            "replace-1",
            "AAPL",
            Side::Buy,
            dec!(1),
            dec!(1.00),
        ))
        .await
        .unwrap();
    let changes = adapters::Replace {
        quantity: Some(dec!(3)),
        limit_price: Some(dec!(2.00)),
        ..adapters::Replace::default()
    };
    let new = a.replace_order(&r.broker_order_id, &changes).await.unwrap();
    assert_ne!(
        new.broker_order_id, r.broker_order_id,
        "Alpaca's replacement is a new order"
    );
    assert!(!new.status.is_terminal(), "{new:?}");
    assert_eq!(
        (new.filled_quantity, new.remaining_quantity),
        (dec!(0), dec!(3))
    );

    {
        let b = s.shared.lock();
        let ledger = b.ledger();
        let find = |id: &str| {
            ledger
                .orders
                .iter()
                .find(|o| o.vendor_id == id)
                .unwrap_or_else(|| panic!("{id} is not in the ledger"))
        };
        let (old, replacement) = (find(&r.broker_order_id), find(&new.broker_order_id));
        assert_eq!(old.status, mbt::OrderStatus::Replaced);
        assert_eq!(replacement.quantity, dec!(3));
        assert!(!replacement.status.is_terminal());
        // The ledger carries no prices; the broker's own record of the order does.
        let held = b.order(&new.broker_order_id).expect("the replacement");
        assert_eq!(held.request.limit_price, Some(dec!(2)));
        assert_eq!(held.replaces.as_deref(), Some(r.broker_order_id.as_str()));
        assert_eq!(
            b.order(&r.broker_order_id)
                .and_then(|o| o.replaced_by.clone()),
            Some(new.broker_order_id.clone())
        );
    }

    let old = a.get_order(&r.broker_order_id).await.unwrap();
    assert_eq!(
        (old.status, old.broker_status.as_str()),
        (OrderStatus::Replaced, "replaced")
    );
    // The original is no longer open: replacing it again is refused, with Alpaca's code.
    let e = a
        .replace_order(&r.broker_order_id, &changes)
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.broker_code.as_deref()),
        (ErrorKind::Rejected, Some("42210000")),
        "{e}"
    );
    let e = a
        .replace_order("00000000-0000-4000-8000-000000000000", &changes)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
}

/// The broker commits the replace, then its answer is lost: the adapter
/// finds the replacement through the original's `replaced_by` and never
/// sends the PATCH twice.
#[tokio::test]
async fn a_lost_replace_answer_is_found_through_replaced_by() {
    let plan: FaultPlan = serde_json::from_value(serde_json::json!({"rules": [
        {"operations": ["replace_order"], "fault": {"kind": "lost_response"}}
    ]}))
    .expect("a fault plan");
    let (s, a) = served(plan).await;
    let r = a
        .submit_order(&Order::limit(
            "replace-lost",
            "AAPL",
            Side::Buy,
            dec!(1),
            dec!(1.00),
        ))
        .await
        .unwrap();
    let changes = adapters::Replace {
        quantity: Some(dec!(3)),
        limit_price: Some(dec!(2.00)),
        ..adapters::Replace::default()
    };
    let new = a.replace_order(&r.broker_order_id, &changes).await.unwrap();
    assert_ne!(new.broker_order_id, r.broker_order_id);
    assert_eq!(new.remaining_quantity, dec!(3));
    let b = s.shared.lock();
    let replacements: Vec<_> = b
        .ledger()
        .orders
        .iter()
        .filter(|o| {
            b.order(&o.vendor_id).and_then(|h| h.replaces.as_deref())
                == Some(r.broker_order_id.as_str())
        })
        .map(|o| o.vendor_id.clone())
        .collect();
    assert_eq!(replacements, vec![new.broker_order_id.clone()]);
    let lost: Vec<_> = b
        .fault_log()
        .iter()
        .filter(|f| f.operation == broker_models::faults::Operation::ReplaceOrder)
        .collect();
    assert_eq!(lost.len(), 1, "one PATCH, its answer lost: {lost:?}");
}
