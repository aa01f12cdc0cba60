//! Graduation replays: a user's journey from MBT paper cycles through the
//! paper-first gate to live trading at their own broker, replayed from one
//! TOML file for product staff (`raxx-sim graduate FILE`).
//!
//! A file names the broker connection (a row of `raxx-sim brokers`), the
//! gate's parameters, one or more strategies as rules
//! ([`gateway::rules::Strategy`]), the market (a seeded walk of bars for
//! each of its symbols over the NYSE's trading days) and broker faults on
//! the timeline. [`replay`] runs it through MBT, the gate and the live
//! broker model and tells what happened and why the gate decided what it
//! did; the same file gives the same bytes.

mod market;
mod replay;
pub mod report;

use std::collections::BTreeMap;
use std::path::Path;

use broker_models::faults::FaultPlan;
use gateway::gate::GateRule;
use gateway::rules::{Rules, Strategy, Trade};
use mbt::instrument::OccSymbol;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;

pub use market::Bar;
pub use replay::{replay, BarState, FillMark, Graduated, Journey, Outcome};

/// One graduation scenario, as its file says it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Graduation {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub seed: u64,
    /// The user's connection: a row of `raxx-sim brokers` (e.g. `alpaca`,
    /// `snaptrade-etrade`, `plaid`). It trades every strategy that no
    /// `[[household]]` connection names.
    pub broker: String,
    /// The household's other connections (`[[household]]`), each with the
    /// strategies it trades: each broker holds its own orders and
    /// positions, never netted against another's.
    #[serde(default)]
    pub household: Vec<HouseholdBroker>,
    /// The paper-first gate: the paper cycles required, and whose count.
    #[schemars(with = "GateSchema")]
    pub gate: GateRule,
    /// The strategies traded (`[[strategy]]`), each on its own, paper and
    /// then live; their names must differ (they name the orders).
    #[serde(rename = "strategy", default)]
    pub strategies: Vec<Strategy>,
    /// A seeded walk of bars (`[market]`), or
    #[serde(default)]
    pub market: Option<MarketSpec>,
    /// recorded bars (`[recorded]`): one of the two.
    #[serde(default)]
    pub recorded: Option<Recorded>,
    /// Broker faults on the timeline, each from its bar on (an empty plan
    /// ends them).
    #[serde(default)]
    pub faults: Vec<TimedFault>,
}

/// Another connection of the user's household.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HouseholdBroker {
    /// A row of `raxx-sim brokers`, of a vendor no other connection uses.
    pub broker: String,
    /// The names of the strategies traded through it.
    pub strategies: Vec<String>,
}

impl Graduation {
    /// Each connection's row and the strategies it trades: the user's
    /// `broker` first.
    pub fn connections(&self) -> Vec<(&str, Vec<&Strategy>)> {
        let elsewhere: Vec<&String> = self.household.iter().flat_map(|h| &h.strategies).collect();
        let mut out = vec![(
            self.broker.as_str(),
            self.strategies
                .iter()
                .filter(|s| !elsewhere.contains(&&s.name))
                .collect(),
        )];
        for h in &self.household {
            out.push((
                h.broker.as_str(),
                self.strategies
                    .iter()
                    .filter(|s| h.strategies.contains(&s.name))
                    .collect(),
            ));
        }
        out
    }
}

/// [`GateRule`]'s fields, for the schema.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct GateSchema {
    required_cycles: u32,
    /// `user` (default), `connection` or `household`.
    scope: Option<String>,
}

/// A seeded random walk of bars for each symbol over trading days.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketSpec {
    /// Each symbol walked, with its first price (`{ AAPL = "100" }`); each
    /// walks on its own.
    #[schemars(with = "BTreeMap<String, String>")]
    pub symbols: BTreeMap<String, Decimal>,
    /// Trading days replayed: the NYSE's sessions from Monday 2026-01-05
    /// (weekends and the exchange's holidays skipped).
    pub days: u32,
    /// Bars per trading day, evenly spaced over the session (a shorter
    /// one on the exchange's early-close days).
    pub bars_per_day: u32,
    /// The walk's daily volatility, in percent.
    #[schemars(with = "String")]
    pub daily_volatility_percent: Decimal,
}

