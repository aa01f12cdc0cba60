//! The gateway's order path in a case's world: the adapter under test is
//! the live broker of one connection (the **subject**) in a household that
//! also holds a **neighbour** connection at another broker (an MBT account
//! standing in for it: Tier A beside a Tier B subject, Tier B beside a
//! Tier A one). The path runs with its real parts: Velvet over SQLite, the
//! audit chain in a file, the kill switches over an environment the case
//! owns, the paper-first gate over MBT.
//!
//! What reaches a broker is judged at the broker's edge, not by the path:
//! every order call that reaches the subject or the neighbour first reads
//! the audit file from disk and notes a breach when the call's entry is not
//! there ([`Rig::breaches`]); the model's ledger says which orders it took.
//!
//! A [`PathFlaw`] builds the path with one known bug in one of its parts,
//! so that the cases can be shown to catch each (the path mutants).

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use adapters::mbt_paper::{MbtAdapter, SharedEngine};
use adapters::{
    Account, AdapterError, BrokerAdapter, CancelResult, Description, ErrorKind, Order, OrderResult,
    OrderUpdates, Position, ReadOnlySource, Side, Tier,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gateway::audit::{
    self, AuditEntry, AuditError, AuditEvent, AuditSink, ChainSummary, FileAudit,
};
use gateway::connection::connection_tier;
use gateway::gate::{CycleScope, GateRule};
use gateway::kill::{self, Action, Environment, Mode, SimulatedEnvironment};
use gateway::router::{LiveBrokers, OrderPath, PathError, PathParts};
use gateway::velvet::envelope::MasterKey;
use gateway::velvet::sqlite::SqliteRows;
use gateway::velvet::{Retired, RowStore, Secret, StoreError, TokenRow, Velvet};
use gateway::{Connection, ConnectionId, HouseholdId, UserId};
use mbt::{AccountKind, Engine, EngineConfig, Instrument, MarketData, MarketEvent};
use mbt::{Quote, Timestamp};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rust_decimal::Decimal;

use crate::case::Failure;
use crate::cases::SYMBOL;
use crate::venue::Venue;

/// One known bug of the order path, each in the part it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathFlaw {
    /// The kill switches' rule forgets that paper is never stopped.
    KillSwitchStopsPaper,
    /// The kill switches' rule stops cancels too, trapping users in live orders.
    KillSwitchStopsCancels,
    /// The store forgot `no_order_write`; only a check above it would refuse Tier C.
    TierCOnlyAboveTheStore,
    /// The audit sink buffers: an entry is written when the next one comes,
    /// so the attempt lands after the broker saw the order.
    AuditAfterTheBroker,
    /// The store reads rows without their revocation.
    ForgetsRevocations,
    /// The router sends a sell to whichever account of the household holds
    /// the shares (netting the household's accounts).
    NetsTheHousehold,
    /// One broker's outage trips a breaker that stops every connection.
    OneOutageStopsAll,
    /// Revocation marks the store only: the vendor's revoke is never called,
    /// so the grant still works there.
    SkipsBrokerRevoke,
    /// The path changes the rules' orders on their way to a broker (one
    /// more share than fired, as a "round lot" fix-up would).
    RewritesLiveOrders,
}

/// The subject's and the neighbour's ids.
pub const SUBJECT: &str = "subject";
pub const NEIGHBOUR: &str = "neighbour";
/// The neighbour's account at its (MBT) broker.
const NEIGHBOUR_ACCOUNT: &str = "N-1";
/// Monday 2026-01-05 15:00 UTC, when the paper and neighbour engines start: open.
const MONDAY_OPEN: Timestamp = Timestamp::from_secs(1_767_625_200);

/// What the case hands the rig about the broker under test.
pub struct Subject {
    /// The adapter under test, or None for a read-only source (which has
    /// no way to place an order).
    pub adapter: Option<Arc<dyn BrokerAdapter>>,
    /// The read-only source under test (None for an adapter that trades).
    pub source: Option<Arc<dyn ReadOnlySource>>,
    pub describe: Description,
    pub account_id: String,
}

