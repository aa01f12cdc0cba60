//! The vendors' own SDKs (alpaca-py, tradier-api-client, tastytrade, schwab-py, plaid-python,
//! snaptrade-python-sdk 13, and 11 in a venv of its own) against `raxx-sim serve`: the fidelity test of the
//! broker models. The venv is made by the project's own script
//! (scripts/sdk-venv.sh) on first use.

use std::process::Command;

#[test]
fn vendor_sdks_accept_the_simulated_brokers() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("bash")
        .arg(format!("{root}/scripts/sdk-tests.sh"))
        .arg(env!("CARGO_BIN_EXE_raxx-sim"))
        .output()
        .expect("running scripts/sdk-tests.sh (needs bash and python3)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "SDK tests failed:\n{stdout}\n{stderr}"
    );
    // pytest's closing lines, e.g. "19 passed in 2.9s": one per venv
    // (tests/sdk, then tests/sdk/sdk11); every SDK test ran and none failed.
    let summaries: Vec<&str> = stdout.lines().filter(|l| l.contains(" passed")).collect();
    assert_eq!(summaries.len(), 2, "{stdout}");
    assert!(
        summaries
            .iter()
            .all(|l| !l.contains("failed") && !l.contains("error")),
        "{stdout}"
    );
    println!("{}", summaries.join("\n"));
}
