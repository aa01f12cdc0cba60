//! Broker profiles, as data: what a broker can do, the words it uses for
//! order statuses, its fees, rate limits, token lifetimes and id formats.
//! Profiles live in `broker-models/profiles/*.toml` and are embedded at build time.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use mbt::{AccountKind, Capabilities, FeeSchedule, OrderStatus, Tier};

use crate::brokerage::HolderProgram;
use crate::ids::IdFormat;
use crate::ratelimit::RateLimit;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// The account number as the user sees it (the contract's account_id).
    pub number: String,
    pub kind: AccountKind,
    pub cash: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenLifetimes {
    /// Access tokens expire this long after issue (None: never).
    pub access_ms: Option<u64>,
    /// Refresh tokens expire this long after issue (None: never).
    pub refresh_ms: Option<u64>,
    /// A refresh also replaces the refresh token (the old one stops working).
    #[serde(default)]
    pub rotate_refresh: bool,
    /// The authorization code the model issues with its credentials
    /// (`authorization_code`) can be exchanged for new tokens this long
    /// after issue, once (None: the broker's grant has no code to exchange).
    #[serde(default)]
    pub code_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerProfile {
    pub slug: String,
    pub name: String,
    pub tier: Tier,
    pub capabilities: Capabilities,
    /// The vendor's word for each normalized status the model can emit
    /// (every status, unless the broker is read-only and has no orders).
    #[serde(default)]
    pub statuses: BTreeMap<OrderStatus, String>,
    pub fees: FeeSchedule,
    #[serde(default)]
    pub rate_limits: Vec<RateLimit>,
    /// A 429 tells the client when it may send again (a Retry-After or a
    /// window's reset). When the vendor's does not (tastytrade: no headers,
    /// no published quota), the broker asked for no particular wait, so a
    /// request sent inside its throttle breaks none (it meets another 429).
    #[serde(default = "says")]
    pub rate_limit_says_wait: bool,
    #[serde(default)]
    pub tokens: TokenLifetimes,
    pub order_ids: IdFormat,
    pub accounts: Vec<AccountSpec>,
    /// Orders sent while the market is closed are accepted and queued (Alpaca) rather than refused.
    pub queue_when_closed: bool,
    /// How long after a cancel request the order is really canceled (0: at
    /// once). Meanwhile it reads `pending_cancel` and can still fill.
    #[serde(default)]
    pub cancel_latency_ms: u64,
    /// A replace keeps the order's id (Tradier's modify) rather than making
    /// a new order under a new id (Alpaca's replace).
    #[serde(default)]
    pub replace_keeps_id: bool,
    /// When the broker accepts an order it took; None: inside the submit.
    #[serde(default)]
    pub acceptance: Option<Acceptance>,
    /// What the account holder does at the institution on their own (the
    /// history a read-only source imports); None: nothing.
    #[serde(default)]
    pub holder: Option<HolderProgram>,
    /// Facts a client needs besides the credentials, printed by `raxx-sim
    /// serve` in its first line (Plaid: the Sandbox institution and login).
    #[serde(default)]
    pub connection: BTreeMap<String, serde_json::Value>,
    /// How far back the model keeps the market's prices (to the minute),
    /// for answers from a cache to show the prices of when it was filled;
    /// 0 keeps none.
    #[serde(default)]
    pub marks_kept_ms: u64,
    /// The brokerages an aggregator reaches (SnapTrade), each with its own
    /// capabilities and the accounts its connection holds; empty for a broker
    /// that is its own venue.
    #[serde(default)]
    pub downstream: Vec<Downstream>,
}

/// A brokerage behind an aggregator: one connection of the user's, holding
/// some of the profile's accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Downstream {
    /// The aggregator's slug for it (SnapTrade's upper-case `ETRADE`).
    pub slug: String,
    pub name: String,
    /// Orders can be placed through the aggregator (a `trade` connection).
    pub trading: bool,
    /// Account numbers (of `accounts`) the connection holds.
    pub accounts: Vec<String>,
    /// What the brokerage charges its accounts (every fill there, the
    /// user's own trades included); None: the profile's `[fees]`.
    #[serde(default)]
    pub fees: Option<FeeSchedule>,
}

/// Asynchronous acceptance: the submit answers the vendor's first state;
/// the order is accepted a seeded delay later, and its first fill comes on
/// its instrument's next market event after that.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acceptance {
    /// The delay is drawn uniformly from [min_ms, max_ms].
    pub min_ms: u64,
    pub max_ms: u64,
    /// The share of taken orders rejected at acceptance anyway (0..=1; a
    /// seeded draw), as a broker's later checks sometimes do.
    #[serde(default)]
    pub late_rejection_rate: f64,
}

fn says() -> bool {
    true
}

#[derive(Debug, thiserror::Error)]
#[error("profile {slug}: {message}")]
pub struct ProfileError {
    pub slug: String,
    pub message: String,
}

impl BrokerProfile {
    pub fn from_toml(slug: &str, text: &str) -> Result<Self, ProfileError> {
        let p: BrokerProfile = toml::from_str(text).map_err(|e| ProfileError {
            slug: slug.to_string(),
            message: e.to_string(),
        })?;
        let has_orders = !p.capabilities.read_only;
        if let Some(missing) = OrderStatus::ALL
            .iter()
            .find(|s| has_orders && !p.statuses.contains_key(s))
        {
            return Err(ProfileError {
                slug: slug.to_string(),
                message: format!("no vendor word for status {missing}"),
            });
        }
        let known = |a: &String| p.accounts.iter().any(|spec| &spec.number == a);
        let unknown = p
            .downstream
            .iter()
            .flat_map(|d| &d.accounts)
            .find(|a| !known(a));
        if let Some(a) = unknown {
            return Err(ProfileError {
                slug: slug.to_string(),
                message: format!(
                    "a downstream brokerage holds account {a}, which is not in accounts"
                ),
            });
        }
        let unheld = p
            .holder
            .iter()
            .flat_map(|h| h.accounts.iter().flatten())
            .find(|a| !known(a));
        if let Some(a) = unheld {
            return Err(ProfileError {
                slug: slug.to_string(),
                message: format!("the holder trades in account {a}, which is not in accounts"),
            });
        }
        Ok(p)
    }

    /// The brokerage behind the aggregator that holds `account`, if any.
    pub fn downstream_of(&self, account: &str) -> Option<&Downstream> {
        self.downstream
            .iter()
            .find(|d| d.accounts.iter().any(|a| a == account))
    }

    pub fn vendor_status(&self, status: OrderStatus) -> &str {
        self.statuses.get(&status).map_or("unknown", String::as_str)
    }
}
