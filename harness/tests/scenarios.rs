//! Every scenario in scenarios/ runs, meets its expectations, and matches
//! its reviewed snapshot in snapshots/. In CI (CI=true) a changed or
//! missing snapshot fails the run; locally `cargo insta review` accepts a
//! change after a person has read the diff.

use std::collections::BTreeSet;
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
            // Fault plans are building blocks of scenarios, not scenarios;
            // graduation files are replayed by tests/graduation.rs.
            if path
                .file_name()
                .is_some_and(|n| n != "faults" && n != "graduation")
            {
                scenario_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

/// The snapshot name: the scenario's folder and file, `alpaca__happy-path`;
/// for a file that runs at several brokers, the broker and the file.
fn snapshot_name(root: &Path, file: &Path, loaded: &scenario::Loaded) -> String {
    match &loaded.broker {
        Some(broker) => format!("{broker}__{}", loaded.name),
        None => file
            .strip_prefix(root)
            .unwrap_or(file)
            .with_extension("")
            .to_string_lossy()
            .replace(['/', '\\'], "__"),
    }
}

#[test]
fn every_scenario_meets_its_expectations_and_matches_its_snapshot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut files = Vec::new();
    scenario_files(&root, &mut files);
    assert!(!files.is_empty(), "no scenarios under {}", root.display());
    let mut failed = Vec::new();
    let mut names = BTreeSet::new();
    for file in &files {
        for loaded in scenario::load_each(file).unwrap_or_else(|e| panic!("{e}")) {
            let name = snapshot_name(&root, file, &loaded);
            assert!(
                names.insert(name.clone()),
                "two scenarios would share the snapshot {name} ({})",
                file.display()
            );
            let run = scenario::replay(&loaded);
            let timeline = run.timeline();
            if !run.passed() {
                failed.push(format!("{name}:\n{timeline}"));
            }
            insta::with_settings!({
                snapshot_path => "../../snapshots",
                prepend_module_to_snapshot => false,
                description => loaded.scenario.description.clone(),
                omit_expression => true,
            }, {
                insta::assert_snapshot!(name, timeline);
            });
        }
    }
    assert!(
        failed.is_empty(),
        "scenarios whose expectations failed:\n{}",
        failed.join("\n")
    );
    // A snapshot no scenario writes any more would sit there reviewed and
    // never checked (a scenario moved or removed without its snapshot).
    let stored = std::fs::read_dir(root.join("../snapshots")).expect("snapshots/");
    let orphans: Vec<String> = stored
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_suffix(".snap").map(str::to_string)
        })
        .filter(|n| !names.contains(n))
        .collect();
    assert!(
        orphans.is_empty(),
        "snapshots that no scenario writes (remove them): {orphans:?}"
    );
}

#[test]
fn a_file_for_several_brokers_runs_once_per_broker_with_its_slug_filled_in() {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/each-broker/happy-path.toml");
    let each = scenario::load_each(&file).expect("the per-broker scenario loads");
    let brokers: Vec<_> = each.iter().filter_map(|l| l.broker.clone()).collect();
    assert_eq!(
        brokers,
        [
            "alpaca",
            "tradier",
            "tastytrade",
            "schwab",
            "snaptrade-etrade"
        ]
    );
    for loaded in &each {
        let broker = loaded.broker.as_deref().unwrap_or_default();
        assert_eq!(loaded.scenario.connections[0].broker, broker);
        let timeline = scenario::replay(loaded).timeline();
        // The wire names the model: a row behind an aggregator talks to it.
        let model = harness::brokers::find(broker).map_or(broker, |b| b.vendor.slug);
        assert!(
            timeline.contains(&format!("wire    {model} <- ")),
            "the {broker} run talks to {model}:\n{timeline}"
        );
    }
    let refused = scenario::load(&file).expect_err("several runs are not one");
    assert!(refused.message.contains("pick one"), "{refused}");
}

#[test]
fn the_same_file_replays_to_the_same_bytes() {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/each-broker/happy-path.toml");
    let loaded = scenario::load_each(&file)
        .expect("the example scenario loads")
        .remove(0);
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

#[test]
fn a_holdings_expectation_fails_on_what_the_read_did_not_answer() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/snaptrade/stale-holdings-during-a-market-move.toml");
    let text = std::fs::read_to_string(&file).expect("the scenario");
    // As if the cached read had been fresh: no shares, and as of the read.
    let wrong = text
        .replace(
            "holdings = \"during-the-move\"\nsymbol = \"AAPL\"\nquantity = \"10\"\nas_of_before_ms = 11000",
            "holdings = \"during-the-move\"\nsymbol = \"AAPL\"\nquantity = \"0\"\nas_of_after_ms = 29000",
        );
    assert_ne!(wrong, text, "the expectation to break is in the file");
    let loaded = scenario::parse(&wrong, "wrong.toml", &file.with_file_name("../faults"))
        .expect("still a valid file");
    let run = scenario::replay(&loaded);
    assert!(!run.passed());
    let timeline = run.timeline();
    assert!(
        timeline.contains("10 AAPL, as of 2026-01-05T15:00:10.040Z"),
        "{timeline}"
    );
}
