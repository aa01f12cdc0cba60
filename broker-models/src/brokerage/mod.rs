//! `SimBrokerage`: one simulated brokerage over an MBT venue. It keeps what
//! a broker keeps beyond executions — vendor order ids and the book of
//! every order received (`book`), broker events (`events`), what it does
//! later on its own (`schedule`), what an account holder does there on
//! their own (`holder`), credentials and tokens, rate-limit windows, fault
//! decisions — and answers with the ground truth (`ledger`).
//!
//! Wire faces (one per vendor) translate HTTP to these calls and back; they
//! never touch the engine directly. Vendor differences the core must know
//! (a modify that keeps the order's id, a cancel that lands later) are
//! profile data, never a face passing a flag.

mod book;
mod connections;
mod events;
mod groups;
mod holder;
mod ledger;
mod marks;
mod schedule;
mod tokens;
mod working;

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use mbt::engine::{AccountView, EngineError, ReplaceRequest, SubmitOptions};
use mbt::rng::rng_for;
use mbt::{
    Engine, EngineConfig, EngineEvent, Instrument, MarketSpec, OpeningAccount, OrderRequest,
    OrderStatus, Position, Rejection, Timestamp, Venue,
};

use crate::clock::SimClock;
use crate::credentials::Credentials;
use crate::faults::{
    Decision, FaultInjector, FaultPlan, FaultRule, Operation, OrderFaults, OrderMatch, Outcome,
    PlanError, StreamFaults, Trigger,
};
use crate::ids::IdGen;
use crate::profile::BrokerProfile;
use crate::ratelimit::{RateLimiter, RateState};
use crate::vendor::Vendor;

pub use book::BrokerOrder;
pub use connections::{Change, ConnectionChange, ConnectionView};
pub use events::{BrokerEvent, BrokerEventKind, OrderState, Trailing};
pub use groups::OrderClass;
pub use holder::{Holder, HolderActivity, HolderActivityKind, HolderProgram, Snapshot};
pub use ledger::{FaultRecord, Ledger, LedgerOrder, OrderAttempt, ThrottleBreach};
pub use tokens::{Grant, TokenProblem};
pub use working::WorkingOf;

use book::OrderBook;
use connections::Connections;
use events::Events;
use groups::{Group, Stage};
use marks::MarkHistory;
use schedule::{Action, Schedule};
use tokens::Tokens;

/// Why a broker call failed, in vendor-neutral terms; each face renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerError {
    NotFound,
    /// The order is in a state that no longer allows this (filled, canceled, …).
    NotCancelable(OrderStatus),
    Rejected(Rejection),
    UnknownAccount,
}

pub struct SimBrokerage {
    vendor: &'static Vendor,
    profile: BrokerProfile,
    seed: u64,
    clock: SimClock,
    venue: Venue,
    /// Where prices come from (kept so that a reset starts the same market).
    market: MarketSpec,
    book: OrderBook,
    /// How many orders were not known to have ended after the last full
    /// sweep for ended ones (`collect_events`).
    swept_open: usize,
    events: Events,
    schedule: Schedule,
    /// Draws the client order ids a broker generates when a client sends none.
    client_ids: mbt::rng::SimRng,
    /// Every fault the plan applied, in order.
    fault_log: Vec<FaultRecord>,
    faults: FaultInjector,
    /// When the fault plan was installed: its windows count from here.
    plan_since: Timestamp,
    limits: RateLimiter,
    ids: IdGen,
    credentials: Credentials,
    /// Guards the `/_sim/` control surface (see `control`).
    control_token: String,
    /// The OAuth token lifecycle, for brokers whose profile gives token
    /// lifetimes; None for API keys and personal tokens.
    tokens: Option<Tokens>,
    /// Orders received so far (the ordinal order-matching fault rules count).
    received: u64,
    /// Draws acceptance delays and late rejections.
    acceptance_rng: mbt::rng::SimRng,
    /// Brackets, OTO and OCO groups, oldest first.
    groups: Vec<Group>,
    /// The OCO whose members `submit_group` is submitting (vendor ids so
    /// far): alternatives to the next one before the group is complete.
    forming_oco: Vec<String>,
    /// The intent the harness declared for the orders it sends next: the
    /// ledger records them under it, whatever label the wire carries (none
    /// at Schwab, an encoding of the caller's id in a Tradier tag).
    intent: String,
    /// The account holder's own activity, where the profile has a program.
    holder: Option<Holder>,
    /// The market's past prices, where the profile keeps them.
    marks: Option<MarkHistory>,
    /// Order-shaped requests that reached a read-only broker.
    order_attempts: Vec<OrderAttempt>,
    /// The user revoked the connection's grant at the vendor (Plaid's
    /// `/item/remove` of the served Item): nothing reads it any more.
    grant_revoked: bool,
    /// Until when the broker last asked clients to wait (a 429).
    wait_until: Option<Timestamp>,
    throttle_breaches: Vec<ThrottleBreach>,
    /// The user's connections at an aggregator, one per brokerage behind it.
    connections: Connections,
    /// What a served model keeps of ended orders; None keeps everything,
    /// as a simulation run must (its invariants read every order).
    retention: Option<Retention>,
    /// Each account's positions as the log entries forgotten left them
    /// (quantities and cost): where `positions_at` starts from.
    forgotten_positions: BTreeMap<String, mbt::Account>,
    /// How many times `reset` started the brokerage over: what a face's
    /// own tables (SnapTrade's checked trades) compare to know that what
    /// they hold belongs to a brokerage day that is gone.
    resets: u64,
}

/// How many ended orders a served model keeps, and when it next looks.
#[derive(Debug, Clone, Copy)]
struct Retention {
    keep: usize,
    /// Forgetting runs once the book holds more than this many orders: a
    /// dozen at a time, so that no one request pays for many (a quarter
    /// of `keep` at once cost the request that ran it 6-14 ms under `wrk`,
    /// the served POST's p99; 55 at a time, about 0.5 ms). A round costs
    /// little beyond its orders: the logs' fronts move without copying
    /// (`mbt::tail`).
    next_at: usize,
}

impl Retention {
    /// When to look again, with `kept` orders in the book now.
    fn next_after(keep: usize, kept: usize) -> usize {
        kept.saturating_add(keep / 1024).saturating_add(4)
    }
}

/// Broker events and log entries kept per ended order kept: an order has
/// about three (new, fill or cancel, and the odd partial fill).
const ENTRIES_PER_ORDER: usize = 4;

/// How a taken order ended before it reached the venue.
enum End {
    Rejected(Rejection),
    Canceled,
}

