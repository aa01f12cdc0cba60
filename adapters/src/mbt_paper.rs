//! The MBT paper adapter: the contract over Raxx's own engine, in process.
//!
//! Paper is always MBT (DESIGN.md), so this adapter is what every tier's
//! paper account trades through. The engine is pure and synchronous and is
//! shared with whoever feeds it market data, so it sits behind a plain
//! `std::sync::Mutex` that is never held across an `.await`.
//!
//! Choices the contract leaves to the adapter, made here once:
//! - `broker_order_id` is the engine's order number in decimal ("1", "2", …).
//! - A refusal is an error of kind `rejected` (the engine keeps no order for
//!   a refused request, so there is no `broker_order_id` to report); the
//!   message is the engine's, `broker_code` the reason word
//!   (`insufficient_buying_power`, `unknown_symbol`, …).
//! - One intent, one order: submitting a `client_order_id` the account has
//!   already used returns that order, whatever the new request says.
//! - `broker_status` is MBT's own snake_case status word.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;

use mbt::{Engine, EngineError, EngineEvent, OrderId, OrderRequest, RejectReason, ReplaceRequest};

use crate::adapter::{BrokerAdapter, OrderUpdates};
use crate::contract::{
    Account, CancelResult, CancelStatus, Capabilities, Description, Order, OrderResult,
    OrderStatus, OrderType, Position, Replace, Tier, TimeInForce,
};
use crate::error::{AdapterError, ErrorKind, Result};
use crate::updates::UpdateHub;

/// How often `order_updates` reads the engine's log by default.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The engine as the builder shares it: it feeds market data, we trade.
/// Either a bare engine, or a venue that also holds its market.
pub type SharedEngine = Arc<Mutex<dyn EngineHost + 'static>>;

/// Whatever holds the engine the adapter trades on.
pub trait EngineHost: Send {
    fn engine(&self) -> &Engine;
    fn engine_mut(&mut self) -> &mut Engine;
}

impl EngineHost for Engine {
    fn engine(&self) -> &Engine {
        self
    }
    fn engine_mut(&mut self) -> &mut Engine {
        self
    }
}

impl EngineHost for mbt::Venue {
    fn engine(&self) -> &Engine {
        mbt::Venue::engine(self)
    }
    fn engine_mut(&mut self) -> &mut Engine {
        mbt::Venue::engine_mut(self)
    }
}

/// The locked engine.
struct Locked<'a>(MutexGuard<'a, dyn EngineHost + 'static>);

impl std::ops::Deref for Locked<'_> {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        self.0.engine()
    }
}

impl std::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut Engine {
        self.0.engine_mut()
    }
}

/// One MBT paper account, seen through the adapter contract.
#[derive(Clone)]
pub struct MbtAdapter {
    engine: SharedEngine,
    account_id: String,
    poll_interval: Duration,
    /// The open `order_updates` streams; every order state read here feeds them.
    updates: Arc<UpdateHub>,
}

