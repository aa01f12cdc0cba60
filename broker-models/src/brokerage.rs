//! `SimBrokerage`: one simulated brokerage over the MBT engine. It keeps
//! what a broker keeps beyond executions — vendor order ids, the ground-truth
//! ledger of every order received, credentials, rate-limit windows, fault
//! decisions — and turns the engine's log into broker events for streams.
//!
//! Wire faces (one per vendor) translate HTTP to these calls and back; they
//! never touch the engine directly.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use mbt::engine::{AccountView, EngineError, ReplaceRequest, SubmitOptions};
use mbt::rng::rng_for;
use mbt::{
    Engine, EngineConfig, EngineEvent, Instrument, OrderId, OrderRequest, OrderStatus, Rejection,
    Timestamp,
};

use crate::clock::SimClock;
use crate::credentials::Credentials;
use crate::faults::{Decision, FaultInjector, FaultPlan, Operation, StreamFaults, Trigger};
use crate::ids::IdGen;
use crate::market_feed::{MarketFeed, MarketSpec};
use crate::profile::BrokerProfile;
use crate::ratelimit::{RateLimiter, RateState};

/// An order as the broker knows it.
#[derive(Debug, Clone, Serialize)]
pub struct BrokerOrder {
    pub vendor_id: String,
    pub account: String,
    pub client_order_id: String,
    pub request: OrderRequest,
    pub submitted_at: Timestamp,
    /// The engine order currently behind this vendor id (a Tradier modify
    /// moves the id to the replacement); None for a refused order.
    pub engine_id: Option<OrderId>,
    pub rejection: Option<Rejection>,
    /// Vendor ids of the order this one replaced, and of its replacement.
    pub replaces: Option<String>,
    pub replaced_by: Option<String>,
    /// Vendor ids of each leg of a multi-leg order, in leg order.
    pub leg_ids: Vec<String>,
    pub filled_at: Option<Timestamp>,
    pub canceled_at: Option<Timestamp>,
    pub expired_at: Option<Timestamp>,
    pub replaced_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    /// The latest execution: quantity and price.
    pub last_fill: Option<(Decimal, Decimal)>,
    /// Vendor words a face keeps for its own answers (Tradier's `sell_short`
    /// side, whether a tag was sent, …); the core never reads them.
    pub extras: BTreeMap<String, String>,
}

/// An order's state at one moment, for responses and stream events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderState {
    pub status: OrderStatus,
    pub filled_quantity: Decimal,
    pub average_fill_price: Option<Decimal>,
}

/// What happened to an order, in the order the broker saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BrokerEventKind {
    New,
    Fill {
        instrument: Instrument,
        quantity: Decimal,
        price: Decimal,
        /// The account's position in the instrument after the fill.
        position_quantity: Decimal,
    },
    Canceled,
    Expired,
    Replaced {
        replacement: String,
    },
    Rejected {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerEvent {
    pub seq: u64,
    pub time: Timestamp,
    pub vendor_id: String,
    pub account: String,
    pub kind: BrokerEventKind,
    /// The order's state just after this event.
    pub state: OrderState,
}

/// Why a broker call failed, in vendor-neutral terms; each face renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerError {
    NotFound,
    /// The order is in a state that no longer allows this (filled, canceled, …).
    NotCancelable(OrderStatus),
    Rejected(Rejection),
    UnknownAccount,
}

/// One entry of the ground-truth ledger: an order the broker received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LedgerOrder {
    pub vendor_id: String,
    pub account: String,
    pub client_order_id: String,
    pub instrument: Instrument,
    pub side: mbt::Side,
    pub quantity: Decimal,
    pub limit_price: Option<Decimal>,
    pub stop_price: Option<Decimal>,
    pub submitted_at: Timestamp,
    pub status: OrderStatus,
    pub filled_quantity: Decimal,
    pub average_fill_price: Option<Decimal>,
    pub rejection: Option<String>,
}

/// A fault the plan applied, for traces: when, to what, and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRecord {
    pub time: Timestamp,
    pub operation: Operation,
    pub fault: String,
}

/// The ground truth a test checks adapters against.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ledger {
    pub broker: String,
    pub now: Timestamp,
    pub orders: Vec<LedgerOrder>,
    pub accounts: Vec<AccountView>,
}

