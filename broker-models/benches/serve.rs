//! Criterion benches of serve mode's order path (`raxx-sim bench serve`
//! prints the same figure as one JSON line; both send
//! `broker_models::order_flow`): Alpaca's POST /v2/orders through a served
//! model's router, no socket. `settled`: a quarter second apart, each order
//! filled before the next. `backlog`: twenty orders to a simulated
//! millisecond, the pace `scripts/side-by-side/run.sh` drives over
//! loopback, so thousands are working at once and every request reads past
//! them.

use std::time::{Duration, Instant};

use broker_models::order_flow::{OrderFlow, Pace};
use criterion::{criterion_group, criterion_main, Criterion};
use tower::ServiceExt;

/// Orders a fresh model takes before another is built (one session holds
/// about 86,000 a quarter second apart).
const PER_MODEL: u64 = 20_000;

/// Times `iters` submissions at `pace`, on fresh models.
#[allow(clippy::disallowed_methods)] // timing a benchmark is what the wall clock is for
fn submit(iters: u64, pace: Pace) -> Duration {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
        panic!("a runtime");
    };
    let mut spent = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let Ok(model) = broker_models::build("alpaca", 7, Default::default(), &Default::default())
        else {
            panic!("the Alpaca model builds");
        };
        model.shared.lock().disable_rate_limits();
        let flow = OrderFlow::alpaca(&model, pace);
        let batch = left.min(PER_MODEL);
        let Ok(requests) = (0..batch)
            .map(|n| flow.request(n))
            .collect::<Result<Vec<_>, _>>()
        else {
            panic!("well-formed requests");
        };
        let t = Instant::now();
        runtime.block_on(async {
            for (n, req) in (0u64..).zip(requests) {
                let answer = model.router.clone().oneshot(req).await;
                criterion::black_box(answer.is_ok());
                flow.after(&model, n);
            }
        });
        spent += t.elapsed();
        left -= batch;
    }
    spent
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("serve_alpaca_post_order");
    g.bench_function("settled", |b| {
        b.iter_custom(|iters| submit(iters, Pace::Settled))
    });
    g.bench_function("backlog", |b| {
        b.iter_custom(|iters| submit(iters, Pace::PerMs(20)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
