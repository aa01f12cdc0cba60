//! Seeded fault injection: plans as data, decisions from the seed.

mod injector;
mod plan;

pub use injector::{Decision, FaultInjector, OrderFaults, Outcome, StreamFaults, Trigger};
pub use plan::{Fault, FaultPlan, FaultRule, Operation, OrderMatch, OutageMode, PlanError};
