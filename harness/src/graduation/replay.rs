//! Replays a graduation: each connection's strategies trade its MBT paper
//! account bar by bar until the paper-first gate opens for it, then its
//! live broker (the broker's model, through the gateway's order path, with
//! the faults of the file on the timeline).
//!
//! Each bar the whole world jumps to the bar's time (the brokers' clocks,
//! the adapters' and the order path's: what an order sent at one bar
//! meets, its acceptance and its fills, happens on the way to the next at
//! its own moment, and tokens age as they would), the market moves (the
//! paper engine and every broker's model are quoted the bar's prices and
//! hold them until the next), a fault due at that bar is thrown, and the
//! traders step.

use std::collections::BTreeMap;
use std::time::Duration;

use adapters::{Order, OrderResult};
use broker_models::faults::FaultPlan;
use chrono::{DateTime, Utc};
use gateway::kill::Mode;
use gateway::rules::Rules;
use gateway::trader::{Happened, Trader};
use gateway::{Connection, ConnectionId};
use mbt::Instrument;
use rust_decimal::Decimal;

use super::market::Bar;
use super::{Graduation, Loaded};
use crate::brokers::Built;
use crate::order_path::{endpoint, Assembly, Endpoint};
use crate::subject::Subject;
use crate::venue::Venue;
use crate::world::{run_world, ClientEnv, WorldSpec};

/// When and why the gate opened.
#[derive(Debug, Clone, PartialEq)]
pub struct Graduated {
    pub day: u32,
    pub bar: u32,
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// Where the gate left one of the household's other connections.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub broker: String,
    pub graduated: Option<Graduated>,
    pub gate: String,
    pub trades: bool,
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub day: u32,
    pub bar: u32,
    pub at: DateTime<Utc>,
    /// `market`, `fault`, `paper`, `gate` or `live`.
    pub kind: &'static str,
    pub text: String,
}

impl Line {
    fn at(bar: &Bar, kind: &'static str, text: String) -> Line {
        Line {
            day: bar.day,
            bar: bar.bar,
            at: bar.at,
            kind,
            text,
        }
    }
}

/// The state of the journey at one bar, for the report's charts.
#[derive(Debug, Clone, PartialEq)]
pub struct BarState {
    pub day: u32,
    pub bar: u32,
    pub at: DateTime<Utc>,
    /// Each symbol's price.
    pub prices: BTreeMap<String, Decimal>,
    /// The mark of each option the strategies trade: the paper market's
    /// quote, priced from its underlying at the bar's time.
    pub options: BTreeMap<Instrument, Decimal>,
    pub paper_pnl: Decimal,
    pub live_pnl: Decimal,
    /// Paper cycles the gate counted so far.
    pub cycles: u32,
}

impl BarState {
    /// Every instrument's mark: the symbols' prices and the options'.
    pub fn marks(&self) -> BTreeMap<Instrument, Decimal> {
        self.prices
            .iter()
            .map(|(s, p)| (Instrument::equity(s.as_str()), *p))
            .chain(self.options.clone())
            .collect()
    }
}

/// A fill the trader saw, at the bar it saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct FillMark {
    /// Index into [`Journey::bars`].
    pub index: usize,
    pub live: bool,
    /// The underlying's symbol.
    pub symbol: String,
    pub side: adapters::Side,
    pub price: Decimal,
}

/// What a replay found.
#[derive(Debug, Clone)]
pub struct Journey {
    pub name: String,
    pub title: String,
    pub description: String,
    pub seed: u64,
    pub broker: String,
    /// The symbols the strategies trade, in the file's order.
    pub traded: Vec<String>,
    pub lines: Vec<Line>,
    pub bars: Vec<BarState>,
    pub fills: Vec<FillMark>,
    /// The gate's required paper cycles.
    pub required_cycles: u32,
    pub graduated: Option<Graduated>,
    /// The gate's last word (its reason), graduated or not.
    pub gate: String,
    /// Whether the connection can place orders at all (a Tier C one
    /// cannot, whatever the gate says).
    pub trades: bool,
    /// The same for the household's other connections.
    pub household: Vec<Outcome>,
    pub paper: Book,
    pub live: Book,
    /// Why the replay could not finish, if it could not.
    pub problem: Option<String>,
}

