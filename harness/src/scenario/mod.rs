//! Scenario files: a seed, the connections that act (one per broker), the
//! market, a timeline of actions at simulated times, and expectations
//! checked at the end. TOML, documented in the README; `raxx-sim schema`
//! prints the JSON Schema generated from these types, so editors can
//! validate a file as it is written (scenarios/scenario.schema.json).

mod run;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;

use adapters::{ErrorKind, OrderStatus};
use broker_models::faults::FaultPlan;
use broker_models::MarketSpec;

pub use run::{replay, ExpectationResult, ScenarioRun};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows, in a sentence.
    pub description: String,
    /// A scenario that reads the same at several brokers: it runs once per
    /// slug here, with `{broker}` in the file replaced by that slug (one
    /// snapshot per broker, `alpaca__happy-path`). Left out: one run, and no `{broker}`.
    #[serde(default)]
    pub brokers: Vec<String>,
    /// Moves latencies, fault timing, fill slicing and prices; same seed, same trace.
    pub seed: u64,
    /// The connections that act, one per broker. Positions are never netted across them.
    pub connections: Vec<Connection>,
    #[serde(default)]
    pub market: Market,
    /// Orders go through Raxx's order path (the gateway) rather than
    /// straight to each adapter. Left out: they go straight.
    #[serde(default)]
    pub order_path: Option<OrderPathSpec>,
    /// The timeline, in simulated milliseconds from the start.
    #[serde(default)]
    #[schemars(with = "Vec<Step>")]
    pub steps: Vec<toml::Spanned<Step>>,
    /// Checked after the last step, once the world has settled.
    #[serde(default)]
    #[schemars(with = "Vec<Expectation>")]
    pub expect: Vec<toml::Spanned<Expectation>>,
}

/// A broker connection: the broker's model (or MBT paper) and the adapter
/// that trades it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// A broker of `raxx-sim brokers` (`alpaca`, `tradier`, `schwab`, …) or
    /// `mbt` (paper). The connection's name in steps.
    pub broker: String,
    /// The fault plan the broker starts with: a file in scenarios/faults/
    /// (`faults = "lost-response.toml"`) or inline rules (`[[connections.faults.rules]]`).
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub faults: Option<FaultsSpec>,
}

/// The order path a scenario's orders go through: every connection is one
/// user's, in one household. A `submit` or `cancel` with `mode = "paper"`
/// goes to the connection's MBT paper account (filling at the scenario's
/// `market.prices`); a live one passes the kill switches (`set_env`), the
/// token store (Tier C and `revoke`d connections are refused there), the
/// paper-first gate and the audit chain before it reaches the broker.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderPathSpec {
    /// MBT paper cycles (a round trip in one symbol) the user completes
    /// before live orders open.
    #[serde(default = "one_cycle")]
    pub paper_cycles: u32,
}

fn one_cycle() -> u32 {
    1
}

/// A fault plan: a file under scenarios/faults/, or inline.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FaultsSpec {
    File(String),
    Inline(FaultPlan),
}

