//! Running a scenario: its world (one host per broker model, MBT in
//! process), its timeline through the adapters, its expectations against
//! the venues' ledgers, the invariants, and the canonical trace.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use adapters::{
    AdapterError, BrokerAdapter, Holdings, Instrument, Order, OrderResult, OrderType,
    PositionEffect, Replace, Side, TimeInForce,
};
use broker_models::clock::DEFAULT_EPOCH;
use broker_models::faults::FaultPlan;
use rust_decimal::Decimal;

use adapters::ReadOnlySource;
use gateway::gate::{CycleScope, GateRule};
use gateway::kill::Mode;
use gateway::router::PathError;

use super::{Action, EffectWord, Expectation, Loaded, ModeWord, SideWord, Step, TifWord, TypeWord};
use crate::brokers::Built;
use crate::error::VenueError;
use crate::order_path::{endpoint, Assembly};
use crate::record::Exchange;
use crate::subject::Subject;
use crate::suite::{check_invariants, Observed};
use crate::trace::{Actor, Trace};
use crate::traced::{Traced, TracedSource};
use crate::venue::Venue;
use crate::world::{run_world, WorldSpec};

/// Why a replay could not go on: the scenario asks for something it cannot
/// have, or a venue failed (it is reported among the run's problems).
#[derive(Debug, thiserror::Error)]
enum ReplayError {
    #[error("{0}")]
    Scenario(String),
    #[error(transparent)]
    Venue(#[from] VenueError),
}

impl From<String> for ReplayError {
    fn from(why: String) -> Self {
        Self::Scenario(why)
    }
}

impl From<&str> for ReplayError {
    fn from(why: &str) -> Self {
        Self::Scenario(why.to_string())
    }
}

/// One expectation and whether it held.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExpectationResult {
    pub expectation: String,
    pub passed: bool,
    /// What was found instead, when it failed.
    pub found: Option<String>,
}

/// What a scenario run produced.
#[derive(Debug, Clone)]
pub struct ScenarioRun {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub trace: Trace,
    pub expectations: Vec<ExpectationResult>,
    /// Invariant violations, and anything that kept the run from finishing.
    pub problems: Vec<String>,
}

impl ScenarioRun {
    pub fn passed(&self) -> bool {
        self.problems.is_empty() && self.expectations.iter().all(|e| e.passed)
    }

    /// The readable timeline: the canonical trace, then the verdicts.
    pub fn timeline(&self) -> String {
        let mut out = format!(
            "scenario {} (seed {}): {}\n",
            self.name, self.seed, self.description
        );
        out.push_str(&self.trace.render());
        for e in &self.expectations {
            let mark = if e.passed { "ok  " } else { "FAIL" };
            out.push_str(&format!("expect {mark} {}", e.expectation));
            if let Some(found) = &e.found {
                out.push_str(&format!(" (found {found})"));
            }
            out.push('\n');
        }
        for p in &self.problems {
            out.push_str(&format!("problem   {p}\n"));
        }
        out.push_str(if self.passed() {
            "verdict: passed\n"
        } else {
            "verdict: FAILED\n"
        });
        out
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "scenario": self.name,
            "description": self.description,
            "seed": self.seed,
            "passed": self.passed(),
            "trace": self.trace.entries().iter().map(|e| serde_json::json!({
                "at_ms": e.at.as_millis() as u64,
                "actor": format!("{:?}", e.actor).to_lowercase(),
                "text": e.text,
            })).collect::<Vec<_>>(),
            "trace_sha256": self.trace.hash(),
            "expectations": self.expectations,
            "problems": self.problems,
        })
    }
}

/// A connection inside the running world.
struct Live {
    name: String,
    /// What reaches it: an adapter that trades, or (through the order path
    /// only) a read-only source.
    observed: Observed,
    account_id: String,
    venue: Venue,
}

impl Live {
    /// The adapter that trades it, or why there is none.
    fn trading(&self) -> Result<&Arc<Traced>, ReplayError> {
        match &self.observed {
            Observed::Trading(a) => Ok(a),
            Observed::ReadOnly(_) => Err(ReplayError::Scenario(format!(
                "{} is a read-only source: this step needs an adapter that trades",
                self.name
            ))),
        }
    }
}

/// The scenario's order path, when it has one.
type Path = Option<Assembly>;

