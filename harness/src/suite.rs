//! Running cases: one case under one seed in its own world, with the
//! invariants checked after it; and the plain facts of each run for reports.

use std::sync::Arc;
use std::time::Duration;

use adapters::{BrokerAdapter, ReadOnlySource};
use broker_models::faults::FaultPlan;

use crate::brokers::Built;
use crate::case::{unmet, Body, Case, Ctx, Failure, ReadCtx};
use crate::error::{SetupError, VenueError};
use crate::invariants::{self, Evidence};
use crate::mutants::{self, Mutant};
use crate::order_path::PathFlaw;
use crate::pace::Pace;
use crate::record::{Exchange, WireLog};
use crate::subject::Subject;
use crate::trace::{Actor, Trace};
use crate::traced::{Traced, TracedSource};
use crate::venue::Venue;
use crate::world::run_world;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed {
        message: String,
        /// Trace lines around where it went wrong.
        excerpt: String,
    },
    NotApplicable {
        reason: String,
    },
}

impl Verdict {
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed { .. } => "failed",
            Verdict::NotApplicable { .. } => "skipped",
        }
    }
}

/// One case under one seed.
#[derive(Debug, Clone)]
pub struct CaseRun {
    pub case: &'static str,
    /// The adapter under test: a slug, or `external:<broker>` for a bridged one.
    pub adapter: String,
    /// The command that started a bridged adapter (for the repro line).
    pub command: Option<String>,
    pub seed: u64,
    pub mutant: Option<&'static str>,
    pub verdict: Verdict,
    /// SHA-256 of the canonical trace.
    pub trace_hash: String,
    pub trace: String,
    /// Requests that reached a broker model.
    pub requests: usize,
    /// Simulated time the case took.
    pub simulated: Duration,
}

impl CaseRun {
    /// The one command that reruns exactly this.
    pub fn repro(&self) -> String {
        let mutant = self
            .mutant
            .map(|m| format!(" --mutant {m}"))
            .unwrap_or_default();
        let adapter = match (self.adapter.strip_prefix("external:"), &self.command) {
            (Some(broker), Some(command)) => {
                format!("--adapter-cmd {} --broker {broker}", shell_quoted(command))
            }
            (Some(broker), None) => format!("--adapter-cmd '<your command>' --broker {broker}"),
            (None, _) => format!("--adapter {}", self.adapter),
        };
        format!(
            "cargo run --release -- conform {adapter} --case {} --seed {}{mutant}",
            self.case, self.seed
        )
    }
}

/// `text` as one POSIX shell word: in single quotes, each `'` written `'\''`.
fn shell_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Runs `case` against `subject` (wrapped in `mutant`, if any) under `seed`.
pub fn run_case(
    subject: Subject,
    case: &'static Case,
    seed: u64,
    mutant: Option<&Mutant>,
) -> CaseRun {
    let plan = match FaultPlan::from_toml(case.plan, case.id) {
        Ok(p) => p,
        Err(e) => {
            return CaseRun {
                case: case.id,
                adapter: subject.slug().to_string(),
                command: None,
                seed,
                mutant: mutant.map(|m| m.id),
                verdict: Verdict::Failed {
                    message: format!("the case's fault plan does not parse: {e}"),
                    excerpt: String::new(),
                },
                trace_hash: String::new(),
                trace: String::new(),
                requests: 0,
                simulated: Duration::ZERO,
            }
        }
    };
    let spec = subject.world(seed, plan);
    let wrap = mutant.map(|m| (m.wrap, m.breaks));
    let flaw = mutant.and_then(|m| m.flaw());
    let run = run_world(&spec, move |env| async move {
        let (built, venue) = subject.build(&env).map_err(|e| vec![e.to_string()])?;
        let inner = match wrap {
            Some((w, breaks)) => {
                match mutants::apply(w, breaks, built, subject.reach(&env), &env) {
                    Ok(broken) => broken,
                    Err(why) => return Ok(Ran::Skipped(why.to_string())),
                }
            }
            None => built,
        };
        let setting = Setting {
            case,
            seed,
            pace: Pace::REAL,
            flaw,
        };
        exercise(setting, inner, venue, env.trace.clone(), env.wire.clone()).await
    });
    let simulated = run.trace.entries().last().map(|e| e.at).unwrap_or_default();
    let verdict = verdict(run.result, &run.trace);
    CaseRun {
        case: case.id,
        adapter: subject.slug().to_string(),
        command: None,
        seed,
        mutant: mutant.map(|m| m.id),
        verdict,
        trace_hash: run.trace.hash(),
        trace: run.trace.render(),
        requests: run.wire.exchanges().len(),
        simulated,
    }
}

