//! `raxx-sim audit verify` end to end: a chain the gateway wrote verifies
//! (with and without its kept head); one entry changed, or the last one
//! removed, exits 1 naming the line.

use std::path::{Path, PathBuf};
use std::process::Command;

use gateway::audit::{AuditEvent, AuditSink, FileAudit};
use serde_json::json;

fn verify(file: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_raxx-sim"))
        .args(["audit", "verify"])
        .arg(file)
        .args(args)
        .output()
        .expect("running raxx-sim");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes a four-entry chain to a fresh file; returns its path and head.
fn write_chain(name: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("audit-cli-{name}.jsonl"));
    // A file left by an earlier run would be continued, not replaced.
    let _ = std::fs::remove_file(&path);
    let mut audit = FileAudit::open(&path).expect("creating the log");
    let events = [
        AuditEvent::OrderAttempt {
            connection: "conn-1".into(),
            broker: "alpaca".into(),
            client_order_id: "c-1".into(),
            order: json!({"symbol": "MSFT", "side": "buy", "qty": "3", "type": "market"}),
        },
        AuditEvent::OrderAnswer {
            connection: "conn-1".into(),
            client_order_id: "c-1".into(),
            outcome: json!({"accepted": {"broker_order_id": "A-7"}}),
        },
        AuditEvent::StateChange {
            connection: "conn-1".into(),
            broker_order_id: "A-7".into(),
            status: "filled".into(),
            detail: json!({"filled_qty": "3", "avg_price": "411.20"}),
        },
        AuditEvent::CancelAttempt {
            connection: "conn-1".into(),
            broker_order_id: "A-7".into(),
        },
    ];
    for (i, event) in events.into_iter().enumerate() {
        let at = format!("2025-03-04T15:0{i}:00Z").parse().expect("a time");
        audit.append(at, event).expect("appending");
    }
    (path, audit.head().to_string())
}

#[test]
fn a_valid_chain_prints_its_count_and_head() {
    let (path, head) = write_chain("valid");
    let (code, out, err) = verify(&path, &[]);
    assert_eq!(code, Some(0), "{err}{out}");
    assert_eq!(out, format!("ok: 4 entries, head {head}\n"));
    let (code, out, err) = verify(&path, &["--head", &head]);
    assert_eq!(code, Some(0), "{err}{out}");
    assert_eq!(out, format!("ok: 4 entries, head {head}\n"));
}

#[test]
fn a_changed_entry_exits_1_naming_its_line() {
    let (path, _) = write_chain("changed");
    let text = std::fs::read_to_string(&path).expect("reading the log");
    std::fs::write(&path, text.replacen("411.20", "411.02", 1)).expect("tampering");
    let (code, out, err) = verify(&path, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.is_empty(), "{out}");
    assert_eq!(
        err,
        "audit chain broken at line 3 (entry 3): changed — its hash does not match its contents\n"
    );
}

#[test]
fn a_removed_last_entry_is_found_with_the_kept_head() {
    let (path, head) = write_chain("truncated");
    let text = std::fs::read_to_string(&path).expect("reading the log");
    let kept: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, kept).expect("truncating");
    let (code, out, err) = verify(&path, &[]);
    assert_eq!(code, Some(0), "a chain alone cannot show it: {err}");
    assert!(out.starts_with("ok: 3 entries, head "), "{out}");
    let (code, _, err) = verify(&path, &["--head", &head]);
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with("audit chain broken at line 4: the chain ends at entry 3"),
        "{err}"
    );
    assert!(err.contains("(truncated)"), "{err}");
}

#[test]
fn a_head_that_is_not_a_hash_or_a_missing_file_exits_2() {
    let (path, _) = write_chain("bad-args");
    let (code, _, err) = verify(&path, &["--head", "abc"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("64 hex digits"), "{err}");
    let (code, _, err) = verify(&path.with_extension("absent"), &[]);
    assert_eq!(code, Some(2), "{err}");
}