/// Recorded bars replayed as the market.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Recorded {
    /// A CSV of bars (`time,symbol,open,high,low,close,volume`, as
    /// `scenarios/data/` holds), relative to the graduation file. Each
    /// time is one bar, and must give every symbol of the file; a bar
    /// is its close. Days are New York trading dates.
    pub bars: String,
}

/// A fault plan that takes effect at one bar.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimedFault {
    /// The trading day, from 1.
    pub day: u32,
    /// The bar of that day, from 1.
    #[serde(default = "first")]
    pub bar: u32,
    /// What the user would call it ("E*TRADE is down").
    pub label: String,
    /// The connection it strikes (a `broker` or `[[household]]` row);
    /// the user's `broker` when absent.
    #[serde(default)]
    pub broker: Option<String>,
    /// A fault plan (`raxx-sim conform --faults` syntax); empty to end the
    /// faults.
    pub plan: String,
}

fn first() -> u32 {
    1
}

/// A graduation file, read and checked.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub name: String,
    pub graduation: Graduation,
    pub plans: Vec<FaultPlan>,
    /// The market, walked or recorded.
    pub bars: Vec<Bar>,
}

/// Reads and checks a graduation file: its strategy can be traded, its
/// broker is modelled, its market and faults make sense.
pub fn load(path: &Path) -> Result<Loaded, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new("."));
    parse(&name, &text, dir).map_err(|e| format!("{}: {e}", path.display()))
}

/// [`load`] of a file's text; recorded bars are read from `dir`.
pub fn parse(name: &str, text: &str, dir: &Path) -> Result<Loaded, String> {
    let graduation: Graduation = toml::from_str(text).map_err(|e| e.to_string())?;
    check_connections(&graduation)?;
    let bars = match (&graduation.market, &graduation.recorded) {
        (Some(m), None) => {
            check_walk(m)?;
            market::bars(m, graduation.seed)
        }
        (None, Some(r)) => recorded(&r.bars, dir)?,
        _ => return Err("the market is either walked ([market]) or recorded ([recorded])".into()),
    };
    let symbols: Vec<&String> = bars
        .first()
        .map(|b| b.prices.keys().collect())
        .unwrap_or_default();
    let last_day = bars.last().map(|b| b.at.date_naive()).unwrap_or_default();
    check_strategies(&graduation.strategies, &symbols, last_day)?;
    let mut plans = Vec::new();
    for f in &graduation.faults {
        if !bars.iter().any(|b| (b.day, b.bar) == (f.day, f.bar)) {
            return Err(format!(
                "fault {:?} at day {} bar {} is outside the market's days and bars",
                f.label, f.day, f.bar
            ));
        }
        if let Some(b) = &f.broker {
            if !graduation.connections().iter().any(|(row, _)| row == b) {
                return Err(format!(
                    "fault {:?} strikes {b}, not a connection of the file",
                    f.label
                ));
            }
        }
        plans.push(FaultPlan::from_toml(&f.plan, name).map_err(|e| e.to_string())?);
    }
    Ok(Loaded {
        name: name.to_string(),
        graduation,
        plans,
        bars,
    })
}

/// Recorded bars from `file` under `dir`, checked as [`mbt::bars`] checks
/// them, then grouped by time into bars and by New York date into days.
fn recorded(file: &str, dir: &Path) -> Result<Vec<Bar>, String> {
    if Path::new(file).is_absolute() {
        return Err(format!(
            "recorded.bars {file:?} must be relative to the file"
        ));
    }
    let path = dir.join(file);
    let csv = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut m = mbt::Market::new();
    let events =
        mbt::bars::load(csv.as_slice(), &mut m).map_err(|e| format!("{}: {e}", path.display()))?;
    market::from_recorded(&events, &m).map_err(|e| format!("{}: {e}", path.display()))
}

