//! `raxx-sim audit verify FILE [--head HASH]`: checks an audit chain
//! written by the gateway (`gateway::audit`). Exit status 0 when it holds,
//! 1 when it is broken (the break on stderr), 2 when the file cannot be
//! read.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use gateway::audit;

#[derive(Subcommand)]
pub enum Command {
    /// Checks every entry's hash and link; prints the entry count and the
    /// head. Removing the last entries leaves a valid chain: pass the head
    /// kept elsewhere with --head to find that too.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The audit log (JSONL, one entry per line).
    file: PathBuf,
    /// The head (hex SHA-256 of the last entry) kept apart from the log:
    /// the chain must end there.
    #[arg(long, value_parser = parse_head)]
    head: Option<String>,
}

fn parse_head(text: &str) -> Result<String, String> {
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(text.to_string())
    } else {
        Err("a head is 64 hex digits (a SHA-256)".to_string())
    }
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Verify(args) => verify(args),
    }
}

fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.file).with_context(|| args.file.display().to_string())?;
    let checked = audit::as_text(&bytes).and_then(|text| match &args.head {
        Some(head) => audit::verify_with_head(text, head),
        None => audit::verify(text),
    });
    match checked {
        Ok(summary) => {
            let noun = if summary.entries == 1 {
                "entry"
            } else {
                "entries"
            };
            println!("ok: {} {noun}, head {}", summary.entries, summary.head);
            Ok(ExitCode::SUCCESS)
        }
        Err(broken) => {
            eprintln!("audit chain broken at {broken}");
            Ok(ExitCode::from(1))
        }
    }
}
