//! The Python helper for adapter authors (python/raxx_bridge) keeps its own
//! unit tests, standard library only; `cargo test` runs them so the helper
//! and the harness it speaks to cannot drift apart unnoticed.

#[test]
fn the_python_helpers_own_tests_pass() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = std::process::Command::new("python3")
        .args(["-m", "unittest", "discover", "-s", "tests"])
        .current_dir(format!("{root}/python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 runs");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python helper tests failed:\n{said}");
    assert!(said.contains("\nOK"), "{said}");
}
