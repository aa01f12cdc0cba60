//! A user's connections to their brokers, each with the broker's slug and
//! tier from the broker registry, and the words the app shows for it.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use adapters::contract::Tier;

/// Who owns a connection.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UserId(pub String);

/// The people whose accounts are shown together. Showing them together is
/// all it does: each account keeps its own positions and buying power.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HouseholdId(pub String);

/// One connection of one user to one broker account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConnectionId(pub String);

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a connection reaches and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub id: ConnectionId,
    pub user: UserId,
    pub household: HouseholdId,
    /// The broker's slug in the registry: the broker the user sees (for
    /// Tier B the brokerage behind the aggregator, e.g. `ibkr`).
    pub slug: String,
    /// The broker's name as the user knows it ("Interactive Brokers").
    pub brand: String,
    pub tier: Tier,
    /// For Tier B, the aggregator the connection goes through
    /// (`snaptrade`). Never shown to the user.
    pub aggregator: Option<String>,
    /// The platform's own default Alpaca connection (Raxx's keys, not the
    /// user's): not BYOB, so no BYOB kill switch applies to it.
    pub platform: bool,
}

impl Connection {
    /// A connection with the user's own credentials (bring your own
    /// broker), as opposed to the platform's default Alpaca connection.
    pub fn is_byob(&self) -> bool {
        !self.platform
    }

    /// Whether orders may ever be placed on it (Tier A and B).
    pub fn may_trade(&self) -> bool {
        self.tier != Tier::C
    }

    pub fn labels(&self) -> Labels {
        Labels::for_connection(self)
    }
}

/// The tier the BYOB decision gives a connection: its broker's, except that
/// a connection that cannot place orders is Tier C, read-only import (the
/// decision puts Fidelity and Robinhood there "until order placement is
/// possible", though SnapTrade reaches them).
pub fn connection_tier(broker_tier: Tier, read_only: bool) -> Tier {
    if read_only {
        Tier::C
    } else {
        broker_tier
    }
}

/// What the app shows for a connection. The primary label says what the
/// user can do with it; the brand appears only in the secondary one; the
/// aggregator behind a Tier B connection never appears at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labels {
    /// "Live" (Tier A and B: orders go to the broker) or "Linked" (Tier C:
    /// positions are imported, nothing is traded).
    pub primary: String,
    /// "Connected: <brand>".
    pub secondary: String,
}

impl Labels {
    pub fn for_connection(c: &Connection) -> Labels {
        let primary = match c.tier {
            Tier::A | Tier::B => "Live",
            Tier::C => "Linked",
        };
        Labels {
            primary: primary.to_string(),
            secondary: format!("Connected: {}", c.brand),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(slug: &str, brand: &str, tier: Tier, aggregator: Option<&str>) -> Connection {
        Connection {
            id: ConnectionId(format!("c-{slug}")),
            user: UserId("u1".into()),
            household: HouseholdId("h1".into()),
            slug: slug.into(),
            brand: brand.into(),
            tier,
            aggregator: aggregator.map(str::to_string),
            platform: false,
        }
    }

    #[test]
    fn live_for_tiers_a_and_b_linked_for_c_and_the_brand_only_in_the_secondary_label() {
        let a = connection("tradier", "Tradier", Tier::A, None).labels();
        assert_eq!(
            (a.primary.as_str(), a.secondary.as_str()),
            ("Live", "Connected: Tradier")
        );
        let c = connection("plaid-fidelity", "Fidelity", Tier::C, None).labels();
        assert_eq!(
            (c.primary.as_str(), c.secondary.as_str()),
            ("Linked", "Connected: Fidelity")
        );
        assert!(!c.primary.contains("Fidelity"));
    }

    #[test]
    fn a_connection_that_cannot_place_orders_is_tier_c_whoever_reaches_it() {
        assert_eq!(connection_tier(Tier::B, true), Tier::C);
        assert_eq!(connection_tier(Tier::B, false), Tier::B);
        assert_eq!(connection_tier(Tier::A, false), Tier::A);
        assert_eq!(connection_tier(Tier::C, true), Tier::C);
    }

    #[test]
    fn a_tier_b_connection_never_names_its_aggregator() {
        let b = connection("ibkr", "Interactive Brokers", Tier::B, Some("snaptrade"));
        let labels = b.labels();
        assert_eq!(labels.primary, "Live");
        assert_eq!(labels.secondary, "Connected: Interactive Brokers");
        let shown = format!("{} {}", labels.primary, labels.secondary).to_lowercase();
        assert!(!shown.contains("snaptrade"), "{shown}");
    }
}
