//! What a conformance case is: a named check over a world that declares the
//! capabilities it needs, and the context it runs with (the traced adapter,
//! its venue, and helpers for the waits every case needs).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use adapters::{
    AdapterError, BrokerAdapter, Description, ErrorKind, Order, OrderResult, OrderStatus,
    OrderType, TimeInForce,
};
use futures_util::future::LocalBoxFuture;

use crate::order_path::PathFlaw;
use crate::pace::Pace;
use crate::trace::{Actor, Trace};
use crate::traced::{Traced, TracedSource};
use crate::venue::Venue;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    Orders,
    Fills,
    State,
    Faults,
    Lifecycle,
    Tiers,
}

/// A capability a case needs; a case whose needs are not met is reported
/// as not applicable, with the reason, and never silently passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A simulated broker (fault injection, a wire): not the in-process paper engine.
    BrokerModel,
    /// The in-process paper engine.
    Paper,
    /// A simulated network between adapter and broker (turmoil), for
    /// network-level faults; bridged adapters talk over real loopback.
    SimulatedNetwork,
    Options,
    MultiLeg,
    Streaming,
    OrderType(OrderType),
    TimeInForce(TimeInForce),
    /// Replacing a working order.
    Replace,
    /// Opening a short position from flat.
    ShortSelling,
    /// An access token that expires and a refresh flow to renew it.
    TokenRefresh,
    /// Exits placed with an entry (a bracket).
    Brackets,
    /// Tier B: an aggregator between Raxx and the broker.
    Aggregator,
    /// Holdings served from a cache that can be stale: an aggregator's, or
    /// a read-only source's (Plaid's data is as of its last update).
    CachedHoldings,
    /// Tier C: a read-only source.
    ReadOnly,
}

/// Why a case cannot run against an adapter, or None when it can.
pub fn unmet(need: Need, d: &Description, venue: &Venue) -> Option<String> {
    unmet_at(need, d, venue.is_model())
}

/// Why a case cannot run against an adapter described by `d` trading at a
/// broker model (`model`) or the paper engine, or None when it can.
pub fn unmet_at(need: Need, d: &Description, model: bool) -> Option<String> {
    let c = &d.capabilities;
    let missing = |what: &str| Some(format!("{} does not support {what}", d.name));
    match need {
        Need::BrokerModel if !model => {
            Some("runs against a simulated broker; the paper engine has none".into())
        }
        Need::Paper if model => Some("only the paper engine is paper".into()),
        Need::SimulatedNetwork if !turmoil::in_simulation() => {
            Some("network faults need the simulated network; this run uses real loopback".into())
        }
        Need::SimulatedNetwork if !model => {
            Some("the paper engine is in process: there is no network to fault".into())
        }
        Need::Options if !c.options => missing("options"),
        Need::MultiLeg if !c.multi_leg => missing("multi-leg orders"),
        Need::Streaming if !c.streaming => missing("an order-status stream"),
        Need::OrderType(t) if !c.order_types.contains(&t) => missing(&format!("{t:?} orders")),
        Need::TimeInForce(t) if !c.time_in_force.contains(&t) => {
            missing(&format!("time in force {t:?}"))
        }
        Need::Replace if !c.replace => missing("replacing orders"),
        Need::ShortSelling if !c.short_selling => missing("short selling"),
        Need::Brackets if !c.brackets => missing("brackets"),
        Need::TokenRefresh if !c.token_refresh => Some(format!(
            "{} authenticates with credentials it cannot refresh (API keys or a personal token)",
            d.name
        )),
        Need::Aggregator if d.tier != adapters::Tier::B => Some(format!(
            "{} is not reached through an aggregator (tier {:?})",
            d.name, d.tier
        )),
        Need::CachedHoldings if d.tier != adapters::Tier::B && !c.read_only => Some(format!(
            "{} reads the broker's own state, not a cache (neither an aggregator nor a read-only source)",
            d.name
        )),
        Need::ReadOnly if !c.read_only => Some(format!("{} is not a read-only source", d.name)),
        _ => None,
    }
}

/// Why a case failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    /// A string to find in the trace for the excerpt (an order id, a call).
    pub near: Option<String>,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            near: None,
        }
    }

    pub fn near(mut self, needle: impl Into<String>) -> Self {
        self.near = Some(needle.into());
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<crate::error::VenueError> for Failure {
    fn from(e: crate::error::VenueError) -> Self {
        Failure::new(e.to_string())
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::new(message)
    }
}

pub type Outcome = Result<(), Failure>;

/// Fails the case with a message unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::case::Failure::new(format!($($msg)+)));
        }
    };
}

/// A conformance case: a stable id, what it needs, the world's starting
/// faults, and the check itself.
pub struct Case {
    pub id: &'static str,
    pub group: Group,
    pub about: &'static str,
    pub needs: &'static [Need],
    /// The fault plan the broker starts with, as TOML (empty: no faults).
    pub plan: &'static str,
    pub run: Body,
}

