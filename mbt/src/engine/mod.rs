//! The MBT engine: accounts, working orders and fills over a market fed in
//! simulated time.
//!
//! Everything that changes state goes through `submit`, `cancel`, `replace`,
//! `on_market`, `set_price` and `advance_to`, and is recorded in the event log.

mod accounts;
mod book;
mod buying_power;
mod expiry;
mod matching;
mod nyse_days;
mod session;
mod trailing;
mod validate;

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::account::{is_valid_deposit, Account, AccountKind, Position};
use crate::checked::{Checked, Overflow};
use crate::fees::FeeSchedule;
use crate::fill::FillModel;
use crate::instrument::Instrument;
use crate::log::{EngineEvent, EventLog};
use crate::market::{InstrumentId, Market, MarketData, MarketEvent, Quote};
use crate::order::{
    IllegalTransition, Order, OrderId, OrderRequest, OrderStatus, OrderType, TimeInForce, Trail,
};
use crate::pricing::OptionPricing;
use crate::rng::{rng_for, SimRng};
use crate::time::Timestamp;
use crate::window::Window;

use book::Book;
pub use buying_power::Marks;
pub use session::{new_york, Hours, Session};
use validate::Admission;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    pub fees: FeeSchedule,
    /// An account's own schedule, over `fees`: behind an aggregator each
    /// brokerage charges its own accounts its own commission.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub account_fees: BTreeMap<String, FeeSchedule>,
    pub fill: FillModel,
    pub pricing: OptionPricing,
    pub session: Session,
    /// Accept orders while the market is closed (they work from the next
    /// open) instead of rejecting them as `market_closed`.
    pub queue_when_closed: bool,
    /// Largest quantity one order may ask for.
    pub max_order_quantity: Decimal,
    /// Whether equity quantities may be fractional.
    pub fractional: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            fees: FeeSchedule::regulatory_only(),
            account_fees: BTreeMap::new(),
            fill: FillModel::default(),
            pricing: OptionPricing::default(),
            session: Session::default(),
            queue_when_closed: false,
            max_order_quantity: Decimal::from(1_000_000),
            fractional: false,
        }
    }
}

impl EngineConfig {
    /// The schedule an account's fills are charged by.
    pub fn fees_for(&self, account: &str) -> &FeeSchedule {
        self.account_fees.get(account).unwrap_or(&self.fees)
    }

    /// No fees and no slippage: fills at the touch, cash moving by exactly
    /// price × quantity, for a test or a stand-in whose figures are exact.
    pub fn frictionless() -> Self {
        Self {
            fees: FeeSchedule::free(),
            fill: FillModel {
                max_slippage_bps: 0,
                ..FillModel::default()
            },
            ..Self::default()
        }
    }
}

/// Why an order was refused. Serialized in snake_case for logs and traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    InsufficientBuyingPower,
    UnknownSymbol,
    MarketClosed,
    InvalidPrice,
    InvalidQuantity,
    InvalidOrder,
    NoPositionToClose,
    ShortSellingNotAllowed,
    UnknownAccount,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("rejected ({reason:?}): {message}")]
pub struct Rejection {
    pub reason: RejectReason,
    pub message: String,
}

impl Rejection {
    fn new(reason: RejectReason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("order {0} not found")]
    NotFound(OrderId),
    #[error("order {id} is already {status}")]
    TooLate { id: OrderId, status: OrderStatus },
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
}

/// How a simulated broker may shape one order's execution, beyond the
/// global fill model: what fault plans and per-request triggers use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmitOptions {
    /// At most this many units of the order fill per market event, so it
    /// fills in slices (partial fills) even when liquidity would allow more.
    pub max_fill_per_event: Option<Decimal>,
    /// A marketable order rests until the next market event of its
    /// instrument instead of filling the moment it arrives (a broker's first
    /// fill comes after its acceptance). IOC and FOK orders still match at
    /// once: they live for that moment only.
    pub wait_for_market: bool,
    /// Working orders this one is an alternative to (a broker's OCO exits:
    /// when one fills the others are canceled), so that together they hold
    /// the position they close once, not once each.
    pub alternatives: Vec<OrderId>,
}

