//! `raxx-sim conform`: the conformance suite for one adapter, every
//! applicable case under every seed, with text, JSON or JUnit reports.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{bail, Context};
use clap::builder::PossibleValuesParser;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use harness::case::Case;
use harness::cases;
use harness::loopback::{describe_external, run_bridged_case, skip_reason, skipped};
use harness::mutants::{self, MUTANTS};
use harness::pace::Pace;
use harness::report;
use harness::subject::Subject;
use harness::suite::{run_case, CaseRun, Verdict};

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
}

#[derive(Args)]
pub struct ConformArgs {
    /// The adapter under test (`raxx-sim brokers` lists them), or a
    /// vendor's every row (`snaptrade`: each brokerage behind it in turn).
    #[arg(long, value_parser = PossibleValuesParser::new(Subject::names()), required_unless_present = "adapter_cmd")]
    adapter: Option<String>,
    /// An adapter in another process (any language), driven over the process
    /// bridge against the broker's model on 127.0.0.1; needs --broker.
    #[arg(long, conflicts_with = "adapter", requires = "broker")]
    adapter_cmd: Option<String>,
    /// How many times faster than real time an external adapter runs (its
    /// clock sped up by libfaketime, built by scripts/faketime.sh; the model
    /// and the cases' waits at the same pace). 1: real time.
    #[arg(long, default_value_t = 10, requires = "adapter_cmd")]
    pace: u32,
    /// The broker an external adapter trades at.
    #[arg(long, value_parser = PossibleValuesParser::new(broker_models::vendor::slugs()))]
    broker: Option<String>,
    /// Seeds 1..=N for every case.
    #[arg(long, default_value_t = 8, conflicts_with = "seed")]
    seeds: u64,
    /// Exactly one seed (to reproduce a failure).
    #[arg(long)]
    seed: Option<u64>,
    /// Only this case (its catalogue id).
    #[arg(long)]
    case: Option<String>,
    /// Run against a deliberately broken copy of the adapter.
    #[arg(long, conflicts_with = "mutation_score")]
    mutant: Option<String>,
    /// Run every mutant and report how many the suite catches.
    #[arg(long)]
    mutation_score: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Print every run's whole trace after it (text format).
    #[arg(long)]
    trace: bool,
    /// Write the report here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// K/N: run only the K-th of N equal shares of the seeds (1-based).
    #[arg(long, value_parser = parse_shard)]
    shard: Option<(u64, u64)>,
    /// Worlds run at once (default: one per CPU for built-in adapters; one
    /// for an external adapter, whose child runs on the wall clock). Each
    /// world is deterministic on its own, so the report is the same bytes
    /// whatever the number.
    #[arg(long)]
    jobs: Option<usize>,
}

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (k, n) = s.split_once('/').ok_or("expected K/N, e.g. 2/4")?;
    let k: u64 = k.parse().map_err(|_| "K is not a number")?;
    let n: u64 = n.parse().map_err(|_| "N is not a number")?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("shard {k}/{n}: need 1 <= K <= N"));
    }
    Ok((k, n))
}

