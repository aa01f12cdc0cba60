//! The paper-first gate: live trading on a connection opens only after the
//! user has completed the rule's number of paper cycles on MBT.
//!
//! A **cycle** is one instrument on one MBT paper account taken from flat to
//! a position (long or short) and back to flat by the account's own fills.
//! Cycles are read from MBT's event log ([`cycles`]), the engine's own
//! ground truth: a broker's paper or sandbox account is never an input, so
//! it cannot count. A position that ends by expiry or assignment is not a
//! cycle: the gate is about the trader's own exits.
//!
//! **Households** (the decision's open question OQ-5): whose cycles count
//! for a connection is the rule's [`CycleScope`]. The default is
//! [`CycleScope::User`]: the discipline being proven is the trader's, and
//! MBT is the same paper engine whatever broker the connection reaches, so a
//! user's cycles on any of their own paper accounts count for each of their
//! connections; a household member's cycles never do (they prove someone
//! else's discipline). `Connection` (each connection earns its own) and
//! `Household` (anyone's in the household counts) are there for product to
//! choose otherwise without a code change.

use std::collections::BTreeMap;

use mbt::{EngineEvent, Instrument, LogEntry, Side, Timestamp};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::connection::{Connection, ConnectionId};

/// The gate's parameters, as data (a graduation scenario sets them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateRule {
    /// Completed paper cycles needed before live orders open.
    pub required_cycles: u32,
    #[serde(default)]
    pub scope: CycleScope,
}

/// Whose paper cycles count toward a connection's gate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CycleScope {
    /// Only cycles on the connection's own paper account.
    Connection,
    /// Cycles on any paper account of the connection's user.
    #[default]
    User,
    /// Cycles on any paper account in the connection's household.
    Household,
}

/// One completed paper round trip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cycle {
    pub account_id: String,
    pub instrument: Instrument,
    pub opened_at: Timestamp,
    pub closed_at: Timestamp,
}

/// The completed cycles in MBT's log, in the order they closed.
pub fn cycles<'a>(log: impl IntoIterator<Item = &'a LogEntry>) -> Vec<Cycle> {
    // Per (account, instrument): the signed quantity, and when it left flat.
    let mut open: BTreeMap<(String, Instrument), (Decimal, Timestamp)> = BTreeMap::new();
    let mut done = Vec::new();
    for entry in log {
        let EngineEvent::Fill {
            account_id,
            instrument,
            side,
            quantity,
            ..
        } = &entry.event
        else {
            continue;
        };
        let signed = match side {
            Side::Buy => *quantity,
            Side::Sell => -*quantity,
        };
        let key = (account_id.clone(), instrument.clone());
        let (held, since) = open.remove(&key).unwrap_or((Decimal::ZERO, entry.time));
        let after = held + signed;
        if after.is_zero() {
            done.push(Cycle {
                account_id: account_id.clone(),
                instrument: instrument.clone(),
                opened_at: since,
                closed_at: entry.time,
            });
        } else if !held.is_zero() && held.is_sign_negative() != after.is_sign_negative() {
            // Crossed through flat in one fill: the first position's cycle
            // closed and a new one opened at the same moment.
            done.push(Cycle {
                account_id: account_id.clone(),
                instrument: instrument.clone(),
                opened_at: since,
                closed_at: entry.time,
            });
            open.insert(key, (after, entry.time));
        } else {
            open.insert(key, (after, since));
        }
    }
    done
}

/// The gate's answer for one connection, with its reason in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub open: bool,
    pub completed: u32,
    pub required: u32,
    pub scope: CycleScope,
    pub reason: String,
}