/// What running a case left: skipped with a reason, or the failures (none: passed).
pub enum Ran {
    Skipped(String),
    Done(Vec<String>),
}

/// What one case runs under: its seed, the pace of its waits, and the bug
/// (if any) of the order path it builds around the adapter.
#[derive(Clone, Copy)]
pub struct Setting {
    pub case: &'static Case,
    pub seed: u64,
    pub pace: Pace,
    pub flaw: Option<PathFlaw>,
}

/// Runs the setting's case with `inner` on `venue` and checks the
/// invariants after it: the part of a run that is the same in a simulated
/// world and over the bridge.
pub async fn exercise(
    setting: Setting,
    inner: Built,
    venue: Venue,
    trace: Trace,
    wire_log: WireLog,
) -> Result<Ran, Vec<String>> {
    let Setting {
        case,
        seed,
        pace,
        flaw,
    } = setting;
    let describe = inner.describe();
    if let Some(reason) = case.needs.iter().find_map(|n| unmet(*n, &describe, &venue)) {
        return Ok(Ran::Skipped(reason));
    }
    let (outcome, observe) = match (inner, case.run) {
        // An adapter that trades and meets every need of a case written
        // only for read-only sources (cached holdings: Tier B too): the
        // case has nothing to run for it yet, so it fails, as a missing one.
        (Built::Trading(_), Body::ReadOnly(_)) => {
            return Ok(Ran::Done(vec![missing(case).message]));
        }
        (Built::ReadOnly(_), Body::Check(_)) => {
            return Ok(Ran::Skipped(format!(
                "{} is a read-only source: it has no way to place an order",
                describe.name
            )))
        }
        (Built::Trading(a), run) => {
            let a = crate::intents::declaring(a, wire_log.clone());
            let adapter = Arc::new(Traced::new(a, trace.clone()));
            trace.record(Actor::Check, format!("case {} seed {seed}", case.id));
            let ctx = Arc::new(Ctx {
                case: case.id,
                seed,
                adapter: adapter.clone(),
                venue: venue.clone(),
                trace: trace.clone(),
                pace,
                flaw,
            });
            let outcome = match run {
                Body::Check(run) | Body::Either(run, _) => run(ctx).await,
                _ => Err(missing(case)),
            };
            (outcome, Observed::Trading(adapter))
        }
        (Built::ReadOnly(s), run) => {
            let source = Arc::new(TracedSource::new(s, trace.clone()));
            trace.record(Actor::Check, format!("case {} seed {seed}", case.id));
            let ctx = Arc::new(ReadCtx {
                case: case.id,
                seed,
                source: source.clone(),
                venue: venue.clone(),
                trace: trace.clone(),
                pace,
                flaw,
            });
            let outcome = match run {
                Body::ReadOnly(run) | Body::Either(_, run) => run(ctx).await,
                _ => Err(missing(case)),
            };
            (outcome, Observed::ReadOnly(source))
        }
    };
    let mut failures = Vec::new();
    if let Err(f) = outcome {
        failures.push((f.message, f.near));
    }
    // The ground truth is read with the faults cleared, so that the
    // evidence is the broker's state, not another outage.
    if venue.is_model() {
        let _ = venue.set_faults(&FaultPlan::default()).await;
    }
    venue
        .record_history(&trace)
        .await
        .map_err(|e| vec![e.to_string()])?;
    let violations = check_invariants(&observe, &venue, &trace, &wire_log.exchanges())
        .await
        .map_err(|e| vec![e.to_string()])?;
    for v in &violations {
        trace.record(Actor::Check, format!("invariant violated: {v}"));
    }
    let mut messages: Vec<String> = failures
        .into_iter()
        .map(|(m, near)| match near {
            Some(n) => format!("{m} [near {n}]"),
            None => m,
        })
        .collect();
    messages.extend(violations.into_iter().map(|v| format!("invariant: {v}")));
    Ok(Ran::Done(messages))
}