impl std::fmt::Debug for MbtAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MbtAdapter")
            .field("account_id", &self.account_id)
            .field("poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}

/// Locks the engine. A panic elsewhere while holding the lock leaves the
/// engine as its last complete operation left it (every engine call either
/// finishes or panics before mutating), so the poison is not ours to propagate.
fn lock(engine: &SharedEngine) -> Locked<'_> {
    Locked(
        engine
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}

impl MbtAdapter {
    /// An adapter for `account_id`, which must already be open in the engine
    /// (calls for an unknown account answer `not_found`).
    pub fn new(engine: SharedEngine, account_id: impl Into<String>) -> Self {
        Self {
            engine,
            account_id: account_id.into(),
            poll_interval: DEFAULT_POLL_INTERVAL,
            updates: Arc::new(UpdateHub::default()),
        }
    }

    fn submit_now(&self, order: &Order) -> Result<OrderResult> {
        order.without_exits()?;
        let mut engine = lock(&self.engine);

        if engine.account(&self.account_id).is_none() {
            return Err(AdapterError::not_found(format!(
                "account {} not found",
                self.account_id
            )));
        }
        // One intent, one order: the engine indexes every accepted order by
        // (account, client order id), so a resubmission finds the first one.
        if let Some(existing) = engine.order_by_client_id(&self.account_id, &order.client_order_id)
        {
            return Ok(to_result(existing));
        }
        match engine.submit(self.request_of(order)) {
            Ok(id) => result_of(&engine, id),
            Err(r) => Err(rejection(r)),
        }
    }

    fn cancel_now(&self, broker_order_id: &str) -> Result<CancelResult> {
        let mut engine = lock(&self.engine);
        let id = self.own_order_id(&engine, broker_order_id)?;
        let canceled = CancelResult {
            broker_order_id: broker_order_id.to_string(),
            status: CancelStatus::Canceled,
        };
        // Cancelling a canceled order is idempotent (the harness's
        // `double_cancel_is_idempotent`); any other terminal state is too late.
        if engine.order(id).map(|o| o.status) == Some(OrderStatus::Canceled) {
            return Ok(canceled);
        }
        engine.cancel(id).map_err(engine_error)?;
        Ok(canceled)
    }

    fn order_now(&self, broker_order_id: &str) -> Result<OrderResult> {
        let engine = lock(&self.engine);
        let id = self.own_order_id(&engine, broker_order_id)?;
        result_of(&engine, id)
    }

    /// How often `order_updates` reads the log (tokio time).
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Replaces a working order with a new one under a new id (as Alpaca
    /// does), with the same error mapping as cancel.
    fn replace_now(&self, broker_order_id: &str, changes: &Replace) -> Result<OrderResult> {
        let mut engine = lock(&self.engine);
        let id = self.own_order_id(&engine, broker_order_id)?;
        let request = ReplaceRequest {
            quantity: changes.quantity,
            limit_price: changes.limit_price,
            stop_price: changes.stop_price,
            time_in_force: changes.time_in_force,
            client_order_id: changes.client_order_id.clone(),
            trail: None,
            order_type: None,
        };
        match engine.replace(id, request) {
            Ok(new_id) => result_of(&engine, new_id),
            // As the HTTP adapters answer: a finished order cannot be
            // changed, and that is a refusal, not a late cancel.
            Err(e @ EngineError::TooLate { .. }) => Err(AdapterError::rejected(format!(
                "cannot replace: {}",
                engine_error(e).message
            ))),
            Err(e) => Err(engine_error(e)),
        }
    }

    /// The engine id of one of this account's orders, or `not_found`.
    fn own_order_id(&self, engine: &Engine, broker_order_id: &str) -> Result<OrderId> {
        let not_found = || AdapterError::not_found(format!("order {broker_order_id} not found"));
        let id = broker_order_id
            .parse::<u64>()
            .map(OrderId)
            .map_err(|_| not_found())?;
        match engine.order(id) {
            Some(o) if o.request.account_id == self.account_id => Ok(id),
            // Another account's order does not exist for this one.
            _ => Err(not_found()),
        }
    }

    fn request_of(&self, order: &Order) -> OrderRequest {
        OrderRequest {
            account_id: self.account_id.clone(),
            client_order_id: order.client_order_id.clone(),
            instrument: order.instrument.clone(),
            side: order.side,
            position_effect: order.position_effect,
            quantity: order.quantity,
            order_type: order.order_type,
            limit_price: order.limit_price,
            stop_price: order.stop_price,
            time_in_force: order.time_in_force,
            legs: order.legs.as_ref().map(|legs| {
                legs.iter()
                    .map(|l| mbt::Leg {
                        instrument: l.instrument.clone(),
                        side: l.side,
                        position_effect: l.position_effect,
                        ratio_quantity: l.ratio_quantity,
                    })
                    .collect()
            }),
            trail: None,
        }
    }
}

/// The contract's view of an engine order.
fn to_result(o: &mbt::Order) -> OrderResult {
    OrderResult {
        broker_order_id: o.id.to_string(),
        client_order_id: o.request.client_order_id.clone(),
        status: o.status,
        filled_quantity: o.filled_quantity,
        remaining_quantity: o.remaining_quantity(),
        average_fill_price: o.average_fill_price,
        reject_reason: o.reject_reason.clone(),
        broker_status: o.status.as_str().to_string(),
    }
}

fn result_of(engine: &Engine, id: OrderId) -> Result<OrderResult> {
    engine
        .order(id)
        .map(to_result)
        .ok_or_else(|| AdapterError::not_found(format!("order {id} not found")))
}

fn reason_word(reason: RejectReason) -> String {
    // The serde name is the snake_case word logs and traces already use.
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{reason:?}"))
}

fn rejection(r: mbt::Rejection) -> AdapterError {
    AdapterError::rejected(r.message).with_code(reason_word(r.reason))
}

fn engine_error(e: EngineError) -> AdapterError {
    match e {
        EngineError::NotFound(id) => AdapterError::not_found(format!("order {id} not found")),
        EngineError::TooLate { id, status } => AdapterError::new(
            ErrorKind::TooLateToCancel,
            format!("order {id} is already {status}"),
        )
        .with_code(status.as_str()),
        EngineError::Rejected(r) => rejection(r),
        EngineError::Illegal(t) => AdapterError::unknown(t.to_string()),
    }
}

#[async_trait]
impl BrokerAdapter for MbtAdapter {
    fn describe(&self) -> Description {
        Description {
            name: "mbt-paper".to_string(),
            broker: "mbt".to_string(),
            tier: Tier::A,
            capabilities: Capabilities {
                equities: true,
                options: true,
                // The engine fills multi-leg orders as one unit.
                multi_leg: true,
                replace: true,
                // Updates come from the engine's own log, not from polling a broker.
                streaming: true,
                read_only: false,
                short_selling: true,
                fractional: false,
                token_refresh: false,
                brackets: false,
                order_types: OrderType::ALL.to_vec(),
                time_in_force: TimeInForce::ALL.to_vec(),
            },
            request_timeout_ms: None,
            history_lag_days: 0,
        }
    }

    fn account_id(&self) -> &str {
        &self.account_id
    }

    async fn submit_order(&self, order: &Order) -> Result<OrderResult> {
        let submitted = self.submit_now(order);
        self.updates.seen(submitted)
    }

    async fn cancel_order(&self, broker_order_id: &str) -> Result<CancelResult> {
        self.cancel_now(broker_order_id)
    }

    async fn replace_order(&self, broker_order_id: &str, changes: &Replace) -> Result<OrderResult> {
        let replaced = self.replace_now(broker_order_id, changes);
        self.updates.seen(replaced)
    }

    async fn get_order(&self, broker_order_id: &str) -> Result<OrderResult> {
        let read = self.order_now(broker_order_id);
        self.updates.seen(read)
    }

    async fn get_positions(&self) -> Result<Vec<Position>> {
        let engine = lock(&self.engine);
        let view = engine.account_view(&self.account_id).ok_or_else(|| {
            AdapterError::not_found(format!("account {} not found", self.account_id))
        })?;
        Ok(view
            .positions
            .into_iter()
            .filter(|p| p.quantity != Decimal::ZERO)
            .map(|p| Position {
                account_id: self.account_id.clone(),
                instrument: p.instrument,
                quantity: p.quantity,
                average_price: p.average_price,
            })
            .collect())
    }

    async fn get_account(&self) -> Result<Account> {
        let engine = lock(&self.engine);
        let view = engine.account_view(&self.account_id).ok_or_else(|| {
            AdapterError::not_found(format!("account {} not found", self.account_id))
        })?;
        Ok(Account {
            account_id: view.account_id,
            cash: view.cash,
            buying_power: view.buying_power,
            equity: view.equity,
        })
    }

    async fn order_updates(&self) -> Result<OrderUpdates> {
        let (feed, updates) = self.updates.open();
        // From now on: start at the log's current end.
        let mut follow = Follow {
            engine: self.engine.clone(),
            account_id: self.account_id.clone(),
            cursor: lock(&self.engine).log().len() as u64,
        };
        let interval = self.poll_interval;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    biased;
                    _ = feed.closed() => return,
                    _ = tokio::time::sleep(interval) => {}
                }
                for r in follow.read_log() {
                    if !feed.offer(Ok(r)) {
                        return;
                    }
                }
            }
        });
        Ok(updates)
    }
}

