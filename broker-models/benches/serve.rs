//! Criterion benches of serve mode's order path (`raxx-sim bench serve`
//! prints the same figure as one JSON line): Alpaca's POST /v2/orders
//! through a served model's router, no socket. `settled`: a quarter second
//! apart, each order filled before the next. `backlog`: twenty orders to a
//! simulated millisecond, the pace `scripts/side-by-side/run.sh` drives over
//! loopback, so thousands are working at once and every request reads past
//! them.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use broker_models::model::Model;
use criterion::{criterion_group, criterion_main, Criterion};
use tower::ServiceExt;

/// Orders a fresh model takes before another is built (one session holds
/// about 86,000 a quarter second apart).
const PER_MODEL: u64 = 20_000;

fn model() -> Model {
    let Ok(model) = broker_models::build("alpaca", 7, Default::default(), &Default::default())
    else {
        panic!("the Alpaca model builds");
    };
    model.shared.lock().disable_rate_limits();
    model
}

fn order(model: &Model, n: u64) -> Request<Body> {
    let side = if n.is_multiple_of(2) { "buy" } else { "sell" };
    let credential = |name: &str| model.connection("bench").credential(name);
    let Ok(req) = Request::post("/v2/orders")
        .header("APCA-API-KEY-ID", credential("key_id"))
        .header("APCA-API-SECRET-KEY", credential("secret_key"))
        .header("Content-Type", "application/json")
        .body(Body::from(format!(
            r#"{{"symbol":"AAPL","qty":"1","side":"{side}","type":"market","time_in_force":"day"}}"#
        )))
    else {
        panic!("a well-formed request");
    };
    req
}

/// Times `iters` submissions, `per_ms` to each simulated millisecond
/// (0: each a quarter second after the one before), on fresh models.
#[allow(clippy::disallowed_methods)] // timing a benchmark is what the wall clock is for
fn submit(iters: u64, per_ms: u64) -> Duration {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
        panic!("a runtime");
    };
    let mut spent = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let model = model();
        let batch = left.min(PER_MODEL);
        let requests: Vec<_> = (0..batch).map(|n| order(&model, n)).collect();
        let t = Instant::now();
        runtime.block_on(async {
            for (n, req) in (1u64..).zip(requests) {
                let answer = model.router.clone().oneshot(req).await;
                criterion::black_box(answer.is_ok());
                match per_ms {
                    0 => model.shared.lock().advance(250),
                    k if n.is_multiple_of(k) => model.shared.lock().advance(1),
                    _ => {}
                }
            }
        });
        spent += t.elapsed();
        left -= batch;
    }
    spent
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("serve_alpaca_post_order");
    g.bench_function("settled", |b| b.iter_custom(|iters| submit(iters, 0)));
    g.bench_function("backlog", |b| b.iter_custom(|iters| submit(iters, 20)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