/// A case with nothing to run yet fails whoever claims what it needs.
fn missing(case: &Case) -> Failure {
    let why = match case.run {
        Body::Missing(why) => why,
        Body::ReadOnly(_) => {
            "its check reads a read-only source; none is written for adapters that trade"
        }
        Body::Check(_) | Body::Either(..) => "no body for this kind of adapter",
    };
    Failure::new(format!(
        "case {} is not implemented yet ({why}): an adapter that claims what it needs cannot pass it",
        case.id
    ))
}

/// The adapter under test, as the invariants see it after a case.
pub enum Observed {
    Trading(Arc<Traced>),
    ReadOnly(Arc<TracedSource>),
}

impl Observed {
    fn describe(&self) -> adapters::Description {
        match self {
            Observed::Trading(a) => a.describe(),
            Observed::ReadOnly(s) => s.describe(),
        }
    }

    fn account_id(&self) -> String {
        match self {
            Observed::Trading(a) => a.account_id().to_string(),
            Observed::ReadOnly(s) => s.account_id().to_string(),
        }
    }

    /// The adapter's own positions now (a read-only source's holdings).
    async fn positions(&self) -> Result<Vec<adapters::Position>, adapters::AdapterError> {
        match self {
            Observed::Trading(a) => a.get_positions().await,
            Observed::ReadOnly(s) => s.get_holdings().await.map(|h| h.positions),
        }
    }

    fn intents(&self) -> Vec<String> {
        match self {
            Observed::Trading(a) => a.intents(),
            Observed::ReadOnly(_) => Vec::new(),
        }
    }

    fn leaks(&self) -> Vec<String> {
        match self {
            Observed::Trading(a) => a.leaks(),
            Observed::ReadOnly(s) => s.leaks(),
        }
    }
}

/// Gathers the evidence after a run at one venue (its ledger and fills, the
/// adapter's positions, intents and leaks, the wire, the trace) and checks
/// every invariant against it.
pub async fn check_invariants(
    adapter: &Observed,
    venue: &Venue,
    trace: &Trace,
    wire: &[Exchange],
) -> Result<Vec<String>, VenueError> {
    let ledger = venue.ledger().await?;
    let fills = venue.fills().await?;
    let positions = adapter.positions().await;
    let describe = adapter.describe();
    let account = adapter.account_id();
    Ok(invariants::check(&Evidence {
        account: &account,
        describe: &describe,
        ledger: &ledger,
        fills: &fills,
        positions: &positions,
        intents: &adapter.intents(),
        leaks: &adapter.leaks(),
        wire,
        trace_text: &trace.render(),
        secrets: &trace.secrets(),
    }))
}

/// The verdict of a run from what it left.
pub fn verdict(result: Result<Result<Ran, Vec<String>>, SetupError>, trace: &Trace) -> Verdict {
    match result {
        Err(e) => failed(vec![e.to_string()], trace),
        Ok(Err(errs)) => failed(errs, trace),
        Ok(Ok(Ran::Skipped(reason))) => Verdict::NotApplicable { reason },
        Ok(Ok(Ran::Done(msgs))) if msgs.is_empty() => Verdict::Passed,
        Ok(Ok(Ran::Done(msgs))) => failed(msgs, trace),
    }
}

fn failed(messages: Vec<String>, trace: &crate::trace::Trace) -> Verdict {
    let near = messages.iter().find_map(|m| {
        m.split("[near ")
            .nth(1)
            .map(|s| s.trim_end_matches(']').to_string())
    });
    Verdict::Failed {
        message: messages.join("; "),
        excerpt: trace.excerpt(near.as_deref(), 16),
    }
}