/// What each step that acted on an intent left behind.
#[derive(Default)]
struct Outcomes {
    /// The intent's current broker order id.
    orders: BTreeMap<String, String>,
    /// Errors of steps, by step id (the last one wins).
    errors: BTreeMap<String, AdapterError>,
    /// What each `holdings` step read, by its id.
    holdings: BTreeMap<String, Holdings>,
}

impl Outcomes {
    /// An order call's result: its (new) broker id, or its error.
    fn record(&mut self, id: &str, r: Result<OrderResult, AdapterError>) {
        match r {
            Ok(o) => {
                self.errors.remove(id);
                self.orders.insert(id.to_string(), o.broker_order_id);
            }
            Err(e) => {
                self.errors.insert(id.to_string(), e);
            }
        }
    }
}

/// Runs a loaded scenario in its world.
pub fn replay(loaded: &Loaded) -> ScenarioRun {
    let s = &loaded.scenario;
    let mut spec = WorldSpec::new(s.seed);
    spec.market = loaded.market.clone();
    for (c, plan) in s.connections.iter().zip(&loaded.plans) {
        if c.broker != "mbt" {
            // The connection's model: a row behind an aggregator is its vendor's.
            let model =
                crate::brokers::find(&c.broker).map_or(c.broker.as_str(), |b| b.vendor.slug);
            spec = spec.broker(model, plan.clone());
        }
    }
    let loaded_for_world = loaded.clone();
    let run = run_world(&spec, move |env| async move {
        let loaded = loaded_for_world;
        let mut live = Vec::new();
        for c in &loaded.scenario.connections {
            let subject =
                Subject::parse(&c.broker).map_err(|e| ReplayError::Scenario(e.to_string()))?;
            let (built, venue) = subject.build(&env)?;
            let observed = match built {
                Built::Trading(adapter) => {
                    // Brokers without client order ids are told each submit's intent.
                    let adapter = crate::intents::declaring(adapter, env.wire.clone());
                    Observed::Trading(Arc::new(Traced::new(adapter, env.trace.clone())))
                }
                // Loading allowed it: the order path refuses its orders.
                Built::ReadOnly(source) => {
                    Observed::ReadOnly(Arc::new(TracedSource::new(source, env.trace.clone())))
                }
            };
            let account_id = match &observed {
                Observed::Trading(a) => a.account_id().to_string(),
                Observed::ReadOnly(s) => s.account_id().to_string(),
            };
            live.push(Live {
                name: c.broker.clone(),
                observed,
                account_id,
                venue,
            });
        }
        let trace = env.trace.clone();
        let path: Path = match &loaded.scenario.order_path {
            Some(spec) => Some(order_path(&loaded, spec.paper_cycles, &live)?),
            None => None,
        };
        for (symbol, price) in &loaded.scenario.market.prices {
            let price: Decimal = price.parse().map_err(|_| format!("bad price {price}"))?;
            for l in &live {
                l.venue.set_price(symbol, price).await?;
            }
        }
        let mut outcomes = Outcomes::default();
        let mut order: Vec<(usize, &Step)> = loaded
            .scenario
            .steps
            .iter()
            .map(|s| s.get_ref())
            .enumerate()
            .collect();
        order.sort_by_key(|(i, s)| (s.at_ms, *i));
        let start = tokio::time::Instant::now();
        for (i, step) in order {
            tokio::time::sleep_until(start + Duration::from_millis(step.at_ms)).await;
            perform(
                &loaded,
                i,
                step,
                &live,
                path.as_ref(),
                &trace,
                &mut outcomes,
            )
            .await?;
        }
        // Let what is in flight land (fills, lost responses held by the model).
        tokio::time::sleep(Duration::from_secs(10)).await;
        let mut results = Vec::new();
        let mut problems = Vec::new();
        for l in &live {
            if l.venue.is_model() {
                l.venue.set_faults(&FaultPlan::default()).await?;
            }
        }
        for spanned in &loaded.scenario.expect {
            results.push(check(spanned.get_ref(), &live, path.as_ref(), &outcomes).await);
        }
        if let Some(path) = &path {
            match path.audit_log() {
                Ok(log) => trace.record(
                    Actor::Path,
                    format!(
                        "audit chain verifies: {} entries, head {}",
                        log.len(),
                        path.path.audit_head()
                    ),
                ),
                Err(f) => problems.push(format!("order path: {f}")),
            }
            problems.extend(
                path.breaches()
                    .into_iter()
                    .map(|b| format!("order path: {b}")),
            );
        }
        for l in &live {
            problems.extend(invariant_problems(l, &trace, &env.wire.exchanges()).await);
            l.venue.record_history(&trace).await?;
        }
        Ok::<_, ReplayError>((results, problems))
    });
    let (expectations, problems) = match run.result {
        Ok(Ok((e, p))) => (e, p),
        Ok(Err(e)) => (Vec::new(), vec![e.to_string()]),
        Err(e) => (Vec::new(), vec![e.to_string()]),
    };
    ScenarioRun {
        name: loaded.name.clone(),
        description: s.description.clone(),
        seed: s.seed,
        trace: run.trace,
        expectations,
        problems,
    }
}