pub struct SimBrokerage {
    profile: BrokerProfile,
    seed: u64,
    clock: SimClock,
    engine: Engine,
    feed: MarketFeed,
    orders: Vec<BrokerOrder>,
    by_vendor_id: BTreeMap<String, usize>,
    by_engine_id: BTreeMap<OrderId, usize>,
    /// The latest accepted order per (account, client order id).
    by_client_id: BTreeMap<(String, String), usize>,
    /// Draws the client order ids a broker generates when a client sends none.
    client_ids: mbt::rng::SimRng,
    /// Every fault the plan applied, in order.
    fault_log: Vec<FaultRecord>,
    /// Where prices come from (kept so that a reset starts the same market).
    market: MarketSpec,
    /// Cancels requested but not yet carried out: vendor id → when they land.
    pending_cancels: BTreeMap<String, Timestamp>,
    /// How far the engine log has been turned into broker events.
    log_cursor: usize,
    /// Each engine order's state as of the last event collected: events carry
    /// the state at their own moment, not the order's state when collected.
    event_states: BTreeMap<OrderId, OrderState>,
    events: Vec<BrokerEvent>,
    faults: FaultInjector,
    limits: RateLimiter,
    ids: IdGen,
    credentials: Credentials,
}

impl SimBrokerage {
    pub fn new(profile: BrokerProfile, seed: u64, clock: SimClock, plan: FaultPlan) -> Self {
        Self::with_market(profile, seed, clock, plan, MarketSpec::default())
            .unwrap_or_else(|_| unreachable!("the default market has no bars to misread"))
    }