/// The market every connection trades in: the seeded generator over the
/// default universe (AAPL, MSFT, SPY, …), tuned here, or recorded bars.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Market {
    /// Prices set before the first step, symbol → decimal string, at every connection.
    #[serde(default)]
    pub prices: BTreeMap<String, String>,
    /// Annualized volatility of the generated paths (decimal string; default "0.30").
    #[serde(default)]
    pub volatility: Option<String>,
    /// Quoted spread in basis points (default 2).
    #[serde(default)]
    pub spread_bps: Option<u32>,
    /// Simulated milliseconds between two quotes of one symbol.
    #[serde(default)]
    pub quote_every_ms: Option<u64>,
    /// A CSV of recorded bars under scenarios/data/ (`time,symbol,open,high,low,close,volume`),
    /// replayed instead of the generator from the world's start; its symbols are the whole universe.
    #[serde(default)]
    pub bars: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Submit an order; `id` is its client order id.
    Submit,
    /// Cancel the order submitted as `id`.
    Cancel,
    /// Replace the order submitted as `id` (quantity, limit_price, stop_price).
    Replace,
    /// Jump every broker's clock forward by `ms`.
    Advance,
    /// Set `symbol` to `price`.
    SetPrice,
    /// Replace a connection's fault plan (`faults`).
    InjectFault,
    /// Read the order submitted as `id` back through the adapter.
    Check,
    /// Break the connection behind an aggregator (`broken = true`: the
    /// user must reconnect) or mend it (`false`); brokers without such
    /// connections refuse it.
    SetConnection,
    /// Read the account's holdings through the adapter (Tier B: the
    /// aggregator's cache, with the time it is as of); `id` names the read
    /// for a `holdings` expectation.
    Holdings,
    /// With `order_path`: set the environment variable `name` to `value`
    /// (a kill switch: `BYOB_LIVE_DISABLED`, `BYOB_BROKER_<SLUG>_DISABLED`),
    /// or remove it when `value` is left out.
    SetEnv,
    /// With `order_path`: the user revokes the connection; its token is
    /// never used again.
    Revoke,
}

/// One action at one simulated time. Which keys an action takes is in its doc.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub at_ms: u64,
    pub action: Action,
    /// The connection that acts (its broker slug); may be left out when there is one.
    #[serde(default)]
    pub connection: Option<String>,
    /// The intent: a client order id, unique in the scenario.
    #[serde(default)]
    pub id: Option<String>,
    /// An equity ticker or an OCC option symbol.
    #[serde(default)]
    pub symbol: Option<String>,
    #[serde(default)]
    pub side: Option<SideWord>,
    /// A decimal string.
    #[serde(default)]
    pub quantity: Option<String>,
    #[serde(default, rename = "type")]
    pub order_type: Option<TypeWord>,
    #[serde(default)]
    pub limit_price: Option<String>,
    #[serde(default)]
    pub stop_price: Option<String>,
    #[serde(default)]
    pub time_in_force: Option<TifWord>,
    #[serde(default)]
    pub position_effect: Option<EffectWord>,
    /// For `advance`.
    #[serde(default)]
    pub ms: Option<u64>,
    /// For `set_price`: a decimal string.
    #[serde(default)]
    pub price: Option<String>,
    /// For `inject_fault`: a file under scenarios/faults/, or inline rules.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub faults: Option<FaultsSpec>,
    /// For `set_connection`: whether the connection is broken from now on.
    #[serde(default)]
    pub broken: Option<bool>,
    /// For `submit` and `cancel` with `order_path`: `paper` (MBT) or `live` (the default).
    #[serde(default)]
    pub mode: Option<ModeWord>,
    /// For `set_env`: the variable.
    #[serde(default)]
    pub name: Option<String>,
    /// For `set_env`: its value (left out: the variable is removed).
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModeWord {
    Paper,
    Live,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SideWord {
    Buy,
    Sell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TypeWord {
    Market,
    Limit,
    Stop,
    StopLimit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TifWord {
    Day,
    Gtc,
    Ioc,
    Fok,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EffectWord {
    Open,
    Close,
}

/// One check at the end. Exactly one of `order`, `error`, `position`, `cash`, `holdings`, `audit`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The intent (step id) whose order is checked against the broker's ledger.
    #[serde(default)]
    pub order: Option<String>,
    /// For `order`: the normalized status it must end in.
    #[serde(default)]
    pub status: Option<String>,
    /// For `order`: its cumulative filled quantity (decimal string).
    #[serde(default)]
    pub filled_quantity: Option<String>,
    /// For `order`: how many orders the broker holds for the intent (default 1).
    #[serde(default)]
    pub broker_orders: Option<u32>,
    /// The step id whose action must have failed.
    #[serde(default)]
    pub error: Option<String>,
    /// For `error`: the error kind (`rejected`, `unavailable`, …).
    #[serde(default)]
    pub kind: Option<String>,
    /// A symbol whose position at `connection` is checked against the ledger.
    #[serde(default)]
    pub position: Option<String>,
    /// The connection for `position` and `cash`.
    #[serde(default)]
    pub connection: Option<String>,
    /// For `position`: the signed quantity (decimal string; "0" for flat).
    #[serde(default)]
    pub quantity: Option<String>,
    /// A connection whose cash is checked against bounds.
    #[serde(default)]
    pub cash: Option<String>,
    /// For `cash`: lower bound (decimal string).
    #[serde(default)]
    pub min: Option<String>,
    /// For `cash`: upper bound (decimal string).
    #[serde(default)]
    pub max: Option<String>,
    /// A `holdings` step's id: what that read answered (not the ledger's truth).
    #[serde(default)]
    pub holdings: Option<String>,
    /// For `holdings`: a symbol whose quantity in the read is `quantity`.
    #[serde(default)]
    pub symbol: Option<String>,
    /// For `holdings`: the read says it is as of this scenario time (ms) or earlier.
    #[serde(default)]
    pub as_of_before_ms: Option<u64>,
    /// For `holdings`: the read says it is as of this scenario time (ms) or later.
    #[serde(default)]
    pub as_of_after_ms: Option<u64>,
    /// With `order_path`: the audit chain verifies against the head the
    /// path kept, and every live order reached its broker after its entry.
    #[serde(default)]
    pub audit: Option<bool>,
    /// For `audit`: how many entries the chain holds.
    #[serde(default)]
    pub entries: Option<u64>,
}

/// A scenario file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ScenarioError {
    pub file: String,
    /// 1-based; 0 when the problem is the file as a whole.
    pub line: usize,
    pub message: String,
}

/// A scenario with its fault files read and every step checked.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub name: String,
    /// For a file with `brokers`: the broker this run of it is for.
    pub broker: Option<String>,
    pub scenario: Scenario,
    /// Each connection's starting plan, in `connections` order.
    pub plans: Vec<FaultPlan>,
    /// Each `inject_fault` step's plan, by step index.
    pub injected: BTreeMap<usize, FaultPlan>,
    /// Where prices come from.
    pub market: MarketSpec,
}

/// The connections a scenario can name: every trading broker of the
/// table, and MBT paper; through the order path, every broker of the table
/// (a read-only one too: the path refuses its orders) and no bare MBT
/// (paper is every connection's own MBT account there).
fn brokers(order_path: bool) -> Vec<&'static str> {
    let table = crate::brokers::BROKERS.iter();
    if order_path {
        return table.map(|b| b.slug()).collect();
    }
    table
        .filter(|b| matches!(b.adapter, crate::brokers::Factory::Trading(_)))
        .map(|b| b.slug())
        .chain(["mbt"])
        .collect()
}
/// The normalized statuses an `order` expectation may name.
fn statuses() -> Vec<String> {
    OrderStatus::ALL
        .iter()
        .filter_map(|s| serde_json::to_value(s).ok()?.as_str().map(str::to_string))
        .collect()
}