fn connection<'a>(live: &'a [Live], name: Option<&str>) -> Result<&'a Live, ReplayError> {
    match name {
        Some(n) => live
            .iter()
            .find(|l| l.name == n)
            .ok_or_else(|| ReplayError::Scenario(format!("no connection {n}"))),
        None => live.first().ok_or_else(|| "no connections".into()),
    }
}

fn dec(text: &Option<String>) -> Option<Decimal> {
    text.as_deref().and_then(|t| t.parse().ok())
}

fn order_of(step: &Step) -> Result<Order, ReplayError> {
    let id = step.id.clone().unwrap_or_default();
    let symbol = step.symbol.clone().unwrap_or_default();
    let instrument = match symbol.parse::<mbt::OccSymbol>() {
        Ok(occ) => Instrument::option(occ),
        Err(_) => Instrument::equity(symbol),
    };
    Ok(Order {
        client_order_id: id,
        instrument,
        side: match step.side {
            Some(SideWord::Sell) => Side::Sell,
            _ => Side::Buy,
        },
        position_effect: step.position_effect.map(|e| match e {
            EffectWord::Open => PositionEffect::Open,
            EffectWord::Close => PositionEffect::Close,
        }),
        quantity: dec(&step.quantity).ok_or("bad quantity")?,
        order_type: match step.order_type.unwrap_or(TypeWord::Market) {
            TypeWord::Market => OrderType::Market,
            TypeWord::Limit => OrderType::Limit,
            TypeWord::Stop => OrderType::Stop,
            TypeWord::StopLimit => OrderType::StopLimit,
        },
        limit_price: dec(&step.limit_price),
        stop_price: dec(&step.stop_price),
        time_in_force: match step.time_in_force.unwrap_or(TifWord::Day) {
            TifWord::Day => TimeInForce::Day,
            TifWord::Gtc => TimeInForce::Gtc,
            TifWord::Ioc => TimeInForce::Ioc,
            TifWord::Fok => TimeInForce::Fok,
        },
        legs: None,
        exits: None,
    })
}

/// The order path over the scenario's connections: one user's, in one
/// household, each enrolled with the credentials its model issued.
fn order_path(loaded: &Loaded, paper_cycles: u32, live: &[Live]) -> Result<Assembly, ReplayError> {
    let mut endpoints = Vec::new();
    for l in live {
        let (adapter, source) = match &l.observed {
            Observed::Trading(a) => (Some(a.clone() as Arc<dyn BrokerAdapter>), None),
            Observed::ReadOnly(s) => (None, Some(s.clone() as Arc<dyn ReadOnlySource>)),
        };
        endpoints.push(endpoint(&l.name, &l.venue, adapter, source)?);
    }
    let mut prices = Vec::new();
    for (symbol, price) in &loaded.scenario.market.prices {
        let price: Decimal = price.parse().map_err(|_| format!("bad price {price}"))?;
        prices.push((symbol.clone(), price));
    }
    Assembly::new(
        endpoints,
        loaded.scenario.seed,
        None,
        DEFAULT_EPOCH.to_datetime(),
        &prices,
        GateRule {
            required_cycles: paper_cycles,
            scope: CycleScope::User,
        },
    )
    .map_err(|f| ReplayError::Scenario(f.message))
}

fn mode_of(step: &Step) -> Mode {
    match step.mode {
        Some(ModeWord::Paper) => Mode::Paper,
        _ => Mode::Live,
    }
}

