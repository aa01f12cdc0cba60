//! Kill switches: environment variables an operator sets to stop live BYOB
//! orders at once, read again at every request (no restart, no cache).
//!
//! - `BYOB_LIVE_DISABLED` stops every live order on every BYOB connection
//!   (Tier A and B);
//! - `BYOB_BROKER_<SLUG>_DISABLED` stops them for one broker: the slug the
//!   user sees (`BYOB_BROKER_IBKR_DISABLED`) and, for Tier B, also the
//!   aggregator's (`BYOB_BROKER_SNAPTRADE_DISABLED` stops every broker
//!   reached through SnapTrade). The slug is upper-cased, anything but a
//!   letter or digit becoming `_`.
//!
//! What they never stop, by design:
//! - **paper trading** (MBT) and the platform's own default Alpaca
//!   connection: they are not BYOB;
//! - **cancels and reads**: a switch thrown because something is wrong must
//!   not trap a user in a working order or hide their positions. Stopping
//!   new risk is its job; taking risk off stays possible. A **replace** is
//!   stopped like a new order (it can raise the quantity or make a price
//!   marketable); the user can still cancel.
//!
//! A switch is engaged by any value but an empty one, `0`, `false`, `no`
//! or `off` (any case): an operator who types `true` or `yes` in an
//! emergency gets what they meant.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::connection::{Connection, Tier};

/// Where the switches are read from.
pub trait Environment: Send + Sync {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process's own environment, read at each call.
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// An environment a simulation owns and can change mid-run (a switch
/// flipped during a session), without touching the process's.
#[derive(Default)]
pub struct SimulatedEnvironment {
    vars: Mutex<BTreeMap<String, String>>,
}

impl SimulatedEnvironment {
    pub fn new() -> SimulatedEnvironment {
        SimulatedEnvironment::default()
    }

    pub fn set(&self, name: &str, value: &str) {
        self.lock().insert(name.to_string(), value.to_string());
    }

    pub fn remove(&self, name: &str) {
        self.lock().remove(name);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        // The map holds plain strings: a panic elsewhere cannot leave it
        // half-written, so a poisoned lock is still a whole map.
        self.vars.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Environment for SimulatedEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        self.lock().get(name).cloned()
    }
}

/// Whether an order is paper (MBT) or live (the connection's broker).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Paper,
    Live,
}

/// What a request asks of a connection.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    PlaceOrder,
    ReplaceOrder,
    CancelOrder,
    Read,
}

/// The global switch.
pub const LIVE_DISABLED: &str = "BYOB_LIVE_DISABLED";

/// A live order refused by a kill switch: answered 503, error kind
/// `kill_switch`. Names the variable, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("live orders on {slug} are disabled by {variable} (connection {connection})")]
pub struct KillSwitched {
    pub variable: String,
    pub connection: String,
    pub slug: String,
}

impl KillSwitched {
    pub const HTTP_STATUS: u16 = 503;
}

/// The variable that disables one broker.
pub fn broker_variable(slug: &str) -> String {
    let slug: String = slug
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("BYOB_BROKER_{slug}_DISABLED")
}

/// The shape of the switches' rule, so the order path can be built with it
/// (and the harness can prove its cases catch a wrong one).
pub type Rule = fn(&dyn Environment, &Connection, Mode, Action) -> Result<(), KillSwitched>;

/// Whether the request may go on, read from `env` now.
pub fn check(
    env: &dyn Environment,
    connection: &Connection,
    mode: Mode,
    action: Action,
) -> Result<(), KillSwitched> {
    let in_scope = mode == Mode::Live
        && connection.is_byob()
        && connection.tier != Tier::C
        && matches!(action, Action::PlaceOrder | Action::ReplaceOrder);
    if !in_scope {
        return Ok(());
    }
    let mut variables = vec![LIVE_DISABLED.to_string(), broker_variable(&connection.slug)];
    if let Some(aggregator) = &connection.aggregator {
        variables.push(broker_variable(aggregator));
    }
    match variables.into_iter().find(|v| engaged(env.var(v))) {
        Some(variable) => Err(KillSwitched {
            variable,
            connection: connection.id.to_string(),
            slug: connection.slug.clone(),
        }),
        None => Ok(()),
    }
}

