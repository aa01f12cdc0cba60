//! Where the adapter under test trades, seen by the harness: a simulated
//! broker (steered through its `/_sim/` control surface) or the MBT paper
//! engine in process. Both answer with the same ground-truth ledger.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use broker_models::brokerage::{FaultRecord, Ledger, LedgerOrder};
use broker_models::clock::DEFAULT_EPOCH;
use broker_models::faults::{Fault, FaultPlan};
use mbt::{AccountKind, EngineConfig, EngineEvent, Instrument, MarketSpec, OpeningAccount};
use rust_decimal::Decimal;

use crate::error::VenueError;
use crate::trace::{now, Actor, Trace};
use crate::world::BrokerEndpoint;

/// The MBT paper engine a paper world trades on, with its market.
#[derive(Clone)]
pub struct Paper {
    pub venue: Arc<Mutex<mbt::Venue>>,
    pub account: String,
    trace: Trace,
}

/// The paper account every paper world opens.
pub const PAPER_ACCOUNT: &str = "PAPER-1";

impl Paper {
    pub fn new(seed: u64, trace: Trace, market: &MarketSpec) -> Result<Self, VenueError> {
        // Deep enough that orders larger than the displayed size (the way the
        // paper engine fills in slices) fit the buying power.
        let account = OpeningAccount {
            number: PAPER_ACCOUNT.to_string(),
            kind: AccountKind::Margin,
            cash: Decimal::from(10_000_000),
        };
        let venue = mbt::Venue::new(
            EngineConfig::default(),
            seed,
            DEFAULT_EPOCH,
            market,
            &[account],
        )
        .map_err(VenueError::Paper)?;
        Ok(Self {
            venue: Arc::new(Mutex::new(venue)),
            account: PAPER_ACCOUNT.to_string(),
            trace,
        })
    }

    fn venue(&self) -> std::sync::MutexGuard<'_, mbt::Venue> {
        self.venue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Brings the market up to simulated time now (plus anything skipped).
    pub fn sync(&self, skipped: Duration) {
        let t = DEFAULT_EPOCH
            .plus_millis(i64::try_from((now() + skipped).as_millis()).unwrap_or(i64::MAX));
        self.venue().run_until(t);
    }

