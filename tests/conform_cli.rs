//! `raxx-sim conform` end to end: the summary line, the exit status, the
//! reproduce command of a failure, and shards that split the seeds.

use std::process::Command;

fn conform(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_raxx-sim"))
        .arg("conform")
        .args(args)
        .output()
        .expect("running raxx-sim");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_clean_suite_exits_zero_and_ends_with_the_summary() {
    let (ok, out) = conform(&["--adapter", "mbt", "--seeds", "2"]);
    assert!(ok, "{out}");
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.ends_with("skipped") && last.contains(" passed, 0 failed, "),
        "{last}"
    );
}

#[test]
fn a_failure_exits_nonzero_with_the_command_that_reproduces_it() {
    let (ok, out) = conform(&[
        "--adapter",
        "alpaca",
        "--case",
        "cancel_after_fill_is_too_late",
        "--seed",
        "4",
        "--mutant",
        "too_late_cancel_is_success",
    ]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("FAILED  alpaca cancel_after_fill_is_too_late 1/1 seed failed [mutant too_late_cancel_is_success]\n  seed 4\n"),
        "{out}"
    );
    assert!(
        out.contains("reproduce: cargo run --release -- conform --adapter alpaca --case cancel_after_fill_is_too_late --seed 4 --mutant too_late_cancel_is_success"),
        "{out}"
    );
    assert!(out.ends_with("0 passed, 1 failed, 0 skipped\n"), "{out}");
}

#[test]
fn shards_split_the_seeds_between_runners() {
    let (_, first) = conform(&[
        "--adapter",
        "mbt",
        "--case",
        "short_from_flat",
        "--seeds",
        "4",
        "--shard",
        "1/2",
        "--trace",
    ]);
    let (_, second) = conform(&[
        "--adapter",
        "mbt",
        "--case",
        "short_from_flat",
        "--seeds",
        "4",
        "--shard",
        "2/2",
        "--trace",
    ]);
    let seeds = |out: &str| -> Vec<String> {
        out.lines()
            .filter_map(|l| l.strip_prefix("trace of mbt short_from_flat seed "))
            .map(|l| l.trim_end_matches(':').to_string())
            .collect()
    };
    assert_eq!(seeds(&first), ["1", "3"], "{first}");
    assert_eq!(seeds(&second), ["2", "4"], "{second}");
    assert!(
        first.contains("ok      mbt short_from_flat 2/2 seeds"),
        "{first}"
    );
}

#[test]
fn json_reports_carry_trace_hashes() {
    let (ok, out) = conform(&[
        "--adapter",
        "tradier",
        "--case",
        "market_buy_from_flat_fills",
        "--seed",
        "1",
        "--format",
        "json",
    ]);
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(v["passed"], 1);
    assert_eq!(
        v["runs"][0]["trace_sha256"].as_str().map(str::len),
        Some(64)
    );
}

#[test]
fn an_external_adapter_runs_through_the_bridge() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/bridge/alpaca_adapter.py"
    );
    let (ok, out) = conform(&[
        "--adapter-cmd",
        &format!("python3 {script}"),
        "--broker",
        "alpaca",
        "--case",
        "partial_fills_accumulate",
        "--seed",
        "2",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("ok      external:alpaca partial_fills_accumulate 1/1 seed"),
        "{out}"
    );
    assert!(out.ends_with("1 passed, 0 failed, 0 skipped\n"), "{out}");
}