/// Where one `order_updates` stream is in the engine's log.
struct Follow {
    engine: SharedEngine,
    account_id: String,
    cursor: u64,
}

impl Follow {
    /// Reads the log from the cursor: each changed order of this account
    /// once, in the order its first change was logged, in its state now.
    fn read_log(&mut self) -> Vec<OrderResult> {
        let engine = lock(&self.engine);
        let entries = engine.log().since(self.cursor);
        self.cursor += entries.len() as u64;
        let mut seen = BTreeSet::new();
        let mut changed = Vec::new();
        for entry in entries {
            let ids: &[OrderId] = match &entry.event {
                EngineEvent::OrderAccepted { order_id, .. }
                | EngineEvent::StopTriggered { order_id, .. }
                | EngineEvent::Fill { order_id, .. }
                | EngineEvent::OrderCanceled { order_id, .. }
                | EngineEvent::OrderExpired { order_id, .. }
                | EngineEvent::OrderReplaced { order_id, .. } => std::slice::from_ref(order_id),
                // Refusals never became orders; the rest are not order changes.
                _ => &[],
            };
            for id in ids {
                if seen.insert(*id) {
                    changed.push(*id);
                }
            }
        }
        changed
            .into_iter()
            .filter_map(|id| engine.order(id))
            .filter(|o| o.request.account_id == self.account_id)
            .map(to_result)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use mbt::{AccountKind, EngineConfig, Instrument, MarketData, MarketEvent};
    use mbt::{Quote, Side, Timestamp};
    use rust_decimal_macros::dec;

    /// Monday 2026-01-05 15:00 UTC: the market is open.
    const MONDAY_OPEN: Timestamp = Timestamp::from_secs(1_767_625_200);

    fn engine() -> SharedEngine {
        let mut e = Engine::new(EngineConfig::frictionless(), 7, MONDAY_OPEN);
        assert!(e.open_account("PA1", AccountKind::Margin, dec!(100000)));
        assert!(e.open_account("PA2", AccountKind::Margin, dec!(100000)));
        let shared: SharedEngine = Arc::new(Mutex::new(e));
        quote(&shared, "AAPL", dec!(99.99), dec!(100.01), dec!(1000));
        shared
    }

    /// Feeds one quote, as the builder's market data would.
    fn quote(engine: &SharedEngine, symbol: &str, bid: Decimal, ask: Decimal, size: Decimal) {
        let mut e = lock(engine);
        let id = e.instrument_id(&Instrument::equity(symbol));
        let time = e.now().plus_millis(1);
        assert!(e.on_market(&MarketEvent {
            time,
            instrument: id,
            data: MarketData::Quote(Quote {
                bid,
                ask,
                bid_size: size,
                ask_size: size,
            }),
        }));
    }

    fn adapter(engine: &SharedEngine) -> MbtAdapter {
        MbtAdapter::new(engine.clone(), "PA1")
    }

    #[tokio::test]
    async fn market_buy_fills_and_reports_contract_fields() {
        let e = engine();
        let a = adapter(&e);
        let r = a
            .submit_order(&Order::market("i-1", "AAPL", Side::Buy, dec!(10)))
            .await
            .unwrap();
        assert_eq!(r.status, OrderStatus::Filled);
        assert_eq!(r.broker_status, "filled");
        assert_eq!(r.client_order_id, "i-1");
        assert_eq!(r.filled_quantity, dec!(10));
        assert_eq!(r.remaining_quantity, dec!(0));
        assert_eq!(r.average_fill_price, Some(dec!(100.01)));
        assert_eq!(a.get_order(&r.broker_order_id).await.unwrap(), r);
    }

    #[tokio::test]
    async fn an_order_with_exits_is_refused_never_sent_bare() {
        let e = engine();
        let a = adapter(&e);
        let mut bracket = Order::market("b-1", "AAPL", Side::Buy, dec!(1));
        bracket.exits = Some(crate::contract::Exits {
            take_profit: Some(dec!(120)),
            stop_loss: None,
        });
        let err = a.submit_order(&bracket).await.unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::InvalidRequest);
        assert!(
            lock(&e).orders().next().is_none(),
            "nothing reached the engine"
        );
    }