/// The error kinds an `error` expectation may name.
fn error_kinds() -> Vec<&'static str> {
    ErrorKind::ALL.iter().map(|k| k.as_str()).collect()
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Reads and checks a scenario file that runs once. A file with `brokers`
/// is refused here: it is several scenarios, read with [`load_each`].
pub fn load(path: &Path) -> Result<Loaded, ScenarioError> {
    let mut each = load_each(path)?;
    match each.len() {
        1 => Ok(each.remove(0)),
        _ => Err(ScenarioError {
            file: path.display().to_string(),
            line: 0,
            message: format!("runs at {} brokers (`brokers`): pick one", each.len()),
        }),
    }
}

/// Reads and checks a scenario file: one scenario, or one per broker of its
/// `brokers` list. Fault files are looked up in the `faults/` folder beside
/// the scenario's folder's root (`scenarios/faults/`).
pub fn load_each(path: &Path) -> Result<Vec<Loaded>, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: file.clone(),
        line: 0,
        message: format!("cannot read: {e}"),
    })?;
    parse_each(&text, &file, &faults_dir(path))
}

/// What stands for the broker's slug in a file with `brokers`.
const BROKER_SLOT: &str = "{broker}";

/// Parses scenario `text` into one scenario per broker of its `brokers`
/// list (one scenario when it has none).
pub fn parse_each(text: &str, file: &str, faults_dir: &Path) -> Result<Vec<Loaded>, ScenarioError> {
    // Only the list is read first: the rest may not parse before `{broker}`
    // is filled in. A file that does not parse at all is reported by `parse`.
    #[derive(Deserialize)]
    struct Matrix {
        #[serde(default)]
        brokers: Vec<String>,
    }
    let whole = |message: String| ScenarioError {
        file: file.to_string(),
        line: 0,
        message,
    };
    let Ok(Matrix { brokers }) = toml::from_str::<Matrix>(text) else {
        // Not TOML: `parse` says where.
        return Ok(vec![parse(text, file, faults_dir)?]);
    };
    if brokers.is_empty() {
        if text.contains(BROKER_SLOT) {
            return Err(whole(format!(
                "uses {BROKER_SLOT} but names no `brokers` to fill it with"
            )));
        }
        return Ok(vec![parse(text, file, faults_dir)?]);
    }
    if !text.contains(BROKER_SLOT) {
        return Err(whole(format!(
            "`brokers` lists where it runs, but the file never says {BROKER_SLOT}: name the connection `broker = \"{BROKER_SLOT}\"`"
        )));
    }
    let mut each = Vec::new();
    for (i, broker) in brokers.iter().enumerate() {
        if brokers[..i].contains(broker) {
            return Err(whole(format!("brokers: {broker:?} twice")));
        }
        let mut loaded =
            parse(&text.replace(BROKER_SLOT, broker), file, faults_dir).map_err(|e| {
                ScenarioError {
                    message: format!("at broker {broker:?}: {}", e.message),
                    ..e
                }
            })?;
        if !loaded
            .scenario
            .connections
            .iter()
            .any(|c| &c.broker == broker)
        {
            return Err(whole(format!(
                "brokers: {broker:?} is never a connection: name it `broker = \"{BROKER_SLOT}\"`"
            )));
        }
        loaded.broker = Some(broker.clone());
        each.push(loaded);
    }
    Ok(each)
}