/// A path refusal as the adapter error an expectation names.
fn path_error(e: PathError) -> AdapterError {
    match e {
        PathError::Broker(b) => b,
        other => AdapterError::new(other.kind(), other.to_string()),
    }
}

/// A status as the contract spells it (`pending_cancel`).
fn word(status: &impl serde::Serialize) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Notes what the order path did with one request.
fn noted<T>(trace: &Trace, what: String, r: &Result<T, PathError>, done: impl Fn(&T) -> String) {
    let outcome = match r {
        Ok(v) => done(v),
        Err(e) => format!("refused {} ({}): {e}", e.kind(), e.http_status()),
    };
    trace.record(Actor::Path, format!("{what}: {outcome}"));
}

/// Carries out one step; adapter errors are outcomes (recorded), not failures.
async fn perform(
    loaded: &Loaded,
    index: usize,
    step: &Step,
    live: &[Live],
    path: Option<&Assembly>,
    trace: &Trace,
    outcomes: &mut Outcomes,
) -> Result<(), ReplayError> {
    let id = step.id.clone().unwrap_or_default();
    match step.action {
        Action::Submit => {
            let l = connection(live, step.connection.as_deref())?;
            let order = order_of(step)?;
            let r = match path {
                Some(p) => {
                    let mode = mode_of(step);
                    let conn = gateway::ConnectionId(l.name.clone());
                    let r = p.path.submit(&conn, mode, &order).await;
                    let what = format!("{mode:?} submit {id} at {}", l.name).to_lowercase();
                    noted(trace, what, &r, |o| {
                        format!("order {} {}", o.broker_order_id, word(&o.status))
                    });
                    r.map_err(path_error)
                }
                None => l.trading()?.submit_order(&order).await,
            };
            outcomes.record(&id, r);
        }
        Action::Cancel => {
            let l = connection(live, step.connection.as_deref())?;
            let broker_id = outcomes.orders.get(&id).cloned().unwrap_or_default();
            let r = match path {
                Some(p) => {
                    let mode = mode_of(step);
                    let conn = gateway::ConnectionId(l.name.clone());
                    let r = p.path.cancel(&conn, mode, &broker_id).await;
                    let what = format!("{mode:?} cancel {id} at {}", l.name).to_lowercase();
                    noted(trace, what, &r, |c| word(&c.status));
                    r.map(|_| ()).map_err(path_error)
                }
                None => l.trading()?.cancel_order(&broker_id).await.map(|_| ()),
            };
            if let Err(e) = r {
                outcomes.errors.insert(id.clone(), e);
            }
        }
        Action::SetEnv => {
            let p = path.ok_or("`set_env` needs the order path")?;
            let name = step.name.clone().unwrap_or_default();
            match &step.value {
                Some(value) => {
                    p.env.set(&name, value);
                    trace.record(Actor::Control, format!("set env {name}={value}"));
                }
                None => {
                    p.env.remove(&name);
                    trace.record(Actor::Control, format!("unset env {name}"));
                }
            }
        }
        Action::Revoke => {
            let p = path.ok_or("`revoke` needs the order path")?;
            let l = connection(live, step.connection.as_deref())?;
            let r = p.path.revoke(&gateway::ConnectionId(l.name.clone())).await;
            noted(trace, format!("revoke {}", l.name), &r, |_| {
                "revoked".into()
            });
        }
        Action::Replace => {
            let l = connection(live, step.connection.as_deref())?;
            let broker_id = outcomes.orders.get(&id).cloned().unwrap_or_default();
            let changes = Replace {
                quantity: dec(&step.quantity),
                limit_price: dec(&step.limit_price),
                stop_price: dec(&step.stop_price),
                ..Replace::default()
            };
            outcomes.record(&id, l.trading()?.replace_order(&broker_id, &changes).await);
        }
        Action::Check => {
            let l = connection(live, step.connection.as_deref())?;
            let broker_id = outcomes.orders.get(&id).cloned().unwrap_or_default();
            if let Err(e) = l.trading()?.get_order(&broker_id).await {
                outcomes.errors.insert(id.clone(), e);
            }
        }
        Action::Advance => {
            let ms = i64::try_from(step.ms.unwrap_or(0)).unwrap_or(i64::MAX);
            let targets: Vec<&Live> = match &step.connection {
                Some(c) => vec![connection(live, Some(c))?],
                None => live.iter().collect(),
            };
            for l in targets {
                l.venue.advance(ms).await?;
            }
        }
        Action::SetPrice => {
            let price = dec(&step.price).ok_or("bad price")?;
            let symbol = step.symbol.clone().unwrap_or_default();
            let l = connection(live, step.connection.as_deref())?;
            l.venue.set_price(&symbol, price).await?;
        }
        Action::InjectFault => {
            let l = connection(live, step.connection.as_deref())?;
            let plan = loaded.injected.get(&index).cloned().unwrap_or_default();
            l.venue.set_faults(&plan).await?;
        }
        Action::SetConnection => {
            let l = connection(live, step.connection.as_deref())?;
            let broken = step.broken.unwrap_or(false);
            l.venue.set_connection_broken(&l.account_id, broken).await?;
        }
        Action::Holdings => {
            let l = connection(live, step.connection.as_deref())?;
            let read = match &l.observed {
                Observed::Trading(a) => a.get_holdings().await,
                Observed::ReadOnly(s) => s.get_holdings().await,
            };
            match read {
                Ok(h) => {
                    outcomes.holdings.insert(id, h);
                }
                Err(e) => {
                    outcomes.errors.insert(id, e);
                }
            }
        }
    }
    Ok(())
}

