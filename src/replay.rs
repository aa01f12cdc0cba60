//! `raxx-sim replay FILE`: runs a scenario and prints its timeline (or
//! JSON); the same file and seed always print the same bytes. A file that
//! runs at several brokers (`brokers`) runs at each in turn, or at the one
//! `--broker` names. Exit status 1 when an expectation fails, 2 when the
//! file cannot be used.

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
    /// A scenario file (TOML), e.g. scenarios/each-broker/happy-path.toml.
    file: PathBuf,
    /// For a file that runs at several brokers: only this one.
    #[arg(long)]
    broker: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let mut each = match scenario::load_each(&args.file) {
        Ok(each) => each,
        Err(e) => {
            eprintln!("raxx-sim: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if let Some(broker) = &args.broker {
        let runs_at: Vec<String> = each.iter().filter_map(|l| l.broker.clone()).collect();
        each.retain(|l| l.broker.as_ref() == Some(broker));
        if each.is_empty() {
            eprintln!(
                "raxx-sim: {}: does not run at {broker:?} (it runs at {})",
                args.file.display(),
                if runs_at.is_empty() {
                    "its own connections: leave out --broker".to_string()
                } else {
                    runs_at.join(", ")
                }
            );
            return Ok(ExitCode::from(2));
        }
    }
    let mut passed = true;
    let mut json = Vec::new();
    for (i, loaded) in each.iter().enumerate() {
        let run = scenario::replay(loaded);
        passed &= run.passed();
        match args.format {
            Format::Text => {
                if i > 0 {
                    println!();
                }
                if let Some(broker) = &loaded.broker {
                    println!("== at {broker}");
                }
                print!("{}", run.timeline());
            }
            Format::Json => json.push(match &loaded.broker {
                Some(broker) => {
                    let mut v = run.to_json();
                    v["broker"] = broker.clone().into();
                    v
                }
                None => run.to_json(),
            }),
        }
    }
    if let Format::Json = args.format {
        // One run prints one object, as before; a file run at several
        // brokers prints their array.
        match <[_; 1]>::try_from(json) {
            Ok([one]) => println!("{one}"),
            Err(many) => println!("{}", serde_json::Value::from(many)),
        }
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
