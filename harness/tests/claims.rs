//! An adapter is held to what it claims: a case not written yet fails any
//! adapter that claims what it needs, and every adapter of the broker table
//! claims no more than its broker's profile offers.

mod common;

use std::sync::Arc;

use common::{run_with, table_adapter, Claiming};
use harness::brokers::BROKERS;
use harness::suite::Verdict;

#[test]
fn a_missing_case_fails_an_adapter_that_claims_its_needs() {
    let claims_aggregator = run_with("aggregator_outage_is_transitive", "tradier", |c, setup| {
        Arc::new(Claiming {
            inner: table_adapter("tradier", c, setup),
            edit: |d| d.tier = adapters::Tier::B,
        })
    });
    assert!(
        matches!(&claims_aggregator, Verdict::Failed { message, .. } if message.contains("not implemented yet")),
        "{claims_aggregator:?}"
    );
    let honest = run_with("aggregator_outage_is_transitive", "tradier", |c, setup| {
        table_adapter("tradier", c, setup)
    });
    assert!(
        matches!(honest, Verdict::NotApplicable { .. }),
        "{honest:?}"
    );
}

#[test]
fn every_adapter_claims_no_more_than_its_broker_offers() {
    for b in BROKERS {
        let profile = b.vendor.profile().expect("the profile parses");
        let connection = broker_models::build(b.slug(), 1, Default::default(), &Default::default())
            .expect("the model builds")
            .connection("h:1");
        let setup = adapters::http::HttpSetup::production(1).expect("a production setup");
        let d = b.adapter.build(&connection, setup).describe();
        assert_eq!(d.broker, b.slug(), "describe names its broker");
        assert_eq!(d.tier, profile.tier, "{} tier", b.slug());
        let beyond = d.capabilities.beyond(&profile.capabilities);
        assert!(
            beyond.is_empty(),
            "{} claims {beyond:?} beyond its broker",
            b.slug()
        );
    }
}
