//! MBT — Raxx's deterministic paper-trading engine.
//!
//! Pure and synchronous: no async, no I/O, no clock and no entropy of its own.
//! The caller feeds market events and orders in simulated time; the engine
//! answers with an append-only event log that is the same bytes for the same
//! seed and inputs. Every simulated broker executes through this engine, so
//! its semantics are the reference for what an order does.

// Library code never panics on what its callers pass in; tests may.
//
// `arithmetic_side_effects` is on as well. It flags every operator on
// `Decimal` (whose operators panic on overflow) and on integers, which is
// the point: engine amounts go through `checked` (an overflow becomes a
// value the caller refuses), and the few places where overflow is
// impossible say why and use a method that cannot panic (a saturating one
// where the result is exact, or a checked one with a stated fallback).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

pub mod account;
pub mod bars;
pub mod capabilities;
pub mod checked;
pub mod engine;
pub mod feed;
pub mod fees;
pub mod fill;
pub mod generator;
pub mod instrument;
pub mod log;
pub mod market;
pub mod order;
pub mod pricing;
pub mod rng;
pub mod tail;
pub mod time;
pub mod venue;
pub mod window;
pub mod workload;

pub use account::{Account, AccountKind, Position};
pub use capabilities::{Capabilities, Tier};
pub use engine::{
    Engine, EngineConfig, EngineError, RejectReason, Rejection, ReplaceRequest, SubmitOptions,
};
pub use feed::{MarketFeed, MarketSpec};
pub use fees::FeeSchedule;
pub use instrument::{Instrument, OccSymbol, OptionRight};
pub use log::{EngineEvent, EventLog, LogEntry};
pub use market::{InstrumentId, Market, MarketData, MarketEvent, Quote};
pub use order::{
    spreads_of, Fill, Leg, Order, OrderId, OrderRequest, OrderStatus, OrderType, PositionEffect,
    Side, TimeInForce, Trail,
};
pub use time::Timestamp;
pub use venue::{OpeningAccount, Venue};
