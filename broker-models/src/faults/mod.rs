//! Seeded fault injection: plans as data, decisions from the seed.

mod injector;
mod plan;

pub use injector::{
    draw_hit, Decision, FaultInjector, OrderFaults, Outcome, StreamFaults, Trigger,
};
pub use plan::{Fault, FaultPlan, FaultRule, Operation, OrderMatch, OutageMode, PlanError};
