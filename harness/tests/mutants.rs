//! The suite catches every mutant: each deliberately broken adapter fails
//! the case written to catch it, under the default seed, for every HTTP
//! adapter it can break, and there is at least one such adapter.

use std::collections::BTreeSet;

use harness::case::Body;
use harness::cases::{self, catalogue};
use harness::mutants::MUTANTS;
use harness::subject::Subject;
use harness::suite::{run_case, Verdict};

/// The mutants `subject` is broken by and the suite caught; fails on any
/// it is broken by and the suite did not catch.
fn catches_every_mutant(subject: Subject) -> Vec<&'static str> {
    let mut caught = Vec::new();
    let mut survivors = Vec::new();
    for mutant in MUTANTS {
        let case = cases::find(mutant.caught_by).expect("a mutant names a case of the catalogue");
        let run = run_case(subject, case, 1, Some(mutant));
        match run.verdict {
            Verdict::Failed { message, .. } => {
                println!("{}: caught by {}: {message}", mutant.id, case.id);
                caught.push(mutant.id);
            }
            Verdict::NotApplicable { reason } => println!("{}: {reason}", mutant.id),
            other => survivors.push(format!("{} ({} {})", mutant.id, case.id, other.word())),
        }
    }
    assert!(
        survivors.is_empty(),
        "mutants the suite did not catch: {survivors:?}"
    );
    caught
}

#[test]
fn the_suite_catches_every_mutant_of_every_broker_adapter() {
    let mut caught = BTreeSet::new();
    for broker in harness::brokers::BROKERS {
        caught.extend(catches_every_mutant(Subject::Broker(broker)));
    }
    // A mutant that breaks no adapter of the table proves nothing.
    let idle: Vec<_> = MUTANTS
        .iter()
        .map(|m| m.id)
        .filter(|id| !caught.contains(id))
        .collect();
    assert!(
        idle.is_empty(),
        "mutants no adapter was broken by: {idle:?}"
    );
}

/// Every case for read-only sources (and for Tier B's cache) can fail:
/// some mutant is written for it.
#[test]
fn every_read_only_case_has_a_mutant() {
    let bare: Vec<_> = catalogue()
        .into_iter()
        .filter(|c| matches!(c.run, Body::ReadOnly(_) | Body::Either(..)))
        .filter(|c| !MUTANTS.iter().any(|m| m.caught_by == c.id))
        .map(|c| c.id)
        .collect();
    assert!(bare.is_empty(), "read-only cases no mutant fails: {bare:?}");
}