    /// Keeps the market moving on tokio time, as a broker's market would.
    pub fn spawn_market(&self, skipped: Arc<Mutex<Duration>>) {
        let me = self.clone();
        tokio::task::spawn_local(async move {
            loop {
                let s = *skipped.lock().unwrap_or_else(|p| p.into_inner());
                me.sync(s);
                // Fine-grained, so reads through the paper adapter lag the
                // market by at most this (calls themselves sync first: see `subject`).
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
    }

    fn ledger(&self) -> Ledger {
        let venue = self.venue();
        let engine = venue.engine();
        let orders = engine
            .orders()
            .map(|o| LedgerOrder {
                vendor_id: o.id.to_string(),
                account: o.request.account_id.clone(),
                client_order_id: o.request.client_order_id.clone(),
                intent: o.request.client_order_id.clone(),
                instrument: o.request.instrument.clone(),
                side: o.request.side,
                quantity: o.request.quantity,
                limit_price: o.request.limit_price,
                stop_price: o.request.stop_price,
                submitted_at: o.created_at,
                status: o.status,
                filled_quantity: o.filled_quantity,
                average_fill_price: o.average_fill_price,
                taken: true,
                rejection: None,
                parent: None,
            })
            .collect();
        let accounts = engine
            .accounts()
            .filter_map(|a| engine.account_view(&a.id))
            .collect();
        Ledger {
            broker: "mbt".into(),
            now: engine.now(),
            orders,
            accounts,
            token_refreshes: 0,
            authorization_revoked: false,
            holder_activity: Vec::new(),
            order_attempts: Vec::new(),
            throttle_breaches: Vec::new(),
            connections: Vec::new(),
        }
    }

    /// Fills as the engine logged them.
    fn fills(&self) -> Vec<Fill> {
        let venue = self.venue();
        let engine = venue.engine();
        engine
            .log()
            .since(0)
            .filter_map(|e| match &e.event {
                EngineEvent::Fill {
                    order_id,
                    account_id,
                    instrument,
                    side,
                    quantity,
                    price,
                    ..
                } => Some(Fill {
                    account: account_id.clone(),
                    instrument: instrument.clone(),
                    order: order_id.to_string(),
                    side: Some(*side),
                    quantity: *quantity,
                    price: *price,
                    position_after: None,
                }),
                _ => None,
            })
            .collect()
    }
}

/// One execution, for the fill invariants.
#[derive(Debug, Clone)]
pub struct Fill {
    pub account: String,
    pub instrument: Instrument,
    /// The order's id at the venue (vendor id, or the engine's order number).
    pub order: String,
    /// The side, where the venue's fill record carries it (else the ledger's order tells).
    pub side: Option<mbt::Side>,
    pub quantity: Decimal,
    pub price: Decimal,
    /// The account's position after the fill, where the venue reports it.
    pub position_after: Option<Decimal>,
}

fn event_line(broker: &str, e: &broker_models::brokerage::BrokerEvent) -> String {
    use broker_models::brokerage::BrokerEventKind as K;
    let what = match &e.kind {
        K::New => "accepted".to_string(),
        K::Fill {
            instrument,
            quantity,
            price,
            position_quantity,
        } => format!("fill {quantity} {instrument} @ {price} (position {position_quantity})"),
        K::Canceled => "canceled".into(),
        K::Expired => "expired".into(),
        K::Replaced { replacement } => format!("replaced by {replacement}"),
        K::Rejected { reason } => format!("rejected: {reason}"),
    };
    format!("{broker} order {} {what}", e.vendor_id)
}

/// The paper engine's log entries worth a trace line (order life and fills).
fn paper_line(e: &EngineEvent) -> Option<String> {
    Some(match e {
        EngineEvent::OrderAccepted { order_id, .. } => format!("mbt order {order_id} accepted"),
        EngineEvent::Fill {
            order_id,
            instrument,
            side,
            quantity,
            price,
            ..
        } => format!("mbt order {order_id} fill {side:?} {quantity} {instrument} @ {price}"),
        EngineEvent::OrderCanceled { order_id, .. } => format!("mbt order {order_id} canceled"),
        _ => return None,
    })
}

#[derive(Clone)]
pub enum Venue {
    Model(Box<BrokerEndpoint>),
    Paper {
        paper: Paper,
        /// Simulated time jumped over by `advance` (the paper clock is tokio's plus this).
        skipped: Arc<Mutex<Duration>>,
    },
}

impl Venue {
    pub fn is_model(&self) -> bool {
        matches!(self, Venue::Model(_))
    }

    pub fn slug(&self) -> &str {
        match self {
            Venue::Model(b) => &b.connection.broker,
            Venue::Paper { .. } => "mbt",
        }
    }

    pub async fn ledger(&self) -> Result<Ledger, VenueError> {
        match self {
            Venue::Model(b) => b.control.ledger().await,
            Venue::Paper { paper, skipped } => {
                paper.sync(*skipped.lock().unwrap_or_else(|p| p.into_inner()));
                Ok(paper.ledger())
            }
        }
    }

    pub async fn fills(&self) -> Result<Vec<Fill>, VenueError> {
        match self {
            Venue::Model(b) => Ok(b
                .control
                .events(0)
                .await?
                .into_iter()
                .filter_map(|e| match e.kind {
                    broker_models::brokerage::BrokerEventKind::Fill {
                        instrument,
                        quantity,
                        price,
                        position_quantity,
                    } => Some(Fill {
                        account: e.account,
                        instrument,
                        order: e.vendor_id,
                        side: None,
                        quantity,
                        price,
                        position_after: Some(position_quantity),
                    }),
                    _ => None,
                })
                .collect()),
            Venue::Paper { paper, .. } => Ok(paper.fills()),
        }
    }

    /// Writes what the venue did on its own into the trace at the times it
    /// happened: order events (fills, cancels, expiries) and applied faults.
    pub async fn record_history(&self, trace: &Trace) -> Result<(), VenueError> {
        let since_epoch = |t: mbt::Timestamp| {
            Duration::from_millis(u64::try_from(t.millis() - DEFAULT_EPOCH.millis()).unwrap_or(0))
        };
        match self {
            Venue::Model(b) => {
                for e in b.control.events(0).await? {
                    trace.record_at(
                        since_epoch(e.time),
                        Actor::Broker,
                        event_line(&b.connection.broker, &e),
                    );
                }
                for f in b.control.faults().await? {
                    trace.record_at(
                        since_epoch(f.time),
                        Actor::Broker,
                        format!(
                            "{} fault on {}: {}",
                            b.connection.broker, f.operation, f.fault
                        ),
                    );
                }
            }
            Venue::Paper { paper, .. } => {
                let venue = paper.venue();
                for e in venue.engine().log().since(0) {
                    if let Some(line) = paper_line(&e.event) {
                        trace.record_at(since_epoch(e.time), Actor::Broker, line);
                    }
                }
            }
        }
        Ok(())
    }

    /// Jumps simulated market time forward.
    pub async fn advance(&self, ms: i64) -> Result<(), VenueError> {
        match self {
            Venue::Model(b) => b.control.advance(ms).await,
            Venue::Paper { paper, skipped } => {
                paper
                    .trace
                    .record(Actor::Control, format!("advance {ms}ms"));
                let mut s = skipped.lock().unwrap_or_else(|p| p.into_inner());
                *s += Duration::from_millis(u64::try_from(ms).unwrap_or(0));
                paper.sync(*s);
                Ok(())
            }
        }
    }

    pub async fn set_price(&self, symbol: &str, price: Decimal) -> Result<(), VenueError> {
        match self {
            Venue::Model(b) => b.control.set_price(symbol, price).await,
            Venue::Paper { paper, skipped } => {
                paper
                    .trace
                    .record(Actor::Control, format!("set price {symbol} {price}"));
                // Now, not at the market's last tick: what the price moves is stamped now.
                paper.sync(*skipped.lock().unwrap_or_else(|p| p.into_inner()));
                if paper.venue().set_price(symbol, price) {
                    Ok(())
                } else {
                    Err(VenueError::Price {
                        symbol: symbol.to_string(),
                        price: price.to_string(),
                    })
                }
            }
        }
    }

    /// Jumps `ms` forward and quotes `prices` there, all or none: the
    /// market's next moment.
    pub async fn advance_to_prices(
        &self,
        ms: i64,
        prices: &[(String, Decimal)],
    ) -> Result<(), VenueError> {
        match self {
            Venue::Model(b) => b.control.advance_to_prices(ms, prices).await,
            Venue::Paper { paper, .. } => {
                let said = crate::control::listed(prices);
                if !paper.venue().can_price(prices) {
                    return Err(VenueError::Prices(said));
                }
                self.advance(ms).await?;
                paper
                    .trace
                    .record(Actor::Control, format!("set prices {said}"));
                // Checked above, and `advance` brought the market to now.
                match paper.venue().set_prices(prices) {
                    true => Ok(()),
                    false => Err(VenueError::Prices(said)),
                }
            }
        }
    }

    /// Picks out the next order for an order-level fault (simulated
    /// brokers only: the paper engine has no fault injection).
    pub async fn steer_next(&self, fault: &Fault) -> Result<(), VenueError> {
        match self {
            Venue::Model(b) => b.control.steer_next(fault).await,
            Venue::Paper { .. } => Err(VenueError::NotOnPaper("fault injection")),
        }
    }

    /// Every fault the plan applied so far, oldest first (simulated
    /// brokers only: the paper engine has no fault injection).
    pub async fn faults_applied(&self) -> Result<Vec<FaultRecord>, VenueError> {
        match self {
            Venue::Model(b) => b.control.faults().await,
            Venue::Paper { .. } => Err(VenueError::NotOnPaper("fault injection")),
        }
    }

    /// Breaks (or repairs) the user's connection at an aggregator that
    /// holds `account` (simulated brokers only).
    pub async fn set_connection_broken(
        &self,
        account: &str,
        broken: bool,
    ) -> Result<(), VenueError> {
        match self {
            Venue::Model(b) => b.control.set_connection_broken(account, broken).await,
            Venue::Paper { .. } => Err(VenueError::NotOnPaper("aggregator connections")),
        }
    }

    pub async fn set_faults(&self, plan: &FaultPlan) -> Result<(), VenueError> {
        match self {
            Venue::Model(b) => b.control.set_faults(plan).await,
            Venue::Paper { .. } => Err(VenueError::NotOnPaper("fault injection")),
        }
    }
}