/// One connection the path reaches, as the harness built it.
pub struct Endpoint {
    pub connection: Connection,
    /// What Velvet stores for it: the credential object its broker issued.
    pub credential: Secret,
    /// Its broker's adapter, or None for a read-only source (which has no
    /// way to place an order).
    pub adapter: Option<Arc<dyn BrokerAdapter>>,
    /// A read-only source's own client, for what it does besides reading
    /// (revoking the grant at the vendor).
    pub source: Option<Arc<dyn ReadOnlySource>>,
    /// A switch that takes a stand-in broker down (a model's outages are
    /// the model's own).
    pub down: Option<Arc<AtomicBool>>,
}

/// The order path over some endpoints, with its audit log in a file and
/// the breaches its brokers witnessed.
pub struct Assembly {
    pub path: OrderPath<Box<dyn RowStore>>,
    /// The environment the kill switches are read from.
    pub env: Arc<SimulatedEnvironment>,
    /// The MBT engine of the connections' paper accounts.
    paper: SharedEngine,
    breaches: Arc<Mutex<Vec<String>>>,
    audit_file: PathBuf,
    /// How far the path's clock has jumped ahead of simulated time.
    skipped: Arc<Mutex<chrono::Duration>>,
}

impl Drop for Assembly {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.audit_file);
    }
}

/// A fresh file name for one assembly's audit log.
fn audit_file(seed: u64) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!(
        "raxx-sim-audit-{}-{seed}-{n}.jsonl",
        std::process::id()
    ))
}