/// A walk's parameters make sense.
fn check_walk(m: &MarketSpec) -> Result<(), String> {
    if m.symbols.is_empty() {
        return Err("market.symbols names no symbol".into());
    }
    for (symbol, price) in &m.symbols {
        if !mbt::instrument::is_ticker(symbol) {
            return Err(format!("market symbol {symbol:?} is not a ticker"));
        }
        if *price <= Decimal::ZERO || price.round_dp(2) != *price {
            return Err(format!(
                "market symbol {symbol}'s first price must be positive, in cents"
            ));
        }
    }
    if !(1..=260).contains(&m.days) || !(1..=78).contains(&m.bars_per_day) {
        return Err("market.days is 1 to 260, market.bars_per_day 1 to 78".into());
    }
    if m.daily_volatility_percent < Decimal::ZERO || m.daily_volatility_percent > Decimal::from(20)
    {
        return Err("market.daily_volatility_percent is 0 to 20".into());
    }
    Ok(())
}

/// Each connection is a modelled broker of its own vendor, each household
/// strategy is the file's and traded through one connection only.
fn check_connections(g: &Graduation) -> Result<(), String> {
    let mut vendors = BTreeMap::new();
    for (row, _) in g.connections() {
        let entry = crate::brokers::find(row)
            .ok_or_else(|| format!("no broker {row:?} (see `raxx-sim brokers`)"))?;
        if let Some(other) = vendors.insert(entry.vendor.slug, row) {
            if other == row {
                return Err(format!("{row} is a connection twice"));
            }
            return Err(format!(
                "{other} and {row} are both reached through {}: a household's connections \
                 here each have a vendor of their own",
                entry.vendor.slug
            ));
        }
    }
    let mut named = std::collections::BTreeSet::new();
    for name in g.household.iter().flat_map(|h| &h.strategies) {
        if !g.strategies.iter().any(|s| &s.name == name) {
            return Err(format!("[[household]] names no strategy {name:?}"));
        }
        if !named.insert(name) {
            return Err(format!(
                "strategy {name:?} is traded through two connections"
            ));
        }
    }
    Ok(())
}

/// Each strategy can be traded, has a name of its own, and trades a
/// symbol the market quotes; an option series is listed until the
/// market's last day at least.
fn check_strategies(
    strategies: &[Strategy],
    symbols: &[&String],
    last_day: chrono::NaiveDate,
) -> Result<(), String> {
    if strategies.is_empty() {
        return Err("no [[strategy]]: a graduation trades at least one".into());
    }
    let mut names = std::collections::BTreeSet::new();
    for s in strategies {
        Rules::new(s.clone()).map_err(|e| format!("strategy {:?}: {e}", s.name))?;
        if !names.insert(s.name.as_str()) {
            return Err(format!("two strategies are named {:?}", s.name));
        }
        let symbol = underlying(&s.trade).unwrap_or_default();
        if !symbols.contains(&&symbol) {
            return Err(format!(
                "strategy {:?} trades {symbol}, which the market does not quote",
                s.name
            ));
        }
        for occ in series(&s.trade) {
            // A series that expires during the replay would settle under
            // the rules, which know nothing of expiry: refused, not
            // simplified.
            if occ.expiry() < last_day {
                return Err(format!(
                    "strategy {:?} trades {occ}, which expires on {} before the market's \
                     last day ({last_day}): pick a series listed to the end",
                    s.name,
                    occ.expiry()
                ));
            }
        }
    }
    Ok(())
}

/// The symbol a trade is in: an equity's, an option's or a spread's
/// underlying (None for an OCC symbol that does not parse, which the
/// rules refuse first).
fn underlying(trade: &Trade) -> Option<String> {
    match trade {
        Trade::Equity { symbol, .. } => Some(symbol.clone()),
        Trade::Option { occ, .. } => occ.parse::<OccSymbol>().ok().map(|o| o.root().to_string()),
        Trade::Spread { underlying, .. } => Some(underlying.clone()),
    }
}

/// The option series a trade needs marks of: the option's, or each leg's.
fn series(trade: &Trade) -> Vec<OccSymbol> {
    let occs: Vec<&String> = match trade {
        Trade::Equity { .. } => Vec::new(),
        Trade::Option { occ, .. } => vec![occ],
        Trade::Spread { legs, .. } => legs.iter().map(|l| &l.occ).collect(),
    };
    occs.into_iter().filter_map(|o| o.parse().ok()).collect()
}

/// The JSON Schema of graduation files (for editors).
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Graduation)).unwrap_or_default()
}
