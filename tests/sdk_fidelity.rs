//! The vendors' own SDKs (alpaca-py, tradier-api-client, tastytrade, schwab-py, plaid-python,
//! snaptrade-python-sdk) against `raxx-sim serve`: the fidelity test of the
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
    // pytest's closing line, e.g. "19 passed in 2.9s": every SDK test ran and none failed.
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" passed"))
        .unwrap_or_default();
    assert!(
        summary.contains(" passed") && !summary.contains("failed"),
        "{stdout}"
    );
    println!("{summary}");
}
