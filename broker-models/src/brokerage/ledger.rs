//! The ground truth a test reads from a model (over `/_sim/` or in
//! process): every order the broker received with its true state, the
//! accounts, and every fault the plan applied. These are the control
//! surface's types; the checks in the harness read nothing else.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use mbt::engine::AccountView;
use mbt::{Instrument, OrderStatus, Timestamp};

use crate::faults::Operation;

/// One entry of the ground-truth ledger: an order the broker received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LedgerOrder {
    pub vendor_id: String,
    pub account: String,
    pub client_order_id: String,
    pub instrument: Instrument,
    pub side: mbt::Side,
    pub quantity: Decimal,
    pub limit_price: Option<Decimal>,
    pub stop_price: Option<Decimal>,
    pub submitted_at: Timestamp,
    pub status: OrderStatus,
    pub filled_quantity: Decimal,
    pub average_fill_price: Option<Decimal>,
    /// The broker took the order (it answered with an order, not a
    /// refusal); a taken order may still have been rejected later.
    pub taken: bool,
    /// Why it was refused at the submit, or rejected after it was taken.
    pub rejection: Option<String>,
    /// The entry (or first exit) of the group this order is an exit of.
    #[serde(default)]
    pub parent: Option<String>,
}

/// A fault the plan applied, for traces: when, to what, and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRecord {
    pub time: Timestamp,
    pub operation: Operation,
    pub fault: String,
}

/// A request that arrived while the broker had asked clients to wait (a
/// 429's Retry-After or rate-limit reset): recorded on the broker's own
/// clock, so the check holds whoever the client is and however it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleBreach {
    pub at: Timestamp,
    /// Method and path, e.g. `GET /v2/orders`.
    pub request: String,
    /// Until when the broker had asked for no requests.
    pub wait_until: Timestamp,
}

/// The ground truth a test checks adapters against.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ledger {
    pub broker: String,
    pub now: Timestamp,
    pub orders: Vec<LedgerOrder>,
    pub accounts: Vec<AccountView>,
    /// Access tokens the broker granted through a refresh (OAuth brokers).
    #[serde(default)]
    pub token_refreshes: u64,
    /// No refresh token of the connection works any more: only a new
    /// authorization by the user brings it back (OAuth brokers).
    #[serde(default)]
    pub authorization_revoked: bool,
    /// Requests that came inside a wait the broker asked for.
    #[serde(default)]
    pub throttle_breaches: Vec<ThrottleBreach>,
}
