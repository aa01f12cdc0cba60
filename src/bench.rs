//! `raxx-sim bench mbt`: the fixed, seeded MBT workload in this process,
//! timed, with one JSON line of figures on stdout. `raxx-sim bench advance`:
//! what jumping a broker model's clock forward costs (`POST /_sim/advance`),
//! in wall time and peak memory. `raxx-sim bench graduate`: a year's
//! graduation replay (benches/graduation-year.toml), in wall time and peak
//! memory. `raxx-sim bench serve`: order submissions through a served
//! model's router, in CPU per order and resident memory as orders pile up.
//! `raxx-sim bench world`: the conformance suite's worlds for one adapter,
//! one at a time, in simulated time per wall-clock time and CPU per request.
//!
//! The wall clock is read here, in the CLI, and only to time a benchmark:
//! simulated code never sees it (clippy.toml forbids it in library code).

use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Subcommand};
use serde_json::json;
use sha2::{Digest, Sha256};

use mbt::workload::{prepare, WorkloadConfig};

#[derive(Subcommand)]
pub enum Target {
    /// The MBT engine: market events and orders per second on one core.
    Mbt(MbtArgs),
    /// A broker model's clock jumped forward: wall time and peak RSS.
    Advance(AdvanceArgs),
    /// A graduation replayed: wall time and peak RSS.
    Graduate(GraduateArgs),
    /// Order submissions to a served model's router (Alpaca's POST
    /// /v2/orders, no socket): CPU per order and resident memory as orders pile up.
    Serve(ServeArgs),
    /// The conformance suite's worlds, one at a time on one core: how much
    /// faster than real time they run, and the CPU each request costs.
    World(WorldArgs),
}

#[derive(Args)]
pub struct WorldArgs {
    /// The adapter whose worlds are run (a family runs each of its rows).
    #[arg(long, default_value = "alpaca")]
    adapter: String,
    /// Every case of the catalogue under seeds 1..=N.
    #[arg(long, default_value_t = 20)]
    seeds: u64,
}

