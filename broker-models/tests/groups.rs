//! Order groups in the brokerage core: a bracket's exits are held until the
//! entry fills, then live, and the first to fill cancels the other; an
//! entry that fills nothing cancels its exits; OCO exits cancel each other.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use broker_models::brokerage::{OrderClass, SimBrokerage};
use broker_models::clock::{SimClock, DEFAULT_EPOCH};
use broker_models::faults::{Decision, FaultPlan};
use mbt::{OrderRequest, OrderStatus, OrderType, Side, TimeInForce};

fn brokerage() -> SimBrokerage {
    let vendor = broker_models::vendor("alpaca").unwrap();
    let quiet = mbt::MarketSpec {
        annual_volatility: Some(Decimal::ZERO),
        ..mbt::MarketSpec::default()
    };
    let mut b = SimBrokerage::new(
        vendor,
        1,
        SimClock::new(DEFAULT_EPOCH),
        FaultPlan::default(),
        quiet,
    )
    .unwrap();
    assert!(b.set_price("AAPL", dec!(100)));
    b
}

fn account(b: &SimBrokerage) -> String {
    b.account_numbers()[0].clone()
}

fn exits(b: &SimBrokerage, tp: Decimal, sl: Decimal, qty: Decimal) -> Vec<OrderRequest> {
    let acct = account(b);
    let mut take = OrderRequest::market(&acct, "", "AAPL", Side::Sell, qty);
    take.order_type = OrderType::Limit;
    take.limit_price = Some(tp);
    take.time_in_force = TimeInForce::Gtc;
    let mut stop = OrderRequest::market(&acct, "", "AAPL", Side::Sell, qty);
    stop.order_type = OrderType::Stop;
    stop.stop_price = Some(sl);
    stop.time_in_force = TimeInForce::Gtc;
    vec![take, stop]
}

fn status(b: &SimBrokerage, id: &str) -> OrderStatus {
    b.state(b.order(id).unwrap()).status
}

async fn later(b: &mut SimBrokerage, ms: u64) {
    tokio::time::advance(std::time::Duration::from_millis(ms)).await;
    b.sync();
}

/// Buys 3 AAPL, then protects them with an OCO (take-profit 110, stop 90);
/// answers the OCO's first order, live.
async fn long_with_an_oco(b: &mut SimBrokerage) -> String {
    let acct = account(b);
    let buy = OrderRequest::market(&acct, "long", "AAPL", Side::Buy, dec!(3));
    b.submit(buy, &Decision::default()).unwrap();
    later(b, 1000).await;
    let mut ex = exits(b, dec!(110), dec!(90), dec!(3));
    let first = ex.remove(0);
    let parent = b
        .submit_group(OrderClass::Oco, first, ex, &Decision::default())
        .unwrap()
        .vendor_id
        .clone();
    later(b, 500).await;
    parent
}

/// A gtc buy of 5 at 50, far below the market: an entry that waits.
fn waiting_entry(acct: &str) -> OrderRequest {
    let mut entry = OrderRequest::market(acct, "entry", "AAPL", Side::Buy, dec!(5));
    entry.order_type = OrderType::Limit;
    entry.limit_price = Some(dec!(50));
    entry.time_in_force = TimeInForce::Gtc;
    entry
}

/// The first exit of the group `parent` leads.
fn first_exit(b: &SimBrokerage, parent: &str) -> String {
    b.ledger()
        .orders
        .into_iter()
        .find(|o| o.parent.as_deref() == Some(parent))
        .unwrap()
        .vendor_id
}

#[tokio::test(start_paused = true)]
async fn a_bracket_releases_its_exits_when_the_entry_fills_and_the_first_exit_cancels_the_other() {
    let mut b = brokerage();
    let acct = account(&b);
    let entry = OrderRequest::market(&acct, "entry", "AAPL", Side::Buy, dec!(5));
    let ex = exits(&b, dec!(110), dec!(90), dec!(5));
    let parent = b
        .submit_group(OrderClass::Bracket, entry, ex, &Decision::default())
        .unwrap()
        .vendor_id
        .clone();
    let legs: Vec<String> = b
        .ledger()
        .orders
        .iter()
        .filter(|o| o.parent.as_deref() == Some(parent.as_str()))
        .map(|o| o.vendor_id.clone())
        .collect();
    assert_eq!(legs.len(), 2);
    assert!(
        b.order(&legs[0]).unwrap().held,
        "exits are held until the entry fills"
    );
    assert_eq!(status(&b, &legs[0]), OrderStatus::Pending);
    later(&mut b, 1000).await;
    assert_eq!(status(&b, &parent), OrderStatus::Filled);
    assert_eq!(
        status(&b, &legs[0]),
        OrderStatus::Accepted,
        "the take-profit is live"
    );
    assert_eq!(
        status(&b, &legs[1]),
        OrderStatus::Accepted,
        "the stop-loss is live"
    );
    assert!(b.set_price("AAPL", dec!(111)));
    later(&mut b, 1000).await;
    assert_eq!(status(&b, &legs[0]), OrderStatus::Filled);
    assert_eq!(
        status(&b, &legs[1]),
        OrderStatus::Canceled,
        "one cancels the other"
    );
    let flat = b
        .account(&acct)
        .unwrap()
        .positions
        .iter()
        .all(|p| p.quantity.is_zero());
    assert!(flat, "in and out: flat");
}