/// One mode's orders and their fills, marked to the last bar.
#[derive(Debug, Clone, Default)]
pub struct Book {
    orders: BTreeMap<String, (Order, Option<OrderResult>)>,
    refused: usize,
    /// The units held of each instrument (an option's in shares, a
    /// spread's leg by leg), kept as fills land so that marking the book
    /// each bar reads no order.
    held: BTreeMap<Instrument, Decimal>,
    /// What every fill cost (negative: brought in).
    cost: Decimal,
}

impl Book {
    fn note(&mut self, h: &Happened) {
        match h {
            Happened::Fired { order, .. } => {
                self.orders
                    .entry(order.client_order_id.clone())
                    .or_insert((order.clone(), None));
            }
            Happened::Answered { result } | Happened::Changed { result } => {
                let Some((order, last)) = self.orders.get_mut(&result.client_order_id) else {
                    return;
                };
                let was = filled(last.as_ref());
                let now = filled(Some(result));
                *last = Some(result.clone());
                let (quantity, price) = (now.0 - was.0, now.1 - was.1);
                for (instrument, per_order) in units(order) {
                    *self.held.entry(instrument).or_default() += per_order * quantity;
                }
                self.cost += order.side.sign() * multiplier(order) * price;
            }
            Happened::Refused { .. } => self.refused += 1,
            Happened::CancelAsked { .. } => {}
        }
    }

    /// Orders that filled (wholly or in part).
    pub fn filled(&self) -> usize {
        self.orders
            .values()
            .filter(|(_, r)| {
                r.as_ref()
                    .is_some_and(|r| r.filled_quantity > Decimal::ZERO)
            })
            .count()
    }

    pub fn refused(&self) -> usize {
        self.refused
    }

    /// One of the book's orders.
    fn order(&self, cid: &str) -> Option<&Order> {
        self.orders.get(cid).map(|(o, _)| o)
    }

    /// What every fill made or lost, what is still held valued at its
    /// mark.
    pub fn pnl(&self, marks: &BTreeMap<Instrument, Decimal>) -> Decimal {
        let value: Decimal = self
            .held
            .iter()
            .map(|(instrument, units)| marks.get(instrument).map_or(Decimal::ZERO, |m| units * m))
            .sum();
        (value - self.cost).round_dp(2)
    }
}

/// An order's fills so far: the quantity, and the quantity times the
/// average price.
fn filled(result: Option<&OrderResult>) -> (Decimal, Decimal) {
    match result {
        Some(OrderResult {
            average_fill_price: Some(price),
            filled_quantity,
            ..
        }) => (*filled_quantity, filled_quantity * price),
        _ => (Decimal::ZERO, Decimal::ZERO),
    }
}

/// The units of each instrument one of the order's quantity moves: a
/// spread's legs, each on its own side and ratio, else the instrument.
fn units(order: &Order) -> Vec<(Instrument, Decimal)> {
    let m = multiplier(order);
    match &order.legs {
        Some(legs) => legs
            .iter()
            .map(|l| (l.instrument.clone(), l.side.sign() * l.ratio_quantity * m))
            .collect(),
        None => vec![(order.instrument.clone(), order.side.sign() * m)],
    }
}

/// Shares per unit of the order (a spread's, its legs' contracts).
fn multiplier(order: &Order) -> Decimal {
    order.legs.as_ref().and_then(|l| l.first()).map_or_else(
        || order.instrument.multiplier(),
        |l| l.instrument.multiplier(),
    )
}

impl Journey {
    /// The timeline, then the decision: the same file gives the same bytes.
    pub fn timeline(&self) -> String {
        let mut out = format!(
            "graduation {} (seed {}, {}): {}\n",
            self.name, self.seed, self.broker, self.title
        );
        if !self.description.is_empty() {
            out.push_str(&format!("{}\n", self.description));
        }
        for l in &self.lines {
            out.push_str(&format!(
                "day {:>3} bar {:>2}  {}  {:<6} {}\n",
                l.day,
                l.bar,
                l.at.format("%Y-%m-%d %H:%M"),
                l.kind,
                l.text
            ));
        }
        out.push_str(&self.decision());
        out
    }

