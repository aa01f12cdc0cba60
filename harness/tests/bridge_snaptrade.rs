//! The reference Python adapter for SnapTrade
//! (examples/bridge/snaptrade_adapter.py) through the catalogue over the
//! process bridge, against the SnapTrade model on 127.0.0.1: the Tier B
//! cases proven over the bridge, not only in process.
//!
//! The bridge trades at the vendor's model (`snaptrade`) and its
//! connection's account, the first SnapTrade lists: E*TRADE's, the
//! brokerage behind SnapTrade that trades, as the `snaptrade-etrade` row
//! of the broker table does in process.

use harness::cases::catalogue;
use harness::loopback::{describe_external, run_bridged_case, skip_reason};
use harness::pace::Pace;
use harness::suite::{CaseRun, Verdict};

/// The bridge's own pace: the child under libfaketime, built by the
/// project's script, and the model and the cases' waits at the same pace.
fn pace() -> Pace {
    let pace = Pace::new(10);
    harness::faketime::ensure(pace).expect("scripts/faketime.sh builds libfaketime");
    pace
}

/// The vendor's model the bridge serves for SnapTrade's rows.
const BROKER: &str = "snaptrade";

/// Children running at once: each case mostly waits on the model, but
/// the bridge's deadlines are short at pace 10, so not too many.
const AT_ONCE: usize = 4;

/// Cases the reference adapter passes over the bridge, seed 1: every case
/// that applies to a Tier B adapter that trades equities and does not
/// stream.
const PASSED: usize = 34;

/// Runs `work` (a command and a case each) `AT_ONCE` at a time.
fn run_all(work: &[(String, &'static harness::case::Case)], pace: Pace) -> Vec<CaseRun> {
    let mut runs = Vec::with_capacity(work.len());
    for chunk in work.chunks(AT_ONCE) {
        let done: Vec<CaseRun> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|(command, case)| {
                    s.spawn(move || run_bridged_case(command, BROKER, case, 1, pace))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic"))
                .collect()
        });
        runs.extend(done);
    }
    runs
}

#[test]
fn the_reference_snaptrade_adapter_passes_the_catalogue_over_the_bridge() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/bridge/snaptrade_adapter.py"
    );
    let command = format!("python3 {script}");
    let pace = pace();
    let described =
        describe_external(&command, BROKER, pace).expect("the adapter describes itself");
    assert_eq!(described.tier, adapters::Tier::B, "{described:?}");
    let work: Vec<_> = catalogue()
        .into_iter()
        .filter(|c| skip_reason(c, &described).is_none())
        .map(|c| (command.clone(), c))
        .collect();
    let runs = run_all(&work, pace);
    let mut failures = Vec::new();
    let mut passed = Vec::new();
    for run in &runs {
        match &run.verdict {
            Verdict::Passed => passed.push(run.case),
            Verdict::NotApplicable { reason } => failures.push(format!(
                "{}: skipped after describe said it applies: {reason}",
                run.case
            )),
            Verdict::Failed { message, excerpt } => {
                failures.push(format!("{}: {message}\n{excerpt}", run.case))
            }
        }
    }
    println!("passed {}: {passed:?}", passed.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The Tier B cases are what this file is for, and the revoke the bridge
    // passes through to the child: each must have run.
    for id in [
        "aggregator_outage_is_transitive",
        "downstream_connection_broken_is_typed",
        "stale_holdings_report_their_age",
        "revoked_token_never_reaches_a_broker",
    ] {
        assert!(
            passed.contains(&id),
            "{id} did not run over the bridge: {passed:?}"
        );
    }
    assert!(
        passed.len() >= PASSED,
        "only {} cases passed for the reference SnapTrade adapter: {passed:?}",
        passed.len()
    );
}

/// The reference adapter with one realistic bug each
/// (tests/bridge_bad/snaptrade_with_bug.py): the Tier B mutants of
/// harness/src/mutants.rs written in Python, and two bugs any adapter can
/// have, each caught over the bridge by its case.
#[test]
fn every_tier_b_bug_is_caught_over_the_bridge() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/bridge_bad/snaptrade_with_bug.py"
    );
    let bugs = [
        (
            "outage_as_refusal",
            "aggregator_outage_is_transitive",
            "while the aggregator is down: expected a unavailable error, got rejected",
        ),
        (
            "broken_as_outage",
            "downstream_connection_broken_is_typed",
            "on a broken connection: expected a reauth_required error, got ",
        ),
        (
            "drops_age",
            "stale_holdings_report_their_age",
            "the holdings do not say when the institution last updated them",
        ),
        (
            "resends",
            "ambiguous_submit_never_duplicates",
            "became 2 broker orders",
        ),
        ("leaky", "market_buy_from_flat_fills", "put a credential"),
    ];
    let work: Vec<_> = bugs
        .iter()
        .map(|&(bug, case, _)| {
            let case = harness::cases::find(case).expect("in the catalogue");
            (format!("python3 {script} {bug}"), case)
        })
        .collect();
    let runs = run_all(&work, pace());
    for ((bug, case, _), run) in bugs.iter().zip(&runs) {
        println!("{bug} in {case}: {:?}", run.verdict);
    }
    for ((bug, case, why), run) in bugs.iter().zip(runs) {
        assert!(
            matches!(&run.verdict, Verdict::Failed { message, .. } if message.contains(why)),
            "{bug} in {case}: {:?}",
            run.verdict
        );
    }
}
