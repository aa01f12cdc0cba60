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
    let mut out = String::new();
    writeln!(
        out,
        "{:<10} {:<12} {:<5} {:<38} modelled",
        "slug", "name", "tier", "capabilities"
    )?;
    for b in BROKERS {
        let p = b.vendor.profile()?;
        writeln!(
            out,
            "{:<10} {:<12} {:<5} {:<38} wire face, adapter, base URL {}",
            b.slug(),
            p.name,
            format!("{:?}", p.tier),
            summary(&p.capabilities),
            b.vendor.base_url("<host>"),
        )?;
    }
    writeln!(
        out,
        "{:<10} {:<12} {:<5} {:<38} paper engine in process (every tier's paper)",
        harness::subject::PAPER,
        "MBT",
        "-",
        "equities, options, multi-leg, replace"
    )?;
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
