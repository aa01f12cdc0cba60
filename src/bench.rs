//! `raxx-sim bench mbt`: the fixed, seeded MBT workload in this process,
//! timed, with one JSON line of figures on stdout.
//!
//! The wall clock is read here, in the CLI, and only to time a benchmark:
//! simulated code never sees it (clippy.toml forbids it in library code).

use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Subcommand};
use serde_json::json;

use mbt::workload::{prepare, WorkloadConfig};

#[derive(Subcommand)]
pub enum Target {
    /// The MBT engine: market events and orders per second on one core.
    Mbt(MbtArgs),
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