    /// A brokerage whose market is `market` (generator parameters or
    /// recorded bars); an error says what is wrong with the bars.
    pub fn with_market(
        profile: BrokerProfile,
        seed: u64,
        clock: SimClock,
        plan: FaultPlan,
        market: MarketSpec,
    ) -> Result<Self, String> {
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
            queue_when_closed: profile.queue_when_closed,
            fractional: profile.capabilities.fractional,
            ..EngineConfig::default()
        };
        let mut engine = Engine::new(config, seed, start);
        for a in &profile.accounts {
            engine.open_account(&a.number, a.kind, a.cash);
        }
        let mut feed = MarketFeed::with_spec(&market, seed, start, &mut engine)?;
        // The market is quoted from the first instant.
        feed.run_until(&mut engine, start);
        let slug = profile.slug.clone();
        Ok(Self {
            limits: RateLimiter::new(profile.rate_limits.clone()),
            ids: IdGen::new(
                profile.order_ids,
                rng_for(seed, &format!("{slug}/order-ids")),
            ),
            credentials: Credentials::generate(
                &slug,
                &mut rng_for(seed, &format!("{slug}/credentials")),
            ),
            faults: FaultInjector::new(plan, rng_for(seed, &format!("{slug}/faults"))),
            profile,
            seed,
            clock,
            engine,
            feed,
            orders: Vec::new(),
            by_vendor_id: BTreeMap::new(),
            by_engine_id: BTreeMap::new(),
            by_client_id: BTreeMap::new(),
            client_ids: rng_for(seed, &format!("{slug}/client-order-ids")),
            fault_log: Vec::new(),
            log_cursor: 0,
            event_states: BTreeMap::new(),
            events: Vec::new(),
            market,
            pending_cancels: BTreeMap::new(),
        })
    }

    pub fn profile(&self) -> &BrokerProfile {
        &self.profile
    }
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
    pub fn account_numbers(&self) -> Vec<String> {
        self.profile
            .accounts
            .iter()
            .map(|a| a.number.clone())
            .collect()
    }

    /// Simulated ms since the model started: what fault windows are measured in.
    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.clock.now().millis() - self.feed.start().millis()).unwrap_or(0)
    }

    /// Starts over from the seed: same credentials, same accounts, no orders.
    pub fn reset(&mut self) {
        let mut clock = self.clock.clone();
        clock.reset();
        let plan = self.faults.plan().clone();
        let market = std::mem::take(&mut self.market);
        // The same market loaded once already, so it loads again.
        if let Ok(fresh) = Self::with_market(self.profile.clone(), self.seed, clock, plan, market) {
            *self = fresh;
        }
    }

    /// Switches the documented rate limits off (load tests, high-rate drivers).
    pub fn disable_rate_limits(&mut self) {
        self.profile.rate_limits.clear();
        self.limits = RateLimiter::new(Vec::new());
    }

    pub fn set_fault_plan(&mut self, plan: FaultPlan) {
        self.faults.set_plan(plan);
    }

    pub fn advance(&mut self, ms: i64) {
        self.clock.advance(ms);
        self.sync();
    }

    /// Sets an equity's price (control surface).
    pub fn set_price(&mut self, symbol: &str, price: Decimal) -> bool {
        self.sync();
        let ok = self
            .engine
            .set_price(&Instrument::equity(symbol), price, self.feed.quote_size());
        self.feed.set_level(&mut self.engine, symbol, price);
        self.collect_events();
        ok
    }

    /// Brings the engine and market up to the clock, then records what changed.
    pub fn sync(&mut self) {
        let now = self.clock.now();
        // Requested cancels land at their own moment, after the market up
        // to then: a fill that came first wins the race.
        while let Some((id, due)) = self
            .pending_cancels
            .iter()
            .map(|(id, due)| (id.clone(), *due))
            .filter(|(_, due)| *due <= now)
            .min_by_key(|(id, due)| (*due, id.clone()))
        {
            self.pending_cancels.remove(&id);
            self.feed.run_until(&mut self.engine, due);
            self.engine.advance_to(due);
            if let Some(engine_id) = self.order(&id).and_then(|o| o.engine_id) {
                // Too late is a possible end of the race, not an error.
                let _ = self.engine.cancel(engine_id);
            }
        }
        self.feed.run_until(&mut self.engine, now);
        self.engine.advance_to(now);
        self.collect_events();
    }

    /// The fault plan's decision for one request (logged when it does anything).
    pub fn decide(&mut self, op: Operation) -> Decision {
        let elapsed = self.elapsed_ms();
        let d = self.faults.decide(op, elapsed);
        if let Some(fault) = d.describe() {
            self.log_fault(op, fault);
        }
        d
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

    /// Counts a request against the documented limits.
    pub fn count_request(&mut self, op: Operation, scope: &str) -> Option<RateState> {
        let now = self.clock.now();
        self.limits.count(op, scope, now)
    }

    pub fn has_account(&self, number: &str) -> bool {
        self.engine.account(number).is_some()
    }

    /// Submits an order. Refusals are recorded in the ledger too (a broker
    /// that answered 4xx still received the order) and returned with a vendor id.
    pub fn submit(
        &mut self,
        request: OrderRequest,
        decision: &Decision,
    ) -> Result<&BrokerOrder, (String, Rejection)> {
        self.sync();
        let now = self.clock.now();
        let vendor_id = self.ids.next_id();
        let trigger = Trigger::from_client_id(&request.client_order_id);
        if let Some(t) = trigger {
            self.log_fault(
                Operation::SubmitOrder,
                format!("per-request trigger: {}", t.describe()),
            );
        }
        let forced = decision
            .outcome
            .as_ref()
            .and_then(|o| match o {
                crate::faults::Outcome::Reject { reason } => Some(reason.clone()),
                _ => None,
            })
            .or_else(|| {
                (trigger == Some(Trigger::Reject))
                    .then(|| "rejected by sim-reject trigger".to_string())
            });
        let cap = decision
            .partial_fill
            .map(Decimal::from)
            .or_else(|| (trigger == Some(Trigger::PartialFill)).then_some(Decimal::ONE));
        let result = match forced {
            Some(reason) => Err(Rejection {
                reason: mbt::RejectReason::InvalidOrder,
                message: reason,
            }),
            None => self.engine.submit_with(
                request.clone(),
                SubmitOptions {
                    max_fill_per_event: cap,
                },
            ),
        };
        let leg_ids = request
            .legs
            .iter()
            .flatten()
            .map(|_| self.ids.next_id())
            .collect();
        let (engine_id, rejection) = match result {
            Ok(id) => (Some(id), None),
            Err(r) => (None, Some(r)),
        };
        let idx = self.orders.len();
        self.orders.push(BrokerOrder {
            vendor_id: vendor_id.clone(),
            account: request.account_id.clone(),
            client_order_id: request.client_order_id.clone(),
            request,
            submitted_at: now,
            engine_id,
            rejection: rejection.clone(),
            replaces: None,
            replaced_by: None,
            leg_ids,
            filled_at: None,
            canceled_at: None,
            expired_at: None,
            replaced_at: None,
            updated_at: now,
            last_fill: None,
            extras: BTreeMap::new(),
        });
        self.by_vendor_id.insert(vendor_id.clone(), idx);
        if let Some(id) = engine_id {
            self.by_engine_id.insert(id, idx);
            let o = &self.orders[idx];
            self.by_client_id
                .insert((o.account.clone(), o.client_order_id.clone()), idx);
        }
        self.collect_events();
        match rejection {
            Some(r) => Err((vendor_id, r)),
            None => Ok(&self.orders[idx]),
        }
    }

    /// Keeps a vendor word on an order for the face that took it.
    pub fn set_extra(&mut self, vendor_id: &str, key: &str, value: &str) {
        if let Some(&i) = self.by_vendor_id.get(vendor_id) {
            self.orders[i]
                .extras
                .insert(key.to_string(), value.to_string());
        }
    }

    pub fn order(&self, vendor_id: &str) -> Option<&BrokerOrder> {
        self.by_vendor_id.get(vendor_id).map(|i| &self.orders[*i])
    }

    /// Every order of an account, oldest first.
    pub fn orders_of<'a>(&'a self, account: &'a str) -> impl Iterator<Item = &'a BrokerOrder> + 'a {
        self.orders.iter().filter(move |o| o.account == account)
    }

    /// The latest order an account placed under a client order id that the
    /// broker accepted (refused submissions are in the ledger, not here).
    pub fn order_by_client_id(&self, account: &str, client_order_id: &str) -> Option<&BrokerOrder> {
        self.by_client_id
            .get(&(account.to_string(), client_order_id.to_string()))
            .map(|i| &self.orders[*i])
    }

    /// A client order id for a client that sent none (a UUID, as Alpaca generates).
    pub fn generate_client_id(&mut self) -> String {
        crate::ids::uuid(&mut self.client_ids)
    }

    /// The state of an order now (a refused order is `rejected`).
    pub fn state(&self, order: &BrokerOrder) -> OrderState {
        match order.engine_id.and_then(|id| self.engine.order(id)) {
            Some(o) => OrderState {
                status: if self.pending_cancels.contains_key(&order.vendor_id)
                    && !o.status.is_terminal()
                {
                    OrderStatus::PendingCancel
                } else {
                    o.status
                },
                filled_quantity: o.filled_quantity,
                average_fill_price: o.average_fill_price,
            },
            None => OrderState {
                status: OrderStatus::Rejected,
                filled_quantity: Decimal::ZERO,
                average_fill_price: None,
            },
        }
    }

    pub fn cancel(&mut self, vendor_id: &str) -> Result<(), BrokerError> {
        self.sync();
        let order = self.order(vendor_id).ok_or(BrokerError::NotFound)?;
        let Some(engine_id) = order.engine_id else {
            return Err(BrokerError::NotCancelable(OrderStatus::Rejected));
        };
        let latency = self.profile.cancel_latency_ms;
        if latency == 0 {
            let result = self.engine.cancel(engine_id);
            self.collect_events();
            return result.map_err(|e| engine_error(e, vendor_id));
        }
        let status = self.state(order).status;
        if status.is_terminal() {
            return Err(BrokerError::NotCancelable(status));
        }
        // Asking again while one is pending changes nothing.
        let due = self
            .clock
            .now()
            .plus_millis(i64::try_from(latency).unwrap_or(i64::MAX));
        self.pending_cancels
            .entry(vendor_id.to_string())
            .or_insert(due);
        Ok(())
    }

    /// Replaces an order. `keep_id`: the vendor id follows the replacement
    /// (Tradier's modify); otherwise the replacement gets a new vendor id (Alpaca).
    pub fn replace(
        &mut self,
        vendor_id: &str,
        changes: ReplaceRequest,
        keep_id: bool,
    ) -> Result<String, BrokerError> {
        self.sync();
        let idx = *self
            .by_vendor_id
            .get(vendor_id)
            .ok_or(BrokerError::NotFound)?;
        let old = self.orders[idx].clone();
        let Some(engine_id) = old.engine_id else {
            return Err(BrokerError::NotCancelable(OrderStatus::Rejected));
        };
        let new_engine_id = self
            .engine
            .replace(engine_id, changes)
            .map_err(|e| engine_error(e, vendor_id))?;
        let now = self.clock.now();
        let request = self
            .engine
            .order(new_engine_id)
            .map(|o| o.request.clone())
            .unwrap_or(old.request.clone());
        let new_vendor_id = if keep_id {
            let o = &mut self.orders[idx];
            o.engine_id = Some(new_engine_id);
            o.request = request;
            o.updated_at = now;
            // The old engine order is an implementation detail of the modify:
            // its `replaced` event must not reach the vendor's stream.
            self.by_engine_id.remove(&engine_id);
            self.by_engine_id.insert(new_engine_id, idx);
            vendor_id.to_string()
        } else {
            let new_vendor_id = self.ids.next_id();
            let new_idx = self.orders.len();
            self.orders.push(BrokerOrder {
                vendor_id: new_vendor_id.clone(),
                client_order_id: request.client_order_id.clone(),
                request,
                submitted_at: now,
                engine_id: Some(new_engine_id),
                replaces: Some(vendor_id.to_string()),
                replaced_by: None,
                leg_ids: Vec::new(),
                filled_at: None,
                canceled_at: None,
                expired_at: None,
                replaced_at: None,
                updated_at: now,
                last_fill: None,
                ..old
            });
            self.orders[idx].replaced_by = Some(new_vendor_id.clone());
            let o = &self.orders[new_idx];
            self.by_client_id
                .insert((o.account.clone(), o.client_order_id.clone()), new_idx);
            self.by_vendor_id.insert(new_vendor_id.clone(), new_idx);
            self.by_engine_id.insert(new_engine_id, new_idx);
            new_vendor_id
        };
        self.collect_events();
        Ok(new_vendor_id)
    }

    pub fn account(&self, number: &str) -> Option<AccountView> {
        self.engine.account_view(number)
    }

    /// Broker events from sequence number `seq` on.
    pub fn events_since(&self, seq: u64) -> &[BrokerEvent] {
        let start = usize::try_from(seq)
            .unwrap_or(usize::MAX)
            .min(self.events.len());
        &self.events[start..]
    }

    pub fn ledger(&self) -> Ledger {
        Ledger {
            broker: self.profile.slug.clone(),
            now: self.clock.now(),
            orders: self
                .orders
                .iter()
                .map(|o| {
                    let s = self.state(o);
                    LedgerOrder {
                        vendor_id: o.vendor_id.clone(),
                        account: o.account.clone(),
                        client_order_id: o.client_order_id.clone(),
                        instrument: o.request.instrument.clone(),
                        side: o.request.side,
                        quantity: o.request.quantity,
                        limit_price: o.request.limit_price,
                        stop_price: o.request.stop_price,
                        submitted_at: o.submitted_at,
                        status: s.status,
                        filled_quantity: s.filled_quantity,
                        average_fill_price: s.average_fill_price,
                        rejection: o.rejection.as_ref().map(|r| r.message.clone()),
                    }
                })
                .collect(),
            accounts: self
                .profile
                .accounts
                .iter()
                .filter_map(|a| self.engine.account_view(&a.number))
                .collect(),
        }
    }

    /// The position each fill of `entries` left behind. Events are
    /// collected in batches, after the fact, so the account's position now
    /// is that of the batch's last fill: walking back, each earlier fill's
    /// position is the later one's less the later fill. (Exercise and
    /// assignment happen at the close, never between two fills of a batch.)
    fn positions_after_fills(&self, entries: &[mbt::LogEntry]) -> Vec<Option<Decimal>> {
        let mut running: BTreeMap<(String, Instrument), Decimal> = BTreeMap::new();
        let mut after = vec![None; entries.len()];
        for (i, entry) in entries.iter().enumerate().rev() {
            if let EngineEvent::Fill {
                account_id,
                instrument,
                side,
                quantity,
                ..
            } = &entry.event
            {
                let key = (account_id.clone(), instrument.clone());
                let now = running.entry(key).or_insert_with(|| {
                    self.engine
                        .account(account_id)
                        .map_or(Decimal::ZERO, |a| a.position_quantity(instrument))
                });
                after[i] = Some(*now);
                *now -= side.sign() * *quantity;
            }
        }
        after
    }

    /// Turns new engine log entries into broker events and order timestamps.
    fn collect_events(&mut self) {
        let entries = self.engine.log().since(self.log_cursor as u64).to_vec();
        self.log_cursor += entries.len();
        let positions = self.positions_after_fills(&entries);
        for (entry, position_after) in entries.into_iter().zip(positions) {
            let (engine_id, kind) = match entry.event {
                EngineEvent::OrderAccepted { order_id, .. } => (order_id, BrokerEventKind::New),
                EngineEvent::Fill {
                    order_id,
                    ref instrument,
                    quantity,
                    price,
                    ..
                } => {
                    let position_quantity = position_after.unwrap_or_default();
                    (
                        order_id,
                        BrokerEventKind::Fill {
                            instrument: instrument.clone(),
                            quantity,
                            price,
                            position_quantity,
                        },
                    )
                }
                EngineEvent::OrderCanceled { order_id, .. } => {
                    (order_id, BrokerEventKind::Canceled)
                }
                EngineEvent::OrderExpired { order_id, .. } => (order_id, BrokerEventKind::Expired),
                EngineEvent::OrderReplaced {
                    order_id,
                    replacement,
                } => {
                    let replacement = self
                        .by_engine_id
                        .get(&replacement)
                        .map(|i| self.orders[*i].vendor_id.clone());
                    (
                        order_id,
                        BrokerEventKind::Replaced {
                            replacement: replacement.unwrap_or_default(),
                        },
                    )
                }
                _ => continue,
            };
            let Some(&idx) = self.by_engine_id.get(&engine_id) else {
                // Accepted inside submit before the broker recorded the id: it is recorded right after.
                continue;
            };
            let order = &mut self.orders[idx];
            order.updated_at = entry.time;
            match &kind {
                BrokerEventKind::Fill {
                    quantity, price, ..
                } => order.last_fill = Some((*quantity, *price)),
                BrokerEventKind::Canceled => order.canceled_at = Some(entry.time),
                BrokerEventKind::Expired => order.expired_at = Some(entry.time),
                BrokerEventKind::Replaced { .. } => order.replaced_at = Some(entry.time),
                _ => {}
            }
            let Some(order) = self.engine.order(engine_id) else {
                continue;
            };
            let state = if order.request.is_multi_leg() {
                // Spreads fill atomically: every event of one sees the same state.
                OrderState {
                    status: order.status,
                    filled_quantity: order.filled_quantity,
                    average_fill_price: order.average_fill_price,
                }
            } else {
                let prior = self.event_states.remove(&engine_id);
                state_after(prior, &kind, &entry.event)
            };
            self.event_states.insert(engine_id, state.clone());
            if state.status == OrderStatus::Filled && matches!(kind, BrokerEventKind::Fill { .. }) {
                self.orders[idx].filled_at = Some(entry.time);
            }
            self.events.push(BrokerEvent {
                seq: self.events.len() as u64,
                time: entry.time,
                vendor_id: self.orders[idx].vendor_id.clone(),
                account: self.orders[idx].account.clone(),
                kind,
                state,
            });
        }
    }
}

