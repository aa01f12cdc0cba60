//! The order path's rules, in process: the live brokers are MBT accounts
//! behind adapters that write what reaches them into one journal, beside
//! the audit sink's appends, so the order of the two can be checked.

use std::sync::{Arc, Mutex};

use adapters::{CancelStatus, OrderStatus, Side};
use chrono::TimeZone;
use mbt::{AccountKind, Engine, EngineConfig, Instrument, MarketData, MarketEvent};
use mbt::{Quote, Timestamp};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;
use crate::audit::{self, AuditEntry, MemoryAudit};
use crate::connection::{Tier, UserId};
use crate::gate::CycleScope;
use crate::kill::SimulatedEnvironment;
use crate::velvet::envelope::MasterKey;
use crate::velvet::memory::MemoryRows;

/// Monday 2026-01-05 15:00 UTC: the market is open.
const MONDAY_OPEN: Timestamp = Timestamp::from_secs(1_767_625_200);

type Journal = Arc<Mutex<Vec<String>>>;

fn engine(accounts: &[&str]) -> SharedEngine {
    let mut e = Engine::new(EngineConfig::frictionless(), 7, MONDAY_OPEN);
    for a in accounts {
        assert!(e.open_account(a, AccountKind::Cash, dec!(100000)));
    }
    let id = e.instrument_id(&Instrument::equity("AAPL"));
    let time = e.now().plus_millis(1);
    assert!(e.on_market(&MarketEvent {
        time,
        instrument: id,
        data: MarketData::Quote(Quote {
            bid: dec!(99.99),
            ask: dec!(100.01),
            bid_size: dec!(1000),
            ask_size: dec!(1000),
        }),
    }));
    Arc::new(Mutex::new(e))
}

/// The brokers: each credential is `key-<account>` of an account in one
/// MBT engine standing in for every live broker.
struct Brokers {
    engine: SharedEngine,
    journal: Journal,
}

#[async_trait]
impl LiveBrokers for Brokers {
    fn trading(
        &self,
        c: &Connection,
        credential: &Secret,
    ) -> Result<Arc<dyn BrokerAdapter>, AdapterError> {
        let account = credential.expose().strip_prefix("key-").unwrap_or_default();
        note(
            &self.journal,
            format!("broker:build {} with {}", c.id, credential.expose()),
        );
        Ok(Arc::new(Journaled {
            inner: MbtAdapter::new(self.engine.clone(), account),
            journal: self.journal.clone(),
            credential: credential.expose().to_string(),
        }))
    }

    async fn revoke(&self, c: &Connection, credential: &Secret) -> Result<(), AdapterError> {
        note(
            &self.journal,
            format!("broker:revoke {} with {}", c.id, credential.expose()),
        );
        Ok(())
    }
}

/// A live adapter that notes each call that reaches the broker.
struct Journaled {
    inner: MbtAdapter,
    journal: Journal,
    credential: String,
}

#[async_trait]
impl BrokerAdapter for Journaled {
    fn describe(&self) -> adapters::Description {
        self.inner.describe()
    }
    fn account_id(&self) -> &str {
        self.inner.account_id()
    }
    async fn submit_order(&self, order: &Order) -> adapters::Result<OrderResult> {
        note(
            &self.journal,
            format!(
                "broker:submit {} with {}",
                order.client_order_id, self.credential
            ),
        );
        self.inner.submit_order(order).await
    }
    async fn cancel_order(&self, id: &str) -> adapters::Result<CancelResult> {
        note(
            &self.journal,
            format!("broker:cancel {id} with {}", self.credential),
        );
        self.inner.cancel_order(id).await
    }
    async fn get_order(&self, id: &str) -> adapters::Result<OrderResult> {
        self.inner.get_order(id).await
    }
    async fn get_positions(&self) -> adapters::Result<Vec<Position>> {
        self.inner.get_positions().await
    }
    async fn get_account(&self) -> adapters::Result<adapters::Account> {
        self.inner.get_account().await
    }
    async fn order_updates(&self) -> adapters::Result<adapters::OrderUpdates> {
        self.inner.order_updates().await
    }
}

