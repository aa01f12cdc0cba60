//! Replays the committed fuzz corpus (`fuzz/corpus/<broker>/`: the seeds,
//! and every input that once failed) through the wire faces, so a fixed
//! crash stays fixed. The seeds must also reach past authentication, or the
//! fuzzer would spend its time on 401s.

use broker_models::fuzz::wire_face;

const BROKERS: [&str; 6] = [
    "alpaca",
    "tradier",
    "tastytrade",
    "schwab",
    "snaptrade",
    "plaid",
];

fn corpus(broker: &str) -> Vec<(String, Vec<u8>)> {
    broker_models::fuzz::corpus(broker).unwrap_or_else(|e| panic!("{broker}: {e}"))
}

#[test]
fn every_corpus_input_is_answered_by_its_wire_face() {
    for broker in BROKERS {
        let inputs = corpus(broker);
        assert!(!inputs.is_empty(), "{broker} has no corpus");
        for (name, data) in inputs {
            let statuses = wire_face(broker, &data);
            // A seed's requests are answered past authentication, and
            // most of them succeed.
            let ok = statuses.iter().filter(|s| (200..300).contains(*s)).count();
            eprintln!("{broker}/{name}: {statuses:?}");
            if name.starts_with("seed-") {
                assert!(
                    !statuses.contains(&401) && 2 * ok > statuses.len(),
                    "{broker}/{name}: {statuses:?}"
                );
            }
        }
    }
}

#[test]
fn an_input_advances_the_clock_by_a_day_at_most() {
    use broker_models::fuzz::ADVANCE_BUDGET_MS;
    let advance =
        |ms: i64| format!("POST /_sim/advance\nContent-Type: application/json\n\n{{\"ms\":{ms}}}");
    let input = [
        advance(ADVANCE_BUDGET_MS - 60_000),
        // Past the budget: skipped, never sent.
        advance(120_000),
        advance(60_000),
        // Refused by the model, so it costs nothing.
        "POST /_sim/advance\nContent-Type: application/json\n\n{\"ms\":\"soon\"}".to_string(),
        advance(1),
    ]
    .join("\n%%\n");
    assert_eq!(wire_face("alpaca", input.as_bytes()), [200, 200, 400]);
}
