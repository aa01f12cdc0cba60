//! `raxx-sim graduate FILE`: replays a graduation scenario (MBT paper
//! cycles, the paper-first gate, then live trading at the broker's model)
//! and prints its timeline and the decision; the same file always prints
//! the same bytes; `--html OUT` also writes the report product staff open
//! in a browser (no network needed). Exit status 1 when the replay could not finish, 2 when
//! the file cannot be used.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use harness::graduation;

#[derive(Args)]
pub struct GraduateArgs {
    /// A graduation file (TOML), e.g. scenarios/graduation/clean-alpaca.toml.
    #[arg(required_unless_present = "schema")]
    file: Option<PathBuf>,
    /// Also write a self-contained HTML report (decision, charts, timeline) here.
    #[arg(long, value_name = "OUT")]
    html: Option<PathBuf>,
    /// Print the JSON Schema of graduation files instead.
    #[arg(long)]
    schema: bool,
}

pub fn run(args: GraduateArgs) -> anyhow::Result<ExitCode> {
    if args.schema {
        println!("{}", serde_json::to_string_pretty(&graduation::schema())?);
        return Ok(ExitCode::SUCCESS);
    }
    let Some(file) = args.file else {
        anyhow::bail!("a graduation file is needed");
    };
    let loaded = match graduation::load(&file) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("raxx-sim: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let journey = graduation::replay(&loaded);
    print!("{}", journey.timeline());
    if let Some(out) = &args.html {
        std::fs::write(out, graduation::report::html(&journey))
            .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
        eprintln!("raxx-sim: the report is in {}", out.display());
    }
    Ok(if journey.problem.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
