//! The adapter under test: which one, and how a world builds it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use adapters::alpaca::{AlpacaAdapter, AlpacaConfig};
use adapters::mbt_paper::MbtAdapter;
use adapters::tradier::{TradierAdapter, TradierConfig};
use adapters::{
    Account, AdapterError, BrokerAdapter, CancelResult, Description, Order, OrderResult,
    OrderUpdates, Position, Replace,
};
use broker_models::faults::FaultPlan;

use crate::venue::{Paper, Venue};
use crate::world::{ClientEnv, WorldSpec};

/// An in-process adapter the harness knows how to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    Alpaca,
    Tradier,
    Mbt,
}

impl Subject {
    pub const ALL: [Subject; 3] = [Subject::Alpaca, Subject::Tradier, Subject::Mbt];

    pub fn slug(self) -> &'static str {
        match self {
            Subject::Alpaca => "alpaca",
            Subject::Tradier => "tradier",
            Subject::Mbt => "mbt",
        }
    }

    pub fn parse(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.slug() == slug)
    }

    /// The world this adapter trades in: its broker's model, or none for paper.
    pub fn world(self, seed: u64, plan: FaultPlan) -> WorldSpec {
        match self {
            Subject::Mbt => WorldSpec::new(seed),
            other => WorldSpec::new(seed).broker(other.slug(), plan),
        }
    }

    /// Builds the adapter inside the world's client, and the venue it trades on.
    pub fn build(self, env: &ClientEnv) -> Result<(Arc<dyn BrokerAdapter>, Venue), String> {
        let endpoint = || {
            env.broker(self.slug())
                .cloned()
                .ok_or_else(|| format!("the world has no {} model", self.slug()))
        };
        match self {
            Subject::Alpaca => {
                let b = endpoint()?;
                let adapter = AlpacaAdapter::new(
                    AlpacaConfig {
                        base_url: b.base_url.clone(),
                        key_id: b.credential("key_id"),
                        secret_key: b.credential("secret_key"),
                        account_id: b.accounts.first().cloned().unwrap_or_default(),
                    },
                    env.setup.clone(),
                );
                Ok((Arc::new(adapter), Venue::Model(Box::new(b))))
            }
            Subject::Tradier => {
                let b = endpoint()?;
                let adapter = TradierAdapter::new(
                    TradierConfig {
                        base_url: b.base_url.clone(),
                        access_token: b.credential("access_token"),
                        account_id: b.accounts.first().cloned().unwrap_or_default(),
                    },
                    env.setup.clone(),
                );
                Ok((Arc::new(adapter), Venue::Model(Box::new(b))))
            }
            Subject::Mbt => {
                let paper = Paper::new(env.seed, env.trace.clone(), &env.market)?;
                let skipped = Arc::new(Mutex::new(Duration::ZERO));
                paper.spawn_market(skipped.clone());
                let adapter = PaperNow {
                    inner: MbtAdapter::new(paper.engine.clone(), paper.account.clone()),
                    paper: paper.clone(),
                    skipped: skipped.clone(),
                };
                Ok((Arc::new(adapter), Venue::Paper { paper, skipped }))
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
    async fn get_account(&self) -> Result<Account, AdapterError> {
        self.sync();
        self.inner.get_account().await
    }
    async fn order_updates(&self) -> Result<OrderUpdates, AdapterError> {
        self.inner.order_updates().await
    }
}
