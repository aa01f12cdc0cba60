//! The broker adapter contract (DESIGN.md, normative) and its
//! implementations: one adapter per vendor, the MBT paper adapter, and the
//! bridge to an adapter in another process.
//!
//! Adapters are production code: they talk to the real brokers unchanged.
//! They never know a simulation exists: the byte-stream [`http::Dialer`] and
//! the [`http::Clock`] are injected by whoever builds them, so the harness
//! runs them over turmoil and Raxx runs them over TCP and TLS.

pub mod adapter;
pub mod alpaca;
pub mod auth;
pub mod bridge;
pub mod contract;
pub mod error;
pub mod fuzz;
pub mod http;
pub mod json;
pub mod listing;
pub mod mbt_paper;
pub mod order_socket;
pub mod plaid;
pub mod reconcile;
pub mod schwab;
pub mod snaptrade;
pub mod tastytrade;
pub mod tradier;
pub mod updates;

pub use adapter::{BrokerAdapter, OrderUpdates, ReadOnlySource};
pub use contract::{
    Account, CancelResult, CancelStatus, Capabilities, Description, Exits, Holdings, Instrument,
    Leg, Order, OrderResult, OrderStatus, OrderType, Position, PositionEffect, Replace, Side,
    StopLoss, Tier, TimeInForce, Transaction, TransactionKind,
};
pub use error::{AdapterError, ErrorKind, Result};
