//! Builds a served model: a brokerage for one broker, its vendor's wire
//! face, the fault layer in front, and the control surface beside it.

use axum::Router;

use crate::brokerage::SimBrokerage;
use crate::clock::{SimClock, DEFAULT_EPOCH};
use crate::face::{fault_layer, Shared, WireFace};
use crate::faults::FaultPlan;
use crate::market_feed::MarketSpec;
use crate::profile::{BrokerProfile, ProfileError};
use crate::{alpaca, control, tradier};

/// Brokers with a wire face, by slug.
pub const BROKERS: [&str; 2] = ["alpaca", "tradier"];

pub struct Model {
    pub router: Router,
    pub shared: Shared,
}

/// Why a model could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("market: {0}")]
    Market(String),
}

/// A model of `slug` from `seed`, starting at the default epoch (a Monday, market open).
pub fn build(slug: &str, seed: u64, plan: FaultPlan) -> Result<Model, ProfileError> {
    build_with_market(slug, seed, plan, &MarketSpec::default()).map_err(|e| match e {
        BuildError::Profile(p) => p,
        BuildError::Market(m) => unreachable!("the default market cannot fail: {m}"),
    })
}

/// A model whose market is `market` (generator parameters or recorded bars).
pub fn build_with_market(
    slug: &str,
    seed: u64,
    plan: FaultPlan,
    market: &MarketSpec,
) -> Result<Model, BuildError> {
    let profile = BrokerProfile::builtin(slug)?;
    let brokerage = SimBrokerage::with_market(
        profile,
        seed,
        SimClock::new(DEFAULT_EPOCH),
        plan,
        market.clone(),
    )
    .map_err(BuildError::Market)?;
    let shared = Shared::new(brokerage);
    let router = match slug {
        "alpaca" => with_face::<alpaca::Alpaca>(alpaca::routes(), &shared),
        _ => with_face::<tradier::Tradier>(tradier::routes(), &shared),
    };
    Ok(Model { router, shared })
}

/// The base URL in the form the vendor documents its own (Alpaca without
/// `/v2`, its SDKs append it; Tradier with `/v1`): what `raxx-sim serve`
/// prints and the process bridge passes on as `RAXX_BASE_URL`.
/// `authority` is `host:port` (a socket address, or a simulated host's name).
pub fn base_url(slug: &str, authority: impl std::fmt::Display) -> String {
    match slug {
        "tradier" => format!("http://{authority}/v1"),
        _ => format!("http://{authority}"),
    }
}

fn with_face<F: WireFace>(face: Router<Shared>, shared: &Shared) -> Router {
    face.layer(axum::middleware::from_fn_with_state(
        shared.clone(),
        fault_layer::<F>,
    ))
    .merge(control::routes())
    .layer(axum::middleware::from_fn_with_state(
        shared.clone(),
        simulated_date,
    ))
    .with_state(shared.clone())
}

/// Every answer carries a `Date` in the model's own simulated time (hyper
/// keeps a Date it finds and adds the wall clock only when there is none).
/// Clients that turn a rate-limit reset timestamp into a wait measure it
/// against this date, so the wait comes out right whatever the wall clock says.
async fn simulated_date(
    axum::extract::State(shared): axum::extract::State<Shared>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(req).await;
    let now = shared.lock().now().to_datetime();
    let date = now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    if let Ok(v) = axum::http::HeaderValue::from_str(&date) {
        response.headers_mut().insert(axum::http::header::DATE, v);
    }
    response
}