fn engaged(value: Option<String>) -> bool {
    value.is_some_and(|v| {
        let v = v.trim().to_ascii_lowercase();
        !matches!(v.as_str(), "" | "0" | "false" | "no" | "off")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::{ConnectionId, HouseholdId, UserId};

    fn connection(slug: &str, tier: Tier, aggregator: Option<&str>, platform: bool) -> Connection {
        Connection {
            id: ConnectionId(format!("c-{slug}")),
            user: UserId("u1".into()),
            household: HouseholdId("h1".into()),
            slug: slug.into(),
            brand: slug.into(),
            tier,
            aggregator: aggregator.map(str::to_string),
            platform,
        }
    }

    const ACTIONS: [Action; 4] = [
        Action::PlaceOrder,
        Action::ReplaceOrder,
        Action::CancelOrder,
        Action::Read,
    ];

    /// Every (connection, mode, action) the switch refuses under `env`.
    fn refused(env: &SimulatedEnvironment, connections: &[Connection]) -> Vec<String> {
        let mut out = Vec::new();
        for c in connections {
            for mode in [Mode::Paper, Mode::Live] {
                for action in ACTIONS {
                    if let Err(k) = check(env, c, mode, action) {
                        out.push(format!("{} {mode:?} {action:?} by {}", c.slug, k.variable));
                    }
                }
            }
        }
        out
    }

    fn household() -> Vec<Connection> {
        vec![
            connection("alpaca", Tier::A, None, true),
            connection("tradier", Tier::A, None, false),
            connection("ibkr", Tier::B, Some("snaptrade"), false),
            connection("plaid", Tier::C, None, false),
        ]
    }

    #[test]
    fn nothing_is_refused_with_no_switch_set() {
        let env = SimulatedEnvironment::new();
        env.set(LIVE_DISABLED, "0");
        env.set(&broker_variable("tradier"), "");
        assert!(refused(&env, &household()).is_empty());
    }

    #[test]
    fn the_global_switch_stops_live_byob_orders_and_replaces_only() {
        let env = SimulatedEnvironment::new();
        env.set(LIVE_DISABLED, "1");
        assert_eq!(
            refused(&env, &household()),
            [
                "tradier Live PlaceOrder by BYOB_LIVE_DISABLED",
                "tradier Live ReplaceOrder by BYOB_LIVE_DISABLED",
                "ibkr Live PlaceOrder by BYOB_LIVE_DISABLED",
                "ibkr Live ReplaceOrder by BYOB_LIVE_DISABLED",
            ]
        );
    }

    #[test]
    fn a_broker_switch_stops_that_broker_only() {
        let env = SimulatedEnvironment::new();
        env.set("BYOB_BROKER_TRADIER_DISABLED", "true");
        assert_eq!(
            refused(&env, &household()),
            [
                "tradier Live PlaceOrder by BYOB_BROKER_TRADIER_DISABLED",
                "tradier Live ReplaceOrder by BYOB_BROKER_TRADIER_DISABLED",
            ]
        );
    }

    #[test]
    fn the_aggregators_switch_stops_every_broker_behind_it() {
        let env = SimulatedEnvironment::new();
        env.set("BYOB_BROKER_SNAPTRADE_DISABLED", "yes");
        let mut connections = household();
        connections.push(connection("etrade", Tier::B, Some("snaptrade"), false));
        assert_eq!(
            refused(&env, &connections),
            [
                "ibkr Live PlaceOrder by BYOB_BROKER_SNAPTRADE_DISABLED",
                "ibkr Live ReplaceOrder by BYOB_BROKER_SNAPTRADE_DISABLED",
                "etrade Live PlaceOrder by BYOB_BROKER_SNAPTRADE_DISABLED",
                "etrade Live ReplaceOrder by BYOB_BROKER_SNAPTRADE_DISABLED",
            ]
        );
    }

    #[test]
    fn a_switch_is_read_at_each_request() {
        let env = SimulatedEnvironment::new();
        let tradier = connection("tradier", Tier::A, None, false);
        assert!(check(&env, &tradier, Mode::Live, Action::PlaceOrder).is_ok());
        env.set(LIVE_DISABLED, "1");
        let k = check(&env, &tradier, Mode::Live, Action::PlaceOrder).unwrap_err();
        assert_eq!(
            k.to_string(),
            "live orders on tradier are disabled by BYOB_LIVE_DISABLED (connection c-tradier)"
        );
        env.remove(LIVE_DISABLED);
        assert!(check(&env, &tradier, Mode::Live, Action::PlaceOrder).is_ok());
    }

    #[test]
    fn slugs_become_variable_names() {
        assert_eq!(
            broker_variable("tastytrade"),
            "BYOB_BROKER_TASTYTRADE_DISABLED"
        );
        assert_eq!(
            broker_variable("snaptrade-etrade"),
            "BYOB_BROKER_SNAPTRADE_ETRADE_DISABLED"
        );
    }
}
