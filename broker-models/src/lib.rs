//! Simulated brokers: one brokerage core over the MBT engine, one wire face
//! per vendor speaking that vendor's real HTTP API, seeded fault injection,
//! and a `/_sim/` control surface on every served model.

pub mod alpaca;
pub mod brokerage;
pub mod clock;
pub mod control;
pub mod credentials;
pub mod face;
pub mod faults;
pub mod ids;
pub mod market_feed;
pub mod model;
pub mod profile;
pub mod ratelimit;
pub mod stream;
pub mod tradier;

pub use brokerage::SimBrokerage;
pub use face::Shared;
pub use market_feed::MarketSpec;
pub use model::{base_url, build, build_with_market, BuildError, Model, BROKERS};
