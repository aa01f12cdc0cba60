//! An adapter is held to what it claims: a claim it cannot back fails the
//! cases the claim enables, and every adapter of the broker table claims no
//! more than its broker's profile offers.

mod common;

use std::sync::Arc;

use common::{run_with, table_adapter, Claiming};
use harness::brokers::BROKERS;
use harness::suite::Verdict;

#[test]
fn a_claim_beyond_the_adapter_fails_the_case_it_enables() {
    // An adapter that trades and claims Tier B (a cache between it and the
    // broker) must say how old its holdings are; Tradier's cannot.
    let claims_aggregator = run_with("stale_holdings_report_their_age", "tradier", |c, setup| {
        Arc::new(Claiming {
            inner: table_adapter("tradier", c, setup),
            edit: |d| d.tier = adapters::Tier::B,
        })
    });
    assert!(
        matches!(&claims_aggregator, Verdict::Failed { message, .. } if message.contains("do not say when")),
        "{claims_aggregator:?}"
    );
    let honest = run_with("stale_holdings_report_their_age", "tradier", |c, setup| {
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
        let connection =
            broker_models::build(b.vendor.slug, 1, Default::default(), &Default::default())
                .expect("the model builds")
                .connection("h:1");
        let setup = adapters::http::HttpSetup::production(1).expect("a production setup");
        let d = b.build(&connection, setup).describe();
        assert_eq!(d.broker, b.vendor.slug, "describe names its broker");
        assert_eq!(d.tier, profile.tier, "{} tier", b.slug());
        let beyond = d.capabilities.beyond(&profile.capabilities);
        assert!(
            beyond.is_empty(),
            "{} claims {beyond:?} beyond its broker",
            b.slug()
        );
    }
}
