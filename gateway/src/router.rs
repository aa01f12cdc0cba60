//! The order path: where an order goes, and what it must pass on the way.
//!
//! - **Paper** goes to MBT, whatever the connection's tier: each connection
//!   has its own MBT paper account (`paper-<connection>`). No kill switch,
//!   gate, token or audit entry is involved, and no broker is called.
//! - **Live** goes to the connection's own broker, after, in this order:
//!   the kill switches (read now), the Velvet store (which refuses a Tier C
//!   or revoked connection's credential), the paper-first gate, and the
//!   audit entry of the attempt, written before the broker is called. The
//!   broker's answer is audited too, and so is every later change of the
//!   order's state that the path reads ([`OrderPath::refresh`]).
//! - **Households are never netted**: every call names one connection, and
//!   reaches that connection's account only, so an order never uses another
//!   account's position or buying power; [`OrderPath::household_positions`]
//!   lists each account's positions apart, never summed.
//!
//! The path takes its clock, its environment and its brokers from whoever
//! builds it, so a simulation and production run the same code.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use adapters::mbt_paper::{MbtAdapter, SharedEngine};
use adapters::{
    AdapterError, BrokerAdapter, CancelResult, ErrorKind, Order, OrderResult, Position,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::audit::{AuditError, AuditEvent, AuditSink};
use crate::connection::{Connection, ConnectionId, HouseholdId};
use crate::gate::{self, Decision, GateRule};
use crate::kill::{self, Action, Environment, KillSwitched, Mode};
use crate::velvet::{RowStore, Secret, Velvet, VelvetError};

/// How the path reaches a live broker with a connection's credential.
#[async_trait]
pub trait LiveBrokers: Send + Sync {
    /// The connection's trading adapter, built with `credential` (the
    /// vendor's credential object as Velvet stored it).
    fn trading(
        &self,
        connection: &Connection,
        credential: &Secret,
    ) -> Result<Arc<dyn BrokerAdapter>, AdapterError>;

    /// Revokes the credential at the broker, where the broker has a revoke
    /// (an OAuth token revocation); brokers without one have nothing to do.
    async fn revoke(
        &self,
        connection: &Connection,
        credential: &Secret,
    ) -> Result<(), AdapterError>;
}

/// Why the path refused or failed a request.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error("no connection {0}")]
    UnknownConnection(ConnectionId),
    #[error(transparent)]
    KillSwitch(#[from] KillSwitched),
    #[error("the paper-first gate is closed: {}", .0.reason)]
    GateClosed(Decision),
    #[error(transparent)]
    Velvet(#[from] VelvetError),
    /// The attempt could not be audited, so it was not sent.
    #[error("the order was not sent: its audit entry could not be written ({0})")]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Broker(#[from] AdapterError),
}

impl PathError {
    /// The adapter contract's error kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PathError::UnknownConnection(_) => ErrorKind::NotFound,
            PathError::KillSwitch(_) => ErrorKind::KillSwitch,
            PathError::GateClosed(_) => ErrorKind::Rejected,
            PathError::Velvet(v) => v.kind(),
            PathError::Audit(_) => ErrorKind::Unavailable,
            PathError::Broker(b) => b.kind,
        }
    }

    /// The HTTP status Raxx's API answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            PathError::UnknownConnection(_) => 404,
            PathError::KillSwitch(_) => KillSwitched::HTTP_STATUS,
            PathError::GateClosed(_) | PathError::Velvet(VelvetError::NoOrderWrite { .. }) => 403,
            PathError::Velvet(VelvetError::Revoked { .. }) => 401,
            PathError::Velvet(_) | PathError::Audit(_) => 500,
            PathError::Broker(b) => match b.kind {
                ErrorKind::Unavailable | ErrorKind::Timeout => 503,
                ErrorKind::RateLimited => 429,
                ErrorKind::NotFound => 404,
                _ => 422,
            },
        }
    }
}

pub type PathResult<T> = Result<T, PathError>;

/// The simulation's clock (or the wall clock, in production).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Everything the path is built from.
pub struct PathParts<S> {
    pub connections: Vec<Connection>,
    pub velvet: Velvet<S>,
    pub env: Arc<dyn Environment>,
    /// The kill switches' rule ([`kill::check`]), asked for every request,
    /// paper included: the rule itself says what it leaves alone.
    pub switches: kill::Rule,
    pub audit: Box<dyn AuditSink>,
    pub gate: GateRule,
    /// The MBT engine every paper account lives in (opened by [`OrderPath::new`]).
    pub paper: SharedEngine,
    pub brokers: Arc<dyn LiveBrokers>,
    pub clock: Clock,
}

/// A live adapter and the fingerprint of the credential it was built with.
type Built = (String, Arc<dyn BrokerAdapter>);

