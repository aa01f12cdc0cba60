//! The order path's rules, in process, over the gateway's test world
//! ([`crate::testkit`]).

use adapters::{CancelStatus, OrderStatus, Side};
use rust_decimal_macros::dec;

use super::*;
use crate::audit::{self, AuditEntry};
use crate::testkit::*;
#[tokio::test]
async fn paper_goes_to_mbt_for_every_tier_and_never_touches_a_broker() {
    let w = world();
    // Not even a kill switch or a closed gate stops paper.
    w.env.set(kill::LIVE_DISABLED, "1");
    for c in ["ann-tradier", "ann-ibkr", "ann-plaid", "bob-tradier"] {
        let r = w
            .path
            .submit(&id(c), Mode::Paper, &buy("p-1", dec!(2)))
            .await
            .unwrap();
        assert_eq!(r.status, OrderStatus::Filled, "{c}");
        let positions = w.path.positions(&id(c), Mode::Paper).await.unwrap();
        assert_eq!(positions[0].account_id, paper_account(&id(c)));
    }
    assert!(w.journal().is_empty(), "{:?}", w.journal());
    assert_eq!(w.live_orders(), 0);
    assert!(w.audit.lock().unwrap().entries().is_empty());
}

#[tokio::test]
async fn live_opens_after_the_paper_cycles_and_the_attempt_is_audited_before_the_broker() {
    let w = world();
    let closed = w
        .path
        .submit(&id("ann-tradier"), Mode::Live, &buy("l-1", dec!(1)))
        .await
        .unwrap_err();
    assert!(
        matches!(closed, PathError::GateClosed(ref d) if d.completed == 0),
        "{closed}"
    );
    assert_eq!(w.live_orders(), 0);

    w.paper_cycle("ann-ibkr").await;
    let decision = w.path.decision(&id("ann-tradier")).unwrap();
    assert!(decision.open, "{}", decision.reason);
    let r = w
        .path
        .submit(&id("ann-tradier"), Mode::Live, &buy("l-1", dec!(1)))
        .await
        .unwrap();
    assert_eq!(r.status, OrderStatus::Filled);
    assert_eq!(
        w.journal(),
        [
            "broker:build ann-tradier with key-ann-tradier",
            "audit:order_attempt",
            "broker:submit l-1 with key-ann-tradier",
            "audit:order_answer",
        ]
    );
    // The fill the submit already saw is not audited twice; the chain verifies.
    w.path
        .refresh(&id("ann-tradier"), &r.broker_order_id)
        .await
        .unwrap();
    let jsonl = w.audit.lock().unwrap().to_jsonl();
    assert_eq!(audit::verify(&jsonl).unwrap().entries, 2);
    // Bob's own gate is still closed: Ann's cycles prove Ann's discipline.
    let bob = w
        .path
        .submit(&id("bob-tradier"), Mode::Live, &buy("l-2", dec!(1)))
        .await
        .unwrap_err();
    assert!(matches!(bob, PathError::GateClosed(_)));
}

#[tokio::test]
async fn a_tier_c_order_is_refused_by_the_store_and_reaches_nothing() {
    let w = world();
    w.paper_cycle("ann-plaid").await;
    let refused = w
        .path
        .submit(&id("ann-plaid"), Mode::Live, &buy("c-1", dec!(1)))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, PathError::Velvet(VelvetError::NoOrderWrite { .. })),
        "{refused}"
    );
    assert_eq!(refused.kind(), ErrorKind::ReadOnly);
    assert_eq!(refused.http_status(), 403);
    assert!(w.journal().is_empty());
    assert!(w.audit.lock().unwrap().entries().is_empty());
}

#[tokio::test]
async fn a_kill_switch_refuses_exactly_its_scope() {
    let w = world();
    w.paper_cycle("ann-tradier").await;
    let working = Order::limit("rest", "AAPL", Side::Buy, dec!(1), dec!(50));
    let resting = w
        .path
        .submit(&id("ann-tradier"), Mode::Live, &working)
        .await
        .unwrap();
    assert_eq!(resting.status, OrderStatus::Accepted);

    w.env.set("BYOB_BROKER_TRADIER_DISABLED", "1");
    let refused = w
        .path
        .submit(&id("ann-tradier"), Mode::Live, &buy("k-1", dec!(1)))
        .await
        .unwrap_err();
    assert_eq!(
        (refused.kind(), refused.http_status()),
        (ErrorKind::KillSwitch, 503)
    );
    // Another broker, paper, and taking risk off are untouched.
    assert!(w
        .path
        .submit(&id("ann-ibkr"), Mode::Live, &buy("k-2", dec!(1)))
        .await
        .is_ok());
    assert!(w
        .path
        .submit(&id("ann-tradier"), Mode::Paper, &buy("k-3", dec!(1)))
        .await
        .is_ok());
    let canceled = w
        .path
        .cancel(&id("ann-tradier"), Mode::Live, &resting.broker_order_id)
        .await
        .unwrap();
    assert_eq!(canceled.status, CancelStatus::Canceled);
    assert!(!w.journal().iter().any(|l| l.contains("k-1")));

    w.env.remove("BYOB_BROKER_TRADIER_DISABLED");
    assert!(w
        .path
        .submit(&id("ann-tradier"), Mode::Live, &buy("k-4", dec!(1)))
        .await
        .is_ok());
}

