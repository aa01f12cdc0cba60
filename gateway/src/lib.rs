//! Raxx's order path as the BYOB broker-tier decision makes it, as a
//! reference implementation that graduation replays run through and an
//! executable specification the harness checks over every modelled broker.
//!
//! An order on its way to a broker passes, in this order:
//! 1. the **router** ([`router`]): paper goes to MBT whatever the tier, live
//!    goes to the connection's own adapter, never to another account's;
//! 2. the **kill switches** ([`kill`]), read from the environment at each
//!    request;
//! 3. the **paper-first gate** ([`gate`]): live trading opens only after the
//!    user's MBT paper cycles;
//! 4. the **Velvet token store** ([`velvet`]), which hands out a credential
//!    for an order only on a connection that may place one (never Tier C,
//!    never once revoked);
//! 5. the **audit chain** ([`audit`]), whose entry is written before the
//!    broker sees the order.
//!
//! The orders themselves are fired by a trader's rules ([`rules`]), which
//! see the market and their own orders only, never the broker;
//! [`trader`] runs them through the path, paper or live.

pub mod audit;
pub mod connection;
pub mod gate;
pub mod kill;
pub mod router;
pub mod rules;
#[cfg(test)]
mod testkit;
pub mod trader;
pub mod velvet;

pub use connection::{Connection, ConnectionId, HouseholdId, Labels, UserId};