#[tokio::test(start_paused = true)]
async fn an_entry_that_fills_nothing_cancels_its_exits() {
    let mut b = brokerage();
    let acct = account(&b);
    let entry = waiting_entry(&acct);
    let ex = exits(&b, dec!(110), dec!(40), dec!(5));
    let parent = b
        .submit_group(
            OrderClass::Oto,
            entry,
            ex[..1].to_vec(),
            &Decision::default(),
        )
        .unwrap()
        .vendor_id
        .clone();
    later(&mut b, 500).await;
    b.cancel(&parent).unwrap();
    later(&mut b, 500).await;
    let exit = b
        .ledger()
        .orders
        .into_iter()
        .find(|o| o.parent.as_deref() == Some(parent.as_str()))
        .unwrap();
    assert_eq!(exit.status, OrderStatus::Canceled);
    assert!(exit.filled_quantity.is_zero());
}

#[tokio::test(start_paused = true)]
async fn oco_exits_are_live_at_once_and_cancel_each_other() {
    let mut b = brokerage();
    let parent = long_with_an_oco(&mut b).await;
    assert_eq!(status(&b, &parent), OrderStatus::Accepted);
    assert!(b.set_price("AAPL", dec!(89)));
    later(&mut b, 1000).await;
    assert_eq!(
        status(&b, &parent),
        OrderStatus::Canceled,
        "the stop filled and canceled the limit"
    );
}

#[tokio::test(start_paused = true)]
async fn a_replaced_exit_stays_held_and_in_its_group() {
    let mut b = brokerage();
    let acct = account(&b);
    let entry = waiting_entry(&acct);
    let ex = exits(&b, dec!(110), dec!(40), dec!(5));
    let parent = b
        .submit_group(OrderClass::Bracket, entry, ex, &Decision::default())
        .unwrap()
        .vendor_id
        .clone();
    let take = first_exit(&b, &parent);
    let changes = mbt::engine::ReplaceRequest {
        limit_price: Some(dec!(120)),
        ..Default::default()
    };
    let new_take = b.replace(&take, changes).unwrap();
    assert_ne!(new_take, take, "Alpaca replaces under a new id");
    later(&mut b, 500).await;
    let replacement = b.order(&new_take).unwrap();
    assert!(replacement.held, "still waiting for the entry");
    assert_eq!(replacement.parent.as_deref(), Some(parent.as_str()));
    assert_eq!(status(&b, &new_take), OrderStatus::Pending);
    // The entry fills: the replacement, not the replaced exit, goes live.
    assert!(b.set_price("AAPL", dec!(49)));
    later(&mut b, 1000).await;
    assert_eq!(status(&b, &parent), OrderStatus::Filled);
    assert_eq!(status(&b, &new_take), OrderStatus::Accepted);
    assert_eq!(status(&b, &take), OrderStatus::Replaced);
}

#[tokio::test(start_paused = true)]
async fn canceling_one_exit_cancels_the_other() {
    let mut b = brokerage();
    let parent = long_with_an_oco(&mut b).await;
    let stop = first_exit(&b, &parent);
    b.cancel(&parent).unwrap();
    later(&mut b, 1000).await;
    assert_eq!(status(&b, &parent), OrderStatus::Canceled);
    assert_eq!(
        status(&b, &stop),
        OrderStatus::Canceled,
        "not left working alone"
    );
}

/// What the engine holds for a vendor order (its buying power reservation).
fn hold(b: &SimBrokerage, id: &str) -> Decimal {
    let engine_id = b.order(id).and_then(|o| o.engine_id).expect("in the venue");
    b.engine().hold(engine_id)
}

#[tokio::test(start_paused = true)]
async fn exits_that_cancel_each_other_hold_the_shares_once() {
    let mut b = brokerage();
    let parent = long_with_an_oco(&mut b).await;
    let stop = first_exit(&b, &parent);
    // Both exits close the same 3 shares: neither is a short sale.
    assert_eq!(hold(&b, &parent), Decimal::ZERO);
    assert_eq!(hold(&b, &stop), Decimal::ZERO);
    // A plain sale finds the 3 shares held by the pair (once): it would be
    // a short of its own, and holds buying power as one.
    let acct = account(&b);
    let mut plain = OrderRequest::market(&acct, "plain", "AAPL", Side::Sell, dec!(1));
    plain.order_type = OrderType::Limit;
    plain.limit_price = Some(dec!(120));
    plain.time_in_force = TimeInForce::Gtc;
    let plain = b
        .submit(plain, &Decision::default())
        .unwrap()
        .vendor_id
        .clone();
    later(&mut b, 500).await;
    assert!(hold(&b, &plain) > Decimal::ZERO);
    b.cancel(&plain).unwrap();
    later(&mut b, 500).await;

    // A bracket's exits, released once its entry fills, likewise: they
    // close the 5 it bought (the OCO still holds the other 3).
    let entry = OrderRequest::market(&acct, "entry", "AAPL", Side::Buy, dec!(5));
    let ex = exits(&b, dec!(130), dec!(80), dec!(5));
    let entry = b
        .submit_group(OrderClass::Bracket, entry, ex, &Decision::default())
        .unwrap()
        .vendor_id
        .clone();
    later(&mut b, 1000).await;
    let released: Vec<String> = b
        .ledger()
        .orders
        .into_iter()
        .filter(|o| o.parent.as_deref() == Some(entry.as_str()))
        .map(|o| o.vendor_id)
        .collect();
    assert_eq!(released.len(), 2);
    for exit in &released {
        assert!(status(&b, exit).is_working(), "{exit} is live");
        assert_eq!(hold(&b, exit), Decimal::ZERO, "{exit} closes the 5 bought");
    }
}
