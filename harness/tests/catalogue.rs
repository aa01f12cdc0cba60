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

fn run_all(subject: Subject) -> Vec<String> {
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
                    "{} {} seed {seed}: {message}\n{excerpt}\nreproduce: {}",
                    subject.slug(),
                    case.id,
                    run.repro()
                )),
            }
        }
    }
    failures
}

/// Every subject of the broker table, and paper, side by side.
#[test]
fn every_adapter_passes_the_catalogue() {
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = Subject::all()
            .into_iter()
            .map(|subject| s.spawn(move || run_all(subject)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a subject's thread panicked"))
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Seeds on which a 1,000-seed sweep found the Tradier order stream silent
/// for good: the fill happened before Tradier took the stream's
/// subscription, and nothing read it back (issue: the Tradier order stream
/// going silent after a drop).
#[test]
fn tradier_stream_keeps_delivering_on_the_seeds_that_lost_a_fill() {
    let case = harness::cases::find("stream_drop_loses_no_fill").expect("in the catalogue");
    for seed in [9, 15, 17, 19, 26, 27, 28, 30, 32, 46, 73, 74, 108] {
        let tradier = Subject::parse("tradier").expect("in the broker table");
        let run = run_case(tradier, case, seed, None);
        assert_eq!(run.verdict, Verdict::Passed, "seed {seed}: {}", run.trace);
    }
}
