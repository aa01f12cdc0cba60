//! The suite catches every mutant: each deliberately broken adapter fails
//! the case written to catch it, under the default seed, for every HTTP
//! adapter it can break.

use harness::cases;
use harness::mutants::MUTANTS;
use harness::subject::Subject;
use harness::suite::{run_case, Verdict};

fn catches_every_mutant(subject: Subject) {
    let mut survivors = Vec::new();
    for mutant in MUTANTS {
        let case = cases::find(mutant.caught_by).expect("a mutant names a case of the catalogue");
        let run = run_case(subject, case, 1, Some(mutant));
        match run.verdict {
            Verdict::Failed { message, .. } => {
                println!("{}: caught by {}: {message}", mutant.id, case.id)
            }
            Verdict::NotApplicable { reason } => println!("{}: {reason}", mutant.id),
            other => survivors.push(format!("{} ({} {})", mutant.id, case.id, other.word())),
        }
    }
    assert!(
        survivors.is_empty(),
        "mutants the suite did not catch: {survivors:?}"
    );
}

#[test]
fn the_suite_catches_every_mutant_of_every_broker_adapter() {
    for broker in harness::brokers::BROKERS {
        catches_every_mutant(Subject::Broker(broker));
    }
}