pub fn run(args: ConformArgs) -> anyhow::Result<ExitCode> {
    let catalogue = match &args.case {
        Some(id) => {
            vec![cases::find(id).with_context(|| format!("no case {id:?} in the catalogue"))?]
        }
        None => cases::catalogue(),
    };
    let mut seeds: Vec<u64> = match args.seed {
        Some(s) => vec![s],
        None => (1..=args.seeds).collect(),
    };
    if let Some((k, n)) = args.shard {
        seeds.retain(|s| (s - 1) % n == k - 1);
    }
    let subject = match (&args.adapter, &args.adapter_cmd, &args.broker) {
        (Some(a), _, _) => Under::Builtin(Subject::family(a)?),
        (None, Some(cmd), Some(broker)) => Under::External(cmd.clone(), broker.clone()),
        _ => bail!("name an --adapter, or an --adapter-cmd with its --broker"),
    };
    if args.mutation_score {
        let Under::Builtin(subjects) = subject else {
            bail!("mutants wrap the built-in adapters; use --adapter");
        };
        let mut code = ExitCode::SUCCESS;
        for s in subjects {
            if mutation_score(s, &seeds)? != ExitCode::SUCCESS {
                code = ExitCode::FAILURE;
            }
        }
        return Ok(code);
    }
    if args.mutant.is_some() && matches!(subject, Under::External(..)) {
        bail!("mutants wrap the built-in adapters; use --adapter");
    }
    let mutant = match &args.mutant {
        Some(id) => Some(mutants::find(id).with_context(|| {
            let ids: Vec<_> = MUTANTS.iter().map(|m| m.id).collect();
            format!("no mutant {id:?}; there are {ids:?}")
        })?),
        None => None,
    };
    // Each subject of the family in turn (one, unless a vendor named its
    // rows), every case under every seed.
    let targets: Vec<Target> = match &subject {
        Under::Builtin(all) => all.iter().copied().map(Target::Builtin).collect(),
        Under::External(cmd, broker) => vec![Target::External(cmd, broker)],
    };
    let mut work: Vec<(Target, &'static Case, u64)> = Vec::new();
    for s in &targets {
        for case in &catalogue {
            work.extend(seeds.iter().map(|&seed| (*s, *case, seed)));
        }
    }
    // An external child mostly waits on its broker: more at once than CPUs.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = args.jobs.unwrap_or(match subject {
        Under::Builtin(_) => cpus,
        Under::External(..) => cpus * 2,
    });
    let pace = Pace::new(args.pace);
    if matches!(subject, Under::External(..)) {
        harness::faketime::ensure(pace)?;
    }
    // An external adapter is asked what it is once, not once per run.
    let external = match &subject {
        Under::External(cmd, broker) => Some(describe_external(cmd, broker, pace)?),
        Under::Builtin(_) => None,
    };
    let progress = bar(work.len() as u64);
    let runs = run_all(&work, jobs, &progress, |target, case, seed| {
        let run = match target {
            Target::Builtin(s) => run_case(s, case, seed, mutant),
            Target::External(cmd, broker) => {
                match external.as_ref().and_then(|d| skip_reason(case, d)) {
                    Some(reason) => skipped(case, cmd, broker, seed, reason),
                    None => run_bridged_case(cmd, broker, case, seed, pace),
                }
            }
        };
        // A whole trace is kept only to be printed (`--trace`): a failure
        // carries its excerpt, and a 10,000-seed sweep held every passing
        // run's trace (3.4 GB for one adapter).
        if args.trace {
            run
        } else {
            CaseRun {
                trace: String::new(),
                ..run
            }
        }
    });
    progress.finish_and_clear();
    let text = match args.format {
        Format::Text => report::text(&runs, args.trace),
        Format::Json => report::json(&runs),
        Format::Junit => report::junit(&runs),
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            let (p, f, s) = report::summary(&runs);
            println!("{p} passed, {f} failed, {s} skipped");
        }
        None => print!("{text}"),
    }
    let failed = runs
        .iter()
        .any(|r| matches!(r.verdict, Verdict::Failed { .. }));
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// What runs one (case, seed): a built-in subject, or a command and the
/// broker it trades at.
#[derive(Clone, Copy)]
enum Target<'a> {
    Builtin(Subject),
    External(&'a str, &'a str),
}

enum Under {
    /// One subject, or a vendor's every row.
    Builtin(Vec<Subject>),
    /// A command and the broker it trades at.
    External(String, String),
}

/// Runs every (case, seed) of `work` on `jobs` threads; the runs come back
/// in `work`'s order, so the report does not depend on `jobs`.
fn run_all<'a>(
    work: &[(Target<'a>, &'static Case, u64)],
    jobs: usize,
    progress: &ProgressBar,
    run: impl Fn(Target<'a>, &'static Case, u64) -> CaseRun + Sync,
) -> Vec<CaseRun> {
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<CaseRun>>> = Mutex::new(vec![None; work.len()]);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, work.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(subject, case, seed)) = work.get(i) else {
                    return;
                };
                progress.set_message(format!("{} seed {seed}", case.id));
                let r = run(subject, case, seed);
                done.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                progress.inc(1);
            });
        }
    });
    done.into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// A progress bar on a terminal; nothing when stderr is not one (CI, pipes).
fn bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
        bar.set_style(style);
    }
    bar
}

fn mutation_score(subject: Subject, seeds: &[u64]) -> anyhow::Result<ExitCode> {
    if subject == Subject::Paper {
        bail!("the mutants break HTTP adapters' behaviour; run them against a broker's adapter");
    }
    let mut caught = 0;
    let mut applicable = 0;
    for m in MUTANTS {
        let first = seeds.first().copied().unwrap_or(1);
        let probe = cases::find(m.caught_by).map(|c| run_case(subject, c, first, Some(m)).verdict);
        if let Some(Verdict::NotApplicable { reason }) = probe {
            if reason.starts_with("the mutant cannot break") {
                println!("n/a      {}: {reason}", m.id);
                continue;
            }
        }
        applicable += 1;
        let by = cases::catalogue().into_iter().find_map(|case| {
            seeds
                .iter()
                .any(|&seed| {
                    matches!(
                        run_case(subject, case, seed, Some(m)).verdict,
                        Verdict::Failed { .. }
                    )
                })
                .then_some(case.id)
        });
        match by {
            Some(case) => {
                caught += 1;
                println!("caught   {} (by {case}): {}", m.id, m.about);
            }
            None => println!("SURVIVED {}: {}", m.id, m.about),
        }
    }
    println!("mutation score: {caught}/{applicable} caught");
    Ok(if caught == applicable {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
