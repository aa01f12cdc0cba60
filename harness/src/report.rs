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

/// One line per case: how many seeds passed, a skip once with its
/// reason, and every failure with its excerpt and the command that
/// reproduces it; with `traces`, every run's whole trace before its case.
pub fn text(runs: &[CaseRun], traces: bool) -> String {
    let mut out = String::new();
    for group in
        runs.chunk_by(|a, b| (&a.adapter, a.case, a.mutant) == (&b.adapter, b.case, b.mutant))
    {
        if traces {
            for r in group.iter().filter(|r| !r.trace.is_empty()) {
                let _ = writeln!(
                    out,
                    "trace of {} {} seed {}:\n{}",
                    r.adapter,
                    r.case,
                    r.seed,
                    indent(&r.trace)
                );
            }
        }
        case_lines(&mut out, group);
    }
    let (p, f, s) = summary(runs);
    let _ = writeln!(out, "{p} passed, {f} failed, {s} skipped");
    out
}

/// The lines of one case's runs (same adapter, case and mutant).
fn case_lines(out: &mut String, group: &[CaseRun]) {
    let Some(first) = group.first() else { return };
    let name = format!("{} {}", first.adapter, first.case);
    let mutant = first
        .mutant
        .map(|m| format!(" [mutant {m}]"))
        .unwrap_or_default();
    let (passed, failed, _) = summary(group);
    let ran = passed + failed;
    let mut reasons: Vec<&str> = group
        .iter()
        .filter_map(|r| match &r.verdict {
            Verdict::NotApplicable { reason } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    reasons.dedup();
    for reason in &reasons {
        let _ = writeln!(out, "skipped {name}: {reason}");
    }
    if ran == 0 {
        return;
    }
    let seeds = |n: usize| if n == 1 { "seed" } else { "seeds" };
    if failed == 0 {
        let _ = writeln!(out, "ok      {name} {passed}/{ran} {}{mutant}", seeds(ran));
        return;
    }
    let _ = writeln!(
        out,
        "FAILED  {name} {failed}/{ran} {} failed{mutant}",
        seeds(ran)
    );
    for r in group {
        if let Verdict::Failed { message, excerpt } = &r.verdict {
            let _ = writeln!(
                out,
                "  seed {}\n  why: {message}\n  trace:\n{}\n  reproduce: {}",
                r.seed,
                indent(excerpt),
                r.repro()
            );
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn run(case: &'static str, seed: u64, verdict: Verdict) -> CaseRun {
        CaseRun {
            case,
            adapter: "alpaca".into(),
            command: None,
            seed,
            mutant: None,
            verdict,
            trace_hash: String::new(),
            trace: String::new(),
            requests: 0,
            simulated: Duration::ZERO,
        }
    }

    #[test]
    fn an_external_adapters_repro_names_its_command_as_one_shell_word() {
        let mut r = run("fills", 3, Verdict::Passed);
        r.adapter = "external:tradier".into();
        r.command = Some("python3 it's/adapter.py --fast".into());
        assert_eq!(
            r.repro(),
            "cargo run --release -- conform --adapter-cmd 'python3 it'\\''s/adapter.py --fast' \
             --broker tradier --case fills --seed 3"
        );
    }

    #[test]
    fn the_text_report_is_one_line_per_case_and_keeps_every_failure() {
        let skip = || Verdict::NotApplicable {
            reason: "needs streaming".into(),
        };
        let mut runs: Vec<_> = (1..=8).map(|s| run("fills", s, Verdict::Passed)).collect();
        runs.extend((1..=8).map(|s| run("stream", s, skip())));
        runs.extend((1..=3).map(|s| match s {
            2 => run(
                "cancel",
                s,
                Verdict::Failed {
                    message: "it broke".into(),
                    excerpt: "+ 0.001s line".into(),
                },
            ),
            _ => run("cancel", s, Verdict::Passed),
        }));
        let text = text(&runs, false);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines[0], "ok      alpaca fills 8/8 seeds");
        assert_eq!(lines[1], "skipped alpaca stream: needs streaming");
        assert_eq!(lines[2], "FAILED  alpaca cancel 1/3 seeds failed");
        assert_eq!(lines[3], "  seed 2");
        assert_eq!(lines[4], "  why: it broke");
        assert!(
            text.contains(
                "reproduce: cargo run --release -- conform --adapter alpaca --case cancel --seed 2"
            ),
            "{text}"
        );
        assert!(text.ends_with("10 passed, 1 failed, 8 skipped\n"), "{text}");
    }
}