#[tokio::test]
async fn a_revoked_token_never_reaches_a_broker_again() {
    let w = world();
    w.paper_cycle("ann-tradier").await;
    w.path
        .submit(&id("ann-tradier"), Mode::Live, &buy("r-1", dec!(1)))
        .await
        .unwrap();
    w.path.revoke(&id("ann-tradier")).await.unwrap();
    let before = w.journal().len();
    let refused = w
        .path
        .submit(&id("ann-tradier"), Mode::Live, &buy("r-2", dec!(1)))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ReauthRequired);
    assert!(w
        .path
        .positions(&id("ann-tradier"), Mode::Live)
        .await
        .is_err());
    assert!(w
        .path
        .cancel(&id("ann-tradier"), Mode::Live, "1")
        .await
        .is_err());
    assert_eq!(w.journal().len(), before, "{:?}", w.journal());
    assert!(w
        .journal()
        .contains(&"broker:revoke ann-tradier with key-ann-tradier".to_string()));
}

#[tokio::test]
async fn a_rotated_credential_builds_a_new_adapter() {
    let w = world();
    w.paper_cycle("ann-tradier").await;
    w.path
        .submit(&id("ann-tradier"), Mode::Live, &buy("o-1", dec!(1)))
        .await
        .unwrap();
    w.path
        .rotate(&id("ann-tradier"), &Secret::new("key-ann-tradier"))
        .unwrap();
    w.path
        .submit(&id("ann-tradier"), Mode::Live, &buy("o-2", dec!(1)))
        .await
        .unwrap();
    let builds = w
        .journal()
        .iter()
        .filter(|l| l.starts_with("broker:build"))
        .count();
    assert_eq!(
        builds, 1,
        "the same credential after a rotation reuses the adapter"
    );
}

#[tokio::test]
async fn a_households_accounts_are_never_netted() {
    let w = world();
    w.paper_cycle("ann-tradier").await;
    w.paper_cycle("bob-tradier").await;
    w.path
        .submit(&id("ann-tradier"), Mode::Live, &buy("n-1", dec!(10)))
        .await
        .unwrap();
    // Bob holds no AAPL: his cash account cannot sell Ann's shares.
    let sell = Order::market("n-2", "AAPL", Side::Sell, dec!(10));
    let refused = w
        .path
        .submit(&id("bob-tradier"), Mode::Live, &sell)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Rejected);
    let all = w
        .path
        .household_positions(&HouseholdId("h1".into()), Mode::Live)
        .await
        .unwrap();
    assert_eq!(
        all.keys().map(|k| k.0.as_str()).collect::<Vec<_>>(),
        ["ann-ibkr", "ann-tradier", "bob-tradier"]
    );
    assert_eq!(all[&id("ann-tradier")][0].quantity, dec!(10));
    assert!(all[&id("bob-tradier")].is_empty());
}

#[tokio::test]
async fn an_attempt_that_cannot_be_audited_is_not_sent() {
    struct Broken;
    impl AuditSink for Broken {
        fn append(&mut self, _: DateTime<Utc>, _: AuditEvent) -> Result<AuditEntry, AuditError> {
            Err(AuditError::Poisoned {
                path: "audit.jsonl".into(),
            })
        }
        fn head(&self) -> &str {
            audit::GENESIS
        }
    }
    let mut w = world();
    w.path.audit = Mutex::new(Box::new(Broken));
    w.paper_cycle("ann-tradier").await;
    let refused = w
        .path
        .submit(&id("ann-tradier"), Mode::Live, &buy("a-1", dec!(1)))
        .await
        .unwrap_err();
    assert!(matches!(refused, PathError::Audit(_)), "{refused}");
    assert_eq!(w.live_orders(), 0);
}
