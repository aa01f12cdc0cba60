//! Criterion benches of one conformance world (`raxx-sim bench world` runs
//! the whole suite): a case that places an order and waits for its fill,
//! against the Alpaca model over the simulated network and in-process
//! against MBT. Most of a world's cost is its simulated time, stepped a
//! tick at a time (turmoil runs every host each step; `WorldSpec::tick`).

use criterion::{criterion_group, criterion_main, Criterion};
use harness::cases;
use harness::subject::Subject;
use harness::suite::{run_case, Verdict};

fn bench(c: &mut Criterion) {
    let Some(case) = cases::find("market_buy_from_flat_fills") else {
        panic!("the case is in the catalogue");
    };
    let mut g = c.benchmark_group("world");
    g.sample_size(20);
    for slug in ["alpaca", "mbt"] {
        let Ok(subject) = Subject::parse(slug) else {
            panic!("{slug} is a subject");
        };
        g.bench_function(format!("market_buy_from_flat_fills/{slug}"), |b| {
            b.iter(|| {
                let run = run_case(subject, case, 1, None);
                assert!(matches!(run.verdict, Verdict::Passed), "{slug}");
                run.requests
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