    /// The rows of every connection: the user's, then the household's.
    pub fn connections(&self) -> Vec<&str> {
        std::iter::once(self.broker.as_str())
            .chain(self.household.iter().map(|o| o.broker.as_str()))
            .collect()
    }

    /// Every instrument's mark at the last bar.
    pub fn marks(&self) -> BTreeMap<Instrument, Decimal> {
        self.bars.last().map(BarState::marks).unwrap_or_default()
    }

    /// The outcome in a few lines a non-engineer reads first.
    pub fn decision(&self) -> String {
        // A household's decisions each name their connection.
        let whose = match self.household.is_empty() {
            true => String::new(),
            false => format!("{} ", self.broker),
        };
        let mut out = match &self.graduated {
            Some(g) => format!(
                "decision: {whose}graduated on day {} bar {} ({}): {}\n",
                g.day,
                g.bar,
                g.at.format("%Y-%m-%d %H:%M"),
                g.reason
            ),
            None => format!("decision: {whose}not graduated: {}\n", self.gate),
        };
        if !self.trades {
            out.push_str(&read_only(&self.broker));
        }
        for o in &self.household {
            out.push_str(&match &o.graduated {
                Some(g) => format!(
                    "          {} graduated on day {} bar {}: {}\n",
                    o.broker, g.day, g.bar, g.reason
                ),
                None => format!("          {} not graduated: {}\n", o.broker, o.gate),
            });
            if !o.trades {
                out.push_str(&read_only(&o.broker));
            }
        }
        let marks = self.marks();
        out.push_str(&format!(
            "paper: {} orders filled, P&L {}\n",
            self.paper.filled(),
            self.paper.pnl(&marks)
        ));
        out.push_str(&format!(
            "live:  {} orders filled, {} refused, P&L {}\n",
            self.live.filled(),
            self.live.refused(),
            self.live.pnl(&marks)
        ));
        if let Some(p) = &self.problem {
            out.push_str(&format!("problem: {p}\n"));
        }
        out
    }
}

/// Replays a loaded graduation in its own simulated world.
pub fn replay(loaded: &Loaded) -> Journey {
    let g = &loaded.graduation;
    let bars = loaded.bars.clone();
    let mut spec = WorldSpec::new(g.seed);
    // The rows were checked when the file was loaded.
    for (row, _) in g.connections() {
        if let Some(entry) = crate::brokers::find(row) {
            spec = spec.broker(entry.vendor.slug, FaultPlan::default());
        }
    }
    spec.duration = Duration::from_secs(120 + 3 * bars.len() as u64);
    spec.tick = Duration::from_millis(50);
    // The brokers quote the file's symbols only, held at each bar's prices
    // between bars (quoted every five minutes, so that a working order
    // still meets market events), and nothing else: live and paper see one
    // market.
    spec.market = mbt::MarketSpec {
        symbols: bars.first().map(|b| b.prices.clone().into_iter().collect()),
        annual_volatility: Some(Decimal::ZERO),
        quote_every_ms: Some(300_000),
        ..mbt::MarketSpec::default()
    };
    let mut journey = Journey {
        name: loaded.name.clone(),
        title: g.title.clone(),
        description: g.description.clone(),
        seed: g.seed,
        broker: g.broker.clone(),
        traded: traded(&g.strategies),
        lines: Vec::new(),
        bars: Vec::new(),
        fills: Vec::new(),
        required_cycles: g.gate.required_cycles,
        graduated: None,
        gate: String::new(),
        trades: true,
        household: Vec::new(),
        paper: Book::default(),
        live: Book::default(),
        problem: None,
    };
    let for_world = (loaded.clone(), journey.clone());
    let run = run_world(&spec, move |env| async move {
        let (loaded, mut journey) = for_world;
        let outcome = travel(&loaded, &bars, env, &mut journey).await;
        if let Err(why) = outcome {
            journey.problem = Some(why);
        }
        journey
    });
    match run.result {
        Ok(j) => j,
        Err(e) => {
            journey.problem = Some(e.to_string());
            journey
        }
    }
}