/// `scenarios/faults/` for any file under `scenarios/`.
fn faults_dir(path: &Path) -> PathBuf {
    path.ancestors()
        .find(|p| p.join("faults").is_dir())
        .map_or_else(|| PathBuf::from("scenarios/faults"), |p| p.join("faults"))
}

/// Parses scenario `text` (from `file`, for messages).
pub fn parse(text: &str, file: &str, faults_dir: &Path) -> Result<Loaded, ScenarioError> {
    let at = |line: usize, message: String| ScenarioError {
        file: file.to_string(),
        line,
        message,
    };
    let scenario: Scenario = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| line_of(text, s.start));
        // Quote the line, so the key is named even when the parser's own
        // message is about a value.
        let source = text
            .lines()
            .nth(line.saturating_sub(1))
            .unwrap_or_default()
            .trim();
        let message = e.message().trim().replace('\n', "; ");
        match line {
            0 => at(0, message),
            _ => at(line, format!("{message} (in `{source}`)")),
        }
    })?;
    let name = Path::new(file)
        .file_stem()
        .map_or_else(|| file.to_string(), |s| s.to_string_lossy().into_owned());
    if scenario.connections.is_empty() {
        return Err(at(0, "no connections: name at least one broker".into()));
    }
    let mut plans = Vec::new();
    let mut seen = Vec::new();
    let through_path = scenario.order_path.is_some();
    for c in &scenario.connections {
        let known = brokers(through_path);
        if !known.contains(&c.broker.as_str()) {
            return Err(at(
                0,
                format!(
                    "connections: unknown broker {:?} (one of {known:?})",
                    c.broker
                ),
            ));
        }
        if seen.contains(&c.broker) {
            return Err(at(0, format!("connections: broker {:?} twice", c.broker)));
        }
        seen.push(c.broker.clone());
        let plan = match &c.faults {
            Some(f) if c.broker == "mbt" => {
                let _ = f;
                return Err(at(
                    0,
                    "connections: the mbt paper engine takes no faults".into(),
                ));
            }
            Some(f) => fault_plan(f, faults_dir)
                .map_err(|m| at(0, format!("connection {}: {m}", c.broker)))?,
            None => FaultPlan::default(),
        };
        plans.push(plan);
    }
    for (symbol, price) in &scenario.market.prices {
        positive(price).map_err(|m| at(0, format!("market.prices.{symbol}: {m}")))?;
    }
    let market = market_spec(&scenario.market, &faults_dir.with_file_name("data"))
        .map_err(|m| at(0, format!("market: {m}")))?;
    let mut ids: Vec<String> = Vec::new();
    let mut reads: Vec<String> = Vec::new();
    let mut injected = BTreeMap::new();
    for (i, spanned) in scenario.steps.iter().enumerate() {
        let line = line_of(text, spanned.span().start);
        let step = spanned.get_ref();
        let fail = |m: String| at(line, format!("steps[{i}] ({:?}): {m}", step.action));
        check_step(step, &seen, &ids, &reads, through_path).map_err(fail)?;
        match step.action {
            Action::Submit => ids.extend(step.id.clone()),
            Action::Holdings => reads.extend(step.id.clone()),
            _ => {}
        }
        if let Some(f) = &step.faults {
            injected.insert(i, fault_plan(f, faults_dir).map_err(fail)?);
        }
    }
    for spanned in &scenario.expect {
        let line = line_of(text, spanned.span().start);
        check_expectation(spanned.get_ref(), &seen, &ids, &reads, through_path)
            .map_err(|m| at(line, format!("expect: {m}")))?;
    }
    Ok(Loaded {
        name,
        broker: None,
        scenario,
        plans,
        injected,
        market,
    })
}

