//! `raxx-sim replay` end to end for a file that runs at several brokers:
//! each broker in turn, one with `--broker`, and a broker it does not run at
//! refused with the ones it does.

use std::process::Command;

fn replay(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_raxx-sim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("replay")
        .args(args)
        .output()
        .expect("running raxx-sim");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const EVERY: &str = "scenarios/each-broker/happy-path.toml";

#[test]
fn a_file_for_several_brokers_replays_at_each_in_turn() {
    let (code, out, err) = replay(&[EVERY]);
    assert_eq!(code, Some(0), "{err}{out}");
    let headers: Vec<&str> = out.lines().filter(|l| l.starts_with("== at ")).collect();
    assert_eq!(
        headers,
        [
            "== at alpaca",
            "== at tradier",
            "== at tastytrade",
            "== at schwab",
            "== at snaptrade-etrade"
        ]
    );
    assert_eq!(out.matches("verdict: passed").count(), 5, "{out}");
}

#[test]
fn broker_picks_one_run_and_json_names_it() {
    let (code, out, err) = replay(&[EVERY, "--broker", "tradier", "--format", "json"]);
    assert_eq!(code, Some(0), "{err}{out}");
    let run: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(run["broker"], "tradier");
    assert_eq!(run["passed"], true);
    let wires: Vec<&str> = run["trace"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["actor"] == "wire")
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert!(!wires.is_empty(), "{out}");
    assert!(wires.iter().all(|t| t.starts_with("tradier ")), "{wires:?}");
}

#[test]
fn a_broker_the_file_does_not_run_at_is_refused_with_the_ones_it_does() {
    let (code, out, err) = replay(&[EVERY, "--broker", "plaid"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(err.contains("alpaca, tradier, tastytrade, schwab"), "{err}");
}