async fn check(
    e: &Expectation,
    live: &[Live],
    path: Option<&Assembly>,
    outcomes: &Outcomes,
) -> ExpectationResult {
    let (expectation, found) = match check_one(e, live, path, outcomes).await {
        Ok((what, None)) => (what, None),
        Ok((what, Some(found))) => (what, Some(found)),
        Err(problem) => ("(could not check)".to_string(), Some(problem.to_string())),
    };
    ExpectationResult {
        passed: found.is_none(),
        expectation,
        found,
    }
}

/// What the expectation says, and what was found instead when it does not hold.
async fn check_one(
    e: &Expectation,
    live: &[Live],
    path: Option<&Assembly>,
    outcomes: &Outcomes,
) -> Result<(String, Option<String>), ReplayError> {
    if e.audit.is_some() {
        let p = path.ok_or("`audit` needs the order path")?;
        let mut what = "the audit chain verifies, every live order after its entry".to_string();
        let mut wrong = p.breaches();
        match p.audit_log() {
            Ok(log) => {
                if let Some(n) = e.entries {
                    what.push_str(&format!(", {n} entries"));
                    if log.len() as u64 != n {
                        wrong.push(format!("{} entries", log.len()));
                    }
                }
            }
            Err(f) => wrong.push(f.message),
        }
        return Ok((what, (!wrong.is_empty()).then(|| wrong.join("; "))));
    }
    if let Some(id) = &e.order {
        let mut what = format!("order {id}");
        let mut wrong = Vec::new();
        // The intent's orders at whichever connection holds them.
        let mut held = Vec::new();
        for l in live {
            let ledger = l.venue.ledger().await?;
            held.extend(
                ledger
                    .orders
                    .into_iter()
                    .filter(|o| &o.intent == id && o.taken),
            );
        }
        let live_orders: Vec<_> = held
            .iter()
            .filter(|o| o.status != mbt::OrderStatus::Replaced)
            .collect();
        let want = e.broker_orders.unwrap_or(1) as usize;
        what.push_str(&format!(" is {want} broker order(s)"));
        if live_orders.len() != want {
            wrong.push(format!("{} broker orders", live_orders.len()));
        }
        if let Some(last) = live_orders.last() {
            if let Some(status) = &e.status {
                what.push_str(&format!(", {status}"));
                let actual = serde_json::to_value(last.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string));
                if actual.as_deref() != Some(status.as_str()) {
                    wrong.push(format!("status {}", actual.unwrap_or_default()));
                }
            }
            if let Some(q) = &e.filled_quantity {
                what.push_str(&format!(", filled {q}"));
                if q.parse::<Decimal>().ok() != Some(last.filled_quantity) {
                    wrong.push(format!("filled {}", last.filled_quantity));
                }
            }
        }
        return Ok((what, (!wrong.is_empty()).then(|| wrong.join(", "))));
    }
    if let Some(id) = &e.error {
        let kind = e.kind.clone().unwrap_or_default();
        let what = format!("step {id} failed with {kind}");
        let found = match outcomes.errors.get(id) {
            Some(err) if err.kind.as_str() == kind => None,
            Some(err) => Some(format!("{}: {}", err.kind, err.message)),
            None => Some("no error".into()),
        };
        return Ok((what, found));
    }
    if let Some(symbol) = &e.position {
        let name = e.connection.as_deref();
        let l = connection(live, name)?;
        let want: Decimal = e
            .quantity
            .as_deref()
            .unwrap_or("0")
            .parse()
            .map_err(|_| "bad quantity")?;
        let what = format!("position {symbol} at {} is {want}", l.name);
        let ledger = l.venue.ledger().await?;
        let account = l.account_id.clone();
        let have: Decimal = ledger
            .accounts
            .iter()
            .filter(|a| a.account_id == account)
            .flat_map(|a| a.positions.iter())
            .filter(|p| p.instrument.to_string() == *symbol)
            .map(|p| p.quantity)
            .sum();
        return Ok((what, (have != want).then(|| have.to_string())));
    }
    if let Some(id) = &e.holdings {
        return Ok(holdings_check(e, id, outcomes));
    }
    if let Some(name) = &e.cash {
        let l = connection(live, Some(name))?;
        let ledger = l.venue.ledger().await?;
        let account = l.account_id.clone();
        let cash = ledger
            .accounts
            .iter()
            .find(|a| a.account_id == account)
            .map(|a| a.cash)
            .ok_or("no account")?;
        let min: Option<Decimal> = e.min.as_deref().and_then(|m| m.parse().ok());
        let max: Option<Decimal> = e.max.as_deref().and_then(|m| m.parse().ok());
        let what = format!(
            "cash at {name} within [{}, {}]",
            min.map_or("-".into(), |m| m.to_string()),
            max.map_or("-".into(), |m| m.to_string())
        );
        let ok = min.is_none_or(|m| cash >= m) && max.is_none_or(|m| cash <= m);
        return Ok((what, (!ok).then(|| cash.to_string())));
    }
    Err("an expectation with nothing to check".into())
}