/// The market a scenario asks for; recorded bars are read and checked here.
fn market_spec(m: &Market, data_dir: &Path) -> Result<MarketSpec, String> {
    let mut spec = MarketSpec {
        annual_volatility: m.volatility.as_deref().map(decimal).transpose()?,
        spread_bps: m.spread_bps,
        quote_every_ms: m.quote_every_ms,
        symbols: None,
        bars_csv: None,
    };
    if spec.annual_volatility.is_some_and(|v| v < Decimal::ZERO) {
        return Err("volatility must not be negative".into());
    }
    if let Some(name) = &m.bars {
        if spec != MarketSpec::default() {
            return Err("recorded `bars` replace the generator: no volatility, spread_bps or quote_every_ms".into());
        }
        if name.contains("..") || Path::new(name).is_absolute() {
            return Err(format!(
                "bars file {name:?} must be a name under scenarios/data/"
            ));
        }
        let path = data_dir.join(name);
        let csv = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        mbt::bars::load(csv.as_bytes(), &mut mbt::Market::new())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        spec.bars_csv = Some(csv);
    }
    Ok(spec)
}

fn fault_plan(spec: &FaultsSpec, dir: &Path) -> Result<FaultPlan, String> {
    match spec {
        FaultsSpec::File(name) => {
            if name.contains("..") || Path::new(name).is_absolute() {
                return Err(format!(
                    "fault file {name:?} must be a name under scenarios/faults/"
                ));
            }
            FaultPlan::from_file(&dir.join(name)).map_err(|e| e.to_string())
        }
        FaultsSpec::Inline(plan) => {
            let text = toml::to_string(plan).map_err(|e| e.to_string())?;
            FaultPlan::from_toml(&text, "inline faults").map_err(|e| e.to_string())
        }
    }
}

fn decimal(text: &str) -> Result<Decimal, String> {
    text.parse::<Decimal>()
        .map_err(|_| format!("{text:?} is not a decimal string"))
}

fn positive(text: &str) -> Result<Decimal, String> {
    let d = decimal(text)?;
    if d <= Decimal::ZERO {
        return Err(format!("{text} must be positive"));
    }
    Ok(d)
}

