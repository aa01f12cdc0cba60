//! MBT — Raxx's deterministic paper-trading engine.
//!
//! Pure and synchronous: no async, no I/O, no clock and no entropy of its own.
//! The caller feeds market events and orders in simulated time; the engine
//! answers with an append-only event log that is the same bytes for the same
//! seed and inputs. Every simulated broker executes through this engine, so
//! its semantics are the reference for what an order does.

pub mod instrument;
pub mod market;
pub mod order;
pub mod rng;
pub mod time;

pub use instrument::{Instrument, OccSymbol, OptionRight};
pub use market::{InstrumentId, Market, MarketData, MarketEvent, Quote};
pub use order::{
    Fill, Leg, Order, OrderId, OrderRequest, OrderStatus, OrderType, PositionEffect, Side,
    TimeInForce,
};
pub use time::Timestamp;