impl Assembly {
    /// The path over `endpoints`, each enrolled in Velvet (over SQLite) at
    /// `epoch`, its clock the world's from `epoch` on, its paper accounts in
    /// an MBT engine quoting `prices`, live orders opening after
    /// the gate's paper cycles.
    pub fn new(
        endpoints: Vec<Endpoint>,
        seed: u64,
        flaw: Option<PathFlaw>,
        epoch: DateTime<Utc>,
        prices: &[(String, Decimal)],
        gate: GateRule,
    ) -> Result<Assembly, Failure> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x7665_6c76_6574);
        let master = MasterKey::generate(&mut rng);
        let rows: Box<dyn RowStore> = Box::new(SqliteRows::in_memory().map_err(store)?);
        let rows: Box<dyn RowStore> = match flaw {
            Some(PathFlaw::TierCOnlyAboveTheStore) => Box::new(Forgetful {
                inner: rows,
                forgets: Forgets::NoOrderWrite,
            }),
            Some(PathFlaw::ForgetsRevocations) => Box::new(Forgetful {
                inner: rows,
                forgets: Forgets::Revocation,
            }),
            _ => rows,
        };
        let mut velvet = Velvet::new(rows, master, rng);
        for e in &endpoints {
            velvet
                .enroll(&e.connection, &e.credential, epoch)
                .map_err(|e| Failure::new(e.to_string()))?;
        }

        let file = audit_file(seed);
        // A temporary log, removed with the assembly: the witness reads each
        // entry from the file before its broker call, and syncing it to
        // the disk would only cost time.
        let sink: Box<dyn AuditSink> = Box::new(
            FileAudit::open_unsynced(&file)
                .map_err(|e| Failure::new(format!("the audit log cannot be opened: {e}")))?,
        );
        let sink = match flaw {
            Some(PathFlaw::AuditAfterTheBroker) => Box::new(Deferred {
                inner: sink,
                held: None,
            }),
            _ => sink,
        };
        let switches: kill::Rule = match flaw {
            Some(PathFlaw::KillSwitchStopsPaper) => {
                |env, c, _, action| kill::check(env, c, Mode::Live, action)
            }
            Some(PathFlaw::KillSwitchStopsCancels) => |env, c, mode, action| {
                let action = match action {
                    Action::CancelOrder => Action::PlaceOrder,
                    other => other,
                };
                kill::check(env, c, mode, action)
            },
            _ => kill::check,
        };

        let breaches: Arc<Mutex<Vec<String>>> = Arc::default();
        let connections = endpoints.iter().map(|e| e.connection.clone()).collect();
        let brokers: Arc<dyn LiveBrokers> = Arc::new(PathBrokers {
            endpoints: endpoints
                .into_iter()
                .map(|e| (e.connection.id.clone(), e))
                .collect(),
            witness: Witness::new(file.clone(), breaches.clone()),
            flaw,
            tripped: Arc::default(),
        });
        let env = Arc::new(SimulatedEnvironment::new());
        let environment: Arc<dyn Environment> = env.clone();
        let start = tokio::time::Instant::now();
        let skipped: Arc<Mutex<chrono::Duration>> = Arc::default();
        let jumped = skipped.clone();
        let paper = engine(&[], prices);
        let path = OrderPath::new(
            PathParts {
                connections,
                velvet,
                env: environment,
                switches,
                audit: sink,
                gate,
                paper: paper.clone(),
                brokers,
                // The world's clock: `epoch` at the start, simulated time
                // since, and the jumps of a replay (see `Assembly::jump_to`).
                clock: Arc::new(move || {
                    let since = tokio::time::Instant::now() - start;
                    epoch
                        + chrono::Duration::from_std(since).unwrap_or_default()
                        + *jumped.lock().unwrap_or_else(|p| p.into_inner())
                }),
            },
            Decimal::from(100_000),
        );
        Ok(Assembly {
            path,
            env,
            paper,
            breaches,
            audit_file: file,
            skipped,
        })
    }

    /// An instrument's mark in the paper accounts' market: the mid of its
    /// quote (an option's priced from its underlying at the market's time).
    pub fn paper_mark(&self, instrument: &Instrument) -> Option<Decimal> {
        let host = self.paper.lock().unwrap_or_else(|p| p.into_inner());
        host.engine().quote(instrument).map(|q| q.mid())
    }

    /// Moves the path's clock, and its paper accounts' market, forward to
    /// `at` (never back): a replay that jumps the world to its next bar.
    pub fn jump_to(&self, at: DateTime<Utc>) {
        let now = self.path.now();
        if at > now {
            *self.skipped.lock().unwrap_or_else(|p| p.into_inner()) += at - now;
        }
        let mut host = self.paper.lock().unwrap_or_else(|p| p.into_inner());
        let engine = host.engine_mut();
        let at = Timestamp::from_datetime(at);
        if at > engine.now() {
            engine.advance_to(at);
        }
    }

    /// Quotes `symbol` around `price` in the paper accounts' market.
    pub fn set_paper_price(&self, symbol: &str, price: Decimal) {
        let mut host = self.paper.lock().unwrap_or_else(|p| p.into_inner());
        quote(host.engine_mut(), symbol, price);
    }

    /// Breaches seen at the brokers' edge: an order call whose audit entry
    /// was not on disk when it arrived.
    pub fn breaches(&self) -> Vec<String> {
        self.breaches
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The audit log as written, verified against the path's head.
    pub fn audit_log(&self) -> Result<Vec<AuditEntry>, Failure> {
        let text = std::fs::read_to_string(&self.audit_file)
            .map_err(|e| Failure::new(format!("the audit log cannot be read: {e}")))?;
        audit::verify_with_head(&text, &self.path.audit_head())
            .map_err(|b| Failure::new(format!("the audit chain does not verify: {b}")))?;
        text.lines()
            .map(|l| serde_json::from_str(l).map_err(|e| Failure::new(format!("audit entry: {e}"))))
            .collect()
    }
}

