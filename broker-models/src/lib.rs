//! Simulated brokers: one brokerage core over the MBT engine, one wire face
//! per vendor speaking that vendor's real HTTP API, seeded fault injection,
//! and a `/_sim/` control surface on every served model.
//!
//! Every modelled broker is one [`Vendor`] descriptor in [`vendor::VENDORS`];
//! adding a broker is a descriptor, a face module and a profile (see CONTRIBUTING.md).

pub mod alpaca;
pub mod brokerage;
pub mod clock;
pub mod control;
pub(crate) mod credentials;
mod dated;
pub mod face;
pub mod faults;
pub mod fuzz;
pub(crate) mod ids;
mod json;
pub mod model;
pub mod order_flow;
pub mod plaid;
pub(crate) mod profile;
pub(crate) mod ratelimit;
pub mod schwab;
pub mod snaptrade;
pub mod socket;
pub(crate) mod stream;
pub mod tastytrade;
pub mod tradier;
pub mod vendor;
pub mod webhook;

pub use brokerage::SimBrokerage;
pub use face::Shared;
pub use mbt::MarketSpec;
pub use model::{build, BuildError, Connection, Model};
pub use vendor::{vendor, UnknownBroker, Vendor};