    #[tokio::test]
    async fn partial_fills_accumulate_with_a_weighted_average() {
        let e = engine();
        let a = adapter(&e);
        // 100 shown at the ask: a 250 order takes at most 100 per quote event.
        quote(&e, "AAPL", dec!(99.99), dec!(100.01), dec!(100));
        let r = a
            .submit_order(&Order::market("big", "AAPL", Side::Buy, dec!(250)))
            .await
            .unwrap();
        assert_eq!(r.status, OrderStatus::PartiallyFilled);
        assert_eq!(r.broker_status, "partially_filled");
        assert_eq!(r.filled_quantity, dec!(100));
        assert_eq!(r.remaining_quantity, dec!(150));
        quote(&e, "AAPL", dec!(101.99), dec!(102.01), dec!(100));
        let r = a.get_order(&r.broker_order_id).await.unwrap();
        assert_eq!(r.status, OrderStatus::PartiallyFilled);
        assert_eq!(r.filled_quantity, dec!(200));
        assert_eq!(r.average_fill_price, Some(dec!(101.01)));
        quote(&e, "AAPL", dec!(103.99), dec!(104.01), dec!(100));
        let r = a.get_order(&r.broker_order_id).await.unwrap();
        assert_eq!(r.status, OrderStatus::Filled);
        assert_eq!(r.filled_quantity, dec!(250));
        assert_eq!(r.remaining_quantity, dec!(0));
        // (100 × 100.01 + 100 × 102.01 + 50 × 104.01) / 250
        assert_eq!(r.average_fill_price, Some(dec!(101.61)));
    }