/// The order path around the adapter under test (the subject) and a
/// neighbour in the same household.
pub struct Rig {
    pub assembly: Assembly,
    pub subject: Connection,
    pub neighbour: Connection,
    neighbour_engine: SharedEngine,
    neighbour_down: Arc<AtomicBool>,
}

impl std::ops::Deref for Rig {
    type Target = Assembly;
    fn deref(&self) -> &Assembly {
        &self.assembly
    }
}

impl Rig {
    pub async fn new(
        venue: &Venue,
        subject: Subject,
        seed: u64,
        flaw: Option<PathFlaw>,
    ) -> Result<Rig, Failure> {
        let Venue::Model(endpoint) = venue else {
            return Err(Failure::new(
                "the order path's live side needs a broker model",
            ));
        };
        let ledger = venue.ledger().await?;
        let tier = connection_tier(
            subject.describe.tier,
            subject.describe.capabilities.read_only,
        );
        let (slug, aggregator) = match subject.describe.tier {
            Tier::B => {
                let brokerage = ledger
                    .connections
                    .iter()
                    .find(|v| v.accounts.contains(&subject.account_id))
                    .map(|v| v.brokerage.clone())
                    .ok_or_else(|| {
                        Failure::new(format!(
                            "no brokerage behind the aggregator holds account {}",
                            subject.account_id
                        ))
                    })?;
                // A read-only brokerage behind the aggregator is Tier C:
                // no aggregator to name for it (nor a switch to obey).
                (
                    brokerage,
                    (tier == Tier::B).then(|| venue.slug().to_string()),
                )
            }
            Tier::A | Tier::C => (venue.slug().to_string(), None),
        };
        let household = HouseholdId("household".into());
        let subject_connection = Connection {
            id: ConnectionId(SUBJECT.into()),
            user: UserId("ann".into()),
            household: household.clone(),
            brand: slug.clone(),
            slug,
            tier,
            aggregator,
            platform: false,
        };
        // A Tier A neighbour beside an aggregated subject, a Tier B one
        // beside a direct (or read-only) one.
        let neighbour_tier = if tier == Tier::B { Tier::A } else { Tier::B };
        let neighbour = Connection {
            id: ConnectionId(NEIGHBOUR.into()),
            user: UserId("ann".into()),
            household,
            slug: "neighbour".into(),
            brand: "Neighbour Brokerage".into(),
            tier: neighbour_tier,
            aggregator: (neighbour_tier == Tier::B).then(|| "neighbour-aggregator".into()),
            platform: false,
        };
        let neighbour_engine = engine(&[NEIGHBOUR_ACCOUNT], &[(SYMBOL.into(), Decimal::from(100))]);
        let neighbour_down = Arc::new(AtomicBool::new(false));
        let endpoints = vec![
            Endpoint {
                connection: subject_connection.clone(),
                credential: Secret::new(endpoint.connection.credentials.to_string()),
                adapter: subject.adapter,
                source: subject.source,
                down: None,
            },
            Endpoint {
                connection: neighbour.clone(),
                credential: Secret::new("neighbour-key"),
                adapter: Some(Arc::new(MbtAdapter::new(
                    neighbour_engine.clone(),
                    NEIGHBOUR_ACCOUNT,
                ))),
                source: None,
                down: Some(neighbour_down.clone()),
            },
        ];
        let assembly = Assembly::new(
            endpoints,
            seed,
            flaw,
            ledger.now.to_datetime(),
            &[(SYMBOL.into(), Decimal::from(100))],
            GateRule {
                required_cycles: 1,
                scope: CycleScope::User,
            },
        )?;
        Ok(Rig {
            assembly,
            subject: subject_connection,
            neighbour,
            neighbour_engine,
            neighbour_down,
        })
    }