#[derive(Args)]
pub struct ServeArgs {
    /// Market orders submitted, buys and sells alternating, a quarter of a
    /// second apart in simulated time (86,000 fit in one session).
    #[arg(long, default_value_t = 80_000)]
    orders: u64,
    /// Orders to each simulated millisecond instead (20 is the pace wrk
    /// drives over loopback): thousands work at once and each request reads
    /// past them; a sell the working buys left no shares for is refused
    /// (counted, as Alpaca answers it). The served clock also runs on
    /// between requests, as it does in front of a client, so at this pace
    /// the counts move a little from run to run.
    #[arg(long)]
    orders_per_ms: Option<u64>,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Ended orders the model keeps, as `serve --keep-orders` (default: all,
    /// which shows what every order kept costs).
    #[arg(long, value_name = "N|all", default_value = "all", value_parser = crate::serve::keep_orders)]
    keep_orders: crate::serve::KeepOrders,
}

#[derive(Args)]
pub struct GraduateArgs {
    /// The graduation file replayed.
    #[arg(long, default_value = "benches/graduation-year.toml")]
    file: std::path::PathBuf,
}

#[derive(Args)]
pub struct AdvanceArgs {
    /// Simulated days to jump, in one advance or several (`--days 30 --step-days 8`).
    #[arg(long, default_value_t = 7)]
    days: u32,
    /// The longest single jump (the control surface takes at most 8 days).
    #[arg(long, default_value_t = 8)]
    step_days: u32,
    #[arg(long, default_value = "alpaca")]
    broker: String,
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

#[derive(Args)]
pub struct MbtArgs {
    /// Quote events streamed through the engine.
    #[arg(long, default_value_t = 2_000_000)]
    events: usize,
    /// Orders in the order-only phase.
    #[arg(long, default_value_t = 200_000)]
    orders: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

pub fn run(target: Target) -> anyhow::Result<ExitCode> {
    match target {
        Target::Mbt(args) => mbt(args),
        Target::Advance(args) => advance(args),
        Target::Graduate(args) => graduate(args),
        Target::Serve(args) => serve(args),
        Target::World(args) => world(args),
    }
}

#[allow(clippy::disallowed_methods)] // timing a benchmark is what the wall clock is for
fn mbt(args: MbtArgs) -> anyhow::Result<ExitCode> {
    let cfg = WorkloadConfig {
        seed: args.seed,
        market_events: args.events,
        orders: args.orders,
        ..WorkloadConfig::default()
    };
    let mut w = prepare(&cfg);
    let t = Instant::now();
    let market = w.run_market();
    let market_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let orders = w.run_orders();
    let order_secs = t.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({
            "bench": "mbt",
            "seed": cfg.seed,
            "symbols": cfg.symbols,
            "market_events": market.market_events,
            "market_events_per_sec": per_sec(market.market_events, market_secs),
            "orders_interleaved": market.orders,
            "fills_during_stream": market.fills,
            "orders": orders.orders,
            "orders_per_sec": per_sec(orders.orders, order_secs),
            "fills_during_orders": orders.fills,
            // The streamed phase keeps about 1,000 orders working; the burst
            // leaves most of its limit orders resting, so its peak is reported apart.
            "peak_working_orders": market.peak_working_orders,
            "peak_working_orders_after_burst": orders.peak_working_orders,
            "log_entries": w.engine.log().len(),
            "log_sha256": w.engine.log().hash(),
        })
    );
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::disallowed_methods)] // timing a benchmark is what the wall clock is for
fn advance(args: AdvanceArgs) -> anyhow::Result<ExitCode> {
    let model = broker_models::build(
        &args.broker,
        args.seed,
        Default::default(),
        &Default::default(),
    )?;
    let before = peak_rss_kib();
    let day_ms = 24 * 3_600_000_i64;
    let mut left = i64::from(args.days) * day_ms;
    let step = i64::from(args.step_days.max(1)) * day_ms;
    let t = Instant::now();
    while left > 0 {
        let jump = left.min(step);
        model.shared.lock().advance(jump);
        left -= jump;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({
            "bench": "advance",
            "broker": args.broker,
            "days": args.days,
            "step_days": args.step_days,
            "wall_secs": (secs * 1000.0).round() / 1000.0,
            "peak_rss_mib_before": before.map(|k| k / 1024),
            "peak_rss_mib": peak_rss_kib().map(|k| k / 1024),
            "now": model.shared.lock().now().to_string(),
        })
    );
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::disallowed_methods)] // timing a benchmark is what the wall clock is for
fn graduate(args: GraduateArgs) -> anyhow::Result<ExitCode> {
    let loaded = harness::graduation::load(&args.file).map_err(anyhow::Error::msg)?;
    let before = peak_rss_kib();
    let t = Instant::now();
    let journey = harness::graduation::replay(&loaded);
    let secs = t.elapsed().as_secs_f64();
    if let Some(p) = &journey.problem {
        anyhow::bail!("the replay did not finish: {p}");
    }
    let g = &loaded.graduation;
    println!(
        "{}",
        json!({
            "bench": "graduate",
            "file": args.file.display().to_string(),
            "broker": g.broker,
            "symbols": loaded.bars.first().map_or(0, |b| b.prices.len()),
            "strategies": g.strategies.len(),
            "bars": journey.bars.len(),
            "paper_orders_filled": journey.paper.filled(),
            "live_orders_filled": journey.live.filled(),
            "wall_secs": (secs * 1000.0).round() / 1000.0,
            "peak_rss_mib_before": before.map(|k| k / 1024),
            "peak_rss_mib": peak_rss_kib().map(|k| k / 1024),
            "timeline_sha256": format!("{:x}", Sha256::digest(journey.timeline())),
        })
    );
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::disallowed_methods)] // timing a benchmark is what the wall clock is for
fn world(args: WorldArgs) -> anyhow::Result<ExitCode> {
    let subjects = harness::subject::Subject::family(&args.adapter)?;
    let catalogue = harness::cases::catalogue();
    let (mut runs, mut skipped, mut failed, mut requests) = (0u64, 0u64, 0u64, 0u64);
    let mut simulated = std::time::Duration::ZERO;
    let mut hasher = Sha256::new();
    let t = Instant::now();
    let cpu_before = thread_cpu_secs();
    for subject in subjects {
        for case in &catalogue {
            for seed in 1..=args.seeds {
                let run = harness::suite::run_case(subject, case, seed, None);
                runs += 1;
                match run.verdict {
                    harness::suite::Verdict::NotApplicable { .. } => skipped += 1,
                    harness::suite::Verdict::Failed { .. } => failed += 1,
                    harness::suite::Verdict::Passed => {}
                }
                requests += run.requests as u64;
                simulated += run.simulated;
                hasher.update(run.trace_hash.as_bytes());
            }
        }
    }
    let secs = t.elapsed().as_secs_f64();
    // The worlds ran on this thread: its CPU time is theirs.
    let cpu = thread_cpu_secs()
        .zip(cpu_before)
        .map_or(secs, |(after, before)| after - before);
    let sim_secs = simulated.as_secs_f64();
    println!(
        "{}",
        json!({
            "bench": "world",
            "adapter": args.adapter,
            "seeds": args.seeds,
            "runs": runs,
            "skipped": skipped,
            "failed": failed,
            "requests": requests,
            "simulated_secs": (sim_secs * 1000.0).round() / 1000.0,
            "wall_secs": (secs * 1000.0).round() / 1000.0,
            "cpu_secs": (cpu * 1000.0).round() / 1000.0,
            // Simulated time over CPU time: what one core does, whatever
            // else the machine runs.
            "times_real_time": (sim_secs / cpu).round(),
            "cpu_ms_per_run": (cpu * 1e3 / runs.max(1) as f64 * 1000.0).round() / 1000.0,
            // None for an adapter that talks to no wire (mbt).
            "cpu_us_per_request": (requests > 0).then(|| (cpu * 1e6 / requests as f64).round()),
            // Every run's trace hash in order: the same seeds give the same value.
            "traces_sha256": format!("{:x}", hasher.finalize()),
        })
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[allow(clippy::disallowed_methods)] // timing a benchmark is what the wall clock is for
fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    use broker_models::order_flow::{OrderFlow, Pace, MAX_SETTLED_ORDERS, SETTLED_STEP_MS};
    use tower::ServiceExt;

    let pace = args.orders_per_ms.map_or(Pace::Settled, Pace::PerMs);
    anyhow::ensure!(
        args.orders <= MAX_SETTLED_ORDERS,
        "bench serve submits at most {MAX_SETTLED_ORDERS} orders (one session, {SETTLED_STEP_MS} ms apart)"
    );
    let model = broker_models::build("alpaca", args.seed, Default::default(), &Default::default())?;
    model.shared.lock().disable_rate_limits();
    if let Some(keep) = args.keep_orders.0 {
        model.shared.lock().set_retention(keep);
    }
    let flow = OrderFlow::alpaca(&model, pace);
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let rss_before = rss_kib("VmRSS");
    // Resident memory at each quarter of the run: how it grows with the orders kept.
    let mut rss_quarters = Vec::new();
    let mut refused = 0u64;
    let t = Instant::now();
    runtime.block_on(async {
        for n in 0..args.orders {
            let answer = model.router.clone().oneshot(flow.request(n)?).await?;
            // A moment passes between orders, as it does in front of a client.
            flow.after(&model, n);
            let status = answer.status();
            if !status.is_success() && pace != Pace::Settled {
                refused += 1;
            } else if !status.is_success() {
                let body = http_body_util::BodyExt::collect(answer.into_body()).await?;
                anyhow::bail!(
                    "order {n} answered {status}: {}",
                    String::from_utf8_lossy(&body.to_bytes())
                );
            }
            if (n + 1) % (args.orders / 4).max(1) == 0 {
                rss_quarters.push(rss_kib("VmRSS").map(|k| k / 1024));
            }
        }
        Ok::<_, anyhow::Error>(())
    })?;
    let secs = t.elapsed().as_secs_f64();
    let peak = peak_rss_kib();
    let orders_kept = model.shared.lock().orders_kept();
    println!(
        "{}",
        json!({
            "bench": "serve",
            "broker": "alpaca",
            "orders": args.orders,
            "orders_per_ms": args.orders_per_ms,
            "refused": refused,
            "keep_orders": args.keep_orders.0,
            "wall_secs": (secs * 1000.0).round() / 1000.0,
            "orders_per_sec": per_sec(args.orders as usize, secs),
            "us_per_order": (secs * 1e6 / args.orders.max(1) as f64 * 10.0).round() / 10.0,
            "rss_mib_before": rss_before.map(|k| k / 1024),
            "rss_mib_at_quarters": rss_quarters,
            "peak_rss_mib": peak.map(|k| k / 1024),
            "orders_kept": orders_kept,
        })
    );
    Ok(ExitCode::SUCCESS)
}

/// `n` in `secs`, per second, rounded to a whole number.
fn per_sec(n: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        (n as f64 / secs).round()
    } else {
        0.0
    }
}

/// The process's peak resident set (Linux's VmHWM), in KiB.
/// CPU time this thread has run, in seconds (/proc/thread-self/schedstat's
/// first field, in nanoseconds): unlike wall time, it does not count what
/// other processes on the machine took.
fn thread_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

fn peak_rss_kib() -> Option<u64> {
    rss_kib("VmHWM")
}

/// A resident-set figure of this process from /proc/self/status, in KiB.
fn rss_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
