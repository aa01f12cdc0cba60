//! Running an unchanged adapter process faster than real time: libfaketime
//! speeds up its clock, its sleeps and its timeouts (`FAKETIME="@<start>
//! x<pace>"`), and a small shim (`scripts/faketime/clockwait_shim.c`) makes
//! lock waits with a timeout follow, which libfaketime leaves on the real
//! clock. `scripts/faketime.sh` builds both into `target/faketime/`; the
//! child's clock starts at the model's simulated now, so both read the same
//! time as they run.

use std::path::PathBuf;

use mbt::Timestamp;

use crate::error::FaketimeError;
use crate::pace::Pace;

/// Where `scripts/faketime.sh` puts the libraries, unless `RAXX_FAKETIME_DIR` says.
fn dir() -> PathBuf {
    std::env::var_os("RAXX_FAKETIME_DIR").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/faketime")),
        PathBuf::from,
    )
}

/// Builds the libraries with the project's script when a sped-up run needs
/// them and they are missing (once per checkout: it fetches libfaketime's
/// source from PyPI and compiles it with the system C compiler).
pub fn ensure(pace: Pace) -> Result<(), FaketimeError> {
    let dir = dir();
    let built = dir.join("clockwait_shim.so").is_file() && dir.join("libfaketime.so.1").is_file();
    if pace == Pace::REAL || built || std::env::var_os("RAXX_FAKETIME_DIR").is_some() {
        return Ok(());
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/faketime.sh");
    eprintln!(
        "building libfaketime for --pace {} (scripts/faketime.sh, once)",
        pace.factor()
    );
    let status = std::process::Command::new("bash")
        .arg(script)
        // Its progress goes to our stderr; stdout stays the report's.
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|source| FaketimeError::Run { script, source })?;
    if status.success() {
        Ok(())
    } else {
        Err(FaketimeError::Failed { script, status })
    }
}

/// The environment that runs a child at `pace` from `start`; none at real speed.
pub fn env(pace: Pace, start: Timestamp) -> Result<Vec<(String, String)>, FaketimeError> {
    if pace == Pace::REAL {
        return Ok(Vec::new());
    }
    let dir = dir();
    let shim = dir.join("clockwait_shim.so");
    let lib = dir.join("libfaketime.so.1");
    if !shim.is_file() || !lib.is_file() {
        return Err(FaketimeError::Missing {
            factor: pace.factor(),
            dir,
        });
    }
    let start = start.to_datetime().format("%Y-%m-%d %H:%M:%S");
    Ok(vec![
        // The shim must come first: it wraps the calls libfaketime leaves alone.
        (
            "LD_PRELOAD".to_string(),
            format!("{}:{}", shim.display(), lib.display()),
        ),
        (
            "FAKETIME".to_string(),
            format!("@{start} x{}", pace.factor()),
        ),
    ])
}
