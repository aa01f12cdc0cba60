//! One seed, one byte-identical trace: every world is run twice and the
//! SHA-256 of its canonical trace compared; another seed gives another trace.

use harness::cases;
use harness::subject::Subject;
use harness::suite::run_case;

const CASES: [&str; 4] = [
    "partial_fills_accumulate",
    "ambiguous_submit_never_duplicates",
    "rate_limit_backs_off_and_recovers",
    "duplicate_or_reordered_events_keep_state_monotonic",
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
            let skipped = matches!(a.verdict, harness::suite::Verdict::NotApplicable { .. });
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
    let case = cases::find("partial_fills_accumulate").expect("a catalogue case");
    for subject in Subject::all() {
        let a = run_case(subject, case, 7, None);
        let b = run_case(subject, case, 8, None);
        assert_ne!(
            a.trace_hash,
            b.trace_hash,
            "{}: seeds 7 and 8 gave one trace",
            subject.slug()
        );
    }
}
