//! The adapter under test: a modelled broker's production adapter (from
//! the broker table) or the MBT paper adapter, and how a world builds it.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use adapters::mbt_paper::MbtAdapter;
use adapters::{
    Account, AdapterError, BrokerAdapter, CancelResult, Description, Holdings, Order, OrderResult,
    OrderUpdates, Position, Replace,
};
use broker_models::faults::FaultPlan;

use crate::brokers::{Broker, Built, BROKERS};
use crate::error::VenueError;
use crate::mutants::Reach;
use crate::venue::{Paper, Venue};
use crate::world::{ClientEnv, WorldSpec};

/// An in-process adapter the harness knows how to build.
#[derive(Clone, Copy)]
pub enum Subject {
    /// A modelled broker's production adapter, against its model.
    Broker(&'static Broker),
    /// The MBT paper adapter, on the paper engine in process.
    Paper,
}

/// The slug of the paper engine among the subjects.
pub const PAPER: &str = "mbt";

impl PartialEq for Subject {
    fn eq(&self, other: &Self) -> bool {
        self.slug() == other.slug()
    }
}

impl Eq for Subject {}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

/// A slug that names no subject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no adapter {slug:?}; there are {}", Subject::slugs().join(", "))]
pub struct UnknownSubject {
    pub slug: String,
}

impl Subject {
    /// Every subject: each modelled broker in table order, then paper.
    pub fn all() -> Vec<Subject> {
        BROKERS
            .iter()
            .map(Subject::Broker)
            .chain([Subject::Paper])
            .collect()
    }

    pub fn slugs() -> Vec<&'static str> {
        Self::all().into_iter().map(Subject::slug).collect()
    }

    pub fn slug(self) -> &'static str {
        match self {
            Subject::Broker(b) => b.slug(),
            Subject::Paper => PAPER,
        }
    }

    pub fn parse(slug: &str) -> Result<Self, UnknownSubject> {
        Self::all()
            .into_iter()
            .find(|s| s.slug() == slug)
            .ok_or_else(|| UnknownSubject {
                slug: slug.to_string(),
            })
    }

    /// The subjects a name stands for: one row of the broker table (or
    /// paper), or a vendor's every row (`snaptrade`: each brokerage behind it).
    pub fn family(name: &str) -> Result<Vec<Self>, UnknownSubject> {
        if let Ok(one) = Self::parse(name) {
            return Ok(vec![one]);
        }
        let rows = crate::brokers::family(name);
        if rows.is_empty() {
            return Err(UnknownSubject {
                slug: name.to_string(),
            });
        }
        Ok(rows.into_iter().map(Subject::Broker).collect())
    }

    /// Every name [`Subject::family`] takes: each subject's slug, then each
    /// vendor whose rows have names of their own.
    pub fn names() -> Vec<&'static str> {
        let mut names = Self::slugs();
        for b in BROKERS {
            if !names.contains(&b.vendor.slug) {
                names.push(b.vendor.slug);
            }
        }
        names
    }

    /// The world this adapter trades in: its broker's model, or none for paper.
    pub fn world(self, seed: u64, plan: FaultPlan) -> WorldSpec {
        match self {
            Subject::Paper => WorldSpec::new(seed),
            Subject::Broker(b) => WorldSpec::new(seed).broker(b.vendor.slug, plan),
        }
    }

    /// How the adapter reaches its broker in the world (none for paper).
    pub fn reach(self, env: &ClientEnv) -> Option<Reach> {
        match self {
            Subject::Broker(broker) => env.broker(broker.vendor.slug).map(|b| Reach {
                base_url: b.connection.base_url.clone(),
                setup: env.setup.clone(),
            }),
            Subject::Paper => None,
        }
    }

    /// Builds the adapter inside the world's client, and the venue it trades on.
    pub fn build(self, env: &ClientEnv) -> Result<(Built, Venue), VenueError> {
        match self {
            Subject::Broker(broker) => {
                let b = env
                    .broker(broker.vendor.slug)
                    .cloned()
                    .ok_or_else(|| VenueError::NoModel(broker.vendor.slug.to_string()))?;
                let adapter = broker.build(&b.connection, env.setup.clone());
                Ok((adapter, Venue::Model(Box::new(b))))
            }
            Subject::Paper => {
                let paper = Paper::new(env.seed, env.trace.clone(), &env.market)?;
                let skipped = Arc::new(Mutex::new(Duration::ZERO));
                paper.spawn_market(skipped.clone());
                let adapter = PaperNow {
                    inner: MbtAdapter::new(paper.venue.clone(), paper.account.clone()),
                    paper: paper.clone(),
                    skipped: skipped.clone(),
                };
                Ok((
                    Built::Trading(Arc::new(adapter)),
                    Venue::Paper { paper, skipped },
                ))
            }
        }
    }
}

/// The paper adapter with its market brought up to the world's now before
/// every call, as a broker model syncs before it answers: an order placed
/// at 2.000 s is stamped 2.000 s, not at the market's last tick.
struct PaperNow {
    inner: MbtAdapter,
    paper: Paper,
    skipped: Arc<Mutex<Duration>>,
}

impl PaperNow {
    fn sync(&self) {
        self.paper
            .sync(*self.skipped.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

#[async_trait::async_trait]
impl BrokerAdapter for PaperNow {
    fn describe(&self) -> Description {
        self.inner.describe()
    }
    fn account_id(&self) -> &str {
        self.inner.account_id()
    }
    async fn submit_order(&self, order: &Order) -> Result<OrderResult, AdapterError> {
        self.sync();
        self.inner.submit_order(order).await
    }
    async fn cancel_order(&self, id: &str) -> Result<CancelResult, AdapterError> {
        self.sync();
        self.inner.cancel_order(id).await
    }
    async fn replace_order(
        &self,
        id: &str,
        changes: &Replace,
    ) -> Result<OrderResult, AdapterError> {
        self.sync();
        self.inner.replace_order(id, changes).await
    }
    async fn get_order(&self, id: &str) -> Result<OrderResult, AdapterError> {
        self.sync();
        self.inner.get_order(id).await
    }
    async fn get_positions(&self) -> Result<Vec<Position>, AdapterError> {
        self.sync();
        self.inner.get_positions().await
    }
    async fn get_holdings(&self) -> Result<Holdings, AdapterError> {
        self.sync();
        self.inner.get_holdings().await
    }
    async fn get_account(&self) -> Result<Account, AdapterError> {
        self.sync();
        self.inner.get_account().await
    }
    async fn order_updates(&self) -> Result<OrderUpdates, AdapterError> {
        self.inner.order_updates().await
    }

    async fn revoke(&self) -> Result<bool, AdapterError> {
        self.inner.revoke().await
    }
}
