//! The reference Python adapter (examples/bridge/alpaca_adapter.py) through
//! the whole catalogue over the process bridge, against the Alpaca model on
//! 127.0.0.1: the same cases and invariants as the in-process adapters.

use harness::cases::catalogue;
use harness::loopback::{describe_external, run_bridged_case, run_bridged_path_mutant};
use harness::mutants::MUTANTS;
use harness::pace::Pace;
use harness::suite::Verdict;

/// The bridge's own pace: the child under libfaketime, built by the
/// project's script, and the model and the cases' waits at the same pace.
fn pace() -> Pace {
    let pace = Pace::new(10);
    harness::faketime::ensure(pace).expect("scripts/faketime.sh builds libfaketime");
    pace
}

#[test]
fn the_reference_python_adapter_passes_the_catalogue_over_the_bridge() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/bridge/alpaca_adapter.py"
    );
    let command = format!("python3 {script}");
    let mut failures = Vec::new();
    let mut passed = 0;
    for case in catalogue() {
        let run = run_bridged_case(&command, "alpaca", case, 1, pace());
        match &run.verdict {
            Verdict::Passed => passed += 1,
            Verdict::NotApplicable { .. } => {}
            Verdict::Failed { message, excerpt } => {
                failures.push(format!("{}: {message}\n{excerpt}", case.id))
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        passed >= 15,
        "only {passed} cases applied to the reference adapter"
    );
}

/// The reference adapter with one realistic bug each
/// (tests/bridge_bad/alpaca_with_bug.py): every invariant, and the case
/// for client ids a vendor label cannot hold, catches its bug over the
/// bridge, reading ground truth that exists in this mode (the
/// model's ledger and its record of waits it asked for, the adapter's
/// answers, what the bridge scrubbed from the child's output), never the
/// wire's timing, which the bridge does not see.
#[test]
fn every_invariant_catches_a_bad_external_adapter() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/bridge_bad/alpaca_with_bug.py"
    );
    let bugs = [
        (
            "impatient",
            "rate_limit_backs_off_and_recovers",
            "inside a wait the broker asked for",
        ),
        ("leaky", "market_buy_from_flat_fills", "put a credential"),
        (
            "resubmits",
            "ambiguous_submit_never_duplicates",
            "became 2 broker orders",
        ),
        ("unsigned_shorts", "short_from_flat", "AAPL: ledger -"),
        (
            "short_ids",
            "unusual_client_ids_reconcile",
            "reconciled to order",
        ),
    ];
    let pace = pace();
    let runs: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = bugs
            .iter()
            .map(|&(bug, case, _)| {
                let case = harness::cases::find(case).expect("in the catalogue");
                let command = format!("python3 {script} {bug}");
                s.spawn(move || run_bridged_case(&command, "alpaca", case, 1, pace))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    });
    for ((bug, case, why), run) in bugs.iter().zip(runs) {
        assert!(
            matches!(&run.verdict, Verdict::Failed { message, .. } if message.contains(why)),
            "{bug} in {case}: {:?}",
            run.verdict
        );
    }
}

/// The order path is Raxx's own, in process, whatever language the adapter
/// under it is written in: each path mutant a trading connection can meet
/// is caught with the sound reference adapter over the bridge. (Those of a
/// read-only source's path are not: the bridge carries adapters that trade.)
#[test]
fn every_path_mutant_is_caught_over_the_bridge() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/bridge/alpaca_adapter.py"
    );
    let command = format!("python3 {script}");
    let pace = pace();
    let described =
        describe_external(&command, "alpaca", pace).expect("the adapter describes itself");
    let mutants: Vec<_> = MUTANTS
        .iter()
        .filter(|m| m.flaw().is_some() && (m.breaks)(&described))
        .map(|m| {
            (
                m,
                harness::cases::find(m.caught_by).expect("in the catalogue"),
            )
        })
        .collect();
    assert!(
        mutants.len() >= 6,
        "only {} path mutants for trading connections",
        mutants.len()
    );
    let runs: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = mutants
            .iter()
            .map(|&(m, case)| {
                let command = &command;
                s.spawn(move || run_bridged_path_mutant(command, "alpaca", case, 1, pace, m))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    });
    for ((m, case), run) in mutants.iter().zip(runs) {
        println!("{} in {}: {:?}", m.id, case.id, run.verdict);
        assert!(
            matches!(run.verdict, Verdict::Failed { .. }),
            "path mutant {} survived {} over the bridge: {:?}",
            m.id,
            case.id,
            run.verdict
        );
    }
}
