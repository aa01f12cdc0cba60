//! Every scenario in scenarios/ runs, meets its expectations, and matches
//! its reviewed snapshot in snapshots/. In CI (CI=true) a changed or
//! missing snapshot fails the run; locally `cargo insta review` accepts a
//! change after a person has read the diff.

use std::path::{Path, PathBuf};

use harness::scenario;

fn scenario_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            // Fault plans are building blocks of scenarios, not scenarios.
            if path.file_name().is_some_and(|n| n != "faults") {
                scenario_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

/// The snapshot name: the scenario's folder and file, `alpaca__happy-path`.
fn snapshot_name(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .with_extension("")
        .to_string_lossy()
        .replace(['/', '\\'], "__")
}

#[test]
fn every_scenario_meets_its_expectations_and_matches_its_snapshot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut files = Vec::new();
    scenario_files(&root, &mut files);
    assert!(!files.is_empty(), "no scenarios under {}", root.display());
    let mut failed = Vec::new();
    for file in &files {
        let loaded = scenario::load(file).unwrap_or_else(|e| panic!("{e}"));
        let run = scenario::replay(&loaded);
        let timeline = run.timeline();
        if !run.passed() {
            failed.push(format!("{}:\n{timeline}", file.display()));
        }
        insta::with_settings!({
            snapshot_path => "../../snapshots",
            prepend_module_to_snapshot => false,
            description => loaded.scenario.description.clone(),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(snapshot_name(&root, file), timeline);
        });
    }
    assert!(
        failed.is_empty(),
        "scenarios whose expectations failed:\n{}",
        failed.join("\n")
    );
}

#[test]
fn the_same_file_replays_to_the_same_bytes() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/alpaca/happy-path.toml");
    let loaded = scenario::load(&file).expect("the example scenario loads");
    let a = scenario::replay(&loaded);
    let b = scenario::replay(&loaded);
    assert_eq!(a.timeline(), b.timeline());
    assert_eq!(a.to_json(), b.to_json());
}

#[test]
fn the_committed_json_schema_is_the_generated_one() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/scenario.schema.json");
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert_eq!(
        committed,
        scenario::json_schema(),
        "scenarios/scenario.schema.json is stale: run `cargo run -- schema > scenarios/scenario.schema.json`"
    );
}
