//! The snapshot gate itself: a stored snapshot with one byte changed makes
//! the check fail, and the untouched copy passes. Run against copies in a
//! temporary folder, never the real snapshots/.

use std::path::Path;

use harness::scenario;

fn check(dir: &Path, name: &str, timeline: &str) -> bool {
    let dir = dir.to_path_buf();
    let (name, timeline) = (name.to_string(), timeline.to_string());
    std::panic::catch_unwind(move || {
        insta::with_settings!({
            snapshot_path => dir,
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, timeline);
        });
    })
    .is_ok()
}

#[test]
fn one_changed_byte_in_a_snapshot_fails_the_check() {
    // As in CI: never write or accept snapshots here.
    std::env::set_var("INSTA_UPDATE", "no");
    std::env::set_var("INSTA_FORCE_PASS", "0");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let stored = root.join("snapshots/alpaca__wide-spread.snap");
    let original =
        std::fs::read(&stored).expect("the reviewed snapshot of scenarios/alpaca/wide-spread.toml");
    let loaded = scenario::load(&root.join("scenarios/alpaca/wide-spread.toml")).expect("scenario");
    let timeline = scenario::replay(&loaded).timeline();

    let tmp = std::env::temp_dir().join(format!("raxx-sim-gate-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let copy = tmp.join("alpaca__wide-spread.snap");
    std::fs::write(&copy, &original).expect("copy");
    assert!(
        check(&tmp, "alpaca__wide-spread", &timeline),
        "the untouched copy must pass"
    );

    // Change one byte of the body (past the header), keeping it valid UTF-8.
    let mut changed = original.clone();
    // The header is the metadata between the first two `---` lines; the
    // body's first line is the scenario's own header, so skip it too.
    let after_header = original
        .windows(5)
        .skip(1)
        .position(|w| w == b"\n---\n")
        .map(|p| p + 1 + 5)
        .expect("the snapshot's metadata header");
    let body_start = original[after_header..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(after_header, |p| after_header + p + 1);
    let at = changed[body_start..]
        .iter()
        .position(u8::is_ascii_digit)
        .map(|p| p + body_start)
        .expect("a digit in the snapshot body");
    changed[at] = if changed[at] == b'9' {
        b'8'
    } else {
        changed[at] + 1
    };
    std::fs::write(&copy, &changed).expect("write changed copy");
    assert!(
        !check(&tmp, "alpaca__wide-spread", &timeline),
        "a changed byte must fail the check"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
