//! A served model that forgets ended orders (`serve --keep-orders`): what
//! it keeps stays bounded under sustained load, what it still holds answers
//! as before, and the money is the same as a model that forgot nothing.

mod common;

use axum::http::{Method, StatusCode};
use rust_decimal_macros::dec;

use broker_models::faults::FaultPlan;
use common::Client;

const KEEP: usize = 50;
/// Orders kept at most: `KEEP` ended ones, what piles up before the next
/// forgetting (a 1024th of `KEEP` and 4), and the one still working.
const KEPT_AT_MOST: usize = KEEP + KEEP / 1024 + 4 + 1;

fn alpaca(keep: Option<usize>) -> Client {
    let c = Client::authed("alpaca", 7, FaultPlan::default());
    let mut b = c.shared.lock();
    b.disable_rate_limits();
    if let Some(keep) = keep {
        b.set_retention(keep);
    }
    drop(b);
    c
}

/// A GTC buy far below the market, then `n` market orders (buys of two
/// shares and sells of one alternating, a buy first), a quarter second
/// apart; the ids placed.
async fn load(c: &Client, n: usize) -> (String, Vec<String>) {
    let resting = c
        .post_json(
            "/v2/orders",
            r#"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","limit_price":"1","time_in_force":"gtc"}"#,
        )
        .await;
    assert_eq!(resting.status, StatusCode::OK, "{}", resting.text);
    let mut ids = Vec::new();
    for i in 0..n {
        let (side, qty) = if i % 2 == 0 { ("buy", 2) } else { ("sell", 1) };
        let r = c
            .post_json(
                "/v2/orders",
                &format!(
                    r#"{{"symbol":"AAPL","qty":"{qty}","side":"{side}","type":"market","time_in_force":"day"}}"#
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "order {i}: {}", r.text);
        ids.push(r.json()["id"].as_str().unwrap().to_string());
        c.shared.lock().advance(250);
    }
    (resting.json()["id"].as_str().unwrap().to_string(), ids)
}

#[tokio::test(start_paused = true)]
async fn a_model_that_forgets_ended_orders_keeps_a_bounded_book_and_the_same_money() {
    let forgetful = alpaca(Some(KEEP));
    let (resting, ids) = load(&forgetful, 401).await;
    {
        let b = forgetful.shared.lock();
        assert!(b.orders_kept() <= KEPT_AT_MOST, "kept {}", b.orders_kept());
        assert!(
            b.orders_forgotten() >= 300,
            "forgot {}",
            b.orders_forgotten()
        );
        let engine_orders = b.engine().orders().count();
        assert!(engine_orders <= KEPT_AT_MOST, "engine kept {engine_orders}");
        assert_eq!(b.engine().orders_accepted(), 402, "ids are never reused");
        let events = b.events_since(0).len();
        assert!(events <= 4 * KEPT_AT_MOST, "broker events kept {events}");
        assert!(
            b.next_event_seq() > 800,
            "sequence numbers count every event (new, fill)"
        );
        let log = b.engine().log().entries().len();
        assert!(log <= 4 * KEPT_AT_MOST, "log entries kept {log}");
        // What an aggregator's cache reads: every execution, forgotten or
        // not (201 buys of two shares and 200 sells of one).
        let account = &b.account_numbers()[0];
        let held = b.positions_at(account, b.now());
        let quantities: Vec<_> = held.values().map(|p| p.quantity).collect();
        assert_eq!(quantities, vec![dec!(202)]);
        // And at the cost the venue booked them, forgotten or not.
        let booked = b.engine().account(account).unwrap();
        let cost = |p: &mbt::Position| (p.instrument.clone(), p.cost_basis);
        assert_eq!(
            held.values().map(cost).collect::<Vec<_>>(),
            booked.positions.values().map(cost).collect::<Vec<_>>()
        );
    }

    let first = forgetful.get(&format!("/v2/orders/{}", ids[0])).await;
    assert_eq!(first.status, StatusCode::NOT_FOUND, "{}", first.text);
    let last = ids.last().unwrap();
    let kept = forgetful.get(&format!("/v2/orders/{last}")).await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.text);
    assert_eq!(kept.json()["status"], "filled");
    let listed = forgetful.get("/v2/orders?status=all&limit=500").await;
    let listed = listed.json();
    let listed = listed.as_array().unwrap();
    assert!(!listed.is_empty() && listed.len() <= KEPT_AT_MOST);
    assert!(
        listed.iter().any(|o| o["id"] == resting.as_str()),
        "the order still working is listed"
    );

    // The same orders to a model that forgets nothing: the same account,
    // the same answer for an order both keep.
    let whole = alpaca(None);
    let (_, same_ids) = load(&whole, 401).await;
    assert_eq!(same_ids, ids);
    assert_eq!(
        whole.get("/v2/account").await.json(),
        forgetful.get("/v2/account").await.json()
    );
    assert_eq!(
        whole.get(&format!("/v2/orders/{last}")).await.json(),
        kept.json()
    );

    // The working order, older than anything else kept, can still be canceled.
    let canceled = forgetful
        .send(Method::DELETE, &format!("/v2/orders/{resting}"), "", "")
        .await;
    assert_eq!(canceled.status, StatusCode::NO_CONTENT, "{}", canceled.text);
    // Alpaca's cancel lands a moment later.
    forgetful.shared.lock().advance(1000);
    let after = forgetful.get(&format!("/v2/orders/{resting}")).await;
    assert_eq!(after.json()["status"], "canceled");
}

#[tokio::test(start_paused = true)]
async fn retention_survives_a_reset() {
    let c = alpaca(Some(KEEP));
    let reset = c.post_json("/_sim/reset", "{}").await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.text);
    load(&c, 200).await;
    let b = c.shared.lock();
    assert!(b.orders_kept() <= KEPT_AT_MOST, "kept {}", b.orders_kept());
    assert!(b.orders_forgotten() > 0);
}
