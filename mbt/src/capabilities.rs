//! What a connection can do, in one shape for both sides of the harness: a
//! broker model's profile says what the broker offers, an adapter's
//! `describe` says what it uses, and a test checks the second never claims
//! more than the first. Part of the vocabulary every crate shares.

use serde::{Deserialize, Serialize};

use crate::order::{OrderType, TimeInForce};

/// The Raxx broker tier of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Tier {
    /// Direct: Raxx calls the broker's API itself.
    A,
    /// Through the SnapTrade aggregator.
    B,
    /// Read-only import; never places orders.
    C,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    pub equities: bool,
    pub options: bool,
    pub multi_leg: bool,
    /// Changing a working order's quantity or prices.
    pub replace: bool,
    /// Order status is pushed on a stream (otherwise it is polled).
    pub streaming: bool,
    /// Positions and history only: there is no way to place an order.
    #[serde(default)]
    pub read_only: bool,
    /// Opening a short position from flat.
    #[serde(default)]
    pub short_selling: bool,
    /// Fractional quantities.
    #[serde(default)]
    pub fractional: bool,
    /// Access tokens expire and are renewed with a refresh token (OAuth),
    /// rather than API keys or a personal token that never expire.
    #[serde(default)]
    pub token_refresh: bool,
    /// Exits placed with an entry (a bracket): a take-profit limit and a
    /// stop the broker sends when the entry fills, one cancelling the other.
    #[serde(default)]
    pub brackets: bool,
    pub order_types: Vec<OrderType>,
    pub time_in_force: Vec<TimeInForce>,
}

impl Capabilities {
    /// What `self` claims that `offered` does not have, one phrase each
    /// (empty when `self` stays within `offered`).
    pub fn beyond(&self, offered: &Capabilities) -> Vec<String> {
        let flags = [
            ("equities", self.equities, offered.equities),
            ("options", self.options, offered.options),
            ("multi-leg orders", self.multi_leg, offered.multi_leg),
            ("replace", self.replace, offered.replace),
            ("an order stream", self.streaming, offered.streaming),
            ("short selling", self.short_selling, offered.short_selling),
            ("fractional quantities", self.fractional, offered.fractional),
            ("token refresh", self.token_refresh, offered.token_refresh),
            ("brackets", self.brackets, offered.brackets),
        ];
        let mut out: Vec<String> = flags
            .into_iter()
            .filter(|(_, claimed, has)| *claimed && !has)
            .map(|(what, _, _)| what.to_string())
            .collect();
        if offered.read_only && !self.read_only {
            out.push("placing orders on a read-only connection".into());
        }
        out.extend(
            self.order_types
                .iter()
                .filter(|t| !offered.order_types.contains(t))
                .map(|t| format!("{t:?} orders")),
        );
        out.extend(
            self.time_in_force
                .iter()
                .filter(|t| !offered.time_in_force.contains(t))
                .map(|t| format!("time in force {t:?}")),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps() -> Capabilities {
        Capabilities {
            equities: true,
            options: false,
            multi_leg: false,
            replace: true,
            streaming: false,
            read_only: false,
            short_selling: true,
            fractional: false,
            token_refresh: false,
            brackets: false,
            order_types: vec![OrderType::Market, OrderType::Limit],
            time_in_force: vec![TimeInForce::Day],
        }
    }

    #[test]
    fn an_adapter_may_use_less_never_more() {
        let broker = caps();
        let mut adapter = caps();
        adapter.replace = false;
        adapter.order_types = vec![OrderType::Market];
        assert!(adapter.beyond(&broker).is_empty());
        adapter.options = true;
        adapter.order_types.push(OrderType::Stop);
        adapter.time_in_force.push(TimeInForce::Ioc);
        assert_eq!(
            adapter.beyond(&broker),
            ["options", "Stop orders", "time in force Ioc"]
        );
        let mut read_only = caps();
        read_only.read_only = true;
        assert_eq!(
            caps().beyond(&read_only),
            ["placing orders on a read-only connection"]
        );
    }

    #[test]
    fn new_flags_default_to_false_for_older_peers() {
        let json = r#"{"equities":true,"options":false,"multi_leg":false,"replace":false,
            "streaming":false,"read_only":false,"order_types":["market"],"time_in_force":["day"]}"#;
        let c: Capabilities = serde_json::from_str(json).unwrap();
        assert!(!c.short_selling && !c.token_refresh && !c.fractional);
    }
}
