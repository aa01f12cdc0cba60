//! Reports of a suite run: text for people, JSON for tools, JUnit XML for CI.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use crate::suite::{CaseRun, Verdict};

/// The closing line every text report ends with.
pub fn summary(runs: &[CaseRun]) -> (usize, usize, usize) {
    let count = |w: &str| runs.iter().filter(|r| r.verdict.word() == w).count();
    (count("passed"), count("failed"), count("skipped"))
}

/// One line per run (a failure with its excerpt and the command that
/// reproduces it); with `traces`, every run's whole trace after its line.
pub fn text(runs: &[CaseRun], traces: bool) -> String {
    let mut out = String::new();
    for r in runs {
        if traces && !r.trace.is_empty() {
            let _ = writeln!(
                out,
                "trace of {} {} seed {}:\n{}",
                r.adapter,
                r.case,
                r.seed,
                indent(&r.trace)
            );
        }
        let mutant = r
            .mutant
            .map(|m| format!(" [mutant {m}]"))
            .unwrap_or_default();
        match &r.verdict {
            Verdict::Passed => {
                let _ = writeln!(
                    out,
                    "ok      {} {} seed {}{mutant}",
                    r.adapter, r.case, r.seed
                );
            }
            Verdict::NotApplicable { reason } => {
                let _ = writeln!(
                    out,
                    "skipped {} {} seed {}: {reason}",
                    r.adapter, r.case, r.seed
                );
            }
            Verdict::Failed { message, excerpt } => {
                let _ = writeln!(
                    out,
                    "FAILED  {} {} seed {}{mutant}\n  why: {message}\n  trace:\n{}\n  reproduce: {}",
                    r.adapter,
                    r.case,
                    r.seed,
                    indent(excerpt),
                    r.repro()
                );
            }
        }
    }
    let (p, f, s) = summary(runs);
    let _ = writeln!(out, "{p} passed, {f} failed, {s} skipped");
    out
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Per case: how many seeds passed, failed and were skipped, and which
/// seeds failed, so a rare failure stands out in a long sweep.
fn by_case(runs: &[CaseRun]) -> serde_json::Map<String, serde_json::Value> {
    let mut cases: BTreeMap<&str, (usize, usize, usize, Vec<u64>)> = BTreeMap::new();
    for r in runs {
        let c = cases.entry(r.case).or_default();
        match r.verdict {
            Verdict::Passed => c.0 += 1,
            Verdict::Failed { .. } => {
                c.1 += 1;
                c.3.push(r.seed);
            }
            Verdict::NotApplicable { .. } => c.2 += 1,
        }
    }
    cases
        .into_iter()
        .map(|(case, (p, f, s, seeds))| {
            let v = json!({ "passed": p, "failed": f, "skipped": s, "failed_seeds": seeds });
            (case.to_string(), v)
        })
        .collect()
}

pub fn json(runs: &[CaseRun]) -> String {
    let (p, f, s) = summary(runs);
    let items: Vec<_> = runs
        .iter()
        .map(|r| {
            let mut v = json!({
                "adapter": r.adapter.as_str(),
                "case": r.case,
                "seed": r.seed,
                "verdict": r.verdict.word(),
                "trace_sha256": r.trace_hash,
                "requests": r.requests,
                "simulated_ms": r.simulated.as_millis() as u64,
            });
            if let Some(m) = r.mutant {
                v["mutant"] = json!(m);
            }
            match &r.verdict {
                Verdict::Failed { message, excerpt } => {
                    v["message"] = json!(message);
                    v["trace_excerpt"] = json!(excerpt);
                    v["reproduce"] = json!(r.repro());
                }
                Verdict::NotApplicable { reason } => v["reason"] = json!(reason),
                Verdict::Passed => {}
            }
            v
        })
        .collect();
    json!({ "passed": p, "failed": f, "skipped": s, "cases": by_case(runs), "runs": items })
        .to_string()
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn junit(runs: &[CaseRun]) -> String {
    let (_, f, s) = summary(runs);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuite name=\"raxx-sim conform\" tests=\"{}\" failures=\"{f}\" skipped=\"{s}\">",
        runs.len()
    );
    for r in runs {
        let _ = write!(
            out,
            "  <testcase classname=\"{}\" name=\"{} seed {}\"",
            r.adapter, r.case, r.seed
        );
        match &r.verdict {
            Verdict::Passed => out.push_str("/>\n"),
            Verdict::NotApplicable { reason } => {
                let _ = writeln!(out, "><skipped message=\"{}\"/></testcase>", xml(reason));
            }
            Verdict::Failed { message, excerpt } => {
                let _ = writeln!(
                    out,
                    "><failure message=\"{}\">{}\n{}</failure></testcase>",
                    xml(message),
                    xml(excerpt),
                    xml(&r.repro())
                );
            }
        }
    }
    out.push_str("</testsuite>\n");
    out
}