/// What a case does.
#[derive(Clone, Copy)]
pub enum Body {
    /// The check itself, against an adapter that trades.
    Check(fn(Arc<Ctx>) -> LocalBoxFuture<'static, Outcome>),
    /// The check itself, against a read-only source (Tier C): it cannot
    /// express an order, because the source has no method to place one.
    ReadOnly(fn(Arc<ReadCtx>) -> LocalBoxFuture<'static, Outcome>),
    /// One check written twice, for an adapter that trades (Tier B:
    /// holdings through an aggregator's cache) and for a read-only source.
    Either(
        fn(Arc<Ctx>) -> LocalBoxFuture<'static, Outcome>,
        fn(Arc<ReadCtx>) -> LocalBoxFuture<'static, Outcome>,
    ),
    /// Not written yet, and why: it fails any adapter that claims what the
    /// case needs, so no adapter passes a case that tests nothing.
    Missing(&'static str),
}

/// What a case runs with.
pub struct Ctx {
    pub case: &'static str,
    pub seed: u64,
    pub adapter: Arc<Traced>,
    pub venue: Venue,
    pub trace: Trace,
    /// The pace of the run: every wait of the case goes through it.
    pub pace: Pace,
    /// A bug of the order path a case builds around the adapter (a path
    /// mutant), or None: the gateway as it is.
    pub flaw: Option<PathFlaw>,
}

/// What a read-only case runs with.
pub struct ReadCtx {
    pub case: &'static str,
    pub seed: u64,
    pub source: Arc<TracedSource>,
    pub venue: Venue,
    pub trace: Trace,
    pub pace: Pace,
    pub flaw: Option<PathFlaw>,
}

/// How long a case waits for a broker to reach a state before failing.
pub const PATIENCE: Duration = Duration::from_secs(30);

impl Ctx {
    /// A client order id unique to this case, seed and purpose.
    pub fn cid(&self, purpose: &str) -> String {
        format!("{}-{}-{purpose}", self.case.replace('_', "-"), self.seed)
    }

    pub fn note(&self, text: impl AsRef<str>) {
        self.trace.record(Actor::Check, text);
    }

    pub async fn submit(&self, order: &Order) -> Result<OrderResult, Failure> {
        self.adapter
            .submit_order(order)
            .await
            .map_err(|e| unexpected("submit_order", &e).near(order.client_order_id.clone()))
    }

    /// Polls `get_order` until `done` holds, for up to [`PATIENCE`] of simulated time.
    pub async fn wait_for(
        &self,
        id: &str,
        what: &str,
        done: impl Fn(&OrderResult) -> bool,
    ) -> Result<OrderResult, Failure> {
        let deadline = self.pace.deadline(PATIENCE);
        let mut last = None;
        loop {
            match self.adapter.get_order(id).await {
                Ok(r) if done(&r) => return Ok(r),
                Ok(r) => last = Some(r),
                Err(e) if e.kind.is_transient() => {}
                Err(e) => return Err(unexpected("get_order", &e).near(id)),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Failure::new(format!(
                    "order {id} never became {what} within {PATIENCE:?}; last seen {last:?}"
                ))
                .near(id));
            }
            self.pace.sleep(Duration::from_millis(250)).await;
        }
    }

    /// How many orders the broker took for the intent `cid` (its ledger,
    /// the ground truth: refused submissions are not counted).
    pub async fn taken(&self, cid: &str) -> Result<usize, Failure> {
        let ledger = self.venue.ledger().await?;
        Ok(ledger
            .orders
            .iter()
            .filter(|o| o.intent == cid && o.taken)
            .count())
    }

    pub async fn wait_status(&self, id: &str, status: OrderStatus) -> Result<OrderResult, Failure> {
        self.wait_for(id, &format!("{status:?}"), |r| r.status == status)
            .await
    }

    pub fn describe(&self) -> Description {
        self.adapter.describe()
    }
}

/// A failure for an error the case did not expect.
pub fn unexpected(call: &str, e: &AdapterError) -> Failure {
    Failure::new(format!("{call} failed: {}: {}", e.kind, e.message))
}

/// Checks that a call failed with `kind`.
pub fn expect_kind<T: fmt::Debug>(
    call: &str,
    r: &Result<T, AdapterError>,
    kind: ErrorKind,
) -> Outcome {
    match r {
        Err(e) if e.kind == kind => Ok(()),
        Err(e) => Err(Failure::new(format!(
            "{call}: expected a {kind} error, got {}: {}",
            e.kind, e.message
        ))),
        Ok(v) => Err(Failure::new(format!(
            "{call}: expected a {kind} error, got success {v:?}"
        ))),
    }
}