    #[tokio::test]
    async fn rejections_are_typed_with_the_engine_reason() {
        let e = engine();
        let a = adapter(&e);
        let err = a
            .submit_order(&Order::market("rich", "AAPL", Side::Buy, dec!(100000)))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Rejected);
        assert_eq!(
            err.broker_code.as_deref(),
            Some("insufficient_buying_power")
        );
        let err = a
            .submit_order(&Order::market("nope", "ZZZQ", Side::Buy, dec!(1)))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Rejected);
        assert_eq!(err.broker_code.as_deref(), Some("unknown_symbol"));
        // A refused intent left no order behind.
        assert!(lock(&e).orders().next().is_none());
    }

    #[tokio::test]
    async fn cancel_semantics() {
        let e = engine();
        let a = adapter(&e);
        let resting = a
            .submit_order(&Order::limit("low", "AAPL", Side::Buy, dec!(5), dec!(90)))
            .await
            .unwrap();
        assert_eq!(resting.status, OrderStatus::Accepted);
        let c = a.cancel_order(&resting.broker_order_id).await.unwrap();
        assert_eq!(c.status, CancelStatus::Canceled);
        // Double cancel of a canceled order is still canceled.
        let again = a.cancel_order(&resting.broker_order_id).await.unwrap();
        assert_eq!(again.status, CancelStatus::Canceled);
        let r = a.get_order(&resting.broker_order_id).await.unwrap();
        assert_eq!(r.status, OrderStatus::Canceled);
        assert_eq!(r.broker_status, "canceled");

        let filled = a
            .submit_order(&Order::market("done", "AAPL", Side::Buy, dec!(1)))
            .await
            .unwrap();
        let err = a.cancel_order(&filled.broker_order_id).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::TooLateToCancel);

        for bogus in ["999", "abc", "", "-1"] {
            let err = a.cancel_order(bogus).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::NotFound, "{bogus:?}");
            let err = a.get_order(bogus).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::NotFound, "{bogus:?}");
        }
        // Another account's order does not exist for this one.
        let other = MbtAdapter::new(e.clone(), "PA2");
        let err = other.get_order(&filled.broker_order_id).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn positions_are_signed_and_account_follows_fills() {
        let e = engine();
        let a = adapter(&e);
        assert!(a.get_positions().await.unwrap().is_empty());
        a.submit_order(&Order::market("b1", "AAPL", Side::Buy, dec!(10)))
            .await
            .unwrap();
        let p = a.get_positions().await.unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].account_id, "PA1");
        assert_eq!(p[0].instrument, Instrument::equity("AAPL"));
        assert_eq!(p[0].quantity, dec!(10));
        assert_eq!(p[0].average_price, dec!(100.01));
        let acct = a.get_account().await.unwrap();
        assert_eq!(acct.account_id, "PA1");
        assert_eq!(acct.cash, dec!(100000) - dec!(1000.10));
        let view = lock(&e).account_view("PA1").unwrap();
        assert_eq!(acct.buying_power, view.buying_power);
        assert_eq!(acct.equity, view.equity);

        // Sell through zero: the position goes short and shows a negative quantity.
        a.submit_order(&Order::market("s1", "AAPL", Side::Sell, dec!(15)))
            .await
            .unwrap();
        let p = a.get_positions().await.unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].quantity, dec!(-5));
        assert_eq!(p[0].average_price, dec!(99.99));

        let unknown = MbtAdapter::new(e.clone(), "NOPE");
        assert_eq!(
            unknown.get_account().await.unwrap_err().kind,
            ErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn one_intent_is_one_order() {
        let e = engine();
        let a = adapter(&e);
        let order = Order::limit("intent-7", "AAPL", Side::Buy, dec!(3), dec!(90));
        let first = a.submit_order(&order).await.unwrap();
        let second = a.submit_order(&order).await.unwrap();
        assert_eq!(first.broker_order_id, second.broker_order_id);
        // Even a changed request under the same intent is the same order.
        let changed = Order::market("intent-7", "AAPL", Side::Buy, dec!(50));
        let third = a.submit_order(&changed).await.unwrap();
        assert_eq!(third.broker_order_id, first.broker_order_id);
        assert_eq!(lock(&e).orders().count(), 1);
        // Another account's intent with the same id is its own order.
        let other = MbtAdapter::new(e.clone(), "PA2");
        let theirs = other.submit_order(&order).await.unwrap();
        assert_ne!(theirs.broker_order_id, first.broker_order_id);
    }

    #[tokio::test(start_paused = true)]
    async fn updates_stream_emits_fills_from_the_log() {
        let e = engine();
        let a = adapter(&e);
        let resting = a
            .submit_order(&Order::limit("rest", "AAPL", Side::Buy, dec!(4), dec!(95)))
            .await
            .unwrap();
        let mut updates = a.order_updates().await.unwrap();
        // The market comes down through the limit: the resting order fills.
        quote(&e, "AAPL", dec!(94.98), dec!(95.00), dec!(1000));
        let u = tokio::time::timeout(Duration::from_secs(1), updates.next())
            .await
            .expect("an update within a second of tokio time")
            .expect("the stream is open")
            .unwrap();
        assert_eq!(u.broker_order_id, resting.broker_order_id);
        assert_eq!(u.status, OrderStatus::Filled);
        assert_eq!(u.filled_quantity, dec!(4));
        assert_eq!(u.average_fill_price, Some(dec!(95.00)));
        // Other accounts' orders never appear on this account's stream.
        MbtAdapter::new(e.clone(), "PA2")
            .submit_order(&Order::market("theirs", "AAPL", Side::Buy, dec!(1)))
            .await
            .unwrap();
        let mine = a
            .submit_order(&Order::market("mine", "AAPL", Side::Buy, dec!(1)))
            .await
            .unwrap();
        let u = updates.next().await.unwrap().unwrap();
        assert_eq!(u.broker_order_id, mine.broker_order_id);
        assert_eq!(u.status, OrderStatus::Filled);
    }

    #[test]
    fn describe_is_tier_a_mbt() {
        let d = adapter(&engine()).describe();
        assert_eq!(d.broker, "mbt");
        assert_eq!(d.tier, Tier::A);
        assert!(!d.capabilities.read_only);
        assert_eq!(d.capabilities.order_types.len(), 4);
    }
}
