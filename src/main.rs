//! `raxx-sim`: the command line of the simulation and conformance harness.

mod audit;
mod bench;
mod brokers;
mod conform;
mod graduate;
mod replay;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "raxx-sim",
    version,
    about = "Deterministic broker simulation and conformance harness for Raxx"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Checks an audit chain written by the gateway's order path.
    Audit {
        #[command(subcommand)]
        command: audit::Command,
    },
    /// Runs a fixed, seeded benchmark workload and prints one JSON line of figures.
    Bench {
        #[command(subcommand)]
        target: bench::Target,
    },
    /// Lists the modelled brokers: slug, tier, capabilities, what is modelled.
    Brokers,
    /// Runs the conformance suite for one adapter: every applicable case
    /// under every seed, in deterministic simulated worlds.
    Conform(conform::ConformArgs),
    /// Replays a graduation file (paper cycles, the gate, live trading) and
    /// prints its timeline and decision.
    Graduate(graduate::GraduateArgs),
    /// Runs one scenario file and prints its timeline; non-zero exit when an
    /// expectation fails.
    Replay(replay::ReplayArgs),
    /// Prints the JSON Schema of scenario files (for editors).
    Schema,
    /// Serves one simulated broker on a real socket until interrupted; the first
    /// stdout line is a JSON object with its base URL, credentials and accounts.
    Serve(serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Audit { command } => audit::run(command),
        Command::Bench { target } => bench::run(target),
        Command::Brokers => brokers::run(),
        Command::Serve(args) => serve::run(args),
        Command::Conform(args) => conform::run(args),
        Command::Graduate(args) => graduate::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Schema => {
            print!("{}", harness::scenario::json_schema());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("raxx-sim: {e:#}");
            ExitCode::from(2)
        }
    }
}
