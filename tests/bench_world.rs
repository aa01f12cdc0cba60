//! `raxx-sim bench world`: one JSON line whose figures come from the worlds
//! it ran, the same worlds (the same traces) for the same seeds.

use std::process::Command;

fn bench_world(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_raxx-sim"))
        .args(["bench", "world"])
        .args(args)
        .output()
        .expect("running raxx-sim");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON line")
}

#[test]
fn a_world_bench_reports_the_worlds_it_ran() {
    let first = bench_world(&["--adapter", "tradier", "--seeds", "1"]);
    let cases = harness::cases::catalogue().len() as u64;
    assert_eq!(first["runs"], cases, "{first}");
    assert_eq!(first["failed"], 0, "{first}");
    assert!(first["requests"].as_u64() > Some(cases), "{first}");
    assert!(first["simulated_secs"].as_f64() > Some(1.0), "{first}");
    assert!(first["times_real_time"].as_f64() > Some(0.0), "{first}");
    assert!(first["cpu_us_per_request"].as_f64() > Some(0.0), "{first}");
    let again = bench_world(&["--adapter", "tradier", "--seeds", "1"]);
    assert_eq!(first["traces_sha256"], again["traces_sha256"]);
    let other = bench_world(&["--adapter", "tradier", "--seeds", "2"]);
    assert_eq!(other["runs"], 2 * cases, "{other}");
    assert_ne!(first["traces_sha256"], other["traces_sha256"]);
}