impl SimBrokerage {
    /// A brokerage of `vendor` whose market is `market` (generator
    /// parameters or recorded bars); an error says what is wrong.
    pub fn new(
        vendor: &'static Vendor,
        seed: u64,
        clock: SimClock,
        plan: FaultPlan,
        market: MarketSpec,
    ) -> Result<Self, String> {
        let profile = vendor.profile().map_err(|e| e.to_string())?;
        let start = clock.now();
        let config = EngineConfig {
            // Brokers' paper engines fill against the quote without checking
            // the displayed size (Alpaca documents it); partial fills come
            // from fault plans and per-request triggers.
            fill: mbt::fill::FillModel {
                limited_by_displayed_size: false,
                ..Default::default()
            },
            fees: profile.fees.clone(),
            account_fees: profile
                .downstream
                .iter()
                .filter_map(|d| d.fees.as_ref().map(|f| (d, f)))
                .flat_map(|(d, f)| d.accounts.iter().map(|a| (a.clone(), f.clone())))
                .collect(),
            queue_when_closed: profile.queue_when_closed,
            fractional: profile.capabilities.fractional,
            ..EngineConfig::default()
        };
        let accounts: Vec<OpeningAccount> = profile
            .accounts
            .iter()
            .map(|a| OpeningAccount {
                number: a.number.clone(),
                kind: a.kind,
                cash: a.cash,
            })
            .collect();
        let venue = Venue::new(config, seed, start, &market, &accounts)?;
        let marks = (profile.marks_kept_ms > 0)
            .then(|| MarkHistory::new(profile.marks_kept_ms, venue.engine()));
        let slug = vendor.slug;
        let credentials = Credentials::generate(
            vendor.credentials,
            &mut rng_for(seed, &format!("{slug}/credentials")),
        );
        let tokens = profile.capabilities.token_refresh.then(|| {
            let mut t = Tokens::new(
                profile.tokens.clone(),
                rng_for(seed, &format!("{slug}/tokens")),
                credentials.get("access_token").unwrap_or_default(),
                credentials.get("refresh_token").unwrap_or_default(),
                start,
            );
            if let Some(code) = credentials.get("authorization_code") {
                t.issue_code(code, start);
            }
            t
        });
        Ok(Self {
            limits: RateLimiter::new(profile.rate_limits.clone()),
            ids: IdGen::new(
                profile.order_ids,
                rng_for(seed, &format!("{slug}/order-ids")),
            ),
            credentials,
            control_token: crate::credentials::draw(
                &crate::credentials::CONTROL_TOKEN,
                &mut rng_for(seed, &format!("{slug}/control-token")),
            ),
            tokens,
            faults: FaultInjector::new(plan, rng_for(seed, &format!("{slug}/faults"))),
            plan_since: venue.start(),
            client_ids: rng_for(seed, &format!("{slug}/client-order-ids")),
            vendor,
            seed,
            clock,
            venue,
            market,
            book: OrderBook::default(),
            events: Events::default(),
            swept_open: 0,
            schedule: Schedule::default(),
            fault_log: Vec::new(),
            received: 0,
            acceptance_rng: rng_for(seed, &format!("{slug}/acceptance")),
            groups: Vec::new(),
            forming_oco: Vec::new(),
            intent: String::new(),
            holder: profile.holder.clone().map(|program| {
                Holder::new(
                    program,
                    rng_for(seed, &format!("{slug}/holder")),
                    slug,
                    seed,
                    start,
                )
            }),
            marks,
            order_attempts: Vec::new(),
            grant_revoked: false,
            wait_until: None,
            throttle_breaches: Vec::new(),
            connections: Connections::default(),
            retention: None,
            forgotten_positions: BTreeMap::new(),
            resets: 0,
            profile,
        })
    }