/// Which keys each action takes, besides `at_ms`, `action` and `connection`.
fn allowed(action: Action) -> &'static [&'static str] {
    match action {
        Action::Submit => &[
            "id",
            "symbol",
            "side",
            "quantity",
            "type",
            "limit_price",
            "stop_price",
            "time_in_force",
            "position_effect",
            "mode",
        ],
        Action::Cancel => &["id", "mode"],
        Action::Check => &["id"],
        Action::Replace => &["id", "quantity", "limit_price", "stop_price"],
        Action::Advance => &["ms"],
        Action::SetPrice => &["symbol", "price"],
        Action::InjectFault => &["faults"],
        Action::SetConnection => &["broken"],
        Action::Holdings => &["id"],
        Action::SetEnv => &["name", "value"],
        Action::Revoke => &[],
    }
}

fn present(s: &Step) -> Vec<&'static str> {
    let mut keys = Vec::new();
    let mut key = |name, set: bool| {
        if set {
            keys.push(name);
        }
    };
    key("id", s.id.is_some());
    key("symbol", s.symbol.is_some());
    key("side", s.side.is_some());
    key("quantity", s.quantity.is_some());
    key("type", s.order_type.is_some());
    key("limit_price", s.limit_price.is_some());
    key("stop_price", s.stop_price.is_some());
    key("time_in_force", s.time_in_force.is_some());
    key("position_effect", s.position_effect.is_some());
    key("ms", s.ms.is_some());
    key("price", s.price.is_some());
    key("faults", s.faults.is_some());
    key("broken", s.broken.is_some());
    key("mode", s.mode.is_some());
    key("name", s.name.is_some());
    key("value", s.value.is_some());
    keys
}

fn check_step(
    s: &Step,
    connections: &[String],
    ids: &[String],
    reads: &[String],
    through_path: bool,
) -> Result<(), String> {
    let path_only = matches!(s.action, Action::SetEnv | Action::Revoke) || s.mode.is_some();
    if path_only && !through_path {
        return Err("`set_env`, `revoke` and `mode` need the scenario's `[order_path]`".into());
    }
    for key in present(s) {
        if !allowed(s.action).contains(&key) {
            return Err(format!("key `{key}` does not apply to this action"));
        }
    }
    match &s.connection {
        Some(c) if !connections.contains(c) => return Err(format!("no connection {c:?}")),
        None if connections.len() > 1 && !matches!(s.action, Action::Advance | Action::SetEnv) => {
            return Err("name the `connection`: the scenario has several".into())
        }
        _ => {}
    }
    let need = |v: bool, key: &str| {
        if v {
            Ok(())
        } else {
            Err(format!("missing key `{key}`"))
        }
    };
    match s.action {
        Action::Submit => {
            let id = s.id.as_deref().ok_or("missing key `id`")?;
            if ids.iter().chain(reads).any(|i| i == id) {
                return Err(format!("id {id:?} is used by an earlier step"));
            }
            need(s.symbol.is_some(), "symbol")?;
            need(s.side.is_some(), "side")?;
            positive(s.quantity.as_deref().ok_or("missing key `quantity`")?)?;
            let t = s.order_type.unwrap_or(TypeWord::Market);
            if matches!(t, TypeWord::Limit | TypeWord::StopLimit) {
                positive(
                    s.limit_price
                        .as_deref()
                        .ok_or("missing key `limit_price`")?,
                )?;
            }
            if matches!(t, TypeWord::Stop | TypeWord::StopLimit) {
                positive(s.stop_price.as_deref().ok_or("missing key `stop_price`")?)?;
            }
        }
        Action::Cancel | Action::Check | Action::Replace => {
            let id = s.id.as_deref().ok_or("missing key `id`")?;
            if !ids.iter().any(|i| i == id) {
                return Err(format!("id {id:?} is not submitted by an earlier step"));
            }
            for v in [&s.quantity, &s.limit_price, &s.stop_price]
                .into_iter()
                .flatten()
            {
                positive(v)?;
            }
        }
        Action::Advance => need(s.ms.is_some(), "ms")?,
        Action::SetPrice => {
            need(s.symbol.is_some(), "symbol")?;
            positive(s.price.as_deref().ok_or("missing key `price`")?)?;
        }
        Action::InjectFault => need(s.faults.is_some(), "faults")?,
        Action::SetConnection => need(s.broken.is_some(), "broken")?,
        Action::Holdings => {
            let id = s.id.as_deref().ok_or("missing key `id`")?;
            if ids.iter().chain(reads).any(|i| i == id) {
                return Err(format!("id {id:?} is used by an earlier step"));
            }
        }
        Action::SetEnv => {
            let name = s.name.as_deref().ok_or("missing key `name`")?;
            // The order path reads only its own switches; anything else
            // would be set for nothing.
            if !name.starts_with("BYOB_") || !name.ends_with("_DISABLED") {
                return Err(format!(
                    "{name:?} is not a kill switch (BYOB_LIVE_DISABLED or BYOB_BROKER_<SLUG>_DISABLED)"
                ));
            }
        }
        Action::Revoke => {}
    }
    Ok(())
}

