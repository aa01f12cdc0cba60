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
        if !BROKERS.iter().any(|b| b.vendor.slug == slug) {
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
        if !VENDORS.iter().any(|v| v.slug == b.vendor.slug) {
            missing.push(format!("{}: a harness row without a model", b.slug()));
        }
    }
    missing.extend(downstream_rows());
    assert!(
        missing.is_empty(),
        "see CONTRIBUTING.md, Adding a broker:\n{}",
        missing.join("\n")
    );
}

/// An aggregator's brokerages and the table's rows behind it, in step: one
/// row per `[[downstream]]`, trading exactly where the brokerage does, each
/// adapter on that brokerage's accounts alone.
fn downstream_rows() -> Vec<String> {
    let mut missing = Vec::new();
    for v in VENDORS {
        let profile = v.profile().expect("the profile parses");
        let rows: Vec<_> = BROKERS.iter().filter(|b| b.vendor.slug == v.slug).collect();
        if profile.downstream.is_empty() {
            if rows.iter().any(|b| b.via.is_some()) {
                missing.push(format!("{}: a row via a brokerage it has not", v.slug));
            }
            continue;
        }
        let model = broker_models::build(v.slug, 1, Default::default(), &Default::default())
            .expect("the model builds");
        for d in &profile.downstream {
            let row: Vec<_> = rows
                .iter()
                .filter(|b| b.via == Some(d.slug.as_str()))
                .collect();
            let [row] = row.as_slice() else {
                missing.push(format!(
                    "{} {}: {} rows, not one",
                    v.slug,
                    d.slug,
                    row.len()
                ));
                continue;
            };
            let trades = matches!(row.adapter, harness::brokers::Factory::Trading(_));
            if trades != d.trading {
                missing.push(format!(
                    "{}: trading {trades}, the brokerage's connection {}",
                    row.slug, d.trading
                ));
            }
            if row.connection(&model.connection("h:1")).accounts != d.accounts {
                missing.push(format!("{}: not on {}'s accounts", row.slug, d.slug));
            }
        }
        if let Some(stray) = rows.iter().find(|b| b.via.is_none()) {
            missing.push(format!(
                "{}: a row of an aggregator via no brokerage",
                stray.slug
            ));
        }
    }
    missing
}