    pub fn vendor(&self) -> &'static Vendor {
        self.vendor
    }
    pub fn profile(&self) -> &BrokerProfile {
        &self.profile
    }
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }
    /// The token every `/_sim/` request must carry.
    pub fn control_token(&self) -> &str {
        &self.control_token
    }

    /// Replaces the seeded control token with one the operator chose
    /// (`raxx-sim serve --control-token`): the seeded one is predictable
    /// from the seed. A reset keeps it.
    pub fn set_control_token(&mut self, token: String) {
        self.control_token = token;
    }

    /// Whether `presented` is the control token (compared in constant time).
    pub fn is_control_token(&self, presented: &str) -> bool {
        crate::credentials::same_secret(&self.control_token, presented)
    }
    /// The moment the model started (and starts again from on a reset).
    pub fn started(&self) -> Timestamp {
        self.venue.start()
    }
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
    /// How many times the brokerage was reset (`POST /_sim/reset`).
    pub fn resets(&self) -> u64 {
        self.resets
    }
    pub fn engine(&self) -> &Engine {
        self.venue.engine()
    }
    pub fn account_numbers(&self) -> Vec<String> {
        self.profile
            .accounts
            .iter()
            .map(|a| a.number.clone())
            .collect()
    }

    /// Simulated ms since the fault plan was installed: what its windows
    /// are measured in.
    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.clock.now().millis() - self.plan_since.millis()).unwrap_or(0)
    }

    /// Starts over from the seed: same credentials, same accounts, no orders.
    pub fn reset(&mut self) {
        let mut clock = self.clock.clone();
        clock.reset();
        let plan = self.faults.plan().clone();
        let market = std::mem::take(&mut self.market);
        let no_limits = self.profile.rate_limits.is_empty();
        let control_token = self.control_token.clone();
        let retention = self.retention.map(|r| r.keep);
        let resets = self.resets.saturating_add(1);
        // The same market loaded once already, so it loads again.
        if let Ok(fresh) = Self::new(self.vendor, self.seed, clock, plan, market) {
            *self = fresh;
            self.resets = resets;
            self.control_token = control_token;
            if let Some(keep) = retention {
                self.set_retention(keep);
            }
            if no_limits {
                self.disable_rate_limits();
            }
        }
    }

    /// Keeps only the latest `keep` orders received that have ended (with
    /// every order still open, and the broker events and log entries of
    /// about `keep` orders), so that a long-running served model's memory
    /// follows what it keeps, not every order ever placed. A forgotten
    /// order is not found by any id (a 404, as for an order the broker
    /// never had), its client order id can be used again, and streams and
    /// activity listings start from what is kept. Ids are never reused.
    /// Kept across a reset. Simulation runs never call it: their
    /// invariants and ledgers read every order.
    pub fn set_retention(&mut self, keep: usize) {
        let keep = keep.max(1);
        self.retention = Some(Retention {
            keep,
            next_at: Retention::next_after(keep, keep),
        });
    }

    /// How many orders were forgotten (see `set_retention`).
    pub fn orders_forgotten(&self) -> u64 {
        self.book.forgotten() as u64
    }

    /// How many orders are kept.
    pub fn orders_kept(&self) -> usize {
        self.book.kept()
    }

    /// Forgets what retention lets go, once enough has piled up.
    fn forget_ended(&mut self) {
        let Some(r) = self.retention else {
            return;
        };
        if self.book.kept() <= r.next_at {
            return;
        }
        let forgotten = self.book.forget_ended(r.keep);
        let engine = self.venue.engine_mut();
        for id in forgotten {
            // The engine orders a modify that kept its vendor id left
            // behind go with it (they are behind no order of the book).
            let mut next = Some(id);
            while let Some(id) = next.filter(|id| self.book.by_engine(*id).is_none()) {
                next = engine.order(id).and_then(|o| o.replaces);
                if !engine.forget(id) {
                    break;
                }
                self.events.forget_order(id);
            }
        }
        let book = &self.book;
        self.groups
            .retain(|g| g.stage != Stage::Done || g.members().any(|m| book.get(m).is_some()));
        let entries = r.keep.saturating_mul(ENTRIES_PER_ORDER);
        self.events.keep_latest(entries);
        let log = engine.log();
        let upto = (log.len().saturating_sub(entries) as u64).min(self.events.cursor());
        for e in log.entries().take_while(|e| e.seq < upto) {
            if let Some(account) = account_of(&e.event) {
                let replay = self
                    .forgotten_positions
                    .entry(account.to_string())
                    .or_insert_with(|| replay_account(account));
                replay_entry(replay, &e.event);
            }
        }
        engine.forget_log_before(upto);
        let kept = self.book.kept();
        if let Some(r) = self.retention.as_mut() {
            r.next_at = Retention::next_after(r.keep, kept);
        }
    }

    /// Switches the documented rate limits off (load tests, high-rate drivers).
    pub fn disable_rate_limits(&mut self) {
        self.profile.rate_limits.clear();
        self.limits = RateLimiter::new(Vec::new());
    }

    /// Installs `plan`; its windows count from now (a plan installed when a
    /// case starts, after an adapter in another process has come up, runs
    /// its windows in full).
    pub fn set_fault_plan(&mut self, plan: FaultPlan) {
        self.plan_since = self.clock.now();
        self.faults.set_plan(plan);
    }

    /// Declares the intent the orders received from now on belong to: the
    /// ledger, the harness's referee, records them under it, since the
    /// wire's label may be none (Schwab) or the adapter's encoding of the
    /// caller's id (a vendor tag that cannot hold it).
    /// The harness declares it in process, beside the model's wire, so no
    /// network fault can delay or drop it. Nothing else reads it: no
    /// fault, trigger or answer depends on it.
    pub fn declare_intent(&mut self, client_order_id: &str) {
        self.intent = client_order_id.to_string();
    }

    /// Adds a rule picking out the next order received for `fault` (an
    /// order-level fault); answers that order's ordinal.
    pub fn steer_next(&mut self, fault: crate::faults::Fault) -> Result<u64, PlanError> {
        let nth = self.received + 1;
        let mut plan = self.faults.plan().clone();
        plan.rules.push(FaultRule {
            operations: Vec::new(),
            from_ms: 0,
            until_ms: None,
            probability: 1.0,
            order: Some(OrderMatch {
                nth: Some(nth),
                ..OrderMatch::default()
            }),
            fault,
        });
        plan.validate("the steer request")?;
        self.faults.set_plan(plan);
        Ok(nth)
    }

    pub fn advance(&mut self, ms: i64) {
        self.clock.advance(ms);
        self.sync();
    }

    /// Runs the model's clock `pace` times faster than real time (a client
    /// run as fast, e.g. over the process bridge under a sped-up clock).
    pub fn set_pace(&mut self, pace: u32) {
        self.sync();
        self.clock.set_pace(pace);
    }

    /// The real time `simulated` takes at the model's pace.
    pub fn real(&self, simulated: std::time::Duration) -> std::time::Duration {
        self.clock.real(simulated)
    }

    /// Sets an equity's price (control surface).
    pub fn set_price(&mut self, symbol: &str, price: Decimal) -> bool {
        self.sync();
        let ok = self.venue.set_price(symbol, price);
        self.record_marks();
        self.collect_events();
        ok
    }

    /// Jumps `ms` forward, then quotes `prices` there (control surface):
    /// false, and nothing changed (not even the clock), when a price
    /// cannot be quoted.
    pub fn advance_to_prices(&mut self, ms: i64, prices: &[(String, Decimal)]) -> bool {
        if !self.venue.can_price(prices) {
            return false;
        }
        self.advance(ms);
        self.set_prices(prices)
    }

    /// Sets several equities' prices at once, all or none (control surface).
    pub fn set_prices(&mut self, prices: &[(String, Decimal)]) -> bool {
        self.sync();
        let ok = self.venue.set_prices(prices);
        self.record_marks();
        self.collect_events();
        ok
    }

    /// Brings the venue up to the clock, carrying out what fell due on the
    /// way at its own moment, then records what changed.
    pub fn sync(&mut self) {
        let now = self.clock.now();
        // A requested cancel lands at its own moment, after the market up
        // to then: a fill that came first wins the race.
        while let Some((due, vendor_id, action)) = self.schedule.next_due(now) {
            self.post_holder_until(due);
            self.run_until(due);
            self.collect_events();
            match action {
                Action::Accept => self.accept(&vendor_id, due),
                Action::Cancel => self.cancel_now(&vendor_id, due),
            }
        }
        self.post_holder_until(now);
        self.run_until(now);
        self.collect_events();
    }

    /// Brings the venue to `t`; where marks are kept, by way of each
    /// minute boundary on the way, sampled there.
    fn run_until(&mut self, t: Timestamp) {
        if let Some(marks) = self.marks.as_mut() {
            while let Some(minute) = marks.next_sample(t) {
                self.venue.run_until(minute);
                marks.record(self.venue.engine(), minute);
            }
        }
        self.venue.run_until(t);
    }

    /// Samples the marks now (a price was just set).
    fn record_marks(&mut self) {
        let now = self.venue.engine().now();
        if let Some(marks) = self.marks.as_mut() {
            marks.record(self.venue.engine(), now);
        }
    }

    /// An instrument's mark at `t` (an option's priced from its underlying
    /// then), to the minute, where the profile keeps marks and `t` is
    /// within them; None otherwise.
    pub fn mark_at(&self, instrument: &Instrument, t: Timestamp) -> Option<Decimal> {
        let marks = self.marks.as_ref()?;
        match instrument {
            Instrument::Equity { symbol } => marks.spot_at(symbol, t),
            Instrument::Option { occ } => {
                let spot = marks.spot_at(occ.root(), t)?;
                let pricing = &self.engine().config().pricing;
                pricing.quote(occ, spot, t).ok().map(|q| q.mid())
            }
        }
    }

    /// Carries out the holder's postings due by `t`, each at its own moment.
    fn post_holder_until(&mut self, t: Timestamp) {
        let Some(program) = self.holder.as_ref().map(Holder::program) else {
            return;
        };
        let accounts: Vec<String> = self
            .account_numbers()
            .into_iter()
            .filter(|a| program.holds(a))
            .collect();
        while let Some(due) = self.holder.as_ref().and_then(|h| h.due(t)) {
            self.run_until(due);
            if let Some(h) = self.holder.as_mut() {
                h.post(self.venue.engine_mut(), &accounts);
            }
        }
    }

    /// The account holder's activity, where the profile has a program.
    pub fn holder(&self) -> Option<&Holder> {
        self.holder.as_ref()
    }

    /// The connection's grant was revoked at the vendor: from now on only a
    /// new authorization by the user reads the account again.
    pub fn revoke_grant(&mut self) {
        self.grant_revoked = true;
    }

    /// Records a request shaped like an order operation that reached this
    /// broker although it has no way to trade (the read-only tier's referee).
    pub fn record_order_attempt(&mut self, operation: Operation, method: &str, path: &str) {
        let time = self.clock.now();
        self.order_attempts.push(OrderAttempt {
            time,
            operation,
            method: method.to_string(),
            path: path.to_string(),
        });
    }

    /// Records what the venue did, then lets the order groups react to it.
    fn collect_events(&mut self) {
        self.events.collect(self.venue.engine(), &mut self.book);
        if self.groups.iter().any(|g| g.stage != Stage::Done) {
            self.run_groups();
            self.events.collect(self.venue.engine(), &mut self.book);
        }
        // An order ends by an event collected above or a step of the
        // broker's own, both of which touch it; reading only those keeps a
        // request's cost off the thousands working under load. The venue
        // could still end one unseen: a full sweep whenever the orders not
        // known to have ended double catches it (callers of `maybe_open`
        // ask each order's state, so a late close costs time, never truth).
        let touched = self.book.take_touched();
        let sweep = self.book.maybe_open_len() >= self.swept_open.saturating_mul(2).max(64);
        let candidates: Vec<usize> = if sweep {
            self.book.maybe_open().map(|(i, _)| i).collect()
        } else {
            touched
        };
        // What each candidate has left is counted again first: a change to
        // an order touches it too, so the working sums stay exact.
        let mut ended = Vec::new();
        for i in candidates {
            let left = self.book.at(i).map(|o| {
                let filled = self.live_filled(o);
                (Self::holds_having_filled(o, filled), filled.is_none())
            });
            if let Some((left, has_ended)) = left {
                self.book.recount(i, left);
                if has_ended {
                    ended.push(i);
                }
            }
        }
        for i in ended {
            self.book.close(i);
        }
        if sweep {
            self.swept_open = self.book.maybe_open_len();
        }
        self.forget_ended();
    }

    /// Submits an order with the orders it is tied to, as one group. For a
    /// bracket or OTO, `first` is the entry and `others` its exits, held
    /// until the entry is done and then sized to what it filled; for OCO all
    /// are live exits. The group is refused when its first order is.
    pub fn submit_group(
        &mut self,
        class: OrderClass,
        first: OrderRequest,
        others: Vec<OrderRequest>,
        decision: &Decision,
    ) -> Result<&BrokerOrder, (String, Rejection)> {
        let parent = self.submit(first, decision)?.vendor_id.clone();
        if class == OrderClass::Oco {
            self.forming_oco = vec![parent.clone()];
        }
        let now = self.clock.now();
        let mut exits = Vec::new();
        for mut request in others {
            if request.client_order_id.is_empty() {
                request.client_order_id = self.generate_client_id();
            }
            let id = match class {
                OrderClass::Oco => {
                    let id = match self.submit(request, &Decision::default()) {
                        Ok(o) => o.vendor_id.clone(),
                        Err((id, _)) => id,
                    };
                    self.forming_oco.push(id.clone());
                    id
                }
                OrderClass::Bracket | OrderClass::Oto => {
                    let id = self.ids.next_id();
                    let mut exit = BrokerOrder::received(id.clone(), request, now, None, None);
                    exit.held = true;
                    self.book.insert(exit);
                    id
                }
            };
            exits.push(id);
        }
        self.forming_oco.clear();
        for id in std::iter::once(&parent).chain(&exits) {
            if let Some(o) = self.book.get_mut(id) {
                o.class = Some(class);
                if *id != parent {
                    o.parent = Some(parent.clone());
                }
            }
        }
        let stage = match class {
            OrderClass::Oco => Stage::ExitsLive,
            OrderClass::Bracket | OrderClass::Oto => Stage::WaitingForEntry,
        };
        self.groups.push(Group {
            class,
            parent: parent.clone(),
            exits,
            stage,
        });
        self.collect_events();
        self.book
            .get(&parent)
            .ok_or_else(|| (parent.clone(), lost_order()))
    }

    /// A replaced member of an order group hands its place to its
    /// replacement (under a new id): the group follows the replacement, a
    /// held exit stays held, and a replaced entry's exits name the new one.
    fn relink(&mut self, old: &BrokerOrder, new_id: &str) {
        if old.class.is_none() {
            return;
        }
        let old_id = old.vendor_id.as_str();
        let mut children = Vec::new();
        for g in &mut self.groups {
            if g.parent == old_id {
                g.parent = new_id.to_string();
                children.extend(g.exits.iter().cloned());
            }
            for e in &mut g.exits {
                if e == old_id {
                    *e = new_id.to_string();
                }
            }
        }
        if let Some(o) = self.book.get_mut(new_id) {
            o.class = old.class;
            o.parent = old.parent.clone();
            o.held = old.held;
        }
        for id in children {
            if let Some(o) = self.book.get_mut(&id) {
                o.parent = Some(new_id.to_string());
            }
        }
    }

    /// Moves every open group on: exits are released when their entry is
    /// done (sized to its fill; canceled when it filled nothing), and the
    /// first exit to fill or be canceled cancels the others.
    fn run_groups(&mut self) {
        let now = self.clock.now();
        for i in 0..self.groups.len() {
            let Some(group) = self.groups.get(i).cloned() else {
                continue;
            };
            let next = match group.stage {
                Stage::WaitingForEntry => self.release_exits(&group, now),
                Stage::ExitsLive => self.settle_exits(&group, now),
                Stage::Done => Stage::Done,
            };
            if let Some(g) = self.groups.get_mut(i) {
                g.stage = next;
            }
        }
    }

    fn release_exits(&mut self, group: &Group, now: Timestamp) -> Stage {
        let Some(entry) = self.order(&group.parent) else {
            return Stage::Done;
        };
        let entry = self.state(entry);
        if !entry.status.is_terminal() {
            return Stage::WaitingForEntry;
        }
        let filled = entry.filled_quantity;
        for id in &group.exits {
            let Some(idx) = self.book.index(id) else {
                continue;
            };
            if filled.is_zero() {
                self.end_before_venue(idx, now, End::Canceled);
                continue;
            }
            let Some(exit) = self.book.at_mut(idx) else {
                continue;
            };
            exit.held = false;
            exit.request.quantity = filled;
            let request = exit.request.clone();
            let options = SubmitOptions {
                wait_for_market: true,
                alternatives: self.alternatives(Some(id.as_str())),
                ..SubmitOptions::default()
            };
            match self.venue.engine_mut().submit_with(request, options) {
                Ok(engine_id) => self.book.bind(idx, engine_id),
                Err(r) => self.end_before_venue(idx, now, End::Rejected(r)),
            }
        }
        if filled.is_zero() {
            Stage::Done
        } else {
            Stage::ExitsLive
        }
    }

    fn settle_exits(&mut self, group: &Group, now: Timestamp) -> Stage {
        let live: Vec<&String> = match group.class {
            OrderClass::Oco => group.members().collect(),
            OrderClass::Bracket | OrderClass::Oto => group.exits.iter().collect(),
        };
        let states: Vec<(String, OrderStatus)> = live
            .iter()
            .filter_map(|id| {
                self.order(id)
                    .map(|o| ((*id).clone(), self.state(o).status))
            })
            .collect();
        // A fill ends the group, and so does a cancel of one exit: the
        // other is not left working alone (Alpaca: "canceling one leg of a
        // bracket order will cancel the other leg too").
        let ends = |s: &OrderStatus| matches!(s, OrderStatus::Filled | OrderStatus::Canceled);
        if !states.iter().any(|(_, s)| ends(s)) {
            return if states.iter().all(|(_, s)| s.is_terminal()) {
                Stage::Done
            } else {
                Stage::ExitsLive
            };
        }
        for (id, status) in states {
            if !status.is_terminal() {
                self.cancel_now(&id, now);
            }
        }
        Stage::Done
    }

    /// The fault plan's decision for one request (logged when it does anything).
    /// A token fault on an OAuth broker expires the tokens issued up to the
    /// rule's start, and the request then meets the ordinary token check: a
    /// client that refreshes gets on, one that does not keeps failing.
    pub fn decide(&mut self, op: Operation) -> Decision {
        let elapsed = self.elapsed_ms();
        let mut d = self.faults.decide(op, elapsed);
        if let (Some(tokens), Some(outcome)) = (&mut self.tokens, d.outcome.clone()) {
            let start = self.venue.start();
            let since = |ms: u64| start.plus_millis(i64::try_from(ms).unwrap_or(i64::MAX));
            let expired = match outcome {
                Outcome::TokenExpired { since_ms } => tokens.expire_access(since(since_ms)),
                Outcome::RefreshExpired { since_ms } => tokens.expire_all(since(since_ms)),
                _ => return self.logged(op, d),
            };
            d.outcome = None;
            if expired > 0 {
                let what = match outcome {
                    Outcome::TokenExpired { .. } => "access",
                    _ => "access and refresh",
                };
                self.log_fault(op, format!("{expired} {what} token(s) expired"));
            }
            return self.logged(op, d);
        }
        self.logged(op, d)
    }

    /// Logs what a decision does, when it does anything.
    fn logged(&mut self, op: Operation, d: Decision) -> Decision {
        if let Some(fault) = d.describe() {
            self.log_fault(op, fault);
        }
        d
    }

    /// Whether a bearer access token authenticates now: against the token
    /// lifecycle for an OAuth broker, else against the issued `access_token`.
    pub fn authenticate(&self, access_token: &str) -> Result<(), TokenProblem> {
        match &self.tokens {
            Some(t) => t.check(access_token, self.clock.now()),
            None if self.credentials.matches("access_token", access_token) => Ok(()),
            None => Err(TokenProblem::Unknown),
        }
    }

    /// Every secret issued so far: the credentials, the control token, and
    /// each token granted since.
    pub fn secrets(&self) -> Vec<String> {
        let issued = self.tokens.iter().flat_map(Tokens::issued);
        self.credentials
            .secrets()
            .chain([self.control_token.as_str()])
            .chain(issued)
            .map(str::to_string)
            .collect()
    }

    /// Renews an access token with a refresh token (OAuth brokers only).
    pub fn refresh_token(&mut self, refresh_token: &str) -> Result<Grant, TokenProblem> {
        let now = self.clock.now();
        self.tokens
            .as_mut()
            .ok_or(TokenProblem::Unknown)?
            .refresh(refresh_token, now)
    }

    /// New tokens for the authorization code the broker issued (OAuth
    /// brokers whose profile gives codes a lifetime): the user authorized again.
    pub fn exchange_code(&mut self, code: &str) -> Result<Grant, TokenProblem> {
        let now = self.clock.now();
        self.tokens
            .as_mut()
            .ok_or(TokenProblem::Unknown)?
            .exchange_code(code, now)
    }

    pub fn stream_faults(&mut self) -> StreamFaults {
        let elapsed = self.elapsed_ms();
        let s = self.faults.stream_faults(elapsed);
        if let Some(fault) = s.describe() {
            self.log_fault(Operation::Stream, fault);
        }
        s
    }

    fn log_fault(&mut self, operation: Operation, fault: String) {
        let time = self.clock.now();
        self.fault_log.push(FaultRecord {
            time,
            operation,
            fault,
        });
    }

    /// Every fault the plan applied so far.
    pub fn fault_log(&self) -> &[FaultRecord] {
        &self.fault_log
    }

    /// A request arrived: one inside a wait this broker asked for is a
    /// breach, recorded for the rate-limit invariant.
    pub fn note_arrival(&mut self, method: &str, path: &str) {
        let now = self.clock.now();
        if let Some(until) = self.wait_until.filter(|u| now < *u) {
            self.throttle_breaches.push(ThrottleBreach {
                at: now,
                request: format!("{method} {path}"),
                wait_until: until,
            });
        }
    }

    /// The broker answered 429, asking for no requests until `until`: when
    /// its 429 says so (`rate_limit_says_wait`); otherwise it asked for none.
    pub fn asked_to_wait(&mut self, until: Timestamp) {
        if !self.profile.rate_limit_says_wait {
            return;
        }
        self.wait_until = Some(self.wait_until.map_or(until, |u| u.max(until)));
    }

    /// Counts a request against the documented limits.
    pub fn count_request(&mut self, op: Operation, scope: &str) -> Option<RateState> {
        let now = self.clock.now();
        self.limits.count(op, scope, now)
    }

    pub fn has_account(&self, number: &str) -> bool {
        self.engine().account(number).is_some()
    }

    /// Submits an order. Refusals are recorded in the ledger too (a broker
    /// that answered 4xx still received the order) and returned with a vendor id.
    /// An order the venue would accept is taken: where the profile makes
    /// acceptance asynchronous it is accepted a seeded delay later (until
    /// then it is `pending`), else at once. What the fault plan and
    /// per-request triggers do to the order is decided here, from the order
    /// itself; an order whose response is to be lost says so in
    /// `lose_response`, for the face to carry out.
    pub fn submit(
        &mut self,
        request: OrderRequest,
        decision: &Decision,
    ) -> Result<&BrokerOrder, (String, Rejection)> {
        self.sync();
        let now = self.clock.now();
        let vendor_id = self.ids.next_id();
        self.received += 1;
        let steer = self.steer(&request, decision);
        let verdict = match &steer.reject {
            Some(reason) => Err(Rejection {
                reason: mbt::RejectReason::InvalidOrder,
                message: reason.clone(),
            }),
            None => self
                .engine()
                .validate_with(&request, &self.alternatives(None)),
        };
        let leg_ids = request
            .legs
            .iter()
            .flatten()
            .map(|_| self.ids.next_id())
            .collect();
        let mut order =
            BrokerOrder::received(vendor_id.clone(), request, now, None, verdict.clone().err());
        order.leg_ids = leg_ids;
        // The referee's label, never a trigger (steering read the wire's).
        if !self.intent.is_empty() {
            order.intent = self.intent.clone();
        }
        order.lose_response = steer.lose_response;
        order.steer = steer;
        let idx = self.book.insert(order);
        if let Err(r) = verdict {
            return Err((vendor_id, r));
        }
        match self.accept_delay() {
            Some(delay) => self
                .schedule
                .add(now.plus_millis(delay), &vendor_id, Action::Accept),
            None => self.accept(&vendor_id, now),
        }
        self.collect_events();
        self.book.at(idx).ok_or_else(|| (vendor_id, lost_order()))
    }

    /// How long after the submit a taken order is accepted (seeded), or
    /// None where the profile accepts inside the submit.
    fn accept_delay(&mut self) -> Option<i64> {
        let a = self.profile.acceptance.clone()?;
        let spread = a.max_ms.saturating_sub(a.min_ms);
        let ms = a.min_ms + mbt::rng::below(&mut self.acceptance_rng, spread + 1);
        Some(i64::try_from(ms).unwrap_or(i64::MAX))
    }

    /// Accepts a taken order at `at`: it reaches the venue, or is rejected
    /// after all (the plan says so, the profile's late-rejection draw, or the
    /// venue refuses it now that the account has moved on).
    fn accept(&mut self, vendor_id: &str, at: Timestamp) {
        let Some(idx) = self.book.index(vendor_id) else {
            return;
        };
        let Some(order) = self.book.get(vendor_id).cloned() else {
            return;
        };
        if !order.before_venue() {
            return;
        }
        let late = match &order.steer.reject_after_accept {
            Some(reason) => Some(reason.clone()),
            None => self
                .late_rejection()
                .then(|| "rejected by the broker after it took the order".to_string()),
        };
        let alternatives = self.alternatives(Some(vendor_id));
        let submitted = match late {
            Some(message) => Err(Rejection {
                reason: mbt::RejectReason::InvalidOrder,
                message,
            }),
            None => self.venue.engine_mut().submit_with(
                order.request.clone(),
                SubmitOptions {
                    max_fill_per_event: order.steer.partial_fill.map(Decimal::from),
                    wait_for_market: self.profile.acceptance.is_some(),
                    alternatives,
                },
            ),
        };
        match submitted {
            Ok(id) => self.book.bind(idx, id),
            Err(r) => self.end_before_venue(idx, at, End::Rejected(r)),
        }
    }

    /// The working engine orders an order is an alternative to (see
    /// `Group::alternatives`): they hold the position they close once. None
    /// for an order outside a group; an order still being received (`None`)
    /// is one only inside the OCO `submit_group` is forming.
    fn alternatives(&self, vendor_id: Option<&str>) -> Vec<mbt::OrderId> {
        let group =
            vendor_id.and_then(|v| self.groups.iter().find(|g| g.members().any(|m| m == v)));
        let others: Vec<&String> = match group {
            Some(g) => g.alternatives(),
            None => self.forming_oco.iter().collect(),
        };
        others
            .into_iter()
            .filter(|m| Some(m.as_str()) != vendor_id)
            .filter_map(|m| self.book.get(m)?.engine_id)
            .collect()
    }

    fn late_rejection(&mut self) -> bool {
        let rate = self
            .profile
            .acceptance
            .as_ref()
            .map_or(0.0, |a| a.late_rejection_rate);
        rate > 0.0 && crate::faults::draw_hit(&mut self.acceptance_rng, rate)
    }

    /// Ends a taken order that never reached the venue, with its event.
    fn end_before_venue(&mut self, idx: usize, at: Timestamp, end: End) {
        let Some(order) = self.book.at_mut(idx) else {
            return;
        };
        order.updated_at = at;
        let (kind, status) = match end {
            End::Rejected(r) => {
                order.failed_at = Some(at);
                let reason = r.message.clone();
                order.rejection = Some(r);
                (BrokerEventKind::Rejected { reason }, OrderStatus::Rejected)
            }
            End::Canceled => {
                order.canceled_at = Some(at);
                (BrokerEventKind::Canceled, OrderStatus::Canceled)
            }
        };
        let state = OrderState {
            status,
            filled_quantity: Decimal::ZERO,
            average_fill_price: None,
            trailing: None,
        };
        let order = order.clone();
        self.events.push(at, &order, kind, state);
    }

    /// Everything that steers one order: the request-level decision, a
    /// per-request trigger in its client order id, and the plan's
    /// order-matching rules; logged when it does anything.
    fn steer(&mut self, request: &OrderRequest, decision: &Decision) -> OrderFaults {
        let elapsed = self.elapsed_ms();
        let mut steer = self.faults.decide_order(request, self.received, elapsed);
        if let Some(t) = Trigger::from_client_id(&request.client_order_id) {
            self.log_fault(
                Operation::SubmitOrder,
                format!("per-request trigger: {}", t.describe()),
            );
            let t = t.faults();
            steer.reject = steer.reject.or(t.reject);
            steer.partial_fill = steer.partial_fill.or(t.partial_fill);
            steer.lose_response |= t.lose_response;
        } else if let Some(what) = steer.describe() {
            self.log_fault(
                Operation::SubmitOrder,
                format!("order #{} picked out: {what}", self.received),
            );
        }
        if let Some(Outcome::Reject { reason }) = &decision.outcome {
            steer.reject = Some(reason.clone());
        }
        if decision.partial_fill.is_some() {
            steer.partial_fill = decision.partial_fill;
        }
        steer
    }

    pub fn order(&self, vendor_id: &str) -> Option<&BrokerOrder> {
        self.book.get(vendor_id)
    }

    /// Every order of an account, oldest first.
    pub fn orders_of<'a>(&'a self, account: &'a str) -> impl Iterator<Item = &'a BrokerOrder> + 'a {
        self.book.all().filter(move |o| o.account == account)
    }

    /// An account's orders that may still be open, oldest first: every
    /// open one, and perhaps one that ended since the book last looked
    /// (ask its state).
    pub fn maybe_open_orders_of<'a>(
        &'a self,
        account: &'a str,
    ) -> impl Iterator<Item = &'a BrokerOrder> + 'a {
        self.book
            .maybe_open()
            .map(|(_, o)| o)
            .filter(move |o| o.account == account)
    }

    /// The latest order an account placed under a client order id that the
    /// broker accepted (refused submissions are in the ledger, not here).
    pub fn order_by_client_id(&self, account: &str, client_order_id: &str) -> Option<&BrokerOrder> {
        self.book.by_client_id(account, client_order_id)
    }

    /// A client order id for a client that sent none (a UUID, as Alpaca generates).
    pub fn generate_client_id(&mut self) -> String {
        crate::ids::uuid(&mut self.client_ids)
    }

    /// The state of an order now: the engine's for an accepted order (with
    /// a cancel on its way shown as `pending_cancel`); `pending` for one
    /// taken and not yet accepted; `rejected` or `canceled` for one that
    /// ended before it reached the venue.
    pub fn state(&self, order: &BrokerOrder) -> OrderState {
        let before_venue = |status| OrderState {
            status,
            filled_quantity: Decimal::ZERO,
            average_fill_price: None,
            trailing: None,
        };
        match order.engine_id.and_then(|id| self.engine().order(id)) {
            Some(o) => OrderState {
                status: if !o.status.is_terminal()
                    && self.schedule.waiting(&order.vendor_id, Action::Cancel)
                {
                    OrderStatus::PendingCancel
                } else {
                    o.status
                },
                filled_quantity: o.filled_quantity,
                average_fill_price: o.average_fill_price,
                trailing: Trailing::of(o),
            },
            None if order.rejection.is_some() => before_venue(OrderStatus::Rejected),
            None if order.canceled_at.is_some() => before_venue(OrderStatus::Canceled),
            None if order.replaced_by.is_some() => before_venue(OrderStatus::Replaced),
            None if self.schedule.waiting(&order.vendor_id, Action::Cancel) => {
                before_venue(OrderStatus::PendingCancel)
            }
            None => before_venue(OrderStatus::Pending),
        }
    }

    /// What a live order has filled, None once it has ended: `state`'s
    /// filled quantity and whether its status is terminal, for the readers
    /// that ask it of every open order (each request, each sell's shares
    /// held). A cancel waiting on the schedule only ever makes a live order
    /// pending cancel, so the schedule need not be read.
    pub fn live_filled(&self, order: &BrokerOrder) -> Option<Decimal> {
        match order.engine_id.and_then(|id| self.engine().order(id)) {
            Some(o) => (!o.status.is_terminal()).then_some(o.filled_quantity),
            None => (order.rejection.is_none()
                && order.canceled_at.is_none()
                && order.replaced_by.is_none())
            .then_some(Decimal::ZERO),
        }
    }

    /// Cancels an order, at once or after the profile's cancel latency
    /// (meanwhile it reads `pending_cancel` and can still fill). An order
    /// not accepted yet is canceled before it reaches the venue.
    pub fn cancel(&mut self, vendor_id: &str) -> Result<(), BrokerError> {
        self.sync();
        let order = self.order(vendor_id).ok_or(BrokerError::NotFound)?;
        let status = self.state(order).status;
        if status.is_terminal() {
            return Err(BrokerError::NotCancelable(status));
        }
        let latency = self.profile.cancel_latency_ms;
        let now = self.clock.now();
        if latency == 0 {
            let Some(engine_id) = order.engine_id else {
                self.cancel_now(vendor_id, now);
                return Ok(());
            };
            let result = self.venue.engine_mut().cancel(engine_id);
            self.collect_events();
            return result.map_err(engine_error);
        }
        let due = now.plus_millis(i64::try_from(latency).unwrap_or(i64::MAX));
        self.schedule.add(due, vendor_id, Action::Cancel);
        Ok(())
    }

    /// A cancel lands: at the venue, or before the order got there. Too
    /// late is a possible end of the race, not an error.
    fn cancel_now(&mut self, vendor_id: &str, at: Timestamp) {
        let Some(order) = self.order(vendor_id) else {
            return;
        };
        match order.engine_id {
            Some(engine_id) => {
                let _ = self.venue.engine_mut().cancel(engine_id);
            }
            None if order.before_venue() => {
                self.schedule.remove(vendor_id, Action::Accept);
                if let Some(idx) = self.book.index(vendor_id) {
                    self.end_before_venue(idx, at, End::Canceled);
                }
            }
            None => {}
        }
    }

    /// Replaces an order; answers the replacement's vendor id. Where the
    /// profile says a modify keeps the id (Tradier), the id follows the
    /// replacement; otherwise the replacement is a new order (Alpaca).
    pub fn replace(
        &mut self,
        vendor_id: &str,
        changes: ReplaceRequest,
    ) -> Result<String, BrokerError> {
        self.sync();
        let idx = self.book.index(vendor_id).ok_or(BrokerError::NotFound)?;
        let old = self
            .book
            .get(vendor_id)
            .ok_or(BrokerError::NotFound)?
            .clone();
        let Some(engine_id) = old.engine_id else {
            return self.replace_pending(idx, &old, changes);
        };
        let new_engine_id = self
            .venue
            .engine_mut()
            .replace(engine_id, changes)
            .map_err(engine_error)?;
        let now = self.clock.now();
        let request = self
            .engine()
            .order(new_engine_id)
            .map(|o| o.request.clone())
            .unwrap_or(old.request.clone());
        let new_vendor_id = if self.profile.replace_keeps_id {
            // The old engine order is an implementation detail of the modify:
            // its `replaced` event must not reach the vendor's stream.
            self.book.rebind(idx, engine_id, new_engine_id);
            if let Some(o) = self.book.at_mut(idx) {
                o.request = request;
                o.updated_at = now;
            }
            vendor_id.to_string()
        } else {
            let new_vendor_id = self.ids.next_id();
            let mut replacement = BrokerOrder::received(
                new_vendor_id.clone(),
                request,
                now,
                Some(new_engine_id),
                None,
            );
            replacement.replaces = Some(vendor_id.to_string());
            replacement.intent = old.intent.clone();
            self.book.insert(replacement);
            if let Some(o) = self.book.at_mut(idx) {
                o.replaced_by = Some(new_vendor_id.clone());
            }
            self.relink(&old, &new_vendor_id);
            new_vendor_id
        };
        self.collect_events();
        Ok(new_vendor_id)
    }

    /// Replaces an order not at the venue yet: the request is changed
    /// before it gets there (a new pending order for a broker that replaces
    /// under a new id). Refused and ended orders are not replaceable.
    fn replace_pending(
        &mut self,
        idx: usize,
        old: &BrokerOrder,
        changes: ReplaceRequest,
    ) -> Result<String, BrokerError> {
        let status = self.state(old).status;
        if status != OrderStatus::Pending {
            return Err(BrokerError::NotCancelable(status));
        }
        let request = changes.applied_to(&old.request, old.request.quantity);
        self.engine()
            .validate(&request)
            .map_err(BrokerError::Rejected)?;
        let now = self.clock.now();
        if self.profile.replace_keeps_id {
            if let Some(o) = self.book.at_mut(idx) {
                o.request = request;
                o.updated_at = now;
            }
            return Ok(old.vendor_id.clone());
        }
        let new_id = self.ids.next_id();
        let mut replacement = BrokerOrder::received(new_id.clone(), request, now, None, None);
        replacement.replaces = Some(old.vendor_id.clone());
        replacement.intent = old.intent.clone();
        replacement.steer = old.steer.clone();
        self.book.insert(replacement);
        self.relink(old, &new_id);
        self.schedule.remove(&old.vendor_id, Action::Accept);
        match self.accept_delay() {
            // A held exit stays held: its group sends it when the entry fills.
            _ if old.held => {}
            Some(delay) => self
                .schedule
                .add(now.plus_millis(delay), &new_id, Action::Accept),
            None => self.accept(&new_id, now),
        }
        let Some(o) = self.book.at_mut(idx) else {
            return Ok(new_id);
        };
        o.replaced_by = Some(new_id.clone());
        o.replaced_at = Some(now);
        o.updated_at = now;
        let ended = o.clone();
        let state = OrderState {
            status: OrderStatus::Replaced,
            filled_quantity: Decimal::ZERO,
            average_fill_price: None,
            trailing: None,
        };
        let kind = BrokerEventKind::Replaced {
            replacement: new_id.clone(),
        };
        self.events.push(now, &ended, kind, state);
        self.collect_events();
        Ok(new_id)
    }

    /// An account marked to market, with the cash the institution booked
    /// beside the engine (the holder's dividends and fees).
    pub fn account(&self, number: &str) -> Option<AccountView> {
        let mut view = self.engine().account_view(number)?;
        if let Some(h) = &self.holder {
            h.adjust(&mut view);
        }
        Some(view)
    }

    /// Broker events from sequence number `seq` on.
    pub fn events_since(&self, seq: u64) -> mbt::tail::Iter<'_, BrokerEvent> {
        self.events.since(seq)
    }

    /// The next broker event's sequence number: where a new reader starts.
    pub fn next_event_seq(&self) -> u64 {
        self.events.next_seq()
    }

    pub fn ledger(&self) -> Ledger {
        Ledger {
            broker: self.profile.slug.clone(),
            now: self.clock.now(),
            orders: self
                .book
                .all()
                .map(|o| {
                    let s = self.state(o);
                    LedgerOrder {
                        vendor_id: o.vendor_id.clone(),
                        account: o.account.clone(),
                        client_order_id: o.client_order_id.clone(),
                        intent: o.intent.clone(),
                        instrument: o.request.instrument.clone(),
                        side: o.request.side,
                        quantity: o.request.quantity,
                        limit_price: o.request.limit_price,
                        stop_price: o.request.stop_price,
                        submitted_at: o.submitted_at,
                        status: s.status,
                        filled_quantity: s.filled_quantity,
                        average_fill_price: s.average_fill_price,
                        taken: o.taken,
                        rejection: o.rejection.as_ref().map(|r| r.message.clone()),
                        parent: o.parent.clone(),
                    }
                })
                .collect(),
            accounts: self
                .profile
                .accounts
                .iter()
                .filter_map(|a| self.account(&a.number))
                .collect(),
            token_refreshes: self.tokens.as_ref().map_or(0, Tokens::refreshes),
            throttle_breaches: self.throttle_breaches.clone(),
            authorization_revoked: self.grant_revoked
                || self
                    .tokens
                    .as_ref()
                    .is_some_and(|t| t.all_refresh_dead(self.clock.now())),
            holder_activity: self
                .holder
                .as_ref()
                .map(|h| h.activity().to_vec())
                .unwrap_or_default(),
            order_attempts: self.order_attempts.clone(),
            connections: self
                .profile
                .downstream
                .iter()
                .map(|d| self.connections.view(d))
                .collect(),
        }
    }

    /// Since when the connection to `brokerage` (behind an aggregator) is broken.
    pub fn connection_broken_since(&self, brokerage: &str) -> Option<Timestamp> {
        self.connections.broken_since(brokerage)
    }

    /// When the user deleted the connection to `brokerage` (behind an aggregator).
    pub fn connection_deleted_at(&self, brokerage: &str) -> Option<Timestamp> {
        self.connections.deleted_at(brokerage)
    }

    /// The user deletes the connection to `brokerage`: false when it was
    /// already gone.
    pub fn delete_connection(&mut self, brokerage: &str) -> bool {
        let now = self.clock.now();
        self.connections.delete(brokerage, now)
    }

    /// Every break, repair and deletion of a connection behind the
    /// aggregator, oldest first.
    pub fn connection_changes(&self) -> &[ConnectionChange] {
        self.connections.changes()
    }

    /// Breaks (or repairs) the connection that holds `account`, at an
    /// aggregator; an error says why there is none.
    pub fn set_connection_broken(&mut self, account: &str, broken: bool) -> Result<(), String> {
        let slug = self
            .profile
            .downstream_of(account)
            .map(|d| d.slug.clone())
            .ok_or_else(|| {
                format!(
                    "{} holds account {account:?} itself: it has no connection behind it to break",
                    self.profile.name
                )
            })?;
        let now = self.clock.now();
        self.connections.set(&slug, broken, now);
        Ok(())
    }

    /// What `account` held at `t`, each position with its quantity and
    /// cost, from the venue's executions up to then (replayed as the venue
    /// booked them): what an aggregator's cache synced at `t` says.
    /// Under retention, executions forgotten count as made before any `t`.
    pub fn positions_at(&self, account: &str, t: Timestamp) -> BTreeMap<Instrument, Position> {
        self.replayed_at(account, t)
            .positions
            .into_iter()
            .filter(|(_, p)| !p.quantity.is_zero())
            .collect()
    }

    /// The account's cash at `t`: its opening cash and every execution up
    /// to then with its fees, and what the holder booked beside the engine
    /// by then (dividends less fees).
    pub fn cash_at(&self, account: &str, t: Timestamp) -> Decimal {
        let flows = self
            .holder
            .as_ref()
            .map_or(Decimal::ZERO, |h| h.flows_until(account, t));
        self.replayed_at(account, t).cash.saturating_add(flows)
    }

    fn replayed_at(&self, account: &str, t: Timestamp) -> mbt::Account {
        let mut replay = self
            .forgotten_positions
            .get(account)
            .cloned()
            .unwrap_or_else(|| replay_account(account));
        for e in self.engine().log().entries() {
            if e.time > t {
                break;
            }
            if account_of(&e.event) == Some(account) {
                replay_entry(&mut replay, &e.event);
            }
        }
        replay
    }
}

