//! An order path for the gateway's own tests: the live brokers are MBT
//! accounts behind adapters that write what reaches them into one journal,
//! beside the audit sink's appends, so the order of the two can be checked.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use adapters::Side;
use chrono::TimeZone;
use mbt::{AccountKind, Engine, EngineConfig, Instrument, MarketData, MarketEvent};
use mbt::{Quote, Timestamp};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use adapters::mbt_paper::{MbtAdapter, SharedEngine};
use adapters::{
    AdapterError, BrokerAdapter, CancelResult, ErrorKind, Order, OrderResult, Position,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::audit::{self, AuditEntry, MemoryAudit};
use crate::audit::{AuditError, AuditEvent, AuditSink};
use crate::connection::{Connection, ConnectionId, HouseholdId};
use crate::connection::{Tier, UserId};
use crate::gate::CycleScope;
use crate::gate::GateRule;
use crate::kill::SimulatedEnvironment;
use crate::kill::{self, Mode};
use crate::router::{LiveBrokers, OrderPath, PathParts};
use crate::velvet::envelope::MasterKey;
use crate::velvet::memory::MemoryRows;
use crate::velvet::{Secret, Velvet};

/// Monday 2026-01-05 15:00 UTC: the market is open.
pub(crate) const MONDAY_OPEN: Timestamp = Timestamp::from_secs(1_767_625_200);

pub(crate) type Journal = Arc<Mutex<Vec<String>>>;

pub(crate) fn engine(accounts: &[&str]) -> SharedEngine {
    let mut e = Engine::new(EngineConfig::frictionless(), 7, MONDAY_OPEN);
    for a in accounts {
        assert!(e.open_account(a, AccountKind::Cash, dec!(100000)));
    }
    let engine: SharedEngine = Arc::new(Mutex::new(e));
    set_price(&engine, "AAPL", dec!(100));
    engine
}

/// Quotes `symbol` a cent either side of `price`, deep, a millisecond on.
pub(crate) fn set_price(engine: &SharedEngine, symbol: &str, price: Decimal) {
    let mut host = engine.lock().unwrap();
    let e = host.engine_mut();
    let id = e.instrument_id(&Instrument::equity(symbol));
    let time = e.now().plus_millis(1);
    assert!(e.on_market(&MarketEvent {
        time,
        instrument: id,
        data: MarketData::Quote(Quote {
            bid: price - dec!(0.01),
            ask: price + dec!(0.01),
            bid_size: dec!(1000),
            ask_size: dec!(1000),
        }),
    }));
}

/// The brokers: each credential is `key-<account>` of an account in one
/// MBT engine standing in for every live broker.
pub(crate) struct Brokers {
    engine: SharedEngine,
    journal: Journal,
    down: Arc<AtomicBool>,
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
            down: self.down.clone(),
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
    /// Every broker's outage: a submit is refused before it reaches one.
    down: Arc<AtomicBool>,
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
        if self.down.load(Ordering::SeqCst) {
            return Err(AdapterError::new(
                ErrorKind::Unavailable,
                "the broker is down",
            ));
        }
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

    async fn revoke(&self) -> adapters::Result<bool> {
        self.inner.revoke().await
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

pub(crate) fn note(journal: &Journal, line: String) {
    journal.lock().unwrap().push(line);
}

pub(crate) fn connection(id: &str, user: &str, slug: &str, tier: Tier) -> Connection {
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

pub(crate) struct World {
    pub(crate) path: OrderPath<MemoryRows>,
    pub(crate) journal: Journal,
    pub(crate) audit: Arc<Mutex<MemoryAudit>>,
    pub(crate) env: Arc<SimulatedEnvironment>,
    pub(crate) live: SharedEngine,
    pub(crate) paper: SharedEngine,
    pub(crate) down: Arc<AtomicBool>,
}

/// Ann has Tradier (A), IBKR through SnapTrade (B) and Plaid (C); Bob, in
/// the same household, has his own Tradier account. One paper cycle opens
/// the gate.
pub(crate) fn world() -> World {
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
    let paper = engine(&[]);
    let down = Arc::new(AtomicBool::new(false));
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
            paper: paper.clone(),
            brokers: Arc::new(Brokers {
                engine: live.clone(),
                journal: journal.clone(),
                down: down.clone(),
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
        paper,
        down,
    }
}

pub(crate) fn id(s: &str) -> ConnectionId {
    ConnectionId(s.into())
}

pub(crate) fn buy(cid: &str, quantity: Decimal) -> Order {
    Order::market(cid, "AAPL", Side::Buy, quantity)
}

impl World {
    pub(crate) fn journal(&self) -> Vec<String> {
        self.journal.lock().unwrap().clone()
    }

    /// One paper round trip on `connection`.
    pub(crate) async fn paper_cycle(&self, connection: &str) {
        let c = id(connection);
        self.path
            .submit(&c, Mode::Paper, &buy("p-in", dec!(1)))
            .await
            .unwrap();
        let out = Order::market("p-out", "AAPL", Side::Sell, dec!(1));
        self.path.submit(&c, Mode::Paper, &out).await.unwrap();
    }

    pub(crate) fn live_orders(&self) -> usize {
        self.live.lock().unwrap().engine().orders_accepted()
    }
}