async fn invariant_problems(l: &Live, trace: &Trace, wire: &[Exchange]) -> Vec<String> {
    let wire: Vec<Exchange> = wire
        .iter()
        .filter(|x| x.broker == l.name)
        .cloned()
        .collect();
    match check_invariants(&l.observed, &l.venue, trace, &wire).await {
        Ok(violations) => violations
            .into_iter()
            .map(|v| format!("{}: invariant: {v}", l.name))
            .collect(),
        Err(e) => vec![e.to_string()],
    }
}

/// A `holdings` expectation against what its read answered: the quantity
/// of a symbol, and the time the answer says it is as of.
fn holdings_check(e: &Expectation, id: &str, outcomes: &Outcomes) -> (String, Option<String>) {
    let mut what = format!("holdings read {id}");
    let Some(h) = outcomes.holdings.get(id) else {
        let why = outcomes
            .errors
            .get(id)
            .map_or("no answer".to_string(), |e| {
                format!("{}: {}", e.kind, e.message)
            });
        return (what, Some(why));
    };
    let mut wrong = Vec::new();
    if let (Some(symbol), Some(q)) = (&e.symbol, &e.quantity) {
        what.push_str(&format!(" holds {q} {symbol}"));
        let have: Decimal = h
            .positions
            .iter()
            .filter(|p| p.instrument.to_string() == *symbol)
            .map(|p| p.quantity)
            .sum();
        if q.parse::<Decimal>().ok() != Some(have) {
            wrong.push(format!("{have} {symbol}"));
        }
    }
    let as_of = h.as_of.as_deref().and_then(|t| {
        chrono::DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|t| mbt::Timestamp::from_datetime(t.into()))
    });
    let at = |ms: u64| DEFAULT_EPOCH.plus_millis(i64::try_from(ms).unwrap_or(i64::MAX));
    for (bound, before) in [(e.as_of_before_ms, true), (e.as_of_after_ms, false)] {
        let Some(ms) = bound else { continue };
        let word = if before { "before" } else { "after" };
        what.push_str(&format!(", as of {word} {ms} ms"));
        let ok = as_of.is_some_and(|t| if before { t <= at(ms) } else { t >= at(ms) });
        if !ok {
            wrong.push(format!(
                "as of {}",
                h.as_of.as_deref().unwrap_or("(not said)")
            ));
        }
    }
    (what, (!wrong.is_empty()).then(|| wrong.join(", ")))
}
