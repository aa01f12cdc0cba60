//! The whole catalogue for each in-process adapter under a few seeds: every
//! applicable case passes, and every inapplicable one says why.

use harness::cases::catalogue;
use harness::subject::Subject;
use harness::suite::{run_case, Verdict};

fn seeds() -> Vec<u64> {
    let n: u64 = std::env::var("RAXX_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    (1..=n).collect()
}

fn run_all(subject: Subject) {
    let mut failures = Vec::new();
    for case in catalogue() {
        for seed in seeds() {
            let run = run_case(subject, case, seed, None);
            match &run.verdict {
                Verdict::Passed => {}
                Verdict::NotApplicable { reason } => {
                    assert!(!reason.is_empty(), "{} skipped without a reason", case.id)
                }
                Verdict::Failed { message, excerpt } => failures.push(format!(
                    "{} seed {seed}: {message}\n{excerpt}\nreproduce: {}",
                    case.id,
                    run.repro()
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn alpaca_passes_the_catalogue() {
    run_all(Subject::Alpaca);
}

#[test]
fn tradier_passes_the_catalogue() {
    run_all(Subject::Tradier);
}

#[test]
fn mbt_passes_the_catalogue() {
    run_all(Subject::Mbt);
}