/// Changes a replace may make; None keeps the old value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplaceRequest {
    /// The replacement's quantity (default: what the old order had left).
    pub quantity: Option<Decimal>,
    pub limit_price: Option<Decimal>,
    pub stop_price: Option<Decimal>,
    pub time_in_force: Option<TimeInForce>,
    pub client_order_id: Option<String>,
    /// A trailing stop's new trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trail: Option<Trail>,
    /// A new order type (Tradier's modify may change it): the old order's
    /// prices that the new type does not take are dropped, and a price it
    /// needs must be in the changes or the old order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_type: Option<OrderType>,
}

impl ReplaceRequest {
    /// The replacement of `request`, whose unfilled part is `unfilled`
    /// (the replacement's quantity when the changes name none).
    pub fn applied_to(&self, request: &OrderRequest, unfilled: Decimal) -> OrderRequest {
        let mut r = request.clone();
        r.quantity = self.quantity.unwrap_or(unfilled);
        r.order_type = self.order_type.unwrap_or(r.order_type);
        let takes_limit = matches!(r.order_type, OrderType::Limit | OrderType::StopLimit);
        let takes_stop = matches!(r.order_type, OrderType::Stop | OrderType::StopLimit);
        r.limit_price = self.limit_price.or(r.limit_price.filter(|_| takes_limit));
        // A trailing stop's stop price is the engine's to set again (a stop
        // price asked of one is refused when it is armed).
        r.stop_price = match r.trail {
            Some(_) => self.stop_price,
            None => self.stop_price.or(r.stop_price.filter(|_| takes_stop)),
        };
        r.trail = self.trail.or(r.trail);
        r.time_in_force = self.time_in_force.unwrap_or(r.time_in_force);
        if let Some(c) = &self.client_order_id {
            r.client_order_id = c.clone();
        }
        r
    }
}

/// A position as an account statement shows it, marked to market.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionView {
    pub instrument: Instrument,
    pub quantity: Decimal,
    pub average_price: Decimal,
    pub cost_basis: Decimal,
    pub mark: Option<Decimal>,
    pub market_value: Decimal,
    pub unrealized_pnl: Decimal,
}

/// An account as a statement shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub account_id: String,
    pub kind: AccountKind,
    pub cash: Decimal,
    pub buying_power: Decimal,
    pub equity: Decimal,
    pub long_market_value: Decimal,
    pub short_market_value: Decimal,
    pub realized_pnl: Decimal,
    pub unrealized_pnl: Decimal,
    pub fees_paid: Decimal,
    pub positions: Vec<PositionView>,
}

pub struct Engine {
    config: EngineConfig,
    now: Timestamp,
    /// The session whose close is the next to process (the one `now` is in,
    /// or the next), if the calendar has closes: `is_open` reads it instead
    /// of converting `now` to New York time on every tick.
    session: Option<Hours>,
    market: Market,
    accounts: accounts::Accounts,
    /// Every order accepted and not forgotten (`Engine::forget`);
    /// `OrderId(n)` is number n − 1.
    orders: Window<Order>,
    by_client_id: BTreeMap<(String, String), OrderId>,
    /// Working orders per instrument, indexed by `InstrumentId`.
    books: Vec<Book>,
    /// Option instruments with working orders, per underlying `InstrumentId`.
    option_dependents: Vec<Vec<InstrumentId>>,
    /// Working multi-leg orders, per underlying `InstrumentId`.
    multi_leg: Vec<Vec<OrderId>>,
    /// Buying power reserved per unit of each working order.
    reservations: BTreeMap<OrderId, Decimal>,
    /// Per-order caps on units filled per market event.
    fill_caps: BTreeMap<OrderId, Decimal>,
    /// Orders about to be accepted that rest until their instrument's next
    /// market event (`SubmitOptions::wait_for_market`).
    waiting_for_market: BTreeSet<OrderId>,
    /// Trailing stops waiting for their trigger, and their instrument.
    trailing: BTreeMap<OrderId, InstrumentId>,
    /// Orders that are alternatives to one another (`SubmitOptions::
    /// alternatives`), each to its group's first order.
    alternative_of: BTreeMap<OrderId, OrderId>,
    rng: SimRng,
    log: EventLog,
}

