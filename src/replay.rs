//! `raxx-sim replay FILE`: runs one scenario and prints its timeline (or
//! JSON); the same file and seed always print the same bytes. Exit status 1
//! when an expectation fails, 2 when the file cannot be used.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use harness::scenario;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Args)]
pub struct ReplayArgs {
    /// A scenario file (TOML), e.g. scenarios/alpaca/happy-path.toml.
    file: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let loaded = match scenario::load(&args.file) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("raxx-sim: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let run = scenario::replay(&loaded);
    match args.format {
        Format::Text => print!("{}", run.timeline()),
        Format::Json => println!("{}", run.to_json()),
    }
    Ok(if run.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