pub struct OrderPath<S> {
    connections: BTreeMap<ConnectionId, Connection>,
    velvet: Mutex<Velvet<S>>,
    env: Arc<dyn Environment>,
    switches: kill::Rule,
    audit: Mutex<Box<dyn AuditSink>>,
    gate: GateRule,
    paper_engine: SharedEngine,
    paper: BTreeMap<ConnectionId, MbtAdapter>,
    brokers: Arc<dyn LiveBrokers>,
    /// Live adapters built so far, with the fingerprint of the credential
    /// each was built with: a rotated credential builds a new one.
    live: Mutex<BTreeMap<ConnectionId, Built>>,
    /// The last state audited per live order, so a refresh audits changes only.
    audited: Mutex<BTreeMap<(ConnectionId, String), (String, String)>>,
    clock: Clock,
}

/// The MBT paper account of a connection.
pub fn paper_account(id: &ConnectionId) -> String {
    format!("paper-{id}")
}

impl<S: RowStore> OrderPath<S> {
    /// Builds the path and opens each connection's MBT paper account with
    /// `paper_cash` (a margin account, as MBT paper accounts are).
    pub fn new(parts: PathParts<S>, paper_cash: rust_decimal::Decimal) -> OrderPath<S> {
        let mut paper = BTreeMap::new();
        {
            let mut engine = lock(&parts.paper);
            for c in &parts.connections {
                let account = paper_account(&c.id);
                engine
                    .engine_mut()
                    .open_account(&account, mbt::AccountKind::Margin, paper_cash);
                paper.insert(c.id.clone(), MbtAdapter::new(parts.paper.clone(), account));
            }
        }
        OrderPath {
            connections: parts
                .connections
                .into_iter()
                .map(|c| (c.id.clone(), c))
                .collect(),
            velvet: Mutex::new(parts.velvet),
            env: parts.env,
            switches: parts.switches,
            audit: Mutex::new(parts.audit),
            gate: parts.gate,
            paper_engine: parts.paper,
            paper,
            brokers: parts.brokers,
            live: Mutex::new(BTreeMap::new()),
            audited: Mutex::new(BTreeMap::new()),
            clock: parts.clock,
        }
    }

    pub fn connection(&self, id: &ConnectionId) -> PathResult<&Connection> {
        self.connections
            .get(id)
            .ok_or_else(|| PathError::UnknownConnection(id.clone()))
    }

    /// Places an order on one connection, paper or live.
    pub async fn submit(
        &self,
        id: &ConnectionId,
        mode: Mode,
        order: &Order,
    ) -> PathResult<OrderResult> {
        let connection = self.connection(id)?;
        (self.switches)(self.env.as_ref(), connection, mode, Action::PlaceOrder)?;
        if mode == Mode::Paper {
            return Ok(self.paper(id).submit_order(order).await?);
        }
        let broker = self.live_adapter(connection)?;
        let decision = self.decision(id)?;
        if !decision.open {
            return Err(PathError::GateClosed(decision));
        }
        self.append(AuditEvent::OrderAttempt {
            connection: id.to_string(),
            broker: connection.slug.clone(),
            client_order_id: order.client_order_id.clone(),
            order: serde_json::to_value(order).unwrap_or(serde_json::Value::Null),
        })?;
        let answer = broker.submit_order(order).await;
        let outcome = match &answer {
            Ok(result) => serde_json::to_value(result).unwrap_or(serde_json::Value::Null),
            Err(e) => serde_json::json!({"error": e.kind.as_str(), "message": e.message}),
        };
        self.append(AuditEvent::OrderAnswer {
            connection: id.to_string(),
            client_order_id: order.client_order_id.clone(),
            outcome,
        })?;
        let result = answer?;
        self.remember(id, &result);
        Ok(result)
    }

    /// Cancels an order. No kill switch stops a cancel (it takes risk off);
    /// a live cancel still needs a usable credential and is audited first.
    pub async fn cancel(
        &self,
        id: &ConnectionId,
        mode: Mode,
        broker_order_id: &str,
    ) -> PathResult<CancelResult> {
        let connection = self.connection(id)?;
        (self.switches)(self.env.as_ref(), connection, mode, Action::CancelOrder)?;
        if mode == Mode::Paper {
            return Ok(self.paper(id).cancel_order(broker_order_id).await?);
        }
        let broker = self.live_adapter(connection)?;
        self.append(AuditEvent::CancelAttempt {
            connection: id.to_string(),
            broker_order_id: broker_order_id.to_string(),
        })?;
        let answer = broker.cancel_order(broker_order_id).await?;
        Ok(answer)
    }

    /// Reads a live order and audits its state if it changed since the
    /// path last saw it (a fill, a cancel, an expiry…).
    pub async fn refresh(
        &self,
        id: &ConnectionId,
        broker_order_id: &str,
    ) -> PathResult<OrderResult> {
        let connection = self.connection(id)?;
        let broker = self.live_adapter(connection)?;
        let result = broker.get_order(broker_order_id).await?;
        let state = (
            format!("{:?}", result.status),
            result.filled_quantity.to_string(),
        );
        let key = (id.clone(), result.broker_order_id.clone());
        let changed = guard(&self.audited).get(&key) != Some(&state);
        if changed {
            self.append(AuditEvent::StateChange {
                connection: id.to_string(),
                broker_order_id: result.broker_order_id.clone(),
                status: result.broker_status.clone(),
                detail: serde_json::to_value(&result).unwrap_or(serde_json::Value::Null),
            })?;
            guard(&self.audited).insert(key, state);
        }
        Ok(result)
    }

