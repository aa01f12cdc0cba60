//! Builds a served model: a brokerage for one broker, its vendor's wire
//! face, the fault layer in front, and the control surface beside it; and
//! the one description of how a client reaches it (`Connection`), the same
//! for `raxx-sim serve`, the harness's worlds, the bridge and the tests.

use std::collections::BTreeMap;
use std::fmt;

use axum::Router;
use serde::Serialize;
use serde_json::Value;
use tower::layer::layer_fn;

use mbt::MarketSpec;

use crate::brokerage::SimBrokerage;
use crate::clock::{SimClock, DEFAULT_EPOCH};
use crate::control;
use crate::dated::Dating;
use crate::face::{Faulted, Shared, WireFace};
use crate::faults::FaultPlan;
use crate::vendor::{vendor, UnknownBroker, Vendor};

pub struct Model {
    pub vendor: &'static Vendor,
    pub router: Router,
    pub shared: Shared,
}

/// Why a model could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    UnknownBroker(#[from] UnknownBroker),
    #[error("{0}")]
    Model(String),
}

/// How a client reaches a served model: what `raxx-sim serve` prints first
/// and what the process bridge hands an external adapter.
#[derive(Debug, Clone, Serialize)]
pub struct Connection {
    pub broker: String,
    /// In the form the vendor documents its own (Alpaca without `/v2`, Tradier with `/v1`).
    pub base_url: String,
    /// The credential object the model issued.
    pub credentials: Value,
    pub accounts: Vec<String>,
    /// How to reach the model's `/_sim/` control surface.
    pub control: ControlAccess,
    /// Whatever else the profile says a client needs (`[connection]`), beside the rest.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// What a driver sends on every `/_sim/` request: `header: token`.
#[derive(Clone, Serialize)]
pub struct ControlAccess {
    pub header: &'static str,
    pub token: String,
}

impl fmt::Debug for ControlAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ControlAccess")
            .field("header", &self.header)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl Connection {
    /// One credential's value ("" when the vendor has no such field).
    pub fn credential(&self, name: &str) -> String {
        self.credentials[name]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The account the connection trades (the first the broker lists).
    pub fn account(&self) -> String {
        self.accounts.first().cloned().unwrap_or_default()
    }
}

/// A model of `slug` from `seed`, starting at the default epoch (a Monday,
/// market open), whose market is `market` (generator parameters or recorded bars).
pub fn build(
    slug: &str,
    seed: u64,
    plan: FaultPlan,
    market: &MarketSpec,
) -> Result<Model, BuildError> {
    let vendor = vendor(slug)?;
    let brokerage = SimBrokerage::new(
        vendor,
        seed,
        SimClock::new(DEFAULT_EPOCH),
        plan,
        market.clone(),
    )
    .map_err(BuildError::Model)?;
    let shared = Shared::new(brokerage);
    let router = (vendor.face)(&shared);
    Ok(Model {
        vendor,
        router,
        shared,
    })
}

impl Model {
    /// How to reach this model served at `authority` (`host:port`).
    pub fn connection(&self, authority: impl fmt::Display) -> Connection {
        let b = self.shared.lock();
        let mut extra = b.profile().connection.clone();
        // Behind an aggregator: the user's brokerages, each with whether it
        // trades and the accounts it holds (`serve`'s first line shows them).
        if !b.profile().downstream.is_empty() {
            if let Ok(d) = serde_json::to_value(&b.profile().downstream) {
                extra.insert("downstream".to_string(), d);
            }
        }
        Connection {
            broker: self.vendor.slug.to_string(),
            base_url: self.vendor.base_url(authority),
            credentials: b.credentials().to_json(),
            accounts: b.account_numbers(),
            control: ControlAccess {
                header: control::TOKEN_HEADER,
                token: b.control_token().to_string(),
            },
            extra,
        }
    }

    /// Every secret the model issued so far, so traces and logs can be scrubbed of them.
    pub fn secrets(&self) -> Vec<String> {
        self.shared.lock().secrets()
    }
}

/// A face's routes behind the fault layer, beside the control surface: what
/// a [`Vendor`] descriptor's `face` is.
pub fn with_face<F: WireFace>(shared: &Shared) -> Router {
    F::routes()
        .layer(layer_fn({
            let shared = shared.clone();
            move |route| Faulted::<F, _>::new(route, shared.clone())
        }))
        .merge(control::routes(shared))
        .layer(layer_fn({
            let shared = shared.clone();
            move |route| Dating::new(route, shared.clone())
        }))
        .with_state(shared.clone())
}
