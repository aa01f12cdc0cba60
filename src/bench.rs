//! `raxx-sim bench mbt`: the fixed, seeded MBT workload in this process,
//! timed, with one JSON line of figures on stdout. `raxx-sim bench advance`:
//! what jumping a broker model's clock forward costs (`POST /_sim/advance`),
//! in wall time and peak memory. `raxx-sim bench graduate`: a year's
//! graduation replay (benches/graduation-year.toml), in wall time and peak
//! memory.
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
    let per_sec = |n: usize, secs: f64| {
        if secs > 0.0 {
            (n as f64 / secs).round()
        } else {
            0.0
        }
    };
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

/// The process's peak resident set (Linux's VmHWM), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