/// An account to replay the venue's executions on: it opens flat and
/// empty, and takes its opening cash from the log.
fn replay_account(account: &str) -> mbt::Account {
    mbt::Account::new(account, mbt::AccountKind::Margin, Decimal::ZERO)
}

/// The account a log entry changes the cash or positions of.
fn account_of(event: &EngineEvent) -> Option<&str> {
    match event {
        EngineEvent::AccountOpened { account_id, .. }
        | EngineEvent::Fill { account_id, .. }
        | EngineEvent::OptionExpiredWorthless { account_id, .. }
        | EngineEvent::OptionExercised { account_id, .. } => Some(account_id),
        _ => None,
    }
}

/// Books one log entry on `replay` as the venue booked it: the opening
/// cash, a fill with its fee, an option leaving the book at zero, an
/// exercise's shares changing hands at the strike. The venue booked each
/// of these, so none can overflow here.
fn replay_entry(replay: &mut mbt::Account, event: &EngineEvent) {
    let mut book = |i: &Instrument, q: Decimal, price: Decimal, fee: Decimal| {
        let _ = replay.apply_fill(i, q, price, fee);
    };
    match event {
        EngineEvent::AccountOpened { cash, .. } => replay.cash = *cash,
        EngineEvent::Fill {
            instrument,
            side,
            quantity,
            price,
            fee,
            ..
        } => book(
            instrument,
            side.sign().saturating_mul(*quantity),
            *price,
            *fee,
        ),
        EngineEvent::OptionExpiredWorthless {
            instrument,
            quantity,
            ..
        } => book(instrument, -*quantity, Decimal::ZERO, Decimal::ZERO),
        EngineEvent::OptionExercised {
            instrument,
            quantity,
            ..
        } => {
            book(instrument, -*quantity, Decimal::ZERO, Decimal::ZERO);
            if let Instrument::Option { occ } = instrument {
                let shares = quantity.saturating_mul(instrument.multiplier());
                let signed = match occ.right() {
                    mbt::OptionRight::Call => shares,
                    mbt::OptionRight::Put => -shares,
                };
                book(
                    &Instrument::equity(occ.root()),
                    signed,
                    occ.strike(),
                    Decimal::ZERO,
                );
            }
        }
        _ => {}
    }
}

/// An order recorded a moment ago that cannot be read back: a bug, answered
/// as a refusal rather than a panic.
fn lost_order() -> Rejection {
    Rejection {
        reason: mbt::RejectReason::InvalidOrder,
        message: "the broker lost the order it just recorded".into(),
    }
}

fn engine_error(e: EngineError) -> BrokerError {
    match e {
        EngineError::NotFound(_) => BrokerError::NotFound,
        EngineError::TooLate { status, .. } => BrokerError::NotCancelable(status),
        EngineError::Rejected(r) => BrokerError::Rejected(r),
        EngineError::Illegal(t) => BrokerError::NotCancelable(t.from),
    }
}
