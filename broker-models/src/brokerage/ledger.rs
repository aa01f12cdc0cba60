//! The ground truth a test reads from a model (over `/_sim/` or in
//! process): every order the broker received with its true state, the
//! accounts, every fault the plan applied, what an account holder did at
//! the institution on their own, and every request that tried to trade at
//! a broker with no way to. These are the control surface's types; the
//! checks in the harness read nothing else.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use mbt::engine::AccountView;
use mbt::{Instrument, OrderStatus, Timestamp};

use super::connections::ConnectionView;
use super::holder::HolderActivity;

use crate::faults::Operation;

/// One entry of the ground-truth ledger: an order the broker received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LedgerOrder {
    pub vendor_id: String,
    pub account: String,
    /// The label the order carried on the vendor's wire ("" where the
    /// vendor has none).
    pub client_order_id: String,
    /// The client intent it serves (see `BrokerOrder::intent`): how the
    /// harness counts orders per intent, whatever the wire's label.
    #[serde(default)]
    pub intent: String,
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
    /// No refresh token of the connection works any more (OAuth brokers),
    /// or the user revoked its grant at the vendor (Plaid's `/item/remove`):
    /// only a new authorization by the user brings it back.
    #[serde(default)]
    pub authorization_revoked: bool,
    /// What the account holder did at the institution on their own, oldest
    /// first (brokers whose profile has a `[holder]`: the history a
    /// read-only source imports).
    #[serde(default)]
    pub holder_activity: Vec<HolderActivity>,
    /// Requests that tried to place, cancel or change an order at a broker
    /// that has no way to (a read-only source): each one is a breach of the
    /// read-only tier, whatever the broker answered.
    #[serde(default)]
    pub order_attempts: Vec<OrderAttempt>,
    /// Requests that came inside a wait the broker asked for.
    #[serde(default)]
    pub throttle_breaches: Vec<ThrottleBreach>,
    /// The user's connections at an aggregator, one per brokerage behind
    /// it, and which are broken (empty for a broker that is its own venue).
    #[serde(default)]
    pub connections: Vec<ConnectionView>,
}

impl Ledger {
    /// The user's grant that reaches `account` was revoked at the vendor:
    /// the whole authorization (Plaid's Item, an OAuth grant) or, at an
    /// aggregator, the connection holding the account.
    pub fn revoked_for(&self, account: &str) -> bool {
        self.authorization_revoked
            || self
                .connections
                .iter()
                .any(|c| c.deleted_at.is_some() && c.accounts.iter().any(|a| a == account))
    }
}

/// A request shaped like an order operation that reached a read-only broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAttempt {
    pub time: Timestamp,
    pub operation: Operation,
    pub method: String,
    pub path: String,
}