    /// One MBT paper round trip on the subject, which opens the gate.
    pub async fn graduate(&self) -> Result<(), Failure> {
        let id = &self.subject.id;
        for (purpose, side) in [("cycle-in", Side::Buy), ("cycle-out", Side::Sell)] {
            let order = Order::market(purpose, SYMBOL, side, Decimal::ONE);
            self.path
                .submit(id, Mode::Paper, &order)
                .await
                .map_err(|e| path_failure(&format!("paper {purpose}"), &e))?;
        }
        let decision = self
            .path
            .decision(id)
            .map_err(|e| path_failure("gate", &e))?;
        crate::ensure!(
            decision.open,
            "after a paper cycle the gate is still closed: {}",
            decision.reason
        );
        Ok(())
    }

    /// The neighbour's position in `symbol` at its broker.
    pub fn neighbour_position(&self, symbol: &str) -> Decimal {
        let engine = self
            .neighbour_engine
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        engine
            .engine()
            .account(NEIGHBOUR_ACCOUNT)
            .and_then(|a| a.positions.get(&Instrument::equity(symbol)))
            .map(|p| p.quantity)
            .unwrap_or_default()
    }

    /// Orders the neighbour's broker has received.
    pub fn neighbour_orders(&self) -> usize {
        let engine = self
            .neighbour_engine
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        engine.engine().orders_accepted()
    }

    /// Takes the neighbour's broker down (or brings it back).
    pub fn set_neighbour_down(&self, down: bool) {
        self.neighbour_down.store(down, Ordering::SeqCst);
    }
}

/// The connection to the registry row `row` served by `venue`, enrolled
/// with the credentials its model issued: one user's, in one household.
/// A connection that cannot place orders is Tier C whoever reaches it.
pub fn endpoint(
    row: &str,
    venue: &Venue,
    adapter: Option<Arc<dyn BrokerAdapter>>,
    source: Option<Arc<dyn ReadOnlySource>>,
) -> Result<Endpoint, String> {
    let Venue::Model(served) = venue else {
        return Err(
            "the order path's connections are brokers' (paper is each one's own MBT account)"
                .into(),
        );
    };
    let entry = crate::brokers::find(row).ok_or_else(|| format!("no broker {row}"))?;
    let describe = match (&adapter, &source) {
        (Some(a), _) => a.describe(),
        (None, Some(s)) => s.describe(),
        (None, None) => return Err(format!("{row}: neither an adapter nor a source")),
    };
    let tier = connection_tier(describe.tier, describe.capabilities.read_only);
    let slug = entry.via.unwrap_or(entry.vendor.slug).to_lowercase();
    Ok(Endpoint {
        connection: Connection {
            id: ConnectionId(row.to_string()),
            user: UserId("trader".into()),
            household: HouseholdId("household".into()),
            brand: slug.clone(),
            slug,
            tier,
            aggregator: (tier == Tier::B).then(|| entry.vendor.slug.to_string()),
            platform: false,
        },
        credential: Secret::new(served.connection.credentials.to_string()),
        adapter,
        source,
        down: None,
    })
}

/// A path error as a case failure.
pub fn path_failure(call: &str, e: &PathError) -> Failure {
    Failure::new(format!("{call}: {} ({})", e, e.kind()))
}

fn store(e: StoreError) -> Failure {
    Failure::new(e.to_string())
}

/// An MBT engine with `accounts` (cash, 100,000 each) quoting `prices`.
fn engine(accounts: &[&str], prices: &[(String, Decimal)]) -> SharedEngine {
    let mut e = Engine::new(EngineConfig::frictionless(), 7, MONDAY_OPEN);
    for a in accounts {
        e.open_account(a, AccountKind::Cash, Decimal::from(100_000));
    }
    for (symbol, price) in prices {
        quote(&mut e, symbol, *price);
    }
    Arc::new(Mutex::new(e))
}

