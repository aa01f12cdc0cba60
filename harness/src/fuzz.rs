//! What the `scenario_file` fuzz target (`fuzz/fuzz_targets/`) drives, and
//! `cargo test` replays over the committed corpus: a scenario or a fault plan
//! a user writes is refused with a message naming its line, never a panic.

use std::path::PathBuf;

use broker_models::faults::FaultPlan;

/// One file's text through the scenario parser (every broker an each-broker
/// file expands to, fault plans it names read from `scenarios/faults/`) and
/// through the fault-plan parser. True when the scenario parser took it.
pub fn scenario_file(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let faults = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/faults");
    let _ = FaultPlan::from_toml(&text, "fuzz.toml");
    crate::scenario::parse_each(&text, "fuzz.toml", &faults).is_ok()
}