impl Engine {
    pub fn new(config: EngineConfig, seed: u64, start: Timestamp) -> Self {
        let session = config.session.session_closing_from(start);
        Self {
            config,
            now: start,
            session,
            market: Market::new(),
            accounts: accounts::Accounts::default(),
            orders: Window::default(),
            by_client_id: BTreeMap::new(),
            books: Vec::new(),
            option_dependents: Vec::new(),
            multi_leg: Vec::new(),
            reservations: BTreeMap::new(),
            fill_caps: BTreeMap::new(),
            waiting_for_market: BTreeSet::new(),
            trailing: BTreeMap::new(),
            alternative_of: BTreeMap::new(),
            rng: rng_for(seed, "mbt/fills"),
            log: EventLog::default(),
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }
    pub fn now(&self) -> Timestamp {
        self.now
    }
    pub fn log(&self) -> &EventLog {
        &self.log
    }
    pub fn market(&self) -> &Market {
        &self.market
    }
    pub fn is_open(&self) -> bool {
        match (&self.config.session, self.session) {
            (Session::AlwaysOpen, _) => true,
            (Session::Nyse, Some(h)) => h.open <= self.now && self.now < h.close,
            // Past the calendar's data and its search: no session in sight.
            (Session::Nyse, None) => false,
        }
    }

    /// Opens an account with `cash` deposited; false, and nothing changed,
    /// when the id is taken or the cash is not a deposit the ledger takes
    /// (see `account::is_valid_deposit`: whole cents, from zero to `MAX_AMOUNT`).
    pub fn open_account(&mut self, id: &str, kind: AccountKind, cash: Decimal) -> bool {
        if self.accounts.contains_key(id) || !is_valid_deposit(cash) {
            return false;
        }
        self.accounts.insert(Account::new(id, kind, cash));
        self.log.push(
            self.now,
            EngineEvent::AccountOpened {
                account_id: id.to_string(),
                kind,
                cash,
            },
        );
        true
    }

    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.get(id)
    }

    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }

    pub fn order(&self, id: OrderId) -> Option<&Order> {
        order_index(id).and_then(|i| self.orders.get(i))
    }

    /// How many orders are working (resting, untriggered or waiting as spreads).
    pub fn working_orders(&self) -> usize {
        let resting: usize = self.books.iter().map(Book::len).sum();
        let spreads: usize = self.multi_leg.iter().map(Vec::len).sum();
        resting.saturating_add(spreads)
    }

    /// The buying power held for an order's unfilled part: what it reserved
    /// per unit times what is left, zero once the order has finished. Every
    /// account's `reserved` is the sum of its orders' holds.
    pub fn hold(&self, id: OrderId) -> Decimal {
        match (self.reservations.get(&id), self.order(id)) {
            (Some(per_unit), Some(order)) => held_for(*per_unit, order.unfilled_quantity()),
            _ => Decimal::ZERO,
        }
    }

    /// Every order kept (all of them unless some were forgotten), oldest first.
    pub fn orders(&self) -> impl DoubleEndedIterator<Item = &Order> + '_ {
        self.orders.iter().map(|(_, o)| o)
    }

    /// Forgets an order that has ended, and everything kept about it, so
    /// that a long-running server's memory follows the orders it keeps;
    /// its log entries stay (see `EventLog::forget_before`). False, and
    /// nothing changed, for an unknown order or one still working. Ids
    /// are never reused: the next order's id is as if it were still here.
    pub fn forget(&mut self, id: OrderId) -> bool {
        if !self.order(id).is_some_and(|o| o.status.is_terminal()) {
            return false;
        }
        let Some(order) = order_index(id).and_then(|i| self.orders.forget(i)) else {
            return false;
        };
        let key = (order.request.account_id, order.request.client_order_id);
        if self.by_client_id.get(&key) == Some(&id) {
            self.by_client_id.remove(&key);
        }
        self.reservations.remove(&id);
        self.fill_caps.remove(&id);
        self.waiting_for_market.remove(&id);
        self.trailing.remove(&id);
        self.alternative_of.remove(&id);
        true
    }

    /// Forgets the log's entries before `seq` (see `EventLog::forget_before`).
    pub fn forget_log_before(&mut self, seq: u64) {
        self.log.forget_before(seq);
    }

    /// How many orders were ever accepted, forgotten ones included.
    pub fn orders_accepted(&self) -> usize {
        self.orders.len()
    }

    /// The latest order an account placed under `client_order_id`.
    pub fn order_by_client_id(&self, account_id: &str, client_order_id: &str) -> Option<&Order> {
        self.by_client_id
            .get(&(account_id.to_string(), client_order_id.to_string()))
            .and_then(|id| self.order(*id))
    }

    /// Interns an instrument so market events can name it.
    pub fn instrument_id(&mut self, instrument: &Instrument) -> InstrumentId {
        let id = self.market.intern(instrument);
        let n = self.market.len();
        if self.books.len() < n {
            self.books.resize_with(n, Book::default);
            self.option_dependents.resize_with(n, Vec::new);
            self.multi_leg.resize_with(n, Vec::new);
        }
        id
    }

    /// The current quote of any instrument: fed for equities, priced from
    /// the underlying for options.
    pub fn quote(&self, instrument: &Instrument) -> Option<Quote> {
        match instrument {
            Instrument::Equity { .. } => self
                .market
                .id(instrument)
                .and_then(|id| self.market.state(id).quote),
            Instrument::Option { occ } => {
                let spot = self.spot(occ.root())?;
                self.config.pricing.quote(occ, spot, self.now).ok()
            }
        }
    }

    /// An equity's current price: the mid of its latest quote (trades and
    /// bars refresh the quote around their price), else its last trade.
    pub fn spot(&self, symbol: &str) -> Option<Decimal> {
        let id = self.market.id(&Instrument::equity(symbol))?;
        let state = self.market.state(id);
        state.quote.map(|q| q.mid()).or(state.last)
    }

    /// Whether orders for this instrument can be accepted: a priced equity,
    /// or an unexpired option on one.
    pub fn is_listed(&self, instrument: &Instrument) -> bool {
        match instrument {
            Instrument::Equity { symbol } => self.spot(symbol).is_some(),
            Instrument::Option { occ } => {
                self.spot(occ.root()).is_some() && occ.expiry() >= self.now.date()
            }
        }
    }

    /// Sets an equity's price directly: a fresh quote around it, then any
    /// order it makes marketable fills. False, and nothing changed (the
    /// symbol is not even interned), for a price or size the market refuses
    /// (see `Market::check`).
    pub fn set_price(&mut self, instrument: &Instrument, price: Decimal, size: Decimal) -> bool {
        let Some(quote) = self.market.quote_around(price, size) else {
            return false;
        };
        let id = self.instrument_id(instrument);
        let ev = MarketEvent {
            time: self.now,
            instrument: id,
            data: MarketData::Quote(quote),
        };
        if !self.market.apply(&ev) {
            return false;
        }
        self.after_market_update(id);
        true
    }

    /// Feeds one market event. Time moves to the event's time first (never
    /// backwards), so session closes between events are processed in order.
    /// False, and nothing changed (not even the clock), for an event the
    /// market refuses (see `Market::check`).
    pub fn on_market(&mut self, ev: &MarketEvent) -> bool {
        let Some(update) = self.market.check(ev) else {
            return false;
        };
        self.advance_to(ev.time);
        self.market.store(update);
        self.after_market_update(ev.instrument);
        true
    }

    /// Moves simulated time to `t`, processing every session close on the way.
    pub fn advance_to(&mut self, t: Timestamp) {
        while let Some(close) = self.session.map(|h| h.close).filter(|c| *c <= t) {
            self.now = self.now.max(close);
            self.process_close(close);
            self.session = self
                .config
                .session
                .session_closing_from(close.plus_nanos(1));
        }
        self.now = self.now.max(t);
    }

    /// Submits an order. Accepted orders get an id and may fill at once;
    /// refused ones are logged and returned as a `Rejection`.
    pub fn submit(&mut self, request: OrderRequest) -> Result<OrderId, Rejection> {
        self.submit_with(request, SubmitOptions::default())
    }

    /// Submits an order with simulation-only options (see `SubmitOptions`).
    pub fn submit_with(
        &mut self,
        request: OrderRequest,
        options: SubmitOptions,
    ) -> Result<OrderId, Rejection> {
        let mut request = request;
        let admitted = self
            .arm_trail(&mut request, None)
            .and_then(|hwm| Ok((self.check(&request, None, &options.alternatives)?, hwm)));
        match admitted {
            Ok((admission, hwm)) => {
                if let Some(cap) = options.max_fill_per_event {
                    self.fill_caps.insert(self.next_order_id(), cap);
                }
                if let Some(&first) = options.alternatives.first() {
                    let group = self.alternative_of.get(&first).copied().unwrap_or(first);
                    for &id in &options.alternatives {
                        self.alternative_of.entry(id).or_insert(group);
                    }
                    self.alternative_of.insert(self.next_order_id(), group);
                }
                let immediate =
                    matches!(request.time_in_force, TimeInForce::Ioc | TimeInForce::Fok);
                if options.wait_for_market && !immediate {
                    self.waiting_for_market.insert(self.next_order_id());
                }
                Ok(self.accept(request, admission, None, hwm))
            }
            Err(rejection) => {
                self.log.push(
                    self.now,
                    EngineEvent::OrderRejected {
                        account_id: request.account_id,
                        client_order_id: request.client_order_id,
                        reason: rejection.reason,
                        message: rejection.message.clone(),
                    },
                );
                Err(rejection)
            }
        }
    }

    /// Whether `request` would be accepted now, without submitting it: the
    /// same checks as `submit`, nothing logged, nothing changed. A broker
    /// refuses at once what this refuses, and takes the rest for later.
    pub fn validate(&self, request: &OrderRequest) -> Result<(), Rejection> {
        self.validate_with(request, &[])
    }

    /// `validate` for an order to be submitted as one of `alternatives`
    /// (see `SubmitOptions::alternatives`).
    pub fn validate_with(
        &self,
        request: &OrderRequest,
        alternatives: &[OrderId],
    ) -> Result<(), Rejection> {
        let mut request = request.clone();
        self.arm_trail(&mut request, None)?;
        self.check(&request, None, alternatives).map(|_| ())
    }

    /// Cancels a working order. A filled, canceled or otherwise finished order is `TooLate`.
    pub fn cancel(&mut self, id: OrderId) -> Result<(), EngineError> {
        let order = self.order(id).ok_or(EngineError::NotFound(id))?;
        if order.status.is_terminal() {
            return Err(EngineError::TooLate {
                id,
                status: order.status,
            });
        }
        self.finish(id, OrderStatus::Canceled)?;
        Ok(())
    }

    /// Replaces a working order with a new one (new id), as Alpaca and
    /// Tradier do; the old order ends `replaced` with what it had filled.
    /// All or nothing: the replacement is checked as if the old order's hold
    /// were free, and the hold moves only once the replacement is accepted,
    /// so a refused replace leaves the old order working with its hold.
    pub fn replace(
        &mut self,
        id: OrderId,
        changes: ReplaceRequest,
    ) -> Result<OrderId, EngineError> {
        let old = self.order(id).ok_or(EngineError::NotFound(id))?;
        if old.status.is_terminal() {
            return Err(EngineError::TooLate {
                id,
                status: old.status,
            });
        }
        if !old.status.can_become(OrderStatus::Replaced) {
            return Err(EngineError::Illegal(IllegalTransition {
                order_id: id,
                from: old.status,
                to: OrderStatus::Replaced,
            }));
        }
        let carried = old.hwm;
        let mut request = changes.applied_to(&old.request, old.unfilled_quantity());
        let hwm = self.arm_trail(&mut request, carried)?;
        let alternatives: Vec<OrderId> =
            self.alternative_of.get(&id).copied().into_iter().collect();
        let admission = self.check(&request, Some(id), &alternatives)?;
        self.remove_from_books(id);
        self.reservations.remove(&id);
        self.fill_caps.remove(&id);
        let now = self.now;
        if let Some(old) = self.order_mut(id) {
            // Checked above: a working order may become replaced.
            let _ = old.transition(OrderStatus::Replaced, now);
        }
        let new_id = self.accept(request, admission, Some(id), hwm);
        // A replaced alternative's replacement takes its place in the group.
        if let Some(group) = self.alternative_of.get(&id).copied() {
            self.alternative_of.insert(new_id, group);
        }
        if let Some(old) = self.order_mut(id) {
            old.replaced_by = Some(new_id);
        }
        self.log.push(
            self.now,
            EngineEvent::OrderReplaced {
                order_id: id,
                replacement: new_id,
            },
        );
        Ok(new_id)
    }

    /// The valuation of account `id`'s positions at the current marks (kept
    /// while they hold, see `accounts`); None for no such account. Only for
    /// an account as the engine holds it: a copy changed to see what an
    /// order would do is valued with `buying_power::valuation`.
    fn kept_valuation(&self, id: &str) -> Option<Checked<buying_power::Valuation>> {
        let marks = accounts::MarksAt {
            epoch: self.market.epoch(),
            now: self.now,
        };
        self.accounts.valued(id, marks, &self.market, |a| {
            buying_power::valuation(a, self)
        })
    }

    /// An account marked to market. An amount beyond Decimal's range
    /// (only absurd marks or positions make one) shows at its bound.
    pub fn account_view(&self, id: &str) -> Option<AccountView> {
        let account = self.accounts.get(id)?;
        let shown = |amount: Checked| amount.unwrap_or_else(Overflow::bound);
        let mut view = AccountView {
            account_id: account.id.clone(),
            kind: account.kind,
            cash: account.cash,
            buying_power: shown(buying_power::buying_power(account, self)).max(Decimal::ZERO),
            equity: shown(buying_power::equity(account, self)),
            long_market_value: Decimal::ZERO,
            short_market_value: Decimal::ZERO,
            realized_pnl: account.realized_pnl,
            unrealized_pnl: Decimal::ZERO,
            fees_paid: account.fees_paid,
            positions: Vec::new(),
        };
        for p in account.positions.values() {
            let pv = self.position_view(p);
            if pv.market_value >= Decimal::ZERO {
                view.long_market_value = view.long_market_value.saturating_add(pv.market_value);
            } else {
                view.short_market_value = view.short_market_value.saturating_add(pv.market_value);
            }
            view.unrealized_pnl = view.unrealized_pnl.saturating_add(pv.unrealized_pnl);
            view.positions.push(pv);
        }
        Some(view)
    }

    fn position_view(&self, p: &Position) -> PositionView {
        let mark = self.mark(&p.instrument);
        let market_value = mark
            .map_or(Ok(p.cost_basis), |m| p.market_value(m))
            .unwrap_or_else(Overflow::bound);
        PositionView {
            instrument: p.instrument.clone(),
            quantity: p.quantity,
            average_price: p.average_price(),
            cost_basis: p.cost_basis,
            mark,
            market_value,
            unrealized_pnl: market_value.saturating_sub(p.cost_basis),
        }
    }

    fn order_mut(&mut self, id: OrderId) -> Option<&mut Order> {
        order_index(id).and_then(|i| self.orders.get_mut(i))
    }

    /// The id the next accepted order gets: ids are dense from 1.
    fn next_order_id(&self) -> OrderId {
        OrderId((self.orders.len() as u64).saturating_add(1))
    }

    /// Creates an accepted order, takes its hold, and tries to fill it at once.
    fn accept(
        &mut self,
        request: OrderRequest,
        admission: Admission,
        replaces: Option<OrderId>,
        hwm: Option<Decimal>,
    ) -> OrderId {
        let id = self.next_order_id();
        let mut order = Order::new(id, request, self.now);
        order.replaces = replaces;
        order.hwm = hwm;
        // Pending → accepted is always legal for a new order.
        let _ = order.transition(OrderStatus::Accepted, self.now);
        let r = &order.request;
        self.log.push(
            self.now,
            EngineEvent::OrderAccepted {
                order_id: id,
                account_id: r.account_id.clone(),
                client_order_id: r.client_order_id.clone(),
                instrument: r.instrument.clone(),
                side: r.side,
                quantity: r.quantity,
                order_type: r.order_type,
                limit_price: r.limit_price,
                stop_price: r.stop_price,
                time_in_force: r.time_in_force,
                legs: r.legs.as_ref().map_or(0, Vec::len),
            },
        );
        self.by_client_id
            .insert((r.account_id.clone(), r.client_order_id.clone()), id);
        self.accounts
            .set_reserved(&r.account_id, |_| admission.reserved_after);
        self.reservations.insert(id, admission.per_unit);
        self.orders.push(order);
        if hwm.is_some() {
            if let Some(iid) = self.home(id) {
                self.trailing.insert(id, iid);
            }
        }
        self.work(id);
        id
    }

    /// Ends a working order in `status` (canceled or expired), releasing what
    /// it held. The transition is the only step that can fail, and it goes first.
    fn finish(&mut self, id: OrderId, status: OrderStatus) -> Result<(), IllegalTransition> {
        let now = self.now;
        let Some(order) = self.order_mut(id) else {
            return Ok(());
        };
        order.transition(status, now)?;
        let filled_quantity = order.filled_quantity;
        self.remove_from_books(id);
        self.release_hold(id);
        self.fill_caps.remove(&id);
        let event = match status {
            OrderStatus::Expired => EngineEvent::OrderExpired {
                order_id: id,
                filled_quantity,
            },
            _ => EngineEvent::OrderCanceled {
                order_id: id,
                filled_quantity,
            },
        };
        self.log.push(now, event);
        Ok(())
    }

    /// Frees the hold of an order's unfilled part.
    fn release_hold(&mut self, id: OrderId) {
        let held = self.hold(id);
        self.reservations.remove(&id);
        let Some(order) = order_index(id).and_then(|i| self.orders.get(i)) else {
            return;
        };
        self.accounts
            .set_reserved(&order.request.account_id, |reserved| {
                release(reserved, held)
            });
    }

    /// The mark of any instrument: mid of its quote, else the last trade.
    /// The instrument's mark at the latest session close; None before the
    /// first close this engine processed.
    pub fn previous_close(&self, instrument: &Instrument) -> Option<Decimal> {
        self.market
            .state(self.market.id(instrument)?)
            .previous_close
    }

    pub fn mark(&self, instrument: &Instrument) -> Option<Decimal> {
        match instrument {
            Instrument::Equity { .. } => self.market.state(self.market.id(instrument)?).mark(),
            Instrument::Option { .. } => self.quote(instrument).map(|q| q.mid()),
        }
    }
}

impl Marks for Engine {
    fn mark(&self, instrument: &Instrument) -> Option<Decimal> {
        Engine::mark(self, instrument)
    }
}

/// Where `OrderId(n)` lives in `Engine::orders`: index n − 1.
fn order_index(id: OrderId) -> Option<usize> {
    usize::try_from(id.0).ok()?.checked_sub(1)
}

/// The hold for `qty` units at `per_unit` each. Exact: an order never holds
/// for more units than it was admitted with, and that product was
/// representable (saturating only keeps an impossible case from panicking).
fn held_for(per_unit: Decimal, qty: Decimal) -> Decimal {
    per_unit.saturating_mul(qty)
}

/// `reserved` less a hold it includes. Exact: both are non-negative, so the
/// difference is always in range.
fn release(reserved: Decimal, held: Decimal) -> Decimal {
    reserved.saturating_sub(held)
}

#[cfg(test)]
mod tests;
