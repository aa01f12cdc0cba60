//! Criterion benches of the MBT workload's two phases, on a smaller slice
//! than `raxx-sim bench mbt` so that a run takes seconds.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use mbt::workload::{prepare, WorkloadConfig};

fn bench(c: &mut Criterion) {
    let cfg = WorkloadConfig {
        market_events: 100_000,
        orders: 10_000,
        ..WorkloadConfig::default()
    };
    let mut g = c.benchmark_group("mbt");
    g.sample_size(10);
    g.throughput(Throughput::Elements(cfg.market_events as u64));
    g.bench_function("market_events", |b| {
        b.iter_batched(
            || prepare(&cfg),
            |mut w| w.run_market(),
            BatchSize::LargeInput,
        )
    });
    g.throughput(Throughput::Elements(cfg.orders as u64));
    g.bench_function("orders", |b| {
        b.iter_batched(
            || prepare(&cfg),
            |mut w| w.run_orders(),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