/// Quotes `symbol` a cent either side of `price`, deep, a millisecond on.
fn quote(e: &mut Engine, symbol: &str, price: Decimal) {
    let cent = Decimal::new(1, 2);
    let id = e.instrument_id(&Instrument::equity(symbol));
    let time = e.now().plus_millis(1);
    e.on_market(&MarketEvent {
        time,
        instrument: id,
        data: MarketData::Quote(Quote {
            bid: price - cent,
            ask: price + cent,
            bid_size: Decimal::from(10_000),
            ask_size: Decimal::from(10_000),
        }),
    });
}

/// Reads the audit log at each order call that reaches a broker.
#[derive(Clone)]
struct Witness {
    file: PathBuf,
    breaches: Arc<Mutex<Vec<String>>>,
    /// What earlier looks verified: the log is read from where they
    /// stopped, so a long replay reads it once, not once per order.
    seen: Arc<Mutex<Seen>>,
}

/// The part of the log a [`Witness`] has verified.
struct Seen {
    bytes: u64,
    chain: ChainSummary,
    last: Option<AuditEntry>,
}

impl Witness {
    fn new(file: PathBuf, breaches: Arc<Mutex<Vec<String>>>) -> Self {
        Self {
            file,
            breaches,
            seen: Arc::new(Mutex::new(Seen {
                bytes: 0,
                chain: ChainSummary::empty(),
                last: None,
            })),
        }
    }

    /// Whether the log on disk ends with the entry `expected` describes,
    /// its new entries continuing the chain verified so far.
    fn check(&self, what: &str, expected: impl Fn(&AuditEvent) -> bool) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let ok = match self.appended(seen.bytes) {
            Some((text, len)) => match audit::verify_after(&text, &seen.chain) {
                Ok(chain) => {
                    if let Some(l) = text.lines().last() {
                        seen.last = serde_json::from_str::<AuditEntry>(l).ok();
                    }
                    seen.bytes = len;
                    seen.chain = chain;
                    seen.last.as_ref().is_some_and(|e| expected(&e.event))
                }
                Err(_) => false,
            },
            None => false,
        };
        if !ok {
            self.breaches
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(format!(
                    "{what} reached the broker before its audit entry was on disk"
                ));
        }
    }

    /// The log's text after its first `from` bytes, and its length; None
    /// when it cannot be read or is shorter than what was verified.
    fn appended(&self, from: u64) -> Option<(String, u64)> {
        let mut file = std::fs::File::open(&self.file).ok()?;
        if file.metadata().ok()?.len() < from {
            return None;
        }
        file.seek(SeekFrom::Start(from)).ok()?;
        let mut text = String::new();
        file.read_to_string(&mut text).ok()?;
        let len = from + text.len() as u64;
        Some((text, len))
    }
}

/// The live brokers of the path's endpoints.
struct PathBrokers {
    endpoints: BTreeMap<ConnectionId, Endpoint>,
    witness: Witness,
    flaw: Option<PathFlaw>,
    /// Set by [`PathFlaw::OneOutageStopsAll`]'s breaker.
    tripped: Arc<AtomicBool>,
}

#[async_trait]
impl LiveBrokers for PathBrokers {
    fn trading(
        &self,
        connection: &Connection,
        credential: &Secret,
    ) -> Result<Arc<dyn BrokerAdapter>, AdapterError> {
        let endpoint = self.endpoints.get(&connection.id).ok_or_else(|| {
            AdapterError::not_found(format!("no broker for connection {}", connection.id))
        })?;
        if credential != &endpoint.credential {
            return Err(AdapterError::new(
                ErrorKind::AuthExpired,
                "not the credential the connection was enrolled with",
            ));
        }
        let Some(inner) = endpoint.adapter.clone() else {
            return Err(AdapterError::unsupported(format!(
                "{} is a read-only source: it has no way to place an order",
                connection.slug
            )));
        };
        // The netting bug: the household's other accounts, where a sell may go.
        let netted_to = match self.flaw {
            Some(PathFlaw::NetsTheHousehold) => self
                .endpoints
                .values()
                .filter(|e| {
                    e.connection.id != connection.id
                        && e.connection.household == connection.household
                })
                .filter_map(|e| e.adapter.clone())
                .collect(),
            _ => Vec::new(),
        };
        Ok(Arc::new(AtTheBroker {
            inner,
            down: endpoint.down.clone(),
            witness: self.witness.clone(),
            netted_to,
            breaker: (self.flaw == Some(PathFlaw::OneOutageStopsAll)).then(|| self.tripped.clone()),
            rewrites: self.flaw == Some(PathFlaw::RewritesLiveOrders),
        }))
    }