impl GateRule {
    /// Whether live orders are open on `connection`, counting the cycles of
    /// the paper accounts in the rule's scope. `connections` are every
    /// connection the order path knows (the household's included) and
    /// `paper_account` names each one's MBT paper account.
    pub fn decide(
        &self,
        connection: &Connection,
        connections: &[Connection],
        cycles: &[Cycle],
        paper_account: impl Fn(&ConnectionId) -> String,
    ) -> Decision {
        let accounts: Vec<String> = connections
            .iter()
            .filter(|c| match self.scope {
                CycleScope::Connection => c.id == connection.id,
                CycleScope::User => c.user == connection.user,
                CycleScope::Household => c.household == connection.household,
            })
            .map(|c| paper_account(&c.id))
            .collect();
        let completed = cycles
            .iter()
            .filter(|c| accounts.contains(&c.account_id))
            .count();
        let completed = u32::try_from(completed).unwrap_or(u32::MAX);
        let open = completed >= self.required_cycles;
        let whose = match self.scope {
            CycleScope::Connection => format!("on connection {}", connection.id),
            CycleScope::User => format!("by user {}", connection.user),
            CycleScope::Household => format!("in household {}", connection.household.0),
        };
        let reason = if open {
            format!(
                "{completed} of {} paper cycles completed {whose}: live trading is open",
                self.required_cycles
            )
        } else {
            format!(
                "{completed} of {} paper cycles completed {whose}: live trading opens after {} more",
                self.required_cycles,
                self.required_cycles - completed
            )
        };
        Decision {
            open,
            completed,
            required: self.required_cycles,
            scope: self.scope,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::{HouseholdId, Tier, UserId};
    use mbt::OrderStatus;
    use rust_decimal_macros::dec;

    fn fill(seq: u64, account: &str, symbol: &str, side: Side, quantity: Decimal) -> LogEntry {
        LogEntry {
            seq,
            time: Timestamp::from_millis(1_000 * seq as i64),
            event: EngineEvent::Fill {
                order_id: mbt::OrderId(seq),
                account_id: account.into(),
                instrument: Instrument::equity(symbol),
                side,
                quantity,
                price: dec!(100),
                fee: Decimal::ZERO,
                status: OrderStatus::Filled,
            },
        }
    }

    #[test]
    fn a_round_trip_is_one_cycle_and_partial_fills_do_not_close_it() {
        let log = [
            fill(1, "p1", "AAPL", Side::Buy, dec!(6)),
            fill(2, "p1", "AAPL", Side::Buy, dec!(4)),
            fill(3, "p1", "AAPL", Side::Sell, dec!(7)),
            fill(4, "p1", "MSFT", Side::Sell, dec!(1)),
            fill(5, "p1", "AAPL", Side::Sell, dec!(3)),
        ];
        let done = cycles(&log);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].instrument, Instrument::equity("AAPL"));
        assert_eq!(done[0].opened_at, Timestamp::from_millis(1_000));
        assert_eq!(done[0].closed_at, Timestamp::from_millis(5_000));
    }

    #[test]
    fn crossing_through_flat_closes_one_cycle_and_opens_the_next() {
        let log = [
            fill(1, "p1", "AAPL", Side::Buy, dec!(5)),
            fill(2, "p1", "AAPL", Side::Sell, dec!(8)),
            fill(3, "p1", "AAPL", Side::Buy, dec!(3)),
        ];
        let done = cycles(&log);
        assert_eq!(done.len(), 2);
        assert_eq!(done[1].opened_at, Timestamp::from_millis(2_000));
    }

    #[test]
    fn accounts_are_counted_apart() {
        let log = [
            fill(1, "p1", "AAPL", Side::Buy, dec!(5)),
            fill(2, "p2", "AAPL", Side::Sell, dec!(5)),
        ];
        assert!(cycles(&log).is_empty());
    }

    fn connection(id: &str, user: &str) -> Connection {
        Connection {
            id: ConnectionId(id.into()),
            user: UserId(user.into()),
            household: HouseholdId("h".into()),
            slug: "tradier".into(),
            brand: "Tradier".into(),
            tier: Tier::A,
            aggregator: None,
            platform: false,
        }
    }

    #[test]
    fn the_scope_decides_whose_cycles_count() {
        let mine = connection("mine", "ann");
        let my_other = connection("my-other", "ann");
        let partners = connection("partners", "bob");
        let all = [mine.clone(), my_other.clone(), partners.clone()];
        let done = |account: &str, n: usize| {
            (0..n)
                .map(|_| Cycle {
                    account_id: account.into(),
                    instrument: Instrument::equity("AAPL"),
                    opened_at: Timestamp::from_millis(0),
                    closed_at: Timestamp::from_millis(1),
                })
                .collect::<Vec<_>>()
        };
        let cycles = [done("paper-my-other", 2), done("paper-partners", 5)].concat();
        let account = |id: &ConnectionId| format!("paper-{id}");
        let decide = |scope| {
            GateRule {
                required_cycles: 3,
                scope,
            }
            .decide(&mine, &all, &cycles, account)
        };
        let by_connection = decide(CycleScope::Connection);
        assert_eq!((by_connection.open, by_connection.completed), (false, 0));
        let by_user = decide(CycleScope::User);
        assert_eq!((by_user.open, by_user.completed), (false, 2));
        assert_eq!(
            by_user.reason,
            "2 of 3 paper cycles completed by user ann: live trading opens after 1 more"
        );
        let by_household = decide(CycleScope::Household);
        assert_eq!((by_household.open, by_household.completed), (true, 7));
    }

    #[test]
    fn the_rule_is_data_and_its_scope_defaults_to_the_user() {
        let rule: GateRule = serde_json::from_str(r#"{"required_cycles": 3}"#).unwrap();
        assert_eq!(rule.scope, CycleScope::User);
        assert!(
            serde_json::from_str::<GateRule>(r#"{"required_cycles": 3, "cycles": 1}"#).is_err()
        );
    }
}
