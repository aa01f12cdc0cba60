//! The process bridge driving the reference Python adapter
//! (examples/bridge/alpaca_adapter.py) against the Alpaca model served on
//! 127.0.0.1, as `raxx-sim serve` would serve it.
//!
//! Contract choice checked here: a submit the broker refuses synchronously
//! (Alpaca answers 403/422 and creates no order) is an *error* of kind
//! `rejected`, with Alpaca's code in `broker_code`. An `OrderResult` with
//! status `rejected` is for an order the broker accepted and later rejected.

mod common;

use std::time::Duration;

use adapters::bridge::{BridgeConfig, ExternalAdapter};
use adapters::{
    BrokerAdapter, CancelStatus, ErrorKind, Instrument, Order, OrderStatus, Side, Tier,
};
use broker_models::faults::FaultPlan;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const ADAPTER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/bridge/alpaca_adapter.py"
);

async fn start(served: &common::Served) -> ExternalAdapter {
    ExternalAdapter::spawn(BridgeConfig {
        command: vec!["python3".into(), ADAPTER.into()],
        broker: "alpaca".into(),
        base_url: served.base_url().to_string(),
        credentials: served.connection.credentials.clone(),
        account_id: served.account(),
        pace: 1,
        env: Vec::new(),
    })
    .await
    .expect("the reference adapter starts and describes itself")
}

/// Polls `get_order` until `done` holds (at most 5 s of wall time).
async fn wait_for(
    a: &ExternalAdapter,
    id: &str,
    done: impl Fn(&adapters::OrderResult) -> bool,
) -> adapters::OrderResult {
    let mut last = None;
    for _ in 0..100 {
        let r = a.get_order(id).await.expect("get_order");
        if done(&r) {
            return r;
        }
        last = Some(r);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("order {id} never got there: {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_adapter_trades_through_the_bridge() {
    let served = common::serve("alpaca", 11, FaultPlan::default()).await;
    let a = start(&served).await;

    let d = a.describe();
    assert_eq!(d.broker, "alpaca");
    assert_eq!(d.tier, Tier::A);
    assert_eq!(d.request_timeout_ms, Some(2000));
    assert!(!d.capabilities.read_only);

    // A market buy fills.
    let r = a
        .submit_order(&Order::market("bridge-mkt-1", "AAPL", Side::Buy, dec!(3)))
        .await
        .expect("market buy");
    assert_eq!(r.client_order_id, "bridge-mkt-1");
    let filled = wait_for(&a, &r.broker_order_id, |o| o.status == OrderStatus::Filled).await;
    assert_eq!(filled.filled_quantity, dec!(3));
    assert_eq!(filled.remaining_quantity, dec!(0));
    assert!(filled.average_fill_price.is_some_and(|p| p > Decimal::ZERO));
    assert_eq!(filled.broker_status, "filled");
    // Too late to cancel a filled order.
    let err = a.cancel_order(&r.broker_order_id).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooLateToCancel, "{err}");
    assert_eq!(err.broker_code.as_deref(), Some("42210000"));

    // A limit far below the market rests, then cancels (twice: idempotent).
    let l = a
        .submit_order(&Order::limit(
            "bridge-lmt-1",
            "MSFT",
            Side::Buy,
            dec!(2),
            dec!(1.00),
        ))
        .await
        .expect("limit buy");
    // The submit answers Alpaca's first state; acceptance follows.
    assert_eq!(l.status, OrderStatus::Pending, "{l:?}");
    assert_eq!(l.broker_status, "pending_new");
    assert_eq!(l.remaining_quantity, dec!(2));
    wait_for(&a, &l.broker_order_id, |r| {
        r.status == OrderStatus::Accepted
    })
    .await;
    // Alpaca cancels asynchronously: pending first, canceled once it lands.
    let c = a.cancel_order(&l.broker_order_id).await.expect("cancel");
    assert_eq!(c.status, CancelStatus::PendingCancel);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let again = a
        .cancel_order(&l.broker_order_id)
        .await
        .expect("double cancel");
    assert_eq!(again.status, CancelStatus::Canceled);
    let l = a.get_order(&l.broker_order_id).await.unwrap();
    assert_eq!(l.status, OrderStatus::Canceled);

    // Positions and account come from the broker, under its account number.
    let positions = a.get_positions().await.expect("positions");
    let aapl = positions
        .iter()
        .find(|p| p.instrument == Instrument::equity("AAPL"))
        .expect("an AAPL position");
    assert_eq!(aapl.quantity, dec!(3));
    assert_eq!(aapl.account_id, served.account());
    assert!(aapl.average_price > Decimal::ZERO);
    let acct = a.get_account().await.expect("account");
    assert_eq!(acct.account_id, served.account());
    assert!(
        acct.cash < dec!(100000) && acct.cash > Decimal::ZERO,
        "{acct:?}"
    );
    assert!(acct.equity > Decimal::ZERO);

    // Unknown ids are not_found (Alpaca: 404 for a UUID, 422 for anything else).
    for id in ["00000000-0000-4000-8000-000000000000", "nope"] {
        let err = a.get_order(id).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound, "{id}: {err}");
    }

    // A sim-reject- intent: refused at once, typed, no order to report.
    let err = a
        .submit_order(&Order::market("sim-reject-1", "AAPL", Side::Buy, dec!(1)))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Rejected, "{err}");
    assert_eq!(err.broker_code.as_deref(), Some("40010001"));

    // Requests we would never send are refused locally.
    let err = a
        .submit_order(&Order::market("bridge-zero", "AAPL", Side::Buy, dec!(0)))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest, "{err}");

    a.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_submit_reconciles_to_exactly_one_order() {
    let served = common::serve("alpaca", 12, FaultPlan::default()).await;
    let a = start(&served).await;
    // The model commits the order, holds the response 5 s and drops the
    // connection; the adapter gives up after 2 s and looks the intent up.
    let r = a
        .submit_order(&Order::market("sim-lost-1", "SPY", Side::Buy, dec!(2)))
        .await
        .expect("the lost submit reconciles to the order the broker holds");
    assert_eq!(r.client_order_id, "sim-lost-1");
    // Submitting the same intent again is the same order, not a second one.
    let again = a
        .submit_order(&Order::market("sim-lost-1", "SPY", Side::Buy, dec!(2)))
        .await
        .expect("a resubmitted intent finds its order");
    assert_eq!(again.broker_order_id, r.broker_order_id);
    let ledger = served.shared.lock().ledger();
    let orders: Vec<_> = ledger
        .orders
        .iter()
        .filter(|o| o.client_order_id == "sim-lost-1")
        .collect();
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0].vendor_id, r.broker_order_id);
    assert!(orders[0].rejection.is_none());
    let stderr = a.stderr_lines();
    assert!(
        stderr.iter().any(|l| l.contains("reconciling")),
        "{stderr:?}"
    );
    // The adapter logs, but never the credentials.
    let secret = served.credential("secret_key");
    assert!(!secret.is_empty());
    assert!(stderr.iter().all(|l| !l.contains(&secret)), "{stderr:?}");
    a.shutdown().await.expect("clean shutdown");
}