    /// The connection's adapter or source revokes its grant at the vendor,
    /// where the vendor has a revoke (Plaid, SnapTrade); the others answer
    /// that they had nothing to revoke.
    async fn revoke(
        &self,
        connection: &Connection,
        credential: &Secret,
    ) -> Result<(), AdapterError> {
        let Some(endpoint) = self.endpoints.get(&connection.id) else {
            return Ok(());
        };
        if credential != &endpoint.credential {
            return Err(AdapterError::new(
                ErrorKind::AuthExpired,
                "not the credential the connection was enrolled with",
            ));
        }
        if self.flaw == Some(PathFlaw::SkipsBrokerRevoke) {
            return Ok(());
        }
        match (&endpoint.adapter, &endpoint.source) {
            (Some(adapter), _) => adapter.revoke().await.map(|_| ()),
            (None, Some(source)) => source.revoke().await.map(|_| ()),
            (None, None) => Ok(()),
        }
    }
}

/// A broker as the path reaches it: the witness reads the audit log first.
struct AtTheBroker {
    inner: Arc<dyn BrokerAdapter>,
    /// The neighbour's outage switch (None: the subject, whose outages are the model's).
    down: Option<Arc<AtomicBool>>,
    witness: Witness,
    /// [`PathFlaw::NetsTheHousehold`]: the household's other accounts,
    /// where a sell goes when one of them holds the shares.
    netted_to: Vec<Arc<dyn BrokerAdapter>>,
    /// [`PathFlaw::OneOutageStopsAll`]: tripped by any outage, it stops every connection.
    breaker: Option<Arc<AtomicBool>>,
    /// [`PathFlaw::RewritesLiveOrders`].
    rewrites: bool,
}

impl AtTheBroker {
    fn reachable(&self) -> adapters::Result<()> {
        let down = self.down.as_ref().is_some_and(|d| d.load(Ordering::SeqCst));
        if let Some(breaker) = &self.breaker {
            if down {
                breaker.store(true, Ordering::SeqCst);
            }
            if breaker.load(Ordering::SeqCst) {
                return Err(AdapterError::new(
                    ErrorKind::Unavailable,
                    "the breaker is open",
                ));
            }
        }
        if down {
            return Err(AdapterError::new(
                ErrorKind::Unavailable,
                "the neighbour's broker is down",
            ));
        }
        Ok(())
    }

    fn tripped_by(&self, r: &adapters::Result<OrderResult>) {
        if let (Some(breaker), Err(e)) = (&self.breaker, r) {
            if matches!(e.kind, ErrorKind::Unavailable | ErrorKind::Timeout) {
                breaker.store(true, Ordering::SeqCst);
            }
        }
    }
}

