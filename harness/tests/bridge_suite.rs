//! The reference Python adapter (examples/bridge/alpaca_adapter.py) through
//! the whole catalogue over the process bridge, against the Alpaca model on
//! 127.0.0.1: the same cases and invariants as the in-process adapters.

use harness::cases::catalogue;
use harness::loopback::run_bridged_case;
use harness::pace::Pace;
use harness::suite::Verdict;

/// The bridge's own pace: the child under libfaketime, built by the
/// project's script, and the model and the cases' waits at the same pace.
fn pace() -> Pace {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/faketime.sh");
    let built = std::process::Command::new("bash")
        .arg(script)
        .status()
        .expect("bash runs the faketime script");
    assert!(built.success(), "scripts/faketime.sh failed");
    Pace::new(10)
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

/// An adapter that retries a 429 every 50 ms, ignoring the wait Alpaca
/// asked for: over the bridge the trace has no times, so the invariant
/// reads the broker's own record of requests inside a wait it asked for.
#[test]
fn an_impatient_external_adapter_breaks_the_rate_limit_invariant() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/bridge_bad/impatient_alpaca.py"
    );
    let case = harness::cases::find("rate_limit_backs_off_and_recovers").expect("in the catalogue");
    let run = run_bridged_case(&format!("python3 {script}"), "alpaca", case, 1, pace());
    assert!(
        matches!(&run.verdict, Verdict::Failed { message, .. } if message.contains("inside a wait the broker asked for")),
        "{:?}",
        run.verdict
    );
}
