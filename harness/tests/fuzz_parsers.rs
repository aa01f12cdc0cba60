//! Replays the committed corpus of the parser fuzz targets (`fuzz/corpus/
//! {adapter_response,bridge_lines,bridge_reader,scenario_file}/`: the seeds, and every
//! input that once failed), so a fixed crash stays fixed; and checks that the
//! scenario seeds are files the parsers take, so the fuzzer starts from
//! inputs that reach past the first error.

use broker_models::faults::FaultPlan;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let files = broker_models::fuzz::corpus(target).unwrap_or_else(|e| panic!("{target}: {e}"));
    assert!(!files.is_empty(), "{target} has no corpus");
    files
}

#[test]
fn every_broker_answer_in_the_corpus_is_read_without_a_panic() {
    let inputs = corpus("adapter_response");
    for vendor in adapters::fuzz::VENDORS {
        assert!(
            inputs
                .iter()
                .any(|(n, _)| n.starts_with(&format!("seed-{vendor}-"))),
            "no seed answers from {vendor}"
        );
    }
    for (_, data) in inputs {
        adapters::fuzz::response(&data);
    }
}

#[test]
fn every_bridge_line_in_the_corpus_is_judged_without_a_panic() {
    for (_, data) in corpus("bridge_lines") {
        adapters::fuzz::bridge_lines(&data);
    }
}

#[test]
fn every_stream_in_the_corpus_is_read_back_line_for_line_in_pieces_and_pauses() {
    for (_, data) in corpus("bridge_reader") {
        adapters::fuzz::bridge_reader(&data);
    }
}

#[test]
fn every_scenario_file_in_the_corpus_is_parsed_or_refused_without_a_panic() {
    for (name, data) in corpus("scenario_file") {
        let taken = harness::fuzz::scenario_file(&data);
        if name.starts_with("seed-scenario-") {
            assert!(taken, "{name}: a scenario seed the parser refuses");
        }
        if name.starts_with("seed-fault-") {
            let text = String::from_utf8_lossy(&data);
            let plan = FaultPlan::from_toml(&text, &name);
            assert!(plan.is_ok(), "{name}: {:?}", plan.err());
        }
    }
}