#[async_trait]
impl BrokerAdapter for AtTheBroker {
    fn describe(&self) -> Description {
        self.inner.describe()
    }
    fn account_id(&self) -> &str {
        self.inner.account_id()
    }
    async fn submit_order(&self, order: &Order) -> adapters::Result<OrderResult> {
        self.reachable()?;
        let rewritten;
        let order = if self.rewrites {
            rewritten = Order {
                quantity: order.quantity + Decimal::ONE,
                ..order.clone()
            };
            &rewritten
        } else {
            order
        };
        let cid = order.client_order_id.clone();
        self.witness.check(&format!("order {cid}"), |e| {
            matches!(e, AuditEvent::OrderAttempt { client_order_id, .. } if *client_order_id == cid)
        });
        if order.side == Side::Sell {
            for other in &self.netted_to {
                let held: Decimal = other
                    .get_positions()
                    .await?
                    .iter()
                    .filter(|p| p.instrument == order.instrument)
                    .map(|p| p.quantity)
                    .sum();
                if held >= order.quantity {
                    return other.submit_order(order).await;
                }
            }
        }
        let r = self.inner.submit_order(order).await;
        self.tripped_by(&r);
        r
    }
    async fn cancel_order(&self, id: &str) -> adapters::Result<CancelResult> {
        self.reachable()?;
        self.witness.check(&format!("cancel of {id}"), |e| {
            matches!(e, AuditEvent::CancelAttempt { broker_order_id, .. } if broker_order_id == id)
        });
        self.inner.cancel_order(id).await
    }
    async fn get_order(&self, id: &str) -> adapters::Result<OrderResult> {
        self.reachable()?;
        self.inner.get_order(id).await
    }
    async fn get_positions(&self) -> adapters::Result<Vec<Position>> {
        self.reachable()?;
        self.inner.get_positions().await
    }
    async fn get_account(&self) -> adapters::Result<Account> {
        self.reachable()?;
        self.inner.get_account().await
    }
    async fn order_updates(&self) -> adapters::Result<OrderUpdates> {
        self.inner.order_updates().await
    }

    async fn revoke(&self) -> adapters::Result<bool> {
        self.inner.revoke().await
    }
}

/// What a forgetful store drops when it reads a row.
#[derive(Clone, Copy)]
enum Forgets {
    NoOrderWrite,
    Revocation,
}

/// A row store that reads rows without one of their rules.
struct Forgetful {
    inner: Box<dyn RowStore>,
    forgets: Forgets,
}

impl Forgetful {
    fn forget(&self, mut row: TokenRow) -> TokenRow {
        match self.forgets {
            Forgets::NoOrderWrite => row.no_order_write = false,
            Forgets::Revocation => row.revoked_at = None,
        }
        row
    }
}

impl RowStore for Forgetful {
    fn insert(&mut self, row: TokenRow) -> Result<(), StoreError> {
        self.inner.insert(row)
    }
    fn row(&self, id: &ConnectionId) -> Result<Option<TokenRow>, StoreError> {
        Ok(self.inner.row(id)?.map(|r| self.forget(r)))
    }
    fn rows(&self) -> Result<Vec<TokenRow>, StoreError> {
        Ok(self
            .inner
            .rows()?
            .into_iter()
            .map(|r| self.forget(r))
            .collect())
    }
    fn replace_token(
        &mut self,
        id: &ConnectionId,
        token_ciphertext: Vec<u8>,
        rotation_due_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner
            .replace_token(id, token_ciphertext, rotation_due_at, at)
    }
    fn mark_revoked(&mut self, id: &ConnectionId, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.inner.mark_revoked(id, at)
    }
    fn history(&self, id: &ConnectionId) -> Result<Vec<Retired>, StoreError> {
        self.inner.history(id)
    }
}

/// An audit sink that writes each entry only when the next one comes (a
/// buffer nobody flushes before the broker call).
struct Deferred {
    inner: Box<dyn AuditSink>,
    held: Option<(DateTime<Utc>, AuditEvent)>,
}

impl AuditSink for Deferred {
    fn append(&mut self, at: DateTime<Utc>, event: AuditEvent) -> Result<AuditEntry, AuditError> {
        let entry = match self.held.take() {
            Some((t, e)) => self.inner.append(t, e)?,
            None => AuditEntry {
                seq: 0,
                at,
                prev: audit::GENESIS.to_string(),
                event: event.clone(),
                hash: audit::GENESIS.to_string(),
            },
        };
        self.held = Some((at, event));
        Ok(entry)
    }
    fn head(&self) -> &str {
        self.inner.head()
    }
}
