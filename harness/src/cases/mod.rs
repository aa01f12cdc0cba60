//! The conformance case catalogue (DESIGN.md; the ids are stable). Each
//! group lives in its own file; this lists them in catalogue order.

mod aggregator;
mod brackets;
mod faults;
mod fills;
mod lifecycle;
mod order_path;
mod orders;
mod readonly;
mod state;
mod tiers;

use crate::case::Case;

/// Every case, in catalogue order.
pub fn catalogue() -> Vec<&'static Case> {
    orders::CASES
        .iter()
        .chain(brackets::CASES)
        .chain(fills::CASES)
        .chain(state::CASES)
        .chain(faults::CASES)
        .chain(lifecycle::CASES)
        .chain(readonly::CASES)
        .chain(tiers::CASES)
        .chain(order_path::CASES)
        .collect()
}

pub fn find(id: &str) -> Option<&'static Case> {
    catalogue().into_iter().find(|c| c.id == id)
}

/// What several cases trade: liquid, listed on every venue.
pub(crate) const SYMBOL: &str = "AAPL";
/// An OCC option on it that expires after the world's epoch (2026-01-05).
pub(crate) const OPTION: &str = "AAPL  260116C00200000";