/// An order's state just after one of its events, from the state before it.
fn state_after(
    prior: Option<OrderState>,
    kind: &BrokerEventKind,
    event: &EngineEvent,
) -> OrderState {
    let mut s = prior.unwrap_or(OrderState {
        status: OrderStatus::Accepted,
        filled_quantity: Decimal::ZERO,
        average_fill_price: None,
    });
    match (kind, event) {
        (
            BrokerEventKind::Fill {
                quantity, price, ..
            },
            EngineEvent::Fill { status, .. },
        ) => {
            let total = s.filled_quantity + quantity;
            let prior_cost = s.average_fill_price.unwrap_or_default() * s.filled_quantity;
            s.average_fill_price = Some(((prior_cost + price * quantity) / total).normalize());
            s.filled_quantity = total;
            s.status = *status;
        }
        (BrokerEventKind::New, _) => s.status = OrderStatus::Accepted,
        (BrokerEventKind::Canceled, _) => s.status = OrderStatus::Canceled,
        (BrokerEventKind::Expired, _) => s.status = OrderStatus::Expired,
        (BrokerEventKind::Replaced { .. }, _) => s.status = OrderStatus::Replaced,
        (BrokerEventKind::Rejected { .. }, _) => s.status = OrderStatus::Rejected,
        _ => {}
    }
    s
}

fn engine_error(e: EngineError, _vendor_id: &str) -> BrokerError {
    match e {
        EngineError::NotFound(_) => BrokerError::NotFound,
        EngineError::TooLate { status, .. } => BrokerError::NotCancelable(status),
        EngineError::Rejected(r) => BrokerError::Rejected(r),
        EngineError::Illegal(t) => BrokerError::NotCancelable(t.from),
    }
}
