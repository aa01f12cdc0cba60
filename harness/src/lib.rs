//! The conformance harness: deterministic worlds (turmoil), the case
//! catalogue, invariants checked against the models' ground truth, seeded
//! schedules, mutants, traces and reports.

pub mod brokers;
pub mod case;
pub mod cases;
pub mod control;
pub mod error;
pub mod faketime;
pub mod fuzz;
pub mod graduation;
pub mod intents;
pub mod invariants;
pub mod loopback;
pub mod mutants;
pub mod net;
pub mod order_path;
pub mod pace;
pub mod record;
pub mod report;
pub mod scenario;
pub mod subject;
pub mod suite;
pub mod trace;
pub mod traced;
pub mod venue;
pub mod world;

pub use trace::Trace;
pub use world::{run_world, ClientEnv, WorldRun, WorldSpec};
