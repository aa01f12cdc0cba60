//! "Adding a broker" in CONTRIBUTING.md, kept true: every modelled broker
//! has its row in the harness's broker table and the files the page lists.

use std::path::Path;

use broker_models::vendor::VENDORS;
use harness::brokers::BROKERS;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn every_modelled_broker_has_its_row_fixtures_and_tests() {
    let mut missing = Vec::new();
    for v in VENDORS {
        let slug = v.slug;
        if !BROKERS.iter().any(|b| b.slug() == slug) {
            missing.push(format!("{slug}: no row in harness/src/brokers.rs"));
        }
        let fixtures = repo().join("test_data").join(slug);
        let has_fixtures = std::fs::read_dir(&fixtures).is_ok_and(|mut d| d.next().is_some());
        if !has_fixtures {
            missing.push(format!("{slug}: no fixtures in test_data/{slug}/"));
        }
        for file in [
            format!("broker-models/profiles/{slug}.toml"),
            format!("broker-models/src/{slug}/mod.rs"),
            format!("broker-models/tests/{slug}_face.rs"),
            format!("adapters/src/{slug}/mod.rs"),
            format!("adapters/tests/{slug}_wiremock.rs"),
            format!("tests/sdk/test_{slug}.py"),
        ] {
            if !repo().join(&file).is_file() {
                missing.push(format!("{slug}: no {file}"));
            }
        }
    }
    for b in BROKERS {
        if !VENDORS.iter().any(|v| v.slug == b.slug()) {
            missing.push(format!("{}: a harness row without a model", b.slug()));
        }
    }
    assert!(
        missing.is_empty(),
        "see CONTRIBUTING.md, Adding a broker:\n{}",
        missing.join("\n")
    );
}