/// The audit sink, noting each append in the same journal.
struct JournaledAudit {
    inner: Arc<Mutex<MemoryAudit>>,
    journal: Journal,
}

impl AuditSink for JournaledAudit {
    fn append(&mut self, at: DateTime<Utc>, event: AuditEvent) -> Result<AuditEntry, AuditError> {
        let kind = serde_json::to_value(&event).unwrap()["kind"]
            .as_str()
            .unwrap()
            .to_string();
        let entry = self.inner.lock().unwrap().append(at, event)?;
        note(&self.journal, format!("audit:{kind}"));
        Ok(entry)
    }
    fn head(&self) -> &str {
        // The path reads the head through its own sink only in
        // `audit_head`, which these tests check on the memory sink itself.
        audit::GENESIS
    }
}

fn note(journal: &Journal, line: String) {
    journal.lock().unwrap().push(line);
}

fn connection(id: &str, user: &str, slug: &str, tier: Tier) -> Connection {
    Connection {
        id: ConnectionId(id.into()),
        user: UserId(user.into()),
        household: HouseholdId("h1".into()),
        slug: slug.into(),
        brand: slug.into(),
        tier,
        aggregator: (tier == Tier::B).then(|| "snaptrade".into()),
        platform: false,
    }
}

struct World {
    path: OrderPath<MemoryRows>,
    journal: Journal,
    audit: Arc<Mutex<MemoryAudit>>,
    env: Arc<SimulatedEnvironment>,
    live: SharedEngine,
}

/// Ann has Tradier (A), IBKR through SnapTrade (B) and Plaid (C); Bob, in
/// the same household, has his own Tradier account. One paper cycle opens
/// the gate.
fn world() -> World {
    let connections = vec![
        connection("ann-tradier", "ann", "tradier", Tier::A),
        connection("ann-ibkr", "ann", "ibkr", Tier::B),
        connection("ann-plaid", "ann", "plaid", Tier::C),
        connection("bob-tradier", "bob", "tradier", Tier::A),
    ];
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let master = MasterKey::generate(&mut rng);
    let mut velvet = Velvet::new(MemoryRows::new(), master, rng);
    let t0 = Utc.with_ymd_and_hms(2026, 1, 5, 15, 0, 0).unwrap();
    for c in &connections {
        velvet
            .enroll(c, &Secret::new(format!("key-{}", c.id)), t0)
            .unwrap();
    }
    let journal: Journal = Arc::default();
    let audit = Arc::new(Mutex::new(MemoryAudit::new()));
    let env = Arc::new(SimulatedEnvironment::new());
    let live = engine(&["ann-tradier", "ann-ibkr", "bob-tradier"]);
    let path = OrderPath::new(
        PathParts {
            connections,
            velvet,
            env: env.clone(),
            switches: kill::check,
            audit: Box::new(JournaledAudit {
                inner: audit.clone(),
                journal: journal.clone(),
            }),
            gate: GateRule {
                required_cycles: 1,
                scope: CycleScope::User,
            },
            paper: engine(&[]),
            brokers: Arc::new(Brokers {
                engine: live.clone(),
                journal: journal.clone(),
            }),
            clock: Arc::new(move || t0),
        },
        dec!(100000),
    );
    World {
        path,
        journal,
        audit,
        env,
        live,
    }
}

fn id(s: &str) -> ConnectionId {
    ConnectionId(s.into())
}

fn buy(cid: &str, quantity: Decimal) -> Order {
    Order::market(cid, "AAPL", Side::Buy, quantity)
}

impl World {
    fn journal(&self) -> Vec<String> {
        self.journal.lock().unwrap().clone()
    }

    /// One paper round trip on `connection`.
    async fn paper_cycle(&self, connection: &str) {
        let c = id(connection);
        self.path
            .submit(&c, Mode::Paper, &buy("p-in", dec!(1)))
            .await
            .unwrap();
        let out = Order::market("p-out", "AAPL", Side::Sell, dec!(1));
        self.path.submit(&c, Mode::Paper, &out).await.unwrap();
    }

    fn live_orders(&self) -> usize {
        lock(&self.live).engine().orders().len()
    }
}

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