async fn travel(
    loaded: &Loaded,
    bars: &[Bar],
    env: ClientEnv,
    journey: &mut Journey,
) -> Result<(), String> {
    let g = &loaded.graduation;
    let (mut seats, endpoints) = connect(g, &env)?;
    let named = seats.len() > 1;
    let first = bars.first().ok_or("the market has no bars")?;
    let options = options_traded(&g.strategies);
    let opening: Vec<(String, Decimal)> = first.prices.clone().into_iter().collect();
    let path = Assembly::new(endpoints, g.seed, None, first.at, &opening, g.gate.clone())
        .map_err(|f| f.message)?;
    for bar in bars {
        let prices: Vec<(String, Decimal)> = bar.prices.clone().into_iter().collect();
        jump_to(bar.at, &prices, &env, &seats, &path).await?;
        let line = |kind, text| Line::at(bar, kind, text);
        for (fault, plan) in g.faults.iter().zip(&loaded.plans) {
            if (fault.day, fault.bar) == (bar.day, bar.bar) {
                let struck = fault.broker.as_deref().unwrap_or(&g.broker);
                if let Some(seat) = seats.iter().find(|s| s.row == struck) {
                    seat.venue
                        .set_faults(plan)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                journey.lines.push(line("fault", fault.label.clone()));
            }
        }
        let options: BTreeMap<Instrument, Decimal> = options
            .iter()
            .filter_map(|o| Some((o.clone(), path.paper_mark(o)?)))
            .collect();
        let mut quoted: Vec<String> = bar.prices.iter().map(|(s, p)| format!("{s} {p}")).collect();
        quoted.extend(
            options
                .iter()
                .map(|(o, p)| format!("{o} {}", p.normalize())),
        );
        journey.lines.push(line("market", quoted.join(", ")));
        let state = BarState {
            day: bar.day,
            bar: bar.bar,
            at: bar.at,
            paper_pnl: Decimal::ZERO,
            live_pnl: Decimal::ZERO,
            prices: bar.prices.clone(),
            options,
            cycles: 0,
        };
        let marks = state.marks();
        let index = journey.bars.len();
        for seat in &mut seats {
            let row = seat.row.clone();
            let whose = |text| says(named, &row, text);
            let (traders, book, kind) = match seat.live.as_mut() {
                Some(t) => (t, &mut journey.live, "live"),
                None => (&mut seat.paper, &mut journey.paper, "paper"),
            };
            for trader in traders.iter_mut() {
                for h in trader.step(&path.path, bar.at, marks.clone()).await {
                    book.note(&h);
                    journey
                        .fills
                        .extend(fill_mark(index, kind == "live", book, &bar.prices, &h));
                    journey.lines.push(line(kind, whose(said(&h))));
                }
            }
        }
        ask_the_gate(&mut seats, &path, bar, named, &mut journey.lines)?;
        journey.bars.push(BarState {
            paper_pnl: journey.paper.pnl(&marks),
            live_pnl: journey.live.pnl(&marks),
            cycles: seats.first().map_or(0, |s| s.cycles),
            ..state
        });
    }
    // What the last bar left working lands before the books are read.
    if let Some(last) = bars.last() {
        // The last bar's prices still stand.
        let prices: Vec<(String, Decimal)> = last.prices.clone().into_iter().collect();
        jump_to(
            last.at + chrono::Duration::minutes(SETTLE_MINUTES),
            &prices,
            &env,
            &seats,
            &path,
        )
        .await?;
    }
    for seat in &mut seats {
        let (traders, book) = match seat.live.as_mut() {
            Some(t) => (t, &mut journey.live),
            None => (&mut seat.paper, &mut journey.paper),
        };
        for trader in traders.iter_mut() {
            for h in trader.settle(&path.path).await {
                book.note(&h);
            }
        }
    }
    let mut seats = seats.into_iter();
    if let Some(main) = seats.next() {
        journey.graduated = main.graduated;
        journey.gate = main.gate;
        journey.trades = main.trades;
    }
    journey.household = seats
        .map(|s| Outcome {
            broker: s.row,
            graduated: s.graduated,
            gate: s.gate,
            trades: s.trades,
        })
        .collect();
    Ok(())
}

/// Minutes the world runs on after the last bar, for what it left working.
const SETTLE_MINUTES: i64 = 2;

/// The longest jump a broker's clock takes at once (its control surface
/// takes at most eight days).
const LONGEST_JUMP_MS: i64 = 7 * 24 * 3_600_000;

/// Moves the whole world to `at` (never back): the brokers' clocks, the
/// adapters' and the order path's; whatever the brokers had working
/// meets their market on the way, at its own moment. Then the brokers
/// quote `prices` there (one request each: the market's next moment).
async fn jump_to(
    at: DateTime<Utc>,
    prices: &[(String, Decimal)],
    env: &ClientEnv,
    seats: &[Seat],
    path: &Assembly,
) -> Result<(), String> {
    let mut ms = (at.timestamp_millis() - adapters::http::Clock::now_ms(&env.clock)).max(0);
    loop {
        let step = ms.min(LONGEST_JUMP_MS);
        let last = step == ms;
        for seat in seats {
            let moved = match last {
                true => seat.venue.advance_to_prices(step, prices).await,
                false => seat.venue.advance(step).await,
            };
            moved.map_err(|e| e.to_string())?;
        }
        env.clock.skip(step);
        ms -= step;
        if last {
            break;
        }
    }
    path.jump_to(at);
    for (symbol, price) in prices {
        path.set_paper_price(symbol, *price);
    }
    Ok(())
}

/// Each connection of the file built in the world: its seat, and its
/// endpoint for the order path.
fn connect(g: &Graduation, env: &ClientEnv) -> Result<(Vec<Seat>, Vec<Endpoint>), String> {
    let mut seats = Vec::new();
    let mut endpoints = Vec::new();
    for (row, strategies) in g.connections() {
        let subject = Subject::parse(row).map_err(|e| e.to_string())?;
        let (built, venue) = subject.build(env).map_err(|e| e.to_string())?;
        let (adapter, source) = match built {
            Built::Trading(a) => (Some(crate::intents::declaring(a, env.wire.clone())), None),
            Built::ReadOnly(s) => (None, Some(s)),
        };
        let end = endpoint(row, &venue, adapter, source)?;
        seats.push(Seat::new(row, &end.connection, venue, &strategies)?);
        endpoints.push(end);
    }
    Ok((seats, endpoints))
}

/// Asks the gate for each connection still on paper, once every
/// connection's bar is done (a cycle completed at one counts for the
/// others at the same bar); one it opens for goes live.
fn ask_the_gate(
    seats: &mut [Seat],
    path: &Assembly,
    bar: &Bar,
    named: bool,
    lines: &mut Vec<Line>,
) -> Result<(), String> {
    for seat in seats.iter_mut().filter(|s| s.live.is_none()) {
        let whose = |text| says(named, &seat.row, text);
        let decision = path.path.decision(&seat.id).map_err(|e| e.to_string())?;
        let counted = std::mem::replace(&mut seat.cycles, decision.completed);
        if decision.open {
            lines.push(Line::at(
                bar,
                "gate",
                whose(format!("opens: {}", decision.reason)),
            ));
            seat.graduated = Some(Graduated {
                day: bar.day,
                bar: bar.bar,
                at: bar.at,
                reason: decision.reason.clone(),
            });
            seat.go_live()?;
        } else if decision.completed != counted {
            lines.push(Line::at(
                bar,
                "gate",
                whose(format!("stays closed: {}", decision.reason)),
            ));
        }
        seat.gate = decision.reason;
    }
    Ok(())
}

/// One connection of the replay: its strategies' traders, paper until
/// the gate opens for it, then live.
struct Seat {
    row: String,
    id: ConnectionId,
    venue: Venue,
    strategies: Vec<gateway::rules::Strategy>,
    paper: Vec<Trader>,
    live: Option<Vec<Trader>>,
    cycles: u32,
    graduated: Option<Graduated>,
    gate: String,
    trades: bool,
}

impl Seat {
    fn new(
        row: &str,
        connection: &Connection,
        venue: Venue,
        strategies: &[&gateway::rules::Strategy],
    ) -> Result<Seat, String> {
        let strategies: Vec<_> = strategies.iter().map(|s| (*s).clone()).collect();
        let id = connection.id.clone();
        Ok(Seat {
            paper: traders(&id, Mode::Paper, &strategies)?,
            row: row.to_string(),
            trades: connection.may_trade(),
            id,
            venue,
            strategies,
            live: None,
            cycles: 0,
            graduated: None,
            gate: String::new(),
        })
    }

    fn go_live(&mut self) -> Result<(), String> {
        self.live = Some(traders(&self.id, Mode::Live, &self.strategies)?);
        Ok(())
    }
}

/// What a graduation means for a connection that never trades.
fn read_only(broker: &str) -> String {
    format!(
        "          but {broker} is read-only (Tier C): it can be viewed, never traded, \
         whatever the gate says\n"
    )
}

/// A line's text, saying whose it is when the household has several
/// connections.
fn says(named: bool, row: &str, text: String) -> String {
    match named {
        true => format!("{row}: {text}"),
        false => text,
    }
}

/// A trader for each strategy, through `id` in `mode`.
fn traders(
    id: &ConnectionId,
    mode: Mode,
    strategies: &[gateway::rules::Strategy],
) -> Result<Vec<Trader>, String> {
    strategies
        .iter()
        .map(|s| {
            let rules = Rules::new(s.clone()).map_err(|e| e.to_string())?;
            Ok(Trader::new(id.clone(), mode, rules))
        })
        .collect()
}

/// The symbols `strategies` trade (an option's, its underlying), each
/// once, in their order.
fn traded(strategies: &[gateway::rules::Strategy]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in strategies {
        if let Some(symbol) = super::underlying(&s.trade) {
            if !out.contains(&symbol) {
                out.push(symbol);
            }
        }
    }
    out
}

/// The options `strategies` trade, a spread's legs each, once.
fn options_traded(strategies: &[gateway::rules::Strategy]) -> Vec<Instrument> {
    let mut out: Vec<Instrument> = Vec::new();
    for occ in strategies.iter().flat_map(|s| super::series(&s.trade)) {
        let o = Instrument::option(occ);
        if !out.contains(&o) {
            out.push(o);
        }
    }
    out
}

/// A fill shown by a trader's event (a new or changed order with a fill).
/// An option's or a spread's fill is drawn where its underlying was: the
/// chart's scale is the underlying's price, not a premium's.
fn fill_mark(
    index: usize,
    live: bool,
    book: &Book,
    prices: &BTreeMap<String, Decimal>,
    h: &Happened,
) -> Option<FillMark> {
    let (Happened::Answered { result } | Happened::Changed { result }) = h else {
        return None;
    };
    let price = result
        .average_fill_price
        .filter(|_| result.filled_quantity > Decimal::ZERO)?;
    let order = book.order(&result.client_order_id)?;
    let symbol = order.instrument.underlying().to_string();
    let price = match (&order.instrument, &order.legs) {
        (Instrument::Equity { .. }, None) => price,
        _ => *prices.get(&symbol)?,
    };
    Some(FillMark {
        index,
        live,
        symbol,
        side: order.side,
        price,
    })
}

/// A trader's event as the timeline says it.
fn said(h: &Happened) -> String {
    match h {
        Happened::Fired { order, again } => format!(
            "{} {}: {} {} {} {}{}",
            if *again { "sends again" } else { "fires" },
            order.client_order_id,
            word(&order.side),
            order.quantity,
            traded_as(order),
            word(&order.order_type),
            order
                .limit_price
                .map(|p| format!(" at {p}"))
                .unwrap_or_default()
        ),
        Happened::Answered { result } => {
            format!(
                "{}: {} ({})",
                result.client_order_id,
                state(result),
                result.broker_status
            )
        }
        Happened::Changed { result } => format!("{}: {}", result.client_order_id, state(result)),
        Happened::Refused {
            client_order_id,
            kind,
            http_status,
            message,
        } => format!("{client_order_id} refused, {kind} ({http_status}): {message}"),
        Happened::CancelAsked { client_order_id } => {
            format!("{client_order_id}: waited too long, cancel asked")
        }
    }
}

/// What an order trades, as the timeline names it: the symbol, the
/// option's OCC symbol, or a spread's legs.
fn traded_as(order: &Order) -> String {
    match &order.legs {
        Some(legs) => {
            let legs: Vec<String> = legs
                .iter()
                .map(|l| format!("{} {} {}", word(&l.side), l.ratio_quantity, l.instrument))
                .collect();
            format!(
                "{} spread ({})",
                order.instrument.underlying(),
                legs.join(", ")
            )
        }
        None => order.instrument.to_string(),
    }
}

fn state(r: &OrderResult) -> String {
    match r.average_fill_price {
        Some(price) if r.filled_quantity > Decimal::ZERO => format!(
            "{} {} @ {}",
            word(&r.status),
            r.filled_quantity,
            // An average over partial fills can run to 28 places.
            price.round_dp(4).normalize()
        ),
        _ => word(&r.status),
    }
}

fn word(v: &impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use adapters::{Leg, OrderStatus, Side};
    use rust_decimal_macros::dec;

    fn occ(s: &str) -> Instrument {
        Instrument::option(s.parse().expect("an OCC symbol"))
    }

    /// The trader's events for `order` filled at `price`.
    fn traded(book: &mut Book, order: Order, price: Decimal) {
        let result = OrderResult {
            broker_order_id: format!("b-{}", order.client_order_id),
            client_order_id: order.client_order_id.clone(),
            status: OrderStatus::Filled,
            filled_quantity: order.quantity,
            remaining_quantity: Decimal::ZERO,
            average_fill_price: Some(price),
            reject_reason: None,
            broker_status: "filled".into(),
        };
        book.note(&Happened::Fired {
            order,
            again: false,
        });
        book.note(&Happened::Answered { result });
    }

    #[test]
    fn an_option_is_marked_a_hundred_shares_a_contract() {
        let call = occ("AAPL  260220C00190000");
        let mut book = Book::default();
        let mut buy = Order::market("call-1-entry", "", Side::Buy, dec!(2));
        buy.instrument = call.clone();
        traded(&mut book, buy, dec!(6.64));
        let marks = BTreeMap::from([(call.clone(), dec!(7.00))]);
        // Two contracts, 36 cents each over what they cost.
        assert_eq!(book.pnl(&marks), dec!(72.00));
        let mut sell = Order::market("call-1-exit", "", Side::Sell, dec!(2));
        sell.instrument = call;
        traded(&mut book, sell, dec!(8.15));
        // Flat: what the round trip made, whatever the mark.
        assert_eq!(book.pnl(&marks), dec!(302.00));
        assert_eq!(book.pnl(&BTreeMap::new()), dec!(302.00));
    }

    #[test]
    fn a_credit_spread_is_marked_leg_by_leg() {
        let (short, long) = (occ("AAPL  260220P00185000"), occ("AAPL  260220P00180000"));
        let leg = |instrument: &Instrument, side| Leg {
            instrument: instrument.clone(),
            side,
            position_effect: None,
            ratio_quantity: Decimal::ONE,
        };
        let mut book = Book::default();
        let mut open = Order::market("spread-1-entry", "AAPL", Side::Sell, dec!(1));
        open.legs = Some(vec![leg(&short, Side::Sell), leg(&long, Side::Buy)]);
        // Sold for a 1.67 credit: 167 brought in.
        traded(&mut book, open, dec!(1.67));
        let marks = BTreeMap::from([(short.clone(), dec!(5.00)), (long.clone(), dec!(3.80))]);
        // Worth 1.20 to buy back now: 47 made so far.
        assert_eq!(book.pnl(&marks), dec!(47.00));
        let mut close = Order::market("spread-1-exit", "AAPL", Side::Buy, dec!(1));
        close.legs = Some(vec![leg(&short, Side::Buy), leg(&long, Side::Sell)]);
        traded(&mut book, close, dec!(2.25));
        assert_eq!(book.pnl(&marks), dec!(-58.00));
    }
}
