//! MBT — Raxx's deterministic paper-trading engine.
//!
//! Pure and synchronous: no async, no I/O, no clock and no entropy of its own.
//! The caller feeds market events and orders in simulated time; the engine
//! answers with an append-only event log that is the same bytes for the same
//! seed and inputs. Every simulated broker executes through this engine, so
//! its semantics are the reference for what an order does.

pub mod account;
pub mod bars;
pub mod checked;
pub mod engine;
pub mod fees;
pub mod fill;
pub mod generator;
pub mod instrument;
pub mod log;
pub mod market;
pub mod order;
pub mod pricing;
pub mod rng;
pub mod time;
pub mod workload;

pub use account::{Account, AccountKind, Position};
pub use engine::{
    Engine, EngineConfig, EngineError, RejectReason, Rejection, ReplaceRequest, SubmitOptions,
};
pub use fees::FeeSchedule;
pub use instrument::{Instrument, OccSymbol, OptionRight};
pub use log::{EngineEvent, EventLog, LogEntry};
pub use market::{InstrumentId, Market, MarketData, MarketEvent, Quote};
pub use order::{
    Fill, Leg, Order, OrderId, OrderRequest, OrderStatus, OrderType, PositionEffect, Side,
    TimeInForce,
};
pub use time::Timestamp;
