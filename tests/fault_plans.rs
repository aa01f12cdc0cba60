//! Every example fault plan in scenarios/faults parses and means something.

use std::path::Path;

use broker_models::faults::FaultPlan;

#[test]
fn every_example_plan_parses_and_has_rules() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/faults");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("scenarios/faults") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let plan = FaultPlan::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(!plan.rules.is_empty(), "{} has no rules", path.display());
            seen += 1;
        }
    }
    assert!(
        seen >= 8,
        "expected the example library, found {seen} plans"
    );
}
