//! Every broker's production adapter through the whole catalogue against
//! its model served on a real 127.0.0.1 socket, with the production TCP
//! dialer and the wall clock: the adapters work over a real transport, not
//! only over the simulated network. (Cases that need the simulated network
//! are skipped here with their reason; the seeded worlds run them.)

use harness::brokers::{Factory, BROKERS};
use harness::case::Body;
use harness::cases::catalogue;
use harness::loopback::{run_loopback_case, Client};
use harness::pace::Pace;
use harness::suite::Verdict;

#[test]
fn every_broker_adapter_passes_the_catalogue_over_loopback() {
    let work: Vec<_> = BROKERS
        .iter()
        .flat_map(|b| catalogue().into_iter().map(move |c| (b, c)))
        .collect();
    // Wall-clock cases mostly wait: run them side by side.
    let runs: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = work
            .iter()
            .map(|&(b, case)| {
                s.spawn(move || {
                    run_loopback_case(Client::Builtin(b), b.vendor.slug, case, 1, Pace::REAL, None)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a case thread panicked"))
            .collect()
    });
    let mut failures = Vec::new();
    for (run, (b, _)) in runs.iter().zip(&work) {
        match &run.verdict {
            Verdict::Passed | Verdict::NotApplicable { .. } => {}
            Verdict::Failed { message, excerpt } => {
                failures.push(format!("{} {}: {message}\n{excerpt}", b.slug(), run.case))
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // A read-only source (Tier C) has a catalogue of its own, far smaller
    // than a trading adapter's: every case of it must run and pass.
    let read_only = catalogue()
        .into_iter()
        .filter(|c| matches!(c.run, Body::ReadOnly(_) | Body::Either(..)))
        .count();
    for b in BROKERS {
        let mine: Vec<_> = runs
            .iter()
            .zip(&work)
            .filter(|(_, (w, _))| w.slug() == b.slug())
            .map(|(r, _)| r)
            .collect();
        let passed = mine.iter().filter(|r| r.verdict == Verdict::Passed).count();
        match b.adapter {
            Factory::Trading(_) => {
                assert!(passed >= 15, "only {passed} cases ran for {}", b.slug())
            }
            Factory::ReadOnly(_) => {
                let skipped: Vec<_> = mine
                    .iter()
                    .filter(|r| {
                        matches!(r.verdict, Verdict::NotApplicable { .. })
                            && harness::cases::find(r.case).is_some_and(|c| {
                                matches!(c.run, Body::ReadOnly(_) | Body::Either(..))
                            })
                    })
                    .map(|r| format!("{}: {:?}", r.case, r.verdict))
                    .collect();
                assert!(
                    passed == read_only,
                    "{passed} of the {read_only} read-only cases passed for {}; skipped: {skipped:?}",
                    b.slug()
                );
            }
        }
    }
}