    /// Reads an order, paper or live (a live read is a [`Self::refresh`]:
    /// its change of state is audited).
    pub async fn order(
        &self,
        id: &ConnectionId,
        mode: Mode,
        broker_order_id: &str,
    ) -> PathResult<OrderResult> {
        self.connection(id)?;
        match mode {
            Mode::Paper => Ok(self.paper(id).get_order(broker_order_id).await?),
            Mode::Live => self.refresh(id, broker_order_id).await,
        }
    }

    /// One account's positions: its MBT paper account, or its broker's.
    pub async fn positions(&self, id: &ConnectionId, mode: Mode) -> PathResult<Vec<Position>> {
        let connection = self.connection(id)?;
        match mode {
            Mode::Paper => Ok(self.paper(id).get_positions().await?),
            Mode::Live => Ok(self.live_adapter(connection)?.get_positions().await?),
        }
    }

    /// Every account of a household, each with its own positions: shown
    /// together, never netted.
    pub async fn household_positions(
        &self,
        household: &HouseholdId,
        mode: Mode,
    ) -> PathResult<BTreeMap<ConnectionId, Vec<Position>>> {
        let mut out = BTreeMap::new();
        for c in self
            .connections
            .values()
            .filter(|c| &c.household == household)
        {
            if mode == Mode::Live && !c.may_trade() {
                continue;
            }
            out.insert(c.id.clone(), self.positions(&c.id, mode).await?);
        }
        Ok(out)
    }

    /// The gate's decision for a connection now, from MBT's own log.
    pub fn decision(&self, id: &ConnectionId) -> PathResult<Decision> {
        let connection = self.connection(id)?;
        let cycles = gate::cycles(lock(&self.paper_engine).engine().log().entries());
        let all: Vec<Connection> = self.connections.values().cloned().collect();
        Ok(self.gate.decide(connection, &all, &cycles, paper_account))
    }

    /// Revokes a connection: at the broker where it has a revoke, then in
    /// Velvet, after which its credential never leaves the store again.
    /// The store is marked revoked even when the broker's revoke fails (the
    /// user asked for the connection to be gone); that failure is returned.
    pub async fn revoke(&self, id: &ConnectionId) -> PathResult<()> {
        let connection = self.connection(id)?;
        let credential = guard(&self.velvet).credential_for_read(id)?;
        let at_broker = self.brokers.revoke(connection, &credential).await;
        guard(&self.velvet).revoke(id, (self.clock)())?;
        guard(&self.live).remove(id);
        at_broker.map_err(PathError::from)
    }

    /// Replaces a connection's credential (rotation).
    pub fn rotate(&self, id: &ConnectionId, credential: &Secret) -> PathResult<()> {
        guard(&self.velvet).rotate(id, credential, (self.clock)())?;
        Ok(())
    }

    /// The token store, for what is asked of the store itself (a check
    /// that a Tier C row refuses an order credential whoever asks).
    pub fn velvet(&self) -> MutexGuard<'_, Velvet<S>> {
        guard(&self.velvet)
    }

    /// The path's clock now.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The audit sink's head hash, to keep apart from the log.
    pub fn audit_head(&self) -> String {
        guard(&self.audit).head().to_string()
    }

    fn paper(&self, id: &ConnectionId) -> &MbtAdapter {
        // Every known connection got its paper account in `new`.
        &self.paper[id]
    }

    /// The connection's live adapter, with a credential Velvet hands out
    /// for orders now (refused for Tier C and once revoked).
    fn live_adapter(&self, connection: &Connection) -> PathResult<Arc<dyn BrokerAdapter>> {
        let credential = guard(&self.velvet).credential_for_order(&connection.id)?;
        let print = fingerprint(&credential);
        let mut live = guard(&self.live);
        if let Some((built_with, adapter)) = live.get(&connection.id) {
            if *built_with == print {
                return Ok(adapter.clone());
            }
        }
        let adapter = self.brokers.trading(connection, &credential)?;
        live.insert(connection.id.clone(), (print, adapter.clone()));
        Ok(adapter)
    }

    fn append(&self, event: AuditEvent) -> PathResult<()> {
        guard(&self.audit).append((self.clock)(), event)?;
        Ok(())
    }

    fn remember(&self, id: &ConnectionId, result: &OrderResult) {
        let state = (
            format!("{:?}", result.status),
            result.filled_quantity.to_string(),
        );
        guard(&self.audited).insert((id.clone(), result.broker_order_id.clone()), state);
    }
}

/// Which credential an adapter was built with, without keeping it.
fn fingerprint(credential: &Secret) -> String {
    format!("{:x}", Sha256::digest(credential.expose().as_bytes()))
}

/// A lock whose data stays whole when a holder panics: every critical
/// section here replaces values whole.
fn guard<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn lock(engine: &SharedEngine) -> MutexGuard<'_, dyn adapters::mbt_paper::EngineHost + 'static> {
    engine
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
