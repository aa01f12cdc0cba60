//! `raxx-sim brokers`: the broker registry as a table — every modelled
//! broker with its tier, what it can do, and what the project models of it
//! — and the paper engine beside them.

use std::fmt::Write as _;
use std::process::ExitCode;

use harness::brokers::BROKERS;
use mbt::Capabilities;

pub fn run() -> anyhow::Result<ExitCode> {
    print!("{}", table()?);
    Ok(ExitCode::SUCCESS)
}

fn table() -> anyhow::Result<String> {
    let mut rows = vec![[
        "slug".to_string(),
        "name".to_string(),
        "tier".to_string(),
        "capabilities".to_string(),
        "modelled".to_string(),
    ]];
    for b in BROKERS {
        let p = b.vendor.profile()?;
        // Behind an aggregator: the brokerage, and what the row does there.
        let via = b
            .via
            .and_then(|slug| p.downstream.iter().find(|d| d.slug == slug));
        let (name, capabilities) = match via {
            Some(d) if d.trading => (
                format!("{} via {}", d.name, p.name),
                summary(&p.capabilities),
            ),
            Some(d) => (
                format!("{} via {}", d.name, p.name),
                "read-only".to_string(),
            ),
            None => (p.name.clone(), summary(&p.capabilities)),
        };
        rows.push([
            b.slug().to_string(),
            name,
            format!("{:?}", p.tier),
            capabilities,
            format!(
                "wire face, adapter, base URL {}",
                b.vendor.base_url("<host>")
            ),
        ]);
    }
    rows.push([
        harness::subject::PAPER.to_string(),
        "MBT".to_string(),
        "-".to_string(),
        "equities, options, multi-leg, replace".to_string(),
        "paper engine in process (every tier's paper)".to_string(),
    ]);
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let widths = [width(0), width(1), width(2), width(3)];
    let mut out = String::new();
    for r in &rows {
        writeln!(
            out,
            "{:<w0$} {:<w1$} {:<w2$} {:<w3$} {}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
        )?;
    }
    Ok(out)
}

/// The capabilities as a few words.
fn summary(c: &Capabilities) -> String {
    let flags = [
        ("equities", c.equities),
        ("options", c.options),
        ("multi-leg", c.multi_leg),
        ("replace", c.replace),
        ("stream", c.streaming),
        ("short", c.short_selling),
        ("fractional", c.fractional),
        ("oauth", c.token_refresh),
        ("brackets", c.brackets),
        ("read-only", c.read_only),
    ];
    flags
        .iter()
        .filter(|(_, on)| *on)
        .map(|(w, _)| *w)
        .collect::<Vec<_>>()
        .join(", ")
}
