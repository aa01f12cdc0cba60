//! Criterion bench of a graduation replay (`raxx-sim bench graduate` prints
//! the same figure as one JSON line): benches/graduation-year.toml, a year
//! of one strategy's rules on five symbols at Alpaca, paper then live.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use harness::graduation;

fn bench(c: &mut Criterion) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/graduation-year.toml");
    let loaded = match graduation::load(&file) {
        Ok(l) => l,
        Err(e) => panic!("{}: {e}", file.display()),
    };
    let mut g = c.benchmark_group("graduation");
    g.sample_size(10);
    g.bench_function("year_five_symbols_alpaca", |b| {
        b.iter(|| {
            let journey = graduation::replay(&loaded);
            assert!(journey.problem.is_none(), "{:?}", journey.problem);
            journey.bars.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
