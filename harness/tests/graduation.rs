//! Every graduation scenario in scenarios/graduation/ replays to the end,
//! the same file giving the same bytes, and matches its reviewed snapshot
//! in snapshots/graduation/ (in CI, CI=true, a changed or missing snapshot
//! fails the run). Each scenario also says what it is there to show.

use std::path::{Path, PathBuf};

use harness::graduation;

fn files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/graduation");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/graduation/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn journey(name: &str) -> graduation::Journey {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scenarios/graduation/{name}.toml"));
    graduation::replay(&graduation::load(&file).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn every_graduation_replays_alike_and_matches_its_snapshot() {
    let files = files();
    assert!(files.len() >= 4, "{files:?}");
    let mut names = Vec::new();
    for file in &files {
        let loaded = graduation::load(file).unwrap_or_else(|e| panic!("{e}"));
        let run = graduation::replay(&loaded);
        assert_eq!(run.problem, None, "{}", run.timeline());
        let timeline = run.timeline();
        assert_eq!(
            graduation::replay(&loaded).timeline(),
            timeline,
            "{} replayed twice differs",
            loaded.name
        );
        insta::with_settings!({
            snapshot_path => "../../snapshots/graduation",
            prepend_module_to_snapshot => false,
            description => loaded.graduation.description.clone(),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(loaded.name.clone(), timeline);
        });
        names.push(format!("{}.snap", loaded.name));
    }
    let stored =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots/graduation"))
            .expect("snapshots/graduation/");
    let orphans: Vec<String> = stored
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".snap") && !names.contains(n))
        .collect();
    assert!(
        orphans.is_empty(),
        "snapshots no graduation writes: {orphans:?}"
    );
}

#[test]
fn a_clean_graduation_opens_the_gate_then_trades_live() {
    let j = journey("clean-alpaca");
    let g = j.graduated.as_ref().expect("graduated");
    assert!(g.reason.contains("3 of 3"), "{}", g.reason);
    assert!(j.live.filled() > 0, "{}", j.timeline());
    // Nothing live before the gate opened.
    let opened = j
        .lines
        .iter()
        .position(|l| l.kind == "gate" && l.text.starts_with("opens"))
        .unwrap();
    assert!(j.lines[..opened].iter().all(|l| l.kind != "live"));
}

#[test]
fn a_user_without_paper_cycles_never_reaches_the_broker() {
    let j = journey("never-graduates");
    assert_eq!(j.graduated, None);
    assert!(
        j.decision().contains("not graduated: 0 of 2"),
        "{}",
        j.decision()
    );
    assert!(j.lines.iter().all(|l| l.kind != "live"));
}

#[test]
fn an_outage_on_the_first_live_day_is_sent_again_until_the_broker_is_back() {
    let j = journey("outage-on-first-live-day");
    let t = j.timeline();
    assert!(
        t.contains("refused, timeout (503)") || t.contains("refused, unavailable (503)"),
        "{t}"
    );
    assert!(t.contains("sends again dip-1-entry"), "{t}");
    assert!(t.contains("dip-1-entry: filled"), "{t}");
}

#[test]
fn a_tier_c_connection_is_refused_in_the_store_every_time() {
    let j = journey("tier-c-never-trades");
    assert!(j.live.refused() > 0);
    assert_eq!(j.live.filled(), 0);
    assert!(j
        .lines
        .iter()
        .filter(|l| l.kind == "live" && l.text.contains("refused"))
        .all(|l| l.text.contains("read_only (403)")));
}
