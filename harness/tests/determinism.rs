//! One seed, one byte-identical trace: every world is run twice and the
//! SHA-256 of its canonical trace compared; another seed gives another trace.

use harness::cases;
use harness::subject::Subject;
use harness::suite::{run_case, Verdict};

const CASES: [&str; 7] = [
    "partial_fills_accumulate",
    "ambiguous_submit_never_duplicates",
    "rate_limit_backs_off_and_recovers",
    "duplicate_or_reordered_events_keep_state_monotonic",
    // Read-only sources (Tier C): the holder's seeded history, pages, faults.
    "reimport_is_idempotent",
    "stale_holdings_report_their_age",
    "read_only_errors_are_typed",
];

#[test]
fn same_seed_same_trace_hash() {
    for subject in Subject::all() {
        for id in CASES {
            let case = cases::find(id).expect("a catalogue case");
            let a = run_case(subject, case, 7, None);
            let b = run_case(subject, case, 7, None);
            assert_eq!(
                a.trace_hash,
                b.trace_hash,
                "{} {id}: two runs of seed 7 differ\n--- first\n{}\n--- second\n{}",
                subject.slug(),
                a.trace,
                b.trace
            );
            let skipped = matches!(a.verdict, Verdict::NotApplicable { .. });
            assert!(
                skipped || !a.trace.is_empty(),
                "{} {id}: empty trace",
                subject.slug()
            );
        }
    }
}

#[test]
fn another_seed_another_trace() {
    // One case for each kind of adapter: whichever of them applies.
    let kinds = ["partial_fills_accumulate", "reimport_is_idempotent"];
    for subject in Subject::all() {
        let mut compared = 0;
        for id in kinds {
            let case = cases::find(id).expect("a catalogue case");
            let a = run_case(subject, case, 7, None);
            if matches!(a.verdict, Verdict::NotApplicable { .. }) {
                continue;
            }
            let b = run_case(subject, case, 8, None);
            assert_ne!(
                a.trace_hash,
                b.trace_hash,
                "{} {id}: seeds 7 and 8 gave one trace",
                subject.slug()
            );
            compared += 1;
        }
        assert!(
            compared > 0,
            "{}: no case of {kinds:?} applies",
            subject.slug()
        );
    }
}
