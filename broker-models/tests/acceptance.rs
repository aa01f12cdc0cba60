//! Asynchronous acceptance in the brokerage core: a taken order is pending
//! until its acceptance, and can be replaced or canceled before then.

use rust_decimal_macros::dec;

use broker_models::brokerage::SimBrokerage;
use broker_models::clock::{SimClock, DEFAULT_EPOCH};
use broker_models::faults::{Decision, FaultPlan};
use mbt::engine::ReplaceRequest;
use mbt::{OrderRequest, OrderStatus, OrderType, Side, TimeInForce};

fn brokerage(slug: &str) -> SimBrokerage {
    let vendor = broker_models::vendor(slug).unwrap();
    SimBrokerage::new(
        vendor,
        1,
        SimClock::new(DEFAULT_EPOCH),
        FaultPlan::default(),
        Default::default(),
    )
    .unwrap()
}

fn limit(b: &SimBrokerage, cid: &str, price: rust_decimal::Decimal) -> OrderRequest {
    let mut r = OrderRequest::market(&b.account_numbers()[0], cid, "AAPL", Side::Buy, dec!(2));
    r.order_type = OrderType::Limit;
    r.limit_price = Some(price);
    r.time_in_force = TimeInForce::Gtc;
    r
}

fn status(b: &SimBrokerage, id: &str) -> OrderStatus {
    b.state(b.order(id).unwrap()).status
}

async fn later(b: &mut SimBrokerage, ms: u64) {
    tokio::time::advance(std::time::Duration::from_millis(ms)).await;
    b.sync();
}

#[tokio::test(start_paused = true)]
async fn a_pending_order_replaced_is_accepted_as_its_replacement() {
    let mut b = brokerage("alpaca");
    let r = limit(&b, "a", dec!(1));
    let id = b.submit(r, &Decision::default()).unwrap().vendor_id.clone();
    assert_eq!(status(&b, &id), OrderStatus::Pending);
    let changes = ReplaceRequest {
        limit_price: Some(dec!(2)),
        ..ReplaceRequest::default()
    };
    let new = b.replace(&id, changes).unwrap();
    assert_ne!(new, id, "Alpaca replaces under a new id");
    assert_eq!(status(&b, &id), OrderStatus::Replaced);
    later(&mut b, 100).await;
    assert_eq!(status(&b, &new), OrderStatus::Accepted);
    assert_eq!(
        status(&b, &id),
        OrderStatus::Replaced,
        "the old one never reaches the venue"
    );
    assert_eq!(b.order(&new).unwrap().request.limit_price, Some(dec!(2)));
}

#[tokio::test(start_paused = true)]
async fn a_cancel_that_lands_before_acceptance_keeps_the_order_from_the_venue() {
    let mut b = brokerage("alpaca");
    // Marketable: it would fill at the first quote after acceptance.
    let r = limit(&b, "m", dec!(1000));
    let id = b.submit(r, &Decision::default()).unwrap().vendor_id.clone();
    b.cancel(&id).unwrap();
    assert_eq!(status(&b, &id), OrderStatus::PendingCancel);
    later(&mut b, 1000).await;
    let o = b.order(&id).unwrap();
    assert_eq!(b.state(o).status, OrderStatus::Canceled);
    assert!(
        b.state(o).filled_quantity.is_zero(),
        "a cancel that landed first wins"
    );
    // Tradier cancels at once, pending or not.
    let mut t = brokerage("tradier");
    let r = limit(&t, "t", dec!(1000));
    let id = t.submit(r, &Decision::default()).unwrap().vendor_id.clone();
    t.cancel(&id).unwrap();
    assert_eq!(status(&t, &id), OrderStatus::Canceled);
    later(&mut t, 1000).await;
    assert_eq!(status(&t, &id), OrderStatus::Canceled);
}