fn check_expectation(
    e: &Expectation,
    connections: &[String],
    ids: &[String],
    reads: &[String],
    through_path: bool,
) -> Result<(), String> {
    let kinds = [
        e.order.is_some(),
        e.error.is_some(),
        e.position.is_some(),
        e.cash.is_some(),
        e.holdings.is_some(),
        e.audit.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        return Err(
            "give exactly one of `order`, `error`, `position`, `cash`, `holdings`, `audit`".into(),
        );
    }
    match e.audit {
        Some(false) => return Err("`audit = false` checks nothing: say `audit = true`".into()),
        Some(true) if !through_path => {
            return Err("`audit` needs the scenario's `[order_path]`".into())
        }
        None if e.entries.is_some() => return Err("`entries` applies to `audit` only".into()),
        _ => {}
    }
    let holdings_keys = [
        ("symbol", e.symbol.is_some()),
        ("as_of_before_ms", e.as_of_before_ms.is_some()),
        ("as_of_after_ms", e.as_of_after_ms.is_some()),
    ];
    match &e.holdings {
        Some(id) => {
            if !reads.iter().any(|r| r == id) {
                return Err(format!("no holdings step has id {id:?}"));
            }
            if e.symbol.is_some() != e.quantity.is_some() {
                return Err("`holdings` checks a `symbol` and its `quantity` together".into());
            }
            if let Some(q) = &e.quantity {
                decimal(q)?;
            }
        }
        None => {
            if let Some((key, _)) = holdings_keys.iter().find(|(_, set)| *set) {
                return Err(format!("`{key}` applies to `holdings` only"));
            }
        }
    }
    let known_id = |id: &str| {
        if ids.iter().any(|i| i == id) {
            Ok(())
        } else {
            Err(format!("no submit step has id {id:?}"))
        }
    };
    if let Some(id) = &e.order {
        known_id(id)?;
        if let Some(s) = &e.status {
            let known = statuses();
            if !known.contains(s) {
                return Err(format!("status {s:?} is not one of {known:?}"));
            }
        }
        if let Some(q) = &e.filled_quantity {
            decimal(q)?;
        }
    }
    if e.error.is_some() {
        let kind = e
            .kind
            .as_deref()
            .ok_or("`error` needs the `kind` of error")?;
        let known = error_kinds();
        if !known.contains(&kind) {
            return Err(format!("kind {kind:?} is not one of {known:?}"));
        }
    }
    if e.position.is_some() || e.cash.is_some() {
        let c = e
            .connection
            .as_deref()
            .or(e.cash.as_deref())
            .ok_or("name the `connection`")?;
        if !connections.iter().any(|k| k == c) {
            return Err(format!("no connection {c:?}"));
        }
    }
    if e.position.is_some() {
        decimal(
            e.quantity
                .as_deref()
                .ok_or("`position` needs the `quantity`")?,
        )?;
    }
    for v in [&e.min, &e.max].into_iter().flatten() {
        decimal(v)?;
    }
    Ok(())
}

/// The JSON Schema of scenario files, for editors.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Scenario);
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}
